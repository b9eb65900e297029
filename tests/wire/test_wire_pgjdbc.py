"""pgjdbc, the PostgreSQL JDBC driver from Maven Central, through the gateway as bob: a prepared
statement (run twice: the second time as a named server-side statement), its ResultSetMetaData,
DatabaseMetaData.getTables/getColumns (answered from the catalog for bob) and a refusal; the
values are compared with `Gateway.query` for the same consumer. One JVM start for the module.

The jar is fetched by `scripts/fetch-pgjdbc` (scripts/test runs it), never by the tests. A
missing JDK or jar skips here with one line, and fails under CI=true."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from tests.wire import pgjdbc_dist

SQL = ("SELECT customer_email, card_number, region, amount, shipped_on, created_at FROM sales.orders "
       "ORDER BY order_id")
CLIENT = Path(__file__).parent / "java" / "PgjdbcClient.java"
TYPE_NAMES = {"text": 12, "float8": 8, "date": 91, "timestamptz": 93}  # java.sql.Types


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (scripts/fetch-pgjdbc fetches the jar; .ci/run has a JDK)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def jdbc_output(wire) -> list[list[str]]:
    java, jar = pgjdbc_dist.java(), pgjdbc_dist.installed()
    if java is None:
        _missing(f"no JDK >= {pgjdbc_dist.JAVA_MAJOR} with javac under /usr/lib/jvm (or JAVA_HOME)")
    if jar is None:
        _missing(f"pgjdbc {pgjdbc_dist.VERSION} is not in {pgjdbc_dist.cache_root()} (run scripts/fetch-pgjdbc)")
    from policyengine.wire import binary

    original = binary.result_rows
    BINARY_FORMATS.clear()

    def recording(table, columns, formats):  # the server runs in this process: what Bind asked for
        BINARY_FORMATS.append(tuple(formats))
        return original(table, columns, formats)

    binary.result_rows = recording
    try:
        out = subprocess.run([str(java), "-cp", str(jar), str(CLIENT), str(wire.port), "bob", SQL],
                             capture_output=True, text=True, timeout=180, check=False)
    finally:
        binary.result_rows = original
    assert out.returncode == 0, out.stderr[-2000:]
    return [line.split("\t") for line in out.stdout.splitlines()]


BINARY_FORMATS: list[tuple[int, ...]] = []


def test_binary_transfer_is_used(jdbc_output) -> None:
    """pgjdbc's default binaryTransfer=true: its named statement asks for binary columns, and the
    rows it reads that way (ROW2) are those it read first."""
    assert any(1 in formats for formats in BINARY_FORMATS), BINARY_FORMATS
    rows = sorted(r[1:] for r in jdbc_output if r[0] == "ROW")
    assert rows and rows == sorted(r[1:] for r in jdbc_output if r[0] == "ROW2")


def _value(text: str, want):
    """pgjdbc's getString as the Python value it stands for, to compare with Gateway.query."""
    if text == "\\N":
        return None
    if isinstance(want, float):
        return float(text)
    if isinstance(want, dt.datetime):
        return dt.datetime.fromisoformat(text.replace(" ", "T") + (":00" if text[-3] in "+-" else ""))
    if isinstance(want, dt.date):
        return dt.date.fromisoformat(text)
    return text


def test_prepared_statement_values_equal_the_gateway(jdbc_output, wire_gateway) -> None:
    table = wire_gateway.query(SQL, wire_gateway.engine.consumers.get("bob"))
    want = [tuple(row.values()) for row in table.to_pylist()]
    for kind in ("ROW", "ROW2"):
        got = [line[1:] for line in jdbc_output if line[0] == kind]
        assert len(got) == len(want) and want
        assert [tuple(_value(t, w) for t, w in zip(row, wrow, strict=True)) for row, wrow in zip(got, want, strict=True)] \
            == want
    assert all(row[1].startswith("***@") for row in (line for line in jdbc_output if line[0] == "ROW"))


def test_result_set_metadata(jdbc_output, wire_gateway) -> None:
    meta = [line[1:] for line in jdbc_output if line[0] == "META"]
    table = wire_gateway.query(SQL + " LIMIT 0", wire_gateway.engine.consumers.get("bob"))
    assert [m[0] for m in meta] == table.column_names
    assert [m[1] for m in meta] == ["text", "text", "text", "float8", "date", "timestamptz"]
    assert [int(m[2]) for m in meta] == [TYPE_NAMES[m[1]] for m in meta]


def test_database_metadata_is_bobs(jdbc_output, wire_gateway) -> None:
    bob = wire_gateway.engine.consumers.get("bob")
    tables = {f"{line[1]}.{line[2]}" for line in jdbc_output if line[0] == "TABLE"}
    assert tables == {"marketing.leads", "sales.customers", "sales.orders"}
    columns = [line[3] for line in jdbc_output if line[0] == "COLUMN"]
    assert columns == wire_gateway.query("SELECT * FROM sales.orders LIMIT 0", bob).column_names
    assert "margin" not in columns


def test_refusal_reaches_jdbc_with_its_sqlstate(jdbc_output) -> None:
    errors = [line[1:] for line in jdbc_output if line[0] == "ERROR"]
    assert errors and errors[0][0] == "42501" and "margin-for-leads-and-finance" in errors[0][1]
