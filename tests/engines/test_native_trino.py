"""`policyengine apply --target trino`, proven on the real Trino: file-based access control.

One Trino of its own (the pinned server, `access-control.name=file`, `security.config-file`
pointing at a rules file, `security.refresh-period=1s`), the example mesh's seed tables in its
`lakehouse` memory catalog and, as they are, in the ungoverned `raw` catalog. The data is loaded
under a bootstrap rules file that lets only the loader in; then `policyengine apply --target trino`
writes the compiled rules over it (atomically) and Trino's refresh picks them up.

Two policy sets: the example mesh as it is (its `hash` masks are refused for Trino, so those
consumers get no rule for those products) and the same mesh with each refused `hash` replaced
by the refusal's nearest safe choice (`redact`), which gives masks and row filters everywhere.
For every consumer x product, `SELECT *` through Trino as that consumer's Trino user returns
exactly `policyengine.enforce()`'s cells, in a UTC and a New York session, or Trino denies it
when we compile no rule. Then: denied columns, base data, unknown users, the session (SET SESSION,
extra credentials), the leak corpus as bob, drift of a hand-edited rule, and the EXPLAIN that
would print a keyed hash's key (why `hash` is refused).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from tests.engines import seed
from tests.engines.conftest import (
    ZONES,
    _private_directory,
    all_tables,
    differences,
    require_trino,
    source_name,
)
from tests.engines.test_conformance import CONSUMERS, PRODUCTS
from tests.engines.test_trino_leaks import AGREE, PREPARED, REFUSE_OR_SAFE, _leaked, _text
from tests.engines.trino_server import (
    CATALOG,
    GROUP_FILE,
    LOADER,
    RAW,
    RAW_SCHEMA,
    USERS,
    Trino,
    product_table,
    serve_config,
    trino_settings,
)

pytestmark = [pytest.mark.engines, pytest.mark.trino]

ROOT = Path(__file__).resolve().parents[2]
AT = dt.datetime.now(dt.UTC).replace(microsecond=0)  # one instant for the plan and for evaluate()
TRINO_USER = {cid: user for user, cid in USERS.items()}  # judy logs in to Trino as j.doe
BOOTSTRAP = {  # while loading: the loader may do anything, nobody else anything
    "catalogs": [{"user": LOADER, "allow": "all"}, {"allow": "none"}],
    "schemas": [{"user": LOADER, "owner": True}],
    "tables": [{"user": LOADER, "privileges": ["SELECT", "INSERT", "DELETE", "UPDATE", "OWNERSHIP"]},
               {"privileges": []}],
}


class FileTrino:
    """The Trino under file-based access control, its rules file and the projects to apply."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rules = folder / "rules.json"
        self.rules.write_text(json.dumps(BOOTSTRAP), encoding="utf-8")
        self.trino = Trino(folder / "trino", None, GROUP_FILE, catalogs=(CATALOG, RAW), access_control={
            "access-control.name": "file", "security.config-file": str(self.rules),
            "security.refresh-period": "1s"})
        self.deployed: str | None = None

    def start(self) -> None:
        self.trino.wait_ready()
        self.trino.load({name: (RAW_SCHEMA, t) for name, t in all_tables().items()}, catalog=RAW)
        self.trino.copy({product_table(p): (RAW, RAW_SCHEMA, source_name(p)) for p in seed.mesh_tables()})

    def connect(self, user: str, **kwargs: Any) -> Any:
        return self.trino.connect(user, **kwargs)


def run(stack: FileTrino, user: str, sql: str, **kwargs: Any) -> tuple[list[str] | None, list[tuple] | str]:
    """(columns, rows), or (None, "ERROR_NAME: message") when Trino refuses or fails."""
    import trino

    con = stack.connect(user, **kwargs)
    try:
        cur = con.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    except trino.exceptions.TrinoQueryError as exc:
        return None, f"{exc.error_name}: {exc.message}"
    finally:
        con.close()


