"""The PostgreSQL-protocol gateway against the same query through the Gateway library call in
process, side by side in one run: the latency the wire, the protocol layer and psycopg add.

    .venv/bin/python benchmarks/bench_wire.py [--runs 300] [--json]

Starts `policyengine gateway` on the example mesh (the repository's policyengine.yaml, trust on
loopback) in a subprocess on a free port, connects psycopg 3 as bob (autocommit, simple query),
and times each query: the same text again and again ("seen"), and a new text every time (a
literal changes, so the rewrite cache misses). The in-process column is `Gateway.query` on a
Gateway built the same way. Issue 23's targets for the added latency: p50 ≤ 1 ms seen, ≤ 3 ms new.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

import policyengine  # noqa: E402
from policyengine.enforce.gateway import Gateway  # noqa: E402

KEY = "policyengine-demo-key-not-a-secret"
QUERIES = {
    "small": "SELECT customer_email, region, amount FROM sales.orders WHERE amount > {n} ORDER BY amount DESC LIMIT 3",
    "join": ("SELECT o.order_id, c.email, o.amount FROM sales.orders o JOIN sales.customers c "
             "ON o.customer_id = c.customer_id WHERE o.amount > {n} ORDER BY o.order_id"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _times(run: Callable[[str], object], texts: list[str]) -> list[float]:
    out = []
    for text in texts:
        start = time.perf_counter()
        run(text)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def _load(port: int, clients: int, seconds: float, text: str) -> dict[str, float]:
    """`clients` threads, one psycopg connection each, running `text` back to back."""
    import threading

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    conns = [psycopg.connect(f"host=127.0.0.1 port={port} user=bob dbname=mesh", autocommit=True)
             for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def worker(conn: psycopg.Connection) -> None:
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                conn.execute(text).fetchall()
            except psycopg.Error:
                failed += 1
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    for c in conns:
        c.close()
    return {"clients": clients, "queries_per_s": len(latencies) / elapsed, "p50": statistics.median(latencies),
            "p99": _p(latencies, 0.99), "errors": errors[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for the load run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the load run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    engine = policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    gateway = Gateway(engine, hash_key=KEY)
    bob = engine.consumers.get("bob")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POLICYENGINE_HASH_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-c", "from policyengine.cli import main; main()", "gateway",
                             "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = psycopg.connect(f"host=127.0.0.1 port={port} user=bob dbname=mesh", autocommit=True)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.2)
        results = {}
        with conn:
            def wire(text: str) -> object:
                return conn.execute(text).fetchall()

            def local(text: str) -> object:
                return gateway.query(text, bob).to_pylist()

            for name, template in QUERIES.items():
                seen = [template.format(n=100)] * args.runs
                for run in (wire, local):  # warm both: first rewrite, first decisions
                    _times(run, seen[:20])
                # interleaved in one loop so both see the same machine load
                row = {}
                for label, texts in (("seen", seen),
                                     ("new", [template.format(n=1000 + i) for i in range(args.runs)])):
                    w, lo = [], []
                    for i, text in enumerate(texts):
                        local_text = text if label == "seen" else template.format(n=100_000 + i)
                        w += _times(wire, [text])
                        lo += _times(local, [local_text])
                    row[label] = {"wire_p50": statistics.median(w), "wire_p99": _p(w, 0.99),
                                  "inproc_p50": statistics.median(lo), "inproc_p99": _p(lo, 0.99),
                                  "added_p50": statistics.median(w) - statistics.median(lo)}
                results[name] = row
        results["load"] = _load(port, args.clients, args.seconds, QUERIES["small"].format(n=100))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'query':6} {'text':5} {'wire p50':>9} {'wire p99':>9} {'in-proc p50':>12} {'in-proc p99':>12} "
          f"{'added p50':>10}  (ms, {args.runs} runs)")
    load = results.pop("load")
    for name, row in results.items():
        for label, r in row.items():
            print(f"{name:6} {label:5} {r['wire_p50']:9.2f} {r['wire_p99']:9.2f} {r['inproc_p50']:12.2f} "
                  f"{r['inproc_p99']:12.2f} {r['added_p50']:10.2f}")
    print(f"load: {load['clients']} clients, {load['queries_per_s']:.0f} queries/s, p50 {load['p50']:.1f} ms, "
          f"p99 {load['p99']:.1f} ms, {load['errors']} errors (small query, seen text)")


if __name__ == "__main__":
    main()
