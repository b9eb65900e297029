"""Generate the example mesh's sample data: seeded, deterministic, fake but realistic PII.

Run `python examples/mesh/generate.py [OUT_DIR]` (default: examples/mesh/samples). The same seed
always gives byte-identical files, so the committed samples can be checked against this script.
PII is valid where validity can be checked: card numbers pass Luhn in real IIN ranges, IBANs
carry correct mod-97 check digits, SSNs follow SSA rules, phone numbers have real formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261124
ROWS = 300
REGIONS = ("eu", "uk", "us")

FIRST = ("James", "Olivia", "Liam", "Emma", "Noah", "Sophie", "Lukas", "Hannah", "Maximilian", "Lea",
         "Louis", "Camille", "Hugo", "Chloé", "Pablo", "Lucía", "Alejandro", "Sofía", "Daan", "Sanne",
         "Bram", "Fleur", "Giulia", "Lorenzo", "Francesca", "Matteo", "Aisha", "Mohammed", "Priya", "Wei")
LAST = ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Müller", "Schmidt", "Schneider", "Fischer",
        "Weber", "Martin", "Bernard", "Dubois", "Lefèvre", "García", "Fernández", "López", "Martínez",
        "de Vries", "van Dijk", "Jansen", "Bakker", "Rossi", "Russo", "Ferrari", "Esposito", "Khan",
        "Patel", "O'Brien", "Nguyen")
STREETS = ("High Street", "Station Road", "Hauptstraße", "Bahnhofstraße", "Rue de la Paix",
           "Avenue Victor Hugo", "Calle Mayor", "Gran Vía", "Kerkstraat", "Dorpsstraat", "Via Roma",
           "Corso Italia", "Maple Avenue", "Oak Street", "Elm Drive")
CITIES = {"eu": ("Berlin", "Munich", "Paris", "Lyon", "Madrid", "Barcelona", "Amsterdam", "Utrecht",
                 "Rome", "Milan"),
          "uk": ("London", "Manchester", "Leeds", "Bristol", "Edinburgh"),
          "us": ("Springfield", "Austin", "Denver", "Portland", "Boston")}
COUNTRIES = {"eu": ("DE", "FR", "ES", "NL", "IT"), "uk": ("GB",), "us": ("US",)}
DOMAINS = ("example.com", "mail.example.org", "post.example.net", "example.de", "example.fr")
COMPANIES = ("Acme GmbH", "Globex SA", "Initech Ltd", "Umbrella BV", "Stark SpA", "Wayne Corp",
             "Hooli Inc", "Vandelay Industries", "Soylent SL", "Tyrell plc")
DEPARTMENTS = ("engineering", "sales", "finance", "marketing", "operations", "people")
TITLES = ("Engineer", "Senior Engineer", "Account Executive", "Analyst", "Manager", "Director")
CAMPAIGNS = ("spring-sale", "black-friday", "newsletter-42", "webinar-data-mesh", "retargeting-q3")
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1)",
          "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "Mozilla/5.0 (X11; Linux x86_64)")
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def luhn_digit(body: str) -> str:
    """The check digit that makes `body + digit` pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    kind = rng.choice(("visa", "mc", "mc2", "amex"))
    if kind == "visa":
        prefix, length = "4", 16
    elif kind == "mc":
        prefix, length = str(rng.randint(51, 55)), 16
    elif kind == "mc2":
        prefix, length = str(rng.randint(2221, 2720)), 16
    else:
        prefix, length = rng.choice(("34", "37")), 15
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    number = body + luhn_digit(body)
    if rng.random() < 0.3:  # some formatted with spaces, as people type them
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    return number


IBAN_FORMATS = {"DE": (18, "n"), "FR": (23, "n"), "ES": (20, "n"), "NL": (14, "nl"), "GB": (18, "gb"),
                "IT": (23, "it")}


