"""Render a Decision as SQL: masked projection + row filter, for six dialects, through sqlglot.

Every expression is built as a sqlglot tree (never by string concatenation), so identifiers and
literals are quoted by sqlglot for the target dialect. Each mask strategy has one SQL form per
dialect that yields what `policyengine.language.masks.apply_mask` yields (verified value by value against
DuckDB in tests/enforce); where a dialect has no way to compute a strategy, rendering raises
`RenderError` instead of emitting SQL that would compute something else.

The HMAC key for `hash` never appears in the SQL text: the SQL references parameters and
`hash_parameters(key, dialect)` gives their values to bind at execution time (by name; Trino only
has positional `?` markers, whose values in order `positional_parameters(tree, params)` gives).

Timestamps with a time zone are masked in UTC: their text is the UTC wall clock without an offset
(`2020-01-01 00:30:03.12`), and `year` truncates the UTC instant. `types` may say `timestamptz`
for such a column (enforce() does, from the Arrow type) so dialects that need it convert to UTC.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from policyengine.engine.decision import Decision
from policyengine.language import ast
from policyengine.language.masks import STRATEGIES, MaskStrategy
from policyengine.language.values import Undefined, fold, utc_instant

DIALECTS: tuple[str, ...] = ("duckdb", "trino", "spark", "snowflake", "bigquery", "postgres")
# dialects that keep a DATE a DATE under DATE_TRUNC (others need the column's type for `year`)
_TRUNC_KEEPS_TYPE = frozenset({"trino", "snowflake"})
# DuckDB parameter names carrying the HMAC pads (derived from the key, never the key itself)
IPAD_PARAM, OPAD_PARAM, KEY_PARAM = "pe_hmac_ipad", "pe_hmac_opad", "pe_hash_key"
# dialects whose SQL takes positional `?` markers only (no named parameters)
_POSITIONAL_DIALECTS = frozenset({"trino"})
# meta key on a placeholder the renderer placed, naming the parameter whose value it takes
_PARAM_META = "pe_param"
# Postgres markers are generated under this random name first and renamed to `%(name)s` only
# where the renderer placed them (see `escape_pyformat`): a literal holding `%(pe_hash_key)s`
# stays a literal, and a text holding the random name is refused (it cannot be told apart)
_MARKER_TOKEN = f"pe_marker_{secrets.token_hex(12)}_"
# logical types of timestamps; "timestamptz" is a timestamp with a time zone (masked in UTC)
_TIMESTAMPS = frozenset({"timestamp", "timestamptz"})
# |x| below this: exact decimal rounding through DECIMAL(38, 20); see `_round_number`
_DECIMAL_SCALE = 20


class RenderError(ValueError):
    """A decision cannot be rendered faithfully in this dialect (missing function, unknown type...)."""


class ConfiguredKey:
    """Sentinel: use the hash key configured for the project (policyengine.yaml / environment)."""

    def __repr__(self) -> str:
        return "CONFIGURED"


CONFIGURED: Any = ConfiguredKey()


def configured_hash_key() -> bytes | None:
    """The project's HMAC key: the variable named by `hash_key_env` in policyengine.yaml
    (default POLICYENGINE_HASH_KEY), read from the environment; None when unset."""
    try:
        from policyengine.config import load_config

        return load_config().hash_key
    except Exception:  # a broken config file must not silently drop the key: fall back to the env
        value = os.environ.get("POLICYENGINE_HASH_KEY")
        return value.encode("utf-8") if value else None


def resolve_key(hash_key: bytes | str | None | ConfiguredKey) -> bytes | None:
    """Normalise a `hash_key` argument (CONFIGURED, bytes, text or None) to bytes or None."""
    if isinstance(hash_key, ConfiguredKey):
        return configured_hash_key()
    if isinstance(hash_key, str):
        return hash_key.encode("utf-8") or None
    return hash_key or None


def check_dialect(dialect: str) -> str:
    """The dialect name, or a RenderError listing the supported ones."""
    if dialect not in DIALECTS:
        raise RenderError(f"unsupported SQL dialect {dialect!r}; supported: {', '.join(DIALECTS)}")
    return dialect


# ---------------------------------------------------------------- HMAC parameters


def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA-256 pads for `key` (RFC 2104)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hash_parameters(key: bytes | str | None, dialect: str = "duckdb") -> dict[str, Any]:
    """Values for the parameters a keyed `hash` mask references, by name (empty without a key).

    DuckDB has SHA-256 but no HMAC, so its SQL composes HMAC from the two pads; Trino and
    Postgres (pgcrypto) take the key itself. Either way the SQL text holds only parameter markers.
    In Trino each `?` marker takes `KEY_PARAM`'s value: see `positional_parameters`.
    """
    raw = resolve_key(key)
    if raw is None:
        return {}
    if dialect == "duckdb":
        ipad, opad = _hmac_pads(raw)
        return {IPAD_PARAM: ipad, OPAD_PARAM: opad}
    return {KEY_PARAM: raw}


def _parameter(name: str, dialect: str) -> exp.Placeholder:
    """A parameter marker: named (`$name`, `:name`, `%(name)s`) where the dialect has named
    parameters, else an anonymous `?` that remembers `name` for `positional_parameters`."""
    if dialect == "postgres":
        marker = exp.Placeholder(this=_MARKER_TOKEN + name)
    elif dialect not in _POSITIONAL_DIALECTS:
        marker = exp.Placeholder(this=name)
    else:
        marker = exp.Placeholder()
    marker.meta[_PARAM_META] = name
    return marker


def placed_markers(tree: exp.Expression) -> int:
    """How many parameter markers the renderer placed in `tree` (what `escape_pyformat` expects)."""
    return sum(1 for node in tree.walk() if isinstance(node, exp.Placeholder) and _PARAM_META in node.meta)


def positional_parameters(tree: exp.Expression, params: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values to bind to the anonymous `?` markers of `tree`, in the order they appear in its
    SQL (depth-first, as sqlglot generates): each marker's value is `params[its name]`.

    For a Trino query holding several enforced SELECTs (e.g. a gateway rewrite), call this on the
    final tree: every keyed `hash` column adds one `?` taking the key. Raises RenderError for a
    `?` that is not one of ours (a user's placeholder would otherwise receive the key)."""
    values: list[Any] = []
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Placeholder) and not node.this:
            name = node.meta.get(_PARAM_META)
            if name is None or name not in params:
                raise RenderError(f"the SQL has a positional parameter {node.sql()} that enforcement did not put "
                                  "there (or whose value is not given); refusing to bind the hash key to it")
            values.append(params[name])
    return tuple(values)


