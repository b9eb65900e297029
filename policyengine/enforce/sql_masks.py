"""SQL rendering, part 2: the building blocks mask strategies are written with, one class per
dialect (as sqlglot's generators are: a base class, and per dialect its facts as class attributes
and the forms it writes otherwise as overriding methods).

Each block returns a sqlglot expression computing, in its dialect, what the reference
(`policyengine.language.masks.apply_mask`) computes, nulls staying null (verified value by value
against DuckDB, PostgreSQL and Spark in tests/enforce and tests/engines). Where a dialect has no
way to compute a strategy, rendering raises `RenderError` instead of emitting SQL that would
compute something else.

Timestamps with a time zone are masked in UTC: their text is the UTC wall clock without an offset
(`2020-01-01 00:30:03.12`), and `year` truncates the UTC instant. The logical type may say
`timestamptz` for such a column (enforce() does, from the Arrow type) so dialects that need it
convert to UTC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import sqlglot
from sqlglot import exp

from policyengine.enforce.sql_keys import (
    DIALECTS,
    IPAD_PARAM,
    KEY_PARAM,
    OPAD_PARAM,
    RenderError,
    check_dialect,
    parameter,
)
from policyengine.language.masks import STRATEGIES, MaskStrategy

# logical types of timestamps; "timestamptz" is a timestamp with a time zone (masked in UTC)
_TIMESTAMPS = frozenset({"timestamp", "timestamptz"})
# |x| below this: exact decimal rounding through DECIMAL(38, 20); see `DuckDBMasks.round`
_DECIMAL_SCALE = 20
# Iceberg's mask-alphanum as two regular-expression replacements over code points (every
# dialect's engine matches a character class against one code point, newlines included): first
# every code point that is neither an ASCII digit nor kept punctuation becomes `x`, then digits `n`
# (in the other order, the `n` a digit became would then become `x`).
_NOT_KEPT = "[^0-9(),.@-]"
_DIGIT = "[0-9]"
_UTC = "UTC"


# ---------------------------------------------------------------- small pieces, every dialect


@functools.lru_cache(maxsize=32)
def _parsed(sql: str, dialect: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read=dialect)


def _template(sql: str, dialect: str, **columns: exp.Expr) -> exp.Expr:
    """A constant SQL template of ours (parsed once) with its columns `v`, ... replaced by the given
    expressions: for forms too long to spell as sqlglot nodes. Never holds user text."""
    tree = _parsed(sql, dialect).copy()
    for node in list(tree.find_all(exp.Column)):
        if node.name in columns and not node.table:
            node.replace(columns[node.name].copy())
    return tree


def _lit(value: str | int) -> exp.Expr:
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _func(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _cast_text(col: exp.Expr) -> exp.Expr:
    """The dialect's own text of a value (no timestamp or float handling)."""
    return exp.cast(col.copy(), exp.DataType.Type.VARCHAR, copy=False)


def _null_safe(col: exp.Expr, value: exp.Expr) -> exp.Expr:
    """`CASE WHEN col IS NULL THEN NULL ELSE value END`: nulls stay null whatever `value` does."""
    return exp.Case(ifs=[exp.If(this=exp.Is(this=col.copy(), expression=exp.Null()), true=exp.Null())],
                    default=value)


def _stars(n: exp.Expr) -> exp.Expr:
    """`n` stars (LPAD of the empty text exists in every dialect; REPEAT does not in Trino)."""
    return exp.func("LPAD", exp.Literal.string(""), exp.cast(n, exp.DataType.Type.INT, copy=False),
                    exp.Literal.string("*"))


# ---------------------------------------------------------------- the base class


