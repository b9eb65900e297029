"""The decision log: one JSON line per decision, written by a background thread.

A line holds when, who (consumer id), what (product, purpose), per column the effect, the mask
strategy's name and the deciding rule, the rules that contributed a row filter, the bundle and
policy versions, and how long the decision took. It never holds row data, sampled values,
consumer attributes (so nothing an attribute schema marks sensitive), mask arguments, keys, the
substituted row filter (which carries attribute values) or an error's text (which may quote an
input): an error is logged as `"error": true`.

`record()` costs one deque append in the caller's thread; the writer thread turns decisions into
JSON, appends them to the file, rotates it by size (`path.1` … `path.N`) and flushes on close and
at interpreter exit. When the queue is full or the disk is (an OSError on write), lines are
dropped and counted (`dropped`), never raised into an evaluation.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policyengine.engine.decision import Decision

log = logging.getLogger("policyengine")

try:  # orjson is a dependency; the stdlib encoder is the fallback
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - exercised only without orjson >= 3.10
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False,
                          default=lambda o: o.isoformat()).encode("utf-8")

_COLUMNS_CACHE = 4096  # encoded line prefixes, by the identity of a (shared, immutable) columns mapping


def log_columns(decision: Decision) -> dict[str, Any]:
    """Per column: effect, mask strategy name and deciding rule name (no arguments, no reasons)."""
    return {name: {"effect": d.effect, "strategy": d.strategy, "rule": d.rule.name if d.rule is not None else None}
            for name, d in decision.columns.items()}


def log_entry(decision: Decision, duration_s: float) -> dict[str, Any]:
    """The JSON-able line for one decision: identifiers, effects and rule names only (no values)."""
    return {
        "time": decision.at,  # a datetime: orjson writes RFC 3339 itself (4x cheaper than isoformat)
        "consumer": decision.consumer,
        "product": decision.product,
        "purpose": decision.purpose,
        "columns": log_columns(decision),
        "row_filter": decision.row_filter is not None,
        "filter_rules": [r.name for r in decision.filter_rules],
        "bundle_version": decision.bundle_version,
        "policy_version": decision.policy_version,
        "error": decision.error is not None,
        "duration_us": int(duration_s * 1e7) / 10,
    }


_OPEN: weakref.WeakSet[DecisionLog] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for dlog in list(_OPEN):
        dlog.close()


class DecisionLog:
    """A JSON Lines decision log with a background writer, size rotation and drop counting."""

    def __init__(self, path: str | Path, *, max_bytes: int = 64 * 1024 * 1024, backups: int = 5,
                 max_queue: int = 100_000, flush_interval: float = 0.2,
                 opener: Callable[[Path], Any] | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max(1024, int(max_bytes))
        self.backups = max(0, int(backups))
        self.max_queue = max(1, int(max_queue))
        self.flush_interval = flush_interval
        self.written = 0
        self.dropped = 0
        self.write_errors = 0
        self._opener = opener or (lambda p: open(p, "ab"))  # noqa: SIM115 - kept open by the writer
        self._queue: collections.deque[tuple[Decision, float]] = collections.deque()
        self._wake = threading.Event()
        self._closed = False
        self._file: Any = None
        self._size = 0
        # cached decisions share their immutable `columns` mapping: encode each once (the entry
        # keeps the mapping alive, so its id cannot be reused while cached)
        self._columns: dict[int, tuple[Any, bytes, Decision]] = {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="policyengine-decision-log", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    # ---------------------------------------------------------------- caller side

    def record(self, decision: Decision, duration_s: float) -> None:
        """Queue one decision (never raises, never blocks; a full queue drops and counts)."""
        if self._closed or len(self._queue) >= self.max_queue:
            self.dropped += 1
            return
        self._queue.append((decision, duration_s))

    def record_entry(self, entry: dict[str, Any]) -> None:
        """Queue one line already built by the caller (a JSON-able mapping of names and counts,
        never values: e.g. the summary of a Trino request in serve/trino.py); as `record()`."""
        if self._closed or len(self._queue) >= self.max_queue:
            self.dropped += 1
            return
        self._queue.append((entry, 0.0))  # type: ignore[arg-type]

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far is written (or dropped)."""
        done = threading.Event()
        self._queue.append((None, done))  # type: ignore[arg-type]
        self._wake.set()
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, close the file and stop the writer (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)
        _OPEN.discard(self)

    # ---------------------------------------------------------------- writer thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._drain()
            if self._closed:
                self._drain()
                if self._file is not None:
                    try:
                        self._file.close()
                    except OSError:
                        pass
                return

    def _drain(self) -> None:
        queue = self._queue
        chunk: list[bytes] = []
        count = 0
        while queue:
            decision, duration = queue.popleft()
            if decision is None:  # a flush marker
                self._write(chunk, count)
                chunk, count = [], 0
                duration.set()
                continue
            try:
                chunk.append(_dumps(decision) + b"\n" if decision.__class__ is dict else self._line(decision, duration))
                count += 1
            except Exception:  # an unserialisable decision is dropped, not fatal
                self.dropped += 1
            if count >= 1000:
                self._write(chunk, count)
                chunk, count = [], 0
        self._write(chunk, count)

    def _line(self, decision: Decision, duration: float) -> bytes:
        """One JSON line. Everything but the time and the duration is fixed for a decision and the
        cache hits that share its (immutable) `columns` mapping, so that part is encoded once."""
        cols = decision.columns
        hit = self._columns.get(id(cols))
        if hit is None or hit[0] is not cols:
            if len(self._columns) >= _COLUMNS_CACHE:
                self._columns.clear()
            static = log_entry(decision, duration)
            del static["time"], static["duration_us"]
            hit = self._columns[id(cols)] = (cols, _dumps(static)[:-1], decision)
        _, prefix, first = hit
        if first is not decision and (first.consumer, first.product, first.purpose, first.error) != \
                (decision.consumer, decision.product, decision.purpose, decision.error):
            return _dumps(log_entry(decision, duration)) + b"\n"  # not a restamp: encode it all
        return b"".join((prefix, b',"time":', _dumps(decision.at), b',"duration_us":',
                         str(int(duration * 1e7) / 10).encode(), b"}\n"))

    def _write(self, chunk: list[bytes], count: int) -> None:
        if not count:
            return
        data = b"".join(chunk)
        try:
            if self._file is None:
                self._file = self._opener(self.path)
                self._size = self.path.stat().st_size if self.path.exists() else 0
            if self._size and self._size + len(data) > self.max_bytes:
                self._rotate()
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
            self.written += count
        except OSError as exc:  # a full disk (ENOSPC) or a vanished folder: drop, count, go on
            self.dropped += count
            self.write_errors += 1
            if self.write_errors == 1 or self.write_errors % 1000 == 0:
                log.error("policyengine: decision log write failed (%s); %d lines dropped so far",
                          exc.strerror or exc.__class__.__name__, self.dropped)
            self._discard_file()

    def _discard_file(self) -> None:
        try:
            if self._file is not None:
                self._file.close()
        except OSError:
            pass
        self._file = None

    def _rotate(self) -> None:
        self._discard_file()
        if self.backups == 0:
            if self.path.exists():
                os.truncate(self.path, 0)
        else:
            for i in range(self.backups - 1, 0, -1):
                src = self.path.with_name(f"{self.path.name}.{i}")
                if src.exists():
                    os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
            if self.path.exists():
                os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = self._opener(self.path)
        self._size = 0

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "write_errors": self.write_errors,
                "queued": len(self._queue)}
