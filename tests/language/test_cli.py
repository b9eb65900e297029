"""`policyengine check` and `policyengine fmt` end to end, in a temporary project.

Exit codes: 0 clean, 1 errors (or, for `fmt --check`, a file would change), 2 usage.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

from .conftest import CONSUMERS, PRODUCTS

GOOD = "scope domain shop\n\nallow read shop.orders to group:analytics;\n"
MESSY = "scope domain shop\nallow read shop.orders   to group:analytics ;\n"
UNKNOWN_COLUMN = "scope domain shop\n\nallow read shop.orders.emial to everyone;\n"
SYNTAX_ERROR = "scope domain shop\n\nallow read shop.orders to everyone\n"


@pytest.fixture
def project(tmp_path: Path):
    """A project folder with policyengine.yaml pointing at the fixture catalog; returns a runner."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policyengine.yaml").write_text(
        f"policies: policies/\ncatalog: {PRODUCTS}\nconsumers: {CONSUMERS}\n", encoding="utf-8")
    runner = CliRunner()

    def run(*args: str, files: dict[str, str] | None = None):
        for name, text in (files or {}).items():
            (tmp_path / "policies" / name).write_text(text, encoding="utf-8")
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            return runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            os.chdir(cwd)

    run.root = tmp_path  # type: ignore[attr-defined]
    return run


def test_check_clean_exits_0(project) -> None:
    result = project("check", files={"shop.policy": GOOD})
    assert result.exit_code == 0, result.output
    # the one warning: this project has no ownership map (tests/governance covers it)
    assert "checked 1 rules in 1 files against 3 products: 0 error(s), 1 warning(s)" in result.output
    assert result.output.startswith("policyengine.yaml: warning: scopes are not bound to paths")


def test_check_error_exits_1_with_located_diagnostic_and_caret(project) -> None:
    result = project("check", files={"shop.policy": UNKNOWN_COLUMN})
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == ("policies/shop.policy:3:24: error: unknown column 'emial' in shop.orders "
                        "(did you mean 'email'?)")
    assert lines[2] == "3 | allow read shop.orders.emial to everyone;"
    assert lines[3] == "  |                        ^^^^^"


def test_check_reports_syntax_errors_of_every_file_and_checks_the_rest(project) -> None:
    result = project("check", files={"a.policy": SYNTAX_ERROR, "b.policy": UNKNOWN_COLUMN.replace("shop\n", "shop\n#\n"),
                                     "c.policy": SYNTAX_ERROR.replace("everyone", "group:x")})
    assert result.exit_code == 1
    firsts = [line for line in result.output.splitlines() if ": error: " in line]
    assert [f.split(":")[0] for f in firsts] == ["policies/a.policy", "policies/b.policy", "policies/c.policy"]


def test_check_warnings_only_exit_0_unless_strict(project) -> None:
    files = {"shop.policy": "scope domain shop\n\nallow read shop.orders to everyone until 2020-01-01;\n"}
    assert project("check", files=files).exit_code == 0
    assert project("check", "--strict", files=files).exit_code == 1


def test_check_json_shape(project) -> None:
    result = project("check", "--format", "json", files={"shop.policy": UNKNOWN_COLUMN})
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert set(doc) == {"diagnostics", "errors", "warnings"} and doc["errors"] == 1 and doc["warnings"] == 1
    d, unbound = doc["diagnostics"]
    assert unbound["code"] == "ownership-unbound" and unbound["location"] == "policyengine.yaml"
    assert d == {
        "severity": "error", "code": "unknown-column",
        "message": "unknown column 'emial' in shop.orders (did you mean 'email'?)",
        "location": "policies/shop.policy:3:24",
        "span": {"file": "policies/shop.policy", "line": 3, "column": 24, "end_line": 3, "end_column": 29},
        "notes": [],
    }


