"""What a user query through the gateway may contain: an allow-list per dialect.

The gateway refuses any sqlglot node of a query that is not listed here, before anything reaches
an engine, with an error naming the construct. Listing what analysts use (aggregates, string,
date and math functions, window functions, CASE, CAST to plain types, LIKE, IN, joins, CTEs, set
operations) instead of banning what is known to be dangerous means a function nobody thought of
(a plan serializer, a statistics reader, a function running nested SQL, a shell, a settings
reader) is refused by default. Functions that take SQL text, read catalogs, statistics, settings
or files, run code or have side effects are never listed.

Three lists: `STRUCTURE` (statement forms, clauses, operators: sqlglot classes), `FUNCTIONS`
(functions sqlglot knows as a class, allowed in every dialect) and `ANONYMOUS` (functions sqlglot
does not model, by lower-case name per dialect: they reach the engine as written). `CAST` is
allowed to the types in `CAST_TYPES` only (never `regclass` and friends). `markdown()` renders the
tables of docs/enforcement.md (a test checks the document matches).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

DIALECTS: tuple[str, ...] = ("duckdb", "trino", "spark", "snowflake", "bigquery", "postgres")


def _classes(names: str) -> frozenset[type[exp.Expression]]:
    """sqlglot classes by name; a name sqlglot lacks fails at import (the list stays honest)."""
    return frozenset(getattr(exp, n) for n in names.split())


# statement forms, clauses, operators and literals (everything that is not a function)
STRUCTURE = _classes("""
    Select From Join Where Group Having Order Ordered Limit Offset Fetch Qualify Distinct
    Subquery CTE With Union Intersect Except Table TableAlias Alias Column Identifier Star
    Exists Literal ByteString Boolean Null Paren Tuple Interval Var Case If Cast TryCast DataType DataTypeParam
    And Or Not Xor EQ NEQ GT GTE LT LTE NullSafeEQ NullSafeNEQ Is In Between Like ILike Escape
    Add Sub Mul Div IntDiv Mod Neg DPipe Window WindowSpec Filter Cube Rollup GroupingSets
    IgnoreNulls RespectNulls WithinGroup
""")
# functions sqlglot models as a class: allowed in every dialect
FUNCTIONS = _classes("""
    Count CountIf Sum Avg Min Max Median Mode Stddev StddevPop StddevSamp Variance VariancePop
    Corr CovarPop CovarSamp ApproxDistinct ApproxQuantile PercentileCont PercentileDisc
    GroupConcat ArrayAgg LogicalAnd LogicalOr AnyValue
    RowNumber Rank DenseRank PercentRank CumeDist Ntile Lag Lead FirstValue LastValue NthValue
    Abs Round Floor Ceil Trunc Sqrt Ln Log Exp Pow Sign Greatest Least Coalesce Nullif
    Lower Upper Initcap Length Substring Left Right Trim Pad Concat ConcatWs Replace Repeat
    Reverse StrPosition SplitPart StartsWith EndsWith Contains RegexpLike RegexpReplace
    RegexpExtract
    DateTrunc TimestampTrunc Extract Year Month Day Quarter Week DayOfWeek DayOfMonth DayOfYear
    Hour Minute Second DateAdd DateSub DateDiff TsOrDsAdd LastDay Dayname Monthname
    DayOfWeekIso WeekOfYear Nvl2 TimestampFromParts DateFromParts CurrentDate CurrentTimestamp ToChar TimeToStr StrToDate StrToTime
    TsOrDsToDate UnixToTime
""")
# functions sqlglot does not model, by dialect (lower-case names as the user writes them)
ANONYMOUS: dict[str, frozenset[str]] = {
    "duckdb": frozenset({"date_part", "datesub", "date_sub"}),
    "trino": frozenset({"date_part", "to_date"}),
    "spark": frozenset({"date_part", "make_date"}),
    "snowflake": frozenset(),
    "bigquery": frozenset({"date_part", "to_date", "make_date"}),
    "postgres": frozenset({"make_date", "age"}),
}
# types a user may CAST to (sqlglot DataType.Type names); never object identifier types
_CAST_TYPE_NAMES = """
    BOOLEAN TINYINT SMALLINT INT BIGINT UTINYINT USMALLINT UINT UBIGINT INT128 FLOAT DOUBLE
    DECIMAL BIGDECIMAL VARCHAR NVARCHAR CHAR NCHAR TEXT DATE DATETIME TIMESTAMP TIMESTAMPTZ
    TIMESTAMPNTZ TIMESTAMPLTZ TIME INTERVAL
"""
CAST_TYPES = frozenset(exp.DataType.Type[n] for n in _CAST_TYPE_NAMES.split())
# nodes a bare word (`exp.Var`) may stand in: units and frame bounds, never a relation or a call
_VAR_PARENTS = (exp.Func, exp.Interval, exp.WindowSpec, exp.DataType, exp.DataTypeParam, exp.Extract)


@dataclass(frozen=True)
class Refusal:
    """One construct a query may not use: its name as the user sees it, and why."""

    construct: str
    reason: str

    def message(self) -> str:
        return f"{self.construct} is not allowed in a query through the gateway ({self.reason})"


def _function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def refusal(node: exp.Expr, dialect: str) -> Refusal | None:
    """Why `node` (one node of a parsed query, read in `dialect`) is refused, or None if allowed."""
    kind = type(node)
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in ANONYMOUS.get(dialect, frozenset()):
            return None
        return Refusal(f"function {name}()", f"not on the {dialect} allow-list")
    if kind in FUNCTIONS:
        return None
    if isinstance(node, exp.Func) and kind not in STRUCTURE:
        return Refusal(f"function {_function_name(node)}()", f"not on the {dialect} allow-list")
    if kind not in STRUCTURE:
        return Refusal(kind.__name__.upper(), "not on the allow-list of statement forms and operators")
    if kind is exp.DataType and node.this not in CAST_TYPES:
        return Refusal(f"type {node.sql(dialect=dialect)}", "casts are allowed to plain value types only")
    if kind is exp.Var and not isinstance(node.parent, _VAR_PARENTS):
        return Refusal(f"the word {node.name}", "not a unit or a frame bound")
    return None


def _function_names(classes: frozenset[type[exp.Expression]]) -> Iterator[str]:
    for cls in classes:
        names = cls.sql_names() if hasattr(cls, "sql_names") else []
        yield (names[0] if names else cls.key).lower()


def markdown() -> str:
    """The allow-list as Markdown tables (the generated part of docs/enforcement.md)."""
    structure = ", ".join(sorted(c.__name__ for c in STRUCTURE))
    functions = ", ".join(f"`{n}`" for n in sorted(set(_function_names(FUNCTIONS))))
    types = ", ".join(sorted(t.name for t in CAST_TYPES))
    lines = [
        "Statement forms, clauses and operators (sqlglot classes, every dialect): " + structure + ".",
        "",
        "Functions sqlglot models (every dialect, by sqlglot's name for them): " + functions + ".",
        "",
        "`CAST` / `TRY_CAST` targets: " + types + ".",
        "",
        "| dialect | further functions allowed by name (sqlglot does not model them) |",
        "|---|---|",
    ]
    lines += [f"| {d} | {', '.join(f'`{n}`' for n in sorted(ANONYMOUS[d]))} |" for d in DIALECTS]
    return "\n".join(lines)


if __name__ == "__main__":  # print the generated tables: python -m policyengine.enforce.allowlist
    print(markdown())