@dataclass(frozen=True)
class SqlMasks:
    """The SQL building blocks of one dialect (`policyengine.language.masks.Strategy.sql` writes
    each strategy with them), for one column: its logical type, whether `hash` is keyed, its name
    (for messages). A subclass per dialect; `masks_for(dialect, ...)` picks it.

    The dialect's facts, overridden per class:
    - `dialect`: sqlglot's name for it;
    - `PARAMETERS`: how a parameter marker is written (`sql_keys.parameter`);
    - `FENCE`: its evaluation fence ("offset": `OFFSET 0`), None where none can be relied on;
    - `TRUNC_KEEPS_TYPE`: DATE_TRUNC of a DATE is a DATE (else `year` needs the column's type);
    - `TRUNC_DATE_GIVES_TIMESTAMP`: DATE_TRUNC of a DATE is a timestamp, cast back to DATE;
    - `REGEXP_GLOBAL_FLAG`: REGEXP_REPLACE replaces only the first match without 'g'.
    """

    dialect: ClassVar[str] = ""
    PARAMETERS: ClassVar[str] = "named"
    FENCE: ClassVar[str | None] = None
    TRUNC_KEEPS_TYPE: ClassVar[bool] = False
    TRUNC_DATE_GIVES_TIMESTAMP: ClassVar[bool] = False
    REGEXP_GLOBAL_FLAG: ClassVar[bool] = False

    logical_type: str | None = None
    keyed: bool = False
    column: str = "?"

    # ------------------------------------------------------------ text of a value

    def utc_wall_clock(self, col: exp.Expr) -> exp.Expr:
        """A timestamp as the naive timestamp of its UTC wall clock (tz-aware values converted)."""
        return self.utc_of_instant(col) if self.logical_type == "timestamptz" else col

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        """A timestamp with a time zone as the naive timestamp of its UTC wall clock."""
        raise RenderError(f"timestamps with a time zone have no UTC form in {self.dialect}")

    def float_text(self, col: exp.Expr) -> exp.Expr | None:
        """A double's canonical text (Python's repr) where the dialect's own cast prints otherwise
        (None: its cast prints Python's repr, or it is not verified on an engine)."""
        return None

    def text(self, col: exp.Expr) -> exp.Expr:
        """The value's text (what `masks.value_text` gives): timestamps as their UTC wall clock,
        floating-point numbers as Python's repr (`107000.0`, `1e-07`) in every verified dialect."""
        value = col.copy()
        if self.logical_type in _TIMESTAMPS:
            value = self.utc_wall_clock(value)
        if self.logical_type == "number":
            found = self.float_text(value)
            if found is not None:
                return found
        return exp.cast(value, exp.DataType.Type.VARCHAR, copy=False)

    def _string(self, col: exp.Expr) -> exp.Expr:
        """A string column as it is; any other as its text (what `masks.value_text` gives)."""
        return col if self.logical_type == "string" else self.text(col)

    # ------------------------------------------------------------ the blocks strategies use

    def null(self) -> exp.Expr:
        return exp.Null()

    def constant(self, col: exp.Expr, text: str) -> exp.Expr:
        return _null_safe(col, exp.Literal.string(text))

    def sha256_hex(self, col: exp.Expr) -> exp.Expr:
        """Lower-case hex SHA-256 of the value's text (SHA-256 of NULL is NULL everywhere)."""
        return exp.SHA2(this=self.text(col), length=_lit(256))  # sqlglot lowers to each dialect's form

    def hmac_hex(self, col: exp.Expr) -> exp.Expr:
        """Lower-case hex HMAC-SHA-256 of the value's text under the bound key."""
        raise RenderError(f"keyed hash has no SQL form in {self.dialect}")  # the registry refuses it first

    def keep(self, col: exp.Expr, first: int, last: int) -> exp.Expr:
        """Keep `first` leading and `last` trailing characters of the value's text, `*` between;
        all stars when the value is not longer than first + last."""
        n = exp.Length(this=self.text(col))
        parts: list[exp.Expr] = []
        if first:
            parts.append(exp.Substring(this=self.text(col), start=_lit(1), length=_lit(first)))
        parts.append(_stars(exp.Sub(this=n.copy(), expression=_lit(first + last))))
        if last:
            parts.append(exp.Substring(this=self.text(col), start=exp.Add(
                this=exp.Sub(this=n.copy(), expression=_lit(last)), expression=_lit(1))))
        body: exp.Expr = parts[0]
        for p in parts[1:]:
            body = exp.DPipe(this=body, expression=p, safe=True)
        short = exp.If(this=exp.LTE(this=n.copy(), expression=_lit(first + last)), true=_stars(n.copy()))
        return _null_safe(col, exp.Case(ifs=[short], default=body))

    def email_domain(self, col: exp.Expr) -> exp.Expr:
        """`***` followed by everything from the last `@` (just `***` without an `@`).

        The pattern has no capture group, so the whole match is extracted: group 0, passed
        explicitly (sqlglot prints it only where the default differs: Spark's default group is 1,
        and Spark fails with "Regex group count is 0, but the specified group index is 1" without
        it). DuckDB, Trino and BigQuery REGEXP_EXTRACT and Snowflake REGEXP_SUBSTR return the
        whole match by default; Postgres `SUBSTRING(t, pattern)` too when the pattern has no
        parentheses. No match gives '' (DuckDB, Spark) or NULL (the others, hence the COALESCE)."""
        domain = exp.Coalesce(this=self.last_at(col), expressions=[exp.Literal.string("")])
        return _null_safe(col, exp.DPipe(this=exp.Literal.string("***"), expression=domain, safe=True))

    def last_at(self, col: exp.Expr) -> exp.Expr:
        """The text from the value's last `@` on (see `email_domain`)."""
        return exp.RegexpExtract(this=_cast_text(col), expression=exp.Literal.string("@[^@]*$"), group=_lit(0))

    def year(self, col: exp.Expr) -> exp.Expr:
        return self.truncate(col, "YEAR")  # null in, null out

    def month(self, col: exp.Expr) -> exp.Expr:
        return self.truncate(col, "MONTH")  # null in, null out

    def truncate(self, col: exp.Expr, unit: str) -> exp.Expr:
        """Truncate a date or timestamp to its year (`unit` YEAR) or month (MONTH), same type; a
        timestamp with a time zone in UTC."""
        logical_type = self.logical_type
        if logical_type not in ("date", "timestamp", "timestamptz"):
            if self.TRUNC_KEEPS_TYPE and logical_type is None:
                return exp.DateTrunc(this=col, unit=exp.var(unit))
            raise RenderError(f"mask '{unit.lower()}' on column '{self.column}' needs its type (date or timestamp) "
                              f"in {self.dialect}, found {logical_type or 'unknown'}: "
                              f"pass types={{'{self.column}': 'date'}}")
        if logical_type == "timestamptz":
            found = self.truncate_instant(col, unit)
            if found is not None:
                return found
        if logical_type == "timestamp":
            found = self.truncate_wall_clock(col, unit)
            if found is not None:
                return found
        if logical_type in _TIMESTAMPS:
            return exp.TimestampTrunc(this=col, unit=exp.var(unit))
        trunc = exp.DateTrunc(this=col, unit=exp.var(unit))
        if self.TRUNC_DATE_GIVES_TIMESTAMP:
            return exp.cast(trunc, exp.DataType.Type.DATE)
        return trunc

    def truncate_instant(self, col: exp.Expr, unit: str) -> exp.Expr | None:
        """A timestamp with a time zone truncated in UTC, still with a time zone (None: the
        dialect's TIMESTAMP_TRUNC already works in UTC)."""
        return None

    def truncate_wall_clock(self, col: exp.Expr, unit: str) -> exp.Expr | None:
        """A naive timestamp truncated (None: TIMESTAMP_TRUNC keeps it naive)."""
        return None

    def fixed_value(self, col: exp.Expr) -> exp.Expr:
        """Iceberg's mask-to-fixed-value: the constant of the column's type, whatever the value
        (nulls too: not NULL on NULL)."""
        t = exp.DataType.Type
        logical_type = self.logical_type
        if logical_type == "string":
            return exp.Literal.string("XXXXXXXX")
        if logical_type == "integer":
            return exp.cast(exp.Literal.number(0), t.BIGINT)
        if logical_type == "number":
            return exp.cast(exp.Literal.number("0.0"), t.DOUBLE)
        if logical_type == "boolean":
            return exp.Boolean(this=False)
        if logical_type == "date":
            return exp.cast(exp.Literal.string("1970-01-01"), t.DATE)
        if logical_type == "timestamp":
            return exp.cast(exp.Literal.string("1970-01-01 00:00:00"), self.naive_timestamp_type())
        if logical_type == "timestamptz":
            return exp.cast(exp.Literal.string("1970-01-01 00:00:00+00:00"), self.instant_type())
        raise RenderError(f"mask 'fixed_value' on column '{self.column}' needs its type (string, integer, number, "
                          f"boolean, date or timestamp) in {self.dialect}, found {logical_type or 'unknown'}")

    def naive_timestamp_type(self) -> exp.DataType | exp.DType:
        return exp.DataType.Type.TIMESTAMP

    def instant_type(self) -> exp.DataType | exp.DType:
        return exp.DataType.Type.TIMESTAMPTZ

    def regexp_replace_all(self, text: exp.Expr, pattern: str, replacement: str) -> exp.Expr:
        args = [text, exp.Literal.string(pattern), exp.Literal.string(replacement)]
        if self.REGEXP_GLOBAL_FLAG:
            args.append(exp.Literal.string("g"))
        return _func("REGEXP_REPLACE", *args)

    def alphanum(self, text: exp.Expr) -> exp.Expr:
        """Iceberg's mask-alphanum of a text (NULL on NULL: REGEXP_REPLACE of NULL is NULL everywhere)."""
        return self.regexp_replace_all(self.regexp_replace_all(text, _NOT_KEPT, "x"), _DIGIT, "n")

    def mask_alphanum(self, col: exp.Expr) -> exp.Expr:
        return self.alphanum(self._string(col))

    def show_first4(self, col: exp.Expr) -> exp.Expr:
        return self.show4(self._string(col), first=True)

    def show_last4(self, col: exp.Expr) -> exp.Expr:
        return self.show4(self._string(col), first=False)

    def show4(self, col: exp.Expr, first: bool) -> exp.Expr:
        """Iceberg's show-first-4 (`first`) or show-last-4: values of 4 or fewer code points
        unchanged, else the kept 4 code points and mask-alphanum of the rest. LENGTH and SUBSTRING
        count code points in every dialect here; NULL stays NULL (every branch is NULL on NULL)."""
        def n() -> exp.Expr:
            return exp.Length(this=col.copy())

        if first:
            kept = exp.Substring(this=col.copy(), start=_lit(1), length=_lit(4))
            rest = self.alphanum(exp.Substring(this=col.copy(), start=_lit(5)))
            body: exp.Expr = exp.DPipe(this=kept, expression=rest, safe=True)
        else:
            head = exp.Substring(this=col.copy(), start=_lit(1), length=exp.Sub(this=n(), expression=_lit(4)))
            tail = exp.Substring(this=col.copy(), start=exp.Sub(this=n(), expression=_lit(3)))
            body = exp.DPipe(this=self.alphanum(head), expression=tail, safe=True)
        short = exp.If(this=exp.LTE(this=n(), expression=_lit(4)), true=col.copy())
        return exp.Case(ifs=[short], default=body)

    def round(self, col: exp.Expr, digits: int) -> exp.Expr:
        """Round half away from zero; integers exactly (unchanged for `digits` >= 0)."""
        if self.logical_type == "integer" and digits >= 0:
            return col
        return self.round_number(col, digits)

    def round_number(self, col: exp.Expr, digits: int) -> exp.Expr:
        """The dialect's native ROUND."""
        return exp.Round(this=col, decimals=_lit(digits))

    def finish(self, select: exp.Select) -> exp.Select:
        """The dialect's last touches on an enforced SELECT (none by default)."""
        return select


