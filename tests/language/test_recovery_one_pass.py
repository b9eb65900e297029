"""Syntax-error recovery in one pass (Lark's LALR `on_error`) gives what blanking each failed
statement out and parsing the whole file again gave (the recovery before it, kept here as the
reference): the same diagnostics at the same places, and the same file of the statements that
parsed, comments included. Checked on every corpus file, valid and invalid, with seeded damage
(a lost `;`, a stray character, a misspelt keyword, a date that does not exist, an unterminated
string, a cut-off end) put into one to many statements."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from policyengine.diagnostics import Diagnostic, PolicyError
from policyengine.language import ast
from policyengine.language.parser import parse_policy
from policyengine.language.recovery import (
    _SCOPE,
    MAX_SYNTAX_ERRORS,
    _blank,
    _offset,
    recover,
    statement_ends,
)

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*/*.policy")) + sorted(
    Path(__file__).parents[2].glob("examples/**/*.policy"))


def _reference(text: str, path: str, first: Diagnostic) -> tuple[list[Diagnostic], ast.PolicyFile | None]:
    """The recovery as it was: blank the failed statement, parse the whole text again."""
    found = [first]
    ends = statement_ends(text)
    scope = _SCOPE.match(text)
    scope_end = scope.end() if scope else 0
    current = first
    while len(found) < MAX_SYNTAX_ERRORS and current.span is not None:
        at = _offset(text, current.span.line, current.span.column)
        start = max((e + 1 for e in ends if e < at), default=scope_end if at >= scope_end else 0)
        stop = next((e + 1 for e in ends if e >= at), len(text))
        if not text[start:stop].strip():
            break
        text = _blank(text, start, stop)
        try:
            parsed = parse_policy(text, path)
        except PolicyError as exc:
            nxt = next((d for d in exc.diagnostics if d.severity == "error"), None)
            if stop >= len(text) or nxt is None or nxt.span is None or (nxt.span.line, nxt.span.column) <= (
                    current.span.line, current.span.column):
                break
            found.append(nxt)
            current = nxt
            continue
        return found, (parsed if parsed.scope is not None else None)
    return found, None


_DAMAGE = [
    lambda s: s.replace(";", "", 1),  # a lost `;`: this statement and the next fail as one
    lambda s: s.replace(" ", " ! ", 1),  # a character no token starts with
    lambda s: s.replace("allow", "alow", 1).replace("deny", "dny", 1).replace("mask", "msk", 1),
    lambda s: s.replace("read", "read read", 1),
    lambda s: s.replace(" to ", " to 2026-02-30 ", 1),  # a date: not valid here (or not at all)
    lambda s: s.replace(" to ", ' to "open ', 1),  # an unterminated string
    lambda s: s.replace("(", "((", 1),
    lambda s: s.replace(",", ",,", 1),
    lambda s: s.replace("until", "until 2026-02-30", 1),  # a date that does not exist (built, not parsed)
]


def _damaged(text: str, rng: random.Random) -> str:
    ends = statement_ends(text)
    if not ends:
        return text + rng.choice(["allow", " ! ", "deny read"])
    cuts = [0, *(e + 1 for e in ends), len(text)]
    pieces = [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    for i in rng.sample(range(len(pieces)), k=rng.randint(1, len(pieces))):
        pieces[i] = rng.choice(_DAMAGE)(pieces[i])
    out = "".join(pieces)
    return out[:rng.randint(len(out) // 2, len(out))] if rng.random() < 0.2 else out


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_one_pass_recovery_finds_what_reparsing_found(path: Path) -> None:
    rng = random.Random(path.name)
    original = path.read_text(encoding="utf-8")
    compared = 0
    for text in [original, *(_damaged(original, rng) for _ in range(25))]:
        try:
            parse_policy(text, "p.policy")
            continue
        except PolicyError as exc:
            first = exc.diagnostics[0]
        expected_errors, expected_file = _reference(text, "p.policy", first)
        errors, partial = recover(text, "p.policy", first)
        assert errors == expected_errors, text
        assert errors[0] is first
        assert partial == expected_file, text
        if partial is not None and expected_file is not None:
            assert partial.comments == expected_file.comments, text
        compared += 1
    assert compared or "invalid" not in path.parts


def test_many_errors_are_found_up_to_the_limit() -> None:
    text = "scope domain shop\n" + "allow read shop.orders to grup:a;\n" * 30
    first = next(iter(_errors(text)))
    errors, partial = recover(text, "p.policy", first)
    assert len(errors) == MAX_SYNTAX_ERRORS and partial is None
    assert [e.span.line for e in errors if e.span] == list(range(2, 2 + MAX_SYNTAX_ERRORS))


def _errors(text: str) -> list[Diagnostic]:
    try:
        parse_policy(text, "p.policy")
    except PolicyError as exc:
        return list(exc.diagnostics)
    return []
