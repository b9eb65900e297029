"""Where the spaCy model runs: in one child process beside the scan, or in this process.

Loading the model is about 2 s of CPU (importing spaCy, which imports Presidio through its
entry points and compiles Presidio's ~170 regexes, then reading the weights), nearly all of it
holding the GIL; so is most of what the scan does meanwhile (sampling, validating matches). A
thread overlaps the two only in name. On a machine with more than one core, the model is
therefore loaded in a child process started when the scan starts, and the values to tag are
sent to it once; it answers with the same `NerCounts` that `ner.ner_counts` gives in process.

The child is a plain `python -c` subprocess (not `multiprocessing`), so it never re-imports the
caller's `__main__`: a script without an `if __name__ == "__main__":` guard scans as it would
in process. It gets the caller's `sys.path`, so it imports this very package. It is kept for
later scans in the same process (a library caller scanning repeatedly loads the model once),
and it ends when its stdin closes: when this process exits or the child is dropped.

A model already loaded in this process, or a single core, keeps everything in process. If the
child cannot be started, cannot load what this process could, or dies, the scan falls back to
the model in process: the findings are the same either way, only the time differs. The child's
stderr is discarded (a data value must never reach a log); it reports its own failures as one
line over the pipe.
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from policyengine.scan.ner import (
    ModelLoader,
    NerCounts,
    cached_model,
    is_cached,
    is_disabled,
    ner_counts,
)

Counter = Callable[[Sequence[Sequence[str]]], list[NerCounts]]

# The child imports this module without running the packages' `__init__`s (the public API's
# imports: pyarrow, lark, the catalog; ~0.3 s the child does not need): the two packages are
# registered as bare packages over their own folders first.
_BOOT = (
    "import sys, json, types, importlib.util\n"
    "sys.path[:] = json.loads(sys.stdin.readline())\n"
    "spec = importlib.util.find_spec('policyengine')\n"
    "for name, where in (('policyengine', list(spec.submodule_search_locations)),\n"
    "                    ('policyengine.scan', [p + '/scan' for p in spec.submodule_search_locations])):\n"
    "    package = types.ModuleType(name)\n"
    "    package.__path__ = where\n"
    "    sys.modules[name] = package\n"
    "from policyengine.scan.nerprocess import serve\n"
    "serve(sys.stdin, sys.stdout)\n"
)


def to_plain(c: NerCounts) -> dict[str, Any]:
    """`NerCounts` as JSON-able data (the child's answer)."""
    return {"checked": c.checked, "labels": [list(x) for x in c.labels],
            "examples": [[lab, list(xs)] for lab, xs in c.examples]}


def from_plain(d: dict[str, Any]) -> NerCounts:
    """The inverse of `to_plain`."""
    return NerCounts(
        int(d["checked"]),
        tuple((str(lab), int(n)) for lab, n in d["labels"]),
        tuple((str(lab), tuple(str(x) for x in xs)) for lab, xs in d["examples"]),
    )


def serve(inp: IO[str], out: IO[str]) -> None:
    """The child's loop: the first line names the model, answered with {"why": reason or null};
    then each line is a list of columns of values, answered with their counts, until EOF."""

    def reply(obj: object) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    try:
        name = json.loads(inp.readline())["model"]
        nlp, why = cached_model(name)
    except Exception as exc:  # never a traceback: the parent falls back
        reply({"why": f"NER child failed ({type(exc).__name__})", "failed": True})
        return
    reply({"why": None if nlp is not None else (why or "no NER model")})
    if nlp is None:
        return
    for line in inp:
        try:
            reply({"counts": [to_plain(c) for c in ner_counts(nlp, json.loads(line))]})
        except Exception as exc:
            reply({"failed": True, "why": type(exc).__name__})
            return


class ChildFailed(RuntimeError):
    """The child process is gone or answered with a failure."""


class _Child:
    """One child process holding model `name`; requests are serialised by a lock."""

    def __init__(self, name: str) -> None:
        if not sys.executable:
            raise ChildFailed("no Python executable to start")
        self.name = name
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8", bufsize=1,
        )
        self._ready: dict[str, Any] | None = None
        self._send(json.dumps(list(sys.path)))
        self._send(json.dumps({"model": name}))

    def _send(self, line: str) -> None:
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
        except (OSError, ValueError) as exc:
            raise ChildFailed("cannot write to the NER child") from exc

    def _receive(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise ChildFailed("the NER child ended")
        try:
            answer = json.loads(line)
        except ValueError as exc:
            raise ChildFailed("the NER child answered garbage") from exc
        if not isinstance(answer, dict) or answer.get("failed"):
            raise ChildFailed("the NER child failed")
        return answer

    def ready(self) -> str | None:
        """Wait for the load: None, or the reason the child has no model."""
        with self._lock:
            if self._ready is None:
                self._ready = self._receive()
            return self._ready.get("why")

    def count(self, columns: Sequence[Sequence[str]]) -> list[NerCounts]:
        with self._lock:
            self._send(json.dumps([list(c) for c in columns]))
            counts = [from_plain(d) for d in self._receive()["counts"]]
        if len(counts) != len(columns):
            raise ChildFailed("the NER child answered for other columns")
        return counts

    def close(self) -> None:
        """End the child now: it holds nothing worth a graceful exit (tearing down spaCy
        would cost this process a few hundred milliseconds of waiting)."""
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        self._proc.kill()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a killed process always ends
            pass


_CHILDREN: dict[str, _Child] = {}
_LOCK = threading.Lock()


def _child(name: str) -> _Child:
    with _LOCK:
        child = _CHILDREN.get(name)
        if child is None:
            child = _CHILDREN[name] = _Child(name)
        return child


def _drop(name: str, child: _Child) -> None:
    with _LOCK:
        if _CHILDREN.get(name) is child:
            del _CHILDREN[name]
    child.close()


@atexit.register
def _close_all() -> None:
    with _LOCK:
        children = list(_CHILDREN.values())
        _CHILDREN.clear()
    for child in children:
        child.close()


class _InProcess:
    """The model loaded in a thread of this process (`ner.ModelLoader`)."""

    def __init__(self, name: str) -> None:
        self._loader = ModelLoader(name)

    def get(self) -> tuple[Counter | None, str | None]:
        nlp, why = self._loader.get()
        if nlp is None:
            return None, why
        return (lambda columns: ner_counts(nlp, columns)), None


class NerInChild:
    """The model in the child process, with the model in process as the fallback."""

    def __init__(self, name: str) -> None:
        self.name = name
        try:
            self._child: _Child | None = _child(name)
        except (OSError, ChildFailed):  # no process can be started here
            self._child = None

    def _fallback(self) -> tuple[Counter | None, str | None]:
        return _InProcess(self.name).get()

    def get(self) -> tuple[Counter | None, str | None]:
        child = self._child
        if child is None:
            return self._fallback()
        try:
            why = child.ready()
        except ChildFailed:
            _drop(self.name, child)
            return self._fallback()
        if why is not None:  # the child could not load it: this process may (another sys.path)
            _drop(self.name, child)
            return self._fallback()

        def count(columns: Sequence[Sequence[str]]) -> list[NerCounts]:
            try:
                return child.count(columns)
            except ChildFailed:  # died mid-way: the same counts, in process
                _drop(self.name, child)
                nlp, why = cached_model(self.name)
                if nlp is None:
                    raise RuntimeError(why or "no NER model") from None
                return ner_counts(nlp, columns)

        return count, None


def in_child(name: str | None, jobs: int | None) -> bool:
    """Whether model `name` runs in the child process: NER on, not already loaded here, and
    more than one core (`jobs`, default the CPU count; `jobs == 1` keeps the scan in one process)."""
    cores = jobs or os.cpu_count() or 1
    return bool(name) and cores > 1 and not is_disabled(name) and not is_cached(name)


def prestart(name: str | None, jobs: int | None) -> None:
    """Start the child for model `name` now, if the scan will use one (`ner_runner` finds it):
    the earlier it starts, the less of its load the scan waits for."""
    if name and in_child(name, jobs):
        try:
            _child(name)
        except (OSError, ChildFailed):
            pass  # ner_runner falls back to this process


def ner_runner(name: str, jobs: int | None) -> _InProcess | NerInChild:
    """Start loading model `name` now (or find the child `prestart` started); the returned
    object's `get()` waits for it and gives (a function from columns of values to `NerCounts`,
    None) or (None, the reason)."""
    return NerInChild(name) if in_child(name, jobs) else _InProcess(name)
