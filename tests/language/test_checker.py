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

from policyengine.language.checker import check_policies
from policyengine.language.parser import parse_policy

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


DEEP_CONDITIONS = {
    "500 nots": "not " * 500 + "consumer.contractor",
    "alternating and/or in parentheses": "(consumer.contractor and (consumer.id == 'x' or " * 300
                                         + "true" + "))" * 300,
    "nested comparisons": "(" * 150 + "true" + " == true)" * 150,
}


@pytest.mark.parametrize("condition", list(DEEP_CONDITIONS.values()), ids=list(DEEP_CONDITIONS))
@pytest.mark.parametrize("kind", ["when", "filter"])
def test_an_expression_nested_too_deeply_is_a_located_error(condition: str, kind: str) -> None:
    from policyengine.diagnostics import PolicyError

    if kind == "when":
        text = f"scope domain shop\nallow read shop.orders to everyone when {condition};\n"
    else:
        text = f"scope domain shop\nfilter shop.orders rows where {condition} to everyone;\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "deep.policy")
    (d,) = info.value.diagnostics
    assert d.code == "syntax" and d.span is not None and d.span.file == "deep.policy" and d.span.line == 2
    assert d.message.startswith("expression nested too deeply (more than 100 levels)")


def test_1500_parentheses_around_one_comparison_are_fine(catalog, schema) -> None:
    text = "scope domain shop\nallow read shop.orders to everyone when " + "(" * 1500 + "consumer.contractor" \
        + ")" * 1500 + ";\n"
    assert run({"s.policy": text}, catalog, schema).diagnostics == ()


def test_100_levels_parse_and_check(catalog, schema) -> None:
    text = "scope domain shop\nallow read shop.orders to everyone when " + "not " * 100 + "consumer.contractor;\n"
    assert run({"s.policy": text}, catalog, schema).diagnostics == ()


def test_an_expression_built_too_deep_in_code_is_a_check_error_not_a_crash(catalog, schema) -> None:
    import dataclasses

    from policyengine.language import ast

    parsed = parse_policy("scope domain shop\nallow read shop.orders to everyone when consumer.contractor;\n", "s.policy")
    rule = parsed.rules[0]
    condition = rule.condition
    for _ in range(5000):
        condition = ast.Not(condition, rule.condition.span)
    deep = dataclasses.replace(parsed, rules=(dataclasses.replace(rule, condition=condition),))
    result = check_policies([deep], catalog, schema, NOW)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("nesting", "expression nested too deeply (more than 100 levels): split it into simpler conditions")]


def test_a_date_against_a_timestamp_column_is_midnight_utc_when_enforced(catalog, schema) -> None:
    """The checker accepts `shipped_at >= 2024-01-01` in row filters because enforcement (DuckDB)
    compares it as midnight UTC; this pins that agreement."""
    from types import MappingProxyType

    import pyarrow as pa

    from policyengine.enforce import enforce
    from policyengine.engine.decision import ColumnDecision, Decision

    text = "scope domain shop\nfilter shop.orders rows where shipped_at >= 2024-01-01 to everyone;\n"
    result = run({"s.policy": text}, catalog, schema)
    assert result.diagnostics == ()
    instants = [dt.datetime(2023, 12, 31, 23, 59, 59, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                dt.datetime(2024, 1, 1, 0, 30, tzinfo=dt.UTC)]
    table = pa.table({"n": [0, 1, 2], "shipped_at": pa.array(instants, pa.timestamp("us", tz="UTC"))})
    columns = MappingProxyType({c: ColumnDecision(c, "allow") for c in ("n", "shipped_at")})
    decision = Decision("shop.orders", "u", columns, result.rules[0].rule.row_filter)
    assert enforce(table, decision, hash_key=None).column("n").to_pylist() == [1, 2]
