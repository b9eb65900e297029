"""Slow clients against a real uvicorn (issue 19 hole 10): a connection that never finishes its
headers is closed after `limits.header_timeout`, and a worker holds at most
`limits.max_connections` connections. uvicorn runs in a thread of the test process with the
options `serve` gives it (serve/server.py uvicorn_options); raw sockets play the clients. No
timing assertion: each wait is bounded (a failure is a wait that runs out), never a sleep."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import config_copy

from policyengine.config import load_config
from policyengine.serve.server import ServeSettings, build_app, uvicorn_options

uvicorn = pytest.importorskip("uvicorn")

WAIT = 15.0  # seconds a client waits for the server to close its connection (today: forever)
REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["httptools", "h11"])
def server(request, tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A server with a 0.5 s header deadline and room for 3 connections, on either parser."""
    if request.param == "httptools":
        pytest.importorskip("httptools")
    cfg_path = config_copy(tmp_path, serve={"limits": {"header_timeout": 0.5, "max_connections": 3,
                                                       "keep_alive_timeout": 60}})
    cfg = load_config(cfg_path)
    settings = ServeSettings.from_config(cfg)
    port = _free_port()
    kw = uvicorn_options(settings, host="127.0.0.1", port=port, log_level="warning")
    if request.param == "h11":
        kw["http"] = kw["http"].replace("BoundedHttpTools", "BoundedH11")
    kw["loop"] = "asyncio"
    srv = uvicorn.Server(uvicorn.Config(build_app(cfg, settings, host="127.0.0.1"), **kw))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield port, request.param
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


def _closed_by_server(sock: socket.socket) -> bool:
    """Read until the server closes (True) or WAIT runs out (False); replies read on the way are
    dropped."""
    sock.settimeout(WAIT)
    end = time.monotonic() + WAIT
    try:
        while time.monotonic() < end:
            if sock.recv(4096) == b"":
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def _reply(sock: socket.socket) -> tuple[int, bytes]:
    """One whole response: its status and body (the parsers may send them in separate writes)."""
    sock.settimeout(WAIT)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk
        body += chunk
    return int(head.split()[1]), body


def _ok(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(REQUEST)
        return _reply(s)[0] == 200


def test_headers_that_never_end_are_cut_off(server) -> None:
    """Attack (slowloris): start a request, never finish its headers."""
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert _closed_by_server(s)
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:  # no byte at all
        assert _closed_by_server(s)
    assert _ok(port)


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_request(server) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(REQUEST)
        assert _reply(s)[0] == 200
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the second request stalls
        assert _closed_by_server(s)


def test_a_trickle_of_header_bytes_does_not_extend_the_deadline(server) -> None:
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall(b"GET /health HTTP/1.1\r\n")
        end = time.monotonic() + WAIT
        closed = False
        while time.monotonic() < end and not closed:
            try:
                s.sendall(b"X-A: b\r\n")  # a header line every 0.1 s, the headers never end
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.1)
            try:
                closed = s.recv(4096) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed = True
        assert closed


def test_connections_over_the_limit_are_refused(server) -> None:
    port, _ = server
    held = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(3)]
    try:
        # hold the three (each sends a complete request, so the header deadline does not cut them)
        for s in held:
            s.sendall(REQUEST)
            assert _reply(s)[0] == 200
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as extra:
            status, body = _reply(extra)
            assert status == 503 and b"too many connections" in body
            assert _closed_by_server(extra)
        held[0].sendall(REQUEST)  # the held ones still work
        assert _reply(held[0])[0] == 200
    finally:
        for s in held:
            s.close()


def test_limits_are_validated(tmp_path: Path) -> None:
    for bad in [{"header_timeout": 0}, {"max_connections": -1}, {"header_timeout": "5"},
                {"max_connections": 2.5}, {"max_batch": True}, {"headers": 1}]:
        cfg = load_config(config_copy(tmp_path, serve={"limits": bad}))
        with pytest.raises(ValueError, match="serve.limits"):
            ServeSettings.from_config(cfg)
