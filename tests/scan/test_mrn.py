"""Medical record numbers (issue 12): header-gated, shape-gated, mostly unique.

Each labelled case below is a column of a generated table with the entities it must get; the
look-alikes (an `id`, an `order_number`, random numbers without a header, a repeated site code
under `hospital_number`) must stay untagged as medical records.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.catalog.taxonomy import builtin_taxonomy
from policyengine.scan import scan_paths
from policyengine.scan.validators import mrn_ok, nhs_ok

MRN = "MEDICAL_RECORD_NUMBER"
N = 120


def _nhs(rng: random.Random) -> str:
    while True:
        d = [rng.randrange(10) for _ in range(9)]
        check = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, d)) + str(check)


def labelled_table() -> tuple[dict[str, list], dict[str, set[str]]]:
    """(columns, the entities each column must get): the MRN test corpus."""
    rng = random.Random(12)
    digits8 = [f"{rng.randrange(10**7, 10**8)}" for _ in range(N)]
    prefixed = [f"MRN{rng.randrange(10**6, 10**7)}" for _ in range(N)]
    site = [f"{rng.choice('HKQ')}-{rng.randrange(10**6, 10**7):07d}" for _ in range(N)]
    columns = {
        "mrn": digits8,
        "MedicalRecordNumber": prefixed,
        "patient_id": [int(v) for v in digits8],
        "chart_number": site,
        "hospital_number": [f"{rng.randrange(10**5, 10**6)}" for _ in range(N)],
        "nhs_number": [_nhs(rng) for _ in range(N)],
        # look-alikes: a key, an order number, unnamed numbers, a site code that repeats, free text
        "id": digits8,
        "order_number": prefixed,
        "c07": [int(v) for v in digits8],
        "hospital_no": [f"H{rng.randrange(1, 6):05d}" for _ in range(N)],
        "patient_notes": [f"seen on ward {rng.randrange(1, 9)}, stable" for _ in range(N)],
    }
    labels = {c: set() for c in columns}
    labels.update({"mrn": {MRN}, "MedicalRecordNumber": {MRN}, "patient_id": {MRN}, "chart_number": {MRN},
                   "hospital_number": {MRN}, "nhs_number": {"UK_NHS"}})
    return columns, labels


def test_validator() -> None:
    assert mrn_ok("00123456") and mrn_ok("MRN1234567") and mrn_ok("H-0012345") and mrn_ok("12345")
    assert not mrn_ok("1234") and not mrn_ok("ABCD12345") and not mrn_ok("11111111") and not mrn_ok("1234567890123")
    assert nhs_ok("9434765919") and not nhs_ok("9434765918")


def test_tag() -> None:
    tax = builtin_taxonomy()
    assert tax.tag_for_entity(MRN) == "pii.health_id"
    assert tax.is_sensitive("pii.health_id")  # under `coverage`: masked or denied for non-privileged consumers


def test_labelled_corpus(tmp_path: Path) -> None:
    columns, labels = labelled_table()
    path = tmp_path / "patients.parquet"
    pq.write_table(pa.table(columns), path)
    got = {c["column"]: set(c["entities"]) for c in scan_paths([path], model="none").columns}
    assert got == labels


def test_no_header_no_mrn(tmp_path: Path) -> None:
    rng = random.Random(7)
    values = [f"{rng.randrange(10**7, 10**8)}" for _ in range(N)]
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"value": values, "ref": values, "number": values, "customer_id": values}), path)
    for c in scan_paths([path], model="none").columns:
        assert MRN not in c["entities"], c["column"]
