"""A git repository holding a copy of the example project, for the `policyengine diff` tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("policies", "examples/mesh/products", "examples/mesh/samples", "examples/mesh/consumers.yaml", "policyengine.yaml")


def git(root: Path, *args: str) -> str:
    """Run git in `root` with a fixed identity and no user configuration; its stdout."""
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(root), "PATH": "/usr/bin:/bin"})
    return done.stdout


def make_mesh(root: Path) -> Path:
    """The example project copied into `root`, committed once on branch main."""
    for part in PARTS:
        src, dst = ROOT / part, root / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst) if src.is_dir() else shutil.copy(src, dst)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root
