"""SQL rendering, part 3: a decision's row filter (a substituted policy expression) as a sqlglot
condition, the same in every dialect: literals are sqlglot literals (quoted by sqlglot for the
target dialect, never spliced text), parts without columns are folded under the policy
language's rules, and a part that is undefined makes the whole filter FALSE (no rows).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlglot import exp

from policyengine.enforce.sql_keys import RenderError
from policyengine.language import ast
from policyengine.language.values import Undefined, fold, utc_instant


def _literal(value: Any, tz: bool = False) -> exp.Expr:
    """A policy literal as a sqlglot literal (quoted by sqlglot; never spliced text). With `tz`
    (compared with a time-zone-aware column) a date or timestamp is an explicit UTC instant, so
    the comparison does not depend on the session's time zone."""
    if tz and isinstance(value, dt.date):
        instant = utc_instant(value)
        return exp.cast(exp.Literal.string(instant.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMPTZ)
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RenderError(f"non-finite number {value!r} in a row filter")
        return exp.Literal.number(repr(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise RenderError(f"cannot render {type(value).__name__} value in a row filter")


def _has_column(e: ast.Expr) -> bool:
    return any(isinstance(n, ast.ColumnRef) for n in ast.walk(e))


_COMPARE = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}


def _operand(e: ast.Expr, table: str | None, tz: bool = False) -> exp.Expr:
    if isinstance(e, ast.ColumnRef):
        return exp.column(e.name, table=exp.to_identifier(table, quoted=True) if table else None, quoted=True)
    if isinstance(e, ast.Literal):
        return _literal(e.value, tz)
    raise RenderError(f"cannot render {type(e).__name__} as an operand of a row filter")


def _membership(left: exp.Expr, items: ast.ListExpr, negate: bool, tz: bool = False) -> exp.Expr:
    if not items.items:
        return exp.Boolean(this=negate)
    inside = exp.In(this=left, expressions=[_literal(i.value, tz) for i in items.items])
    return exp.Not(this=inside) if negate else inside


def _midnight(e: ast.Expr) -> ast.Expr:
    """A date literal as the timestamp of its midnight, UTC (how a date compares with a timestamp)."""
    if isinstance(e, ast.Literal) and isinstance(e.value, dt.date) and not isinstance(e.value, dt.datetime):
        return ast.Literal(dt.datetime(e.value.year, e.value.month, e.value.day), e.span)
    if isinstance(e, ast.ListExpr):
        return ast.ListExpr(tuple(_midnight(i) for i in e.items), e.span)  # type: ignore[misc]
    return e


def _timestamp_column(e: ast.Expr, types: Mapping[str, str]) -> bool:
    return isinstance(e, ast.ColumnRef) and types.get(e.name) in ("timestamp", "timestamptz")


def _compare(e: ast.Compare, table: str | None, types: Mapping[str, str]) -> exp.Expr:
    if _timestamp_column(e.left, types) or _timestamp_column(e.right, types):
        # render `created_at >= 2024-01-01` as a TIMESTAMP comparison in every dialect (BigQuery
        # rejects TIMESTAMP vs DATE; others would cast by their own session rules)
        e = ast.Compare(e.op, _midnight(e.left), _midnight(e.right), e.span)
    tz = any(isinstance(side, ast.ColumnRef) and types.get(side.name) == "timestamptz" for side in (e.left, e.right))
    if e.op in _COMPARE:
        return _COMPARE[e.op](this=_operand(e.left, table, tz), expression=_operand(e.right, table, tz))
    if e.op in ("in", "not in"):
        if isinstance(e.right, ast.ListExpr):
            return _membership(_operand(e.left, table), e.right, e.op == "not in", tz)
        if isinstance(e.right, ast.ColumnRef):  # constant in an array column
            inside = exp.ArrayContains(this=_operand(e.right, table), expression=_operand(e.left, table))
            return exp.Not(this=inside) if e.op == "not in" else inside
    if e.op == "contains":
        if isinstance(e.left, ast.ListExpr):
            return _membership(_operand(e.right, table), e.left, False)
        if isinstance(e.left, ast.ColumnRef) and types.get(e.left.name) == "array":
            return exp.ArrayContains(this=_operand(e.left, table), expression=_operand(e.right, table))
        position = exp.StrPosition(this=_operand(e.left, table), substr=_operand(e.right, table))
        return exp.GT(this=position, expression=exp.Literal.number(0))
    raise RenderError(f"cannot render comparison {e.op!r} in a row filter")


def filter_expression(e: ast.Expr, *, table: str | None = None,
                      types: Mapping[str, str] | None = None) -> exp.Expr:
    """A substituted row filter as a sqlglot condition. Parts without columns are folded to
    TRUE/FALSE under the policy language's rules, and a part that is undefined makes the whole
    filter FALSE (no rows); rows where the condition is NULL are dropped."""
    try:
        return _filter_expression(e, table=table, types=types or {})
    except Undefined:
        return exp.Boolean(this=False)


def _filter_expression(e: ast.Expr, *, table: str | None, types: Mapping[str, str]) -> exp.Expr:
    if not _has_column(e):
        return exp.Boolean(this=fold(e))
    if isinstance(e, ast.And):
        return exp.and_(*(_filter_expression(o, table=table, types=types) for o in e.operands), copy=False)
    if isinstance(e, ast.Or):
        return exp.or_(*(_filter_expression(o, table=table, types=types) for o in e.operands), copy=False)
    if isinstance(e, ast.Not):
        return exp.Not(this=exp.Paren(this=_filter_expression(e.operand, table=table, types=types)))
    if isinstance(e, ast.Compare):
        return _compare(e, table, types)
    if isinstance(e, ast.ColumnRef):  # a boolean column used as a condition
        return exp.EQ(this=_operand(e, table), expression=exp.Boolean(this=True))
    raise RenderError(f"cannot render {type(e).__name__} as a row filter")
