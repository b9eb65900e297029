"""How far a column's values read as people's names, by their form and a name gazetteer.

NER reads "Jenna" as a place and "Kellar" as a firm, and a list of surnames gives it no context;
but a reader who sees a column of given names, or of "Sullivan, Jacob J", or of
"SVEJDOVA Viktorie" (the surname in capitals first, as sports and official lists write it) knows
they are names. These statistics say how many values have such a form *and* a given name that
the gazetteer knows (`gazetteer`), so that a form alone (City, State) or a word that is also a
name (Green, Victoria) is not enough.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from policyengine.scan.gazetteer import gazetteer

MAX_VALUES = 200  # distinct values examined per column (the sample order is random)

_TITLE = re.compile(r"(?i)^(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|shri|smt|sri|herr|frau|mme|mlle|m|sr|sra|srta)\.?\s+")
_U, _L = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"  # upper / lower case letters (Latin-1: Müller, ZOË)
# "Sullivan, Jacob J" · "Slaughter, Anne-Marie" · "Koh, Harold Hongju"
_COMMA = re.compile(rf"^([{_U}][{_U}{_L}'’-]+(?:\s[{_U}][{_U}{_L}'’-]+)?),\s+([{_U}][{_L}'’-]+)(?:\s+[{_U}][{_U}{_L}'’.-]*)*\.?$")
# "SVEJDOVA Viktorie" · "PESCIA Claudio" · "KOLOWRATOVA SAKOLOWRATOVA Samantha Ahn"
_CAPS = re.compile(rf"^(?:[{_U}][{_U}'’-]+\s+){{1,3}}([{_U}][{_L}'’-]+)(?:\s+[{_U}][{_L}'’-]+)*$")
_SINGLE = re.compile(rf"^[{_U}][{_L}'’-]+$|^[{_U}][{_U}'’-]+$")
# "Braund, Mr. Owen Harris" · "Cumings, Mrs. John Bradley (Florence Briggs Thayer)": a title after
# the comma and a name in brackets after it (a maiden name, a nickname) are not part of the form
_TITLE_AFTER_COMMA = re.compile(r"(?i),\s+(?:mr|mrs|ms|miss|mx|dr|prof|sir|dame|master|rev|herr|frau|mme|mlle|sr|sra|srta)\.?\s+")
_BRACKETED = re.compile(r'\s*[(\[][^()\[\]]*[)\]]\s*$|\s*"[^"]*"')


def _as_written(value: str, capitalise_lower: bool = False) -> str:
    """A value with its titles and bracketed or quoted additions taken off; with
    `capitalise_lower` (a person header: exports lose the case), an all-lower-case value
    capitalised (`owen harris` → `Owen Harris`), since the forms below need capitals. Without a
    person header, `rose`, `amber`, `grace` are words."""
    text = _TITLE.sub("", value.strip())
    text = _BRACKETED.sub("", _TITLE_AFTER_COMMA.sub(", ", text)).strip()
    if capitalise_lower and text.islower():
        text = text.title()
    return text


@dataclass(frozen=True)
class NameStats:
    """Shares of the examined distinct values (`checked`) that read as names."""

    checked: int = 0
    single: float = 0.0  # one capitalised word
    known_first: float = 0.0  # a single word that is a known given name
    known_any: float = 0.0  # a word that is a known given name or surname
    comma_form: float = 0.0  # "Last, First M" with a known given name
    caps_form: float = 0.0  # "SURNAME Given" with a known given name
    name_lists: float = 0.0  # JSON lists whose items are mostly names with a known given name
    given_full: float = 0.0  # "Given [Middle] Surname" whose given name is known
    given_surname: float = 0.0  # … whose last word is also a known surname


def _given_known(full: str) -> bool:
    """A "First [Middle] Last" item whose first word is a known given name."""
    words = _TITLE.sub("", full.strip()).split()
    return 2 <= len(words) <= 4 and words[0][:1].isupper() and gazetteer().is_first(words[0])


def _given_surname(full: str) -> bool:
    """A "First [Middle] Last" item whose first word is a known given name and last a known surname."""
    words = _TITLE.sub("", full.strip()).split()
    return _given_known(full) and words[-1][:1].isupper() and gazetteer().is_last(words[-1])


def _name_list(value: str) -> bool:
    if not value.startswith("[") or not value.endswith("]"):
        return False
    try:
        items = json.loads(value)
    except ValueError:
        return False
    if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
        return False
    return sum(_given_known(x) for x in items) >= 0.6 * len(items)


def name_stats(values: Sequence[str], person_header: bool = False) -> NameStats:
    """`NameStats` over the first `MAX_VALUES` of a column's distinct values (`person_header`:
    the column is named for persons, so lower-case values are read capitalised)."""
    vals = list(values[:MAX_VALUES])
    if not vals:
        return NameStats()
    g = gazetteer()
    single = known_first = known_any = comma = caps = lists = given = surname = 0
    for value in vals:
        text = _as_written(value, person_header)
        words = text.replace(",", " ").split()
        if "," not in text and _given_known(text):
            given += 1
            surname += _given_surname(text)
        if _SINGLE.match(text):
            single += 1
            known_first += g.is_first(text)
        known_any += any(g.is_name(w) for w in words)
        m = _COMMA.match(text)
        if m and g.is_first(m.group(2)):
            comma += 1
        m = _CAPS.match(text)
        if m and not text.isupper() and g.is_first(m.group(1)):
            caps += 1
        if value[:1] == "[":
            lists += _name_list(value)
    n = len(vals)
    return NameStats(n, single / n, known_first / n, known_any / n, comma / n, caps / n, lists / n, given / n,
                     surname / n)
