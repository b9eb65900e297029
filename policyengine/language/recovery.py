"""Syntax error recovery: report the later syntax errors of a file too, not only the first.

After a syntax error, the statement that holds it (from the `;` before it to the `;` after it)
is blanked out — spaces in place of its characters, line breaks kept, so every later position
is unchanged — and the file is parsed again. Each round finds the next error; the first error
is always exactly the parser's. `;` inside quotes or comments does not end a statement.
"""

from __future__ import annotations

from policyengine.diagnostics import Diagnostic, PolicyError
from policyengine.language.parser import parse_policy

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
    found = [first]
    ends = statement_ends(text)
    current = first
    while len(found) < MAX_SYNTAX_ERRORS and current.span is not None:
        at = _offset(text, current.span.line, current.span.column)
        start = max((e + 1 for e in ends if e < at), default=0)
        stop = next((e + 1 for e in ends if e >= at), len(text))
        if stop >= len(text) or not text[start:stop].strip():
            break  # the error is in the last statement (or nothing is left to blank)
        text = _blank(text, start, stop)
        try:
            parse_policy(text, path)
        except PolicyError as exc:
            nxt = next((d for d in exc.diagnostics if d.severity == "error"), None)
            if nxt is None or nxt.span is None or (nxt.span.line, nxt.span.column) <= (
                    current.span.line, current.span.column):
                break
            found.append(nxt)
            current = nxt
            continue
        break
    return found
