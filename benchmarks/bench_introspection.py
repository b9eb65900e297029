"""What the gateway's catalog answers cost, side by side in one run: building a consumer's
look-alike catalog (once per consumer until a decision changes), answering psql's `\\dt` query
from it, and an ordinary enforced query's cost for comparison; plus the price every ordinary
statement pays for the test that routes catalog queries (`introspection.maybe`).

    .venv/bin/python benchmarks/bench_introspection.py [--runs 50]

In process, on the example mesh as bob (no wire: bench_wire.py measures the protocol).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import policyengine  # noqa: E402
from policyengine.enforce.gateway import Gateway  # noqa: E402
from policyengine.wire import introspection  # noqa: E402

DT = ("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n "
      "ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','') AND pg_catalog.pg_table_is_visible(c.oid) "
      "ORDER BY 1,2")
ORDINARY = "SELECT customer_email, region FROM sales.orders WHERE amount > 10"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    mesh = ROOT / "examples" / "mesh"
    engine = policyengine.load([str(ROOT / "policies")], [str(mesh / "products")],
                               consumers=str(mesh / "consumers.yaml"))
    gateway = Gateway(engine, hash_key=b"bench-key")
    bob = engine.consumers.get("bob")
    session = introspection.Session({"server_version": "16.0"}, "mesh", "bench")
    start = time.perf_counter()
    introspection.visible_tables(gateway, bob)
    tables_ms = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    asyncio.run(introspection.answer(gateway, bob, session, DT))
    first_ms = (time.perf_counter() - start) * 1000
    catalog, ordinary = [], []
    for _ in range(args.runs):  # interleaved: the same machine state for both
        start = time.perf_counter()
        asyncio.run(introspection.answer(gateway, bob, session, DT))
        catalog.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        gateway.query(ORDINARY, bob)
        ordinary.append((time.perf_counter() - start) * 1000)
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        introspection.maybe(ORDINARY)
    maybe_us = (time.perf_counter() - start) / n * 1e6
    print(f"bob's visible tables (one LIMIT 0 query per product): {tables_ms:.1f} ms")
    print(f"first \\dt query (builds bob's catalog):               {first_ms:.1f} ms")
    print(f"\\dt query, catalog built: p50 {statistics.median(catalog):.2f} ms   "
          f"ordinary query in process: p50 {statistics.median(ordinary):.2f} ms   ({args.runs} runs each)")
    print(f"routing test on an ordinary statement: {maybe_us:.1f} us")


if __name__ == "__main__":
    main()
