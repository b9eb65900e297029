"""The Trino rules target (policyengine/native/trino.py): the file Trino's file-based access
control reads, its first-match semantics simulated over every consumer x product, the refusals,
drift against a deployed file and the atomic apply. The real Trino runs the same rules in
tests/engines/test_native_trino.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from policyengine.native import compile_plan
from policyengine.native import trino as tr

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
GOLDEN = Path(__file__).parent / "golden" / "trino"
NAMING = tr.TrinoNaming(users={"j.doe": "judy"}, unmapped_users="passthrough", catalogs=("lakehouse",))


def redact_policies(folder: Path) -> Path:
    """The example mesh's policies with each `hash` mask replaced by the refusal's nearest safe
    choice, `redact`: masks and row filters Trino can carry, everywhere."""
    copy = folder / "policies"
    shutil.copytree("policies", copy, dirs_exist_ok=True)
    for path in copy.rglob("*.policy"):
        path.write_text(path.read_text("utf-8").replace("using hash", "using redact"), "utf-8")
    return copy


@pytest.fixture(scope="module", params=["mesh", "redact"])
def variant(request, tmp_path_factory) -> tuple[str, Path]:
    if request.param == "mesh":
        return "mesh", Path("policies")
    return "redact", redact_policies(tmp_path_factory.mktemp("redact"))


@pytest.fixture(scope="module")
def mesh(variant):
    return policyengine.load([str(variant[1])], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")


@pytest.fixture(scope="module")
def plan(mesh):
    return compile_plan(mesh, "trino", at=AT, keyed_hash=True)


@pytest.fixture(scope="module")
def rules(plan):
    return tr.compile_rules(plan, NAMING)


def first_match(document: dict[str, Any], user: str, catalog: str, schema: str, table: str) -> dict[str, Any] | None:
    """Trino's table-rule choice: the first rule whose regexes all match (Java `matches()`: the
    whole name; our regexes use no construct Python reads differently)."""
    for rule in document["tables"]:
        if all(re.fullmatch(rule[k], value) for k, value in
               (("user", user), ("catalog", catalog), ("schema", schema), ("table", table)) if k in rule):
            return rule
    return None


def test_first_matching_rule_is_each_consumers_whole_decision(mesh, plan, rules) -> None:
    """For every consumer (as each of its Trino users) x product, the rule Trino picks carries
    exactly the decision: SELECT iff compiled, denied columns `allow: false`, one mask per masked
    column, the row filter; anyone else (an unknown user, a table that is no product) hits the
    last rule, which grants nothing."""
    compiled = {(t.consumer, t.product): t for t in plan.tables}
    checked = 0
    for consumer in mesh.consumers:
        for user in tr.trino_users(consumer, NAMING):
            for product in mesh.catalog.products:
                schema, table = product.split(".")
                rule = first_match(rules.document, user, "lakehouse", schema, table)
                assert rule is not None
                t = compiled.get((consumer, product))
                if t is None:
                    assert rule["privileges"] == [], (consumer, product)
                    continue
                checked += 1
                assert rule["privileges"] == ["SELECT"]
                columns = {c["name"]: c for c in rule.get("columns", [])}
                assert {n for n, c in columns.items() if c.get("allow") is False} == set(t.denied)
                assert {n for n, c in columns.items() if "mask" in c} == {c.name for c in t.columns if c.effect == "mask"}
                assert ("filter" in rule) == (t.decision.row_filter is not None)
    assert checked >= 5
    assert first_match(rules.document, "mallory", "lakehouse", "sales", "orders") == {"privileges": []}
    assert first_match(rules.document, "bob", "raw", "main", "pe_sales_orders") == {"privileges": []}
    assert rules.document["tables"][-1] == {"privileges": []}


def test_hash_is_refused_with_the_rule_and_the_nearest_safe_choice(variant, plan, rules) -> None:
    """Even with a key configured: a Trino mask is printed by EXPLAIN (proven on the real Trino)."""
    if variant[0] != "mesh":
        assert not plan.refusals and any(r.get("user") == r"(j\.doe|judy)" for r in rules.document["tables"])
        assert any(r.get("filter") == 'COALESCE(("region" = \'uk\'), FALSE)' for r in rules.document["tables"])
        return
    hashed = [r for r in plan.refusals if "mask 'hash'" in r.reason]
    assert hashed and all(re.match(r"policies/platform\.policy:\d+:\d+$", r.where) for r in hashed)
    assert all("nearest safe choice: deny the column, or mask it with redact or null" in r.reason for r in hashed)
    refused = {(r.consumer, r.product) for r in plan.refusals}
    assert ("bob", "sales.orders") in refused
    assert first_match(rules.document, "bob", "lakehouse", "sales", "orders") == {"privileges": []}
    assert "hmac" not in rules.text().lower() and "sha256" not in rules.text().lower()


def test_users_mapping_and_regex_escaping() -> None:
    assert tr.trino_users("judy", NAMING) == ("j.doe", "judy")
    assert tr.trino_users("bob", NAMING) == ("bob",)
    drop = tr.TrinoNaming(users={"j.doe": "judy"}, catalogs=("lakehouse",))
    assert tr.trino_users("judy", drop) == ("j.doe",) and tr.trino_users("bob", drop) == ()
    shadow = tr.TrinoNaming(users={"bob": "carol"}, unmapped_users="passthrough")
    assert tr.trino_users("bob", shadow) == () and tr.trino_users("carol", shadow) == ("bob", "carol")
    assert tr.trino_users("bob", tr.TrinoNaming()) == ("bob",)  # no mapping: names are ids
    pattern = tr.java_regex(["j.doe", "a+b|c", "(x)", "zoë smith", "a`b\\"])
    assert "zoë" in pattern and "\\z" not in pattern  # a backslash before a letter is an escape in Java
    for name in ("j.doe", "a+b|c", "(x)", "zoë smith", "a`b\\"):
        assert re.fullmatch(pattern, name)
    for other in ("jxdoe", "aab", "c", "x", "j.doe2"):
        assert not re.fullmatch(pattern, other)


def test_products_find_their_trino_tables() -> None:
    naming = tr.TrinoNaming(tables={"Other.S.T": "sales.orders"}, catalogs=("lakehouse", "lake2"))
    assert tr.product_tables("sales.orders", naming) == [(("other",), "s", "t"), (("lake2", "lakehouse"), "sales", "orders")]
    assert tr.product_tables("sales.orders", tr.TrinoNaming()) == []  # no catalog governed: nowhere
    by_catalog = tr.TrinoNaming(product="{catalog}.{schema}.{table}", catalogs=("a", "b"))
    assert tr.product_tables("b.s.t", by_catalog) == [(("b",), "s", "t")]


def test_no_trino_table_or_no_trino_user_is_a_note(plan) -> None:
    rules = tr.compile_rules(plan, tr.TrinoNaming(users={"j.doe": "judy"}, catalogs=("lakehouse",)))
    assert any("consumer 'bob' has no Trino user" in n for n in rules.notes)
    nowhere = tr.compile_rules(plan, tr.TrinoNaming())
    assert nowhere.document["tables"] == [{"privileges": []}]
    assert any("has no Trino table" in n for n in nowhere.notes)


def test_golden_rules_of_the_example_mesh(variant, rules) -> None:
    """The example mesh's rules file (and with `redact` for `hash`), for review of every change
    (regenerate: render -o)."""
    folder = GOLDEN if variant[0] == "mesh" else GOLDEN / "redact"
    assert rules.text() == (folder / "rules.json").read_text("utf-8")


# ---------------------------------------------------------------- drift


def test_diff_names_what_differs_never_the_text(rules) -> None:
    doc = rules.document
    assert tr.diff(doc, rules.text()) == []
    assert all(c.action == "+" for c in tr.diff(doc, None))
    edited = json.loads(rules.text())
    bob = next(r for r in edited["tables"] if r.get("user") == "bob")
    bob["filter"] = "secret_literal_7 = 'x'"
    bob["columns"][0]["allow"] = True
    changes = tr.diff(doc, json.dumps(edited))
    assert [c.action for c in changes] == ["~"]
    assert "filter" in str(changes[0]) and f"column {bob['columns'][0]['name']} allow" in str(changes[0])
    assert "secret_literal_7" not in str(changes[0])
    added = json.loads(rules.text())
    added["tables"].insert(0, {"user": "mallory", "privileges": ["SELECT"]})
    assert [str(c) for c in tr.diff(doc, json.dumps(added))] == [
        "- table rule for user mallory on *.*.*: not compiled (a rule added by hand: first match could grant it)"]
    moved = json.loads(rules.text())
    moved["tables"].insert(0, moved["tables"].pop())  # the catch-all first: denies everything
    assert [str(c) for c in tr.diff(doc, json.dumps(moved))] == [
        "~ section tables: rule order differs (the first matching rule decides)"]
    gone = json.loads(rules.text())
    del gone["queries"]
    gone["impersonation"] = [{"new_user": ".*"}]
    assert sorted(str(c) for c in tr.diff(doc, json.dumps(gone))) == [
        "+ section queries", "- section impersonation: not compiled (edited by hand)"]
    assert [str(c) for c in tr.diff(doc, "{not json")] == ["~ rules file: not valid JSON (apply replaces it)"]
    assert [str(c) for c in tr.diff(doc, "[]")] == ["~ rules file: not a JSON object (apply replaces it)"]


# ---------------------------------------------------------------- the CLI


def _config(tmp_path: Path, **trino: Any) -> Path:
    root = Path.cwd()
    config = tmp_path / "policyengine.yaml"
    config.write_text(json.dumps({
        "policies": str(root / "policies"), "catalog": str(root / "examples/mesh/products"),
        "consumers": str(root / "examples/mesh/consumers.yaml"),
        "serve": {"trino": {"catalogs": ["lakehouse"], "users": {"j.doe": "judy"},
                            "unmapped_users": "passthrough", **trino}}}), "utf-8")
    return config


def test_cli_render_plan_check_apply(tmp_path) -> None:
    config = _config(tmp_path)
    common = ["--target", "trino", "--config", str(config), "--at", AT.isoformat()]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["render", "-o", str(out), *common])
    assert result.exit_code == 0, result.output
    assert (out / "rules.json").read_text("utf-8") == (GOLDEN / "rules.json").read_text("utf-8")
    assert (out / "plan.txt").read_text("utf-8") == (GOLDEN / "plan.txt").read_text("utf-8")
    deployed = tmp_path / "etc" / "rules.json"
    deployed.parent.mkdir()
    rules = ["--rules", str(deployed)]
    missing = CliRunner().invoke(app, ["plan", *common, "--check", *rules])
    assert missing.exit_code == 1 and "to add" in missing.output
    applied = CliRunner().invoke(app, ["apply", *common, *rules])
    assert applied.exit_code == 0 and "Applied" in applied.output
    assert os.stat(deployed).st_mode & 0o777 == tr.NEW_FILE_MODE
    assert deployed.read_text("utf-8") == (out / "rules.json").read_text("utf-8")
    assert CliRunner().invoke(app, ["plan", *common, "--check", *rules]).exit_code == 0
    os.chmod(deployed, 0o600)
    deployed.write_text(deployed.read_text("utf-8").replace('"allow": "read-only"', '"allow": "all"'), "utf-8")
    drift = CliRunner().invoke(app, ["plan", *common, "--check", *rules])
    assert drift.exit_code == 1 and "~ section catalogs: differs" in drift.output
    assert CliRunner().invoke(app, ["plan", *common, *rules]).exit_code == 0  # without --check: a report
    assert CliRunner().invoke(app, ["apply", *common, *rules]).exit_code == 0
    assert os.stat(deployed).st_mode & 0o777 == 0o600  # the deployed file's mode is kept
    assert CliRunner().invoke(app, ["plan", *common, "--check", *rules]).exit_code == 0
    assert [p.name for p in deployed.parent.iterdir()] == ["rules.json"]  # no temporary file left
    again = CliRunner().invoke(app, ["apply", *common, *rules])
    assert again.exit_code == 0 and "No changes" in again.output


def test_cli_usage_errors_are_one_line(tmp_path) -> None:
    config = _config(tmp_path)
    result = CliRunner().invoke(app, ["plan", "--target", "trino", "--config", str(config)])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and "--rules" in result.output
    bad = _config(tmp_path, unmapped_users="sometimes")
    result = CliRunner().invoke(app, ["plan", "--target", "trino", "--config", str(bad), "--rules", str(tmp_path / "r")])
    assert result.exit_code == 2 and "unmapped_users" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(app, ["plan", "--target", "postgres", "--config", str(config)], env={"POLICYENGINE_DSN": ""})
    assert result.exit_code == 2 and "--dsn" in result.output


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"old": true}\n', "utf-8")

    def broken(src: Any, dst: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tr.os, "replace", broken)
    with pytest.raises(tr.NativeError, match="No space left"):
        tr.write_atomic(path, '{"new": true}\n')
    assert path.read_text("utf-8") == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["rules.json"]