# ---------------------------------------------------------------- masks


def _utc_wall_clock(col: exp.Expression, dialect: str, logical_type: str | None) -> exp.Expression:
    """A timestamp as the naive timestamp of its UTC wall clock (tz-aware values converted)."""
    if dialect == "duckdb":
        # EPOCH_US counts from the naive wall clock of a TIMESTAMP and from the UTC instant of a
        # TIMESTAMPTZ, so this is right for both, whatever the session's TimeZone
        return exp.Anonymous(this="MAKE_TIMESTAMP", expressions=[exp.Anonymous(this="EPOCH_US", expressions=[col])])
    if logical_type != "timestamptz":
        return col
    utc = exp.Literal.string("UTC")
    if dialect == "postgres":  # timestamptz AT TIME ZONE 'UTC' is the UTC timestamp (without zone)
        return exp.AtTimeZone(this=col, zone=utc)
    if dialect == "trino":  # AT_TIMEZONE keeps the zone (now UTC); casting drops it, keeping microseconds
        return exp.cast(exp.AtTimeZone(this=col, zone=utc), exp.DataType.build("TIMESTAMP(6)", dialect="trino"))
    if dialect == "snowflake":  # CONVERT_TIMEZONE('UTC', tz) is TIMESTAMP_TZ in UTC; NTZ drops the offset
        return exp.cast(exp.ConvertTimezone(target_tz=utc, timestamp=col),
                        exp.DataType.build("TIMESTAMP_NTZ", dialect="snowflake"))
    if dialect == "bigquery":  # a BigQuery TIMESTAMP is an instant: its DATETIME in UTC
        return exp.Anonymous(this="DATETIME", expressions=[col, utc])
    # spark: a TIMESTAMP is an instant shown in the session time zone; its UTC wall clock is the
    # TIMESTAMP_NTZ that many microseconds after the epoch (plain arithmetic, no zone involved)
    return _template(_SPARK_UTC_WALL_CLOCK, "spark", v=col)


@functools.lru_cache(maxsize=32)
def _parsed(sql: str, dialect: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read=dialect)


def _template(sql: str, dialect: str, **columns: exp.Expression) -> exp.Expression:
    """A constant SQL template of ours (parsed once) with its columns `v`, ... replaced by the given
    expressions: for forms too long to spell as sqlglot nodes. Never holds user text."""
    tree = _parsed(sql, dialect).copy()
    for node in list(tree.find_all(exp.Column)):
        if node.name in columns and not node.table:
            node.replace(columns[node.name].copy())
    return tree


_SPARK_UTC_WALL_CLOCK = "TIMESTAMPADD(MICROSECOND, UNIX_MICROS(v), TIMESTAMP_NTZ '1970-01-01 00:00:00')"
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


