"""Generate the example mesh's sample data: seeded, deterministic, fake but realistic PII.

Run `python examples/mesh/generate.py [OUT_DIR]` (default: examples/mesh/samples). The same
script always writes byte-identical files (fixed seeds, fixed row order, pinned Parquet writer
options, no wall-clock values), so the committed samples can be checked against it in CI.

Why it looks the way it does: the samples feed the PII scanner and policy demos, so the PII
has to be *valid*, not just PII-shaped. Card numbers pass Luhn inside real IIN ranges, IBANs
carry correct ISO 13616 mod-97 check digits in each country's BBAN layout, US SSNs follow SSA
rules, phone numbers use allocated prefixes of their country (mixed E.164 / international /
national formats), IP addresses are public unicast, names/streets/cities/postcodes agree with
the row's country. Products also join up: orders reference customers, payroll references
employees. Only the standard library and pyarrow are used (no Faker, no network).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261124
ROWS = 300
Row = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Curated reference lists
# --------------------------------------------------------------------------------------------

REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "eu": ("DE", "FR", "ES", "NL", "IT"),
    "uk": ("GB",),
    "us": ("US",),
}
CURRENCY = {"eu": "EUR", "uk": "GBP", "us": "USD"}
# Which name origin is typical for a country (others still appear: people move).
ORIGIN_OF = {"DE": "de", "FR": "fr", "ES": "es", "NL": "nl", "IT": "it", "GB": "en", "US": "en"}

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("James", "Oliver", "Harry", "George", "Thomas", "Michael", "David", "Daniel",
           "Christopher", "Emily", "Olivia", "Amelia", "Charlotte", "Jessica", "Sarah", "Emma",
           "Jennifer", "Ashley", "Grace", "Megan"),
    "de": ("Lukas", "Maximilian", "Felix", "Jonas", "Leon", "Paul", "Jürgen", "Stefan", "Tobias",
           "Anna", "Lea", "Hannah", "Sophie", "Marie", "Katrin", "Sabine", "Jana", "Lena"),
    "fr": ("Louis", "Gabriel", "Hugo", "Arthur", "Jules", "Mathieu", "Julien", "François",
           "Léa", "Chloé", "Manon", "Camille", "Inès", "Élodie", "Céline", "Margaux"),
    "es": ("Pablo", "Alejandro", "Javier", "Sergio", "Jorge", "Álvaro", "Diego", "Lucía", "Sofía",
           "Martina", "María", "Paula", "Carmen", "Elena", "Nuria", "Begoña"),
    "nl": ("Daan", "Sem", "Bram", "Thijs", "Jesse", "Pieter", "Joost", "Maarten", "Sanne",
           "Fleur", "Lotte", "Julia", "Femke", "Anouk", "Marieke", "Ilse"),
    "it": ("Lorenzo", "Leonardo", "Francesco", "Alessandro", "Matteo", "Marco", "Giuseppe",
           "Luca", "Giulia", "Sofia", "Aurora", "Chiara", "Francesca", "Valentina", "Ginevra"),
}
LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
           "Robinson", "Wright", "Thompson", "Evans", "Walker", "O'Brien", "Miller", "Anderson",
           "Clarke", "Hughes", "Garcia", "Nguyen"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Hoffmann", "Schäfer", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Zimmermann", "Krüger"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Lefèvre", "Girard", "Fontaine", "Rousseau", "Mercier"),
    "es": ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Ruiz", "Jiménez", "Moreno", "Muñoz", "Álvarez", "Navarro"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Visser",
           "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Hendriks"),
    "it": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Costa", "Giordano"),
}

# city -> postcode spec: (low, high) numeric range, or a tuple of UK outward codes
CITIES: dict[str, tuple[tuple[str, Any], ...]] = {
    "DE": (("Berlin", (10115, 14199)), ("München", (80331, 81929)), ("Hamburg", (20095, 22769)),
           ("Köln", (50667, 51149)), ("Frankfurt am Main", (60306, 60599)),
           ("Leipzig", (4103, 4357))),
    "FR": (("Paris", (75001, 75020)), ("Lyon", (69001, 69009)), ("Marseille", (13001, 13016)),
           ("Toulouse", (31000, 31500)), ("Bordeaux", (33000, 33800)), ("Lille", (59000, 59800))),
    "ES": (("Madrid", (28001, 28055)), ("Barcelona", (8001, 8042)), ("Valencia", (46001, 46026)),
           ("Sevilla", (41001, 41020)), ("Bilbao", (48001, 48015)), ("Zaragoza", (50001, 50020))),
    "NL": (("Amsterdam", (1011, 1109)), ("Rotterdam", (3011, 3089)), ("Utrecht", (3511, 3585)),
           ("Den Haag", (2491, 2599)), ("Eindhoven", (5611, 5658)), ("Groningen", (9711, 9747))),
    "IT": (("Roma", (118, 199)), ("Milano", (20121, 20162)), ("Torino", (10121, 10156)),
           ("Napoli", (80121, 80147)), ("Bologna", (40121, 40141)), ("Firenze", (50121, 50145))),
    "GB": (("London", ("SW1A", "EC1A", "N1", "E2", "SE1", "W1D", "NW3", "SW11")),
           ("Manchester", ("M1", "M4", "M20")), ("Leeds", ("LS1", "LS6")),
           ("Bristol", ("BS1", "BS8")), ("Edinburgh", ("EH1", "EH3", "EH10")),
           ("Birmingham", ("B1", "B15"))),
    "US": (("New York", (10001, 10282)), ("San Francisco", (94102, 94134)),
           ("Austin", (78701, 78759)), ("Boston", (2108, 2137)), ("Denver", (80202, 80239)),
           ("Seattle", (98101, 98199)), ("Chicago", (60601, 60661))),
}
# street templates: {n} is the house number, placed as the country writes it
STREETS: dict[str, tuple[str, ...]] = {
    "DE": ("Hauptstraße {n}", "Bahnhofstraße {n}", "Schillerstraße {n}", "Goethestraße {n}",
           "Gartenweg {n}", "Lindenallee {n}", "Friedrichstraße {n}"),
    "FR": ("{n} rue de la République", "{n} avenue Victor Hugo", "{n} boulevard Saint-Michel",
           "{n} rue Nationale", "{n} place de la Mairie", "{n} rue des Lilas"),
    "ES": ("Calle Mayor, {n}", "Gran Vía, {n}", "Calle de Alcalá, {n}",
           "Avenida de la Constitución, {n}", "Paseo de Gracia, {n}", "Calle del Sol, {n}"),
    "NL": ("Kerkstraat {n}", "Dorpsstraat {n}", "Stationsweg {n}", "Molenstraat {n}",
           "Prinsengracht {n}", "Keizersgracht {n}"),
    "IT": ("Via Roma, {n}", "Via Giuseppe Garibaldi, {n}", "Corso Vittorio Emanuele II, {n}",
           "Via Dante Alighieri, {n}", "Piazza Mazzini, {n}", "Via dei Mille, {n}"),
    "GB": ("{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road",
           "{n} Park Avenue", "Flat {f}, {n} Mill Lane"),
    "US": ("{n} Main Street", "{n} Oak Street", "{n} Maple Avenue", "{n} Elm Drive",
           "{n} Washington Boulevard", "{n} Lake Shore Drive, Apt {f}"),
}
MAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "DE": ("gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"),
    "FR": ("orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr"),
    "ES": ("gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es"),
    "NL": ("ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.nl", "xs4all.nl"),
    "IT": ("libero.it", "virgilio.it", "gmail.com", "alice.it", "tiscali.it"),
    "GB": ("btinternet.com", "yahoo.co.uk", "gmail.com", "outlook.com", "sky.com"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "comcast.net"),
}
# Fictional companies (lead sources), each with its home country.
COMPANIES: tuple[tuple[str, str], ...] = (
    ("Nordwind Logistik GmbH", "DE"), ("Brauhaus Kessler AG", "DE"), ("Optivo Systems GmbH", "DE"),
    ("Atelier Lumière SARL", "FR"), ("Groupe Verdier SA", "FR"), ("Cloudeo SAS", "FR"),
    ("Tecnologías Alba SL", "ES"), ("Conservas del Cantábrico SA", "ES"),
    ("Van der Berg Installatie BV", "NL"), ("Polderdata BV", "NL"),
    ("Ferraro Meccanica Srl", "IT"), ("Tessiture Lombarde SpA", "IT"),
    ("Harbourside Analytics Ltd", "GB"), ("Thistle & Finch plc", "GB"), ("Kestrel Energy Ltd", "GB"),
    ("Bluebird Software Inc", "US"), ("Cascade Outdoor Co", "US"), ("Pinecrest Health LLC", "US"),
)
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "engineering": ("Software Engineer", "Senior Software Engineer", "Staff Engineer",
                    "Engineering Manager", "Data Engineer", "Site Reliability Engineer"),
    "sales": ("Account Executive", "Sales Development Rep", "Key Account Manager", "Sales Director"),
    "finance": ("Financial Analyst", "Accountant", "Controller", "Head of Finance"),
    "marketing": ("Marketing Manager", "Content Strategist", "Growth Analyst", "Brand Designer"),
    "operations": ("Operations Coordinator", "Logistics Planner", "Warehouse Lead"),
    "people": ("HR Business Partner", "Recruiter", "Payroll Specialist", "People Ops Lead"),
}
CAMPAIGNS = ("spring-sale-2026", "black-friday-2026", "newsletter-w14", "webinar-data-mesh",
             "retargeting-q3", "loyalty-gold-upgrade", "product-launch-aurora")
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
)
UTC = dt.UTC
TODAY = dt.date(2026, 6, 30)  # "now" of the sample world; fixed so output never drifts

# --------------------------------------------------------------------------------------------
# Valid PII
# --------------------------------------------------------------------------------------------


def digits(rng: random.Random, k: int) -> str:
    """`k` random decimal digits."""
    return "".join(str(rng.randint(0, 9)) for _ in range(k))


def luhn_digit(body: str) -> str:
    """The check digit that makes `body + digit` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    """A Luhn-valid Visa / Mastercard (51-55, 2221-2720) / Amex (34, 37) number.

    About a third are grouped with spaces the way people type them (4-4-4-4, Amex 4-6-5).
    """
    kind = rng.choices(("visa", "mc", "mc2", "amex"), weights=(45, 30, 10, 15))[0]
    if kind == "visa":
        prefix, length = "4", 16
    elif kind == "mc":
        prefix, length = str(rng.randint(51, 55)), 16
    elif kind == "mc2":
        prefix, length = str(rng.randint(2221, 2720)), 16
    else:
        prefix, length = rng.choice(("34", "37")), 15
    body = prefix + digits(rng, length - len(prefix) - 1)
    number = body + luhn_digit(body)
    if rng.random() < 0.35:
        if length == 15:
            return f"{number[:4]} {number[4:10]} {number[10:]}"
        return " ".join(number[i:i + 4] for i in range(0, 16, 4))
    return number


