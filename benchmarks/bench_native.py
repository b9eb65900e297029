"""Benchmark `plan` / `apply --target postgres` (issue 22) on W1 and 10x W1 (benchmarks/workload.py)
with one consumer per domain team (each reads its domain's products, `pii` columns denied).

Printed side by side in one run: compiling the plan (every consumer x product through
`evaluate()`), rendering the views' SQL, and, on a local PostgreSQL (pgserver, W1 only unless
`--apply-10x`), the first apply, a second plan (read back from the catalogs: empty) and a query
through the native objects vs the same query on the raw table vs the gateway's rewritten query.

    .venv/bin/python benchmarks/bench_native.py [--no-10x] [--no-postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402

from policyengine.engine.loading import load  # noqa: E402
from policyengine.native import compile_plan  # noqa: E402
from policyengine.native import postgres as pg  # noqa: E402

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ROWS = 1000
QUERY_ROWS = 200_000
REPEAT = 20
TEMPLATE = "public.{schema}_{table}"


# on top of the workload: a mask on one column and a row filter reading a consumer attribute, so
# the native objects carry CASE masks and per-class row policies with mapped literals
NATIVE_POLICY = """scope platform

mask *.*.c01 using redact to everyone;

filter *.* rows where c03 != consumer.skip to everyone;
"""


def consumers(w: wl.Workload, path: Path) -> Path:
    people = [{"id": f"u{d}", "groups": [f"{d}-team", "staff"], "attributes": {"skip": f"c03-{i + 1}"}}
              for i, d in enumerate(w.domains)]
    path.write_text(yaml.safe_dump({"consumers": people}), encoding="utf-8")
    return path


def timed(fn):  # noqa: ANN001, ANN202
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(name: str, w: wl.Workload, root: Path, postgres: bool) -> None:
    policies, catalog = wl.write_policyengine(w, root / name)
    (policies / "native.policy").write_text(NATIVE_POLICY, encoding="utf-8")
    engine = load([policies], [catalog], consumers=consumers(w, root / name / "consumers.yaml"))
    plan, compile_s = timed(lambda: compile_plan(engine, at=AT))
    desired, render_s = timed(lambda: pg.desired_state(plan, table_template=TEMPLATE))
    pairs = len(engine.consumers) * len(w.products)
    print(f"{name}: {len(w.products)} products x {len(engine.consumers)} consumers = {pairs} pairs, "
          f"{len(plan.tables)} readable pairs, {len(desired.views)} views, {len(desired.policies)} row policies")
    print(f"  compile (every pair)           {compile_s:7.2f} s")
    print(f"  render the objects' SQL        {render_s:7.2f} s")
    print(f"  plan without the database      {compile_s + render_s:7.2f} s  (target <= 5 s for 10x W1)")
    if postgres:
        apply_live(w, engine, plan, desired, root / name / "pg")


def apply_live(w: wl.Workload, engine, plan, desired: pg.Desired, folder: Path) -> None:  # noqa: ANN001
    import pgserver
    import psycopg

    from policyengine.enforce.gateway import rewrite_query

    server = pgserver.get_server(folder, cleanup_mode="stop")
    try:
        admin = psycopg.connect(server.get_uri(), autocommit=True)
        columns = ", ".join(f'"{c}" text' for c in w.columns)
        for product in w.products:
            table = product.replace(".", "_")
            admin.execute(f'CREATE TABLE public."{table}" ({columns})')
            admin.execute(f'INSERT INTO public."{table}" SELECT ' + ", ".join(
                f"'{c}-' || g" for c in w.columns) + f" FROM generate_series(1, {ROWS}) g")
        con = psycopg.connect(server.get_uri())
        changes, apply_s = timed(lambda: pg.apply(con, desired))
        second, replan_s = timed(lambda: pg.plan_changes(desired, pg.read_live(con, desired)))
        assert second == [], second
        print(f"  apply on PostgreSQL            {apply_s:7.2f} s  ({len(changes)} changes; target <= 10 s for W1)")
        print(f"  second plan (read back)        {replan_s:7.2f} s  (empty)")
        query_side_by_side(w, engine, plan, admin, rewrite_query)
        con.close()
        admin.close()
    finally:
        server.cleanup()


def query_side_by_side(w: wl.Workload, engine, plan, admin, rewrite_query) -> None:  # noqa: ANN001
    """One consumer's count and max of a masked column with a LIKE over one product grown to
    QUERY_ROWS rows: through the native objects (its view, row-level security with its mapped
    attribute, column privileges), on the raw table (the filter written in), and the gateway's
    rewritten query on the raw table (the rewrite itself timed apart), interleaved."""
    table = plan.tables[0]
    product, consumer, base = table.product, table.consumer, pg.base_table(table.product, TEMPLATE)
    admin.execute(f"INSERT INTO {base} SELECT " + ", ".join(f"'{c}-' || g" for c in w.columns)
                  + f" FROM generate_series({ROWS + 1}, {QUERY_ROWS}) g")
    admin.execute(f"ANALYZE {base}")
    view = f'"{pg.Names(pg.DEFAULT_PREFIX).views}"."{product}"'
    native = f"SELECT count(*), max(\"c01\") FROM {view} WHERE \"c00\" LIKE '%11%'"
    raw = f"SELECT count(*), max(\"c01\") FROM {base} WHERE \"c00\" LIKE '%11%' AND \"c03\" <> 'c03-1'"
    sources = {product: ["public", product.replace(".", "_")]}
    rewritten, rewrite_s = timed(lambda: rewrite_query(
        f"SELECT count(*), max(c01) FROM {product} WHERE c00 LIKE '%11%'", consumer, engine, dialect="postgres",
        sources=sources, at=AT))
    gateway = rewritten.sql
    role = pg.DEFAULT_PREFIX + consumer
    times = {"native": 0.0, "raw": 0.0, "gateway": 0.0}
    counts = {}
    for _ in range(REPEAT):
        for kind, sql in (("native", native), ("raw", raw), ("gateway", gateway)):
            if kind == "native":
                admin.execute(f'SET ROLE "{role}"')
            counts[kind], took = timed(lambda sql=sql: admin.execute(sql, rewritten.bind if sql is gateway else None)
                                       .fetchone()[0])  # the count (the max differs: redacted)
            times[kind] += took
            if kind == "native":
                admin.execute("RESET ROLE")
    assert len(set(counts.values())) == 1, counts
    ms = {k: v / REPEAT * 1000 for k, v in times.items()}
    print(f"  query ({QUERY_ROWS} rows, {consumer} on {product}, {REPEAT}x interleaved):")
    print(f"    raw table                    {ms['raw']:7.2f} ms")
    print(f"    native view + RLS            {ms['native']:7.2f} ms  = {ms['native'] / ms['raw']:.2f}x raw")
    print(f"    gateway's rewritten query    {ms['gateway']:7.2f} ms  = {ms['gateway'] / ms['raw']:.2f}x raw "
          f"(+ {rewrite_s * 1000:.1f} ms to rewrite, once)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-10x", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--apply-10x", action="store_true", help="Also apply 10x W1 on PostgreSQL.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("W1", wl.make_workload(), Path(tmp), not args.no_postgres)
        if not args.no_10x:
            run("10x W1", wl.make_workload(products=2000, domains=200, purpose_grants=2000), Path(tmp),
                args.apply_10x and not args.no_postgres)


if __name__ == "__main__":
    main()