def _float_text(col: exp.Expression, dialect: str) -> exp.Expression | None:
    """A double's canonical text (Python's repr) where the dialect's own cast prints otherwise."""
    if dialect == "postgres":
        return _template(_POSTGRES_FLOAT_TEXT, "postgres", v=col)
    if dialect == "spark":
        return _template(_SPARK_FLOAT_TEXT, "spark", v=col)
    if dialect == "trino":
        return _template(_TRINO_FLOAT_TEXT, "trino", v=col)
    return None  # duckdb prints Python's repr; snowflake, bigquery: not verified on an engine


def _text(col: exp.Expression, dialect: str = "duckdb", logical_type: str | None = None) -> exp.Expression:
    """The value's text (what `masks.value_text` gives): timestamps as their UTC wall clock,
    floating-point numbers as Python's repr (`107000.0`, `1e-07`) in every verified dialect."""
    value = col.copy()
    if logical_type in _TIMESTAMPS:
        value = _utc_wall_clock(value, dialect, logical_type)
        if dialect == "trino":  # Trino prints all 6 decimals; Python's text has no trailing zeros
            return exp.func("REGEXP_REPLACE", exp.cast(value, exp.DataType.Type.VARCHAR, copy=False),
                            exp.Literal.string(r"\.?0+$"), exp.Literal.string(""))
    if logical_type == "number":
        text = _float_text(value, dialect)
        if text is not None:
            return text
    return exp.cast(value, exp.DataType.Type.VARCHAR, copy=False)


def _lit(value: str | int) -> exp.Expression:
    return exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)


def _null_safe(col: exp.Expression, value: exp.Expression) -> exp.Expression:
    """`CASE WHEN col IS NULL THEN NULL ELSE value END`: nulls stay null whatever `value` does."""
    return exp.Case(ifs=[exp.If(this=exp.Is(this=col.copy(), expression=exp.Null()), true=exp.Null())],
                    default=value)


def _stars(n: exp.Expression) -> exp.Expression:
    """`n` stars (LPAD of the empty text exists in every dialect; REPEAT does not in Trino)."""
    return exp.func("LPAD", exp.Literal.string(""), exp.cast(n, exp.DataType.Type.INT, copy=False),
                    exp.Literal.string("*"))


def _keep_duckdb(text: exp.Expression, first: int, last: int) -> exp.Expression:
    """DuckDB's `_keep`: LENGTH twice instead of four times, no IS NULL test (every function here
    returns NULL on NULL). `LEFT`/`RIGHT`/`LPAD`/`REPEAT`/`LENGTH` all count code points there."""
    def n() -> exp.Expression:
        return exp.Anonymous(this="LENGTH", expressions=[text.copy()])

    def func(name: str, *args: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this=name, expressions=list(args))

    all_stars = func("REPEAT", exp.Literal.string("*"), n())
    if first + last == 0:
        return all_stars
    if last:  # the kept tail, padded on the left with stars up to the length minus the head
        width = exp.Sub(this=n(), expression=_lit(first)) if first else n()
        body = func("LPAD", func("RIGHT", text.copy(), _lit(last)),
                    exp.cast(width, exp.DataType.Type.INT, copy=False), exp.Literal.string("*"))
    else:
        body = func("REPEAT", exp.Literal.string("*"), exp.Sub(this=n(), expression=_lit(first)))
    if first:
        body = exp.DPipe(this=func("LEFT", text.copy(), _lit(first)), expression=body, safe=True)
    short = exp.If(this=exp.LTE(this=n(), expression=_lit(first + last)), true=all_stars)
    return exp.Case(ifs=[short], default=body)


def _keep(col: exp.Expression, first: int, last: int, dialect: str = "duckdb",
          logical_type: str | None = None) -> exp.Expression:
    """Keep `first` leading and `last` trailing characters of the value's text, `*` between;
    all stars when the value is not longer than first + last."""
    if dialect == "duckdb":
        return _keep_duckdb(_text(col, dialect, logical_type), first, last)
    n = exp.Length(this=_text(col, dialect, logical_type))
    parts: list[exp.Expression] = []
    if first:
        parts.append(exp.Substring(this=_text(col, dialect, logical_type), start=_lit(1), length=_lit(first)))
    parts.append(_stars(exp.Sub(this=n.copy(), expression=_lit(first + last))))
    if last:
        parts.append(exp.Substring(this=_text(col, dialect, logical_type), start=exp.Add(
            this=exp.Sub(this=n.copy(), expression=_lit(last)), expression=_lit(1))))
    body: exp.Expression = parts[0]
    for p in parts[1:]:
        body = exp.DPipe(this=body, expression=p, safe=True)
    short = exp.If(this=exp.LTE(this=n.copy(), expression=_lit(first + last)), true=_stars(n.copy()))
    return _null_safe(col, exp.Case(ifs=[short], default=body))


