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
from policyengine.scan.redact import redact

MAX_CHECKS = 300  # validated candidates per recognizer and column (bounds the Python work)
MAX_EXAMPLES = 2
EARLY_STOP = 60  # candidates checked without one success: the recognizer gives up on the column


@dataclass(frozen=True)
class Recognizer:
    """A regex (RE2) that finds candidates in a value, and an optional validator for them.

    `whole_only`: only values that are, as a whole, a match count (addresses, custom codes).
    `needs_hint`: the recognizer counts only for columns whose name suggests its entity (bare
    9-digit SSNs, NHS numbers: too many innocent numbers have that shape).
    `names`: extra column-name hints (custom recognizers).
    """

    name: str
    entity: str
    pattern: str
    validator: str | None = None
    whole_only: bool = False
    needs_hint: bool = False
    names: tuple[str, ...] = ()
    tag: str | None = None
    min_share: float = 0.5
    builtin: bool = True


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


_STREET_WORDS = (
    "street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|sq|"
    "terrace|crescent|close|way|highway|hwy|parkway|pkwy|row|mews|gardens|grove|hill|park|"
    "straße|strasse|str|gasse|weg|allee|platz|ring|damm|ufer|"
    "rue|chemin|impasse|allée|quai|cours|route|"
    "calle|c/|avenida|avda|plaza|paseo|camino|carrer|ronda|travesía|"
    "via|viale|piazza|corso|vicolo|largo|strada|"
    "straat|laan|plein|gracht|kade|singel|dijk|steeg"
)
_COMPOUND = "straße|strasse|str\\.|gasse|weg|allee|platz|straat|laan|plein|gracht|kade|singel|dijk|steeg"

BUILTIN: tuple[Recognizer, ...] = (
    Recognizer("iban", "IBAN_CODE", r"(?i)\b[a-z]{2}\d{2}(?:[ -]?[a-z0-9]{4}){2,7}(?:[ -]?[a-z0-9]{1,4})?\b", "iban"),
    Recognizer("credit_card", "CREDIT_CARD", r"\b(?:\d[ -]?){11,18}\d\b", "card"),
    Recognizer("us_ssn", "US_SSN", r"\b\d{3}[- .]\d{2}[- .]\d{4}\b", "ssn"),
    Recognizer("us_ssn_bare", "US_SSN", r"^\d{9}$", "ssn", whole_only=True, needs_hint=True),
    Recognizer("uk_nino", "UK_NINO", r"(?i)\b[a-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[a-d]\b", "nino"),
    Recognizer("es_nif", "ES_NIF", r"(?i)\b(?:\d{8}|[xyz]\d{7})-?[a-z]\b", "nif"),
    Recognizer("it_fiscal_code", "IT_FISCAL_CODE", r"(?i)\b[a-z]{6}[0-9lmnp-v]{2}[a-z][0-9lmnp-v]{2}[a-z][0-9lmnp-v]{3}[a-z]\b", "it_fiscal_code"),
    Recognizer(
        "email",
        "EMAIL_ADDRESS",
        r"(?i)[a-z0-9!#$%&'*+/=?^_{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
        "email",
    ),
    Recognizer("url", "URL", r"(?i)\b(?:https?://|www\.)[a-z0-9.-]+\.[a-z]{2,24}(?:[/?#][^\s<>\"']*)?", "url"),
    Recognizer(
        "ip",
        "IP_ADDRESS",
        r"(?i)\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b"
        r"|(?:[0-9a-f]{1,4}|:)(?::[0-9a-f]{0,4}){2,7}",
        "ip",
    ),
    Recognizer("uk_nhs", "UK_NHS", r"^\d{3}[ -]?\d{3}[ -]?\d{4}$", "nhs", whole_only=True, needs_hint=True),
    Recognizer(
        "phone",
        "PHONE_NUMBER",
        r"(?i)(?:\+\s?|\(\+?)?\d[\d ().\-/]{5,22}\d(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?",
        "phone",
    ),
    Recognizer(
        "postal_code",
        "LOCATION",
        r"(?i)^(?:\d{4,5}(?:-\d{4})?|[a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}|\d{4} ?[a-z]{2}|[a-z]\d[a-z] ?\d[a-z]\d|\d{2}-\d{3}|\d{3} ?\d{2})$",
        None,
        whole_only=True,
        needs_hint=True,
    ),
    Recognizer(
        "street_address",
        "LOCATION",
        r"^\d{1,6}[A-Za-z]?(?:[-/]\d{1,4})?,?\s+\p{Lu}[\p{L}'’.\-]*(?:\s+[\p{L}\d][\p{L}\d'’.\-#]*){1,8}(?:\s*,.*)?$"
        r"|(?i)^.*\b(?:" + _STREET_WORDS + r")\b\.?\s*\d.*$"
        r"|(?i)^\d.*\b(?:" + _STREET_WORDS + r")\b.*$"
        r"|(?i)^.*\p{L}{3,}(?:" + _COMPOUND + r")\s*\d.*$",
        None,
        whole_only=True,
    ),
)

