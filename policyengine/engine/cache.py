"""The engine's speed machinery: interned decision parts and a compact decision cache.

Nothing here decides: every part is computed by `semantics.py` and only shared here between
requests that would compute the same.

The decision cache holds compact entries: request key -> columns serial << 32 | filter serial,
one int the collector never tracks, or (columns serial, filter serial, window start, window end)
for a product whose rules start or end at some instant: atoms only, which the collector stops
tracking (a cache of Decision objects held ~40 tracked objects per entry, and full collections
stalled evaluations for hundreds of ms). The parts those serials name are immutable and shared by
every decision with the same outcome (`Interned`, `Parts`). Serials are process-wide and never
reused, so (columns serial, filter serial) names an outcome for as long as the process lives:
they are the `Decision.columns_key` and `row_filter_key` downstream caches key on.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from policyengine.bounded import BoundedCache
from policyengine.catalog.consumers import Consumer
from policyengine.engine.compiler import CompiledRule, ProductRules
from policyengine.engine.decision import ColumnDecision
from policyengine.engine.semantics import (
    Outcome,
    column_outcome,
    unknown_column,
)

ABSENT = object()  # an attribute the consumer lacks (a key holds None for it)
_COLLECTIONS = (list, tuple, set, frozenset, dict)
LOW = (1 << 32) - 1  # a cache entry as one int: columns serial << 32 | filter serial
_SERIALS = itertools.count(1)  # process-wide: 0 means "no part" (no row filter)

Entry = int | tuple[int, int, dt.datetime | None, dt.datetime | None]
# Where requested columns fall: the known ones in product order, per class None when all its
# columns are requested else the requested ones, the unknown ones in request order.
Layout = tuple[tuple[str, ...], tuple[tuple[str, ...] | None, ...], tuple[str, ...]]


def hashable(value: Any) -> Any:
    """An attribute value as a key part: collections as tuples/frozensets, a scalar with its type
    name (so 1, 1.0 and True stay apart). A dict raises TypeError (the request is not cached)."""
    if isinstance(value, (list, tuple)):
        return tuple(hashable(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(hashable(v) for v in value)
    if isinstance(value, dict):
        raise TypeError("unhashable attribute")
    return (type(value).__name__, value)


class Interned:
    """A bounded table of immutable decision parts, found by what determines them (`by_key`, a
    `BoundedCache`: when full, the oldest 1/64 go) and by a serial number (`by_serial`, what
    compact cache entries hold; an evicted part leaves it too, and a cache entry naming it is
    then a miss). Callers hold the cache lock to add; reads need none."""

    __slots__ = ("by_key", "by_serial")

    def __init__(self, size: int) -> None:
        self.by_key: BoundedCache[Any, tuple[int, Any]] = BoundedCache(size)
        self.by_serial: dict[int, Any] = {}

    @property
    def size(self) -> int:
        """The most parts held (the bound of `by_key`)."""
        return self.by_key.size

    @size.setter
    def size(self, size: int) -> None:
        self.by_key.size = size

    def add(self, key: Any, build: Callable[[], Any]) -> tuple[int, Any]:
        found = self.by_key.get(key)  # another thread may have added it meanwhile
        if found is not None:
            return found
        value = build()
        serial = next(_SERIALS)
        found = (serial, value)
        for _, (old, _) in self.by_key.put(key, found):
            self.by_serial.pop(old, None)
        self.by_serial[serial] = value
        return found

    def __len__(self) -> int:
        return len(self.by_key)

    def clear(self) -> None:
        self.by_key.clear()
        self.by_serial.clear()


class Parts:
    """Immutable pieces decisions share, each table bounded (FIFO): a column class's outcome by the
    rules that apply to it, a class's ColumnDecisions by outcome (one object per column however
    many decisions hold it; classes with the same columns share them across products), and how a
    requested column list maps onto a product's classes."""

    __slots__ = ("outcomes", "cells", "layouts", "size")

    def __init__(self, size: int) -> None:
        self.outcomes: BoundedCache[tuple[CompiledRule, ...], Outcome] = BoundedCache(size)
        self.cells: BoundedCache[tuple[int, int], tuple[dict[str, ColumnDecision], Outcome, tuple[str, ...]]] = \
            BoundedCache(size)
        self.layouts: BoundedCache[tuple[str, int], Layout] = BoundedCache(size)
        self.size = size

    def outcome(self, signature: tuple[CompiledRule, ...]) -> Outcome:
        found = self.outcomes.get(signature)
        if found is None:
            found = column_outcome(signature)
            self.outcomes.put(signature, found)
        return found

    def class_cells(self, members: tuple[str, ...], outcome: Outcome) -> dict[str, ColumnDecision]:
        """The decisions of a column class's `members` with `outcome`. Keyed by both identities
        (members are interned at compile time, so equal classes of different products share an
        entry); the entry holds both objects, so neither id is reused while it exists."""
        key = (id(members), id(outcome))
        found = self.cells.get(key)
        if found is None or found[1] is not outcome or found[2] is not members:
            found = ({col: _new_column(ColumnDecision, (col, *outcome)) for col in members}, outcome, members)
            self.cells.put(key, found)
        return found[0]

    def layout(self, product: str, rules: ProductRules, cols: tuple[str, ...], cols_id: int) -> Layout:
        """Where requested columns fall (see `Layout`)."""
        key = (product, cols_id)
        found = self.layouts.get(key)
        if found is None:
            wanted = set(cols)
            ordered = tuple(col for col in rules.columns if col in wanted)
            picks = tuple(None if wanted.issuperset(members) else tuple(c for c in members if c in wanted)
                          for members, _ in rules.classes)
            unknown = tuple(col for col in dict.fromkeys(cols) if col not in rules.column_set)
            found = (ordered, picks, unknown)
            self.layouts.put(key, found)
        return found

    def clear(self) -> None:
        self.outcomes.clear()
        self.cells.clear()
        self.layouts.clear()


