#!/usr/bin/env python3
"""Benchmark Trino with no access control against Trino asking `policyengine serve` through its
OPA plugin: the same queries, side by side in one run, on two Trino servers of the pinned version
(scripts/fetch-trino) with the same data, the queries alternating between them.

    .venv/bin/python benchmarks/bench_trino.py [--runs 200] [--warmup 30] [--rows 2000]

Queries, as consumer bob (a sales rep: masks and a row filter on every table he reads):
  point   SELECT * FROM sales.orders WHERE order_id = '…'            (13 columns, 4 masked, filter)
  wide    SELECT * FROM bench.wide                                     (20 columns, 6 masked, filter)
  join3   sales.orders JOIN sales.customers JOIN marketing.leads       (3 tables, masks, filters)
`bench.wide` is a product added for the benchmark (its contract and policy are written here).

Reported per query and server: p50 and p99 of the client-side latency (the `trino` client from
PyPI, one connection per server, each query fetched to the end), the plugin requests `serve`
answered per query (its /metrics, by route) and `serve`'s CPU per query (/proc). Target
(issue 21): OPA -> serve adds <= 5 ms p50 to a query against no access control.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engines import seed, trino_dist  # noqa: E402
from tests.engines.trino_server import (  # noqa: E402
    LoaderStub,
    Serve,
    Trino,
    free_port,
    product_table,
    serve_config,
    trino_settings,
)

WIDE_COLUMNS = 20
MASKED = ("c1", "c2", "c3", "c4", "c5", "c6")

QUERIES = {
    "point": "SELECT * FROM lakehouse.sales.orders WHERE order_id = 'ORD-000128'",
    "wide": "SELECT * FROM lakehouse.bench.wide",
    "join3": "SELECT o.order_id, o.amount, c.full_name, c.email, l.company FROM lakehouse.sales.orders o "
             "JOIN lakehouse.sales.customers c ON o.customer_id = c.customer_id "
             "JOIN lakehouse.marketing.leads l ON c.region = l.region",
}


def _contract() -> str:
    props = ["  - name: id\n    logicalType: string\n    physicalType: varchar\n    classification: internal\n"
             "    tags: []\n",
             "  - name: region\n    logicalType: string\n    physicalType: varchar\n    classification: internal\n"
             "    tags: []\n"]
    for i in range(1, WIDE_COLUMNS - 1):
        props.append(f"  - name: c{i}\n    logicalType: string\n    physicalType: varchar\n"
                     "    classification: internal\n    tags: []\n")
    return ("apiVersion: v3.0.2\nkind: DataContract\nid: bench-wide\nname: wide\nversion: 1.0.0\nstatus: active\n"
            "domain: bench\ndataProduct: wide\nschema:\n- name: wide\n  physicalName: wide\n  physicalType: table\n"
            "  properties:\n" + "".join(props))


POLICY = f"""scope domain bench

