"""Issue 19, hole 11: `check` crashed with an AttributeError when a policy file's first word
started with `T` (`TODO: …`): the timestamp hint read the token before the first one, which Lark
records as None. Every first word gives one located syntax error, never a traceback."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.diagnostics import PolicyError
from policyengine.language.parser import parse_policy
from policyengine.language.recovery import syntax_errors

LETTERS = string.ascii_uppercase + string.ascii_lowercase
# every letter, as a whole word and as the start of a longer one, after which come the shapes a
# half-written file starts with (a note, a date, a keyword, punctuation, the end of the file)
WORDS = [*LETTERS, *(c + "ODO" for c in LETTERS), *(c + "oday" for c in LETTERS), "TODO", "T1", "T_x"]
TAILS = [": write this\n", "\n", "", " 2026-01-01 ;\n", " allow read a.b to everyone;\n", ";", " `x` ;\n"]


@pytest.mark.parametrize("tail", TAILS, ids=repr)
def test_every_first_word_is_a_located_syntax_error(tail: str) -> None:
    for word in WORDS:
        text = word + tail
        try:
            parse_policy(text, "p.policy")
        except PolicyError as exc:
            first = exc.diagnostics[0]
            assert first.severity == "error" and first.span is not None, (text, first)
            assert first.span.line == 1 and first.span.column >= 1, (text, first)
            assert syntax_errors(text, "p.policy", first)[0] is first
            continue
        # a word that is a keyword may begin a valid file; nothing else may parse
        assert word.lower() in ("scope",), text


def test_check_reports_a_todo_note_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "a.policy").write_text("TODO: write the rules of the sales domain\n", "utf-8")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "a.policy"), "--catalog", str(tmp_path / "catalog")])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "AttributeError" not in result.output
    assert "a.policy:1:1: error: unexpected 'TODO'" in result.output
