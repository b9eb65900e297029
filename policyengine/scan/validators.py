"""Checksums and rules that turn a pattern match into validated evidence.

A regex alone says "looks like"; these say "is": Luhn plus issuer ranges for cards, ISO 13616
mod-97 for IBANs, SSA rules for SSNs, `ipaddress` for IPs, `phonenumbers` for phones, the
public-suffix list (tldextract's bundled snapshot, never the network) for e-mail domains.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

_NON_DIGIT = re.compile(r"\D")


def digits(text: str) -> str:
    """Only the digits of `text`."""
    return _NON_DIGIT.sub("", text)


def luhn_ok(number: str) -> bool:
    """The Luhn (mod 10) check used by payment cards."""
    total, double = 0, False
    for ch in reversed(number):
        d = ord(ch) - 48
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


# (prefix range low, high, allowed lengths): current issuer ranges, including the 2-series
# Mastercard block (2221-2720) that Presidio's default regex misses.
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    (4, 4, 1, frozenset({13, 16, 19})),  # Visa
    (51, 55, 2, frozenset({16})),  # Mastercard
    (2221, 2720, 4, frozenset({16})),  # Mastercard 2-series
    (34, 34, 2, frozenset({15})),  # Amex
    (37, 37, 2, frozenset({15})),
    (6011, 6011, 4, frozenset({16, 19})),  # Discover
    (644, 649, 3, frozenset({16, 19})),
    (65, 65, 2, frozenset({16, 19})),
    (622126, 622925, 6, frozenset({16, 19})),
    (3528, 3589, 4, frozenset({16, 19})),  # JCB
    (1800, 1800, 4, frozenset({15})),
    (2131, 2131, 4, frozenset({15})),
    (300, 305, 3, frozenset({14, 16, 19})),  # Diners
    (36, 36, 2, frozenset({14, 16, 19})),
    (38, 39, 2, frozenset({14, 16, 19})),
    (62, 62, 2, frozenset({16, 17, 18, 19})),  # UnionPay
    (50, 50, 2, frozenset(range(12, 20))),  # Maestro
    (56, 58, 2, frozenset(range(12, 20))),
    (6, 6, 1, frozenset(range(12, 20))),
    (2200, 2204, 4, frozenset({16, 17, 18, 19})),  # Mir
)


def card_ok(text: str) -> bool:
    """A payment card number: 12-19 digits, a known issuer range for its length, Luhn-valid."""
    num = digits(text)
    if not 12 <= len(num) <= 19 or len(set(num)) < 3 or not luhn_ok(num):
        return False
    for low, high, width, lengths in _CARD_RANGES:
        if len(num) in lengths and low <= int(num[:width]) <= high:
            return True
    return False


_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def iban_ok(text: str) -> bool:
    """ISO 13616: a known country, its length, and the mod-97 check digits."""
    s = re.sub(r"[\s-]", "", text).upper()
    if len(s) < 15 or not s.isalnum() or _IBAN_LENGTHS.get(s[:2]) != len(s):
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def ssn_ok(text: str) -> bool:
    """US SSN issuance rules: no 000/666/9xx area, no 00 group, no 0000 serial, no known fakes."""
    d = digits(text)
    if len(d) != 9 or len(set(d)) == 1 or d in ("123456789", "078051120", "219099999"):
        return False
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def ip_ok(text: str) -> bool:
    """A syntactically valid IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def gtin_ok(text: str) -> bool:
    """EAN-8/UPC-A/EAN-13/GTIN-14 check digit (a product barcode, not a person)."""
    d = text.strip()
    if not d.isdigit() or len(d) not in (8, 12, 13, 14):
        return False
    body, check = d[:-1], int(d[-1])
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


_NINO = re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def nino_ok(text: str) -> bool:
    """UK National Insurance number format rules."""
    return bool(_NINO.match(re.sub(r"\s", "", text).upper()))


def nhs_ok(text: str) -> bool:
    """UK NHS number: 10 digits with a mod-11 check digit."""
    d = digits(text)
    if len(d) != 10 or len(set(d)) == 1:
        return False
    total = sum(int(c) * (10 - i) for i, c in enumerate(d[:9]))
    check = 11 - total % 11
    return (0 if check == 11 else check) == int(d[9]) and check != 10


