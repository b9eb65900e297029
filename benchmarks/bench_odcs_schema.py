#!/usr/bin/env python3
"""What validating contracts with ODCS's published JSON Schema would cost, next to loading them
as the catalog does today (hand-written checks), in one run. Why the catalog keeps its own checks.

    .venv/bin/pip install fastjsonschema jsonschema
    git show <bitol-io/open-data-contract-standard>:schema/odcs-json-schema-v3.0.2.json > odcs.json
    .venv/bin/python benchmarks/bench_odcs_schema.py odcs.json [CONTRACT_DIR]

The schema is read from the file given (nothing is fetched). Per contract of CONTRACT_DIR
(default examples/mesh/products): `load_catalog` (YAML with positions + the catalog's checks),
jsonschema's validator for the schema's draft (2019-09), and fastjsonschema compiled once (it
knows drafts 4-7 only, so 2019-09's `unevaluatedProperties` is ignored there), with its compile
time; and which contracts the published schema refuses (the catalog accepts `logicalType:
timestamp`, which ODCS v3.0.2 does not list).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from policyengine.catalog.contracts import load_catalog
from policyengine.yamlsource import load_yaml_file

ROOT = Path(__file__).resolve().parents[1]


def per_item_ms(fn, items: list, repeat: int = 3, number: int = 20) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            for item in items:
                fn(item)
        best = min(best, time.perf_counter() - t0)
    return best / number / len(items) * 1e3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("schema", type=Path)
    ap.add_argument("contracts", type=Path, nargs="?", default=ROOT / "examples" / "mesh" / "products")
    args = ap.parse_args(argv)
    import fastjsonschema
    import jsonschema

    schema = json.loads(args.schema.read_text(encoding="utf-8"))
    paths = sorted(args.contracts.glob("*.yaml"))
    docs = [json.loads(json.dumps(load_yaml_file(p), default=str)) for p in paths]
    slow = jsonschema.validators.validator_for(schema)(schema)
    t0 = time.perf_counter()
    fast = fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-07/schema#"})
    compile_ms = (time.perf_counter() - t0) * 1e3

    def fast_one(doc: object) -> None:
        try:
            fast(doc)
        except fastjsonschema.JsonSchemaException:
            pass

    load_ms = per_item_ms(lambda p: load_catalog([p]), paths)
    slow_ms = per_item_ms(slow.is_valid, docs, number=2)
    fast_ms = per_item_ms(fast_one, docs)
    refused = [p.name for p, d in zip(paths, docs, strict=True) if not slow.is_valid(d)]
    print(f"{len(paths)} contracts from {args.contracts}; per contract, best of 3, wall clock:")
    print(f"  load_catalog today (YAML with positions + hand checks)   {load_ms:8.3f} ms")
    print(f"  + jsonschema ({slow.__class__.__name__})            {slow_ms:8.3f} ms  ({slow_ms / load_ms:.1f}x the load)")
    print(f"  + fastjsonschema, compiled once ({compile_ms:.0f} ms to compile)   {fast_ms:8.3f} ms  "
          f"({fast_ms / load_ms:.2f}x the load)")
    print(f"  refused by the published schema: {len(refused)} of {len(paths)} {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
