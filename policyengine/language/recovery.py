"""Syntax error recovery: report the later syntax errors of a file too, not only the first.

After a syntax error, the statement that holds it (from the `;` before it to the `;` after it) is
dropped and parsing goes on after it, in the same pass (Lark's LALR `on_error`: the parser returns
to its state between statements): the same errors, at the same places, as blanking the statement
out and parsing the file again, without parsing it again. The first error is always exactly the
parser's. `;` inside quotes or comments does not end a statement. Recovery stops at
MAX_SYNTAX_ERRORS, or when an error is not after the one before it.
"""

from __future__ import annotations

import re

from policyengine.diagnostics import Diagnostic, PolicyError
from policyengine.language import ast
from policyengine.language.parser import parse_resuming

_SCOPE = re.compile(r"\A(?:\s|#[^\n]*)*scope[ \t]+(?:platform|domain[ \t]+[A-Za-z_][\w-]*)[ \t]*(?=\n|#|\Z)")

MAX_SYNTAX_ERRORS = 20
"""The most syntax errors reported for one file."""


def statement_ends(text: str) -> list[int]:
    """Offsets of every `;` that ends a statement: not inside a string, a quoted name or a comment,
    read as the lexer reads them (a backslash in a string escapes the next character; a string or
    quoted name still open at the end of its line is unterminated and ends there)."""
    ends: list[int] = []
    quote: str | None = None
    comment = escaped = False
    for i, ch in enumerate(text):
        if ch == "\n":
            quote, comment, escaped = None, False, False
        elif comment:
            continue
        elif quote is not None:
            if escaped:
                escaped = False
            elif ch == "\\" and quote != "`":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch == "#":
            comment = True
        elif ch == ";":
            ends.append(i)
    return ends


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        nl = text.find("\n", start)
        if nl < 0:
            return len(text)
        start = nl + 1
    return min(len(text), start + column - 1)


def _blank(text: str, start: int, stop: int) -> str:
    middle = "".join(ch if ch in "\r\n" else " " for ch in text[start:stop])
    return text[:start] + middle + text[stop:]


def syntax_errors(text: str, path: str, first: Diagnostic) -> list[Diagnostic]:
    """`first` (the parser's first syntax error in `text`) and the errors found after it, each
    failed statement dropped (at most MAX_SYNTAX_ERRORS)."""
    return recover(text, path, first)[0]


class _Statements:
    """Which text an error drops, and when recovery stops: the rules of the module docstring, asked
    by the parser at each error (`parse_resuming`)."""

    def __init__(self, text: str, first: Diagnostic) -> None:
        self.text = text
        self.first = first  # the parser's first error, found again by the first pass
        self.ends = statement_ends(text)
        scope = _SCOPE.match(text)  # the scope statement has no `;`: never dropped with the rule after it
        self.scope_end = scope.end() if scope else 0
        self.found: list[Diagnostic] = []
        self.dropped: list[tuple[int, int]] = []

    def on_error(self, diag: Diagnostic) -> tuple[int, int] | None:
        """The statement to drop for `diag` (start, stop offsets), or None to stop recovering."""
        if self.found:
            current = self.found[-1].span
            assert current is not None  # recovery stopped at an error without a place
            if self.dropped[-1][1] >= len(self.text) or diag.span is None or (
                    diag.span.line, diag.span.column) <= (current.line, current.column):
                return None  # nothing after the last drop, or no progress: stop, this one unreported
        self.found.append(self.first if not self.found and diag == self.first else diag)
        if len(self.found) >= MAX_SYNTAX_ERRORS or diag.span is None:
            return None
        at = _offset(self.text, diag.span.line, diag.span.column)
        start = max((e + 1 for e in self.ends if e < at),
                    default=self.scope_end if at >= self.scope_end else 0)
        stop = next((e + 1 for e in self.ends if e >= at), len(self.text))
        if not self.text[start:stop].strip():
            return None  # nothing is left to drop
        self.dropped.append((start, stop))
        return start, stop


def recover(text: str, path: str, first: Diagnostic) -> tuple[list[Diagnostic], ast.PolicyFile | None]:
    """The syntax errors (see `syntax_errors`) and, when every failed statement could be dropped
    and the rest parses, the file of the statements that parsed: `check` checks those too, so one
    syntax error does not hide every semantic error of its file. None when the scope statement
    itself failed (every rule would then be reported as outside any scope: a cascade).

    One pass finds them all (`parse_resuming`). An error found while building the AST (a date that
    does not exist, a clause given twice) cannot be resumed from: its statement is blanked out
    (spaces, line breaks kept, so positions stay) with those dropped before it, and the rest is
    parsed again from the start in the same way."""
    statements = _Statements(text, first)
    current = text
    while True:
        try:
            parsed = parse_resuming(current, path, statements.on_error)
        except PolicyError as exc:
            problem = next((d for d in exc.diagnostics if d.severity == "error"), None)
            if problem is None or statements.on_error(problem) is None:
                return statements.found, None
            current = text
            for start, stop in statements.dropped:
                current = _blank(current, start, stop)
            continue
        if not statements.found:  # pragma: no cover - `first` came from parsing this text; fail closed
            return [first], None
        if parsed is None:
            return statements.found, None
        return statements.found, (parsed if parsed.scope is not None else None)
