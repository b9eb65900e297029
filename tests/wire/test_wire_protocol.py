"""The protocol server under hostile and unusual input, with a raw socket client: oversized,
short and malformed messages, random bytes, messages out of order, the function-call message,
row limits on Execute, the connection limit and the idle timeout. Each ends in an error and a
closed connection or a correct answer; never a crash, a hang or a leaked value."""

from __future__ import annotations

import random
import socket
import struct

import psycopg
import pytest

from tests.wire.conftest import error_code, frame, raw_login, read_messages, startup


def until_closed(sock: socket.socket) -> list[tuple[bytes, bytes]]:
    """Every message until the server closes the connection (socket timeout: a hang fails)."""
    out = read_messages(sock, until=b"\xff")
    sock.close()
    return out


def still_serves(port: int) -> None:
    sock = raw_login(port)
    sock.sendall(frame(b"Q", b"SELECT count(*) FROM sales.orders\x00"))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds == [b"T", b"D", b"C", b"Z"]
    sock.sendall(frame(b"X"))
    sock.close()


def test_ssl_request_answered_n_then_startup(wire) -> None:
    sock = socket.create_connection(("127.0.0.1", wire.port), timeout=10)
    sock.sendall(struct.pack("!ii", 8, 80877103))
    assert sock.recv(1) == b"N"
    sock.sendall(startup())
    assert [k for k, _ in read_messages(sock)][-1] == b"Z"
    sock.close()


def test_sslmode_require_is_refused_by_the_client(wire) -> None:
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(wire.dsn() + " sslmode=require")


def test_oversized_message_is_an_error_and_a_close(wire_with) -> None:
    server = wire_with(max_message=1024)
    sock = raw_login(server.port)
    sock.sendall(b"Q" + struct.pack("!i", 10_000))  # the body is never sent: refused on the header
    messages = until_closed(sock)
    assert [k for k, _ in messages] == [b"E"] and error_code(messages[0][1]) == "54000"
    still_serves(server.port)


@pytest.mark.parametrize("data", [
    b"Q" + struct.pack("!i", 3),                        # a length shorter than itself
    b"Q" + struct.pack("!i", -7),                       # negative
    frame(b"Q", b"SELECT 1"),                           # no terminator
    frame(b"Q", b"SELECT 1\x00trailing"),               # bytes after the fields
    frame(b"B", b"\x00\x00" + struct.pack("!hh", 0, 1) + struct.pack("!i", 99)),  # value beyond the end
    frame(b"D", b"Z\x00"),                              # neither S nor P
    frame(b"?"),                                        # unknown message type
    frame(b"p", b"secret\x00"),                         # a password nobody asked for
])
def test_malformed_message_is_an_error_and_a_close(wire, data: bytes) -> None:
    sock = raw_login(wire.port)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    messages = until_closed(sock)
    assert messages and messages[-1][0] == b"E" and error_code(messages[-1][1]) == "08P01"
    still_serves(wire.port)


@pytest.mark.parametrize("data", [struct.pack("!i", 4), struct.pack("!i", 1 << 30), struct.pack("!ii", 8, 1234),
                                  struct.pack("!ii", 9, 196608) + b"u"])
def test_bad_startup_packets(wire, data: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", wire.port), timeout=10)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    messages = until_closed(sock)
    assert all(k == b"E" for k, _ in messages)
    still_serves(wire.port)


def test_random_bytes_never_crash_or_hang(wire) -> None:
    rng = random.Random(23)
    for i in range(60):
        sock = raw_login(wire.port) if i % 2 else socket.create_connection(("127.0.0.1", wire.port), timeout=10)
        kind = bytes([rng.choice(b"QPBDECSHXFdcfpZ?")])
        body = rng.randbytes(rng.randrange(0, 64))
        length = rng.choice([len(body) + 4, rng.randrange(-10, 200)])
        sock.sendall(kind + struct.pack("!i", length) + body if i % 3 else rng.randbytes(rng.randrange(1, 80)))
        sock.shutdown(socket.SHUT_WR)
        for _, payload in until_closed(sock):
            assert b"@" not in payload  # no masked or raw e-mail in any reply
    still_serves(wire.port)


def test_execute_row_limit_suspends_the_portal(wire) -> None:
    sock = raw_login(wire.port)
    sql = b"SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 5\x00"
    sock.sendall(frame(b"P", b"\x00" + sql + b"\x00\x00") + frame(b"B", b"\x00\x00" + b"\x00" * 6)
                 + frame(b"E", b"\x00" + struct.pack("!i", 2)) + frame(b"E", b"\x00" + struct.pack("!i", 2))
                 + frame(b"E", b"\x00" + struct.pack("!i", 2)) + frame(b"S"))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds == [b"1", b"2", b"D", b"D", b"s", b"D", b"D", b"s", b"D", b"C", b"Z"]
    sock.close()


def test_error_in_extended_cycle_skips_to_sync(wire) -> None:
    sock = raw_login(wire.port)
    sock.sendall(frame(b"B", b"\x00nosuch\x00" + b"\x00" * 6) + frame(b"E", b"\x00\x00\x00\x00\x00")
                 + frame(b"S"))
    messages = read_messages(sock)
    assert [k for k, _ in messages] == [b"E", b"Z"] and error_code(messages[0][1]) == "26000"
    sock.close()


def test_function_call_refused(wire) -> None:
    sock = raw_login(wire.port)
    sock.sendall(frame(b"F", struct.pack("!ihhih", 1255, 0, 0, 0, 0)))
    messages = read_messages(sock)
    assert [k for k, _ in messages] == [b"E", b"Z"] and error_code(messages[0][1]) == "0A000"
    sock.close()


def test_connection_limit(wire_with) -> None:
    server = wire_with(max_connections=2)
    held = [raw_login(server.port), raw_login(server.port)]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(startup())
    messages = until_closed(sock)
    assert [k for k, _ in messages] == [b"E"] and error_code(messages[0][1]) == "53300"
    for s in held:
        s.close()


def test_idle_connection_is_closed(wire_with) -> None:
    server = wire_with(idle_timeout=0.2)
    sock = raw_login(server.port)
    assert until_closed(sock) == []  # the server closes it; a hang would hit the socket timeout


def test_statement_timeout_is_57014_and_the_connection_lives(wire_with) -> None:
    server = wire_with(statement_timeout=1e-6)  # shorter than any run through the engine
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
            conn.execute("SELECT count(*) FROM sales.orders a, sales.orders b")
        assert conn.execute("SHOW server_version").fetchone() == ("16.0",)


@pytest.mark.parametrize("body", [
    b"select version()" + b" " * 1_000_000 + b"x",   # trailing blanks before a mismatch
    b"/**/" * 250_000 + b"SELECT 1",                   # many leading comments
    b"SHOW a" + b" ;" * 400_000,
])
def test_large_texts_are_answered_in_linear_time(wire, body: bytes) -> None:
    """Near the message limit: an answer (an error here) within the socket timeout, no backtracking."""
    sock = raw_login(wire.port)
    sock.sendall(frame(b"Q", body + b"\x00"))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds[-1] == b"Z"
    sock.close()
