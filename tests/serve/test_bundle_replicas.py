"""Many replicas (issue 24, item 4): two `serve` processes on loopback pull one bundle URL from a
static HTTP server the test starts (no ETags: the standard library's file server, so the
unchanged-bytes path is exercised too); a new bundle published there (written aside, renamed)
reaches both. The convergence time is measured and printed; the assertion is only that both
converge within a bounded wait (speed targets live in benchmarks/, not in timed tests)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import ROOT, config_copy
from typer.testing import CliRunner

from policyengine.cli import app

pytest.importorskip("uvicorn")
pytestmark = pytest.mark.slow

INTERVAL = 1.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return json.loads(body) if head.startswith(b"HTTP/1.1 200") else None


def _build(config: Path, key: Path, out: Path, sequence: int) -> str:
    r = CliRunner().invoke(app, ["build", "-o", str(out), "--signing-key", str(key), "--sequence", str(sequence),
                                 "--config", str(config)])
    assert r.exit_code == 0, r.output
    return json.loads(json.loads(out.read_bytes())["manifest"])["revision"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[dict]:
    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    config = config_copy(tmp_path, policies=str(tmp_path / "policies"))
    r = CliRunner().invoke(app, ["keys", "generate", "--out", str(tmp_path / "keys")])
    assert r.exit_code == 0, r.output
    key, public = next((tmp_path / "keys").glob("*.key")), next((tmp_path / "keys").glob("*.pub"))
    site = tmp_path / "site"
    site.mkdir()
    first = _build(config, key, site / "mesh.bundle", 1)
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/mesh.bundle"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs, ports = [], []
    try:
        for i in range(2):
            port = _free_port()
            cmd = [sys.executable, "-c", "from policyengine.cli import main; main()", "serve", "--port", str(port),
                   "--bundle", url, "--public-key", str(public), "--bundle-interval", str(INTERVAL),
                   "--bundle-state", str(tmp_path / f"state{i}"), "--config", str(config)]
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            ports.append(port)
        deadline = time.monotonic() + 90
        for proc, port in zip(procs, ports, strict=True):
            while (_health(port) or {}).get("bundle_version") != first:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited: {proc.stdout.read().decode()[-2000:]}")
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.05)
        yield {"config": config, "key": key, "site": site, "ports": ports, "tmp": tmp_path}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        server.shutdown()
        server.server_close()


def test_two_replicas_converge_on_a_new_bundle(replicas: dict) -> None:
    policy = replicas["tmp"] / "policies/platform.policy"
    policy.write_text(policy.read_text(encoding="utf-8") + "\n# published again\n", encoding="utf-8")
    aside = replicas["tmp"] / "next.bundle"
    second = _build(replicas["config"], replicas["key"], aside, 2)
    published = time.monotonic()
    aside.replace(replicas["site"] / "mesh.bundle")  # as an object store swaps an object: whole
    seen: dict[int, float] = {}
    deadline = published + 30  # bounded wait; the figure itself is printed, not asserted
    while len(seen) < 2 and time.monotonic() < deadline:
        for port in replicas["ports"]:
            if port not in seen and (_health(port) or {}).get("bundle_version") == second:
                seen[port] = time.monotonic() - published
        time.sleep(0.02)
    assert len(seen) == 2, f"converged: {seen}"
    for port in replicas["ports"]:
        health = _health(port)
        assert health and health["bundle_sequence"] == 2 and health["last_error_at"] is None  # the text: token only
    print(f"\nconvergence after publishing (poll interval {INTERVAL:.1f} s): "
          + ", ".join(f"{s * 1000:.0f} ms" for s in sorted(seen.values())))
