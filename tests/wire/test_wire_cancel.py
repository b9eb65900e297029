"""CancelRequest: BackendKeyData's process id and secret, sent on a new connection, cancel the
statement running on that connection only (57014, the connection lives); a wrong secret, another
connection's key or an idle connection: nothing happens. The engine is held by a test gateway
that blocks one marked query until the test releases it (no sleeps, no timing)."""

from __future__ import annotations

import socket
import struct
import threading

import psycopg
import pytest

from tests.wire.conftest import TRUST, start

MARK = "SELECT count(*) AS held_by_the_test FROM sales.orders"


class Holding:
    """The wire gateway with the marked query held until `release` is set."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.entered, self.release = threading.Event(), threading.Event()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def query(self, sql, consumer, *args, **kwargs):
        if "held_by_the_test" in sql:
            self.entered.set()
            self.release.wait(30)
        return self.inner.query(sql, consumer, *args, **kwargs)


@pytest.fixture
def held(wire_gateway):
    gateway = Holding(wire_gateway)
    gen = start(gateway, TRUST)
    running = next(gen)
    yield gateway, running
    gateway.release.set()
    gen.close()


def _run_marked(conn, outcome: list) -> threading.Thread:
    def run() -> None:
        try:
            outcome.append(conn.execute(MARK).fetchone())
        except psycopg.Error as exc:
            outcome.append(exc)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _send_cancel(port: int, pid: int, secret: int) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(struct.pack("!iiii", 16, 80877102, pid, secret))
    reply = sock.recv(100)  # the server closes it without a word
    sock.close()
    return reply


def test_cancel_interrupts_the_matching_connection_only(held) -> None:
    gateway, running = held
    with (psycopg.connect(running.dsn(), autocommit=True) as busy,
          psycopg.connect(running.dsn("carol"), autocommit=True) as other):
        outcome: list = []
        thread = _run_marked(busy, outcome)
        assert gateway.entered.wait(30)
        # CancelRequest with busy's key (psycopg's cancel() holds the GIL the in-process server needs)
        busy.cancel_safe()
        thread.join(30)
        assert isinstance(outcome[0], psycopg.errors.QueryCanceled)
        assert "user request" in str(outcome[0])
        gateway.release.set()
        assert busy.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0  # lives on
        assert other.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0


@pytest.mark.parametrize("wrong", ["secret", "pid", "other-connection"])
def test_a_cancel_that_does_not_match_does_nothing(held, wrong: str) -> None:
    gateway, running = held
    with (psycopg.connect(running.dsn(), autocommit=True) as busy,
          psycopg.connect(running.dsn("carol"), autocommit=True) as other):
        pid, secret = busy.info.backend_pid, _secret_of(running, busy.info.backend_pid)
        outcome: list = []
        thread = _run_marked(busy, outcome)
        assert gateway.entered.wait(30)
        if wrong == "secret":
            assert _send_cancel(running.port, pid, secret ^ 1) == b""
        elif wrong == "pid":
            assert _send_cancel(running.port, pid ^ 1, secret) == b""
        else:
            other.cancel_safe()  # carol's key: carol is idle, bob's statement goes on
        gateway.release.set()
        thread.join(30)
        assert outcome and not isinstance(outcome[0], Exception) and outcome[0][0] > 0


def _secret_of(running, pid: int) -> int:
    return running.server.backends[pid].secret


def test_cancel_of_an_idle_connection_is_harmless(wire) -> None:
    with psycopg.connect(wire.dsn(), autocommit=True) as conn:
        conn.cancel_safe()
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0


def test_a_short_cancel_packet_is_closed(wire) -> None:
    sock = socket.create_connection(("127.0.0.1", wire.port), timeout=10)
    sock.sendall(struct.pack("!iii", 12, 80877102, 1))
    assert sock.recv(100) == b""
    sock.close()
