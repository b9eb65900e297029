"""docs/language.md: every complete example parses and checks against the example mesh, and every
accepted form of the grammar is documented with an example."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from policyengine.catalog.contracts import load_catalog
from policyengine.language.checker import check_policies
from policyengine.language.parser import parse_policy

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
# code blocks that are whole files or whole rules (not fragments like `to everyone` or diagnostics)
BLOCKS = [b for b in re.findall(r"```\n(.*?)```", DOC, re.S)
          if re.match(r"\s*(scope|allow|deny|mask|filter|@)\b", b) or b.lstrip().startswith("@")]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.splitlines()[0][:40] for b in BLOCKS])
def test_documented_examples_parse_and_check(block: str) -> None:
    text = block if block.lstrip().startswith("scope") else "scope platform\n" + block
    policy = parse_policy(text, "doc.policy")
    result = check_policies([policy], load_catalog(ROOT / "examples" / "mesh" / "products"),
                            now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert result.errors == ()


@pytest.mark.parametrize("form", [
    "sales.orders.*", "for purposes", "round(digits=2)", "partial(1, 2)", "T12:00Z", "amount,\n}",
    '"uk",]', "created_at >= 2024-01-01",
])
def test_every_accepted_form_has_an_example(form: str) -> None:
    assert any(form in b for b in BLOCKS), form
