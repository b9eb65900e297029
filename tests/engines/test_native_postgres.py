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
        if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,)).fetchone():
            admin.execute(f'DROP OWNED BY "{login}"')  # what an earlier module's attacks made (large objects)
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


VIEWS = pg.Names(pg.DEFAULT_PREFIX).views


def _view(product: str) -> str:
    return f'"{VIEWS}"."{product}"'


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_each_consumer_reads_exactly_what_enforce_gives(native, seed_tables, consumer, product) -> None:
    decision = native["engine"].evaluate(consumer, product, at=AT)
    con = native["logins"][consumer]
    if decision.error or not decision.readable_columns:  # no privilege at all: nothing to read
        with pytest.raises((native["psycopg"].errors.InsufficientPrivilege, native["psycopg"].errors.UndefinedTable)):
            con.execute(f"SELECT count(*) FROM {_view(product)}")
        return
    table = seed_tables[source_name(product)]
    want = policyengine.enforce(table, decision, hash_key=KEY)
    want_rows = [tuple(r.values()) for r in want.to_pylist()]
    names = ", ".join(f'"{c}"' for c in want.column_names)
    cur = con.execute(f"SELECT {names} FROM {_view(product)}")
    cols = [d.name for d in cur.description]
    assert cols == list(want.column_names)
    diffs = differences(cols, cur.fetchall(), want_rows)
    assert not diffs, f"{consumer} on {product} disagrees with enforce():\n  " + "\n  ".join(diffs)
    errors = native["psycopg"].errors
    for denied in decision.denied_columns:  # a denied column is an error (no privilege or no column), never a null
        with pytest.raises((errors.InsufficientPrivilege, errors.UndefinedColumn)):
            con.execute(f'SELECT "{denied}" FROM {_view(product)}')


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_base_tables_mapping_tables_and_the_key_are_unreadable(native, consumer) -> None:
    con = native["logins"][consumer]
    errors = native["psycopg"].errors
    for product in PRODUCTS:
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute(f'SELECT * FROM public."{source_name(product)}" LIMIT 1')
    internal = pg.Names(pg.DEFAULT_PREFIX).internal
    for table in ("consumers", "access", pg.KEY_TABLE):
        with pytest.raises(errors.InsufficientPrivilege):
            con.execute(f'SELECT * FROM "{internal}"."{table}"')
    others = [c for c in CONSUMERS if c != consumer and pg.DEFAULT_PREFIX + c in native["desired"].roles]
    with pytest.raises(errors.InsufficientPrivilege):  # a consumer cannot take another's role
        con.execute(f'SET ROLE "{pg.DEFAULT_PREFIX}{others[0]}"')
    with pytest.raises(errors.InsufficientPrivilege):  # nor the owner's
        con.execute(f'SET ROLE "{pg.Names(pg.DEFAULT_PREFIX).owner}"')


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


def _class(native: dict[str, Any], consumer: str, product: str) -> int:
    internal = pg.Names(pg.DEFAULT_PREFIX).internal
    return native["admin"].execute(f'SELECT class FROM "{internal}".access WHERE role = %s AND product = %s',
                                   (pg.DEFAULT_PREFIX + consumer, product)).fetchone()[0]


