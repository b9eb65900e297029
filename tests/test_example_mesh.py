"""The example mesh is consistent: samples regenerate identically, contracts match the samples,
and the fake PII is valid where validity can be checked."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from policyengine.catalog import load_catalog

MESH = Path(__file__).resolve().parent.parent / "examples" / "mesh"


def _generator():
    spec = importlib.util.spec_from_file_location("mesh_generate", MESH / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> pa.Table:
    return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(MESH / "products")


def test_generator_reproduces_committed_samples(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path)
    assert written
    for path in written:
        committed = MESH / "samples" / path.name
        if path.suffix == ".csv":
            assert path.read_bytes() == committed.read_bytes(), path.name
        else:
            assert _read(path).equals(_read(committed)), path.name


def test_catalog_loads_without_warnings(catalog) -> None:
    assert len(catalog.products) == 6
    assert catalog.domains == {"sales", "hr", "marketing"}
    assert catalog.warnings == ()


_COMPATIBLE = {
    "string": (pa.types.is_string,),
    "number": (pa.types.is_floating, pa.types.is_integer),
    "integer": (pa.types.is_integer,),
    "boolean": (pa.types.is_boolean,),
    "date": (pa.types.is_date,),
    "timestamp": (pa.types.is_timestamp,),
}


def test_contract_columns_match_samples(catalog) -> None:
    for product in catalog.products.values():
        assert len(product.samples) == 1, product.name
        table = _read(product.samples[0].path)
        assert tuple(table.column_names) == product.column_names, product.name
        for col in product.columns:
            arrow_type = table.schema.field(col.name).type
            assert any(check(arrow_type) for check in _COMPATIBLE[col.logical_type]), (product.name, col.name)


def _luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def test_card_numbers_pass_luhn_in_real_ranges(catalog) -> None:
    cards = _read(catalog.products["sales.orders"].samples[0].path).column("card_number").to_pylist()
    for card in cards:
        digits = card.replace(" ", "")
        assert _luhn_ok(digits)
        assert re.match(r"^(4\d{15}|5[1-5]\d{14}|2(22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}|3[47]\d{13})$",
                        digits), "card outside its IIN range"
    assert not _luhn_ok("4111111111111112")  # the check itself can fail


def test_ibans_have_valid_check_digits(catalog) -> None:
    ibans = _read(catalog.products["hr.payroll"].samples[0].path).column("iban").to_pylist()
    for iban in ibans:
        rearranged = iban[4:] + iban[:4]
        assert int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1, "bad IBAN check digits"


def test_ssns_follow_ssa_rules(catalog) -> None:
    ids = _read(catalog.products["hr.employees"].samples[0].path).column("national_id").to_pylist()
    for ssn in ids:
        area, group, serial = ssn.split("-")
        assert area not in ("000", "666") and not area.startswith("9")
        assert group != "00" and serial != "0000"
