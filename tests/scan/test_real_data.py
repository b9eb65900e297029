"""Real-data failure modes: ids and national numbers read as phones, European CSVs, numbers in
free text, IBAN groups, version strings, dotted US phones, e-mail lists, street-first addresses,
error messages that must not echo values. Small crafted tables, one concern per test."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from policyengine.commands.scan import register
from policyengine.scan import scan_paths, to_json, to_sarif
from policyengine.scan.reader import short_error, sniff_delimiter
from policyengine.scan.validators import de_tax_ok, fr_nir_ok, nl_bsn_ok, phone_form

rng = random.Random(11)
N = 150


def digits(n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def steuer_id() -> str:
    while True:
        body = digits(10)
        counts = sorted((body.count(c) for c in set(body)), reverse=True)
        if counts[0] in (2, 3) and counts[1] == 1:
            break
    product = 10
    for c in body:
        total = (int(c) + product) % 10 or 10
        product = 2 * total % 11
    return body + str((11 - product) % 10)


def nir() -> str:
    body = f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}"
    return body + f"{97 - int(body) % 97:02d}"


def bsn() -> str:
    while True:
        body = digits(8)
        rest = sum(int(c) * w for c, w in zip(body, range(9, 1, -1), strict=True)) % 11
        if rest < 10:
            return body + str(rest)


def iban(cc: str, bban: str) -> str:
    moved = bban + cc + "00"
    return f"{cc}{98 - int(''.join(str(int(c, 36)) for c in moved)) % 97:02d}{bban}"


def scan_table(tmp_path: Path, columns: dict[str, list], csv: bool = False, model: str = "none", **kw) -> dict[str, set[str]]:
    path = tmp_path / ("t.csv" if csv else "t.parquet")
    (pcsv.write_csv if csv else pq.write_table)(pa.table(columns), path)
    report = scan_paths([path], model=model, **kw)
    return {c["column"]: set(c["entities"]) for c in report.columns}


# 1. numbers that are not phones ------------------------------------------------------------------

NOT_PHONES = {
    "customer_id": lambda i: 5_000_000 + i * 13,
    "order_id": lambda i: int(digits(10)),
    "c01": lambda i: int(digits(9)),
    "c02": lambda i: int(digits(11)),
    "c03": lambda i: rng.randint(1_500_000_000, 1_750_000_000),  # epoch seconds
    "c04": lambda i: rng.randint(1_500_000_000_000, 1_750_000_000_000),  # epoch ms
    "c05": lambda i: int(f"{rng.randint(2015, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"),  # yyyymmdd
    "value_eur": lambda i: rng.randint(1_000_000, 99_999_999),
    "c06": lambda i: (lambda y: f"{y}/{y + 1}")(rng.randint(1990, 2023)),  # seasons
    "c07": lambda i: f"{rng.randint(10, 99)}-{digits(7)}",  # US EIN
    "c08": lambda i: f"{digits(3)} {digits(3)} {digits(3)}",
    "c09": lambda i: digits(10),
}


@pytest.mark.parametrize("csv", [False, True])
def test_ids_counters_and_clocks_are_not_phones(tmp_path: Path, csv: bool) -> None:
    found = scan_table(tmp_path, {c: [f(i) for i in range(N)] for c, f in NOT_PHONES.items()}, csv=csv)
    assert {c: e for c, e in found.items() if e} == {}


def test_national_ids_are_validated_before_phones(tmp_path: Path) -> None:
    found = scan_table(tmp_path, {
        "steuer_id": [steuer_id() for _ in range(N)], "c10": [steuer_id() for _ in range(N)],
        "nir": [nir() for _ in range(N)], "c11": [nir() for _ in range(N)],
        "bsn": [bsn() for _ in range(N)], "c12": [bsn() for _ in range(N)],
    })
    assert found == {"steuer_id": {"DE_TAX_ID"}, "c10": {"DE_TAX_ID"}, "nir": {"FR_NIR"}, "c11": {"FR_NIR"},
                     "bsn": {"NL_BSN"}, "c12": {"NL_BSN"}}


def test_national_id_validators() -> None:
    assert de_tax_ok("65929970489") and not de_tax_ok("65929970488") and not de_tax_ok("12345678901")
    assert nl_bsn_ok("111222333") and not nl_bsn_ok("111222334")
    assert fr_nir_ok("2 55 08 14 168 025 38") and not fr_nir_ok("2 55 08 14 168 025 39")


def test_phones_written_as_phones_are_still_found(tmp_path: Path) -> None:
    found = scan_table(tmp_path, {
        "c20": [f"+49 30 {digits(7)}" for _ in range(N)],
        "c21": [f"0{rng.choice(['30', '40', '89'])} {digits(7)}" for _ in range(N)],  # trunk 0
        "c22": [f"({rng.choice(['212', '415', '617'])}) {rng.randint(200, 999)}-{digits(4)}" for _ in range(N)],
        "c23": [f"06 {digits(2)} {digits(2)} {digits(2)} {digits(2)}" for _ in range(N)],
        "tel": [int(f"{rng.choice(['212', '415', '617'])}{rng.randint(200, 999)}{digits(4)}") for _ in range(N)],
        # Spanish: national groups count next to +34 numbers
        "c24": [f"+34 91 {digits(3)} {digits(2)} {digits(2)}" if i % 3 == 0 else f"6{digits(2)} {digits(3)} {digits(3)}" for i in range(N)],
    })
    assert all(found[c] == {"PHONE_NUMBER"} for c in found), found


def test_phone_forms() -> None:
    assert [phone_form(x) for x in ("+33 6 12 34 56 78", "0171/1234567", "212.555.1234", "612 345 678",
                                    "2125551234", "2019/2020", "12-3456789", "0012345")] == [
        "intl", "trunk", "nanp", "grouped", "bare", "other", "other", "other"]


def test_negative_name_cues_cancel_phones(tmp_path: Path) -> None:
    found = scan_table(tmp_path, {"contact_id": [f"+1 212 {rng.randint(200, 999)} {digits(4)}" for _ in range(N)]})
    assert found["contact_id"] == set()


# 2./3. readers: no values in errors; European CSVs; mixed JSON Lines ----------------------------------

def test_read_errors_never_echo_values(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("name,email\nJonas Müller,secret.person@example.com,extra\nMia,b@example.com\n")
    report = scan_paths([path], model="none")
    text = to_json(report) + to_sarif(report)
    assert "secret.person" not in text and "Jonas" not in text
    assert any(i.severity == "error" and i.message == "1 row with another number of fields than the header was not scanned" for i in report.issues)
    path.write_text("name,email\nJonas Müller,secret.person@example.com,extra\nMia,b@example.com,x\n")
    report = scan_paths([path], model="none")  # more malformed rows than good: the file fails
    assert "secret.person" not in to_json(report) + to_sarif(report)
    assert any(i.severity == "error" and "2 of 2 rows" in i.message for i in report.issues)
    assert short_error(ValueError("CSV parse error: Expected 1 columns, got 2: Jonas Müller;mia@x.de")) == \
        "CSV parse error: Expected 1 columns, got 2"
    assert "abc" not in short_error(ValueError("CSV conversion error to int64: invalid value 'abc'"))
    assert short_error(ValueError("Couldn't deserialize thrift")) == "Couldn't deserialize thrift"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_european_delimiters_and_cp1252(tmp_path: Path, sep: str) -> None:
    rows = [sep.join(["Name", "E-Mail", "Telefon", "Betrag"])] + [
        sep.join([f"Jürgen Müller {i}", f"j.mueller{i}@web.de", f"0171/{digits(7)}", f"{i},50"]) for i in range(N)
    ]
    path = tmp_path / "de.csv"
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    report = scan_paths([path], model="none")
    assert not report.issues
    found = {c["column"]: set(c["entities"]) for c in report.columns}
    assert found["E-Mail"] == {"EMAIL_ADDRESS"} and found["Telefon"] == {"PHONE_NUMBER"} and found["Betrag"] == set()


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c\n1,5;2;3\n", ",") == ";"
    assert sniff_delimiter('a,b\n"x;y",1\n', ",") == ","
    assert sniff_delimiter("just one column\nvalue\n", ",") == ","


def test_json_lines_with_changing_types(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    lines = [json.dumps({"v": i, "e": f"u{i}@example.com"}) for i in range(30)] + [json.dumps({"v": "text", "e": None})]
    path.write_text("\n".join(lines) + "\n")
    report = scan_paths([path], model="none")
    assert not report.issues
    assert {(f.column, f.entity) for f in report.findings} == {("e", "EMAIL_ADDRESS")}


# 4.-8. free text, IBAN groups, versions, dotted phones, e-mail lists ------------------------------------

def test_numbers_in_free_text_are_not_phones_or_ips(tmp_path: Path) -> None:
    texts = ["Order {n} was shipped today.", "Tracking number {n}{n} via DHL.", "Refund of EUR {n}.67 processed on 2024-03-15",
             "Firmware 1.2.3.{k} installed on host {k}", "Customer asked about delivery {k}"]
    notes = [texts[i % 5].format(n=rng.randint(1_000_000, 9_999_999), k=i) for i in range(N)]
    calls = [f"Please call me on +44 7{digits(3)} {digits(6)} today" if i % 5 == 0 else f"No contact wanted {i}" for i in range(N)]
    found = scan_table(tmp_path, {"notes": notes, "remarks": calls})
    assert found == {"notes": set(), "remarks": {"PHONE_NUMBER"}}


def test_grouped_ibans_are_only_ibans(tmp_path: Path) -> None:
    def g4(s: str) -> str:
        return " ".join(s[i:i + 4] for i in range(0, len(s), 4))

    found = scan_table(tmp_path, {
        "c30": [g4(iban("DE", digits(18))) for _ in range(N)],
        "iban": [iban("NL", rng.choice(["ABNA", "INGB", "RABO"]) + digits(10)) for _ in range(N)],
        "c31": [g4(iban("NL", rng.choice(["ABNA", "INGB", "RABO"]) + digits(10))) for _ in range(N)],
    })
    assert found == {"c30": {"IBAN_CODE"}, "iban": {"IBAN_CODE"}, "c31": {"IBAN_CODE"}}


def test_four_part_versions_are_not_ips(tmp_path: Path) -> None:
    def version() -> str:
        return f"{rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}"

    found = scan_table(tmp_path, {
        "app_version": [version() for _ in range(N)], "c32": [version() for _ in range(N)],
        "c33": [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(N)],
    })
    assert found == {"app_version": set(), "c32": set(), "c33": {"IP_ADDRESS"}}


def test_dotted_us_phones(tmp_path: Path) -> None:
    def dotted() -> str:
        return f"{rng.randint(200, 999)}.{rng.randint(200, 999)}.{digits(4)}"

    found = scan_table(tmp_path, {"phone": [dotted() for _ in range(N)], "c34": [dotted() for _ in range(N)]})
    assert found == {"phone": {"PHONE_NUMBER"}, "c34": {"PHONE_NUMBER"}}


def test_email_lists_and_mailto(tmp_path: Path) -> None:
    found = scan_table(tmp_path, {
        "c35": [f"u{i}@example.com, w{i}@mail.de" for i in range(N)],
        "c36": [f"mailto:u{i}@example.com" for i in range(N)],
        "c37": [f"lucía.gonzález{i}@gmail.com" for i in range(N)],
    })
    assert found == {"c35": {"EMAIL_ADDRESS"}, "c36": {"EMAIL_ADDRESS"}, "c37": {"EMAIL_ADDRESS"}}


# 9. the CLI gate without a catalog ----------------------------------------------------------------

def test_fail_on_undeclared_without_catalog_warns(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"e": [f"u{i}@example.com" for i in range(20)]}), path)
    app = typer.Typer()
    register(app)

    @app.command("version")
    def _version() -> None:
        pass

    res = CliRunner().invoke(app, ["scan", str(path), "--model", "none", "--fail-on", "undeclared", "--no-catalog"])
    assert res.exit_code == 0
    assert "without --catalog" in res.stderr
    res = CliRunner().invoke(app, ["scan", str(path), "--model", "none"])
    assert "without --catalog" not in res.stderr


# 10. addresses ----------------------------------------------------------------------------------------

def test_street_first_addresses_and_numbered_lookalikes(tmp_path: Path) -> None:
    def pick(items: list[str]) -> str:
        return rng.choice(items)

    found = scan_table(tmp_path, {
        "c40": [pick(["Calle Mayor, ", "Calle de Alcalá ", "Plaza Mayor "]) + str(rng.randint(1, 200)) for _ in range(N)],
        "c41": [pick(["Via Roma ", "Piazza del Duomo, ", "Corso Vittorio Emanuele "]) + str(rng.randint(1, 200)) for _ in range(N)],
        "c42": [pick(["Rue de Rivoli ", "Boulevard Haussmann "]) + str(rng.randint(1, 200)) for _ in range(N)],
        "c43": [f"Flat {rng.randint(1, 20)}, {rng.randint(1, 200)} {pick(['High Street', 'Church Road', 'Park Lane'])}" for _ in range(N)],
        "c47": [f"{pick(['Åker', 'Stor', 'Kirke'])}{pick(['gatan', 'vägen', 'vej'])} {rng.randint(1, 99)}" for _ in range(N)],
        "c44": [f"{rng.randint(1, 9)} {pick(['Wireless Mouse', 'Espresso Machine', 'Yoga Mat', 'LED Desk Lamp'])}" for _ in range(N)],
        "c45": [f"{rng.randint(0, 5)} {pick(['Arsenal', 'Chelsea', 'Everton'])} {rng.randint(0, 5)}" for _ in range(N)],
        "c46": [pick(["404 Not Found", "500 Internal Server Error", "301 Moved Permanently"]) for _ in range(N)],
    })
    assert found == {"c40": {"LOCATION"}, "c41": {"LOCATION"}, "c42": {"LOCATION"}, "c43": {"LOCATION"},
                     "c47": {"LOCATION"}, "c44": set(), "c45": set(), "c46": set()}


# 11. name hints in other languages, custom recognizers on integers ------------------------------------

def test_foreign_name_columns(tmp_path: Path, nlp_model: str) -> None:
    from policyengine.scan.names import STRONG, name_hint

    assert all(name_hint(c).strength("PERSON") == STRONG for c in ("nome", "nombre", "NOMBRE", "nom", "fname", "nombre_cliente"))
    assert name_hint("nombre_producto").strength("PERSON") == 0 and name_hint("nome_citta").strength("PERSON") == 0
    first = ["Giuseppe", "Giovanni", "Antonio", "Mario", "Luigi", "Francesco", "Alessandro", "Giulia", "Chiara", "Sofia", "Francesca", "Matteo", "Lorenzo"]
    last = ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti"]
    found = scan_table(tmp_path, {"nome": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(N)],
                                  "nombre_producto": [f"Producto {rng.choice(first)}" for _ in range(N)]}, model=nlp_model)
    assert found["nome"] == {"PERSON"} and "PERSON" not in found["nombre_producto"]


def test_custom_recognizers_on_integers_and_min_share(tmp_path: Path) -> None:
    cfg = tmp_path / "rec.yaml"
    cfg.write_text(
        "recognizers:\n  - name: pnr\n    entity: PERSONNEL_NO\n    regex: '\\d{6}'\n    names: [personnel_no]\n"
        "  - name: emp\n    entity: EMPLOYEE_ID\n    regex: 'EMP-\\d{6}'\n    min_share: 0.9\n"
    )
    found = scan_table(tmp_path, {
        "personnel_no": [100000 + i * 37 for i in range(N)],
        "c1": [f"EMP-{100000 + i}" if i % 10 < 8 else f"X-{i}" for i in range(N)],  # 80 % < min_share
        "c2": [f"EMP-{100000 + i}" for i in range(N)],
    }, config=cfg)
    assert found == {"personnel_no": {"PERSONNEL_NO"}, "c1": set(), "c2": {"EMPLOYEE_ID"}}


def test_scan_compares_with_the_projects_contracts_by_default(tmp_path: Path, monkeypatch) -> None:
    """In a project (policyengine.yaml names a catalog), `scan` gates on undeclared PII without
    --catalog: a contract that lost its pii.email tag fails the scan."""
    import shutil

    from policyengine.cli import app as cli

    mesh = Path(__file__).resolve().parents[2] / "examples" / "mesh"
    shutil.copytree(mesh / "products", tmp_path / "products")
    shutil.copytree(mesh / "samples", tmp_path / "samples")
    contract = tmp_path / "products" / "sales.orders.yaml"
    contract.write_text(contract.read_text(encoding="utf-8").replace("    - pii.email\n", "", 1), encoding="utf-8")
    (tmp_path / "policyengine.yaml").write_text("catalog: products/\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sample = "samples/sales.orders.parquet"
    res = CliRunner().invoke(cli, ["scan", sample, "--model", "none"])
    assert res.exit_code == 1, res.output
    assert "comparing with the contracts" in res.stderr and "customer_email" in res.output
    assert CliRunner().invoke(cli, ["scan", sample, "--model", "none", "--no-catalog"]).exit_code == 0


def test_a_missing_catalog_named_in_the_configuration_is_an_error(tmp_path: Path, monkeypatch) -> None:
    """A typo in policyengine.yaml's catalog must not turn the gate off silently."""
    from policyengine.cli import app as cli

    sample = tmp_path / "e.parquet"
    pq.write_table(pa.table({"e": [f"u{i}@example.com" for i in range(20)]}), sample)
    (tmp_path / "policyengine.yaml").write_text("catalog: contracts-typo/\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["scan", str(sample), "--model", "none"])
    assert res.exit_code == 2 and "contracts-typo" in res.stderr
