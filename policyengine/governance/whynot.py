"""Why not: the smallest changes to a request that would make a denied or masked column more visible.

A change is one of: another purpose, joining or leaving a group some rule names, another value
of an attribute some condition reads (or none), an instant in another stretch between window
boundaries. Changes are tried one at a time, then in pairs, then in threes; the first size that
helps gives the answer (so every suggestion is minimal). Each candidate is evaluated with
`Engine.evaluate`, so a suggestion is what enforcement would do.

When no combination of up to three changes helps, every request class of the column is evaluated
(`governance.classes`): either some request sees more (reported as that request), or none does —
e.g. a platform deny without exception — and the answer says so, citing the rule.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from policyengine.catalog.consumers import Consumer
from policyengine.engine.decision import ColumnDecision, Decision, RuleRef
from policyengine.governance.classes import (
    MISSING,
    AttributeUse,
    Interval,
    attribute_candidates,
    collect_uses,
    instant_classes,
    product_rules,
    purpose_classes,
    request_space,
    rule_asts,
    value_text,
)
from policyengine.language import ast
from policyengine.language.masks import reveals_no_more

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

MAX_CHANGES = 3


@dataclass(frozen=True)
class Change:
    """One change to the request: `kind` is purpose | join | leave | attribute | at."""

    kind: str
    text: str
    name: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, Interval):
            value = value.to_dict()
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        return {"kind": self.kind, "text": self.text, "name": self.name, "value": value}


@dataclass(frozen=True)
class Suggestion:
    """Changes that together make the column more visible, the outcome, and the rules involved."""

    changes: tuple[Change, ...]
    outcome: ColumnDecision
    no_longer: tuple[RuleRef, ...]  # rules that applied to the column and would not
    newly: tuple[RuleRef, ...]  # rules that would apply and did not

    @property
    def text(self) -> str:
        effect = _effect_text(self.outcome)
        parts = [f"{' and '.join(c.text for c in self.changes)} → {effect} ({self.outcome.reason})"]
        if self.no_longer:
            parts.append("no longer applying: " + ", ".join(f"{r.kind} {r}" for r in self.no_longer))
        if self.newly:
            parts.append("newly applying: " + ", ".join(f"{r.kind} {r}" for r in self.newly))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"changes": [c.to_dict() for c in self.changes], "outcome": self.outcome.to_dict(),
                "no_longer_applying": [r.to_dict() for r in self.no_longer],
                "newly_applying": [r.to_dict() for r in self.newly]}


@dataclass(frozen=True)
class WhyNot:
    """The answer for one column: the current outcome and the smallest changes, or why none exists."""

    product: str
    column: str
    current: ColumnDecision
    suggestions: tuple[Suggestion, ...]
    note: str = ""

    @property
    def possible(self) -> bool:
        return bool(self.suggestions)

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "column": self.column, "current": self.current.to_dict(),
                "suggestions": [s.to_dict() for s in self.suggestions], "note": self.note}

    def to_text(self) -> str:
        lines = [f"why not {self.product}.{self.column}: {_effect_text(self.current)} ({self.current.reason})"]
        if self.note:
            lines.append(f"  {self.note}")
        for s in self.suggestions:
            lines.append(f"  - {s.text}")
        return "\n".join(lines)


def _effect_text(cd: ColumnDecision) -> str:
    return f"mask {cd.mask}" if cd.effect == "mask" else cd.effect


def more_visible(new: ColumnDecision, old: ColumnDecision) -> bool:
    """Whether `new` shows more of the column than `old`: deny < mask < allow, and a mask that
    reveals strictly more than another."""
    rank = {"deny": 0, "mask": 1, "allow": 2}
    if rank[new.effect] != rank[old.effect]:
        return rank[new.effect] > rank[old.effect]
    if new.effect != "mask" or new.mask is None or old.mask is None:
        return False
    return reveals_no_more(old.mask, new.mask) and not reveals_no_more(new.mask, old.mask)


@dataclass(frozen=True)
class _Request:
    user: str
    groups: frozenset[str]
    attributes: Mapping[str, Any]
    purpose: str | None
    at: dt.datetime


def _atoms(engine: Engine, product: str, column: str, req: _Request) -> list[tuple[str, Change]]:
    """Every single change that could matter, with the slot it takes (one change per slot)."""
    rules = product_rules(engine, product, [column])
    asts = rule_asts(engine)
    conditions = [cond for cond in (asts[r.index].condition for r in rules if r.index in asts) if cond is not None]
    out: list[tuple[str, Change]] = []
    for p in purpose_classes(rules):
        if p.value != req.purpose and not (p.value is None and req.purpose not in
                                           set().union(*(r.purposes for r in rules))):
            text = f"request it for purpose {p.value}" if p.value else "request it with no purpose"
            out.append(("purpose", Change("purpose", text, None, p.value)))
    names = set().union(*(r.groups | r.except_groups for r in rules)) if rules else set()
    for cond in conditions:
        for node in ast.walk(cond):
            if isinstance(node, ast.Compare) and any(isinstance(s, ast.ConsumerRef) and s.attribute == "groups"
                                                     for s in (node.left, node.right)):
                for side in (node.left, node.right):
                    if isinstance(side, ast.Literal) and isinstance(side.value, str):
                        names.add(side.value)
    for g in sorted(names):
        if g in req.groups:
            out.append((f"group:{g}", Change("leave", f"leave group:{g}", g)))
        else:
            out.append((f"group:{g}", Change("join", f"join group:{g}", g)))
    uses: dict[str, AttributeUse] = {}
    for cond in conditions:
        collect_uses(cond, uses)
    for name in sorted(uses):
        kind = engine.schema.type_of(name) if engine.schema is not None else None
        pool = set().union(*(uses[m].scalars for m in uses[name].linked)) if uses[name].linked else set()
        current = req.attributes.get(name, MISSING)
        for v in attribute_candidates(name, uses[name], pool, kind):
            if v is MISSING and current is MISSING or v is not MISSING and current is not MISSING \
                    and type(v) is type(current) and v == current:
                continue
            text = f"have no {name}" if v is MISSING else f"have {name} = {value_text(v)}"
            out.append((f"attribute:{name}", Change("attribute", text, name, v)))
    for iv in instant_classes(rules, req.at):
        if not iv.contains(req.at):
            out.append(("at", Change("at", f"request it {iv.label}", None, iv)))
    return out


def _apply(req: _Request, changes: tuple[Change, ...]) -> _Request:
    groups, attrs, purpose, at = set(req.groups), dict(req.attributes), req.purpose, req.at
    for c in changes:
        name = c.name or ""  # join, leave and attribute changes always name their group or attribute
        if c.kind == "join":
            groups.add(name)
        elif c.kind == "leave":
            groups.discard(name)
        elif c.kind == "attribute":
            if c.value is MISSING:
                attrs.pop(name, None)
            else:
                attrs[name] = c.value
        elif c.kind == "purpose":
            purpose = c.value
        elif c.kind == "at":
            at = c.value.at
    return _Request(req.user, frozenset(groups), MappingProxyType(attrs), purpose, at)


def _evaluate(engine: Engine, product: str, column: str, req: _Request) -> ColumnDecision:
    d = engine.evaluate(Consumer(req.user, req.groups, req.attributes), product, [column], req.purpose, req.at,
                        use_cache=False)
    return d.columns[column]


def _suggestion(changes: tuple[Change, ...], outcome: ColumnDecision, current: ColumnDecision) -> Suggestion:
    before, after = set(current.applied), set(outcome.applied)
    return Suggestion(changes, outcome, tuple(r for r in current.applied if r not in after),
                      tuple(r for r in outcome.applied if r not in before))


def why_not(engine: Engine, consumer: Any, product: str, column: str, purpose: str | None = None,
            at: dt.datetime | dt.date | None = None, *, max_changes: int = MAX_CHANGES) -> WhyNot:
    """The smallest changes that would make `column` of `product` more visible to `consumer`
    (see the module doc). Raises ValueError for an unknown product or column."""
    if product not in engine.catalog.products:
        raise ValueError(f"unknown product '{product}'")
    if engine.catalog.products[product].column(column) is None:
        raise ValueError(f"{product} has no column '{column}'")
    if isinstance(consumer, str) and consumer in engine.consumers:
        consumer = engine.consumers[consumer]
    c = Consumer.coerce(consumer)
    when = at if isinstance(at, dt.datetime) else dt.datetime.now(dt.UTC) if at is None else \
        dt.datetime(at.year, at.month, at.day, tzinfo=dt.UTC)
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    asked = (purpose.strip().casefold() or None) if isinstance(purpose, str) else None
    req = _Request(c.id, c.groups, MappingProxyType(dict(c.attributes)), asked, when)
    current = _evaluate(engine, product, column, req)
    if current.effect == "allow":
        return WhyNot(product, column, current, (), "already readable unmasked: nothing to change")
    atoms = _atoms(engine, product, column, req)
    for size in range(1, max_changes + 1):
        found = []
        for combo in itertools.combinations(atoms, size):
            slots = [slot for slot, _ in combo]
            if len(set(slots)) < size:
                continue
            changes = tuple(change for _, change in combo)
            outcome = _evaluate(engine, product, column, _apply(req, changes))
            if more_visible(outcome, current):
                found.append(_suggestion(changes, outcome, current))
        if found:
            rank = {"allow": 0, "mask": 1}
            found.sort(key=lambda s: (rank.get(s.outcome.effect, 2), [c.kind for c in s.changes]))
            return WhyNot(product, column, current, tuple(found))
    # more than `max_changes` changes, or none at all: ask every request class
    space = request_space(engine, product, [column], now=when)
    for subject, attrs, consumer_class, purpose_class, interval in space.requests():
        d = engine.evaluate(consumer_class, product, [column], purpose_class.value, interval.at, use_cache=False)
        outcome = d.columns[column]
        if more_visible(outcome, current):
            who = subject.label + (f" with {attrs.label}" if attrs.label else "")
            change = Change("request", f"a request by {who}, {purpose_class.label}, {interval.label}")
            return WhyNot(product, column, current, (_suggestion((change,), outcome, current),),
                          f"no combination of up to {max_changes} changes helps; this request would see more")
    here = f" ({current.rule.kind} {current.rule} decides it here)" if current.rule else \
        " (no rule allows it for any request)" if current.effect == "deny" else ""
    return WhyNot(product, column, current, (),
                  "no change of purpose, groups, attributes or instant makes it more visible: no request "
                  f"sees more than {_effect_text(current)}{here}")


def decision_why_not(decision: Decision, column: str, engine: Engine, consumer: Any = None, *,
                     max_changes: int = MAX_CHANGES) -> WhyNot:
    """`why_not` for a decision's own request: the smallest changes to it (purpose, groups,
    attributes, instant) that would make `column` more visible, or the statement that none exists.

    A decision holds the consumer's name, not its groups and attributes, so the consumer is
    looked up in `engine`'s consumers file unless given. `engine` must be the one that made the
    decision (same bundle version): an explanation over other policies would mislead.
    Raises ValueError when the column was not decided here, the engine differs or the consumer
    is unknown."""
    if column not in decision.columns:
        raise ValueError(f"column '{column}' is not part of this decision on {decision.product}")
    if decision.bundle_version and getattr(engine, "bundle_version", decision.bundle_version) != \
            decision.bundle_version:
        raise ValueError("this decision was made under another bundle version than the engine's: "
                         "evaluate again with this engine")
    if consumer is None:
        consumer = engine.consumers.get(decision.consumer)
        if consumer is None:
            raise ValueError(f"consumer '{decision.consumer}' is not in the consumers file: pass consumer= "
                             "with its groups and attributes")
    return why_not(engine, consumer, decision.product, column, decision.purpose, decision.at, max_changes=max_changes)
