"""What clients ask the server about itself (psql's \\dt and \\d, pg_catalog, information_schema,
SHOW, SET, version()) is answered from the catalog for the logged-in consumer only: the products
and columns it may read, with the types its queries return; never a raw table, a denied column,
a product it cannot read, a sample file's path or the engine's own catalog."""

from __future__ import annotations

import os
import shutil
import subprocess

import psycopg
import pytest

from policyengine.enforce.gateway import RAW_SCHEMA, GatewayError
from policyengine.wire import introspection

CONSUMERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "kim", "judy"]


def readable(gateway, who: str) -> dict[str, list[str]]:
    """Per product the consumer can query through the gateway, the columns `SELECT *` returns:
    asked of the gateway itself, independently of the catalog code."""
    consumer = gateway.engine.consumers.get(who)
    found = {}
    for product in gateway.engine.catalog.products:
        try:
            table = gateway.query(f"SELECT * FROM {product}", consumer)
        except GatewayError:
            continue
        found[product] = table.column_names
    return found


def hidden_names(gateway, who: str) -> set[str]:
    """Names `who` must never see in the catalog: products it cannot read, and every column it
    is denied (unless another product it reads has a column of that name)."""
    consumer = gateway.engine.consumers.get(who)
    seen = readable(gateway, who)
    visible_columns = {c for columns in seen.values() for c in columns}
    hidden: set[str] = set()
    for product in gateway.engine.catalog.products:
        decision = gateway.engine.evaluate(consumer, product)
        if product not in seen:
            hidden.add(product.partition(".")[2])
        hidden |= {c for c in decision.denied_columns if c not in visible_columns}
    return hidden - {name.partition(".")[2] for name in seen}


