"""Evaluator benchmark: policyengine vs Cedar (cedarpy) vs Casbin on workload W1, side by side.

Run: .venv/bin/python benchmarks/bench_evaluate.py [--quick]
(needs the bench extra for the anchors: pip install -e '.[bench]'; without them only our rows print)

Prints per-query (20 columns) p50/p99 for each engine measured in the same run, the ratios, the
10x W1 figures, load+compile time and the loaded engine's memory, then checks the targets:
cached p50 <= 10 us, p99 <= 50 us; uncached p50 <= 100 us; 10x cached p50 within 2x of W1's;
load + compile of W1 <= 1 s. All engines must agree on every column's allow/deny.
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload  # noqa: E402

import policyengine  # noqa: E402


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    samples = sorted(samples_ns)
    p50 = statistics.median(samples) / 1000
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1000
    return p50, p99


def measure(fn: Callable[[], object], iterations: int, warmup: int = 20) -> tuple[float, float]:
    for _ in range(warmup):
        fn()
    samples = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for _ in range(iterations):
            t0 = clock()
            fn()
            samples.append(clock() - t0)
    finally:
        gc.enable()
    return _percentiles(samples)


def load_ours(w: workload.Workload) -> tuple[policyengine.Engine, float, float]:
    root = Path(tempfile.mkdtemp(prefix="pe-bench-"))
    policies, catalog = workload.write_policyengine(w, root)
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    engine = policyengine.load(policies, catalog)
    seconds = time.perf_counter() - t0
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return engine, seconds, current / 2**20


def ours_allowed(engine: policyengine.Engine, w: workload.Workload) -> dict[str, bool]:
    d = engine.evaluate({"id": "consumer", "groups": list(w.consumer_groups)}, w.target_product,
                        purpose="analytics", use_cache=False)
    return {c: cd.effect != "deny" for c, cd in d.columns.items()}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    n_ours, n_anchor = (3000, 50) if quick else (20000, 300)
    w1 = workload.make_workload()
    w10 = workload.make_workload(products=2000, domains=200, purpose_grants=2000)
    consumer = {"id": "consumer", "groups": list(w1.consumer_groups)}
    rows: list[tuple[str, float, float]] = []

    engine, load_s, mem_mb = load_ours(w1)
    cached = measure(lambda: engine.evaluate(consumer, w1.target_product, purpose="analytics"), n_ours)
    uncached = measure(lambda: engine.evaluate(consumer, w1.target_product, purpose="analytics",
                                               use_cache=False), n_ours)
    rows += [("policyengine (cached)", *cached), ("policyengine (uncached)", *uncached)]
    expected = ours_allowed(engine, w1)

    try:
        import cedarpy

        policies = cedarpy.PolicySet.from_str(workload.cedar_policies(w1))
        import json

        entities = cedarpy.Entities.from_json_str(json.dumps(workload.cedar_entities(w1)))
        requests = workload.cedar_requests(w1)
        got = {r["resource"].split(".")[-1].rstrip('"'): cedarpy.is_authorized(r, policies, entities).allowed
               for r in requests}
        assert got == expected, f"cedar disagrees: {got} vs {expected}"
        rows.append(("cedarpy (20 calls)", *measure(
            lambda: [cedarpy.is_authorized(r, policies, entities) for r in requests], n_anchor, 3)))
        rows.append(("cedarpy (batch)", *measure(
            lambda: cedarpy.is_authorized_batch(requests, policies, entities), n_anchor, 3)))
    except ImportError:
        print("cedarpy not installed: pip install -e '.[bench]' to compare")

    try:
        import casbin

        model = casbin.model.Model()
        model.load_model_from_text(workload.CASBIN_MODEL)
        enforcer = casbin.Enforcer(model)
        enforcer.logger.disabled = True
        prules, grules = workload.casbin_policies(w1)
        enforcer.add_policies(prules)
        enforcer.add_grouping_policies(grules)
        objects = workload.casbin_objects(w1)
        got = {o.split("/")[-1].split("#")[0]: enforcer.enforce("consumer", o, "read", "analytics") for o in objects}
        assert got == expected, f"casbin disagrees: {got} vs {expected}"
        rows.append(("casbin (20 calls)", *measure(
            lambda: [enforcer.enforce("consumer", o, "read", "analytics") for o in objects], max(20, n_anchor // 3), 2)))
    except ImportError:
        print("casbin not installed: pip install -e '.[bench]' to compare")

    engine10, load10_s, mem10_mb = load_ours(w10)
    consumer10 = {"id": "consumer", "groups": list(w10.consumer_groups)}
    cached10 = measure(lambda: engine10.evaluate(consumer10, w10.target_product, purpose="analytics"), n_ours)
    uncached10 = measure(lambda: engine10.evaluate(consumer10, w10.target_product, purpose="analytics",
                                                   use_cache=False), n_ours)
    rows += [("policyengine 10xW1 (cached)", *cached10), ("policyengine 10xW1 (uncached)", *uncached10)]

    print(f"W1: {len(w1.products)} products x 20 columns, {len(engine.rules)} rules; "
          f"10xW1: {len(w10.products)} products, {len(engine10.rules)} rules")
    print(f"{'engine':32} {'p50 us':>10} {'p99 us':>10} {'x ours cached':>14} {'x ours uncached':>16}")
    for name, p50, p99 in rows:
        print(f"{name:32} {p50:10.1f} {p99:10.1f} {p50 / cached[0]:14.1f} {p50 / uncached[0]:16.1f}")
    print(f"load + compile W1: {load_s:.3f} s, engine memory {mem_mb:.1f} MiB; "
          f"10xW1: {load10_s:.3f} s, {mem10_mb:.1f} MiB")
    checks = [
        ("cached p50 <= 10 us", cached[0] <= 10),
        ("cached p99 <= 50 us", cached[1] <= 50),
        ("uncached p50 <= 100 us", uncached[0] <= 100),
        ("10xW1 cached p50 within 2x of W1", cached10[0] <= 2 * cached[0]),
        ("load + compile W1 <= 1 s", load_s <= 1.0),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