# BBAN layouts (ISO 13616 registry): n = digit, a = upper-case letter, c = alphanumeric
IBAN_BBAN = {
    "DE": "n" * 18,                       # bank code 8 + account 10
    "FR": "n" * 10 + "c" * 11 + "n" * 2,  # bank 5 + branch 5 + account 11 + RIB key 2
    "ES": "n" * 20,                       # bank 4 + branch 4 + check 2 + account 10
    "NL": "a" * 4 + "n" * 10,             # bank 4 + account 10
    "GB": "a" * 4 + "n" * 14,             # bank 4 + sort code 6 + account 8
    "IT": "a" + "n" * 10 + "c" * 12,      # CIN 1 + ABI 5 + CAB 5 + account 12
}
IBAN_BANKS = {  # real-looking bank identifiers for the letter-coded countries
    "NL": ("INGB", "ABNA", "RABO", "SNSB", "TRIO"),
    "GB": ("NWBK", "BARC", "HBUK", "LOYD", "MIDL"),
}


def iban_check(country: str, bban: str) -> str:
    """The two IBAN check digits (ISO 13616: 98 - (BBAN + country + '00' as digits) mod 97)."""
    numeric = "".join(str(int(ch, 36)) for ch in bban + country + "00")
    return f"{98 - int(numeric) % 97:02d}"


