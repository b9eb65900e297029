"""Attack round on the native PostgreSQL objects (issue 22): a consumer logged in through its
mapped login role tries to read what `enforce()` would not give it, or to learn a hidden value,
through everything PostgreSQL lets any role do: its own functions in `pg_temp`, error messages,
`EXPLAIN`, planner statistics, the statistics views, `COPY`, role switching, server files.

Each test is one attack. Those that find nothing keep passing as regression tests; those that
find a hole PostgreSQL gives us no local way to close are `xfail(strict=True)` with the reason
(docs/native.md, "Attack round"). Reuses the applied example mesh of test_native_postgres.py.
"""

# ruff: noqa: F811  (`native`, the applied mesh, is the fixture imported below)
from __future__ import annotations

import json
from typing import Any

import pytest

from policyengine.native import postgres as pg
from tests.engines.conftest import source_name
from tests.engines.test_native_postgres import _view, native  # noqa: F401

pytestmark = pytest.mark.engines

ORDERS = "sales.orders"
INTERNAL = pg.Names(pg.DEFAULT_PREFIX).internal
OWNER = pg.Names(pg.DEFAULT_PREFIX).owner


def _base(product: str) -> str:
    return f'public."{source_name(product)}"'


def _hidden_regions(native: dict[str, Any]) -> set[str]:
    """The regions of sales.orders rows bob may not see (his filter keeps `uk`)."""
    rows = native["admin"].execute(f"SELECT DISTINCT region FROM {_base(ORDERS)} WHERE region IS NOT NULL")
    hidden = {r for (r,) in rows} - {"uk"}
    assert hidden, "the seed must hold rows bob may not see"
    return hidden


def _notices(con: Any) -> list[str]:
    seen: list[str] = []
    con.add_notice_handler(lambda d: seen.append(d.message_primary))
    return seen


def test_a_temp_function_in_where_sees_only_visible_rows_and_masked_values(native) -> None:
    """bob's own non-leakproof, near-free function in `pg_temp` (the one schema every role may
    create in), called on an allowed column and on a masked one in WHERE: it sees uk rows only
    and the masked column as bob reads it, never the raw value."""
    bob = native["logins"]["bob"]
    bob.execute("CREATE OR REPLACE FUNCTION pg_temp.peek(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 "
                "AS $$ BEGIN RAISE NOTICE 'seen %', $1; RETURN true; END $$")
    seen = _notices(bob)
    visible = {r for (r,) in bob.execute(f'SELECT customer_email FROM {_view(ORDERS)}')}
    regions = bob.execute(f'SELECT region FROM {_view(ORDERS)} WHERE pg_temp.peek(region)').fetchall()
    assert regions and seen and set(seen) <= {"seen uk", "seen <NULL>"}
    seen.clear()
    bob.execute(f'SELECT 1 FROM {_view(ORDERS)} WHERE pg_temp.peek(customer_email)').fetchall()
    raw = {r for (r,) in native["admin"].execute(f"SELECT customer_email FROM {_base(ORDERS)}") if r}
    assert seen and {s.removeprefix("seen ") for s in seen} <= {str(v) if v is not None else "<NULL>" for v in visible}
    assert not raw & {s.removeprefix("seen ") for s in seen} - {str(v) for v in visible}


def test_a_consumer_cannot_declare_its_function_leakproof(native) -> None:
    """Only a superuser may mark a function LEAKPROOF (what would let the planner push it below
    the row-level security quals)."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    with pytest.raises(errors.InsufficientPrivilege):
        bob.execute("CREATE FUNCTION pg_temp.sneak(text) RETURNS boolean LANGUAGE sql LEAKPROOF "
                    "AS $$ SELECT true $$")


def test_a_temp_operator_in_where_sees_only_visible_rows(native) -> None:
    """An operator of bob's own (over a leaky function) used like `=` in WHERE: same as a function."""
    bob = native["logins"]["bob"]
    bob.execute("CREATE OR REPLACE FUNCTION pg_temp.eq_peek(text, text) RETURNS boolean LANGUAGE plpgsql "
                "COST 0.0000001 AS $$ BEGIN RAISE NOTICE 'seen %', $1; RETURN $1 = $2; END $$")
    bob.execute("DROP OPERATOR IF EXISTS pg_temp.=== (text, text)")
    bob.execute("CREATE OPERATOR pg_temp.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_temp.eq_peek)")
    seen = _notices(bob)
    bob.execute(f"SELECT 1 FROM {_view(ORDERS)} WHERE region OPERATOR(pg_temp.===) 'us'").fetchall()
    assert seen and set(seen) <= {"seen uk"}


