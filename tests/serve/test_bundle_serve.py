"""`policyengine build`, `keys generate` and `serve --bundle`: the commands and the served app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from serve_helpers import call, config_copy
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.config import load_config
from policyengine.serve.server import ServeSettings, build_app


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("served")
    config = config_copy(base)
    r = CliRunner().invoke(app, ["keys", "generate", "--out", str(base / "keys")])
    assert r.exit_code == 0, r.output
    private = next((base / "keys").glob("*.key"))
    public = next((base / "keys").glob("*.pub"))
    r = CliRunner().invoke(app, ["build", "-o", str(base / "mesh.bundle"), "--signing-key", str(private),
                                 "--sequence", "7", "--expires-in", "30d", "--config", str(config)])
    assert r.exit_code == 0, r.output
    assert "sequence 7" in r.output and f"signed by key {public.stem}" in r.output
    return {"base": base, "config": config, "private": private, "public": public, "bundle": base / "mesh.bundle"}


def test_served_decisions_and_health_name_the_bundle_revision(built: dict[str, Path]) -> None:
    revision = json.loads(json.loads(built["bundle"].read_bytes())["manifest"])["revision"]
    cfg = load_config(built["config"])
    served = build_app(cfg, ServeSettings.from_config(cfg), bundle=str(built["bundle"]),
                       public_keys=[str(built["public"])])
    health = call(served, "GET", "/health")
    assert health.status == 200 and json.loads(health.body)["bundle_version"] == revision
    assert served.holder.evaluate("alice", "sales.orders").bundle_version == revision
    served.holder.close()


def test_the_signing_key_from_the_environment_is_never_echoed(built: dict[str, Path], tmp_path: Path) -> None:
    pem = built["private"].read_text()
    body = "".join(pem.splitlines()[1:-1])
    broken = pem.replace(body, body[:-4] + "AAAA")  # a damaged key: the error must not quote it
    r = CliRunner().invoke(app, ["build", "-o", str(tmp_path / "x.bundle"), "--config", str(built["config"])],
                           env={"POLICYENGINE_SIGNING_KEY": broken})
    assert r.exit_code in (0, 2) and body[:20] not in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["build", "-o", str(tmp_path / "x.bundle"), "--config", str(built["config"])],
                           env={"POLICYENGINE_SIGNING_KEY": "not a key " + body[:30]})
    assert r.exit_code == 2 and "POLICYENGINE_SIGNING_KEY" in r.output and body[:30] not in r.output


def test_build_without_a_key_is_a_usage_error(built: dict[str, Path], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POLICYENGINE_SIGNING_KEY"}
    r = CliRunner().invoke(app, ["build", "-o", str(tmp_path / "x.bundle"), "--config", str(built["config"])],
                           env={**env, "POLICYENGINE_SIGNING_KEY": ""})
    assert r.exit_code == 2 and r.output.strip() == \
        "error: no signing key: pass --signing-key FILE or set POLICYENGINE_SIGNING_KEY"
    assert not (tmp_path / "x.bundle").exists()


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda data: data[:-10], "corrupt or truncated"),
    (lambda data: data.replace(b'"sequence\\":7', b'"sequence\\":8'), "bad signature"),
    (None, "unknown key id"),
])
def test_serve_refuses_a_bad_bundle_in_one_line_exit_2(built: dict[str, Path], tmp_path: Path,
                                                       damage, reason: str) -> None:
    path = tmp_path / "bad.bundle"
    keys = [str(built["public"])]
    if damage is None:  # a good bundle, but only another key is trusted
        path.write_bytes(built["bundle"].read_bytes())
        CliRunner().invoke(app, ["keys", "generate", "--out", str(tmp_path / "other")])
        keys = [str(next((tmp_path / "other").glob("*.pub")))]
    else:
        data = damage(built["bundle"].read_bytes())
        assert data != built["bundle"].read_bytes()
        path.write_bytes(data)
    args = ["serve", "--bundle", str(path), "--config", str(built["config"])]
    for k in keys:
        args += ["--public-key", k]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert reason in r.output and len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_serve_without_public_keys_refuses_the_bundle(built: dict[str, Path]) -> None:
    r = CliRunner().invoke(app, ["serve", "--bundle", str(built["bundle"]), "--config", str(built["config"])])
    assert r.exit_code == 2 and "no public keys configured" in r.output


def test_public_keys_come_from_the_configuration(built: dict[str, Path], tmp_path: Path) -> None:
    config = config_copy(tmp_path, bundle={"public_keys": [str(built["public"])]})
    assert load_config(config).bundle_public_keys == (built["public"],)
    bad = config_copy(tmp_path, bundle={"public_key": ["x.pub"]})
    r = CliRunner().invoke(app, ["serve", "--bundle", str(built["bundle"]), "--config", str(bad)])
    assert r.exit_code == 2 and "'bundle' must be a mapping with 'public_keys'" in r.output


def test_a_refused_reload_is_counted_and_the_revision_stays(built: dict[str, Path], tmp_path: Path) -> None:
    revision = json.loads(json.loads(built["bundle"].read_bytes())["manifest"])["revision"]
    live = tmp_path / "live.bundle"
    live.write_bytes(built["bundle"].read_bytes())
    cfg = load_config(built["config"])
    served = build_app(cfg, ServeSettings.from_config(cfg), bundle=str(live), public_keys=[str(built["public"])])
    live.write_bytes(built["bundle"].read_bytes()[:-1])  # truncated by a broken copy
    assert not served.holder.reload().ok
    metrics = call(served, "GET", "/metrics").body.decode()
    assert "policyengine_reload_errors_total 1" in metrics
    assert f'policyengine_bundle_info{{bundle_version="{revision}"}} 1' in metrics
    assert json.loads(call(served, "GET", "/health").body)["bundle_version"] == revision
    served.holder.close()


def test_build_refuses_a_project_that_does_not_check(built: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from serve_helpers import ROOT

    shutil.copytree(ROOT / "policies", tmp_path / "policies")
    (tmp_path / "policies" / "sales.policy").write_text("scope domain sales\nallow read ;\n", encoding="utf-8")
    config = tmp_path / "policyengine.yaml"
    config.write_text(f"policies: policies/\ncatalog: {ROOT / 'examples/mesh/products'}\n"
                      f"consumers: {ROOT / 'examples/mesh/consumers.yaml'}\n", encoding="utf-8")
    out = tmp_path / "x.bundle"
    r = CliRunner().invoke(app, ["build", "-o", str(out), "--signing-key", str(built["private"]),
                                 "--config", str(config)])
    assert r.exit_code == 1 and "sales.policy:2" in r.output and "Traceback" not in r.output
    assert not out.exists() and not out.with_name("x.bundle.tmp").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (["--expires-in", "soon"], "--expires-in: bad duration"),
    (["--sequence", "-1"], "--sequence must not be negative"),
    (["--signing-key", "/nonexistent/k.key"], "cannot read the signing key"),
])
def test_build_usage_errors_exit_2(built: dict[str, Path], tmp_path: Path, flags: list[str], message: str) -> None:
    args = ["build", "-o", str(tmp_path / "x.bundle"), "--config", str(built["config"])]
    if "--signing-key" not in flags:
        args += ["--signing-key", str(built["private"])]
    r = CliRunner().invoke(app, args + flags)
    assert r.exit_code == 2 and message in r.output and len(r.output.strip().splitlines()) == 1


def test_the_projects_own_configuration_builds_with_its_ownership_map(built: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    from serve_helpers import ROOT

    out = tmp_path / "mesh.bundle"
    r = CliRunner().invoke(app, ["build", "-o", str(out), "--signing-key", str(built["private"]),
                                 "--config", str(ROOT / "policyengine.yaml")])
    assert r.exit_code == 0, r.output
    manifest = json.loads(json.loads(out.read_bytes())["manifest"])
    assert manifest["scopes"] == ["domain hr", "domain marketing", "domain sales", "platform"]


def test_serve_refuses_a_bundle_for_other_scopes(built: dict[str, Path], tmp_path: Path) -> None:
    args = ["serve", "--bundle", str(built["bundle"]), "--public-key", str(built["public"]),
            "--config", str(built["config"])]
    r = CliRunner().invoke(app, [*args, "--scope", "platform", "--scope", "domain  nowhere"])
    assert r.exit_code == 2, r.output
    assert "but this replica serves [domain nowhere, platform]" in r.output
    assert len(r.output.strip().splitlines()) == 1 and "BundleError" not in r.output
    config = config_copy(tmp_path, bundle={"public_keys": [str(built["public"])], "scopes": ["platform"],
                                           "state_dir": "state"})
    assert load_config(config).bundle_scopes == ("platform",)
    assert load_config(config).bundle_state_dir == tmp_path / "state"
    (tmp_path / "bad").mkdir()
    bad = config_copy(tmp_path / "bad", bundle={"public_keys": [str(built["public"])], "scopes": "platform"})
    r = CliRunner().invoke(app, ["serve", "--bundle", str(built["bundle"]), "--config", str(bad)])
    assert r.exit_code == 2 and "'bundle.scopes' must be a list" in r.output
    r = CliRunner().invoke(app, ["serve", "--bundle", str(built["bundle"]), "--config", str(config)])
    assert r.exit_code == 2 and "but this replica serves [platform]" in r.output


def test_health_and_metrics_report_the_bundle_source_and_shutdown_stops_the_poller(
        built: dict[str, Path], tmp_path: Path) -> None:
    import asyncio
    import threading

    live = tmp_path / "live.bundle"
    live.write_bytes(built["bundle"].read_bytes())
    cfg = load_config(built["config"])
    before = set(threading.enumerate())
    served = build_app(cfg, ServeSettings.from_config(cfg), bundle=str(live), public_keys=[str(built["public"])],
                       bundle_state=str(tmp_path / "state"))
    assert (tmp_path / "state/last-good.bundle").read_bytes() == live.read_bytes()
    health = json.loads(call(served, "GET", "/health").body)
    assert health["bundle_sequence"] == 7 and health["last_success"] and health["bundle_expired"] is False
    # /health answers anyone (probes): where bundles come from, and fetch errors, only with the token
    assert "bundle_source" not in health and "last_error" not in health
    metrics = call(served, "GET", "/metrics").body.decode()
    assert "policyengine_bundle_sequence 7" in metrics and "policyengine_bundle_expired 0" in metrics
    assert "policyengine_bundle_fetch_errors_total 0" in metrics
    poll = [t for t in set(threading.enumerate()) - before if t.name == "policyengine-bundle-poll"]
    assert len(poll) == 1

    async def lifespan() -> None:  # what uvicorn does on SIGTERM
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive() -> dict[str, str]:
            return next(messages)

        async def send(message: dict[str, str]) -> None:
            pass

        await served({"type": "lifespan"}, receive, send)

    asyncio.run(lifespan())
    for t in poll:
        t.join(5)  # bounded: the thread notices its stop Event within one poll step
    assert not any(t.is_alive() for t in poll)


def test_health_shows_the_bundle_source_and_last_error_only_to_a_caller_with_the_token(
        built: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle's location (a bucket, a presigned host) and a fetch error's text stay out of the
    unauthenticated /health that probes read; a caller with the bearer token sees them."""
    monkeypatch.setenv("POLICYENGINE_SERVE_TOKEN", "t0ken-for-the-test")
    live = tmp_path / "live.bundle"
    live.write_bytes(built["bundle"].read_bytes())
    cfg = load_config(built["config"])
    served = build_app(cfg, ServeSettings.from_config(cfg), bundle=str(live), public_keys=[str(built["public"])])
    try:
        anyone = json.loads(call(served, "GET", "/health").body)
        assert anyone["bundle_sequence"] == 7 and "bundle_source" not in anyone and "last_error" not in anyone
        wrong = json.loads(call(served, "GET", "/health", headers={"Authorization": "Bearer nope"}).body)
        assert "bundle_source" not in wrong
        vouched = json.loads(call(served, "GET", "/health",
                                  headers={"Authorization": "Bearer t0ken-for-the-test"}).body)
        assert vouched["bundle_source"] == str(live) and vouched["last_error"] is None
    finally:
        served.holder.close()
