"""Server-side cursors: psycopg's named cursors (DECLARE … CURSOR FOR, FETCH FORWARD n, CLOSE, the
cursor described as a portal), DECLARE/FETCH/MOVE/CLOSE in SQL, their life inside a transaction,
and the SELECT enforced like any query (a denied column is refused at DECLARE)."""

from __future__ import annotations

import psycopg
import pytest

from tests.wire.test_wire_clients import ORDERS, expected, normalise


@pytest.mark.parametrize("binary", [False, True])
def test_psycopg_named_cursor(wire, wire_gateway, binary: bool) -> None:
    with psycopg.connect(wire.dsn()) as conn:  # a transaction: DECLARE needs one
        cur = conn.cursor("orders", binary=binary)
        cur.itersize = 7
        cur.execute(ORDERS)
        assert [d.name for d in cur.description] == ["customer_email", "card_number", "region", "amount"]
        first = cur.fetchmany(5)
        rest = cur.fetchall()
        cur.close()
    assert normalise(first + rest) == normalise(expected(wire_gateway, ORDERS)) and len(first) == 5


def test_psycopg_named_cursor_with_parameters(wire, wire_gateway) -> None:
    with psycopg.connect(wire.dsn()) as conn, conn.cursor("big") as cur:
        cur.execute("SELECT order_id, amount FROM sales.orders WHERE amount > %s ORDER BY order_id", [100])
        rows = list(cur)
    want = expected(wire_gateway, "SELECT order_id, amount FROM sales.orders WHERE amount > 100 ORDER BY order_id")
    assert rows and rows == want


def test_declare_fetch_move_close_in_sql(wire, wire_gateway) -> None:
    want = expected(wire_gateway, "SELECT order_id FROM sales.orders ORDER BY order_id")
    with psycopg.connect(wire.dsn()) as conn:
        conn.execute("DECLARE c NO SCROLL CURSOR FOR SELECT order_id FROM sales.orders ORDER BY order_id")
        assert conn.execute("FETCH 2 FROM c").fetchall() == want[:2]
        assert conn.execute("MOVE FORWARD 3 IN c").statusmessage == "MOVE 3"
        assert conn.execute("FETCH NEXT FROM c").fetchall() == want[5:6]
        assert conn.execute("FETCH ALL FROM c").fetchall() == want[6:]
        assert conn.execute("FETCH c").fetchall() == []
        conn.execute("CLOSE c")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH c")


def test_cursors_end_with_the_transaction_unless_held(wire, wire_gateway) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.NoActiveSqlTransaction):
            conn.execute("DECLARE c CURSOR FOR SELECT order_id FROM sales.orders")
        conn.execute("DECLARE held CURSOR WITH HOLD FOR SELECT order_id FROM sales.orders ORDER BY order_id")
        conn.execute("BEGIN")
        conn.execute("DECLARE c CURSOR FOR SELECT order_id FROM sales.orders")
        conn.execute("COMMIT")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH c")
        assert conn.execute("FETCH 1 FROM held").fetchall() == expected(
            wire_gateway, "SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 1")
        conn.execute("CLOSE ALL")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH held")


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("DECLARE c CURSOR FOR SELECT margin FROM sales.orders", "42501"),          # enforced at DECLARE
    ("DECLARE c CURSOR FOR DELETE FROM sales.orders", "42601"),
    ("DECLARE c SCROLL CURSOR FOR SELECT region FROM sales.orders", "0A000"),
    ("DECLARE c BINARY CURSOR FOR SELECT region FROM sales.orders", "0A000"),
    ("DECLARE c CURSOR FOR SELECT * FROM pe_raw.\"sales.orders\"", "42P01"),
])
def test_declare_refusals(wire, sql: str, sqlstate: str) -> None:
    with psycopg.connect(wire.dsn()) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate, str(info.value)


def test_backward_fetch_refused(wire) -> None:
    with psycopg.connect(wire.dsn()) as conn:
        conn.execute("DECLARE c CURSOR FOR SELECT order_id FROM sales.orders")
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("FETCH PRIOR FROM c")
