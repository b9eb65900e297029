"""Table-driven checks of every numbered semantic rule (tests/evaluator/semantics.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policyengine.policytest import PolicyTestCase, _when, run_case

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


@pytest.mark.parametrize("raw", CASES, ids=[f"{c['line']}-{c['name']}" for c in CASES])
def test_semantic_rule(raw: dict, engine_from) -> None:
    engine = engine_from(raw["policies"])
    result = run_case(engine, _case(raw))
    assert result.passed, "\n".join(result.failures)


def test_every_numbered_rule_has_cases() -> None:
    assert {c["line"] for c in CASES} >= {1, 2, 3, 4, 5, 6}
