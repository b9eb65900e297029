"""Deciding a column from combined evidence: value matches, column name, data type, NER.

`evidence()` turns a merged column sample into `ColumnEvidence` (pattern hits, value shape, name
prior); `needs_ner()` says whether the NER model should look at it; `decide()` is a pure function
from evidence to findings. The rules, learnt from other scanners' failures:
- evidence is the share of *distinct* sampled values a recognizer matched and validated;
- validated hits (Luhn + issuer range, mod-97, SSN rules, `phonenumbers`) weigh more than
  unvalidated patterns, and those more than NER guesses;
- NER must be corroborated across many distinct values and dominate the competing labels
  (a handful of "Safari = PERSON" guesses never tags a column);
- the column name is a prior that lowers the bar, never a verdict for pattern entities;
  negative cues (`_id`, `_verified`, `_count`, …) cancel it;
- a data-type gate: booleans and small integers are never PII, dates only birth dates;
- look-alikes (versions vs IPv4, barcodes vs phones, timestamps vs phones) veto;
- free text that sometimes holds an e-mail or phone gets those entities, with their prevalence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from policyengine.scan.entities import BUILTIN, NUMERIC_ENTITIES, Recognizer
from policyengine.scan.names import STRONG, NameHint, name_hint
from policyengine.scan.ner import (
    NAMES_LABEL,
    TEXT_TOKENS,
    TEXT_VALUES,
    NerCounts,
    is_text,
    text_sample,
)
from policyengine.scan.personnames import NameStats, name_stats, text_name_candidates
from policyengine.scan.recognizers import (
    EntityHits,
    MatchTable,
    Shape,
    distinct_values,
)
from policyengine.scan.stats import ColumnSample

# thresholds on the share of distinct sampled values (documented in docs/scanner.md)
WHOLE_SHARE = 0.5  # validated whole-value matches that settle a column on values alone
HINTED_SHARE = 0.2  # … when the column name suggests the entity
WEAK_SHARE = 0.6  # validated + "possible" (phones) when the name suggests nothing
PATTERN_SHARE = 0.6  # unvalidated patterns (street addresses, custom codes without validator)
EMBEDDED_MIN = 2  # distinct free-text values holding the entity
EMBEDDED_SHARE = 0.01
NER_SHARE = 0.3  # NER label share needed without a name hint
NER_SINGLE_SHARE = 0.22  # … for one-word values (a first name alone gives the model no context)
COMPANY_SHARE = 0.15  # values with a legal form (GmbH, SA, Ltd, s.r.l.) that make a column organisations
NER_HINTED_SHARE = 0.1  # … with a strong name hint
NER_DOMINANCE = 1.5  # the label must beat each competing label by this factor
NER_MIN_VALUES = 5  # distinct values tagged before NER evidence counts at all
NER_MAX_VALUES = 48  # distinct values per column sent to the model
MRN_SHARE = 0.8  # medical record numbers: share of distinct values with the shape (under an MRN name)
MRN_UNIQUE = 0.5  # … and distinct values per sampled value (site or ward codes repeat)

_PERSON_LABELS = ("PERSON",)
_PLACE_LABELS = ("GPE", "LOC", "FAC")
_ORG_LABELS = ("ORG", "NORP", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW", "LANGUAGE")
_VERSION_WORDS = frozenset({"version", "ver", "build", "release", "firmware", "fw", "revision", "rev"})


@dataclass(frozen=True)
class ColumnEvidence:
    """Everything known about one column before the decision."""

    source: str
    column: str
    kind: str
    arrow_type: str
    rows: int
    nulls: int
    shape: Shape
    hint: NameHint
    hits: tuple[EntityHits, ...] = ()
    ner: NerCounts | None = None
    truncated: int = 0
    names: NameStats = field(default_factory=NameStats)


@dataclass(frozen=True)
class EntityVerdict:
    """One entity found in a column, with a 0..1 score and redacted evidence."""

    entity: str
    score: float
    method: str  # pattern | validated-pattern | ner | name+ner | name+type | name+shape | gazetteer | name+gazetteer
    matched: int
    checked: int
    prevalence: float
    examples: tuple[str, ...] = ()
    embedded: bool = False
    note: str = ""  # why a weaker finding is reported (e.g. card-shaped values that fail Luhn)


@dataclass(frozen=True)
class ColumnVerdict:
    """The decided entities of a column and the secondary matches that did not qualify."""

    evidence: ColumnEvidence
    decisions: tuple[EntityVerdict, ...] = ()
    other_matches: tuple[tuple[str, float], ...] = field(default=())


def _skip_entities(sample: ColumnSample, recognizers: Sequence[Recognizer]) -> frozenset[str]:
    """The data-type gate: entities that a column of this kind cannot hold."""
    every = frozenset(r.entity for r in recognizers)
    if sample.kind in ("integer", "float"):
        return every - NUMERIC_ENTITIES - _custom(recognizers)
    if sample.kind != "string":
        return every
    return frozenset()


def _custom(recognizers: Sequence[Recognizer]) -> frozenset[str]:
    """Entities of custom recognizers: the user's regex decides, whatever the column's type."""
    return frozenset(r.entity for r in recognizers if not r.builtin)


def evidence(
    source: str,
    sample: ColumnSample,
    table: MatchTable,
    index: int,
    recognizers: Sequence[Recognizer] = BUILTIN,
    extra_hints: Mapping[str, tuple[str, float]] | None = None,
) -> ColumnEvidence:
    """Pattern evidence, value shape and name prior of one merged column sample.

    `table` holds the regex results of all columns; `index` is this column's position in it
    (its values are `distinct_values(sample.values)`).
    """
    hint = name_hint(sample.name, dict(extra_hints) if extra_hints else None)
    shape = table.shape(index, len(sample.values))
    kind = sample.kind
    if kind == "string" and shape.lookalikes.get("numeric", 0.0) >= 0.9:
        kind = "float" if shape.lookalikes.get("decimal", 0.0) >= 0.5 else "integer"  # numbers read as text (CSV)
    every = frozenset(r.entity for r in recognizers)
    skip = _skip_entities(replace(sample, kind=kind), recognizers)
    if kind == "float" and shape.lookalikes.get("decimal", 0.0) >= 0.5:
        skip = every  # amounts, measurements: a fraction is never a card, phone or id
    elif kind in ("integer", "float") and shape.max_digits < 7:
        skip = every - _custom(recognizers)  # small numbers: counts, amounts, years (custom ids may be short)
    if kind in ("integer", "float") and hint.strength("LOCATION") >= STRONG and not hint.negative:
        skip = skip - {"LOCATION"}  # zip codes stored as numbers
    if kind in ("integer", "float") and hint.strength("MEDICAL_RECORD_NUMBER") >= STRONG and not hint.negative:
        skip = skip - {"MEDICAL_RECORD_NUMBER"}  # short record numbers (5-6 digits) under an MRN name
    if hint.negative:
        skip = skip | {"PHONE_NUMBER"}  # customer_id, order_no, created_ts, epoch: numbers, not phones
    hinted = frozenset(e for e, _ in hint.entities) if not hint.negative else frozenset()
    hits = table.hits(index, hinted=hinted, skip=skip)
    names = NameStats()
    if kind == "string" and shape.distinct and shape.median_tokens <= 6 and not any(h.whole / h.checked >= WHOLE_SHARE for h in hits):
        values = table.values(index)
        if shape.alpha >= 0.5 or any(v[:1] == "[" for v in values[:50]):  # words, or JSON lists
            names = name_stats(values, person_header=hint.strength("PERSON") >= STRONG)
    elif kind == "string" and shape.median_tokens > TEXT_TOKENS and not any(h.whole / h.checked >= WHOLE_SHARE for h in hits):
        names = NameStats(text_candidates=text_name_candidates(text_sample(table.values(index)), TEXT_VALUES))
    return ColumnEvidence(
        source, sample.name, sample.kind, sample.arrow_type, sample.rows, sample.nulls, shape, hint, hits,
        truncated=sample.truncated, names=names,
    )


def evidence_for(source: str, samples: Sequence[ColumnSample], recognizers: Sequence[Recognizer] = BUILTIN,
                 extra_hints: Mapping[str, tuple[str, float]] | None = None) -> list[ColumnEvidence]:
    """`evidence` for several columns, sharing one MatchTable (convenient for tests)."""
    table = MatchTable([distinct_values(s.values) for s in samples], recognizers)
    return [evidence(source, s, table, i, recognizers, extra_hints) for i, s in enumerate(samples)]


def _settled_by_patterns(ev: ColumnEvidence) -> bool:
    return any(h.whole / h.checked >= WHOLE_SHARE for h in ev.hits)


def needs_ner(ev: ColumnEvidence) -> bool:
    """Whether the NER model should look at this column: short, varied, letter-bearing text
    that patterns and look-alikes did not already explain, or free text (for the names it
    mentions: a bounded sample, `ner.text_sample`)."""
    s = ev.shape
    if ev.kind != "string" or s.distinct < 3 or ev.hint.negative:
        return False
    if _settled_by_patterns(ev):
        return False
    looks = s.lookalikes
    if looks.get("non_latin", 0.0) >= 0.5:
        return False  # the English model cannot read other scripts: names there are read by the gazetteer
    if s.median_tokens > TEXT_TOKENS:  # free text: only when some values hold a "Given Surname" pair
        return s.distinct >= TEXT_PERSON_MIN and ev.names.text_candidates >= TEXT_PERSON_MIN
    if max((looks.get(k, 0.0) for k in ("uuid", "hex", "temporal", "version", "amount", "code", "numeric", "gtin", "short_code", "boolean")), default=0.0) >= 0.5:
        return False
    if s.median_tokens > 6 or s.alpha < 0.5:
        return False
    strong = any(ev.hint.strength(e) >= STRONG for e in ("PERSON", "LOCATION"))
    if looks.get("company", 0.0) >= COMPANY_SHARE and not strong:
        return False  # company names (Joly SA, Meyer AG, Kim and Sons): surnames, but not persons
    if _few_categories(ev) and not strong and ev.names.given_full < GIVEN_FULL_SHARE:
        return False  # a handful of categories repeated: statuses, genders, colours (not "Given Surname")
    hint_entities = {e for e, _ in ev.hint.entities}
    # product / company names are neither a person nor a place
    return not (ev.hint.not_person and not hint_entities & {"LOCATION"})


def _few_categories(ev: ColumnEvidence) -> bool:
    """A handful of distinct values repeated over the sample (fewer than 20, under 10 %)."""
    s = ev.shape
    return s.distinct < 0.1 * s.sampled and s.distinct < 20


def ner_values(ev_values: Sequence[str]) -> list[str]:
    """The distinct values of a column that go to the model (bounded): up to `NER_MAX_VALUES`
    short values, or, for free text, `ner.TEXT_VALUES` values cut to `ner.TEXT_CHARS`."""
    values = distinct_values(ev_values)
    return text_sample(values) if is_text(values) else values[:NER_MAX_VALUES]


def _score(share: float, validated: bool, hinted: bool) -> float:
    s = 0.35 + 0.5 * share + (0.1 if validated else 0.0) + (0.05 if hinted else 0.0)
    return round(min(1.0, s), 3)


def _pattern_decisions(ev: ColumnEvidence) -> tuple[list[EntityVerdict], list[tuple[str, float]]]:
    out: list[EntityVerdict] = []
    other: list[tuple[str, float]] = []
    s = ev.shape
    looks = s.lookalikes
    for h in ev.hits:
        prior = ev.hint.strength(h.entity)
        whole = h.whole / h.checked
        weak = (h.whole + h.whole_weak) / h.checked
        emb = h.embedded / h.checked
        decided = None
        veto = False
        if h.entity == "IP_ADDRESS" and prior < STRONG:
            # versions (1.6.0.2) are valid IPv4: a column that also holds x.y.z versions is versions,
            # and so is one whose four parts are nearly all <= 99 (7.3.1.42), or named app_version
            quads = looks.get("ipv4", 0.0)
            veto = (looks.get("version3", 0.0) >= 0.1 or ev.hint.negative in _VERSION_WORDS
                    or (quads > 0 and looks.get("small_quad", 0.0) >= 0.9 * quads))
        if h.entity in ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN") and looks.get("gtin", 0.0) >= 0.5 and prior < STRONG:
            veto = True  # a barcode column: about 1 in 10 random digit strings pass Luhn
        if h.entity == "MEDICAL_RECORD_NUMBER" and (whole < MRN_SHARE or s.distinct < MRN_UNIQUE * s.sampled):
            veto = True  # a loose shape: nearly every value must have it, and patients are mostly distinct
        if h.entity == "PHONE_NUMBER" and max(looks.get("temporal", 0.0), looks.get("version", 0.0), looks.get("amount", 0.0)) >= 0.5:
            veto = True
        if h.entity == "LOCATION" and not h.validated:
            if whole >= PATTERN_SHARE or (prior > 0 and whole >= 0.3):
                decided = EntityVerdict(h.entity, _score(whole, False, prior > 0), "pattern", h.whole, h.checked, round(whole, 3), h.examples)
        elif not veto:
            need = HINTED_SHARE if prior > 0 else WHOLE_SHARE
            if h.min_share is not None:  # a custom recognizer's own bar (lowered the same way by a name hint)
                need = h.min_share * (HINTED_SHARE / WHOLE_SHARE if prior > 0 else 1.0)
            if h.entity == "PHONE_NUMBER" and prior == 0:
                # "possible" numbers (right length, unknown area code) count only next to valid ones
                ok = whole >= WHOLE_SHARE or (weak >= WEAK_SHARE and whole >= 0.2)
            elif h.entity == "PHONE_NUMBER":
                ok = weak >= 0.4
            else:
                ok = whole >= need
            if not ok and h.validated and h.embedded and (h.whole + h.embedded) / h.checked >= need and s.median_tokens < 3:
                # lists in one cell ("a@x.com, b@y.com") and prefixed values ("mailto:a@x.com")
                decided = EntityVerdict(h.entity, _score((h.whole + h.embedded) / h.checked, True, prior > 0), "validated-pattern",
                                   h.whole + h.embedded, h.checked, round((h.whole + h.embedded) / h.checked, 3), h.examples)
            elif ok:
                decided = EntityVerdict(h.entity, _score(max(whole, weak if h.entity == "PHONE_NUMBER" else whole), h.validated, prior > 0),
                                   "validated-pattern" if h.validated else "pattern", h.whole + (h.whole_weak if h.entity == "PHONE_NUMBER" else 0),
                                   h.checked, round(whole, 3), h.examples)
            elif h.embedded >= EMBEDDED_MIN and emb >= EMBEDDED_SHARE and s.median_tokens >= 3 and h.validated:
                # free text that sometimes holds the entity
                decided = EntityVerdict(h.entity, _score(min(1.0, 0.3 + emb), True, prior > 0), "validated-pattern",
                                   h.embedded, h.checked, round(emb, 3), h.examples, embedded=True)
        if decided is not None:
            out.append(decided)
        else:
            other.append((h.entity, round((h.whole + h.whole_weak + h.embedded) / h.checked, 3)))
    return out, other


_STREET_WORDS = frozenset(["street", "streetname", "strasse", "str", "straat", "calle", "rue", "ulica", "ul", "utca",
                           "gata", "gade", "katu", "rua", "avenue", "avenida", "road"])


def _street_header(ev: ColumnEvidence) -> bool:
    """A column named for streets (street, street_name, ulica, rue, calle, Straße…)."""
    return ev.hint.strength("LOCATION") >= STRONG and any(t in _STREET_WORDS for t in ev.hint.tokens)


def _proper_nouns(ev: ColumnEvidence) -> bool:
    """Short capitalised words (Lyon, Sankt Augustin, NEW DELHI): names of something."""
    s = ev.shape
    return s.median_tokens <= 3 and s.alpha >= 0.9 and s.capitalized >= 0.9


def _ner_decisions(ev: ColumnEvidence, taken: set[str]) -> tuple[list[EntityVerdict], list[tuple[str, float]]]:
    out: list[EntityVerdict] = []
    other: list[tuple[str, float]] = []
    ner = ev.ner
    if ner is None or ner.checked == 0 or ev.shape.median_tokens > TEXT_TOKENS:
        return out, other  # free text: its counts are mentions, not whole values (`_text_person_decision`)
    n = ner.checked
    person = ner.count(*_PERSON_LABELS)
    place = ner.count(*_PLACE_LABELS)
    org = ner.count(*_ORG_LABELS)
    counts = {"PERSON": person, "LOCATION": place}
    rivals = {"PERSON": max(place, org), "LOCATION": max(person, org)}
    examples = dict(ner.examples)
    for entity, labels in (("PERSON", _PERSON_LABELS), ("LOCATION", _PLACE_LABELS)):
        if entity in taken:
            continue
        c = counts[entity]
        prior = ev.hint.strength(entity)
        share = c / n
        if entity == "PERSON" and ev.hint.not_person:
            prior = 0.0
        other_entity = "LOCATION" if entity == "PERSON" else "PERSON"
        if prior == 0 and ev.hint.strength(other_entity) >= STRONG:
            continue  # a column named nome / vorname is not a place because the model mistook some names for towns
        if prior >= STRONG:
            # the name says so; NER only has to not contradict it (first names alone are often
            # read as places, so places count half against a person hint; towns are often named
            # like people or firms — Lesage, Saint-Denis, Bayer — so, when the values are proper
            # nouns, persons do not count against a place hint and organisations count half)
            if entity == "PERSON":
                rival = max(org, place / 2)
            else:
                # streets are named after people (ul. Jana Pawła II, Rue Victor Hugo): under a
                # street header persons do not count against a place either
                rival = org / 2 if _proper_nouns(ev) or _street_header(ev) else rivals[entity]
            ok = c >= max(2, NER_HINTED_SHARE * n) and c * NER_DOMINANCE >= rival
            method = "name+ner"
        else:
            need = NER_SINGLE_SHARE if ev.shape.median_tokens <= 1 else NER_SHARE
            need = need if prior == 0 else need * 0.8
            if entity == "PERSON" and _few_categories(ev):
                # a few "Given Surname" values repeated (presidents, sales reps) reached NER past
                # the category gate: brands named after people (Wells Fargo, Jack Daniels) are
                # among them, so the model must read (nearly) all of them as persons
                need = max(need, FEW_PERSONS_SHARE)
            # a short column (fewer than NER_MIN_VALUES distinct values) counts when every value is tagged
            least = NER_MIN_VALUES if n >= NER_MIN_VALUES or c < n else n
            ok = c >= max(least, need * n) and c >= NER_DOMINANCE * rivals[entity]
            method = "ner" if prior == 0 else "name+ner"
        ex = tuple(x for lab in labels for x in examples.get(lab, ()))[:2]
        if ok:
            out.append(EntityVerdict(entity, round(min(0.95, 0.4 + 0.5 * share + 0.1 * prior), 3), method, c, n, round(share, 3), ex))
        elif c:
            other.append((entity, round(share, 3)))
    return out, other


TEXT_PERSON_MIN = 3  # free text: values naming a person (NER + a known given name) …
TEXT_PERSON_SHARE = 0.1  # … and their share of the values read
TEXT_NAMES_MIN = 4  # … naming this many different people
TEXT_NAMES_DISTINCT = 0.5  # … mostly different ones (a brand named after a person repeats: Jack Daniels)


def _text_person_decision(ev: ColumnEvidence) -> EntityVerdict | None:
    """Free text that names people (`Spoke with Mary Hughes about …`): NER on a bounded sample
    of the text, each person read with a known given name; several different people in a tenth
    of the values. Reported as embedded, like e-mails inside notes."""
    ner = ev.ner
    if ner is None or not ner.checked or ev.shape.median_tokens <= TEXT_TOKENS:
        return None
    persons, names = ner.count("PERSON"), ner.count(NAMES_LABEL)
    share = persons / ner.checked
    if persons < TEXT_PERSON_MIN or share < TEXT_PERSON_SHARE or names < TEXT_NAMES_MIN or names < TEXT_NAMES_DISTINCT * persons:
        return None
    examples = tuple(x for lab, xs in ner.examples if lab == "PERSON" for x in xs)[:2]
    return EntityVerdict("PERSON", round(min(0.9, 0.4 + share), 3), "ner", persons, ner.checked, round(share, 3), examples,
                    embedded=True)


CARD_SHAPE_SHARE = 0.8  # card-shaped values under a card-number header that fail Luhn (test cards)
ADDRESS_LINE_SHARE = 0.3  # address lines (with or without house number) under an address header
NAME_FORM_SHARE = 0.5  # "Last, First" / "SURNAME Given" / lists of names, each with a known given name
FIRST_NAME_SHARE = 0.7  # single words that are known given names
GIVEN_FULL_SHARE = 0.8  # "Given Surname" values with a known given name: people, however few distinct
FEW_PERSONS_SHARE = 0.8  # … if NER also reads (nearly) all of those few as persons
ALL_KNOWN_SHARE = 0.9  # single words nearly all known names: surnames alone, or given names NER took for towns
HINTED_NAME_SHARE = 0.1  # values holding a known name, with a strong person header and name-shaped values
GIVEN_SURNAME_SHARE = 0.6  # "Given Surname" with both names known: persons whatever the header (vendor_name)
GIVEN_SURNAME_DISTINCT = 0.5  # … among values this distinct (a few brands named after people repeat)


def _card_shape_decision(ev: ColumnEvidence) -> EntityVerdict | None:
    """A column named for card numbers whose values have a card's shape but fail the Luhn check:
    reported, with a lower score and the reason, because test data shows where real cards go."""
    share = ev.shape.lookalikes.get("card_shape", 0.0)
    if ev.hint.strength("CREDIT_CARD") < STRONG or share < CARD_SHAPE_SHARE:
        return None
    n = ev.shape.distinct
    return EntityVerdict("CREDIT_CARD", 0.5, "name+shape", round(share * n), n, round(share, 3),
                    note="card-shaped values under a card-number column name; they fail the Luhn check (test numbers?)")


def _address_line_decision(ev: ColumnEvidence) -> EntityVerdict | None:
    """Address lines without the house number + street word the street pattern needs (landmarks,
    C/o, P.O. boxes, localities), in a column whose name says address."""
    share = ev.shape.lookalikes.get("address_line", 0.0)
    if ev.kind != "string" or ev.hint.strength("LOCATION") < STRONG or share < ADDRESS_LINE_SHARE or ev.shape.median_tokens < 2:
        return None
    n = ev.shape.distinct
    return EntityVerdict("LOCATION", _score(share, False, True), "name+pattern", round(share * n), n, round(share, 3))


def _script_place_decision(ev: ColumnEvidence) -> EntityVerdict | None:
    """Towns in another script under a header that names them (`город`, `πόλη`, `עיר`, `شهر`,
    `शहर`, `市区町村`, `도시`): the English model cannot read them (they never go to it), so the
    header decides for short letter values with no Latin letter (issue 26)."""
    s = ev.shape
    if ev.kind != "string" or ev.hint.strength("LOCATION") < STRONG or s.distinct < NER_MIN_VALUES:
        return None
    if s.lookalikes.get("non_latin", 0.0) < 0.9 or s.alpha < 0.8 or s.median_tokens > 3:
        return None
    return EntityVerdict("LOCATION", 0.6, "name+script", s.distinct, s.distinct, 1.0)


def _password_column_decision(ev: ColumnEvidence) -> EntityVerdict | None:
    """A text column named for passwords (password, passwd, pwd, passwort, contraseña, mot de passe,
    wachtwoord) holds credentials, however its values look (hashed, masked or plain); not a
    yes/no column (`password_reset: yes`) and not one named `password_hash`/`_changed_at` (a
    negative cue cancels the name)."""
    s = ev.shape
    if ev.kind != "string" or ev.hint.strength("CREDENTIAL") < STRONG or s.distinct < 2:
        return None
    if s.lookalikes.get("boolean", 0.0) >= 0.5 or s.lookalikes.get("temporal", 0.0) >= 0.5:
        return None
    if ev.hint.tokens == ("password",) and s.digits_only == 1.0 and s.max_digits <= 2:
        return None  # a bare `password` column of counts 0–99 (how often an e-mail says "password")
    return EntityVerdict("CREDENTIAL", 0.8, "name+type", s.distinct, s.distinct, 1.0)


def _looks_like_names(ev: ColumnEvidence) -> bool:
    """Short letter values written as names: capitalised, or all in lower case (exports lose the
    case) and name-shaped once capitalised (one word, or "Given Surname")."""
    s, st = ev.shape, ev.names
    written = s.capitalized >= 0.8 or st.single + st.given_full + st.script_full >= 0.8
    return s.median_tokens <= 4 and s.alpha >= 0.8 and written


def _given_surnames(ev: ColumnEvidence) -> bool:
    """Mostly "Given Surname" values, both names known, and mostly distinct: persons whatever the
    header says (`vendor_name`, `merchant`, `company_name` of sole traders); a handful of brands
    named after people (Calvin Klein, Jack Daniels) repeat and do not pass."""
    st, s = ev.names, ev.shape
    return (st.given_full >= GIVEN_FULL_SHARE and st.given_surname >= GIVEN_SURNAME_SHARE
            and s.distinct >= 20 and s.distinct >= GIVEN_SURNAME_DISTINCT * s.sampled)


def _person_from_names(ev: ColumnEvidence) -> EntityVerdict | None:
    """PERSON from the form of the values and the name gazetteer (see `personnames`), for what NER
    misses: "Last, First M", "SURNAME Given", lists of names, lone given names, and surnames
    alone under a person header. Not for a column named for places, not for categories, not when
    the model reads the values as places."""
    st, s = ev.names, ev.shape
    if st.checked == 0 or ev.hint.negative or ev.hint.strength("LOCATION") >= STRONG:
        return None
    if not (s.distinct >= 20 or s.distinct >= 0.3 * s.sampled) or s.lookalikes.get("company", 0.0) >= COMPANY_SHARE:
        return None
    place = person = 0
    if ev.ner is not None and ev.ner.checked:
        place, person = ev.ner.count(*_PLACE_LABELS), ev.ner.count(*_PERSON_LABELS)
        if place > max(person, 0.3 * ev.ner.checked) and st.known_first < ALL_KNOWN_SHARE:
            return None  # read as places, and not (nearly) all given names
    forms = max(st.comma_form, st.caps_form, st.name_lists, st.script_full)
    if forms >= NAME_FORM_SHARE:
        share, method = forms, "gazetteer"
    elif _given_surnames(ev):
        share, method = st.given_full, "gazetteer"
    elif st.single >= 0.8 and st.known_first >= FIRST_NAME_SHARE and s.distinct >= 20:
        share, method = st.known_first, "gazetteer"
    elif st.single >= 0.9 and st.known_any >= ALL_KNOWN_SHARE and s.distinct >= 20 and person >= place:
        share, method = st.known_any, "gazetteer"  # surnames alone: nearly all known, not places to NER
    elif ev.hint.strength("PERSON") >= STRONG and _looks_like_names(ev) and st.known_any >= HINTED_NAME_SHARE:
        share, method = max(st.known_any, 0.5), "name+gazetteer"
    else:
        return None
    n = st.checked
    return EntityVerdict("PERSON", round(min(0.9, 0.4 + 0.5 * share), 3), method, round(share * n), n, round(share, 3))


def decide(ev: ColumnEvidence) -> ColumnVerdict:
    """The entities of a column (pure: same evidence, same answer)."""
    if ev.kind in ("boolean", "binary", "null", "nested", "other"):
        return ColumnVerdict(ev)
    if ev.kind == "temporal" or (ev.kind == "string" and ev.shape.lookalikes.get("temporal", 0.0) >= 0.8):
        if ev.hint.strength("DATE_OF_BIRTH") >= STRONG:
            return ColumnVerdict(ev, (EntityVerdict("DATE_OF_BIRTH", 0.8, "name+type", ev.shape.distinct, ev.shape.distinct, 1.0),))
        return ColumnVerdict(ev)
    decisions, other = _pattern_decisions(ev)
    decided = {d.entity for d in decisions}
    for rule in (_card_shape_decision, _address_line_decision, _password_column_decision, _script_place_decision):
        found = rule(ev)
        if found is not None and found.entity not in decided:
            decisions.append(found)
            decided.add(found.entity)
    other = [o for o in other if o[0] not in decided]
    taken = {d.entity for d in decisions if not d.embedded}
    text_person = _text_person_decision(ev) if ev.kind == "string" else None
    if text_person is not None and "PERSON" not in decided:
        decisions.append(text_person)
    elif ev.kind == "string" and not any(not d.embedded for d in decisions):
        ner_dec, ner_other = _ner_decisions(ev, taken)
        decisions += ner_dec
        other += ner_other
        # NER alone read (nearly) all-known given names as towns: the gazetteer overrules it
        overrule = ev.names.single >= 0.8 and ev.names.known_first >= ALL_KNOWN_SHARE and ev.hint.strength("LOCATION") == 0
        if overrule and all(d.method == "ner" and d.entity == "LOCATION" for d in decisions if not d.embedded):
            decisions = [d for d in decisions if d.embedded]
        if not any(not d.embedded for d in decisions):
            person = _person_from_names(ev)
            if person is not None:
                decisions.append(person)
                other = [o for o in other if o[0] != "PERSON"]
    decisions.sort(key=lambda d: -d.score)
    return ColumnVerdict(ev, tuple(decisions), tuple(sorted(other, key=lambda x: -x[1])))