_new_column = tuple.__new__  # ColumnDecision(*fields) without the generated __new__'s frame


def column_decisions(product: str, rules: ProductRules, cols: tuple[str, ...] | None, cols_id: int,
                     applicable: Sequence[CompiledRule], parts: Parts) -> Mapping[str, ColumnDecision]:
    """`semantics.column_outcome` for every requested column, given the rules that apply.

    The product's columns come split at compile time into classes covered by the same rules
    (ProductRules.classes, a few for any number of columns): each class's outcome is worked out
    once, from the applicable rules among those covering it, and its column decisions are shared
    parts (`Parts.class_cells`); the mapping is then filled class by class, in product order."""
    live = set(applicable)
    outcome, class_cells = parts.outcome, parts.class_cells
    cells = [class_cells(members, outcome(tuple(r for r in cover if r in live))) for members, cover in rules.classes]
    if cols is None or cols == rules.columns:
        decided: dict[str, ColumnDecision] = dict.fromkeys(rules.columns)  # type: ignore[assignment]
        for found in cells:  # every column is in exactly one class: each slot is filled, in order
            decided.update(found)
        return MappingProxyType(decided)
    ordered, picks, unknown = parts.layout(product, rules, cols, cols_id)
    decided = dict.fromkeys(ordered)  # type: ignore[assignment]
    for found, pick in zip(cells, picks, strict=True):
        if pick is None:
            decided.update(found)
        elif pick:
            decided.update({col: found[col] for col in pick})
    for col in unknown:
        decided[col] = unknown_column(col, product)
    return MappingProxyType(decided)


