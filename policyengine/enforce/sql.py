"""Render a Decision as SQL: masked projection + row filter, for six dialects, through sqlglot.

Every expression is built as a sqlglot tree (never by string concatenation), so identifiers and
literals are quoted by sqlglot for the target dialect. The renderer is split by job:
`sql_keys` (the dialects, the HMAC key for `hash` and the parameter markers carrying it),
`sql_masks` (the building blocks mask strategies are written with: one class per dialect,
`DuckDBMasks`, `PostgresMasks`, `TrinoMasks`, `SparkMasks`, `SnowflakeMasks`, `BigQueryMasks`),
`sql_filters` (row filters), and this module: the enforced SELECT (`enforced_select`, `render`,
`to_sql`). Each mask strategy has one SQL form per dialect that yields what
`policyengine.language.masks.apply_mask` yields; where a dialect has no way to compute a
strategy, rendering raises `RenderError` instead of emitting SQL that would compute something else.

The HMAC key for `hash` never appears in the SQL text: the SQL references parameters and
`hash_parameters(key, dialect)` gives their values to bind at execution time (by name; Trino only
has positional `?` markers, whose values in order `positional_parameters(tree, params)` gives).

Every public name of the parts is importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from policyengine.enforce.sql_filters import filter_expression
from policyengine.enforce.sql_keys import (
    DIALECTS,
    IPAD_PARAM,
    KEY_PARAM,
    OPAD_PARAM,
    RenderError,
    UnkeyedHash,
    check_dialect,
    escape_pyformat,
    hash_parameters,
    keyed_hash,
    placed_markers,
    positional_parameters,
    resolve_key,
)
from policyengine.enforce.sql_masks import (
    DIALECT_MASKS,
    BigQueryMasks,
    DuckDBMasks,
    PostgresMasks,
    SnowflakeMasks,
    SparkMasks,
    SqlMasks,
    TrinoMasks,
    mask_expression,
    masks_for,
    postgres_safe_strings,
)
from policyengine.engine.decision import Decision

__all__ = [
    "DIALECTS", "DIALECT_MASKS", "FENCES", "IPAD_PARAM", "KEY_PARAM", "OPAD_PARAM", "SOURCE_ALIAS",
    "BigQueryMasks", "DuckDBMasks", "PostgresMasks", "RenderError", "Rendered", "SnowflakeMasks",
    "SparkMasks", "SqlMasks", "TrinoMasks", "UnkeyedHash", "bind_values", "check_dialect", "hashed_columns", "keyed_hash",
    "enforced_select", "escape_pyformat", "filter_expression", "hash_parameters", "mask_expression", "masks_for",
    "placed_markers", "positional_parameters", "postgres_safe_strings", "render", "resolve_key", "source_table",
    "to_sql",
]


SOURCE_ALIAS = "pe_src"  # the default alias of the physical source inside an enforced SELECT
# The evaluation fence per dialect (docs/enforcement.md, "evaluation fences"; `SqlMasks.FENCE`):
# "offset" is `OFFSET 0`, which Postgres never flattens into the outer query nor pushes quals
# through, and which DuckDB keeps as a limit operator filters are not pushed through (measured in
# tests). None: the dialect has no fence this renderer can rely on (documented as not guaranteed).
FENCES: dict[str, str | None] = {name: cls.FENCE for name, cls in DIALECT_MASKS.items()}


def source_table(source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb") -> exp.Expression:
    """The FROM target: a dotted name (parsed by sqlglot and required to be a plain table name),
    a sequence of name parts (each quoted as one identifier), or a sqlglot Table/Subquery."""
    if isinstance(source, exp.Expression):
        return source.copy()
    if isinstance(source, str):
        try:
            table = sqlglot.parse_one(source, into=exp.Table, dialect=dialect)
        except sqlglot.errors.ParseError as exc:
            raise RenderError(f"source {source!r} is not a table name: {exc}") from None
        parts = [table.args.get(k) for k in ("catalog", "db", "this") if table.args.get(k) is not None]
        if not isinstance(table, exp.Table) or not all(isinstance(p, exp.Identifier) for p in parts) \
                or set(table.args) - {"catalog", "db", "this"} and any(
                    table.args.get(k) for k in set(table.args) - {"catalog", "db", "this"}):
            raise RenderError(f"source {source!r} is not a plain table name")
        return table
    parts = [str(p) for p in source]
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise RenderError(f"source needs 1 to 3 non-empty name parts, found {parts!r}")
    names = [exp.to_identifier(p, quoted=True) for p in parts]
    keys = ("this", "db", "catalog")
    return exp.Table(**{k: n for k, n in zip(keys, reversed(names), strict=False)})


@dataclass(frozen=True)
class Rendered:
    """An enforced SELECT: SQL text plus the parameters to bind (HMAC pads/key, never in the text).

    `params` gives the values by parameter name. In dialects with positional markers only
    (Trino: `?`), `positional` gives the values to bind in order, one per marker; bind `bind`
    (the positional tuple where the SQL has `?` markers, else the named mapping, else None).
    """

    sql: str
    params: Mapping[str, Any]
    dialect: str
    positional: tuple[Any, ...] = ()

    @property
    def bind(self) -> Mapping[str, Any] | tuple[Any, ...] | None:
        return bind_values(self.params, self.positional)


def bind_values(params: Mapping[str, Any], positional: tuple[Any, ...]) -> Mapping[str, Any] | tuple[Any, ...] | None:
    """What to pass to the driver: the values of the `?` markers in order (Trino), else the named
    parameters, else None."""
    if positional:
        return positional
    return dict(params) or None


def enforced_select(decision: Decision, source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb", *,
                    types: Mapping[str, str] | None = None, keyed: bool = False, alias: str = SOURCE_ALIAS,
                    fence: bool = False, allow_unkeyed_hash: bool = False) -> exp.Select:
    """The sqlglot SELECT applying `decision` to `source` (masked columns keep their names,
    denied ones are left out, the row filter is the WHERE). Fails closed: a decision with an
    error or without readable columns raises instead of selecting anything.

    `alias` names the source inside the SELECT (the gateway passes a generated one, so no user
    relation can be named like it). `fence` adds the dialect's evaluation fence (see `FENCES`):
    where there is one, the planner cannot move an outer query's predicate below the row filter
    and the masks, so a user expression never runs on a raw value or a hidden row.

    `keyed`: `hash` columns reference the HMAC key's parameters (`hash_parameters`); unkeyed,
    they are refused (UnkeyedHash) unless `allow_unkeyed_hash` (then plain SHA-256)."""
    masks = masks_for(dialect)  # the dialect's class (RenderError for an unknown one)
    if decision.error:
        raise RenderError(f"decision for {decision.consumer} on {decision.product} is an error "
                          f"(everything denied): {decision.error}")
    if not keyed:
        keyed_hash(hashed_columns(decision), None, allow_unkeyed_hash)
    types = types or {}
    projections: list[exp.Expr] = []
    source_alias = exp.to_identifier(alias, quoted=True)
    for name, cd in decision.columns.items():
        if cd.effect == "deny":
            continue
        # every column is qualified by the source's alias: were the physical table to lack one
        # (drift from the contract), the engine must fail, not bind it to an outer query's column
        col = exp.column(name, table=source_alias.copy(), quoted=True)
        if cd.effect == "allow":
            projections.append(exp.alias_(col, name, quoted=True, copy=False))
            continue
        strategy = cd.mask
        if strategy is None:
            raise RenderError(f"column '{name}' is masked without a strategy")
        expr = mask_expression(strategy, col, dialect, logical_type=types.get(name), keyed=keyed, column=name)
        projections.append(exp.alias_(expr, name, quoted=True, copy=False))
    if not projections:
        raise RenderError(f"{decision.consumer} may read no column of {decision.product}"
                          + (f" (denied: {', '.join(decision.denied_columns)})" if decision.denied_columns else ""))
    table = source_table(source, dialect)
    if isinstance(table, exp.Query):  # a SELECT as the source: a derived table can carry the alias
        table = exp.Subquery(this=table)
    table.set("alias", exp.TableAlias(this=source_alias))
    select = exp.Select(expressions=projections).from_(table, copy=False)
    if decision.row_filter is not None:
        select = select.where(filter_expression(decision.row_filter, table=alias, types=types), copy=False)
    if fence and FENCES.get(dialect) == "offset":
        select.set("offset", exp.Offset(expression=exp.Literal.number(0)))
    return masks.finish(select)


def hashed_columns(decision: Decision) -> list[str]:
    """The columns `decision` masks with `hash` (what the unkeyed-hash rule looks at)."""
    return [name for name, cd in decision.columns.items() if cd.effect == "mask" and cd.strategy == "hash"]


def render(decision: Decision, source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb", *,
           types: Mapping[str, str] | None = None, hash_key: bytes | str | None = None,
           allow_unkeyed_hash: bool = False, pretty: bool = False) -> Rendered:
    """SQL text and parameters for `decision` on `source` in `dialect`.

    `hash_key` is the HMAC key of `hash` masks (bytes or text; never in the SQL text, bound as
    parameters). Without one a `hash` column is refused (UnkeyedHash) unless
    `allow_unkeyed_hash`, which renders plain SHA-256."""
    key = resolve_key(hash_key)
    keyed = keyed_hash(hashed_columns(decision), key, allow_unkeyed_hash)
    select = enforced_select(decision, source, dialect, types=types, keyed=keyed,
                             allow_unkeyed_hash=allow_unkeyed_hash)
    params = hash_parameters(key, dialect) if keyed else {}
    placed = placed_markers(select) if params else 0
    text = escape_pyformat(select.sql(dialect=dialect, pretty=pretty), dialect, params, placed=placed)
    return Rendered(text, params, dialect, positional_parameters(select, params))


def to_sql(decision: Decision, source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb", *,
           types: Mapping[str, str] | None = None, hash_key: bytes | str | None = None,
           allow_unkeyed_hash: bool = False, pretty: bool = False) -> str:
    """`SELECT <masked projection> FROM <source> WHERE <row filter>` in `dialect`.

    With a hash key (passed in: `load_config().hash_key` is the project's), keyed `hash` columns
    reference parameters
    (`hash_parameters()` gives their values by name; in Trino they are positional `?` markers,
    one per keyed column, each taking the key); use `render()` to get SQL and values at once.
    """
    return render(decision, source, dialect, types=types, hash_key=hash_key, allow_unkeyed_hash=allow_unkeyed_hash,
                  pretty=pretty).sql
