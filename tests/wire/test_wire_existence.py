"""Attack: a consumer must not learn over the wire which products exist that it may not read.

A product the consumer's `\\dt` does not list (bob: hr.payroll, hr.employees,
marketing.campaign_events) must answer every statement exactly as a product that does not exist:
the same SQLSTATE (42P01) and the same message with only the name typed swapped, in simple and
extended query, prepared, with parameters, in COPY, in DECLARE, in a join or CTE, through
`'…'::regclass` and psql's `\\d`. The library (`Gateway`) keeps telling them apart for its trusted
callers (docs/gateway.md)."""

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg
import pytest

HIDDEN = ("hr.payroll", "hr.employees", "marketing.campaign_events")
ABSENT = "hr.nonexistent"

STATEMENTS = [
    "SELECT * FROM {t}",
    "SELECT salary FROM {t}",
    "SELECT count(*) FROM {t}",
    "SELECT o.region FROM sales.orders o JOIN {t} p ON true",
    "WITH x AS (SELECT * FROM {t}) SELECT * FROM x",
    "SELECT region FROM sales.orders WHERE region IN (SELECT region FROM {t})",
    "SELECT margin FROM sales.orders, {t}",  # a denied column of a visible product as well
]


def _error(dsn: str, sql: str, *, prepare: bool = False, params: list | None = None,
           transaction: bool = False) -> tuple[str | None, str]:
    with psycopg.connect(dsn, autocommit=not transaction) as conn:
        try:
            conn.execute(sql, params, prepare=prepare).fetchall() if not sql.startswith("DECLARE") \
                else conn.execute(sql, params, prepare=prepare)
        except psycopg.Error as exc:
            return exc.sqlstate, (exc.diag.message_primary or "")
    return None, "no error"


def _same(dsn: str, template: str, hidden: str, **how) -> None:
    got = _error(dsn, template.format(t=hidden), **how)
    absent = _error(dsn, template.format(t=ABSENT), **how)
    assert absent[0] == "42P01", absent
    assert got[0] == absent[0], (template, got, absent)
    assert got[1] == absent[1].replace(ABSENT, hidden), (template, got, absent)
    assert got[1] == f'relation "{hidden}" does not exist', got


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("template", STATEMENTS)
def test_hidden_product_looks_absent_simple_and_prepared(wire, template: str, hidden: str) -> None:
    _same(wire.dsn(), template, hidden)
    _same(wire.dsn(), template, hidden, prepare=True)


@pytest.mark.parametrize("template", [
    "SELECT * FROM {t} WHERE salary > %s",
    "SELECT %s::text AS v FROM {t}",
    "SELECT region FROM sales.orders WHERE region = %s AND EXISTS (SELECT 1 FROM {t})",
])
def test_hidden_product_looks_absent_with_parameters(wire, template: str) -> None:
    _same(wire.dsn(), template, "hr.payroll", params=[1])
    _same(wire.dsn(), template, "hr.payroll", params=[1], prepare=True)


def test_hidden_product_looks_absent_in_copy_and_cursors(wire) -> None:
    _same(wire.dsn(), "COPY (SELECT * FROM {t}) TO STDOUT", "hr.payroll")
    _same(wire.dsn(), "COPY (SELECT * FROM {t}) TO STDOUT (FORMAT csv, HEADER)", "hr.payroll")
    _same(wire.dsn(), "DECLARE c CURSOR FOR SELECT * FROM {t}", "hr.payroll", transaction=True)
    _same(wire.dsn(), "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM {t}", "hr.payroll")


def test_case_and_quoting_as_typed(wire) -> None:
    """The message names what the user typed, whichever way it is spelled."""
    for typed, absent in (("HR.PAYROLL", "HR.NONEXISTENT"), ('"hr"."payroll"', '"hr"."nonexistent"')):
        got = _error(wire.dsn(), f"SELECT * FROM {typed} AS p")
        missing = _error(wire.dsn(), f"SELECT * FROM {absent} AS p")
        assert got[0] == missing[0] == "42P01", (got, missing)
        assert got[1] == missing[1].replace(absent, typed), (got, missing)


def test_describe_without_executing(wire) -> None:
    """Parse and Describe of a statement (its parameter types inferred from the product's columns)."""
    from tests.wire.conftest import frame, raw_login, read_messages

    answers = []
    for t in ("hr.payroll", ABSENT):
        sock = raw_login(wire.port)
        query = f"SELECT * FROM {t} WHERE salary = $1".encode()
        sock.sendall(frame(b"P", b"s\x00" + query + b"\x00\x00\x00") + frame(b"D", b"Ss\x00") + frame(b"S"))
        errors = [body for kind, body in read_messages(sock) if kind == b"E"]
        sock.close()
        fields = dict((f[:1], f[1:].decode()) for f in errors[0].split(b"\x00") if f)
        answers.append((fields[b"C"], fields[b"M"]))
    assert answers[0][0] == answers[1][0] == "42P01", answers
    assert answers[0][1] == answers[1][1].replace(ABSENT, "hr.payroll"), answers


def test_regclass_and_catalog_alike(wire) -> None:
    for sql in ("SELECT '{t}'::regclass", "SELECT '{t}'::regclass::oid"):
        _same(wire.dsn(), sql, "hr.payroll")
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        for t in ("payroll", "nonexistent"):
            assert conn.execute("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                                "ON n.oid = c.relnamespace WHERE n.nspname = 'hr' AND c.relname = %s",
                                [t]).fetchall() == []


def test_psql_describe_alike(wire) -> None:
    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is missing (Debian's postgresql-client; .ci/run installs it)")
        pytest.skip("psql not installed (apt-get install postgresql-client)")

    def run(command: str) -> tuple[int, str]:
        out = subprocess.run([psql, "-h", "127.0.0.1", "-p", str(wire.port), "-U", "bob", "-d", "mesh", "-X",
                              "-c", command], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
        return out.returncode, (out.stdout + out.stderr).replace(ABSENT, "<t>").replace("hr.payroll", "<t>")

    assert run("\\d hr.payroll") == run(f"\\d {ABSENT}")
    assert run("SELECT * FROM hr.payroll") == run(f"SELECT * FROM {ABSENT}")


def test_unknown_relation_message_lists_no_product(wire, wire_gateway) -> None:
    code, text = _error(wire.dsn(), "SELECT * FROM nosuch.t")
    assert code == "42P01"
    assert not any(p in text for p in wire_gateway.engine.catalog.products), text


def test_library_keeps_the_distinction(wire_gateway) -> None:
    """The library call (trusted callers: the CLI, services deciding for a consumer) says why."""
    from policyengine.enforce.gateway import GatewayError, UnknownSource

    bob = wire_gateway.engine.consumers["bob"]
    with pytest.raises(GatewayError) as denied:
        wire_gateway.query("SELECT * FROM hr.payroll", bob)
    assert not isinstance(denied.value, UnknownSource)
    with pytest.raises(UnknownSource) as unknown:
        wire_gateway.query(f"SELECT * FROM {ABSENT}", bob)
    assert unknown.value.name == ABSENT
