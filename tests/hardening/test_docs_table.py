"""docs/bad-input.md names tests that exist (the table cannot silently rot)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_table_names_exists() -> None:
    text = (ROOT / "docs" / "bad-input.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and "test" in line.split("|")[-2]]
    assert len(rows) >= 20
    for row in rows:
        for ref in re.findall(r"((?:tests/(?:[\w/]+/)?)?test_\w+\.py)(?:::(\w+))?", row.split("|")[-2]):
            path = ROOT / ref[0] if ref[0].startswith("tests/") else ROOT / "tests" / "hardening" / ref[0]
            assert path.is_file(), ref[0]
            if ref[1]:
                assert f"def {ref[1]}(" in path.read_text(encoding="utf-8"), ref
