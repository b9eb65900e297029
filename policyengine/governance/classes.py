"""Equivalence classes of requests: the few consumers, purposes and instants that stand for all.

A column's outcome for one product depends only on which of the product's rules apply, and a
rule applies by four independent tests — subject, purpose, window, condition. So requests can be
reduced, per dimension, to classes that no rule can tell apart:

- **subjects**: the users rules name (plus one no rule names) × the groups rules name. Groups are
  reduced further (see `subject_classes`): one group that makes an allow match, plus any subset
  of the groups rules *except*. Every other set of groups is at least as restricted as one of
  these (it only adds rules that apply to it), so a search for "something more visible" loses
  nothing;
- **attributes**: per attribute, a missing value, each literal a condition compares it with, and
  one value in every gap between literals (below, between, above); combinations are reduced to
  the distinct truth vectors of the rules' conditions;
- **purposes**: each purpose a rule names, plus "no purpose or one no rule names";
- **instants**: one per interval between the rules' window boundaries (before the first, from
  each boundary on).

Every class is then evaluated through `Engine.evaluate`, so a conclusion drawn from the classes
is the engine's own. `tests/governance/test_classes.py` compares the classes with brute force
over a small concrete universe (hypothesis).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from policyengine.catalog.consumers import Consumer
from policyengine.engine.compiler import CompiledRule
from policyengine.language import ast
from policyengine.language.ast import format_literal

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

MISSING: Any = None  # an attribute left out of a class (the engine treats null as missing too)
_BUILTIN = frozenset({"id", "groups"})
ANY_USER = "any-other-user"  # the id of "a user no rule names" (made unique against named ones)
MAX_ATTRIBUTE_COMBINATIONS = 100_000
MAX_EXCEPTED_GROUPS = 16  # 2**16 subsets of the groups rules except, per product


class ClassesError(ValueError):
    """The request space cannot be reduced to a tractable number of classes (a usage error)."""


# ---------------------------------------------------------------- rules and their conditions


def product_rules(engine: Engine, product: str, columns: Iterable[str] | None = None) -> tuple[CompiledRule, ...]:
    """The product's allow/deny/mask rules (in file, line order) covering any of `columns`."""
    rules = engine.compiled.products[product].rules
    if columns is None:
        return rules
    wanted = set(columns)
    return tuple(r for r in rules if not wanted.isdisjoint(r.columns.get(product, ())))


def rule_asts(engine: Engine) -> dict[int, ast.Rule]:
    """Each compiled rule's AST by its index (conditions and windows as written)."""
    return {c.index: c.rule for c in engine.check_result.rules}


# ---------------------------------------------------------------- subjects


@dataclass(frozen=True)
class SubjectClass:
    """A consumer identity standing for a class: a user id and groups (`named_user` False when the
    id is one no rule names)."""

    user: str
    groups: frozenset[str]
    named_user: bool
    # other groups with the same role in every rule as one of `groups` (which stands for them)
    peers: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def label(self) -> str:
        parts = [f"user:{self.user}"] if self.named_user else []
        alike = dict(self.peers)
        for g in sorted(self.groups):
            others = alike.get(g, ())
            parts.append(f"group:{g}" + (f" (or {', '.join(f'group:{o}' for o in others)})" if others else ""))
        return ", ".join(parts) if parts else "any consumer in none of the groups rules name"


def _builtin_literals(conditions: Iterable[ast.Expr]) -> tuple[set[str], set[str]]:
    """String literals compared with `consumer.id` and with `consumer.groups` in conditions."""
    ids: set[str] = set()
    groups: set[str] = set()
    for cond in conditions:
        for node in ast.walk(cond):
            if not isinstance(node, ast.Compare):
                continue
            for ref, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(ref, ast.ConsumerRef) and ref.attribute in _BUILTIN:
                    values = [i.value for i in other.items] if isinstance(other, ast.ListExpr) else \
                        [other.value] if isinstance(other, ast.Literal) else []
                    target = ids if ref.attribute == "id" else groups
                    target.update(v for v in values if isinstance(v, str))
    return ids, groups