def _email_domain(col: exp.Expression, dialect: str) -> exp.Expression:
    """`***` followed by everything from the last `@` (just `***` without an `@`).

    The pattern has no capture group, so the whole match is extracted: group 0, passed
    explicitly (sqlglot prints it only where the default differs: Spark's default group is 1, and
    Spark fails with "Regex group count is 0, but the specified group index is 1" without it).
    DuckDB, Trino and BigQuery REGEXP_EXTRACT and Snowflake REGEXP_SUBSTR return the whole match
    by default; Postgres `SUBSTRING(t, pattern)` too when the pattern has no parentheses. No
    match gives '' (DuckDB, Spark) or NULL (the others, hence the COALESCE there)."""
    pattern = exp.Literal.string("@[^@]*$")
    stars = exp.Literal.string("***")
    if dialect == "duckdb":  # '' without a match and NULL on NULL: no COALESCE, no IS NULL test
        found: exp.Expression = exp.RegexpExtract(this=_text(col), expression=pattern, group=_lit(0))
        return exp.DPipe(this=stars, expression=found, safe=True)
    if dialect == "postgres":  # substring(text, pattern) returns the match (or NULL)
        found = exp.Anonymous(this="SUBSTRING", expressions=[_text(col), pattern])
    else:
        found = exp.RegexpExtract(this=_text(col), expression=pattern, group=_lit(0))
    domain = exp.Coalesce(this=found, expressions=[exp.Literal.string("")])
    return _null_safe(col, exp.DPipe(this=stars, expression=domain, safe=True))


def _sha256_hex(col: exp.Expression, dialect: str, logical_type: str | None) -> exp.Expression:
    text = _text(col, dialect, logical_type)
    if dialect == "bigquery":  # SHA256 returns BYTES there
        return exp.Anonymous(this="TO_HEX", expressions=[exp.Anonymous(this="SHA256", expressions=[text])])
    if dialect == "postgres":
        data = exp.Anonymous(this="CONVERT_TO", expressions=[text, exp.Literal.string("UTF8")])
        return exp.Anonymous(this="ENCODE", expressions=[exp.Anonymous(this="SHA256", expressions=[data]),
                                                          exp.Literal.string("hex")])
    if dialect == "trino":  # sqlglot adds TO_UTF8 only around a CAST; the float/timestamp text is none
        data = exp.Anonymous(this="TO_UTF8", expressions=[text])
        return exp.Lower(this=exp.Anonymous(this="TO_HEX", expressions=[exp.Anonymous(this="SHA256",
                                                                                      expressions=[data])]))
    return exp.SHA2(this=text, length=_lit(256))  # sqlglot lowers to each dialect's form


def _hmac_hex(col: exp.Expression, dialect: str, logical_type: str | None) -> exp.Expression:
    text = _text(col, dialect, logical_type)
    if dialect == "duckdb":
        # HMAC(K, m) = SHA256((K ^ opad) || SHA256((K ^ ipad) || m)), pads bound as parameters
        inner = exp.Anonymous(this="SHA256", expressions=[exp.DPipe(
            this=_parameter(IPAD_PARAM, dialect), expression=exp.Anonymous(this="ENCODE", expressions=[text]),
            safe=True)])
        return exp.Anonymous(this="SHA256", expressions=[exp.DPipe(
            this=_parameter(OPAD_PARAM, dialect), expression=exp.Unhex(this=inner), safe=True)])
    if dialect == "trino":  # Trino has positional parameters only: one `?` per keyed column
        mac = exp.Anonymous(this="HMAC_SHA256", expressions=[
            exp.Anonymous(this="TO_UTF8", expressions=[text]), _parameter(KEY_PARAM, dialect)])
        return exp.Lower(this=exp.Anonymous(this="TO_HEX", expressions=[mac]))
    if dialect == "postgres":  # pgcrypto's hmac()
        data = exp.Anonymous(this="CONVERT_TO", expressions=[text, exp.Literal.string("UTF8")])
        mac = exp.Anonymous(this="HMAC", expressions=[data, _parameter(KEY_PARAM, dialect),
                                                      exp.Literal.string("sha256")])
        return exp.Anonymous(this="ENCODE", expressions=[mac, exp.Literal.string("hex")])
    raise RenderError(f"keyed hash has no SQL form in {dialect}")  # the registry refuses it before here


_SPARK_TRUNC_INSTANT = {"YEAR": "MAKE_TIMESTAMP(YEAR(v), 1, 1, 0, 0, 0, 'UTC')",
                        "MONTH": "MAKE_TIMESTAMP(YEAR(v), MONTH(v), 1, 0, 0, 0, 'UTC')"}
