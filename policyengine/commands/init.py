"""`policyengine init [DIR]`: a new mesh repository in one command.

Writes a working project (configuration with an ownership map, a platform guardrail policy, one
example domain with an ODCS contract, a sample, a consumers file and policy tests, GitHub Actions
and GitLab CI workflows, a pre-commit configuration and the JSON Schemas editors validate the YAML
files with) on which `check`, `test`, `scan` and `coverage` pass straight away. It never
overwrites: when any file it would write exists, it writes nothing and exits 2.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from policyengine.commands.common import EXIT_OK, EXIT_USAGE, fail

SCHEMA_DIR = ".policyengine/schemas"
"""Where the new repository keeps copies of the shipped schemas (editors read them offline)."""


def _schema_line(name: str, depth: int) -> str:
    return f"# yaml-language-server: $schema={'../' * depth}{SCHEMA_DIR}/{name}\n"


CONFIG = """{schema}# policyengine project configuration (paths are relative to this file); docs: README of policyengine
policies: policies/
catalog: products/
consumers: consumers.yaml
samples: samples/
hash_key_env: POLICYENGINE_HASH_KEY   # HMAC key of `hash` masks, read from this variable
# Subjects `policyengine coverage` does not check (every sensitive tag, or only those listed)
privileged:
  - group:privacy-office
# Who owns what: the platform owns the guardrails, each domain its policy file and contracts
ownership:
  platform:
    team: "@YOUR-ORG/data-platform"
    paths:
      - policyengine.yaml
      - policies/platform.policy
      - policies/tests/
  domains:
    paths:
      - "policies/{{domain}}.policy"
      - "products/{{domain}}.*.yaml"
      - "samples/{{domain}}.*"
    teams:
      shop: "@YOUR-ORG/shop-data"
"""

PLATFORM = """# Platform-wide guardrails, owned by the data platform team.
# Deny and mask always win over allow, so no domain rule can loosen these.

scope platform

@name("mask-emails")
mask tagged pii.email using email_domain to everyone except group:privacy-office;

# Add a guardrail per sensitive tag your contracts use, e.g.
# deny read tagged pii.national_id to everyone except group:privacy-office;
"""

DOMAIN = """# Rules of the shop domain, owned by its team (see ownership in policyengine.yaml).

scope domain shop

@name("analysts-read-orders")
allow read shop.orders to group:analysts;

@name("privacy-office-reads-orders")
allow read shop.orders to group:privacy-office;

@name("regional-rows")
filter shop.orders rows where region == consumer.region to group:analysts;
"""

CONTRACT = """{schema}apiVersion: v3.0.2
kind: DataContract
id: shop-orders
name: orders
version: 1.0.0
status: active
domain: shop
dataProduct: orders
description:
  purpose: Orders of the shop, one row per order (an example product; replace it with yours).
schema:
- name: orders
  physicalName: orders
  physicalType: table
  properties:
  - name: order_id
    logicalType: integer
    physicalType: bigint
    tags: []
  - name: customer_email
    logicalType: string
    physicalType: varchar
    classification: restricted
    tags:
    - pii.email
  - name: amount
    logicalType: integer
    physicalType: bigint
    tags: []
  - name: region
    logicalType: string
    physicalType: varchar
    tags: []
servers:
- server: sample
  type: local
  format: csv
  path: ../samples/shop.orders.csv
"""

CONSUMERS = """{schema}# Known consumers, their groups and attributes; conditions are type-checked against `attributes`.
attributes:
  region: {{type: string, values: [eu, uk, us]}}
consumers:
  - id: ana
    groups: [analysts]
    attributes: {{region: eu}}
  - id: priya
    groups: [privacy-office]
    attributes: {{region: uk}}
"""

TESTS = """{schema}# Policy tests: `policyengine test` runs them and lists rules no test exercises.
tests:
  - name: an analyst sees orders of her region with the email masked
    consumer: ana
    product: shop.orders
    expect:
      columns: {{order_id: allow, customer_email: mask(email_domain), amount: allow, region: allow}}
      row_filter: region == "eu"
  - name: the privacy office reads emails unmasked, every row
    consumer: priya
    product: shop.orders
    expect:
      columns: {{customer_email: allow}}
      row_filter: null
  - name: anyone else reads nothing
    consumer: {{id: mallory, groups: [marketing]}}
    product: shop.orders
    expect:
      columns: {{order_id: deny, customer_email: deny}}
"""

GITHUB = """# The governance gates on every pull request (YOUR-ORG: where your copy of policyengine is hosted)
name: governance
on: [pull_request]
permissions:
  contents: read
jobs:
  governance:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0        # `diff` reads the pull request's base revision
      - uses: actions/setup-python@v5
        with: {python-version: "3.11"}
      - run: pip install "datamesh-policyengine @ git+https://github.com/YOUR-ORG/policyengine@v0.1.0"
      - run: policyengine check --strict
      - run: policyengine test
      - run: policyengine scan --format json --output scan.json
      - run: policyengine coverage --scan scan.json
      - run: policyengine diff origin/${{ github.base_ref }} --scan scan.json