def iban_check(country: str, bban: str) -> str:
    """The two IBAN check digits (ISO 13616 mod 97)."""
    rearranged = bban + country + "00"
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def iban(rng: random.Random, country: str) -> str:
    length, kind = IBAN_FORMATS[country]
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if kind == "nl":
        bban = "".join(rng.choice(letters) for _ in range(4)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    elif kind == "gb":
        bban = "".join(rng.choice(letters) for _ in range(4)) + "".join(str(rng.randint(0, 9)) for _ in range(14))
    elif kind == "it":
        bban = rng.choice(letters) + "".join(str(rng.randint(0, 9)) for _ in range(22))
    else:
        bban = "".join(str(rng.randint(0, 9)) for _ in range(length))
    return country + iban_check(country, bban) + bban


def ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: random.Random, country: str) -> str:
    n = lambda k: "".join(str(rng.randint(0, 9)) for _ in range(k))  # noqa: E731
    if country == "US":
        area = rng.choice(("212", "415", "512", "617", "303", "503"))
        return rng.choice((f"+1 {area}-{rng.randint(200, 999)}-{n(4)}", f"({area}) {rng.randint(200, 999)}-{n(4)}"))
    if country == "GB":
        return rng.choice((f"+44 7{n(3)} {n(6)}", f"07{n(3)} {n(6)}", f"+44 20 {n(4)} {n(4)}"))
    if country == "DE":
        return rng.choice((f"+49 30 {n(8)}", f"+49 151 {n(8)}", f"030 {n(8)}"))
    if country == "FR":
        return rng.choice((f"+33 6 {n(2)} {n(2)} {n(2)} {n(2)}", f"01 {n(2)} {n(2)} {n(2)} {n(2)}"))
    if country == "ES":
        return f"+34 6{n(2)} {n(3)} {n(3)}"
    if country == "NL":
        return rng.choice((f"+31 6 {n(8)}", f"020 {n(3)} {n(4)}"))
    return f"+39 3{n(2)} {n(3)} {n(4)}"


def ascii_fold(text: str) -> str:
    table = str.maketrans({"ü": "ue", "é": "e", "è": "e", "á": "a", "í": "i", "ó": "o", "ñ": "n", "'": "", " ": ""})
    return text.lower().translate(table)


def person(rng: random.Random, region: str) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    country = rng.choice(COUNTRIES[region])
    email = f"{ascii_fold(first)}.{ascii_fold(last)}{rng.randint(1, 99)}@{rng.choice(DOMAINS)}"
    return {"first": first, "last": last, "country": country, "email": email,
            "phone": phone(rng, country), "city": rng.choice(CITIES[region])}


def ipv4(rng: random.Random) -> str:
    return f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{rng.randint(0, 65535):x}" for _ in range(6))


def ts(rng: random.Random, days: int = 300) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=rng.randint(0, days * 86400))


def day(rng: random.Random, start: dt.date, span_days: int) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, span_days))


def orders(rng: random.Random) -> pa.Table:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        p = person(rng, region)
        created = ts(rng)
        amount = round(rng.uniform(5, 2500), 2)
        rows.append({
            "order_id": f"ORD-{i + 1:06d}", "customer_id": f"CUST-{rng.randint(1, 5000):05d}",
            "customer_email": p["email"], "customer_name": f"{p['first']} {p['last']}",
            "card_number": card_number(rng), "amount": amount, "margin": round(amount * rng.uniform(0.05, 0.4), 2),
            "currency": {"eu": "EUR", "uk": "GBP", "us": "USD"}[region], "region": region,
            "status": rng.choice(("placed", "shipped", "delivered", "returned")), "created_at": created,
            "shipped_on": (created + dt.timedelta(days=rng.randint(1, 7))).date(), "client_ip": ipv4(rng),
        })
    return _table(rows, {"amount": pa.float64(), "margin": pa.float64(), "created_at": pa.timestamp("us", "UTC"),
                         "shipped_on": pa.date32()})


