"""Why not: the smallest changes that make a denied or masked column more visible, with the rules
involved, or the statement that none exists."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.engine.loading import load
from policyengine.governance.whynot import decision_why_not, why_not

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "fixtures" / "catalog"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _engine(tmp_path: Path, text: str):
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "shop.policy").write_text("scope domain shop\n" + text, encoding="utf-8")
    return load(folder, CATALOG)


def _changes(answer) -> list[list[str]]:
    return [[c.text for c in s.changes] for s in answer.suggestions]


def test_a_mask_with_an_exception_suggests_the_excepted_group(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to group:staff;\n'
                               '@name("mask-mail")\nmask shop.orders.email using hash to everyone except group:dpo;\n')
    answer = why_not(engine, {"id": "x", "groups": ["staff"]}, "shop.orders", "email", at=AT)
    assert answer.current.effect == "mask"
    assert _changes(answer) == [["join group:dpo"]]
    [s] = answer.suggestions
    assert s.outcome.effect == "allow"
    assert [(r.name, r.line) for r in s.no_longer] == [("mask-mail", 3)]


def test_another_purpose(tmp_path: Path) -> None:
    engine = _engine(tmp_path, '@name("grant")\nallow read shop.orders to everyone for purpose reporting;\n')
    answer = why_not(engine, {"id": "x"}, "shop.orders", "amount", at=AT)
    assert answer.current.effect == "deny" and answer.current.rule is None  # default deny
    assert _changes(answer) == [["request it for purpose reporting"]]
    assert [r.name for r in answer.suggestions[0].newly] == ["grant"]


def test_an_attribute_value(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to everyone when consumer.level >= 2;\n')
    answer = why_not(engine, {"id": "x", "attributes": {"level": 1}}, "shop.orders", "amount", at=AT)
    assert answer.suggestions and all(c.kind == "attribute" and c.name == "level" and c.value >= 2
                                      for s in answer.suggestions for c in s.changes)
    assert "have level = 2" in answer.to_text()


def test_a_later_and_an_earlier_instant(tmp_path: Path) -> None:
    later = _engine(tmp_path, 'allow read shop.orders to everyone from 2027-01-01;\n')
    assert _changes(why_not(later, {"id": "x"}, "shop.orders", "amount", at=AT)) == \
        [["request it from 2027-01-01T00:00:00Z on"]]
    earlier = _engine(tmp_path, 'allow read shop.orders to everyone until 2026-01-01;\n')
    assert _changes(why_not(earlier, {"id": "x"}, "shop.orders", "amount", at=AT)) == \
        [["request it before 2026-01-02T00:00:00Z"]]


def test_leaving_a_group_that_a_deny_names(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to everyone;\ndeny read shop.orders.notes to group:contractors;\n')
    answer = why_not(engine, {"id": "x", "groups": ["contractors"]}, "shop.orders", "notes", at=AT)
    assert _changes(answer) == [["leave group:contractors"]]


def test_a_weaker_mask_counts_as_more_visible(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to everyone;\n'
                               'mask shop.orders.email using hash to everyone;\n'
                               'mask shop.orders.email using null to group:g1;\n')
    answer = why_not(engine, {"id": "x", "groups": ["g1"]}, "shop.orders", "email", at=AT)
    assert answer.current.strategy == "null"
    [s] = answer.suggestions
    assert [c.text for c in s.changes] == ["leave group:g1"] and s.outcome.strategy == "hash"


def test_only_minimal_changes_are_suggested(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to group:g1 for purpose reporting;\n')
    answer = why_not(engine, {"id": "x"}, "shop.orders", "amount", at=AT)
    assert _changes(answer) == [["request it for purpose reporting", "join group:g1"]]


def test_a_platform_deny_without_exception_has_no_way_out(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to everyone;\n'
                               '@name("never-ssn")\ndeny read shop.orders.ssn to everyone;\n')
    answer = why_not(engine, {"id": "x", "groups": ["g1"]}, "shop.orders", "ssn", at=AT)
    assert not answer.possible
    assert "no change of purpose, groups, attributes or instant makes it more visible" in answer.note
    assert "never-ssn" in answer.note and ":3" in answer.note


def test_more_than_three_changes_is_answered_by_a_whole_request(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to group:g1 for purpose reporting '
                               'when consumer.level >= 2 from 2027-01-01;\n')
    answer = why_not(engine, {"id": "x"}, "shop.orders", "amount", at=AT, max_changes=2)
    assert answer.possible and "up to 2 changes" in answer.note
    assert answer.suggestions[0].outcome.effect == "allow"
    assert "group:g1" in answer.suggestions[0].changes[0].text


def test_an_allowed_column_needs_nothing_and_unknown_names_are_errors(tmp_path: Path) -> None:
    engine = _engine(tmp_path, 'allow read shop.orders to everyone;\n')
    assert "nothing to change" in why_not(engine, {"id": "x"}, "shop.orders", "amount", at=AT).note
    with pytest.raises(ValueError, match="no column 'nope'"):
        why_not(engine, {"id": "x"}, "shop.orders", "nope", at=AT)
    with pytest.raises(ValueError, match="unknown product"):
        why_not(engine, {"id": "x"}, "shop.nope", "amount", at=AT)


def test_eval_why_not_on_the_example_mesh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    base = ["eval", "--consumer", "alice", "--product", "sales.orders", "--purpose", "reporting",
            "--at", "2026-06-01T00:00:00Z"]
    result = runner.invoke(app, [*base, "--why-not", "margin"])
    assert result.exit_code == 0, result.output
    assert "why not sales.orders.margin: deny (denied by margin-for-leads-and-finance)" in result.stdout
    assert "join group:finance → allow" in result.stdout
    data = json.loads(runner.invoke(app, [*base, "--why-not", "customer_email", "--format", "json"]).stdout)
    assert data["why_not"]["current"]["effect"] == "mask"
    assert {s["changes"][0]["text"] for s in data["why_not"]["suggestions"]} == \
        {"join group:pii-cleared", "join group:privacy-office"}
    bad = runner.invoke(app, [*base, "--why-not", "margn"])
    assert bad.exit_code == 2 and "has no column 'margn'" in bad.stderr



def test_the_public_api_offers_why_not(tmp_path: Path) -> None:
    import policyengine

    engine = _engine(tmp_path, 'allow read shop.orders to group:staff;\n'
                               'mask shop.orders.email using hash to everyone except group:dpo;\n')
    consumer = {"id": "x", "groups": ["staff"]}
    assert policyengine.why_not(engine, consumer, "shop.orders", "email", at=AT) == \
        why_not(engine, consumer, "shop.orders", "email", at=AT)


def test_decision_why_not_asks_the_same_question_as_the_function(tmp_path: Path) -> None:
    """`decision_why_not(decision, column, engine)` explains the decision's own request: its consumer (from
    the consumers file, or given), purpose and instant."""
    import policyengine  # noqa: F401  (installs the explainer, as any user import does)
    from policyengine.catalog.consumers import Consumer

    engine = _engine(tmp_path, 'allow read shop.orders to group:staff;\n'
                               '@name("mask-mail")\nmask shop.orders.email using hash to everyone except group:dpo;\n')
    staff = Consumer("x", frozenset({"staff"}))
    decision = engine.evaluate(staff, "shop.orders", ["email", "amount"], None, AT)
    answer = decision_why_not(decision, "email", engine, consumer=staff)
    assert _changes(answer) == _changes(why_not(engine, staff, "shop.orders", "email", at=AT)) == [["join group:dpo"]]
    assert decision_why_not(decision, "amount", engine, consumer=staff).suggestions == ()  # already readable
    with pytest.raises(ValueError, match="not part of this decision"):
        decision_why_not(decision, "card", engine, consumer=staff)
    with pytest.raises(ValueError, match="not in the consumers file"):
        decision_why_not(decision, "email", engine)  # 'x' was built in place: its groups are unknown here
    (tmp_path / "other").mkdir()
    other = _engine(tmp_path / "other", 'allow read shop.orders to everyone;\n')
    with pytest.raises(ValueError, match="another bundle version"):
        decision_why_not(decision, "email", other, consumer=staff)


def test_decision_why_not_finds_a_registered_consumer() -> None:
    import policyengine  # noqa: F401  (installs the explainer)
    from policyengine.config import load_config

    cfg = load_config(ROOT / "policyengine.yaml")
    engine = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    decision = engine.evaluate("bob", "sales.customers")
    masked = next(c for c, d in decision.columns.items() if d.effect != "allow")
    answer = decision_why_not(decision, masked, engine)
    assert answer.current == decision.columns[masked]
    assert answer.to_text()