def rows(wire, sql: str, who: str = "bob") -> list[tuple]:
    with psycopg.connect(wire.dsn(who), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_bob_cannot_read_everything() -> None:
    """The attacks below are only meaningful if bob is denied products and columns."""
    import policyengine

    engine = policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    bob = engine.consumers.get("bob")
    assert engine.evaluate(bob, "hr.payroll").readable_columns == ()
    assert "margin" in engine.evaluate(bob, "sales.orders").denied_columns


@pytest.mark.parametrize("who", CONSUMERS)
def test_information_schema_lists_what_the_consumer_queries(wire, wire_gateway, who: str) -> None:
    """Every product and column listed is exactly what `SELECT *` returns to that consumer, with
    the type the wire sends for it (a masked column has its masked output's type)."""
    want = readable(wire_gateway, who)
    listed = rows(wire, "SELECT table_schema || '.' || table_name, column_name, data_type FROM "
                        "information_schema.columns ORDER BY table_schema, table_name, ordinal_position", who)
    by_product: dict[str, list[str]] = {}
    for product, column, _ in listed:
        by_product.setdefault(product, []).append(column)
    assert by_product == {p: list(c) for p, c in want.items()}
    with psycopg.connect(wire.dsn(who), autocommit=True) as conn:
        types = {row[0]: row[1] for row in conn.execute(
            "SELECT t.oid, t.typname FROM pg_catalog.pg_type t").fetchall()}
        for product in want:
            cur = conn.execute(f"SELECT * FROM {product} LIMIT 0")
            sent = [(d.name, types[d.type_code]) for d in cur.description]
            schema, _, table = product.partition(".")
            catalog = conn.execute(
                "SELECT a.attname, t.typname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
                "ON a.attrelid = c.oid JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid "
                f"JOIN pg_catalog.pg_type t ON a.atttypid = t.oid WHERE n.nspname = '{schema}' "
                f"AND c.relname = '{table}' AND a.attnum > 0 ORDER BY a.attnum").fetchall()
            assert catalog == sent, product


CONTRACT = """apiVersion: v3.0.2
kind: DataContract
id: shop-accounts
name: accounts
version: 1.0.0
status: active
domain: shop
dataProduct: accounts
schema:
- name: accounts
  properties:
  - name: account_id
    logicalType: string
  - name: account_no
    logicalType: integer
    tags: [pii.bank_account]
  - name: opened_on
    logicalType: date
    tags: [pii.birth_date]
servers:
- server: sample
  type: local
  format: csv
  path: accounts.csv
"""
POLICY = """scope domain shop
@name("all-read")
allow read shop.accounts to everyone;
@name("numbers-hashed")
mask shop.accounts.account_no using hash to everyone except group:cleared;
"""


@pytest.fixture(scope="module")
def masked_wire(tmp_path_factory):
    """A one-product mesh where a mask changes a column's type: `hash` turns an integer into text."""
    import policyengine
    from policyengine.enforce.gateway import Gateway
    from tests.wire.conftest import KEY, TRUST, start

    root = tmp_path_factory.mktemp("masked")
    (root / "products").mkdir()
    (root / "policies").mkdir()
    (root / "products" / "shop.accounts.yaml").write_text(CONTRACT, encoding="utf-8")
    (root / "products" / "accounts.csv").write_text("account_id,account_no,opened_on\na1,12345,2020-01-02\n",
                                                    encoding="utf-8")
    (root / "policies" / "shop.policy").write_text(POLICY, encoding="utf-8")
    (root / "consumers.yaml").write_text("consumers:\n  - id: ann\n    groups: [staff]\n"
                                         "  - id: cid\n    groups: [cleared]\n", encoding="utf-8")
    engine = policyengine.load([str(root / "policies")], [str(root / "products")],
                               consumers=str(root / "consumers.yaml"))
    gen = start(Gateway(engine, hash_key=KEY), TRUST)
    yield next(gen)
    gen.close()


def test_masked_column_has_the_masked_type(masked_wire) -> None:
    """ann sees account_no hashed (text), cid the integer: the catalog says what each query returns."""
    sql = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'accounts' "
           "ORDER BY ordinal_position")
    assert rows(masked_wire, sql, "cid") == [("account_id", "text"), ("account_no", "bigint"),
                                             ("opened_on", "date")]
    assert rows(masked_wire, sql, "ann")[1] == ("account_no", "text")
    with psycopg.connect(masked_wire.dsn("ann"), autocommit=True) as conn:
        value = conn.execute("SELECT account_no FROM shop.accounts").fetchone()[0]
        assert isinstance(value, str) and value != "12345"
        assert conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attname = "
                            "'account_no'").fetchone() == ("text",)


@pytest.mark.parametrize("who", ["bob", "grace", "judy", "erin"])
@pytest.mark.parametrize("relation", sorted(introspection.relations()))
def test_no_catalog_relation_shows_a_hidden_name_or_a_path(wire, wire_gateway, who: str, relation: str) -> None:
    type_names = {r[0] for r in rows(wire, "SELECT typname FROM pg_type", who)}  # a column may be called "date"
    hidden = (hidden_names(wire_gateway, who) - type_names) | {RAW_SCHEMA}
    assert hidden - {RAW_SCHEMA}
    samples = {str(s.path) for p in wire_gateway.engine.catalog.products.values() for s in p.samples}
    values = [v for row in rows(wire, f"SELECT * FROM {relation}", who) for v in row]
    texts = [str(v) for v in values if v is not None]
    assert not hidden & set(texts), relation
    assert not any(path in t or "samples/" in t or "pe_raw" in t for t in texts for path in samples)
    for other in CONSUMERS:  # nobody else's name (roles, owners, users)
        if other != who:
            assert other not in texts


