"""First names and surnames by country, from Faker's person providers (MIT licence).

Faker ships, for about 80 locales, the given names and surnames its generators draw from, most
of them taken from national statistics (census surname lists, registry first-name lists). They
are read once, lazily, from the installed package (no network, no file of ours) and folded to
lower case without accents. A name in the list is evidence, not proof: many surnames are also
words or places (Green, London, Hill), so a column needs a high share of known names, or a name
in the column's header, before the scanner believes it (see `classify`).

Why Faker: `names-dataset` (MIT) is 55 MB installed and needs 3.2 GB of RAM to load;
`gender-guesser`'s code is GPLv3 (this project is Apache-2.0) and it has no surnames.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_FIRST_ATTRS = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary")
_LAST_ATTRS = ("last_names", "last_names_male", "last_names_female")


@dataclass(frozen=True)
class Gazetteer:
    """Known given names and surnames, folded (`fold`)."""

    first: frozenset[str]
    last: frozenset[str]
    first_chars: frozenset[str] = frozenset()  # Han and Hangul characters of given names

    def given_chars(self, text: str) -> bool:
        """Every character of `text` (a CJK given name not in the list) is one seen in given names."""
        return bool(text) and all(c in self.first_chars for c in text)

    def is_first(self, word: str) -> bool:
        return fold(word) in self.first

    def is_last(self, word: str) -> bool:
        return fold(word) in self.last

    def is_name(self, word: str) -> bool:
        w = fold(word)
        return w in self.first or w in self.last


def fold(word: str) -> str:
    """Lower case, accents stripped, surrounding punctuation removed: `Zoë,` → `zoe`."""
    text = word.strip(" .,;:()\"'")
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


def _words(value: object) -> list[str]:
    if isinstance(value, dict):  # weighted lists (OrderedDict name → frequency): the names
        value = list(value)
    if not isinstance(value, (list, tuple, set, frozenset)):
        return []
    return [x for x in value if isinstance(x, str)]


def _folded(words: set[str]) -> set[str]:
    """`words` folded, in every script (each distinct word once: the locales repeat many). Names
    in Cyrillic, Greek, Hebrew, Arabic, Persian, Devanagari, Han, Kana and Hangul are kept since
    issue 26: a column of 氏名 or имя is read with them (`personnames`)."""
    return {fold(w) for w in words}


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer (loaded on first use, about 0.3 s; empty if Faker is not installed)."""
    try:
        import faker.providers.person as person
    except ImportError:  # pragma: no cover - Faker is a dependency
        return Gazetteer(frozenset(), frozenset())
    raw_first: set[str] = set()
    raw_last: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        except (ImportError, AttributeError):  # pragma: no cover - a locale without a provider
            continue
        attrs = vars(provider)
        for attr in _FIRST_ATTRS:
            raw_first.update(_words(attrs.get(attr, ())))
        for attr in _LAST_ATTRS:
            raw_last.update(_words(attrs.get(attr, ())))
    first, last = _folded(raw_first), _folded(raw_last)
    first.discard("")
    last.discard("")
    chars = {c for w in first for c in w if _cjk(c)}
    return Gazetteer(frozenset(first), frozenset(last), frozenset(chars))


def _cjk(c: str) -> bool:
    """A Han ideograph or a Hangul syllable (names written without spaces)."""
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uac00" <= c <= "\ud7a3"
