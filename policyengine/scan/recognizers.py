"""Pattern recognizers and value-shape statistics, evaluated column-wise with pyarrow.compute.

Every regex runs through pyarrow's compute kernels, which use RE2: matching is linear-time and
cannot backtrack, so neither a built-in nor a user-supplied pattern can hang a scan. Python only
touches the (few) matched substrings, to validate them (`validators`). Counting is per *distinct*
value, so a value repeated a thousand times is one piece of evidence, not a thousand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policyengine.scan import validators as v
from policyengine.scan.arrays import bool_numpy, int64_array, int_numpy, string_array
from policyengine.scan.entities import ADDRESS_LINE, PRECEDENCE, Recognizer
from policyengine.scan.normalise import decode_base64, normalise
from policyengine.scan.redact import redact

MAX_CHECKS = 300  # validated candidates per recognizer and column (bounds the Python work)
MAX_EXAMPLES = 2
EARLY_STOP = 60  # candidates checked without one success: the recognizer gives up on the column


@dataclass(frozen=True)
class EntityHits:
    """What the recognizers of one entity found in a column's distinct sampled values."""

    entity: str
    whole: int  # values that are, as a whole, a validated match
    whole_weak: int  # whole-value matches that only pass a weaker check (a "possible" phone)
    embedded: int  # values holding a validated match inside longer text
    checked: int  # distinct values the counts refer to
    validated: bool
    examples: tuple[str, ...] = ()  # redacted
    min_share: float | None = None  # a custom recognizer's own threshold (`min_share` in its config)


@dataclass(frozen=True)
class Shape:
    """Value-shape statistics of a column's distinct sampled values."""

    sampled: int
    distinct: int
    median_tokens: float = 0.0
    alpha: float = 0.0  # share of values made of letters (and spaces, . ' - , &)
    capitalized: float = 0.0  # share starting with an upper-case letter
    digits_only: float = 0.0
    max_digits: int = 0
    lookalikes: Mapping[str, float] = field(default_factory=dict)


_LOOKALIKES = {
    "uuid": r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
    "hex": r"(?i)^(?:0x)?[0-9a-f]{16,}$",
    "temporal": r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|[AaPp][Mm])?)?$"
    r"|^\d{1,2}:\d{2}(?::\d{2})?$",
    "version": r"(?i)^v?\d{1,4}(?:\.\d{1,4}){1,3}(?:[-+][0-9a-z.]+)?$",
    "version3": r"(?i)^v?\d{1,4}\.\d{1,4}(?:\.\d{1,4})?(?:[-+][0-9a-z.]+)?$",
    "decimal": r"^[-+]?\d+[.,]\d{1,4}$",
    "amount": r"^[-+]?\s?(?:[$€£¥₹]|[A-Z]{3}\s)\s?[-+]?\d[\d,.' ]*$|^[-+]?\d[\d,.' ]*\s?(?:[$€£¥₹%]|\s[A-Z]{3})$|^[-+]?\d{1,3}(?:[,.' ]\d{3})*[.,]\d{1,2}$",
    "code": r"^[A-Za-z0-9]+(?:[-_/.:#][A-Za-z0-9]+)*$",
    "short_code": r"^[A-Z]{1,3}$",
    "numeric": r"^[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?$",
    "boolean": r"(?i)^(?:true|false|yes|no|y|n|t|f|0|1|ja|nein|si|sí|oui|non)$",
    # a payment card's shape, whatever its check digit: 4×4 groups, Amex 4-6-5, 13-19 bare digits
    "card_shape": r"^\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}$|^\d{4}[ -]\d{6}[ -]\d{4,5}$|^\d{13,19}$",
    # a legal form (Müller GmbH, Joly SA, Grupo Elorza S.L., Angeli e figli s.r.l., Kim and Sons) or a
    # list of surnames joined by a conjunction (Silva, Morris and Jackson): an organisation, not a person
    "company": r"(?i)(?:^|[\s,(])(?:gmbh|mbh|ag|kg|kgaa|ohg|gbr|ug|e\.\s?v|sa|s\.a|sarl|sas|sasu|eurl|snc|sl|s\.l|slu|"
    r"s\.l\.u|s\.\s?coop|coop|spa|s\.p\.a|srl|s\.r\.l|s\.n\.c|bv|b\.v|nv|n\.v|vof|ltd|limited|llc|inc|plc|corp|"
    r"llp|lp|pty|group|grupo|gruppo|holding|e\s+figli|and\s+sons|&\s+sons|e\s+hijos|et\s+fils|&\s+co)\.?(?:$|[\s,)])"
    r"|^\p{L}[\p{L}'’-]*,\s+\p{L}[\p{L}'’ -]*\s(?:and|und|et|y|e|en|&)\s+\p{L}",
}
_DATE_PREFIX = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _np(mask: pa.Array) -> np.ndarray:
    return bool_numpy(mask)