def nif_ok(text: str) -> bool:
    """Spanish DNI/NIE: 8 digits (or X/Y/Z + 7) and the mod-23 control letter."""
    s = re.sub(r"[\s-]", "", text).upper()
    if len(s) != 9:
        return False
    head = s[:-1]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    if not head.isdigit():
        return False
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(head) % 23] == s[-1]


def de_tax_ok(text: str) -> bool:
    """German Steuer-ID (IdNr): 11 digits, no leading 0, exactly one digit repeated (2 or 3
    times) in the first ten, ISO 7064 MOD 11,10 check digit."""
    d = digits(text)
    if len(d) != 11 or d[0] == "0":
        return False
    counts = sorted((d[:10].count(c) for c in set(d[:10])), reverse=True)
    if counts[0] not in (2, 3) or (len(counts) > 1 and counts[1] != 1):
        return False
    product = 10
    for c in d[:10]:
        total = (int(c) + product) % 10 or 10
        product = (2 * total) % 11
    return (11 - product) % 10 == int(d[10])


def nl_bsn_ok(text: str) -> bool:
    """Dutch BSN: 9 digits (8 when a leading zero was lost to an integer column), 11-proof."""
    d = digits(text)
    if len(d) == 8:
        d = "0" + d
    if len(d) != 9 or len(set(d)) < 3:
        return False
    total = sum(int(c) * w for c, w in zip(d[:8], range(9, 1, -1), strict=True)) - int(d[8])
    return total % 11 == 0 and total > 0


def fr_nir_ok(text: str) -> bool:
    """French NIR (numéro de sécurité sociale): 13 characters (Corsica: 2A/2B) + a mod-97 key."""
    s = re.sub(r"\s", "", text).upper()
    if len(s) != 15 or s[0] not in "123478" or not s[-2:].isdigit():
        return False
    body = s[:5] + {"2A": "19", "2B": "18"}.get(s[5:7], s[5:7]) + s[7:13]
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == int(s[13:])


_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def it_fiscal_ok(text: str) -> bool:
    """Italian codice fiscale: shape and check letter."""
    s = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]", s):
        return False
    total = 0
    for i, c in enumerate(s[:15]):
        v = int(c) if c.isdigit() else ord(c) - 65
        total += _CF_ODD[v] if i % 2 == 0 else v
    return chr(65 + total % 26) == s[15]


@lru_cache(maxsize=1)
def offline_tld_extractor():  # -> tldextract.TLDExtract
    """A tldextract extractor that only ever uses the snapshot bundled with the package.

    No suffix-list URLs and no cache directory: it never touches the network or disk and never
    logs. The module-level `tldextract.extract` (which Presidio's e-mail recognizer calls) is
    replaced by it too, so Presidio recognizers built elsewhere in the process stay offline.
    """
    import tldextract

    extractor = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
    tldextract.extract = extractor
    try:
        import tldextract.tldextract as inner

        inner.TLD_EXTRACTOR = extractor
        inner.extract = extractor
    except ImportError:  # pragma: no cover - layout of older tldextract versions
        pass
    return extractor


@lru_cache(maxsize=4096)
def domain_ok(domain: str) -> bool:
    """The domain ends in a public suffix known to the bundled list (`example.com` yes, `x.zz` no)."""
    parts = offline_tld_extractor()(domain.lower())
    return bool(parts.suffix) and bool(parts.domain)


def email_ok(text: str) -> bool:
    """An e-mail address whose domain has a known public suffix."""
    local, _, domain = text.rpartition("@")
    return bool(local) and "." in domain and domain_ok(domain)


_SPELLED_AT = re.compile(r"(?i)\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+(?:at|@)\s+")
_SPELLED_DOT = re.compile(r"(?i)\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+")