def window(bounds: Sequence[dt.datetime], when: dt.datetime) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The interval around `when` in which no rule of the product starts or ends."""
    i = bisect.bisect_right(bounds, when)
    return (bounds[i - 1] if i > 0 else None), (bounds[i] if i < len(bounds) else None)


class DecisionCache:
    """Compact decision entries (request key → serials of shared parts), the interned parts they
    name, and the serials of requested column lists. Thread-safe: inserts are one dict store
    each; whatever iterates (eviction, interning) holds `lock`.

    `size` bounds the entries (0: nothing is cached); `shared_size` each table of shared parts.
    `Engine.evaluate` reads `entries` itself (the hit path, without a method call); `store`
    writes them."""

    def __init__(self, size: int, shared_size: int) -> None:
        self.bounded = BoundedCache[Hashable, Entry](max(0, size))
        # the entries themselves, a plain dict of atoms: untracked by the collector (see bounded.py)
        self.entries: dict[Hashable, Entry] = self.bounded.data
        self.columns = Interned(shared_size)  # (product, columns, applicable rules) -> mapping
        self.filters = Interned(shared_size)  # (product, applicable filters, values read) -> filter
        self.parts = Parts(4 * shared_size)  # a cell per column and outcome: more of them
        # requested column tuples -> serial (see cols_id)
        self.colsets: BoundedCache[tuple[str, ...], int] = BoundedCache(shared_size)
        self._next_cols = 1
        self.lock = threading.Lock()

    @property
    def size(self) -> int:
        """The most entries held (0: nothing is cached)."""
        return self.bounded.size

    @size.setter
    def size(self, size: int) -> None:
        self.bounded.size = max(0, size)

    @property
    def shared_size(self) -> int:
        """The most requested column tuples held (the tables of parts have their own `size`)."""
        return self.colsets.size

    @shared_size.setter
    def shared_size(self, size: int) -> None:
        self.colsets.size = size

    def __len__(self) -> int:
        return len(self.entries)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.columns.clear()
            self.filters.clear()
            self.parts.clear()
            self.colsets.clear()

    def cols_id(self, cols: tuple[str, ...] | None) -> int:
        """A serial for a requested column tuple (0: all columns), never reused: keys hold it
        instead of the columns, so a miss hashes the column list once, not at every table."""
        if cols is None:
            return 0
        found = self.colsets.get(cols)
        if found is None:
            with self.lock:
                found = self.colsets.get(cols)
                if found is None:
                    found = self._next_cols
                    self._next_cols += 1
                    self.colsets.put(cols, found)
        return found

    @staticmethod
    def key(c: Consumer, product: str, rules: ProductRules, cols_id: int,
            purpose: str | None, groups: tuple[str, ...]) -> tuple | None:
        """The cache key: one flat tuple of atoms (the collector stops tracking it at its first
        collection; a nested tuple takes a collection per level, and a frozenset never leaves).
        Unambiguous: the groups are preceded by their count, then the columns' serial
        (`cols_id`); then per attribute the rules read: None when absent, one hashable tuple or
        frozenset for a collection, else its type name (a str) and its value. Not hashed here: an
        unhashable value raises TypeError at the look-up. None when a value is a dict."""
        get = c.attributes.get
        reads = rules.reads
        try:
            if not reads:
                return (c.id, product, purpose, len(groups), *groups, cols_id)
            if len(reads) == 1:  # the common case, without the list
                value = get(reads[0], ABSENT)
                if value is ABSENT:
                    return (c.id, product, purpose, len(groups), *groups, cols_id, None)
                if isinstance(value, _COLLECTIONS):
                    return (c.id, product, purpose, len(groups), *groups, cols_id, hashable(value))
                return (c.id, product, purpose, len(groups), *groups, cols_id, type(value).__name__, value)
            read: list[Any] = []
            for a in reads:
                value = get(a, ABSENT)
                if value is ABSENT:
                    read.append(None)
                elif isinstance(value, _COLLECTIONS):
                    read.append(hashable(value))
                else:
                    read += (type(value).__name__, value)
            return (c.id, product, purpose, len(groups), *groups, cols_id, *read)
        except TypeError:  # a dict value
            return None

    def store(self, key: Hashable, col_serial: int, filter_serial: int, bounds: Sequence[dt.datetime],
              when: dt.datetime) -> None:
        """Remember that `key` decides the parts with these serials (at any instant when no rule of
        the product starts or ends, else within the window around `when`)."""
        entry: Entry = (col_serial << 32 | filter_serial if not bounds and filter_serial <= LOW
                        else (col_serial, filter_serial, *window(bounds, when)))
        entries = self.entries
        if len(entries) < self.size:
            entries[key] = entry  # one dict store is atomic; evictions (which iterate) hold the lock
        else:
            with self.lock:
                self.bounded.put(key, entry)
