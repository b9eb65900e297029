"""Decisions: what `evaluate()` returns, immutable so a cached one can be shared.

A Decision holds, per requested column, allow / mask(strategy) / deny with the rule that
decided and every rule that applied, plus the row filter (an expression with consumer attributes
already substituted, or None when rows are not filtered). What later stages make of one are
their own functions, not methods here (this stage does not know them): `policyengine.to_sql`,
`policyengine.read_restrictions`, `policyengine.decision_why_not`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from policyengine.language import ast
from policyengine.language.masks import MaskStrategy

Effect = Literal["allow", "mask", "deny"]

@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule as decisions cite it: its name and where it is written."""

    name: str
    file: str
    line: int
    kind: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.file}:{self.line})"

    @classmethod
    def of(cls, rule: ast.Rule) -> RuleRef:
        return cls(rule.name, rule.span.file, rule.span.line, rule.kind)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "line": self.line, "kind": self.kind}


NO_ARGS: Mapping[str, Any] = MappingProxyType({})
"""The arguments of a column decision without mask arguments (one shared empty mapping)."""


class ColumnDecision(NamedTuple):
    """The outcome for one column: effect, mask strategy (when masked), deciding rule and why.

    A NamedTuple rather than a frozen dataclass: it is just as immutable, and `evaluate()` builds
    one per column per request, where a NamedTuple is about three times cheaper to construct.
    """

    column: str
    effect: Effect
    strategy: str | None = None
    args: Mapping[str, Any] = NO_ARGS
    rule: RuleRef | None = None
    reason: str = ""
    applied: tuple[RuleRef, ...] = ()

    @property
    def mask(self) -> MaskStrategy | None:
        """The mask as a MaskStrategy (None unless the effect is mask)."""
        if self.effect != "mask" or self.strategy is None:
            return None
        return MaskStrategy(self.strategy, tuple(self.args.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "effect": self.effect,
            "strategy": self.strategy,
            "args": dict(self.args),
            "rule": self.rule.to_dict() if self.rule else None,
            "reason": self.reason,
            "applied": [r.to_dict() for r in self.applied],
        }


@dataclass(frozen=True, init=False)
class Decision:
    """Per-column decisions for one consumer reading one product, plus the row filter.

    `columns_key` and `row_filter_key` name the decision's parts for caches downstream of the
    engine (the gateway's rewritten SQL, serve's reply documents): the engine sets them to the
    serial numbers its cache (engine/cache.py) gives its shared parts, never reused in the
    process, so two decisions with the same `columns_key` have the same `columns`, and with the
    same `row_filter_key` the same row filter (0: none). None where a part is not shared (a row
    filter substituting an unhashable attribute), for a decision built otherwise (by hand, an
    error) and for a `dataclasses.replace` copy. They take no part in equality."""

    product: str
    consumer: str
    columns: Mapping[str, ColumnDecision]
    row_filter: ast.Expr | None = None
    purpose: str | None = None
    at: dt.datetime | None = None
    policy_version: str = ""
    filter_rules: tuple[RuleRef, ...] = ()
    error: str | None = None
    reason: str = ""
    bundle_version: str = ""  # content hash of policies, catalog, consumers, scan tags (engine/bundle.py)
    columns_key: int | None = field(default=None, init=False, compare=False, repr=False)
    row_filter_key: int | None = field(default=None, init=False, compare=False, repr=False)

    def __init__(self, product: str, consumer: str, columns: Mapping[str, ColumnDecision],
                 row_filter: ast.Expr | None = None, purpose: str | None = None, at: dt.datetime | None = None,
                 policy_version: str = "", filter_rules: tuple[RuleRef, ...] = (), error: str | None = None,
                 reason: str = "", bundle_version: str = "", columns_key: int | None = None,
                 row_filter_key: int | None = None) -> None:
        # Written out rather than generated: the generated frozen __init__ sets each of the 13
        # fields through object.__setattr__, more than twice the cost of these stores, and a
        # cache hit builds a Decision per request (benchmarks/bench_evaluate.py). Frozen after.
        # The keys are not keyword-only: the engine passes all 13 by position (a call with
        # keywords costs a third more, benchmarks/ab_evaluate.py).
        fields = self.__dict__
        fields["product"] = product
        fields["consumer"] = consumer
        fields["columns"] = columns
        fields["row_filter"] = row_filter
        fields["purpose"] = purpose
        fields["at"] = at
        fields["policy_version"] = policy_version
        fields["filter_rules"] = filter_rules
        fields["error"] = error
        fields["reason"] = reason
        fields["bundle_version"] = bundle_version
        fields["columns_key"] = columns_key
        fields["row_filter_key"] = row_filter_key

    @property
    def outcome_key(self) -> tuple[int, int] | None:
        """(columns_key, row_filter_key) when both parts are named, else None: equal keys, equal
        columns and row filter (what the gateway's rewrite cache keys on)."""
        if self.columns_key is None or self.row_filter_key is None:
            return None
        return self.columns_key, self.row_filter_key

    @property
    def readable_columns(self) -> tuple[str, ...]:
        """Columns that are allowed or masked, in the product's order."""
        return tuple(name for name, d in self.columns.items() if d.effect != "deny")

    @property
    def denied_columns(self) -> tuple[str, ...]:
        return tuple(name for name, d in self.columns.items() if d.effect == "deny")

    @property
    def row_filter_text(self) -> str | None:
        return None if self.row_filter is None else str(self.row_filter)

    def to_dict(self) -> dict[str, Any]:
        """A stable JSON-able shape for logs and HTTP."""
        return {
            "product": self.product,
            "consumer": self.consumer,
            "purpose": self.purpose,
            "at": self.at.isoformat() if self.at else None,
            "policy_version": self.policy_version,
            "bundle_version": self.bundle_version,
            "columns": {name: d.to_dict() for name, d in self.columns.items()},
            "readable_columns": list(self.readable_columns),
            "row_filter": self.row_filter_text,
            "filter_rules": [r.to_dict() for r in self.filter_rules],
            "error": self.error,
            "reason": self.reason,
        }

    def explain(self) -> str:
        """Human-readable: per column, every rule that applied and the one that decided."""
        head = f"{self.consumer} reading {self.product}"
        if self.purpose:
            head += f" for purpose {self.purpose}"
        if self.at:
            head += f" at {self.at.isoformat()}"
        lines = [head + f" (policy {self.policy_version})" if self.policy_version else head]
        if self.error:
            lines.append(f"  error: {self.error} — everything denied (fail closed)")
        if self.reason:
            lines.append(f"  {self.reason}")
        width = max((len(c) for c in self.columns), default=0)
        effects = {name: d.effect if d.effect != "mask" else f"mask {d.mask}" for name, d in self.columns.items()}
        # as wide as the longest effect (a long mask name such as `partial(first=3, last=2)`), so
        # the reasons stay in one column
        effect_width = max((len(e) for e in effects.values()), default=0)
        for name, d in self.columns.items():
            lines.append(f"  {name:<{width}}  {effects[name]:<{effect_width}}  {d.reason}")
            for r in d.applied:
                mark = "→" if d.rule is not None and r == d.rule else " "
                lines.append(f"  {'':<{width}}    {mark} {r.kind:<6} {r}")
        if self.row_filter is not None:
            lines.append(f"  rows where {self.row_filter}")
            for r in self.filter_rules:
                lines.append(f"    from {r}")
        else:
            lines.append("  rows: all")
        return "\n".join(lines)