def iban(rng: random.Random, country: str) -> str:
    """An IBAN for `country` with the country's BBAN layout and correct check digits.

    Every fifth one is printed in the 4-character groups used on paper.
    """
    layout = IBAN_BBAN[country]
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    chars = []
    for kind in layout:
        if kind == "n":
            chars.append(str(rng.randint(0, 9)))
        elif kind == "a":
            chars.append(chr(rng.randint(65, 90)))
        else:
            chars.append(rng.choice(alnum) if rng.random() < 0.2 else str(rng.randint(0, 9)))
    bban = "".join(chars)
    if country in IBAN_BANKS:
        bban = rng.choice(IBAN_BANKS[country]) + bban[4:]
    value = country + iban_check(country, bban) + bban
    if rng.random() < 0.2:
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value


def ssn(rng: random.Random) -> str:
    """A US SSN valid under SSA rules: area 001-899 except 666, group 01-99, serial 0001-9999.

    Famous misused numbers (078-05-1120, 219-09-9999) and 123-45-6789 are avoided.
    """
    while True:
        area, group, serial = rng.randint(1, 899), rng.randint(1, 99), rng.randint(1, 9999)
        value = f"{area:03d}-{group:02d}-{serial:04d}"
        if area != 666 and value not in ("078-05-1120", "219-09-9999", "123-45-6789"):
            return value


