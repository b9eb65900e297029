"""The example mesh is consistent with itself.

The samples regenerate byte-for-byte from `examples/mesh/generate.py`, every ODCS contract loads
cleanly and matches its sample's columns and types, and the fake PII is *valid* (Luhn, IIN
ranges, IBAN mod 97, SSA rules, allocated phone prefixes, public IPs, plausible birth dates) so
the PII scanner and policy demos see realistic data. Everything needed is inside the repo.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from policyengine.catalog.contracts import Catalog, load_catalog

MESH = Path(__file__).resolve().parent.parent / "examples" / "mesh"
PRODUCTS = ("sales.orders", "sales.customers", "hr.employees", "hr.payroll",
            "marketing.campaign_events", "marketing.leads")
SAMPLE_DAY = dt.date(2026, 6, 30)  # the generator's fixed "today"


def _generator() -> ModuleType:
    """Import examples/mesh/generate.py (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("mesh_generate", MESH / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> pa.Table:
    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(MESH / "products")


@pytest.fixture(scope="module")
def rows(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """Each product's committed sample rows, as read back by pyarrow."""
    return {name: _read(p.samples[0].path).to_pylist() for name, p in catalog.products.items()}


def _column(rows: dict[str, list[dict[str, Any]]], product: str, column: str) -> list[Any]:
    return [r[column] for r in rows[product]]


# ---------------------------------------------------------------------------- (a) reproducible


def test_generator_reproduces_committed_samples(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in (MESH / "samples").iterdir())
    for path in written:
        committed = MESH / "samples" / path.name
        if path.read_bytes() == committed.read_bytes():
            continue
        # Parquet bytes embed the writer ("parquet-cpp-arrow version X"); under another pyarrow
        # release compare contents instead, but with the same writer the bytes must be equal.
        assert path.suffix == ".parquet", f"{path.name} differs from the committed sample"
        ours, theirs = pq.ParquetFile(path).metadata, pq.ParquetFile(committed).metadata
        assert ours.created_by != theirs.created_by, f"{path.name} differs byte-wise"
        assert _read(path).equals(_read(committed)), f"{path.name} content differs"


def test_generator_is_deterministic_across_runs(tmp_path: Path) -> None:
    gen = _generator()
    first = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "one")}
    second = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "two")}
    assert first == second


# ------------------------------------------------------------------------------ (b) catalog


def test_catalog_loads_without_warnings(catalog: Catalog) -> None:
    assert sorted(catalog.products) == sorted(PRODUCTS)
    assert catalog.domains == {"sales", "hr", "marketing"}
    assert catalog.warnings == ()


def test_contract_ids_are_unique_and_files_are_named_after_products() -> None:
    ids = []
    for f in sorted((MESH / "products").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        assert f.stem == f"{doc['domain']}.{doc['dataProduct']}"
        ids.append(doc["id"])
    assert len(set(ids)) == len(ids) == len(PRODUCTS)


def test_every_product_has_a_region_column_with_all_regions(rows: dict[str, list[dict]]) -> None:
    for name in PRODUCTS:
        assert set(_column(rows, name, "region")) == {"eu", "uk", "us"}, name


# ------------------------------------------------------------------- (c) contracts vs samples

_COMPATIBLE: dict[str, Callable[[pa.DataType], bool]] = {
    "string": pa.types.is_string,
    "number": lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t),
    "integer": pa.types.is_integer,
    "boolean": pa.types.is_boolean,
    "date": pa.types.is_date,
    "timestamp": pa.types.is_timestamp,
}


def test_contract_columns_match_samples(catalog: Catalog) -> None:
    for product in catalog.products.values():
        assert len(product.samples) == 1, product.name
        sample = product.samples[0]
        assert sample.path.exists(), sample.path
        assert sample.path.name == f"{product.name}.{sample.format}"
        table = _read(sample.path)
        assert table.num_rows == 300, product.name
        assert tuple(table.column_names) == product.column_names, product.name
        for col in product.columns:
            arrow_type = table.schema.field(col.name).type
            assert _COMPATIBLE[col.logical_type](arrow_type), (product.name, col.name, arrow_type)


