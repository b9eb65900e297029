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
from policyengine.language import ast


@dataclass(frozen=True)
class Capabilities:
    """What a native target can express: a plain data row per target. docs/native.md's capability
    table is generated from `TARGETS` (`policyengine capabilities`; tests/native check the docs),
    and `compile_table` refuses, per rule, what a row says the target cannot express faithfully.

    Text fields say how the target expresses a feature (shown as they are in the table);
    `unsupported_strategies` and `unsupported_on_types` are refused; `strategy_notes` says why
    and names the nearest safe choice; `type_preserving_masks`: the engine's mask must return the
    column's own type (a mask giving text on a number column is refused there)."""

    target: str
    keyed_hash: bool = False
    per_consumer_attributes: str = "substituted"  # each consumer gets its own objects
    purposes: str = "no purpose"  # decided with no purpose: purpose-scoped rules never apply
    time_windows: str = "at plan time"  # decided at the plan's instant; drift once a window turns
    row_filters: bool = True
    denied_column: str = "left out of the view (selecting it is an error)"
    unsupported_strategies: frozenset[str] = frozenset()
    status: str = "applied and proven live"
    groups: str = "decided per consumer by our evaluator"
    tags: str = "decided by our evaluator (tags select the rules at compile time)"
    keyed_hash_how: str = ""
    row_filter_how: str = ""
    denied_reads: str = "error"  # what reading a denied column gives: "error" or "null"
    type_preserving_masks: bool = False
    # one object per table filters rows on columns every reader must read as they are (Snowflake:
    # a column cannot be in a row access policy's and a masking policy's signature at once)
    filter_columns_unmasked: bool = False
    unsupported_on_types: tuple[tuple[str, str], ...] = ()  # (strategy, logical type)
    strategy_notes: tuple[tuple[str, str], ...] = ()  # (strategy, why refused; nearest safe choice)

    def strategy_support(self, strategy: str) -> str:
        """`yes`, `no (why)` or `yes, not on <types>` for one mask strategy (the table's cell)."""
        notes = dict(self.strategy_notes)
        if strategy in self.unsupported_strategies:
            return "no" + (f": {notes[strategy]}" if strategy in notes else "")
        types = sorted({t.removesuffix("tz") for s, t in self.unsupported_on_types if s == strategy})
        if types:
            return f"yes, not on {', '.join(types)}" + (f": {notes[strategy]}" if strategy in notes else "")
        if self.type_preserving_masks and strategy not in TYPE_PRESERVING:
            return "yes, on text columns (the mask must return the column's type)"
        return "yes"


# strategies whose result has the column's own type whatever it is; every other one gives text
# (the same type only on a string column)
TYPE_PRESERVING = frozenset({"null", "year", "month", "round", "fixed_value"})
_SAFE = "nearest safe choice: mask it with null, or deny the column"
POSTGRES = Capabilities(
    "postgres", keyed_hash=False,  # a key is configured per plan (compile_plan's keyed_hash)
    keyed_hash_how="HMAC-SHA-256 from sha256() and pads in an owner-only table the views read",
    per_consumer_attributes="mapping table read by SECURITY DEFINER functions (current_user as "
                            "argument): no attribute value in any object's text",
    denied_column="no column privilege: selecting it (or SELECT *) is a permission error",
    row_filter_how="forced row-level security on the base table, one restrictive policy per class, "
                   "its literals read through param()")
# Trino's file-based access control (native/trino.py): a mask is part of the query plan EXPLAIN
# prints, so no keyed hash (its key would be shown); one rule per consumer's Trino users
TRINO = Capabilities(
    "trino", keyed_hash=False, status="applied and proven live (Trino 476, file-based access control)",
    per_consumer_attributes="substituted (one rule per consumer, matched by its Trino user names)",
    groups="decided per consumer by our evaluator; Trino's own groups are not consulted",
    keyed_hash_how="refused: a mask is part of the plan EXPLAIN prints (the key would be shown)",
    row_filter_how="the rule's filter, repeated in each consumer's rule (first match)",
    denied_column="`allow: false` (hidden with hide-inaccessible-columns; selecting it is an error)",
    unsupported_strategies=frozenset({"hash"}),
    strategy_notes=(("hash", "EXPLAIN prints a mask with its constants, so a key would be shown; nearest safe "
                             "choice: deny the column, or mask it with redact or null for this consumer"),))
