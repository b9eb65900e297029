"""Project configuration: where policies, the catalog, consumers and the taxonomy live.

Read from `policyengine.yaml` (found in the current folder or a parent, or named by the
POLICYENGINE_CONFIG environment variable). Paths in it are relative to the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policyengine.diagnostics import did_you_mean
from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

CONFIG_NAME = "policyengine.yaml"
KNOWN_KEYS: dict[str, str] = {
    "policies": "policy files or folders (every command that reads policies)",
    "catalog": "data contract files or folders (check, evaluate, query, scan)",
    "consumers": "the consumers file: known consumers and the attribute schema (check, evaluate, query)",
    "taxonomy": "extra tag taxonomy files (check, evaluate, scan)",
    "samples": "sample data files or folders (scan)",
    "hash_key_env": "the environment variable holding the HMAC key of `hash` masks (check, enforcement)",
    "ownership": "who owns which products and rules (read by the ownership check of `check`)",
    "privileged": "consumers and groups whose grants need review (read by the `coverage` command)",
    "decision_log": "where and how decisions are logged (read by the engine when it evaluates)",
    "serve": "settings of the long-running server (read by `serve`)",
    "allow_unkeyed_hash": "let the gateway run `hash` masks without an HMAC key, and serve hand `hash` to Trino as plain SHA-256 and to Iceberg as sha-256-global (read by `query`, the gateway and `serve`)",
}
"""Every key `policyengine.yaml` may have, with what it means and which command reads it; any other
key is an error (with "did you mean"), so a typo such as `catalgo:` never passes silently. A new key
is one line here."""


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
    # subjects the coverage gate does not check: (subject, tags); no tags = every sensitive tag
    privileged: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # the gateway refuses `hash` masks without an HMAC key unless this is set (see docs/enforcement.md)
    allow_unkeyed_hash: bool = False
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
        raise YamlError(f"'{key}' must be a path or a list of paths", source)
    return tuple(_display_path(root / i) for i in items)


_SUBJECT = re.compile(r"^(group|user):\S+$")


def _privileged(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """`privileged: [group:a, {group:b: [pii.ip]}]` → ((group:a, ()), (group:b, (pii.ip,)))."""
    if value is None:
        return ()
    bad = YamlError(f"{where}: error: 'privileged' must list subjects (group:NAME or user:ID), each "
                    "alone or mapped to the sensitive tags it may read")
    if not isinstance(value, list):
        raise bad
    out: list[tuple[str, tuple[str, ...]]] = []
    for item in value:
        if isinstance(item, str):
            subject, tags = item, []
        elif isinstance(item, dict) and len(item) == 1:
            subject, tags = next(iter(item.items()))
        else:
            raise bad
        if not isinstance(subject, str) or not _SUBJECT.match(subject) or not isinstance(tags, list) \
                or not all(isinstance(t, str) and t for t in tags):
            raise bad
        out.append((subject, tuple(tags)))
    return tuple(out)


def _display_path(path: Path) -> Path:
    """The path relative to the working folder when it is below it (shorter in diagnostics)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _flag(value: object, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise YamlError(f"{source}: error: '{key}' must be true or false")
    return value


def load_config(path: str | Path | None = None) -> Config:
    """Load the project configuration; with no file, defaults to ./policies and ./catalog."""
    found = Path(path) if path else find_config()
    if found is None:
        root = Path.cwd()
        return Config(policies=(root / "policies",), catalog=(root / "catalog",), root=root)
    found = _display_path(found)  # errors name it as the user would
    data = load_yaml_file(found) or LocatedDict()
    if not isinstance(data, dict):
        raise YamlError.at(found, (1, 1), "the configuration must be a mapping")
    source = str(found)
    for key in data:
        if key not in KNOWN_KEYS:
            raise YamlError.at(found, data.where(key), f"unknown key '{key}' in the configuration"
                               f"{did_you_mean(key, KNOWN_KEYS)} (known keys: {', '.join(KNOWN_KEYS)})")
    root = found.resolve().parent
    consumers = _paths(root, data.get("consumers"), "consumers", source)
    ownership = None
    if "ownership" in data:
        if _OWNERSHIP_READER is None:  # fail closed: a map nobody reads must not leave scopes unbound
            raise YamlError.at(source, data.where("ownership"),
                               "no reader for 'ownership' is installed (import policyengine)")
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
        privileged=_privileged(data.get("privileged"), "{}:{}:{}".format(source, *data.where("privileged"))),
        allow_unkeyed_hash=_flag(data.get("allow_unkeyed_hash", False), "allow_unkeyed_hash", source),
        serve=_serve_section(data.get("serve"), source),
    )


def _serve_section(value: object, source: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise YamlError(f"{source}: error: 'serve' must be a mapping")
    return value
