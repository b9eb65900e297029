"""Rough edges a new user met (issue 27): each one a test that failed before its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

from .conftest import GOOD, Run


def _run_in(folder: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("key", ["catalog", "consumers", "policies"])
def test_a_wrong_path_in_the_configuration_names_key_file_and_line(project: Run, key: str) -> None:
    config = project.root / "policyengine.yaml"  # type: ignore[attr-defined]
    text = config.read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith(f"{key}:"))
    config.write_text(text.replace(f"{key}: ", f"{key}: nope/", 1), encoding="utf-8")
    result = project("check", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 2, result.output
    assert f"policyengine.yaml:{line}:1: error: '{key}': no such file or folder: nope/" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["check"], ["test"], ["coverage"], ["fmt", "--check"],
                                     ["eval", "--consumer", "bob", "--product", "shop.orders"],
                                     ["query", "--consumer", "bob", "SELECT 1"]])
def test_outside_a_project_says_no_configuration_was_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           command: list[str]) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    result = _run_in(tmp_path, *command)
    assert result.exit_code == 2, result.output
    assert "no policyengine.yaml found" in result.output
    assert "Traceback" not in result.output


def test_query_names_the_configured_hash_key_variable(project: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    config = project.root / "policyengine.yaml"  # type: ignore[attr-defined]
    config.write_text(config.read_text(encoding="utf-8") + "hash_key_env: SHOP_HMAC_KEY\n", encoding="utf-8")
    monkeypatch.delenv("SHOP_HMAC_KEY", raising=False)
    monkeypatch.delenv("POLICYENGINE_HASH_KEY", raising=False)
    policy = GOOD + "mask shop.orders.email using hash to everyone;\n"
    result = project("query", "--consumer", "alice", "SELECT email FROM shop.orders",
                     files={"policies/shop.policy": policy})
    assert result.exit_code == 1, result.output
    assert "$SHOP_HMAC_KEY" in result.output
    assert "POLICYENGINE_HASH_KEY" not in result.output


def test_a_wrong_samples_path_in_the_configuration_is_located_in_scan(project: Run) -> None:
    config = project.root / "policyengine.yaml"  # type: ignore[attr-defined]
    config.write_text(config.read_text(encoding="utf-8").replace("samples: ", "samples: nope/"), encoding="utf-8")
    result = project("scan")
    assert result.exit_code == 2, result.output
    assert "policyengine.yaml:4:1: error: 'samples': no such file or folder: nope/samples" in result.output


def test_a_contract_column_missing_from_the_sample_is_named_by_check_and_query(project: Run) -> None:
    sample = project.root / "samples" / "orders.csv"  # type: ignore[attr-defined]
    sample.write_text("order_id,e_mail\n1,a@example.org\n", encoding="utf-8")
    result = project("check", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 0, result.output
    assert "warning: column 'email' of shop.orders is not in its sample orders.csv (did you mean 'e_mail'?)" \
        in result.output
    assert "products/shop.orders.yaml:18:5:" in result.output  # at the contract's column
    assert "a@example.org" not in result.output
    result = project("query", "--consumer", "alice", "SELECT order_id FROM shop.orders")
    assert result.exit_code == 1, result.output
    assert "the sample of shop.orders (orders.csv) has no column 'email' of its contract" in result.output
    assert "BinderException" not in result.output


def test_a_property_without_a_logical_type_is_reported(project: Run) -> None:
    contract = project.root / "products" / "shop.orders.yaml"  # type: ignore[attr-defined]
    contract.write_text(contract.read_text(encoding="utf-8").replace("    logicalType: integer\n", ""),
                        encoding="utf-8")
    result = project("check", files={"policies/shop.policy": GOOD})
    assert result.exit_code == 0, result.output
    assert "products/shop.orders.yaml:16:5: warning: property 'order_id' has no logicalType; read as " \
           "'string'" in result.output
    assert project("check", "--strict").exit_code == 1


def test_an_ownership_path_matching_no_file_is_reported_at_its_line(project: Run) -> None:
    config = project.root / "policyengine.yaml"  # type: ignore[attr-defined]
    config.write_text(config.read_text(encoding="utf-8").replace('"products/{domain}.*.yaml"',
                                                                 '"prodcuts/{domain}.*.yaml"'), encoding="utf-8")
    result = project("check", files={"policies/shop.policy": GOOD, "policies/platform.policy": "scope platform\n"})
    assert "policyengine.yaml:10:42: warning: 'prodcuts/{domain}.*.yaml' in ownership.domains.paths matches " \
           "no file or folder" in result.output, result.output
    assert "'policies/{domain}.policy'" not in result.output  # the paths that match are not reported
    assert "'policies/platform.policy'" not in result.output


def test_check_takes_policies_as_an_option_and_the_old_arguments_still_work(project: Run) -> None:
    files = {"policies/shop.policy": GOOD}
    new = project("check", "--policies", "policies/shop.policy", files=files)
    assert new.exit_code == 0 and "deprecated" not in new.output, new.output
    old = project("check", "policies/shop.policy")
    assert old.exit_code == 0, old.output
    assert "warning: policy paths as arguments of `check` are deprecated: use --policies PATH" in old.output


def test_a_literal_ownership_path_in_a_missing_folder_is_reported(project: Run) -> None:
    config = project.root / "policyengine.yaml"  # type: ignore[attr-defined]
    config.write_text(config.read_text(encoding="utf-8").replace("[policies/platform.policy]",
                                                                 "[polcies/platform.policy]"), encoding="utf-8")
    result = project("check", files={"policies/shop.policy": GOOD})
    assert "'polcies/platform.policy' in ownership.platform.paths matches no file" in result.output


ROOT = Path(__file__).resolve().parents[2]


def test_eval_warns_on_a_purpose_no_rule_names_and_refuses_an_attribute_of_the_wrong_type(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    base = ["eval", "--consumer", "bob", "--product", "sales.orders"]
    result = _run_in(ROOT, *base, "--purpose", "reportng")
    assert result.exit_code == 0, result.output
    assert "warning: --purpose 'reportng' is named by no rule (did you mean 'reporting'?)" in result.output
    assert "warning" not in _run_in(ROOT, *base, "--purpose", "reporting").output
    result = _run_in(ROOT, *base, "--attr", "clearance=high")
    assert result.exit_code == 2, result.output
    assert "error: --attr clearance: 'clearance' has type integer in the consumers file's attribute schema; " \
           "the value given reads as string" in result.output
    result = _run_in(ROOT, *base, "--attr", "regoin=uk")
    assert "warning: --attr regoin: the consumers file declares no attribute 'regoin' (did you mean 'region'?)" \
        in result.output


def test_explain_keeps_reasons_in_one_column_with_long_mask_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    result = _run_in(ROOT, "eval", "--consumer", "bob", "--product", "sales.customers", "--explain")
    assert result.exit_code == 0, result.output
    heads = [line for line in result.output.splitlines()[1:] if line.startswith("  ") and not line.startswith("    ")
             and not line.startswith("  rows")]
    assert any("partial(" in line for line in heads), result.output  # a long mask name is there
    starts = {line.index(" by ") - len(line.split(" by ")[0].split("  ")[-1]) for line in heads}
    assert len(starts) == 1, result.output


def _mesh_copy(tmp_path: Path) -> Path:
    import shutil

    for part in ("policies", "examples/mesh", "policyengine.yaml"):
        src, dst = ROOT / part, tmp_path / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    return tmp_path


def test_privileged_errors_are_located_with_did_you_mean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    root = _mesh_copy(tmp_path)
    config = root / "policyengine.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[pii.email, pii.name]", "[pii.email, pii.nmae]"), encoding="utf-8")
    result = _run_in(root, "coverage")
    assert result.exit_code == 2, result.output
    assert "policyengine.yaml:11:39: error: privileged subject group:privacy-office names unknown tag " \
           "'pii.nmae' (did you mean 'pii.name'?)" in result.output
    config.write_text(text.replace("  - group:pii-cleared", "  - group:pii-claered"), encoding="utf-8")
    result = _run_in(root, "coverage")
    assert "policyengine.yaml:10:5: warning: privileged group 'pii-claered' is not a group of any consumer " \
           "(did you mean 'pii-cleared'?)" in result.output


@pytest.mark.parametrize(("rule", "expected"), [
    ('@name("short-emails")\nmask shop.orders.email using partial(middle=2) to everyone;\n',
     "error: 'partial' has no argument 'middle' (arguments: first, last), in rule 'short-emails' masking "
     "shop.orders.email"),
    ('@name("round-emails")\nmask tagged pii.email in shop.* using round(digits="x") to everyone;\n',
     "error: argument 'digits' of 'round' must be an integer, in rule 'round-emails' masking tag pii.email "
     "(shop.orders.email)"),
])
def test_a_bad_mask_argument_names_the_rule_and_what_it_masks(project: Run, rule: str, expected: str) -> None:
    result = project("check", files={"policies/shop.policy": GOOD + rule})
    assert result.exit_code == 1
    assert expected in result.output, result.output


def test_policy_test_files_report_unknown_columns_and_masks_all_at_once(project: Run) -> None:
    tests = """tests:
  - name: typos
    consumer: alice
    product: shop.orders
    expect:
      columns: {emial: allow, email: mask(emial_domain), order_id: allow}
  - name: another
    consumer: alice
    product: shop.orders
    expect:
      columns: {ordr_id: allow}
"""
    result = project("test", files={"policies/shop.policy": GOOD, "policies/tests/t.yaml": tests})
    assert result.exit_code == 1, result.output
    out = result.output
    assert "policies/tests/t.yaml:2: error: in test 'typos': shop.orders has no column 'emial' (did you mean 'email'?)" in out
    assert "unknown mask 'emial_domain' expected for email (did you mean 'email_domain'?)" in out
    assert "policies/tests/t.yaml:7: error: in test 'another': shop.orders has no column 'ordr_id' (did you mean 'order_id'?)" in out
    assert "3 error(s) in the test files; no test ran" in out
