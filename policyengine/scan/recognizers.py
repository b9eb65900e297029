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


_STREET_WORDS = (
    # English (USPS suffixes, as Faker and real US/UK data use them; plurals are allowed)
    "street|st|avenue|ave|av|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|square|sq|"
    "terrace|ter|crescent|cres|close|way|highway|hwy|parkway|pkwy|row|mews|garden|grove|hill|park|"
    "alley|aly|bridge|brook|burg|bypass|canyon|causeway|circle|cir|cliff|corner|cove|creek|crest|"
    "crossing|crossroad|curve|dale|estate|expressway|expy|extension|falls|ferry|field|flat|ford|"
    "forest|forge|fork|fort|freeway|fwy|gateway|glen|green|harbor|harbour|haven|heights|hollow|inlet|"
    "island|isle|junction|knoll|lake|landing|lodge|loop|mall|manor|meadow|mill|mission|motorway|"
    "mount|mountain|neck|orchard|oval|overpass|path|pike|pine|plain|plaza|point|port|prairie|ranch|"
    "ridge|river|route|shoal|shore|skyway|spur|station|stravenue|stream|summit|throughway|trace|"
    "track|trafficway|trail|trl|tunnel|turnpike|underpass|valley|via|viaduct|view|village|ville|vista|"
    "walk|wall|wynd|camp|cape|center|centre|divide|passage|radial|ramp|rapid|spring|common|course|lock|loaf|pass|"
    "club|union|key|light|well|dam|bluff|bend|beach|branch|"
    "straße|strasse|str|gasse|weg|allee|platz|ring|damm|ufer|"
    "rue|chemin|impasse|allée|quai|cours|"
    "calle|c/|avenida|avda|paseo|camino|carrer|ronda|travesía|"
    "viale|piazza|corso|vicolo|largo|strada|"
    "straat|laan|plein|gracht|kade|singel|dijk|steeg|dreef|hof|baan"
)
# Street words that come first, the number after: Calle Mayor, 12 · Via Roma 12 · Rue de Rivoli 12
_STREET_FIRST = (
    "calle|c/|c|avenida|avda|av|plaza|pza|paseo|camino|carrer|ronda|travesía|travesia|glorieta|rambla|vial|"
    "vía|acceso|alameda|callejón|callejon|cuesta|cañada|canada|pasaje|pasadizo|urbanización|urbanizacion|urb|"
    "carretera|ctra|senda|bulevar|"
    "via|viale|piazza|piazzale|corso|vicolo|largo|strada|contrada|borgo|rotonda|stretto|canale|incrocio|"
    "lungomare|salita|traversa|vico|"
    "rue|avenue|boulevard|bd|bvd|chemin|impasse|allée|allee|place|quai|cours|route|"
    "rua|praça|praca|travessa|ulica|ul"
)
_COMPOUND = (
    "straße|strasse|str\\.|gasse|weg|allee|platz|straat|laan|plein|gracht|kade|singel|dijk|steeg|"
    "gatan|gata|gate|vägen|vagen|vej|veien|vei|katu|ring|hof|baan|boulevard|dreef|pad|markt|wal"
)
_UNIT = "(?:flat|apt|apartment|unit|suite|ste|studio|wohnung|appartement|piso)\\.?\\s*[\\w-]+,?\\s+"
_HOUSE = r"\d{1,6}[a-z]?(?:[-/]\d{1,4})?,?\s+"

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
        r"(?i)[\p{L}\p{N}!#$%&'*+/=?^_{|}~.-]+@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
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
    Recognizer("de_tax_id", "DE_TAX_ID", r"^[1-9]\d ?\d{3} ?\d{3} ?\d{3}$", "de_tax_id", whole_only=True),
    Recognizer("nl_bsn", "NL_BSN", r"^\d{8,9}$|^\d{4}\.\d{2}\.\d{3}$", "nl_bsn", whole_only=True),
    Recognizer("fr_nir", "FR_NIR", r"(?i)^[1-478] ?\d{2} ?\d{2} ?(?:\d{2}|2[ab]) ?\d{3} ?\d{3} ?\d{2}$", "fr_nir", whole_only=True),
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
        # the number first, a street word somewhere after it (965 Elliott Ways Apt. 617, 12 rue de Rivoli)
        # (a flat or studio may stand in for the number: Flat 3, Buckley Skyway · Studio 8\nKing Ferry)
        r"(?is)^(?:" + _UNIT + r"(?:" + _HOUSE + r")?|" + _HOUSE + r")(?:\p{L}.*\s)?(?:" + _STREET_WORDS + r")s?\b.*$"
        # a street word, then the number (Main St. 5, Calle Mayor, 12, Piazza del Duomo, 5)
        r"|(?is)^.*\b(?:" + _STREET_WORDS + r")\b\.?\s*\d.*$"
        r"|(?is)^(?:" + _STREET_FIRST + r")\.?\s+\p{L}[\p{L}'’.\- ]*,?\s*(?:n[º°o.]?\s*)?\d{1,5}[a-z]?\b.*$"
        # German / Dutch compounds (Hauptstraße 5, Kerkstraat 12, Julianaboulevard 7)
        r"|(?is)^.*\p{L}{3,}(?:" + _COMPOUND + r")\s*\d.*$"
        # US military mail (Unit 8545 Box 6057, DPO AE 60995 · USNS Hall, FPO AE 97807)
        r"|(?i)^(?:unit|psc|usns|usnv|uss|uscgc)\b.*\b[adf]po\s+a[aep]\s+\d{5}$",
        None,
        whole_only=True,
    ),
)

