"""Consumers from an identity provider: SCIM 2.0 Users and Groups documents (the shape Okta and
Entra ID export) mapped to the consumers file through a mapping file, so the file `check`,
`evaluate` and `diff` read is produced from the directory and reviewed as a change.

The mapping (YAML) says which SCIM attribute is the consumer id, which directory groups become
which consumer groups (directory groups it does not list are dropped: a directory's hundreds of
groups must not leak into policies unreviewed), and which SCIM attributes fill which consumer
attributes (typed by the consumers file's `attributes:` schema). Users that are inactive or absent
from the directory are removed (`removed: drop`, the default) or kept as the file had them
(`removed: keep`). The output keeps the current file's `attributes:` schema, and an entry's
`approved:` ticket only while its groups and attributes are unchanged (a new loosening needs a
new approval, judged by `policyengine diff`). Errors never quote a directory value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policyengine.catalog.consumers import Directory, has_type
from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
_MAPPING_KEYS = ("id", "groups", "attributes", "removed", "keep_unmapped_groups", "ldap")


@dataclass(frozen=True)
class SyncMapping:
    """The mapping file, read: id attribute, group map, attribute map, removal policy."""

    id: str = "userName"
    groups: Mapping[str, str] = field(default_factory=dict)  # directory displayName → consumer group
    attributes: Mapping[str, str] = field(default_factory=dict)  # consumer attribute → SCIM path
    removed: str = "drop"
    keep_unmapped_groups: bool = False
    ldap: Mapping[str, Any] | None = None  # where to read users and groups from LDAP (ldap_source)


@dataclass(frozen=True)
class SyncResult:
    """The new consumers file's text and what changed, by consumer id (no attribute values)."""

    text: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    warnings: tuple[str, ...]


def load_mapping(path: str | Path) -> SyncMapping:
    """Read the mapping file; a malformed one is a located YamlError."""
    data = load_yaml_file(path)
    if not isinstance(data, LocatedDict):
        raise YamlError.at(path, (1, 1), "a sync mapping must be a mapping")
    for key in data:
        if key not in _MAPPING_KEYS:
            raise YamlError.at(path, data.where(key), f"unknown key '{key}' in the sync mapping "
                               f"(known: {', '.join(_MAPPING_KEYS)})")
    groups = data.get("groups") or {}
    attributes = data.get("attributes") or {}
    for key, value, what in (("groups", groups, "directory group → consumer group"),
                             ("attributes", attributes, "consumer attribute → SCIM attribute path")):
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                  for k, v in value.items()):
            raise YamlError.at(path, data.where(key), f"'{key}' must map {what} (text to text)")
    removed = data.get("removed", "drop")
    if removed not in ("drop", "keep"):
        raise YamlError.at(path, data.where("removed"), "'removed' must be drop or keep")
    ident = data.get("id", "userName")
    if not isinstance(ident, str) or not ident:
        raise YamlError.at(path, data.where("id"), "'id' must name a SCIM attribute (e.g. userName)")
    keep = data.get("keep_unmapped_groups", False)
    if not isinstance(keep, bool):
        raise YamlError.at(path, data.where("keep_unmapped_groups"), "'keep_unmapped_groups' must be true or false")
    ldap = None
    if "ldap" in data:
        from policyengine.catalog.ldap_source import ldap_settings

        try:
            ldap = ldap_settings(data["ldap"], str(path))
        except YamlError as exc:
            raise YamlError.at(path, data.where("ldap"), exc.message) from None
    return SyncMapping(ident, dict(groups), dict(attributes), removed, keep, ldap)


def read_scim(path: str | Path) -> list[dict[str, Any]]:
    """The resources of a SCIM document: a ListResponse (`Resources`), a list, or one resource."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise YamlError(f"cannot read file: {exc.strerror or exc}", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise YamlError(f"not a SCIM JSON document ({type(exc).__name__})", path) from None
    if isinstance(data, dict) and "Resources" in data:
        data = data["Resources"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise YamlError("a SCIM document must be a ListResponse with 'Resources', or a list of resources", path)
    return data


def scim_value(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a SCIM attribute path: `userName`, `name.familyName`, `enterprise.department`
    (the enterprise extension), a full `urn:…:User:department`, `emails[primary].value` (the
    primary element, else the first). None when absent."""
    if path.startswith("urn:"):
        urn, _, rest = path.rpartition(":")
        node: Any = resource.get(urn)
        parts = rest.split(".")
    else:
        parts = path.split(".")
        node = resource
        if parts[0] == "enterprise":
            node, parts = resource.get(ENTERPRISE), parts[1:]
    for part in parts:
        if node is None:
            return None
        name, bracket, _ = part.partition("[")
        node = node.get(name) if isinstance(node, Mapping) else None
        if bracket and isinstance(node, list):
            node = next((e for e in node if isinstance(e, Mapping) and e.get("primary")), node[0] if node else None)
    return node


