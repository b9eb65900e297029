"""Fixtures for evaluator tests: a small catalog and a helper that loads policies from text."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.engine.evaluator import Engine
from policyengine.engine.loading import load

FIXTURE_CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "catalog"


def load_text(tmp: Path, files: dict[str, str], **kwargs) -> Engine:
    """Write policy files into a temp folder and load them against the fixture catalog."""
    folder = tmp / "policies"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return load(folder, FIXTURE_CATALOG, **kwargs)


@pytest.fixture
def engine_from(tmp_path: Path):
    return lambda files, **kw: load_text(tmp_path, files, **kw)
