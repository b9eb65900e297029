"""Mask strategies: their one definition, arguments, the column types they fit, and strictness.

Every enforcement path (SQL dialects, Arrow) must produce exactly what `apply_mask` here produces;
this module is the reference. Nulls always stay null, except under `fixed_value` (below).

| strategy | fits | result | example |
|---|---|---|---|
| `null` | any | null | `"alice@x.com"` → null |
| `redact` / `redact("text")` | any | the constant (default `"***"`) as text | `42` → `"***"` |
| `hash` | any | SHA-256 hex of the value's text (HMAC-SHA-256 when a key is configured) | `"a"` → `"ca97…"` |
| `last4` | string, integer | every character but the last 4 becomes `*` | `"4111111111111111"` → `"************1111"` |
| `first4` | string, integer | every character but the first 4 becomes `*` | `"DE89370400440532013000"` → `"DE89******************"` |
| `partial(first=N, last=M)` | string, integer | keeps N leading and M trailing characters, `*` between | `partial(first=1, last=2)`: `"Alice"` → `"A**ce"` |
| `email_domain` | string | the local part becomes `***`; text without `@` becomes `***` | `"alice@x.com"` → `"***@x.com"` |
| `year` | date, timestamp | truncated to 1 January of its year (same type) | `1990-07-14` → `1990-01-01` |
| `round(N)` | integer, number | rounded half away from zero to N decimals (N < 0 rounds to tens, hundreds…) | `round(-3)`: `52340` → `52000` |

When the characters to keep (4, or N+M) are as many as the value has or more, every character
becomes `*` (a short value is never shown whole). A mask can still leave a value unchanged where
the value already has the masked shape: `year` on 1 January, `round` on an already-rounded
number, `last4` on a text made of `*`, `redact` on a value equal to its constant.

Strictness decides between masks that apply to the same column (strictest wins):
null > redact, fixed_value > hash > partial, last4, first4, email_domain, mask_alphanum,
show_first4, show_last4 > year, month, round. Within a level a mask
wins when it reveals no more than every other one: `partial(first=a, last=b)` (and `last4` =
partial(0, 4), `first4` = partial(4, 0)) wins over one that keeps at least a first and b last
characters; `round(N)` wins over `round(M)` when N <= M; any `redact` is as strict as another
(the smallest constant is shown). When no mask of the top level reveals less than all the others
(`last4` with `first4`, `email_domain` with `last4`), the column gets `hash`, which reveals no
characters: two masks together never show more than either alone, so a domain's looser mask can
never loosen a platform's. The result never depends on rule order.

The Iceberg read-restriction masks (same output as Apache Iceberg's actions, code point by code
point; nulls stay null):

| strategy | fits | result | example |
|---|---|---|---|
| `mask_alphanum` | string | each digit 0-9 becomes `n`, `( ) , . - @` stay, every other code point becomes `x` | `"(555) 123-4567"` → `"(nnn)xnnn-nnnn"` |
| `show_first4` | string | the first 4 code points stay, the rest as `mask_alphanum`; 4 or fewer: unchanged | `"prashant010696@gmail.com"` → `"prasxxxxnnnnnn@xxxxx.xxx"` |
| `show_last4` | string | the last 4 code points stay, the rest as `mask_alphanum`; 4 or fewer: unchanged | `"4111-1111-1111-4444"` → `"nnnn-nnnn-nnnn-4444"` |
| `month` | date, timestamp | truncated to the 1st of its month (same type; UTC for a timestamp with a time zone) | `1990-07-14` → `1990-07-01` |
| `fixed_value` | string, integer, number, boolean, date, timestamp | every value **and every null** becomes its type's fixed value: `XXXXXXXX`, 0, 0.0, false, 1970-01-01, 1970-01-01 00:00:00 (UTC) | `null` → `"XXXXXXXX"` |

Unlike `first4`/`last4`, `show_first4`/`show_last4` show a value of 4 or fewer characters whole
(Iceberg's definition), and they reveal the value's shape (digits, punctuation): they are level 3
but never stand in for `first4`/`last4` (two of them on one column give `hash`). `fixed_value`
is the one mask that does not keep nulls (Iceberg's mask-to-fixed-value does not): it reveals
nothing, not even nullness, so it is level 5 with `redact` and wins over any `redact`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from policyengine.language import ast
from policyengine.language.values import type_name

ANY_TYPE = frozenset({"string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"})
TEXTUAL = frozenset({"string", "integer"})


@dataclass(frozen=True, slots=True)
class ParamDef:
    """One parameter of a strategy."""

    name: str
    kind: type
    default: Any = None
    required: bool = False
    minimum: int | None = None


class SqlBuilder(Protocol):
    """What a strategy's SQL form is written with: the building blocks of one dialect for one
    column (`policyengine.enforce.sql_masks.SqlMasks` and its subclass per dialect implement it).
    Expressions are sqlglot nodes, typed `Any` here so the language stage never imports sqlglot."""

    @property
    def keyed(self) -> bool: ...  # whether `hash` binds the HMAC key

    def null(self) -> Any: ...
    def constant(self, col: Any, text: str) -> Any: ...
    def sha256_hex(self, col: Any) -> Any: ...
    def hmac_hex(self, col: Any) -> Any: ...
    def keep(self, col: Any, first: int, last: int) -> Any: ...
    def email_domain(self, col: Any) -> Any: ...
    def year(self, col: Any) -> Any: ...
    def month(self, col: Any) -> Any: ...
    def round(self, col: Any, digits: int) -> Any: ...
    def fixed_value(self, col: Any) -> Any: ...
    def mask_alphanum(self, col: Any) -> Any: ...
    def show_first4(self, col: Any) -> Any: ...
    def show_last4(self, col: Any) -> Any: ...


class Strategy:
    """One mask strategy, declared once: what the language accepts (name, parameters, the column
    types it fits), how strict it is, what it computes (`reference`, the definition every
    enforcement path must match), how SQL computes it (`sql`, written against the per-dialect
    primitives of `policyengine.enforce.sql_masks.SqlMasks`), where SQL cannot (`sql_unsupported`), and
    the Iceberg read-restriction action it maps to (`iceberg`; None: no faithful action, refused).

    Adding a strategy is one subclass decorated with `@register`, plus its tests; the registry
    test checks every strategy has every implementation or an explicit "not supported" entry.
    """

    name: ClassVar[str]
    level: ClassVar[int]
    params: ClassVar[tuple[ParamDef, ...]] = ()
    fits: ClassVar[frozenset[str]]
    summary: ClassVar[str]
    # False for strategies that never read the value (they apply to any Arrow type, even structs)
    reads_value: ClassVar[bool] = True
    iceberg: ClassVar[str | None] = None
    # the Iceberg types on which `reference` equals the `iceberg` action's output (None: every
    # type the action applies to); on any other type the action is refused (enforce/iceberg.py)
    iceberg_types: ClassVar[frozenset[str] | None] = None
    # False for a strategy that replaces nulls too (`fixed_value`, as Iceberg's mask-to-fixed-value)
    keeps_null: ClassVar[bool] = True
    # True for a strategy whose output does not depend on the value at all (not even on null)
    reveals_nothing: ClassVar[bool] = False

    def kept(self, strategy: MaskStrategy) -> tuple[int, int] | None:
        """(first, last) characters a partial-family mask keeps; None for other strategies."""
        return None

    def reveals_no_more(self, a: MaskStrategy, b: MaskStrategy) -> bool:
        """Within this strategy (same name), whether `a` shows no more than `b` (default: any
        two are as strict, e.g. two `redact` constants)."""
        return True

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        """The result on one non-null value (pure Python: slow, but the definition)."""
        raise NotImplementedError

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        """The SQL expression (a sqlglot node) built from `masks`, the dialect's primitives."""
        raise NotImplementedError

    def sql_unsupported(self, dialect: str, keyed: bool) -> str | None:
        """Why this strategy has no SQL form in `dialect` (None: it has one)."""
        return None

    def reference_null(self, strategy: MaskStrategy, logical_type: str | None) -> Any:
        """The result on a null of a column of `logical_type` (None unless `keeps_null` is False)."""
        return None