_SPARK_TRUNC_WALL_CLOCK = {"YEAR": "MAKE_TIMESTAMP_NTZ(YEAR(v), 1, 1, 0, 0, 0)",
                           "MONTH": "MAKE_TIMESTAMP_NTZ(YEAR(v), MONTH(v), 1, 0, 0, 0)"}


def _year(col: exp.Expression, dialect: str, logical_type: str | None, column: str,
          unit: str = "YEAR") -> exp.Expression:
    """Truncate a date or timestamp to its year (`unit` YEAR) or month (MONTH), same type; a
    timestamp with a time zone in UTC."""
    mask = unit.lower()
    if logical_type not in ("date", "timestamp", "timestamptz"):
        if dialect in _TRUNC_KEEPS_TYPE and logical_type is None:
            return exp.DateTrunc(this=col, unit=exp.var(unit))
        raise RenderError(f"mask '{mask}' on column '{column}' needs its type (date or timestamp) in {dialect}, "
                          f"found {logical_type or 'unknown'}: pass types={{'{column}': 'date'}}")
    if logical_type == "timestamptz":  # the year of the UTC instant, still with a time zone
        utc = exp.Literal.string("UTC")
        if dialect in ("duckdb", "postgres"):  # AT TIME ZONE 'UTC' turns TIMESTAMPTZ into UTC and back
            trunc = exp.TimestampTrunc(this=exp.AtTimeZone(this=col, zone=utc), unit=exp.var(unit))
            return exp.AtTimeZone(this=trunc, zone=utc.copy())
        if dialect == "trino":
            return exp.TimestampTrunc(this=exp.AtTimeZone(this=col, zone=utc), unit=exp.var(unit))
        if dialect == "snowflake":
            return exp.TimestampTrunc(this=exp.ConvertTimezone(target_tz=utc, timestamp=col), unit=exp.var(unit))
        if dialect == "spark":  # DATE_TRUNC works in the session time zone: build the UTC instant
            return _template(_SPARK_TRUNC_INSTANT[unit], "spark", v=_utc_wall_clock(col, dialect, logical_type))
        # bigquery TIMESTAMP_TRUNC works in UTC by default
    if logical_type == "timestamp" and dialect == "spark":  # DATE_TRUNC would return a TIMESTAMP (LTZ)
        return _template(_SPARK_TRUNC_WALL_CLOCK[unit], "spark", v=col)
    if logical_type in _TIMESTAMPS:
        return exp.TimestampTrunc(this=col, unit=exp.var(unit))
    trunc = exp.DateTrunc(this=col, unit=exp.var(unit))
    if dialect in ("duckdb", "postgres"):  # DATE_TRUNC returns a timestamp there
        return exp.cast(trunc, exp.DataType.Type.DATE)
    return trunc


# Iceberg's mask-alphanum as two regular-expression replacements over code points (every
# dialect's engine matches a character class against one code point, newlines included): first
# every code point that is neither an ASCII digit nor kept punctuation becomes `x`, then digits `n`
# (in the other order, the `n` a digit became would then become `x`).
_NOT_KEPT = "[^0-9(),.@-]"
_DIGIT = "[0-9]"
_GLOBAL_FLAG = frozenset({"duckdb", "postgres"})  # REGEXP_REPLACE replaces the first match without 'g'


def _regexp_replace_all(text: exp.Expression, pattern: str, replacement: str, dialect: str) -> exp.Expression:
    args = [text, exp.Literal.string(pattern), exp.Literal.string(replacement)]
    if dialect in _GLOBAL_FLAG:
        args.append(exp.Literal.string("g"))
    return exp.Anonymous(this="REGEXP_REPLACE", expressions=args)


def _mask_alphanum(col: exp.Expression, dialect: str) -> exp.Expression:
    """Iceberg's mask-alphanum (NULL on NULL: REGEXP_REPLACE of NULL is NULL everywhere)."""
    return _regexp_replace_all(_regexp_replace_all(col, _NOT_KEPT, "x", dialect), _DIGIT, "n", dialect)


def _fixed_value(dialect: str, logical_type: str | None, column: str) -> exp.Expression:
    """Iceberg's mask-to-fixed-value: the constant of the column's type, whatever the value."""
    t = exp.DataType.Type
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
    if logical_type == "timestamp":  # a naive timestamp: Spark's is TIMESTAMP_NTZ
        naive = exp.DataType.build("TIMESTAMP_NTZ", dialect="spark") if dialect == "spark" else t.TIMESTAMP
        return exp.cast(exp.Literal.string("1970-01-01 00:00:00"), naive)
    if logical_type == "timestamptz":
        if dialect == "spark":  # Spark's TIMESTAMP is an instant (BigQuery's TIMESTAMPTZ renders as TIMESTAMP)
            return exp.cast(exp.Literal.string("1970-01-01 00:00:00+00:00"), t.TIMESTAMP)
        return exp.cast(exp.Literal.string("1970-01-01 00:00:00+00:00"), t.TIMESTAMPTZ)
    raise RenderError(f"mask 'fixed_value' on column '{column}' needs its type (string, integer, number, boolean, "
                      f"date or timestamp) in {dialect}, found {logical_type or 'unknown'}")


