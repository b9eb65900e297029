"""Source spans and diagnostics: every error names file:line:col and can show a caret under the text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a piece of source text is: 1-based line and column, end exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding of the parser, checker or catalog loader."""

    severity: Severity
    message: str
    span: Span | None = None
    file: str | None = None
    code: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def location(self) -> str:
        if self.span is not None:
            return str(self.span)
        return self.file or "<input>"

    def one_line(self) -> str:
        """`file:line:col: error: message` — the form CI logs and editors parse."""
        return f"{self.location}: {self.severity}: {self.message}"

    def render(self, source: str | None = None) -> str:
        """The one-line form, then the source line with a caret under the span (rustc/cedar style)."""
        out = [self.one_line()]
        if self.span is not None and source is not None:
            lines = source.split("\n")  # as the lexer counts lines (splitlines also breaks at \f, \x1c...)
            if 0 < self.span.line <= len(lines):
                text = lines[self.span.line - 1].rstrip("\r").expandtabs(1)
                gutter = str(self.span.line)
                pad = " " * len(gutter)
                end = self.span.end_column if self.span.end_line == self.span.line else len(text) + 1
                shown, column, width = excerpt(text, self.span.column, max(1, end - self.span.column))
                out.append(f"{pad} |")
                out.append(f"{gutter} | {shown}")
                out.append(f"{pad} | {' ' * (column - 1)}{'^' * width}")
        out.extend(f"  = note: {n}" for n in self.notes)
        return "\n".join(out)

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "location": self.location,
            "span": self.span.to_dict() if self.span else None,
            "notes": list(self.notes),
        }


SOURCE_WIDTH = 100
"""The most characters of a source line shown under a diagnostic; longer lines are cut around the caret."""

MAX_DIAGNOSTICS = 50
"""How many diagnostics text output shows before "… and N more" (JSON output lists every one)."""

_INVISIBLE = {"\x00": "\u2400"}  # a NUL byte would print as nothing (or a space): show ␀


def excerpt(text: str, column: int, width: int, limit: int = SOURCE_WIDTH) -> tuple[str, int, int]:
    """`text` cut to at most about `limit` characters around columns [column, column + width), with
    `…` where it was cut; returns the shown text and the caret's column and width in it. Control
    characters are made visible, so the caret stays under what it points at."""
    text = "".join(_INVISIBLE.get(ch, "\ufffd" if ord(ch) < 32 or ord(ch) == 127 else ch) for ch in text)
    if len(text) <= limit:
        return text, column, width
    width = min(width, limit // 2)
    start = max(0, min(column - 1 - limit // 4, len(text) - limit))
    stop = min(len(text), start + limit)
    prefix, suffix = ("…" if start > 0 else ""), ("…" if stop < len(text) else "")
    return prefix + text[start:stop] + suffix, column - start + len(prefix), width


class PolicyError(Exception):
    """Raised when policies, catalog or configuration have errors; carries every diagnostic."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        errors = [d for d in self.diagnostics if d.severity == "error"] or list(self.diagnostics)
        head = errors[0].one_line() if errors else "policy error"
        more = len(errors) - 1
        super().__init__(head + (f" (and {more} more error{'s' * (more > 1)})" if more > 0 else ""))

    def render(self, limit: int | None = None) -> str:
        """Every diagnostic with its source excerpt (the first `limit` of them, when given)."""
        return render_all(self.diagnostics, self.sources, limit)


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None,
               limit: int | None = None) -> str:
    """Render diagnostics with their source excerpts, in file/line order; with `limit`, the first
    `limit` of them then `… and N more` (errors first, so a flood of warnings hides no error)."""
    sources = sources or {}
    ordered = sorted(
        diagnostics,
        key=lambda d: (d.location.split(":")[0], d.span.line if d.span else 0, d.span.column if d.span else 0),
    )
    hidden = 0
    if limit is not None and 0 < limit < len(ordered):
        keep = sorted(ordered, key=lambda d: d.severity != "error")[:limit]
        kept = {id(d) for d in keep}
        hidden = len(ordered) - limit
        ordered = [d for d in ordered if id(d) in kept]
    out = "\n\n".join(d.render(sources.get(d.span.file) if d.span else None) for d in ordered)
    if hidden:
        out += f"\n\n… and {hidden} more diagnostic{'s' * (hidden > 1)} (--max-diagnostics 0 shows all; " \
               "--format json lists all)"
    return out


def edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close candidate exists, else an empty string.

    Close means a typo away: at most one edit (insert, delete, replace or swap) per three
    characters, at least one; so `emial` suggests `email` and `hsah` `hash`, but `country` does
    not suggest `amount`.
    """
    budget = max(1, len(word) // 3)
    best: tuple[int, str] | None = None
    for c in candidates:
        if c == word or abs(len(c) - len(word)) > budget:
            continue
        d = edit_distance(word.lower(), c.lower())
        if d <= budget and d < len(word) and (best is None or (d, c) < best):
            best = (d, c)
    return f" (did you mean '{best[1]}'?)" if best else ""


def located_diagnostic(exc: Exception, code: str, file: str | None = None) -> Diagnostic:
    """An error diagnostic from an exception carrying `message`, `file`, `line` and `column`
    fields (a YamlError): located at file:line:col when it has a line, else at its file (or
    `file`). An exception without those fields gives its one-line text."""
    text = str(exc).splitlines()
    message = getattr(exc, "message", None) or (text[0] if text else type(exc).__name__)
    where = getattr(exc, "file", None) or file
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    span = Span(where, line, column or 1, line, (column or 1) + 1) if where and line else None
    return Diagnostic("error", message, span, file=where, code=code)


def path_below(root: str | PathLike[str] | None, file: str | PathLike[str]) -> str:
    """`file` relative to folder `root` (forward slashes) when it lies below it, else as given;
    `root` None gives `file` as given (how reports name a file of a project or a revision)."""
    from pathlib import Path

    path = Path(file)
    if root is None:
        return path.as_posix()
    try:
        return path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def relative_uri(path: str) -> str:
    """A file path as SARIF reports name it: relative to the working folder where it lies below it,
    with forward slashes (code scanning resolves it against the checkout)."""
    from pathlib import Path

    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()