def test_two_products_are_csv_and_four_parquet(catalog: Catalog) -> None:
    formats = {name: p.samples[0].format for name, p in catalog.products.items()}
    assert sorted(n for n, f in formats.items() if f == "csv") == ["hr.payroll", "marketing.leads"]


_EXPECTED_TAGS = {
    "sales.orders": {"customer_email": "pii.email", "customer_name": "pii.name",
                     "card_number": "pii.payment_card", "client_ip": "pii.ip",
                     "margin": "confidential.financial"},
    "sales.customers": {"full_name": "pii.name", "email": "pii.email", "phone": "pii.phone",
                        "street_address": "pii.address", "city": "pii.address",
                        "postcode": "pii.address", "birth_date": "pii.birth_date"},
    "hr.employees": {"first_name": "pii.name", "last_name": "pii.name", "work_email": "pii.email",
                     "phone": "pii.phone", "national_id": "pii.national_id",
                     "birth_date": "pii.birth_date"},
    "hr.payroll": {"iban": "pii.bank_account", "salary": "confidential.financial",
                   "bonus": "confidential.financial"},
    "marketing.campaign_events": {"email": "pii.email", "ip_address": "pii.ip"},
    "marketing.leads": {"name": "pii.name", "email": "pii.email", "phone": "pii.phone"},
}


def test_pii_columns_are_tagged_and_nothing_else_is(catalog: Catalog) -> None:
    for name, expected in _EXPECTED_TAGS.items():
        product = catalog.products[name]
        tagged = {c.name: set(c.tags) for c in product.columns if c.tags}
        assert tagged == {col: {tag} for col, tag in expected.items()}, name


# ------------------------------------------------------------------------- (d) valid PII


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


_IIN = re.compile(r"^(4\d{15}|5[1-5]\d{14}|2(22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}"
                  r"|3[47]\d{13})$")


def test_luhn_check_itself() -> None:
    assert _luhn_ok("4111111111111111") and _luhn_ok("378282246310005")
    assert not _luhn_ok("4111111111111112")


def test_card_numbers_pass_luhn_in_real_iin_ranges(rows: dict[str, list[dict]]) -> None:
    cards = [c.replace(" ", "") for c in _column(rows, "sales.orders", "card_number")]
    for card in cards:
        assert _luhn_ok(card), card
        assert _IIN.match(card), f"{card} outside a Visa/Mastercard/Amex IIN range"
    assert {c[0] for c in cards} >= {"2", "3", "4", "5"}  # every brand and both MC series


_BBAN = {"DE": r"\d{18}", "FR": r"\d{10}[A-Z0-9]{11}\d{2}", "ES": r"\d{20}",
         "NL": r"[A-Z]{4}\d{10}", "GB": r"[A-Z]{4}\d{14}", "IT": r"[A-Z]\d{10}[A-Z0-9]{12}"}


def _iban_ok(iban: str) -> bool:
    iban = iban.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}" + _BBAN.get(iban[:2], "-"), iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def test_iban_check_itself() -> None:
    assert _iban_ok("GB82 WEST 1234 5698 7654 32") and _iban_ok("DE89370400440532013000")
    assert not _iban_ok("DE89370400440532013001")


def test_ibans_have_country_layout_and_valid_check_digits(rows: dict[str, list[dict]]) -> None:
    ibans = _column(rows, "hr.payroll", "iban")
    for iban in ibans:
        assert _iban_ok(iban), iban
    assert {i[:2] for i in ibans} == set(_BBAN)


def test_ssns_follow_ssa_rules(rows: dict[str, list[dict]]) -> None:
    for ssn in _column(rows, "hr.employees", "national_id"):
        assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", ssn), ssn
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and not area.startswith("9"), ssn
        assert group != "00" and serial != "0000", ssn


