"""Access-matrix diff between two policy versions (a start of issue 11 items 2/3: library only).

The matrix is consumers × products × columns × purposes × instants → (effect, mask, row filter).
Both versions are evaluated on one set of request classes that no rule of *either* version can
tell apart (`classes.joint_space`, every subset of the named groups), so a cell that changes for
any consumer changes for its class. Each changed cell is classified:

- *looser*: the column becomes more visible (deny → mask or allow, a mask → a weaker one or
  allow) or a row filter goes away;
- *tighter*: the reverse;
- *changed*: different but not ordered (two masks neither of which reveals less, a different
  row filter).

Row filters are compared as written (the applicable filter rules' expressions, before consumer
attributes are substituted), so a filter that reads an attribute the consumer lacks is not yet
told apart. `governance.diff` groups the changed cells by the rule or contract change that causes
them and decides which loosenings are approved; `policyengine diff` is its command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from policyengine.engine.decision import ColumnDecision, RuleRef
from policyengine.governance.classes import (
    AttributeClass,
    Interval,
    PurposeClass,
    SubjectClass,
    joint_space,
)
from policyengine.governance.whynot import more_visible


@dataclass(frozen=True)
class CellChange:
    """One cell of the matrix that differs between the base and the head version."""

    product: str
    column: str | None  # None: the product's row filter
    subject: SubjectClass
    attributes: AttributeClass
    purpose: PurposeClass
    interval: Interval
    direction: str  # looser | tighter | changed
    before: str
    after: str

    @property
    def consumer_label(self) -> str:
        return self.subject.label + (f" with {self.attributes.label}" if self.attributes.label else "")

    def to_dict(self) -> dict[str, Any]:
        return {"product": self.product, "column": self.column, "direction": self.direction,
                "before": self.before, "after": self.after, "consumer": self.consumer_label,
                "purpose": self.purpose.value, "instants": self.interval.to_dict()}


def cell_text(cd: ColumnDecision) -> str:
    """A column cell as a report shows it: the effect (a mask with its name) and the rule."""
    rule = f" by {cd.rule.name}" if cd.rule else ""
    return (f"mask {cd.mask}" if cd.effect == "mask" else cd.effect) + rule


def cell_direction(before: ColumnDecision, after: ColumnDecision) -> str | None:
    """looser, tighter, changed (not ordered), or None when the column's outcome is the same."""
    if (before.effect, before.strategy, dict(before.args)) == (after.effect, after.strategy, dict(after.args)):
        return None
    if more_visible(after, before):
        return "looser"
    if more_visible(before, after):
        return "tighter"
    return "changed"


@dataclass(frozen=True)
class ChangedCell:
    """A changed cell with the decisions that made it: the rules each version applied to it
    (what `governance.diff` attributes the change to)."""

    change: CellChange
    base_rules: tuple[RuleRef, ...]  # the column's applicable rules (or filter rules) in the base
    head_rules: tuple[RuleRef, ...]


def filter_cell(product: str, subject: SubjectClass, attrs: AttributeClass, purpose: PurposeClass,
                interval: Interval, before: str | None, after: str | None, base_rules: tuple[RuleRef, ...],
                head_rules: tuple[RuleRef, ...]) -> ChangedCell | None:
    """The product's row-filter cell for one request class when the filter text `before` differs
    from `after` (None: no filter, all rows): looser when the filter goes away, tighter when one
    comes, else changed. The one comparison of the policy diff and the consumers diff."""
    if before == after:
        return None
    d = "looser" if after is None else "tighter" if before is None else "changed"
    return ChangedCell(CellChange(product, None, subject, attrs, purpose, interval, d,
                                  f"rows where {before}" if before else "all rows",
                                  f"rows where {after}" if after else "all rows"),
                       base_rules, head_rules)


def changed_cells(base: Any, head: Any, products: Iterable[str | tuple[str, str]] | None = None,
                  now: dt.datetime | None = None) -> Iterator[ChangedCell]:
    """Every matrix cell (per request class) whose column effect or row filter differs between
    `base` and `head`, with the rules behind it. A product is a name both versions have, or a
    (base name, head name) pair: one product renamed (its cells carry the head's name). Other
    products only one version's catalog has, and columns only one version's product has, are
    skipped (`governance.contract_diff` reports those changes)."""
    names = sorted(set(base.catalog.products) & set(head.catalog.products)) if products is None else list(products)
    for item in names:
        old, product = (item, item) if isinstance(item, str) else item
        base_columns = set(base.catalog.products[old].column_names)
        columns = [c for c in head.catalog.products[product].column_names if c in base_columns]
        space = joint_space([base, head], product, None, now=now, names=(old, product))
        base_filters = {r.ref: str(r.row_filter) for r in base.compiled.products[old].filters}
        head_filters = {r.ref: str(r.row_filter) for r in head.compiled.products[product].filters}
        for subject, attrs, consumer, purpose, interval in space.requests():
            a = base.evaluate(consumer, old, columns, purpose.value, interval.at, use_cache=False)
            b = head.evaluate(consumer, product, columns, purpose.value, interval.at, use_cache=False)
            for col in columns:
                ca, cb = a.columns[col], b.columns[col]
                d = cell_direction(ca, cb)
                if d is not None:
                    yield ChangedCell(CellChange(product, col, subject, attrs, purpose, interval, d,
                                                 cell_text(ca), cell_text(cb)), ca.applied, cb.applied)
            # row filters compared as written (before consumer attributes are substituted)
            fa = " and ".join(sorted(base_filters.get(r, "") for r in a.filter_rules)) or None
            fb = " and ".join(sorted(head_filters.get(r, "") for r in b.filter_rules)) or None
            cell = filter_cell(product, subject, attrs, purpose, interval, fa, fb, a.filter_rules, b.filter_rules)
            if cell is not None:
                yield cell


def diff_engines(base: Any, head: Any, products: Iterable[str] | None = None,
                 now: dt.datetime | None = None) -> list[CellChange]:
    """Every matrix cell (per request class) whose column effect or row filter differs between
    `base` and `head` (see `changed_cells`)."""
    return [c.change for c in changed_cells(base, head, products, now)]
