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
    "gateway": "the PostgreSQL-protocol gateway: host, port, auth (refuse or trust), limits (read by `gateway`)",
    "scan": "settings of the scan gate: `waive_samples`, the products allowed to have no readable sample, each with a reason (read by `scan`)",
    "approvals": "what an approval id must look like: `pattern`, a regular expression (read by `diff`, from the base version)",
    "bundle": "signed policy bundles: `public_keys`, the PEM files a bundle's signature is checked against; `scopes`, the exact scopes a bundle must cover; `state_dir`, where the last good bundle and its sequence are kept (read by `serve --bundle`)",
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
class SampleWaiver:
    """A product the scan gate lets have no readable sample (`scan: waive_samples:`), and why."""

    product: str
    reason: str
    where: str  # file:line:col of the entry, for messages


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
    gateway: Mapping[str, Any] = field(default_factory=dict)  # the `gateway:` section, as written
    sample_waivers: tuple[SampleWaiver, ...] = ()  # `scan: waive_samples:`
    # `approvals: pattern:` — what an approval id must match once normalised (None: the default,
    # governance.approvals.DEFAULT_PATTERN)
    approval_pattern: str | None = None
    # (line, column) of each key written in the file, for errors about its value (`missing_path`)
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    bundle_public_keys: tuple[Path, ...] = ()  # `bundle: public_keys:` (PEM files verifying bundles)
    bundle_scopes: tuple[str, ...] | None = None  # `bundle: scopes:` (None: a bundle for any scopes)
    bundle_state_dir: Path | None = None  # `bundle: state_dir:` (the last good bundle and sequence)

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
        tags: object
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
    if not isinstance(data, LocatedDict):  # every YAML mapping is read as a LocatedDict
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
        gateway=_serve_section(data.get("gateway"), source, "gateway"),
        sample_waivers=_scan_section(data, source),
        approval_pattern=_approvals_section(data, source),
        positions={key: data.where(key) for key in data},
        bundle_public_keys=_bundle_keys(root, data.get("bundle"), source),
        bundle_scopes=_bundle_scopes(data.get("bundle"), source),
        bundle_state_dir=root / data["bundle"]["state_dir"] if isinstance(data.get("bundle"), dict)
        and data["bundle"].get("state_dir") is not None else None,
    )


_SCAN_KEYS = ("waive_samples",)


def _scan_section(data: LocatedDict, source: str) -> tuple[SampleWaiver, ...]:
    """`scan: {waive_samples: [{product: shop.legacy, reason: "…"}]}`: each entry names one
    product and gives a non-empty reason; anything else is a located error (a waiver that does
    not parse must not waive, nor be silently dropped)."""
    if "scan" not in data:
        return ()
    section = data["scan"]
    if not isinstance(section, LocatedDict):
        raise YamlError.at(source, data.where("scan"), "'scan' must be a mapping (waive_samples: …)")
    for key in section:
        if key not in _SCAN_KEYS:
            raise YamlError.at(source, section.where(key), f"unknown key '{key}' in 'scan'"
                               f"{did_you_mean(key, _SCAN_KEYS)} (known keys: {', '.join(_SCAN_KEYS)})")
    entries = section.get("waive_samples") or []
    if not isinstance(entries, list):
        raise YamlError.at(source, section.where("waive_samples"), "'waive_samples' must be a list of "
                           "{product: domain.product, reason: why it has no sample}")
    out: list[SampleWaiver] = []
    for entry in entries:
        at = entry.where() if isinstance(entry, LocatedDict) else section.where("waive_samples")
        if not isinstance(entry, LocatedDict) or set(entry) != {"product", "reason"} \
                or not isinstance(entry["product"], str) or not entry["product"].strip() \
                or not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise YamlError.at(source, at, "each entry of 'waive_samples' must be {product: domain.product, "
                               "reason: why it has no sample}, both non-empty text")
        out.append(SampleWaiver(entry["product"].strip(), entry["reason"].strip(), "{}:{}:{}".format(source, *at)))
    return tuple(out)


def _approvals_section(data: LocatedDict, source: str) -> str | None:
    """`approvals: {pattern: REGEX}`: the pattern, checked to compile (a located error if not)."""
    if "approvals" not in data:
        return None
    value = data["approvals"]
    if not isinstance(value, LocatedDict):
        raise YamlError.at(source, data.where("approvals"), "'approvals' must be a mapping (pattern: REGEX)")
    for key in value:
        if key != "pattern":
            raise YamlError.at(source, value.where(key), f"unknown key '{key}' in 'approvals'"
                               f"{did_you_mean(key, ('pattern',))} (known: pattern)")
    pattern = value.get("pattern")
    if pattern is None:
        return None
    if not isinstance(pattern, str) or not pattern:
        raise YamlError.at(source, value.where("pattern"), "'approvals.pattern' must be a string (a regular expression)")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise YamlError.at(source, value.where("pattern"),
                           f"'approvals.pattern' is not a regular expression ({exc.msg})") from None
    return pattern


PATH_KEYS = ("policies", "catalog", "consumers", "taxonomy")
"""The path keys every command that loads the project reads (`samples` is read by `scan`)."""


def missing_path(cfg: Config, keys: tuple[str, ...] = PATH_KEYS) -> YamlError | None:
    """The first path written in the configuration file that does not exist, as an error located
    at its key (`policyengine.yaml:2:1: error: 'catalog': no such file or folder: prodcts/`), so a
    typo names the key, the file and the line instead of surfacing later as a bare path. The
    commands check this (exit 2); loading does not, so a partial tree (a git revision) loads."""
    if cfg.source is None:
        return None
    for key in keys:
        if key not in cfg.positions:
            continue
        value = getattr(cfg, key)
        for path in value if isinstance(value, tuple) else (value,):
            if path is not None and not path.exists():
                shown = path.relative_to(cfg.root).as_posix() if path.is_absolute() and \
                    path.is_relative_to(cfg.root) else path.as_posix()
                return YamlError.at(cfg.source, cfg.positions[key], f"'{key}': no such file or folder: "
                                    f"{shown} (paths are relative to the folder of {cfg.source.name})")
    return None


def _bundle_keys(root: Path, value: object, source: str) -> tuple[Path, ...]:
    """`bundle: {public_keys: [a.pub, b.pub]}` (two during a key rotation)."""
    if value is None:
        return ()
    if not isinstance(value, dict) or set(value) - {"public_keys", "scopes", "state_dir"}:
        raise YamlError(f"{source}: error: 'bundle' must be a mapping with 'public_keys', 'scopes', 'state_dir'")
    if value.get("state_dir") is not None and not isinstance(value.get("state_dir"), str):
        raise YamlError(f"{source}: error: 'bundle.state_dir' must be a folder path")
    return _paths(root, value.get("public_keys"), "bundle.public_keys", source)


def _bundle_scopes(value: object, source: str) -> tuple[str, ...] | None:
    """`bundle: {scopes: [platform, domain sales]}`: the exact scopes a bundle must cover."""
    if not isinstance(value, dict) or value.get("scopes") is None:
        return None
    scopes = value["scopes"]
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s.strip() for s in scopes):
        raise YamlError(f"{source}: error: 'bundle.scopes' must be a list such as [platform, domain sales]")
    return tuple(" ".join(s.split()) for s in scopes)


def _serve_section(value: object, source: str, key: str = "serve") -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise YamlError(f"{source}: error: '{key}' must be a mapping")
    return value