SNOWFLAKE = Capabilities(
    "snowflake", filter_columns_unmasked=True, keyed_hash=False, status="rendered, not executed",
    per_consumer_attributes="substituted per consumer class; which class a role is in: mapping tables "
                            "whose rows apply.sql writes (never a session variable), read with the policy "
                            "owner's rights",
    groups="decided per consumer by our evaluator; a session's consumer: the one mapped role "
           "IS_ROLE_IN_SESSION finds (none or several: no class, default deny)",
    tags="decided by our evaluator; not tag-based masking (one policy per tag and type cannot hold "
         "per-product classes)",
    keyed_hash_how="HMAC-SHA-256 from SHA2 and pads in an owner-only table the policy reads with "
                   "its owner's rights",
    row_filter_how="one row access policy per table, per class its predicate",
    denied_column="projection policy (selecting it fails) + masking policy NULL (WHERE sees no value)",
    denied_reads="error",
    type_preserving_masks=True,
    strategy_notes=(("hash", "keyed only: the key's pads live in a table only the policy owner reads"),))
DATABRICKS = Capabilities(
    "databricks", filter_columns_unmasked=True, keyed_hash=False, status="rendered, not executed (mask bodies run on Spark here)",
    per_consumer_attributes="substituted per consumer class; which class an account group is in: "
                            "mapping tables whose rows apply.sql writes (never a session variable)",
    groups="decided per consumer by our evaluator; a session's consumer: the one mapped account "
           "group is_account_group_member finds (none or several: default deny)",
    tags="decided by our evaluator; not ABAC policies (one governed-tag policy cannot hold "
         "per-product classes)",
    keyed_hash_how="refused: no key store a mask function reads that its callers cannot",
    row_filter_how="one row filter function per table, per class its predicate",
    denied_column="column mask returns NULL (the column stays selectable)",
    denied_reads="null",
    type_preserving_masks=True,
    unsupported_strategies=frozenset({"hash"}),
    strategy_notes=(("hash", "a key in a function body is printed back by DESCRIBE FUNCTION; " + _SAFE),))
BIGQUERY = Capabilities(
    "bigquery", filter_columns_unmasked=True, keyed_hash=False, status="rendered, not executed",
    per_consumer_attributes="substituted per consumer class; one row access policy per class, "
                            "granted to the class's principals",
    groups="decided per consumer by our evaluator; each consumer one principal, in exactly one "
           "policy per table",
    tags="policy tags carry the masks (one per product column), not our tags",
    keyed_hash_how="refused: the predefined SHA256 has no key",
    row_filter_how="one row access policy per class (a principal in exactly one: no union)",
    denied_column="no fine-grained or masked reader role: reading it is an access error",
    denied_reads="error",
    unsupported_strategies=frozenset({"hash", "redact", "partial", "last4", "first4", "email_domain", "round",
                                      "mask_alphanum", "show_first4", "show_last4", "month", "fixed_value"}),
    unsupported_on_types=(("year", "timestamp"), ("year", "timestamptz")),
    strategy_notes=(
        ("hash", "the predefined SHA256 is unkeyed; " + _SAFE),
        ("year", "DATE_YEAR_MASK truncates timestamps in the session's @@time_zone; " + _SAFE),
        ("email_domain", "EMAIL_MASK writes XXXXX@domain, not ***@domain; " + _SAFE),
        ("show_last4", "LAST_FOUR_CHARACTERS writes XXXXX and hashes short values; " + _SAFE),
        ("show_first4", "FIRST_FOUR_CHARACTERS writes XXXXX and hashes short values; " + _SAFE),
        ("fixed_value", "DEFAULT_MASKING_VALUE gives '' for text, not XXXXXXXX; " + _SAFE),
        *((s, "no predefined expression computes it; " + _SAFE) for s in (
            "redact", "partial", "last4", "first4", "round", "mask_alphanum", "month"))))
