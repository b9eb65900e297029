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
import queue
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

HELLO_SECONDS = 30.0  # waited for the child's first line once the scan needs it (an interpreter start)
READY_SECONDS = 600.0  # then for the model loaded (spaCy's import and the weights; ~2 s idle)
ANSWER_SECONDS = 1800.0  # for one request's NER (a few seconds for thousands of values)

# Run as `python -I -c _BOOT`: isolated, so neither the current directory nor PYTHONPATH nor the
# user site can put a module of their own (a `json.py` in the folder being scanned) before the
# standard library. The first line it reads is the parent's `sys.path` (absolute, without the
# current folder), appended *after* the child's own isolated path, so the standard library and
# site-packages are always found first (a `random.py` in the scanned folder never runs), and the
# folders of the parent's own `policyengine` and `policyengine.scan`: the two packages are
# registered as bare packages over exactly those folders, so the child runs the parent's code (not
# whatever `policyengine` its path finds first) without running the packages' `__init__`s
# (pyarrow, lark, the catalog: ~0.3 s it does not need). SIGINT is ignored in the child (it is in
# its own session anyway): a Ctrl-C is the parent's to handle.
_BOOT = (
    "import sys, json, types, signal\n"
    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "sys.stdout.write('{\"hello\": true}\\n'); sys.stdout.flush()\n"
    "boot = json.loads(sys.stdin.readline())\n"
    "sys.path.extend(p for p in boot['path'] if p not in sys.path)\n"
    "for name, where in boot['packages']:\n"
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
    then each line is {"id": n, "columns": [[value, ...], ...]}, answered with {"id": n,
    "counts": [...]}, until EOF."""

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
            request = json.loads(line)
            reply({"id": request["id"], "counts": [to_plain(c) for c in ner_counts(nlp, request["columns"])]})
        except Exception as exc:
            reply({"failed": True, "why": type(exc).__name__})
            return


class ChildFailed(RuntimeError):
    """The child process is gone, too slow, or answered with a failure or something else."""


def _absolute_path() -> list[str]:
    """This process's `sys.path`, relative entries made absolute now (the child must resolve them
    as this process does), without the current folder (`''`): the folder being scanned is no
    place to import code from, and the packages the child needs are given by folder."""
    cwd = os.getcwd()
    return [a for a in (os.path.abspath(p) for p in sys.path if p) if a != cwd]


def _packages() -> list[tuple[str, list[str]]]:
    """The folders this process imported `policyengine` and `policyengine.scan` from (both are
    imported: this module is in them)."""
    scan_package = __name__.rpartition(".")[0]
    names = (scan_package.partition(".")[0], scan_package)
    return [(name, [os.path.abspath(p) for p in sys.modules[name].__path__]) for name in names]


class _Child:
    """One child process holding model `name`. Requests are serialised by a lock and carry an id
    the answer must echo; a line is read by a reader thread and written by a writer thread, so
    every wait has a deadline and a child that hangs is killed rather than waited on forever."""

    def __init__(self, name: str) -> None:
        if _interpreter() is None:
            raise ChildFailed("no Python interpreter to start (a frozen or embedded application)")
        self.name = name
        self.pid = os.getpid()  # the process that owns it (a fork must not use it)
        self._lock = threading.Lock()
        self._lines: queue.Queue[str] = queue.Queue()
        self._next_id = 0
        self._ready: dict[str, Any] | None = None
        self._proc = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
            start_new_session=os.name == "posix",  # a terminal's Ctrl-C goes to the caller, not to it
        )
        threading.Thread(target=self._read_lines, name="ner-child-reader", daemon=True).start()
        try:
            self._send(json.dumps({"path": _absolute_path(), "packages": _packages()}), HELLO_SECONDS)
            self._send(json.dumps({"model": name}), HELLO_SECONDS)
        except BaseException:
            self.close()
            raise

    def _read_lines(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        try:
            for line in stdout:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put("")  # EOF

    def _send(self, line: str, seconds: float) -> None:
        """Write one line, or raise ChildFailed if the child does not take it in `seconds`."""
        failed: list[BaseException] = []

        def write() -> None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
            except (OSError, ValueError) as exc:
                failed.append(exc)

        writer = threading.Thread(target=write, name="ner-child-writer", daemon=True)
        writer.start()
        writer.join(seconds)
        if writer.is_alive() or failed:
            raise ChildFailed("cannot write to the NER child")

    def _receive(self, seconds: float) -> dict[str, Any]:
        """The next answer, or ChildFailed on EOF, a deadline, a failure or a line that is not
        an answer."""
        try:
            line = self._lines.get(timeout=seconds)
        except queue.Empty:
            raise ChildFailed("the NER child did not answer in time") from None
        if not line:
            self._lines.put("")  # EOF stays EOF for whoever reads next
            raise ChildFailed("the NER child ended")
        try:
            answer = json.loads(line)
        except ValueError:
            raise ChildFailed("the NER child answered garbage") from None
        if not isinstance(answer, dict) or answer.get("failed"):
            raise ChildFailed("the NER child failed")
        return answer

    def ready(self) -> str | None:
        """Wait for the load: None, or the reason the child has no model."""
        with self._lock:
            if self._ready is None:
                try:
                    if self._receive(HELLO_SECONDS).get("hello") is not True:
                        raise ChildFailed("the NER child did not start")
                    self._ready = self._receive(READY_SECONDS)
                except ChildFailed:
                    raise
                except BaseException:  # Ctrl-C half-way through: its lines would be read out of turn
                    _drop(self.name, self)
                    raise
            why = self._ready.get("why")
            return None if why is None else str(why)

    def count(self, columns: Sequence[Sequence[str]]) -> list[NerCounts]:
        """NER counts of `columns`, from the child. Any failure, and any interruption between
        the request and its answer (Ctrl-C, a signal's exception), is raised after the child is
        dropped: an answer left unread must never be taken for the next request's."""
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            try:
                self._send(json.dumps({"id": request_id, "columns": [list(c) for c in columns]}), ANSWER_SECONDS)
                answer = self._receive(ANSWER_SECONDS)
                if answer.get("id") != request_id:
                    raise ChildFailed("the NER child answered another request")
                counts = [from_plain(d) for d in answer["counts"]]
            except ChildFailed:
                raise
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ChildFailed("the NER child answered in another shape") from exc
            except BaseException:
                _drop(self.name, self)
                raise
        if len(counts) != len(columns):
            raise ChildFailed("the NER child answered for other columns")
        return counts

    def close(self) -> None:
        """End the child now: it holds nothing worth a graceful exit (tearing down spaCy
        would cost this process a few hundred milliseconds of waiting). Only the process that
        started it may: a forked copy of this object leaves the child to its owner."""
        if os.getpid() != self.pid:
            return
        self._proc.kill()  # first: a writer blocked on a full pipe holds the pipe's lock until then
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a killed process always ends
            pass
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except (OSError, ValueError):
            pass

    def forget(self) -> None:
        """In a forked process: close this process's copies of the pipes (raw, unflushed), so that
        the child still ends when its owner does."""
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                if stream is not None:
                    os.close(stream.fileno())
            except (OSError, ValueError):
                pass


_CHILDREN: dict[str, _Child] = {}
_LOCK = threading.Lock()


def _model_key(name: str) -> str:
    """The name a child is kept under and loads: a model given as a relative path is made
    absolute now (the child starts elsewhere, and a later scan may run from another folder)."""
    return os.path.abspath(name) if os.path.exists(name) else name


def _child(name: str) -> _Child:
    key = _model_key(name)  # idempotent: an absolute path stays itself
    with _LOCK:
        child = _CHILDREN.get(key)
        if child is None or child.pid != os.getpid():
            child = _CHILDREN[key] = _Child(key)
        return child


def _drop(name: str, child: _Child) -> None:
    with _LOCK:
        if _CHILDREN.get(_model_key(name)) is child:
            del _CHILDREN[_model_key(name)]
    child.close()


def _forget_after_fork() -> None:
    """In a forked process: the children (and their pipes, and the lock) belong to the parent."""
    global _LOCK
    _LOCK = threading.Lock()
    for child in _CHILDREN.values():
        child.forget()
    _CHILDREN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


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
        self.name = _model_key(name)  # once: a later chdir must not change which model this is
        try:
            self._child: _Child | None = _child(self.name)
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
    if not name or cores <= 1 or is_disabled(name) or is_cached(name) or is_cached(_model_key(name)):
        return False
    return _interpreter() is not None


def _interpreter() -> str | None:
    """The Python interpreter to start the child with: not in a frozen application, and not when
    `sys.executable` is an embedding host (uWSGI, httpd) rather than Python."""
    exe = sys.executable
    if not exe or getattr(sys, "frozen", False):
        return None
    return exe if os.path.basename(exe).lower().startswith(("python", "pypy")) else None


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