def test_hand_edits_show_as_drift_and_apply_repairs_them(native) -> None:
    admin, view = native["admin"], _view("sales.orders")
    orders, payroll = f'public."{source_name("sales.orders")}"', f'public."{source_name("hr.payroll")}"'
    internal = pg.Names(pg.DEFAULT_PREFIX).internal
    customers = _view("sales.customers")
    body = admin.execute(f"SELECT pg_get_viewdef('{customers}'::regclass)").fetchone()[0].rstrip().rstrip(";")
    admin.execute(f"CREATE OR REPLACE VIEW {customers} WITH (security_barrier = true) AS {body} LIMIT 1000000")
    bob_class = _class(native, "bob", "sales.orders")
    admin.execute(f'ALTER POLICY "pe_class_{bob_class}" ON {orders} USING (true)')  # bob's row filter dropped
    admin.execute(f"CREATE POLICY pe_by_hand ON {payroll} AS RESTRICTIVE USING (true)")
    admin.execute(f"ALTER TABLE {payroll} NO FORCE ROW LEVEL SECURITY")
    admin.execute(f"UPDATE \"{internal}\".access SET params = '{{us}}' WHERE role = 'pe_carol' "
                  "AND product = 'sales.customers'")  # carol's attribute row edited
    admin.execute(f'GRANT SELECT ON {view} TO "pe_alice"')
    admin.execute(f'GRANT SELECT ("margin") ON {view} TO "pe_bob"')
    admin.execute(f'GRANT SELECT ("region") ON {payroll} TO "pe_dave"')
    admin.execute('GRANT "pe_frank" TO "pe_bob"')  # bob would read as frank
    admin.execute('REVOKE SELECT ("amount") ON "pe"."sales.orders" FROM "pe_carol"')
    drift = [str(c) for c in _plan(native)]
    expected = ["~ view pe.sales.customers  (edited by hand)",
                f'~ row policy pe_class_{bob_class} on "public"."pe_sales_orders"  (edited by hand)',
                '- row policy pe_by_hand on "public"."pe_hr_payroll"  (not compiled (made by hand?))',
                '~ row level security "public"."pe_hr_payroll"  (enabled and forced)',
                "- grant SELECT on pe.sales.orders to pe_alice  (not compiled)",
                "- membership pe_frank to pe_bob  (consumer roles are members of none, nothing of a consumer is in "
                "the owner role)"]
    missing = [line for line in expected if line not in drift]
    assert not missing, "\n".join(["missing:", *missing, "drift:", *drift])
    assert any(c.startswith('- grant "public"."pe_hr_payroll" to dave_login, pe_dave') for c in drift), drift
    assert not any("~ access pe_carol on sales.customers" in c for c in drift), drift  # 'us' is carol's own
    admin.execute(f"UPDATE \"{internal}\".access SET params = '{{eu}}' WHERE role = 'pe_carol' "
                  "AND product = 'sales.customers'")
    drift = [str(c) for c in _plan(native)]
    assert any(c.startswith("~ access pe_carol on sales.customers") for c in drift), drift
    assert any(c.startswith('- grant SELECT (margin) on pe.sales.orders to pe_bob') for c in drift), drift
    assert "+ grant column SELECT on pe.sales.orders  (missing)" in drift, drift
    assert not any("'eu'" in c or "{eu}" in c for c in drift)  # no attribute value in a message
    result = CliRunner().invoke(_cli(), ["plan", "--target", "postgres", "--dsn", native["uri"], "--check",
                                         "--table", TEMPLATE, "--at", AT.isoformat()],
                                env={"POLICYENGINE_HASH_KEY": KEY.decode()})
    assert result.exit_code == 1, result.output
    assert "edited by hand" in result.output and KEY.decode() not in result.output
    args = ["--target", "postgres", "--dsn", native["uri"], "--table", TEMPLATE, "--at", AT.isoformat()]
    env = {"POLICYENGINE_HASH_KEY": KEY.decode()}
    repaired = CliRunner().invoke(_cli(), ["apply", *args], env=env)
    assert repaired.exit_code == 0 and "~ view pe.sales.customers" in repaired.output, repaired.output
    clean = CliRunner().invoke(_cli(), ["plan", "--check", *args], env=env)
    assert clean.exit_code == 0 and "No changes" in clean.output, clean.output
    assert _plan(native) == []


