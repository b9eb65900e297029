"""The engine-neutral compiled form: per (product, consumer), what a native object must compute.

Each table plan is `evaluate()`'s own decision folded to one expression per readable column
(allow: the column; mask: the strategy) and one row predicate (the decision's filter, consumer
attributes substituted; a target groups consumers into classes by taking the literals out, as
native/postgres.py does, so no attribute value lands in an object's text). The precedence is ours
(deny > strictest mask > allow, default deny), decided by the evaluator, never by an engine.

What a target cannot express faithfully is refused, never lowered: the table plan is left out
(fail closed: no native object, the consumer reads nothing of that product) and a `Refusal`
names the rule at file:line:col and the nearest safe choice. Requests native objects answer
carry no purpose and no instant of their own, so decisions are taken with no purpose at the
plan's instant (`at`); `NativePlan.notes` says so, naming the rules this leaves out and the
window boundaries after which `plan --check` reports drift.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from policyengine.engine.decision import Decision, RuleRef
from policyengine.engine.evaluator import Engine


@dataclass(frozen=True)
class Capabilities:
    """What a native target can express (the docs' capability table is generated from these)."""

    target: str
    keyed_hash: bool = False
    per_consumer_attributes: str = "substituted"  # each consumer gets its own objects
    purposes: str = "no purpose"  # decided with no purpose: purpose-scoped rules never apply
    time_windows: str = "at plan time"  # decided at the plan's instant; drift once a window turns
    row_filters: bool = True
    denied_column: str = "left out of the view (selecting it is an error)"
    unsupported_strategies: frozenset[str] = frozenset()


POSTGRES = Capabilities(
    "postgres",
    keyed_hash=True,  # HMAC-SHA-256 from sha256() and pads in an owner-only table (needs a key)
    per_consumer_attributes="mapping table read by SECURITY DEFINER functions (current_user as "
                            "argument): no attribute value in any object's text",
    denied_column="no column privilege: selecting it (or SELECT *) is a permission error",
)
# Trino's file-based access control (native/trino.py): a mask is part of the query plan EXPLAIN
# prints, so no keyed hash (its key would be shown); one rule per consumer's Trino users
TRINO = Capabilities(
    "trino", keyed_hash=False,
    per_consumer_attributes="substituted (one rule per consumer, matched by its Trino user names)",
    denied_column="`allow: false` (hidden with hide-inaccessible-columns; selecting it is an error)",
    unsupported_strategies=frozenset({"hash"}))
TARGETS: Mapping[str, Capabilities] = {"postgres": POSTGRES, "trino": TRINO}


@dataclass(frozen=True)
class ColumnPlan:
    """One readable column: kept as is (`allow`) or computed by a mask strategy."""

    name: str
    effect: str  # "allow" or "mask"
    strategy: str | None = None
    args: tuple[tuple[str, Any], ...] = ()
    rule: str = ""  # the deciding rule, file:line:col


@dataclass(frozen=True)
class TablePlan:
    """What one consumer's native object on one product computes."""

    product: str
    consumer: str
    columns: tuple[ColumnPlan, ...]
    denied: tuple[str, ...]
    row_filter: str | None  # the predicate's canonical text (None: every row)
    types: tuple[tuple[str, str], ...]  # column -> the catalog's logical type
    decision: Decision = field(compare=False, repr=False)


@dataclass(frozen=True)
class Refusal:
    """A (product, consumer) the target cannot serve faithfully: no object is made for it."""

    product: str
    consumer: str
    where: str  # file:line:col of the rule
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.consumer} on {self.product}: {self.reason}"


@dataclass(frozen=True)
class NativePlan:
    """The whole policy set compiled for one target."""

    target: str
    at: dt.datetime
    tables: tuple[TablePlan, ...]
    refusals: tuple[Refusal, ...]
    notes: tuple[str, ...]
    policy_version: str = ""


def rule_locations(engine: Engine) -> dict[tuple[str, str, int], str]:
    """(name, file, line) of every rule -> its file:line:col."""
    return {(r.rule.name, r.rule.span.file, r.rule.span.line): str(r.rule.span) for r in engine.check_result.rules}


def _where(ref: RuleRef | None, locations: Mapping[tuple[str, str, int], str]) -> str:
    if ref is None:
        return "<default deny>"
    return locations.get((ref.name, ref.file, ref.line), f"{ref.file}:{ref.line}:1")


