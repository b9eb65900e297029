#!/usr/bin/env python3
"""`evaluate()` of two source trees side by side in one run (before and after a change), on W1.

    git worktree add /tmp/pe-old <commit>      # or: git archive <commit> | tar -x -C /tmp/pe-old
    .venv/bin/python benchmarks/ab_evaluate.py /tmp/pe-old [NEW_ROOT] [--rounds 9] [--queries 20000]

Each tree runs in its own subprocess with its `policyengine` package imported from that tree
(NEW_ROOT defaults to this checkout); both build W1 (benchmarks/workload.py, seed 7) and take
turns, round by round, timing each call on its own (perf_counter_ns) as bench_evaluate.py does:
the cached request, the cached requests of 1,000 consumers in rotation, and the request with the
cache disabled. Per row the minimum over rounds of the round's median is reported (drift on a
shared machine raises some rounds of both; the minimum is the least disturbed), and new / old.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = ("cached", "cached, 1000 in rotation", "cache disabled")
PURPOSE = "analytics"


def child(root: Path, queries: int, seed: int) -> None:
    """Serve rounds on stdin: one line in, one JSON line of per-row medians (ns) out."""
    sys.path.insert(0, str(root))
    sys.path.insert(1, str(HERE))
    import workload as wl

    import policyengine
    from policyengine.engine import load

    if not Path(policyengine.__file__).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"policyengine imported from {policyengine.__file__}, not from {root}")
    w = wl.make_workload(seed=seed)
    policies, catalog = wl.write_policyengine(w, Path(tempfile.mkdtemp(prefix="pe-ab-")))
    engine = load(policies, catalog)
    consumer = {"id": "consumer", "groups": list(w.consumer_groups), "attributes": {"region": "eu", "clearance": 2}}
    product, columns = w.target_product, list(w.columns)
    rng = random.Random(seed)
    mix = [({"id": f"user{i}", "groups": [rng.choice(w.purpose_grants)[0], "staff"]}, rng.choice(w.products))
           for i in range(1000)]
    evaluate = engine.evaluate
    position = [0]

    def rotation() -> object:
        who, prod = mix[position[0] % 1000]
        position[0] += 1
        return evaluate(who, prod, columns, PURPOSE)

    calls = {
        "cached": lambda: evaluate(consumer, product, columns, PURPOSE),
        "cached, 1000 in rotation": rotation,
        "cache disabled": lambda: evaluate(consumer, product, columns, PURPOSE, use_cache=False),
    }
    for query in calls.values():  # warm: every rotation request cached
        for _ in range(1000):
            query()
    gc.collect()
    clock = time.perf_counter_ns
    for _line in sys.stdin:
        out = {}
        for row, query in calls.items():
            n = queries if row != "cache disabled" else max(1000, queries // 10)
            samples = [0] * n
            for i in range(n):
                t0 = clock()
                query()
                samples[i] = clock() - t0
            samples.sort()
            out[row] = samples[n // 2]
        print(json.dumps(out), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, help="the other source tree (a checkout of the commit before)")
    parser.add_argument("new", type=Path, nargs="?", default=HERE.parent, help="this checkout by default")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--queries", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.queries, args.seed)
        return 0
    procs = {}
    for label, root in (("old", args.old), ("new", args.new)):
        procs[label] = subprocess.Popen(
            [sys.executable, __file__, str(args.old), "--child", str(root), "--queries", str(args.queries),
             "--seed", str(args.seed)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    best: dict[str, dict[str, float]] = {label: {} for label in procs}
    try:
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for label in order:
                p = procs[label]
                assert p.stdin is not None and p.stdout is not None
                p.stdin.write("go\n")
                p.stdin.flush()
                line = p.stdout.readline()
                if not line:
                    raise SystemExit(f"the {label} tree's process ended early")
                for row, ns in json.loads(line).items():
                    best[label][row] = min(best[label].get(row, float("inf")), ns / 1e3)
    finally:
        for p in procs.values():
            if p.stdin is not None:
                p.stdin.close()
            p.wait()
    print(f"W1, per 20-column query; min over {args.rounds} alternating rounds of each round's p50")
    print(f"  old: {args.old}\n  new: {args.new}")
    print(f"  {'row':<28} {'old p50':>10} {'new p50':>10} {'new / old':>10}")
    for row in ROWS:
        old, new = best["old"][row], best["new"][row]
        print(f"  {row:<28} {old:>8.2f}us {new:>8.2f}us {new / old:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