# country -> (country code, national trunk prefix, dialling plan); each plan entry is
# (area or mobile prefix, subscriber length, allowed first subscriber digits, national grouping).
# Only prefixes/first digits that are allocated (libphonenumber metadata agrees) are listed.
PHONE_PLANS: dict[str, tuple[str, str, tuple[tuple[str, int, str, tuple[int, ...]], ...]]] = {
    "DE": ("+49", "0", (("30", 8, "2345789", (8,)), ("89", 8, "2345789", (8,)),
                        ("40", 8, "2345789", (8,)), ("221", 7, "2345789", (7,)),
                        ("151", 8, "0123456789", (8,)), ("160", 7, "0123456789", (7,)),
                        ("170", 7, "0123456789", (7,)), ("176", 8, "0123456789", (8,)))),
    "FR": ("+33", "0", (("1", 8, "2345678", (2, 2, 2, 2)), ("4", 8, "2345678", (2, 2, 2, 2)),
                        ("5", 8, "2345678", (2, 2, 2, 2)), ("6", 8, "1245678", (2, 2, 2, 2)),
                        ("7", 8, "345678", (2, 2, 2, 2)))),
    "ES": ("+34", "", (("91", 7, "2345678", (3, 2, 2)), ("93", 7, "2345678", (3, 2, 2)),
                       ("96", 7, "2345678", (3, 2, 2)), ("6", 8, "0123456789", (2, 3, 3)))),
    "NL": ("+31", "0", (("20", 7, "2345678", (3, 4)), ("10", 7, "2345678", (3, 4)),
                        ("30", 7, "2345678", (3, 4)), ("6", 8, "1234568", (8,)))),
    "IT": ("+39", "", (("06", 8, "2345789", (4, 4)), ("02", 8, "2345789", (4, 4)),
                       ("011", 7, "2345789", (3, 4)), ("3", 9, "234589", (2, 3, 4)))),
    "GB": ("+44", "0", (("20", 8, "378", (4, 4)), ("161", 7, "2345678", (3, 4)),
                        ("113", 7, "2345", (3, 4)), ("117", 7, "234", (3, 4)),
                        ("131", 7, "2345678", (3, 4)), ("7", 9, "4579", (3, 6)))),
    "US": ("+1", "", (("212", 7, "23456789", (3, 4)), ("415", 7, "23456789", (3, 4)),
                      ("512", 7, "23456789", (3, 4)), ("617", 7, "23456789", (3, 4)),
                      ("303", 7, "23456789", (3, 4)), ("206", 7, "23456789", (3, 4)),
                      ("312", 7, "23456789", (3, 4)))),
}


