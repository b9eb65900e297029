"""The bundle version: one content hash over everything a decision depends on.

A decision is a function of the policy files, the catalog (contracts), the consumers file, the
scan tags and the taxonomy. `policy_version` hashes only the first; the bundle version hashes them
all, so a decision log line names exactly the inputs that produced it (a changed contract or a new
scan report changes it, an unchanged reload does not).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from policyengine.yamlsource import hidden_below

_FILE_SUFFIXES = frozenset({".policy", ".yaml", ".yml", ".json"})


def _files(path: Path) -> list[Path]:
    """A file, or the files below a folder that a loader may read (sorted, hidden ones skipped)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _FILE_SUFFIXES
                  and not hidden_below(p, path))


def input_files(path: str | Path) -> list[Path]:
    """The files below `path` that the bundle version hashes (what a signed bundle must carry)."""
    return _files(Path(path))


Root = Iterable[tuple[str, bytes]]  # one root's (name, content) pairs, in the order they are hashed


def _root_entries(root: Path) -> list[tuple[str, bytes]]:
    return [(f.name if f == root else f.relative_to(root).as_posix(), f.read_bytes()) for f in _files(root)]


def _update_roots(digest: Any, label: str, roots: Iterable[Root], hashed: bool = False) -> None:
    digest.update(label.encode() + b"\0")
    for entries in roots:
        for name, content in entries:
            digest.update(name.encode() + b"\0" + (content if hashed else hashlib.sha256(content).digest()))


def _update_paths(digest: Any, label: str, paths: Iterable[str | Path]) -> None:
    _update_roots(digest, label, (_root_entries(root) for root in sorted(Path(p) for p in paths)))


def bundle_version_of(policies: Iterable[Root], catalog: Iterable[Root], taxonomy: Iterable[Root],
                      consumers: Iterable[Root], scan: Iterable[Root] | None = None, *,
                      hashed: bool = False) -> str:
    """`bundle_version` of inputs held in memory (a signed bundle's members): each argument
    lists roots in path order, each root its (relative name, content) pairs as `bundle_version`
    would read them from disk (a policy file, the consumers file or a scan report file is a root
    named by its file name); `scan` None when there is no scan report. `hashed`: each content
    is already its SHA-256 digest (a verified bundle's member hashes: not hashed twice)."""
    digest = hashlib.sha256(b"policyengine-bundle-1\0")
    for label, roots in (("policies", policies), ("catalog", catalog), ("taxonomy", taxonomy),
                         ("consumers", consumers)):
        _update_roots(digest, label, roots, hashed)
    if scan is not None:
        _update_roots(digest, "scan", scan, hashed)
    return digest.hexdigest()[:12]


def _canonical(value: Any) -> Any:
    """A JSON-able, order-independent form of an in-memory input (a Catalog, a scan report)."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def bundle_version(
    policy_files: Iterable[str | Path],
    catalog: Iterable[str | Path] | Any,
    consumers: str | Path | None = None,
    scan: str | Path | Mapping[str, Any] | Any | None = None,
    taxonomy: Iterable[str | Path] | Any = (),
) -> str:
    """A short content hash of policy files, catalog, consumers, scan tags and taxonomy.

    Paths are hashed by content (a folder by every loadable file below it, by relative name);
    an in-memory catalog, report or taxonomy by a canonical repr of its value."""
    digest = hashlib.sha256(b"policyengine-bundle-1\0")
    _update_paths(digest, "policies", policy_files)
    for label, value in (("catalog", catalog), ("taxonomy", taxonomy)):
        if isinstance(value, (str, Path)):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, Path)) for v in value):
            _update_paths(digest, label, value)
        else:
            digest.update(label.encode() + b"\0" + repr(value).encode())
    _update_paths(digest, "consumers", [consumers] if consumers is not None else [])
    if isinstance(scan, (str, Path)):
        _update_paths(digest, "scan", [scan])
    elif scan is not None:
        if not isinstance(scan, Mapping) and callable(getattr(scan, "to_dict", None)):
            scan = scan.to_dict()
        digest.update(b"scan\0" + json.dumps(_canonical(scan), sort_keys=True, default=repr).encode())
    return digest.hexdigest()[:12]