def _show4(col: exp.Expression, dialect: str, first: bool) -> exp.Expression:
    """Iceberg's show-first-4 (`first`) or show-last-4: values of 4 or fewer code points unchanged,
    else the kept 4 code points and mask-alphanum of the rest. LENGTH and SUBSTRING count code
    points in every dialect here; NULL stays NULL (every branch is NULL on NULL)."""
    def n() -> exp.Expression:
        return exp.Length(this=col.copy())

    if first:
        kept = exp.Substring(this=col.copy(), start=_lit(1), length=_lit(4))
        rest = _mask_alphanum(exp.Substring(this=col.copy(), start=_lit(5)), dialect)
        body: exp.Expression = exp.DPipe(this=kept, expression=rest, safe=True)
    else:
        head = exp.Substring(this=col.copy(), start=_lit(1), length=exp.Sub(this=n(), expression=_lit(4)))
        tail = exp.Substring(this=col.copy(), start=exp.Sub(this=n(), expression=_lit(3)))
        body = exp.DPipe(this=_mask_alphanum(head, dialect), expression=tail, safe=True)
    short = exp.If(this=exp.LTE(this=n(), expression=_lit(4)), true=col.copy())
    return exp.Case(ifs=[short], default=body)


def _round_number(col: exp.Expression, digits: int, dialect: str, logical_type: str | None) -> exp.Expression:
    """Round half away from zero. Integers: exact everywhere. Floats: DuckDB rounds the value's
    shortest decimal text (as the reference does) through DECIMAL(38, 20); Postgres rounds the
    exact NUMERIC of that text and casts back to the column's type (so it needs the type); other
    dialects use their native ROUND."""
    n = _lit(digits)
    if logical_type == "integer" and digits >= 0:
        return col
    if dialect == "postgres":
        # ROUND(double, n) does not exist: round the exact NUMERIC of the value's shortest text (a
        # double's direct cast keeps only 15 digits), then back to the column's own type
        target = {"integer": exp.DataType.Type.BIGINT, "number": exp.DataType.Type.DOUBLE}.get(logical_type or "")
        if target is None:
            raise RenderError("mask 'round' needs the column's type (integer or number) in postgres: pass types=...")
        exact = exp.cast(exp.cast(col, exp.DataType.Type.TEXT) if logical_type == "number" else col,
                         exp.DataType.Type.DECIMAL)
        return exp.cast(exp.Round(this=exact, decimals=n), target)
    if dialect != "duckdb" or logical_type == "integer":
        return exp.Round(this=col, decimals=n)
    if logical_type is None:
        raise RenderError("mask 'round' needs the column's type (integer or number) in duckdb: pass types=...")
    def via_text(rounded: exp.Expression) -> exp.Expression:
        # DECIMAL -> DOUBLE divides in floating point; parsing the decimal text rounds correctly
        return exp.cast(_text(rounded), exp.DataType.Type.DOUBLE)

    as_decimal = exp.cast(_text(col), exp.DataType.build(f"DECIMAL(38, {_DECIMAL_SCALE})"))
    exact = via_text(exp.Round(this=as_decimal, decimals=n))
    as_integer = via_text(exp.Round(this=exp.cast(_text(col), exp.DataType.build("DECIMAL(38, 0)")), decimals=n))
    absval = exp.Abs(this=col.copy())
    return exp.Case(ifs=[
        exp.If(this=exp.Not(this=exp.Anonymous(this="ISFINITE", expressions=[col.copy()])), true=col.copy()),
        exp.If(this=exp.LT(this=absval, expression=exp.Literal.number("1e17")), true=exact),
        exp.If(this=exp.LT(this=absval.copy(), expression=exp.Literal.number("1e37")), true=as_integer),
    ], default=col.copy() if digits >= 0 else exp.Round(this=col.copy(), decimals=n))


