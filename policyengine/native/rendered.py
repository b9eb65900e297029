"""What the rendered targets (Snowflake, Databricks, BigQuery) share: names quoted per dialect,
the base table of a product, the files a render writes and the type names of each engine.

These targets are rendered for review or a deployment tool, never run here (docs/native.md)."""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

MARK = "managed by policyengine"
DEFAULT_TABLE = "{schema}.{table}"

# the catalog's logical types as each engine's column types (masks must return the column's type)
ENGINE_TYPES: Mapping[str, Mapping[str, str]] = {
    "snowflake": {"string": "VARCHAR", "integer": "NUMBER(38, 0)", "number": "FLOAT", "boolean": "BOOLEAN",
                  "date": "DATE", "timestamp": "TIMESTAMP_NTZ", "timestamptz": "TIMESTAMP_TZ"},
    "databricks": {"string": "STRING", "integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN",
                   "date": "DATE", "timestamp": "TIMESTAMP_NTZ", "timestamptz": "TIMESTAMP"},
}


class RenderedError(ValueError):
    """The plan cannot be rendered for the target (a name or a type it cannot hold)."""


@dataclass(frozen=True)
class Options:
    """How names are made: the schema holding the policies and mapping tables, each product's
    base table (`{product}`, `{schema}`, `{table}`), each consumer's role, group or principal."""

    table: str = DEFAULT_TABLE
    policy_schema: str = "policyengine.governance"
    principal: str = "pe_{consumer}"


@functools.lru_cache(maxsize=65536)
def ident(name: str, dialect: str) -> str:
    """One quoted identifier of `dialect` (sqlglot quotes and escapes it)."""
    if not name or "\0" in name or len(name) > 255:
        raise RenderedError(f"'{name[:80]}' cannot be a name (empty, NUL or longer than 255)")
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


@functools.lru_cache(maxsize=4096)
def dotted(name: str, dialect: str) -> str:
    """A dotted name, each part quoted."""
    return ".".join(ident(p, dialect) for p in name.split("."))


def literal(text: str, dialect: str) -> str:
    return exp.Literal.string(text).sql(dialect=dialect)


def fill(template: str, allowed: Mapping[str, str], what: str) -> str:
    """`template` with only the named fields of `allowed` (no attribute or index access)."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None or spec or conv]
    except ValueError:
        fields = [""]
    if any(f not in allowed for f in fields):
        raise RenderedError(f"{what} {template!r}: use {', '.join('{' + k + '}' for k in allowed)} only")
    return template.format_map(dict(allowed))


def base_table(product: str, template: str, dialect: str) -> str:
    schema, _, table = product.partition(".")
    name = fill(template, {"product": product, "schema": schema, "table": table or schema}, "--table")
    if any(not part for part in name.split(".")):
        raise RenderedError(f"--table {template!r} gives an empty name part for {product}")
    return dotted(name, dialect)


def object_name(product: str, suffix: str = "") -> str:
    """A policy or function name for a product (and a column): `pe_<product>__<suffix>`, readable
    and unique (dots become `_`, the suffix is kept as written: each part is quoted)."""
    return "pe_" + product.replace(".", "_") + (f"__{suffix}" if suffix else "")


def engine_type(logical_type: str | None, dialect: str, column: str) -> str:
    found = ENGINE_TYPES[dialect].get(logical_type or "")
    if found is None:
        raise RenderedError(f"column '{column}' has type {logical_type or 'unknown'}: no {dialect} type for it")
    return found


@dataclass(frozen=True)
class Statement:
    """One rendered statement: `sql` as written to the file; `body`, the SQL expression inside it
    (a policy or function body) the tests parse with sqlglot in `dialect` and run where they can."""

    kind: str
    name: str
    sql: str
    body: str = ""
    dialect: str = ""


def join(header: str, statements: list[Statement], footer: str = "") -> str:
    out = [header]
    kind = ""
    for s in statements:
        if s.kind != kind:
            out.append(f"\n-- {s.kind}")
            kind = s.kind
        out.append(s.sql if s.sql.endswith(";") else s.sql + ";")
    if footer:
        out.append(footer)
    return "\n".join(out) + "\n"