def wait_until(probe: Callable[[], bool], what: str, seconds: float = 60) -> None:
    """Poll `probe` until it holds (Trino re-reads the rules file every refresh period)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"Trino did not {what} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def file_trino() -> Iterator[FileTrino]:
    require_trino()
    with _private_directory("policyengine-trino-file-") as folder:
        stack = FileTrino(folder)
        try:
            stack.start()
            yield stack
        finally:
            stack.trino.stop()


# ---------------------------------------------------------------- the two policy sets


def _project(folder: Path, variant: str) -> Path:
    """A policyengine.yaml for `variant`: the example mesh (`mesh`), or the mesh with each `hash`
    mask replaced by the refusal's nearest safe choice (`redact`)."""
    folder.mkdir(parents=True, exist_ok=True)
    policies = ROOT / "policies"
    if variant == "redact":
        copy = folder / "policies"
        shutil.copytree(policies, copy, dirs_exist_ok=True)
        for path in copy.rglob("*.policy"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("using hash", "using redact"), encoding="utf-8")
        policies = copy
    return serve_config(folder, trino_settings(), policies=str(policies))


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module", params=["mesh", "redact"])
def deployed(request, file_trino) -> dict[str, Any]:
    """`apply --target trino` of one policy set, once Trino has read it; its engine."""
    variant = request.param
    config = _project(file_trino.folder / variant, variant)
    data = __import__("yaml").safe_load(config.read_text(encoding="utf-8"))
    mesh = policyengine.load([data["policies"]], [data["catalog"]], consumers=data["consumers"])
    result = cli("apply", "--target", "trino", "--rules", str(file_trino.rules), "--config", str(config),
                 "--at", AT.isoformat())
    assert result.exit_code == 0, result.output
    bob_reads = _compiled(mesh, "bob", "sales.orders")
    # the loader is shut out by every compiled rules file; bob reads orders in `redact` only
    wait_until(lambda: run(file_trino, LOADER, f"SELECT 1 FROM {_name('sales.orders')}")[0] is None
               and (run(file_trino, "bob", f"SELECT 1 FROM {_name('sales.orders')}")[0] is not None) == bob_reads,
               f"read the {variant} rules")
    file_trino.deployed = variant
    return {"variant": variant, "config": config, "mesh": mesh}


def _name(product: str) -> str:
    schema, table = product_table(product)
    return f'{CATALOG}."{schema}"."{table}"'


def _compiled(mesh: Any, consumer: str, product: str) -> bool:
    """Whether the Trino target serves this pair: something readable, no `hash` mask (refused)."""
    d = mesh.evaluate(consumer, product, at=AT)
    return not d.error and bool(d.readable_columns) and not any(
        c.effect == "mask" and c.strategy == "hash" for c in d.columns.values())


def _want(product: str, decision: Any) -> tuple[list[str], list[tuple]]:
    result = policyengine.enforce(seed.mesh_tables()[product], decision, hash_key=None)
    return list(result.column_names), [tuple(r.values()) for r in result.to_pylist()]


def _refused(got: Any) -> bool:
    """Trino's refusal of a table with no privileges: access denied, or (the table hidden from
    the user's metadata) 'not found or not allowed'."""
    return isinstance(got, str) and (got.startswith("PERMISSION_DENIED") or (
        got.startswith("TABLE_NOT_FOUND") and "not allowed" in got))


def _user(consumer: str) -> str:
    return TRINO_USER.get(consumer, consumer)


# ---------------------------------------------------------------- cell by cell


@pytest.mark.parametrize("zone", ZONES)
def test_select_star_is_enforce_for_every_consumer_and_product(file_trino, deployed, zone) -> None:
    mesh = deployed["mesh"]
    problems: list[str] = []
    served = 0
    for consumer in CONSUMERS:
        for product in PRODUCTS:
            cols, got = run(file_trino, _user(consumer), f"SELECT * FROM {_name(product)}", zone=zone)
            label = f"{deployed['variant']} {consumer} {product} ({zone})"
            if not _compiled(mesh, consumer, product):
                if cols is not None or not _refused(got):
                    problems.append(f"{label}: must be denied, got {str(got)[:120]}")
                continue
            served += 1
            if cols is None:
                problems.append(f"{label}: refused: {got}")
                continue
            want_cols, want = _want(product, mesh.evaluate(consumer, product, at=AT))
            if cols != want_cols:
                problems.append(f"{label}: columns {cols}, enforce() has {want_cols}")
                continue
            problems += [f"{label}: {d}" for d in differences(cols, got, want)]  # type: ignore[arg-type]
    assert not problems, "\n".join(problems)
    assert served >= (5 if deployed["variant"] == "mesh" else 12), "too few pairs served to prove anything"


