"""`policyengine init`: a new mesh repository whose gates pass straight away, that never
overwrites, and whose YAML files validate against the schemas they reference."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from policyengine.cli import app


def _run(folder: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path / "cache"))
    result = _run(tmp_path, "init", "repo")
    assert result.exit_code == 0, result.output
    return tmp_path / "repo"


def test_the_gates_pass_in_a_new_mesh_repository(mesh: Path) -> None:
    check = _run(mesh, "check", "--strict")
    assert check.exit_code == 0, check.output
    assert "0 error(s), 0 warning(s)" in check.output
    tested = _run(mesh, "test", "--require-coverage")
    assert tested.exit_code == 0, tested.output
    assert "3 passed, 0 failed" in tested.output
    scanned = _run(mesh, "scan", "--format", "json", "--output", "scan.json")
    assert scanned.exit_code == 0, scanned.output
    report = json.loads((mesh / "scan.json").read_text("utf-8"))
    assert [f["tag"] for f in report["findings"]] == ["pii.email"]  # declared: the gate is green for a reason
    covered = _run(mesh, "coverage", "--scan", "scan.json")
    assert covered.exit_code == 0, covered.output
    assert covered.output.startswith("0 gap(s) in 1 sensitive column(s)")
    assert _run(mesh, "fmt", "--check").exit_code == 0
    assert _run(mesh, "codeowners", "--check").exit_code in (0, 1)  # runs: the map is valid


def test_removing_the_guardrail_fails_the_coverage_gate(mesh: Path) -> None:
    platform = mesh / "policies" / "platform.policy"
    platform.write_text("scope platform\n", "utf-8")
    assert _run(mesh, "coverage").exit_code == 1


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "repo"
    (target / "policies").mkdir(parents=True)
    (target / "policies" / "shop.policy").write_text("# mine\n", "utf-8")
    result = _run(tmp_path, "init", "repo")
    assert result.exit_code == 2
    assert "would overwrite policies/shop.policy; nothing written" in result.output
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == ["policies", "policies/shop.policy"]
    assert (target / "policies" / "shop.policy").read_text("utf-8") == "# mine\n"


@pytest.mark.parametrize("document", ["policyengine.yaml", "consumers.yaml", "policies/tests/shop.yaml"])
def test_generated_files_reference_and_satisfy_their_schema(mesh: Path, document: str) -> None:
    path = mesh / document
    first = path.read_text("utf-8").splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    schema_path = (path.parent / first.split("$schema=", 1)[1]).resolve()
    assert schema_path.is_file()
    schema = json.loads(schema_path.read_text("utf-8"))
    data = yaml.safe_load(path.read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)