@pytest.mark.parametrize("predicate", [
    "1 / (CASE WHEN region IS DISTINCT FROM 'uk' THEN 0 ELSE 1 END) = 1",  # division by zero on a hidden row
    "(CASE WHEN region IS DISTINCT FROM 'uk' THEN region || ' hidden' ELSE '1' END)::integer = 1",  # cast error
    "(CASE WHEN region IS DISTINCT FROM 'uk' THEN amount::text ELSE '1' END)::integer > 0",
])
def test_an_error_oracle_never_fires_on_a_hidden_row(native, predicate) -> None:
    """An expression that raises (with the value in its message) on any row bob may not see:
    row-level security's quals run first, so no hidden row reaches it and nothing is raised."""
    bob = native["logins"]["bob"]
    assert bob.execute(f"SELECT count(*) FROM {_view(ORDERS)} WHERE {predicate}").fetchone()[0] > 0
    with pytest.raises(native["psycopg"].DataError):  # control: on the base table it fires
        native["admin"].execute(f"SELECT count(*) FROM {_base(ORDERS)} WHERE {predicate}")


def test_the_statistics_views_show_no_base_column(native) -> None:
    """`pg_stats` (most_common_vals, histograms), `pg_stats_ext` and `pg_statistic` itself give bob
    nothing of a base table, even right after ANALYZE."""
    native["admin"].execute(f"ANALYZE {_base(ORDERS)}")
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    tables = [source_name(p) for p in native["engine"].catalog.products]
    rows = bob.execute("SELECT tablename, attname, most_common_vals::text FROM pg_stats WHERE tablename = ANY(%s)",
                       (tables,)).fetchall()
    assert rows == []
    assert bob.execute("SELECT count(*) FROM pg_stats_ext WHERE tablename = ANY(%s)", (tables,)).fetchone()[0] == 0
    with pytest.raises(errors.InsufficientPrivilege):
        bob.execute("SELECT stavalues1::text FROM pg_statistic LIMIT 1")


def _estimate(con: Any, sql: str, params: tuple[Any, ...] = ()) -> float:
    plan = con.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


def test_planner_estimates_reveal_nothing_of_hidden_rows(native) -> None:
    """The planner's estimate for `region = <value>` on bob's view is the same for a region only
    hidden rows hold and for a region no row holds: the base column's most common values (which
    bob may not read in pg_stats) do not come back through `EXPLAIN`'s row estimates. Failed
    (11 rows estimated for `eu`, 1 for an absent region) while the views exposed readable columns
    as the bare base column: PostgreSQL estimates leakproof operators from the statistics whatever
    row-level security hides, and the leakproof `=` is pushed through the barrier."""
    native["admin"].execute(f"ANALYZE {_base(ORDERS)}")
    bob = native["logins"]["bob"]
    sql = f"SELECT order_id FROM {_view(ORDERS)} WHERE region = %s"
    absent = _estimate(bob, sql, ("no such region",))
    for region in sorted(_hidden_regions(native)):
        assert _estimate(bob, sql, (region,)) == absent, f"EXPLAIN tells {region} rows exist"


ROW_COUNTS = ("PostgreSQL shows every role a table's size: EXPLAIN ANALYZE's 'Rows Removed by Filter' "
              "on the base table's scan, pg_class.reltuples, pg_stat_user_tables.n_live_tup; no "
              "privilege hides them (docs/native.md, Attack round)")