def test_every_denied_column_is_refused_alone(file_trino, deployed) -> None:
    mesh = deployed["mesh"]
    problems: list[str] = []
    for consumer in CONSUMERS:
        for product in PRODUCTS:
            if not _compiled(mesh, consumer, product):
                continue
            d = mesh.evaluate(consumer, product, at=AT)
            for column in d.denied_columns:
                cols, got = run(file_trino, _user(consumer), f'SELECT "{column}" FROM {_name(product)}')
                if cols is not None or not str(got).startswith("PERMISSION_DENIED"):
                    problems.append(f"{consumer} {product}.{column}: {str(got)[:120]}")
            _, shown = run(file_trino, _user(consumer), f"SHOW COLUMNS FROM {_name(product)}")
            names = [r[0] for r in shown] if isinstance(shown, list) else []
            if names != list(d.readable_columns):
                problems.append(f"{consumer} {product}: SHOW COLUMNS lists {names}")
    assert not problems, "\n".join(problems)


def test_mapped_trino_user_is_the_consumer(file_trino, deployed) -> None:
    """`serve.trino.users` maps j.doe to judy (with passthrough, `judy` is judy too): the rule
    names both; another name is nobody (denied everything)."""
    for product in PRODUCTS:
        a, b = (run(file_trino, user, f"SELECT * FROM {_name(product)}") for user in ("j.doe", "judy"))
        assert (a[0] is None) == (b[0] is None)
        if a[0] is not None:
            assert not differences(a[0], a[1], b[1])  # type: ignore[arg-type]
        cols, got = run(file_trino, "j_doe", f"SELECT * FROM {_name(product)}")  # `.` is not a wildcard
        assert cols is None and _refused(got)


# ---------------------------------------------------------------- base data and everything else


def test_base_data_and_other_tables_are_unreadable(file_trino, deployed) -> None:
    problems: list[str] = []
    for user in [*map(_user, CONSUMERS), "mallory", LOADER]:
        for sql in [f'SELECT * FROM {RAW}.{RAW_SCHEMA}."{source_name("sales.orders")}"',
                    f"SHOW TABLES FROM {RAW}.{RAW_SCHEMA}",
                    f"SELECT * FROM {RAW}.{RAW_SCHEMA}.pe_awkward",
                    "SELECT * FROM system.runtime.queries",
                    f"SHOW CREATE TABLE {_name('sales.orders')}",
                    f"INSERT INTO {_name('sales.orders')} SELECT * FROM {_name('sales.orders')}",
                    f"DELETE FROM {_name('hr.payroll')}",
                    f"CREATE TABLE {CATALOG}.sales.copied AS SELECT 1 AS x",
                    f"DROP TABLE {_name('hr.payroll')}"]:
            cols, got = run(file_trino, user, sql)
            if cols is not None:
                problems.append(f"{user}: ran {sql!r}")
        if user in ("mallory", LOADER):
            for product in PRODUCTS:
                cols, _ = run(file_trino, user, f"SELECT count(*) FROM {_name(product)}")
                if cols is not None:
                    problems.append(f"{user} counted {product}")
        _, catalogs = run(file_trino, user, "SHOW CATALOGS")
        if isinstance(catalogs, list) and RAW in {r[0] for r in catalogs}:
            problems.append(f"{user} sees catalog {RAW}")
    assert not problems, "\n".join(problems)


def test_the_session_cannot_change_what_a_user_sees(file_trino, deployed) -> None:
    """Consumer attributes are substituted into bob's own rule (region = 'uk'): nothing a session
    carries is read. SET SESSION and session properties are refused outright, extra credentials
    and client tags change nothing, another user cannot be assumed."""
    mesh = deployed["mesh"]
    product = "sales.orders"
    sql = f"SELECT * FROM {_name(product)}"
    if not _compiled(mesh, "bob", product):
        cols, _ = run(file_trino, "bob", sql, extra_credential=[("region", "us")])
        assert cols is None
        return
    want_cols, want = _want(product, mesh.evaluate("bob", product, at=AT))
    for kwargs in ({}, {"extra_credential": [("region", "us")]}, {"extra_credential": [("consumer.region", "eu")]}):
        cols, got = run(file_trino, "bob", sql, **kwargs)
        assert cols == want_cols and not differences(cols, got, want)  # type: ignore[arg-type]
    for statement in ("SET SESSION query_max_run_time = '1h'", "SET SESSION AUTHORIZATION 'carol'",
                      "SET SESSION AUTHORIZATION 'frank'"):
        cols, got = run(file_trino, "bob", statement)
        assert cols is None, f"bob ran {statement}"
    import trino

    con = trino.dbapi.connect(host="127.0.0.1", port=file_trino.trino.port, user="bob", catalog=CATALOG,
                              session_properties={"query_max_run_time": "1h"}, client_tags=["region=us"])
    try:
        cur = con.cursor()
        with pytest.raises(trino.exceptions.TrinoUserError, match="(?i)access denied.*session property"):
            cur.execute(sql)
            cur.fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- the leak corpus, as bob


