"""Who reads what, as people look at it: per product, a row per consumer of the consumers file
(with their groups) and per purpose the product's rules name, plus "anyone else", and per column
the engine's answer: allow, mask(strategy) or deny, and the row filter. Every cell is
`Engine.evaluate`'s own decision; nothing here re-derives what a rule does.

The hover of the language server and the HTML report both read it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policyengine.catalog.consumers import Consumer
from policyengine.engine.decision import ColumnDecision, Decision, RuleRef

if TYPE_CHECKING:
    from policyengine.engine.evaluator import Engine

ANYONE_ELSE = "anyone else"


@dataclass(frozen=True)
class Row:
    """One request shape: a consumer (with their groups) and a purpose (None: none given)."""

    consumer: Consumer
    purpose: str | None
    known: bool = True  # False: the stand-in for a consumer the consumers file does not list

    @property
    def label(self) -> str:
        who = self.consumer.id if self.known else ANYONE_ELSE
        groups = ", ".join(sorted(self.consumer.groups)) if self.consumer.groups else "no group"
        return f"{who} ({groups})" + (f" for {self.purpose}" if self.purpose else "")


@dataclass(frozen=True)
class Cell:
    """One column's outcome for one row, as text: `allow`, `mask(hash)` or `deny`."""

    effect: str
    strategy: str | None
    rule: RuleRef | None
    applied: tuple[RuleRef, ...]

    @property
    def text(self) -> str:
        return f"mask({self.strategy})" if self.effect == "mask" and self.strategy else self.effect

    @classmethod
    def of(cls, cd: ColumnDecision) -> Cell:
        return cls(cd.effect, cd.strategy, cd.rule, cd.applied)


@dataclass(frozen=True)
class Matrix:
    """A product's access matrix: `cells[i][j]` is row i's outcome on column j."""

    product: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    cells: tuple[tuple[Cell, ...], ...]
    filters: tuple[str | None, ...]  # row i's row filter as text (None: every row)
    errors: tuple[str | None, ...]  # a decision error (then every cell is deny)


def purposes_of(engine: Engine, product: str) -> tuple[str, ...]:
    """The purposes the product's rules name, sorted (a request's purpose matters only there)."""
    rules = engine.compiled.products.get(product)
    if rules is None:
        return ()
    found: set[str] = set()
    for r in (*rules.rules, *rules.filters):
        found.update(r.purposes)
    return tuple(sorted(found))


def _stand_in(taken: Iterable[str]) -> Consumer:
    """A consumer in no group whom no rule and no entry names."""
    names = set(taken)
    name = "someone-else"
    while name in names:
        name += "_"
    return Consumer(name)


def rows_for(engine: Engine, product: str) -> tuple[Row, ...]:
    """The rows of a product's matrix: every listed consumer, then anyone else, each with no
    purpose and then with every purpose the product's rules name."""
    consumers = list(engine.consumers.values())
    who = [(c, True) for c in sorted(consumers, key=lambda c: c.id)]
    who.append((_stand_in(engine.consumers), False))
    purposes: Sequence[str | None] = (None, *purposes_of(engine, product))
    return tuple(Row(c, p, known) for c, known in who for p in purposes)


def access_matrix(engine: Engine, product: str, columns: Sequence[str] | None = None,
                  at: dt.datetime | None = None, rows: Sequence[Row] | None = None) -> Matrix:
    """The product's matrix at instant `at` (default now), computed with `Engine.evaluate`."""
    known = engine.catalog.products.get(product)
    cols = tuple(columns) if columns is not None else (known.column_names if known else ())
    rows = tuple(rows) if rows is not None else rows_for(engine, product)
    cells: list[tuple[Cell, ...]] = []
    filters: list[str | None] = []
    errors: list[str | None] = []
    for row in rows:
        d: Decision = engine.evaluate(row.consumer, product, cols, row.purpose, at)
        cells.append(tuple(Cell.of(d.columns[c]) if c in d.columns else Cell("deny", None, None, ())
                           for c in cols))
        filters.append(d.row_filter_text)
        errors.append(d.error)
    return Matrix(product, cols, rows, tuple(cells), tuple(filters), tuple(errors))