def _phone_ok(number: str, country: str | None) -> bool:
    try:
        parsed = phonenumbers.parse(number, country)
    except phonenumbers.NumberParseException:
        return False
    valid = phonenumbers.is_valid_number(parsed)
    return valid and (country is None or phonenumbers.region_code_for_number(parsed) == country)


@pytest.mark.parametrize("product", ["sales.customers", "marketing.leads"])
def test_phone_numbers_are_valid_for_the_rows_country(
    rows: dict[str, list[dict]], product: str
) -> None:
    numbers = [(r["phone"], r["country"]) for r in rows[product]]
    for number, country in numbers:
        assert _phone_ok(number, country), (number, country)
    assert any(n.startswith("+") for n, _ in numbers) and any(n[0] in "0(" for n, _ in numbers)


def test_employee_phone_numbers_are_valid_international_numbers(rows: dict[str, list[dict]]) -> None:
    for number in _column(rows, "hr.employees", "phone"):
        assert number.startswith("+") and _phone_ok(number, None), number


def test_ip_addresses_are_public(rows: dict[str, list[dict]]) -> None:
    ips = _column(rows, "sales.orders", "client_ip") + _column(
        rows, "marketing.campaign_events", "ip_address"
    )
    versions = set()
    for ip in ips:
        addr = ipaddress.ip_address(ip)
        assert addr.is_global, ip
        versions.add(addr.version)
    assert versions == {4, 6}


_EMAIL = re.compile(r"^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def test_emails_are_well_formed(rows: dict[str, list[dict]]) -> None:
    for product, column in (("sales.orders", "customer_email"), ("sales.customers", "email"),
                            ("hr.employees", "work_email"), ("marketing.campaign_events", "email"),
                            ("marketing.leads", "email")):
        for email in _column(rows, product, column):
            assert _EMAIL.match(email), (product, email)
    work = _column(rows, "hr.employees", "work_email")
    assert len(set(work)) == len(work)


def test_birth_dates_are_plausible(rows: dict[str, list[dict]]) -> None:
    for product, lo, hi in (("sales.customers", 18, 86), ("hr.employees", 21, 67)):
        for born in _column(rows, product, "birth_date"):
            age = (SAMPLE_DAY - born).days / 365.25
            assert lo - 0.01 <= age <= hi, (product, born)
    for e in rows["hr.employees"]:
        assert e["hire_date"] >= e["birth_date"].replace(year=e["birth_date"].year + 18), e


# --------------------------------------------------------------------- joins and non-PII shape


def test_products_join_up(rows: dict[str, list[dict]]) -> None:
    customers = {c["customer_id"]: c for c in rows["sales.customers"]}
    for o in rows["sales.orders"]:
        c = customers[o["customer_id"]]
        assert (o["customer_email"], o["customer_name"], o["region"]) == (
            c["email"], c["full_name"], c["region"])
        assert o["shipped_on"] is None or o["shipped_on"] >= o["created_at"].date()
    staff = {e["employee_id"]: e for e in rows["hr.employees"]}
    assert [p["employee_id"] for p in rows["hr.payroll"]] == list(staff)
    for p in rows["hr.payroll"]:
        assert p["region"] == staff[p["employee_id"]]["region"]
    managers = [e["manager_id"] for e in rows["hr.employees"]]
    assert managers.count(None) == 1 and set(managers) - {None} <= set(staff)


def test_ids_and_currencies(rows: dict[str, list[dict]]) -> None:
    assert all(re.fullmatch(r"ORD-\d{6}", o) for o in _column(rows, "sales.orders", "order_id"))
    currency = {"eu": "EUR", "uk": "GBP", "us": "USD"}
    for product in ("sales.orders", "hr.payroll"):
        for r in rows[product]:
            assert r["currency"] == currency[r["region"]]
    assert all(0 <= s <= 100 for s in _column(rows, "marketing.leads", "score"))
