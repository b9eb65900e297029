"""Consumers: who asks (id, groups, attributes), and the attribute schema conditions are checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

ATTRIBUTE_TYPES = frozenset({"string", "integer", "number", "boolean", "date", "timestamp", "list"})
BUILTIN_ATTRIBUTES: Mapping[str, str] = MappingProxyType({"id": "string", "groups": "list"})


@dataclass(frozen=True)
class Consumer:
    """Who asks: a user id, the groups it belongs to, and attributes (region, clearance...)."""

    id: str
    groups: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:
        return hash((self.id, self.groups))

    @classmethod
    def coerce(cls, value: Any) -> Consumer:
        """Accept a Consumer, a mapping `{"id", "groups", "attributes"}`, or any object with those attributes."""
        if isinstance(value, Consumer):
            return value
        if isinstance(value, Mapping):
            cid, groups, attrs = value.get("id"), value.get("groups") or (), value.get("attributes") or {}
        else:
            cid = getattr(value, "id", None)
            groups = getattr(value, "groups", None) or ()
            attrs = getattr(value, "attributes", None) or {}
        if not isinstance(cid, str) or not cid:
            raise ValueError("a consumer needs a non-empty string 'id'")
        if isinstance(groups, str):
            groups = (groups,)
        return cls(cid, frozenset(map(str, groups)), MappingProxyType(dict(attrs)))


@dataclass(frozen=True)
class AttributeSchema:
    """Declared consumer attributes and their types (string, integer, number, boolean, date, list)."""

    types: Mapping[str, str]
    allowed_values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def type_of(self, name: str) -> str | None:
        return BUILTIN_ATTRIBUTES.get(name) or self.types.get(name)


@dataclass(frozen=True)
class Directory:
    """The consumers file: known consumers by id and the attribute schema."""

    consumers: Mapping[str, Consumer]
    schema: AttributeSchema | None


def _check_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if kind == "timestamp":
        return isinstance(value, dt.datetime)
    if kind == "list":
        return isinstance(value, (list, tuple, frozenset, set))
    return False


def load_directory(path: str | Path) -> Directory:
    """Read a consumers file; malformed content raises YamlError naming file:line:col."""
    data = load_yaml_file(path)
    if not isinstance(data, LocatedDict):
        raise YamlError(f"{path}:1:1: error: a consumers file must be a mapping")
    schema = None
    raw_schema = data.get("attributes")
    if raw_schema is not None:
        if not isinstance(raw_schema, LocatedDict):
            line, col = data.where("attributes")
            raise YamlError(f"{path}:{line}:{col}: error: 'attributes' must map names to {{type: ...}}")
        types, allowed = {}, {}
        for name, spec in raw_schema.items():
            kind = spec.get("type") if isinstance(spec, Mapping) else spec
            if kind not in ATTRIBUTE_TYPES:
                line, col = raw_schema.where(name)
                raise YamlError(f"{path}:{line}:{col}: error: attribute '{name}' has unknown type {kind!r} "
                                f"(expected one of {', '.join(sorted(ATTRIBUTE_TYPES))})")
            types[name] = kind
            if isinstance(spec, Mapping) and spec.get("values"):
                allowed[name] = tuple(spec["values"])
        schema = AttributeSchema(MappingProxyType(types), MappingProxyType(allowed))
    consumers: dict[str, Consumer] = {}
    for entry in data.get("consumers") or []:
        where = entry.where() if isinstance(entry, LocatedDict) else (1, 1)
        try:
            consumer = Consumer.coerce(entry)
        except ValueError as exc:
            raise YamlError(f"{path}:{where[0]}:{where[1]}: error: {exc}") from None
        if schema is not None:
            for key, value in consumer.attributes.items():
                kind = schema.types.get(key)
                if kind is not None and not _check_type(value, kind):
                    raise YamlError(f"{path}:{where[0]}:{where[1]}: error: attribute '{key}' of consumer "
                                    f"'{consumer.id}' should be {kind}")
        if consumer.id in consumers:
            raise YamlError(f"{path}:{where[0]}:{where[1]}: error: duplicate consumer '{consumer.id}'")
        consumers[consumer.id] = consumer
    return Directory(MappingProxyType(consumers), schema)