_INTEGRAL_FLOAT = re.compile(r"^[-+]?\d+\.0+$")


def distinct_values(values: Sequence[str]) -> list[str]:
    """Trimmed, non-empty, de-duplicated values in sample order, normalised (`normalise`: NFKC,
    invisible characters removed, digits of every script as ASCII, Latin look-alikes folded
    inside Latin words; a whole base64 value of printable text read as that text) once here, before
    every recognizer, the name statistics and NER.

    A column whose every value is an integral float written as text (`3614299200.0`: a CSV
    exported from a float column) reads as integers, as a float column's values already do.
    """
    out = list(dict.fromkeys(s for s in (decode_base64(normalise(x).strip()) for x in values) if s))
    if out and all(_INTEGRAL_FLOAT.match(x) for x in out):
        out = list(dict.fromkeys(x[: x.index(".")] for x in out))
    return out


class MatchTable:
    """Every regex of the scan run once over the distinct values of *all* columns at once.

    Compiling an RE2 program costs more than running it over a few hundred values, so the values
    of every column are concatenated into one Arrow array; each look-alike and recognizer
    pattern is applied once, and per-column views are slices of the results.
    """

    def __init__(self, columns: Sequence[Sequence[str]], recognizers: Sequence[Recognizer]) -> None:
        self.recognizers = tuple(recognizers)
        self.flat: list[str] = [x for col in columns for x in col]
        self.bounds = np.cumsum([0] + [len(c) for c in columns])
        arr = string_array(self.flat)
        self.looks = {name: _np(pc.match_substring_regex(arr, pat)) for name, pat in _LOOKALIKES.items()}
        has_digit = _np(pc.match_substring_regex(arr, r"\d"))
        has_alpha = _np(pc.match_substring_regex(arr, r"\p{L}"))
        self.looks["code"] &= has_digit & has_alpha
        nanp_dots = _np(pc.match_substring_regex(arr, r"^\(?\d{3}\)?\.\d{3}\.\d{4}$"))
        self.looks["version"] &= ~nanp_dots  # 555.555.1234 is a US phone, not a version
        self.looks["version3"] &= ~nanp_dots
        # IPv4-shaped values whose four parts are all <= 99: versions (7.3.1.42), not addresses
        self.looks["small_quad"] = _np(pc.match_substring_regex(arr, r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.\d{1,2}$"))
        self.looks["ipv4"] = _np(pc.match_substring_regex(arr, r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"))
        self.looks["hex"] &= _np(pc.match_substring_regex(arr, "(?i)[a-f]"))
        web = _np(pc.match_substring_regex(arr, r"(?i)@|://|\bwww\."))
        self.looks["address_line"] = _np(pc.match_substring_regex(arr, ADDRESS_LINE)) & ~web
        self.pure = _np(pc.match_substring_regex(arr, r"^\d+$"))
        self.looks["gtin"] = np.array([p and v.gtin_ok(x) for p, x in zip(self.pure, self.flat, strict=True)], dtype=bool)
        # letters and their marks (Devanagari vowel signs, Arabic vowels), spaces and name punctuation
        self.alpha = _np(pc.match_substring_regex(arr, r"^\p{L}[\p{L}\p{M}\s'’.,&\-]*$"))
        # letters, none of them Latin (Cyrillic, Greek, Han, Arabic …): no text for the English model
        self.looks["non_latin"] = has_alpha & ~_np(pc.match_substring_regex(arr, r"\p{Latin}"))
        self.capital = _np(pc.match_substring_regex(arr, r"^\p{Lu}"))
        if len(arr):
            self.tokens = int_numpy(pc.list_value_length(pc.utf8_split_whitespace(arr)))
            self.ndigits = int_numpy(pc.utf8_length(pc.replace_substring_regex(arr, r"\D", "")))
        else:
            self.tokens = self.ndigits = np.zeros(0, dtype=np.int64)
        # recognizer name → (sorted flat indices of matches, matched texts)
        self.matches: dict[str, tuple[np.ndarray, list[str]]] = {}
        for rec in self.recognizers:
            if rec.whole_only:
                idx = np.flatnonzero(_np(pc.match_substring_regex(arr, rec.pattern)))
                texts = [self.flat[i] for i in idx]
            else:
                # a value without a match is a null *struct*; its child field is not null (it reads "")
                if len(arr):
                    result = pc.extract_regex(arr, f"(?P<m>{rec.pattern})")
                    idx = _np(result.is_valid()).nonzero()[0]
                    texts = pc.take(result.field("m"), int64_array(idx)).to_pylist() if len(idx) else []
                else:
                    idx, texts = np.zeros(0, dtype=np.int64), []
            self.matches[rec.name] = (idx, texts)

    def values(self, ci: int) -> list[str]:
        """The distinct values of column `ci`."""
        return self.flat[int(self.bounds[ci]) : int(self.bounds[ci + 1])]

    def shape(self, ci: int, sampled: int) -> Shape:
        """Shape statistics and look-alike shares (UUIDs, hashes, dates, versions, amounts, codes…)."""
        lo, hi = int(self.bounds[ci]), int(self.bounds[ci + 1])
        n = hi - lo
        if n == 0:
            return Shape(sampled, 0)
        return Shape(
            sampled=sampled,
            distinct=n,
            median_tokens=float(np.median(self.tokens[lo:hi])),
            alpha=float(self.alpha[lo:hi].mean()),
            capitalized=float(self.capital[lo:hi].mean()),
            digits_only=float(self.pure[lo:hi].mean()),
            max_digits=int(self.ndigits[lo:hi].max()),
            lookalikes={k: float(m[lo:hi].mean()) for k, m in self.looks.items()},
        )

    def hits(self, ci: int, hinted: frozenset[str] = frozenset(), skip: frozenset[str] = frozenset()) -> tuple[EntityHits, ...]:
        """Validated hits per entity for column `ci`.

        `hinted`: entities the column name suggests (enables `needs_hint` recognizers);
        `skip`: entities not to evaluate (the data-type gate).
        """
        lo, hi = int(self.bounds[ci]), int(self.bounds[ci + 1])
        if hi == lo:
            return ()
        tally = _ColumnTally(hi - lo)
        for rec in self._recognizers_for(lo, hi, hinted, skip):
            if not rec.builtin:
                tally.shares[rec.entity] = min(tally.shares.get(rec.entity, 1.0), rec.min_share)
            self._count(rec, lo, hi, "PHONE_NUMBER" in hinted, tally)
        return tally.entity_hits()

    def _recognizers_for(self, lo: int, hi: int, hinted: frozenset[str], skip: frozenset[str]) -> list[Recognizer]:
        """The recognizers that apply to the column [lo, hi), in precedence order: not gated out by
        type, by a missing name hint, or (phones) by a column of dates, barcodes or versions."""
        order = {e: i for i, e in enumerate(PRECEDENCE)}
        looks_vetoed = max(float(self.looks[k][lo:hi].mean()) for k in ("temporal", "gtin", "version", "uuid", "hex")) >= 0.5
        out = []
        for rec in sorted(self.recognizers, key=lambda r: order.get(r.entity, len(order))):
            if rec.entity in skip or (rec.needs_hint and rec.entity not in hinted):
                continue
            if rec.validator == "phone" and looks_vetoed:
                continue  # a column of dates, barcodes or versions is not checked for phones
            out.append(rec)
        return out

    def _count(self, rec: Recognizer, lo: int, hi: int, phone_hint: bool, tally: _ColumnTally) -> None:
        """Validate one recognizer's matches in the column [lo, hi) and add them to `tally`."""
        n = hi - lo
        idx, texts = self.matches[rec.name]
        a, b = np.searchsorted(idx, lo), np.searchsorted(idx, hi)
        tally.open(rec)
        checks = found = 0
        limit = n  # values examined: fewer when the check budget runs out
        phone = rec.validator == "phone"
        national: dict[int, str] = {}  # unhinted national-format phones waiting for support
        strong = 0  # whole values written unmistakably as phones (+…, trunk 0, NANP)
        for j in range(a, b):
            i = int(idx[j]) - lo
            text = texts[j]
            value = self.flat[lo + i]
            whole = _whole(text, value)
            if i in tally.claimed:
                continue  # a value that is wholly an IBAN holds no card or phone inside
            start = 0
            if not whole:  # an in-text match glued to other characters (a digit run in a code, an e-mail host) is none
                start = value.find(text)
                before = value[start - 1] if start > 0 else " "
                after = value[start + len(text)] if start + len(text) < len(value) else " "
                if before.isalnum() or after.isalnum() or before in "@./" or after in "@":
                    continue
                if _in_digit_groups(value, start, start + len(text)):
                    continue  # "1Z 3A4 934 56 7890 123 4": a part of a longer grouped number
            checks += 1
            if checks > MAX_CHECKS or (checks > EARLY_STOP and not found):
                limit = i  # the share is taken over the values before this one
                break
            if phone:
                grade, form = _phone_grade(text, whole, phone_hint, value[max(0, start - _CUE_WINDOW):start])
                if whole and grade and form in _STRONG_FORMS:
                    strong += 1
                if grade == 3:  # valid, but written like an id too: only next to clear phones
                    found += 1
                    national[i] = text
                    continue
            elif rec.validator == "ip" and not whole and _VERSION_CUE.search(value[max(0, start - _CUE_WINDOW):start]):
                continue  # "firmware 1.2.3.4": a version, not an address
            else:
                grade = _validate(rec, text)
            if grade == 0:
                continue
            found += 1
            tally.add(rec.entity, i, text, whole, grade)
        if national and strong >= NATIONAL_SUPPORT * min(limit, n):
            for i, text in national.items():
                tally.add(rec.entity, i, text, True, 2)
        tally.limits[rec.entity] = min(tally.limits.get(rec.entity, n), max(limit, 1))


def _whole(text: str, value: str) -> bool:
    """Whether a match is the whole value, give or take one mark that is not a letter or digit at
    either end (`0301234567.`, `'0301234567`): `E09000033` (a code) holds the number `09000033`,
    it is not one."""
    if text == value:
        return True
    if len(text) != len(value) - 1:
        return False
    return (value.startswith(text) and not value[-1].isalnum()) or (value.endswith(text) and not value[0].isalnum())


def _in_digit_groups(value: str, start: int, end: int) -> bool:
    """Whether the number at value[start:end] continues its own grouping into a neighbouring group
    that holds a digit (`1Z 3A4 934 56 7890 123 4`: spaces inside, a space, then `3A4`): then it is
    a piece of a longer grouped number (a tracking, reference or account number), not a number of
    its own. Another separator (`123-45-6789 90210`, `123-45-6789 234-56-7890`) is a new number."""
    text = value[start:end]
    if not (text[:1].isdigit() and text[-1:].isdigit()):
        return False
    inner = {c for c in text if c in " -"}
    if start >= 2 and value[start - 1] in inner:
        left = _GROUP_SPLIT.split(value[: start - 1])[-1]
        if any(c.isdigit() for c in left):
            return True
    if end + 1 < len(value) and value[end] in inner:
        right = _GROUP_SPLIT.split(value[end + 1 :])[0]
        if any(c.isdigit() for c in right):
            return True
    return False


_GROUP_SPLIT = re.compile(r"[\s-]")


class _ColumnTally:
    """Per entity, which distinct values of one column matched whole (validated or weakly) or
    inside text; the values claimed whole so far; examples; validation; check limits."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.claimed: set[int] = set()
        self.per_entity: dict[str, dict[str, set[int]]] = {}
        self.examples: dict[str, list[str]] = {}
        self.validated: dict[str, bool] = {}
        self.limits: dict[str, int] = {}
        self.shares: dict[str, float] = {}

    def open(self, rec: Recognizer) -> None:
        """Start counting for the recognizer's entity (its sets are shared by its recognizers)."""
        self.validated[rec.entity] = self.validated.get(rec.entity, False) or rec.validator is not None
        self.per_entity.setdefault(rec.entity, {"whole": set(), "weak": set(), "embedded": set()})
        self.examples.setdefault(rec.entity, [])

    def add(self, entity: str, i: int, text: str, whole: bool, grade: int) -> None:
        """Value `i` matched `entity` with `grade` (2 validated, 1 weak); a validated whole match
        claims the value for this entity."""
        slot = self.per_entity[entity]
        if whole:
            (slot["whole"] if grade == 2 else slot["weak"]).add(i)
            if grade == 2:
                self.claimed.add(i)
        elif grade == 2:
            slot["embedded"].add(i)
        ex = self.examples[entity]
        if grade == 2 and len(ex) < MAX_EXAMPLES:
            ex.append(redact(text))

    def entity_hits(self) -> tuple[EntityHits, ...]:
        """The counts per entity, each over the values before its check limit."""
        out = []
        for entity, slot in self.per_entity.items():
            m = self.limits.get(entity, self.n)
            whole = {i for i in slot["whole"] if i < m}
            weak = {i for i in slot["weak"] if i < m} - whole
            emb = {i for i in slot["embedded"] if i < m} - whole
            if not (whole or weak or emb):
                continue
            out.append(EntityHits(entity, len(whole), len(weak), len(emb), m, self.validated[entity],
                                  tuple(self.examples[entity]), self.shares.get(entity)))
        return tuple(out)


_STRONG_FORMS = frozenset({"intl", "trunk", "nanp"})
NATIONAL_SUPPORT = 0.2  # share of clear phones that lets bare / grouped national numbers count
_CUE_WINDOW = 30  # characters before an in-text match searched for a cue word
_PHONE_CUE = re.compile(
    r"(?i)(?:^|\W)(?:call\w*|phone\w*|tel|tel[eé]\w*|mobile?|mob|cell\w*|fax|ring\w*|contact\w*|reach\w*|"
    r"whatsapp|sms|dial\w*|hotline|anruf\w*|rückruf\w*|rufnummer|handy|appel\w*|portable|llam\w*|m[óo]vil|"
    r"chiam\w*|cellulare|gebeld|bel|bellen)(?:\W|$)"
)
_VERSION_CUE = re.compile(r"(?i)(?:^|[^\w])(?:v|ver|version|firmware|fw|build|release|rev|revision|update|upgrade|patch|sdk|os)\W*$")


def _phone_grade(text: str, whole: bool, hinted: bool, before: str) -> tuple[int, str]:
    """(grade, form) of a phone candidate: 2 valid, 1 possible, 3 valid but only if the column
    also holds clear phones, 0 rejected. Random digit strings are valid numbers in some of the
    27 regions most of the time, so the way a number is written decides first (`phone_form`):
    bare digits, trunk-less groups and two-part numbers (ids, years, tax numbers, `123 456 789`,
    `2019/2020`) need a phone-like column name or clear phones beside them; in free text a number needs '+', a trunk 0, NANP
    grouping or a cue word ("call", "tel", "mobile", …) just before it."""
    if _DATE_PREFIX.match(text) or ("." in text and "/" in text):
        return 0, "other"  # a date, or a registry number written with dots and a slash (CNPJ 12.345.678/0001-95)
    form = v.phone_form(text)
    if not whole:
        if form in _STRONG_FORMS or _PHONE_CUE.search(before):
            return (2 if v.phone_kind(text) == 2 else 0), form
        return 0, form
    if form in _STRONG_FORMS:
        return v.phone_kind(text), form
    kind = v.phone_kind(text)
    if hinted:
        return (kind if form in ("grouped", "other") else (2 if kind == 2 else 0)), form
    if kind == 2:  # bare, grouped or other (333 1234567): only next to clear phones
        return 3, form
    return 0, form


def _validate(rec: Recognizer, text: str) -> int:
    """2 = validated, 1 = weak (a "possible" phone), 0 = rejected."""
    if rec.validator is None:
        return 2
    if rec.validator == "phone":
        if _DATE_PREFIX.match(text):
            return 0
        kind = v.phone_kind(text)
        if kind and v.digits(text) == text.strip():  # bare digits: only a valid number counts
            return 2 if kind == 2 else 0
        return kind
    if rec.validator == "url":
        host = re.sub(r"(?i)^(?:https?://)?", "", text).split("/")[0].split("?")[0].split(":")[0]
        return 2 if v.domain_ok(host) else 0
    fn = v.VALIDATORS.get(rec.validator)
    return 2 if fn is None or fn(text) else 0


def check_pattern(pattern: str) -> str | None:
    """None when `pattern` compiles under RE2, else the error (one line)."""
    try:
        pc.match_substring_regex(string_array(["x"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).splitlines()[0]
    return None