# The order in which a whole value is claimed: a value validated as an IBAN is not also counted
# as a phone number, a card is not a phone, and so on.
PRECEDENCE = (
    "IBAN_CODE", "CREDIT_CARD", "US_SSN", "UK_NINO", "ES_NIF", "IT_FISCAL_CODE", "EMAIL_ADDRESS",
    "URL", "IP_ADDRESS", "DE_TAX_ID", "FR_NIR", "UK_NHS", "NL_BSN", "PHONE_NUMBER", "LOCATION",
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
    # a legal form (Müller GmbH, Joly SA, Grupo Elorza S.L., Angeli e figli s.r.l., Kim and Sons) or a
    # list of surnames joined by a conjunction (Silva, Morris and Jackson): an organisation, not a person
    "company": r"(?i)(?:^|[\s,(])(?:gmbh|mbh|ag|kg|kgaa|ohg|gbr|ug|e\.\s?v|sa|s\.a|sarl|sas|sasu|eurl|snc|sl|s\.l|slu|"
    r"s\.l\.u|s\.\s?coop|coop|spa|s\.p\.a|srl|s\.r\.l|s\.n\.c|bv|b\.v|nv|n\.v|vof|ltd|limited|llc|inc|plc|corp|"
    r"llp|lp|pty|group|grupo|gruppo|holding|e\s+figli|and\s+sons|&\s+sons|e\s+hijos|et\s+fils|&\s+co)\.?(?:$|[\s,)])"
    r"|^\p{L}[\p{L}'’-]*,\s+\p{L}[\p{L}'’ -]*\s(?:and|und|et|y|e|en|&)\s+\p{L}",
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
        nanp_dots = _np(pc.match_substring_regex(arr, r"^\(?\d{3}\)?\.\d{3}\.\d{4}$"))
        self.looks["version"] &= ~nanp_dots  # 555.555.1234 is a US phone, not a version
        self.looks["version3"] &= ~nanp_dots
        # IPv4-shaped values whose four parts are all <= 99: versions (7.3.1.42), not addresses
        self.looks["small_quad"] = _np(pc.match_substring_regex(arr, r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.\d{1,2}$"))
        self.looks["ipv4"] = _np(pc.match_substring_regex(arr, r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"))
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
        shares: dict[str, float] = {}
        order = {e: i for i, e in enumerate(PRECEDENCE)}
        looks_vetoed = max(float(self.looks[k][lo:hi].mean()) for k in ("temporal", "gtin", "version", "uuid", "hex")) >= 0.5
        for rec in sorted(self.recognizers, key=lambda r: order.get(r.entity, len(order))):
            if rec.entity in skip or (rec.needs_hint and rec.entity not in hinted):
                continue
            if rec.validator == "phone" and looks_vetoed:
                continue  # a column of dates, barcodes or versions is not checked for phones
            idx, texts = self.matches[rec.name]
            if not rec.builtin:
                shares[rec.entity] = min(shares.get(rec.entity, 1.0), rec.min_share)
            a, b = np.searchsorted(idx, lo), np.searchsorted(idx, hi)
            slot = per_entity.setdefault(rec.entity, {"whole": set(), "weak": set(), "embedded": set()})
            validated[rec.entity] = validated.get(rec.entity, False) or rec.validator is not None
            ex = examples.setdefault(rec.entity, [])
            checks = found = 0
            limit = n  # values examined: fewer when the check budget runs out
            phone = rec.validator == "phone"
            phone_hint = "PHONE_NUMBER" in hinted
            national: dict[int, str] = {}  # unhinted national-format phones waiting for support
            strong = 0  # whole values written unmistakably as phones (+…, trunk 0, NANP)
            for j in range(a, b):
                i = int(idx[j]) - lo
                text = texts[j]
                value = self.flat[lo + i]
                whole = len(text) >= len(value) - 1  # allow one trailing punctuation mark
                if i in claimed:
                    continue  # a value that is wholly an IBAN holds no card or phone inside
                start = 0
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
                if whole:
                    (slot["whole"] if grade == 2 else slot["weak"]).add(i)
                    if grade == 2:
                        claimed.add(i)
                elif grade == 2:
                    slot["embedded"].add(i)
                if grade == 2 and len(ex) < MAX_EXAMPLES:
                    ex.append(redact(text))
            if national and strong >= NATIONAL_SUPPORT * min(limit, n):
                for i, text in national.items():
                    slot["whole"].add(i)
                    claimed.add(i)
                    if len(ex) < MAX_EXAMPLES:
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
            out.append(EntityHits(entity, len(whole), len(weak), len(emb), m, validated[entity], tuple(examples[entity]),
                                  shares.get(entity)))
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
    if _DATE_PREFIX.match(text):
        return 0, "other"
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
        pc.match_substring_regex(pa.array(["x"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        return str(exc).splitlines()[0]
    return None
