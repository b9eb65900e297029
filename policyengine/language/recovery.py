"""Syntax error recovery: report the later syntax errors of a file too, not only the first.

After a syntax error, the statement that holds it (from the `;` before it to the `;` after it)
is blanked out — spaces in place of its characters, line breaks kept, so every later position
is unchanged — and the file is parsed again. Each round finds the next error; the first error
is always exactly the parser's. `;` inside quotes or comments does not end a statement.
"""

from __future__ import annotations

import re

from policyengine.diagnostics import Diagnostic, PolicyError
from policyengine.language import ast
from policyengine.language.parser import parse_policy

_SCOPE = re.compile(r"\A(?:\s|#[^\n]*)*scope[ \t]+(?:platform|domain[ \t]+[A-Za-z_][\w-]*)[ \t]*(?=\n|#|\Z)")

MAX_SYNTAX_ERRORS = 20
"""The most syntax errors reported for one file."""


def statement_ends(text: str) -> list[int]:
    """Offsets of every `;` that ends a statement (not inside a quoted name or text, nor a comment)."""
    ends: list[int] = []
    quote: str | None = None
    comment = False
    for i, ch in enumerate(text):
        if comment:
            comment = ch != "\n"
        elif quote is not None:
            if ch == "\\":
                continue
            if ch == quote and text[i - 1] != "\\":
                quote = None
        elif ch in "\"'":
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
    """`first` (the parser's first syntax error in `text`) and the errors found after it by
    blanking each failed statement and parsing again (at most MAX_SYNTAX_ERRORS)."""
    return recover(text, path, first)[0]


def recover(text: str, path: str, first: Diagnostic) -> tuple[list[Diagnostic], ast.PolicyFile | None]:
    """The syntax errors (see `syntax_errors`) and, when every failed statement could be blanked
    and the rest parses, the file of the statements that parsed: `check` checks those too, so one
    syntax error does not hide every semantic error of its file. None when the scope statement
    itself failed (every rule would then be reported as outside any scope: a cascade)."""
    found = [first]
    ends = statement_ends(text)
    scope = _SCOPE.match(text)  # the scope statement has no `;`: never blanked with the rule after it
    scope_end = scope.end() if scope else 0
    current = first
    while len(found) < MAX_SYNTAX_ERRORS and current.span is not None:
        at = _offset(text, current.span.line, current.span.column)
        start = max((e + 1 for e in ends if e < at), default=scope_end if at >= scope_end else 0)
        stop = next((e + 1 for e in ends if e >= at), len(text))
        if not text[start:stop].strip():
            break  # nothing is left to blank
        text = _blank(text, start, stop)
        try:
            parsed = parse_policy(text, path)
        except PolicyError as exc:
            nxt = next((d for d in exc.diagnostics if d.severity == "error"), None)
            if stop >= len(text) or nxt is None or nxt.span is None or (nxt.span.line, nxt.span.column) <= (
                    current.span.line, current.span.column):
                break
            found.append(nxt)
            current = nxt
            continue
        return found, (parsed if parsed.scope is not None else None)
    return found, None