STRATEGIES: dict[str, Strategy] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Add a strategy class to the registry (its one declaration)."""
    if cls.name in STRATEGIES:
        raise ValueError(f"mask strategy {cls.name!r} is declared twice")
    STRATEGIES[cls.name] = cls()
    return cls


@dataclass(frozen=True, slots=True, order=True)
class MaskStrategy:
    """A resolved strategy with its arguments (every parameter named, defaults filled in)."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()

    @property
    def level(self) -> int:
        return STRATEGIES[self.name].level

    @property
    def definition(self) -> Strategy:
        """The strategy's declaration in the registry."""
        return STRATEGIES[self.name]

    def arg(self, name: str) -> Any:
        for k, v in self.args:
            if k == name:
                return v
        raise KeyError(name)

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.args)

    def strictness_key(self) -> tuple:
        """Sort key: larger is stricter (level first, then a fixed tie-break)."""
        return (self.level, self.name, tuple((k, repr(v)) for k, v in self.args))

    def __str__(self) -> str:
        if not self.args:
            return self.name
        inner = ", ".join(f"{k}={ast.format_literal(v)}" for k, v in self.args)
        return f"{self.name}({inner})"


class MaskSpecError(ValueError):
    """A mask spec that names an unknown strategy or has wrong arguments."""

    def __init__(self, message: str, span=None):
        super().__init__(message)
        self.span = span


