"""`policyengine consumers sync` from SCIM 2.0 Users and Groups (Okta / Entra ID export shape):
groups and attributes mapped through configuration, inactive and absent users removed, unmapped
directory groups dropped, the result a reviewable change of the consumers file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from policyengine.catalog.consumers import load_directory
from policyengine.cli import app

SCIM = Path(__file__).parent / "fixtures" / "scim"

CONSUMERS = """\
attributes:
  region: {type: string, values: [eu, uk, us]}
  employee_number: {type: integer}
consumers:
  - id: ana@example.com
    groups: [analysts]
    attributes: {region: eu, employee_number: 4711}
    approved: GOV-1
  - id: leaver@example.com
    groups: [analysts]
  - id: old@example.com
    groups: [privacy-office]
"""


def _run(folder: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    (tmp_path / "policies").mkdir()
    (tmp_path / "products").mkdir()
    (tmp_path / "consumers.yaml").write_text(CONSUMERS, "utf-8")
    (tmp_path / "policyengine.yaml").write_text("policies: policies/\ncatalog: products/\nconsumers: consumers.yaml\n",
                                                "utf-8")
    for name in ("users.json", "groups.json", "mapping.yaml"):
        shutil.copy(SCIM / name, tmp_path / name)
    return tmp_path


ARGS = ("consumers", "sync", "--scim-users", "users.json", "--scim-groups", "groups.json", "--mapping", "mapping.yaml")


def test_sync_maps_groups_and_attributes_and_removes_leavers(repo: Path) -> None:
    result = _run(repo, *ARGS)
    assert result.exit_code == 0, result.output
    directory = load_directory(repo / "consumers.yaml")  # what every command reads: it loads
    assert sorted(directory.consumers) == ["ana@example.com", "carl@example.com", "priya@example.com"]
    ana, priya, carl = (directory.consumers[i] for i in ("ana@example.com", "priya@example.com", "carl@example.com"))
    assert ana.groups == frozenset({"analysts"}) and dict(ana.attributes) == {"region": "eu", "employee_number": 4711}
    assert priya.groups == frozenset({"privacy-office"})  # from the Groups document; "All Staff" is not mapped
    assert dict(priya.attributes) == {"region": "uk", "employee_number": 12}  # text "12" typed by the schema
    assert carl.groups == frozenset() and "employee_number" not in carl.attributes
    assert directory.approvals.get("ana@example.com") == "GOV-1"  # unchanged entry keeps its approval
    assert directory.schema is not None and directory.schema.type_of("region") == "string"  # schema kept
    assert "2 added, 2 removed, 0 changed" in result.output
    assert "removed: leaver@example.com, old@example.com" in result.output
    assert "employee_number" in result.output and "not-a-number" not in result.output  # the warning, no value


def test_check_prints_the_change_and_writes_nothing(repo: Path) -> None:
    before = (repo / "consumers.yaml").read_text("utf-8")
    result = _run(repo, *ARGS, "--check")
    assert result.exit_code == 1
    assert "-  - id: leaver@example.com" in result.output or "-- id: leaver@example.com" in result.output
    assert (repo / "consumers.yaml").read_text("utf-8") == before
    assert _run(repo, *ARGS).exit_code == 0
    again = _run(repo, *ARGS, "--check")
    assert again.exit_code == 0 and "up to date" in again.output


def test_removed_keep_keeps_users_the_directory_no_longer_has(repo: Path) -> None:
    mapping = repo / "mapping.yaml"
    mapping.write_text(mapping.read_text("utf-8").replace("removed: drop", "removed: keep"), "utf-8")
    assert _run(repo, *ARGS).exit_code == 0
    directory = load_directory(repo / "consumers.yaml")
    assert {"leaver@example.com", "old@example.com"} <= set(directory.consumers)


def test_a_changed_entry_loses_its_old_approval(repo: Path) -> None:
    users = repo / "users.json"
    users.write_text(users.read_text("utf-8").replace('"country": "eu"', '"country": "us"'), "utf-8")
    result = _run(repo, *ARGS)
    assert "changed: ana@example.com" in result.output
    assert "ana@example.com" not in load_directory(repo / "consumers.yaml").approvals


@pytest.mark.parametrize(("name", "text", "message"), [
    ("mapping.yaml", "id: userName\ngroupz: {}\n", "mapping.yaml:2:1: error: unknown key 'groupz' in the sync mapping"),
    ("mapping.yaml", "removed: purge\n", "mapping.yaml:1:1: error: 'removed' must be drop or keep"),
    ("users.json", "{not json", "users.json: error: not a SCIM JSON document (JSONDecodeError)"),
])
def test_bad_input_is_one_located_line_exit_2(repo: Path, name: str, text: str, message: str) -> None:
    (repo / name).write_text(text, "utf-8")
    result = _run(repo, *ARGS)
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_output_elsewhere_keeps_the_configured_files_schema(repo: Path) -> None:
    out = repo / "synced.yaml"
    assert _run(repo, *ARGS, "--output", "synced.yaml").exit_code == 0
    data = yaml.safe_load(out.read_text("utf-8"))
    assert set(data) == {"attributes", "consumers"}
    assert out.read_text("utf-8").startswith("# Generated by `policyengine consumers sync`")
