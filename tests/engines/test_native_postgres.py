"""Native PostgreSQL objects (issue 22), proven on the suite's real PostgreSQL: for every
consumer x product of the example mesh, logging in as a role mapped to the consumer returns
exactly `policyengine.enforce()`'s cells on the same rows; base tables and the HMAC key are
unreadable; a second plan is empty; hand edits show as drift; a failed apply changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import policyengine
from policyengine.native import compile_plan
from policyengine.native import postgres as pg
from tests.engines.conftest import differences, source_name
from tests.engines.test_conformance import CONSUMERS, PRODUCTS

TEMPLATE = "public.pe_{schema}_{table}"  # how tests/engines/conftest.py loads each product
KEY = "native k3y é, never in a view".encode()  # an environment variable holds no NUL
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _mesh() -> Any:
    return policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")


def _desired(con: Any, engine: Any, prefix: str = pg.DEFAULT_PREFIX, key: bytes = KEY,
             at: dt.datetime = AT) -> pg.Desired:
    plan = compile_plan(engine, at=at, keyed_hash=True)
    types = pg.live_types(con, sorted(engine.catalog.products), TEMPLATE)
    return pg.desired_state(plan, prefix=prefix, table_template=TEMPLATE, types=types, hash_key=key)


@pytest.fixture(scope="module")
def native(postgres_engine) -> Iterator[dict[str, Any]]:
    """The example mesh applied to the session's PostgreSQL, with one login role per consumer
    (`<id>_login`, a member of the consumer's role: the mapping from login roles to consumers)."""
    psycopg = postgres_engine.psycopg
    uri = postgres_engine.server.get_uri()
    con = psycopg.connect(uri)
    admin = postgres_engine.con
    # the attack a deployment starts from: a base table every role can read
    admin.execute(f'GRANT SELECT ON "{source_name("sales.orders")}" TO PUBLIC')
    engine = _mesh()
    desired = _desired(con, engine)
    pg.apply(con, desired)
    logins = {}
    for consumer in CONSUMERS:
        login = f"{consumer}_login"
        admin.execute(f'DROP ROLE IF EXISTS "{login}"')
        admin.execute(f'CREATE ROLE "{login}" LOGIN')
        if pg.DEFAULT_PREFIX + consumer in desired.roles:
            admin.execute(f'GRANT "{pg.DEFAULT_PREFIX}{consumer}" TO "{login}"')
        logins[consumer] = psycopg.connect(uri, user=login, autocommit=True)
    try:
        yield {"con": con, "engine": engine, "desired": desired, "logins": logins, "psycopg": psycopg,
               "admin": admin, "uri": uri}
    finally:
        for c in logins.values():
            c.close()
        con.close()


def _plan(native: dict[str, Any]) -> list[pg.Change]:
    return pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"]))


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumer_reads_exactly_what_enforce_gives(native, seed_tables, consumer, product) -> None:
    decision = native["engine"].evaluate(consumer, product, at=AT)
    view = f'"{pg.DEFAULT_PREFIX}{consumer}"."{product}"'
    con = native["logins"][consumer]
    if decision.error or not decision.readable_columns:  # no object at all: nothing to read
        exists = con.execute("SELECT to_regclass(%s)", (view,)).fetchone()[0]
        assert exists is None
        return
    table = seed_tables[source_name(product)]
    want = policyengine.enforce(table, decision, hash_key=KEY)
    want_rows = [tuple(r.values()) for r in want.to_pylist()]
    cur = con.execute(f"SELECT * FROM {view}")
    cols = [d.name for d in cur.description]
    assert cols == list(want.column_names)
    diffs = differences(cols, cur.fetchall(), want_rows)
    assert not diffs, f"{consumer} on {product} disagrees with enforce():\n  " + "\n  ".join(diffs)


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_base_tables_and_the_key_are_unreadable(native, consumer) -> None:
    con = native["logins"][consumer]
    errors = native["psycopg"].errors
    for product in PRODUCTS:
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute(f'SELECT * FROM public."{source_name(product)}" LIMIT 1')
    with pytest.raises(errors.InsufficientPrivilege):
        con.execute(f'SELECT * FROM "{pg.KEY_SCHEMA}"."{pg.KEY_TABLE}"')
    others = [c for c in CONSUMERS if c != consumer and pg.DEFAULT_PREFIX + c in native["desired"].roles]
    with pytest.raises(errors.InsufficientPrivilege):  # a consumer cannot take another's role
        con.execute(f'SET ROLE "{pg.DEFAULT_PREFIX}{others[0]}"')


def test_the_key_is_in_no_definition_or_comment(native) -> None:
    """What any role can print back (view definitions, comments) holds neither key nor pads."""
    texts = [t for (t,) in native["admin"].execute(
        "SELECT pg_get_viewdef(c.oid) FROM pg_class c WHERE c.relkind = 'v' UNION ALL "
        "SELECT description FROM pg_description UNION ALL SELECT description FROM pg_shdescription")]
    ipad, opad = native["desired"].pads
    secrets = [KEY.hex(), ipad.hex(), opad.hex(), KEY.decode()]
    assert any("hmac_pads" in t for t in texts)  # the views do read the key table
    assert not [t for t in texts if any(s in t for s in secrets)]


def test_a_second_plan_is_empty(native) -> None:
    assert _plan(native) == []
    assert pg.apply(native["con"], native["desired"]) == []


def test_hand_edits_show_as_drift_and_apply_repairs_them(native) -> None:
    admin, view = native["admin"], '"pe_bob"."sales.orders"'
    body = admin.execute(f"SELECT pg_get_viewdef('{view}'::regclass)").fetchone()[0]
    unfiltered = body.split("WHERE")[0].rstrip().rstrip(";")
    admin.execute(f"CREATE OR REPLACE VIEW {view} AS {unfiltered}")  # the row filter dropped by hand
    admin.execute('GRANT SELECT ON "pe_bob"."sales.orders" TO "pe_alice"')
    admin.execute(f'GRANT SELECT ("region") ON "{source_name("hr.payroll")}" TO "pe_dave"')
    admin.execute('GRANT "pe_frank" TO "pe_bob"')  # bob would read frank's views
    admin.execute('REVOKE SELECT ON "pe_carol"."sales.orders" FROM "pe_carol"')
    admin.execute('GRANT SELECT ON "pe_carol"."sales.orders" TO "pe_carol" WITH GRANT OPTION')
    drift = [str(c) for c in _plan(native)]
    assert any(c.startswith("~ view pe_bob.sales.orders") and "edited by hand" in c for c in drift), drift
    assert any(c.startswith('- grant "public"."pe_hr_payroll" to pe_dave') for c in drift), drift
    assert "- membership pe_frank to pe_bob  (consumer roles are members of none)" in drift
    assert any(c.startswith("- grant SELECT WITH GRANT OPTION on pe_carol.sales.orders to pe_carol") for c in drift)
    assert any(c.startswith("+ grant SELECT on pe_carol.sales.orders to pe_carol") for c in drift)
    result = CliRunner().invoke(_cli(), ["plan", "--target", "postgres", "--dsn", native["uri"], "--check",
                                         "--table", TEMPLATE, "--at", AT.isoformat()],
                                env={"POLICYENGINE_HASH_KEY": KEY.decode()})
    assert result.exit_code == 1, result.output
    assert "edited by hand" in result.output and KEY.decode() not in result.output
    args = ["--target", "postgres", "--dsn", native["uri"], "--table", TEMPLATE, "--at", AT.isoformat()]
    env = {"POLICYENGINE_HASH_KEY": KEY.decode()}
    repaired = CliRunner().invoke(_cli(), ["apply", *args], env=env)
    assert repaired.exit_code == 0 and "~ view pe_bob.sales.orders" in repaired.output, repaired.output
    clean = CliRunner().invoke(_cli(), ["plan", "--check", *args], env=env)
    assert clean.exit_code == 0 and "No changes" in clean.output, clean.output
    assert _plan(native) == []


def test_a_window_closing_removes_views_and_a_new_key_replaces_the_pads(native) -> None:
    """Compiled before `reps-see-lead-scores` opens (2026-01-01) and with another key: bob, carol
    and judy lose their marketing.leads views, the key's pads change; applying the current plan
    again restores everything."""
    con, bob = native["con"], native["logins"]["bob"]
    earlier = _desired(con, native["engine"], key=b"rotated key", at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    drift = [str(c) for c in pg.plan_changes(earlier, pg.read_live(con, earlier))]
    for who in ("bob", "carol", "judy"):
        assert f"- view pe_{who}.marketing.leads  (no longer compiled)" in drift, drift
    assert any(c.startswith('~ hmac key') for c in drift) and not any(c.startswith("+") for c in drift), drift
    pg.apply(con, earlier)
    with pytest.raises(native["psycopg"].errors.UndefinedTable):
        bob.execute('SELECT * FROM "pe_bob"."marketing.leads"')
    assert pg.apply(con, native["desired"])  # back: the views and the key
    assert _plan(native) == []
    assert bob.execute('SELECT count(*) FROM "pe_bob"."marketing.leads"').fetchone()[0] > 0


def test_a_failed_apply_leaves_the_old_state_whole(native) -> None:
    """A fault half-way through an apply (here: a statement that fails between the creates of a
    second prefix's roles, schemas and views) rolls everything back."""
    con = native["con"]
    other = _desired(con, native["engine"], prefix="pe_other_", key=b"another key")
    changes = pg.plan_changes(other, pg.read_live(con, other))
    half = len(changes) // 2
    faulty = [*changes[:half], pg.Change("+", "fault", "injected", "", (("SELECT 1 / 0", ()),)), *changes[half:]]
    with pytest.raises(native["psycopg"].errors.DivisionByZero):
        pg.apply(con, other, faulty)
    assert not native["admin"].execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pe\\_other\\_%'").fetchall()
    assert _plan(native) == []  # the old key, views and grants are all still in place


def _cli() -> Any:
    from policyengine.cli import app
    return app


def test_a_consumers_cheap_function_never_sees_hidden_rows(native) -> None:
    """The classic view leak: a low-cost, non-leakproof function in a consumer's WHERE runs before
    the view's row filter unless the view is a security barrier. Control: the same view without
    the barrier leaks other regions' rows (the attack is real); the applied view leaks none."""
    admin = native["admin"]
    admin.execute("CREATE OR REPLACE FUNCTION public.pe_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 "
                  "AS $$ BEGIN RAISE NOTICE 'seen %', $1; RETURN true; END $$")
    admin.execute("GRANT EXECUTE ON FUNCTION public.pe_leak(text) TO PUBLIC")
    body = admin.execute("""SELECT pg_get_viewdef('"pe_bob"."sales.orders"'::regclass)""").fetchone()[0]
    admin.execute("DROP SCHEMA IF EXISTS pe_control CASCADE")
    admin.execute("CREATE SCHEMA pe_control")
    admin.execute("GRANT USAGE ON SCHEMA pe_control TO pe_bob")
    admin.execute(f"CREATE VIEW pe_control.orders AS {body}")  # no security_barrier
    admin.execute("GRANT SELECT ON pe_control.orders TO pe_bob")
    con = native["logins"]["bob"]
    seen: list[str] = []
    con.add_notice_handler(lambda d: seen.append(d.message_primary))
    try:
        con.execute("SELECT order_id FROM pe_control.orders WHERE public.pe_leak(region)").fetchall()
        control = set(seen)
        seen.clear()
        rows = con.execute('SELECT order_id FROM "pe_bob"."sales.orders" WHERE public.pe_leak(region)').fetchall()
    finally:
        admin.execute("DROP SCHEMA pe_control CASCADE")
        admin.execute("DROP FUNCTION public.pe_leak(text)")
    assert control - {"seen uk"}, "control: without the barrier the function should see other regions"
    assert rows and set(seen) == {"seen uk"}


def _on_native(sql: str, consumer: str) -> str:
    """A corpus attack (DuckDB SQL over product names) as the consumer would type it against its
    own views: products become its views, `pe_raw."<product>"` the base table."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="duckdb")
    for table in list(tree.find_all(exp.Table)):
        product = f"{table.db}.{table.name}" if table.db else table.name
        if table.db == "pe_raw":
            table.replace(exp.to_table(f'public."{source_name(table.name)}"', dialect="postgres"))
        elif product in PRODUCTS:
            alias = table.args.get("alias")
            new = exp.Table(this=exp.to_identifier(product, quoted=True),
                            db=exp.to_identifier(pg.DEFAULT_PREFIX + consumer, quoted=True))
            if alias is not None:
                new.set("alias", alias)
            table.replace(new)
    return tree.sql(dialect="postgres")


def test_the_leak_corpus_run_as_bob_returns_nothing_hidden(native, seed_tables) -> None:
    """Every attack of tests/enforce/leak_corpus, the ones the gateway refuses included (a native
    consumer has no allow-list in front of it), run as bob's login on his views: whatever runs or
    fails, neither rows nor error messages hold a value hidden from bob."""
    import sqlglot

    from tests.engines.test_leak_corpus_engines import ATTACKS, CONSUMER, _leaks, hidden_values

    hidden = frozenset().union(*hidden_values(native["engine"], seed_tables).values())
    con = native["logins"][CONSUMER]
    con.execute("SET statement_timeout = '5s'")
    ran = failed = untranslated = 0
    for attack in ATTACKS:
        try:
            sql = _on_native(attack.sql, CONSUMER)
        except (sqlglot.errors.ParseError, ValueError):
            untranslated += 1
            continue
        try:
            rows = con.execute(sql).fetchall()
            texts = [str(v) for row in rows for v in row if v is not None]
            ran += 1
        except native["psycopg"].Error as exc:
            texts = [str(exc)]
            failed += 1
        assert not _leaks(texts, hidden), f"{attack.klass}: {sql}"
    print(f"leak corpus on native views: {ran} ran, {failed} failed, {untranslated} not translated, "
          f"{len(hidden)} hidden values")
    assert ran >= 40 and len(hidden) >= 80, (ran, failed, untranslated, len(hidden))
