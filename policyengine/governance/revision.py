"""A git revision's files exactly as committed, and the governed `.gitattributes` files.

`git archive` (and a checkout) pass every file through the committed `.gitattributes`:
`export-subst` expands `$Format:%n$` into line breaks, `export-ignore` drops files, `eol`,
`ident` and `working-tree-encoding` rewrite them. A diff that read a revision that way compared a
version nobody reviewed: a comment with `$Format:%n$` in it became a rule, a file became absent.
So a revision is read as its stored blobs (`git ls-tree -r -z` and `git cat-file --batch`, which
apply no attributes, filters or textconv), and a change of any `.gitattributes` file is itself a
governed change (`attribute_changes`): the diff reports it and fails unless the head's file
records a new approval in a comment line `# policyengine-approved: GOV-123`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from policyengine.governance.contract_diff import ContractChange

ATTRIBUTES = ".gitattributes"
_APPROVAL = re.compile(r"^\s*#\s*policyengine-approved\s*:\s*(\S+)\s*$")
_FILE_MODES = {"100644", "100755"}
_LINK_MODE = "120000"
_SUBMODULE_MODE = "160000"


class RevisionError(Exception):
    """A revision that cannot be read as committed; the message names the revision, never content."""


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str
    oid: str
    path: str


def _git(top: Path, args: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    # no pager, no replace refs: the objects the commit names, nothing substituted for them
    env = {**os.environ, "GIT_NO_REPLACE_OBJECTS": "1", "GIT_PAGER": "cat"}
    try:
        return subprocess.run(["git", *args], cwd=top, input=stdin, capture_output=True, check=False, env=env)
    except OSError as exc:  # no git to run
        raise RevisionError(f"cannot run git ({exc.__class__.__name__})") from None


def _entries(top: Path, commit: str, label: str) -> list[_Entry]:
    done = _git(top, ["ls-tree", "-r", "-z", "--full-tree", commit])
    if done.returncode != 0:
        raise RevisionError(f"cannot read git revision '{label}'")
    out = []
    for record in done.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw = record.partition(b"\t")
        mode, kind, oid = meta.decode("ascii", "replace").split(" ")
        try:
            path = raw.decode("utf-8")
        except UnicodeDecodeError:
            path = raw.decode("utf-8", "surrogateescape")
        out.append(_Entry(mode, kind, oid, path))
    return out


def _safe(path: str) -> bool:
    """A path that stays below the folder it is written into (what git's own fsck requires)."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(
        p not in ("", ".", "..") and p.lower() != ".git" and "\\" not in p for p in parts)


def _blobs(top: Path, oids: list[str], label: str) -> dict[str, bytes]:
    """Each blob's stored bytes (`cat-file --batch` applies no attributes, filters or textconv)."""
    unique = list(dict.fromkeys(oids))
    if not unique:
        return {}
    done = _git(top, ["cat-file", "--batch"], stdin=("\n".join(unique) + "\n").encode("ascii"))
    if done.returncode != 0:
        raise RevisionError(f"cannot read git revision '{label}'")
    data, at, out = done.stdout, 0, {}
    for oid in unique:
        nl = data.index(b"\n", at)
        header = data[at:nl].decode("ascii", "replace").split(" ")
        if len(header) != 3 or header[1] != "blob":
            raise RevisionError(f"cannot read git revision '{label}' (object {oid[:12]} is missing)")
        size = int(header[2])
        out[oid] = data[nl + 1:nl + 1 + size]
        at = nl + 1 + size + 1
    return out