TARGETS: Mapping[str, Capabilities] = {"postgres": POSTGRES, "trino": TRINO, "snowflake": SNOWFLAKE,
                                       "databricks": DATABRICKS, "bigquery": BIGQUERY}


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


def strategy_refusal(caps: Capabilities, strategy: str | None, logical_type: str | None) -> str | None:
    """Why `caps.target` cannot compute mask `strategy` on a column of `logical_type` faithfully
    (None: it can), naming the nearest safe choice."""
    notes = dict(caps.strategy_notes)
    safe = notes.get(strategy or "", _SAFE)
    if strategy in caps.unsupported_strategies or (strategy, logical_type) in caps.unsupported_on_types:
        return f"mask '{strategy}' has no faithful form in {caps.target}" + (
            f" on {logical_type}" if (strategy, logical_type) in caps.unsupported_on_types else "") + f": {safe}"
    if caps.type_preserving_masks and strategy not in TYPE_PRESERVING and logical_type != "string":
        return (f"mask '{strategy}' gives text on a {logical_type or 'untyped'} column and {caps.target} masks "
                f"must return the column's type: {_SAFE}")
    return None


def column_refusals(decision: Decision, caps: Capabilities, locations: Mapping[tuple[str, str, int], str],
                    types: Mapping[str, str] | None = None) -> list[Refusal]:
    """Every masked column of `decision` that `caps` cannot compute faithfully, at its rule."""
    out: list[Refusal] = []
    for name, cd in decision.columns.items():
        if cd.effect != "mask":
            continue
        where = _where(cd.rule, locations)
        why = strategy_refusal(caps, cd.strategy, (types or {}).get(name))
        if why is not None:
            out.append(Refusal(decision.product, decision.consumer, where, f"column '{name}': {why}"))
        elif cd.strategy == "hash" and not caps.keyed_hash:
            out.append(Refusal(decision.product, decision.consumer, where,
                               f"column '{name}' is masked with keyed hash and no HMAC key is configured "
                               "(hash_key_env): no native object is made; nearest safe choice: set the "
                               "key, or deny the column or mask it with redact/null for this consumer"))
    return out


def compile_table(decision: Decision, caps: Capabilities, locations: Mapping[tuple[str, str, int], str],
                  types: Mapping[str, str] | None = None) -> TablePlan | Refusal | None:
    """One decision folded for `caps`: a table plan, a refusal (the first column refused; see
    `column_refusals` for all), or None (the consumer reads nothing)."""
    if decision.error:
        return Refusal(decision.product, decision.consumer, "<evaluation>",
                       "the decision is an error (everything denied)")
    if not decision.readable_columns:
        return None
    refused = column_refusals(decision, caps, locations, types)
    if refused:
        return refused[0]
    columns = [ColumnPlan(name, cd.effect, cd.strategy, tuple(cd.args.items()), _where(cd.rule, locations))
               for name, cd in decision.columns.items() if cd.effect != "deny"]
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
    caps = replace(caps, keyed_hash=caps.keyed_hash or keyed_hash)  # a target that cannot hold a key refuses `hash` (unsupported_strategies)
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
            decision = engine.evaluate(consumer, product, at=when)
            compiled = compile_table(decision, caps, locations, types)
            if isinstance(compiled, TablePlan):
                tables.append(compiled)
            elif isinstance(compiled, Refusal):  # every refused column, each at its rule
                refusals.extend(column_refusals(decision, caps, locations, types) or [compiled])
    if caps.filter_columns_unmasked:
        tables, more = _filtered_columns_unmasked(tables, caps, locations)
        refusals += more
    return NativePlan(target, when, tuple(tables), tuple(refusals), _notes(engine, when, locations),
                      engine.policy_version)