# ---------------------------------------------------------------- one class per dialect


class DuckDBMasks(SqlMasks):
    dialect = "duckdb"
    FENCE = "offset"  # a limit operator filters are not pushed through (measured in tests)
    TRUNC_DATE_GIVES_TIMESTAMP = True
    REGEXP_GLOBAL_FLAG = True

    def utc_wall_clock(self, col: exp.Expr) -> exp.Expr:
        # EPOCH_US counts from the naive wall clock of a TIMESTAMP and from the UTC instant of a
        # TIMESTAMPTZ, so this is right for both, whatever the session's TimeZone
        return _func("MAKE_TIMESTAMP", _func("EPOCH_US", col))

    def keep(self, col: exp.Expr, first: int, last: int) -> exp.Expr:
        """LENGTH twice instead of four times, no IS NULL test (every function here returns NULL
        on NULL). `LEFT`/`RIGHT`/`LPAD`/`REPEAT`/`LENGTH` all count code points in DuckDB."""
        text = self.text(col)

        def n() -> exp.Expr:
            return _func("LENGTH", text.copy())

        all_stars = _func("REPEAT", exp.Literal.string("*"), n())
        if first + last == 0:
            return all_stars
        if last:  # the kept tail, padded on the left with stars up to the length minus the head
            width = exp.Sub(this=n(), expression=_lit(first)) if first else n()
            body = _func("LPAD", _func("RIGHT", text.copy(), _lit(last)),
                         exp.cast(width, exp.DataType.Type.INT, copy=False), exp.Literal.string("*"))
        else:
            body = _func("REPEAT", exp.Literal.string("*"), exp.Sub(this=n(), expression=_lit(first)))
        if first:
            body = exp.DPipe(this=_func("LEFT", text.copy(), _lit(first)), expression=body, safe=True)
        short = exp.If(this=exp.LTE(this=n(), expression=_lit(first + last)), true=all_stars)
        return exp.Case(ifs=[short], default=body)

    def email_domain(self, col: exp.Expr) -> exp.Expr:
        # '' without a match and NULL on NULL: no COALESCE, no IS NULL test
        return exp.DPipe(this=exp.Literal.string("***"), expression=self.last_at(col), safe=True)

    def hmac_hex(self, col: exp.Expr) -> exp.Expr:
        # HMAC(K, m) = SHA256((K ^ opad) || SHA256((K ^ ipad) || m)), pads bound as parameters
        inner = _func("SHA256", exp.DPipe(this=parameter(IPAD_PARAM, self.PARAMETERS),
                                          expression=_func("ENCODE", self.text(col)), safe=True))
        return _func("SHA256", exp.DPipe(this=parameter(OPAD_PARAM, self.PARAMETERS),
                                         expression=exp.Unhex(this=inner), safe=True))

    def truncate_instant(self, col: exp.Expr, unit: str) -> exp.Expr:
        # AT TIME ZONE 'UTC' turns TIMESTAMPTZ into UTC and back
        utc = exp.Literal.string(_UTC)
        trunc = exp.TimestampTrunc(this=exp.AtTimeZone(this=col, zone=utc), unit=exp.var(unit))
        return exp.AtTimeZone(this=trunc, zone=utc.copy())

    def round(self, col: exp.Expr, digits: int) -> exp.Expr:
        """Floats: round the value's shortest decimal text (as the reference does) through
        DECIMAL(38, 20), exact; beyond 1e17 through DECIMAL(38, 0); beyond 1e37 unchanged."""
        if self.logical_type == "integer":
            return super().round(col, digits)
        if self.logical_type is None:
            raise RenderError("mask 'round' needs the column's type (integer or number) in duckdb: pass types=...")
        n = _lit(digits)

        def via_text(rounded: exp.Expr) -> exp.Expr:
            # DECIMAL -> DOUBLE divides in floating point; parsing the decimal text rounds correctly
            return exp.cast(_cast_text(rounded), exp.DataType.Type.DOUBLE)

        as_decimal = exp.cast(_cast_text(col), exp.DataType.build(f"DECIMAL(38, {_DECIMAL_SCALE})"))
        exact = via_text(exp.Round(this=as_decimal, decimals=n))
        as_integer = via_text(exp.Round(this=exp.cast(_cast_text(col), exp.DataType.build("DECIMAL(38, 0)")),
                                        decimals=n))
        absval = exp.Abs(this=col.copy())
        return exp.Case(ifs=[
            exp.If(this=exp.Not(this=_func("ISFINITE", col.copy())), true=col.copy()),
            exp.If(this=exp.LT(this=absval, expression=exp.Literal.number("1e17")), true=exact),
            exp.If(this=exp.LT(this=absval.copy(), expression=exp.Literal.number("1e37")), true=as_integer),
        ], default=col.copy() if digits >= 0 else exp.Round(this=col.copy(), decimals=n))


