"""Rules from a hold-out measurement on other public tables (not the development set): each
with a made-up labelled case and a look-alike that must stay untagged."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from policyengine.scan import scan_paths
from policyengine.scan.personnames import name_stats

rng = random.Random(7)
GIVEN = ["James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen", "Thomas", "Nancy", "George",
         "Helen", "Edward", "Ruth", "Frank", "Alice", "Henry", "Clara", "Walter", "Edith", "Arthur", "Grace"]
SURNAMES = ["Harris", "Braund", "Cumings", "Palsson", "Johnson", "Nasser", "Sandstrom", "Bonnell", "Saundercock",
            "Andersson", "Vestrom", "Hewlett", "Rice", "Williams", "Masselmani", "Fynney", "Beesley", "McGowan",
            "Smith", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker", "Wright",
            "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Jackson"]
TITLES = ["Mr.", "Mrs.", "Miss.", "Master.", "Dr.", "Rev."]


def scan_csv(tmp_path: Path, columns: dict[str, list], model: str = "none") -> dict[str, set[str]]:
    path = tmp_path / "t.csv"
    pcsv.write_csv(pa.table(columns), path)
    return {c["column"]: set(c["entities"]) for c in scan_paths([path], model=model).columns}


def test_last_comma_title_first_with_a_bracketed_name_is_a_person(tmp_path: Path) -> None:
    """`Braund, Mr. Owen Harris`, `Cumings, Mrs. John Bradley (Florence Briggs Thayer)`."""
    values = []
    for i in range(150):
        name = f"{rng.choice(SURNAMES)}, {rng.choice(TITLES)} {rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
        values.append(name + (f" ({rng.choice(GIVEN)} {rng.choice(SURNAMES)})" if i % 4 == 0 else ""))
    assert name_stats(values).comma_form >= 0.9
    assert scan_csv(tmp_path, {"Name": values, "Ticket": [f"A/5 {21171 + i}" for i in range(150)]}) == {
        "Name": {"PERSON"}, "Ticket": set()}


def test_a_few_full_names_repeated_are_people_not_categories(nlp_model: str, tmp_path: Path) -> None:
    """Seven presidents over 200 rows read like categories by count, but "Given Surname" with a
    known given name is a person whatever the count; a handful of statuses stays untagged."""
    people = ["George Washington", "Thomas Jefferson", "Abraham Lincoln", "Theodore Roosevelt", "Harry Truman",
              "Dwight Eisenhower", "John Kennedy"]
    cols = {"president": [rng.choice(people) for _ in range(200)],
            "status": [rng.choice(["Open Case", "Closed Case", "Under Review", "Pending Trial"]) for _ in range(200)]}
    assert scan_csv(tmp_path, cols, model=nlp_model) == {"president": {"PERSON"}, "status": set()}


def test_lower_case_given_names_and_surnames_under_a_person_header(tmp_path: Path) -> None:
    """Exports that lose the case: `penny`, `westerling` under first/last-name headers."""
    first = [rng.choice(GIVEN).lower() for _ in range(200)]
    last = [rng.choice(SURNAMES).lower() for _ in range(200)]
    words = [rng.choice(["apple", "river", "stone", "cloud", "table", "green", "north", "light"]) for _ in range(200)]
    found = scan_csv(tmp_path, {"fake_first_name": first, "fake_last_name": last, "keyword": words})
    assert found == {"fake_first_name": {"PERSON"}, "fake_last_name": {"PERSON"}, "keyword": set()}


@pytest.mark.parametrize("header", ["family_name", "Family Name", "name_family", "familyName"])
def test_family_name_headers_name_surnames(header: str, tmp_path: Path) -> None:
    values = [rng.choice(SURNAMES) for _ in range(120)]
    assert scan_csv(tmp_path, {header: values}) == {header: {"PERSON"}}


def test_a_password_column_of_small_counts_is_not_a_credential(tmp_path: Path) -> None:
    counts = [str(rng.randint(0, 8)) for _ in range(200)]
    secrets = [f"{rng.randint(0, 10**6):06d}" for _ in range(200)]  # six-digit passcodes are
    assert scan_csv(tmp_path, {"password": counts}) == {"password": set()}
    assert scan_csv(tmp_path, {"password": secrets}) == {"password": {"CREDENTIAL"}}


def _luhn(body: str) -> str:
    total = 0
    for j, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if j % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def test_digit_groups_of_a_tracking_number_hold_no_ssn_or_card(tmp_path: Path) -> None:
    """`1Z 3A4 934 56 7890 123 4`: its groups read as an SSN and a card inside "text"; a number that
    runs on into a neighbouring digit group is a piece of a longer number. The same SSN and card in
    words are still found."""
    def ups() -> str:
        d = lambda n: "".join(str(rng.randint(0, 9)) for _ in range(n))  # noqa: E731
        return f"{d(1)}Z {d(3)} {d(3)} {d(2)} {d(4)} {d(3)} {d(1)}"

    ssns = [f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}" for _ in range(200)]
    cards = [_luhn("4" + "".join(str(rng.randint(0, 9)) for _ in range(14))) for _ in range(200)]
    notes = [f"customer {ssns[i]} called about card {cards[i][:4]} {cards[i][4:8]} {cards[i][8:12]} {cards[i][12:]}"
             if i % 3 == 0 else "customer called about a late delivery" for i in range(200)]
    found = scan_csv(tmp_path, {"UPS": [ups() for _ in range(200)], "notes": notes})
    assert found["UPS"] == set()
    assert {"US_SSN", "CREDIT_CARD"} <= found["notes"]
