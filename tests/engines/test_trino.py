"""A real Trino asking `policyengine serve` through its OPA access-control plugin.

The session fixture `trino_stack` (tests/engines/conftest.py, tests/engines/trino_server.py)
starts the pinned Trino with `access-control.name=opa` pointing at serve, the example mesh's seed
data (tests/engines/seed.py: sample heads plus hostile rows) in the memory catalog `lakehouse`,
users' groups from Trino's file group provider. Every result read through Trino is compared, cell
by cell, with what `policyengine.enforce()` returns for the same decision on the same rows.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.trino


def _rows(stack, user: str, sql: str, **kwargs) -> tuple[list[str], list[tuple]]:
    con = stack.connect(user, **kwargs)
    try:
        cur = con.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    finally:
        con.close()


def test_trino_asks_serve(trino_stack) -> None:
    """Smoke: a known consumer reads through Trino; serve answered the plugin's requests."""
    cols, rows = _rows(trino_stack, "bob", "SELECT order_id FROM lakehouse.sales.orders")
    assert cols == ["order_id"] and rows
    assert 'route="/v1/trino/allow"' in trino_stack.serve.metrics()