def resolve_mask(spec: ast.MaskSpec) -> MaskStrategy:
    """Check a written strategy against its definition and fill in defaults."""
    from policyengine.diagnostics import did_you_mean

    name = spec.name.text
    sdef = STRATEGIES.get(name)
    if sdef is None:
        raise MaskSpecError(f"unknown mask strategy '{name}'{did_you_mean(name, STRATEGIES)}; "
                            f"known: {', '.join(STRATEGIES)}", spec.name.span)
    values: dict[str, Any] = {}
    params = list(sdef.params)
    for i, arg in enumerate(spec.args):
        if arg.name is None:
            if i >= len(params):
                raise MaskSpecError(f"'{name}' takes {len(params)} argument(s), got {len(spec.args)}", arg.span)
            pname = params[i].name
        else:
            pname = arg.name
            if pname not in {p.name for p in params}:
                known = ", ".join(p.name for p in params) or "none"
                raise MaskSpecError(f"'{name}' has no argument '{pname}' (arguments: {known})", arg.span)
        if pname in values:
            raise MaskSpecError(f"argument '{pname}' of '{name}' given twice", arg.span)
        pdef = next(p for p in params if p.name == pname)
        value = arg.value.value
        if pdef.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise MaskSpecError(f"argument '{pname}' of '{name}' must be an integer", arg.span)
        if pdef.kind is str and not isinstance(value, str):
            raise MaskSpecError(f"argument '{pname}' of '{name}' must be a string", arg.span)
        if pdef.minimum is not None and isinstance(value, int) and value < pdef.minimum:  # kind int, checked above
            raise MaskSpecError(f"argument '{pname}' of '{name}' must be >= {pdef.minimum}", arg.span)
        values[pname] = value
    for p in params:
        if p.name not in values:
            if p.required:
                raise MaskSpecError(f"'{name}' needs argument '{p.name}'", spec.span)
            values[p.name] = p.default
    return MaskStrategy(name, tuple((p.name, values[p.name]) for p in params))


def fits(strategy: MaskStrategy | str, logical_type: str) -> bool:
    """Whether a strategy can be applied to a column of this logical type."""
    name = strategy if isinstance(strategy, str) else strategy.name
    return logical_type in STRATEGIES[name].fits


def reveals_no_more(a: MaskStrategy, b: MaskStrategy) -> bool:
    """Whether `a` shows no more of a value than `b` does (so `a` may stand in for both)."""
    if a.level != b.level:
        return a.level > b.level
    if a == b:
        return True
    sa, sb = STRATEGIES[a.name], STRATEGIES[b.name]
    if sa.reveals_nothing:
        return True
    ka, kb = sa.kept(a), sb.kept(b)
    if ka is not None and kb is not None:
        return ka[0] <= kb[0] and ka[1] <= kb[1]
    return a.name == b.name and sa.reveals_no_more(a, b)


