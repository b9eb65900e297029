"""One Unicode normalisation of every sampled value, before any recognizer sees it.

Text that reads the same to a person can differ in its code points, and a regex sees the code
points: `4111\u200b1111…` (a zero-width space in a card number), `ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ`
(full-width), `jоhn@exаmple.com` (Cyrillic о and а), `٠٥٥١٢٣٤٥٦٧` (Arabic-Indic digits). Each
walked PII past the scan gate. `normalise` gives the recognizers, the name statistics and NER
the text a reader sees:

1. NFKC (full-width letters, digits and punctuation, ligatures, superscripts → their plain form);
2. invisible format characters removed (zero-width space, joiners, word joiner, BOM, soft hyphen,
   bidirectional marks and isolates: Unicode category Cf);
3. decimal digits of every script as ASCII digits (Arabic-Indic, Persian, Devanagari, Bengali,
   Thai, …: NFKC leaves them), so `phonenumbers`, Luhn and the patterns read them;
4. Cyrillic and Greek letters that look like Latin ones folded to Latin, only inside a word that
   also holds a Latin letter (`exаmple`): a word wholly in Cyrillic (`Иван`) is left alone.

A value that is wholly base64 of printable text (`am9obkBleGFtcGxlLmNvbQ==`) is read as that text
(`decode_base64`, called after `normalise`): PII stored encoded is still PII.

ASCII values (nearly all of them) are returned as they are after one `str.isascii` check, so the
cost is paid only by values that hold another character. Normalisation is for detection only:
nothing normalised is shown (evidence is redacted anyway).
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

# Format characters (Unicode category Cf: soft hyphen, Arabic number signs, zero-width space,
# joiners and non-joiners, bidirectional marks, embeddings and isolates, word joiner, invisible
# operators, BOM, interlinear annotation, tags) and variation selectors: invisible, removed.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufe00-\ufe0f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000e0100-\U000e01ef]"
)
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")  # a decimal digit of another script (Python's \d is Unicode)


def _ascii_digit(m: re.Match[str]) -> str:
    return str(unicodedata.decimal(m.group(0)))


# Cyrillic and Greek letters drawn like Latin ones (Unicode's confusables for these scripts,
# restricted to letters that are identical in common fonts)
_CONFUSABLE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y",
    "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W", "Һ": "H", "Ӏ": "I",
    "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ε": "e",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_CONFUSABLE_CHARS = frozenset(chr(k) for k in _CONFUSABLE)
_CONFUSABLE_RE = re.compile("[" + "".join(sorted(_CONFUSABLE_CHARS)) + "]")
# a "word" for folding: letters, digits and the marks that join an address or a domain
_WORD = re.compile(r"[\w.@+\-]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def _fold_word(m: re.Match[str]) -> str:
    word = m.group(0)
    if _LATIN_LETTER.search(word) and any(c in _CONFUSABLE_CHARS for c in word):
        return word.translate(_CONFUSABLE)
    return word


def normalise(value: str) -> str:
    """`value` as a reader sees it (see the module docstring); ASCII is returned unchanged."""
    if value.isascii():
        return value
    text = unicodedata.normalize("NFKC", value)
    if _INVISIBLE.search(text):
        text = _INVISIBLE.sub("", text)
    if _OTHER_DIGIT.search(text):
        text = _OTHER_DIGIT.sub(_ascii_digit, text)
    if _LATIN_LETTER.search(text) and _CONFUSABLE_RE.search(text):
        text = _WORD.sub(_fold_word, text)
    return text


_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$|^(?:[A-Za-z0-9_-]{4})+(?:[A-Za-z0-9_-]{2,3})?$")
BASE64_MIN = 12  # characters: shorter strings are words and codes more often than encodings


def decode_base64(value: str) -> str:
    """The text a base64 value encodes (`am9obkBleGFtcGxlLmNvbQ==` → `john@example.com`), or the
    value itself. Only a whole value of at least `BASE64_MIN` base64 characters (standard or
    URL-safe alphabet) that decodes to printable UTF-8 text of 4+ characters is decoded: random
    bytes (tokens, hashes, hex digests read as base64) decode to bytes that are not text, so they
    stay as they are."""
    if len(value) < BASE64_MIN or not _BASE64.match(value):
        return value
    padded = value + "=" * (-len(value) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if ("-" in value or "_" in value) else None, validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return value
    if len(text) < 4 or not all(c.isprintable() or c in "\t\n\r" for c in text):
        return value
    return normalise(text.strip()) or value
