from __future__ import annotations

from pathlib import Path

import pytest

from .gitmesh import make_mesh


@pytest.fixture
def mesh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding a copy of the example project, one commit, cwd in it."""
    make_mesh(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path
