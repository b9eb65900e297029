"""`scan --suggest`: undeclared findings become a reviewable patch to the ODCS contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.catalog.contracts import load_catalog
from policyengine.scan.drift import check_drift
from policyengine.scan.report import Finding, ScanReport
from policyengine.scan.suggest import patch_contract, suggest, suggestions, write_patches

MESH = Path(__file__).resolve().parents[2] / "examples" / "mesh"


def _contract(tmp_path: Path, newline: str = "\n") -> Path:
    text = (MESH / "products" / "sales.orders.yaml").read_text(encoding="utf-8")
    # three shapes of an undeclared tag: an empty flow list, a flow list, no `tags` key at all
    text = text.replace("    tags:\n    - pii.email\n", "    tags: []\n", 1)
    text = text.replace("    tags:\n    - pii.payment_card\n", "    tags: [finance.sensitive]\n", 1)
    text = text.replace("    classification: restricted\n    tags:\n    - pii.name\n", "    classification: restricted\n", 1)
    assert "pii.email" not in text and "pii.name" not in text and "pii.payment_card" not in text
    path = tmp_path / "sales.orders.yaml"
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def _report(catalog, source: str) -> ScanReport:
    findings = tuple(
        Finding(source, column, entity, tag, 1.0, {"summary": f"9/9 distinct sampled values matched {entity}, e.g. a***@b***"})
        for column, entity, tag in [("customer_email", "EMAIL_ADDRESS", "pii.email"),
                                    ("customer_name", "PERSON", "pii.name"),
                                    ("card_number", "CREDIT_CARD", "pii.payment_card")])
    report = ScanReport(findings, (), (), 1, 3, 0.1, None)
    return check_drift(report, catalog)


def _sample_source(catalog) -> str:
    product = catalog.products["sales.orders"]
    return str(product.samples[0].path)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_suggested_patch_declares_every_undeclared_tag(tmp_path: Path, newline: str) -> None:
    path = _contract(tmp_path, newline)
    catalog = load_catalog([path])
    report = _report(catalog, _sample_source(catalog))
    assert sum(d.kind == "undeclared" for d in report.drift) == 3
    result = suggest(report)
    assert not result.skipped and len(result.patches) == 1
    diff = result.diff()
    assert diff.startswith(f"--- a/{path}")
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert any("- pii.email  # policyengine scan: EMAIL_ADDRESS 1.00" in a for a in added)
    assert any("tags: [finance.sensitive, pii.payment_card]" in a for a in added)
    assert len(removed) == 2  # `tags: []` and the flow list; nothing else changes
    # applying it: the contract loads, declares the tags, and the same scan finds nothing undeclared
    write_patches(result)
    assert path.read_bytes().count(b"\r\n") == (path.read_bytes().count(b"\n") if newline == "\r\n" else 0)
    patched = load_catalog([path])
    columns = {c.name: c.tags for c in patched.products["sales.orders"].columns}
    assert "pii.email" in columns["customer_email"] and "pii.name" in columns["customer_name"]
    assert {"finance.sensitive", "pii.payment_card"} <= columns["card_number"]
    again = _report(patched, _sample_source(patched))
    assert not [d for d in again.drift if d.kind == "undeclared"]
    assert suggest(again).patches == ()


def test_evidence_in_the_patch_is_the_redacted_summary_only(tmp_path: Path) -> None:
    path = _contract(tmp_path)
    catalog = load_catalog([path])
    found, _ = suggestions(_report(catalog, _sample_source(catalog)))
    assert all(s.note.startswith("policyengine scan: ") and "a***@b***" in s.note for s in found)


def test_a_column_missing_from_the_contract_is_reported_not_patched(tmp_path: Path) -> None:
    path = _contract(tmp_path)
    catalog = load_catalog([path])
    source = _sample_source(catalog)
    report = check_drift(ScanReport((Finding(source, "shadow_email", "EMAIL_ADDRESS", "pii.email", 1.0, {}),),
                                    (), (), 1, 1, 0.1, None), catalog)
    result = suggest(report)
    assert result.patches == () and "'shadow_email' is not in the contract" in result.skipped[0]


def test_a_tags_value_that_is_not_a_list_is_refused() -> None:
    from policyengine.scan.suggest import ContractSuggestion

    text = "schema:\n- name: t\n  properties:\n  - name: email\n    logicalType: string\n    tags: pii\n"
    with pytest.raises(ValueError, match="is not a list"):
        patch_contract("c.yaml", text, [ContractSuggestion("c.yaml", 4, "email", "pii.email", "why")])
