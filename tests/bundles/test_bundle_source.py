"""Where a replica's bundle comes from (issue 24): the scopes it serves, the last good bundle
and its sequence persisted across restarts, a bundle that expires in force, and a URL polled with
ETags and backoff. Each fault is written as the attack first; time is a fake clock (no sleeps)."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_bundle import NOW, make_project, write

from policyengine.config import load_config
from policyengine.engine import keys
from policyengine.engine.bundlefile import (
    BundleError,
    BundlePoller,
    build_bundle,
    bundle_service,
    verify_bundle,
)


class Clock:
    """The wall clock (expiry) and the monotonic one (the poll schedule), moved by the test."""

    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 1000.0

    def now(self) -> dt.datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("sources")
    private, public, _ = keys.generate(base / "k")
    key = keys.signing_key(private)

    def build(sequence: int, *, drop: str | None = None, expires_in: dt.timedelta | None = None) -> Any:
        folder = base / f"p{sequence}"
        config = make_project(folder)
        platform = folder / "policies/platform.policy"
        platform.write_text(platform.read_text() + f"\n# build {sequence}\n", encoding="utf-8")
        if drop:
            (folder / "policies" / drop).unlink()
        return build_bundle(load_config(config), key, sequence=sequence, now=NOW, expires_in=expires_in)

    return {"public": public, "v10": build(10), "v20": build(20), "other": build(30, drop="hr.policy"),
            "expiring": build(40, expires_in=dt.timedelta(hours=1)), "v50": build(50)}


def service(bundles: dict[str, Any], location: Any, clock: Clock, **kw: Any) -> BundlePoller:
    return bundle_service(location, [bundles["public"]], clock=clock.now, monotonic=clock.monotonic, **kw)


def rev(bundles: dict[str, Any], name: str) -> str:
    return bundles[name][1].revision


# ---------------------------------------------------------------- 1. scopes


def test_a_bundle_for_other_scopes_is_refused(bundles: dict[str, Any], tmp_path: Path) -> None:
    served = bundles["v10"][1].scopes
    assert "domain hr" in served and "domain hr" not in bundles["other"][1].scopes
    trusted = keys.public_keys([bundles["public"]])
    assert verify_bundle(bundles["v10"][0], trusted, now=NOW, scopes=served).manifest.scopes == served
    for expected in ([*served, "domain finance"], [s for s in served if s != "platform"], ["domain hr"]):
        with pytest.raises(BundleError, match=r"covers scopes \[.*\] but this replica serves"):
            verify_bundle(bundles["v10"][0], trusted, now=NOW, scopes=expected)
    path = write(tmp_path, "live.bundle", bundles["v10"][0])
    clock = Clock()
    poller = service(bundles, path, clock, scopes=served)
    write(tmp_path, "live.bundle", bundles["other"][0])  # signed, newer, but without the hr rules
    result = poller.holder.reload()
    assert not result.ok and "but this replica serves" in (result.error or "")
    assert not (result.error or "").startswith("BundleError")  # the reason, not the class name
    assert poller.holder.bundle_version == rev(bundles, "v10")
    with pytest.raises(BundleError, match="but this replica serves"):  # nothing to fall back to
        service(bundles, path, clock, scopes=served)


# ---------------------------------------------------------------- 2. the persisted last good bundle


def test_a_restart_refuses_a_rollback_and_starts_from_the_persisted_bundle(
        bundles: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state, clock = tmp_path / "state", Clock()
    path = write(tmp_path, "live.bundle", bundles["v20"][0])
    first = service(bundles, path, clock, state_dir=state)
    assert first.holder.bundle_version == rev(bundles, "v20")
    assert (state / "last-good.bundle").read_bytes() == bundles["v20"][0]
    write(tmp_path, "live.bundle", bundles["v10"][0])  # an attacker (or a stale copy) rolls back
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        restarted = service(bundles, path, clock, state_dir=state)
    assert restarted.holder.bundle_version == rev(bundles, "v20")  # not the rollback
    assert "older than the one in force (20" in (restarted.status()["last_error"] or "")
    assert sum("starting from the persisted last good bundle" in r.getMessage() for r in caplog.records) == 1
    path.unlink()  # the source unreachable: start from the persisted copy too
    assert service(bundles, path, clock, state_dir=state).holder.bundle_version == rev(bundles, "v20")
    write(tmp_path, "live.bundle", bundles["v50"][0])  # a newer one moves the floor
    assert service(bundles, path, clock, state_dir=state).holder.bundle_version == rev(bundles, "v50")
    assert b'"sequence":50' in (state / "state.json").read_bytes()


def test_the_sequence_survives_a_corrupt_state_file(bundles: dict[str, Any], tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    state, clock = tmp_path / "state", Clock()
    path = write(tmp_path, "live.bundle", bundles["v20"][0])
    service(bundles, path, clock, state_dir=state)
    (state / "state.json").write_bytes(b"{\"seq")  # torn write: the signed copy still says 20
    write(tmp_path, "live.bundle", bundles["v10"][0])
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        restarted = service(bundles, path, clock, state_dir=state)
    assert restarted.holder.bundle_version == rev(bundles, "v20")
    assert sum("not a bundle state file" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b.replace(b"allow", b"allou", 1), lambda b: b""])
def test_a_corrupt_persisted_copy_is_ignored_with_one_logged_reason(bundles: dict[str, Any], tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture,
                                                                    damage: Any) -> None:
    state, clock = tmp_path / "state", Clock()
    path = write(tmp_path, "live.bundle", bundles["v20"][0])
    service(bundles, path, clock, state_dir=state)
    copy = state / "last-good.bundle"
    copy.write_bytes(damage(copy.read_bytes()))
    path.unlink()
    with caplog.at_level(logging.ERROR, logger="policyengine"), pytest.raises(BundleError, match="cannot read"):
        service(bundles, path, clock, state_dir=state)  # nothing good: refused (serve exits 2)
    assert sum("ignoring the persisted bundle" in r.getMessage() for r in caplog.records) == 1
    write(tmp_path, "live.bundle", bundles["v10"][0])  # the state file still holds the floor
    with pytest.raises(BundleError, match="older than the one in force"):
        service(bundles, path, clock, state_dir=state)


def test_a_state_folder_that_cannot_be_written_does_not_refuse_a_good_bundle(
        bundles: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = write(tmp_path, "state", b"a file where the folder should be")
    path = write(tmp_path, "live.bundle", bundles["v20"][0])
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        poller = service(bundles, path, Clock(), state_dir=blocked)
    assert poller.holder.bundle_version == rev(bundles, "v20") and poller.status()["persist_errors"] == 1
    assert sum("cannot persist bundle" in r.getMessage() for r in caplog.records) == 1


def test_an_expired_persisted_copy_is_not_used(bundles: dict[str, Any], tmp_path: Path) -> None:
    state, clock = tmp_path / "state", Clock()
    path = write(tmp_path, "live.bundle", bundles["expiring"][0])
    service(bundles, path, clock, state_dir=state)
    path.unlink()
    clock.advance(2 * 3600)
    with pytest.raises(BundleError, match="cannot read"):
        service(bundles, path, clock, state_dir=state)


# ---------------------------------------------------------------- 3. expiry in force: fail closed


def test_a_bundle_that_expires_in_force_denies_everything_until_a_newer_one(
        bundles: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    path = write(tmp_path, "live.bundle", bundles["expiring"][0])
    poller = service(bundles, path, clock, interval=5)
    holder = poller.holder
    assert holder.evaluate("bob", "sales.orders").readable_columns  # bob reads orders
    clock.advance(3599)
    poller.tick()
    assert holder.bundle_version == rev(bundles, "expiring")
    clock.advance(1)  # the expiry instant itself
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        poller.tick()
        poller.tick()
    assert holder.bundle_version == f"expired:{rev(bundles, 'expiring')}"
    denied = holder.evaluate("bob", "sales.orders", ["order_id", "amount"]).to_dict()
    assert denied["bundle_version"] == holder.bundle_version and denied["error"] is None
    assert denied["readable_columns"] == [] and denied["row_filter"] == "false"
    assert {c["effect"] for c in denied["columns"].values()} == {"deny"}
    assert poller.status()["bundle_expired"] is True
    assert sum("expired at" in r.getMessage() for r in caplog.records) == 1  # once, not per tick
    write(tmp_path, "live.bundle", bundles["expiring"][0])  # the same expired bundle again: refused
    clock.advance(5)
    poller.tick()
    assert holder.bundle_version.startswith("expired:")
    write(tmp_path, "live.bundle", bundles["v50"][0])
    clock.advance(5)
    poller.tick()
    assert holder.bundle_version == rev(bundles, "v50") and poller.status()["bundle_expired"] is False


# ---------------------------------------------------------------- 4. a URL: ETag, backoff


class Static:
    """A static HTTP server on loopback serving one body with a strong ETag, or failing on demand."""

    def __init__(self) -> None:
        self.body = b""
        self.status = 200
        self.etags = True  # False: a server that sends no ETag (every poll is a 200 with the body)
        self.hang = threading.Event()  # set: requests block until `release` is set
        self.release = threading.Event()
        self.requests: list[str | None] = []  # the If-None-Match of each request
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.requests.append(self.headers.get("If-None-Match"))
                if owner.hang.is_set():
                    owner.release.wait(10)
                etag = '"' + hashlib.sha256(owner.body).hexdigest()[:32] + '"'
                if owner.status != 200:
                    self.send_response(owner.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif owner.etags and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                else:
                    self.send_response(200)
                    if owner.etags:
                        self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mesh.bundle?X-Amz-Signature=secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def static() -> Iterator[Static]:
    server = Static()
    try:
        yield server
    finally:
        server.stop()


def test_url_polling_uses_etags_backs_off_and_never_swaps_to_a_bad_bundle(
        bundles: dict[str, Any], static: Static, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    static.body = bundles["v10"][0]
    poller = service(bundles, static.url, clock, interval=5, max_backoff=40)
    holder = poller.holder
    assert holder.bundle_version == rev(bundles, "v10") and static.requests == [None]
    clock.advance(4)
    poller.tick()
    assert len(static.requests) == 1  # not due yet
    clock.advance(1)
    poller.tick()  # due: If-None-Match, 304, the current one kept
    assert static.requests[-1] is not None and holder.reloads == 0
    assert poller.status()["last_success"] is not None
    static.body = bundles["v20"][0]
    clock.advance(5)
    poller.tick()
    assert holder.bundle_version == rev(bundles, "v20") and holder.reloads == 1

    static.status = 503  # the bundle server fails: back off 10, 20, 40, 40 seconds
    asked = []
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        for _ in range(120):
            clock.advance(1)
            before = len(static.requests)
            poller.tick()
            if len(static.requests) > before:
                asked.append(clock.mono)
    gaps = [b - a for a, b in zip(asked, asked[1:], strict=False)]
    assert gaps[:3] == [10, 20, 40] and all(g == 40 for g in gaps[3:])
    assert holder.bundle_version == rev(bundles, "v20")
    assert sum("HTTP 503" in r.getMessage() for r in caplog.records) == 1  # logged once, counted each time
    status = poller.status()
    assert "HTTP 503" in (status["last_error"] or "") and status["fetch_errors"] == len(asked)
    assert all("secret" not in r.getMessage() for r in caplog.records)  # no presigned URL in a log line
    assert "secret" not in str(status)

    static.status = 200  # back: a truncated bundle is refused, once, and not fetched again
    static.body = bundles["v50"][0][:-10]
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        for _ in range(60):
            clock.advance(1)
            poller.tick()
    assert holder.bundle_version == rev(bundles, "v20")
    assert sum("corrupt or truncated" in r.getMessage() for r in caplog.records) == 1
    assert not any(r.getMessage().count("BundleError") for r in caplog.records)
    static.body = bundles["v50"][0]
    clock.advance(40)
    poller.tick()
    assert holder.bundle_version == rev(bundles, "v50") and poller.status()["last_error"] is None


def test_url_timeout_and_connection_refused_keep_the_bundle(bundles: dict[str, Any], static: Static) -> None:
    clock = Clock()
    static.body = bundles["v10"][0]
    poller = service(bundles, static.url, clock, interval=5, timeout=0.2)
    static.hang.set()  # the server accepts and never answers within the timeout
    clock.advance(5)
    poller.tick()
    assert "timed out" in (poller.status()["last_error"] or "")
    static.hang.clear()
    static.release.set()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    poller.source.location = f"http://127.0.0.1:{port}/mesh.bundle"
    clock.advance(60)
    poller.tick()
    assert "unreachable" in (poller.status()["last_error"] or "")
    assert poller.holder.bundle_version == rev(bundles, "v10") and poller.fetch_errors == 2


def test_a_replica_with_an_unreachable_url_starts_from_its_persisted_bundle(
        bundles: dict[str, Any], static: Static, tmp_path: Path) -> None:
    clock = Clock()
    static.body = bundles["v20"][0]
    service(bundles, static.url, clock, state_dir=tmp_path / "state")
    static.status = 500
    restarted = service(bundles, static.url, clock, state_dir=tmp_path / "state")
    assert restarted.holder.bundle_version == rev(bundles, "v20")
    assert "HTTP 500" in (restarted.status()["last_error"] or "")


def test_a_server_without_etags_does_not_cause_a_reload_per_poll(bundles: dict[str, Any], static: Static) -> None:
    clock = Clock()
    static.etags = False
    static.body = bundles["v10"][0]
    poller = service(bundles, static.url, clock, interval=5)
    for _ in range(3):
        clock.advance(5)
        poller.tick()
    assert len(static.requests) == 4 and set(static.requests) == {None}
    assert poller.holder.reloads == 0 and poller.holder.reload_errors == 0
    static.body = bundles["v20"][0]
    clock.advance(5)
    poller.tick()
    assert poller.holder.bundle_version == rev(bundles, "v20") and poller.holder.reloads == 1
