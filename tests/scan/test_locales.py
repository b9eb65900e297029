"""European data the multi-locale corpus (benchmarks/locale_corpus.py) exposed: street types of
Spain, Italy and the Netherlands, UK flats without a house number, US military mail, company names
with legal forms, one-word names and towns for NER, job-title and abbreviated column names.
Values are written literally (no Faker needed)."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.scan import scan_paths
from policyengine.scan.classify import ColumnEvidence, decide, evidence_for, needs_ner
from policyengine.scan.names import STRONG, WEAK, name_hint
from policyengine.scan.ner import NerCounts
from policyengine.scan.recognizers import Shape
from policyengine.scan.stats import ColumnSample

rng = random.Random(5)
N = 120


def scan_table(tmp_path: Path, columns: dict[str, list]) -> dict[str, set[str]]:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path)
    report = scan_paths([path], model="none")
    return {c["column"]: set(c["entities"]) for c in report.columns}


def _rows(templates: list[str]) -> list[str]:
    return [rng.choice(templates).format(n=rng.randint(1, 400), m=rng.randint(1, 9)) for _ in range(N)]


def test_european_street_types_and_uk_flats(tmp_path: Path) -> None:
    found = scan_table(tmp_path, {
        # Spanish street types that come first (Rambla, Vial, Acceso, Cañada, Cuesta, Pasaje, Urbanización …)
        "c01": _rows(["Rambla de Adrián Pina {n}, Lugo, 48713", "Vial Matilde Cabanillas {n} Piso {m}",
                      "ACCESO JAVIER TENA {n}, BALEARES, 21848", "Cañada Dionisio Méndez {n}, Girona, 39507",
                      "Cuesta de Nuria Burgos {n} Puerta {m}", "Pasaje Nacio Ortiz {n}", "Urbanización de Inés Gilabert {n}",
                      "Callejón de María Izquierdo {n}", "Alameda Violeta Salgado {n}"]),
        # Italian: Borgo, Rotonda, Stretto, Canale, Incrocio
        "c02": _rows(["Borgo Piovani, {n}, 98043, Rometta (ME)", "ROTONDA RAFFAELLO, {n} PIANO {m}", "Stretto Salvi, {n}",
                      "Canale Arnaldo, {n}", "Incrocio Pistoletto, {n} Piano {m}"]),
        # Dutch compounds in -ring, -hof, -baan, -boulevard, -dreef, -pad
        "c03": _rows(["Yusufring {n}, 2453 MZ, Earnewâld", "Brianhof {n}", "KEANOBAAN {n}", "Rileyboulevard {n}, 9370 BP, Wildervank",
                      "Angelinadreef {n}", "Gijspad {n}, 9314SB, Tienhoven"]),
        # UK: a flat or studio instead of a house number, sometimes on its own line
        "c04": _rows(["Flat {m}\nMay Pass", "Studio {n}, Natasha Circle, Joannechester, L1 2UX", "FLAT {n}U\nLAWRENCE EXPRESSWAY",
                      "Flat {m}, Buckley Skyway, West Glen, W8G 7JR", "Studio {m}\nSmith Union"]),
        # US military mail
        "c05": _rows(["Unit {n} Box 0164, DPO AE 97138", "USNS Hall, FPO AE 97807", "PSC {n}, Box 8288, APO AP 56349"]),
        # look-alikes stay clean
        "c06": _rows(["{m} Wireless Mouse", "{m} Keyring Holder", "{m} LED Desk Lamp", "Studio Monitor {m}"]),
    })
    assert found == {"c01": {"LOCATION"}, "c02": {"LOCATION"}, "c03": {"LOCATION"}, "c04": {"LOCATION"},
                     "c05": {"LOCATION"}, "c06": set()}


COMPANIES = ["Tschentscher GbR", "Hänel Scheel OHG mbH", "Kaul", "Meyer AG", "Joly SA", "Potier Da Silva SA", "Loiseau",
             "Jacquot Denis SARL", "Grupo Elorza S.Coop.", "Bauzà y Cuesta S.L.", "Angeli Group", "Speri, Pirelli e Marconi s.r.l.",
             "Kim and Sons", "Silva, Morris and Jackson", "Christian LLC", "Walker PLC", "Hoffmann", "Weber KG", "Roux", "Dupont et Fils"]


def _evidence(column: str, values: list[str]) -> ColumnEvidence:
    sample = ColumnSample(column, "string", "string", len(values), 0, tuple(values))
    return evidence_for("t.parquet", [sample])[0]


def test_company_names_do_not_go_to_ner() -> None:
    values = COMPANIES * 6
    assert not needs_ner(_evidence("c07", values))  # surnames with legal forms: organisations
    assert needs_ner(_evidence("c08", ["Anna Schmidt", "Jean Dupont", "Marco Rossi", "Lucía García", "Jan de Vries"] * 5 +
                               ["Peter Müller", "Claire Martin", "Giulia Bianchi", "Pablo López", "Sanne Bakker"] * 5))
    # a customer-name column that holds some businesses keeps its person hint
    assert needs_ner(_evidence("customer_name", values))


def _ev(column: str, tokens: float, labels: dict[str, int], n: int = 48) -> ColumnEvidence:
    shape = Shape(sampled=200, distinct=150, median_tokens=tokens, alpha=1.0, capitalized=1.0)
    return ColumnEvidence("t.parquet", column, "string", "string", 200, 0, shape, name_hint(column),
                          ner=NerCounts(n, tuple(sorted(labels.items()))))


def _entities(ev: ColumnEvidence) -> set[str]:
    return {d.entity for d in decide(ev).decisions}


def test_one_word_names_need_less_ner_share() -> None:
    # first names alone (Klemens, Ewa, Ottomar): the model tags fewer of them than full names
    assert _entities(_ev("c09", 1, {"PERSON": 12, "GPE": 6, "ORG": 7})) == {"PERSON"}
    assert _entities(_ev("c09", 2, {"PERSON": 12, "GPE": 6, "ORG": 7})) == set()  # two-word values keep the 30 % bar
    assert _entities(_ev("c09", 1, {"PERSON": 12, "GPE": 11, "ORG": 5})) == set()  # persons must still dominate
    assert _entities(_ev("c09", 1, {"PERSON": 6, "ORG": 2})) == set()


def test_town_hint_with_proper_nouns() -> None:
    # French towns that look like surnames (Lesage, Hebert): a `ville` column is still towns
    assert _entities(_ev("ville", 1, {"PERSON": 21, "GPE": 6, "ORG": 6})) == {"LOCATION"}
    assert _entities(_ev("woonplaats", 1, {"PERSON": 9, "GPE": 6, "ORG": 10})) == {"LOCATION"}
    assert _entities(_ev("ville", 1, {"PERSON": 21, "GPE": 1, "ORG": 6})) == set()  # too few places


def test_job_titles_and_abbreviated_name_columns() -> None:
    for col in ("beruf", "occupation", "job_title", "profession", "beroep", "puesto"):
        assert name_hint(col).not_person, col
    jobs = ["Fleischer", "Schneider", "Bäcker", "Müller", "Schornsteinfeger", "Beamter", "Pilot", "Arzt", "Maurer", "Koch",
            "Gärtner", "Tischler", "Zimmermann", "Friseur", "Dachdecker", "Glaser", "Weber", "Richter", "Fischer", "Jäger"] * 6
    assert needs_ner(_evidence("c10", jobs)) and not needs_ner(_evidence("beruf", jobs))  # Fleischer, Schneider: jobs
    for col in ("fn", "ln", "cust_nm"):
        assert name_hint(col).strength("PERSON") == WEAK, col
    assert name_hint("first_name").strength("PERSON") == STRONG
