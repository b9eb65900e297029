"""The execution path of the server: statements run on a bounded pool of workers, each with its
own DuckDB cursor; a statement that times out or whose client goes away is interrupted in the
engine, so its worker is free again; consumers never see each other's cached rewrites."""

from __future__ import annotations

import threading
from dataclasses import replace

import psycopg
import pytest

from policyengine.wire import settings_from
from tests.wire.conftest import frame, raw_login, read_messages

# runs until interrupted: bob sees 53 rows of sales.orders, 53^8 = 6e13 combinations to count
# (hours at DuckDB's ~1e9 a second; six tables were done in 25 s), no index or shortcut
FOREVER = ("SELECT count(*) FROM sales.orders a, sales.orders b, sales.orders c, sales.orders d, "
           "sales.orders e, sales.orders f, sales.orders g, sales.orders h")


def _workers_free(running, count: int) -> bool:
    """Whether each of the server's `count` worker threads picks up new work within a minute: a
    worker still running FOREVER never would (the executor runs tasks in order, one per thread)."""
    reached = threading.Barrier(count + 1, timeout=60)
    for _ in range(count):
        running.server.workers.executor.submit(reached.wait)
    try:
        reached.wait()
    except threading.BrokenBarrierError:
        return False
    return True


def test_a_timed_out_statement_is_interrupted_and_its_worker_is_free(wire_with, wire_gateway) -> None:
    running = wire_with(statement_timeout=0.5, workers=1)
    with psycopg.connect(running.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute(FOREVER)
        assert _workers_free(running, 1)  # without the interrupt the only worker counts on for hours
        sql = "SELECT customer_email, amount FROM sales.orders ORDER BY order_id LIMIT 5"
        got = conn.execute(sql).fetchall()
    assert got == [tuple(r.values()) for r in wire_gateway.query(sql, "bob").to_pylist()]


def test_a_client_that_goes_away_has_its_statement_interrupted(wire_with) -> None:
    running = wire_with(statement_timeout=600, workers=1)
    sock = raw_login(running.port)
    sock.sendall(frame(b"Q", FOREVER.encode() + b"\x00"))
    assert running.server.workers.wait_running(1, 60)  # FOREVER is on the engine
    started = threading.Event()
    running.server.workers.executor.submit(started.set)  # queued behind FOREVER on the one worker
    sock.close()  # the server sees the end of the stream and closes the connection
    assert _workers_free(running, 1) and started.is_set()


def test_statements_beyond_the_workers_wait_and_all_answer(wire_with, wire_gateway) -> None:
    """More clients than workers: every statement answers, with its own consumer's rows."""
    running = wire_with(workers=2)
    sql = "SELECT customer_name, customer_email, region, amount FROM sales.orders ORDER BY order_id"
    expected = {who: [tuple(r.values()) for r in wire_gateway.query(sql, who).to_pylist()]
                for who in ("bob", "carol")}
    assert expected["bob"] != expected["carol"]
    failures: list[str] = []

    def client(who: str) -> None:
        with psycopg.connect(running.dsn(who), autocommit=True) as conn:
            for _ in range(15):
                if conn.execute(sql).fetchall() != expected[who]:
                    failures.append(who)

    threads = [threading.Thread(target=client, args=(who,)) for who in ("bob", "carol") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures and not any(t.is_alive() for t in threads)


def test_one_text_alternating_between_consumers_gets_each_its_own_rewrite(wire, wire_gateway) -> None:
    """The rewrite cache keys on each product's decision: the same text sent by bob, then carol,
    then bob again (on two connections, so from the cache after the first) never crosses over."""
    sql = "SELECT region, count(*) AS n FROM sales.orders GROUP BY region ORDER BY region"
    with psycopg.connect(wire.dsn("bob"), autocommit=True) as bob, \
            psycopg.connect(wire.dsn("carol"), autocommit=True) as carol:
        seen = [(who, conn.execute(sql).fetchall()) for _ in range(3)
                for who, conn in (("bob", bob), ("carol", carol))]
    for who, rows in seen:
        assert rows == [tuple(r.values()) for r in wire_gateway.query(sql, who).to_pylist()]
    assert {r[0] for r in seen[0][1]} == {"uk"} and "uk" not in {r[0] for r in seen[1][1]}


@pytest.mark.parametrize("value", [0, -1, 1.5, "4", True])
def test_workers_must_be_a_positive_integer(value) -> None:
    with pytest.raises(ValueError, match="gateway.workers"):
        settings_from({"workers": value})


def test_workers_setting_is_read() -> None:
    assert settings_from({"workers": 8}).workers == 8 and settings_from({}).workers == 4


def test_the_server_still_serves_after_interrupts(wire_with) -> None:
    running = wire_with(statement_timeout=0.3, workers=2)
    for _ in range(3):
        sock = raw_login(running.port)
        sock.sendall(frame(b"Q", FOREVER.encode() + b"\x00"))
        kinds = [k for k, _ in read_messages(sock)]
        assert kinds == [b"E", b"Z"]
        sock.close()
    assert _workers_free(running, 2)


def test_the_decision_log_says_57014_for_an_interrupted_statement(wire_gateway, tmp_path) -> None:
    import json

    from policyengine.engine.decision_log import DecisionLog
    from tests.wire.conftest import TRUST, start

    dlog = DecisionLog(tmp_path / "decisions.jsonl")
    gen = start(wire_gateway, replace(TRUST, statement_timeout=0.5, workers=1),
                decision_log=dlog)
    running = next(gen)
    try:
        with psycopg.connect(running.dsn(), autocommit=True) as conn, \
                pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(FOREVER)
        assert _workers_free(running, 1)  # the interrupted statement has written its line
    finally:
        gen.close()
    dlog.close()
    lines = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text("utf-8").splitlines()]
    assert [(e["sqlstate"], e["rows"]) for e in lines] == [("57014", None)]
    assert set(lines[0]["products"]) == {"sales.orders"}


def test_the_config_schema_knows_every_gateway_setting() -> None:
    import json
    from pathlib import Path

    import policyengine
    from policyengine.wire.server import _SETTING_TYPES

    schema = json.loads((Path(policyengine.__file__).parent / "schemas" / "policyengine.schema.json").read_text())
    assert set(schema["properties"]["gateway"]["properties"]) == set(_SETTING_TYPES) | {"tls"}  # tls: a mapping (tls.py)