def fresh_name(base: str, taken: Iterable[str]) -> str:
    """`base`, or `base-2`, `base-3`... whichever no rule names."""
    taken = set(taken)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def subject_classes(rules: Sequence[CompiledRule], conditions: Iterable[ast.Expr],
                    excluded_users: Iterable[str] = (), excluded_groups: Iterable[str] = (),
                    extra_groups: Iterable[str] = (), distinct: Iterable[str] = (),
                    every_subset: bool = False) -> list[SubjectClass]:
    """Users × group sets that stand for every consumer, simplest first.

    Group sets are {} or {a} (a: a group an allow includes), each with any subset of X (groups a
    rule excepts, or a condition compares `consumer.groups` with). For any consumer G*, the set
    G = {a} ∪ (G* ∩ X), with a in G* making G*'s first allow match, has the same exceptions as G*
    and a subset of its inclusions, so exactly the allows of G* apply to G and no more denies
    or masks: G sees at least as much. `excluded_*` (privileged subjects) never appear; groups
    with identical roles in every rule are one class, except those in `distinct` (subjects
    such as `group:x` that a caller tells apart, e.g. privileged for some tags only).
    `every_subset`: every subset of the (representative) groups instead — exact outcomes for
    every consumer, not just "at least as visible" (what comparing two policy versions needs).
    """
    conditions = list(conditions)
    id_literals, group_literals = _builtin_literals(conditions)
    excluded_users, excluded_groups = set(excluded_users), set(excluded_groups)
    roles: dict[str, tuple[frozenset[int], frozenset[int]]] = {}
    names = set().union(*(r.groups | r.except_groups for r in rules)) if rules else set()
    names |= group_literals | set(extra_groups)
    for g in sorted(names - excluded_groups):
        roles[g] = (frozenset(i for i, r in enumerate(rules) if g in r.groups),
                    frozenset(i for i, r in enumerate(rules) if g in r.except_groups))
    # one representative per role profile (groups a condition names stay themselves)
    representative: dict[tuple, str] = {}
    distinct = set(distinct)
    for g, profile in roles.items():
        key = ("literal", g) if g in group_literals or f"group:{g}" in distinct else profile
        representative.setdefault(key, g)
    reps = set(representative.values())
    peers: dict[str, list[str]] = {}
    for g, profile in roles.items():
        key = ("literal", g) if g in group_literals or f"group:{g}" in distinct else profile
        if representative[key] != g:
            peers.setdefault(representative[key], []).append(g)
    allow_groups = sorted({g for r in rules if r.kind == "allow" for g in r.groups} & reps)
    except_groups = sorted(({g for r in rules for g in r.except_groups} | group_literals
                            | (set(extra_groups) & reps)) & reps)
    if every_subset:
        allow_groups, except_groups = [], sorted(reps)
    if len(except_groups) > MAX_EXCEPTED_GROUPS:
        raise ClassesError(f"the rules of one product except {len(except_groups)} different groups "
                           f"(more than {MAX_EXCEPTED_GROUPS}): too many group combinations to check "
                           "exhaustively; list the ones that may read sensitive columns as privileged")
    subsets = [frozenset(c) for k in range(len(except_groups) + 1)
               for c in itertools.combinations(except_groups, k)]
    group_sets: list[frozenset[str]] = []
    seen: set[frozenset[str]] = set()
    for base in [frozenset(), *(frozenset([a]) for a in allow_groups)]:
        for extra in subsets:
            gs = base | extra
            if gs not in seen:
                seen.add(gs)
                group_sets.append(gs)
    group_sets.sort(key=lambda s: (len(s), sorted(s)))
    named: set[str] = set().union(*(r.users | r.except_users for r in rules)) if rules else set()
    users = sorted((named | id_literals) - excluded_users)
    anyone = fresh_name(ANY_USER, users + sorted(excluded_users) + sorted(id_literals))

    def alike(gs: frozenset[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((g, tuple(peers[g])) for g in sorted(gs) if g in peers)

    out = [SubjectClass(anyone, gs, False, alike(gs)) for gs in group_sets]
    out += [SubjectClass(u, gs, True, alike(gs)) for u in users for gs in group_sets]
    return _dedupe_subjects(out, rules, bool(id_literals or group_literals), distinct)


def _dedupe_subjects(classes: list[SubjectClass], rules: Sequence[CompiledRule],
                     builtin_read: bool, distinct: set[str]) -> list[SubjectClass]:
    """Drop a class that matches exactly the same rules as an earlier (simpler) one and holds
    the same `distinct` subjects."""
    if builtin_read:  # conditions read consumer.id / consumer.groups: identities matter as they are
        return classes
    seen: set[tuple] = set()
    out = []
    for c in classes:
        held = frozenset(s for s in distinct if s == f"user:{c.user}" or s.removeprefix("group:") in c.groups
                         and s.startswith("group:"))
        key = (tuple(r.matches_subject(c.user, c.groups) for r in rules), held)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


# ---------------------------------------------------------------- attributes


@dataclass
class AttributeUse:
    """How conditions use one attribute."""

    scalars: set[Any] = field(default_factory=set)
    ordered: bool = False
    boolean: bool = False
    items: set[Any] = field(default_factory=set)  # `consumer.x contains v`, `v in consumer.x`
    lists: set[tuple[Any, ...]] = field(default_factory=set)  # `consumer.x == [..]`
    substrings: set[str] = field(default_factory=set)
    linked: set[str] = field(default_factory=set)


def _values(e: ast.Expr) -> list[Any]:
    if isinstance(e, ast.Literal):
        return [e.value]
    if isinstance(e, ast.ListExpr):
        return [i.value for i in e.items]
    return []


def collect_uses(e: ast.Expr, uses: dict[str, AttributeUse]) -> None:
    """Record how `e` uses consumer attributes (recursively)."""
    def use(name: str) -> AttributeUse | None:
        return None if name in _BUILTIN else uses.setdefault(name, AttributeUse())

    if isinstance(e, ast.ConsumerRef):  # used as a boolean (`when consumer.contractor`)
        u = use(e.attribute)
        if u is not None:
            u.boolean = True
        return
    if isinstance(e, (ast.And, ast.Or)):
        for o in e.operands:
            collect_uses(o, uses)
        return
    if isinstance(e, ast.Not):
        collect_uses(e.operand, uses)
        return
    if not isinstance(e, ast.Compare):
        return
    left, right, op = e.left, e.right, e.op
    for side in (left, right):
        if isinstance(side, (ast.Compare, ast.And, ast.Or, ast.Not)):
            collect_uses(side, uses)
    if isinstance(left, ast.ConsumerRef) and isinstance(right, ast.ConsumerRef):
        a, b = use(left.attribute), use(right.attribute)
        if a is not None and b is not None:
            a.linked.add(right.attribute)
            b.linked.add(left.attribute)
        for u in (a, b):
            if u is not None:
                u.ordered |= op in ("<", "<=", ">", ">=")
        return
    for ref, other, ref_left in ((left, right, True), (right, left, False)):
        if not isinstance(ref, ast.ConsumerRef):
            continue
        u = use(ref.attribute)
        if u is None:
            continue
        if isinstance(other, (ast.Compare, ast.And, ast.Or, ast.Not)):
            u.boolean = True  # `consumer.flag == (consumer.level > 2)`
            continue
        values = _values(other)
        if op == "contains" and ref_left:
            u.items.update(values)
            u.substrings.update(v for v in values if isinstance(v, str))
        elif op in ("in", "not in") and not ref_left:
            u.items.update(values)
        elif isinstance(other, ast.ListExpr) and op in ("==", "!="):
            u.lists.add(tuple(values))
        else:
            u.scalars.update(values)
            u.ordered |= op in ("<", "<=", ">", ">=")


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, dt.datetime):
        return "timestamp"
    if isinstance(v, dt.date):
        return "date"
    return "string" if isinstance(v, str) else "other"


def _gaps(values: list[Any], kind: str, integer: bool) -> list[Any]:
    """One value below, between each two, and above sorted `values` of one kind (where one exists)."""
    if kind == "number":
        step: Any = 1
    elif kind == "date":
        step = dt.timedelta(days=1)
    elif kind == "timestamp":
        step = dt.timedelta(seconds=1)
    else:
        return []
    out = [values[0] - step, values[-1] + step]
    for lo, hi in itertools.pairwise(values):
        if kind == "number" and not integer:
            mid = (lo + hi) / 2
            if lo < mid < hi:
                out.append(mid)
        elif kind == "timestamp":
            mid = lo + (hi - lo) / 2
            if lo < mid < hi:
                out.append(mid)
        elif lo + step < hi:
            out.append(lo + step)
    return out


def _string_candidates(values: list[str], ordered: bool) -> list[str]:
    out = list(values) + [fresh_name("other", values)]
    if ordered:  # the smallest string above each literal, and the empty string below them all
        out += [v + "\x00" for v in values] + ([""] if "" not in values else [])
    return out


def _schema_fits(value: Any, kind: str | None) -> bool:
    if kind is None or value is MISSING:
        return True
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    return _kind(value) == kind


def attribute_candidates(name: str, use: AttributeUse, pool: set[Any], schema_kind: str | None) -> list[Any]:
    """Values of one attribute that stand for all its values: missing, each literal conditions
    compare it with, one value in each gap between them (see `_gaps`), both booleans, and lists
    holding each combination of the items conditions look for."""
    values: list[Any] = [MISSING]
    if use.boolean:
        values += [True, False]
    by_kind: dict[str, list[Any]] = {}
    for v in use.scalars | pool:
        by_kind.setdefault(_kind(v), []).append(v)
    if use.linked and not (use.scalars | pool):  # compared only with another attribute
        by_kind = {"string": ["a", "b"], "number": [0, 1]}
    for kind, found in sorted(by_kind.items()):
        if kind == "number" and schema_kind == "integer":  # integers around each literal
            found = [n for v in found for n in (math.floor(v), math.ceil(v))]
        ordered = sorted(set(found))
        if kind == "string":
            values += _string_candidates(ordered, use.ordered)
        elif kind == "boolean":
            values += [True, False]
        elif kind != "other":
            values += ordered + _gaps(ordered, kind, schema_kind == "integer")
    if use.substrings:
        values += sorted(use.substrings) + ["".join(sorted(use.substrings)),
                                            fresh_name("other", use.substrings)]
    if use.items or (use.substrings and schema_kind in (None, "list")):
        items = sorted(use.items, key=repr)
        combos = itertools.chain.from_iterable(itertools.combinations(items, k) for k in range(len(items) + 1)) \
            if len(items) <= 4 else [(), *((i,) for i in items), tuple(items)]
        values += [list(c) for c in combos]
    values += [list(v) for v in use.lists] + [tuple(v) for v in use.lists]
    out: list[Any] = []
    for v in values:
        if _schema_fits(v, schema_kind) and not any(v == o and type(v) is type(o) for o in out):
            out.append(v)
    return out


def value_text(v: Any) -> str:
    """A value as a policy would write it (`"eu"`, `2`, `true`, `["a", "b"]`)."""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_literal(i) for i in v) + "]"
    return format_literal(v)


