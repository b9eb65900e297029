"""`policyengine diff` on workload W1 and 10x W1 with one rule changed, against brute force, in one run.

Three figures per workload, measured side by side on the same two loaded versions:

- *diff*: `diff_versions` as the command runs it (products whose rules and contract did not change
  are skipped by fingerprint; the changed ones are evaluated on request classes);
- *classes, every product*: the same class search without skipping (`prune=False`);
- *brute force*: per product, every subset of the groups the two versions' rules name (plus one
  no rule names), each purpose a rule names and none, each stretch between window boundaries,
  both versions through `Engine.evaluate`, every column compared. All three must find the same
  changed (product, column, direction) cells; the ratios are printed.

Loading (the contracts once, as the command does when both versions' contract files are
byte-identical; then parse, check, compile both policy versions) is timed apart: the command pays
it too. The ≤ 10 s target is checked on load + diff.

    .venv/bin/python benchmarks/bench_diff.py [--json FILE]
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
from policyengine.catalog.contracts import load_catalog  # noqa: E402
from policyengine.engine import load  # noqa: E402
from policyengine.governance.classes import instant_classes, purpose_classes  # noqa: E402
from policyengine.governance.diff import diff_versions  # noqa: E402
from policyengine.governance.matrix import cell_direction  # noqa: E402

TARGET_S = 10.0


def change_one_rule(policies: Path, product: str, group: str) -> str:
    """Drop the purpose of one purpose grant (a loosening): the rule as changed."""
    domain = product.split(".")[0]
    path = policies / f"{domain}.policy"
    old = f"allow read {product} to group:{group} for purpose analytics;"
    new = f"allow read {product} to group:{group};"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")
    return new


def brute_force(base, head) -> tuple[set[tuple[str, str, str]], int]:
    found: set[tuple[str, str, str]] = set()
    evaluations = 0
    for product in sorted(set(base.catalog.products) & set(head.catalog.products)):
        rules = (*base.compiled.products[product].rules, *head.compiled.products[product].rules)
        groups = sorted(set().union(*(r.groups | r.except_groups for r in rules)) | {"nobody-names-this"})
        purposes = [p.value for p in purpose_classes(rules)]
        instants = [i.at for i in instant_classes(rules)]
        columns = list(head.catalog.products[product].column_names)
        for k in range(len(groups) + 1):
            for held in map(frozenset, itertools.combinations(groups, k)):
                consumer = Consumer("someone", held, {})
                for purpose, at in itertools.product(purposes, instants):
                    a = base.evaluate(consumer, product, columns, purpose, at, use_cache=False)
                    b = head.evaluate(consumer, product, columns, purpose, at, use_cache=False)
                    evaluations += 2
                    for col in columns:
                        d = cell_direction(a.columns[col], b.columns[col])
                        if d:
                            found.add((product, col, d))
    return found, evaluations


def run(products: int, grants: int) -> dict:
    w = make_workload(products=products, purpose_grants=grants)
    root = Path(tempfile.mkdtemp(prefix="pe-bench-diff-"))
    base_policies, catalog = write_policyengine(w, root / "base")
    head_policies, _ = write_policyengine(w, root / "head")
    group, product = w.purpose_grants[len(w.purpose_grants) // 2]
    change_one_rule(head_policies, product, group)
    t = time.perf_counter()  # as the command does: identical contract files are parsed once
    contracts = load_catalog(catalog)
    base, head = load(base_policies, contracts), load(head_policies, contracts)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    report = diff_versions(base, head, base_root=root / "base", head_root=root / "head")
    diff_s = time.perf_counter() - t
    t = time.perf_counter()
    full = diff_versions(base, head, base_root=root / "base", head_root=root / "head", prune=False)
    full_s = time.perf_counter() - t
    t = time.perf_counter()
    brute, brute_evals = brute_force(base, head)
    brute_s = time.perf_counter() - t
    cells = {(c.product, c.column, c.direction) for c in report.cells if c.column}
    assert cells == {(c.product, c.column, c.direction) for c in full.cells if c.column} == brute, \
        "diff, classes over every product and brute force disagree"
    assert cells and report.exit_code() == 1 and len(report.rule_changes) == 1
    return {"products": products, "rules": len(head.rules), "changed_cells": len(cells), "load_s": load_s,
            "diff_s": diff_s, "evaluated_products": report.products_evaluated, "classes_all_s": full_s,
            "brute_s": brute_s, "brute_evaluations": brute_evals,
            "ratio_brute": brute_s / diff_s, "ratio_classes_all": full_s / diff_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = [run(200, 200), run(2000, 2000)]
    print(f"{'workload':<30} {'cells':>5} {'load':>7} {'diff':>7} {'evaluated':>9} {'classes, all':>12} "
          f"{'brute force':>11} {'evals':>7} {'brute/diff':>10} {'target':>8}")
    for r in results:
        name = f"{'W1' if r['products'] == 200 else '10x W1'} ({r['products']} products, {r['rules']} rules)"
        total = r["load_s"] + r["diff_s"]
        verdict = "" if r["products"] == 200 else ("ok" if total <= TARGET_S else "MISSED")
        print(f"{name:<30} {r['changed_cells']:>5} {r['load_s']:>6.2f}s {r['diff_s']:>6.2f}s "
              f"{r['evaluated_products']:>9} {r['classes_all_s']:>11.2f}s {r['brute_s']:>10.2f}s "
              f"{r['brute_evaluations']:>7} {r['ratio_brute']:>9.0f}x {verdict:>8}")
    print(f"one rule changed; target: load + diff of 10x W1 <= {TARGET_S:.0f} s; "
          "diff, classes over every product and brute force found the same changed cells")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