def _typed(value: Any, kind: str | None) -> Any:
    """A directory value as the consumers schema's type (SCIM exports numbers as text often)."""
    if value is None or kind is None:
        return value
    if kind in ("integer", "number") and isinstance(value, str):
        try:
            return int(value) if kind == "integer" else float(value)
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def sync_scim(users: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]], mapping: SyncMapping,
              current: Directory | None, current_raw: Mapping[str, Any] | None) -> SyncResult:
    """The consumers file the directory gives, compared with the current one."""
    schema = current.schema if current is not None else None
    warnings: list[str] = []
    member_of: dict[str, set[str]] = {}
    for group in groups:
        name = group.get("displayName")
        for member in group.get("members") or ():
            if isinstance(member, Mapping) and isinstance(member.get("value"), str) and isinstance(name, str):
                member_of.setdefault(member["value"], set()).add(name)
    entries: dict[str, dict[str, Any]] = {}
    for index, user in enumerate(users):
        if user.get("active") is False:
            continue
        ident = scim_value(user, mapping.id)
        if not isinstance(ident, str) or not ident:
            warnings.append(f"user {index + 1} of the directory has no '{mapping.id}': skipped")
            continue
        names = set(member_of.get(str(user.get("id")), ()))
        names |= {g["display"] for g in user.get("groups") or () if isinstance(g, Mapping) and g.get("display") is not None}
        mapped = {mapping.groups[n] for n in names if n in mapping.groups}
        if mapping.keep_unmapped_groups:
            mapped |= {n for n in names if n not in mapping.groups}
        attributes: dict[str, Any] = {}
        for attr, path in mapping.attributes.items():
            kind = schema.type_of(attr) if schema is not None else None
            if schema is not None and kind is None:
                warnings.append(f"attribute '{attr}' of the mapping is not declared in the consumers file")
            value = _typed(scim_value(user, path), kind)
            if value is None:
                continue
            if kind is not None and not has_type(value, kind):
                warnings.append(f"{ident}: attribute '{attr}' from '{path}' is not of type {kind}: left out")
                continue
            attributes[attr] = value
        if ident in entries:
            warnings.append(f"{ident}: two directory users map to this id; the first is kept")
            continue
        entries[ident] = {"id": ident, "groups": sorted(mapped), "attributes": attributes}
    before = {c.id: c for c in (current.consumers.values() if current is not None else ())}
    approvals = dict(current.approvals) if current is not None else {}
    added = tuple(sorted(set(entries) - set(before)))
    removed_ids = tuple(sorted(set(before) - set(entries)))
    changed = []
    for cid, entry in entries.items():
        old = before.get(cid)
        if old is None:
            continue
        if sorted(old.groups) != entry["groups"] or dict(old.attributes) != entry["attributes"]:
            changed.append(cid)
        elif cid in approvals:
            entry["approved"] = approvals[cid]
    if mapping.removed == "keep":
        for cid in removed_ids:
            old = before[cid]
            entries[cid] = {"id": cid, "groups": sorted(old.groups), "attributes": dict(old.attributes)}
            if cid in approvals:
                entries[cid]["approved"] = approvals[cid]
        removed_ids = ()
    return SyncResult(_render(entries, current_raw), added, removed_ids, tuple(sorted(changed)), tuple(warnings))


def _render(entries: Mapping[str, dict[str, Any]], current_raw: Mapping[str, Any] | None) -> str:
    head = ("# Generated by `policyengine consumers sync` from the identity provider: edit the mapping,\n"
            "# not this file; review the change with `policyengine diff`.\n")
    doc: dict[str, Any] = {}
    if current_raw is not None and current_raw.get("attributes") is not None:
        doc["attributes"] = _plain(current_raw["attributes"])
    doc["consumers"] = [{k: v for k, v in entries[cid].items() if v or k == "groups"} for cid in sorted(entries)]
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
