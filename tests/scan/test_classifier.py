"""The classifier on small crafted tables: every entity, and the look-alikes that must stay clean."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from policyengine.scan import scan_paths
from policyengine.scan.validators import luhn_ok

rng = random.Random(7)
N = 120


def _card(prefix: str, length: int) -> str:
    while True:
        body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
        for d in "0123456789":
            if luhn_ok(body + d):
                return body + d


def _iban_gb() -> str:
    bank = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    acct = "".join(rng.choice("0123456789") for _ in range(14))
    moved = bank + acct + "GB00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"GB{check:02d}{bank}{acct}"


FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
         "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
        "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Martin", "Lee"]
STREETS = ["Main Street", "Oak Avenue", "Maple Road", "Cedar Lane", "Elm Drive", "Park Boulevard", "Hill Court"]
WORDS = ["the", "order", "was", "shipped", "late", "and", "the", "customer", "asked", "about", "the", "refund", "policy", "again", "today"]


def gen(kind: str, i: int) -> object:
    r = rng
    return {
        "email": lambda: f"{r.choice(FIRST).lower()}.{r.choice(LAST).lower()}{i}@{r.choice(['example.com', 'mail.de', 'corp.co.uk'])}",
        "phone": lambda: f"+1-{r.choice(['212', '415', '617', '312'])}-{r.randint(200, 999)}-{r.randint(1000, 9999)}",
        "phone_de": lambda: f"+49 30 {r.randint(1000000, 9999999)}",
        "card": lambda: _card(r.choice(["4", "51", "2221", "2720", "37", "6011"]), 15 if False else 16),
        "card_int": lambda: int(_card(r.choice(["4", "53", "2300"]), 16)),
        "ssn": lambda: f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
        "iban": _iban_gb,
        "ipv4": lambda: f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
        "ipv6": lambda: ":".join(f"{r.randint(0, 65535):x}" for _ in range(8)),
        "full_name": lambda: f"{r.choice(FIRST)} {r.choice(LAST)}",
        "address": lambda: f"{r.randint(1, 9999)} {r.choice(STREETS)}",
        "notes_email": lambda: (" ".join(r.choice(WORDS) for _ in range(8)) + (f" contact {r.choice(FIRST).lower()}{i}@example.org" if i % 10 == 0 else "")),
        "notes_phone": lambda: (" ".join(r.choice(WORDS) for _ in range(8)) + (f" called from (415) 555-{1000 + i:04d}" if i % 8 == 0 else "")),
        # look-alikes
        "order_id": lambda: 100000 + i * 7,
        "sku": lambda: f"SKU-{r.randint(10000, 99999)}-{r.choice('ABCDEFG')}",
        "ean": lambda: _ean(),
        "version": lambda: ".".join(str(r.randint(0, 20)) for _ in range(r.choice([3, 4]))),
        "sha": lambda: "".join(r.choice("0123456789abcdef") for _ in range(64)),
        "amount": lambda: round(r.uniform(1, 5000), 2),
        "amount_text": lambda: f"${r.uniform(1, 5000):.2f}",
        "company": lambda: r.choice(["Acme Corp", "Globex LLC", "Initech Inc", "Umbrella plc", "Hooli", "Vandelay Industries", "Stark Industries", "Wayne Enterprises"]) + f" {i}",
        "product": lambda: r.choice(["Ergonomic", "Proactive", "Multi-layered", "Reactive", "Seamless"]) + " " + r.choice(["firmware", "matrix", "solution", "framework", "toolset"]),
        "flag": lambda: r.choice([0, 1]),
        "timestamp": lambda: f"2024-0{r.randint(1, 9)}-1{r.randint(0, 9)} 1{r.randint(0, 9)}:2{r.randint(0, 9)}:00",
        "uuid": lambda: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    }[kind]()


def _ean() -> str:
    body = "".join(rng.choice("0123456789") for _ in range(12))
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def table(tmp_path: Path, columns: dict[str, str], name: str = "t.parquet") -> Path:
    data = {col: [gen(kind, i) for i in range(N)] for col, kind in columns.items()}
    path = tmp_path / name
    pq.write_table(pa.table(data), path)
    return path


def entities(report, column: str) -> set[str]:
    return {f.entity for f in report.findings if f.column == column}


PII_CASES = [
    ("c01", "email", "EMAIL_ADDRESS"),
    ("contact", "phone", "PHONE_NUMBER"),
    ("x2", "phone_de", "PHONE_NUMBER"),
    ("attr3", "card", "CREDIT_CARD"),
    ("card_no", "card_int", "CREDIT_CARD"),
    ("col4", "ssn", "US_SSN"),
    ("acct", "iban", "IBAN_CODE"),
    ("c5", "ipv4", "IP_ADDRESS"),
    ("c6", "ipv6", "IP_ADDRESS"),
    ("c7", "address", "LOCATION"),
    ("notes", "notes_email", "EMAIL_ADDRESS"),
    ("remarks", "notes_phone", "PHONE_NUMBER"),
]


@pytest.mark.parametrize(("column", "kind", "entity"), PII_CASES)
def test_each_entity_is_found_from_values(tmp_path: Path, column: str, kind: str, entity: str) -> None:
    report = scan_paths([table(tmp_path, {column: kind})], model="none")
    assert entity in entities(report, column)


LOOKALIKES = [
    ("order_id", "order_id"), ("sku", "sku"), ("ean", "ean"), ("barcode", "ean"), ("app_version", "version"),
    ("c9", "version"), ("checksum", "sha"), ("amount", "amount"), ("price_label", "amount_text"),
    ("email_verified", "flag"), ("created_at", "timestamp"), ("request_id", "uuid"), ("phone_count", "flag"),
]


@pytest.mark.parametrize(("column", "kind"), LOOKALIKES)
def test_lookalikes_are_not_pii(tmp_path: Path, column: str, kind: str) -> None:
    report = scan_paths([table(tmp_path, {column: kind})], model="none")
    assert entities(report, column) == set()


def test_names_need_ner_and_product_names_stay_clean(tmp_path: Path, nlp_model: str) -> None:
    path = table(tmp_path, {"customer": "full_name", "name": "product", "company": "company", "c3": "full_name"})
    report = scan_paths([path], model=nlp_model)
    assert "PERSON" in entities(report, "customer")
    assert "PERSON" in entities(report, "c3")
    assert entities(report, "name") == set()
    assert "PERSON" not in entities(report, "company")


def test_upper_case_values_and_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = ["mail,phone,qty"] + [f"{gen('email', i).upper()},{gen('phone', i)},{i}" for i in range(N)]
    path.write_text("\n".join(rows) + "\n")
    report = scan_paths([path], model="none")
    assert entities(report, "mail") == {"EMAIL_ADDRESS"}
    assert entities(report, "phone") == {"PHONE_NUMBER"}
    assert entities(report, "qty") == set()


def test_nulls_do_not_dilute_evidence(tmp_path: Path) -> None:
    values = [gen("email", i) if i % 3 == 0 else None for i in range(3 * N)]
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"c": values}), path)
    report = scan_paths([path], model="none")
    assert entities(report, "c") == {"EMAIL_ADDRESS"}


def test_sampling_is_reproducible(tmp_path: Path) -> None:
    path = table(tmp_path, {"c1": "email", "c2": "ipv4"})
    a = scan_paths([path], model="none", sample_rows=20, seed=3).to_dict()
    b = scan_paths([path], model="none", sample_rows=20, seed=3).to_dict()
    assert a["findings"] == b["findings"]
