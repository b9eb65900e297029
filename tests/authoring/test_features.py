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
