"""More PostgreSQL clients through the gateway, each as it speaks the protocol: asyncpg (binary
format, prepared statements with parameters typed by the server's ParameterDescription), pg8000
(extended query, text), the ADBC PostgreSQL driver (COPY … TO STDOUT (FORMAT binary) into Arrow).
Each sees exactly `Gateway.query`'s cells for bob and carol; the leak corpus is sent by asyncpg
and pg8000; parameters carrying raw hidden values are no oracle."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "enforce" / "leak_corpus"))

from leak_attacks import ATTACKS, Attack  # noqa: E402
from test_leak_corpus import _leaks, engine, hidden  # noqa: E402,F401 (module fixtures reused)

from policyengine.enforce.bound import placehold  # noqa: E402
from policyengine.enforce.gateway import GatewayError  # noqa: E402
from policyengine.wire.server import split_statements  # noqa: E402
from tests.wire.test_wire_clients import CUSTOMERS, ORDERS, expected, normalise  # noqa: E402
from tests.wire.test_wire_leaks import answered_by_the_server  # noqa: E402

asyncpg = pytest.importorskip("asyncpg", reason="asyncpg is in the dev extra (pip install -e '.[dev]')")
pg8000 = pytest.importorskip("pg8000.native", reason="pg8000 is in the dev extra")

QUERIES = [ORDERS, CUSTOMERS, "SELECT region, count(*) AS n, sum(amount) AS total, "
           "CAST(avg(amount) AS DECIMAL(12, 3)) AS mean FROM sales.orders GROUP BY region ORDER BY region"]


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _asyncpg(port: int, who: str, work):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user=who, database="mesh", ssl=False, timeout=10)
    try:
        return await work(conn)
    finally:
        await conn.close()


def _tuples(records) -> list[tuple]:
    return [tuple(r.values()) for r in records]


# ---------------------------------------------------------------- asyncpg


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_asyncpg_binary_rows_are_the_gateways_cells(wire, wire_gateway, sql: str, who: str) -> None:
    rows = _run(_asyncpg(wire.port, who, lambda c: c.fetch(sql)))
    assert rows and normalise(_tuples(rows)) == normalise(expected(wire_gateway, sql, who))


def test_asyncpg_prepared_statement_with_typed_parameters(wire, wire_gateway) -> None:
    sql = ("SELECT order_id, customer_email, amount, created_at FROM sales.orders "
           "WHERE amount > $1 AND created_at >= $2 AND region = $3 ORDER BY order_id LIMIT $4")

    async def work(conn):
        statement = await conn.prepare(sql)
        types = [t.name for t in statement.get_parameters()]
        first = await statement.fetch(100.0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "uk", 10)
        again = await statement.fetch(50.0, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "uk", 3)
        return types, first, again

    types, first, again = _run(_asyncpg(wire.port, "bob", work))
    assert types == ["float8", "timestamptz", "text", "int8"]
    inline = ("SELECT order_id, customer_email, amount, created_at FROM sales.orders WHERE amount > 100.0 "
              "AND created_at >= TIMESTAMPTZ '2026-01-01 00:00:00+00' AND region = 'uk' ORDER BY order_id LIMIT 10")
    assert first and normalise(_tuples(first)) == normalise(expected(wire_gateway, inline))
    assert len(again) == 3


def test_asyncpg_sql_in_a_parameter_is_a_value(wire) -> None:
    value = "x' UNION SELECT margin::VARCHAR FROM sales.orders --"
    rows = _run(_asyncpg(wire.port, "bob", lambda c: c.fetch(
        "SELECT region FROM sales.orders WHERE region = $1 OR customer_email = $1", value)))
    assert rows == []


def test_a_raw_value_as_a_parameter_is_no_oracle(wire, hidden) -> None:  # noqa: F811
    """bob sees e-mails masked: comparing with the raw address must match nothing (it would
    confirm a guess otherwise), whatever client binds it."""
    emails = sorted(h for h in hidden if "@" in h and " " not in h)[:10]
    assert emails

    async def work(conn):
        statement = await conn.prepare("SELECT count(*) FROM sales.orders WHERE customer_email = $1")
        return [await statement.fetchval(e) for e in emails]

    assert _run(_asyncpg(wire.port, "bob", work)) == [0] * len(emails)


def test_asyncpg_refusal_carries_the_sqlstate(wire) -> None:
    async def work(conn):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="margin-for-leads-and-finance"):
            await conn.fetch("SELECT margin FROM sales.orders WHERE amount > $1", 1)
        return await conn.fetchval("SELECT count(*) FROM sales.orders")

    assert _run(_asyncpg(wire.port, "bob", work)) > 0


# ---------------------------------------------------------------- pg8000


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_pg8000_rows_are_the_gateways_cells(wire, wire_gateway, sql: str, who: str) -> None:
    conn = pg8000.Connection(who, host="127.0.0.1", port=wire.port, database="mesh", timeout=30)
    try:
        rows = [tuple(r) for r in conn.run(sql)]
    finally:
        conn.close()
    assert rows and normalise(rows) == normalise(expected(wire_gateway, sql, who))


def test_pg8000_parameters(wire, wire_gateway) -> None:
    conn = pg8000.Connection("bob", host="127.0.0.1", port=wire.port, database="mesh", timeout=30)
    try:
        rows = [tuple(r) for r in conn.run("SELECT order_id, amount FROM sales.orders WHERE amount > :a "
                                            "AND region = :r ORDER BY order_id", a=100, r="uk")]
        assert conn.run("SELECT :v AS v FROM sales.orders LIMIT 1", v="'; SELECT margin --") == \
            [["'; SELECT margin --"]]
    finally:
        conn.close()
    want = expected(wire_gateway, "SELECT order_id, amount FROM sales.orders WHERE amount > 100 AND region = 'uk' "
                                  "ORDER BY order_id")
    assert rows and rows == want


# ---------------------------------------------------------------- the leak corpus, per client


def _library(wire_gateway, sql: str):
    try:
        table = wire_gateway.query(sql, wire_gateway.engine.consumers.get("bob"))
    except GatewayError:
        return None
    return [tuple(r.values()) for r in table.to_pylist()]


def _check(attack: Attack, rows, error, wire_gateway, hidden) -> None:  # noqa: F811
    if error is not None:
        assert not _leaks([str(error)], hidden), f"the error quotes hidden values: {error}"
    assert not _leaks([str(v) for row in rows or [] for v in row if v is not None], hidden)
    if len(split_statements(attack.sql)) != 1 or answered_by_the_server(attack.sql):
        return
    want = _library(wire_gateway, attack.sql)
    if want is None:
        assert error is not None, "the library refuses it, the wire ran it"
    else:
        assert error is None, f"the library runs it, the wire refused it: {error}"
        assert sorted(rows, key=repr) == sorted(want, key=repr)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.klass}:{a.sql[:50]}")
def test_leak_corpus_with_asyncpg(attack: Attack, wire, wire_gateway, hidden) -> None:  # noqa: F811
    single = len(split_statements(attack.sql)) == 1
    needed = placehold(attack.sql).count
    if needed:  # asyncpg binds a value to each $n: the rows hold exactly that value, never the key
        rows = _run(_asyncpg(wire.port, "bob", lambda c: c.fetch(attack.sql, *["probe"] * needed)))
        assert rows and {v for row in _tuples(rows) for v in row} == {"probe"}
        return

    async def work(conn):
        try:  # asyncpg prepares a statement (binary results); several statements go as a simple query
            return (_tuples(await conn.fetch(attack.sql)) if single else await conn.execute(attack.sql)), None
        except asyncpg.PostgresError as exc:
            return None, exc

    rows, error = _run(_asyncpg(wire.port, "bob", work))
    _check(attack, rows if single else [], error, wire_gateway, hidden)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.klass}:{a.sql[:50]}")
def test_leak_corpus_with_pg8000(attack: Attack, wire, wire_gateway, hidden) -> None:  # noqa: F811
    conn = pg8000.Connection("bob", host="127.0.0.1", port=wire.port, database="mesh", timeout=30)
    rows, error = None, None
    try:
        rows = [tuple(r) for r in conn.run(attack.sql)]
    except pg8000.DatabaseError as exc:
        error = exc
    except pg8000.InterfaceError as exc:  # the client itself refused the text (e.g. a :name it reads as a parameter)
        pytest.skip(f"pg8000 does not send this text: {type(exc).__name__}")
    finally:
        conn.close()
    _check(attack, rows, error, wire_gateway, hidden)


# ---------------------------------------------------------------- ADBC


def test_adbc_reads_arrow_through_copy_binary(wire, wire_gateway, monkeypatch) -> None:
    """ADBC's PostgreSQL driver: the schema from a prepared statement's description, the rows via
    COPY (…) TO STDOUT (FORMAT binary), bound parameters, as Arrow tables equal to the gateway's."""
    dbapi = pytest.importorskip("adbc_driver_postgresql.dbapi", reason="adbc-driver-postgresql is in the dev extra")
    from policyengine.wire import server as wire_server

    copies: list[str] = []
    real_copy = wire_server._Connection._copy

    async def copy(self, sql):
        copies.append(sql)
        return await real_copy(self, sql)

    monkeypatch.setattr(wire_server._Connection, "_copy", copy)
    # on connect the driver reads pg_type and pg_attribute: answered from bob's catalog (introspection.py)
    conn = dbapi.connect(f"postgresql://bob@127.0.0.1:{wire.port}/mesh")
    sql = "SELECT order_id, customer_email, amount, created_at, shipped_on FROM sales.orders ORDER BY order_id"
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            table = cur.fetch_arrow_table()
            cur.execute("SELECT order_id, amount FROM sales.orders WHERE amount > $1 ORDER BY order_id",
                        parameters=(100.0,))
            bound = cur.fetch_arrow_table()
            with pytest.raises(dbapi.Error) as refused:
                cur.execute("SELECT margin FROM sales.orders")
                cur.fetch_arrow_table()
    finally:
        conn.close()
    assert "margin-for-leads-and-finance" in str(refused.value)
    assert any("(FORMAT binary)" in c or "format binary" in c.lower() for c in copies), copies
    got = [tuple(r.values()) for r in table.to_pylist()]
    assert got and normalise(got) == normalise(expected(wire_gateway, sql))
    assert [tuple(r.values()) for r in bound.to_pylist()] == expected(
        wire_gateway, "SELECT order_id, amount FROM sales.orders WHERE amount > 100.0 ORDER BY order_id")
