"""The installed `policyengine` command offers every command the README documents."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

COMMANDS = ("check", "fmt", "eval", "test", "scan", "query")


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_registered(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output

