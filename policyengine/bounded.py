"""The one bounded cache type of the package: a dict that holds at most `size` entries.

Every cache that could grow with its input uses it, with one eviction policy: inserting into a
full cache first drops its oldest entries (insertion order, FIFO), 1/64 of them at once. FIFO,
not LRU, because a hit must stay a plain `dict` read: the evaluator's hit path, the gateway's
rewrite cache and serve's reply documents read it millions of times a second, and an LRU would
write on every read (and need a lock to). Evicting a batch, not one entry per insert, keeps
inserts O(1): removing entries one at a time from the front of a dict leaves deleted slots that
the next front look-up scans again.

Used by: the parser's cache of parsed files (`language.parser`), the engine's tables of shared
decision parts and its decision cache (`engine.cache`), the gateway's rewrite cache
(`enforce.gateway`) and serve's encoded reply documents (`serve.replies`).

Reads are plain dict reads (`get`, or `data` itself; thread-safe under the interpreter lock). `put` is safe against
concurrent reads; callers that insert from several threads hold their own lock around it.
"""

from __future__ import annotations

import itertools
from collections.abc import ItemsView, Iterator
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_NOTHING: tuple[()] = ()
_GONE: Any = object()


class BoundedCache(Generic[K, V]):
    """At most `size` entries (0 or less: nothing is kept) in a plain dict, `data`; `put`
    inserts, evicting the oldest 1/64 (at least one) when full. `get` is the dict's own method
    (no Python call on a hit). A hot path may hold `data` itself: a plain dict of atoms is
    untracked by the cyclic collector, which a dict subclass never is."""

    __slots__ = ("data", "get", "size")

    def __init__(self, size: int) -> None:
        self.data: dict[K, V] = {}
        self.get = self.data.get
        self.size = size

    def put(self, key: K, value: V) -> tuple[tuple[Any, Any], ...]:
        """Insert `key`; return the (key, value) pairs evicted to make room (usually none), for
        a caller that keeps something beside them (an index by serial)."""
        evicted: tuple[tuple[Any, Any], ...] = _NOTHING
        if self.size <= 0:
            return evicted
        data = self.data
        if len(data) >= self.size and key not in data:
            # list(islice(...)) runs in C: no other thread runs while it iterates
            old = list(itertools.islice(data, max(1, self.size // 64)))
            evicted = tuple((k, v) for k in old if (v := data.pop(k, _GONE)) is not _GONE)
        data[key] = value
        return evicted

    def clear(self) -> None:
        self.data.clear()

    def __len__(self) -> int:
        return len(self.data)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __getitem__(self, key: K) -> V:
        return self.data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self.data)

    def items(self) -> ItemsView[K, V]:
        return self.data.items()
