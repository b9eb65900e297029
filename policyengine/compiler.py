"""Checked rules → compiled policy: rules indexed by product, conditions compiled to closures once.

`evaluate()` then needs only a few dictionary look-ups and calls per request: find the product's
candidate rules, test each rule's applicability once (subjects, purpose, window, condition), and
fold the applicable rules into per-column outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from policyengine import ast
from policyengine.checker import CheckedRule, CheckResult
from policyengine.decision import RuleRef
from policyengine.masks import MaskStrategy

Attributes = Mapping[str, Any]
Condition = Callable[[Attributes], bool]


class Undefined(Exception):
    """A condition read a missing attribute or compared values of different types."""


MISSING = object()


# ---------------------------------------------------------------- values and comparisons


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, (list, tuple, frozenset, set)):
        return "list"
    return "other"


def _same_kind(a: Any, b: Any) -> bool:
    ka = _kind(a)
    return ka == _kind(b) and ka != "other"


def _timestamp(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _equal(a: Any, b: Any) -> bool:
    if not _same_kind(a, b):
        raise Undefined
    if isinstance(a, dt.datetime):
        return _timestamp(a) == _timestamp(b)
    return a == b


def _order(op: str, a: Any, b: Any) -> bool:
    if not _same_kind(a, b) or _kind(a) in ("boolean", "list"):
        raise Undefined
    if isinstance(a, dt.datetime):
        a, b = _timestamp(a), _timestamp(b)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _member(item: Any, items: Any) -> bool:
    if _kind(items) != "list":
        raise Undefined
    matched_kind = False
    for candidate in items:
        if _same_kind(item, candidate):
            matched_kind = True
            if _equal(item, candidate):
                return True
    if items and not matched_kind:
        raise Undefined
    return False


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise Undefined
        return item in container
    return _member(item, container)


def compare(op: str, a: Any, b: Any) -> bool:
    """One comparison under the language's rules; raises Undefined where the result is undefined."""
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in ("<", "<=", ">", ">="):
        return _order(op, a, b)
    if op == "in":
        return _member(a, b)
    if op == "not in":
        return not _member(a, b)
    if op == "contains":
        return _contains(a, b)
    raise Undefined


# ---------------------------------------------------------------- compiling expressions

Getter = Callable[[Attributes], Any]


def _compile_operand(e: ast.Expr) -> Getter:
    if isinstance(e, ast.Literal):
        value = e.value
        return lambda attrs: value
    if isinstance(e, ast.ListExpr):
        values = tuple(i.value for i in e.items)
        return lambda attrs: values
    if isinstance(e, ast.ConsumerRef):
        name = e.attribute

        def get(attrs: Attributes) -> Any:
            value = attrs.get(name, MISSING)
            if value is MISSING or value is None:
                raise Undefined
            return value

        return get
    predicate = compile_predicate(e)
    return predicate


def compile_predicate(e: ast.Expr) -> Callable[[Attributes], bool]:
    """An expression over consumer attributes → a closure (raises Undefined; see `compile_condition`)."""
    if isinstance(e, ast.Compare):
        left, right, op = _compile_operand(e.left), _compile_operand(e.right), e.op
        return lambda attrs: compare(op, left(attrs), right(attrs))
    # `and` / `or` evaluate every operand (no short circuit): a missing attribute anywhere makes
    # the whole condition undefined, so operand order can never change a decision.
    if isinstance(e, ast.And):
        parts = tuple(compile_predicate(o) for o in e.operands)
        return lambda attrs: all([p(attrs) for p in parts])
    if isinstance(e, ast.Or):
        parts = tuple(compile_predicate(o) for o in e.operands)
        return lambda attrs: any([p(attrs) for p in parts])
    if isinstance(e, ast.Not):
        inner = compile_predicate(e.operand)
        return lambda attrs: not inner(attrs)
    getter = _compile_operand(e) if isinstance(e, (ast.Literal, ast.ConsumerRef)) else None
    if getter is None:
        raise ValueError(f"cannot compile {type(e).__name__} in a condition")

    def boolean(attrs: Attributes) -> bool:
        value = getter(attrs)
        if not isinstance(value, bool):
            raise Undefined
        return value

    return boolean