HASH = MaskStrategy("hash")


def strictest(strategies: list[MaskStrategy]) -> MaskStrategy:
    """The strategy that wins when several masks apply to one column: the one that reveals no
    more than every other; `hash` when the strongest ones are incomparable (see module doc)."""
    top = max(s.level for s in strategies)
    candidates = sorted({s for s in strategies if s.level == top}, key=MaskStrategy.strictness_key)
    for candidate in candidates:
        if all(reveals_no_more(candidate, other) for other in candidates):
            return candidate
    return HASH


# ---------------------------------------------------------------- reference implementation


def _utc(value: dt.datetime) -> dt.datetime:
    """A timestamp with a time zone as its UTC instant (still aware); a naive one unchanged."""
    return value.astimezone(dt.UTC) if value.tzinfo is not None and value.utcoffset() is not None else value


def value_text(value: Any) -> str:
    """The text a value is hashed/sliced as (matches SQL CAST(... AS VARCHAR) in DuckDB).

    A timestamp with a time zone is converted to UTC and written as naive UTC text, without an
    offset: `2019-12-31 19:30:03.12-05:00` reads `2020-01-01 00:30:03.12` (the rendered SQL
    does the same in every dialect that can; DuckDB's own cast would append `+00`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        value = _utc(value).replace(tzinfo=None)
        # DuckDB prints the fraction of a second without trailing zeros ("...00.12", not "...00.120000")
        return value.isoformat(sep=" ").rstrip("0").rstrip(".") if value.microsecond else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def keep_characters(text: str, first: int, last: int) -> str:
    """`first` leading and `last` trailing characters kept, `*` between; all `*` when the text is
    not longer than first + last (a short value is never shown whole)."""
    n = len(text)
    if first + last >= n:
        return "*" * n
    return text[:first] + "*" * (n - first - last) + (text[n - last:] if last else "")


def apply_mask(strategy: MaskStrategy, value: Any, key: bytes | None = None,
               logical_type: str | None = None) -> Any:
    """The reference result of a mask on one value (pure Python; slow, but the definition).
    Nulls stay null, except for a strategy that replaces them (`fixed_value`), which needs the
    column's `logical_type` (`timestamptz` for a timestamp with a time zone) to know its value."""
    definition = STRATEGIES.get(strategy.name)
    if definition is None:
        raise ValueError(f"unknown mask strategy {strategy.name!r}")
    if value is None:
        return None if definition.keeps_null else definition.reference_null(strategy, logical_type)
    return definition.reference(strategy, value, key)


# ---------------------------------------------------------------- the strategies


@register
class Null(Strategy):
    name, level, fits, summary = "null", 6, ANY_TYPE, "replace the value with null"
    reads_value = False
    iceberg = "replace-with-null"

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        return None

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.null()


@register
class Redact(Strategy):
    name, level, fits, summary = "redact", 5, ANY_TYPE, "replace the value with a constant text"
    params = (ParamDef("text", str, "***"),)
    reads_value = False

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        return strategy.arg("text")

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.constant(col, str(strategy.arg("text")))