@pytest.mark.xfail(strict=True, reason=ROW_COUNTS)
def test_explain_analyze_hides_how_many_rows_the_filter_removed(native) -> None:
    bob = native["logins"]["bob"]
    plan = bob.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT order_id FROM {_view(ORDERS)}").fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)

    def removed(node: dict[str, Any]) -> int:
        return int(node.get("Rows Removed by Filter", 0)) + sum(removed(n) for n in node.get("Plans", []))

    assert removed(plan[0]["Plan"]) == 0


@pytest.mark.xfail(strict=True, reason=ROW_COUNTS)
def test_the_catalogs_hide_a_base_tables_row_count(native) -> None:
    native["admin"].execute(f"ANALYZE {_base(ORDERS)}")
    bob = native["logins"]["bob"]
    table = source_name(ORDERS)
    counts = bob.execute("SELECT c.reltuples, s.n_live_tup FROM pg_class c LEFT JOIN pg_stat_user_tables s "
                         "ON s.relid = c.oid WHERE c.relname = %s", (table,)).fetchall()
    assert all(r == -1 and n in (None, 0) for r, n in counts)


def test_copy_reads_no_more_than_select(native) -> None:
    """`COPY` of the base table, of the whole view (margin is denied to bob) and `COPY ... TO
    PROGRAM`/a server file: all refused; `COPY (SELECT ...)` of bob's columns gives his rows."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    for sql in (f"COPY {_base(ORDERS)} TO STDOUT", f"COPY {_view(ORDERS)} TO STDOUT",
                f"COPY (SELECT order_id FROM {_view(ORDERS)}) TO PROGRAM 'cat'",
                f"COPY (SELECT order_id FROM {_view(ORDERS)}) TO '/tmp/pe-attack-copy'"):
        with pytest.raises(errors.InsufficientPrivilege), bob.cursor().copy(sql) as copy:
            list(copy)
    with bob.cursor().copy(f"COPY (SELECT region FROM {_view(ORDERS)}) TO STDOUT") as copy:
        regions = {bytes(b).decode() for b in copy}
    assert regions and {r.strip() for r in regions} <= {"uk", "\\N"}


def test_server_files_large_objects_and_settings_hold_nothing_for_a_consumer(native) -> None:
    """pg_read_file / pg_ls_dir / lo_import / pg_read_binary_file need a role bob is not in; the
    settings bob may read hold neither the key nor an attribute."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    for sql in ("SELECT pg_read_file('postgresql.auto.conf')", "SELECT pg_ls_dir('.')",
                "SELECT pg_read_binary_file('global/pg_control')", "SELECT lo_import('/etc/passwd')",
                "SELECT pg_stat_file('postgresql.conf')"):
        with pytest.raises(errors.InsufficientPrivilege):
            bob.execute(sql)
    ipad, opad = native["desired"].pads
    texts = [f"{n}={v}" for n, v in bob.execute("SELECT name, setting FROM pg_settings")]
    assert not [t for t in texts if ipad.hex() in t or opad.hex() in t or "k3y" in t]
    secret = native["admin"].execute("SELECT lo_from_bytea(0, 'a large object of the owner')").fetchone()[0]
    try:
        with pytest.raises(errors.InsufficientPrivilege):  # lo_compat_privileges is off
            bob.execute("SELECT lo_get(%s)", (secret,))
    finally:
        native["admin"].execute("SELECT lo_unlink(%s)", (secret,))


