"""A real Trino for the tests: the pinned server (tests/engines/trino_dist.py, fetched beforehand by
scripts/fetch-trino) with `access-control.name=opa` pointed at a `policyengine serve` started here,
users' groups from Trino's file group provider, and a `memory` catalog holding the seed data.

Loading: the memory connector is filled with CREATE TABLE/INSERT, which serve rightly refuses to
everyone. So Trino starts with its OPA URIs pointing at a port where, while the data is loaded, a
throw-away allow-everything stub answers (for the loader user only; anyone else is refused); the
stub is then shut down and `policyengine serve` binds the same port. From then on every plugin
request goes to serve, unchanged — no proxy sits between them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from tests.engines import trino_dist

ROOT = Path(__file__).resolve().parents[2]
LOADER = "pe_loader"  # the user that loads the seed data while the stub answers
CATALOG = "lakehouse"
RAW, RAW_SCHEMA = "raw", "main"  # the seed tables as they are, for the SQL dialect conformance tests
HEAP = "2G"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the loading stub


class _LoaderHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        inp = body.get("input", {})
        loader = inp.get("context", {}).get("identity", {}).get("user") == LOADER
        action = inp.get("action", {})
        if self.path.endswith("/batch"):
            items = action.get("filterResources") or []
            if action.get("operation") == "FilterColumns" and items:
                n = len(items[0].get("table", {}).get("columns", []))
            else:
                n = len(items)
            result: Any = list(range(n)) if loader else []
        elif self.path.endswith("/row-filters"):
            result = [] if loader else [{"expression": "FALSE"}]
        elif self.path.endswith("/batch-column-masks"):
            result = []
        elif self.path.endswith("/column-mask"):
            result = None
        else:
            result = loader
        data = json.dumps({"result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LoaderStub:
    """Allow everything to LOADER, nothing to anyone else, on 127.0.0.1:port (a thread)."""

    def __init__(self, port: int) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _LoaderHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


# ---------------------------------------------------------------- policyengine serve


def serve_config(folder: Path, trino: Mapping[str, Any], **top: Any) -> Path:
    """The project's policyengine.yaml with absolute paths, `serve.trino` replaced, `top` merged."""
    data = yaml.safe_load((ROOT / "policyengine.yaml").read_text(encoding="utf-8"))
    for key in ("policies", "catalog", "consumers", "samples", "taxonomy"):
        if key in data:
            data[key] = str((ROOT / data[key]).resolve())
    data.pop("ownership", None)
    # idle keep-alive connections outlive the Trino OPA client's own (airlift: 1 min), so the client
    # never sends a request on a connection serve is closing (one "Failed to query OPA backend")
    data["serve"] = {"host": "127.0.0.1", "trino": dict(trino), "limits": {"keep_alive_timeout": 75}}
    data.update(top)
    path = folder / "policyengine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Serve:
    """`policyengine serve` as a subprocess on a given loopback port (its output in a log file)."""

    def __init__(self, port: int, config: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.port, self.base = port, f"http://127.0.0.1:{port}"
        environment = {k: v for k, v in os.environ.items()  # no token or key from the caller's shell
                       if k not in ("POLICYENGINE_SERVE_TOKEN", "POLICYENGINE_HASH_KEY")}
        environment.update({"PYTHONPATH": str(ROOT), **(env or {})})
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
                 "--config", str(config), "--no-watch"],
                cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("policyengine serve exited: " + log.read_text(errors="replace")[-1500:])
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as r:  # noqa: S310
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("policyengine serve did not answer /health within 60 s")

    def metrics(self) -> str:
        with urllib.request.urlopen(self.base + "/metrics", timeout=5) as r:  # noqa: S310
            return r.read().decode()

    def cpu_seconds(self) -> float:
        """User + system CPU the serve process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- Trino


def _trino_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "timestamp(6) with time zone" if t.tz else "timestamp(6)"
    return {"string": "varchar", "large_string": "varchar", "int64": "bigint", "int32": "integer",
            "double": "double", "bool": "boolean", "date32[day]": "date"}[str(t)]


def literal(value: Any, t: pa.DataType) -> str:
    """A Trino SQL literal of `value` typed as the column (exact: doubles through their repr)."""
    kind = _trino_type(t)
    if value is None:
        return f"CAST(NULL AS {kind})"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"CAST({value} AS {kind})"
    if isinstance(value, float):
        return f"CAST('{value!r}' AS double)"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            text = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return f"CAST(TIMESTAMP '{text:0>26} UTC' AS {kind})"
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f'):0>26}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.year:04d}-{value.month:02d}-{value.day:02d}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no Trino literal for {type(value).__name__}")


class Trino:
    """One Trino coordinator (also the worker) in a private folder, on a free loopback port."""

    def __init__(self, folder: Path, opa_port: int | None, groups: Mapping[str, Sequence[str]],
                 catalogs: Sequence[str] = (CATALOG,), access_control: Mapping[str, str] | None = None) -> None:
        """`opa_port`: access control by the OPA plugin asking that port; else `access_control`:
        the properties of another system access control (e.g. `access-control.name=file`)."""
        home = trino_dist.installed()
        java = trino_dist.java_home()
        if home is None:
            raise FileNotFoundError(f"Trino {trino_dist.VERSION} is not in {trino_dist.install_dir()}: "
                                    "run scripts/fetch-trino (scripts/test does)")
        if java is None:
            raise FileNotFoundError(f"no JDK >= {trino_dist.JAVA_MAJOR} for Trino {trino_dist.VERSION} "
                                    "under /usr/lib/jvm (or POLICYENGINE_TRINO_JAVA_HOME)")
        self.folder, self.port = folder, free_port()
        etc = folder / "etc"
        (etc / "catalog").mkdir(parents=True)
        for catalog in catalogs:
            (etc / "catalog" / f"{catalog}.properties").write_text("connector.name=memory\n", encoding="utf-8")
        group_file = etc / "groups.txt"
        group_file.write_text("".join(f"{g}:{','.join(users)}\n" for g, users in groups.items()), encoding="utf-8")
        # read from etc/ under the working folder (Trino has no property naming this file)
        (etc / "group-provider.properties").write_text(
            f"group-provider.name=file\nfile.group-file={group_file}\nfile.refresh-period=1s\n", encoding="utf-8")
        config = {
            "coordinator": "true", "node-scheduler.include-coordinator": "true",
            "http-server.http.port": str(self.port), "discovery.uri": f"http://127.0.0.1:{self.port}",
            "node.environment": "policyengine_test", "node.id": "policyengine-test",
            "node.internal-address": "127.0.0.1",
            "node.bind-ip": "127.0.0.1", "plugin.dir": str(home / "plugin"),
            "catalog.config-dir": str(etc / "catalog"),
            "query.max-memory": "512MB", "query.max-memory-per-node": "512MB",
            "task.concurrency": "2", "task.max-worker-threads": "4", "http-server.threads.max": "50",
            "hide-inaccessible-columns": "true", "http-server.log.enabled": "false",
            "access-control.config-files": "",
        }
        if opa_port is not None:
            base = f"http://127.0.0.1:{opa_port}/v1/trino"
            (etc / "access-control.properties").write_text("\n".join([
                "access-control.name=opa", f"opa.policy.uri={base}/allow", f"opa.policy.batched-uri={base}/batch",
                f"opa.policy.row-filters-uri={base}/row-filters",
                f"opa.policy.column-masking-uri={base}/column-mask",
                f"opa.policy.batch-column-masking-uri={base}/batch-column-masks", ""]), encoding="utf-8")
            config["access-control.config-files"] = str(etc / "access-control.properties")
        elif access_control is not None:
            (etc / "access-control.properties").write_text(
                "".join(f"{k}={v}\n" for k, v in access_control.items()), encoding="utf-8")
            config["access-control.config-files"] = str(etc / "access-control.properties")
        else:
            del config["access-control.config-files"]
        (etc / "config.properties").write_text("".join(f"{k}={v}\n" for k, v in config.items()), encoding="utf-8")
        (etc / "log.properties").write_text("io.trino=WARN\nio.airlift=WARN\n", encoding="utf-8")
        command = [str(java / "bin" / "java"), f"-Xmx{HEAP}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError",
                   "-XX:ActiveProcessorCount=2", "-Djdk.attach.allowAttachSelf=true", "-Dfile.encoding=UTF-8",
                   "--enable-native-access=ALL-UNNAMED", "-XX:+EnableDynamicAgentLoading",
                   f"-Dconfig={etc / 'config.properties'}", f"-Dlog.levels-file={etc / 'log.properties'}",
                   "-cp", str(home / "lib" / "*"), "io.trino.server.TrinoServer"]
        self.log = folder / "trino.log"
        self.started = time.perf_counter()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                         env={**os.environ, "JAVA_HOME": str(java)})

    def wait_ready(self, deadline_seconds: float = 180) -> float:
        """Poll /v1/info until `starting` is false; the seconds it took (RuntimeError on exit/timeout)."""
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Trino exited ({self.proc.returncode}): " + self.tail())
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/info", timeout=2) as r:  # noqa: S310
                    if json.loads(r.read()).get("starting") is False:
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"Trino did not start within {deadline_seconds:.0f} s: " + self.tail())

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def connect(self, user: str, *, zone: str | None = None, extra_credential: Sequence[tuple[str, str]] | None = None,
                catalog: str = CATALOG, schema: str | None = None) -> Any:
        import trino  # the PyPI client (dev extra)

        return trino.dbapi.connect(host="127.0.0.1", port=self.port, user=user, catalog=catalog, schema=schema,
                                   timezone=zone, extra_credential=list(extra_credential) if extra_credential else None,
                                   http_scheme="http", request_timeout=60)

    def load(self, tables: Mapping[str, tuple[str, pa.Table]], user: str = LOADER, catalog: str = CATALOG) -> None:
        """Create `schema.table` in a memory catalog for each table name -> (schema, arrow table)."""
        con = self.connect(user)
        cur = con.cursor()
        for schema in sorted({schema for schema, _ in tables.values()}):
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS {catalog}."{schema}"')
            cur.fetchall()
        for name, (schema, table) in tables.items():
            cols = ", ".join(f'"{f.name}" {_trino_type(f.type)}' for f in table.schema)
            cur.execute(f'CREATE TABLE {catalog}."{schema}"."{name}" ({cols})')
            cur.fetchall()
            rows = table.to_pylist()
            values = ", ".join("(" + ", ".join(literal(r[f.name], f.type) for f in table.schema) + ")" for r in rows)
            cur.execute(f'INSERT INTO {catalog}."{schema}"."{name}" VALUES {values}')
            cur.fetchall()
        con.close()

    def copy(self, tables: Mapping[tuple[str, str], tuple[str, str, str]], user: str = LOADER) -> None:
        """`lakehouse.schema.table` AS SELECT * FROM catalog.schema.table, for each pair."""
        con = self.connect(user)
        cur = con.cursor()
        for schema in sorted({schema for schema, _ in tables}):
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS {CATALOG}."{schema}"')
            cur.fetchall()
        for (schema, table), (c, s, t) in tables.items():
            cur.execute(f'CREATE TABLE {CATALOG}."{schema}"."{table}" AS SELECT * FROM {c}."{s}"."{t}"')
            cur.fetchall()
        con.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- the whole set-up


# Identity as Trino sends it: `j.doe` is consumer judy by `serve.trino.users`, and gets the group
# `ldap-sales-leads` from Trino's group file, which `serve.trino.groups` maps to our `sales-leads`.
# Other users keep their names (`unmapped_users: passthrough`, said explicitly since a mapping is
# exclusive by default); groups stay exclusive, so `ldap-unmapped` grants nothing.
USERS = {"j.doe": "judy"}
GROUPS = {"ldap-sales-leads": "sales-leads"}
GROUP_FILE = {"ldap-sales-leads": ["j.doe"], "ldap-unmapped": ["bob", "mallory"]}


def trino_settings(**overrides: Any) -> dict[str, Any]:
    return {"catalogs": [CATALOG], "product": "{schema}.{table}", "users": USERS, "groups": GROUPS,
            "unmapped_users": "passthrough", **overrides}


def product_table(product: str) -> tuple[str, str]:
    """The (schema, table) a product is loaded as: `sales.orders` -> lakehouse.sales.orders."""
    schema, _, table = product.partition(".")
    return schema, table


class TrinoStack:
    """Trino + `policyengine serve` on loopback, the seed tables loaded; `stop()` ends both."""

    def __init__(self, folder: Path, tables: Mapping[str, pa.Table], raw: Mapping[str, pa.Table],
                 source: Any) -> None:
        """`tables`: product -> its seed table, loaded into `lakehouse`; `raw`: name -> table, loaded
        into the ungoverned catalog `raw` (hidden from everyone unless a test opens it), which
        holds each product's rows as `source(product)`."""
        self.folder = folder
        self.opa_port = free_port()
        self.serve: Serve | None = None
        self.serve_count = 0
        stub = LoaderStub(self.opa_port)
        self.trino: Trino | None = None
        try:
            self.trino = Trino(folder / "trino", self.opa_port, GROUP_FILE, catalogs=(CATALOG, RAW))
            self.startup = self.trino.wait_ready()
            start = time.perf_counter()
            self.trino.load({name: (RAW_SCHEMA, t) for name, t in raw.items()}, catalog=RAW)
            self.trino.copy({product_table(p): (RAW, RAW_SCHEMA, source(p)) for p in tables})
            self.load_seconds = time.perf_counter() - start
        except BaseException:
            stub.stop()
            self.stop()
            raise
        stub.stop()
        self.start_serve()

    def start_serve(self, trino: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
                    **top: Any) -> Serve:
        """(Re)start serve on the port Trino asks, with these settings (default: the tests' own,
        `allow_unkeyed_hash: true` so `hash` masks render as enforce() computes them without a key)."""
        if self.serve is not None:
            self.serve.stop()
        self.serve_count += 1
        folder = self.folder / f"serve-{self.serve_count}"
        folder.mkdir()
        top = {"allow_unkeyed_hash": True, **top}
        config = serve_config(folder, trino if trino is not None else trino_settings(), **top)
        self.serve = Serve(self.opa_port, config, folder / "serve.log", env)
        return self.serve

    def connect(self, user: str, **kwargs: Any) -> Any:
        assert self.trino is not None
        return self.trino.connect(user, **kwargs)

    def stop(self) -> None:
        if self.serve is not None:
            self.serve.stop()
        if self.trino is not None:
            self.trino.stop()
