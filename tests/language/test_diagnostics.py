"""Rendering of diagnostics: one line `file:line:col: severity: message`, the source line, a caret."""

from __future__ import annotations

from policyengine.diagnostics import Diagnostic, PolicyError, Span, did_you_mean, render_all


def test_caret_under_span_and_gutter_width() -> None:
    source = "\n" * 11 + "allow read sales.orders.emial to everyone;\n"
    d = Diagnostic("error", "unknown column 'emial'", Span("p.policy", 12, 24, 12, 29))
    assert d.render(source).splitlines() == [
        "p.policy:12:24: error: unknown column 'emial'",
        "   |",
        "12 | allow read sales.orders.emial to everyone;",
        "   |                        ^^^^^",
    ]


def test_tabs_and_crlf_keep_the_caret_aligned() -> None:
    source = "scope platform\r\n\tallow read x.y to\teveryone\r\n"
    d = Diagnostic("error", "m", Span("p", 2, 20, 2, 28))
    lines = d.render(source).splitlines()
    assert lines[2] == "2 |  allow read x.y to everyone"
    assert lines[3].index("^") == lines[2].index("everyone") and lines[3].count("^") == 8


def test_lines_are_counted_as_the_lexer_counts_them() -> None:
    """A form feed or a line separator inside a comment is not a line break for the parser."""
    source = "# a\x0cb \u2028 c\nallow read x.y to everyone;\n"
    d = Diagnostic("error", "m", Span("p", 2, 1, 2, 6))
    assert d.render(source).splitlines()[2] == "2 | allow read x.y to everyone;"


def test_span_over_several_lines_underlines_to_the_end_of_the_first() -> None:
    d = Diagnostic("error", "m", Span("p", 1, 7, 2, 3))
    assert d.render("allow read\nx.y;\n").splitlines()[3] == "  |       ^^^^"


def test_without_source_or_span() -> None:
    assert Diagnostic("error", "m", file="p").render() == "p: error: m"
    assert Diagnostic("warning", "m", Span("p", 3, 1, 3, 2)).render(None) == "p:3:1: warning: m"


def test_render_all_orders_by_file_and_position() -> None:
    diags = [Diagnostic("error", "b2", Span("b", 2, 1, 2, 2)), Diagnostic("error", "a9", Span("a", 9, 1, 9, 2)),
             Diagnostic("error", "b1", Span("b", 1, 5, 1, 6))]
    firsts = [line for line in render_all(diags).splitlines() if ": error: " in line]
    assert firsts == ["a:9:1: error: a9", "b:1:5: error: b1", "b:2:1: error: b2"]


def test_policy_error_message_counts_the_other_errors() -> None:
    errors = [Diagnostic("error", f"e{i}", Span("p", i, 1, i, 2)) for i in range(1, 4)]
    assert str(PolicyError(errors)) == "p:1:1: error: e1 (and 2 more errors)"
    assert str(PolicyError(errors[:2])) == "p:1:1: error: e1 (and 1 more error)"


def test_did_you_mean() -> None:
    assert did_you_mean("emial", ["email", "name"]) == " (did you mean 'email'?)"
    assert did_you_mean("zzz", ["email", "name"]) == ""


def test_did_you_mean_only_suggests_a_typo_away() -> None:
    assert did_you_mean("hsah", ["hash", "null"]) == " (did you mean 'hash'?)"  # swapped letters
    assert did_you_mean("shop.ordres", ["shop.orders", "shop.customers"]) == " (did you mean 'shop.orders'?)"
    assert did_you_mean("country", ["amount", "email", "region"]) == ""
    assert did_you_mean("amt", ["amount"]) == ""
    assert did_you_mean("x", ["y"]) == ""  # not when every letter differs