def test_role_switching_reaches_no_other_rights(native) -> None:
    """`SET SESSION AUTHORIZATION` (superuser only), `SET ROLE` to the owner, another consumer or
    the login of another consumer, and `RESET ROLE` after a refused switch: bob stays bob."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    for target in (OWNER, "pe_carol", "carol_login", "postgres"):
        with pytest.raises(errors.InsufficientPrivilege):
            bob.execute(f'SET SESSION AUTHORIZATION "{target}"')
        with pytest.raises(errors.InsufficientPrivilege):
            bob.execute(f'SET ROLE "{target}"')
    bob.execute("RESET ROLE")
    assert {r for (r,) in bob.execute(f'SELECT region FROM {_view(ORDERS)}')} <= {"uk", None}


def test_a_consumer_creates_nothing_outside_its_temp_schema(native) -> None:
    """The places a consumer could plant a function or table for the views, the row policies, the
    SECURITY DEFINER functions or an `apply` to pick up: `public` (no CREATE since PostgreSQL 15),
    the managed schemas, a schema of its own."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    for sql in ("CREATE FUNCTION public.lower(character varying) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$",
                "CREATE TABLE public.pe_trap (x int)",
                f'CREATE FUNCTION "{pg.Names(pg.DEFAULT_PREFIX).views}".f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
                f'CREATE TABLE "{INTERNAL}".consumers2 (x int)',
                "CREATE SCHEMA pe_bobs"):
        with pytest.raises(errors.InsufficientPrivilege):
            bob.execute(sql)


def test_temp_objects_shadow_nothing_the_views_and_policies_read(native) -> None:
    """bob's `pg_temp` first on the search_path with a table named like each relation the views,
    row policies and functions read, and functions named like theirs: his rows and masks stay
    exactly what they were (every name is bound by oid when the objects are made)."""
    bob = native["logins"]["bob"]
    cols = "order_id, customer_email, region, amount"
    before = sorted(bob.execute(f"SELECT {cols} FROM {_view(ORDERS)}").fetchall(), key=repr)
    for table in ("consumers", "access", pg.KEY_TABLE, source_name(ORDERS)):
        bob.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{table}" (role name, product text, class int, '
                    "params text[], ipad bytea, opad bytea, region text)")
    for fn in ("class_of(name, text) RETURNS integer AS $$ SELECT 0 $$",
               "param(name, text, integer) RETURNS text AS $$ SELECT 'us'::text $$",
               "sha256(bytea) RETURNS bytea AS $$ SELECT '\\x00'::bytea $$",
               "current_user() RETURNS name AS $$ SELECT 'pe_carol'::name $$"):
        bob.execute(f"CREATE OR REPLACE FUNCTION pg_temp.{fn.split(' RETURNS')[0]} RETURNS "
                    f"{fn.split(' RETURNS ')[1].split(' AS ')[0]} LANGUAGE sql AS {fn.split(' AS ', 1)[1]}")
    bob.execute("SET search_path = pg_temp, public, pg_catalog")
    try:
        after = sorted(bob.execute(f"SELECT {cols} FROM {_view(ORDERS)}").fetchall(), key=repr)
    finally:
        bob.execute("RESET search_path")
    assert after == before


def test_a_login_with_its_own_grant_on_a_base_table_shows_as_drift(native) -> None:
    """A login mapped to a consumer that an administrator also grants a base table reads it
    directly (PostgreSQL cannot forbid that): `plan --check` reports the grant and `apply`
    revokes it; until then row-level security still holds the login to its consumer's rows."""
    admin, bob = native["admin"], native["logins"]["bob"]
    admin.execute(f'GRANT SELECT ON {_base(ORDERS)} TO "bob_login"')
    try:
        regions = {r for (r,) in bob.execute(f"SELECT region FROM {_base(ORDERS)}")}
        assert regions <= {"uk", None}  # forced RLS: bob_login is a member of pe_bob, a consumer
        changes = pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"]))
        assert any(str(c).startswith(f'- grant "public"."{source_name(ORDERS)}" to bob_login') for c in changes), \
            [str(c) for c in changes]
        pg.apply(native["con"], native["desired"])
        with pytest.raises(native["psycopg"].errors.InsufficientPrivilege):
            bob.execute(f"SELECT region FROM {_base(ORDERS)}")
    finally:
        admin.execute(f'REVOKE ALL ON {_base(ORDERS)} FROM "bob_login"')


