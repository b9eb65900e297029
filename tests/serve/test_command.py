"""`policyengine serve` refuses unsafe or broken set-ups before binding anything."""

from __future__ import annotations

import shutil
from pathlib import Path

from serve_helpers import ROOT
from typer.testing import CliRunner

from policyengine.cli import app


def _project(tmp: Path, serve: str = "") -> Path:
    for name in ("policies",):
        shutil.copytree(ROOT / name, tmp / name)
    (tmp / "policyengine.yaml").write_text(
        f"policies: policies/\ncatalog: {ROOT / 'examples/mesh/products'}\n"
        f"consumers: {ROOT / 'examples/mesh/consumers.yaml'}\n{serve}", encoding="utf-8")
    return tmp / "policyengine.yaml"


def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("POLICYENGINE_SERVE_TOKEN", raising=False)
    cfg = _project(tmp_path)
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--config", str(cfg)])
    assert r.exit_code == 2 and "without authentication" in r.output


def test_an_unknown_serve_key_is_a_usage_error(tmp_path: Path) -> None:
    cfg = _project(tmp_path, "serve:\n  trino:\n    catalgos: [lakehouse]\n")
    r = CliRunner().invoke(app, ["serve", "--config", str(cfg)])
    assert r.exit_code == 2 and "catalgos" in r.output and "Traceback" not in r.output


def test_broken_policies_exit_1_before_binding(tmp_path: Path) -> None:
    cfg = _project(tmp_path)
    (tmp_path / "policies" / "sales.policy").write_text("scope domain sales\nallow read ;\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["serve", "--config", str(cfg)])
    assert r.exit_code == 1 and "sales.policy" in r.output
