"""Project configuration: where policies, the catalog, consumers and the taxonomy live.

Read from `policyengine.yaml` (found in the current folder or a parent, or named by the
POLICYENGINE_CONFIG environment variable). Paths in it are relative to the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

CONFIG_NAME = "policyengine.yaml"
# every top-level key policyengine.yaml may hold (`serve` is read by policyengine/serve/server.py)
KNOWN_KEYS = frozenset({"policies", "catalog", "consumers", "taxonomy", "samples", "hash_key_env", "ownership",
                        "serve"})

_OWNERSHIP_READER: Callable[..., Any] | None = None


def use_ownership_reader(reader: Callable[..., Any]) -> None:
    """Install what reads the `ownership:` section: `reader(value, root, source, where, file name)`
    returns the map or raises a located YamlError. `policyengine/__init__` wires in the governance
    stage's `parse_ownership` (the configuration sits below that stage and may not import it)."""
    global _OWNERSHIP_READER
    _OWNERSHIP_READER = reader


@dataclass(frozen=True)
class Config:
    """Resolved project paths and settings."""

    policies: tuple[Path, ...]
    catalog: tuple[Path, ...]
    consumers: Path | None = None
    taxonomy: tuple[Path, ...] = ()
    samples: tuple[Path, ...] = ()
    hash_key_env: str = "POLICYENGINE_HASH_KEY"
    root: Path = Path(".")
    ownership: Any = None  # the `ownership:` map (governance.ownership.Ownership), binding scopes to paths
    source: Path | None = None  # the configuration file, when there is one
    serve: Mapping[str, Any] = field(default_factory=dict)  # the `serve:` section, as written

    @property
    def hash_key(self) -> bytes | None:
        """The HMAC key for `hash` masks, read from the environment (never stored in files)."""
        value = os.environ.get(self.hash_key_env)
        return value.encode("utf-8") if value else None


def find_config(start: Path | None = None) -> Path | None:
    """The config file: $POLICYENGINE_CONFIG, else policyengine.yaml here or in a parent folder."""
    env = os.environ.get("POLICYENGINE_CONFIG")
    if env:
        return Path(env)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _paths(root: Path, value: object, key: str, source: str) -> tuple[Path, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) for i in items):
        raise YamlError(f"{source}: error: '{key}' must be a path or a list of paths")
    return tuple(_display_path(root / i) for i in items)


def _display_path(path: Path) -> Path:
    """The path relative to the working folder when it is below it (shorter in diagnostics)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def load_config(path: str | Path | None = None) -> Config:
    """Load the project configuration; with no file, defaults to ./policies and ./catalog."""
    found = Path(path) if path else find_config()
    if found is None:
        root = Path.cwd()
        return Config(policies=(root / "policies",), catalog=(root / "catalog",), root=root)
    data = load_yaml_file(found) or LocatedDict()
    if not isinstance(data, dict):
        raise YamlError(f"{found}:1:1: error: the configuration must be a mapping")
    root = found.resolve().parent
    source = str(_display_path(found))
    consumers = _paths(root, data.get("consumers"), "consumers", source)
    ownership = None
    if "ownership" in data:
        if _OWNERSHIP_READER is None:  # fail closed: a map nobody reads must not leave scopes unbound
            line, col = data.where("ownership")
            raise YamlError(f"{source}:{line}:{col}: error: no reader for 'ownership' is installed (import policyengine)")
        ownership = _OWNERSHIP_READER(data["ownership"], root, source, data.where("ownership"), found.name)
    return Config(
        policies=_paths(root, data.get("policies", "policies"), "policies", source),
        catalog=_paths(root, data.get("catalog", "catalog"), "catalog", source),
        consumers=consumers[0] if consumers else None,
        taxonomy=_paths(root, data.get("taxonomy"), "taxonomy", source),
        samples=_paths(root, data.get("samples"), "samples", source),
        hash_key_env=str(data.get("hash_key_env", "POLICYENGINE_HASH_KEY")),
        root=root,
        ownership=ownership,
        source=Path(source),
        serve=_serve_section(data.get("serve"), source),
    )


def _serve_section(value: object, source: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise YamlError(f"{source}: error: 'serve' must be a mapping")
    return value