def test_a_window_closing_removes_access_and_a_new_key_replaces_the_pads(native) -> None:
    """Compiled before `reps-see-lead-scores` opens (2026-01-01) and with another key: bob, carol
    and judy lose marketing.leads (their mapping rows, the view, its policies), the key's pads
    change; applying the current plan again restores everything."""
    con, bob = native["con"], native["logins"]["bob"]
    earlier = _desired(con, native["engine"], key=b"rotated key", at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    drift = [str(c) for c in pg.plan_changes(earlier, pg.read_live(con, earlier))]
    for who in ("bob", "carol", "judy"):
        assert f"- access pe_{who} on marketing.leads  (no longer compiled)" in drift, drift
    assert "- view pe.marketing.leads  (no longer compiled)" in drift, drift
    assert any(c.startswith('~ hmac key') for c in drift) and not any(c.startswith("+") for c in drift), drift
    pg.apply(con, earlier)
    with pytest.raises(native["psycopg"].errors.UndefinedTable):
        bob.execute(f'SELECT * FROM {_view("marketing.leads")}')
    assert pg.apply(con, native["desired"])  # back: the views and the key
    assert _plan(native) == []
    assert bob.execute(f'SELECT count(*) FROM {_view("marketing.leads")}').fetchone()[0] > 0


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


def test_an_apply_whose_connection_is_killed_half_way_leaves_the_old_state_whole(native) -> None:
    """The connection applying the plan is terminated by the server half-way (its own backend
    killed between two changes, as an operator's pg_terminate_backend would): nothing of the new
    plan is there, the old one is whole."""
    psycopg = native["psycopg"]
    victim = psycopg.connect(native["uri"])
    try:
        other = _desired(victim, native["engine"], prefix="pe_killed_", key=b"another key")
        changes = pg.plan_changes(other, pg.read_live(victim, other))
        half = len(changes) // 2
        kill = pg.Change("+", "fault", "killed", "", (("SELECT pg_terminate_backend(pg_backend_pid())", ()),))
        with pytest.raises(psycopg.OperationalError):
            pg.apply(victim, other, [*changes[:half], kill, *changes[half:]])
    finally:
        victim.close()
    admin = native["admin"]
    assert not admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pe\\_killed\\_%'").fetchall()
    assert not admin.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pe\\_killed%'").fetchall()
    assert not admin.execute("SELECT polname FROM pg_policy WHERE polname LIKE 'pe\\_killed\\_%'").fetchall()
    assert _plan(native) == []


def test_two_deployments_share_the_base_tables(native, seed_tables) -> None:
    """A second --role-prefix on the same base tables: each plan leaves the other's row policies
    alone (both empty after both applies) and bob reads the same through either."""
    con, admin = native["con"], native["admin"]
    two = _desired(con, native["engine"], prefix="pe_two_")
    try:
        pg.apply(con, two)
        assert pg.plan_changes(two, pg.read_live(con, two)) == []
        assert _plan(native) == []
        admin.execute('DROP ROLE IF EXISTS "bob_two_login"')
        admin.execute('CREATE ROLE "bob_two_login" LOGIN IN ROLE "pe_two_bob"')
        with native["psycopg"].connect(native["uri"], user="bob_two_login", autocommit=True) as bob_two:
            mine = sorted(native["logins"]["bob"].execute(f"SELECT order_id FROM {_view('sales.orders')}").fetchall())
            theirs = sorted(bob_two.execute('SELECT order_id FROM "pe_two"."sales.orders"').fetchall())
        assert mine and mine == theirs
    finally:
        admin.execute('DROP ROLE IF EXISTS "bob_two_login"')
        for base, name in admin.execute("SELECT polrelid::regclass::text, polname FROM pg_policy "
                                        "WHERE polname LIKE 'pe\\_two\\_%'").fetchall():
            admin.execute(f'DROP POLICY "{name}" ON {base}')
        admin.execute('DROP SCHEMA IF EXISTS "pe_two" CASCADE')
        admin.execute('DROP SCHEMA IF EXISTS "pe_two_policyengine" CASCADE')
        for (role,) in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pe\\_two\\_%'").fetchall():
            admin.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
            admin.execute(f'DROP ROLE "{role}"')
    assert _plan(native) == []


def _cli() -> Any:
    from policyengine.cli import app
    return app


def test_a_consumers_cheap_function_never_sees_hidden_rows(native) -> None:
    """The classic view leak: a low-cost, non-leakproof function in a consumer's WHERE runs before
    a view's row filter unless it is a security barrier. Control: a plain view filtering the same
    table leaks other regions' rows (the attack is real); through the native objects (row-level
    security's quals run first) the function sees bob's region only."""
    admin = native["admin"]
    admin.execute("CREATE OR REPLACE FUNCTION public.pe_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 "
                  "AS $$ BEGIN RAISE NOTICE 'seen %', $1; RETURN true; END $$")
    admin.execute("GRANT EXECUTE ON FUNCTION public.pe_leak(text) TO PUBLIC")
    admin.execute("DROP SCHEMA IF EXISTS pe_control CASCADE")
    admin.execute("CREATE SCHEMA pe_control")
    admin.execute("GRANT USAGE ON SCHEMA pe_control TO pe_bob")
    admin.execute(f'CREATE VIEW pe_control.orders AS SELECT order_id, region FROM public."{source_name("sales.orders")}" '
                  "WHERE region = 'uk'")  # no security_barrier, owned by a superuser
    admin.execute("GRANT SELECT ON pe_control.orders TO pe_bob")
    con = native["logins"]["bob"]
    seen: list[str] = []
    con.add_notice_handler(lambda d: seen.append(d.message_primary))
    try:
        con.execute("SELECT order_id FROM pe_control.orders WHERE public.pe_leak(region)").fetchall()
        control = set(seen)
        seen.clear()
        rows = con.execute(f'SELECT order_id FROM {_view("sales.orders")} WHERE public.pe_leak(region)').fetchall()
    finally:
        admin.execute("DROP SCHEMA pe_control CASCADE")
        admin.execute("DROP FUNCTION public.pe_leak(text)")
    assert control - {"seen uk"}, "control: without the barrier the function should see other regions"
    assert rows and set(seen) == {"seen uk"}


def _on_native(sql: str, consumer: str, readable: dict[str, list[str]] | None = None) -> str:
    """A corpus attack (DuckDB SQL over product names) as the consumer would type it against the
    native objects: products become their views (in SQL text inside string literals too, for the
    functions that run SQL text), `pe_raw."<product>"` the base table, and a bare `*` over one
    product the columns the consumer may read (`readable`; else `*` is a permission error for a
    consumer denied any column, and the attack would not exercise anything)."""
    import sqlglot
    from sqlglot import exp

    def product_sql(product: str) -> str:
        return f'"{VIEWS}"."{product}"'

    tree = sqlglot.parse_one(sql, read="duckdb")
    for node in list(tree.find_all(exp.Literal)):
        if node.is_string:
            text = node.this.replace('pe_raw."sales.orders"', f'public."{source_name("sales.orders")}"')
            for product in PRODUCTS:
                text = text.replace(product, product_sql(product))
            node.set("this", text)
    for table in list(tree.find_all(exp.Table)):
        product = f"{table.db}.{table.name}" if table.db else table.name
        if table.db == "pe_raw":
            table.replace(exp.to_table(f'public."{source_name(table.name)}"', dialect="postgres"))
        elif product in PRODUCTS:
            alias = table.args.get("alias")
            new = exp.Table(this=exp.to_identifier(product, quoted=True), db=exp.to_identifier(VIEWS, quoted=True))
            if alias is not None:
                new.set("alias", alias)
            table.replace(new)
    for select in list(tree.find_all(exp.Select)):
        sources = [t for t in select.find_all(exp.Table) if t.db == VIEWS and t.parent_select is select]
        stars = [e for e in select.expressions if isinstance(e, exp.Star)]
        if readable is None or len(sources) != 1 or not stars or sources[0].name not in readable:
            continue
        columns = [exp.column(c, quoted=True) for c in readable[sources[0].name]]
        select.set("expressions", [c for e in select.expressions
                                   for c in (columns if isinstance(e, exp.Star) else [e])])
    return tree.sql(dialect="postgres")


def _hidden_for(engine: Any, tables: dict[str, Any], consumer: str) -> frozenset[str]:
    """The distinctive raw texts `consumer` must never see (masked or denied cells, rows its
    filters hide), as tests/engines/test_leak_corpus_engines.py defines them for bob."""
    from tests.engines.test_leak_corpus_engines import _distinctive, _texts

    hidden: set[str] = set()
    shown: list[str] = []
    for product in engine.catalog.products:
        raw = tables[source_name(product)]
        decision = engine.evaluate(consumer, product, at=AT)
        for column, cd in decision.columns.items():
            if cd.effect != "allow" and column in raw.column_names:
                hidden.update(v for v in raw.column(column).to_pylist() if _distinctive(v))
        if decision.error or not decision.readable_columns:
            hidden.update(t for t in _texts(raw) if _distinctive(t))
            continue
        visible = policyengine.enforce(raw, decision, hash_key=KEY)
        shown.extend(_texts(visible))
        for column in visible.column_names:
            if column.endswith("_id"):
                seen = {str(v) for v in visible.column(column).to_pylist()}
                hidden.update(str(v) for v in raw.column(column).to_pylist() if _distinctive(v) and str(v) not in seen)
    everything_shown = "\n".join(shown)
    return frozenset(v for v in hidden if v not in everything_shown)


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_the_leak_corpus_run_as_each_consumer_returns_nothing_hidden(native, seed_tables, consumer) -> None:
    """Every attack of tests/enforce/leak_corpus, the ones the gateway refuses included (a native
    consumer has no allow-list in front of it), run as the consumer's login on the views: whatever
    runs or fails, neither rows nor error messages hold a value hidden from that consumer."""
    import sqlglot

    from tests.engines.test_leak_corpus_engines import ATTACKS, _leaks

    hidden = _hidden_for(native["engine"], seed_tables, consumer)
    readable = {p: list(d.readable_columns) for p in PRODUCTS
                if not (d := native["engine"].evaluate(consumer, p, at=AT)).error and d.readable_columns}
    con = native["logins"][consumer]
    con.execute("SET statement_timeout = '5s'")
    ran = failed = untranslated = 0
    for attack in ATTACKS:
        try:
            sql = _on_native(attack.sql, consumer, readable)
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
    print(f"leak corpus on native views as {consumer}: {ran} ran, {failed} failed, {untranslated} not translated, "
          f"{len(hidden)} hidden values")
    assert len(hidden) >= 50, len(hidden)
    if consumer == "bob":  # the corpus is written for bob's products: most of it runs
        assert ran >= 40, (ran, failed, untranslated)


def _attribute_literals(engine: Any, consumer: str) -> set[str]:
    """Every other consumer's string attribute values as SQL literals (`'us'`)."""
    out: set[str] = set()
    for who, c in engine.consumers.items():
        if who == consumer:
            continue
        for value in c.attributes.values():
            if isinstance(value, str):
                out.add("'" + value.replace("'", "''") + "'")
    return out


def test_no_consumer_reads_anothers_attributes_from_the_catalog(native) -> None:
    """The attack: bob reads what any role may print back (view definitions, row-level security
    policies, function bodies, comments) and looks for other consumers' attribute values (carol's
    region `'us'`, alice's `'eu'`). Attributes live in an owner-only mapping table, so none is there."""
    bob = native["logins"]["bob"]
    texts = [t for (t,) in bob.execute(
        "SELECT definition FROM pg_views UNION ALL "
        "SELECT coalesce(qual, '') || ' ' || coalesce(with_check, '') FROM pg_policies UNION ALL "
        "SELECT prosrc FROM pg_proc UNION ALL SELECT description FROM pg_description").fetchall() if t]
    assert any("region" in t for t in texts)  # the filters are there, by column name
    secrets = _attribute_literals(native["engine"], "bob")
    assert secrets >= {"'us'", "'eu'"}
    found = sorted({s for t in texts for s in secrets if s in t})
    assert not found, f"bob reads other consumers' attribute values in the catalog: {found}"


def test_a_session_setting_spoofs_no_attribute(native) -> None:
    """Never session variables: whatever bob SETs (a custom setting named like an attribute, a
    set_config, a search_path putting his own `consumers` and `access` tables and a fake
    pg_has_role first), he reads his own region's rows and no other."""
    bob = native["logins"]["bob"]
    view = _view("sales.orders")
    before = sorted(bob.execute(f"SELECT order_id, region FROM {view}").fetchall())
    assert before and {r for _, r in before} == {"uk"}
    bob.execute("SET policyengine.region = 'us'")
    bob.execute("SET pe.consumer = 'carol'")
    bob.execute("SELECT set_config('policyengine.consumer', 'carol', false), set_config('my.region', 'us', false)")
    bob.execute("CREATE TEMP TABLE consumers (role name)")
    bob.execute("CREATE TEMP TABLE access (role name, product text, class integer, params text[])")
    bob.execute("INSERT INTO pg_temp.access SELECT 'pe_bob', 'sales.orders', 1, ARRAY['us']")
    bob.execute("CREATE FUNCTION pg_temp.pg_has_role(name, name, text) RETURNS boolean LANGUAGE sql AS 'SELECT true'")
    bob.execute("SET search_path = pg_temp, public, pg_catalog")
    try:
        after = sorted(bob.execute(f"SELECT order_id, region FROM {view}").fetchall())
    finally:
        bob.execute("RESET ALL")
        bob.execute("DISCARD TEMP")
    assert after == before


def test_a_consumer_cannot_call_the_functions_for_another_role(native) -> None:
    """The SECURITY DEFINER functions take the role as an argument. Their schema is closed to
    consumers (the views and policies reference them by oid); were it opened by hand, bob may name
    his own login or role (his own values), never another's (an error, not a value)."""
    internal = pg.Names(pg.DEFAULT_PREFIX).internal
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    with pytest.raises(errors.InsufficientPrivilege):
        bob.execute(f"SELECT \"{internal}\".param(current_user, 'sales.orders', 1)")
    native["admin"].execute(f'GRANT USAGE ON SCHEMA "{internal}" TO pe_bob')
    try:
        _call_as_bob(bob, errors, internal)
    finally:
        native["admin"].execute(f'REVOKE USAGE ON SCHEMA "{internal}" FROM pe_bob')


def _call_as_bob(bob: Any, errors: Any, internal: str) -> None:
    assert bob.execute(f"SELECT \"{internal}\".param(current_user, 'sales.orders', 1)").fetchone()[0] == "uk"
    assert bob.execute(f"SELECT \"{internal}\".param('pe_bob', 'sales.orders', 1)").fetchone()[0] == "uk"
    for other in ("pe_carol", "carol_login", "alice_login", pg.Names(pg.DEFAULT_PREFIX).owner):
        for call in (f"param('{other}', 'sales.orders', 1)", f"class_of('{other}', 'sales.orders')"):
            with pytest.raises(errors.InsufficientPrivilege):
                bob.execute(f'SELECT "{internal}".{call}')
    functions = bob.execute("SELECT p.proname, pg_get_function_result(p.oid) FROM pg_proc p JOIN pg_namespace n "
                            "ON n.oid = p.pronamespace WHERE n.nspname = %s", (internal,)).fetchall()
    assert sorted(functions) == [("class_of", "integer"), ("param", "text")]


def test_a_login_mapped_to_two_consumers_reads_nothing(native) -> None:
    """Fail closed: a login role that is a member of two consumers' roles gets an error, not the
    union of their rows (nor either one's)."""
    admin, psycopg = native["admin"], native["psycopg"]
    admin.execute('DROP ROLE IF EXISTS "two_login"')
    admin.execute('CREATE ROLE "two_login" LOGIN IN ROLE "pe_bob", "pe_carol"')
    try:
        with (psycopg.connect(native["uri"], user="two_login", autocommit=True) as two,
              pytest.raises(psycopg.errors.InsufficientPrivilege, match="more than one consumer")):
            two.execute(f'SELECT order_id FROM {_view("sales.orders")}').fetchall()
    finally:
        admin.execute('DROP ROLE "two_login"')


def test_the_key_is_out_of_reach_of_every_consumer(native) -> None:
    """No consumer reads the pads: not the table, not a function body (pg_proc), not a view
    definition, not a comment; the views read the pads with the owner role's rights only."""
    ipad, opad = native["desired"].pads
    secrets = [KEY.hex(), ipad.hex(), opad.hex(), KEY.decode()]
    for consumer in CONSUMERS:
        con = native["logins"][consumer]
        texts = [t for (t,) in con.execute(
            "SELECT prosrc FROM pg_proc UNION ALL SELECT definition FROM pg_views UNION ALL "
            "SELECT coalesce(qual, '') FROM pg_policies UNION ALL SELECT description FROM pg_description "
            "UNION ALL SELECT array_to_string(proconfig, ',') FROM pg_proc WHERE proconfig IS NOT NULL") if t]
        assert not [t for t in texts if any(s in t for s in secrets)]
        with pytest.raises(native["psycopg"].errors.InsufficientPrivilege):
            con.execute(f'SELECT encode(ipad, \'hex\') FROM "{pg.Names(pg.DEFAULT_PREFIX).internal}".{pg.KEY_TABLE}')


def test_input_errors_exit_2_in_one_line(native, tmp_path) -> None:
    """Base tables that are not there (the default --table names sales.orders, not loaded here),
    a bad --table, a DSN that is not one: exit 2, one line, no traceback, nothing changed."""
    env = {"POLICYENGINE_HASH_KEY": KEY.decode()}
    cases = [(["--dsn", native["uri"]], "base table(s) missing"),
             (["--dsn", native["uri"], "--table", "{owner}.x"], "--table"),
             (["--dsn", "this is not = a dsn ="], "cannot connect")]
    for command in ("plan", "apply"):
        for args, message in cases:
            result = CliRunner().invoke(_cli(), [command, "--target", "postgres", "--at", AT.isoformat(), *args],
                                        env=env)
            assert result.exit_code == 2, (command, args, result.output)
            assert message in result.output and result.output.strip().count("\n") == 0, result.output
            assert "Traceback" not in result.output
    assert _plan(native) == []


LITERALS_POLICY = """scope domain sales

@name("reps-read-orders")
allow read sales.orders.{order_id, amount, region, status, created_at, shipped_on} to group:sales-reps;

@name("every-kind-of-literal")
filter sales.orders rows where (amount > 40.5 or amount < -1)
    and created_at >= 2024-03-10T07:30:00Z and shipped_on != 1999-01-01
    and status in ["shipped", "delivered", "pending"] and region != consumer.region
    to group:sales-reps;
"""


def test_every_kind_of_literal_reads_back_from_the_mapping_table(native, seed_tables, tmp_path) -> None:
    """A row filter with numbers, a negative, a timestamp, a date, a list and an attribute: each
    literal goes through `param` and a cast, and the consumer reads exactly enforce()'s rows."""
    (tmp_path / "sales.policy").write_text(LITERALS_POLICY, encoding="utf-8")
    engine = policyengine.load([str(tmp_path)], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    con, admin, psycopg = native["con"], native["admin"], native["psycopg"]
    desired = _desired(con, engine, prefix="pe_lit_")
    params = desired.access[("pe_lit_bob", "sales.orders")][1]
    assert len(params) >= 8 and "uk" in params, params
    try:
        pg.apply(con, desired)
        admin.execute('DROP ROLE IF EXISTS "bob_lit_login"')
        admin.execute('CREATE ROLE "bob_lit_login" LOGIN IN ROLE "pe_lit_bob"')
        decision = engine.evaluate("bob", "sales.orders", at=AT)
        want = policyengine.enforce(seed_tables[source_name("sales.orders")], decision, hash_key=KEY)
        names = ", ".join(f'"{c}"' for c in want.column_names)
        with psycopg.connect(native["uri"], user="bob_lit_login", autocommit=True) as bob:
            cur = bob.execute(f'SELECT {names} FROM "pe_lit"."sales.orders"')
            got = cur.fetchall()
        assert want.num_rows > 0 and want.num_rows < seed_tables[source_name("sales.orders")].num_rows
        diffs = differences(list(want.column_names), got, [tuple(r.values()) for r in want.to_pylist()])
        assert not diffs, diffs
    finally:
        admin.execute('DROP ROLE IF EXISTS "bob_lit_login"')
        for base, name in admin.execute("SELECT polrelid::regclass::text, polname FROM pg_policy "
                                        "WHERE polname LIKE 'pe\\_lit\\_%'").fetchall():
            admin.execute(f'DROP POLICY "{name}" ON {base}')
        admin.execute('DROP SCHEMA IF EXISTS "pe_lit" CASCADE')
        admin.execute('DROP SCHEMA IF EXISTS "pe_lit_policyengine" CASCADE')
        for (role,) in admin.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pe\\_lit\\_%'").fetchall():
            admin.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
            admin.execute(f'DROP ROLE "{role}"')
    assert _plan(native) == []


def test_objects_of_the_earlier_per_consumer_design_are_dropped(native) -> None:
    """An earlier version made one schema per consumer (views with attribute values substituted,
    owned by the applying role, so row-level security would not apply through them) and a
    `policyengine_keys` schema: plan lists them, apply drops them."""
    admin = native["admin"]
    admin.execute('CREATE SCHEMA "pe_legacy_bob"')
    admin.execute("""COMMENT ON SCHEMA "pe_legacy_bob" IS 'managed by policyengine'""")
    admin.execute(f'CREATE VIEW "pe_legacy_bob".orders AS SELECT order_id FROM public."{source_name("sales.orders")}" '
                  "WHERE region = 'uk'")
    admin.execute('GRANT USAGE ON SCHEMA "pe_legacy_bob" TO pe_bob')
    admin.execute('GRANT SELECT ON "pe_legacy_bob".orders TO pe_bob')
    admin.execute('CREATE SCHEMA "policyengine_keys"')
    admin.execute("""COMMENT ON SCHEMA "policyengine_keys" IS 'managed by policyengine key'""")
    drift = [str(c) for c in _plan(native)]
    assert [c for c in drift if c.startswith("- schema pe_legacy_bob")], drift
    assert [c for c in drift if c.startswith("- schema policyengine_keys")], drift
    pg.apply(native["con"], native["desired"])
    assert not admin.execute("SELECT nspname FROM pg_namespace WHERE nspname IN ('pe_legacy_bob', "
                             "'policyengine_keys')").fetchall()
    assert _plan(native) == []
