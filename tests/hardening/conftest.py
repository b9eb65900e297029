"""A temporary project (policyengine.yaml, policies/, a contract and consumers) and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from policyengine.cli import app

CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: shop-orders
version: 1.0.0
status: active
domain: shop
dataProduct: orders
servers:
- server: local
  type: local
  path: {sample}
  format: csv
schema:
- name: orders
  properties:
  - name: order_id
    logicalType: integer
  - name: email
    logicalType: string
    tags: [pii.email]
"""

CONSUMERS = """\
attributes:
  region: {type: string}
consumers:
- id: alice
  groups: [support-agents, analytics]
- id: bob
  groups: [sales-reps]
"""

OWNERSHIP = """\
ownership:
  platform:
    team: "@example/platform"
    paths: [policies/platform.policy]
  domains:
    paths: ["policies/{domain}.policy", "products/{domain}.*.yaml"]
    teams:
      shop: "@example/shop"
"""

GOOD = "scope domain shop\n\nallow read shop.orders to group:analytics;\n"

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path_factory.mktemp("parse-cache")))
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Run:
    """Write the project into tmp_path; `run(*args, files={...})` writes policy files and runs the CLI there."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "products").mkdir()
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "orders.csv").write_text("order_id,email\n1,a@example.org\n", encoding="utf-8")
    (tmp_path / "products" / "shop.orders.yaml").write_text(CONTRACT.format(sample="../samples/orders.csv"),
                                                       encoding="utf-8")
    (tmp_path / "consumers.yaml").write_text(CONSUMERS, encoding="utf-8")
    (tmp_path / "policyengine.yaml").write_text(
        "policies: policies/\ncatalog: products/\nconsumers: consumers.yaml\nsamples: samples/\n" + OWNERSHIP,
        encoding="utf-8")
    runner = CliRunner()

    def run(*args: str, files: dict[str, str | bytes] | None = None) -> Result:
        for name, text in (files or {}).items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                target.write_bytes(text)
            else:
                target.write_text(text, encoding="utf-8", newline="")
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            return runner.invoke(app, list(args), catch_exceptions=False)
        finally:
            os.chdir(cwd)

    run.root = tmp_path  # type: ignore[attr-defined]
    return run
