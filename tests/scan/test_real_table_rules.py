"""The rules added for real tables (issue 12), each with a made-up labelled case and a look-alike
that must stay untagged: names by form and gazetteer, address lines, float phones, test cards."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from policyengine.scan import scan_paths
from policyengine.scan.classify import ColumnEvidence, decide
from policyengine.scan.gazetteer import fold, gazetteer
from policyengine.scan.names import STRONG, name_hint
from policyengine.scan.ner import NerCounts
from policyengine.scan.personnames import NameStats, name_stats
from policyengine.scan.recognizers import Shape

rng = random.Random(12)
N = 120

GIVEN = ["Jenna", "Garry", "Elise", "Lyndon", "Michelle", "Alberta", "Emma", "Evelyn", "Carl", "Miranda", "Alan",
         "Vincent", "Lucia", "Tomas", "Klara", "Petra", "Jan", "Martin", "Sofia", "Hugo", "Ingrid", "Pablo", "Marta",
         "Oskar", "Greta", "Nina", "Felix", "Rosa", "Ivan", "Olga", "Liam", "Chloe", "Noah", "Ava", "Mia", "Leo"]
SURNAMES = ["Novak", "Svoboda", "Dvorak", "Keller", "Fischer", "Garcia", "Rossi", "Moreau", "Jansen", "Nowak",
            "Kowalski", "Horvat", "Nagy", "Santos", "Silva", "Andersen", "Larsen", "Virtanen", "Murphy", "Walsh"]
# invented surnames: in no gazetteer, as in a generated customer table
INVENTED = ["Quorrelby", "Fennimoss", "Brackwell", "Tillerbane", "Ostrander", "Morrowgate", "Pellingham", "Dunhallow",
            "Wexcombe", "Hartsgrove", "Kellarby", "Berrygun", "Epgrave", "Dubbin", "Gascardt", "Prandley", "Titcombe",
            "Lindegarde", "Fairriet", "Daybellow", "Gidmanor", "Pollettin", "Rawlison", "Ongerby"]


def scan_table(tmp_path: Path, columns: dict[str, list], csv: bool = False, model: str = "none") -> dict[str, set[str]]:
    path = tmp_path / ("t.csv" if csv else "t.parquet")
    (pcsv.write_csv if csv else pq.write_table)(pa.table(columns), path)
    report = scan_paths([path], model=model)
    return {c["column"]: set(c["entities"]) for c in report.columns}


def findings(tmp_path: Path, columns: dict[str, list], csv: bool = False) -> dict[str, dict]:
    path = tmp_path / ("t.csv" if csv else "t.parquet")
    (pcsv.write_csv if csv else pq.write_table)(pa.table(columns), path)
    return {f.column: f.to_dict() for f in scan_paths([path], model="none").findings}


def pick(values: list[str]) -> list[str]:
    return [rng.choice(values) for _ in range(N)]


# the gazetteer ---------------------------------------------------------------------------------

def test_gazetteer_knows_given_names_and_surnames_of_several_countries() -> None:
    g = gazetteer()
    for name in ("Jenna", "Viktorie", "Klara", "Søren", "Zoë", "José"):
        assert g.is_first(name), name
    for name in ("Smith", "Novak", "Rossi", "Müller", "García"):
        assert g.is_last(name), name
    assert not g.is_name("Xqzvbrt") and not g.is_first("Street")
    assert fold(" Zoë, ") == "zoe"


# names -----------------------------------------------------------------------------------------

def test_lone_given_names_are_names_even_under_a_host_header(tmp_path: Path) -> None:
    got = scan_table(tmp_path, {"host name": pick(GIVEN), "c07": pick(GIVEN)})
    assert got == {"host name": {"PERSON"}, "c07": {"PERSON"}}


def test_words_that_are_sometimes_names_are_not(tmp_path: Path) -> None:
    colours = ["white", "silver", "blue", "green", "red", "black", "grey", "orange", "brown", "rose", "amber", "olive"]
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
    states = ["Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
              "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Maine",
              "Maryland", "Michigan", "Minnesota", "Montana", "Nebraska", "Nevada", "Ohio", "Oregon", "Texas", "Utah"]
    got = scan_table(tmp_path, {"paint_color": pick(colours), "month": pick(months), "c01": [states[i % len(states)] for i in range(N)]})
    assert got == {"paint_color": set(), "month": set(), "c01": set()}


def test_surnames_alone_under_a_surname_header(tmp_path: Path) -> None:
    # invented surnames with a few real ones: NER reads them as firms, the header says persons
    values = [INVENTED[i % len(INVENTED)] + ("" if i < len(INVENTED) else "") for i in range(N)]
    values = [v if i % 5 else SURNAMES[i % len(SURNAMES)] for i, v in enumerate(values)]
    got = scan_table(tmp_path, {"last_name": values, "c02": values})
    assert got["last_name"] == {"PERSON"}
    assert got["c02"] == set()  # without the header, invented words are not names


@pytest.mark.parametrize("header", ["nameFirst", "nameLast", "nameGiven", "MothersMaiden", "Middle names", "surname"])
def test_reversed_and_maiden_headers_are_person_hints(header: str) -> None:
    assert name_hint(header).strength("PERSON") >= STRONG


def test_last_comma_first_form(tmp_path: Path) -> None:
    values = [f"{rng.choice(SURNAMES)}, {rng.choice(GIVEN)}" + rng.choice(["", " J", " R", " Anne"]) for _ in range(N)]
    got = scan_table(tmp_path, {"MetadataFrom": values})
    assert got == {"MetadataFrom": {"PERSON"}}


def test_city_comma_state_is_not_a_name(tmp_path: Path) -> None:
    cities = ["Springfield", "Portland", "Austin", "Denver", "Boston", "Salem", "Dayton", "Madison", "Aurora", "Dover"]
    states = ["Illinois", "Oregon", "Texas", "Colorado", "Massachusetts", "Ohio", "Wisconsin", "Delaware", "Maine",
              "Kansas", "Iowa", "Utah", "Idaho", "Nebraska", "Kentucky", "Michigan"]
    values = [f"{rng.choice(cities)}, {rng.choice(states)}" for _ in range(N)]
    assert scan_table(tmp_path, {"c03": values}) == {"c03": set()}


def test_surname_in_capitals_then_given_name(tmp_path: Path) -> None:
    values = [f"{rng.choice(SURNAMES).upper()} {rng.choice(GIVEN)}" for _ in range(N)]
    stats = name_stats(list(dict.fromkeys(values)))
    assert stats.caps_form >= 0.9
    assert scan_table(tmp_path, {"Name": values}) == {"Name": {"PERSON"}}
    # capitals then a capitalised word that is no given name: a team, a product line
    teams = [f"{w} {t}" for w in ("FC", "AC", "SK", "HC", "USA", "NHL") for t in ("United", "Rangers", "Sparta", "Rovers", "Dynamo", "Tigers")]
    assert scan_table(tmp_path, {"team": pick(teams)}) == {"team": set()}


def test_json_lists_of_names(tmp_path: Path) -> None:
    values = [json.dumps([f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}" for _ in range(rng.randint(1, 3))]) for _ in range(N)]
    tags = [json.dumps(rng.sample(["red", "blue", "sale", "new", "eco", "bio"], 2)) for _ in range(N)]
    assert scan_table(tmp_path, {"cast": values, "tags": tags}) == {"cast": {"PERSON"}, "tags": set()}


def test_a_short_column_of_full_names(tmp_path: Path, nlp_model: str) -> None:
    # three distinct values: below the five-value NER minimum, but every one is a person
    values = ["Barack Obama", "Angela Merkel", "Emmanuel Macron"] * 2
    assert scan_table(tmp_path, {"c04": values}, model=nlp_model) == {"c04": {"PERSON"}}


# addresses -------------------------------------------------------------------------------------

ADDRESS_LINES = ["Marine Hill", "P.O. Box No. 100", "C/o Hotel Amar", "Near Hitech City", "Beach Road",
                 "Lajpat Nagar - II", "P.B. No. 21", "Sector 32", "Yash Kamal Building, Sayaji Gunj",
                 "Waltair Main Road", "Banjara Hills", "DLF Cyber City Phase-II", "Old Post Office Lane",
                 "Opp. Bus Stand", "Station Road", "MG Marg"]


def test_address_lines_under_an_add1_header(tmp_path: Path) -> None:
    got = scan_table(tmp_path, {"ADD1": pick(ADDRESS_LINES), "ADD2": pick(ADDRESS_LINES), "remarks": pick(ADDRESS_LINES)})
    assert got == {"ADD1": {"LOCATION"}, "ADD2": {"LOCATION"}, "remarks": set()}


def test_street_suffixes_alone_are_not_addresses(tmp_path: Path) -> None:
    got = scan_table(tmp_path, {"street_suffix": pick(["Street", "Avenue", "Road", "Lane", "Court", "Drive", "Way"] * 4)})
    assert got == {"street_suffix": set()}


def test_web_addresses_under_an_address_header_are_not_streets(tmp_path: Path) -> None:
    urls = [f"www.{w}-{i}.com" for i, w in enumerate(["beach", "park", "hill", "road", "lake"] * 24)]
    assert "LOCATION" not in scan_table(tmp_path, {"web address": urls})["web address"]


@pytest.mark.parametrize("values", [
    [f"{rng.randint(1, 999)} {rng.randint(1, 60)}{rng.choice(['ST', 'ND', 'RD', 'TH'])} STREET" for _ in range(N)],
    [f"A{rng.randint(1, 9)} - {rng.randint(100, 9999)} KING GEORGE RD." for _ in range(N)],
    [f"{rng.choice(['Kossuth Lajos', 'Széchenyi', 'Petőfi'])} {rng.choice(['út', 'tér', 'utca'])} {rng.randint(1, 99)}" for _ in range(N)],
    [f"{rng.choice(['Zagrebačka', 'Vukovarska', 'Savska'])} ulica {rng.randint(1, 99)}" for _ in range(N)],
    [f"Jl. {rng.choice(['Sudirman', 'Thamrin', 'Gatot Subroto'])} No. {rng.randint(1, 200)}" for _ in range(N)],
    [f"D NO {rng.randint(1, 40)}-{rng.randint(1, 9)}-{rng.randint(1, 300)}, {rng.choice(['MAIN', 'STATION', 'BEACH'])} ROAD" for _ in range(N)],
], ids=["ordinal", "unit-first", "hungarian", "croatian", "indonesian", "door-number"])
def test_street_forms_of_other_places(tmp_path: Path, values: list[str]) -> None:
    assert scan_table(tmp_path, {"c05": values}) == {"c05": {"LOCATION"}}


# phones ----------------------------------------------------------------------------------------

def test_phones_stored_as_floats_in_a_csv(tmp_path: Path) -> None:
    phones = [f"{rng.choice(['212', '312', '415', '617'])}{rng.randint(2, 9)}{rng.randint(10, 99)}{rng.randint(1000, 9999)}.0" for _ in range(N)]
    amounts = [f"{rng.randint(1_000_000_000, 9_999_999_999)}.5" for _ in range(N)]
    got = scan_table(tmp_path, {"phone": phones, "turnover": amounts}, csv=True)
    assert got == {"phone": {"PHONE_NUMBER"}, "turnover": set()}


def test_bare_mobiles_under_a_contact_header(tmp_path: Path) -> None:
    mobiles = [f"9{rng.randint(100_000_000, 999_999_999)}" for _ in range(N)]  # Indian mobiles: 10 digits, 9…
    got = scan_table(tmp_path, {"Contact": mobiles, "account": mobiles}, csv=True)
    assert got == {"Contact": {"PHONE_NUMBER"}, "account": set()}


# cards -----------------------------------------------------------------------------------------

def _not_luhn(number: str) -> str:
    from policyengine.scan.validators import luhn_ok

    return number if not luhn_ok(number) else number[:-1] + str((int(number[-1]) + 1) % 10)


def test_test_cards_that_fail_luhn_are_reported_weaker_with_a_reason(tmp_path: Path) -> None:
    cards = [_not_luhn(f"4{rng.randint(10**14, 10**15 - 1)}") for _ in range(N)]
    grouped = [" ".join(c[i:i + 4] for i in range(0, 16, 4)) for c in cards]
    found = findings(tmp_path, {"Card Number": cards, "credit card": grouped, "order_ref": cards}, csv=True)
    assert set(found) == {"Card Number", "credit card"}
    for f in found.values():
        assert f["entity"] == "CREDIT_CARD" and f["score"] == 0.5 and f["evidence"]["method"] == "name+shape"
        assert "Luhn" in f["evidence"]["summary"] and "Luhn" in f["evidence"]["note"]
        assert not any(c in f["evidence"]["summary"] for c in cards)  # no value in the report


# the gazetteer against NER -------------------------------------------------------------------

def _ev(column: str, names: NameStats, labels: dict[str, int]) -> ColumnEvidence:
    shape = Shape(sampled=200, distinct=150, median_tokens=1.0, alpha=1.0, capitalized=1.0)
    return ColumnEvidence("t.parquet", column, "string", "string", 200, 0, shape, name_hint(column),
                          ner=NerCounts(48, tuple(sorted(labels.items()))), names=names)


def test_given_names_the_model_took_for_towns() -> None:
    names = NameStats(checked=150, single=1.0, known_first=1.0, known_any=1.0)
    towns_to_ner = {"GPE": 15, "PERSON": 8, "ORG": 6}
    assert {d.entity for d in decide(_ev("c10", names, towns_to_ner)).decisions} == {"PERSON"}
    # a column named for towns stays a place, and towns that are only partly given names too
    assert {d.entity for d in decide(_ev("city", names, towns_to_ner)).decisions} == {"LOCATION"}
    partly = NameStats(checked=150, single=1.0, known_first=0.4, known_any=0.5)
    assert {d.entity for d in decide(_ev("c10", partly, towns_to_ner)).decisions} == {"LOCATION"}


def test_surnames_alone_without_a_header(tmp_path: Path) -> None:
    real = ["Novak", "Svoboda", "Dvorak", "Keller", "Fischer", "Garcia", "Rossi", "Moreau", "Jansen", "Nowak",
            "Weber", "Horvat", "Nagy", "Santos", "Silva", "Andersen", "Larsen", "Wagner", "Murphy", "Walsh",
            "Bianchi", "Romano", "Becker", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "Costa"]
    assert scan_table(tmp_path, {"c08": pick(real)}) == {"c08": {"PERSON"}}
    # …but not when the model reads them as places
    names = NameStats(checked=150, single=1.0, known_first=0.1, known_any=1.0)
    assert {d.entity for d in decide(_ev("c09", names, {"GPE": 20, "PERSON": 5})).decisions} != {"PERSON"}