def _group(text: str, sizes: tuple[int, ...]) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(text[i:i + n])
        i += n
    return " ".join(out)


def phone(rng: random.Random, country: str, international: bool = False) -> str:
    """A phone number on an allocated prefix of `country`, in one of its usual notations.

    Formats mix E.164 (`+4915112345678`), spaced international (`+49 151 12345678`) and national
    (`0151 12345678`, `(212) 555-...` style for the US); `international=True` excludes national
    notation, for rows without a country column whose numbers must parse on their own.
    """
    cc, trunk, plan = PHONE_PLANS[country]
    area, length, first, sizes = rng.choice(plan)
    while True:
        sub = rng.choice(first) + digits(rng, length - 1)
        # US: no N11 service exchanges, no 555 (reserved for fiction/directory)
        if country != "US" or (sub[1:3] != "11" and sub[:3] != "555"):
            break
    style = rng.choice(("e164", "intl")) if international else rng.choice(("e164", "intl", "nat"))
    if style == "e164":
        return cc + area + sub
    if country == "US":
        return f"+1 {area}-{sub[:3]}-{sub[3:]}" if style == "intl" else f"({area}) {sub[:3]}-{sub[3:]}"
    if (country, area) in (("ES", "6"), ("IT", "3"), ("GB", "7")):  # mobiles: prefix joins group 1
        grouped = area + _group(sub, sizes)
        return f"{cc} {grouped}" if style == "intl" else trunk + grouped
    grouped = _group(sub, sizes)
    if country == "IT":  # Italian area codes keep their 0 internationally
        return f"{cc} {area} {grouped}" if style == "intl" else f"{area} {grouped}"
    return f"{cc} {area} {grouped}" if style == "intl" else f"{trunk}{area} {grouped}"


def postcode(rng: random.Random, country: str, spec: Any) -> str:
    """A postcode in the city's range, written as `country` writes postcodes."""
    if country == "GB":
        return f"{rng.choice(spec)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" \
               f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    value = rng.randint(*spec)
    if country == "NL":
        letters = "".join(rng.choice("ABCEGHJKLMNPRTVWXZ") for _ in range(2))
        return f"{value} {letters}"
    return f"{value:05d}"


