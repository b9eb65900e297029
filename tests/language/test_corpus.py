"""Parser corpus: valid files dump to a golden AST (with spans), invalid files to a golden diagnostic.

Golden files sit next to each `.policy` file as `.expected`; `UPDATE_GOLDEN=1` regenerates them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.diagnostics import PolicyError
from policyengine.language.parser import clear_cache, parse_policy

from .golden import check_golden, dump_file

CORPUS = Path(__file__).resolve().parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.policy"))
INVALID = sorted((CORPUS / "invalid").glob("*.policy"))


def _rel(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_file_parses_to_golden_ast(path: Path) -> None:
    policy = parse_policy(path.read_text(encoding="utf-8"), _rel(path))
    check_golden(path.with_suffix(".expected"), dump_file(policy))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_file_gives_golden_diagnostic(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, _rel(path))
    diags = info.value.diagnostics
    assert len(diags) == 1
    d = diags[0]
    assert d.severity == "error" and d.code == "syntax" and d.span is not None
    rendered = d.render(text)
    first = rendered.splitlines()[0]
    assert first.startswith(f"{_rel(path)}:{d.span.line}:{d.span.column}: error: ")
    # syntax errors speak words, never Lark's terminal names
    for token_name in ("SEMICOLON", "NAME", "STRING", "$END", "LPAR", "COMPARE_OP", "__ANON"):
        assert token_name not in first, first
    assert "^" in rendered.splitlines()[-1]
    check_golden(path.with_suffix(".expected"), rendered + "\n")


def test_corpus_is_not_empty() -> None:
    assert len(VALID) >= 10 and len(INVALID) >= 30


def test_every_golden_file_has_its_policy() -> None:
    """A renamed or deleted case must not leave a stale golden file behind."""
    for expected in CORPUS.glob("*/*.expected"):
        assert expected.with_suffix(".policy").exists(), expected


def test_cached_parse_returns_the_same_tree_and_a_changed_text_is_parsed_again() -> None:
    clear_cache()
    text = (CORPUS / "valid" / "issue_sketch.policy").read_text(encoding="utf-8")
    first = parse_policy(text, "a.policy")
    assert parse_policy(text, "a.policy") is first  # not parsed again
    other_path = parse_policy(text, "b.policy")
    assert other_path is not first and other_path.rules[0].span.file == "b.policy"
    changed = parse_policy(text.replace("2027-06-30", "2028-06-30"), "a.policy")
    assert changed is not first and changed != first