@dataclass(frozen=True)
class AttributeClass:
    """Attribute values standing for a class (missing attributes left out)."""

    values: Mapping[str, Any]
    names: tuple[str, ...]  # every attribute the product's conditions read

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in self.values)

    @property
    def label(self) -> str:
        parts = [f"{k}={value_text(v)}" for k, v in self.values.items()]
        return ", ".join(parts)


def attribute_classes(conditions: Mapping[int, ast.Expr],
                      rules: Sequence[CompiledRule] | Mapping[int, CompiledRule],
                      schema: Any = None, limit: int = MAX_ATTRIBUTE_COMBINATIONS) -> list[AttributeClass]:
    """Attribute combinations, one per distinct truth vector of the rules' conditions (simplest
    first). Attributes that no condition reads together are combined only after reduction.
    `conditions` and `rules` share keys: rule indexes (a sequence of rules), or any keys (a mapping)."""
    uses: dict[str, AttributeUse] = {}
    for cond in conditions.values():
        collect_uses(cond, uses)
    names = tuple(sorted(uses))
    if not names:
        return [AttributeClass(MappingProxyType({}), ())]
    # components: attributes read by one condition (or compared with each other) go together
    parent = {n: n for n in names}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    by_rule: dict[int, set[str]] = {}
    for index, cond in conditions.items():
        read = {n.attribute for n in ast.walk(cond) if isinstance(n, ast.ConsumerRef)} - _BUILTIN
        by_rule[index] = read
        if read:
            first = min(read)  # the first in sorted order
            for other in read:
                parent[find(other)] = find(first)
    for n, u in uses.items():
        for m in u.linked:
            parent[find(m)] = find(n)
    components: dict[str, list[str]] = {}
    for n in names:
        components.setdefault(find(n), []).append(n)
    compiled = dict(rules) if isinstance(rules, Mapping) else {r.index: r for r in rules}
    pinned = {i for i, cond in conditions.items()
              if {n.attribute for n in ast.walk(cond) if isinstance(n, ast.ConsumerRef)} & _BUILTIN}
    per_component: list[list[dict[str, Any]]] = []
    for members in components.values():
        candidates = []
        for n in members:
            pool = set().union(*(uses[m].scalars for m in uses[n].linked)) if uses[n].linked else set()
            kind = schema.type_of(n) if schema is not None else None
            candidates.append(attribute_candidates(n, uses[n], pool, kind))
        size = 1
        for c in candidates:
            size *= len(c)
        if size > limit:
            raise ClassesError(f"conditions over {', '.join(members)} combine into {size:,} attribute "
                               f"classes (more than {limit:,}); split the conditions or declare the "
                               "attribute types in the consumers file")
        checks = [compiled[i] for i, read in by_rule.items() if read & set(members) and i in compiled]
        keep_all = any(r.index in pinned for r in checks)
        seen: set[tuple[bool, ...]] = set()
        found: list[dict[str, Any]] = []
        combos = sorted(itertools.product(*candidates),
                        key=lambda vs: sum(v is not MISSING for v in vs))
        for combo in combos:
            attrs = {n: v for n, v in zip(members, combo, strict=True) if v is not MISSING}
            if not keep_all:
                key = tuple(r.condition(attrs) if r.condition else True for r in checks)
                if key in seen:
                    continue
                seen.add(key)
            found.append(attrs)
        per_component.append(found)
    out = []
    for parts in itertools.product(*per_component):
        merged: dict[str, Any] = {}
        for p in parts:
            merged.update(p)
        out.append(AttributeClass(MappingProxyType(merged), names))
    out.sort(key=lambda a: len(a.values))
    return out


