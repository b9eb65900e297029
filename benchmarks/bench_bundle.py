"""Benchmark signed policy bundles (issue 24) side by side with loading from sources.

For W1 (200 products) and 10x W1 (2,000 products) from benchmarks/workload.py: load from sources
(`loading.load`), build a bundle (check + pack + sign), verify it (parse, Ed25519 signature,
member hashes), and load from it (verify + catalog + parse + check + compile); each the median of
`--repeat` runs in this one process, printed with the ratio bundle/sources.

    .venv/bin/python benchmarks/bench_bundle.py [--repeat 3] [--no-10x]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402

from policyengine.config import Config  # noqa: E402
from policyengine.engine import keys  # noqa: E402
from policyengine.engine.bundlefile import build_bundle, engine_from, verify_bundle  # noqa: E402
from policyengine.engine.loading import load  # noqa: E402


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run(name: str, w: wl.Workload, repeat: int, root: Path) -> None:
    policies, catalog = wl.write_policyengine(w, root / name)
    cfg = Config(policies=(policies,), catalog=(catalog,), root=root / name)
    key_path, pub_path, _ = keys.generate(root / name / "keys")
    signing, trusted = keys.signing_key(key_path), keys.public_keys([pub_path])
    load([policies], [catalog])  # warm: imports, parser and parse cache, as a replica's second load
    sources = median_s(lambda: load([policies], [catalog]), repeat)
    now = dt.datetime.now(dt.UTC)
    build = median_s(lambda: build_bundle(cfg, signing, sequence=1, now=now), repeat)
    data, _ = build_bundle(cfg, signing, sequence=1, now=now)
    verify = median_s(lambda: verify_bundle(data, trusted), repeat)
    verified = verify_bundle(data, trusted)
    from_bundle = median_s(lambda: engine_from(verify_bundle(data, trusted)), repeat)
    engine = engine_from(verified)
    assert engine.bundle_version == verified.manifest.revision
    n = len(w.products)
    print(f"{name}: {n} products, bundle {len(data) / 1e6:.2f} MB")
    print(f"  load from sources   {sources * 1000:8.1f} ms  ({sources / n * 1000:.2f} ms per contract)")
    print(f"  build (check+sign)  {build * 1000:8.1f} ms")
    print(f"  verify (sig+hashes) {verify * 1000:8.1f} ms")
    print(f"  load from bundle    {from_bundle * 1000:8.1f} ms  = {from_bundle / sources:.2f}x sources "
          f"(target <= 0.1x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-10x", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("W1", wl.make_workload(), args.repeat, Path(tmp))
        if not args.no_10x:
            run("10x W1", wl.make_workload(products=2000, domains=200, purpose_grants=2000), args.repeat, Path(tmp))


if __name__ == "__main__":
    main()
