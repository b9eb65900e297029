"""Engine behaviour beyond the table: scan tags, fail-closed errors, cache, API shapes, CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from policyengine.diagnostics import PolicyError

ROOT = Path(__file__).resolve().parent.parent.parent
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_scan_report_tags_are_added(engine_from, tmp_path: Path) -> None:
    files = {"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"
                            "mask tagged pii.phone using last4 to everyone;\n"}
    report = {"findings": [{"source": str(tmp_path / "elsewhere" / "shop.orders.parquet"), "column": "notes",
                            "entity": "PHONE_NUMBER", "tag": "pii.phone", "score": 0.9}]}
    without = engine_from(files).evaluate({"id": "a"}, "shop.orders", ["notes"], at=AT)
    with_scan = engine_from(files, scan=report).evaluate({"id": "a"}, "shop.orders", ["notes"], at=AT)
    assert without.columns["notes"].effect == "allow"
    assert with_scan.columns["notes"].effect == "mask" and with_scan.columns["notes"].strategy == "last4"

    class Report:  # the scanner's report object: anything with to_dict() in the JSON shape
        def to_dict(self) -> dict:
            return report

    from_object = engine_from(files, scan=Report()).evaluate({"id": "a"}, "shop.orders", ["notes"], at=AT)
    assert from_object.columns["notes"].strategy == "last4"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    from_file = engine_from(files, scan=path).evaluate({"id": "a"}, "shop.orders", ["notes"], at=AT)
    assert from_file.columns["notes"].strategy == "last4"


def test_internal_error_denies_everything_and_logs(engine_from, caplog) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"})
    rules = engine.compiled.products["shop.orders"]

    def boom(*args, **kwargs):
        raise RuntimeError("corrupted index")

    broken = dataclasses.replace(rules, rules=tuple(rules.rules) + (None,))  # type: ignore[arg-type]
    engine.compiled = dataclasses.replace(engine.compiled, products={**engine.compiled.products, "shop.orders": broken})
    with caplog.at_level(logging.ERROR, logger="policyengine"):
        d = engine.evaluate({"id": "a"}, "shop.orders", ["order_id", "amount"], at=AT)
    assert d.error and "internal error" in d.error
    assert d.readable_columns == ()
    assert {c.effect for c in d.columns.values()} == {"deny"}
    assert str(d.row_filter) == "false"
    assert any("evaluation failed" in r.message for r in caplog.records)


def test_bad_consumer_fails_closed(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"})
    d = engine.evaluate({"groups": ["x"]}, "shop.orders", ["order_id"])
    assert d.error and d.columns["order_id"].effect == "deny"
    everything = engine.evaluate({"groups": ["x"]}, "shop.orders")
    assert everything.error and everything.readable_columns == ()
    assert set(everything.denied_columns) == set(engine.catalog.products["shop.orders"].column_names)


def test_an_unknown_consumer_is_denied_and_logged_once_without_a_traceback(engine_from, caplog) -> None:
    """A gateway asking for a user the consumers file does not list, on every query: every answer
    denies, and the log holds one line for it, not a traceback per call."""
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"})
    with caplog.at_level(logging.WARNING, logger="policyengine"):
        for _ in range(5):
            d = engine.evaluate("nobody", "shop.orders", ["order_id"], at=AT)
            assert d.error and d.columns["order_id"].effect == "deny"
    lines = [r for r in caplog.records if r.name == "policyengine"]
    assert len(lines) == 1 and lines[0].exc_info is None, lines
    assert "consumer 'nobody' is given by id" in lines[0].getMessage()


def test_a_single_column_may_be_given_as_a_string(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"})
    d = engine.evaluate({"id": "a"}, "shop.orders", "order_id", at=AT)
    assert tuple(d.columns) == ("order_id",) and d.readable_columns == ("order_id",)


def test_cache_never_outlives_a_window_that_opens_later(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\n"
                                         "allow read shop.orders.order_id to everyone from 2026-07-01;\n"})
    who = {"id": "a"}
    before = engine.evaluate(who, "shop.orders", ["order_id"], at=AT)
    opened = engine.evaluate(who, "shop.orders", ["order_id"], at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert before.columns["order_id"].effect == "deny" and opened.columns["order_id"].effect == "allow"


def test_load_raises_with_diagnostics(engine_from) -> None:
    with pytest.raises(PolicyError) as exc:
        engine_from({"shop.policy": "scope domain shop\nallow read shop.orders.{emial} to everyone;\n"})
    assert "unknown column 'emial'" in str(exc.value)
    assert "did you mean 'email'" in str(exc.value)


def test_cache_returns_the_same_decision_and_respects_windows(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\n"
                                         "allow read shop.orders.order_id to everyone until 2026-06-30;\n"})
    who = {"id": "a", "groups": ["g"]}
    first = engine.evaluate(who, "shop.orders", ["order_id"], at=AT)
    second = engine.evaluate(who, "shop.orders", ["order_id"], at=AT + dt.timedelta(days=1))
    assert engine.cache_hits == 1
    assert second.columns is first.columns and second.row_filter is first.row_filter  # shared
    assert first.at == AT and second.at == AT + dt.timedelta(days=1)  # each carries its own instant
    # a hit is a new Decision built from the shared parts (the cache holds no Decision objects), equal
    assert engine.evaluate(who, "shop.orders", ["order_id"], at=AT) == first
    assert engine.cache_hits == 2
    after = engine.evaluate(who, "shop.orders", ["order_id"], at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert after.columns["order_id"].effect == "deny"


def test_cache_keys_on_attributes_rules_read(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\n"
                                         "allow read shop.orders.order_id to everyone when consumer.level >= 2;\n"})
    low = engine.evaluate({"id": "a", "attributes": {"level": 1}}, "shop.orders", ["order_id"], at=AT)
    high = engine.evaluate({"id": "a", "attributes": {"level": 3}}, "shop.orders", ["order_id"], at=AT)
    assert low.columns["order_id"].effect == "deny" and high.columns["order_id"].effect == "allow"


def test_cache_is_bounded(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"}, cache_size=8)
    for i in range(50):
        engine.evaluate({"id": f"u{i}"}, "shop.orders", at=AT)
    assert len(engine.cache) <= 8


@dataclasses.dataclass
class Person:
    id: str
    groups: list[str]
    attributes: dict


def test_consumer_may_be_a_dataclass_and_columns_keep_product_order(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to group:g;\n"})
    d = engine.evaluate(Person("p", ["g"], {}), "shop.orders", ["amount", "order_id"], at=AT)
    assert d.readable_columns == ("order_id", "amount")


def test_decision_shapes(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\n@name(\"grant\")\nallow read shop.orders to everyone;\n"
                                         "mask tagged pii.email using email_domain to everyone;\n"
                                         "filter shop.orders rows where region == consumer.region to everyone;\n"})
    d = engine.evaluate({"id": "a", "attributes": {"region": "eu"}}, "shop.orders", purpose="p", at=AT)
    email = d.columns["email"]
    assert (email.effect, email.strategy, email.rule.name) == ("mask", "email_domain", "mask@" + email.rule.file + ":4")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["columns"]["order_id"]["rule"]["name"] == "grant"
    assert data["row_filter"] == 'region == "eu"' and data["policy_version"] == engine.policy_version
    text = d.explain()
    assert "grant" in text and "email_domain" in text and 'rows where region == "eu"' in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.product = "x"  # type: ignore[misc]


def test_module_level_evaluate_uses_configuration(monkeypatch) -> None:
    from policyengine.engine import loading as engine_module

    monkeypatch.chdir(ROOT)
    engine_module.reset_default_engine()
    try:
        d = policyengine.evaluate({"id": "alice", "groups": ["analytics"],
                                   "attributes": {"region": "eu", "clearance": 2}},
                                  "sales.orders", purpose="reporting", at=AT)
    finally:
        engine_module.reset_default_engine()
    assert d.columns["customer_email"].effect == "mask"
    assert d.columns["margin"].effect == "deny"


def test_eval_and_test_commands(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    out = runner.invoke(app, ["eval", "--consumer", "bob", "--product", "sales.customers", "--at", "2026-06-01",
                              "--columns", "email,phone", "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["columns"]["email"]["strategy"] == "email_domain" and data["row_filter"] == 'region == "uk"'
    assert list(data["columns"]) == ["email", "phone"]
    out = runner.invoke(app, ["eval", "--consumer", "bob", "--product", "sales.customers", "--at", "2026-06-01",
                              "--columns", "email", "--columns", "phone,nope"])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if not line.startswith("warning:")]
    assert [line.split()[0] for line in lines] == ["email", "phone", "nope", "rows:"]
    assert "has no column 'nope'" in out.output
    out = runner.invoke(app, ["eval", "--consumer", "zed", "--group", "analytics", "--attr", "region=eu",
                              "--attr", "clearance=2", "--product", "sales.orders", "--purpose", "reporting",
                              "--at", "2026-06-01", "--explain"])
    assert out.exit_code == 0 and "analysts-read-orders" in out.output
    out = runner.invoke(app, ["test"])
    assert out.exit_code == 0 and "0 failed" in out.output


def test_test_command_reports_failures_and_untested_rules(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests:\n  - name: wrong on purpose\n    consumer: alice\n    product: sales.orders\n"
                   "    columns: [margin]\n    expect:\n      columns: {margin: allow}\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["test", str(bad)])
    assert out.exit_code == 1
    assert "FAILED" in out.output and "margin: expected allow, got deny" in out.output
    assert "rules no test exercises" in out.output and "mask-payment-cards" in out.output
    out = CliRunner().invoke(app, ["test", str(bad), "--format", "json"])
    report = json.loads(out.output)
    assert report["failed"] == 1
    assert {"name": "mask-payment-cards", "kind": "mask"}.items() <= next(
        r for r in report["untested_rules"] if r["name"] == "mask-payment-cards").items()


def test_unhashable_attribute_values_skip_the_cache(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\n"
                                         "allow read shop.orders.order_id to everyone when consumer.level == 1;\n"})
    who = {"id": "a", "attributes": {"level": bytearray(b"x")}}
    cached = engine.evaluate(who, "shop.orders", ["order_id"], at=AT)
    uncached = engine.evaluate(who, "shop.orders", ["order_id"], at=AT, use_cache=False)
    assert cached.error is None and cached.to_dict() == uncached.to_dict()


def test_eval_attr_values_are_not_yaml_booleans(monkeypatch) -> None:
    """`--attr region=no` is the string 'no' (YAML 1.1 would read it as false)."""
    monkeypatch.chdir(ROOT)
    out = CliRunner().invoke(app, ["eval", "--consumer", "zed", "--group", "sales-reps", "--attr", "region=no",
                                   "--product", "sales.orders", "--columns", "order_id", "--format", "json",
                                   "--at", "2026-06-01"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["row_filter"] == 'region == "no"'


def test_test_command_runs_against_other_policies(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "sales.policy").write_text("scope domain sales\nallow read sales.orders.order_id to user:ann;\n",
                                           encoding="utf-8")
    (tmp_path / "tests" / "t.yaml").write_text(
        "tests:\n  - name: ann reads order ids only\n    consumer: {id: ann}\n    product: sales.orders\n"
        "    columns: [order_id, margin]\n    expect:\n      columns: {order_id: allow, margin: deny}\n",
        encoding="utf-8")
    out = CliRunner().invoke(app, ["test", "--policies", str(tmp_path)])
    # the repository's ownership map owns no file outside it: what check rejects does not load
    assert out.exit_code == 1 and "is outside the folder of policyengine.yaml" in out.output
    config = tmp_path / "policyengine.yaml"  # a project of its own, without an ownership map
    config.write_text(f"catalog: {ROOT / 'examples/mesh/products'}\n", encoding="utf-8")
    out = CliRunner().invoke(app, ["test", "--policies", str(tmp_path), "--config", str(config)])
    assert out.exit_code == 0, out.output
    assert "1 passed, 0 failed" in out.output and "rules no test exercises" not in out.output


@pytest.mark.parametrize("scan, message", [
    ({"findings": "x"}, "'findings' must be a list"),
    ({"findings": [5]}, "finding 0 is not an object"),
    ({"findings": [{"tag": "pii.emial", "source": "a.csv", "column": "b"}]}, "unknown tag 'pii.emial'"),
    (5, "scan must be a report path"),
])
def test_malformed_scan_reports_are_policy_errors(scan, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policyengine.load(ROOT / "policies", ROOT / "examples" / "mesh" / "products", scan=scan)


def test_bad_consumers_file_is_a_policy_error(tmp_path: Path) -> None:
    bad = tmp_path / "consumers.yaml"
    bad.write_text("consumers: [\n", encoding="utf-8")
    with pytest.raises(PolicyError):
        policyengine.load(ROOT / "policies", ROOT / "examples" / "mesh" / "products", consumers=bad)


def test_a_false_row_filter_says_which_attribute_made_it_so(engine_from) -> None:
    engine = engine_from({"shop.policy": "scope domain shop\nallow read shop.orders to everyone;\n"
                                         "filter shop.orders rows where region == consumer.region to everyone;\n"
                                         "filter shop.orders rows where amount < consumer.limit to everyone;\n"})
    d = engine.evaluate({"id": "a", "attributes": {"limit": "x"}}, "shop.orders", ["order_id"], at=AT)
    assert str(d.row_filter) == "false"
    assert "lacks 'region'" in d.reason and "'limit' of a type" in d.reason
    assert len(d.filter_rules) == 2  # both applicable filters are cited (policy test coverage sees both)
    assert "lacks 'region'" in d.explain()


def test_a_broken_configuration_denies_and_is_not_reloaded_on_every_call(tmp_path: Path, monkeypatch) -> None:
    from policyengine.engine import loading as engine_module

    monkeypatch.chdir(tmp_path)  # no policyengine.yaml, no policies: loading fails
    engine_module.reset_default_engine()
    calls = []
    real_load = engine_module.load
    monkeypatch.setattr(engine_module, "load", lambda *a, **k: calls.append(1) or real_load(*a, **k))
    try:
        first = policyengine.evaluate({"id": "a"}, "sales.orders", ["order_id"])
        second = policyengine.evaluate({"id": "a"}, "sales.orders", ["order_id"])
    finally:
        engine_module.reset_default_engine()
    assert first.error and second.error
    assert first.columns["order_id"].effect == second.columns["order_id"].effect == "deny"
    assert len(calls) == 1


def test_eval_reports_an_unknown_product_with_a_suggestion(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    out = CliRunner().invoke(app, ["eval", "--consumer", "bob", "--product", "sales.order"])
    assert out.exit_code == 1 and "did you mean 'sales.orders'" in out.output


def test_load_says_what_is_missing() -> None:
    with pytest.raises(PolicyError, match="needs catalog="):
        policyengine.load(ROOT / "policies")
    with pytest.raises(PolicyError, match="no such file or folder"):
        policyengine.load(ROOT / "polices", catalog=ROOT / "examples/mesh/products")
