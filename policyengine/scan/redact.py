"""Redaction of sampled values: the only form in which a value may leave the scanner.

No letter or digit of a value is ever shown: every letter becomes `*`, every digit `#`;
ASCII punctuation stays (but `*` and `#`, which stand for masked characters) and any other character (spaces, controls, invisible marks) becomes one space,
so only the value's shape is left: `john@example.com` → `****@*******.***`, `(601)546-2016` →
`(###)###-####`. No part of a value with a letter or digit in it can be read back from its
redaction (tests/hardening/test_redaction.py checks this with hypothesis).
"""

from __future__ import annotations

import unicodedata

_MAX = 48


def _shape(ch: str) -> str:
    if ch.isdecimal():
        return "#"
    if ch.isalnum():
        return "*"
    if ch in "*#" or not ch.isascii() or not unicodedata.category(ch).startswith(("P", "S")):
        return " "  # `*` and `#` only ever stand for a letter or digit
    return ch


def redact(value: str) -> str:
    """A shape-preserving, non-reversible rendering of `value` (at most 48 characters)."""
    out = "".join(map(_shape, value.strip()))
    return out if len(out) <= _MAX else out[: _MAX - 1] + "…"
