"""The language server's answers as plain data (policyengine.authoring.features), table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from policyengine.authoring import features
from policyengine.authoring.workspace import Workspace

CASES = yaml.safe_load((Path(__file__).parent / "quick_fixes.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["wrong"] for c in CASES])
def test_quick_fix(project: Path, case: dict):
    ws = Workspace(project / "policyengine.yaml")
    sales = project / "policies" / "sales.policy"
    text = "scope domain sales\n\n" + case["line"] + "\n"
    ws.set_text(sales, text)
    analysis = ws.analyze()
    name = analysis.file_named(sales)
    mine = [d for d in analysis.diagnostics if d.span is not None and d.span.file == name]
    fixes = [f for d in mine if (f := features.quick_fix(d, text)) is not None]
    assert len(fixes) == 1, [d.message for d in mine]
    span, right = fixes[0]
    line = text.split("\n")[span.line - 1]
    assert line[span.column - 1:span.end_column - 1] == case["wrong"] and right == case["right"]
    fixed = text.split("\n")
    fixed[span.line - 1] = line[:span.column - 1] + right + line[span.end_column - 1:]
    ws.set_text(sales, "\n".join(fixed))
    after = ws.analyze()
    assert not [d for d in after.diagnostics if d.span is not None and d.span.file == name
                and case["wrong"] in d.message]


def test_no_fix_without_a_suggestion(project: Path):
    ws = Workspace(project / "policyengine.yaml")
    sales = project / "policies" / "sales.policy"
    text = "scope domain sales\n\nallow read sales.zzzzzzzzzz to group:finance;\n"
    ws.set_text(sales, text)
    analysis = ws.analyze()
    mine = [d for d in analysis.diagnostics if d.span is not None and d.span.file == analysis.file_named(sales)]
    assert mine and all(features.quick_fix(d, text) is None for d in mine)


EDITS = [
    ("sales.policy", "allow read sales.orders.margin to group:analytics;"),
    ("sales.policy", "allow read sales.ordres to group:analytics;"),
    ("sales.policy", "mask tagged pii.emial using hash to everyone;"),
    ("hr.policy", "allow read sales.orders to group:finance;"),  # outside its domain
    ("platform.policy", "deny read tagged pii in sales.* to everyone except group:pii-cleared;"),
    ("sales.policy", "allow read sales.orders.{order_id, amout} to group:finance;"),
    ("sales.policy", "deny read sales.orders to everyone;"),
]


def test_checking_with_the_memo_gives_what_check_gives(project: Path):
    """The language server keeps resolved targets between checks (TargetMemo): after each edit,
    its diagnostics and resolved rules equal a check without the memo."""
    from policyengine.language.checker import check_policies

    ws = Workspace(project / "policyengine.yaml")
    ws.analyze()
    for i, (name, line) in enumerate(EDITS):
        path = project / "policies" / name
        ws.set_text(path, (ws.text_of(path) or "") + f"\n# edit {i}\n{line}\n")
        got = ws.analyze()
        plain = check_policies(got.result.files, ws.catalog, ws.directory.schema if ws.directory else None,
                               None, got.sources)
        # the checker's diagnostics come first (no syntax error here), then the ownership map's
        assert list(got.result.diagnostics[:len(plain.diagnostics)]) == list(plain.diagnostics)
        assert [(r.rule, dict(r.columns)) for r in got.result.rules] == \
            [(r.rule, dict(r.columns)) for r in plain.rules]