# A double's text as Python's repr (what `masks.value_text` and DuckDB give: shortest digits, fixed
# notation for decimal exponents -4..15 with at least one decimal, else `1e-07` / `1.5e+16`).
# Postgres prints the shortest digits (extra_float_digits >= 1, the default) but in fixed notation
# only for exponents -4..14 and without `.0`: the fixed range goes through NUMERIC (exact).
_POSTGRES_FLOAT_TEXT = """CASE
  WHEN v = CAST('NaN' AS DOUBLE PRECISION) THEN 'nan'
  WHEN v = CAST('Infinity' AS DOUBLE PRECISION) THEN 'inf'
  WHEN v = CAST('-Infinity' AS DOUBLE PRECISION) THEN '-inf'
  WHEN CAST(v AS TEXT) = '-0' THEN '-0.0'
  WHEN v = 0 OR (ABS(v) >= 1e-4 AND ABS(v) < 1e16) THEN
    CASE WHEN STRPOS(CAST(CAST(CAST(v AS TEXT) AS NUMERIC) AS TEXT), '.') > 0
         THEN CAST(CAST(CAST(v AS TEXT) AS NUMERIC) AS TEXT)
         ELSE CAST(CAST(CAST(v AS TEXT) AS NUMERIC) AS TEXT) || '.0' END
  ELSE CAST(v AS TEXT) END"""