def customers(rng: random.Random) -> pa.Table:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        p = person(rng, region)
        rows.append({
            "customer_id": f"CUST-{i + 1:05d}", "full_name": f"{p['first']} {p['last']}", "email": p["email"],
            "phone": p["phone"], "street_address": f"{rng.randint(1, 220)} {rng.choice(STREETS)}",
            "city": p["city"], "postcode": f"{rng.randint(10000, 99999)}", "country": p["country"],
            "region": region, "birth_date": day(rng, dt.date(1950, 1, 1), 365 * 55),
            "loyalty_tier": rng.choice(("bronze", "silver", "gold")), "signup_ts": ts(rng),
            "email_verified": rng.random() < 0.8,
        })
    return _table(rows, {"birth_date": pa.date32(), "signup_ts": pa.timestamp("us", "UTC"), "email_verified": pa.bool_()})


def employees(rng: random.Random) -> pa.Table:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        p = person(rng, region)
        rows.append({
            "employee_id": f"EMP-{i + 1:05d}", "first_name": p["first"], "last_name": p["last"],
            "work_email": f"{ascii_fold(p['first'])}.{ascii_fold(p['last'])}@corp.example.com",
            "phone": p["phone"], "national_id": ssn(rng), "birth_date": day(rng, dt.date(1960, 1, 1), 365 * 40),
            "department": rng.choice(DEPARTMENTS), "job_title": rng.choice(TITLES), "region": region,
            "hire_date": day(rng, dt.date(2010, 1, 1), 365 * 15),
            "manager_id": f"EMP-{rng.randint(1, 40):05d}",
        })
    return _table(rows, {"birth_date": pa.date32(), "hire_date": pa.date32()})


def payroll(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        country = rng.choice({"eu": ("DE", "FR", "ES", "NL", "IT"), "uk": ("GB",), "us": ("DE", "NL")}[region])
        salary = round(rng.uniform(38000, 160000), 2)
        rows.append({
            "employee_id": f"EMP-{i + 1:05d}", "iban": iban(rng, country), "salary": salary,
            "bonus": round(salary * rng.uniform(0, 0.2), 2), "currency": {"eu": "EUR", "uk": "GBP", "us": "USD"}[region],
            "pay_date": day(rng, dt.date(2026, 1, 1), 300).isoformat(), "region": region,
        })
    return rows


def campaign_events(rng: random.Random) -> pa.Table:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        p = person(rng, region)
        rows.append({
            "event_id": f"EVT-{i + 1:07d}", "campaign": rng.choice(CAMPAIGNS), "email": p["email"],
            "ip_address": ipv6(rng) if rng.random() < 0.2 else ipv4(rng), "user_agent": rng.choice(AGENTS),
            "clicked_at": ts(rng), "country": p["country"], "region": region, "consent": rng.random() < 0.7,
        })
    return _table(rows, {"clicked_at": pa.timestamp("us", "UTC"), "consent": pa.bool_()})


def leads(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(ROWS):
        region = rng.choice(REGIONS)
        p = person(rng, region)
        rows.append({
            "lead_id": f"LEAD-{i + 1:05d}", "name": f"{p['first']} {p['last']}", "email": p["email"],
            "phone": p["phone"], "company": rng.choice(COMPANIES), "country": p["country"], "region": region,
            "score": rng.randint(0, 100), "source": rng.choice(("webinar", "ads", "referral", "event")),
            "created_at": ts(rng).strftime("%Y-%m-%dT%H:%M:%SZ"),
        })
    return rows


def _table(rows: list[dict], types: dict[str, pa.DataType]) -> pa.Table:
    names = list(rows[0])
    arrays = [pa.array([r[n] for r in rows], type=types.get(n, pa.string())) for n in names]
    return pa.Table.from_arrays(arrays, names=names)


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", write_statistics=True, store_schema=False)


def _write_csv(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def generate(out: Path) -> list[Path]:
    """Write every sample file into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, build, kind in (
        ("sales.orders", orders, "parquet"), ("sales.customers", customers, "parquet"),
        ("hr.employees", employees, "parquet"), ("hr.payroll", payroll, "csv"),
        ("marketing.campaign_events", campaign_events, "parquet"), ("marketing.leads", leads, "csv"),
    ):
        rng = random.Random(f"{SEED}:{name}")
        data = build(rng)
        path = out / f"{name}.{kind}"
        if kind == "parquet":
            _write_parquet(data, path)
        else:
            _write_csv(data, path)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "samples"
    for p in generate(target):
        print(p)
