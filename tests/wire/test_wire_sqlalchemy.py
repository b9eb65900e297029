"""SQLAlchemy 2 (the `postgresql+psycopg` dialect) and pandas through the gateway: the engine's
first-connect probing (version, current_schema, SHOW ...), the inspector answered from the catalog
for the consumer, and `pandas.read_sql` / `read_sql_table` cells equal to `Gateway.query`.

Each test runs twice: with the engine as `create_engine(url)` makes it (server-side bound
parameters, the hstore look-up in a SAVEPOINT, `to_regtype`), and with psycopg's ClientCursor
(values sent inline by the client) and `use_native_hstore=False`, as earlier set-ups did."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa


@pytest.fixture(scope="module", params=["defaults", "client-cursor"])
def engines(wire, request):
    options: dict = {"connect_args": {"connect_timeout": 10}}
    if request.param == "client-cursor":
        options = {"connect_args": {"cursor_factory": psycopg.ClientCursor, "connect_timeout": 10},
                   "use_native_hstore": False}
    made = {who: sa.create_engine(f"postgresql+psycopg://{who}@127.0.0.1:{wire.port}/mesh",
                                  poolclass=sa.pool.NullPool, **options)
            for who in ("bob", "carol")}
    yield made
    for engine in made.values():
        engine.dispose()


def _gateway_frame(gateway, sql: str, who: str) -> pd.DataFrame:
    return gateway.query(sql, gateway.engine.consumers.get(who)).to_pandas()


def test_inspector_sees_bobs_catalog(engines, wire_gateway) -> None:
    bob = wire_gateway.engine.consumers.get("bob")
    inspector = sa.inspect(engines["bob"])
    assert inspector.default_schema_name == "public"
    assert set(inspector.get_schema_names()) == {"information_schema", "marketing", "public", "sales"}
    assert inspector.get_table_names(schema="sales") == ["customers", "orders"]
    assert inspector.get_table_names(schema="hr") == []
    assert inspector.has_table("orders", schema="sales") and not inspector.has_table("payroll", schema="hr")
    columns = inspector.get_columns("orders", schema="sales")
    want = wire_gateway.query("SELECT * FROM sales.orders LIMIT 0", bob).schema
    assert [c["name"] for c in columns] == want.names and "margin" not in want.names
    kinds = {c["name"]: type(c["type"]).__name__ for c in columns}
    assert (kinds["customer_email"], kinds["amount"], kinds["shipped_on"], kinds["created_at"]) == \
        ("TEXT", "DOUBLE_PRECISION", "DATE", "TIMESTAMP")
    assert next(c for c in columns if c["name"] == "created_at")["type"].timezone is True
    assert next(c for c in columns if c["name"] == "customer_email")["comment"] == "E-mail address given at checkout"
    assert inspector.get_pk_constraint("orders", schema="sales")["constrained_columns"] == []
    assert inspector.get_foreign_keys("orders", schema="sales") == []
    assert inspector.get_indexes("orders", schema="sales") == []


def test_inspector_differs_per_consumer(engines) -> None:
    carol = [c["name"] for c in sa.inspect(engines["carol"]).get_columns("orders", schema="sales")]
    assert "margin" in carol


@pytest.mark.parametrize("who", ["bob", "carol"])
def test_read_sql_cells_equal_the_gateway(engines, wire_gateway, who: str) -> None:
    sql = ("SELECT order_id, customer_email, card_number, region, amount, shipped_on FROM sales.orders "
           "ORDER BY order_id")
    got = pd.read_sql(sql, engines[who])
    want = _gateway_frame(wire_gateway, sql, who)
    assert len(got) == len(want) > 0
    assert list(got.columns) == list(want.columns)
    for column in got.columns:
        assert [None if pd.isna(v) else v for v in got[column]] == [None if pd.isna(v) else v for v in want[column]]


def test_read_sql_table_reflects_then_reads_bobs_columns(engines, wire_gateway) -> None:
    got = pd.read_sql_table("orders", engines["bob"], schema="sales")
    want = _gateway_frame(wire_gateway, "SELECT * FROM sales.orders", "bob")
    assert list(got.columns) == list(want.columns)
    got = got.sort_values("order_id").reset_index(drop=True)
    want = want.sort_values("order_id").reset_index(drop=True)
    assert got["customer_email"].tolist() == want["customer_email"].tolist()
    assert got["amount"].tolist() == want["amount"].tolist()
    first = got["created_at"].iloc[0].to_pydatetime()
    assert first.astimezone(dt.UTC) == want["created_at"].iloc[0].to_pydatetime().astimezone(dt.UTC)


def test_read_sql_with_bound_parameters(engines, wire_gateway) -> None:
    got = pd.read_sql(sa.text("SELECT order_id, region FROM sales.orders WHERE region = :r ORDER BY order_id"),
                      engines["bob"], params={"r": "uk"})
    want = _gateway_frame(wire_gateway, "SELECT order_id, region FROM sales.orders WHERE region = 'uk' "
                                        "ORDER BY order_id", "bob")
    assert len(got) == len(want) > 0
    assert got["order_id"].tolist() == want["order_id"].tolist()
    sneaky = pd.read_sql(sa.text("SELECT order_id FROM sales.orders WHERE region = :r"), engines["bob"],
                         params={"r": "uk' OR '1'='1"})
    assert len(sneaky) == 0
