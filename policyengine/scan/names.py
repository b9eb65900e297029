"""Column names as a prior: a multilingual dictionary of names and abbreviations per entity.

The name only ever shifts the evidence the values give; it never tags a column by itself for
pattern entities. Negative cues (`_id`, `_verified`, `_count`, `_flag`, `year`, `ts`, …) as the
last word of a name cancel the hint: `email_verified` is a flag, `customer_id` a key.
Names are normalised first: accents stripped, camelCase and digits split, lower-cased.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from policyengine.scan.entities import ENTITIES

STRONG, WEAK = 1.0, 0.5


def _fold_header(text: str) -> str:
    """Accents off letters of cased scripts (Latin, Greek, Cyrillic: `Straße` → `Strasse`,
    `όνομα` → `ονομα`); the marks of other scripts are letters' parts (Devanagari vowel signs,
    Hangul, kana) and stay."""
    text = unicodedata.normalize("NFKC", text.replace("ß", "ss").replace("ẞ", "SS"))
    if text.isascii():
        return text
    out = []
    for c in text:
        if c.isascii() or not ("\u00c0" <= c <= "\u04ff" or "\u1e00" <= c <= "\u1fff"):
            out.append(c)
            continue
        out.append("".join(d for d in unicodedata.normalize("NFD", c) if not unicodedata.combining(d)))
    return unicodedata.normalize("NFC", "".join(out))

# token (or joined token pair) → (entity, strength)
_HINTS: dict[str, tuple[str, float]] = {}


def _add(entity: str, strength: float, words: str) -> None:
    for w in words.split():
        _HINTS[w if w.isascii() else _fold_header(w).lower()] = (entity, strength)


for _entity in ENTITIES:
    _add(_entity.name, STRONG, _entity.hints)
    _add(_entity.name, WEAK, _entity.weak_hints)
# "name" in another language: a person's name unless a thing is named next to it (nombre_producto)
_GENERIC_PERSON = frozenset(["nombre", "nom", "nome", "naam", "navn", "nimi",
                             # other scripts (issue 26): имя, ім'я, име, όνομα, שם, الاسم, اسم, نام, नाम, 名前, 이름
                             "имя", "імя", "име", "ονομα", "שם", "الاسم", "اسم", "نام", "नाम", "名前", "이름"])

# Words that mean "not a person" even next to `name`: product_name, company_name, file_name …
_NOT_PERSON = frozenset(
    ["company", "companies", "vendor", "supplier", "product", "products", "item", "items", "brand", "firm", "firma", "empresa", "societe", "organisation", "organization", "org", "merchant", "store", "shop", "file", "filename", "host", "hostname", "domain", "app", "application", "project", "team", "category", "department", "dept", "city", "country", "street", "town", "place", "region", "state", "status", "type", "kind", "model", "device", "table", "column", "schema", "job", "task", "event", "service", "server", "bank", "branch", "school", "hotel", "restaurant", "species", "breed", "team_name", "club", "league", "sport",
     "jobs", "job_title", "occupation", "profession", "beruf", "berufsbezeichnung", "metier", "puesto", "profesion",
     "professione", "mestiere", "beroep", "functie", "role", "position",
     "producto", "productos", "articulo", "produit", "produits", "article", "prodotto", "prodotti", "articolo",
     "artikel", "produkt", "entreprise", "azienda", "ditta", "bedrijf", "unternehmen", "marca", "marque", "marke",
     "categoria", "categorie", "kategorie", "ciudad", "ciutat", "citta", "ville", "stadt", "pais", "pays", "paese",
     "provincia", "calle", "rue", "strasse", "straat", "localidad", "comune", "gemeente", "plaats", "tienda",
     "magasin", "negozio", "winkel", "banco", "banque", "fichero", "fichier", "archivo", "servicio", "equipo",
     # other scripts (issue 26): companies, products, dishes, jobs, streets, towns
     "компания", "организация", "фирма", "товар", "продукт", "блюдо", "должность", "улица", "город", "компанія",
     "страва", "посада", "вулиця", "місто", "ястие", "длъжност", "град", "εταιρεια", "προιον", "πιατο",
     "επαγγελμα", "οδος", "οδου", "πολη", "חברה", "מוצר", "מנה", "מקצוע", "רחוב", "עיר", "الشركة", "شركة", "المنتج",
     "منتج", "الطبق", "طبق", "الوظيفة", "وظيفة", "الشارع", "شارع", "المدينة", "مدينة", "شرکت", "محصول", "غذا", "شغل",
     "خیابان", "شهر", "कंपनी", "उत्पाद", "व्यंजन", "पेशा", "सड़क", "गली", "शहर",
     # inflected (genitive) forms: название товара, όνομα προϊόντος
     "товара", "продукта", "компании", "улицы", "блюда", "товару", "продукту", "компанії", "вулиці", "страви",
     "προιοντος", "εταιρειας", "πολης", "πιατου",
]
)
# Places, institutions and works often named after people: `hospital_name`, `site_name`,
# `NomGymnase`, `track_name`. Only as the head of a name header (the thing next to `name`, and
# nothing else): `ship_captain`, `award_winner`, `station_manager_name` are people.
_NAMED_THINGS = frozenset(
    ["hospital", "hospitals", "clinic", "clinics", "klinik", "klinikum", "krankenhaus", "hopital", "ospedale",
     "szpital", "sykehus", "ziekenhuis", "sjukhus", "sygehus", "site", "facility", "venue", "station", "building",
     "park", "gym", "gymnase", "gymnasium", "stadium", "airport", "museum", "church", "university", "college",
     "institute", "institution", "campus", "warehouse", "agency", "office", "ward", "track", "song", "album",
     "playlist", "genre", "movie", "film", "book", "course", "programme", "program", "award", "prize", "ship",
     "vessel", "horse", "pet", "animal", "font", "genus"]
)
_NAME_WORDS = frozenset(["name", "names", "nom", "nombre", "nome", "naam", "navn", "nimi", "title"])
_FAMILY_HEADERS = frozenset([("family", "name"), ("name", "family"), ("familyname",), ("family", "names")])
_NEGATIVE_LAST = frozenset(
    ["id", "ids", "uuid", "guid", "key", "pk", "fk", "verified", "valid", "validated", "confirmed", "count", "cnt", "num_of", "total", "flag", "flags", "is", "has", "enabled", "opt", "optin", "opt_in", "consent", "year", "yr", "ts", "at", "on", "time", "timestamp", "date", "hash", "hashed", "checksum", "md5", "sha", "sha1", "sha256", "domain", "type", "status", "format", "length", "len", "code"]
)
_NEGATIVE_SOLO = frozenset(["id", "ts", "year", "hash", "checksum", "flag", "count", "uuid", "guid", "key"])
# Cues that only count when the name suggests no entity (`mobile_number` stays a phone):
# numbers, references, clocks, versions, money, barcodes.
_NEGATIVE_UNHINTED = frozenset(
    ["no", "nr", "num", "number", "nummer", "numero", "ref", "reference", "seq", "sequence", "idx", "index",
     "epoch", "unix", "ms", "millis", "seconds", "secs", "version", "ver", "build", "release", "firmware", "fw",
     "revision", "rev", "season", "eur", "usd", "gbp", "chf", "price", "amount", "cost", "value", "qty",
     "quantity", "sku", "ean", "gtin", "isbn", "upc", "barcode", "serial", "tracking", "invoice", "order"]
)
_NEGATIVE_UNHINTED_SOLO = frozenset(
    ["epoch", "version", "build", "release", "firmware", "revision", "season", "price", "amount", "qty", "quantity",
     "sku", "ean", "gtin", "isbn", "upc", "barcode", "serial", "tracking", "invoice"]
)


@dataclass(frozen=True)
class NameHint:
    """What a column name suggests: entity → strength, and whether a negative cue cancels it."""

    column: str
    tokens: tuple[str, ...]
    entities: tuple[tuple[str, float], ...] = ()
    negative: str | None = None  # the negative cue found, e.g. "verified"
    not_person: bool = False

    def strength(self, entity: str) -> float:
        """The hint's strength for `entity` (0 when absent or cancelled)."""
        if self.negative:
            return 0.0
        return max((s for e, s in self.entities if e == entity), default=0.0)