def filter_columns_of(decision: Decision) -> frozenset[str]:
    """The columns `decision`'s row filter reads."""
    if decision.row_filter is None:
        return frozenset()
    return frozenset(n.name for n in ast.walk(decision.row_filter) if isinstance(n, ast.ColumnRef))


def _filtered_columns_unmasked(tables: list[TablePlan], caps: Capabilities,
                               locations: Mapping[tuple[str, str, int], str]) -> tuple[list[TablePlan], list[Refusal]]:
    """Refuse each pair that masks or may not read a column some reader of the same product is
    filtered on: the target's one row object reads that column as it is (fail closed; the
    filtered columns are taken over every pair before refusing, so nothing is un-refused)."""
    filtered: dict[str, set[str]] = {}
    for t in tables:
        filtered.setdefault(t.product, set()).update(filter_columns_of(t.decision))
    kept: list[TablePlan] = []
    refused: list[Refusal] = []
    for t in tables:
        bad = [(name, cd) for name, cd in t.decision.columns.items()
               if name in filtered.get(t.product, ()) and cd.effect != "allow"]
        if not bad:
            kept.append(t)
            continue
        for name, cd in bad:
            refused.append(Refusal(
                t.product, t.consumer, _where(cd.rule, locations),
                f"column '{name}' is {'masked' if cd.effect == 'mask' else 'denied'} for this consumer but rows "
                f"of {t.product} are filtered on it: {caps.target}'s one row policy per table reads it as it is "
                "(Snowflake: a column cannot be in a row access and a masking policy signature at once); "
                "nearest safe choice: let every reader of the product read the column, or filter on another"))
    return kept, refused


def refusal_messages(plan: NativePlan) -> list[tuple[str, str]]:
    """The plan's refusals as (file:line:col, message), one per rule, product and reason (the
    consumers it concerns listed): what `check --target` reports as errors."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for r in plan.refusals:
        grouped.setdefault((r.where, r.product, r.reason), []).append(r.consumer)
    return [(where, f"target {plan.target}: {product}: {reason} (refused for {', '.join(sorted(who))})")
            for (where, product, reason), who in sorted(grouped.items())]


CAPABILITY_ROWS: tuple[tuple[str, str], ...] = (
    ("status", "status"), ("groups, users, `except`", "groups"),
    ("consumer attributes", "per_consumer_attributes"), ("purposes", "purposes"),
    ("time windows", "time_windows"), ("tags", "tags"), ("keyed `hash`", "keyed_hash_how"),
    ("row filters", "row_filter_how"), ("a denied column", "denied_column"),
    ("reading a denied column", "denied_reads"), ("masks return the column's type", "type_preserving_masks"),
    ("a filtered column must be read as it is by every reader", "filter_columns_unmasked"))


def capability_table(targets: Mapping[str, Capabilities] | None = None) -> str:
    """The capability table in Markdown: one column per target, one row per feature and per mask
    strategy (docs/native.md holds this text between its markers; a test keeps them equal)."""
    from policyengine.language.masks import STRATEGIES

    rows = dict(targets or TARGETS)
    names = list(rows)

    def cell(value: object) -> str:
        text = ("yes" if value else "no") if isinstance(value, bool) else str(value or "-")
        return text.replace("|", "\\|")

    out = ["| feature | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]
    for label, attr in CAPABILITY_ROWS:
        out.append(f"| {label} | " + " | ".join(cell(getattr(rows[n], attr)) for n in names) + " |")
    for strategy in STRATEGIES:
        out.append(f"| mask `{strategy}` | " + " | ".join(cell(rows[n].strategy_support(strategy)) for n in names)
                   + " |")
    return "\n".join(out) + "\n"
