"""Column names that are data: a CSV without a header row makes its first data row the column
names, and a JSON object keyed by e-mail addresses makes them keys. Such a name must never reach
a report as it is (`redacted_name`), and a CSV header row holding one is read as data
(`header_is_data`).

The test is on the name's shape alone (no recognizer, no model): an e-mail address, a web
address, an IP address, or a number of seven digits or more once dates and times are left out
(phones, cards, ids; `2019`, `2019-01-31` and `q3_2024` are headers). A name longer than 64
characters is text, not a header.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from policyengine.scan.redact import redact

_EMAIL = re.compile(r"[^\s@,;<>()\[\]]+@[^\s@,;<>()\[\]]+\.[^\s@,;<>()\[\]]{2,}")
_WEB = re.compile(r"(?i)\b(?:https?://|www\.)\S")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_DATE_TIME = re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"
                        r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?\b")
MAX_NAME_CHARS = 64


def looks_like_data(name: str) -> bool:
    """True when a column name has the shape of a value rather than a header (see the module)."""
    text = name.strip()
    if len(text) > MAX_NAME_CHARS:
        return True
    if _EMAIL.search(text) or _WEB.search(text) or _IPV4.search(text):
        return True
    digits = sum(c.isdecimal() for c in _DATE_TIME.sub(" ", text))
    return digits >= 7


def header_is_data(cells: Sequence[str]) -> bool:
    """True when a CSV's first row is data, not a header: one of its cells looks like data."""
    return any(looks_like_data(c) for c in cells)


def redacted_name(name: str) -> str:
    """`name` as reports show it: as it is, or redacted like a value when it looks like data."""
    return redact(name) if looks_like_data(name) else name
