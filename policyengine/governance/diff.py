"""`policyengine diff`: the access matrix of two policy versions, grouped by the change that causes it.

The matrix is consumers × products × columns × purposes × instants → (effect, mask, row filter),
computed on request classes no rule of either version can tell apart (`matrix.changed_cells`), so
it is exhaustive. Products whose rules and contract are the same in both versions are skipped
without evaluating: their cells cannot differ (`product_fingerprint` holds everything a decision
on the product depends on). Each changed cell is attributed to the rule changes among the rules
that applied to it in either version (an added, removed or modified rule), else to the contract
change of its product (a tag changed). Rules are matched across versions by `@id` when they have
one, else by file and content (a rule moved within its file, or to another file unchanged, is no
change); an unmatched base and head rule of the same file, kind and target are one modified rule.
A product renamed in its contract file is compared under its two names
(`contract_diff.renamed_products`), and each consumer the consumers file adds or changes is
evaluated as before and after under the head's policies (`consumer_diff`), its cells grouped
under that consumer change.

A loosening (a cell more visible: deny → mask or allow, a weaker mask, a row filter removed) and
a change that is not ordered (two incomparable masks, another row filter: it may widen) need an
approval: the changed rule in the head carries `@approved("GOV-123")`, or, for a contract cause,
the column or product records `policyengine-approved` in its ODCS `customProperties`; for a
consumer change, the head's entry carries `approved: GOV-123`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policyengine.diagnostics import path_below
from policyengine.engine.decision import RuleRef
from policyengine.governance.approvals import ApprovalCheck
from policyengine.governance.classes import rule_asts
from policyengine.governance.consumer_diff import consumer_cells, consumer_changes, read_directory
from policyengine.governance.contract_diff import (
    ContractChange,
    contract_changes,
    renamed_changes,
    renamed_products,
)
from policyengine.governance.matrix import CellChange, changed_cells
from policyengine.governance.revision import attribute_approvals, attribute_changes
from policyengine.language import ast
from policyengine.language.formatter import format_rule

if TYPE_CHECKING:
    from policyengine.catalog.contracts import Product
    from policyengine.engine.evaluator import Engine

NEEDS_APPROVAL = frozenset({"looser", "changed"})


# ---------------------------------------------------------------- rule identity and changes


@dataclass(frozen=True)
class RuleSide:
    """One rule as one version writes it."""

    ref: RuleRef
    path: str  # the policy file relative to the version's project root
    text: str  # the rule canonically formatted, annotations left out
    ident: str | None  # its @id
    approved: str | None  # its @approved
    named: str | None = None  # its @name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.ref.name, "file": self.path, "line": self.ref.line, "rule": self.text,
                "approved": self.approved}


@dataclass(frozen=True)
class RuleChange:
    """A rule added, removed or modified between the base and the head."""

    kind: str  # added | removed | modified
    base: RuleSide | None
    head: RuleSide | None

    @property
    def key(self) -> str:
        side = self.head or self.base
        assert side is not None
        return f"rule {self.kind}: {side.ref.name} ({side.path}:{side.ref.line})"

    @property
    def approved(self) -> str | None:
        """The head's `@approved`, when it is new: a modified rule still carrying the base's
        approval was approved for an earlier change, not this one. (A removed rule has no head to
        carry one.)"""
        if self.head is None or self.head.approved is None:
            return None
        if self.base is not None and self.base.approved == self.head.approved:
            return None
        return self.head.approved

    @property
    def location(self) -> tuple[str, int]:
        side = self.head or self.base
        assert side is not None
        return side.path, side.ref.line

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "base": self.base.to_dict() if self.base else None,
                "head": self.head.to_dict() if self.head else None, "approved": self.approved}


def relative_to(root: Path | None, file: str) -> str:
    """`file` relative to `root` (forward slashes) when it lies below it, else as given."""
    return path_below(root, file)


def _annotation(rule: ast.Rule, key: str) -> str | None:
    return next((a.value.strip() for a in rule.annotations if a.key == key and a.value.strip()), None)


def rule_sides(engine: Engine, root: Path | None) -> list[RuleSide]:
    """Every rule of `engine` as a RuleSide, in (file, line) order."""
    out = []
    for checked in engine.check_result.rules:
        r = checked.rule
        text = format_rule(dataclasses.replace(r, annotations=()))
        out.append(RuleSide(RuleRef.of(r), relative_to(root, r.span.file), text, _annotation(r, "id"),
                            _annotation(r, "approved"), r.explicit_name))
    return out


def _target(text: str) -> str:
    """The rule's head up to its subjects (`mask shop.orders.email`, `allow read sales.*`)."""
    words = text.split(" to ", 1)[0].split(" using ", 1)[0].split(" rows where ", 1)[0]
    return words