@pytest.fixture(scope="module")
def bobs_view(deployed) -> dict[str, Any]:
    """What bob sees (enforce() under the deployed rules' policies) in DuckDB, and the secrets:
    texts of masked, denied or hidden cells bob's view does not also show."""
    mesh = deployed["mesh"]
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    shown: set[str] = set()
    raw: set[str] = set()
    readable: set[str] = set()
    tables = seed.mesh_tables()
    con.execute("CREATE SCHEMA sales")
    con.execute("CREATE SCHEMA marketing")
    for product in ("sales.orders", "sales.customers", "marketing.leads"):
        raw |= {_text(v) for row in tables[product].to_pylist() for v in row.values()}
        if not _compiled(mesh, "bob", product):
            continue
        readable.add(product.split(".")[1])
        view = policyengine.enforce(tables[product], mesh.evaluate("bob", product, at=AT), hash_key=None)
        schema, table = product.split(".")
        con.register("v", view)
        con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM v")
        con.unregister("v")
        shown |= {_text(v) for row in view.to_pylist() for v in row.values()}
    con.execute("USE sales")
    secrets = {s for s in raw - shown if len(s) >= 6 and not any(s in t for t in shown)}
    assert len(secrets) > 50
    return {"duckdb": con, "secrets": secrets, "readable": readable}


def _reads(bobs_view: dict[str, Any], sql: str) -> bool:
    """Whether bob has a rule for every product the query names."""
    named = {t for t in ("orders", "customers", "leads") if re.search(rf"\b{t}\b", sql)}
    return named <= bobs_view["readable"]


def _bob(file_trino: FileTrino, sql: str, params: Any = None) -> tuple[list[str] | None, list[tuple] | str]:
    import trino

    con = file_trino.connect("bob", catalog=CATALOG, schema="sales")
    try:
        cur = con.cursor()
        cur.execute(sql, params) if params is not None else cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    except trino.exceptions.TrinoQueryError as exc:
        return None, f"{exc.error_name}: {exc.message}"
    finally:
        con.close()


@pytest.mark.parametrize(("klass", "sql"), AGREE, ids=[f"{k}-{i}" for i, (k, _) in enumerate(AGREE)])
def test_leak_corpus_queries_see_only_bobs_view(file_trino, bobs_view, klass, sql) -> None:
    cols, got = _bob(file_trino, sql)
    text = got if isinstance(got, str) else repr(got)
    assert not _leaked(bobs_view["secrets"], text), f"{klass}: {text[:300]}"
    if not _reads(bobs_view, sql):
        assert cols is None, f"{klass}: bob has no rule for a product it reads, yet it ran"
        return
    assert cols is not None, f"Trino refused a query over bob's view: {got}"
    want = bobs_view["duckdb"].sql(sql)
    diffs = differences(cols, got, [tuple(r) for r in want.fetchall()])  # type: ignore[arg-type]
    assert not diffs, "\n".join(diffs)


@pytest.mark.parametrize(("klass", "sql"), REFUSE_OR_SAFE,
                         ids=[f"{k}-{i}" for i, (k, _) in enumerate(REFUSE_OR_SAFE)])
def test_leak_corpus_nothing_hidden_comes_back(file_trino, bobs_view, klass, sql) -> None:
    cols, got = _bob(file_trino, sql)
    text = got if isinstance(got, str) else repr(got)
    leaked = _leaked(bobs_view["secrets"], text)
    assert not leaked, f"{klass}: hidden values came back ({len(leaked)} shown): {text[:400]}"
    if klass in ("denied-column", "hidden-table", "view", "write", "show-create") or sql.startswith(("SET", "GRANT")):
        assert cols is None, f"{klass}: must be refused, ran: {text[:300]}"