def email_spelled_ok(text: str) -> bool:
    """An e-mail address spelled out (`john at example dot com`, `john [at] example [dot] com`):
    written back with `@` and `.`, a valid address (its domain has a known public suffix)."""
    parts = _SPELLED_AT.split(text)
    if len(parts) != 2:
        return False
    address = (parts[0] + "@" + _SPELLED_DOT.sub(".", parts[1])).lower()
    return " " not in address and not address.partition("@")[2].startswith("www.") and email_ok(address)


# Regions tried for numbers written without a country code: North America plus the European
# and other large numbering plans, far more than Presidio's default (US, UK, DE, FR, IL, IN, CA, BR).
PHONE_REGIONS = (
    "US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "IE", "PT", "SE", "NO", "DK",
    "FI", "PL", "CZ", "AU", "NZ", "IN", "BR", "MX", "AR", "ZA", "JP", "SG",
    # other scripts (issue 26): national numbers of these countries are valid only here
    "CN", "TW", "KR", "RU", "UA", "BG", "GR", "IL", "SA", "AE", "IR", "EG",
)
_EXT = re.compile(r"(?i)\s*(?:x|ext\.?|extension|#|dw\.?|poste|durchwahl)\s*\d{1,6}$")


@lru_cache(maxsize=1)
def _phonenumbers():
    """`phonenumbers`, imported on first use with its regex cache on: trying 27 regions compiles
    more metadata patterns than the `re` module's bounded cache holds, and recompiling them
    evicted was most of a phone check's time (a release without `enable_pattern_cache` simply
    goes without)."""
    import phonenumbers

    enable = getattr(phonenumbers, "enable_pattern_cache", None)
    if enable is not None:
        enable()
    return phonenumbers


@lru_cache(maxsize=65536)
def phone_kind(text: str) -> int:
    """2 = a valid number in some region, 1 = a possible one (right length), 0 = not a phone."""
    phonenumbers = _phonenumbers()
    s = _EXT.sub("", text.strip())
    d = digits(s)
    if not 7 <= len(d) <= 15:
        return 0
    best = 0
    if s.startswith("+") or s.startswith("00"):
        candidates: tuple[tuple[str, str | None], ...] = (
            ("+" + s.lstrip("+")[2:] if s.startswith("00") else s, None),
        )
        if s.startswith("00"):
            candidates = (("+" + s[2:], None), (s, "US"))
    else:
        candidates = tuple((s, r) for r in PHONE_REGIONS)
    for text_, region in candidates:
        try:
            num = phonenumbers.parse(text_, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return 2
        if best == 0 and phonenumbers.is_possible_number(num):
            best = 1
    return best


_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # a Chinese mobile number: 11 digits, no trunk prefix, always so written
_RU_TRUNK = re.compile(r"^8(?:\s?\(\d{3,5}\)|[\s-]\d{3,5}[\s-])\s?\d")  # a Russian/Belarusian/Kazakh national number: trunk 8
_NANP = re.compile(r"^(?:\+?1[-. ]?)?(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}$")
_TRUNK = re.compile(r"^\(?0[1-9]")
_GROUPS = re.compile(r"\d+")


def _valid_in(text: str, region: str) -> bool:
    phonenumbers = _phonenumbers()
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


def phone_form(text: str) -> str:
    """How a phone-like string is written, which says more than its digits do:

    `intl` (+49 30 …, 0049 30 …), `trunk` (a national number with its trunk 0: 030 1234567,
    06 12 34 56 78), `nanp` ((212) 555-1234, 212-555-1234, 212.555.1234, 1-212-555-1234),
    `grouped` (three or more short digit groups without a trunk 0: 612 345 678), `bare` (only
    digits), `other` (two groups, long runs: 12-3456789, 2019/2020, 12345.67).
    """
    s = _EXT.sub("", text.strip())
    if s.startswith(("+", "(+")):
        return "intl"
    if s.startswith("00"):
        return "intl" if len(digits(s)) >= 11 else "other"  # 00 + country code; not a zero-padded id
    if _TRUNK.match(s) or (_RU_TRUNK.match(s) and _valid_in(s, "RU")):
        return "trunk"
    if _CN_MOBILE.match(s) and _valid_in(s, "CN"):
        return "intl"  # as unmistakable as +86 …: Chinese mobiles have one written form
    if _NANP.match(s):
        return "nanp"
    if s.isdigit():
        return "bare"
    groups = _GROUPS.findall(s)
    if len(groups) >= 3 and max(len(g) for g in groups) <= 4:
        return "grouped"
    return "other"


def imei_ok(text: str) -> bool:
    """IMEI: 15 digits (or 14 + check digit), Luhn-valid, not one repeated digit."""
    d = digits(text)
    return len(d) == 15 and len(set(d)) > 2 and luhn_ok(d)


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def btc_ok(text: str) -> bool:
    """A Bitcoin address with a valid checksum: Base58Check (double SHA-256; P2PKH `1…`, P2SH `3…`)
    or bech32/bech32m (BIP 173/350; `bc1…`)."""
    import hashlib

    s = text.strip()
    if s[:3].lower() == "bc1":
        if s != s.lower() and s != s.upper():
            return False
        s = s.lower()
        hrp, _, data = s.rpartition("1")
        if hrp != "bc" or len(data) < 6 or any(c not in _BECH32 for c in data):
            return False
        values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + [_BECH32.index(c) for c in data]
        return _bech32_polymod(values) in (1, 0x2BC830A3)
    if not 25 <= len(s) <= 35 or s[0] not in "13" or any(c not in _B58 for c in s):
        return False
    n = 0
    for c in s:
        n = n * 58 + _B58.index(c)
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    if len(raw) != 25 or raw[0] not in (0, 5):
        return False
    return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]