def compile_table(decision: Decision, caps: Capabilities, locations: Mapping[tuple[str, str, int], str],
                  types: Mapping[str, str] | None = None) -> TablePlan | Refusal | None:
    """One decision folded for `caps`: a table plan, a refusal, or None (the consumer reads nothing)."""
    if decision.error:
        return Refusal(decision.product, decision.consumer, "<evaluation>",
                       "the decision is an error (everything denied)")
    if not decision.readable_columns:
        return None
    columns: list[ColumnPlan] = []
    for name, cd in decision.columns.items():
        if cd.effect == "deny":
            continue
        where = _where(cd.rule, locations)
        if cd.effect == "mask":
            if cd.strategy in caps.unsupported_strategies:
                return Refusal(decision.product, decision.consumer, where,
                               f"column '{name}': mask '{cd.strategy}' has no faithful form in {caps.target} "
                               "(docs/native.md): no native object is made; nearest safe choice: deny the "
                               "column, or mask it with redact or null for this consumer")
            if cd.strategy == "hash" and not caps.keyed_hash:
                return Refusal(decision.product, decision.consumer, where,
                               f"column '{name}' is masked with keyed hash and no HMAC key is configured "
                               "(hash_key_env): no native object is made; nearest safe choice: set the "
                               "key, or deny the column or mask it with redact/null for this consumer")
        columns.append(ColumnPlan(name, cd.effect, cd.strategy, tuple(cd.args.items()), where))
    return TablePlan(decision.product, decision.consumer, tuple(columns), decision.denied_columns,
                     decision.row_filter_text, tuple((types or {}).items()), decision)


def _notes(engine: Engine, at: dt.datetime, locations: Mapping[tuple[str, str, int], str]) -> tuple[str, ...]:
    notes = [f"decided at {at.isoformat()} with no purpose: native objects cannot see a query's purpose"]
    for rule in engine.rules:
        where = _where(rule.ref, locations)
        if rule.purposes:
            notes.append(f"{where}: rule '{rule.ref.name}' applies only for purpose "
                         f"{', '.join(sorted(rule.purposes))}: never in native objects")
        bounds = [f"{label} {when.isoformat()}" for label, when in (("from", rule.valid_from),
                                                                   ("until", rule.valid_until)) if when]
        if bounds:
            notes.append(f"{where}: rule '{rule.ref.name}' has a time window ({', '.join(bounds)}): "
                         "compiled as at the plan's instant; plan --check reports drift once it turns")
    return tuple(notes)


def compile_plan(engine: Engine, target: str = "postgres", *, at: dt.datetime | None = None,
                 consumers: list[str] | None = None, products: list[str] | None = None,
                 keyed_hash: bool = False) -> NativePlan:
    """Every consumer (of the consumers file) x product (of the catalog), compiled for `target`.

    Decisions are taken with no purpose at `at` (default: now, UTC). `keyed_hash`: whether a
    key is configured; `hash` is refused without one or on a target that cannot keep it from
    consumers."""
    caps = TARGETS.get(target)
    if caps is None:
        raise ValueError(f"unknown native target {target!r} (known: {', '.join(TARGETS)})")
    caps = replace(caps, keyed_hash=caps.keyed_hash and keyed_hash)
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    locations = rule_locations(engine)
    tables: list[TablePlan] = []
    refusals: list[Refusal] = []
    # default deny: a pair no allow rule can apply to (subject, and no purpose) reads nothing, so
    # it is not evaluated (the only shortcut; evaluate() decides every other pair)
    allows = {p: [r for r in rules.rules if r.kind == "allow" and not r.purposes]
              for p, rules in engine.compiled.products.items()}
    for consumer in sorted(consumers if consumers is not None else engine.consumers):
        who = engine.consumers.get(consumer)
        for product in sorted(products if products is not None else engine.catalog.products):
            if who is not None and product in allows and not any(
                    r.matches_subject(who.id, who.groups) for r in allows[product]):
                continue
            known = engine.catalog.products.get(product)
            types = {c.name: c.logical_type for c in known.columns} if known is not None else {}
            compiled = compile_table(engine.evaluate(consumer, product, at=when), caps, locations,
                                     types)
            if isinstance(compiled, TablePlan):
                tables.append(compiled)
            elif isinstance(compiled, Refusal):
                refusals.append(compiled)
    return NativePlan(target, when, tuple(tables), tuple(refusals), _notes(engine, when, locations),
                      engine.policy_version)
