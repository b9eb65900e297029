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
    assert scan_csv(tmp_path, {"password": counts}) == {"password": set()}
    secrets = {
        "password": [f"{rng.randint(0, 10**6):06d}" for _ in range(200)],  # six-digit passcodes
        "pin_password": [f"{rng.randint(0, 999):03d}" for _ in range(200)],  # 007, 042
        "user_password": [str(rng.randint(0, 99)) if i % 12 else "hunter2" for i in range(200)],  # one real one
    }
    for header, values in secrets.items():
        assert scan_csv(tmp_path, {header: values}) == {header: {"CREDENTIAL"}}, header
    assert scan_csv(tmp_path, {"pwd": [str(rng.randint(0, 99)) for _ in range(200)]}) == {"pwd": {"CREDENTIAL"}}


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


# a second hold-out (38 tables from 18 other repositories, mostly outside the US) -----------------

def test_a_ragged_csv_is_read_without_its_malformed_rows(tmp_path: Path) -> None:
    """Real exports put an unquoted comma in an address: those rows are skipped and counted (a
    warning, never their text), not the whole file."""
    from policyengine.scan.pipeline import ScanSettings, scan

    rows = ["name,email,city"] + [f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)},u{i}@example.com,Berlin" for i in range(60)]
    rows[10] = "Maria Anders,maria@example.com,Obere Str. 57, Berlin"  # one field too many
    rows[20] = "Ana Trujillo,ana@example.com"  # one too few
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(rows) + "\n")
    outcome = scan([path], ScanSettings(model="none"))
    (result,) = outcome.files
    assert result.rows == 58
    messages = [i.message for i in result.issues]
    assert messages == ["2 rows with another number of fields than the header were not scanned"]
    assert [i.severity for i in result.issues] == ["error"]  # the gate must not pass on unscanned rows
    assert {c.evidence.column for c in result.columns if c.decisions} >= {"email"}


def test_a_csv_of_mostly_malformed_rows_is_an_error_not_a_clean_scan(tmp_path: Path) -> None:
    from policyengine.scan.pipeline import ScanSettings, scan

    path = tmp_path / "wrong.csv"
    path.write_text("a,b\n" + "\n".join("1,2,3,4" for _ in range(30)) + "\n1,2\n")
    (result,) = scan([path], ScanSettings(model="none")).files
    assert [i.severity for i in result.issues] == ["error"]
    assert result.issues[0].message == "cannot read as csv: 30 of 31 rows have another number of fields than the header"


@pytest.mark.parametrize("header", ["hospital_name", "site_name", "NomGymnase", "stadium_name"])
def test_places_named_like_people_are_not_persons(header: str, nlp_model: str, tmp_path: Path) -> None:
    """Hospitals, sites and gyms are named after people (Ospedale Giovanni Bosco, Gymnase Jean
    Jaurès): a name header qualified by a place or institution is not a person header."""
    values = [f"{rng.choice(['Ospedale', 'Gymnase', 'Centro', 'Stade'])} {rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
              for _ in range(120)]
    assert scan_csv(tmp_path, {header: values}, model=nlp_model) == {header: set()}
    people = [f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(120)]
    assert scan_csv(tmp_path, {"patient_name": people}, model=nlp_model) == {"patient_name": {"PERSON"}}


STREETS = ["Marszałkowska", "Piotrkowska", "Nowy Świat", "Krakowskie Przedmieście", "Floriańska", "Długa",
           "Grodzka", "Szeroka", "Mostowa", "Rynek Główny", "Aleje Jerozolimskie", "Świętokrzyska", "Puławska",
           "Grunwaldzka", "Mickiewicza", "Kościuszki", "Piłsudskiego", "Sienkiewicza", "Słowackiego", "Kopernika",
           "Jana Pawła II", "Marii Konopnickiej", "Józefa Bema", "Tadeusza Kościuszki", "Adama Mickiewicza",
           "Fryderyka Chopina", "Marii Skłodowskiej-Curie", "Stefana Żeromskiego", "Bolesława Prusa",
           "Henryka Sienkiewicza", "Juliusza Słowackiego", "Władysława Reymonta", "Elizy Orzeszkowej",
           "Ignacego Paderewskiego", "Romualda Traugutta", "Kazimierza Wielkiego", "Jana Kilińskiego",
           "Józefa Poniatowskiego", "Gabriela Narutowicza", "Ludwika Zamenhofa"]


@pytest.mark.parametrize("header", ["street", "ulica", "Straße"])
def test_streets_named_after_people_under_a_street_header_are_places(header: str, nlp_model: str, tmp_path: Path) -> None:
    """Polish streets are named after people, in the genitive (Jana Pawła II, Adama Mickiewicza):
    the model reads them as persons, which under a street header do not count against a place."""
    values = [rng.choice(STREETS) for _ in range(300)]
    assert scan_csv(tmp_path, {header: values}, model=nlp_model) == {header: {"LOCATION"}}


