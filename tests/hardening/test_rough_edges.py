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
