"""A real Trino asking `policyengine serve` through its OPA access-control plugin.

The session fixture `trino_stack` (tests/engines/conftest.py, tests/engines/trino_server.py)
starts the pinned Trino with `access-control.name=opa` pointing at serve, the example mesh's seed
data (tests/engines/seed.py: sample heads plus hostile rows) in the memory catalog `lakehouse`,
users' groups from Trino's file group provider. Every result read through Trino is compared, cell
by cell, with what `policyengine.enforce()` returns for the same decision on the same rows.
"""

from __future__ import annotations

import pytest

import policyengine
from policyengine.catalog.consumers import Consumer
from tests.engines import seed
from tests.engines.conftest import ZONES, differences
from tests.engines.test_conformance import CONSUMERS, PRODUCTS, _load_mesh
from tests.engines.trino_server import CATALOG, product_table

pytestmark = pytest.mark.trino


def _rows(stack, user: str, sql: str, **kwargs) -> tuple[list[str], list[tuple]]:
    con = stack.connect(user, **kwargs)
    try:
        cur = con.cursor()
        cur.execute(sql)
        rows = [tuple(r) for r in cur.fetchall()]
        return [d[0] for d in cur.description], rows
    finally:
        con.close()


def test_trino_asks_serve(trino_stack) -> None:
    """Smoke: a known consumer reads through Trino; serve answered the plugin's requests."""
    cols, rows = _rows(trino_stack, "bob", "SELECT order_id FROM lakehouse.sales.orders")
    assert cols == ["order_id"] and rows
    assert 'route="/v1/trino/allow"' in trino_stack.serve.metrics()


# ---------------------------------------------------------------- conformance, cell by cell



@pytest.fixture(scope="module")
def mesh():
    return _load_mesh()


@pytest.fixture(scope="module")
def tables():
    return seed.mesh_tables()


def _name(product: str) -> str:
    schema, table = product_table(product)
    return f'{CATALOG}."{schema}"."{table}"'


def _denied(stack, user: str, sql: str, **kwargs) -> str:
    """Run `sql`, expecting Trino to refuse it; its message."""
    import trino

    try:
        _rows(stack, user, sql, **kwargs)
    except trino.exceptions.TrinoUserError as exc:
        return f"{exc.error_name}: {exc.message}"
    raise AssertionError(f"{user} ran {sql!r}, which must be refused")


def _readable(decision) -> list[str]:
    return [] if decision.error else list(decision.readable_columns)


def _want(tables, product: str, decision) -> tuple[list[str], list[tuple]]:
    result = policyengine.enforce(tables[product], decision, hash_key=None, allow_unkeyed_hash=True)
    return list(result.column_names), [tuple(r.values()) for r in result.to_pylist()]


def _compare(label: str, got: tuple[list[str], list[tuple]], want: tuple[list[str], list[tuple]]) -> list[str]:
    if got[0] != want[0]:
        return [f"{label}: columns {got[0]}, enforce() has {want[0]}"]
    return [f"{label}: {d}" for d in differences(got[0], got[1], want[1])]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("consumer", CONSUMERS)