@dataclass(frozen=True)
class SqlMasks:
    """The SQL building blocks of one dialect that mask strategies are written with
    (`policyengine.language.masks.Strategy.sql`): each returns a sqlglot expression computing,
    in `dialect`, what the reference computes, nulls staying null."""

    dialect: str
    logical_type: str | None = None
    keyed: bool = False
    column: str = "?"

    def null(self) -> exp.Expression:
        return exp.Null()

    def constant(self, col: exp.Expression, text: str) -> exp.Expression:
        return _null_safe(col, exp.Literal.string(text))

    def sha256_hex(self, col: exp.Expression) -> exp.Expression:
        return _sha256_hex(col, self.dialect, self.logical_type)  # SHA-256 of NULL is NULL everywhere

    def hmac_hex(self, col: exp.Expression) -> exp.Expression:
        return _hmac_hex(col, self.dialect, self.logical_type)

    def keep(self, col: exp.Expression, first: int, last: int) -> exp.Expression:
        return _keep(col, first, last, self.dialect, self.logical_type)

    def email_domain(self, col: exp.Expression) -> exp.Expression:
        return _email_domain(col, self.dialect)

    def year(self, col: exp.Expression) -> exp.Expression:
        return _year(col, self.dialect, self.logical_type, self.column)  # null in, null out

    def _string(self, col: exp.Expression) -> exp.Expression:
        """A string column as it is; any other as its text (what `masks.value_text` gives)."""
        return col if self.logical_type == "string" else _text(col, self.dialect, self.logical_type)

    def fixed_value(self, col: exp.Expression) -> exp.Expression:
        return _fixed_value(self.dialect, self.logical_type, self.column)  # nulls too: not NULL on NULL

    def month(self, col: exp.Expression) -> exp.Expression:
        return _year(col, self.dialect, self.logical_type, self.column, "MONTH")  # null in, null out

    def mask_alphanum(self, col: exp.Expression) -> exp.Expression:
        return _mask_alphanum(self._string(col), self.dialect)

    def show_first4(self, col: exp.Expression) -> exp.Expression:
        return _show4(self._string(col), self.dialect, first=True)

    def show_last4(self, col: exp.Expression) -> exp.Expression:
        return _show4(self._string(col), self.dialect, first=False)

    def round(self, col: exp.Expression, digits: int) -> exp.Expression:
        return _round_number(col, digits, self.dialect, self.logical_type)


def mask_expression(strategy: MaskStrategy, col: exp.Expression, dialect: str = "duckdb", *,
                    logical_type: str | None = None, keyed: bool = False, column: str = "?") -> exp.Expression:
    """The SQL expression computing `strategy` on `col` in `dialect` (nulls stay null), from the
    strategy's declaration in the mask registry.

    `logical_type` (the catalog's type of the column, or `timestamptz` for a timestamp with a
    time zone) picks the right form where a dialect's functions depend on it (`year`, `round`,
    the text of timestamps); `keyed` selects HMAC for `hash`. A strategy the registry declares
    unsupported in `dialect` raises RenderError saying why.
    """
    check_dialect(dialect)
    definition = STRATEGIES.get(strategy.name)
    if definition is None:
        raise RenderError(f"unknown mask strategy {strategy.name!r} on column '{column}'")
    why = definition.sql_unsupported(dialect, keyed)
    if why is not None:
        raise RenderError(why)
    return definition.sql(SqlMasks(dialect, logical_type, keyed, column), col, strategy)


# ---------------------------------------------------------------- row filters


def _literal(value: Any, tz: bool = False) -> exp.Expression:
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


def _operand(e: ast.Expr, table: str | None, tz: bool = False) -> exp.Expression:
    if isinstance(e, ast.ColumnRef):
        return exp.column(e.name, table=exp.to_identifier(table, quoted=True) if table else None, quoted=True)
    if isinstance(e, ast.Literal):
        return _literal(e.value, tz)
    raise RenderError(f"cannot render {type(e).__name__} as an operand of a row filter")


def _membership(left: exp.Expression, items: ast.ListExpr, negate: bool, tz: bool = False) -> exp.Expression:
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


def _compare(e: ast.Compare, table: str | None, types: Mapping[str, str]) -> exp.Expression:
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
        return exp.GT(this=position, expression=_lit(0))
    raise RenderError(f"cannot render comparison {e.op!r} in a row filter")


def filter_expression(e: ast.Expr, *, table: str | None = None,
                      types: Mapping[str, str] | None = None) -> exp.Expression:
    """A substituted row filter as a sqlglot condition. Parts without columns are folded to
    TRUE/FALSE under the policy language's rules, and a part that is undefined makes the whole
    filter FALSE (no rows); rows where the condition is NULL are dropped."""
    try:
        return _filter_expression(e, table=table, types=types or {})
    except Undefined:
        return exp.Boolean(this=False)


def _filter_expression(e: ast.Expr, *, table: str | None, types: Mapping[str, str]) -> exp.Expression:
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


# ---------------------------------------------------------------- the SELECT


