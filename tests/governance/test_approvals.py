"""Issue 19, hole 8: approvals were free text. `GOV-7.`, `gov-7` and ` GOV-7 ` passed where the
base's `GOV-7` was refused as reuse, and `n/a` approved a loosening. An approval id is normalised
(Unicode NFKC, trimmed, upper case, trailing punctuation dropped), must match the configured
pattern (`approvals: pattern:` in policyengine.yaml, read from the BASE; default
`^[A-Z][A-Z0-9]*-[0-9]+$`), and may not be one the base already used anywhere (rules, contracts,
the consumers file). And a loosening renamed away (`email` -> `contact`, its tag dropped in the
contract) fails `diff` and `coverage`, not only `scan`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

from .gitmesh import git

SALES = "policies/sales.policy"
PLATFORM = "policies/platform.policy"
CONSUMERS = "examples/mesh/consumers.yaml"
CUSTOMERS = "examples/mesh/products/sales.customers.yaml"
MARGIN = "deny read sales.orders.margin to everyone except group:sales-leads, group:finance;"
LOOSER = "deny read sales.orders.margin to everyone except group:sales-leads, group:finance, group:analytics;"
BOB = "  - id: bob\n    groups: [sales-reps]\n"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), "utf-8")


def _diff(*args: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["diff", "main", "--format", "json", *args])
    assert result.exit_code in (0, 1) and result.stdout.startswith("{"), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


def _base_with_approvals(mesh: Path) -> None:
    """The base used GOV-7 on a rule and GOV-9 in the consumers file."""
    _edit(mesh / PLATFORM, '@name("mask-phones")\n', '@name("mask-phones")\n@approved("GOV-7")\n')
    _edit(mesh / CONSUMERS, BOB, BOB + "    approved: GOV-9\n")
    git(mesh, "commit", "-q", "-am", "approvals in the base")


def _loosen_margin(mesh: Path, approval: str) -> None:
    _edit(mesh / SALES, '@name("margin-for-leads-and-finance")\n' + MARGIN,
          f'@name("margin-for-leads-and-finance")\n@approved({json.dumps(approval, ensure_ascii=False)})\n' + LOOSER)


@pytest.mark.parametrize("approval", ["GOV-7.", "gov-7", " GOV-7 ", "GOV-7!", "ＧＯＶ－７", "GOV-9", "gov-9.",
                                      "GOV-07", "GOV-0007", "gov-009"])
def test_an_approval_the_base_used_anywhere_is_refused_however_written(mesh: Path, approval: str) -> None:
    _base_with_approvals(mesh)
    _loosen_margin(mesh, approval)
    code, data, err = _diff()
    assert code == 1, data["groups"]
    assert [g["approved"] for g in data["groups"] if g["loosened"]] == [None]
    assert "already used" in " ".join(data["notes"]) and "policies/sales.policy:13" in " ".join(data["notes"])
    assert f"{SALES}:13: error:" in err and "was already used in the base" in err


@pytest.mark.parametrize("approval", ["n/a", "-", "none", "TODO", "approved", "GOV", "7", "GOV-", "GOV-7 <!--",
                                      "GOV-7, GOV-8", "https://tracker/GOV-7"])
def test_an_approval_that_is_no_ticket_id_is_refused(mesh: Path, approval: str) -> None:
    _loosen_margin(mesh, approval)
    code, data, _ = _diff()
    assert code == 1
    assert "does not match" in " ".join(data["notes"])


@pytest.mark.parametrize("approval", ["GOV-12", "gov-12", "GOV-12."])
def test_a_fresh_ticket_id_approves_and_is_reported_normalised(mesh: Path, approval: str) -> None:
    _base_with_approvals(mesh)
    _loosen_margin(mesh, approval)
    code, data, _ = _diff()
    assert code == 0, data["notes"]
    assert [g["approved"] for g in data["groups"] if g["loosened"]] == ["GOV-12"]


def test_a_consumer_approval_reused_from_a_rule_of_the_base_is_refused(mesh: Path) -> None:
    _base_with_approvals(mesh)
    carol = "  - id: carol\n    groups: [sales-leads, sales-reps]\n"
    _edit(mesh / CONSUMERS, carol, carol.replace("sales-reps]", "sales-reps, pii-cleared]") + "    approved: gov-7\n")
    code, data, _ = _diff()
    assert code == 1 and data["groups"][0]["approved"] is None


def test_a_contract_approval_is_checked_too(mesh: Path) -> None:
    _base_with_approvals(mesh)
    _edit(mesh / CUSTOMERS, "    tags:\n    - pii.phone\n",
          "    tags: []\n    customProperties:\n    - property: policyengine-approved\n      value: GOV-7.\n")
    code, data, _ = _diff()
    assert code == 1
    (change,) = [c for c in data["contract_changes"] if c["kind"] == "tag-removed"]
    assert change["approved"] is None


def test_the_pattern_is_configured_and_read_from_the_base(mesh: Path) -> None:
    config = mesh / "policyengine.yaml"
    config.write_text(config.read_text("utf-8") + "approvals:\n  pattern: '^SEC-[0-9]{3}$'\n", "utf-8")
    git(mesh, "commit", "-q", "-am", "our tracker")
    _loosen_margin(mesh, "GOV-12")
    assert _diff()[0] == 1
    _loosen_margin_again = (mesh / SALES).read_text("utf-8").replace('"GOV-12"', '"sec-123"')
    (mesh / SALES).write_text(_loosen_margin_again, "utf-8")
    code, data, _ = _diff()
    assert code == 0 and data["groups"][0]["approved"] == "SEC-123"
    # the head cannot widen the pattern it is checked against
    config.write_text(config.read_text("utf-8").replace("'^SEC-[0-9]{3}$'", "'.*'"), "utf-8")
    (mesh / SALES).write_text(_loosen_margin_again.replace('"sec-123"', '"n/a"'), "utf-8")
    assert _diff()[0] == 1


@pytest.mark.parametrize("value, message", [
    ("approvals:\n  pattern: '^(GOV'\n", "is not a regular expression"),
    ("approvals:\n  pattern: 7\n", "must be a string"),
    ("approvals:\n  patern: x\n", "unknown key 'patern'"),
    ("approvals: GOV\n", "must be a mapping"),
])
def test_a_malformed_approvals_section_is_a_located_usage_error(mesh: Path, value: str, message: str) -> None:
    config = mesh / "policyengine.yaml"
    lines = config.read_text("utf-8").count("\n")
    config.write_text(config.read_text("utf-8") + value, "utf-8")
    result = CliRunner().invoke(app, ["diff", "main"])
    assert result.exit_code == 2, result.output
    assert f"policyengine.yaml:{lines + 1}" in result.output or f"policyengine.yaml:{lines + 2}" in result.output
    assert message in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- a loosening renamed away

EMAIL = ("  - name: email\n    logicalType: string\n    physicalType: varchar\n    description: Contact e-mail\n"
         "    classification: restricted\n    tags:\n    - pii.email\n")
CONTACT = ("  - name: contact\n    logicalType: string\n    physicalType: varchar\n    description: Contact\n"
           "    classification: restricted\n    tags: []\n")


def test_diff_fails_on_a_sensitive_column_renamed_with_its_tag_dropped(mesh: Path) -> None:
    _edit(mesh / CUSTOMERS, EMAIL, CONTACT)
    code, data, err = _diff()
    assert code == 1
    (change,) = data["contract_changes"]
    assert (change["kind"], change["product"], change["column"]) == ("tag-removed", "sales.customers", "contact")
    assert "email" in change["message"] and "pii.email" in change["message"]
    assert change["file"] == CUSTOMERS and change["line"] == 34
    assert f"{CUSTOMERS}:34: error:" in err


def test_a_rename_that_also_changes_the_type_still_loses_the_tag(mesh: Path) -> None:
    _edit(mesh / CUSTOMERS, EMAIL, CONTACT.replace("logicalType: string", "logicalType: integer"))
    code, data, _ = _diff()
    assert code == 1
    assert [(c["kind"], c["column"]) for c in data["contract_changes"]] == [("tag-removed", "contact")]


def test_a_rename_that_keeps_the_tag_or_a_dropped_column_is_no_tag_removal(mesh: Path) -> None:
    _edit(mesh / CUSTOMERS, EMAIL, EMAIL.replace("name: email", "name: contact"))
    code, data, _ = _diff()
    assert [c for c in data["contract_changes"] if c["kind"] == "tag-removed"] == []
    git(mesh, "checkout", "-q", "--", CUSTOMERS)
    _edit(mesh / CUSTOMERS, EMAIL, "")
    code, data, _ = _diff()
    assert code == 0 and data["contract_changes"] == []


def _scan_report(mesh: Path) -> Path:
    sample = (mesh / "examples/mesh/samples/sales.customers.parquet").as_posix()
    report = mesh / "scan.json"
    report.write_text(json.dumps({"findings": [
        {"source": sample, "column": "email", "tag": "pii.email", "entity": "EMAIL_ADDRESS", "score": 0.99}]}),
        "utf-8")
    return report


def test_coverage_fails_on_a_scan_finding_in_a_column_the_contract_renamed(mesh: Path) -> None:
    """The sample still holds e-mails under `email`; the contract calls the column `contact` and
    declares no tag, so the finding matched no column and was dropped with a warning."""
    (mesh / "examples/mesh/samples").mkdir(parents=True, exist_ok=True)
    (mesh / "examples/mesh/samples/sales.customers.parquet").write_bytes(b"PAR1")
    report = _scan_report(mesh)
    assert CliRunner().invoke(app, ["coverage", "--scan", str(report)]).exit_code == 0
    _edit(mesh / CUSTOMERS, EMAIL, CONTACT)
    result = CliRunner().invoke(app, ["coverage", "--scan", str(report)])
    assert result.exit_code == 1, result.output
    assert f"{CUSTOMERS}:" in result.output and "'email'" in result.output and "pii.email" in result.output
    result = CliRunner().invoke(app, ["coverage", "--scan", str(report), "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["undeclared"][0]["column"] == "email"
