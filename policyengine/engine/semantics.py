"""What a decision is, line by line as docs/evaluation.md states it (the numbers are its lines).

Pure functions over compiled rules and one request, returning plain data, in the manner of
Cedar's `Authorizer::is_authorized`: nothing here caches, locks or logs. The engine
(`evaluator.Engine`) calls them, and its cache (`cache.py`) only shares what they return between
requests that would compute the same; it decides nothing itself.

1-2. `applicable`: the rules whose subjects, purposes, window and condition hold for the request
     (a condition that reads a missing attribute is false: the compiled closure says so).
3.   `column_outcome`: per column, deny wins; no applicable allow → deny; otherwise the strictest
     applicable mask; otherwise allow.
4.   `row_filter`: the applicable filters ANDed, consumer attributes substituted; a filter that
     reads a missing attribute makes the consumer see no rows.
5.   `unknown_product`, `unknown_column`: denied, saying why.
8.   `fail_closed`: any internal error → a decision that denies everything and carries the error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from policyengine.catalog.consumers import Consumer
from policyengine.engine.compiler import CompiledRule, attributes_read
from policyengine.engine.decision import NO_ARGS, ColumnDecision, Decision, RuleRef
from policyengine.language import ast
from policyengine.language.masks import strictest
from policyengine.language.values import Undefined, substitute, utc_instant

FALSE = ast.Literal(False)
DEFAULT_DENY = "no rule allows it (default deny)"

# A column's outcome without its name: effect, strategy, args, deciding rule, reason, applied rules.
Outcome = tuple[str, str | None, Mapping[str, Any], RuleRef | None, str, tuple[RuleRef, ...]]
NO_RULE: Outcome = ("deny", None, NO_ARGS, None, DEFAULT_DENY, ())

# A decision's row filter: (expression or None, the filter rules cited, why it is false).
RowFilter = tuple[ast.Expr | None, tuple[RuleRef, ...], str]
NO_FILTER: RowFilter = (None, (), "")


# ---------------------------------------------------------------- the request


def instant(at: dt.datetime | dt.date | None) -> dt.datetime:
    """The request's instant in UTC (now when not given): a decision carries it as given,
    normalised to UTC, so a cache hit never reports another request's UTC offset."""
    return dt.datetime.now(dt.UTC) if at is None else utc_instant(at)


def normal_purpose(purpose: Any) -> str | None:
    """Purposes compare case-insensitively, outer spaces ignored; an empty purpose is none."""
    if purpose is None:
        return None
    return (purpose if isinstance(purpose, str) else str(purpose)).strip().casefold() or None


def request_attributes(c: Consumer, sorted_groups: tuple[str, ...]) -> dict[str, Any]:
    """What conditions and filters read: the consumer's attributes, where `consumer.id` and
    `consumer.groups` are the consumer's own whatever its attributes say."""
    attrs = dict(c.attributes)
    attrs["id"] = c.id
    attrs["groups"] = sorted_groups
    return attrs


# ---------------------------------------------------------------- lines 1-4


def applicable(rules: Sequence[CompiledRule], c: Consumer, attrs: Mapping[str, Any], purpose: str | None,
               when: dt.datetime) -> tuple[CompiledRule, ...]:
    """Lines 1-2: the rules that apply to the request, in (file, line) order as given."""
    user, groups = c.id, c.groups
    return tuple(r for r in rules if r.applies(user, groups, attrs, purpose, when))


def column_outcome(rules: Sequence[CompiledRule]) -> Outcome:
    """Line 3 for one column, given the rules that apply to it in (file, line) order.

    Any applicable deny decides (the first written one is cited); with no applicable allow the
    column is denied by default; otherwise the strictest applicable mask; otherwise allow.
    """
    if not rules:
        return NO_RULE
    deny = allow = None
    masks: list[CompiledRule] = []
    for r in rules:
        kind = r.kind
        if kind == "deny":
            deny = r
            break
        if kind == "allow":
            if allow is None:
                allow = r
        elif kind == "mask" and r.mask is not None:
            masks.append(r)
    applied = tuple(r.ref for r in rules)
    if deny is not None:
        return "deny", None, NO_ARGS, deny.ref, f"denied by {deny.ref.name}", applied
    if allow is None:
        return "deny", None, NO_ARGS, None, DEFAULT_DENY, applied
    if masks:
        strategy = strictest([r.mask for r in masks if r.mask is not None])
        winner = next((r for r in masks if r.mask == strategy), None)
        if winner is None:  # incomparable masks: escalated to hash, which hides more than each
            ranked = sorted(masks, key=lambda r: (r.mask.strictness_key() if r.mask else (), r.ref.name or ""),
                            reverse=True)
            winner = ranked[0]
            names = ", ".join(sorted({f"{r.mask} by {r.ref.name}" for r in masks}))
            return ("mask", strategy.name, MappingProxyType(dict(strategy.args)), winner.ref,
                    f"masked ({strategy}): {names} apply and none hides more than the others", applied)
        return ("mask", strategy.name, MappingProxyType(dict(strategy.args)), winner.ref,
                f"masked ({strategy}) by {winner.ref.name}", applied)
    return "allow", None, NO_ARGS, allow.ref, f"allowed by {allow.ref.name}", applied


