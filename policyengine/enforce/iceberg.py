"""A Decision as Apache Iceberg REST `read-restrictions` (the `ReadRestrictions` object of a
LoadTableResponse): `required-column-projections` by field id, with actions from Iceberg's closed
set, and `required-row-filter`, an Iceberg expression over field ids (`IdReference`).

The shapes follow the Iceberg REST spec as proposed in apache/iceberg PR 13879
(`open-api/rest-catalog-open-api.yaml`, head 32ddf37d) and its reference implementation in PR
16082 (`core/.../rest/restrictions/`, `api/.../functions/`, head badca2d4); neither is merged in
the Iceberg snapshot read (main 7f879b11, 2026-08-21). See docs/serve.md for the mapping table.

Faithful or refused: a column gets an action only where our mask's output equals Iceberg's
action's output on that column's type (`Strategy.iceberg`, `Strategy.iceberg_types`); anything
else — a denied column (Iceberg cannot hide a column), a mask with no faithful action, a filter
that does not translate, a field the schema lacks — raises `IcebergRefused`, never a weaker
restriction.

The row filter keeps SQL's meaning: a row passes only where the filter is TRUE (NULL drops the
row), while Iceberg predicates are two-valued and order NULL below every value. So each
comparison is guarded with `not-null` and `not` is pushed down to the comparisons (a comparison
that is FALSE is its negation on a non-null value), which gives exactly the rows SQL keeps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policyengine.enforce.sql import resolve_key
from policyengine.engine.decision import ColumnDecision, Decision
from policyengine.language import ast
from policyengine.language.masks import STRATEGIES
from policyengine.language.values import Undefined, fold, utc_instant

# The action set of the spec (`Action` discriminator) and Iceberg's ActionParser, exactly.
TEMPORAL = frozenset({"date", "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns"})
HASHABLE = frozenset({"string", "int", "long", "binary"})
FIXED_VALUE_TYPES = frozenset({"boolean", "int", "long", "float", "double", "decimal", "string", "date", "time",
                               "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns", "uuid", "fixed",
                               "binary", "variant", "list", "map", "struct"})
ACTIONS: Mapping[str, frozenset[str] | None] = {  # action -> the Iceberg types it applies to (None: any)
    "mask-alphanum": frozenset({"string"}),
    "mask-to-fixed-value": FIXED_VALUE_TYPES,
    "replace-with-null": None,  # optional fields only
    "show-first-4": frozenset({"string"}),
    "show-last-4": frozenset({"string"}),
    "truncate-to-year": TEMPORAL,
    "truncate-to-month": TEMPORAL,
    "sha-256-global": HASHABLE,
    "sha-256-query-local": HASHABLE,
}

PRIMITIVES = frozenset({"boolean", "int", "long", "float", "double", "string", "date", "time", "timestamp",
                        "timestamptz", "timestamp_ns", "timestamptz_ns", "uuid", "binary", "variant", "unknown",
                        "geometry", "geography"})
_DECIMAL = re.compile(r"decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_FIXED = re.compile(r"fixed\[\s*(\d+)\s*\]")
_GEO = re.compile(r"(geometry|geography)\(.*\)")
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class IcebergRefused(ValueError):
    """The decision cannot be expressed as Iceberg read restrictions without weakening it."""


class IcebergSchemaError(ValueError):
    """A malformed Iceberg schema (or field-id mapping) in a request."""


@dataclass(frozen=True, slots=True)
class IcebergField:
    """One top-level field of an Iceberg table schema: name, field id, type, required flag.

    `type` is the primitive's name (`decimal` / `fixed` without their parameters, kept in
    `precision`/`scale`), `struct`/`list`/`map` for nested types, or None when unknown (a plain
    name → id mapping)."""

    name: str
    field_id: int
    type: str | None = None
    required: bool = False
    precision: int | None = None
    scale: int | None = None


# ---------------------------------------------------------------- schemas


def _primitive(type_doc: str) -> tuple[str, int | None, int | None]:
    text = type_doc.strip()
    m = _DECIMAL.fullmatch(text)
    if m:
        return "decimal", int(m.group(1)), int(m.group(2))
    if _FIXED.fullmatch(text):
        return "fixed", None, None
    if _GEO.fullmatch(text):
        return text.split("(")[0], None, None
    if text in PRIMITIVES:
        return text, None, None
    raise IcebergSchemaError(f"unknown Iceberg type {text[:40]!r}")


def _field(doc: Any, index: int) -> IcebergField:
    where = f"schema field {index + 1}"
    if not isinstance(doc, Mapping):
        raise IcebergSchemaError(f"{where} is not an object")
    name, fid, type_doc, required = doc.get("name"), doc.get("id"), doc.get("type"), doc.get("required", False)
    if not isinstance(name, str) or not name:
        raise IcebergSchemaError(f"{where} needs a non-empty 'name'")
    if isinstance(fid, bool) or not isinstance(fid, int) or fid <= 0:
        raise IcebergSchemaError(f"{where} ('{name}') needs a positive integer 'id'")
    if not isinstance(required, bool):
        raise IcebergSchemaError(f"{where} ('{name}'): 'required' must be true or false")
    if isinstance(type_doc, str):
        kind, precision, scale = _primitive(type_doc)
    elif isinstance(type_doc, Mapping) and type_doc.get("type") in ("struct", "list", "map"):
        kind, precision, scale = str(type_doc["type"]), None, None
    else:
        raise IcebergSchemaError(f"{where} ('{name}') has no valid 'type'")
    return IcebergField(name, fid, kind, required, precision, scale)


def _nested_ids(type_doc: Any, depth: int = 0) -> list[int]:
    """Every field id inside a nested type (struct fields, list elements, map keys and values),
    so an id cannot be both a top-level column and a nested field; IcebergSchemaError on a
    malformed nested type."""
    if not isinstance(type_doc, Mapping):
        return []
    if depth > 64:
        raise IcebergSchemaError("the schema nests types too deeply")
    kind = type_doc.get("type")
    nested: dict[str, tuple[str, ...]] = {"struct": (), "list": ("element-id",), "map": ("key-id", "value-id")}
    keys = nested.get(kind) if isinstance(kind, str) else None  # a list or mapping is no type name
    if keys is None:
        raise IcebergSchemaError(f"unknown nested Iceberg type {str(kind)[:40]!r}")
    found: list[object] = [type_doc.get(k) for k in keys]
    children: list[Any] = [type_doc.get(k) for k in ("element", "key", "value") if k in type_doc]
    if kind == "struct":
        fields = type_doc.get("fields")
        if not isinstance(fields, list) or not all(isinstance(f, Mapping) for f in fields):
            raise IcebergSchemaError("a nested struct needs a list of fields")
        found += [f.get("id") for f in fields]
        children += [f.get("type") for f in fields]
    ids = [i for i in found if isinstance(i, int) and not isinstance(i, bool) and i > 0]
    if len(ids) != len(found):
        raise IcebergSchemaError(f"a nested {kind} has a field id that is not a positive integer")
    return ids + [i for child in children for i in _nested_ids(child, depth + 1)]


def parse_schema(doc: Any) -> tuple[IcebergField, ...]:
    """The top-level fields of an Iceberg schema JSON (`{"type": "struct", "fields": [...]}`).
    Raises IcebergSchemaError on a malformed schema or a repeated name or field id (at any depth:
    Iceberg's field ids are unique in a schema)."""
    if not isinstance(doc, Mapping) or doc.get("type") != "struct" or not isinstance(doc.get("fields"), list):
        raise IcebergSchemaError("an Iceberg schema is {\"type\": \"struct\", \"fields\": [...]}")
    fields = tuple(_field(f, i) for i, f in enumerate(doc["fields"]))
    _check_unique(fields)
    seen = {f.field_id for f in fields}
    for f in doc["fields"]:
        for fid in _nested_ids(f.get("type")):
            if fid in seen:
                raise IcebergSchemaError(f"the schema gives field id {fid} twice")
            seen.add(fid)
    return fields


def fields_from_ids(field_ids: Mapping[str, int], types: Mapping[str, str] | None = None,
                    required: Collection[str] = ()) -> tuple[IcebergField, ...]:
    """Fields from a column → field id mapping, with Iceberg types (`types`) and required
    columns where the caller knows them (without a type, only type-independent actions map)."""
    fields = []
    for name, fid in field_ids.items():
        if not isinstance(name, str) or isinstance(fid, bool) or not isinstance(fid, int) or fid <= 0:
            raise IcebergSchemaError("field ids are a mapping of column name to a positive integer")
        type_doc = (types or {}).get(name)
        kind, precision, scale = _primitive(type_doc) if type_doc is not None else (None, None, None)
        fields.append(IcebergField(name, fid, kind, name in required, precision, scale))
    result = tuple(fields)
    _check_unique(result)
    return result


def _check_unique(fields: Sequence[IcebergField]) -> None:
    names: set[str] = set()
    ids: set[int] = set()
    for f in fields:
        if f.name in names:
            raise IcebergSchemaError(f"the schema names column '{f.name}' twice")
        if f.field_id in ids:
            raise IcebergSchemaError(f"the schema gives field id {f.field_id} twice")
        names.add(f.name)
        ids.add(f.field_id)


# ---------------------------------------------------------------- column projections


def column_action(cd: ColumnDecision, field: IcebergField, *, keyed: bool,
                  allow_unkeyed_hash: bool = False) -> str | None:
    """The Iceberg action for one column decision (None: allowed, no projection); raises
    IcebergRefused where the decision has no faithful action on this field. `hash` maps to the
    unkeyed sha-256-global only when unkeyed hashing is explicitly allowed, as in the gateway
    (a plain SHA-256 of a guessable value can be confirmed by hashing a guess)."""
    if cd.effect == "allow":
        return None
    if cd.effect != "mask" or cd.strategy is None:
        raise IcebergRefused(f"column '{cd.column}' is denied, and Iceberg read restrictions cannot hide a "
                             f"column (no action does; replace-with-null would make it readable): refused")
    definition = STRATEGIES.get(cd.strategy)
    action = definition.iceberg if definition is not None else None
    if definition is None or action is None:
        raise IcebergRefused(f"mask '{cd.strategy}' on column '{cd.column}' has no faithful Iceberg action "
                             f"(see docs/serve.md, Iceberg read restrictions): refused")
    applicable = ACTIONS[action]
    kind = field.type
    if kind is None:  # no type: only a mask equal to the action on every type it fits maps
        if definition.iceberg_types is not None:
            raise IcebergRefused(f"mask '{cd.strategy}' on column '{cd.column}' equals {action} only on some "
                                 "types: the column's Iceberg type is needed (send the table schema)")
    else:
        if definition.iceberg_types is not None and kind not in definition.iceberg_types:
            raise IcebergRefused(f"mask '{cd.strategy}' on column '{cd.column}' of Iceberg type {kind} does not "
                                 f"equal {action} there (only on {', '.join(sorted(definition.iceberg_types))}): "
                                 "refused")
        if applicable is not None and kind not in applicable:
            raise IcebergRefused(f"Iceberg's {action} does not apply to column '{cd.column}' of type {kind}: refused")
    if action == "replace-with-null" and field.required:
        raise IcebergRefused(f"column '{cd.column}' is required (not nullable): Iceberg forbids replace-with-null "
                             "there: refused")
    if cd.strategy == "hash" and keyed:
        raise IcebergRefused(f"mask 'hash' on column '{cd.column}' is HMAC-SHA-256 with the configured key; "
                             "Iceberg's sha-256-global is unkeyed: refused")
    if cd.strategy == "hash" and not allow_unkeyed_hash:
        raise IcebergRefused(f"mask 'hash' on column '{cd.column}' would be Iceberg's unkeyed sha-256-global, whose "
                             "value can be confirmed by hashing a guess: refused unless unkeyed hashing is allowed "
                             "(allow_unkeyed_hash: true in policyengine.yaml)")
    return action


# ---------------------------------------------------------------- the row filter


_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_OPS = {"==": "eq", "!=": "not-eq", "<": "lt", "<=": "lt-eq", ">": "gt", ">=": "gt-eq"}
_TIMESTAMPS = frozenset({"timestamp", "timestamp_ns"})
_TIMESTAMPTZ = frozenset({"timestamptz", "timestamptz_ns"})


def _ref(field: IcebergField) -> dict[str, Any]:
    return {"type": "reference", "id": field.field_id}


def _not_null(field: IcebergField) -> dict[str, Any]:
    return {"type": "not-null", "child": _ref(field)}


def _and(parts: Sequence[Any]) -> Any:
    out = parts[0]
    for p in parts[1:]:
        out = {"type": "and", "left": out, "right": p}
    return out


def _or(parts: Sequence[Any]) -> Any:
    out = parts[0]
    for p in parts[1:]:
        out = {"type": "or", "left": out, "right": p}
    return out


def _iso_timestamp(value: dt.datetime) -> str:
    return value.isoformat(timespec="microseconds") if value.microsecond else value.isoformat(timespec="seconds")


def literal_json(field: IcebergField, value: Any, op: str) -> Any:
    """A policy literal as Iceberg's JSON single value for `field`'s type (what Iceberg's
    SingleValueParser reads); IcebergRefused where the comparison would not mean what it means
    in SQL. Messages name the column and types, never the value."""
    kind = field.type
    where = f"the row filter's comparison on column '{field.name}'"
    if kind is None:
        raise IcebergRefused(f"{where} needs the column's Iceberg type (send the table schema)")
    ordering = op not in ("==", "!=", "in")
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "boolean" and isinstance(value, bool):
        if ordering:
            raise IcebergRefused(f"{where} orders booleans, which the policy language leaves undefined")
        return value
    if kind in ("int", "long") and isinstance(value, int) and not isinstance(value, bool):
        lo, hi = INT32 if kind == "int" else INT64
        if not lo <= value <= hi:
            raise IcebergRefused(f"{where} compares a {kind} column with a number outside its range")
        return value
    if kind == "decimal" and isinstance(value, int) and not isinstance(value, bool):
        scale, precision = field.scale or 0, field.precision or 0
        if len(str(abs(value))) + scale > precision:
            raise IcebergRefused(f"{where} compares a decimal column with a number it cannot hold")
        return f"{value}.{'0' * scale}" if scale else str(value)
    if kind in ("float", "double") and isinstance(value, (int, float)) and not isinstance(value, bool):
        raise IcebergRefused(f"{where} is on a floating-point column: Iceberg orders -0.0 below 0.0 and NaN "
                             "above every number, SQL does not, so it does not translate")
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if kind in _TIMESTAMPS and isinstance(value, dt.date):
        instant = utc_instant(value)  # a date is its midnight; an aware timestamp its UTC wall clock
        return _iso_timestamp(instant.replace(tzinfo=None))
    if kind in _TIMESTAMPTZ and isinstance(value, dt.date):
        return _iso_timestamp(utc_instant(value))
    raise IcebergRefused(f"{where} compares a {kind} column with a {type(value).__name__} value: "
                         "it does not translate")


def _column_side(e: ast.Compare, fields: Mapping[str, IcebergField]) -> tuple[IcebergField, str, ast.Expr]:
    """(field, op with the column on the left, the other side) of a column-vs-constant comparison."""
    left, right, op = e.left, e.right, e.op
    if isinstance(left, ast.ColumnRef) and not isinstance(right, ast.ColumnRef):
        column, other = left, right
    elif isinstance(right, ast.ColumnRef) and not isinstance(left, ast.ColumnRef) and op in _FLIP:
        column, other, op = right, left, _FLIP[op]
    else:
        raise IcebergRefused(f"the row filter's '{op}' comparison does not translate to an Iceberg predicate "
                             "(Iceberg compares a column with constants only)")
    field = fields.get(column.name)
    if field is None:
        raise IcebergRefused(f"the row filter reads column '{column.name}', which has no field id: refused")
    return field, op, other


def _compare(e: ast.Compare, want: bool, fields: Mapping[str, IcebergField]) -> Any:
    if e.op == "contains" and isinstance(e.left, ast.ListExpr) and isinstance(e.right, ast.ColumnRef):
        e = ast.Compare("in", e.right, e.left, e.span)
    if e.op in ("in", "not in") and isinstance(e.left, ast.ColumnRef) and isinstance(e.right, ast.ListExpr):
        field = fields.get(e.left.name)
        if field is None:
            raise IcebergRefused(f"the row filter reads column '{e.left.name}', which has no field id: refused")
        if not e.right.items:  # rendered as the constant FALSE (in) / TRUE (not in), NULL or not
            return (e.op == "not in") == want
        values = [literal_json(field, i.value, "in") for i in e.right.items]
        if (e.op == "in") == want:
            return {"type": "in", "child": _ref(field), "values": values}  # Iceberg's in is false on null
        return _and([_not_null(field), {"type": "not-in", "child": _ref(field), "values": values}])
    if e.op not in _OPS:
        raise IcebergRefused(f"the row filter's '{e.op}' comparison does not translate to an Iceberg predicate")
    field, op, other = _column_side(e, fields)
    if not isinstance(other, ast.Literal):
        raise IcebergRefused(f"the row filter compares column '{field.name}' with something other than a constant")
    op = op if want else _NEGATE[op]
    value = literal_json(field, other.value, op)
    return _and([_not_null(field), {"type": _OPS[op], "left": _ref(field), "right": value}])


def _has_column(e: ast.Expr) -> bool:
    return any(isinstance(n, ast.ColumnRef) for n in ast.walk(e))


def _truth(e: ast.Expr, want: bool, fields: Mapping[str, IcebergField]) -> Any:
    """An Iceberg predicate true exactly where `e` is `want` under SQL's three-valued logic
    (so never where `e` is NULL)."""
    if not _has_column(e):
        return fold(e) == want  # raises Undefined: the whole filter is FALSE (as rendered to SQL)
    if isinstance(e, (ast.And, ast.Or)):
        parts = [_truth(o, want, fields) for o in e.operands]
        return _and(parts) if isinstance(e, ast.And) == want else _or(parts)
    if isinstance(e, ast.Not):
        return _truth(e.operand, not want, fields)
    if isinstance(e, ast.Compare):
        return _compare(e, want, fields)
    if isinstance(e, ast.ColumnRef):  # a boolean column as a condition: `col = TRUE`
        field = fields.get(e.name)
        if field is None:
            raise IcebergRefused(f"the row filter reads column '{e.name}', which has no field id: refused")
        if field.type != "boolean":
            raise IcebergRefused(f"the row filter uses column '{e.name}' as a condition, but it is not boolean")
        return _and([_not_null(field), {"type": "eq", "left": _ref(field), "right": want}])
    raise IcebergRefused(f"the row filter's {type(e).__name__} does not translate to an Iceberg predicate")


def row_filter(e: ast.Expr, fields: Mapping[str, IcebergField]) -> Any:
    """The substituted row filter `e` as an Iceberg expression (JSON) keeping exactly the rows
    SQL keeps; `false` where the filter is undefined (no rows, as everywhere)."""
    try:
        return _truth(e, True, fields)
    except Undefined:
        return False


# ---------------------------------------------------------------- the whole decision


def read_restrictions(decision: Decision, fields: Sequence[IcebergField] | Mapping[str, int], *,
                      hash_key: bytes | str | None = None,
                      allow_unkeyed_hash: bool = False) -> dict[str, Any]:
    """`decision` as an Iceberg `ReadRestrictions` object (JSON-able dict).

    `fields` are the table's top-level fields (`parse_schema`), or a column → field id mapping.
    Every column of the decision needs a field id and every field must be a column of the
    decision (a schema that omits or renames a column is refused, never read unrestricted).
    `hash` masks map only with `allow_unkeyed_hash` and no hash key (see `column_action`).
    Raises IcebergRefused for anything that has no faithful Iceberg form, IcebergSchemaError for
    malformed fields."""
    if isinstance(fields, Mapping):
        fields = fields_from_ids(fields)
    by_name = {f.name: f for f in fields}
    if len(by_name) != len(fields):
        _check_unique(fields)
    if decision.error:
        raise IcebergRefused(f"the decision for {decision.product} is an error (everything denied): refused")
    if not decision.columns:
        raise IcebergRefused(f"the decision for {decision.product} has no readable column: refused")
    unknown = [f.name for f in fields if f.name not in decision.columns]
    if unknown:
        raise IcebergRefused(f"the table has column '{unknown[0]}', which the decision for {decision.product} "
                             "does not cover (not decided = not readable): refused")
    missing = [name for name in decision.columns if name not in by_name]
    if missing:
        raise IcebergRefused(f"no field id for column '{missing[0]}' of {decision.product}: a restriction on it "
                             "could not be expressed: refused")
    keyed = resolve_key(hash_key) is not None
    projections = []
    for name, cd in decision.columns.items():
        action = column_action(cd, by_name[name], keyed=keyed, allow_unkeyed_hash=allow_unkeyed_hash)
        if action is not None:
            projections.append({"action": action, "field-id": by_name[name].field_id})
    out: dict[str, Any] = {}
    if projections:
        out["required-column-projections"] = projections
    if decision.row_filter is not None:
        out["required-row-filter"] = row_filter(decision.row_filter, by_name)
    return out
