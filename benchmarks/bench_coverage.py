"""The coverage gate on workload W1 and 10x W1, against brute force over the same requests.

Brute force here: per product, every subset of the groups its rules name (plus one no rule names),
each purpose a rule names plus none, each stretch between window boundaries, through
`Engine.evaluate`; that is already far smaller than "every consumer", yet the class search needs
fewer evaluations still. Both must find the same (product, column) gaps, with and without the
privileged group; the ratios are printed side by side.

    .venv/bin/python benchmarks/bench_coverage.py [--json FILE]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workload import make_workload, write_policyengine  # noqa: E402

from policyengine.catalog.consumers import Consumer  # noqa: E402
from policyengine.engine import load  # noqa: E402
from policyengine.governance.classes import instant_classes, product_rules, purpose_classes  # noqa: E402
from policyengine.governance.coverage import check_coverage, privileges, sensitive_columns  # noqa: E402


def brute_force(engine, privileged) -> tuple[set[tuple[str, str]], int]:
    """(product, column) gaps over every subset of the groups each product's rules name."""
    privs = privileges(privileged)
    gaps: set[tuple[str, str]] = set()
    evaluations = 0
    by_product: dict[str, list] = {}
    for c in sensitive_columns(engine.catalog):
        by_product.setdefault(c.product, []).append(c)
    for product, cols in by_product.items():
        names = [c.column for c in cols]
        rules = product_rules(engine, product, names)
        groups = sorted(set().union(*(r.groups | r.except_groups for r in rules)) | {"nobody-names-this"})
        purposes = [p.value for p in purpose_classes(rules)]
        instants = [i.at for i in instant_classes(rules)]
        for k in range(len(groups) + 1):
            for held in map(frozenset, itertools.combinations(groups, k)):
                if any(p.held_by("someone", held) for p in privs):
                    continue
                consumer = Consumer("someone", held, {})
                for purpose, at in itertools.product(purposes, instants):
                    d = engine.evaluate(consumer, product, names, purpose, at, use_cache=False)
                    evaluations += 1
                    gaps.update((product, c) for c in names if d.columns[c].effect == "allow")
    return gaps, evaluations


def run(products: int, grants: int) -> dict:
    w = make_workload(products=products, purpose_grants=grants)
    root = Path(tempfile.mkdtemp(prefix="pe-bench-coverage-"))
    policies, catalog = write_policyengine(w, root)
    engine = load(policies, catalog)
    out = {"products": products, "rules": len(engine.rules)}
    for label, privileged in (("no privileged subject", []), ("pii-cleared privileged", [("group:pii-cleared", ())])):
        t = time.perf_counter()
        report = check_coverage(engine, privileged=privileged)
        classes_s = time.perf_counter() - t
        t = time.perf_counter()
        brute, brute_evals = brute_force(engine, privileged)
        brute_s = time.perf_counter() - t
        found = {(g.product, g.column) for g in report.gaps}
        assert found == brute, f"{label}: classes and brute force disagree"
        out[label] = {"gaps": len(report.gaps), "gap_columns": len(found), "classes_s": classes_s,
                      "class_evaluations": report.evaluations, "brute_s": brute_s,
                      "brute_evaluations": brute_evals, "ratio": brute_s / classes_s}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = [run(200, 200), run(2000, 2000)]
    print(f"{'workload':<28} {'case':<24} {'gap cols':>8} {'classes':>10} {'evals':>8} "
          f"{'brute force':>12} {'evals':>8} {'ratio':>6}")
    for r in results:
        name = f"{'W1' if r['products'] == 200 else '10x W1'} ({r['products']} products, {r['rules']} rules)"
        for case in ("no privileged subject", "pii-cleared privileged"):
            c = r[case]
            print(f"{name:<28} {case:<24} {c['gap_columns']:>8} {c['classes_s']:>9.2f}s {c['class_evaluations']:>8} "
                  f"{c['brute_s']:>11.2f}s {c['brute_evaluations']:>8} {c['ratio']:>5.1f}x")
    print("classes and brute force found the same gap columns in every case")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