class PostgresMasks(SqlMasks):
    dialect = "postgres"
    PARAMETERS = "pyformat"
    FENCE = "offset"  # OFFSET 0: never flattened into the outer query, no quals pushed through
    TRUNC_DATE_GIVES_TIMESTAMP = True
    REGEXP_GLOBAL_FLAG = True

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        # timestamptz AT TIME ZONE 'UTC' is the UTC timestamp (without zone)
        return exp.AtTimeZone(this=col, zone=exp.Literal.string(_UTC))

    def float_text(self, col: exp.Expr) -> exp.Expr:
        return _template(_POSTGRES_FLOAT_TEXT, "postgres", v=col)

    def last_at(self, col: exp.Expr) -> exp.Expr:
        # substring(text, pattern) returns the match (or NULL)
        return _func("SUBSTRING", _cast_text(col), exp.Literal.string("@[^@]*$"))

    def sha256_hex(self, col: exp.Expr) -> exp.Expr:
        data = _func("CONVERT_TO", self.text(col), exp.Literal.string("UTF8"))
        return _func("ENCODE", _func("SHA256", data), exp.Literal.string("hex"))

    def hmac_hex(self, col: exp.Expr) -> exp.Expr:  # pgcrypto's hmac()
        data = _func("CONVERT_TO", self.text(col), exp.Literal.string("UTF8"))
        mac = _func("HMAC", data, parameter(KEY_PARAM, self.PARAMETERS), exp.Literal.string("sha256"))
        return _func("ENCODE", mac, exp.Literal.string("hex"))

    truncate_instant = DuckDBMasks.truncate_instant

    def round_number(self, col: exp.Expr, digits: int) -> exp.Expr:
        # ROUND(double, n) does not exist: round the exact NUMERIC of the value's shortest text (a
        # double's direct cast keeps only 15 digits), then back to the column's own type
        target = {"integer": exp.DataType.Type.BIGINT, "number": exp.DataType.Type.DOUBLE}.get(self.logical_type or "")
        if target is None:
            raise RenderError("mask 'round' needs the column's type (integer or number) in postgres: pass types=...")
        exact = exp.cast(exp.cast(col, exp.DataType.Type.TEXT) if self.logical_type == "number" else col,
                         exp.DataType.Type.DECIMAL)
        return exp.cast(exp.Round(this=exact, decimals=_lit(digits)), target)

    def finish(self, select: exp.Select) -> exp.Select:
        postgres_safe_strings(select)
        return select


