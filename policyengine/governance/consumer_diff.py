"""Consumers-file changes for `policyengine diff` (issue 11 review, hole B).

The access matrix is computed on abstract request classes, so it never reads the consumers file:
giving bob the group `pii-cleared` there unmasks every PII guardrail for him without changing
one rule. This module compares the two versions' consumers files entry by entry (by id; order,
group order and attribute order are no change) and, for each consumer added or whose groups or
attributes changed, evaluates that consumer as the base lists it and as the head lists it, both
under the HEAD policies (the change under review is the consumer's, not the rules'), for every
product × column, every purpose the product's rules name plus none, and one instant per
stretch between the rules' window boundaries. A consumer new in the head is compared with no
access at all (an unknown consumer is refused). A removed consumer only loses access and is
not evaluated.

Approval: an `approved: GOV-123` key on the consumer's entry in the head, counted only when the
base entry did not already carry the same ticket (an old approval approved an older change).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from policyengine.catalog.consumers import Consumer, Directory, load_directory
from policyengine.diagnostics import path_below
from policyengine.governance.classes import (
    AttributeClass,
    SubjectClass,
    instant_classes,
    purpose_classes,
)
from policyengine.governance.matrix import (
    CellChange,
    ChangedCell,
    cell_direction,
    cell_text,
    filter_cell,
)

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

NOT_LISTED = "deny (not in the consumers file)"


@dataclass(frozen=True)
class ConsumerChange:
    """A consumer added to the consumers file, or whose groups or attributes changed."""

    kind: str  # added | changed
    id: str
    base: Consumer | None
    head: Consumer
    file: str | None  # the head's consumers file, relative to its root
    line: int | None  # the head entry's line
    approved: str | None  # the head entry's `approved:`, when the base entry did not carry it

    @property
    def key(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file and self.line else ""
        return f"consumer {self.kind}: {self.id}{where}"




def _empty() -> Directory:
    return Directory(MappingProxyType({}), None)


def read_directory(path: str | Path | None) -> Directory:
    """The consumers file at `path` (None: no file, no consumers). Raises YamlError when malformed."""
    return _empty() if path is None else load_directory(path)


def _same(a: Consumer, b: Consumer) -> bool:
    return a.groups == b.groups and dict(a.attributes) == dict(b.attributes)


def consumer_changes(base: Directory, head: Directory, *, head_file: str | Path | None = None,
                     head_root: Path | None = None) -> list[ConsumerChange]:
    """Consumers the head adds or changes (groups or attributes), in head file order."""
    file = path_below(head_root, head_file) if head_file is not None else None
    out = []
    for cid, after in head.consumers.items():
        before = base.consumers.get(cid)
        if before is not None and _same(before, after):
            continue
        approved = head.approvals.get(cid)
        if approved is not None and base.approvals.get(cid) == approved:
            approved = None
        out.append(ConsumerChange("added" if before is None else "changed", cid, before, after, file,
                                  head.lines.get(cid), approved))
    return sorted(out, key=lambda c: (c.line or 0, c.id))


def consumer_cells(change: ConsumerChange, engine: Engine, now: dt.datetime | None = None,
                   products: Mapping[str, Any] | None = None) -> Iterator[ChangedCell]:
    """Every cell of `change`'s consumer that differs between its base and head entries, both
    evaluated by `engine` (the head): columns, and the row filter with its attributes substituted
    (which is what an attribute change moves). An added consumer's base sees nothing."""
    head = change.head
    subject = SubjectClass(head.id, head.groups, True)
    attrs = AttributeClass(MappingProxyType(dict(head.attributes)), tuple(sorted(head.attributes)))
    for product in sorted(products if products is not None else engine.catalog.products):
        compiled = engine.compiled.products.get(product)
        rules = () if compiled is None else (*compiled.rules, *compiled.filters)
        columns = list(engine.catalog.products[product].column_names)
        for purpose in purpose_classes(rules):
            for interval in instant_classes(rules, now):
                after = engine.evaluate(head, product, columns, purpose.value, interval.at, use_cache=False)
                before = None if change.base is None else engine.evaluate(
                    change.base, product, columns, purpose.value, interval.at, use_cache=False)
                for col in columns:
                    cb = after.columns[col]
                    if before is None:
                        if cb.effect == "deny":
                            continue
                        yield ChangedCell(CellChange(product, col, subject, attrs, purpose, interval, "looser",
                                                     NOT_LISTED, cell_text(cb)), (), cb.applied)
                        continue
                    ca = before.columns[col]
                    d = cell_direction(ca, cb)
                    if d is not None:
                        yield ChangedCell(CellChange(product, col, subject, attrs, purpose, interval, d,
                                                     cell_text(ca), cell_text(cb)), ca.applied, cb.applied)
                if before is None:
                    continue
                fa = None if before.row_filter is None else str(before.row_filter)
                fb = None if after.row_filter is None else str(after.row_filter)
                cell = filter_cell(product, subject, attrs, purpose, interval, fa, fb, before.filter_rules,
                                   after.filter_rules)
                if cell is not None:
                    yield cell
