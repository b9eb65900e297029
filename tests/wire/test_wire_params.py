"""Bound parameters and binary formats over the wire. A parameter is a value bound by the engine,
never text spliced into the query: SQL inside a parameter comes back as that string, a parameter
cannot name a column, a table or a function, and one standing where a value would mean something
else is refused. Binary results carry exactly the cells `Gateway.query` returns."""

from __future__ import annotations

import datetime as dt
import decimal
import struct

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyengine.enforce.bound import ParameterError, bind, placehold, sentinel
from policyengine.wire import binary
from policyengine.wire import messages as m
from tests.wire.conftest import error_code, frame, raw_login, read_messages
from tests.wire.test_wire_clients import CUSTOMERS, ORDERS, expected, normalise

SQL_IN_A_VALUE = ["margin FROM sales.orders --", "uk' OR '1'='1", "x'); SELECT margin FROM sales.orders; --",
                  "$1", "' || margin || '", "*/ margin /*"]


@pytest.fixture(scope="module")
def conn(wire):
    with psycopg.connect(wire.dsn(), autocommit=True) as connection:
        yield connection


@pytest.mark.parametrize("value", SQL_IN_A_VALUE)
def test_sql_in_a_parameter_is_a_value(conn, value: str) -> None:
    assert conn.execute("SELECT %s AS x FROM sales.orders LIMIT 1", [value]).fetchall() == [(value,)]
    # compared as a value: no row has it, and the filter is not widened (bob sees uk only)
    assert conn.execute("SELECT count(*) FROM sales.orders WHERE region = %s", [value]).fetchone() == (0,)


def test_a_parameter_cannot_widen_the_row_filter(conn, wire_gateway) -> None:
    bob_rows = conn.execute("SELECT region FROM sales.orders WHERE region = %s OR %s", ["us", True]).fetchall()
    assert bob_rows == expected(wire_gateway, "SELECT region FROM sales.orders WHERE region = 'us' OR true")
    assert {r for (r,) in bob_rows} == {"uk"}


@pytest.mark.parametrize(("sql", "value"), [
    ("SELECT %s FROM sales.orders LIMIT 1", "margin"),              # a column's name is only a string
    ("SELECT region FROM sales.orders ORDER BY %s LIMIT 3", 1),     # no positional ORDER BY
    ("SELECT region FROM sales.orders GROUP BY %s", 1),
    ("SELECT date_trunc(%s, created_at) FROM sales.orders", "month"),  # a unit word is not a value
    ("SELECT columns(%s) FROM sales.orders", "margin"),
    ("SELECT * FROM query_table(%s)", "sales.orders"),
    ("SELECT region FROM sales.orders WHERE region = %s::VARCHAR OR margin > %s", "uk"),
])
def test_a_parameter_cannot_change_what_is_read(conn, sql: str, value) -> None:
    params = [value] * sql.count("%s")
    try:
        rows = conn.execute(sql, params).fetchall()
    except psycopg.Error as exc:
        assert "@" not in str(exc) and exc.sqlstate not in (None, "XX000") or "engine" in str(exc)
        return
    assert rows == [("margin",)]  # the one statement here that runs: the parameter is a string


def test_parameters_bound_equal_inline(conn, wire_gateway) -> None:
    sql = ("SELECT order_id, customer_email, amount, created_at FROM sales.orders "
           "WHERE amount > %s AND created_at > %s AND shipped_on >= %s ORDER BY order_id LIMIT %s")
    params = [decimal.Decimal("100.5"), dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.date(2026, 1, 2), 5]
    inline = ("SELECT order_id, customer_email, amount, created_at FROM sales.orders WHERE amount > 100.5 AND "
              "created_at > TIMESTAMPTZ '2026-01-01 00:00:00+00' AND shipped_on >= DATE '2026-01-02' "
              "ORDER BY order_id LIMIT 5")
    want = normalise(expected(wire_gateway, inline))
    assert want and normalise(conn.execute(sql, params).fetchall()) == want
    assert normalise(conn.cursor(binary=True).execute(sql, params).fetchall()) == want


@pytest.mark.parametrize("sql", [ORDERS, CUSTOMERS, "SELECT region, count(*) AS n, sum(amount) AS s, "
                                 "avg(amount)::DECIMAL(12,3) AS d FROM sales.orders GROUP BY region ORDER BY region"])
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_binary_results_are_the_gateways_cells(wire, wire_gateway, sql: str, who: str) -> None:
    with psycopg.connect(wire.dsn(who), autocommit=True) as conn:
        rows = conn.cursor(binary=True).execute(sql).fetchall()
    assert rows and normalise(rows) == normalise(expected(wire_gateway, sql, who))


