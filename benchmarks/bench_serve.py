#!/usr/bin/env python3
"""Benchmark `policyengine serve` over HTTP on loopback: `/v1/evaluate` and Trino batch column
masking for 20 columns, decisions/s and latency percentiles, side by side in one run.

    .venv/bin/python benchmarks/bench_serve.py [--workers 2] [--connections 16] [--requests 20000]
                                               [--seconds 10] [--strict]

The server is started here (`policyengine serve` on the example mesh, a free port) and stopped
at the end. The load generator is `wrk` when it is installed (`apt-get install wrk`; its latency
percentiles are the server's plus the loopback), else a pure-Python asyncio client over raw
keep-alive sockets (pre-encoded requests, one connection per task, timing each request), which
shares the 2 cores with the server, so its figures are a lower bound. Runs are bounded by a
request count and a time limit. Also measured side by side: encoding a Decision's JSON with
orjson, msgspec and the standard library (why the server uses orjson).

Targets (issue 14): >= 5,000 decisions/s and p99 <= 5 ms for each endpoint on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
           "--workers", str(workers), "--config", str(ROOT / "policyengine.yaml")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
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

    elapsed = asyncio.run(run())
    samples.sort()
    n = len(samples)
    return {"client": "python", "requests": n, "errors": errors[0], "rps": n / elapsed,
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
    try:
        out = subprocess.run([wrk, "-t1", f"-c{connections}", f"-d{max(1, int(seconds))}s", "-s", script,
                              f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(script)
    line = next((li for li in out.stdout.splitlines() if li.startswith("JSON ")), None)
    if line is None:
        return None
    r = json.loads(line[5:])
    return {"client": "wrk", "requests": r["requests"], "errors": r["errors"],
            "rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1e3,
            "p99_ms": r["p99_us"] / 1e3, "mean_ms": r["mean_us"] / 1e3}


# ---------------------------------------------------------------- JSON libraries


def json_encoders() -> list[tuple[str, float]]:
    """Microseconds to encode one Decision.to_dict() (13 columns) with each library."""
    sys.path.insert(0, str(ROOT))
    from policyengine.config import load_config
    from policyengine.engine.evaluator import load

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20000, help="per endpoint (Python client)")
    parser.add_argument("--seconds", type=float, default=10.0, help="time limit per endpoint")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    print("JSON encoding of one Decision.to_dict():")
    for name, us in json_encoders():
        print(f"  {name:<16} {us:7.2f} us")
    port = free_port()
    proc = start_server(port, args.workers)
    results = []
    try:
        for label, path, body in (("/v1/evaluate (6 columns)", "/v1/evaluate", EVALUATE),
                                  ("Trino batch column masks (20 columns)", "/v1/trino/batch-column-masks",
                                   trino_masks(20))):
            python_load(port, path, body, 500, 5, 4)  # warm-up: caches and connections
            for r in (wrk_load(port, path, body, args.seconds, args.connections),
                      python_load(port, path, body, args.requests, args.seconds, args.connections)):
                if r is not None:
                    results.append((label, r))
    finally:
        stop_server(proc)
    print(f"\nover HTTP on loopback, {args.workers} worker(s), {args.connections} connections, {os.cpu_count()} CPUs")
    print(f"  {'endpoint':<40} {'client':<7} {'requests':>9} {'errors':>6} {'decisions/s':>12} "
          f"{'p50':>9} {'p99':>9}")
    for label, r in results:
        print(f"  {label:<40} {r['client']:<7} {r['requests']:>9} {r['errors']:>6} {r['rps']:>12.0f} "
              f"{r['p50_ms']:>7.2f}ms {r['p99_ms']:>7.2f}ms")
    print("\ntargets (best client per endpoint):")
    ok_all = True
    for label in dict.fromkeys(lbl for lbl, _ in results):
        best = max((r for lbl, r in results if lbl == label), key=lambda r: r["rps"])
        for text, ok in ((f"{label}: {best['rps']:.0f} decisions/s >= 5000", best["rps"] >= 5000),
                         (f"{label}: p99 {best['p99_ms']:.2f} ms <= 5 ms", best["p99_ms"] <= 5.0),
                         (f"{label}: {best['errors']} errors", best["errors"] == 0)):
            ok_all &= ok
            print(f"  {'PASS' if ok else 'MISS'}  {text} ({best['client']})")
    return 1 if args.strict and not ok_all else 0


if __name__ == "__main__":
    sys.exit(main())