def row_filter(filters: Sequence[CompiledRule], attrs: Mapping[str, Any],
               column_types: Mapping[str, str] | None = None) -> RowFilter:
    """Line 4, given the applicable filter rules in (file, line) order: their expressions ANDed,
    attributes substituted; a missing attribute (or one of a type the filter cannot compare)
    makes the whole filter `false`, and the third part says why. Every filter is cited."""
    parts: list[ast.Expr] = []
    refs: list[RuleRef] = []
    undefined: list[str] = []
    for r in filters:
        if r.row_filter is None:
            continue
        refs.append(r.ref)
        try:
            parts.append(substitute(r.row_filter, attrs, column_types))
        except Undefined:
            names = sorted(attributes_read(r.row_filter))
            missing = [n for n in names if attrs.get(n) is None]
            what = (f"lacks {', '.join(repr(n) for n in missing)}" if missing
                    else f"has {', '.join(repr(n) for n in names)} of a type the filter cannot compare")
            undefined.append(f"row filter {r.ref.name} reads consumer attributes the consumer {what}")
    if undefined:
        return FALSE, tuple(refs), "; ".join(undefined) + ": no rows (fail closed)"
    if not parts:
        return NO_FILTER
    if len(parts) == 1:
        return parts[0], tuple(refs), ""
    flat: list[ast.Expr] = []
    for p in parts:
        flat.extend(p.operands if isinstance(p, ast.And) else (p,))
    return ast.And(tuple(flat)), tuple(refs), ""


# ---------------------------------------------------------------- lines 5 and 8


def unknown_column(column: str, product: str) -> ColumnDecision:
    """Line 5: a requested column the product does not have is denied, saying so."""
    return ColumnDecision(column, "deny", reason=f"unknown column '{column}' in {product}")


def unknown_product(product: str, consumer: str, columns: Sequence[str] | None, purpose: str | None,
                    when: dt.datetime, policy_version: str, bundle_version: str) -> Decision:
    """Line 5: a product no contract describes: every requested column denied, no rows."""
    reason = f"unknown product '{product}'"
    decided = {name: ColumnDecision(name, "deny", reason=reason) for name in columns or ()}
    return Decision(product, consumer, MappingProxyType(decided), FALSE, purpose, when, policy_version,
                    reason=reason + ": everything is denied", bundle_version=bundle_version)


def fail_closed(consumer: Any, product: Any, columns: Any, purpose: Any, at: Any, policy_version: str,
                error: str, bundle_version: str = "") -> Decision:
    """Line 8: the decision for a request whose evaluation failed: every requested column denied,
    no rows, the error carried. Reads the request defensively (it may be what failed)."""
    try:
        cid = consumer.id if isinstance(consumer, Consumer) else str(
            consumer.get("id") if isinstance(consumer, Mapping) else getattr(consumer, "id", consumer))
    except Exception:
        cid = "<unknown>"
    try:
        names = [] if columns is None else [columns] if isinstance(columns, str) else [str(c) for c in columns]
    except Exception:
        names = []
    decided = {n: ColumnDecision(n, "deny", reason=error) for n in names}
    return Decision(str(product), cid, MappingProxyType(decided), FALSE, purpose if isinstance(purpose, str) else None,
                    _error_instant(at), policy_version, (), error, bundle_version=bundle_version)


def _error_instant(at: Any) -> dt.datetime:
    """An error decision's `at`: its request's instant in UTC when that can be read, else now
    (every decision carries its instant, as documented)."""
    try:
        return instant(at if isinstance(at, (dt.datetime, dt.date)) else None)
    except Exception:
        return dt.datetime.now(dt.UTC)
