"""The installed `policyengine` command offers every command the README documents."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

COMMANDS = ("check", "fmt", "eval", "test", "scan", "query", "codeowners", "coverage", "diff")


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_registered(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output



def test_readme_enforce_call_works_after_to_sql() -> None:
    """README order: policyengine.to_sql(d, ...) imports the enforce subpackage, then policyengine.enforce(table, d)."""
    from pathlib import Path

    import pyarrow.parquet as pq

    import policyengine

    root = Path(__file__).resolve().parent.parent
    engine = policyengine.load(root / "policies", catalog=root / "examples/mesh/products",
                               consumers=root / "examples/mesh/consumers.yaml")
    d = engine.evaluate({"id": "bob", "groups": ["sales-reps"], "attributes": {"region": "uk"}}, "sales.orders")
    assert "pe_src" in policyengine.to_sql(d, "warehouse.sales_orders", dialect="trino", allow_unkeyed_hash=True)
    table = pq.read_table(root / "examples/mesh/samples/sales.orders.parquet")
    masked = policyengine.enforce(table, d, allow_unkeyed_hash=True)
    assert 0 < masked.num_rows < table.num_rows and "margin" not in masked.column_names
