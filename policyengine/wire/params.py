"""The types a prepared statement's parameters are described as (ParameterDescription), for the
clients that ask the server instead of declaring them (asyncpg encodes each value by the type
the server describes).

A parameter the client declared keeps its type. Otherwise it takes the type of what it is
compared with: a product column (its type in the gateway's engine), a cast's target, or a
bigint in `LIMIT`/`OFFSET`; anything else is text, as PostgreSQL types an unconstrained
parameter. The type only says how the client encodes the value: the value is bound by the
engine as a value whatever its type (`policyengine.enforce.bound`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from policyengine.enforce.bound import Placeheld, sentinel
from policyengine.wire import messages as m
from policyengine.wire.binary import duckdb_type_oid

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.NullSafeEQ,
                exp.NullSafeNEQ)


def _column_oid(node: exp.Expression | None, columns: Callable[[str], str | None]) -> int | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Column):
        found = columns(node.name)
        return duckdb_type_oid(found) if found else None
    if isinstance(node, exp.Cast):
        return duckdb_type_oid(node.to.sql(dialect="duckdb"))
    return None


def _context_oid(literal: exp.Expression, columns: Callable[[str], str | None]) -> int | None:
    node, parent = literal, literal.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Cast):
        return duckdb_type_oid(parent.to.sql(dialect="duckdb"))
    if isinstance(parent, (exp.Limit, exp.Offset)):
        return m.OID_INT8
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if node is parent.this else parent.this
        return _column_oid(other, columns)
    if isinstance(parent, (exp.Between, exp.In)) and node is not parent.this:
        return _column_oid(parent.this, columns)
    return None


def parameter_types(held: Placeheld, declared: Sequence[int],
                    columns: Callable[[str], str | None]) -> tuple[int, ...]:
    """The type OID of each parameter `$1..$n` (n: the highest used or declared). `columns` gives
    a column name's DuckDB type among the products the query reads (None if unknown or
    ambiguous)."""
    count = max(held.count, len(declared))
    inferred: dict[int, int] = {}
    if held.uses and any(i >= len(declared) or not declared[i] for i in range(count)):
        try:
            tree = sqlglot.parse_one(held.text, read="duckdb")
        except SqlglotError:
            tree = None
        if tree is not None:
            wanted = {sentinel(n): n for n in held.uses}
            for literal in tree.find_all(exp.Literal):
                n = wanted.get(literal.this) if literal.is_string else None
                if n is None or n in inferred:
                    continue
                oid = _context_oid(literal, columns)
                if oid is not None:
                    inferred[n] = oid
    return tuple(declared[i] if i < len(declared) and declared[i] else inferred.get(i + 1, m.OID_TEXT)
                 for i in range(count))


def column_lookup(types: Mapping[str, Mapping[str, str]]) -> Callable[[str], str | None]:
    """`columns` for `parameter_types` from each product's column types: a name found with one
    type across the products, else None."""
    by_name: dict[str, set[str]] = {}
    for product_types in types.values():
        for name, kind in product_types.items():
            by_name.setdefault(name.lower(), set()).add(kind)

    def lookup(name: str) -> str | None:
        kinds = by_name.get(name.lower(), set())
        return next(iter(kinds)) if len(kinds) == 1 else None

    return lookup