def compile_condition(e: ast.Expr | None) -> Condition | None:
    """A condition closure that is False wherever the expression is undefined (never raises Undefined)."""
    if e is None:
        return None
    predicate = compile_predicate(e)

    def condition(attrs: Attributes) -> bool:
        try:
            return bool(predicate(attrs))
        except Undefined:
            return False

    return condition


def attributes_read(e: ast.Expr | None) -> frozenset[str]:
    """Consumer attributes an expression reads (`id` and `groups` come from the consumer itself)."""
    if e is None:
        return frozenset()
    return frozenset(n.attribute for n in ast.walk(e) if isinstance(n, ast.ConsumerRef))


_COLUMN_KIND = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
                "date": "date", "timestamp": "timestamp"}


def _check_substituted(op: str, column: ast.Expr, value: ast.Expr, column_types: Mapping[str, str]) -> None:
    """Semantics line 2 for row filters: a consumer value compared with a column of another type
    makes the filter undefined (so: no rows), instead of an engine's implicit cast or error."""
    if not isinstance(column, ast.ColumnRef):
        return
    kind = _COLUMN_KIND.get(column_types.get(column.name, ""))
    if kind is None or op == "contains":
        return
    if op in ("in", "not in"):
        items = value.items if isinstance(value, ast.ListExpr) else None
        if items is None or any(_kind(i.value) != kind for i in items):
            raise Undefined
    elif not isinstance(value, ast.Literal) or _kind(value.value) != kind:
        raise Undefined


def constant_value(e: ast.Expr) -> Any:
    """The value of a literal or a list of literals; Undefined for anything else."""
    if isinstance(e, ast.Literal):
        return e.value
    if isinstance(e, ast.ListExpr):
        return tuple(i.value for i in e.items)
    raise Undefined


def substitute(e: ast.Expr, attrs: Attributes, column_types: Mapping[str, str] | None = None) -> ast.Expr:
    """A row filter with consumer attributes replaced by literals; raises Undefined if one is
    missing or (given the product's `column_types`) does not have the type of the column it is
    compared with."""
    if isinstance(e, ast.ConsumerRef):
        value = attrs.get(e.attribute, MISSING)
        if value is MISSING or value is None:
            raise Undefined
        kind = _kind(value)
        if kind == "list":
            items = tuple(ast.Literal(v) for v in value)
            if not all(_kind(i.value) in ("string", "number", "boolean", "date", "timestamp") for i in items):
                raise Undefined
            return ast.ListExpr(items, e.span)
        if kind == "other":
            raise Undefined
        return ast.Literal(value, e.span)
    if isinstance(e, ast.Compare):
        left, right = substitute(e.left, attrs, column_types), substitute(e.right, attrs, column_types)
        if isinstance(left, (ast.Literal, ast.ListExpr)) and isinstance(right, (ast.Literal, ast.ListExpr)):
            # a column-free comparison (`not (consumer.level < 3)`): undefined anywhere → no rows
            compare(e.op, constant_value(left), constant_value(right))
        if column_types:
            if isinstance(e.right, ast.ConsumerRef):
                _check_substituted(e.op, e.left, right, column_types)
            if isinstance(e.left, ast.ConsumerRef) and e.op not in ("in", "not in"):
                _check_substituted(e.op, e.right, left, column_types)
        return ast.Compare(e.op, left, right, e.span)
    if isinstance(e, ast.And):
        return ast.And(tuple(substitute(o, attrs, column_types) for o in e.operands), e.span)
    if isinstance(e, ast.Or):
        return ast.Or(tuple(substitute(o, attrs, column_types) for o in e.operands), e.span)
    if isinstance(e, ast.Not):
        return ast.Not(substitute(e.operand, attrs, column_types), e.span)
    return e


# ---------------------------------------------------------------- compiled rules