# Trino prints every double in Java's scientific form (`2.675E0`, `1.07E5`, `-0.0E0`, shortest
# digits): rebuilt from its digits and exponent as Spark's (the sign read from the text: -0.0).
_TRINO_FLOAT_TEXT = """CASE
  WHEN IS_NAN(v) THEN 'nan'
  WHEN v = INFINITY() THEN 'inf'
  WHEN v = -INFINITY() THEN '-inf'
  WHEN {e} >= 16 OR {e} < -4 THEN
    {sign} || SUBSTR({d}, 1, 1) || CASE WHEN LENGTH({d}) > 1 THEN '.' || SUBSTR({d}, 2) ELSE '' END
    || 'e' || CASE WHEN {e} < 0 THEN '-' ELSE '+' END || CASE WHEN ABS({e}) < 10 THEN '0' ELSE '' END
    || CAST(ABS({e}) AS VARCHAR)
  WHEN {e} >= 0 THEN {sign} || RPAD({d}, {e} + 1, '0') || '.' || COALESCE(NULLIF(SUBSTR({d}, {e} + 2), ''), '0')
  ELSE {sign} || '0.' || LPAD({d}, LENGTH({d}) - {e} - 1, '0') END""".format(
    sign="CASE WHEN STARTS_WITH(CAST(v AS VARCHAR), '-') THEN '-' ELSE '' END",
    d="REGEXP_REPLACE(REPLACE(REPLACE(SPLIT_PART(CAST(v AS VARCHAR), 'E', 1), '-', ''), '.', ''), '0+$', '')",
    e="CAST(SPLIT_PART(CAST(v AS VARCHAR), 'E', 2) AS INTEGER)")


