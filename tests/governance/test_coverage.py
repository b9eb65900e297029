"""`policyengine coverage`: each kind of gap is found, with the allowing rule and the rules that did
not protect the column (and why); privileged subjects are not checked; the example mesh passes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from policyengine.catalog.scan_tags import scan_tags
from policyengine.cli import app
from policyengine.engine.loading import load
from policyengine.governance.coverage import check_coverage, to_json, to_sarif, to_text

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "fixtures" / "catalog"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "scan" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
PII = ("email", "name", "ssn")


def _engine(tmp_path: Path, text: str):
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "shop.policy").write_text("scope domain shop\n" + text, encoding="utf-8")
    return load(folder, CATALOG)


def _gaps(report, column: str):
    return [g for g in report.gaps if g.product == "shop.orders" and g.column == column]


def _reasons(gap) -> dict[str, set[str]]:
    return {m.rule.name: {d for d, _ in m.reasons} for m in gap.unprotected}


def test_an_allow_without_any_mask_is_a_gap_on_every_pii_column(tmp_path: Path) -> None:
    engine = _engine(tmp_path, '@name("grant")\nallow read shop.orders to group:analysts;\n')
    report = check_coverage(engine)
    assert {g.column for g in report.gaps if g.product == "shop.orders"} == set(PII)
    gap = _gaps(report, "email")[0]
    assert (gap.allowed_by.name, gap.allowed_by.line) == ("grant", 2)
    assert gap.allowed_by.file.endswith("shop.policy")
    assert gap.tags == ("pii.email",) and gap.unprotected == ()
    assert gap.subject.groups == frozenset({"analysts"}) and gap.every_purpose
    assert report.exit_code() == 1
    assert "no deny or mask rule covers this column" in to_text(report)


def test_a_mask_limited_to_a_purpose_leaves_the_other_purposes_open(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts for purpose reporting, billing;\n'
        '@name("mask-for-billing")\nmask tagged pii using hash to everyone for purpose billing;\n'))
    report = check_coverage(engine)
    gaps = _gaps(report, "email")
    assert len(gaps) == 1
    assert [p.value for p in gaps[0].purposes] == ["reporting"]
    assert _reasons(gaps[0]) == {"mask-for-billing": {"purpose"}}
    miss = gaps[0].unprotected[0]
    assert miss.rule.line == 3 and "only for purpose billing (not purpose reporting)" in miss.text


def test_a_mask_whose_window_ends_leaves_the_column_open_afterwards(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        '@name("temporary-mask")\nmask tagged pii using null to everyone until 2027-01-01;\n'))
    gaps = _gaps(check_coverage(engine), "name")
    assert len(gaps) == 1
    assert gaps[0].when_label == "from 2027-01-02T00:00:00Z on"
    assert _reasons(gaps[0]) == {"temporary-mask": {"window"}}
    assert "it ended at 2027-01-02T00:00:00Z" in gaps[0].unprotected[0].text


def test_a_mask_that_starts_late_leaves_the_column_open_before(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        '@name("late-mask")\nmask tagged pii using null to everyone from 2026-03-01;\n'))
    gaps = _gaps(check_coverage(engine), "ssn")
    assert [g.when_label for g in gaps] == ["before 2026-03-01T00:00:00Z"]


def test_a_mask_whose_condition_excludes_some_consumers(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        '@name("eu-mask")\nmask tagged pii using hash to everyone when consumer.region == "eu";\n'))
    gaps = _gaps(check_coverage(engine), "email")
    assert len(gaps) == 1 and _reasons(gaps[0]) == {"eu-mask": {"condition"}}
    # the simplest consumer that escapes: one without a region at all (undefined → false)
    assert gaps[0].attributes.missing == ("region",)
    assert "lacks region" in gaps[0].unprotected[0].text


def test_a_group_exception_on_the_mask_is_a_gap_for_that_group(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        '@name("mask-pii")\nmask tagged pii using hash to everyone except group:contractors;\n'))
    report = check_coverage(engine)
    gaps = _gaps(report, "email")
    assert len(gaps) == 1
    assert gaps[0].subject.groups == frozenset({"analysts", "contractors"})
    assert _reasons(gaps[0]) == {"mask-pii": {"subject"}}
    assert "excepts group:contractors" in gaps[0].unprotected[0].text


def test_privileged_subjects_are_not_checked(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        'mask tagged pii using hash to everyone except group:contractors;\n'))
    assert check_coverage(engine, privileged=[("group:contractors", ())]).ok
    # privileged for e-mails only: their names and national ids are still a gap
    partial = check_coverage(engine, privileged=[("group:contractors", ("pii.email",))])
    assert {g.column for g in partial.gaps if g.product == "shop.orders"} == {"name", "ssn"}
    # a privileged group gives nothing to someone not in it
    other = _engine(tmp_path, 'allow read shop.orders to group:analysts, group:sales;\n')
    [gap, *_] = check_coverage(other, privileged=[("group:analysts", ())]).gaps
    assert gap.subject.groups == frozenset({"sales"})


def test_a_privileged_user_is_not_checked_but_other_users_are(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders.{order_id, email} to user:auditor, group:analysts;\n')
    report = check_coverage(engine, privileged=[("user:auditor", ())])
    assert [g.subject.groups for g in _gaps(report, "email")] == [frozenset({"analysts"})]


def test_a_deny_or_mask_for_everyone_covers_every_class(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts, user:u1 for purpose reporting when consumer.level >= 2 '
        'from 2026-01-01 until 2027-01-01;\n'
        'mask tagged pii.email, pii.name using hash to everyone;\n'
        'deny read shop.orders.ssn to everyone;\n'))
    report = check_coverage(engine)
    assert report.ok and report.exit_code() == 0
    assert report.evaluations == report.classes > 1


def test_only_the_deny_without_exception_is_reported_not_the_one_that_applies(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to everyone;\n'
        'mask shop.orders.{email, name} using hash to everyone;\n'
        '@name("deny-ssn")\ndeny read shop.orders.ssn to group:staff;\n'))
    gaps = _gaps(check_coverage(engine), "ssn")
    assert len(gaps) == 1 and gaps[0].subject.groups == frozenset()
    assert "only for group:staff" in gaps[0].unprotected[0].text


def test_a_column_only_the_scan_tags_is_checked_against_the_rules_as_enforced(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        'mask tagged pii using hash to everyone;\n'))
    assert check_coverage(engine).ok
    report = {"findings": [{"source": str(ROOT / "tests/fixtures/samples/shop.orders.parquet"),
                            "column": "notes", "entity": "EMAIL_ADDRESS", "tag": "pii.email"}]}
    found = scan_tags(report, engine.catalog)
    result = check_coverage(engine, scan=found)
    [gap] = result.gaps
    # `tagged pii` does not cover `notes` where enforcement runs (its contract has no tag)
    assert gap.column == "notes" and gap.sources == {"pii.email": "scan"}
    assert "declare it in the contract" in to_text(result)


def test_tags_option_replaces_the_taxonomy_marks(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to group:analysts;\n'
                               'mask tagged pii using hash to everyone;\n')
    assert check_coverage(engine).ok
    report = check_coverage(engine, tags=["pii.email"])
    assert {c.column for c in report.columns} == {"email"}


def test_json_and_sarif_carry_each_gap(tmp_path: Path) -> None:
    engine = _engine(tmp_path, (
        'allow read shop.orders to group:analysts;\n'
        '@name("mask-pii")\nmask tagged pii using hash to everyone except group:contractors;\n'))
    report = check_coverage(engine)
    data = json.loads(to_json(report))
    assert data["summary"]["gaps"] == len(report.gaps) == 3  # email, name, ssn
    first = data["gaps"][0]
    assert first["consumer"]["groups"] == ["analysts", "contractors"]
    assert first["unprotected"][0]["rule"]["name"] == "mask-pii"
    assert first["unprotected"][0]["reasons"][0]["dimension"] == "subject"
    sarif = json.loads(to_sarif(report))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    results = sarif["runs"][0]["results"]
    assert len(results) == 3 and all(r["level"] == "error" for r in results)
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 2  # the allow rule
    related_lines = {r["physicalLocation"]["region"]["startLine"] for r in results[0]["relatedLocations"]}
    assert 3 in related_lines  # the mask that did not apply


# ---------------------------------------------------------------- the command


def _mesh(tmp_path: Path) -> Path:
    """A copy of the example project (policies, catalog, consumers, configuration)."""
    for part in ("policies", "examples/mesh/products", "examples/mesh/consumers.yaml", "policyengine.yaml"):
        src = ROOT / part
        dst = tmp_path / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
    return tmp_path


def test_the_example_mesh_is_covered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["coverage"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 gap(s) in 23 sensitive column(s) of 6 product(s)")


def test_removing_a_platform_mask_from_the_mesh_fails_the_gate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _mesh(tmp_path)
    platform = root / "policies" / "platform.policy"
    text = platform.read_text("utf-8")
    rule = ('@name("mask-phones")\nmask tagged pii.phone using partial(first=3, last=2) to everyone except '
            'group:pii-cleared;\n')
    assert rule in text
    platform.write_text(text.replace(rule, ""), "utf-8")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["coverage", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    columns = {(g["product"], g["column"]) for g in data["gaps"]}
    assert columns == {("hr.employees", "phone"), ("marketing.leads", "phone"), ("sales.customers", "phone")}
    allowing = {(g["allowed_by"]["name"], g["allowed_by"]["file"], g["allowed_by"]["line"])
                for g in data["gaps"] if g["product"] == "sales.customers"}
    assert allowing == {("sales-reads-customers", "policies/sales.policy", 16),
                        ("platform-operations", "policies/platform.policy", 35)}
    assert "error:" in result.stderr


def test_a_privacy_exception_without_privilege_is_a_gap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _mesh(tmp_path)
    config = root / "policyengine.yaml"
    config.write_text(config.read_text("utf-8").replace("  - group:privacy-office: [pii.email, pii.name]\n", ""),
                      "utf-8")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["coverage"])
    assert result.exit_code == 1
    assert "excepts group:privacy-office" in result.stdout
    assert "policies/platform.policy:12" in result.stdout  # mask-emails, which did not apply


@pytest.mark.parametrize("args, config_extra, message", [
    (["--scan", "no-such-report.json"], "", "no such file"),
    (["--tag", "pii.nmae"], "", "unknown tag"),
    (["--product", "sales.nope"], "", "unknown product"),
    ([], "privileged: group-without-kind\n", "'privileged' must list subjects"),
    ([], "privileged:\n  - group:x: [pii.nope]\n", "unknown tag 'pii.nope'"),
])
def test_usage_and_input_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                                       config_extra: str, message: str) -> None:
    root = _mesh(tmp_path)
    config = root / "policyengine.yaml"
    if config_extra:
        text = config.read_text("utf-8")
        config.write_text(text[:text.index("privileged:")] + config_extra, "utf-8")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["coverage", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_malformed_scan_report_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _mesh(tmp_path)
    (root / "scan.json").write_text('{"findings": 3}', "utf-8")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["coverage", "--scan", "scan.json"])
    assert result.exit_code == 2 and "malformed scan report" in result.stderr


def test_sarif_output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "coverage.sarif"
    result = CliRunner().invoke(app, ["coverage", "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 0
    sarif = json.loads(out.read_text("utf-8"))
    jsonschema.validate(sarif, SARIF_SCHEMA)
    assert sarif["runs"][0]["results"] == []


def test_the_taxonomy_marks_pii_sensitive_and_an_extension_cannot_unmark_it(tmp_path: Path) -> None:
    from policyengine.catalog.taxonomy import load_taxonomy

    ext = tmp_path / "taxonomy.yaml"
    ext.write_text("tags:\n  pii:\n    description: ours\n  confidential:\n    sensitive: true\n", "utf-8")
    tax = load_taxonomy([ext])
    assert tax.is_sensitive("pii.email") and tax.is_sensitive("confidential.financial")
    assert not load_taxonomy().is_sensitive("confidential") and not tax.is_sensitive("uid")
    ext.write_text("tags:\n  x:\n    sensitive: maybe\n", "utf-8")
    with pytest.raises(ValueError, match="'sensitive' of tag 'x' must be true or false"):
        load_taxonomy([ext])


def test_the_outputs_shown_in_docs_governance_are_what_the_tool_prints(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (ROOT / "docs" / "governance.md").read_text("utf-8")
    root = _mesh(tmp_path)
    config = root / "policyengine.yaml"
    config.write_text(config.read_text("utf-8").replace("  - group:security: [pii.ip]\n", ""), "utf-8")
    monkeypatch.chdir(root)
    runner = CliRunner()
    gaps = runner.invoke(app, ["coverage"]).stdout.splitlines()
    start = next(i for i, line in enumerate(gaps) if line.startswith("policies/sales.policy:3: gap:"))
    for line in gaps[start:start + 3]:
        assert line in doc, line
    assert gaps[-1].startswith("6 gap(s) in 23 sensitive column(s) of 6 product(s); 380 request classes")
    monkeypatch.chdir(ROOT)
    why = runner.invoke(app, ["eval", "--consumer", "alice", "--product", "hr.employees", "--purpose", "reporting",
                              "--at", "2026-06-01T00:00:00Z", "--columns", "national_id", "--why-not", "national_id"])
    for line in why.stdout.splitlines():
        assert line in doc, line
