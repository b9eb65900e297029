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

from policyengine.scan.gazetteer import fold, gazetteer

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
    script_full: float = 0.0  # a full name in another script (`script_name`)
    text_candidates: int = 0  # free text: values with a capitalised "Given Surname" pair, given name known


_PAIR = re.compile(rf"(?<![\w.])([{_U}][{_L}'’-]+)\s+[{_U}][{_L}'’-]+")


def text_name_candidates(values: Sequence[str], limit: int) -> int:
    """How many of the first `limit` free-text values hold a capitalised word pair whose first word
    is a known given name (`… with Mary Hughes about …`): the cheap test that decides whether the
    text is worth NER's time at all."""
    g = gazetteer()
    return sum(any(g.is_first(m.group(1)) for m in _PAIR.finditer(v)) for v in values[:limit])


def _given_known(full: str) -> bool:
    """A "First [Middle] Last" item whose first word is a known given name."""
    words = _TITLE.sub("", full.strip()).split()
    return 2 <= len(words) <= 4 and words[0][:1].isupper() and gazetteer().is_first(words[0])


def _given_surname(full: str) -> bool:
    """A "First [Middle] Last" item whose first word is a known given name and last a known surname."""
    words = _TITLE.sub("", full.strip()).split()
    return _given_known(full) and words[-1][:1].isupper() and gazetteer().is_last(words[-1])


# Other scripts (issue 26). Titles and honorifics taken off first; particles (bin, ibn, al, abu)
# are parts of a name, not names; Cyrillic patronymics (Аскольдовна, Петрович) count as name words.
_SCRIPT_TITLE = re.compile(
    r"^(?:г-н|г-ца|г-жа|господин|госпожа|пан|пані|κ\.|κα\.?|κος|κυρία|κύριος|السيد|السيدة|الدكتور|الدكتورة|د\.|"
    r"الأستاذ|الشيخ|آقای|خانم|دکتر|मिस्टर|श्री|श्रीमती|सुश्री|कुमारी|डॉ\.?|संमानित|मान्य|ד\"ר|מר|גב'|さん|様)\s*"
)
_PARTICLES = frozenset(fold(w) for w in ["bin", "ibn", "bint", "al", "el", "abu", "abd", "بن", "ابن", "بنت", "آل", "أبو",
                                         "ابو", "أبا", "عبد", "ben", "bat", "בן", "בת", "ال", "de", "van", "von"])
_PATRONYMIC = re.compile(r"(?:ович|евич|ьич|ич|овна|евна|ична|инична|івна|ївна|ьевна|ьевич)$")
_NISBA = re.compile(r"^ال\w{3,}$")  # an Arabic family name with the article (العتيبي, القحطاني) after a given name
_HONORIFIC_SUFFIX = re.compile(r"(?:जी|さん|様|씨|님)$")
_SEPARATORS = re.compile(r"[\s·・,،]+")


def _cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uac00" <= c <= "\ud7a3"


def _cased_script(word: str) -> bool:
    """A word of a script with capitals (Cyrillic, Greek): names are capitalised there."""
    return word[:1].isupper() or not word[:1].islower()


def script_name(value: str) -> bool:
    """A person's full name in a non-Latin script, read with the gazetteer: CJK written without a
    space, family name first (`刘凤兰`, `권영자`: a known surname of 1-2 characters, then a known
    given name or one made of characters seen in given names); otherwise 2-6 words (`前田 舞`,
    `Осипова Наина Аскольдовна`, `أفراح آل محمد بن علي`, `इन्दिरा मैती`), particles aside, with a
    known given name among the first two and another word that is a known name or a patronymic."""
    text = value.strip()
    if text.isascii():
        return False
    text = _SCRIPT_TITLE.sub("", text)
    g = gazetteer()
    words = [_HONORIFIC_SUFFIX.sub("", w) or w for w in _SEPARATORS.split(text) if w]
    if len(words) == 1:
        w = words[0]
        if 2 <= len(w) <= 4 and all(_cjk(c) for c in w):
            for k in (1, 2):
                family, given = w[:k], w[k:]
                if 1 <= len(given) <= 2 and g.is_last(family) and (g.is_first(given) or g.given_chars(given)):
                    return True
        return False
    if not 2 <= len(words) <= 8 or any(not (w[:1].isalpha() and all(c.isalpha() or c in "-'’." or not c.isascii() and not c.isdigit() for c in w)) for w in words):
        return False
    names = [w for w in words if fold(w) not in _PARTICLES]
    if len(names) < 2 or not all(_cased_script(w) for w in names):
        return False
    given = [i for i, w in enumerate(names[:2]) if any(g.is_first(p) for p in (w, *w.split("-")))]
    if not given:
        return False
    others = [w for i, w in enumerate(names) if i != given[0]]
    return any(g.is_name(w) or any(g.is_name(p) for p in w.split("-")) or _PATRONYMIC.search(w.lower())
               or _NISBA.match(w) for w in others)


def _single_word(text: str) -> bool:
    """One word: capitalised Latin (`_SINGLE`), or letters of another script (no spaces)."""
    if _SINGLE.match(text):
        return True
    head, _, rest = text.partition(" ")
    if rest and " " not in rest and fold(head) in _PARTICLES:
        text = rest  # آل سعود, أبو الخيل, бен: a surname with its particle is one name
    return not text.isascii() and " " not in text and text[:1].isalpha() and _cased_script(text) and not any(
        c.isdigit() for c in text)


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
    single = known_first = known_any = comma = caps = lists = given = surname = script = 0
    for value in vals:
        text = _as_written(value, person_header)
        words = text.replace(",", " ").split()
        if "," not in text and _given_known(text):
            given += 1
            surname += _given_surname(text)
        if _single_word(text):
            single += 1
            known_first += g.is_first(text)
        if not text.isascii():
            script += script_name(text)  # also one "word": CJK names are written without a space
        known_any += g.is_name(text) or any(g.is_name(w) for w in words)
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
                     surname / n, script / n)