def test_select_star_agrees_with_enforce(trino_stack, mesh, tables, consumer, zone) -> None:
    """Every product as `consumer`: SELECT * through Trino is enforce()'s result; a product the
    consumer reads nothing of is refused (hidden)."""
    problems: list[str] = []
    for product in PRODUCTS:
        decision = mesh.evaluate(consumer, product)
        sql = f"SELECT * FROM {_name(product)}"
        if not _readable(decision):
            _denied(trino_stack, consumer, sql, zone=zone)
            continue
        got = _rows(trino_stack, consumer, sql, zone=zone)
        problems += _compare(f"{consumer} {product} ({zone})", got, _want(tables, product, decision))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_columns_one_by_one(trino_stack, mesh, tables, consumer) -> None:
    """Readable columns in reverse order agree with enforce(); every denied column, asked for
    alone, fails with Trino's access-denied error (never a NULL column)."""
    problems: list[str] = []
    for product in PRODUCTS:
        decision = mesh.evaluate(consumer, product)
        readable = _readable(decision)
        if readable:
            picked = list(reversed(readable))
            got = _rows(trino_stack, consumer, "SELECT " + ", ".join(f'"{c}"' for c in picked)
                        + f" FROM {_name(product)}")
            cols, rows = _want(tables, product, decision)
            order = [cols.index(c) for c in picked]
            problems += _compare(f"{consumer} {product}", got, (picked, [tuple(r[i] for i in order) for r in rows]))
        for column in tables[product].column_names:
            if column in readable:
                continue
            message = _denied(trino_stack, consumer, f'SELECT "{column}" FROM {_name(product)}')
            if readable and not message.startswith("PERMISSION_DENIED"):
                problems.append(f"{consumer} {product}.{column}: {message}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- metadata: exactly what may be read


def _visible(mesh, consumer: str) -> dict[str, list[str]]:
    """product -> the columns `consumer` may read (products with none left out)."""
    out = {}
    for product in PRODUCTS:
        readable = _readable(mesh.evaluate(consumer, product))
        if readable:
            out[product] = readable
    return out


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_metadata_shows_exactly_what_is_readable(trino_stack, mesh, tables, consumer) -> None:
    visible = _visible(mesh, consumer)
    schemas = {product_table(p)[0] for p in visible}
    if not visible:  # nothing readable: not even the catalog
        for sql in (f"SHOW SCHEMAS FROM {CATALOG}", f"SHOW TABLES FROM {CATALOG}.sales",
                    f"SELECT * FROM {CATALOG}.information_schema.columns",
                    f"SHOW COLUMNS FROM {CATALOG}.sales.orders"):
            _denied(trino_stack, consumer, sql)
        _, rows = _rows(trino_stack, consumer, "SHOW CATALOGS")
        assert rows == []
        return
    _, rows = _rows(trino_stack, consumer, f"SHOW SCHEMAS FROM {CATALOG}")
    assert {r[0] for r in rows} == schemas | ({"information_schema"} if schemas else set())
    for schema in sorted({product_table(p)[0] for p in PRODUCTS}):
        want = {product_table(p)[1] for p in visible if product_table(p)[0] == schema}
        if schema not in schemas:
            _denied(trino_stack, consumer, f'SHOW TABLES FROM {CATALOG}."{schema}"')
            continue
        _, rows = _rows(trino_stack, consumer, f'SHOW TABLES FROM {CATALOG}."{schema}"')
        assert {r[0] for r in rows} == want, schema
    for product in PRODUCTS:
        if product in visible:
            _, rows = _rows(trino_stack, consumer, f"SHOW COLUMNS FROM {_name(product)}")
            order = [c for c in tables[product].column_names if c in visible[product]]
            assert [r[0] for r in rows] == order, product
        else:
            _denied(trino_stack, consumer, f"SHOW COLUMNS FROM {_name(product)}")
    _, rows = _rows(trino_stack, consumer, "SELECT table_schema, table_name, column_name FROM "
                    f"{CATALOG}.information_schema.columns WHERE table_schema <> 'information_schema'")
    assert sorted(rows) == sorted((*product_table(p), c) for p, cols in visible.items() for c in cols)


def test_catalogs_listed_are_the_governed_one(trino_stack) -> None:
    _, rows = _rows(trino_stack, "bob", "SHOW CATALOGS")
    assert [r[0] for r in rows] == [CATALOG]


# ---------------------------------------------------------------- identity as Trino sends it


def test_user_and_group_mapping_through_the_file_group_provider(trino_stack, mesh, tables) -> None:
    """Trino user `j.doe` is consumer judy (serve.trino.users), and Trino's file group provider gives
    it `ldap-sales-leads`, mapped to our `sales-leads` (serve.trino.groups): the rows are judy's
    decision with that group added — which differs from judy's own on some product."""
    _, rows = _rows(trino_stack, "j.doe", "SELECT current_user, current_groups()")
    assert rows == [("j.doe", ["ldap-sales-leads"])]
    judy = mesh.consumers["judy"]
    as_trino = Consumer("judy", judy.groups | {"sales-leads"}, judy.attributes)
    differs = 0
    problems: list[str] = []
    for product in PRODUCTS:
        decision = mesh.evaluate(as_trino, product)
        differs += decision.columns != mesh.evaluate("judy", product).columns
        sql = f"SELECT * FROM {_name(product)}"
        if not _readable(decision):
            _denied(trino_stack, "j.doe", sql)
            continue
        problems += _compare(f"j.doe {product}", _rows(trino_stack, "j.doe", sql), _want(tables, product, decision))
    assert not problems, "\n".join(problems)
    assert differs, "the Trino group must change some decision, or this test proves nothing"


@pytest.mark.parametrize("user", ["mallory", "pe_loader", "Bob", "judy@x", "judy_"])
def test_an_unknown_user_gets_nothing(trino_stack, user) -> None:
    """Not in the consumers file (nor mapped): not even `SELECT 1`; the loading user is unknown to
    serve once the data is in; user names are case-sensitive (`Bob` is not `bob`)."""
    for sql in ("SELECT 1", "SHOW CATALOGS", f"SELECT * FROM {CATALOG}.sales.orders",
                "SELECT * FROM system.runtime.queries"):
        assert _denied(trino_stack, user, sql).startswith("PERMISSION_DENIED")


def test_purpose_is_not_forwarded_by_trino_476(trino_stack, mesh, tables) -> None:
    """Trino 476's OPA plugin sends no extra credentials (`opa.identity.extra-credentials-keys`
    arrived later): alice's `--extra-credential purpose=forecasting` does not reach serve, so she
    gets her decision without a purpose (sales.orders hidden), not the forecasting one (readable)."""
    product = "sales.orders"
    assert not _readable(mesh.evaluate("alice", product))
    assert _readable(mesh.evaluate("alice", product, purpose="forecasting"))
    message = _denied(trino_stack, "alice", f"SELECT * FROM {_name(product)}",
                      extra_credential=[("purpose", "forecasting")])
    assert message.startswith("TABLE_NOT_FOUND")
