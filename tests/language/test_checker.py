"""Checker cases, table-driven from checker_cases/*.yaml, plus what the checker resolves.

Each case's files are parsed and checked against the fixture catalog and attribute schema at a
fixed time; its diagnostics, rendered `file:line:col: severity[code]: message` in order, must
equal `expect` exactly (so a missing, extra or re-worded diagnostic fails the case).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from policyengine.checker import check_policies
from policyengine.parser import parse_policy

CASES_DIR = Path(__file__).resolve().parent / "checker_cases"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


def run(files: dict[str, str], catalog, schema):
    parsed = [parse_policy(text, name) for name, text in files.items()]
    return check_policies(parsed, catalog, schema, NOW, files)


def line(d) -> str:
    return f"{d.location}: {d.severity}[{d.code}]: {d.message}"


@pytest.mark.parametrize("case", list(_cases()))
def test_checker_case(case, catalog, schema) -> None:
    files = case.get("files") or {"shop.policy": case["policy"]}
    result = run(files, catalog, schema)
    assert [line(d) for d in result.diagnostics] == case["expect"]
    # every diagnostic renders with its source line and a caret
    for d in result.diagnostics:
        rendered = d.render(files[d.span.file]).splitlines()
        assert rendered[0] == d.one_line() and set(rendered[-1].split("| ", 1)[1].strip()) == {"^"}


def test_there_are_enough_cases() -> None:
    assert len(list(_cases())) >= 40


def test_tag_target_in_a_domain_file_covers_only_its_domain(catalog, schema) -> None:
    result = run({"shop.policy": "scope domain shop\nmask tagged pii using hash to everyone;\n"}, catalog, schema)
    (rule,) = result.rules
    assert dict(rule.columns) == {
        "shop.customers": ("email", "phone", "birth_date"),
        "shop.orders": ("email", "customer_name", "card_number"),
    }
    platform = run({"p.policy": "scope platform\nmask tagged pii.name using hash to everyone;\n"}, catalog, schema)
    assert dict(platform.rules[0].columns) == {"hr.staff": ("full_name",), "shop.orders": ("customer_name",)}


def test_columns_resolve_in_product_order_and_masks_resolve_with_defaults(catalog, schema) -> None:
    text = ("scope domain shop\n"
            "allow read shop.orders.{region, email} to everyone;\n"
            "mask shop.orders.amount using round to everyone;\n"
            "filter shop.* rows where region == consumer.region to everyone;\n")
    allow, mask, row_filter = run({"s.policy": text}, catalog, schema).rules
    assert dict(allow.columns) == {"shop.orders": ("email", "region")}
    assert mask.mask is not None and mask.mask.name == "round" and mask.mask.arguments == {"digits": 0}
    assert set(row_filter.columns) == {"shop.orders", "shop.customers"}
    assert [r.index for r in (allow, mask, row_filter)] == [0, 1, 2]


def test_rules_with_errors_are_left_out_and_others_kept(catalog, schema) -> None:
    text = ("scope domain shop\n"
            "allow read shop.orders to everyone;\n"
            "allow read shop.nope to everyone;\n"
            "allow read shop.customers to everyone;\n")
    result = run({"s.policy": text}, catalog, schema)
    assert not result.ok and len(result.errors) == 1
    assert [r.rule.span.line for r in result.rules] == [2, 4]
    assert [r.index for r in result.rules] == [0, 2]


def test_without_a_schema_unknown_attributes_are_not_errors(catalog) -> None:
    text = "scope domain shop\nallow read shop.orders to everyone when consumer.anything == 1;\n"
    assert run({"s.policy": text}, catalog, None).diagnostics == ()