class TrinoMasks(SqlMasks):
    dialect = "trino"
    PARAMETERS = "positional"  # `?` markers only: one per keyed column
    TRUNC_KEEPS_TYPE = True

    def float_text(self, col: exp.Expr) -> exp.Expr:
        return _template(_TRINO_FLOAT_TEXT, "trino", v=col)

    def text(self, col: exp.Expr) -> exp.Expr:
        if self.logical_type in _TIMESTAMPS:  # Trino prints all 6 decimals; Python's text has no trailing zeros
            value = exp.cast(self.utc_wall_clock(col.copy()), exp.DataType.Type.VARCHAR, copy=False)
            return _func("REGEXP_REPLACE", value, exp.Literal.string(r"\.?0+$"), exp.Literal.string(""))
        return super().text(col)

    def sha256_hex(self, col: exp.Expr) -> exp.Expr:
        # sqlglot adds TO_UTF8 only around a CAST; the float and timestamp texts are none
        return exp.Lower(this=_func("TO_HEX", _func("SHA256", _func("TO_UTF8", self.text(col)))))

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        # AT_TIMEZONE keeps the zone (now UTC); casting drops it, keeping microseconds
        return exp.cast(exp.AtTimeZone(this=col, zone=exp.Literal.string(_UTC)),
                        exp.DataType.build("TIMESTAMP(6)", dialect="trino"))

    def hmac_hex(self, col: exp.Expr) -> exp.Expr:
        mac = _func("HMAC_SHA256", _func("TO_UTF8", self.text(col)), parameter(KEY_PARAM, self.PARAMETERS))
        return exp.Lower(this=_func("TO_HEX", mac))

    def truncate_instant(self, col: exp.Expr, unit: str) -> exp.Expr:
        return exp.TimestampTrunc(this=exp.AtTimeZone(this=col, zone=exp.Literal.string(_UTC)), unit=exp.var(unit))


_SPARK_UTC_WALL_CLOCK = "TIMESTAMPADD(MICROSECOND, UNIX_MICROS(v), TIMESTAMP_NTZ '1970-01-01 00:00:00')"
# Spark prints Java's Double.toString (shortest digits on Java 19+): fixed `107000.0` for
# 1e-3 <= |v| < 1e7 (as Python), else `1.0E-7`; that form is rebuilt from its digits and exponent.
_SPARK_FLOAT_TEXT = """CASE
  WHEN ISNAN(v) THEN 'nan'
  WHEN v = CAST('Infinity' AS DOUBLE) THEN 'inf'
  WHEN v = CAST('-Infinity' AS DOUBLE) THEN '-inf'
  WHEN INSTR(CAST(v AS STRING), 'E') = 0 THEN CAST(v AS STRING)
  WHEN {e} >= 16 OR {e} < -4 THEN
    {sign} || SUBSTRING({d}, 1, 1) || CASE WHEN LENGTH({d}) > 1 THEN '.' || SUBSTRING({d}, 2) ELSE '' END
    || 'e' || CASE WHEN {e} < 0 THEN '-' ELSE '+' END || CASE WHEN ABS({e}) < 10 THEN '0' ELSE '' END
    || CAST(ABS({e}) AS STRING)
  WHEN {e} >= 0 THEN {sign} || RPAD({d}, {e} + 1, '0') || '.' || COALESCE(NULLIF(SUBSTRING({d}, {e} + 2), ''), '0')
  ELSE {sign} || '0.' || LPAD({d}, LENGTH({d}) - {e} - 1, '0') END""".format(
    sign="CASE WHEN v < 0 THEN '-' ELSE '' END",  # the digits, without sign, point or trailing zeros:
    d="TRIM(TRAILING '0' FROM REPLACE(REPLACE(SUBSTRING_INDEX(CAST(v AS STRING), 'E', 1), '-', ''), '.', ''))",
    e="CAST(SUBSTRING_INDEX(CAST(v AS STRING), 'E', -1) AS INT)")  # the decimal exponent
_SPARK_TRUNC_INSTANT = {"YEAR": "MAKE_TIMESTAMP(YEAR(v), 1, 1, 0, 0, 0, 'UTC')",
                        "MONTH": "MAKE_TIMESTAMP(YEAR(v), MONTH(v), 1, 0, 0, 0, 'UTC')"}
_SPARK_TRUNC_WALL_CLOCK = {"YEAR": "MAKE_TIMESTAMP_NTZ(YEAR(v), 1, 1, 0, 0, 0)",
                           "MONTH": "MAKE_TIMESTAMP_NTZ(YEAR(v), MONTH(v), 1, 0, 0, 0)"}


