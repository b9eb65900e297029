"""The gateway backed by a real PostgreSQL (the suite's pgserver, loaded with the seed tables):
psycopg through the wire as each consumer gets exactly `enforce()`'s cells for the same seed data
and decision; the HMAC key is bound by the server (never in the SQL text); a refusal and an
engine error keep their SQLSTATEs; the catalog is still answered per consumer."""

from __future__ import annotations

import datetime as dt
import decimal

import psycopg
import pytest

import policyengine
from tests.engines.conftest import postgres_engine, seed_tables  # noqa: F401 (the suite's PostgreSQL)
from tests.wire.conftest import KEY, MESH, TRUST, start

PRODUCTS = ["sales.orders", "sales.customers", "hr.payroll", "marketing.leads"]


@pytest.fixture(scope="module")
def pg_wire(postgres_engine):  # noqa: F811
    from policyengine.wire.postgres import PostgresGateway

    engine = policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")
    # keyed `hash` runs pgcrypto's hmac(); pgserver's build has no pgcrypto: then unkeyed SHA-256
    # (built in), compared with enforce() unkeyed too
    keyed = postgres_engine.has_pgcrypto
    backend = PostgresGateway(engine, postgres_engine.server.get_uri(), table="pe_{domain}_{name}",
                              hash_key=KEY if keyed else None, allow_unkeyed_hash=not keyed)
    gen = start(backend, TRUST)
    try:
        yield next(gen), backend
    finally:
        gen.close()
        backend.close()


def _cell(value):
    """One value in a form both sides share (instants in UTC, decimals as floats)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _multiset(rows) -> list:
    return sorted((tuple(_cell(v) for v in row) for row in rows), key=repr)


@pytest.mark.parametrize("who", ["bob", "carol", "dave", "frank", "judy"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_cells_equal_enforce(pg_wire, seed_tables, who: str, product: str) -> None:  # noqa: F811
    server, backend = pg_wire
    consumer = backend.engine.consumers.get(who)
    decision = backend.engine.evaluate(consumer, product)
    with psycopg.connect(server.dsn(who), autocommit=True) as conn:
        if decision.error or not decision.readable_columns:
            with pytest.raises(psycopg.Error):
                conn.execute(f"SELECT * FROM {product}")
            return
        cur = conn.execute(f"SELECT * FROM {product}")
        got = cur.fetchall()
        names = [d.name for d in cur.description]
    want = policyengine.enforce(seed_tables["pe_" + product.replace(".", "_")], decision, hash_key=backend.hash_key,
                                allow_unkeyed_hash=backend.allow_unkeyed_hash)
    assert names == want.column_names
    assert _multiset(got) == _multiset(tuple(r.values()) for r in want.to_pylist())


def test_key_is_bound_not_spliced(pg_wire) -> None:
    from policyengine.wire.postgres import PostgresGateway

    _, backend = pg_wire
    keyed = PostgresGateway(backend.engine, backend.dsn, table=backend.table, hash_key=KEY)
    try:
        rewritten = keyed.rewrite("SELECT customer_name FROM sales.orders", keyed.engine.consumers.get("bob"))
    finally:
        keyed.close()
    assert rewritten.params and KEY.decode() not in rewritten.sql and KEY.hex() not in rewritten.sql
    assert "%(pe_hash_key)s" in rewritten.sql  # a marker psycopg binds on the server


def test_refusals_and_engine_errors_over_a_postgres_backend(pg_wire) -> None:
    server, _ = pg_wire
    with psycopg.connect(server.dsn("bob"), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="margin-for-leads-and-finance"):
            conn.execute("SELECT margin FROM sales.orders")
        with pytest.raises(psycopg.Error) as info:
            conn.execute("SELECT CAST(customer_email AS INTEGER) FROM sales.orders")
        assert "@" not in str(info.value) and "SQLSTATE 22P02" in str(info.value)
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE column_name = 'margin'"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'payroll'").fetchone() == (0,)


@pytest.mark.parametrize(("section", "message"), [
    ({"backend": "oracle"}, "'gateway.backend' must be duckdb or postgres"),
    ({"backend": "postgres"}, "needs 'gateway.dsn'"),
    ({"backend": "postgres", "dsn": "host=x", "table": "fixed"}, "'gateway.table' must name"),
])
def test_backend_settings_are_checked(section: dict, message: str) -> None:
    from policyengine.wire import settings_from

    with pytest.raises(ValueError, match=message):
        settings_from(section)


def test_gateway_command_with_the_postgres_backend(postgres_engine, tmp_path) -> None:  # noqa: F811
    """`gateway: backend: postgres` in policyengine.yaml: the command serves PostgreSQL's tables."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.wire.test_wire_command import _free_port

    root = Path(__file__).resolve().parents[2]
    port = _free_port()
    config = tmp_path / "policyengine.yaml"
    config.write_text(f"policies: {root}/policies/\ncatalog: {root}/examples/mesh/products/\n"
                      f"consumers: {root}/examples/mesh/consumers.yaml\nallow_unkeyed_hash: true\n"
                      f"gateway:\n  port: {port}\n  auth: trust\n  backend: postgres\n"
                      f"  dsn: \"{postgres_engine.server.get_uri()}\"\n  table: \"pe_{{domain}}_{{name}}\"\n",
                      encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("POLICYENGINE_HASH_KEY", None)
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "gateway", "--config", str(config)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            try:
                conn = psycopg.connect(f"host=127.0.0.1 port={port} user=bob dbname=mesh", autocommit=True)
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        with conn:
            rows = conn.execute("SELECT region, count(*) FROM sales.orders GROUP BY region").fetchall()
        assert [r[0] for r in rows] == ["uk"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
