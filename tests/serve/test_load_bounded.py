"""A bounded load test over loopback (issue 14, "a load test on loopback runs in CI"): `serve`
with 2 workers in a subprocess on a free port, 2,000 requests from 16 keep-alive connections of
a raw asyncio client (no pipelining), half `/v1/evaluate`, half Trino batch column masks for 20
columns; every reply is checked against the same request answered in-process, none may fail;
the server is stopped after. No timing assertion: speed targets live in benchmarks/bench_serve.py."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from serve_helpers import ROOT, call, config_copy

from policyengine.config import load_config
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App, ServeOptions
from policyengine.serve.server import ServeSettings

pytest.importorskip("uvicorn")

REQUESTS = 2000
CONNECTIONS = 16
EVALUATE = {"consumer": "bob", "product": "sales.customers",
            "columns": ["customer_id", "full_name", "email", "phone", "country", "region"]}
COLUMNS = ["customer_id", "full_name", "email", "phone", "street_address", "city", "postcode", "country",
           "region", "birth_date", "loyalty_tier", "signup_ts", "email_verified"]
MASKS = {"input": {"context": {"identity": {"user": "bob", "groups": []}, "softwareStack": {"trinoVersion": "476"}},
                   "action": {"operation": "GetColumnMask", "filterResources": [
                       {"column": {"catalogName": "lakehouse", "schemaName": "sales", "tableName": table,
                                   "columnName": c, "columnType": "varchar"}}
                       for table, cols in (("customers", COLUMNS), ("orders", ["order_id", "customer_id",
                                           "customer_email", "customer_name", "card_number", "amount", "margin"]))
                       for c in cols]}}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port: int, path: str, body: dict) -> bytes:
    data = orjson.dumps(body)
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


async def _connection(port: int, jobs: list[bytes], replies: list[tuple[bytes, int, bytes]]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while jobs:
            payload = jobs.pop()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(int(li.split(b":", 1)[1]) for li in lines if li.lower().startswith(b"content-length:"))
            body = await reader.readexactly(length)
            replies.append((payload, int(lines[0].split()[1]), body))
    finally:
        writer.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The example's configuration with `hash` masks allowed over Trino without a key (refused
    otherwise, and a refusal is a 500, which this test would count as a failure)."""
    return config_copy(tmp_path, allow_unkeyed_hash=True)


@pytest.fixture
def server(config: Path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
           "--workers", "2", "--config", str(config)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError("server did not start")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    if s.recv(100).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _comparable(path: bytes, body: bytes) -> object:
    """A reply without what differs between two answers to one request (the request's instant)."""
    doc = orjson.loads(body)
    if path == b"/v1/evaluate":
        doc.pop("at")
    return doc


def test_two_thousand_requests_all_answered_correctly(server, config: Path) -> None:
    port = server
    payloads = {b"/v1/evaluate": (_request(port, "/v1/evaluate", EVALUATE), EVALUATE),
                b"/v1/trino/batch-column-masks": (_request(port, "/v1/trino/batch-column-masks", MASKS), MASKS)}
    cfg = load_config(config)  # the expected replies: in-process, same configuration
    app = App(ReloadingEngine.from_config(cfg), ServeSettings.from_config(cfg).trino, ServeOptions(),
              hash_key=cfg.hash_key, allow_unkeyed_hash=cfg.allow_unkeyed_hash)
    expected = {raw: _comparable(path, call(app, "POST", path.decode(), body).body)
                for path, (raw, body) in payloads.items()}
    raws = [raw for raw, _ in payloads.values()]
    jobs = [raws[i % 2] for i in range(REQUESTS)]
    replies: list[tuple[bytes, int, bytes]] = []

    async def run() -> None:
        await asyncio.wait_for(asyncio.gather(*(_connection(port, jobs, replies) for _ in range(CONNECTIONS))),
                               timeout=120)

    asyncio.run(run())
    assert len(replies) == REQUESTS
    assert all(status == 200 for _, status, _ in replies)
    paths = {raw: path for path, (raw, _) in payloads.items()}
    wrong = [i for i, (raw, _, body) in enumerate(replies) if _comparable(paths[raw], body) != expected[raw]]
    assert not wrong, f"{len(wrong)} wrong replies"
    evaluate = expected[raws[0]]
    assert evaluate["columns"]["email"]["effect"] == "mask" and evaluate["error"] is None
    assert len(expected[raws[1]]["result"]) >= 5  # masked columns of the batch, each with an expression
