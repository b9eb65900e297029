"""Output is bounded: long source lines are cut around the caret, and text output stops after N
diagnostics with "… and M more"; JSON output stays complete."""

from __future__ import annotations

import json

from policyengine.diagnostics import Diagnostic, Span, excerpt, render_all

from .conftest import Run


def _flood(n: int) -> str:
    rules = " ".join(f"allow read shop.orders.col{i} to everyone;" for i in range(n))
    return "scope domain shop " + rules + "\n"


def test_a_one_line_policy_with_thousands_of_unknown_columns_prints_little(project: Run) -> None:
    policy = _flood(2000)
    assert len(policy) > 80_000
    result = project("check", files={"policies/shop.policy": policy})
    assert result.exit_code == 1
    assert len(result.output) < 30_000, len(result.output)
    assert "… and 1950 more diagnostics" in result.output
    assert "2000 error(s)" in result.output
    longest = max(len(line) for line in result.output.splitlines() if " | " in line)
    assert longest < 130


def test_max_diagnostics_is_configurable_and_json_is_complete(project: Run) -> None:
    project("check", files={"policies/shop.policy": _flood(30)})
    assert "… and 25 more diagnostics" in project("check", "--max-diagnostics", "5").output
    assert "more diagnostic" not in project("check", "--max-diagnostics", "0").output
    result = project("check", "--format", "json", "--max-diagnostics", "5")
    assert len(json.loads(result.stdout)["diagnostics"]) == 30


def test_excerpt_keeps_the_caret_under_the_span() -> None:
    text = "x" * 500 + "TARGET" + "y" * 500
    shown, column, width = excerpt(text, 501, 6)
    assert len(shown) <= 102 and shown.startswith("…") and shown.endswith("…")
    assert shown[column - 1:column - 1 + width] == "TARGET"
    assert excerpt("short", 2, 3) == ("short", 2, 3)


def test_a_nul_byte_is_shown_as_a_visible_mark_not_a_space() -> None:
    source = "allow\x00read;"
    d = Diagnostic("error", "unexpected character", Span("f.policy", 1, 6, 1, 7))
    lines = d.render(source).splitlines()
    assert lines[2] == "1 | allow\u2400read;" and lines[3] == "  |      ^"


def test_errors_are_kept_before_warnings_when_cut() -> None:
    diags = [Diagnostic("warning", f"w{i}", Span("a", i + 1, 1, i + 1, 2)) for i in range(10)]
    diags.append(Diagnostic("error", "the error", Span("a", 99, 1, 99, 2)))
    out = render_all(diags, {}, limit=3)
    assert "the error" in out and "… and 8 more diagnostics" in out