def ipv4(rng: random.Random) -> str:
    """A public unicast IPv4 address (no private, loopback, CGNAT, link-local, multicast)."""
    while True:
        a, b = rng.randint(2, 223), rng.randint(0, 255)
        if a in (10, 127) or (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168) \
                or (a == 100 and 64 <= b <= 127) or (a == 169 and b == 254) \
                or (a == 198 and b in (18, 19)):
            continue
        return f"{a}.{b}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    """A global unicast IPv6 address under prefixes ISPs use (2a02::/16, 2003::/19, 2600::/12)."""
    head = rng.choice(("2a02", "2a01", "2003", "2600", "2607", "2a00"))
    groups = [f"{rng.randint(0, 0xFFFF):x}" for _ in range(7)]
    return ":".join([head, *groups])


# --------------------------------------------------------------------------------------------
# People and time
# --------------------------------------------------------------------------------------------


def mail_local(text: str) -> str:
    """`text` as an e-mail local part: German umlauts spelled out, other accents dropped."""
    text = text.lower()
    for src, dst in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text if ch.isalnum())


def person(rng: random.Random, region: str) -> Row:
    """A fake person living in `region`: name, country, city, address, e-mail, phone."""
    country = rng.choice(REGION_COUNTRIES[region])
    origin = ORIGIN_OF[country] if rng.random() < 0.8 else rng.choice(sorted(FIRST_NAMES))
    first, last = rng.choice(FIRST_NAMES[origin]), rng.choice(LAST_NAMES[origin])
    f, la = mail_local(first), mail_local(last)
    local = rng.choice((f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f}_{la}", f"{la}.{f}"))
    if rng.random() < 0.45:
        local += str(rng.choice((rng.randint(1, 99), rng.randint(1960, 2005))))
    city, spec = rng.choice(CITIES[country])
    street = rng.choice(STREETS[country]).format(n=rng.randint(1, 240), f=rng.randint(1, 24))
    return {
        "first": first, "last": last, "country": country, "city": city, "street": street,
        "postcode": postcode(rng, country, spec), "email": f"{local}@{rng.choice(MAIL_DOMAINS[country])}",
        "phone": phone(rng, country),
    }


def moment(rng: random.Random, start: dt.date, end: dt.date) -> dt.datetime:
    """A UTC timestamp (second precision) between `start` and `end`."""
    lo = dt.datetime.combine(start, dt.time(), UTC)
    span = int((dt.datetime.combine(end, dt.time(), UTC) - lo).total_seconds())
    return lo + dt.timedelta(seconds=rng.randint(0, span))


def day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    """A date between `start` and `end` (inclusive)."""
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def years_before(d: dt.date, years: int) -> dt.date:
    """`d` moved back `years` years (29 Feb falls back to 28 Feb)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def birth_date(rng: random.Random, min_age: int, max_age: int) -> dt.date:
    """A date of birth for someone aged `min_age`..`max_age` on TODAY."""
    return day(rng, years_before(TODAY, max_age + 1) + dt.timedelta(days=1),
               years_before(TODAY, min_age))


# --------------------------------------------------------------------------------------------
# Products (row builders; row order = generation order)
# --------------------------------------------------------------------------------------------


def customers(rng: random.Random) -> list[Row]:
    """sales.customers: one row per registered customer."""
    rows = []
    for i in range(ROWS):
        region = rng.choices(("eu", "uk", "us"), weights=(50, 20, 30))[0]
        p = person(rng, region)
        rows.append({
            "customer_id": f"CUST-{i + 1:05d}", "full_name": f"{p['first']} {p['last']}",
            "email": p["email"], "phone": p["phone"], "street_address": p["street"],
            "city": p["city"], "postcode": p["postcode"], "country": p["country"], "region": region,
            "birth_date": birth_date(rng, 18, 85),
            "loyalty_tier": rng.choices(("bronze", "silver", "gold", "platinum"), (55, 28, 13, 4))[0],
            "signup_ts": moment(rng, dt.date(2021, 1, 1), dt.date(2025, 12, 31)),
            "email_verified": rng.random() < 0.82,
        })
    return rows


def orders(rng: random.Random, custs: list[Row]) -> list[Row]:
    """sales.orders: one row per order, placed by a customer of sales.customers."""
    cards: dict[str, list[str]] = {}
    rows = []
    for i in range(ROWS):
        c = rng.choice(custs)
        wallet = cards.setdefault(c["customer_id"], [card_number(rng)])
        if rng.random() < 0.1:
            wallet.append(card_number(rng))
        created = moment(rng, dt.date(2026, 1, 1), dt.date(2026, 6, 1))
        amount = round(min(4999.0, max(4.99, rng.lognormvariate(4.2, 0.9))), 2)
        status = rng.choices(("placed", "paid", "shipped", "delivered", "returned", "cancelled"),
                             (8, 10, 15, 55, 7, 5))[0]
        shipped = None
        if status in ("shipped", "delivered", "returned"):
            shipped = (created + dt.timedelta(days=rng.choice((0, 1, 1, 2, 3, 5)))).date()
        rows.append({
            "order_id": f"ORD-{i + 123:06d}", "customer_id": c["customer_id"],
            "customer_email": c["email"], "customer_name": c["full_name"],
            "card_number": rng.choice(wallet), "amount": amount,
            "margin": round(amount * rng.uniform(0.04, 0.42), 2),
            "currency": CURRENCY[c["region"]], "region": c["region"], "status": status,
            "created_at": created, "shipped_on": shipped,
            "client_ip": ipv6(rng) if rng.random() < 0.15 else ipv4(rng),
        })
    return rows


