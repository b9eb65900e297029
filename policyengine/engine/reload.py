"""Atomic reload: a holder that owns the current Engine and swaps in a new one built aside.

`evaluate()` reads the holder's engine reference once per call, so it sees either the old engine
or the new one, never one half built: a reload loads, checks and compiles a complete Engine first
and only then replaces the reference (a single attribute store). When building fails (a syntax
error, a broken contract, a missing file) the last good engine stays in force, the error is
counted and reported, and decisions keep naming the old bundle version.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from policyengine.diagnostics import PolicyError
from policyengine.engine.decision import Decision
from policyengine.engine.evaluator import Engine
from policyengine.engine.loading import load

log = logging.getLogger("policyengine")


class DecisionSink(Protocol):
    """Where decisions are recorded (the decision log): must never raise nor block."""

    def record(self, decision: Decision, duration_s: float) -> None: ...


@dataclass(frozen=True)
class ReloadResult:
    """What one reload did: `ok`, the bundle version now in force, and the error when it failed."""

    ok: bool
    bundle_version: str
    changed: bool
    error: str | None = None


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, PolicyError) or getattr(exc, "one_line", False):  # already a located one-liner
        return (str(exc).splitlines() or [""])[0]
    return f"{exc.__class__.__name__}: {exc}".splitlines()[0]


def freeze_heap(thaw: bool = False) -> None:
    """Collect, then move every object alive into the collector's permanent generation
    (`gc.freeze()`), so later collections no longer scan the loaded engine (catalog, rules,
    expressions: tens of thousands of objects for a large mesh, each full collection walking them).

    The trade-off: frozen objects are never examined again, so a reference cycle among them that
    becomes garbage later is never reclaimed (objects freed by reference counting, as the engine's
    are, still go). It suits a long-running server after loading; `thaw` first returns the frozen
    objects to the collector (`gc.unfreeze()`), so a reload's previous engine can be reclaimed
    before the new heap is frozen. Process-wide: off unless asked for (`serve` asks)."""
    if thaw:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


class ReloadingEngine:
    """Owns the current Engine; `reload()` swaps in a new one atomically, keeping the last good one
    on error. Thread-safe: evaluations run concurrently with a reload; reloads are serialised."""

    def __init__(self, loader: Callable[[], Engine], *, decision_log: DecisionSink | None = None,
                 watch_paths: Sequence[str | Path] = (), freeze_gc: bool = False) -> None:
        self._loader = loader
        self._engine: Engine = loader()  # the first load must succeed: there is no last good one
        self.freeze_gc = freeze_gc
        if freeze_gc:
            freeze_heap()
        self.decision_log = decision_log
        self.watch_paths = tuple(Path(p) for p in watch_paths)
        self.reloads = 0
        self.reload_errors = 0
        self.last_error: str | None = None
        self.loaded_at = dt.datetime.now(dt.UTC)
        self._reload_lock = threading.Lock()
        self._stops: list[threading.Event] = []
        # what /health and /metrics add about where the engine comes from (a bundle poller's status)
        self.status: Callable[[], dict[str, Any]] | None = None

    @classmethod
    def from_config(cls, config: Any, **kw: Any) -> ReloadingEngine:
        """A holder loading what a project configuration (`policyengine.config.Config`) names;
        its watch paths are the configuration's policies, catalog, consumers and taxonomy."""
        def loader() -> Engine:
            return load(list(config.policies), list(config.catalog), consumers=config.consumers,
                        taxonomy=list(config.taxonomy), ownership=getattr(config, "ownership", None))

        paths = [*config.policies, *config.catalog, *config.taxonomy,
                 *([config.consumers] if config.consumers else [])]
        return cls(loader, watch_paths=paths, **kw)

    @property
    def engine(self) -> Engine:
        """The engine in force (read once per request; it never changes under a caller)."""
        return self._engine

    @property
    def bundle_version(self) -> str:
        return self._engine.bundle_version

    def reload(self) -> ReloadResult:
        """Build a new engine aside and swap it in; on error keep the current one and report it."""
        with self._reload_lock:
            old = self._engine
            try:
                new = self._loader()
            except Exception as exc:  # the last good bundle stays in force
                self.reload_errors += 1
                self.last_error = _one_line(exc)
                log.error("policyengine: reload failed, keeping bundle %s: %s", old.bundle_version,
                          self.last_error)
                return ReloadResult(False, old.bundle_version, False, self.last_error)
            self._engine = new  # one reference store: atomic for every reader
            old_version = old.bundle_version
            if self.freeze_gc:
                del old  # the old engine can go (once in-flight requests are done with it)
                freeze_heap(thaw=True)
            self.reloads += 1
            self.last_error = None
            self.loaded_at = dt.datetime.now(dt.UTC)
            changed = new.bundle_version != old_version
            log.info("policyengine: reloaded bundle %s%s", new.bundle_version, "" if changed else " (unchanged)")
            return ReloadResult(True, new.bundle_version, changed)

    def set_loader(self, loader: Callable[[], Engine]) -> None:
        """The loader later reloads call (the first load may have come from elsewhere)."""
        self._loader = loader

    def replace(self, engine: Engine, reason: str) -> None:
        """Swap in an engine that did not come from the loader (a bundle that expired in force is
        replaced by one denying everything); logged, not counted as a reload."""
        with self._reload_lock:
            self._engine = engine
            self.last_error = reason
            log.error("policyengine: %s (now bundle %s)", reason, engine.bundle_version)

    def add_stop(self, stop: threading.Event) -> None:
        """An Event that `close()` sets (a watcher or poller thread feeding this holder)."""
        self._stops.append(stop)

    def close(self) -> None:
        """Stop the watcher and poller threads feeding this holder (app shutdown)."""
        for stop in self._stops:
            stop.set()

    def evaluate(self, consumer: Any, product: str, columns: Sequence[str] | None = None,
                 purpose: str | None = None, at: dt.datetime | dt.date | None = None, **kw: Any) -> Decision:
        """`Engine.evaluate` on the engine in force, recorded in the decision log when there is one."""
        engine = self._engine
        sink = self.decision_log
        if sink is None:
            return engine.evaluate(consumer, product, columns, purpose, at, **kw)
        t0 = time.perf_counter()
        decision = engine.evaluate(consumer, product, columns, purpose, at, **kw)
        sink.record(decision, time.perf_counter() - t0)
        return decision

    def watch(self, paths: Iterable[str | Path] | None = None, *, debounce_ms: int = 300) -> threading.Event:
        """Reload whenever a watched file changes (needs `watchfiles`); returns the Event that stops it.

        For long-running processes. Runs in a daemon thread; each batch of changes causes one reload."""
        import watchfiles

        watched = [str(p) for p in (paths if paths is not None else self.watch_paths) if Path(p).exists()]
        stop = threading.Event()
        if not watched:
            raise ValueError("nothing to watch: none of the paths exists")

        def run() -> None:
            for _changes in watchfiles.watch(*watched, stop_event=stop, debounce=debounce_ms,
                                             raise_interrupt=False):
                self.reload()

        threading.Thread(target=run, name="policyengine-watch", daemon=True).start()
        self._stops.append(stop)
        return stop
