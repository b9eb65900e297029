"""Redaction of sampled values: the only form in which a value may leave the scanner.

Letters keep the first character of each run (`john` → `j***`), digits are all masked (`#`),
separators stay, and the last dot-label of an e-mail or host keeps its suffix so the shape is
recognisable: `john@example.com` → `j***@e******.com`, `(601)546-2016` → `(###)###-####`.
"""

from __future__ import annotations

import re

_RUN = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_MAX = 48


def redact(value: str) -> str:
    """A shape-preserving, non-reversible rendering of `value` (at most 48 characters)."""
    text = value.strip()
    suffix = ""
    at = text.rfind("@")
    if at > 0 and "." in text[at:]:
        text, dot, tld = text.rpartition(".")
        suffix = dot + ("*" * len(tld) if not tld.isalpha() or len(tld) > 6 else tld)

    def mask(m: re.Match[str]) -> str:
        run = m.group(0)
        if run.isdigit():
            return "#" * len(run)
        return run[0] + "*" * (len(run) - 1)

    out = _RUN.sub(mask, text) + suffix
    return out if len(out) <= _MAX else out[: _MAX - 1] + "…"