def secret_ok(text: str) -> bool:
    """A credential with a vendor prefix (cloud access key, API token) whose random part is not a
    placeholder: at least 8 distinct characters after the prefix (`AKIAXXXXXXXXXXXXXXXX` is not
    a key). Private-key block headers are always kept."""
    s = text.strip()
    if s.startswith("-----BEGIN"):
        return True
    body = re.sub(r"^(?:AKIA|ASIA|ABIA|ACCA|AIza|gh[pousr]_|github_pat_|xox[abprs]-|sk_live_|rk_live_|glpat-)", "", s)
    return len(set(body)) >= 8 and "EXAMPLE" not in s.upper()


_PASSPORT = re.compile(r"^(?=.*\d.*\d.*\d.*\d.*\d)[A-Z0-9]{6,9}$")


def passport_ok(text: str) -> bool:
    """A passport number's shape (ICAO 9303 document numbers: 6-9 letters and digits, at least five
    digits), not one repeated character: the column name has to say passport (`needs_hint`)."""
    s = re.sub(r"[\s-]", "", text).upper()
    return bool(_PASSPORT.match(s)) and len(set(s)) > 2


_MRN = re.compile(r"^[A-Z]{0,3}\d{5,12}[A-Z]?$")


def mrn_ok(text: str) -> bool:
    """A medical record number's shape: an optional 1-3 letter prefix (a site code), 5-12 digits,
    an optional check letter; not one repeated digit. Hospitals have no common format or check
    digit, so the column name has to say so (`needs_hint`) and the values must be mostly unique."""
    s = re.sub(r"[\s-]", "", text).upper()
    if not _MRN.match(s) or len(s) > 12:
        return False
    d = digits(s)
    return len(set(d)) > 1


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "luhn": lambda t: len(digits(t)) >= 8 and luhn_ok(digits(t)),
    "card": card_ok,
    "iban": iban_ok,
    "ssn": ssn_ok,
    "ip": ip_ok,
    "email": email_ok,
    "email_spelled": email_spelled_ok,
    "phone": lambda t: phone_kind(t) == 2,
    "gtin": gtin_ok,
    "nino": nino_ok,
    "nhs": nhs_ok,
    "nif": nif_ok,
    "it_fiscal_code": it_fiscal_ok,
    "de_tax_id": de_tax_ok,
    "nl_bsn": nl_bsn_ok,
    "fr_nir": fr_nir_ok,
    "imei": imei_ok,
    "btc": btc_ok,
    "secret": secret_ok,
    "passport": passport_ok,
    "mrn": mrn_ok,
}