def employees(rng: random.Random) -> list[Row]:
    """hr.employees: one row per employee; row 1 is the CEO, managers come before reports.

    Each row also carries a private `_country` (not written) so payroll can pick the IBAN country.
    """
    rows = []
    emails: set[str] = set()
    for i in range(ROWS):
        region = rng.choices(("eu", "uk", "us"), weights=(55, 20, 25))[0]
        p = person(rng, region)
        base = f"{mail_local(p['first'])}.{mail_local(p['last'])}"
        email, n = f"{base}@corp.example.com", 2
        while email in emails:
            email, n = f"{base}{n}@corp.example.com", n + 1
        emails.add(email)
        dept = "people" if i == 0 else rng.choice(sorted(DEPARTMENTS))
        born = birth_date(rng, 48, 60) if i == 0 else birth_date(rng, 21, 66)
        earliest = max(dt.date(2009, 1, 1), years_before(born, -21))
        rows.append({
            "employee_id": f"EMP-{i + 1:05d}", "first_name": p["first"], "last_name": p["last"],
            "work_email": email, "phone": phone(rng, p["country"], international=True),
            "national_id": ssn(rng), "birth_date": born, "department": dept,
            "job_title": "Chief Executive Officer" if i == 0 else rng.choice(DEPARTMENTS[dept]),
            "region": region, "hire_date": day(rng, earliest, TODAY) if earliest < TODAY else TODAY,
            "manager_id": None if i == 0 else f"EMP-{rng.randint(1, min(i, 40)):05d}",
            "_country": p["country"],
        })
    return rows


def payroll(rng: random.Random, staff: list[Row]) -> list[Row]:
    """hr.payroll: the latest pay run per employee of hr.employees (same ids and regions).

    Salaries are annual gross in the region's currency. US staff are paid by the group's
    EU/UK treasury, so they also have IBANs (the US has no IBAN of its own).
    """
    band = {"engineering": (62000, 165000), "sales": (45000, 140000), "finance": (50000, 150000),
            "marketing": (42000, 120000), "operations": (36000, 90000), "people": (40000, 130000)}
    rows = []
    for e in staff:
        country = e["_country"] if e["_country"] in IBAN_BBAN else rng.choice(("GB", "NL", "DE"))
        lo, hi = band[e["department"]]
        salary = round(rng.uniform(lo, hi) / 100) * 100.0
        bonus = round(salary * rng.choice((0, 0, 0.05, 0.08, 0.1, 0.15)) + rng.uniform(0, 99), 2)
        month = rng.randint(1, 6)
        pay_day = dt.date(2026, month, 25)
        while pay_day.weekday() >= 5:  # paid on the last working day on or before the 25th
            pay_day -= dt.timedelta(days=1)
        rows.append({
            "employee_id": e["employee_id"], "iban": iban(rng, country), "salary": salary,
            "bonus": bonus, "currency": CURRENCY[e["region"]], "pay_date": pay_day,
            "region": e["region"],
        })
    return rows


def campaign_events(rng: random.Random) -> list[Row]:
    """marketing.campaign_events: one row per tracked e-mail click."""
    rows = []
    for i in range(ROWS):
        region = rng.choices(("eu", "uk", "us"), weights=(50, 20, 30))[0]
        p = person(rng, region)
        rows.append({
            "event_id": f"EVT-{i + 4711:07d}", "campaign": rng.choice(CAMPAIGNS), "email": p["email"],
            "ip_address": ipv6(rng) if rng.random() < 0.25 else ipv4(rng),
            "user_agent": rng.choice(USER_AGENTS),
            "clicked_at": moment(rng, dt.date(2026, 2, 1), dt.date(2026, 6, 1)),
            "country": p["country"], "region": region, "consent": rng.random() < 0.7,
        })
    return rows