def rule_changes(base: Sequence[RuleSide], head: Sequence[RuleSide]) -> list[RuleChange]:
    """Rules added, removed and modified: matched by `@id`, then by file and content, then by
    content alone (moved to another file); then an unmatched pair with one `@name`, or (unnamed)
    of one file, kind and target (in order), is one modified rule."""
    out: list[RuleChange] = []
    left, right = list(base), list(head)
    # by @id (unique in a checked version; should one repeat, each head rule is matched at most
    # once and every unmatched one stays to be matched or reported as added)
    by_id: dict[str, list[RuleSide]] = {}
    for s in right:
        if s.ident:
            by_id.setdefault(s.ident, []).append(s)
    rest: list[RuleSide] = []
    matched: set[int] = set()
    for s in left:
        candidates = by_id.get(s.ident) if s.ident else None
        other = candidates.pop(0) if candidates else None
        if other is None:
            rest.append(s)
            continue
        matched.add(id(other))
        if other.text != s.text:
            out.append(RuleChange("modified", s, other))
    right = [s for s in right if id(s) not in matched]
    left = rest
    for key in (lambda s: (s.path, s.text), lambda s: s.text):
        pool: dict[Any, list[RuleSide]] = {}
        for s in right:
            pool.setdefault(key(s), []).append(s)
        unmatched = []
        for s in left:
            found = pool.get(key(s))
            if found:
                right.remove(found.pop(0))
            else:
                unmatched.append(s)
        left = unmatched
    pairs: dict[tuple[str, str], list[RuleSide]] = {}
    for s in right:
        pairs.setdefault(("name", s.named) if s.named else (s.path, _target(s.text)), []).append(s)
    for s in left:
        found = pairs.get(("name", s.named)) if s.named else None
        found = found or pairs.get((s.path, _target(s.text)))
        if found:
            other = found.pop(0)
            right.remove(other)
            out.append(RuleChange("modified", s, other))
        else:
            out.append(RuleChange("removed", s, None))
    out.extend(RuleChange("added", None, s) for s in right)
    return sorted(out, key=lambda c: c.location)


# ---------------------------------------------------------------- what can change a product's cells


def product_fingerprint(engine: Engine, product: str, asts: Mapping[int, ast.Rule] | None = None) -> tuple:
    """Everything a decision on `product` depends on, rule positions and names left out: its
    columns (type, tags) and, for each rule covering it, the subjects, purposes, window,
    condition, the columns covered, the mask or row filter. Equal fingerprints: equal cells.
    `asts`: `classes.rule_asts(engine)` when the caller has it."""
    p = engine.catalog.products[product]
    cols = tuple((c.name, c.logical_type, tuple(sorted(c.tags))) for c in p.columns)
    asts = rule_asts(engine) if asts is None else asts
    compiled = engine.compiled.products.get(product)
    rules = () if compiled is None else (*compiled.rules, *compiled.filters)
    return cols, tuple(sorted((  # order only changes which rule a decision cites, never its outcome
        (r.kind, r.everyone, tuple(sorted(r.users)), tuple(sorted(r.groups)), tuple(sorted(r.except_users)),
         tuple(sorted(r.except_groups)), tuple(sorted(r.purposes)), r.valid_from, r.valid_until,
         str(asts[r.index].condition) if r.index in asts and asts[r.index].condition is not None else None,
         r.columns.get(product, ()), str(r.mask) if r.mask else None, str(r.row_filter) if r.row_filter else None)
        for r in rules), key=repr))


def changed_products(base: Engine, head: Engine) -> list[str]:
    """Products in both versions whose fingerprints differ (the only ones whose cells can)."""
    both = sorted(set(base.catalog.products) & set(head.catalog.products))
    base_asts, head_asts = rule_asts(base), rule_asts(head)
    return [p for p in both if product_fingerprint(base, p, base_asts) != product_fingerprint(head, p, head_asts)]


# ---------------------------------------------------------------- grouped cells


@dataclass(frozen=True)
class Cause:
    """What a cell change is attributed to: a rule change, or a product's contract change."""

    key: str
    kind: str  # rule | contract | consumer | unattributed
    file: str | None
    line: int | None
    approved: str | None
    rule: RuleChange | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.key, "kind": self.kind, "file": self.file, "line": self.line,
                "approved": self.approved, "rule_change": self.rule.to_dict() if self.rule else None}


