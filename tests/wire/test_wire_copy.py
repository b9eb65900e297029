"""`COPY (SELECT …) TO STDOUT` is enforced exactly like the same SELECT (psycopg's `copy()` in
text, csv and binary; the rows equal `Gateway.query`'s cells); every other COPY is refused:
FROM, to a file or a program, of a table, and a denied column inside the SELECT. The leak
corpus is sent wrapped in COPY."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "enforce" / "leak_corpus"))

from leak_attacks import ATTACKS, Attack  # noqa: E402
from test_leak_corpus import _leaks, engine, hidden  # noqa: E402,F401 (module fixtures reused)

from policyengine.enforce.gateway import GatewayError  # noqa: E402
from policyengine.wire.copy import CopyRefused, parse_copy  # noqa: E402
from policyengine.wire.server import core_text, split_statements  # noqa: E402
from tests.wire.test_wire_clients import expected, normalise  # noqa: E402

SELECT = ("SELECT order_id, customer_email, card_number, amount, created_at, shipped_on FROM sales.orders "
          "ORDER BY order_id")


@pytest.fixture(scope="module")
def conn(wire):
    with psycopg.connect(wire.dsn(), autocommit=True) as connection:
        yield connection


def _copied(conn, sql: str) -> bytes:
    with conn.cursor().copy(sql) as copy:
        return b"".join(bytes(chunk) for chunk in copy)


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(sep=" ").removesuffix("+00:00") + "+00"
    return str(value)


def test_copy_text_is_the_selects_cells(conn, wire_gateway) -> None:
    want = expected(wire_gateway, SELECT)
    lines = _copied(conn, f"COPY ({SELECT}) TO STDOUT").decode().splitlines()
    assert want and lines == ["\t".join(_text(v) for v in row) for row in want]
    assert all("***@" in line for line in lines)  # masked, as the SELECT is


def test_copy_csv_with_header(conn, wire_gateway) -> None:
    want = expected(wire_gateway, SELECT)
    rows = list(csv.reader(io.StringIO(_copied(conn, f"COPY ({SELECT}) TO STDOUT WITH (FORMAT csv, HEADER)")
                                       .decode())))
    assert rows[0] == ["order_id", "customer_email", "card_number", "amount", "created_at", "shipped_on"]
    assert [r[:4] for r in rows[1:]] == [[_text(v) if v is not None else "" for v in row[:4]] for row in want]


def test_copy_binary_rows_are_the_gateways_cells(conn, wire_gateway) -> None:
    with conn.cursor().copy(f"COPY ({SELECT}) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["text", "text", "text", "float8", "timestamptz", "date"])
        rows = list(copy.rows())
    assert rows and normalise(rows) == normalise(expected(wire_gateway, SELECT))


def test_copy_of_no_rows(conn) -> None:
    sql = "SELECT order_id FROM sales.orders WHERE region = 'nowhere'"
    assert _copied(conn, f"COPY ({sql}) TO STDOUT") == b""
    with conn.cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)") as copy:
        copy.set_types(["text"])
        assert list(copy.rows()) == []


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("COPY sales.orders TO STDOUT", "42501"),                                   # a table: past the rewrite
    ("COPY pe_raw.\"sales.orders\" TO STDOUT", "42501"),
    ("COPY sales.orders FROM STDIN", "42501"),
    ("COPY (SELECT region FROM sales.orders) TO '/tmp/pe-copy-out'", "42501"),  # a file
    ("COPY (SELECT region FROM sales.orders) TO PROGRAM 'cat'", "42501"),
    ("COPY (SELECT margin FROM sales.orders) TO STDOUT", "42501"),              # denied, as in SELECT
    ("COPY (SELECT * FROM read_csv('/etc/passwd')) TO STDOUT", "42501"),
    ("COPY (DELETE FROM sales.orders) TO STDOUT", "42501"),
    ("COPY (SELECT region FROM sales.orders) TO STDOUT (FORMAT parquet)", "22023"),
    ("COPY (SELECT region FROM sales.orders) TO STDOUT (FORMAT csv, FORCE_QUOTE *)", "0A000"),
    ("COPY (SELECT region FROM sales.orders TO STDOUT", "42601"),
])
def test_other_copies_are_refused(conn, sql: str, sqlstate: str) -> None:
    with pytest.raises(psycopg.Error) as info:
        _copied(conn, sql)
    assert info.value.sqlstate == sqlstate, str(info.value)
    assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0


def test_copy_refusal_matches_the_select_refusal(conn) -> None:
    with pytest.raises(psycopg.Error) as select:
        conn.execute("SELECT margin FROM sales.orders")
    with pytest.raises(psycopg.Error) as copy:
        _copied(conn, "COPY (SELECT margin FROM sales.orders) TO STDOUT")
    assert str(select.value) == str(copy.value)


@pytest.mark.parametrize(("sql", "query", "fmt", "header"), [
    ("COPY (SELECT 1) TO STDOUT", "SELECT 1", "text", False),
    ("copy ( select ')' ) to stdout with csv header;", " select ')' ", "csv", True),
    ("COPY (SELECT (1)) TO STDOUT WITH BINARY", "SELECT (1)", "binary", False),
    ("COPY (SELECT 1) TO STDOUT (FORMAT 'csv', HEADER true, DELIMITER ';')", "SELECT 1", "csv", True),
])
def test_parse_copy(sql: str, query: str, fmt: str, header: bool) -> None:
    copy = parse_copy(sql)
    assert (copy.query, copy.format, copy.header) == (query, fmt, header)


@pytest.mark.parametrize("sql", ["COPY (SELECT 1) TO STDOUT (DELIMITER '\\')", "COPY (SELECT 1) TO STDOUT (HEADER)",
                                 "COPY (SELECT 1) TO STDOUT (FORMAT binary, NULL 'x')",
                                 "COPY (SELECT 1) TO STDOUT WITH DELIMITER"])
def test_bad_copy_options(sql: str) -> None:
    with pytest.raises(CopyRefused):
        parse_copy(sql)


def test_copy_in_the_extended_protocol(wire) -> None:
    """As a driver sends it with Parse/Bind/Execute: NoData to Describe, then the copy."""
    from tests.wire.conftest import frame, raw_login, read_messages

    sock = raw_login(wire.port)
    sql = b"COPY (SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 2) TO STDOUT (FORMAT binary)\x00"
    sock.sendall(frame(b"P", b"\x00" + sql + b"\x00\x00") + frame(b"B", b"\x00\x00" + b"\x00" * 6)
                 + frame(b"D", b"P\x00") + frame(b"E", b"\x00\x00\x00\x00\x01") + frame(b"S"))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds == [b"1", b"2", b"n", b"H", b"d", b"d", b"d", b"c", b"C", b"Z"]  # the row limit does not cut it
    sock.close()


def test_copy_text_escapes_and_csv_quotes() -> None:
    import pyarrow as pa

    from policyengine.wire import messages as m
    from policyengine.wire.copy import Copy, copy_messages

    table = pa.table({"a": ["tab\there", "line\nbreak", "back\\slash", None, ""], "b": [1, 2, 3, 4, 5]})
    columns = m.result_columns(table)
    text = b"".join(msg[5:] for msg in copy_messages(table, columns, Copy("q"))[1:-1])
    assert text == b"tab\\there\t1\nline\\nbreak\t2\nback\\\\slash\t3\n\\N\t4\n\t5\n"
    csv_out = b"".join(msg[5:] for msg in copy_messages(table, columns, Copy("q", "csv", delimiter=",",
                                                                            null=""))[1:-1])
    assert csv_out == b'tab\there,1\n"line\nbreak",2\nback\\slash,3\n,4\n"",5\n'


def test_psql_copy_to_stdout(wire, wire_gateway) -> None:
    import os
    import shutil
    import subprocess

    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is missing (Debian's postgresql-client; .ci/run installs it)")
        pytest.skip("psql not installed (apt-get install postgresql-client)")
    sql = "SELECT order_id, customer_email FROM sales.orders ORDER BY order_id"
    out = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(wire.port), "-U", "bob", "-d", "mesh", "-X",
                          "-c", f"\\copy ({sql}) to stdout with csv"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{a},{b}" for a, b in expected(wire_gateway, sql)]


# ---------------------------------------------------------------- the leak corpus, through COPY


@pytest.mark.parametrize("attack", [a for a in ATTACKS if len(split_statements(a.sql)) == 1],
                         ids=lambda a: f"{a.klass}:{a.sql[:50]}")
def test_leak_corpus_through_copy(attack: Attack, conn, wire_gateway, hidden) -> None:  # noqa: F811
    """Each single-statement attack wrapped in COPY (…) TO STDOUT (FORMAT csv): nothing hidden in
    the output or the error; refused iff the library refuses the SELECT, else as many rows."""
    sql = core_text(attack.sql)
    try:
        out, error = _copied(conn, f"COPY (\n{sql}\n) TO STDOUT (FORMAT csv)").decode(), None
    except psycopg.Error as exc:
        out, error = "", exc
    assert not _leaks([out, str(error or "")], hidden)
    if sql == "SELECT version()":
        return  # answered by the server itself as a statement, not inside COPY
    try:
        want = wire_gateway.query(sql, wire_gateway.engine.consumers.get("bob"))
    except GatewayError:
        assert error is not None, "the library refuses it, COPY ran it"
        return
    assert error is None, f"the library runs it, COPY refused it: {error}"
    assert len(list(csv.reader(io.StringIO(out)))) == want.num_rows
