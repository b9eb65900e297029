"""Protocol fuzzing: a table of malformed and out-of-order messages, and hypothesis sequences of
well-framed messages with arbitrary fields. Each connection ends in an answer, an error, or a
clean close; never a crash or a hang (every socket has a timeout); the server serves after."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wire.conftest import error_code, frame, raw_login, read_messages
from tests.wire.test_wire_protocol import still_serves, until_closed

Q = b"SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 3\x00"
PARSE = frame(b"P", b"s\x00" + Q + b"\x00\x00")
BIND = frame(b"B", b"p\x00s\x00" + struct.pack("!hhh", 0, 0, 0))
SYNC = frame(b"S")


@pytest.mark.parametrize(("messages", "kinds", "sqlstate"), [
    (BIND + SYNC, [b"E", b"Z"], "26000"),                                     # Bind before Parse
    (frame(b"E", b"nope\x00" + struct.pack("!i", 0)) + SYNC, [b"E", b"Z"], "34000"),  # unknown portal
    (frame(b"D", b"Snope\x00") + SYNC, [b"E", b"Z"], "26000"),
    (frame(b"D", b"Pnope\x00") + SYNC, [b"E", b"Z"], "34000"),
    (frame(b"C", b"Snope\x00") + SYNC, [b"3", b"Z"], None),                   # closing nothing is fine
    (PARSE + PARSE + SYNC, [b"1", b"E", b"Z"], "42P05"),                      # the same name twice
    (PARSE + BIND + BIND + SYNC, [b"1", b"2", b"E", b"Z"], "42P03"),
    # after an error, everything up to Sync is skipped, a simple query too
    (BIND + frame(b"Q", Q) + PARSE + SYNC, [b"E", b"Z"], "26000"),
    (PARSE + BIND + frame(b"E", b"p\x00" + struct.pack("!i", -5)) + SYNC,     # a negative limit: all rows
     [b"1", b"2", b"D", b"D", b"D", b"C", b"Z"], None),
    (frame(b"P", b"\x00SELECT $99999 FROM sales.orders\x00\x00\x00") + SYNC, [b"E", b"Z"], "54000"),
    (frame(b"d", b"stray") + frame(b"c") + frame(b"f", b"x\x00") + SYNC, [b"Z"], None),  # copy messages ignored
    (frame(b"H") + SYNC, [b"Z"], None),
])
def test_out_of_order_messages(wire, messages: bytes, kinds: list[bytes], sqlstate: str | None) -> None:
    sock = raw_login(wire.port)
    sock.sendall(messages)
    got = read_messages(sock)
    assert [k for k, _ in got] == kinds
    errors = [body for k, body in got if k == b"E"]
    assert [error_code(b) for b in errors] == ([sqlstate] if sqlstate else [])
    sock.sendall(frame(b"X"))
    sock.close()


@pytest.mark.parametrize("data", [
    struct.pack("!i", 100) + b"\x00\x03\x00\x00user",          # a startup packet cut short
    struct.pack("!ii", 8, 196608),                               # protocol 3.0 and no user
    struct.pack("!ii", 8, 80877103) * 4 + struct.pack("!ii", 8, 196608),  # SSLRequest over and over
    struct.pack("!iiii", 16, 80877102, 0, 0) + b"trailing",      # a cancel with more behind it
    struct.pack("!i", 9) + struct.pack("!i", 196608) + b"\xff",  # a parameter name that is not UTF-8
])
def test_bad_start_ups_close_cleanly(wire, data: bytes) -> None:
    sock = socket.create_connection(("127.0.0.1", wire.port), timeout=10)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    try:
        reply = sock.recv(1 << 16)
        while chunk := sock.recv(1 << 16):
            reply += chunk
    finally:
        sock.close()
    assert b"@" not in reply
    still_serves(wire.port)


def test_a_message_split_across_many_writes(wire) -> None:
    sock = raw_login(wire.port)
    for i in range(len(PARSE)):
        sock.sendall(PARSE[i:i + 1])
    sock.sendall(SYNC)
    assert [k for k, _ in read_messages(sock)] == [b"1", b"Z"]
    sock.close()


_NAMES = st.sampled_from([b"", b"s", b"p", b"nope"])
_QUERIES = st.sampled_from([Q, b"SELECT $1 AS v FROM sales.orders LIMIT 1\x00", b"\x00", b"SELECT margin FROM sales.orders\x00",
                            b"COPY (SELECT region FROM sales.orders) TO STDOUT\x00", b"BEGIN\x00", b"FETCH c\x00"])
_I16 = st.integers(-3, 3).map(lambda n: struct.pack("!h", n))
_I32 = st.one_of(st.integers(-2, 8), st.sampled_from([1 << 20, -(1 << 31)])).map(lambda n: struct.pack("!i", n))
_FIELD = st.one_of(_NAMES.map(lambda n: n + b"\x00"), _QUERIES, _I16, _I32, st.binary(max_size=12),
                   st.sampled_from([b"S", b"P"]))
_MESSAGE = st.tuples(st.sampled_from([b"P", b"B", b"D", b"E", b"C", b"H", b"Q", b"S", b"d", b"F"]),
                     st.lists(_FIELD, max_size=6)).map(lambda t: frame(t[0], b"".join(t[1])))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_MESSAGE, min_size=1, max_size=8))
def test_message_sequences_never_crash_or_hang(wire, messages: list[bytes]) -> None:
    sock = raw_login(wire.port)
    sock.sendall(b"".join(messages) + SYNC + frame(b"X"))
    sock.shutdown(socket.SHUT_WR)
    for kind, body in until_closed(sock):
        if kind == b"E":  # an error with its SQLSTATE, quoting no value
            assert error_code(body) and b"@" not in body
    still_serves(wire.port)