SOURCE_ALIAS = "pe_src"  # the default alias of the physical source inside an enforced SELECT
# The evaluation fence per dialect (docs/enforcement.md, "evaluation fences"): "offset" is
# `OFFSET 0`, which Postgres never flattens into the outer query nor pushes quals through, and
# which DuckDB keeps as a limit operator filters are not pushed through (measured in tests).
# None: the dialect has no fence this renderer can rely on (documented as not guaranteed).
FENCES: dict[str, str | None] = {"duckdb": "offset", "postgres": "offset", "trino": None, "spark": None,
                                 "snowflake": None, "bigquery": None}


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
                    fence: bool = False) -> exp.Select:
    """The sqlglot SELECT applying `decision` to `source` (masked columns keep their names,
    denied ones are left out, the row filter is the WHERE). Fails closed: a decision with an
    error or without readable columns raises instead of selecting anything.

    `alias` names the source inside the SELECT (the gateway passes a generated one, so no user
    relation can be named like it). `fence` adds the dialect's evaluation fence (see `FENCES`):
    where there is one, the planner cannot move an outer query's predicate below the row filter
    and the masks, so a user expression never runs on a raw value or a hidden row."""
    check_dialect(dialect)
    if decision.error:
        raise RenderError(f"decision for {decision.consumer} on {decision.product} is an error "
                          f"(everything denied): {decision.error}")
    types = types or {}
    projections: list[exp.Expression] = []
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
    if dialect == "postgres":
        postgres_safe_strings(select)
    return select


def render(decision: Decision, source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb", *,
           types: Mapping[str, str] | None = None, hash_key: bytes | str | None | ConfiguredKey = CONFIGURED,
           pretty: bool = False) -> Rendered:
    """SQL text and parameters for `decision` on `source` in `dialect`."""
    key = resolve_key(hash_key)
    keyed = key is not None and any(cd.effect == "mask" and cd.strategy == "hash" for cd in decision.columns.values())
    select = enforced_select(decision, source, dialect, types=types, keyed=keyed)
    params = hash_parameters(key, dialect) if keyed else {}
    placed = placed_markers(select) if params else 0
    text = escape_pyformat(select.sql(dialect=dialect, pretty=pretty), dialect, params, placed=placed)
    return Rendered(text, params, dialect, positional_parameters(select, params))


def escape_pyformat(sql: str, dialect: str, params: Mapping[str, Any], *, placed: int = 0) -> str:
    """Postgres SQL with `%(name)s` markers is run through psycopg's %-substitution, which also
    acts on every other `%` in the text — in a literal (`LIKE 'a%'`) or in an identifier. So with
    parameters bound, every `%` is doubled (`%%`: one literal `%` after substitution), and only the
    markers the renderer placed — generated under a random name no literal can hold — become
    `%(name)s`. `placed` is how many it placed (`placed_markers`); finding another number refuses
    (RenderError): the key is never bound at a marker that was not ours. Never re-scans for
    `%(name)s` itself, so a consumer attribute `%(pe_hash_key)s` stays a literal."""
    if dialect != "postgres" or not params:
        if _MARKER_TOKEN in sql:
            raise RenderError("the SQL holds the renderer's marker name outside a marker; refusing to bind")
        return sql
    escaped = sql.replace("%", "%%")
    found = 0
    for name in params:
        marker = f"%%({_MARKER_TOKEN}{name})s"
        found += escaped.count(marker)
        escaped = escaped.replace(marker, f"%({name})s")
    if found != placed or _MARKER_TOKEN in escaped:
        raise RenderError("the SQL does not hold exactly the parameter markers enforcement placed; "
                          "refusing to bind the hash key")
    return escaped


def postgres_safe_strings(tree: exp.Expression) -> exp.Expression:
    """Render every Postgres string literal holding a backslash as an escape string `E'…'` with
    the backslash doubled: the same value whatever `standard_conforming_strings` is (a plain
    `'a\\'` ends differently when it is off, which would let a value close its quote)."""
    for node in list(tree.find_all(exp.Literal)):
        if node.is_string and "\\" in node.this:
            body = node.this.replace("\\", "\\\\").replace("'", "''")
            node.replace(exp.Var(this=f"E'{body}'"))
    return tree


def to_sql(decision: Decision, source: str | Sequence[str] | exp.Expression, dialect: str = "duckdb", *,
           types: Mapping[str, str] | None = None, hash_key: bytes | str | None | ConfiguredKey = CONFIGURED,
           pretty: bool = False) -> str:
    """`SELECT <masked projection> FROM <source> WHERE <row filter>` in `dialect`.

    With a hash key (by default the configured one), keyed `hash` columns reference parameters
    (`hash_parameters()` gives their values by name; in Trino they are positional `?` markers,
    one per keyed column, each taking the key); use `render()` to get SQL and values at once.
    """
    return render(decision, source, dialect, types=types, hash_key=hash_key, pretty=pretty).sql