@dataclass(frozen=True)
class Group:
    """The changed cells one set of causes explains."""

    causes: tuple[Cause, ...]
    cells: tuple[CellChange, ...]

    @property
    def label(self) -> str:
        return "; ".join(c.key for c in self.causes)

    @property
    def approved(self) -> str | None:
        """The group's cells are approved when every cause is: one approved change beside an
        unapproved one (a guardrail removed next to an approved grant) approves nothing."""
        if not self.causes or any(c.approved is None for c in self.causes):
            return None
        return ", ".join(dict.fromkeys(c.approved for c in self.causes if c.approved))

    @property
    def loosened(self) -> tuple[CellChange, ...]:
        return tuple(c for c in self.cells if c.direction in NEEDS_APPROVAL)

    @property
    def location(self) -> tuple[str | None, int | None]:
        first = self.causes[0]
        return first.file, first.line

    def summary(self) -> list[tuple[str, str, str, str, int]]:
        """(cell, direction, before, after, classes) per distinct cell outcome, in order."""
        out: dict[tuple[str, str, str, str], int] = {}
        for c in self.cells:
            cell = f"{c.product}.{c.column}" if c.column else f"{c.product} (rows)"
            k = (cell, c.direction, c.before, c.after)
            out[k] = out.get(k, 0) + 1
        return [(*k, n) for k, n in out.items()]

    def to_dict(self) -> dict[str, Any]:
        return {"causes": [c.to_dict() for c in self.causes], "approved": self.approved,
                "loosened": len(self.loosened), "cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True)
class DiffReport:
    """The whole diff: rule changes, contract changes, and changed cells grouped by cause."""

    base_label: str
    head_label: str
    rule_changes: tuple[RuleChange, ...]
    contract_changes: tuple[ContractChange, ...]
    groups: tuple[Group, ...]
    products_compared: int
    products_evaluated: int
    seconds: float
    notes: tuple[str, ...] = field(default=())

    @property
    def cells(self) -> tuple[CellChange, ...]:
        return tuple(c for g in self.groups for c in g.cells)

    @property
    def unapproved(self) -> tuple[Group, ...]:
        """Groups with a loosening no cause approves."""
        return tuple(g for g in self.groups if g.loosened and not g.approved)

    @property
    def breaking(self) -> tuple[ContractChange, ...]:
        """Privacy-breaking contract changes without an approval."""
        return tuple(c for c in self.contract_changes if not c.approved)

    def exit_code(self) -> int:
        return 1 if self.unapproved or self.breaking else 0

    def counts(self) -> dict[str, int]:
        cells = self.cells
        return {"looser": sum(c.direction == "looser" for c in cells),
                "tighter": sum(c.direction == "tighter" for c in cells),
                "changed": sum(c.direction == "changed" for c in cells),
                "unapproved_loosenings": sum(len(g.loosened) for g in self.unapproved),
                "rule_changes": len(self.rule_changes), "contract_changes": len(self.contract_changes),
                "unapproved_contract_changes": len(self.breaking)}

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base_label, "head": self.head_label, "summary": {
                    **self.counts(), "products_compared": self.products_compared,
                    "products_evaluated": self.products_evaluated, "seconds": round(self.seconds, 3)},
                "rule_changes": [c.to_dict() for c in self.rule_changes],
                "contract_changes": [c.to_dict() for c in self.contract_changes],
                "groups": [g.to_dict() for g in self.groups], "notes": list(self.notes)}


def _new_approval(head: tuple[str, ...], base: tuple[str, ...]) -> str | None:
    """The first approval the head records that the base did not (an old one approved an older change)."""
    return next((a for a in head if a not in base), None)


