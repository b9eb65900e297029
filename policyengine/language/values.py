"""Value semantics of the policy language, in one place: the compiler, the evaluator and SQL
rendering all decide with these functions, so a condition means the same wherever it runs.

- `Undefined` is raised where a comparison has no value (a missing attribute, values of different
  kinds); conditions treat it as false, row filters as "no rows".
- `MISSING` marks an attribute the consumer does not have.
- `compare(op, a, b)` is one comparison; `fold(e)` evaluates a column-free expression.
- `substitute(e, attrs, column_types)` puts consumer attribute values into a row filter.
- `type_name(value)` names a value's type in the catalog's vocabulary (integer/number/...);
  `utc_instant(value)` is a date or timestamp as an aware UTC instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from policyengine.language import ast

Attributes = Mapping[str, Any]


class Undefined(Exception):
    """A condition read a missing attribute or compared values of different types."""


MISSING: Any = object()


# ---------------------------------------------------------------- values and comparisons


def type_name(value: Any) -> str:
    """A value's type as the catalog names column types: boolean, integer, number, string,
    timestamp, date; `list` for a list of values, `other` for anything else."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, (list, tuple, frozenset, set)):
        return "list"
    return "other"


def _kind(value: Any) -> str:
    """The kind two values must share to be compared: integers and floats are both numbers."""
    name = type_name(value)
    return "number" if name == "integer" else name


def utc_instant(value: dt.date | dt.datetime) -> dt.datetime:
    """A date or timestamp as an aware UTC instant: a date is its midnight UTC, a naive timestamp
    is read as UTC, an aware one is converted."""
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _same_kind(a: Any, b: Any) -> bool:
    ka = _kind(a)
    return ka == _kind(b) and ka != "other"


def _timestamp(value: dt.datetime) -> dt.datetime:
    return utc_instant(value)


def _equal(a: Any, b: Any) -> bool:
    if not _same_kind(a, b):
        raise Undefined
    if isinstance(a, dt.datetime):
        return _timestamp(a) == _timestamp(b)
    return a == b


def _order(op: str, a: Any, b: Any) -> bool:
    if not _same_kind(a, b) or _kind(a) in ("boolean", "list"):
        raise Undefined
    if isinstance(a, dt.datetime):
        a, b = _timestamp(a), _timestamp(b)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _member(item: Any, items: Any) -> bool:
    if _kind(items) != "list":
        raise Undefined
    matched_kind = False
    for candidate in items:
        if _same_kind(item, candidate):
            matched_kind = True
            if _equal(item, candidate):
                return True
    if items and not matched_kind:
        raise Undefined
    return False


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise Undefined
        return item in container
    return _member(item, container)


def compare(op: str, a: Any, b: Any) -> bool:
    """One comparison under the language's rules; raises Undefined where the result is undefined."""
    if op == "==":
        return _equal(a, b)
    if op == "!=":
        return not _equal(a, b)
    if op in ("<", "<=", ">", ">="):
        return _order(op, a, b)
    if op == "in":
        return _member(a, b)
    if op == "not in":
        return not _member(a, b)
    if op == "contains":
        return _contains(a, b)
    raise Undefined


_COLUMN_KIND = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
                "date": "date", "timestamp": "timestamp"}


def _check_substituted(op: str, column: ast.Expr, value: ast.Expr, column_types: Mapping[str, str]) -> None:
    """Semantics line 2 for row filters: a consumer value compared with a column of another type
    makes the filter undefined (so: no rows), instead of an engine's implicit cast or error."""
    if not isinstance(column, ast.ColumnRef):
        return
    kind = _COLUMN_KIND.get(column_types.get(column.name, ""))
    if kind is None or op == "contains":
        return
    if op in ("in", "not in"):
        items = value.items if isinstance(value, ast.ListExpr) else None
        if items is None or any(_kind(i.value) != kind for i in items):
            raise Undefined
    elif not isinstance(value, ast.Literal) or _kind(value.value) != kind:
        raise Undefined


def constant_value(e: ast.Expr) -> Any:
    """The value of a literal or a list of literals; Undefined for anything else."""
    if isinstance(e, ast.Literal):
        return e.value
    if isinstance(e, ast.ListExpr):
        return tuple(i.value for i in e.items)
    raise Undefined


def substitute(e: ast.Expr, attrs: Attributes, column_types: Mapping[str, str] | None = None) -> ast.Expr:
    """A row filter with consumer attributes replaced by literals; raises Undefined if one is
    missing or (given the product's `column_types`) does not have the type of the column it is
    compared with."""
    if isinstance(e, ast.ConsumerRef):
        value = attrs.get(e.attribute, MISSING)
        if value is MISSING or value is None:
            raise Undefined
        kind = _kind(value)
        if kind == "list":
            items = tuple(ast.Literal(v) for v in value)
            if not all(_kind(i.value) in ("string", "number", "boolean", "date", "timestamp") for i in items):
                raise Undefined
            return ast.ListExpr(items, e.span)
        if kind == "other":
            raise Undefined
        return ast.Literal(value, e.span)
    if isinstance(e, ast.Compare):
        left, right = substitute(e.left, attrs, column_types), substitute(e.right, attrs, column_types)
        if isinstance(left, (ast.Literal, ast.ListExpr)) and isinstance(right, (ast.Literal, ast.ListExpr)):
            # a column-free comparison (`not (consumer.level < 3)`): undefined anywhere → no rows
            compare(e.op, constant_value(left), constant_value(right))
        if column_types:
            if isinstance(e.right, ast.ConsumerRef):
                _check_substituted(e.op, e.left, right, column_types)
            if isinstance(e.left, ast.ConsumerRef) and e.op not in ("in", "not in"):
                _check_substituted(e.op, e.right, left, column_types)
        return ast.Compare(e.op, left, right, e.span)
    if isinstance(e, ast.And):
        return ast.And(tuple(substitute(o, attrs, column_types) for o in e.operands), e.span)
    if isinstance(e, ast.Or):
        return ast.Or(tuple(substitute(o, attrs, column_types) for o in e.operands), e.span)
    if isinstance(e, ast.Not):
        return ast.Not(substitute(e.operand, attrs, column_types), e.span)
    return e


def fold(e: ast.Expr) -> bool:
    """A column-free expression evaluated under the language's rules; raises Undefined where it
    is undefined (`not` of an undefined part stays undefined: it must never become TRUE)."""
    if isinstance(e, ast.Compare):
        return compare(e.op, constant_value(e.left), constant_value(e.right))
    if isinstance(e, ast.And):
        return all([fold(o) for o in e.operands])
    if isinstance(e, ast.Or):
        return any([fold(o) for o in e.operands])
    if isinstance(e, ast.Not):
        return not fold(e.operand)
    if isinstance(e, ast.Literal) and isinstance(e.value, bool):
        return e.value
    raise Undefined  # a ConsumerRef left unsubstituted, a non-boolean constant: fail closed