def test_per_column_result_formats(wire) -> None:
    """Bind with one format code per column: RowDescription and DataRow follow each."""
    sock = raw_login(wire.port)
    sql = b"SELECT order_id, amount FROM sales.orders ORDER BY order_id LIMIT 1\x00"
    bind_body = b"\x00\x00" + struct.pack("!hh", 0, 0) + struct.pack("!hhh", 2, 0, 1)
    sock.sendall(frame(b"P", b"\x00" + sql + b"\x00\x00") + frame(b"B", bind_body)
                 + frame(b"D", b"P\x00") + frame(b"E", b"\x00\x00\x00\x00\x00") + frame(b"S"))
    messages = read_messages(sock)
    assert [k for k, _ in messages] == [b"1", b"2", b"T", b"D", b"C", b"Z"]
    described = messages[2][1]
    assert described.endswith(struct.pack("!h", 1))  # the last column's format code: binary
    row = messages[3][1]
    (n, first_len) = struct.unpack_from("!hi", row)
    first = row[6:6 + first_len]
    (second_len,) = struct.unpack_from("!i", row, 6 + first_len)
    assert n == 2 and first.startswith(b"ORD-") and second_len == 8  # text, then a float8
    sock.close()


@pytest.mark.parametrize(("bind_body", "sqlstate"), [
    # one parameter the statement needs, none given
    (b"\x00\x00" + struct.pack("!hhh", 0, 0, 0), "08P01"),
    # an int8 in binary that is 3 bytes long
    (b"\x00\x00" + struct.pack("!hhhi", 1, 1, 1, 3) + b"\x00\x00\x01" + struct.pack("!h", 0), "22P02"),
    # result format code 7
    (b"\x00\x00" + struct.pack("!hhi", 0, 1, 1) + b"1" + struct.pack("!hh", 1, 7), "08P01"),
    # three result formats for two columns
    (b"\x00\x00" + struct.pack("!hhi", 0, 1, 1) + b"1" + struct.pack("!hhhh", 3, 0, 0, 0), "08P01"),
])
def test_bad_bind_is_an_error_and_the_connection_lives(wire, bind_body: bytes, sqlstate: str) -> None:
    sock = raw_login(wire.port)
    parse = b"\x00SELECT order_id, amount FROM sales.orders LIMIT $1\x00" + struct.pack("!hi", 1, 20)
    sock.sendall(frame(b"P", parse) + frame(b"B", bind_body) + frame(b"E", b"\x00\x00\x00\x00\x00") + frame(b"S"))
    messages = read_messages(sock)
    kinds = [k for k, _ in messages]
    assert kinds[-2:] == [b"E", b"Z"] and b"D" not in kinds, kinds
    assert error_code(messages[-2][1]) == sqlstate
    sock.sendall(frame(b"Q", b"SELECT count(*) FROM sales.orders\x00"))
    assert [k for k, _ in read_messages(sock)] == [b"T", b"D", b"C", b"Z"]
    sock.close()


def test_declared_but_unused_parameters(wire) -> None:
    """PostgreSQL accepts a Parse declaring more parameters than the text uses; Bind then gives
    them all (the extra ones are not passed to the engine)."""
    sock = raw_login(wire.port)
    parse = b"\x00SELECT count(*) FROM sales.orders WHERE region = $1\x00" + struct.pack("!hii", 2, 25, 25)
    bind_body = b"\x00\x00" + struct.pack("!hhi", 0, 2, 2) + b"uk" + struct.pack("!i", 1) + b"x" + b"\x00\x00"
    sock.sendall(frame(b"P", parse) + frame(b"B", bind_body) + frame(b"E", b"\x00\x00\x00\x00\x00") + frame(b"S"))
    assert [k for k, _ in read_messages(sock)] == [b"1", b"2", b"D", b"C", b"Z"]
    sock.close()


def test_described_parameter_types(wire) -> None:
    sock = raw_login(wire.port)
    sql = (b"SELECT order_id FROM sales.orders WHERE amount > $1 AND region = $2 AND shipped_on < $3 "
           b"LIMIT $4 OFFSET $5::INTEGER\x00")
    sock.sendall(frame(b"P", b"s1\x00" + sql + b"\x00\x00") + frame(b"D", b"Ss1\x00") + frame(b"S"))
    messages = read_messages(sock)
    assert [k for k, _ in messages] == [b"1", b"t", b"T", b"Z"]
    body = messages[1][1]
    (count,) = struct.unpack_from("!h", body)
    assert struct.unpack_from(f"!{count}i", body, 2) == (m.OID_FLOAT8, m.OID_TEXT, m.OID_DATE, m.OID_INT8,
                                                         m.OID_INT4)
    sock.close()


# ---------------------------------------------------------------- the pieces


def test_placehold_only_real_parameters() -> None:
    held = placehold("SELECT '$1', \"$2\" -- $3\n, $1, $10 /* $4 */ FROM t WHERE a = $1")
    assert dict(held.uses) == {1: 2, 10: 1} and held.count == 10
    assert "'$1'" in held.text and "-- $3" in held.text and held.text.count(f"'{sentinel(1)}'") == 2