@pytest.mark.parametrize(("sql", "params"), PREPARED)
def test_leak_corpus_prepared_statements(file_trino, bobs_view, sql, params) -> None:
    cols, got = _bob(file_trino, sql, params)
    text = got if isinstance(got, str) else repr(got)
    assert not _leaked(bobs_view["secrets"], text)
    if _reads(bobs_view, sql):
        assert cols is not None, got
        want = bobs_view["duckdb"].execute(sql, params)
        assert not differences(cols, got, [tuple(r) for r in want.fetchall()])  # type: ignore[arg-type]


# ---------------------------------------------------------------- drift, and why no keyed hash


def test_hand_edit_is_drift_and_explain_prints_masks(file_trino, deployed) -> None:
    """A hand-edited rule (bob's email mask swapped for a keyed hash whose key is in the text) is
    read by Trino, shows in `plan --check` (exit 1) and is repaired by `apply`. While it is live,
    bob's EXPLAIN prints the mask with the key: the reason `hash` is refused for this target."""
    if deployed["variant"] != "redact":
        pytest.skip("runs once, on the policy set where bob reads sales.orders")
    config = str(deployed["config"])
    args = ["--target", "trino", "--rules", str(file_trino.rules), "--config", config, "--at", AT.isoformat()]
    assert cli("plan", *args, "--check").exit_code == 0
    document = json.loads(file_trino.rules.read_text(encoding="utf-8"))
    key = b"key-in-a-rule"  # what a keyed-hash rule would have to carry
    key_hex, key_b64 = key.hex(), base64.b64encode(key).decode()
    for rule in document["tables"]:
        if rule.get("user") == "bob" and rule.get("table") == "orders":
            rule["columns"] = [c for c in rule["columns"] if c["name"] != "customer_email"] + [
                {"name": "customer_email",
                 "mask": f"to_hex(hmac_sha256(to_utf8(customer_email), from_hex('{key_hex}')))"}]
    file_trino.rules.write_text(json.dumps(document), encoding="utf-8")
    sql = f"SELECT customer_email FROM {_name('sales.orders')}"
    wait_until(lambda: (r := run(file_trino, "bob", sql))[0] is not None and all(
        v[0] is None or len(v[0]) == 64 for v in r[1]), "read the hand-edited rule")
    cols, plan = run(file_trino, "bob", "EXPLAIN " + sql)
    assert cols is not None and key_b64 in repr(plan), "EXPLAIN no longer prints masks: revisit the refusal"
    drift = cli("plan", *args, "--check")
    assert drift.exit_code == 1
    assert "~ table rule for user bob on lakehouse.sales.orders: column customer_email mask differ" in drift.output
    assert key_hex not in drift.output and key_b64 not in drift.output  # what differs, never the text
    assert cli("apply", *args).exit_code == 0
    assert cli("plan", *args, "--check").exit_code == 0
    wait_until(lambda: key_b64 not in repr(run(file_trino, "bob", "EXPLAIN " + sql)[1]),
               "read the repaired rules")


def test_a_broken_rules_file_closes_trino_and_apply_restores_it(file_trino, deployed) -> None:
    """A rules file Trino cannot parse fails every check (fail closed); plan --check says so and
    apply restores the compiled file."""
    if deployed["variant"] != "redact":
        pytest.skip("runs once, on the policy set where bob reads sales.orders")
    args = ["--target", "trino", "--rules", str(file_trino.rules), "--config", str(deployed["config"]),
            "--at", AT.isoformat()]
    sql = f"SELECT count(*) FROM {_name('sales.orders')}"
    assert run(file_trino, "bob", sql)[0] is not None
    file_trino.rules.write_text('{"tables": [', encoding="utf-8")
    wait_until(lambda: run(file_trino, "bob", sql)[0] is None, "fail closed on a broken file")
    drift = cli("plan", *args, "--check")
    assert drift.exit_code == 1 and "~ rules file: not valid JSON" in drift.output
    assert cli("apply", *args).exit_code == 0
    wait_until(lambda: run(file_trino, "bob", sql)[0] is not None, "read the restored rules")
