"""Real clients through `policyengine gateway`'s protocol server: psycopg 3 (simple and extended
query, transactions) and Debian's psql see exactly the rows the Gateway library call returns for
the same consumer; refusals carry their SQLSTATE and never a value."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess

import psycopg
import pytest

ORDERS = "SELECT customer_email, card_number, region, amount FROM sales.orders ORDER BY order_id"
CUSTOMERS = ("SELECT customer_id, full_name, email, phone, birth_date, signup_ts, email_verified "
             "FROM sales.customers ORDER BY customer_id")


def expected(gateway, sql: str, who: str = "bob") -> list[tuple]:
    table = gateway.query(sql, gateway.engine.consumers.get(who))
    return [tuple(row.values()) for row in table.to_pylist()]


def normalise(rows: list[tuple]) -> list[tuple]:
    """psycopg parses timestamptz into the session zone (UTC here): compare instants."""
    return [tuple(v.astimezone(dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo else v for v in row)
            for row in rows]


@pytest.mark.parametrize("sql", [ORDERS, CUSTOMERS,
                                 "SELECT region, count(*) AS n FROM sales.orders GROUP BY region ORDER BY region"])
@pytest.mark.parametrize("who", ["bob", "carol"])
def test_psycopg_sees_what_the_gateway_returns(wire, wire_gateway, sql: str, who: str) -> None:
    with psycopg.connect(wire.dsn(who), autocommit=True) as conn:
        rows = conn.execute(sql).fetchall()
    want = expected(wire_gateway, sql, who)
    assert rows and normalise(rows) == normalise(want)


def test_bob_sees_masked_filtered_rows(wire) -> None:
    with psycopg.connect(wire.dsn()) as conn:  # not autocommit: psycopg sends BEGIN first
        rows = conn.execute(ORDERS).fetchall()
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert rows and all(email.startswith("***@") for email, *_ in rows)
    assert {region for _, _, region, _ in rows} == {"uk"}


def test_extended_protocol_prepared_statement(wire, wire_gateway) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        cur = conn.cursor()
        for _ in range(3):  # the third run uses the named prepared statement (prepare_threshold)
            cur.execute(ORDERS, prepare=True)
            assert cur.fetchall() == expected(wire_gateway, ORDERS)
        assert [d.name for d in cur.description] == ["customer_email", "card_number", "region", "amount"]


def test_parameters_are_bound_not_spliced(wire, wire_gateway) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        rows = conn.execute("SELECT region FROM sales.orders WHERE region = %s", ["uk"]).fetchall()
        assert rows and rows == expected(wire_gateway, "SELECT region FROM sales.orders WHERE region = 'uk'")
        assert conn.execute("SELECT %s AS v FROM sales.orders LIMIT 1", ["x' OR 1=1 --"]).fetchall() == \
            [("x' OR 1=1 --",)]


def test_denied_column_names_the_rule(wire) -> None:
    with (psycopg.connect(wire.dsn(), autocommit=True) as conn,
          pytest.raises(psycopg.errors.InsufficientPrivilege) as info):
        conn.execute("SELECT margin FROM sales.orders")
    assert "margin-for-leads-and-finance" in str(info.value)
    assert info.value.sqlstate == "42501"


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("SELEC margin FROM sales.orders", "42601"),
    ("DELETE FROM sales.orders", "42501"),
    ("SELECT * FROM read_csv('/etc/passwd')", "42501"),
    ("SELECT * FROM pe_raw.\"sales.orders\"", "42P01"),
    ("SELECT region FROM sales.orders; SELECT margin FROM sales.orders", "42501"),  # each one enforced
    ("SET search_path = pe_raw", "0A000"),
    ("SHOW no_such_setting", "42704"),
])
def test_refusals_carry_sqlstate(wire, sql: str, sqlstate: str) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate, str(info.value)
        assert conn.execute("SHOW server_version").fetchone() == ("16.0",)  # still usable


def test_engine_error_quotes_no_value(wire) -> None:
    """A cast failing on a masked value: DuckDB's message would quote it; the client gets the class."""
    with (psycopg.connect(wire.dsn(), autocommit=True) as conn,
          pytest.raises(psycopg.Error) as info):
        conn.execute("SELECT CAST(customer_email AS INTEGER) FROM sales.orders")
    assert "@" not in str(info.value) and "***" not in str(info.value)


def test_failed_transaction_until_rollback(wire) -> None:
    with psycopg.connect(wire.dsn()) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT margin FROM sales.orders")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT region FROM sales.orders")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0


