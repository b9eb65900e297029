"""A gateway server on a free loopback port, started in a thread for the module and stopped after."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

import policyengine
from policyengine.enforce.gateway import Gateway
from policyengine.wire import WireServer, WireSettings

MESH = "examples/mesh"
KEY = b"wire-test-key"


@dataclass
class Running:
    server: WireServer
    loop: asyncio.AbstractEventLoop
    port: int

    def dsn(self, user: str = "bob") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname=mesh connect_timeout=10"


@pytest.fixture(scope="session")
def wire_gateway() -> Gateway:
    engine = policyengine.load(["policies"], [f"{MESH}/products"], consumers=f"{MESH}/consumers.yaml")
    return Gateway(engine, hash_key=KEY)


def start(gateway: Gateway, settings: WireSettings, credentials=None, decision_log=None) -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    server = WireServer(gateway, settings, version="test", credentials=credentials, decision_log=decision_log)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    try:
        yield Running(server, loop, server.port)
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


TRUST = WireSettings(port=0, auth="trust", statement_timeout=20, idle_timeout=20, startup_timeout=5)


@pytest.fixture(scope="module")
def wire(wire_gateway) -> Iterator[Running]:
    yield from start(wire_gateway, TRUST)


@pytest.fixture
def wire_with(wire_gateway):
    """A server with other settings, for one test."""
    started: list[Iterator[Running]] = []

    def make(**changes) -> Running:
        gen = start(wire_gateway, replace(TRUST, **changes))
        started.append(gen)
        return next(gen)

    yield make
    for gen in started:
        gen.close()


# ---------------------------------------------------------------- a raw protocol client


def frame(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def startup(user: str = "bob") -> bytes:
    body = struct.pack("!i", 196608) + b"user\x00" + user.encode() + b"\x00database\x00mesh\x00\x00"
    return struct.pack("!i", len(body) + 4) + body


def read_messages(sock: socket.socket, until: bytes = b"Z") -> list[tuple[bytes, bytes]]:
    """Messages up to and including the first of type `until` (or the end of the stream)."""
    out: list[tuple[bytes, bytes]] = []
    buf = b""
    while True:
        while len(buf) >= 5 and len(buf) >= 1 + struct.unpack("!i", buf[1:5])[0]:
            size = struct.unpack("!i", buf[1:5])[0]
            out.append((buf[:1], buf[5:1 + size]))
            buf = buf[1 + size:]
            if out[-1][0] == until:
                return out
        chunk = sock.recv(65536)
        if not chunk:
            return out
        buf += chunk


def raw_login(port: int, user: str = "bob") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(startup(user))
    kinds = [k for k, _ in read_messages(sock)]
    assert kinds[0] == b"R" and kinds[-1] == b"Z", kinds
    return sock


def error_code(body: bytes) -> str:
    fields = dict((f[:1], f[1:].decode()) for f in body.split(b"\x00") if f)
    return fields[b"C"]