"""

GITLAB = """# The governance gates on every merge request (YOUR-ORG: where your copy of policyengine is hosted)
governance:
  image: python:3.11
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
  variables:
    GIT_DEPTH: "0"              # `diff` reads the merge request's base revision
  script:
    - pip install "datamesh-policyengine @ git+https://github.com/YOUR-ORG/policyengine@v0.1.0"
    - policyengine check --strict
    - policyengine test
    - policyengine scan --format json --output scan.json
    - policyengine coverage --scan scan.json
    - git fetch origin "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
    - policyengine diff "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" --scan scan.json
"""

PRE_COMMIT = """# https://pre-commit.com hooks from your copy of policyengine (YOUR-ORG: fill in)
repos:
  - repo: https://github.com/YOUR-ORG/policyengine
    rev: v0.1.0
    hooks:
      - id: policyengine-check
      - id: policyengine-fmt
      - id: policyengine-scan
      - id: policyengine-coverage
"""

SAMPLE = """order_id,customer_email,amount,region
1000,ana.brown@example.com,207,us
1001,ben.smith@example.com,425,us
1002,chloe.smith@example.org,303,eu
1003,dev.lee@example.com,24,eu
1004,ella.taylor@example.org,40,eu
1005,finn.smith@mail.example.net,222,eu
1006,gia.lee@example.com,490,eu
1007,hugo.lee@example.com,300,us
1008,isla.taylor@example.com,118,eu
1009,jon.lee@example.com,153,uk
1010,kai.jones@mail.example.net,65,us
1011,lena.brown@mail.example.net,422,us
1012,milo.jones@example.com,302,us
1013,nora.jones@example.org,54,us
1014,omar.smith@mail.example.net,35,us
1015,pia.jones@example.org,353,us
1016,quinn.taylor@example.org,243,us
1017,rosa.taylor@example.org,158,eu
1018,sam.jones@mail.example.net,404,eu
1019,tara.smith@mail.example.net,158,us
1020,uma.taylor@example.org,378,uk
1021,vic.brown@mail.example.net,42,eu
1022,will.lee@example.org,89,uk
1023,xena.jones@example.org,220,eu
1024,yara.smith@mail.example.net,298,uk
1025,zoe.brown@mail.example.net,184,us
1026,alex.taylor@mail.example.net,413,uk
1027,bea.smith@example.com,488,uk
1028,cara.taylor@mail.example.net,345,eu
1029,dan.smith@mail.example.net,364,uk
"""


def files() -> dict[str, str]:
    """Every file `init` writes, by path relative to the new repository (schemas included)."""
    out = {
        "policyengine.yaml": CONFIG.format(schema=_schema_line("policyengine.schema.json", 0)),
        "policies/platform.policy": PLATFORM,
        "policies/shop.policy": DOMAIN,
        "policies/tests/shop.yaml": TESTS.format(schema=_schema_line("policy-tests.schema.json", 2)),
        "products/shop.orders.yaml": CONTRACT.format(schema=""),
        "samples/shop.orders.csv": SAMPLE,
        "consumers.yaml": CONSUMERS.format(schema=_schema_line("consumers.schema.json", 0)),
        ".github/workflows/governance.yml": GITHUB,
        ".gitlab-ci.yml": GITLAB,
        ".pre-commit-config.yaml": PRE_COMMIT,
    }
    for schema in sorted(resources.files("policyengine").joinpath("schemas").iterdir(), key=lambda p: p.name):
        if schema.name.endswith(".schema.json"):
            out[f"{SCHEMA_DIR}/{schema.name}"] = schema.read_text(encoding="utf-8")
    return out


def init_command(
    folder: Annotated[Path, typer.Argument(help="Where to create the mesh repository (default: here).")] = Path("."),
) -> None:
    """Create a new mesh repository: configuration, guardrails, an example domain, tests, CI.

    Refuses (exit 2, nothing written) when any file it would write already exists."""
    planned = files()
    if folder.exists() and not folder.is_dir():
        raise fail(f"{folder}: error: not a folder", EXIT_USAGE)
    existing = [name for name in planned if (folder / name).exists() or (folder / name).is_symlink()]
    if existing:
        shown = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        raise fail(f"{folder}: error: would overwrite {shown}; nothing written (init only creates new files)",
                   EXIT_USAGE)
    try:
        for name, text in planned.items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8", newline="\n") as fh:  # "x": never replace a file
                fh.write(text)
    except OSError as exc:
        raise fail(f"{folder}: error: cannot write the project: {exc.strerror or exc}", EXIT_USAGE) from None
    typer.echo(f"created a mesh repository in {folder} ({len(planned)} files); next, there:\n"
               "  policyengine check && policyengine test && policyengine scan && policyengine coverage\n"
               "replace YOUR-ORG in the CI and pre-commit files with where your copy of policyengine lives")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the `init` command to the CLI."""
    app.command("init")(init_command)
