"""Benchmark `render --target snowflake|databricks|bigquery` (issue 22) on W1 and 10x W1
(benchmarks/workload.py, one consumer per domain team as in bench_native.py): compiling the
plan for the target, folding each product's consumers into classes and rendering the objects,
side by side with the postgres target's compile in the same run. Nothing is executed.

    .venv/bin/python benchmarks/bench_native_rendered.py [--no-10x]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402
from bench_native import AT, consumers, timed  # noqa: E402

from policyengine.engine.loading import load  # noqa: E402
from policyengine.native import bigquery, compile_plan, databricks, snowflake  # noqa: E402
from policyengine.native.fold import fold_plan  # noqa: E402

MODULES = {"snowflake": snowflake, "databricks": databricks, "bigquery": bigquery}


def run(name: str, w: wl.Workload, root: Path) -> None:
    policies, catalog = wl.write_policyengine(w, root / name)
    engine = load([policies], [catalog], consumers=consumers(w, root / name / "consumers.yaml"))
    _, postgres_s = timed(lambda: compile_plan(engine, "postgres", at=AT))
    print(f"{name}: {len(w.products)} products x {len(engine.consumers)} consumers")
    print(f"  {'postgres':<11} compile {postgres_s:6.2f} s (reference)")
    for target, module in MODULES.items():
        plan, compile_s = timed(lambda t=target: compile_plan(engine, t, at=AT))
        folds, fold_s = timed(lambda p=plan: fold_plan(p))
        files, render_s = timed(lambda p=plan, m=module: m.render_files(p, m.DEFAULTS))
        size = sum(len(t) for t in files.values())
        classes = sum(len(f.classes) for f in folds)
        print(f"  {target:<11} compile {compile_s:6.2f} s, fold {fold_s:5.2f} s, render {render_s:6.2f} s = "
              f"{compile_s + render_s:6.2f} s ({len(folds)} products, {classes} classes, {size / 1e6:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-10x", action="store_true", help="W1 only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("W1", wl.make_workload(), Path(tmp))
        if not args.no_10x:
            run("10x W1", wl.make_workload(products=2000, domains=200, purpose_grants=2000), Path(tmp))


if __name__ == "__main__":
    main()
