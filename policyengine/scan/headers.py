"""Column names that are data: a CSV without a header row makes its first data row the column
names, and a JSON object keyed by e-mail addresses makes them keys. Such a name must never reach
a report as it is (`redacted_name`), and a CSV header row holding one is read as data
(`header_is_data`).

The test is on the name's shape alone (no recognizer, no model): an e-mail address, a web
address, an IP address, or seven digits or more once dates, times and years are left out
(phones, cards, ids; `2019`, `2019-01-31`, `sales_2019_2020` and `q3_2024` are headers). For
what reports show, a name longer than 64 characters is text too and is redacted (a long survey
question is shown by its shape); it does not make a CSV's first row data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from policyengine.scan.redact import redact

_EMAIL = re.compile(r"[^\s@,;<>()\[\]]+@[^\s@,;<>()\[\]]+\.[^\s@,;<>()\[\]]{2,}")
_WEB = re.compile(r"(?i)\b(?:https?://|www\.)\S")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_DATE_TIME = re.compile(r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b"
                        r"|\b\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?\b"
                        r"|(?<!\d)(?:19|20)\d{2}(?!\d)")
MAX_NAME_CHARS = 64


def _value_shaped(text: str) -> bool:
    """An e-mail, web or IP address, or seven digits or more besides dates, times and years."""
    if _EMAIL.search(text) or _WEB.search(text) or _IPV4.search(text):
        return True
    return sum(c.isdecimal() for c in _DATE_TIME.sub(" ", text)) >= 7


def looks_like_data(name: str) -> bool:
    """True when a column name has the shape of a value rather than a header, or is longer than
    64 characters (see the module): reports show it redacted."""
    text = name.strip()
    return len(text) > MAX_NAME_CHARS or _value_shaped(text)


def header_is_data(cells: Sequence[str]) -> bool:
    """True when a CSV's first row is data, not a header: one of its cells has a value's shape
    (length alone does not count: long headers are common)."""
    return any(_value_shaped(c.strip()) for c in cells)


def redacted_name(name: str) -> str:
    """`name` as reports show it: as it is, or redacted like a value when it looks like data."""
    return redact(name) if looks_like_data(name) else name
