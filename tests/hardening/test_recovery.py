"""`check` reports every syntax error of a file (per-statement re-sync at `;`), not only the first."""

from __future__ import annotations

from policyengine.language.recovery import statement_ends

from .conftest import Run

THREE_ERRORS = """\
scope domain shop

allow read shop.orders to grup:analytics;
allow read shop.orders to group:analytics;
deny read shop.orders.email to everyone excpt group:analytics;
allow read shop.orders to user:"a;b"; # a ; in a comment
mask shop.orders.email using to everyone;
allow read shop.orders to group:analytics;
"""


def test_check_reports_later_syntax_errors_too(project: Run) -> None:
    result = project("check", files={"policies/shop.policy": THREE_ERRORS})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[0] for line in lines] == [
        "policies/shop.policy:3:27", "policies/shop.policy:5:41", "policies/shop.policy:7:33"]


def test_missing_semicolon_yields_one_error_not_a_cascade(project: Run) -> None:
    text = "scope domain shop\n\nallow read shop.orders to group:analytics\nallow read shop.orders to everyone;\n"
    result = project("check", files={"policies/shop.policy": text})
    assert result.exit_code == 1
    assert sum(": error: " in line for line in result.output.splitlines()) == 1


def test_semicolons_in_quotes_and_comments_end_nothing() -> None:
    text = 'allow read "a;b" to x; # c;d\nz;'
    assert statement_ends(text) == [21, len(text) - 1]


def test_a_syntax_error_does_not_hide_the_semantic_errors_of_its_file(project: Run) -> None:
    text = ("scope domain shop\n\nallow read shop.orders to grup:analytics;\n"
            "allow read shop.orders.emial to group:analytics;\n")
    result = project("check", files={"policies/shop.policy": text})
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert lines[0].startswith("policies/shop.policy:3:27: error: ")
    assert "policies/shop.policy:4:24: error: unknown column 'emial' in shop.orders (did you mean 'email'?)" in lines[1]


def test_a_syntax_error_in_the_last_statement_still_checks_the_others(project: Run) -> None:
    text = ("scope domain shop\n\nallow read shop.orders.emial to group:analytics;\n"
            "allow read shop.orders to grup:analytics;\n")
    result = project("check", files={"policies/shop.policy": text})
    errors = [line for line in result.output.splitlines() if ": error: " in line]
    assert len(errors) == 2, result.output
    assert any("unknown column 'emial'" in line for line in errors)