allow read bench.wide to group:sales-reps;
mask bench.wide.{{{', '.join(MASKED[:3])}}} using last4 to group:sales-reps;
mask bench.wide.{{{', '.join(MASKED[3:])}}} using hash to group:sales-reps;
filter bench.* rows where region == consumer.region to group:sales-reps;
"""


def _wide_table(rows: int) -> pa.Table:
    data = {"id": [f"W{i:06d}" for i in range(rows)], "region": [("uk", "eu", "us")[i % 3] for i in range(rows)]}
    for i in range(1, WIDE_COLUMNS - 1):
        data[f"c{i}"] = [f"value-{i}-{r:08d}" for r in range(rows)]
    return pa.table(data)


def _project(folder: Path) -> tuple[Path, dict[str, pa.Table]]:
    products = folder / "products"
    shutil.copytree(ROOT / "examples" / "mesh" / "products", products)
    (products / "bench.wide.yaml").write_text(_contract(), encoding="utf-8")
    policies = folder / "policies"
    policies.mkdir()
    for p in (ROOT / "policies").glob("*.policy"):
        shutil.copy(p, policies)
    (policies / "bench.policy").write_text(POLICY, encoding="utf-8")
    config = serve_config(folder, trino_settings(), allow_unkeyed_hash=True)
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^policies: .*$", f"policies: {policies}", text)
    text = re.sub(r"(?m)^catalog: .*$", f"catalog: {products}", text)
    config.write_text(text, encoding="utf-8")
    return config, {}


def _requests(serve: Serve) -> dict[str, float]:
    """Plugin requests answered so far, by route."""
    out: dict[str, float] = {}
    for line in serve.metrics().splitlines():
        m = re.match(r'policyengine_requests_total\{.*route="/v1/trino/([^"]+)".*\} (\S+)', line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def _timed(con, sql: str) -> float:
    cur = con.cursor()
    start = time.perf_counter()
    cur.execute(sql)
    cur.fetchall()
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rows", type=int, default=2000, help="rows of bench.wide")
    args = parser.parse_args()
    if trino_dist.installed() is None or trino_dist.java_home() is None:
        print("bench_trino: run scripts/fetch-trino first (and have a JDK >= 24)", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="policyengine-bench-trino-"))
    plain = governed = serve = stub = None
    try:
        config, _ = _project(folder)
        tables = {p: t for p, t in seed.mesh_tables().items()
                  if p in ("sales.orders", "sales.customers", "marketing.leads")}
        tables["bench.wide"] = _wide_table(args.rows)
        load = {product_table(p)[1]: (product_table(p)[0], t) for p, t in tables.items()}
        opa_port = free_port()
        stub = LoaderStub(opa_port)
        start = time.perf_counter()
        plain = Trino(folder / "plain", None, {})
        governed = Trino(folder / "governed", opa_port, {})
        plain.wait_ready()
        governed.wait_ready()
        started = time.perf_counter() - start
        plain.load(load, user="bob")
        governed.load(load)
        stub.stop()
        stub = None
        serve = Serve(opa_port, config, folder / "serve.log")
        print(f"Trino {trino_dist.VERSION}: both servers ready in {started:.1f} s; bench.wide {args.rows} rows")
        cons = {"none": plain.connect("bob"), "opa->serve": governed.connect("bob")}
        results: dict[tuple[str, str], list[float]] = {}
        per_query: dict[str, tuple[float, float]] = {}
        routes: dict[str, dict[str, float]] = {}
        for name, sql in QUERIES.items():
            for _ in range(args.warmup):
                for con in cons.values():
                    _timed(con, sql)
            requests0, cpu0 = _requests(serve), serve.cpu_seconds()
            for _ in range(args.runs):
                for label, con in cons.items():
                    results.setdefault((name, label), []).append(_timed(con, sql))
            cpu = (serve.cpu_seconds() - cpu0) * 1000 / args.runs
            requests1 = _requests(serve)
            routes[name] = {r: (n - requests0.get(r, 0.0)) / args.runs for r, n in requests1.items()}
            per_query[name] = (sum(routes[name].values()), cpu)
        print(f"\n{'query':<7} {'access control':<14} {'p50 ms':>8} {'p99 ms':>8}   {'plugin req/query':>16} "
              f"{'serve CPU ms/query':>18}")
        for name in QUERIES:
            for label in cons:
                xs = sorted(results[(name, label)])
                p50, p99 = statistics.median(xs), xs[min(len(xs) - 1, int(len(xs) * 0.99))]
                extra = (f"   {per_query[name][0]:>16.1f} {per_query[name][1]:>18.2f}" if label != "none" else "")
                print(f"{name:<7} {label:<14} {p50:>8.1f} {p99:>8.1f}{extra}")
            added = statistics.median(results[(name, "opa->serve")]) - statistics.median(results[(name, "none")])
            print(f"{name:<7} {'added p50':<14} {added:>8.1f}   target <= 5 ms: {'met' if added <= 5 else 'MISSED'}")
        print("\nplugin requests per query, by route:")
        for name in QUERIES:
            print(f"  {name:<7} " + ", ".join(f"{r} {n:.1f}" for r, n in sorted(routes[name].items()) if n))
        return 0
    finally:
        for thing in (serve, plain, governed, stub):
            if thing is not None:
                thing.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