@register
class Hash(Strategy):
    name, level, fits, summary = "hash", 4, ANY_TYPE, "SHA-256 hex (HMAC-SHA-256 with the configured key)"
    # Iceberg's sha-256-global is the lowercase hex SHA-256 of the UTF-8 text on strings only (on
    # int/long/binary it returns an int/long/bytes); with a hash key this is HMAC: refused then
    iceberg, iceberg_types = "sha-256-global", frozenset({"string"})
    # HMAC needs a native function or SHA-256 over bytes SQL can concatenate
    KEYED_DIALECTS: ClassVar[frozenset[str]] = frozenset({"duckdb", "trino", "postgres"})

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        data = value_text(value).encode("utf-8")
        if key:
            return hmac.new(key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.hmac_hex(col) if masks.keyed else masks.sha256_hex(col)

    def sql_unsupported(self, dialect: str, keyed: bool) -> str | None:
        if keyed and dialect not in self.KEYED_DIALECTS:
            return (f"keyed hash (HMAC-SHA-256) has no SQL form in {dialect}: it has no HMAC function; "
                    "enforce through DuckDB/Arrow, or unset the hash key to use plain SHA-256")
        return None


class _Keep(Strategy):
    """The partial family: keep some leading and trailing characters of the value's text."""

    level, fits = 3, TEXTUAL

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        first, last = self.kept(strategy)  # type: ignore[misc]
        return keep_characters(value_text(value), first, last)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        first, last = self.kept(strategy)  # type: ignore[misc]
        return masks.keep(col, first, last)


@register
class Partial(_Keep):
    name, summary = "partial", "keep the first N and last M characters"
    params = (ParamDef("first", int, required=True, minimum=0), ParamDef("last", int, required=True, minimum=0))

    def kept(self, strategy: MaskStrategy) -> tuple[int, int]:
        return int(strategy.arg("first")), int(strategy.arg("last"))


@register
class Last4(_Keep):
    name, summary = "last4", "keep the last 4 characters"

    def kept(self, strategy: MaskStrategy) -> tuple[int, int]:
        return 0, 4


@register
class First4(_Keep):
    name, summary = "first4", "keep the first 4 characters"

    def kept(self, strategy: MaskStrategy) -> tuple[int, int]:
        return 4, 0


@register
class EmailDomain(Strategy):
    name, level, fits, summary = "email_domain", 3, frozenset({"string"}), "keep only the e-mail domain"

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        text = value_text(value)
        at = text.rfind("@")
        return "***" + text[at:] if at >= 0 else "***"

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.email_domain(col)


@register
class Year(Strategy):
    name, level, fits, summary = "year", 2, frozenset({"date", "timestamp"}), "truncate a date to its year"
    iceberg = "truncate-to-year"

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        if isinstance(value, dt.datetime):  # with a time zone: the year of its UTC instant, in UTC
            return _utc(value).replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        return value.replace(month=1, day=1)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.year(col)


@register
class Round(Strategy):
    name, level, fits, summary = "round", 2, frozenset({"integer", "number"}), "round a number to N decimals"
    params = (ParamDef("digits", int, 0),)

    def reveals_no_more(self, a: MaskStrategy, b: MaskStrategy) -> bool:
        return a.arg("digits") <= b.arg("digits")

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        digits = strategy.arg("digits")
        quant = decimal.Decimal(1).scaleb(-digits)
        number = decimal.Decimal(str(value))
        if digits >= 0:
            rounded = number.quantize(quant, rounding=decimal.ROUND_HALF_UP)
        else:
            rounded = (number / quant).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP) * quant
        return int(rounded) if isinstance(value, int) else float(rounded)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.round(col, int(strategy.arg("digits")))


# ---------------------------------------------------------------- Iceberg's masks
# Apache Iceberg's read-restriction actions (org.apache.iceberg.functions, apache/iceberg PR 16082:
# MaskAlphanum, ShowFirst4, ShowLast4, TruncateToMonth), matched code point by code point. Java
# walks a String's code points: a surrogate pair is one code point, a lone surrogate one too.

ALPHANUM_KEPT = frozenset("(),.-@")