def test_denied_column_is_absent_and_allowed_one_present(wire) -> None:
    sql = ("SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON a.attrelid = c.oid "
           "WHERE c.relname = 'orders' ORDER BY a.attnum")
    assert "margin" not in [r[0] for r in rows(wire, sql, "bob")]
    assert "margin" in [r[0] for r in rows(wire, sql, "carol")]
    assert rows(wire, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'margin'", "bob") == [(0,)]
    assert rows(wire, "SELECT count(*) FROM pg_class WHERE relname IN ('payroll', 'employees')", "bob") == [(0,)]
    assert rows(wire, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('hr', 'pe_raw', 'main')", "bob") == [(0,)]


@pytest.mark.parametrize(("sql", "sqlstate"), [
    ("SELECT * FROM duckdb_tables()", "42501"),  # not ours: the enforced path refuses it
    ("SELECT * FROM pg_class, duckdb_tables()", "42501"),
    ("SELECT relname, (SELECT count(*) FROM duckdb_settings()) FROM pg_class", "42501"),
    ("SELECT * FROM pg_class WHERE relname IN (SELECT * FROM read_csv('/etc/passwd'))", "42501"),
    ("SELECT * FROM pg_class c JOIN sales.orders o ON true", "42501"),
    ("SELECT relname FROM pg_class UNION SELECT customer_email FROM sales.orders", "42501"),
    ("SELECT * FROM pg_catalog.duckdb_tables", "42P01"),
    ("SELECT * FROM information_schema.duckdb_columns", "42P01"),
    ("SELECT * FROM pg_catalog.pg_authid", "42P01"),
    ("SELECT * FROM pe_raw.pg_class", "42P01"),
    ("SELECT current_setting('enable_external_access')", "42704"),
    ("SELECT current_setting('python_enable_replacements')", "42704"),
    ("SELECT getenv('HOME') FROM pg_class", "42883"),
    ("SELECT read_text('/etc/passwd') FROM pg_class", "42883"),
    ("SELECT relname FROM pg_class, glob('/*')", "42501"),
    ("SELECT 'hr.payroll'::regclass", "42P01"),
    ("SELECT 'pe_raw.\"sales.orders\"'::regclass", "42P01"),
    ("SELECT * FROM pg_class; SELECT margin FROM sales.orders", "42501"),
])
def test_catalog_attacks_are_refused(wire, sql: str, sqlstate: str) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate == sqlstate, str(info.value)
        assert "/etc" not in str(info.value) and "HOME" not in str(info.value)


def test_regclass_names_only_visible_tables(wire) -> None:
    (oid,) = rows(wire, "SELECT 'sales.orders'::regclass")[0]
    assert rows(wire, f"SELECT relname FROM pg_class WHERE oid = {oid}") == [("orders",)]
    assert rows(wire, "SELECT 'pg_catalog.pg_class'::regclass") == [(1259,)]


def test_oids_do_not_reveal_hidden_products(wire) -> None:
    """OIDs are numbered over what the consumer sees: no gap where a hidden product would be."""
    oids = [r[0] for r in rows(wire, "SELECT oid FROM pg_class ORDER BY oid", "bob")]
    assert oids == list(range(oids[0], oids[0] + len(oids)))


def test_session_functions(wire) -> None:
    got = rows(wire, "SELECT version(), current_schema(), current_database(), current_user, session_user, "
                     "pg_catalog.current_schema(), current_setting('server_version'), user")
    version, schema, database, user, session_user, schema2, server_version, user2 = got[0]
    assert version.startswith("PostgreSQL 16.0 (policyengine gateway")
    assert (schema, database, user, session_user, schema2, server_version, user2) == \
        ("public", "mesh", "bob", "bob", "public", "16.0", "bob")
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        cur = conn.execute("SELECT current_user, version()")
        assert [d.name for d in cur.description] == ["current_user", "version"]


@pytest.mark.parametrize(("sql", "value"), [
    ("SHOW server_version", "16.0"),
    ("SHOW standard_conforming_strings", "on"),
    ("SHOW transaction isolation level", "read committed"),
    ("SHOW TRANSACTION ISOLATION LEVEL", "read committed"),
    ("show client_encoding", "UTF8"),
    ("SHOW DateStyle", "ISO, MDY"),
    ("SHOW TIME ZONE", "UTC"),
    ("SHOW transaction_read_only", "on"),
])
def test_show(wire, sql: str, value: str) -> None:
    assert rows(wire, sql) == [(value,)]


def test_set_harmless_settings_is_accepted_and_seen(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        for sql in ("SET application_name = 'dashboards'", "SET extra_float_digits = 3", "SET DateStyle = 'ISO'",
                    "SET datestyle TO ISO, YMD", "SET client_encoding TO 'UTF8'", "SET search_path = sales",
                    "SET SESSION TIME ZONE 'UTC'", "SET TimeZone = 'UTC'"):
            conn.execute(sql)
        assert conn.execute("SHOW application_name").fetchone() == ("dashboards",)
        assert conn.execute("SELECT current_setting('extra_float_digits')").fetchone() == ("3",)
        assert conn.execute("SHOW DateStyle").fetchone() == ("ISO, YMD",)
        assert conn.execute("SELECT current_schema()").fetchone() == ("sales",)
        assert conn.execute("SELECT setting FROM pg_settings WHERE name = 'application_name'").fetchone() \
            == ("dashboards",)
        # only sales is searched now: marketing.leads is not visible by its bare name
        assert conn.execute("SELECT relname FROM pg_class WHERE pg_table_is_visible(oid) ORDER BY 1").fetchall() \
            == [("customers",), ("orders",)]
        conn.execute("RESET application_name")
        assert conn.execute("SHOW application_name").fetchone() == ("",)
        conn.execute("DISCARD ALL")
        assert conn.execute("SELECT current_schema()").fetchone() == ("public",)


@pytest.mark.parametrize("sql", [
    "SET work_mem = '1GB'", "SET client_encoding = 'LATIN1'", "SET DateStyle = 'German'",
    "SET search_path = pe_raw", "SET search_path = hr", "SET search_path = sales, hr",
    "SET enable_external_access = true", "SET TimeZone = 'Europe/Paris'", "SET statement_timeout = 0",
    "SET extra_float_digits = 4", "SET ROLE carol", "SET SESSION AUTHORIZATION carol", "RESET ROLE",
])
def test_other_sets_are_refused(wire, sql: str) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        assert info.value.sqlstate in ("0A000", "22023"), str(info.value)
        assert conn.execute("SELECT current_user").fetchone() == ("bob",)
        assert conn.execute("SHOW search_path").fetchone() == ("",)  # unchanged (the default path)


def test_set_in_a_failed_transaction_is_refused(wire) -> None:
    with psycopg.connect(wire.dsn()) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT margin FROM sales.orders")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT relname FROM pg_class")


def _psql(wire, command: str, who: str = "bob") -> subprocess.CompletedProcess:
    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is missing (Debian's postgresql-client; .ci/run installs it)")
        pytest.skip("psql not installed (apt-get install postgresql-client)")
    return subprocess.run([psql, "-h", "127.0.0.1", "-p", str(wire.port), "-U", who, "-d", "mesh", "-X", "-A",
                           "-F", "|", "-c", command], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"}, check=False)


@pytest.mark.parametrize("who", ["bob", "carol", "frank"])
def test_psql_dt_lists_the_readable_products(wire, wire_gateway, who: str) -> None:
    out = _psql(wire, "\\dt", who)
    assert out.returncode == 0, out.stderr
    listed = {f"{line.split('|')[0]}.{line.split('|')[1]}" for line in out.stdout.splitlines()[2:-1]}
    assert listed == set(readable(wire_gateway, who))


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_psql_d_product_shows_its_columns_and_types(wire, wire_gateway, who: str) -> None:
    out = _psql(wire, "\\d sales.orders", who)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == 'Table "sales.orders"'
    columns = [line.split("|")[0] for line in lines[2:] if "|" in line]
    assert columns == readable(wire_gateway, who)["sales.orders"]
    assert ("margin" in columns) == (who == "carol")
    plus = _psql(wire, "\\d+ sales.orders", who)
    assert plus.returncode == 0 and "E-mail address given at checkout" in plus.stdout  # the contract's text


def test_psql_hidden_product_is_not_found(wire) -> None:
    out = _psql(wire, "\\d hr.payroll")
    assert "Did not find any relation named" in out.stderr and "salary" not in out.stdout + out.stderr


def test_psql_dn_and_l(wire) -> None:
    out = _psql(wire, "\\dn")
    assert out.returncode == 0, out.stderr
    assert [line.split("|")[0] for line in out.stdout.splitlines()[2:-1]] == ["marketing", "public", "sales"]
    out = _psql(wire, "\\l")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[2].split("|")[:3] == ["mesh", "policyengine", "UTF8"]


@pytest.mark.parametrize("body", [
    b"SELECT relname FROM pg_class" + b" " * 900_000 + b"COLLATE x",  # blanks before a pattern's word
    b"SELECT 1 FROM pg_class WHERE relname " + b" " * 900_000 + b"OPERATOR(pg_catalog.~) 'x'",
    b"SET application_name" + b" " * 900_000 + b"= 1",
    b"SHOW transaction" + b" " * 900_000 + b"isolation level x",
    b"SELECT current_user" + b"\t" * 900_000 + b"x",
])
def test_large_catalog_texts_are_answered_in_linear_time(wire, body: bytes) -> None:
    from tests.wire.conftest import frame, raw_login, read_messages

    sock = raw_login(wire.port)
    sock.sendall(frame(b"Q", body + b"\x00"))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds[-1] == b"Z"
    sock.close()


def test_unknown_relation_error_lists_no_hidden_product(wire, wire_gateway) -> None:
    """The library's message lists every registered product; over the wire a consumer must not
    learn the names of products it cannot read that way (\\dt lists its own)."""
    hidden = {"hr.payroll", "hr.employees", "marketing.campaign_events"}
    assert hidden <= set(wire_gateway.engine.catalog.products)
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        for sql in ("SELECT * FROM nosuch.table1", "SELECT * FROM pg_class c, nosuch.t", "SELECT * FROM t"):
            with pytest.raises(psycopg.Error) as info:
                conn.execute(sql)
            assert not any(name in str(info.value) for name in hidden), str(info.value)


def _client_queries() -> list[dict]:
    from pathlib import Path

    import yaml

    return yaml.safe_load((Path(__file__).parent / "data" / "client_catalog_queries.yaml").read_text("utf-8"))


@pytest.mark.parametrize("case", _client_queries(), ids=lambda c: c["client"])
def test_clients_catalog_queries(wire, case: dict) -> None:
    got = rows(wire, case["sql"])
    texts = {str(v).lower() if isinstance(v, bool) else str(v) for row in got for v in row if v is not None}
    if "rows" in case:
        assert [[str(v).lower() if isinstance(v, bool) else str(v) for v in row] for row in got] == \
            [[str(v).lower() if isinstance(v, bool) else str(v) for v in row] for row in case["rows"]]
    for value in case.get("contains", []):
        assert str(value) in texts, value
    for value in case.get("excludes", []):
        assert str(value) not in texts, value


def test_a_long_catalog_query_is_interrupted_at_the_timeout(wire_gateway, monkeypatch) -> None:
    """`generate_series` can ask for a very long run: the client gets 57014 and the worker stops
    (it would count for hours if it were not interrupted)."""
    import asyncio

    made: list = []

    class Recording(introspection._Interruptible):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(introspection, "_Interruptible", Recording)
    session = introspection.Session({"server_version": "16.0"}, "mesh", "v")
    bob = wire_gateway.engine.consumers.get("bob")
    sql = "SELECT count(*) FROM pg_class, generate_series(1, 100000000000000) g"
    with pytest.raises(TimeoutError):
        asyncio.run(introspection.answer(wire_gateway, bob, session, sql, timeout=0.5))
    assert made and made[0].stopped
    assert made[0].done.wait(60), "the catalog query went on after its timeout"


def test_a_huge_catalog_answer_is_refused(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT g FROM pg_class, generate_series(1, 200000) g")
        assert info.value.sqlstate == "54000"
        assert conn.execute("SELECT current_user").fetchone() == ("bob",)