def test_the_hmac_is_keyed_on_nothing_a_consumer_chooses(native) -> None:
    """bob cannot get the views to hash a value he picks (no function takes one), nor call the
    functions at all (no USAGE on their schema), nor find the pads in any plan he can EXPLAIN."""
    bob, errors = native["logins"]["bob"], native["psycopg"].errors
    with pytest.raises(errors.InsufficientPrivilege):
        bob.execute(f'SELECT "{INTERNAL}".class_of(current_user, %s)', (ORDERS,))
    ipad, opad = native["desired"].pads
    for product in native["engine"].catalog.products:
        try:
            plan = bob.execute(f"EXPLAIN (VERBOSE, ANALYZE, FORMAT TEXT) SELECT * FROM {_view(product)}").fetchall()
        except (errors.InsufficientPrivilege, errors.UndefinedTable):
            continue
        text = "\n".join(r[0] for r in plan)
        assert ipad.hex() not in text and opad.hex() not in text and "k3y" not in text


def test_an_expression_column_would_close_the_estimate_oracle(native) -> None:
    """The fix (now in the views) shown on a control view (same owner role, barrier and
    row-level security as the native view): `region` exposed as `COALESCE(region, region)`, an
    expression with no function call (so bob's leakproof `=` is still pushed down) that has no
    statistics: the estimate for a hidden region equals the one for an absent region."""
    admin = native["admin"]
    admin.execute(f"ANALYZE {_base(ORDERS)}")
    admin.execute("DROP SCHEMA IF EXISTS pe_control CASCADE")
    admin.execute("CREATE SCHEMA pe_control")
    admin.execute("GRANT USAGE ON SCHEMA pe_control TO pe_bob")
    admin.execute(f"CREATE VIEW pe_control.orders WITH (security_barrier = true) AS SELECT order_id, "
                  f"COALESCE(region, region) AS region FROM {_base(ORDERS)}")
    admin.execute(f'ALTER VIEW pe_control.orders OWNER TO "{OWNER}"')
    admin.execute("GRANT SELECT ON pe_control.orders TO pe_bob")
    bob = native["logins"]["bob"]
    try:
        sql = "SELECT order_id FROM pe_control.orders WHERE region = %s"
        assert {r for (r,) in bob.execute("SELECT region FROM pe_control.orders")} <= {"uk", None}
        absent = _estimate(bob, sql, ("no such region",))
        assert all(_estimate(bob, sql, (r,)) == absent for r in _hidden_regions(native))
    finally:
        admin.execute("DROP SCHEMA pe_control CASCADE")