def tokens_of(column: str) -> tuple[str, ...]:
    """`CustomerEMail_Addr2` → ('customer', 'e', 'mail', 'addr'); `ipv6` stays one token;
    `Фамилия` → ('фамилия',); `ім'я` → ('імя',)."""
    text = _fold_header(column)
    text = re.sub(r"([a-z])([A-Z])", r"\1_\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    words = re.split(r"[^a-z0-9]+", text.lower()) if text.isascii() else _words_of(text.lower())
    out = []
    for t in words:
        if not t or t.isdigit():
            continue
        out.append(t if t in _HINTS else re.sub(r"\d+$", "", t) or t)
    return tuple(out)


def _words_of(text: str) -> list[str]:
    """The words of a header in any script (marks kept with their letters; apostrophes dropped)."""
    out = []
    for part in re.split(r"[\s_\-.,;:/\\|()\[\]{}\"]+", text):
        word = "".join(c for c in part if c.isalnum() or unicodedata.category(c)[0] == "M")
        if word:
            out.append(word)
    return out


_PERSON_ROLES = frozenset(["patient", "customer", "client", "employee", "contact", "member", "person", "user",
                           "student", "guest", "owner", "holder"])


# CJK header parts that name a thing, not a person (会社名, 商品名, 公司名称, 菜名, 회사명, 상품명, 거리명)
_CJK_NOT_PERSON = ("会社", "企業", "商品", "製品", "品名", "店", "料理", "職業", "通り", "公司", "企业", "产品", "產品", "菜",
                   "职位", "職稱", "街道", "城市", "名称", "名稱", "회사", "상품", "제품", "음식", "메뉴", "직업", "거리", "도시")


def _has_cjk(token: str) -> bool:
    return any("\u3040" <= c <= "\u30ff" or "\u4e00" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7a3" for c in token)


def _cjk_keys(hints: dict[str, tuple[str, float]]) -> list[str]:
    """The CJK hint words, longest first (one-character words such as 姓 only match whole)."""
    return sorted((k for k in hints if len(k) >= 2 and _has_cjk(k)), key=len, reverse=True)


def _names_a_thing(toks: tuple[str, ...]) -> bool:
    """`hospital_name`, `name_site`, `NomGymnase`: a header that is exactly a named thing and a
    name word."""
    return len(toks) == 2 and (
        (toks[0] in _NAMED_THINGS and toks[1] in _NAME_WORDS) or (toks[1] in _NAMED_THINGS and toks[0] in _NAME_WORDS)
    )


def name_hint(column: str, extra: dict[str, tuple[str, float]] | None = None) -> NameHint:
    """The prior a column name gives. Longer matches win: in `ip_address` the pair `ip_address`
    is matched and `address` is not read again on its own; in `birth_date` the cue `date` is
    part of the match and so does not cancel it."""
    toks = tokens_of(column)
    hints = dict(_HINTS)
    if extra:
        hints.update(extra)
    found: dict[str, float] = {}
    used = [False] * len(toks)
    for width in range(len(toks), 0, -1):
        for i in range(len(toks) - width + 1):
            if any(used[i : i + width]):
                continue
            part = toks[i : i + width]
            for key in ("_".join(part), "".join(part)):
                if key in hints:
                    e, s = hints[key]
                    found[e] = max(found.get(e, 0.0), s)
                    for j in range(i, i + width):
                        used[j] = True
                    break
    for i, t in enumerate(toks):  # CJK headers are not cut into words: 顧客氏名, 公司名称, 联系电话
        if not used[i] and _has_cjk(t):
            for key in _cjk_keys(hints):
                if key in t:
                    e, s_ = hints[key]
                    found[e] = max(found.get(e, 0.0), s_)
                    used[i] = True
                    break
    negative = None
    if toks:
        last, solo = toks[-1], len(toks) == 1
        strong_cue = last in _NEGATIVE_LAST and not used[-1] and (not solo or last in _NEGATIVE_SOLO)
        weak_cue = not found and last in _NEGATIVE_UNHINTED and (not solo or last in _NEGATIVE_UNHINTED_SOLO)
        negative = last if strong_cue or weak_cue else None
    not_person = (any(t in _NOT_PERSON for t in toks) or "".join(toks) in _NOT_PERSON or _names_a_thing(toks)
                  or any(w in t for t in toks if _has_cjk(t) for w in _CJK_NOT_PERSON))
    if "family" in toks and toks not in _FAMILY_HEADERS and found.get("PERSON", 0.0) >= STRONG and not any(
            t in _PERSON_ROLES for t in toks):
        found.pop("PERSON", None)  # font_family_name, product_family: families of things, not surnames
    if not not_person and any(t in _GENERIC_PERSON and not used[i] for i, t in enumerate(toks)):
        found["PERSON"] = STRONG
    if not_person and found.get("PERSON", 0.0) <= WEAK:
        found.pop("PERSON", None)  # `product_name`, `company_name`: a name of a thing
    return NameHint(column, toks, tuple(sorted(found.items())), negative, not_person)