def _causes(cell: CellChange, base_rules: Iterable[RuleRef], head_rules: Iterable[RuleRef],
            base_index: Mapping[tuple[str, int], RuleChange], head_index: Mapping[tuple[str, int], RuleChange],
            base: Engine | _Renamed, head: Engine, head_root: Path | None) -> tuple[Cause, ...]:
    """Every cause of a cell change: the changed rules among those applied to the cell in either
    version, and beside them the cell's contract change (its column's tags or type, or for the
    row filter any column of the product) — a group is approved only when every cause is, so an
    approved rule edit cannot carry an unapproved tag removal through with it. With neither, the
    change is unattributed (a rule moved unchanged to a file of another scope, a taxonomy edit):
    never approved, so a loosening fails."""
    found: dict[str, Cause] = {}
    for refs, index in ((base_rules, base_index), (head_rules, head_index)):
        for ref in refs:
            change = index.get((ref.file, ref.line))
            if change is not None and change.key not in found:
                path, line = change.location
                found[change.key] = Cause(change.key, "rule", path, line, change.approved, change)
    causes = sorted(found.values(), key=lambda c: c.key)
    contract = _contract_cause(cell, base, head, head_root, product_wide=not causes or cell.column is None)
    if contract is not None:
        causes.append(contract)
    if not causes:
        causes.append(Cause(f"unattributed change of {cell.product}", "unattributed", None, None, None))
    return tuple(causes)


def _contract_cause(cell: CellChange, base: Engine | _Renamed, head: Engine, head_root: Path | None,
                    product_wide: bool) -> Cause | None:
    """The contract change behind a cell: its column's tags or type changed; or, when
    `product_wide` (the row filter, or no changed rule applied), any column of the product."""
    product = head.catalog.products[cell.product]
    before = base.catalog.products[cell.product]
    col = product.column(cell.column) if cell.column else None
    old = before.column(cell.column) if cell.column else None
    if col is not None and old is not None and (col.tags, col.logical_type) != (old.tags, old.logical_type):
        span = col.span
        return Cause(f"contract changed: tags of {cell.product}.{cell.column}", "contract",
                     relative_to(head_root, span.file) if span else product.source, span.line if span else None,
                     _new_approval(col.approvals + product.approvals, old.approvals + before.approvals))
    if product_wide and product.columns != before.columns:
        where = relative_to(head_root, product.source) if product.source else None
        return Cause(f"contract changed: {cell.product}", "contract", where,
                     product.span.line if product.span else None,
                     _new_approval(product.approvals, before.approvals))
    return None


def diff_versions(base: Engine, head: Engine, *, base_root: Path | None = None, head_root: Path | None = None,
                  base_label: str = "base", head_label: str = "head",
                  scan: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
                  now: dt.datetime | None = None, prune: bool = True,
                  base_consumers: Path | str | None = None, head_consumers: Path | str | None = None,
                  base_attributes: Mapping[str, bytes] | None = None,
                  head_attributes: Mapping[str, bytes] | None = None, attributes_prefix: str = "",
                  approval_pattern: str | None = None) -> DiffReport:
    """Compare two loaded engines: rule changes, privacy-breaking contract changes (with `scan`,
    the head's scan tags, for new columns), and every changed cell grouped by its causes.
    A product renamed in its contract file is compared under its two names; the consumers files
    (`base_consumers`, `head_consumers`: each version's) are compared entry by entry, and each
    consumer added or changed is evaluated as in the base and as in the head under the head's
    policies (`governance.consumer_diff`).
    `base_attributes`, `head_attributes`: each version's `.gitattributes` files by path (when
    both come from git): a change is governed (`revision.attribute_changes`), reported with the
    contract changes. Every approval is judged by `approvals.ApprovalCheck` (normalised, matching
    `approval_pattern` — the base's — and not used anywhere in the base); a refused one approves
    nothing and says why in the notes. `prune` false evaluates every product (the unpruned search the
    tests compare with)."""
    started = time.perf_counter()
    base_sides, head_sides = rule_sides(base, base_root), rule_sides(head, head_root)
    changes = rule_changes(base_sides, head_sides)
    base_index = {(c.base.ref.file, c.base.ref.line): c for c in changes if c.base}
    head_index = {(c.head.ref.file, c.head.ref.line): c for c in changes if c.head}
    both = sorted(set(base.catalog.products) & set(head.catalog.products))
    products = changed_products(base, head) if prune else both
    grouped: dict[tuple[str, ...], tuple[tuple[Cause, ...], list[CellChange]]] = {}
    for item in changed_cells(base, head, products, now):
        causes = _causes(item.change, item.base_rules, item.head_rules, base_index, head_index, base, head,
                         head_root)
        key = tuple(c.key for c in causes)
        grouped.setdefault(key, (causes, []))[1].append(item.change)
    # a product renamed (or moved to another domain) in its contract: compared under its two names
    pairs = renamed_products(base, head, base_root=base_root, head_root=head_root)
    base_asts, head_asts = rule_asts(base), rule_asts(head)
    renamed = [(b, h) for b, h in pairs if not prune
               or product_fingerprint(base, b, base_asts) != product_fingerprint(head, h, head_asts)]
    was_named = {h: b for b, h in renamed}
    rename_causes = {c.product: c for c in renamed_changes(base, head, base_root=base_root, head_root=head_root)}
    for item in changed_cells(base, head, renamed, now):
        name = item.change.product
        view = _Renamed(name, base.catalog.products[was_named[name]])
        causes = _causes(item.change, item.base_rules, item.head_rules, base_index, head_index, view, head,
                         head_root)
        rename = rename_causes.get(name)
        if rename is not None and all(c.kind == "unattributed" for c in causes):
            causes = (Cause(rename.key, "contract", rename.file, rename.line, rename.approved),)
        grouped.setdefault(tuple(c.key for c in causes), (causes, []))[1].append(item.change)
    consumer_groups = _consumer_groups(base_consumers, head_consumers, head, head_root, now)
    groups = tuple(Group(causes, tuple(cells)) for causes, cells in
                   sorted(grouped.values(), key=lambda g: (g[0][0].file or "", g[0][0].line or 0, g[0][0].key)))
    contracts = contract_changes(base, head, base_root=base_root, head_root=head_root, scan=scan)
    if base_attributes is not None and head_attributes is not None:
        contracts += attribute_changes(base_attributes, head_attributes, attributes_prefix)
    check = ApprovalCheck.of(approval_pattern, _base_approvals(base_sides, base, base_consumers, base_attributes))
    notes: dict[str, None] = {}
    judged_groups = tuple(_judge_group(g, check, notes) for g in groups + consumer_groups)
    judged_contracts = tuple(_judge_contract(c, check, notes) for c in contracts)
    return DiffReport(base_label, head_label, tuple(changes), judged_contracts, judged_groups,
                      len(both) + len(pairs), len(products) + len(renamed), time.perf_counter() - started,
                      tuple(notes))