# ---------------------------------------------------------------- purposes and instants


@dataclass(frozen=True)
class PurposeClass:
    """A purpose standing for a class (`value` None: no purpose, or one no rule names)."""

    value: str | None
    label: str


def purpose_classes(rules: Sequence[CompiledRule]) -> list[PurposeClass]:
    """Each purpose a rule names, then "no purpose" (which any purpose no rule names joins)."""
    named = sorted(set().union(*(r.purposes for r in rules)) if rules else set())
    return [*(PurposeClass(p, f"purpose {p}") for p in named),
            PurposeClass(None, "no purpose, or one no rule names")]


@dataclass(frozen=True)
class Interval:
    """Instants between two window boundaries: [start, end) (None: unbounded); `at` stands for them."""

    at: dt.datetime
    start: dt.datetime | None
    end: dt.datetime | None

    @property
    def label(self) -> str:
        if self.start is None and self.end is None:
            return "at any instant"
        if self.start is None:
            return f"before {_iso(self.end)}"
        if self.end is None:
            return f"from {_iso(self.start)} on"
        return f"from {_iso(self.start)} until {_iso(self.end)}"

    def to_dict(self) -> dict[str, str | None]:
        return {"from": _iso(self.start) if self.start else None, "until": _iso(self.end) if self.end else None}

    def contains(self, when: dt.datetime) -> bool:
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)


