"""`policyengine diff` with a consumers file: one consumer changed among many, in one run.

Three figures per workload, on the same two loaded versions (identical policies and contracts;
the head's consumers file gives one consumer the group `pii-cleared`):

- *no consumers*: `diff_versions` without the consumers files (what diff cost before it read them);
- *diff*: `diff_versions` with both consumers files, as the command runs it (only the changed
  consumer is evaluated: every product × column × purpose × instant, as in the base and the head);
- *every consumer*: the same evaluation for every consumer of the file (what comparing the
  files without finding the changed entries first would cost).

The changed consumer's loosened cells must be found (the pii columns of every product its groups
read), and the ratio every consumer / diff is printed. Target: the consumers part of the diff of
10x W1 stays under 1 s.

    .venv/bin/python benchmarks/bench_diff_consumers.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workload import make_workload, write_policyengine  # noqa: E402

from policyengine.catalog.contracts import load_catalog  # noqa: E402
from policyengine.engine import load  # noqa: E402
from policyengine.governance.consumer_diff import (  # noqa: E402
    ConsumerChange,
    consumer_cells,
    read_directory,
)
from policyengine.governance.diff import diff_versions  # noqa: E402

TARGET_S = 1.0


def write_consumers(path: Path, w, count: int, cleared: str | None = None) -> None:
    """`count` consumers, each in a domain team, a purpose-grant group and staff."""
    entries = []
    for i in range(count):
        group, product = w.purpose_grants[i % len(w.purpose_grants)]
        groups = [f"{product.split('.')[0]}-team", group, "staff"]
        if f"u{i:05d}" == cleared:
            groups.append("pii-cleared")
        entries.append({"id": f"u{i:05d}", "groups": groups})
    path.write_text(yaml.safe_dump({"consumers": entries}, sort_keys=False), "utf-8")


def run(products: int, consumers: int) -> dict:
    w = make_workload(products=products, purpose_grants=products)
    root = Path(tempfile.mkdtemp(prefix="pe-bench-diff-consumers-"))
    policies, catalog = write_policyengine(w, root / "base")
    changed = f"u{consumers // 2:05d}"
    base_file, head_file = root / "base" / "consumers.yaml", root / "head" / "consumers.yaml"
    head_file.parent.mkdir(parents=True)
    write_consumers(base_file, w, consumers)
    write_consumers(head_file, w, consumers, cleared=changed)
    contracts = load_catalog(catalog)
    base, head = load(policies, contracts), load(policies, contracts, consumers=head_file)
    t = time.perf_counter()
    plain = diff_versions(base, head, base_root=root / "base", head_root=root / "head")
    plain_s = time.perf_counter() - t
    t = time.perf_counter()
    report = diff_versions(base, head, base_root=root / "base", head_root=root / "head",
                           base_consumers=base_file, head_consumers=head_file)
    diff_s = time.perf_counter() - t
    t = time.perf_counter()
    directory = read_directory(head_file)
    every = 0
    for cid, consumer in directory.consumers.items():
        change = ConsumerChange("changed", cid, consumer, consumer, None, None, None)
        every += sum(1 for _ in consumer_cells(change, head))
    every_s = time.perf_counter() - t
    assert not plain.groups and every == 0
    (group,) = report.groups
    assert group.causes[0].key.startswith(f"consumer changed: {changed} ") and group.loosened
    assert report.exit_code() == 1
    return {"products": products, "consumers": consumers, "loosened": len(group.loosened),
            "no_consumers_s": plain_s, "diff_s": diff_s, "consumers_s": diff_s - plain_s,
            "every_consumer_s": every_s, "ratio_every": every_s / diff_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = [run(200, 200), run(2000, 50)]
    print(f"{'workload':<34} {'loosened':>8} {'no consumers':>12} {'diff':>7} {'every consumer':>14} "
          f"{'every/diff':>10} {'target':>7}")
    for r in results:
        name = f"{'W1' if r['products'] == 200 else '10x W1'} ({r['products']} products, {r['consumers']} consumers)"
        verdict = "" if r["products"] == 200 else ("ok" if r["consumers_s"] <= TARGET_S else "MISSED")
        print(f"{name:<34} {r['loosened']:>8} {r['no_consumers_s']:>11.2f}s {r['diff_s']:>6.2f}s "
              f"{r['every_consumer_s']:>13.2f}s {r['ratio_every']:>9.0f}x {verdict:>7}")
    print(f"one consumer changed; target: the consumers part of the diff of 10x W1 <= {TARGET_S:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