def _base_approvals(sides: Sequence[RuleSide], base: Engine, consumers: Path | str | None,
                    attributes: Mapping[str, bytes] | None) -> list[str]:
    """Every approval the base records anywhere: rules, contracts (products and columns), the
    consumers file, `.gitattributes` files."""
    used = [s.approved for s in sides if s.approved]
    for p in base.catalog.products.values():
        used += [*p.approvals, *(a for c in p.columns for a in c.approvals)]
    used += list(read_directory(consumers).approvals.values()) if consumers is not None else []
    for content in (attributes or {}).values():
        used += attribute_approvals(content.decode("utf-8", "replace"))
    return used


def _judged(approved: str | None, where: str, what: str, check: ApprovalCheck, notes: dict[str, None]) -> str | None:
    ident, why = check.judge(approved)
    if why is not None:
        notes[f"{where}: {what}: {why}"] = None
    return ident


def _judge_group(group: Group, check: ApprovalCheck, notes: dict[str, None]) -> Group:
    causes = tuple(dataclasses.replace(c, approved=_judged(c.approved, _where(c.file, c.line), c.key, check, notes))
                   for c in group.causes)
    return dataclasses.replace(group, causes=causes)


def _judge_contract(change: ContractChange, check: ApprovalCheck, notes: dict[str, None]) -> ContractChange:
    approved = _judged(change.approved, _where(change.file, change.line), change.key, check, notes)
    return dataclasses.replace(change, approved=approved)


def _where(file: str | None, line: int | None) -> str:
    return f"{file}:{line}" if file and line else file or "<unknown>"


@dataclass(frozen=True)
class _Renamed:
    """The base seen under a renamed product's head name (what `_causes` reads of the base)."""

    name: str
    product: Product

    @property
    def catalog(self) -> _RenamedCatalog:
        return _RenamedCatalog({self.name: self.product})


@dataclass(frozen=True)
class _RenamedCatalog:
    products: Mapping[str, Product]


def _consumer_groups(base_file: Path | str | None, head_file: Path | str | None, head: Engine,
                     head_root: Path | None, now: dt.datetime | None) -> tuple[Group, ...]:
    """One group per consumer added or changed in the consumers file, with its changed cells."""
    if base_file is None and head_file is None:
        return ()
    base_dir, head_dir = read_directory(base_file), read_directory(head_file)
    out = []
    for change in consumer_changes(base_dir, head_dir, head_file=head_file, head_root=head_root):
        cells = tuple(c.change for c in consumer_cells(change, head, now))
        if cells:
            cause = Cause(change.key, "consumer", change.file, change.line, change.approved)
            out.append(Group((cause,), cells))
    return tuple(out)
