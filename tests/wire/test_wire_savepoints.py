"""SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT over the gateway's read-only snapshot,
with PostgreSQL's rules: psycopg's nested `conn.transaction()` blocks, unknown names (3B001),
outside a block (25P01), a failed block (25P02) cleared by ROLLBACK TO, cursors declared after a
savepoint closed by ROLLBACK TO."""

from __future__ import annotations

import psycopg
import pytest

from policyengine.wire.server import parse_savepoint


@pytest.mark.parametrize(("text", "parsed"), [
    ("SAVEPOINT a", ("savepoint", "a")),
    ("savepoint \"_pg3_1\"", ("savepoint", "_pg3_1")),
    ("SAVEPOINT MixedCase", ("savepoint", "mixedcase")),
    ('SAVEPOINT "Mixed""Q"', ("savepoint", 'Mixed"Q')),
    ("RELEASE a", ("release", "a")),
    ("RELEASE SAVEPOINT a", ("release", "a")),
    ("ROLLBACK TO a", ("rollback", "a")),
    ("ROLLBACK TO SAVEPOINT a", ("rollback", "a")),
    ("rollback work to savepoint a", ("rollback", "a")),
    ("ABORT TRANSACTION TO a", ("rollback", "a")),
    ("ROLLBACK", None),
    ("ROLLBACK; DROP TABLE x", None),
    ("SAVEPOINT a; SELECT 1", None),
    ("RELEASE", None),
])
def test_parse(text: str, parsed) -> None:
    assert parse_savepoint(text) == parsed


def test_psycopg_nested_transactions(wire) -> None:
    with psycopg.connect(wire.dsn()) as conn:
        with conn.transaction():
            assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0
            with conn.transaction():  # SAVEPOINT, RELEASE
                conn.execute("SELECT region FROM sales.orders LIMIT 1").fetchall()
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute("SELECT margin FROM sales.orders")  # refused; ROLLBACK TO clears it
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
            assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _code(conn, sql: str) -> str | None:
    try:
        conn.execute(sql)
    except psycopg.Error as exc:
        return exc.sqlstate
    return None


def test_postgres_rules(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        assert _code(conn, "SAVEPOINT a") == "25P01"
        assert _code(conn, "RELEASE SAVEPOINT a") == "25P01"
        assert _code(conn, "ROLLBACK TO SAVEPOINT a") == "25P01"
        conn.execute("BEGIN")
        assert _code(conn, "RELEASE nope") == "3B001"
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        assert _code(conn, "ROLLBACK TO nope") == "3B001"  # still failed: no such savepoint
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT a")
        conn.execute("SAVEPOINT b")
        conn.execute("RELEASE a")  # forgets b too
        assert _code(conn, "ROLLBACK TO b") == "3B001"
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("SAVEPOINT a")
        assert _code(conn, "SELECT margin FROM sales.orders") == "42501"
        assert _code(conn, "SELECT 1 FROM sales.orders") == "25P02"
        assert _code(conn, "SAVEPOINT c") == "25P02"
        assert _code(conn, "RELEASE a") == "25P02"
        conn.execute("ROLLBACK TO SAVEPOINT a")
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0
        conn.execute("ROLLBACK TO a")  # kept after ROLLBACK TO
        conn.execute("COMMIT")
        assert _code(conn, "ROLLBACK TO a") == "25P01"
        conn.execute("BEGIN")
        assert _code(conn, "ROLLBACK TO a") == "3B001"  # forgotten at COMMIT
        conn.execute("ROLLBACK")


def test_rollback_to_closes_cursors_declared_after(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        conn.execute("BEGIN")
        conn.execute("DECLARE before CURSOR FOR SELECT region FROM sales.orders")
        conn.execute("SAVEPOINT s")
        conn.execute("DECLARE after CURSOR FOR SELECT region FROM sales.orders")
        conn.execute("ROLLBACK TO s")
        assert conn.execute("FETCH 1 FROM before").fetchall()
        assert _code(conn, "FETCH 1 FROM after") == "34000"
        conn.execute("ROLLBACK")
