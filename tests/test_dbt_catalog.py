"""dbt as a catalog source: a real dbt project (dbt-core + dbt-duckdb), parsed by `dbt parse`
inside the test, its manifest's models read as products beside ODCS contracts, its seeds scanned
as their samples, and the gates (`check`, `scan`, `coverage`) run on it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app

DBT = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt")
if DBT is None:
    if os.environ.get("CI") == "true":
        pytest.fail("dbt is missing (the dev extra installs dbt-core and dbt-duckdb)", pytrace=False)
    pytest.skip("dbt is not installed (pip install -e '.[dev]' brings dbt-core and dbt-duckdb)",
                allow_module_level=True)

PROJECT = """\
name: shop
version: "1.0.0"
profile: shop
model-paths: ["models"]
seed-paths: ["seeds"]
"""
PROFILES = """\
shop:
  target: dev
  outputs:
    dev: {type: duckdb, path: shop.duckdb}
"""
SCHEMA = """\
version: 2
groups:
  - name: shop
    owner: {name: Shop data team, email: shop-data@example.com}
models:
  - name: orders
    group: shop
    access: public
    description: Orders of the shop
    config:
      contract: {enforced: true}
    columns:
      - name: order_id
        data_type: integer
      - name: customer_email
        data_type: varchar
        tags: [pii.email]
      - name: amount
        data_type: integer
  - name: stg_scratch
    description: a staging model, no data product
"""
SEED = "order_id,customer_email,amount\n" + "".join(
    f"{i},{n}.{s}@example.org,{i * 7}\n" for i, (n, s) in enumerate(
        [("ana", "smith"), ("ben", "lee"), ("cara", "jones"), ("dev", "brown"), ("ella", "taylor"),
         ("finn", "white"), ("gia", "green"), ("hugo", "black")], 1))
POLICY = ("scope domain shop\n\nallow read shop.orders to group:analysts;\n"
          "mask tagged pii.email using email_domain to everyone;\n")


def _run(folder: Path, *args: str):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        os.chdir(cwd)


def _parse(root: Path) -> None:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    done = subprocess.run([DBT, "parse", "--profiles-dir", ".", "--project-dir", "."], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.fixture(scope="module")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dbt")
    files = {"dbt_project.yml": PROJECT, "profiles.yml": PROFILES, "models/schema.yml": SCHEMA,
             "models/orders.sql": "select order_id, customer_email, amount from {{ ref('raw_orders') }}\n",
             "models/stg_scratch.sql": "select 1 as x\n", "seeds/raw_orders.csv": SEED,
             "policies/shop.policy": POLICY,
             "policyengine.yaml": "policies: policies/\ncatalog: target/manifest.json\nsamples: seeds/\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, "utf-8")
    _parse(root)
    return root


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLICYENGINE_CONFIG", raising=False)
    monkeypatch.setenv("POLICYENGINE_CACHE_DIR", str(tmp_path / "cache"))


def test_models_are_products_and_the_gates_run_on_a_dbt_project(dbt_project: Path) -> None:
    check = _run(dbt_project, "check")
    assert check.exit_code == 0, check.output
    assert "against 1 products" in check.output
    assert "models/schema.yml: warning: dbt model 'stg_scratch' has no meta.domain and no group" in check.output
    evaluated = _run(dbt_project, "eval", "--consumer", "a", "--group", "analysts", "--product", "shop.orders")
    assert "customer_email  mask email_domain" in evaluated.output, evaluated.output
    scanned = _run(dbt_project, "scan", "--format", "json", "--output", "scan.json")
    assert scanned.exit_code == 0, scanned.output  # the seed is the model's sample: claimed, PII declared
    covered = _run(dbt_project, "coverage", "--scan", "scan.json")
    assert covered.exit_code == 0, covered.output


def test_a_wrong_tag_is_located_in_the_models_properties_file(dbt_project: Path, tmp_path: Path) -> None:
    root = tmp_path / "p"
    shutil.copytree(dbt_project, root, ignore=shutil.ignore_patterns("target", "*.duckdb", "scan.json"))
    schema = root / "models" / "schema.yml"
    schema.write_text(schema.read_text("utf-8").replace("tags: [pii.email]", "tags: [PII.Email]"), "utf-8")
    _parse(root)
    result = _run(root, "check", "--strict")
    assert result.exit_code == 1, result.output
    # at the column's line of the properties file the user edits, not in the generated manifest
    assert "models/schema.yml:15:9: error: tag 'PII.Email' of column 'customer_email' is read as the " \
           "taxonomy's 'pii.email'" in result.output, result.output


def test_a_file_that_is_no_manifest_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "x.policy").write_text("scope domain shop\n", "utf-8")
    (tmp_path / "manifest.json").write_text("{\"nodes\": 3}", "utf-8")
    (tmp_path / "policyengine.yaml").write_text("policies: policies/\ncatalog: manifest.json\n", "utf-8")
    result = _run(tmp_path, "check")
    assert result.exit_code == 1
    assert "manifest.json: error: not a dbt manifest (no 'nodes')" in result.output
