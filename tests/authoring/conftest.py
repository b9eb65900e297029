"""A private copy of the example project (policyengine.yaml, policies/, examples/mesh/) per
test, so a test may edit files on disk without touching the repository's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def copy_project(into: Path) -> Path:
    shutil.copy(REPO / "policyengine.yaml", into / "policyengine.yaml")
    shutil.copytree(REPO / "policies", into / "policies")
    shutil.copytree(REPO / "examples" / "mesh", into / "examples" / "mesh",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return into


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)