def _instant(lit: ast.Literal | None, end: bool) -> dt.datetime | None:
    if lit is None:
        return None
    v = lit.value
    if isinstance(v, dt.datetime):
        return _timestamp(v)
    assert isinstance(v, dt.date)
    start = dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC)
    return start + dt.timedelta(days=1) if end else start


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRule:
    """A rule ready for evaluation: subject sets, purposes, window, condition closure, coverage.

    Compared and hashed by identity (each is built once per load), so evaluation can key
    per-request work on tuples of rules cheaply.
    """

    ref: RuleRef
    kind: str
    index: int
    everyone: bool
    users: frozenset[str]
    groups: frozenset[str]
    except_users: frozenset[str]
    except_groups: frozenset[str]
    purposes: frozenset[str]
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    condition: Condition | None
    columns: Mapping[str, tuple[str, ...]]
    mask: MaskStrategy | None
    row_filter: ast.Expr | None
    reads: frozenset[str]

    def matches_subject(self, user: str, groups: frozenset[str]) -> bool:
        if user in self.except_users or (self.except_groups and not self.except_groups.isdisjoint(groups)):
            return False
        return self.everyone or user in self.users or not self.groups.isdisjoint(groups)

    def applies(self, user: str, groups: frozenset[str], attrs: Attributes, purpose: str | None,
                at: dt.datetime) -> bool:
        """Rule 1 of the semantics: subjects, condition, purpose, window."""
        if not self.matches_subject(user, groups):
            return False
        if self.purposes and (purpose is None or purpose not in self.purposes):
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        if self.valid_until is not None and at >= self.valid_until:
            return False
        return self.condition is None or self.condition(attrs)


@dataclass(frozen=True)
class ProductRules:
    """Everything evaluation needs for one product."""

    columns: tuple[str, ...]
    rules: tuple[CompiledRule, ...]
    filters: tuple[CompiledRule, ...]
    reads: tuple[str, ...]
    boundaries: tuple[dt.datetime, ...]
    column_set: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CompiledPolicy:
    """Rules indexed by product; built once per load."""

    products: Mapping[str, ProductRules]
    rules: tuple[CompiledRule, ...]


def compile_rule(checked: CheckedRule) -> CompiledRule:
    rule = checked.rule
    include, exclude = rule.subjects.include, rule.subjects.exclude
    reads = attributes_read(rule.condition) | attributes_read(rule.row_filter)
    return CompiledRule(
        ref=RuleRef.of(rule),
        kind=rule.kind,
        index=checked.index,
        everyone=any(s.kind == "everyone" for s in include),
        users=frozenset(s.name for s in include if s.kind == "user"),
        groups=frozenset(s.name for s in include if s.kind == "group"),
        except_users=frozenset(s.name for s in exclude if s.kind == "user"),
        except_groups=frozenset(s.name for s in exclude if s.kind == "group"),
        purposes=frozenset(p.text.casefold() for p in rule.purposes),  # see Engine.evaluate
        valid_from=_instant(rule.valid_from, end=False),
        valid_until=_instant(rule.valid_until, end=True),
        condition=compile_condition(rule.condition),
        columns=checked.columns,
        mask=checked.mask,
        row_filter=rule.row_filter,
        reads=reads,
    )


def compile_policies(result: CheckResult, product_columns: Mapping[str, tuple[str, ...]]) -> CompiledPolicy:
    """Index checked rules by product. `product_columns` gives each catalog product's columns in order.

    Each product's rules and filters are kept in (file, line) order.
    """
    compiled = tuple(compile_rule(r) for r in result.rules)
    # A rule excluding everyone (e.g. `to everyone except everyone`) never applies.
    for r in result.rules:
        if any(s.kind == "everyone" for s in r.rule.subjects.exclude):
            compiled = tuple(c for c in compiled if c.index != r.index)
    # Rules sorted by where they are written: evaluation then cites rules in a stable order
    # (file, line) without sorting per request, whatever the order the files were read in.
    ordered = sorted(compiled, key=lambda r: (r.ref.file, r.ref.line, r.index))
    by_product: dict[str, list[CompiledRule]] = {}
    for r in ordered:
        for name in r.columns:
            by_product.setdefault(name, []).append(r)
    products: dict[str, ProductRules] = {}
    for name, columns in product_columns.items():
        candidates = by_product.get(name, ())
        rules = tuple(r for r in candidates if r.kind != "filter")
        filters = tuple(r for r in candidates if r.kind == "filter")
        reads = sorted(set().union(*(r.reads for r in rules + filters)) if rules or filters else set())
        bounds = sorted({b for r in rules + filters for b in (r.valid_from, r.valid_until) if b is not None})
        products[name] = ProductRules(columns, rules, filters, tuple(reads), tuple(bounds), frozenset(columns))
    return CompiledPolicy(MappingProxyType(products), compiled)