def leads(rng: random.Random) -> list[Row]:
    """marketing.leads: one row per inbound B2B lead (contact at a fictional company)."""
    rows = []
    for i in range(ROWS):
        company, country = rng.choice(COMPANIES)
        region = next(r for r, cs in REGION_COUNTRIES.items() if country in cs)
        p = person(rng, region)
        p_country = country if region == "eu" else p["country"]
        rows.append({
            "lead_id": f"LEAD-{i + 1:05d}", "name": f"{p['first']} {p['last']}", "email": p["email"],
            "phone": phone(rng, p_country), "company": company, "country": p_country,
            "region": region, "score": rng.randint(0, 100),
            "source": rng.choice(("webinar", "paid-search", "referral", "trade-fair", "website")),
            "created_at": moment(rng, dt.date(2025, 9, 1), dt.date(2026, 6, 1)),
        })
    return rows


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

# Arrow types of the non-string columns; every other column is a string.
TYPES: dict[str, pa.DataType] = {
    "amount": pa.float64(), "margin": pa.float64(), "salary": pa.float64(), "bonus": pa.float64(),
    "score": pa.int64(), "email_verified": pa.bool_(), "consent": pa.bool_(),
    "created_at": pa.timestamp("us", "UTC"), "signup_ts": pa.timestamp("us", "UTC"),
    "clicked_at": pa.timestamp("us", "UTC"), "shipped_on": pa.date32(), "birth_date": pa.date32(),
    "hire_date": pa.date32(), "pay_date": pa.date32(),
}


def to_table(rows: list[Row]) -> pa.Table:
    """The rows as an Arrow table with the column order of the first row (private `_` keys dropped)."""
    names = [n for n in rows[0] if not n.startswith("_")]
    arrays = [pa.array([r[n] for r in rows], type=TYPES.get(n, pa.string())) for n in names]
    return pa.Table.from_arrays(arrays, names=names)


def write_parquet(rows: list[Row], path: Path) -> None:
    """Write Parquet with every option that affects the bytes pinned (no ARROW:schema blob)."""
    pq.write_table(
        to_table(rows), path, compression="zstd", compression_level=3, use_dictionary=True,
        write_statistics=True, version="2.6", data_page_version="1.0", store_schema=False,
        row_group_size=ROWS,
    )


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def write_csv(rows: list[Row], path: Path) -> None:
    """Write UTF-8 CSV with a header, `\\n` line ends, ISO dates and 2-decimal amounts."""
    names = [n for n in rows[0] if not n.startswith("_")]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows([_csv_cell(r[n]) for n in names] for r in rows)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def build() -> dict[str, list[Row]]:
    """Every product's rows, by product name. Each product has its own seeded RNG, so changing
    one product's builder leaves the others' rows unchanged."""

    def rng(name: str) -> random.Random:
        return random.Random(f"{SEED}:{name}")

    custs = customers(rng("sales.customers"))
    staff = employees(rng("hr.employees"))
    return {
        "sales.orders": orders(rng("sales.orders"), custs),
        "sales.customers": custs,
        "hr.employees": staff,
        "hr.payroll": payroll(rng("hr.payroll"), staff),
        "marketing.campaign_events": campaign_events(rng("marketing.campaign_events")),
        "marketing.leads": leads(rng("marketing.leads")),
    }


FORMATS = {"sales.orders": "parquet", "sales.customers": "parquet", "hr.employees": "parquet",
           "hr.payroll": "csv", "marketing.campaign_events": "parquet", "marketing.leads": "csv"}
WRITERS: dict[str, Callable[[list[Row], Path], None]] = {"parquet": write_parquet, "csv": write_csv}


def generate(out: Path) -> list[Path]:
    """Write every sample file into `out` as `<domain>.<product>.<ext>`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in build().items():
        path = out / f"{name}.{FORMATS[name]}"
        WRITERS[FORMATS[name]](rows, path)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "samples"
    for p in generate(target):
        print(p)
