"""Formatter golden files: `formatter/NAME.input.policy` formats to `formatter/NAME.expected.policy`.

Each expected file must itself be canonical (formatting it changes nothing) and mean the same as
its input. `UPDATE_GOLDEN=1` regenerates the expected files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.language.formatter import MAX_WIDTH, format_text
from policyengine.language.parser import parse_policy

from .golden import check_golden

FOLDER = Path(__file__).resolve().parent / "formatter"
INPUTS = sorted(FOLDER.glob("*.input.policy"))


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name.split(".")[0])
def test_formats_to_golden(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    out = format_text(text, path.name)
    expected_path = path.with_name(path.name.replace(".input.", ".expected."))
    check_golden(expected_path, out)
    assert format_text(out, path.name) == out
    assert parse_policy(out, "x") == parse_policy(text, "x")


def test_canonical_file_is_unchanged() -> None:
    text = (FOLDER / "canonical.input.policy").read_text(encoding="utf-8")
    assert format_text(text) == text


def test_long_rule_breaks_clauses_onto_indented_lines() -> None:
    out = format_text((FOLDER / "long_rules.input.policy").read_text(encoding="utf-8"))
    lines = out.splitlines()
    assert "    for purpose reporting, forecasting" in lines
    assert "    until 2027-06-30;" in lines
    # a short rule written over two lines is joined onto one
    assert "allow read shop.orders to everyone when consumer.clearance > 1;" in lines
    # a long head with no clause cannot be broken and stays whole
    assert any(len(line) > MAX_WIDTH and line.endswith("to group:finance;") for line in lines)


def test_every_comment_is_kept() -> None:
    text = (FOLDER / "comments.input.policy").read_text(encoding="utf-8")
    out = format_text(text)
    for line in text.splitlines():
        if "#" in line:
            assert line[line.index("#"):].rstrip() in out


def test_project_policies_are_canonical() -> None:
    """The repository's own policies pass `fmt --check` (they are what users copy)."""
    root = Path(__file__).resolve().parents[2] / "policies"
    files = sorted(root.glob("*.policy"))
    assert files
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert format_text(text, str(f)) == text, f"{f} is not canonically formatted"


def test_a_name_ending_in_a_newline_stays_quoted() -> None:
    """Found by hypothesis: `$` in the plain-name pattern accepted a trailing newline, so
    `user:"A\\n"` was written unquoted and read back as user `A`."""
    from policyengine.language.parser import parse_policy as parse

    text = 'scope platform\nallow read * to user:"A\\n";\n'
    formatted = format_text(text, "x.policy")
    assert 'user:"A\\n"' in formatted
    assert parse(formatted, "y.policy").rules[0].subjects.include[0].name == "A\n"
