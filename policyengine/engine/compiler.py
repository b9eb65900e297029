"""Checked rules → compiled policy: rules indexed by product, conditions compiled to closures once.

`evaluate()` then needs only a few dictionary look-ups and calls per request: find the product's
candidate rules, test each rule's applicability once (subjects, purpose, window, condition), and
fold the applicable rules into per-column outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from policyengine.engine.decision import RuleRef
from policyengine.language import ast
from policyengine.language.checker import CheckedRule, CheckResult
from policyengine.language.masks import MaskStrategy
from policyengine.language.values import MISSING, Undefined, compare, utc_instant

Attributes = Mapping[str, Any]
Condition = Callable[[Attributes], bool]


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


# ---------------------------------------------------------------- compiled rules


def _instant(lit: ast.Literal | None, end: bool) -> dt.datetime | None:
    if lit is None:
        return None
    v = lit.value
    if not isinstance(v, dt.date):  # the checker accepts only dates and timestamps here
        raise ValueError(f"a rule window bound must be a date or timestamp, not {type(v).__name__}")
    start = utc_instant(v)
    if end and not isinstance(v, dt.datetime):  # `until 2027-06-30` includes that whole day
        return start + dt.timedelta(days=1)
    return start


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
    # each rule's columns of this product, as a set (evaluation splits columns by rule with them)
    column_sets: Mapping[CompiledRule, frozenset[str]] = field(default_factory=dict)
    # The product's columns split, at compile time, into classes covered by the same rules:
    # (the class's columns in product order, the rules covering them in (file, line) order). A
    # request's per-column outcomes then take one signature per class, not per column.
    classes: tuple[tuple[tuple[str, ...], tuple[CompiledRule, ...]], ...] = ()

    def rule_columns(self, rule: CompiledRule) -> frozenset[str]:
        """The columns of this product that `rule` covers."""
        return self.column_sets[rule]


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
        users=frozenset(s.name for s in include if s.kind == "user" and s.name is not None),
        groups=frozenset(s.name for s in include if s.kind == "group" and s.name is not None),
        except_users=frozenset(s.name for s in exclude if s.kind == "user" and s.name is not None),
        except_groups=frozenset(s.name for s in exclude if s.kind == "group" and s.name is not None),
        purposes=frozenset(p.text.casefold() for p in rule.purposes),  # see Engine.evaluate
        valid_from=_instant(rule.valid_from, end=False),
        valid_until=_instant(rule.valid_until, end=True),
        condition=compile_condition(rule.condition),
        columns=checked.columns,
        mask=checked.mask,
        row_filter=rule.row_filter,
        reads=reads,
    )


Shape = tuple[tuple[tuple[str, ...], tuple[int, ...]], ...]  # column classes, rules by position


def _shape(columns: tuple[str, ...], covers: tuple[frozenset[str], ...],
           interned: dict[tuple[str, ...], tuple[str, ...]]) -> Shape:
    """`column_classes` with each rule named by its position in `covers` (its column set)."""
    if not covers:  # one class, no rule
        return ((interned.setdefault(columns, columns), ()),) if columns else ()
    indexed = list(enumerate(covers))
    by_cover: dict[tuple[int, ...], list[str]] = {}
    for col in columns:
        cover = tuple([i for i, s in indexed if col in s])
        cols = by_cover.get(cover)
        if cols is None:
            by_cover[cover] = [col]
        else:
            cols.append(col)
    return tuple((interned.setdefault(key := tuple(cols), key), cover) for cover, cols in by_cover.items())


def column_classes(columns: tuple[str, ...], rules: tuple[CompiledRule, ...],
                   sets: Mapping[CompiledRule, frozenset[str]], interned: dict[tuple[str, ...], tuple[str, ...]],
                   ) -> tuple[tuple[tuple[str, ...], tuple[CompiledRule, ...]], ...]:
    """A product's columns grouped by the exact tuple of rules covering them (classes in order of
    their first column; columns in product order). Equal column tuples of different products are
    one object (`interned`): evaluation shares column decisions by it."""
    shape = _shape(tuple(columns), tuple([sets[r] for r in rules]), interned)
    return tuple((cols, tuple([rules[i] for i in cover])) for cols, cover in shape)


def compile_policies(result: CheckResult, product_columns: Mapping[str, tuple[str, ...]]) -> CompiledPolicy:
    """Index checked rules by product. `product_columns` gives each catalog product's columns in order.

    Each product's rules and filters are kept in (file, line) order.
    """
    # A rule excluding everyone (e.g. `to everyone except everyone`) never applies.
    compiled = tuple(compile_rule(checked) for checked in result.rules
                     if not any(s.kind == "everyone" for s in checked.rule.subjects.exclude))
    # Rules sorted by where they are written: evaluation then cites rules in a stable order
    # (file, line) without sorting per request, whatever the order the files were read in.
    ordered = sorted(compiled, key=lambda r: (r.ref.file, r.ref.line, r.index))
    by_product: dict[str, list[CompiledRule]] = {}
    for r in ordered:
        for name in r.columns:
            by_product.setdefault(name, []).append(r)
    products: dict[str, ProductRules] = {}
    interned: dict[tuple[str, ...], tuple[str, ...]] = {}
    # Products alike (the same columns, their rules covering the same column lists) have the
    # same classes by rule position: computed once per shape, and one frozenset per column list
    # (a 10,000-product mesh has a few hundred of each).
    shapes: dict[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], Shape] = {}
    frozen: dict[tuple[str, ...], frozenset[str]] = {}
    for name, columns in product_columns.items():
        candidates = by_product.get(name)
        rules: tuple[CompiledRule, ...]
        filters: tuple[CompiledRule, ...]
        reads: tuple[str, ...]
        bounds: tuple[dt.datetime, ...]
        if candidates is None:
            rules = filters = reads = bounds = ()
        else:
            rules = tuple([r for r in candidates if r.kind != "filter"])
            filters = tuple([r for r in candidates if r.kind == "filter"])
            reads = tuple(sorted(set[str]().union(*[r.reads for r in candidates])))
            bounds = tuple(sorted({b for r in candidates if r.valid_from is not None or r.valid_until is not None
                                   for b in (r.valid_from, r.valid_until) if b is not None}))
        columns = tuple(columns)
        covered: tuple[tuple[str, ...], ...] = tuple([tuple(r.columns[name]) for r in rules])
        covers = tuple([frozen.get(c) or frozen.setdefault(c, frozenset(c)) for c in covered])
        sets: Mapping[CompiledRule, frozenset[str]] = MappingProxyType(dict(zip(rules, covers, strict=True)))
        shape = shapes.get((columns, covered))
        if shape is None:
            shape = shapes[(columns, covered)] = _shape(columns, covers, interned)
        classes = tuple([(cols, tuple([rules[i] for i in cover])) for cols, cover in shape])
        column_set = frozen.get(columns) or frozen.setdefault(columns, frozenset(columns))
        products[name] = ProductRules(columns, rules, filters, reads, bounds, column_set, sets, classes)
    return CompiledPolicy(MappingProxyType(products), compiled)
