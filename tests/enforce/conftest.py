"""Shared helpers for enforcement tests: hand-built decisions (independent of the evaluator)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policyengine.engine.decision import ColumnDecision, Decision, RuleRef
from policyengine.language import ast

RULE = RuleRef("test-rule", "tests/enforce.policy", 7, "mask")
DENY_RULE = RuleRef("no-secrets", "tests/enforce.policy", 9, "deny")


def col(name: str, effect: str = "allow", strategy: str | None = None, **args: Any) -> ColumnDecision:
    """One column decision; masks carry RULE, denials DENY_RULE."""
    rule = DENY_RULE if effect == "deny" else RULE
    return ColumnDecision(name, effect, strategy, dict(args), rule, reason=f"{effect} by {rule.name}")


def decision(columns: list[ColumnDecision], row_filter: ast.Expr | None = None, product: str = "sales.orders",
             consumer: str = "alice") -> Decision:
    mapping: Mapping[str, ColumnDecision] = {c.column: c for c in columns}
    return Decision(product, consumer, mapping, row_filter)
