"""Ownership-map paths that match no file: a typo in `ownership:` (`polices/{domain}.policy`)
binds no file, so every policy file and contract it meant is then reported as unowned instead of
the one line that is wrong. `check` reports each such path, at its line in policyengine.yaml."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

from policyengine.diagnostics import Diagnostic, Span
from policyengine.governance.ownership import Ownership, PathPattern

_WILD = re.compile(r"[*?]|\{domain\}")
_SKIP = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
                   ".pytest_cache", ".ruff_cache"})


def _literal_prefix(text: str) -> str:
    """The folder a pattern's matches must lie in: its segments before the first wildcard."""
    segments = text.rstrip("/").split("/")
    fixed: list[str] = []
    for seg in segments[:-1]:
        if seg == "**" or _WILD.search(seg):
            break
        fixed.append(seg)
    return "/".join(fixed)


def _files_below(root: Path, prefix: str) -> Iterator[str]:
    """Every path (files and folders) below root/prefix, relative to root with `/`; tools' and
    virtual environments' folders are skipped (no map binds them, and they can be huge)."""
    start = root / prefix if prefix else root
    if not start.is_dir():
        return
    for folder, dirs, files in os.walk(start):
        dirs[:] = [d for d in dirs if d not in _SKIP and not (Path(folder, d) / "pyvenv.cfg").exists()]
        rel = Path(folder).relative_to(root).as_posix()
        for name in (*dirs, *files):
            yield f"{rel}/{name}" if rel != "." else name


def _matches_something(root: Path, pattern: PathPattern) -> bool:
    text = pattern.text.rstrip("/")
    if not _WILD.search(text) and "**" not in text:
        # a literal path: a file not yet written in an existing folder is reserved for its owner
        # (`policies/platform.policy` before the first platform rule); a missing folder is a typo
        return (root / text).exists() or (root / text).parent.is_dir()
    return any(pattern.regex.fullmatch(rel) for rel in _files_below(root, _literal_prefix(text)))


def _where(config_file: Path, text: str) -> Span | None:
    """The line of policyengine.yaml that writes `text` in the ownership map (the first after
    `ownership:`), for the caret; None when the file cannot be read."""
    try:
        lines = config_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    start = next((i for i, line in enumerate(lines) if line.startswith("ownership:")), 0)
    for i in range(start, len(lines)):
        col = lines[i].find(text)
        if col >= 0 and not lines[i].lstrip().startswith("#"):
            return Span(str(config_file), i + 1, col + 1, i + 1, col + 1 + len(text))
    return None


def unmatched_paths(own: Ownership, config_file: Path | None) -> list[Diagnostic]:
    """A warning (code `ownership-unmatched`) for each path of the map that matches no file or
    folder below the map's folder, located at its line in the configuration file. A literal path
    whose folder exists is not reported: it reserves a file not written yet."""
    out: list[Diagnostic] = []
    for what, patterns in (("ownership.platform.paths", own.platform_paths),
                           ("ownership.domains.paths", own.domain_paths)):
        for pattern in patterns:
            if _matches_something(own.root, pattern):
                continue
            span = _where(config_file, pattern.text) if config_file is not None else None
            out.append(Diagnostic("warning", f"'{pattern.text}' in {what} matches no file or folder "
                                  f"(paths are relative to the folder of {own.config_file}; a typo leaves "
                                  "the files it meant unowned)", span, file=str(config_file) if config_file else None,
                                  code="ownership-unmatched"))
    return out
