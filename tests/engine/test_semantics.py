"""Table-driven checks of every numbered semantic rule (tests/engine/semantics.yaml).

Each case may also carry `scan` (a scan report given to `load(..., scan=...)`), `fault` (how to
break the compiled index before evaluating, to exercise fail-closed) and `error: true` (the
decision must carry an error).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import yaml

from policyengine.engine.evaluator import Engine
from policyengine.engine.policytest import PolicyTestCase, _when, run_case

CASES = yaml.safe_load((Path(__file__).parent / "semantics.yaml").read_text(encoding="utf-8"))


def _case(raw: dict) -> PolicyTestCase:
    req, exp = raw["request"], raw["expect"]
    return PolicyTestCase(
        name=raw["name"], location=f"semantics.yaml line {raw['line']}", consumer=req["consumer"],
        product=req["product"], purpose=req.get("purpose"), at=_when(req.get("at", "2026-06-01T00:00:00Z"), "x"),
        columns=tuple(req["columns"]) if req.get("columns") is not None else None,
        expect_columns=exp.get("columns", {}),
        expect_readable=tuple(exp["readable"]) if "readable" in exp else None,
        expect_filter=exp.get("row_filter"), check_filter="row_filter" in exp,
    )


def _corrupt_index(engine: Engine, product: str) -> None:
    """Put a non-rule into the product's compiled rules, so evaluating it raises inside the engine."""
    rules = engine.compiled.products[product]
    broken = dataclasses.replace(rules, rules=(*rules.rules, None))  # type: ignore[arg-type]
    engine.compiled = dataclasses.replace(engine.compiled, products={**engine.compiled.products, product: broken})


@pytest.mark.parametrize("raw", CASES, ids=[f"{c['line']}-{c['name']}" for c in CASES])
def test_semantic_rule(raw: dict, engine_from, caplog) -> None:
    engine = engine_from(raw["policies"], **({"scan": raw["scan"]} if "scan" in raw else {}))
    if raw.get("fault") == "corrupt-index":
        _corrupt_index(engine, raw["request"]["product"])
    case = _case(raw)
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        result = run_case(engine, case)
    failures = [f for f in result.failures if not (raw.get("error") and f.startswith("decision error"))]
    assert not failures, "\n".join(failures)
    if raw.get("error"):
        assert result.decision is not None and result.decision.error
        assert any("evaluation failed" in r.message for r in caplog.records)


def test_every_numbered_rule_has_cases() -> None:
    assert {c["line"] for c in CASES} == set(range(1, 9))