def read_revision(top: Path, commit: str, into: Path, label: str | None = None,
                  unread: list[str] | None = None) -> dict[str, bytes]:
    """Write `commit`'s tree below `into` as stored (files byte for byte; a link only when its
    target stays inside the tree; a submodule as an empty folder) and return its `.gitattributes`
    files by path. Raises RevisionError for a path that would leave the tree, and for a link that
    would, unless `unread` is given: then such a link is not written and its path is appended
    there, for the caller to refuse only if it reads below it (a link anywhere else in a
    repository must not make the whole revision unreadable)."""
    label = label or commit
    entries = _entries(top, commit, label)
    for e in entries:
        if not _safe(e.path):
            raise RevisionError(f"git revision '{label}' has a link or path that leaves the tree ({e.path}): "
                                "not read")
    blobs = _blobs(top, [e.oid for e in entries if e.kind == "blob"], label)
    attributes: dict[str, bytes] = {}
    root = into.resolve()
    links = []
    # files and folders first, while no link exists that a write could pass through
    for e in entries:
        target = root.joinpath(*e.path.split("/"))
        if e.mode == _SUBMODULE_MODE:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if e.mode == _LINK_MODE:
            links.append((e, target))
            continue
        if e.mode not in _FILE_MODES:
            raise RevisionError(f"cannot read git revision '{label}' (unknown entry {e.path})")
        content = blobs[e.oid]
        with open(target, "xb") as fh:  # a path given twice is refused, not overwritten
            fh.write(content)
        if PurePosixPath(e.path).name == ATTRIBUTES:
            attributes[e.path] = content
    def leaves(path: str) -> None:
        if unread is None:
            raise RevisionError(f"git revision '{label}' has a link or path that leaves the tree ({path}): not read")
        unread.append(path)

    written = []
    for e, target in links:
        link = blobs[e.oid].decode("utf-8", "surrogateescape")
        if link.startswith("/") or not _inside(PurePosixPath(e.path).parent / link):
            leaves(e.path)
            continue
        os.symlink(link, target)
        written.append((e, target))
    # then every link resolved through the others (`x -> s/..` with `s -> .` leaves the tree);
    # a link found leaving is removed, and the others checked again (one may lead through it)
    removed = True
    while removed:
        removed = False
        for e, target in list(written):
            if not _below(root, Path(os.path.realpath(target))):
                leaves(e.path)
                os.unlink(target)
                written.remove((e, target))
                removed = True
    return attributes


def _below(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


def _inside(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return False
    return True


def working_attributes(top: Path) -> dict[str, bytes]:
    """The `.gitattributes` files of the working tree (tracked or not, ignored ones left out), by
    path relative to the repository's top folder."""
    done = _git(top, ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--full-name"])
    if done.returncode != 0:
        raise RevisionError("cannot list the working tree's files")
    out: dict[str, bytes] = {}
    for raw in dict.fromkeys(done.stdout.split(b"\0")):
        path = raw.decode("utf-8", "surrogateescape")
        if path and PurePosixPath(path).name == ATTRIBUTES:
            try:
                out[path] = (top / path).read_bytes()
            except FileNotFoundError:  # deleted in the working tree: absent
                continue
            except OSError as exc:
                raise RevisionError(f"{path}: cannot read file ({exc.__class__.__name__})") from None
    return out


def attribute_approvals(text: str) -> list[str]:
    """The approvals a `.gitattributes` file records (`# policyengine-approved: GOV-123` lines)."""
    return [m.group(1) for line in text.splitlines() if (m := _APPROVAL.match(line))]


def _first_changed_line(old: str, new: str) -> int:
    a, b = old.splitlines(), new.splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False), start=1):
        if x != y:
            return i
    return min(len(a), len(b)) + 1 if len(a) != len(b) else 1


def attribute_changes(base: Mapping[str, bytes], head: Mapping[str, bytes],
                      prefix: str = "") -> list[ContractChange]:
    """One governed change per `.gitattributes` file added, removed or changed between the
    versions, at its first changed line of the head (line 1 when removed). It is approved when
    the head's file records an approval (`# policyengine-approved: GOV-123`) the base's did not.
    `prefix`: the project's folder below the repository's top, left out of the reported paths."""
    out = []
    for path in sorted(set(base) | set(head)):
        old, new = base.get(path), head.get(path)
        if old == new:
            continue
        old_text = (old or b"").decode("utf-8", "replace")
        new_text = (new or b"").decode("utf-8", "replace")
        what = "added" if old is None else "removed" if new is None else "changed"
        shown = path[len(prefix):] if prefix and path.startswith(prefix) else path
        fresh = [a for a in attribute_approvals(new_text) if a not in attribute_approvals(old_text)]
        out.append(ContractChange(
            "gitattributes-changed", shown, None,
            f"{shown} {what}: git attributes decide what a checkout holds (filters, encodings, line "
            "ends) and what an archive leaves out or rewrites; a change needs the platform's review",
            shown, _first_changed_line(old_text, new_text) if new is not None else 1,
            fresh[0] if fresh else None))
    return out
