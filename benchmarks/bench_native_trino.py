"""Benchmark `plan --target trino` (issue 22) on W1 and 10x W1 (benchmarks/workload.py), with one
consumer per domain team, as benchmarks/bench_native.py does for PostgreSQL.

Printed side by side in one run: compiling the plan (every consumer x product through
`evaluate()`), rendering the rules file (one rule per consumer x table: masks and filters as
Trino SQL), diffing it against the deployed file (equal, then one rule edited) and writing it
atomically. The query-time cost of the rules on a real Trino is in benchmarks/bench_trino.py.

    .venv/bin/python benchmarks/bench_native_trino.py [--no-10x]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402
from bench_native import consumers, timed  # noqa: E402

from policyengine.engine.loading import load  # noqa: E402
from policyengine.native import compile_plan  # noqa: E402
from policyengine.native import trino as tr  # noqa: E402

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def run(name: str, w: wl.Workload, root: Path) -> None:
    policies, catalog = wl.write_policyengine(w, root / name)
    engine = load([policies], [catalog], consumers=consumers(w, root / name / "consumers.yaml"))
    naming = tr.TrinoNaming(catalogs=("lakehouse",))
    plan, compile_s = timed(lambda: compile_plan(engine, "trino", at=AT))
    rules, render_s = timed(lambda: tr.compile_rules(plan, naming))
    text = rules.text()
    path = root / name / "rules.json"
    _, write_s = timed(lambda: tr.write_atomic(path, text))
    same, diff_s = timed(lambda: tr.diff(rules.document, path.read_text("utf-8")))
    assert same == [], same[:3]
    edited = json.loads(text)
    edited["tables"][0]["privileges"] = ["SELECT", "INSERT"]
    changed, diff2_s = timed(lambda: tr.diff(rules.document, json.dumps(edited)))
    assert len(changed) == 1, changed[:3]
    pairs = len(engine.consumers) * len(w.products)
    print(f"{name}: {len(w.products)} products x {len(engine.consumers)} consumers = {pairs} pairs, "
          f"{len(rules.document['tables'])} table rules, {len(text) / 1e6:.1f} MB")
    print(f"  compile (every pair)           {compile_s:7.2f} s")
    print(f"  render the rules               {render_s:7.2f} s")
    print(f"  plan without Trino             {compile_s + render_s:7.2f} s  (target <= 5 s for 10x W1)")
    print(f"  diff vs the deployed file      {diff_s:7.2f} s equal, {diff2_s:.2f} s with one rule edited")
    print(f"  write atomically               {write_s:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-10x", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("W1", wl.make_workload(), Path(tmp))
        if not args.no_10x:
            run("10x W1", wl.make_workload(products=2000, domains=200, purpose_grants=2000), Path(tmp))


if __name__ == "__main__":
    main()