def test_bind_refuses_moved_or_copied_sentinels() -> None:
    held = placehold("SELECT $1 FROM t")
    text, params = bind(f"SELECT '{sentinel(1)}' FROM x", held, ["v"])
    assert text == "SELECT $pe_arg_1 FROM x" and params == {"pe_arg_1": "v"}
    for rewritten in [f"SELECT '{sentinel(1)}', '{sentinel(1)}' FROM x", "SELECT 1 FROM x",
                      f"SELECT '{sentinel(2)}' FROM x", f"SELECT '{sentinel(1).upper()}' FROM x"]:
        with pytest.raises(ParameterError):
            bind(rewritten, held, ["v"])
    with pytest.raises(ParameterError):
        bind(f"SELECT '{sentinel(1)}' FROM x", held, [])


@settings(deadline=None)  # a shared 2-core machine: no timing in unit properties
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None, min_value=-10**30, max_value=10**30))
def test_numeric_binary_round_trip(value: decimal.Decimal) -> None:
    back = binary.decode_numeric(binary.encode_numeric(value))
    assert back == value and back.as_tuple().exponent == min(0, value.as_tuple().exponent) or value == 0


@pytest.mark.parametrize(("text", "groups"), [("0", ()), ("1", (1,)), ("10000", (1,)), ("0.0001", (1,)),
                                                ("-12345.678", (1, 2345, 6780)), ("1.5", (1, 5000))])
def test_numeric_binary_layout(text: str, groups: tuple[int, ...]) -> None:
    raw = binary.encode_numeric(decimal.Decimal(text))
    count = struct.unpack_from("!h", raw)[0]
    assert struct.unpack_from(f"!{count}H", raw, 8) == groups


@settings(deadline=None)
@given(st.binary(max_size=40), st.sampled_from(sorted(binary._DECODERS)), st.booleans())
def test_parameter_decoding_never_raises_anything_else(raw: bytes, oid: int, as_binary: bool) -> None:
    try:
        binary.parameter_value(raw, oid, as_binary)
    except binary.ValueProblem as exc:
        assert "not shown" in str(exc) or exc.sqlstate == "0A000"


TYPED = ("SELECT CAST(-3 AS SMALLINT) AS i2, CAST(-70000 AS INTEGER) AS i4, CAST(-5000000000 AS BIGINT) AS i8, "
         "CAST(1.5 AS REAL) AS f4, CAST(-2.25 AS DOUBLE) AS f8, CAST(-12345.678 AS DECIMAL(12,3)) AS num, "
         "CAST(0 AS DECIMAL(5,2)) AS zero, true AS b, CAST('1999-12-31' AS DATE) AS d, "
         "CAST('1970-01-01 00:00:01.5' AS TIMESTAMP) AS ts, CAST('2030-06-01 12:00:00+02' AS TIMESTAMPTZ) AS tstz, "
         "CAST('12:34:56.789' AS TIME) AS t, 'tëxt' AS s, NULL AS n, CAST(NULL AS INTEGER) AS ni "
         "FROM sales.orders LIMIT 1")


def test_every_type_reads_the_same_in_binary_and_text(conn, wire_gateway) -> None:
    text = conn.execute(TYPED).fetchall()
    assert conn.cursor(binary=True).execute(TYPED).fetchall() == text
    assert normalise(text) == normalise(expected(wire_gateway, TYPED))


@pytest.mark.parametrize(("value", "oid", "raw"), [
    (b"\x00\xff", m.OID_BYTEA, b"\x00\xff"), (True, m.OID_BOOL, b"\x01"), (dt.date(2000, 1, 2), m.OID_DATE,
                                                                          struct.pack("!i", 1)),
    (dt.datetime(1999, 12, 31, 23, 59, 59), m.OID_TIMESTAMP, struct.pack("!q", -1_000_000)),
    (decimal.Decimal("NaN"), m.OID_NUMERIC, struct.pack("!hhHh", 0, 0, 0xC000, 0)),
])
def test_binary_values(value, oid: int, raw: bytes) -> None:
    assert binary.binary_value(value, oid) == raw
    assert binary.parameter_value(raw, oid, True) == value or oid == m.OID_NUMERIC


def test_binary_uuid_and_jsonb_parameters() -> None:
    import uuid

    u = uuid.uuid4()
    assert binary.parameter_value(u.bytes, binary.OID_UUID, True) == str(u)
    assert binary.parameter_value(b"\x01{}", binary.OID_JSONB, True) == "{}"
    with pytest.raises(binary.ValueProblem):
        binary.parameter_value(b"\x02{}", binary.OID_JSONB, True)
    with pytest.raises(binary.ValueProblem):
        binary.parameter_value(b"short", binary.OID_UUID, True)