def test_check_json_when_the_catalog_is_broken(project, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.yaml").write_text("kind: [\n", encoding="utf-8")
    result = project("check", "--catalog", str(broken), "--format", "json", files={"shop.policy": GOOD})
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 1 and doc["diagnostics"][0]["code"] == "catalog-yaml"


def test_check_usage_errors_exit_2(project) -> None:
    assert project("check", "no-such-folder").exit_code == 2
    assert project("check", "--format", "xml").exit_code == 2
    assert project("check", "--no-such-option").exit_code == 2


def test_check_a_file_named_twice_is_checked_once(project) -> None:
    files = {"shop.policy": '@name("r")\n'.join(["scope domain shop\n\n", "allow read shop.orders to everyone;\n"])}
    result = project("check", "policies", "policies/shop.policy", files=files)
    assert result.exit_code == 0, result.output
    assert "checked 1 rules in 1 files" in result.output


def test_fmt_check_exits_1_and_writes_nothing(project) -> None:
    result = project("fmt", "--check", files={"shop.policy": MESSY, "ok.policy": GOOD.replace("shop.orders", "shop.customers")})
    assert result.exit_code == 1
    assert "would reformat policies/shop.policy" in result.output
    assert "1 of 2 files would be reformatted" in result.output
    assert (project.root / "policies" / "shop.policy").read_text(encoding="utf-8") == MESSY


def test_fmt_check_clean_exits_0(project) -> None:
    assert project("fmt", "--check", files={"shop.policy": GOOD}).exit_code == 0


def test_fmt_diff_prints_a_unified_diff_and_writes_nothing(project) -> None:
    result = project("fmt", "--diff", files={"shop.policy": MESSY})
    assert result.exit_code == 0
    assert "--- a/policies/shop.policy" in result.output and "+++ b/policies/shop.policy" in result.output
    assert "-allow read shop.orders   to group:analytics ;" in result.output
    assert "+allow read shop.orders to group:analytics;" in result.output
    assert (project.root / "policies" / "shop.policy").read_text(encoding="utf-8") == MESSY


def test_fmt_rewrites_files_keeping_their_permissions(project) -> None:
    path = project.root / "policies" / "shop.policy"
    path.write_text(MESSY, encoding="utf-8")
    path.chmod(0o644)
    result = project("fmt")
    assert result.exit_code == 0 and "reformatted policies/shop.policy" in result.output
    assert path.read_text(encoding="utf-8") == GOOD
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert project("fmt", "--check").exit_code == 0
    assert sorted(p.name for p in path.parent.iterdir()) == ["shop.policy"]  # no temporary file left


def test_fmt_writes_nothing_when_one_file_has_a_syntax_error(project) -> None:
    result = project("fmt", files={"a.policy": MESSY, "b.policy": SYNTAX_ERROR})
    assert result.exit_code == 1
    assert "policies/b.policy:3:35: error: unexpected end of file" in result.output
    assert (project.root / "policies" / "a.policy").read_text(encoding="utf-8") == MESSY
    assert (project.root / "policies" / "b.policy").read_text(encoding="utf-8") == SYNTAX_ERROR


def test_fmt_json(project) -> None:
    result = project("fmt", "--check", "--format", "json", files={"shop.policy": MESSY})
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"changed": ["policies/shop.policy"], "files": 1}


def test_repository_policies_check_and_are_formatted() -> None:
    """The example: `policyengine check` and `policyengine fmt --check` pass on the repo itself."""
    root = Path(__file__).resolve().parents[2]
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(root)
    try:
        checked = runner.invoke(app, ["check"], catch_exceptions=False)
        formatted = runner.invoke(app, ["fmt", "--check"], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    assert checked.exit_code == 0, checked.output
    assert "0 error(s)" in checked.output
    assert formatted.exit_code == 0, formatted.output


def test_a_byte_order_mark_is_not_a_syntax_error(project) -> None:
    (project.root / "policies" / "shop.policy").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    result = project("check")
    assert result.exit_code == 0, result.output


BAD_CONSUMERS = {
    "consumers: 5\n": "bad.yaml:1:1: error: 'consumers' must be a list of {id, groups, attributes}",
    "attributes: {region: {type: string, values: 5}}\n":
        "bad.yaml:1:37: error: 'values' of attribute 'region' must be a list of values",
    "consumers:\n  - id: x\n    attributes: [1]\n":
        "bad.yaml:3:5: error: 'attributes' of consumer 'x' must map attribute names to values",
    "consumers:\n  - id: x\n    groups: 5\n": "bad.yaml:3:5: error: 'groups' of consumer 'x' must be a list of group names",
    "attributes: {x: [a]}\n": "bad.yaml:1:14: error: attribute 'x' has unknown type ['a'] (expected one of boolean, "
                              "date, integer, list, number, string, timestamp)",
}


@pytest.mark.parametrize("text", list(BAD_CONSUMERS), ids=range(len(BAD_CONSUMERS)))
def test_check_a_malformed_consumers_file_is_one_located_line(project, text: str) -> None:
    (project.root / "bad.yaml").write_text(text, encoding="utf-8")
    result = project("check", "--consumers", "bad.yaml", files={"shop.policy": GOOD})
    assert result.exit_code == 1
    assert result.output.strip() == BAD_CONSUMERS[text]


def test_check_json_when_the_consumers_file_is_broken(project) -> None:
    (project.root / "bad.yaml").write_text("consumers:\n  - id: x\n    groups: 5\n", encoding="utf-8")
    result = project("check", "--format", "json", "--consumers", "bad.yaml", files={"shop.policy": GOOD})
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["errors"] == 1
    (d,) = doc["diagnostics"]
    assert d["code"] == "consumers" and d["location"] == "bad.yaml:3:5"
    assert d["message"] == "'groups' of consumer 'x' must be a list of group names"


def test_check_missing_option_paths_are_usage_errors(project) -> None:
    files = {"shop.policy": GOOD}
    for option in ("--catalog", "--consumers", "--taxonomy"):
        result = project("check", option, "no-such-path", files=files)
        assert result.exit_code == 2, (option, result.output)
        assert "no-such-path: error: no such file or folder" in result.output


def test_check_summary_counts_rules_with_errors_too(project) -> None:
    result = project("check", files={"shop.policy": UNKNOWN_COLUMN + "allow read shop.customers to everyone;\n"})
    assert result.exit_code == 1
    assert "checked 2 rules in 1 files against 3 products: 1 error(s), 1 warning(s)" in result.output


def test_check_warns_about_hash_masks_without_a_key(monkeypatch) -> None:
    from policyengine.cli import app as cli

    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.delenv("POLICYENGINE_HASH_KEY", raising=False)
    unkeyed = CliRunner().invoke(cli, ["check"])
    assert unkeyed.exit_code == 0 and "no HMAC key is set" in unkeyed.output
    monkeypatch.setenv("POLICYENGINE_HASH_KEY", "k")
    keyed = CliRunner().invoke(cli, ["check"])
    assert keyed.exit_code == 0 and "no HMAC key" not in keyed.output


def test_one_mistake_through_a_glob_is_reported_once(tmp_path: Path) -> None:
    from policyengine.cli import app as cli

    root = Path(__file__).resolve().parents[2]
    (tmp_path / "p.policy").write_text("scope platform\nfilter sales.* rows where region == consumer.regoin "
                                       "to everyone;\n", encoding="utf-8")
    config = tmp_path / "policyengine.yaml"  # not the repository's: its ownership map does not cover tmp_path
    config.write_text("policies: .\n", encoding="utf-8")
    out = CliRunner().invoke(cli, ["check", str(tmp_path), "--catalog", str(root / "examples/mesh/products"),
                                   "--consumers", str(root / "examples/mesh/consumers.yaml"), "--config", str(config)])
    assert out.exit_code == 1 and "1 error(s)" in out.output
