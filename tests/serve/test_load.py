"""A bounded load test over loopback: the real server (uvicorn, started and stopped by the test),
a few hundred requests from concurrent clients, every reply checked; then a graceful shutdown
that flushes the decision log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serve_helpers import ROOT, config_copy

pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    port = _free_port()
    log_path = tmp_path / "decisions.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
           "--decision-log", str(log_path), "--config", str(config_copy(tmp_path, allow_unkeyed_hash=True))]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("server did not start")
    yield base, proc, log_path
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _trino_masks(n: int) -> dict:
    cols = [f"c{i}" for i in range(n - 3)] + ["full_name", "email", "customer_id"]
    return {"input": {"context": {"identity": {"user": "bob", "groups": []}, "softwareStack": {"trinoVersion": "476"}},
                      "action": {"operation": "GetColumnMask", "filterResources": [
                          {"column": {"catalogName": "lakehouse", "schemaName": "sales", "tableName": "customers",
                                      "columnName": c, "columnType": "varchar"}} for c in cols]}}}


def test_a_few_hundred_requests_then_a_graceful_shutdown(server) -> None:
    base, proc, log_path = server
    evaluate = {"consumer": "bob", "product": "sales.orders", "columns": ["amount", "margin"]}
    masks = _trino_masks(20)

    def one(i: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(50):
                if i % 2:
                    r = client.post("/v1/evaluate", json=evaluate)
                    assert r.status_code == 200
                    cols = r.json()["columns"]
                    assert cols["amount"]["effect"] == "allow" and cols["margin"]["effect"] == "deny"
                else:
                    r = client.post("/v1/trino/batch-column-masks", json=masks)
                    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
                    assert len(r.json()["result"]) == 19  # 17 unknown → NULL, 2 masked; customer_id allowed

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(8)))  # 400 requests
    metrics = httpx.get(base + "/metrics").text
    assert "policyengine_decisions_total 400" in metrics
    proc.send_signal(signal.SIGTERM)
    # uvicorn finishes in-flight requests, runs the lifespan shutdown (which flushes the decision
    # log), then re-raises the captured SIGTERM: exit status 0 or -SIGTERM, both after a clean stop
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    output = proc.stdout.read().decode()
    assert "Application shutdown complete" in output, output[-2000:]
    lines = log_path.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    # 200 JSON API decisions and 200 Trino mask requests (one line per request: customers)
    assert len(entries) == 400
    assert sum(e.get("product") == "sales.orders" for e in entries) == 200
    trino = [e for e in entries if e.get("source") == "trino"]
    assert len(trino) == 200 and all([d["product"] for d in e["decisions"]] == ["sales.customers"] for e in trino)
