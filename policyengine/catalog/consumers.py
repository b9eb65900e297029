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


class ConsumerError(ValueError):
    """A request names a consumer no consumers file lists, or one of the wrong shape: the
    caller's mistake, not the engine's (evaluate() denies and logs it once, without a traceback)."""


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
        if isinstance(value, str):
            raise ConsumerError(f"consumer '{value}' is given by id, but no consumers file lists it (load one "
                             "with consumers=..., or pass {id, groups, attributes})")
        if isinstance(value, Mapping):
            cid, groups, attrs = value.get("id"), value.get("groups") or (), value.get("attributes") or {}
        else:
            cid = getattr(value, "id", None)
            groups = getattr(value, "groups", None) or ()
            attrs = getattr(value, "attributes", None) or {}
        if not isinstance(cid, str) or not cid:
            raise ConsumerError("a consumer needs a non-empty string 'id'")
        if isinstance(groups, str):
            groups = (groups,)
        if not isinstance(groups, (list, tuple, set, frozenset)) or \
                not all(isinstance(g, (str, int)) and not isinstance(g, bool) for g in groups):
            raise ConsumerError(f"'groups' of consumer '{cid}' must be a list of group names")
        if not isinstance(attrs, Mapping):
            raise ConsumerError(f"'attributes' of consumer '{cid}' must map attribute names to values")
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
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # each entry's line
    # each entry's `approved:` ticket (GOV-123): what `policyengine diff` needs for a consumer change
    approvals: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


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


def has_type(value: Any, kind: str) -> bool:
    """Whether `value` is of the attribute schema's `kind` (string, integer, number, boolean,
    date, timestamp, list): what a consumer entry, or `eval --attr`, must give."""
    return _check_type(value, kind)


def _is_value(value: Any) -> bool:
    """A scalar an attribute can hold (what `values:` may list)."""
    return isinstance(value, (str, int, float, bool, dt.date))


def load_directory(path: str | Path) -> Directory:
    """Read a consumers file; malformed content raises YamlError naming file:line:col."""
    data = load_yaml_file(path)
    if not isinstance(data, LocatedDict):
        raise YamlError.at(path, (1, 1), "a consumers file must be a mapping")

    def fail(where: tuple[int, int], message: str) -> YamlError:
        return YamlError.at(path, where, message)

    schema = None
    raw_schema = data.get("attributes")
    if raw_schema is not None:
        if not isinstance(raw_schema, LocatedDict):
            raise fail(data.where("attributes"), "'attributes' must map names to {type: ...}")
        types, allowed = {}, {}
        for name, spec in raw_schema.items():
            where = raw_schema.where(name)
            kind = spec.get("type") if isinstance(spec, Mapping) else spec
            if not isinstance(kind, str) or kind not in ATTRIBUTE_TYPES:
                raise fail(where, f"attribute '{name}' has unknown type {kind!r} "
                                  f"(expected one of {', '.join(sorted(ATTRIBUTE_TYPES))})")
            types[name] = kind
            values = spec.get("values") if isinstance(spec, Mapping) else None
            if values is not None:
                if isinstance(spec, LocatedDict):
                    where = spec.where("values")
                if not isinstance(values, list) or not all(_is_value(v) for v in values):
                    raise fail(where, f"'values' of attribute '{name}' must be a list of values")
                for v in values:  # a list attribute's values are the elements it may hold
                    if kind != "list" and not _check_type(v, kind):
                        article = "an" if kind[0] in "aeiou" else "a"
                        raise fail(where, f"value {v!r} of attribute '{name}' is not {article} {kind}")
                if values:
                    allowed[name] = tuple(values)
        schema = AttributeSchema(MappingProxyType(types), MappingProxyType(allowed))
    consumers: dict[str, Consumer] = {}
    lines: dict[str, int] = {}
    approvals: dict[str, str] = {}
    entries = data.get("consumers")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise fail(data.where("consumers"), "'consumers' must be a list of {id, groups, attributes}")
    for entry in entries:
        if not isinstance(entry, LocatedDict):
            raise fail(data.where("consumers"), "each consumer must be a mapping with at least 'id'")
        where = entry.where()
        try:
            consumer = Consumer.coerce(entry)
        except ValueError as exc:
            key = "groups" if "'groups'" in str(exc) else "attributes" if "'attributes'" in str(exc) else None
            raise fail(entry.where(key), str(exc)) from None
        if schema is not None:
            raw_attrs = entry.get("attributes")
            for key, value in consumer.attributes.items():
                kind = schema.types.get(key)
                if kind is not None and not _check_type(value, kind):
                    at = raw_attrs.where(key) if isinstance(raw_attrs, LocatedDict) else where
                    raise fail(at, f"attribute '{key}' of consumer '{consumer.id}' should be {kind}")
        if consumer.id in consumers:
            raise fail(where, f"duplicate consumer '{consumer.id}'")
        approved = entry.get("approved")
        if approved is not None:
            if not isinstance(approved, str) or not approved.strip():
                raise fail(entry.where("approved"), f"'approved' of consumer '{consumer.id}' must be a ticket id "
                                                    "such as GOV-123")
            approvals[consumer.id] = approved.strip()
        consumers[consumer.id] = consumer
        lines[consumer.id] = where[0]
    return Directory(MappingProxyType(consumers), schema, MappingProxyType(lines), MappingProxyType(approvals))