class SparkMasks(SqlMasks):
    dialect = "spark"

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        # a TIMESTAMP is an instant shown in the session time zone; its UTC wall clock is the
        # TIMESTAMP_NTZ that many microseconds after the epoch (plain arithmetic, no zone involved)
        return _template(_SPARK_UTC_WALL_CLOCK, "spark", v=col)

    def float_text(self, col: exp.Expr) -> exp.Expr:
        return _template(_SPARK_FLOAT_TEXT, "spark", v=col)

    def truncate_instant(self, col: exp.Expr, unit: str) -> exp.Expr:
        # DATE_TRUNC works in the session time zone: build the UTC instant
        return _template(_SPARK_TRUNC_INSTANT[unit], "spark", v=self.utc_wall_clock(col))

    def truncate_wall_clock(self, col: exp.Expr, unit: str) -> exp.Expr:
        # DATE_TRUNC would return a TIMESTAMP (LTZ)
        return _template(_SPARK_TRUNC_WALL_CLOCK[unit], "spark", v=col)

    def naive_timestamp_type(self) -> exp.DataType:
        return exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")

    def instant_type(self) -> exp.DType:
        return exp.DataType.Type.TIMESTAMP  # Spark's TIMESTAMP is an instant


class SnowflakeMasks(SqlMasks):
    dialect = "snowflake"
    TRUNC_KEEPS_TYPE = True

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        # CONVERT_TIMEZONE('UTC', tz) is TIMESTAMP_TZ in UTC; NTZ drops the offset
        return exp.cast(exp.ConvertTimezone(target_tz=exp.Literal.string(_UTC), timestamp=col),
                        exp.DataType.build("TIMESTAMP_NTZ", dialect="snowflake"))

    def truncate_instant(self, col: exp.Expr, unit: str) -> exp.Expr:
        return exp.TimestampTrunc(this=exp.ConvertTimezone(target_tz=exp.Literal.string(_UTC), timestamp=col),
                                  unit=exp.var(unit))


class BigQueryMasks(SqlMasks):
    dialect = "bigquery"  # TIMESTAMP_TRUNC works in UTC by default: no truncate_instant

    def utc_of_instant(self, col: exp.Expr) -> exp.Expr:
        # a BigQuery TIMESTAMP is an instant: its DATETIME in UTC
        return _func("DATETIME", col, exp.Literal.string(_UTC))

    def sha256_hex(self, col: exp.Expr) -> exp.Expr:
        return _func("TO_HEX", _func("SHA256", self.text(col)))  # SHA256 returns BYTES there


# the dialect classes by name, in DIALECTS' order: the table the renderer picks from
DIALECT_MASKS: dict[str, type[SqlMasks]] = {
    cls.dialect: cls for cls in (DuckDBMasks, TrinoMasks, SparkMasks, SnowflakeMasks, BigQueryMasks, PostgresMasks)}
assert tuple(DIALECT_MASKS) == DIALECTS


def masks_for(dialect: str, logical_type: str | None = None, keyed: bool = False, column: str = "?") -> SqlMasks:
    """The building blocks of `dialect` for one column (RenderError for an unknown dialect)."""
    return DIALECT_MASKS[check_dialect(dialect)](logical_type, keyed, column)


def postgres_safe_strings(tree: exp.Expr) -> exp.Expr:
    """Render every Postgres string literal holding a backslash as an escape string `E'…'` with
    the backslash doubled: the same value whatever `standard_conforming_strings` is (a plain
    `'a\\'` ends differently when it is off, which would let a value close its quote)."""
    for node in list(tree.find_all(exp.Literal)):
        if node.is_string and "\\" in node.this:
            body = node.this.replace("\\", "\\\\").replace("'", "''")
            node.replace(exp.Var(this=f"E'{body}'"))
    return tree


def mask_expression(strategy: MaskStrategy, col: exp.Expr, dialect: str = "duckdb", *,
                    logical_type: str | None = None, keyed: bool = False, column: str = "?") -> exp.Expr:
    """The SQL expression computing `strategy` on `col` in `dialect` (nulls stay null), from the
    strategy's declaration in the mask registry.

    `logical_type` (the catalog's type of the column, or `timestamptz` for a timestamp with a
    time zone) picks the right form where a dialect's functions depend on it (`year`, `round`,
    the text of timestamps); `keyed` selects HMAC for `hash`. A strategy the registry declares
    unsupported in `dialect` raises RenderError saying why.
    """
    masks = masks_for(dialect, logical_type, keyed, column)
    definition = STRATEGIES.get(strategy.name)
    if definition is None:
        raise RenderError(f"unknown mask strategy {strategy.name!r} on column '{column}'")
    why = definition.sql_unsupported(dialect, keyed)
    if why is not None:
        raise RenderError(why)
    return definition.sql(masks, col, strategy)