# The order in which a whole value is claimed: a value validated as an IBAN is not also counted
# as a phone number, a card is not a phone, and so on.
PRECEDENCE = (
    "IBAN_CODE", "CREDIT_CARD", "US_SSN", "UK_NINO", "ES_NIF", "IT_FISCAL_CODE", "EMAIL_ADDRESS",
    "URL", "IP_ADDRESS", "UK_NHS", "PHONE_NUMBER", "LOCATION",
)

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
}
_DATE_PREFIX = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _np(mask: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def distinct_values(values: Sequence[str]) -> list[str]:
    """Trimmed, non-empty, de-duplicated values in sample order."""
    return list(dict.fromkeys(s for s in (x.strip() for x in values) if s))


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
        arr = pa.array(self.flat, type=pa.string())
        self.looks = {name: _np(pc.match_substring_regex(arr, pat)) for name, pat in _LOOKALIKES.items()}
        has_digit = _np(pc.match_substring_regex(arr, r"\d"))
        has_alpha = _np(pc.match_substring_regex(arr, r"\p{L}"))
        self.looks["code"] &= has_digit & has_alpha
        self.looks["hex"] &= _np(pc.match_substring_regex(arr, "(?i)[a-f]"))
        self.pure = _np(pc.match_substring_regex(arr, r"^\d+$"))
        self.looks["gtin"] = np.array([p and v.gtin_ok(x) for p, x in zip(self.pure, self.flat, strict=True)], dtype=bool)
        self.alpha = _np(pc.match_substring_regex(arr, r"^\p{L}[\p{L}\s'’.,&\-]*$"))
        self.capital = _np(pc.match_substring_regex(arr, r"^\p{Lu}"))
        if len(arr):
            self.tokens = pc.list_value_length(pc.utf8_split_whitespace(arr)).to_numpy(zero_copy_only=False)
            self.ndigits = pc.utf8_length(pc.replace_substring_regex(arr, r"\D", "")).to_numpy(zero_copy_only=False)
        else:
            self.tokens = self.ndigits = np.zeros(0, dtype=np.int64)
        # recognizer name → (sorted flat indices of matches, matched texts)
        self.matches: dict[str, tuple[np.ndarray, list[str]]] = {}
        for rec in self.recognizers:
            if rec.whole_only:
                idx = np.flatnonzero(_np(pc.match_substring_regex(arr, rec.pattern)))
                texts = [self.flat[i] for i in idx]
            else:
                found = pc.extract_regex(arr, f"(?P<m>{rec.pattern})").field("m") if len(arr) else pa.array([], pa.string())
                idx = np.flatnonzero(np.asarray(found.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
                texts = pc.take(found, pa.array(idx, pa.int64())).to_pylist() if len(idx) else []
            self.matches[rec.name] = (idx, texts)

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
        n = hi - lo
        if n == 0:
            return ()
        claimed: set[int] = set()
        per_entity: dict[str, dict[str, set[int]]] = {}
        examples: dict[str, list[str]] = {}
        validated: dict[str, bool] = {}
        limits: dict[str, int] = {}
        order = {e: i for i, e in enumerate(PRECEDENCE)}
        looks_vetoed = max(float(self.looks[k][lo:hi].mean()) for k in ("temporal", "gtin", "version", "uuid", "hex")) >= 0.5
        for rec in sorted(self.recognizers, key=lambda r: order.get(r.entity, len(order))):
            if rec.entity in skip or (rec.needs_hint and rec.entity not in hinted):
                continue
            if rec.validator == "phone" and looks_vetoed:
                continue  # a column of dates, barcodes or versions is not checked for phones
            idx, texts = self.matches[rec.name]
            a, b = np.searchsorted(idx, lo), np.searchsorted(idx, hi)
            slot = per_entity.setdefault(rec.entity, {"whole": set(), "weak": set(), "embedded": set()})
            validated[rec.entity] = validated.get(rec.entity, False) or rec.validator is not None
            ex = examples.setdefault(rec.entity, [])
            checks = found = 0
            limit = n  # values examined: fewer when the check budget runs out
            for j in range(a, b):
                i = int(idx[j]) - lo
                text = texts[j]
                value = self.flat[lo + i]
                whole = len(text) >= len(value) - 1  # allow one trailing punctuation mark
                if whole and i in claimed:
                    continue
                if not whole:
                    start = value.find(text)
                    before = value[start - 1] if start > 0 else " "
                    after = value[start + len(text)] if start + len(text) < len(value) else " "
                    if before.isalnum() or after.isalnum() or before in "@./" or after in "@":
                        continue
                checks += 1
                if checks > MAX_CHECKS or (checks > EARLY_STOP and not found):
                    limit = i  # the share is taken over the values before this one
                    break
                grade = _validate(rec, text)
                if grade == 0:
                    continue
                found += 1
                if whole:
                    (slot["whole"] if grade == 2 else slot["weak"]).add(i)
                    if grade == 2:
                        claimed.add(i)
                elif grade == 2:
                    slot["embedded"].add(i)
                if grade == 2 and len(ex) < MAX_EXAMPLES:
                    ex.append(redact(text))
            limits[rec.entity] = min(limits.get(rec.entity, n), max(limit, 1))
        out = []
        for entity, slot in per_entity.items():
            m = limits.get(entity, n)
            whole = {i for i in slot["whole"] if i < m}
            weak = {i for i in slot["weak"] if i < m} - whole
            emb = {i for i in slot["embedded"] if i < m} - whole
            if not (whole or weak or emb):
                continue
            out.append(EntityHits(entity, len(whole), len(weak), len(emb), m, validated[entity], tuple(examples[entity])))
        return tuple(out)


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
        pc.match_substring_regex(pa.array(["x"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).splitlines()[0]
    return None