def _iso(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def instant_classes(rules: Sequence[CompiledRule], now: dt.datetime | None = None) -> list[Interval]:
    """One interval per stretch between the rules' `from`/`until` boundaries."""
    bounds = sorted({b for r in rules for b in (r.valid_from, r.valid_until) if b is not None})
    if not bounds:
        return [Interval(now or dt.datetime.now(dt.UTC), None, None)]
    out = [Interval(bounds[0] - dt.timedelta(days=1), None, bounds[0])]
    for i, b in enumerate(bounds):
        out.append(Interval(b, b, bounds[i + 1] if i + 1 < len(bounds) else None))
    return out


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Adjacent intervals joined (for reports)."""
    out: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: (i.start is not None, i.start or i.at)):
        if out and out[-1].end is not None and out[-1].end == iv.start:
            out[-1] = Interval(out[-1].at, out[-1].start, iv.end)
        else:
            out.append(iv)
    return out


# ---------------------------------------------------------------- the whole space


@dataclass(frozen=True)
class RequestSpace:
    """The classes of one product's requests."""

    product: str
    rules: tuple[CompiledRule, ...]
    subjects: tuple[SubjectClass, ...]
    attributes: tuple[AttributeClass, ...]
    purposes: tuple[PurposeClass, ...]
    instants: tuple[Interval, ...]

    @property
    def size(self) -> int:
        return len(self.subjects) * len(self.attributes) * len(self.purposes) * len(self.instants)

    def requests(self) -> Iterator[tuple[SubjectClass, AttributeClass, Consumer, PurposeClass, Interval]]:
        """Every class, simplest consumer first."""
        for s in self.subjects:
            for a in self.attributes:
                consumer = Consumer(s.user, s.groups, a.values)
                for p in self.purposes:
                    for i in self.instants:
                        yield s, a, consumer, p, i


def request_space(engine: Engine, product: str, columns: Iterable[str] | None = None, *,
                  excluded_users: Iterable[str] = (), excluded_groups: Iterable[str] = (),
                  extra_groups: Iterable[str] = (), distinct: Iterable[str] = (),
                  now: dt.datetime | None = None, asts: Mapping[int, ast.Rule] | None = None) -> RequestSpace:
    """The request classes for reading `columns` of `product` (rules covering none of them are
    left out: they cannot change those columns). `asts`: `rule_asts(engine)`, when the caller
    already has it (computing it is linear in the number of rules)."""
    rules = product_rules(engine, product, columns)
    asts = rule_asts(engine) if asts is None else asts
    conditions: dict[int, ast.Expr] = {
        index: cond for index, cond in ((r.index, asts[r.index].condition) for r in rules if r.index in asts)
        if cond is not None}
    subjects = subject_classes(rules, conditions.values(), excluded_users, excluded_groups, extra_groups,
                               distinct)
    attrs = attribute_classes(conditions, rules, engine.schema)
    return RequestSpace(product, rules, tuple(subjects), tuple(attrs), tuple(purpose_classes(rules)),
                        tuple(instant_classes(rules, now)))


def joint_space(engines: Sequence[Any], product: str, columns: Iterable[str] | None = None, *,
                now: dt.datetime | None = None, filters: bool = True,
                names: Sequence[str] | None = None) -> RequestSpace:
    """Request classes that no rule of *any* of `engines` can tell apart (for comparing policy
    versions: each class is then one request to every engine), row filter rules included unless
    `filters` is false. The product must exist in all; `names`, one per engine, when it goes by
    another name in some (a product renamed between two versions)."""
    rules: list[CompiledRule] = []
    conditions: dict[int, ast.Expr] = {}
    by_key: dict[int, CompiledRule] = {}
    for engine, name in zip(engines, names or [product] * len(engines), strict=True):
        asts = rule_asts(engine)
        extra = engine.compiled.products[name].filters if filters else ()
        for r in (*product_rules(engine, name, columns), *extra):
            key = len(rules)
            rules.append(r)
            by_key[key] = r
            cond = asts[r.index].condition if r.index in asts else None
            if cond is not None:
                conditions[key] = cond
    schema = next((e.schema for e in engines if e.schema is not None), None)
    subjects = subject_classes(rules, conditions.values(), every_subset=True)
    attrs = attribute_classes(conditions, by_key, schema)
    return RequestSpace(product, tuple(rules), tuple(subjects), tuple(attrs), tuple(purpose_classes(rules)),
                        tuple(instant_classes(rules, now)))