# look-alikes from an independent review of the rules above --------------------------------------

@pytest.mark.parametrize("header", ["ship_captain", "course_instructor", "award_winner", "station_manager"])
def test_roles_of_named_things_are_still_people(header: str, nlp_model: str, tmp_path: Path) -> None:
    """A named thing is not a person only as the head of a name header (`station_name`), not
    in a role (`station_manager`)."""
    people = [f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(120)]
    assert scan_csv(tmp_path, {header: people}, model=nlp_model) == {header: {"PERSON"}}


def test_lower_case_words_that_are_also_given_names_are_words_without_a_person_header(
        nlp_model: str, tmp_path: Path) -> None:
    words = ["rose", "lily", "daisy", "amber", "ruby", "fern", "violet", "iris", "holly", "ivy", "jasmine", "poppy",
             "hazel", "heather", "olive", "pearl", "summer", "hope", "grace", "faith", "willow", "autumn", "dawn", "skye"]
    cols = {"flower": [rng.choice(words) for _ in range(200)], "tag": [rng.choice(words) for _ in range(200)]}
    assert scan_csv(tmp_path, cols, model=nlp_model) == {"flower": set(), "tag": set()}


def test_a_few_brands_named_after_people_are_not_people(nlp_model: str, tmp_path: Path) -> None:
    brands = ["Charles Schwab", "Wells Fargo", "Johnson Controls", "Jack Daniels", "Georgia Pacific", "Ruby Tuesday",
              "Victoria Secret", "Marks Spencer"]
    assert scan_csv(tmp_path, {"sponsor": [rng.choice(brands) for _ in range(200)]}, model=nlp_model) == {"sponsor": set()}


def test_an_ssn_next_to_another_number_is_still_an_ssn(tmp_path: Path) -> None:
    """Only a number that continues its own grouping is a piece of a longer one."""
    def ssn() -> str:
        return f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"

    cols = {"note": [f"ssn {ssn()} {rng.randint(10000, 99999)}" for _ in range(120)],
            "pairs": [f"{ssn()} {ssn()}" for _ in range(120)],
            "order": [f"order #{rng.randint(1000, 9999)} {ssn()} verified" for _ in range(120)]}
    found = scan_csv(tmp_path, cols)
    assert all("US_SSN" in found[c] for c in cols), found


@pytest.mark.parametrize("header", ["font_family_name", "product_family_name", "genus_name"])
def test_families_of_things_are_not_surnames(header: str, tmp_path: Path) -> None:
    values = [rng.choice(["Arial", "Georgia", "Helvetica", "Verdana", "Garamond", "Futura", "Baskerville", "Calibri",
                          "Tahoma", "Palatino", "Rockwell", "Bodoni", "Didot", "Frutiger", "Gill", "Lucida",
                          "Optima", "Univers", "Caslon", "Myriad", "Segoe", "Roboto"]) for _ in range(200)]
    assert scan_csv(tmp_path, {header: values}) == {header: set()}


# a third hold-out (22 tables: Nepal, Nigeria, Brazil, Portugal, Japan, Germany, UK, Peru …) ------

def test_a_letter_glued_to_a_number_makes_a_code_not_a_phone(tmp_path: Path) -> None:
    """UK local-authority codes (`E09000033`) read as phones: a match one character short of the
    value counted as whole even when that character was a letter."""
    codes = [f"E0{rng.randint(6, 9)}{rng.randint(0, 999999):06d}" for _ in range(150)]
    marked = [f"'0{rng.randint(30, 89)}{rng.randint(1000000, 9999999)}" for _ in range(150)]  # Excel's text mark
    slashed = [f"0{rng.randint(30, 89)}/{rng.randint(1000000, 9999999)}" for _ in range(150)]  # 030/1234567
    found = scan_csv(tmp_path, {"Nearest neighbour 1": codes, "telefon": marked, "phone": slashed})
    assert found == {"Nearest neighbour 1": set(), "telefon": {"PHONE_NUMBER"}, "phone": {"PHONE_NUMBER"}}


def test_a_registry_number_with_dots_and_a_slash_is_not_a_phone(tmp_path: Path) -> None:
    """Brazilian CNPJs (`04.521.258/0007-80`) read as phones: a trunk 0 and plenty of digits."""
    cnpj = [f"0{rng.randint(0, 9)}.{rng.randint(100, 999)}.{rng.randint(100, 999)}/000{rng.randint(1, 9)}-{rng.randint(10, 99)}"
            for _ in range(150)]
    assert scan_csv(tmp_path, {"CNPJ": cnpj}) == {"CNPJ": set()}
