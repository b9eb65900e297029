#!/usr/bin/env python3
"""Benchmark `policyengine serve` over HTTP on loopback: `/v1/evaluate` and Trino batch column
masking for 20 columns, decisions/s and latency percentiles, side by side in one run.

    .venv/bin/python benchmarks/bench_serve.py [--workers 2] [--connections 16] [--requests 20000]
                                               [--seconds 10] [--rounds 3] [--strict]

The server is started here (`policyengine serve` on the example mesh, a free port) and stopped
at the end. Two load generators, each round: `wrk` when it is installed (`apt-get install wrk`;
one thread; its latency percentiles are the server's plus the loopback) and a pure-Python
asyncio client over raw keep-alive sockets (pre-encoded requests, no pipelining, one connection
per task, timing each request). Both share the 2 cores with the server: the table reports each
client's CPU use (wrk's from the kernel's child accounting, the Python client's process time)
and the server's (its process tree, from /proc), so a client that is the bottleneck shows (a
client near 1.0 core is). Runs are bounded by a request count and a time limit.

Counting: requests/s is HTTP requests answered; column decisions/s multiplies by the columns a
request decides (6 for `/v1/evaluate` here, 20 for a Trino batch column-mask request). The
targets count a request as one decision. Also measured side by side: validating one request (the
hand checks serve had, the msgspec Request it has now, pydantic), and encoding a Decision's JSON
with orjson, msgspec and the standard library (why the server uses orjson).

Targets (issue 14): >= 5,000 requests/s and p99 <= 5 ms for each endpoint on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EVALUATE = {"consumer": "bob", "product": "sales.customers",
            "columns": ["customer_id", "full_name", "email", "phone", "country", "region"]}


def trino_masks(n: int = 20) -> dict:
    """A batch column-mask request for n columns of lakehouse.sales.customers and sales.orders."""
    cols = ["customer_id", "full_name", "email", "phone", "street_address", "city", "postcode", "country",
            "region", "birth_date", "loyalty_tier", "signup_ts", "email_verified"]
    resources = [{"column": {"catalogName": "lakehouse", "schemaName": "sales", "tableName": "customers",
                             "columnName": c, "columnType": "varchar"}} for c in cols]
    resources += [{"column": {"catalogName": "lakehouse", "schemaName": "sales", "tableName": "orders",
                              "columnName": c, "columnType": "varchar"}}
                  for c in ["order_id", "customer_id", "customer_email", "customer_name", "card_number",
                            "amount", "margin"]]
    return {"input": {"context": {"identity": {"user": "bob", "groups": []}, "softwareStack": {"trinoVersion": "476"}},
                      "action": {"operation": "GetColumnMask", "filterResources": resources[:n]}}}


# ---------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_config() -> Path:
    """The example's policyengine.yaml with absolute paths and `allow_unkeyed_hash: true`: over
    Trino a `hash` mask without that opt-in is refused (HTTP 500), and the benchmark measures
    answers, not refusals. The ownership map is left out (its paths are the project's)."""
    import yaml

    data = yaml.safe_load((ROOT / "policyengine.yaml").read_text(encoding="utf-8"))
    for key in ("policies", "catalog", "consumers", "samples", "taxonomy"):
        if key in data:
            data[key] = str((ROOT / data[key]).resolve())
    data.pop("ownership", None)
    data["allow_unkeyed_hash"] = True
    folder = Path(tempfile.mkdtemp(prefix="pe-bench-serve-"))
    atexit.register(shutil.rmtree, folder, True)  # the server reads it until the benchmark ends
    path = folder / "policyengine.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
           "--workers", str(workers), "--config", str(bench_config())]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                if b"200" in s.recv(100):
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def tree_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a process and its children (Linux /proc), so
    the server's share of the 2 cores is reported next to the load generator's."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, [pid], set()
    try:
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return None
    return total


# ---------------------------------------------------------------- pure-Python load client


