#!/usr/bin/env python3
"""Benchmark the YAML reader: load time per contract, side by side in one run.

    .venv/bin/python benchmarks/bench_yaml.py [--products 2000] [--rounds 5]

On the example mesh (examples/mesh/products) and a generated mesh of `--products` contracts
(benchmarks/workload.py, 20 columns each), per contract, best of `--rounds` rounds taken in
alternation:

* `before`: the reader as it was (libyaml's CSafeLoader with PyYAML's resolver, a bounds walk,
  then PyYAML's constructor): yamlsource's general path over a stock CSafeLoader;
* `after`: `load_yaml_text` (the resolver shortcuts, one pass building objects and keeping the
  bounds; the general path only for the unusual);
* `load_catalog` with each of the two (the whole catalog stage: YAML, ODCS, tags);
* for reference, plain `yaml.load` with CSafeLoader (no positions, no bounds) and with the pure
  Python SafeLoader (one round: it is slow).

Each `after` round starts with the reader's tag memory empty, as in a fresh process. Times are
CPU time of this process (`time.process_time`), less sensitive to a busy machine than
wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workload import make_workload, write_policyengine  # noqa: E402

from policyengine import yamlsource  # noqa: E402
from policyengine.catalog.contracts import load_catalog  # noqa: E402


def cold() -> None:
    """Forget the remembered tags of plain scalars: every round as in a fresh process."""
    yamlsource._PLAIN_TAGS.clear()


def per_contract(fn: Callable[[], object], n: int) -> float:
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) / n * 1e3


class _StockLoader(yaml.CSafeLoader):  # type: ignore[misc]
    """The reader's loader as it was: CSafeLoader, PyYAML's resolver, our located mappings."""


_StockLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, yamlsource._construct_mapping)


def before(text: str, source: str) -> object:
    """`load_yaml_text` as it was: the general path over the stock loader."""
    saved = yamlsource._Loader
    yamlsource._Loader = _StockLoader  # type: ignore[misc]
    try:
        return yamlsource._load_general(text, source)
    finally:
        yamlsource._Loader = saved  # type: ignore[misc]


def measure(name: str, folder: Path, rounds: int) -> None:
    files = sorted(folder.glob("*.yaml"))
    texts = [yamlsource.read_source(f) for f in files]
    n = len(files)
    fast = yamlsource.load_yaml_text
    cases: dict[str, Callable[[], object]] = {
        "before": lambda: [before(t, "x") for t in texts],
        "after": lambda: (cold(), [fast(t, "x") for t in texts]),
        "load_catalog, before": lambda: _with(before, lambda: load_catalog(folder)),
        "load_catalog, after": lambda: (cold(), load_catalog(folder)),
        "yaml.load CSafeLoader (reference)": lambda: [yaml.load(t, Loader=yaml.CSafeLoader) for t in texts],
    }
    best = {k: float("inf") for k in cases}
    for _ in range(rounds):
        for key, fn in cases.items():
            best[key] = min(best[key], per_contract(fn, n))
    pure = per_contract(lambda: [yaml.load(t, Loader=yaml.SafeLoader) for t in texts], n)
    print(f"\n{name}: {n} contracts, {sum(map(len, texts)) // n} bytes each on average")
    for key, ms in best.items():
        print(f"  {key:36s} {ms:7.3f} ms/contract")
    print(f"  {'yaml.load SafeLoader (reference)':36s} {pure:7.3f} ms/contract (one round)")
    print(f"  after vs before: YAML {best['before'] / best['after']:.2f}x faster;  load_catalog "
          f"{best['load_catalog, before'] / best['load_catalog, after']:.2f}x faster")


def _with(loader: Callable[[str, str], object], fn: Callable[[], object]) -> object:
    """Run `fn` with load_yaml_text replaced by `loader` (the reader as it was)."""
    saved = yamlsource.load_yaml_text
    yamlsource.load_yaml_text = loader  # type: ignore[assignment]
    try:
        return fn()
    finally:
        yamlsource.load_yaml_text = saved  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    measure("example mesh", ROOT / "examples" / "mesh" / "products", args.rounds)
    with tempfile.TemporaryDirectory(prefix="pe-bench-yaml-") as tmp:
        _, catalog = write_policyengine(make_workload(products=args.products), Path(tmp))
        measure(f"generated mesh ({args.products} products)", catalog, args.rounds)


if __name__ == "__main__":
    main()