def test_version_and_server_parameters(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT version()").fetchone()[0].startswith("PostgreSQL 16.0 (policyengine")
        assert conn.info.parameter_status("standard_conforming_strings") == "on"
        assert conn.info.parameter_status("client_encoding") == "UTF8"


def test_unknown_user_refused(wire) -> None:
    with pytest.raises(psycopg.OperationalError, match='role "mallory" is not a known consumer'):
        psycopg.connect(wire.dsn("mallory"))


def test_default_refuses_every_login(wire_with) -> None:
    server = wire_with(auth="refuse")
    with pytest.raises(psycopg.OperationalError, match="no authentication method"):
        psycopg.connect(server.dsn("bob"))


def test_psql_as_bob(wire, wire_gateway) -> None:
    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is missing (Debian's postgresql-client; .ci/run installs it)")
        pytest.skip("psql not installed (apt-get install postgresql-client)")
    sql = "SELECT customer_email, region, amount FROM sales.orders WHERE amount > 100 ORDER BY amount DESC"
    out = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(wire.port), "-U", "bob", "-d", "mesh",
                          "-X", "-A", "-t", "-F", "|", "-c", sql],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
                         check=False)
    assert out.returncode == 0, out.stderr
    want = ["|".join(str(v) for v in row) for row in expected(wire_gateway, sql)]
    assert out.stdout.splitlines() == want and want
    refused = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(wire.port), "-U", "bob", "-X",
                              "-c", "SELECT margin FROM sales.orders"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0 and "margin-for-leads-and-finance" in refused.stderr


def test_several_statements_in_one_query_each_enforced(wire, wire_gateway) -> None:
    first = "SELECT count(*) AS n FROM sales.orders"
    second = "SELECT customer_email FROM sales.orders ORDER BY order_id LIMIT 2"
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        cur = conn.execute(f"/* two ; */ {first}; -- and\n {second};")
        assert cur.fetchall() == expected(wire_gateway, first)
        assert cur.nextset() and cur.fetchall() == expected(wire_gateway, second)
        assert not cur.nextset()
        # the first error ends the message: the statement after it is not run
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"{first}; SELECT margin FROM sales.orders; SET x = 1")
        cur = conn.execute(";;")
        assert cur.pgresult.status == psycopg.pq.ExecStatus.EMPTY_QUERY


def test_decision_log_one_line_per_statement_without_values(wire_gateway, tmp_path) -> None:
    import json

    from policyengine.engine.decision_log import DecisionLog
    from tests.wire.conftest import TRUST, start

    dlog = DecisionLog(tmp_path / "decisions.jsonl")
    gen = start(wire_gateway, TRUST, decision_log=dlog)
    server = next(gen)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            rows = conn.execute("SELECT customer_email FROM sales.orders "
                                "WHERE customer_email <> 'probe-guess@example.org'").fetchall()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT margin FROM sales.orders")
    finally:
        gen.close()
    dlog.close()
    text = (tmp_path / "decisions.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(e["consumer"], e["sqlstate"], e["rows"]) for e in lines] == [("bob", "00000", len(rows)),
                                                                          ("bob", "42501", None)]
    orders = lines[0]["products"]["sales.orders"]
    assert orders["columns"]["customer_email"]["effect"] == "mask" and orders["row_filter"] is True
    assert "probe-guess" not in text and "@" not in text  # no query text, no value


def _non_loopback_address() -> str | None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: only picks the outgoing interface
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_trust_refuses_a_non_loopback_peer(wire_with) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    server = wire_with(host=address)
    with pytest.raises(psycopg.OperationalError, match="only from the loopback interface"):
        psycopg.connect(f"host={address} port={server.port} user=bob dbname=mesh connect_timeout=10")


def test_decision_log_records_catalog_queries(wire_gateway, tmp_path) -> None:
    """Catalog queries (and SHOW/SET) get their line too: the consumer, `catalog: true`, the
    SQLSTATE and the row count; never the text (a probe's literal) nor a value."""
    import json

    from policyengine.engine.decision_log import DecisionLog
    from tests.wire.conftest import TRUST, start

    dlog = DecisionLog(tmp_path / "decisions.jsonl")
    gen = start(wire_gateway, TRUST, decision_log=dlog)
    server = next(gen)
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            tables = conn.execute("SELECT c.relname FROM pg_catalog.pg_class c "
                                  "WHERE c.relname <> 'probe-guess-payroll'").fetchall()
            conn.execute("SELECT relname FROM pg_catalog.pg_class WHERE relname = %s", ["probe-bound"]).fetchall()
            with pytest.raises(psycopg.Error):
                conn.execute("SELECT 'probe-missing'::regclass")
            conn.execute("SHOW server_version").fetchall()
    finally:
        gen.close()
    dlog.close()
    text = (tmp_path / "decisions.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines()]
    catalog = [(e["consumer"], e["sqlstate"], e["rows"]) for e in lines if e.get("catalog")]
    assert catalog == [("bob", "00000", len(tables)), ("bob", "00000", 0), ("bob", "42P01", None),
                       ("bob", "00000", 1)], lines
    assert all(e["products"] == {} and e["source"] == "gateway" for e in lines if e.get("catalog"))
    assert "probe" not in text