def request_bytes(path: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


async def _connection(port: int, payload: bytes, budget: list[int], deadline: float,
                      samples: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    clock = time.perf_counter
    try:
        while budget[0] > 0 and clock() < deadline:
            budget[0] -= 1
            t0 = clock()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            samples.append(clock() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                errors[0] += 1
    finally:
        writer.close()


def python_load(port: int, path: str, body: dict, requests: int, seconds: float, connections: int) -> dict:
    payload = request_bytes(path, body)
    samples: list[float] = []
    errors = [0]

    async def run() -> float:
        budget = [requests]
        t0 = time.perf_counter()
        await asyncio.gather(*(_connection(port, payload, budget, t0 + seconds, samples, errors)
                               for _ in range(connections)))
        return time.perf_counter() - t0

    cpu0 = time.process_time()
    elapsed = asyncio.run(run())
    cpu = time.process_time() - cpu0
    samples.sort()
    n = len(samples)
    return {"client": "python", "requests": n, "errors": errors[0], "rps": n / elapsed,
            "client_cpu": cpu / elapsed, "seconds": elapsed,
            "p50_ms": samples[n // 2] * 1e3, "p99_ms": samples[min(n - 1, int(n * 0.99))] * 1e3,
            "mean_ms": statistics.fmean(samples) * 1e3}


# ---------------------------------------------------------------- wrk


def wrk_load(port: int, path: str, body: dict, seconds: float, connections: int) -> dict | None:
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(json.dumps(body))}\n"
                "done = function(summary, latency, requests)\n"
                "  io.write(string.format('JSON {\"requests\": %d, \"errors\": %d, \"p50_us\": %d, \"p99_us\": %d, "
                "\"mean_us\": %f, \"duration_us\": %d}\\n', summary.requests, summary.errors.status + "
                "summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "
                "latency:percentile(50), latency:percentile(99), latency.mean, summary.duration))\nend\n")
        script = f.name
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "-s", script,
                              f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((li for li in out.stdout.splitlines() if li.startswith("JSON ")), None)
    if line is None:
        return None
    r = json.loads(line[5:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"client": "wrk", "requests": r["requests"], "errors": r["errors"],
            "client_cpu": cpu / (r["duration_us"] / 1e6), "seconds": r["duration_us"] / 1e6,
            "rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1e3,
            "p99_ms": r["p99_us"] / 1e3, "mean_ms": r["mean_us"] / 1e3}


# ---------------------------------------------------------------- JSON libraries


def json_encoders() -> list[tuple[str, float]]:
    """Microseconds to encode one Decision.to_dict() (13 columns) with each library."""
    sys.path.insert(0, str(ROOT))
    from policyengine.config import load_config
    from policyengine.engine.loading import load

    cfg = load_config(ROOT / "policyengine.yaml")
    engine = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    doc = engine.evaluate("bob", "sales.customers").to_dict()
    out = [("json (stdlib)", lambda: json.dumps(doc).encode())]
    try:
        import orjson

        out.append(("orjson", lambda: orjson.dumps(doc)))
    except ImportError:
        pass
    try:
        import msgspec

        enc = msgspec.json.Encoder()
        out.append(("msgspec", lambda: enc.encode(doc)))
    except ImportError:
        pass
    return [(name, min(timeit.repeat(fn, number=2000, repeat=5)) / 2000 * 1e6) for name, fn in out]


def _hand_request(doc):
    """The hand-written request checks serve used before serve/requests.py (the reference)."""
    from collections.abc import Mapping

    if not isinstance(doc, Mapping) or set(doc) - {"consumer", "product", "columns", "purpose", "at"}:
        raise ValueError("bad")
    consumer = doc.get("consumer")
    if isinstance(consumer, str):
        if not consumer:
            raise ValueError("bad")
    elif isinstance(consumer, Mapping):
        if not isinstance(consumer.get("id"), str) or not consumer["id"] or \
                set(consumer) - {"id", "groups", "attributes"}:
            raise ValueError("bad")
        groups = consumer.get("groups", [])
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups) or \
                not isinstance(consumer.get("attributes", {}), Mapping):
            raise ValueError("bad")
    else:
        raise ValueError("bad")
    product = doc.get("product")
    if not isinstance(product, str) or not product:
        raise ValueError("bad")
    columns = doc.get("columns")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
        raise ValueError("bad")
    if doc.get("purpose") is not None and not isinstance(doc.get("purpose"), str):
        raise ValueError("bad")
    return consumer, product, columns, doc.get("purpose"), None


def request_validators() -> list[tuple[str, str, float]]:
    """Validating one parsed evaluate request: the hand checks serve had, the msgspec Request it
    has now (serve/requests.py), and pydantic when installed; (request, validator, µs)."""
    from policyengine.serve.requests import read_request

    docs = {"consumer id": {"consumer": "bob", "product": "sales.orders", "purpose": "reporting",
                            "columns": ["order_id", "region", "amount", "customer_email", "customer_name"]},
            "inline consumer": {"consumer": {"id": "x", "groups": ["a", "b"], "attributes": {"region": "eu"}},
                                "product": "sales.orders", "purpose": "reporting"}}
    checks = [("hand checks (before)", _hand_request), ("msgspec Request (now)", read_request)]
    try:
        from typing import Annotated, Any

        import pydantic

        class PConsumer(pydantic.BaseModel, extra="forbid"):
            id: Annotated[str, pydantic.Field(min_length=1)]
            groups: list[str] = []
            attributes: dict[str, Any] = {}

        class PRequest(pydantic.BaseModel, extra="forbid"):
            consumer: Annotated[str, pydantic.Field(min_length=1)] | PConsumer
            product: Annotated[str, pydantic.Field(min_length=1)]
            columns: list[str] | None = None
            purpose: str | None = None
            at: str | None = None

        checks.append(("pydantic model", PRequest.model_validate))
    except ImportError:
        pass
    return [(name, check_name, min(timeit.repeat(lambda c=check, d=doc: c(d), number=20000, repeat=5)) / 20000 * 1e6)
            for name, doc in docs.items() for check_name, check in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20000, help="per endpoint (Python client)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per endpoint")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every endpoint and client")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    print("validating one evaluate request (side by side):")
    for request, check, us in request_validators():
        print(f"  {request:16} {check:22} {us:6.2f} us")
    print("JSON encoding of one Decision.to_dict():")
    for name, us in json_encoders():
        print(f"  {name:<16} {us:7.2f} us")
    port = free_port()
    proc = start_server(port, args.workers)
    endpoints = (("/v1/evaluate (6 columns)", "/v1/evaluate", EVALUATE, len(EVALUATE["columns"])),
                 ("Trino batch column masks (20 columns)", "/v1/trino/batch-column-masks", trino_masks(20), 20))
    results: list[tuple[str, int, dict]] = []
    loads = []
    try:
        for _, path, body, _ in endpoints:
            python_load(port, path, body, 500, 5, 4)  # warm-up: caches and connections
        for _ in range(args.rounds):  # rounds alternate endpoints and clients, to spread the drift
            loads.append(os.getloadavg()[0])
            for label, path, body, columns in endpoints:
                for client in ("wrk", "python"):
                    cpu0 = tree_cpu(proc.pid)
                    r = (wrk_load(port, path, body, args.seconds, args.connections) if client == "wrk"
                         else python_load(port, path, body, args.requests, args.seconds, args.connections))
                    cpu1 = tree_cpu(proc.pid)
                    if r is None:
                        continue
                    r["server_cpu"] = (cpu1 - cpu0) / r["seconds"] if cpu0 is not None and cpu1 is not None else None
                    results.append((label, columns, r))
    finally:
        stop_server(proc)
    print(f"\nover HTTP on loopback, {args.workers} worker(s), {args.connections} connections, {os.cpu_count()} CPUs, "
          f"{args.rounds} round(s); 1-minute load average at each round's start: "
          + ", ".join(f"{x:.1f}" for x in loads))
    print("  requests/s: HTTP requests answered; column decisions/s: requests/s x the columns each decides "
          "(6 for /v1/evaluate, 20 for a Trino batch); CPU: cores busy (1.0 = one core)")
    print(f"  {'endpoint':<40} {'client':<7} {'requests':>9} {'errors':>6} {'requests/s':>11} {'col.dec/s':>10} "
          f"{'p50':>8} {'p99':>8} {'client CPU':>10} {'server CPU':>10}")
    for label, columns, r in results:
        server = f"{r['server_cpu']:.2f}" if r.get("server_cpu") is not None else "?"
        print(f"  {label:<40} {r['client']:<7} {r['requests']:>9} {r['errors']:>6} {r['rps']:>11.0f} "
              f"{r['rps'] * columns:>10.0f} {r['p50_ms']:>6.2f}ms {r['p99_ms']:>6.2f}ms {r['client_cpu']:>10.2f} "
              f"{server:>10}")
    print("\nbest round per endpoint and client (requests/s; spread over rounds):")
    for label, _, _, _ in endpoints:
        for client in ("wrk", "python"):
            runs = [r for lbl, _, r in results if lbl == label and r["client"] == client]
            if runs:
                best = max(runs, key=lambda r: r["rps"])
                print(f"  {label:<40} {client:<7} {best['rps']:>7.0f}/s p99 {best['p99_ms']:.2f} ms  "
                      f"(requests/s {min(r['rps'] for r in runs):.0f}-{max(r['rps'] for r in runs):.0f}, "
                      f"p99 {min(r['p99_ms'] for r in runs):.2f}-{max(r['p99_ms'] for r in runs):.2f} ms)")
    print("\ntargets (best run per endpoint; a decision = one request):")
    ok_all = True
    for label, _, _, _ in endpoints:
        best = max((r for lbl, _, r in results if lbl == label), key=lambda r: r["rps"])
        for text, ok in ((f"{label}: {best['rps']:.0f} requests/s >= 5000", best["rps"] >= 5000),
                         (f"{label}: p99 {best['p99_ms']:.2f} ms <= 5 ms", best["p99_ms"] <= 5.0),
                         (f"{label}: {sum(r['errors'] for lbl, _, r in results if lbl == label)} errors",
                          all(r["errors"] == 0 for lbl, _, r in results if lbl == label))):
            ok_all &= ok
            print(f"  {'PASS' if ok else 'MISS'}  {text} ({best['client']})")
    return 1 if args.strict and not ok_all else 0


if __name__ == "__main__":
    sys.exit(main())
