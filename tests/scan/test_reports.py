"""Output formats (JSON, SARIF validated against the 2.1.0 schema, text), redaction, drift, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from policyengine.catalog.contracts import load_catalog
from policyengine.commands.scan import register
from policyengine.scan import report_tags, scan_paths, to_json, to_sarif, to_text
from policyengine.scan.redact import redact

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
EMAILS = [f"person{i}.secret@example.com" for i in range(50)]
PHONES = [f"+1 415 555 {1000 + i:04d}" for i in range(50)]

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: 3f1c2d7e-0000-4000-8000-000000000001
name: people
version: 1.0.0
status: active
domain: crm
dataProduct: people
schema:
- name: people
  physicalType: table
  properties:
  - name: email
    logicalType: string
    tags: [pii.email]
  - name: phone
    logicalType: string
    tags: []
  - name: city
    logicalType: string
    tags: [pii.address]
servers:
- server: sample
  type: local
  path: ../samples/people.parquet
  format: parquet
"""


@pytest.fixture()
def mesh(tmp_path: Path) -> Path:
    (tmp_path / "products").mkdir()
    (tmp_path / "samples").mkdir()
    (tmp_path / "products" / "crm.people.yaml").write_text(CONTRACT)
    pq.write_table(
        pa.table({"email": EMAILS, "phone": PHONES, "city": ["x"] * 50}), tmp_path / "samples" / "people.parquet"
    )
    return tmp_path


def test_json_report_keys_and_no_raw_values(mesh: Path) -> None:
    report = scan_paths([mesh / "samples"], model="none")
    data = json.loads(to_json(report))
    assert {"findings", "columns_scanned", "seconds"} <= data.keys()
    f = next(f for f in data["findings"] if f["column"] == "email")
    assert f["entity"] == "EMAIL_ADDRESS" and f["tag"] == "pii.email" and 0 < f["score"] <= 1
    assert f["source"].endswith("people.parquet")
    text = to_json(report) + to_sarif(report) + to_text(report)
    for raw in EMAILS + PHONES:
        assert raw not in text
    assert "secret" not in text and "5551000" not in text.replace(" ", "")


def test_sarif_validates_against_schema(mesh: Path) -> None:
    catalog = load_catalog(mesh / "products")
    report = scan_paths([mesh / "samples", mesh / "missing.parquet"], model="none", catalog=catalog)
    sarif = json.loads(to_sarif(report))
    jsonschema.validate(sarif, SCHEMA)
    levels = {r["ruleId"]: r["level"] for r in sarif["runs"][0]["results"]}
    assert levels["PHONE_NUMBER"] == "error"  # undeclared
    assert levels["EMAIL_ADDRESS"] == "note"


def test_drift_undeclared_is_error_declared_missing_is_warning(mesh: Path) -> None:
    catalog = load_catalog(mesh / "products")
    report = scan_paths([mesh / "samples"], model="none", catalog=catalog)
    kinds = {(d.kind, d.column) for d in report.drift}
    assert ("undeclared", "phone") in kinds
    assert ("not-found", "city") in kinds
    assert not any(d.column == "email" for d in report.drift)
    assert report.exit_code("undeclared") == 1
    assert report.exit_code("never") == 0
    undeclared = next(d for d in report.drift if d.kind == "undeclared")
    assert undeclared.contract and undeclared.contract.endswith("crm.people.yaml") and undeclared.line
    tags = report_tags(json.loads(to_json(report)), catalog)
    assert tags == {"crm.people": {"email": {"pii.email"}, "phone": {"pii.phone"}}}


def test_text_report_is_a_table(mesh: Path) -> None:
    out = to_text(scan_paths([mesh / "samples"], model="none"))
    assert "column" in out and "EMAIL_ADDRESS" in out and "pii.email" in out and "e.g." in out


@pytest.mark.parametrize(
    ("value", "expected"),
    [("john@example.com", "****@*******.***"), ("(601)546-2016", "(###)###-####"), ("Jane Doe", "**** ***")],
)
def test_redaction(value: str, expected: str) -> None:
    assert redact(value) == expected


def test_cli_exit_codes_and_formats(mesh: Path, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)

    @app.command("version")
    def _version() -> None:  # a second command keeps `scan` a sub-command
        pass

    runner = CliRunner()
    base = ["scan", str(mesh / "samples"), "--model", "none", "--no-catalog"]  # not the repository's own project
    assert runner.invoke(app, base).exit_code == 0
    assert runner.invoke(app, [*base, "--catalog", str(mesh / "products")]).exit_code == 1
    assert runner.invoke(app, [*base, "--catalog", str(mesh / "products"), "--fail-on", "never"]).exit_code == 0
    assert runner.invoke(app, [*base, "--fail-on", "any"]).exit_code == 1
    out = tmp_path / "r.sarif"
    res = runner.invoke(app, [*base, "--format", "sarif", "--output", str(out)])
    assert res.exit_code == 0
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)
    res = runner.invoke(app, [*base, "--format", "json"])
    assert json.loads(res.stdout)["columns_scanned"] == 3


def test_custom_recognizer_config(tmp_path: Path) -> None:
    cfg = tmp_path / "rec.yaml"
    cfg.write_text(
        "recognizers:\n  - name: employee_no\n    entity: EMPLOYEE_ID\n    tag: pii.employee\n"
        "    regex: 'EMP-\\d{6}'\n    names: [emp_no]\n"
    )
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"x": [f"EMP-{100000 + i}" for i in range(40)]}), path)
    report = scan_paths([path], model="none", config=cfg)
    assert [(f.entity, f.tag) for f in report.findings] == [("EMPLOYEE_ID", "pii.employee")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("recognizers:\n  - name: b\n    entity: X\n    regex: '(a'\n")
    from policyengine.scan.config import ConfigError

    with pytest.raises(ConfigError, match="not valid RE2"):
        scan_paths([path], model="none", config=bad)