@pytest.mark.parametrize("inherit", ["TRUE", "FALSE"])
def test_a_login_that_can_set_role_to_a_base_table_reader_shows_as_drift(native, inherit) -> None:
    """bob's login is also granted a pipeline role that reads a base table (with or without
    inheriting its privileges: without, `SET ROLE` still reaches them and that role is no
    consumer, so row-level security lets it read every row). `plan` reports the membership,
    `apply` revokes it. Failed before: with `INHERIT FALSE` the plan was empty (it asked
    has_table_privilege of the login only), with `INHERIT TRUE` apply revoked a grant the login
    never had (the privilege was the pipeline role's) and its final check rolled back."""
    admin, bob = native["admin"], native["logins"]["bob"]
    admin.execute('DROP ROLE IF EXISTS "pe_attack_pipeline"')
    admin.execute('CREATE ROLE "pe_attack_pipeline" NOLOGIN')
    admin.execute(f'GRANT SELECT ON {_base(ORDERS)} TO "pe_attack_pipeline"')
    admin.execute(f'GRANT "pe_attack_pipeline" TO "bob_login" WITH INHERIT {inherit}')
    try:
        bob.execute('SET ROLE "pe_attack_pipeline"')
        leaked = {r for (r,) in bob.execute(f"SELECT region FROM {_base(ORDERS)}")}
        bob.execute("RESET ROLE")
        assert leaked - {"uk", None}, "the attack is real: the pipeline role reads every region"
        changes = [str(c) for c in pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"]))]
        assert "- membership pe_attack_pipeline to bob_login  (a consumer's role or login reaches a role that " \
            "can read a base or internal table)" in changes, changes
        pg.apply(native["con"], native["desired"])
        with pytest.raises(native["psycopg"].errors.InsufficientPrivilege):
            bob.execute('SET ROLE "pe_attack_pipeline"')
        assert pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"])) == []
    finally:
        bob.execute("RESET ROLE")
        admin.execute(f'REVOKE ALL ON {_base(ORDERS)} FROM "pe_attack_pipeline"')
        admin.execute('DROP ROLE "pe_attack_pipeline"')


def test_a_membership_that_neither_sets_nor_inherits_is_no_drift(native) -> None:
    """`WITH INHERIT FALSE, SET FALSE` (PostgreSQL 16+) gives the login nothing of the role:
    `SET ROLE` is refused and the plan stays empty (no false alarm)."""
    admin, bob = native["admin"], native["logins"]["bob"]
    admin.execute('DROP ROLE IF EXISTS "pe_attack_pipeline"')
    admin.execute('CREATE ROLE "pe_attack_pipeline" NOLOGIN')
    admin.execute(f'GRANT SELECT ON {_base(ORDERS)} TO "pe_attack_pipeline"')
    admin.execute('GRANT "pe_attack_pipeline" TO "bob_login" WITH INHERIT FALSE, SET FALSE')
    try:
        with pytest.raises(native["psycopg"].errors.InsufficientPrivilege):
            bob.execute('SET ROLE "pe_attack_pipeline"')
        assert pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"])) == []
    finally:
        admin.execute(f'REVOKE ALL ON {_base(ORDERS)} FROM "pe_attack_pipeline"')
        admin.execute('DROP ROLE "pe_attack_pipeline"')


def test_a_login_that_can_set_role_to_a_superuser_shows_as_drift(native) -> None:
    """A superuser role granted to bob's login (not inherited: superuser never is): `SET ROLE`
    makes bob a superuser. `plan` reports the membership, `apply` revokes it."""
    admin, bob = native["admin"], native["logins"]["bob"]
    admin.execute('DROP ROLE IF EXISTS "pe_attack_super"')
    admin.execute('CREATE ROLE "pe_attack_super" NOLOGIN SUPERUSER')
    admin.execute('GRANT "pe_attack_super" TO "bob_login"')
    try:
        changes = [str(c) for c in pg.plan_changes(native["desired"], pg.read_live(native["con"], native["desired"]))]
        assert any(c.startswith("- membership pe_attack_super to bob_login") for c in changes), changes
        pg.apply(native["con"], native["desired"])
        with pytest.raises(native["psycopg"].errors.InsufficientPrivilege):
            bob.execute('SET ROLE "pe_attack_super"')
    finally:
        bob.execute("RESET ROLE")
        admin.execute('DROP ROLE "pe_attack_super"')


def test_other_sessions_queries_are_hidden_from_a_consumer(native) -> None:
    """`pg_stat_activity`: bob sees no other role's query text (the administrator's apply, another
    consumer's query with its literals)."""
    carol = native["logins"]["carol"]
    carol.execute("SELECT 'carol was here' AS marker").fetchall()
    bob = native["logins"]["bob"]
    texts = [q for (q,) in bob.execute("SELECT query FROM pg_stat_activity WHERE usename IS DISTINCT FROM "
                                       "current_user AND query IS NOT NULL")]
    assert texts and not [t for t in texts if t and t != "<insufficient privilege>"]


def test_range_estimates_reveal_nothing_of_hidden_rows(native) -> None:
    """A range on an allowed number estimates the same below and above every value (with the
    bare column the histogram gave ~all rows for one and ~none for the other)."""
    native["admin"].execute(f"ANALYZE {_base(ORDERS)}")
    bob = native["logins"]["bob"]
    sql = f"SELECT order_id FROM {_view(ORDERS)} WHERE amount > %s"
    assert _estimate(bob, sql, (-1e12,)) == _estimate(bob, sql, (1e12,))
