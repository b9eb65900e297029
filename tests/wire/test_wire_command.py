"""`policyengine gateway` as the README runs it: one command on the example mesh, psycopg logs in
as bob and sees masked rows; a bad `gateway:` section is exit 2 with one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from policyengine.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gateway_command_serves_the_example_mesh() -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "POLICYENGINE_HASH_KEY": "policyengine-demo-key-not-a-secret"}
    cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "gateway", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:  # readiness: the first login that succeeds
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            try:
                conn = psycopg.connect(f"host=127.0.0.1 port={port} user=bob dbname=mesh", autocommit=True)
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        with conn:
            rows = conn.execute("SELECT customer_email, region FROM sales.orders").fetchall()
        assert rows and all(e.startswith("***@") and r == "uk" for e, r in rows)
    finally:
        proc.send_signal(signal.SIGTERM)  # a clean stop: exit 0
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stdout.read()


def test_bad_gateway_section_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "policyengine.yaml"
    bad.write_text(f"policies: {ROOT}/policies/\ncatalog: {ROOT}/examples/mesh/products/\n"
                   f"consumers: {ROOT}/examples/mesh/consumers.yaml\ngateway:\n  auth: password-in-clear\n",
                   encoding="utf-8")
    result = CliRunner().invoke(app, ["gateway", "--config", str(bad)])
    assert result.exit_code == 2
    assert "'gateway.auth' must be one of refuse, trust" in result.output
    assert "Traceback" not in result.output


def test_missing_tls_files_are_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "policyengine.yaml"
    bad.write_text(f"policies: {ROOT}/policies/\ncatalog: {ROOT}/examples/mesh/products/\n"
                   f"consumers: {ROOT}/examples/mesh/consumers.yaml\ngateway:\n  auth: trust\n"
                   "  tls:\n    cert: server.crt\n    key: server.key\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["gateway", "--config", str(bad)])
    assert result.exit_code == 2, result.output
    assert "server.crt / server.key: cannot load the certificate and key" in result.output
    assert "Traceback" not in result.output