def java_code_points(text: str) -> list[str]:
    """The code points Java's `String.codePointAt` walk sees: a surrogate pair left as two
    Python characters (only possible in text that did not come from UTF-8) joins into one, as a
    Java String holds it; a lone surrogate stays one code point."""
    if text.isascii() or not any("\ud800" <= c <= "\udfff" for c in text):
        return list(text)
    return list(text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass"))


def mask_code_point(c: str) -> str:
    """Iceberg's `MaskAlphanum.maskCodePoint`: ASCII digits → `n`, `( ) , . - @` kept, all else `x`."""
    if "0" <= c <= "9":
        return "n"
    return c if c in ALPHANUM_KEPT else "x"


def mask_alphanum(text: str) -> str:
    """Iceberg's mask-alphanum on one string."""
    return "".join(mask_code_point(c) for c in java_code_points(text))


def show_first4(text: str) -> str:
    """Iceberg's show-first-4: the first 4 code points kept, the rest mask-alphanum'd; a value of
    4 or fewer code points unchanged."""
    points = java_code_points(text)
    if len(points) <= 4:
        return text
    return "".join(points[:4]) + "".join(mask_code_point(c) for c in points[4:])


def show_last4(text: str) -> str:
    """Iceberg's show-last-4: the last 4 code points kept, the rest mask-alphanum'd; a value of
    4 or fewer code points unchanged."""
    points = java_code_points(text)
    if len(points) <= 4:
        return text
    return "".join(mask_code_point(c) for c in points[:-4]) + "".join(points[-4:])


class _Alphanum(Strategy):
    """The mask-alphanum family (strings only, as Iceberg's actions)."""

    level, fits = 3, frozenset({"string"})
    function: ClassVar[Any]

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        return type(self).function(value_text(value))


@register
class MaskAlphanum(_Alphanum):
    name, summary = "mask_alphanum", "digits become n, ( ) , . - @ stay, everything else becomes x"
    iceberg = "mask-alphanum"
    function = staticmethod(mask_alphanum)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.mask_alphanum(col)


@register
class ShowFirst4(_Alphanum):
    name, summary = "show_first4", "keep the first 4 characters, mask_alphanum the rest"
    iceberg = "show-first-4"
    function = staticmethod(show_first4)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.show_first4(col)


@register
class ShowLast4(_Alphanum):
    name, summary = "show_last4", "keep the last 4 characters, mask_alphanum the rest"
    iceberg = "show-last-4"
    function = staticmethod(show_last4)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.show_last4(col)


@register
class Month(Strategy):
    name, level, fits, summary = "month", 2, frozenset({"date", "timestamp"}), "truncate a date to its month"
    iceberg = "truncate-to-month"

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        if isinstance(value, dt.datetime):  # with a time zone: the month of its UTC instant, in UTC
            return _utc(value).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return value.replace(day=1)

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.month(col)


FIXED_VALUES: dict[str, Any] = {  # Iceberg's MaskToFixedValue, per logical type of ours
    "string": "XXXXXXXX", "integer": 0, "number": 0.0, "boolean": False, "date": dt.date(1970, 1, 1),
    "timestamp": dt.datetime(1970, 1, 1), "timestamptz": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
}


def _logical_type_of(value: Any) -> str:
    """The catalog type of a value (`values.type_name`), a tz-aware datetime as `timestamptz`."""
    name = type_name(value)
    if name == "timestamp" and value.tzinfo is not None and value.utcoffset() is not None:
        return "timestamptz"
    if name not in FIXED_VALUES:
        raise ValueError(f"mask 'fixed_value' has no fixed value for a {type(value).__name__}")
    return name


@register
class FixedValue(Strategy):
    """Iceberg's mask-to-fixed-value (MaskToFixedValue): every value, null included, becomes its
    type's fixed value: `XXXXXXXX`, 0, 0.0, false, 1970-01-01, 1970-01-01 00:00:00 (UTC)."""

    name, level, summary = "fixed_value", 5, "replace every value, null included, with its type's fixed value"
    fits = frozenset(FIXED_VALUES) - {"timestamptz"}
    iceberg = "mask-to-fixed-value"
    # decimal, time, uuid, binary, fixed, nested: our SQL would change the column's type there
    iceberg_types = frozenset({"string", "int", "long", "float", "double", "boolean", "date", "timestamp",
                               "timestamptz", "timestamp_ns", "timestamptz_ns"})
    keeps_null = False
    reveals_nothing = True

    def reference(self, strategy: MaskStrategy, value: Any, key: bytes | None) -> Any:
        return FIXED_VALUES[_logical_type_of(value)]

    def reference_null(self, strategy: MaskStrategy, logical_type: str | None) -> Any:
        if logical_type not in FIXED_VALUES:
            raise ValueError(f"mask 'fixed_value' needs the column's type to replace a null, got {logical_type}")
        return FIXED_VALUES[logical_type]

    def sql(self, masks: SqlBuilder, col: Any, strategy: MaskStrategy) -> Any:
        return masks.fixed_value(col)
