"""The policy AST: frozen dataclasses with source spans, shared by checker, formatter and compiler.

Spans never take part in equality, so `parse(fmt(x)) == parse(x)` compares meaning, not layout.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal as TLiteral

from policyengine.diagnostics import Span

NO_SPAN = Span("<none>", 0, 0, 0, 0)

# Expressions nest at most this deep: the parser refuses deeper ones (and the checker those built in
# code), since the checker, formatter and compiler recurse over them.
MAX_EXPR_DEPTH = 100


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Ident:
    """A name as written in the source (product pattern, column, tag, group, purpose...)."""

    text: str
    span: Span = _span()


# ---------------------------------------------------------------- expressions

LiteralValue = str | int | float | bool | dt.date | dt.datetime


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: string, number, boolean, date or UTC timestamp."""

    value: LiteralValue
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class ListExpr:
    """A list of constants, e.g. `["eu", "uk"]`."""

    items: tuple[Literal, ...]
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class ConsumerRef:
    """`consumer.<attribute>`; `consumer.id` and `consumer.groups` are built in."""

    attribute: str
    span: Span = _span()

    def __str__(self) -> str:
        return f"consumer.{self.attribute}"


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A column of the product (only meaningful in row filters)."""

    name: str
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class Compare:
    """A comparison of two operands."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class And:
    """All operands true (flattened: never directly contains another And)."""

    operands: tuple[Expr, ...]
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class Or:
    """Any operand true (flattened: never directly contains another Or)."""

    operands: tuple[Expr, ...]
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    operand: Expr
    span: Span = _span()

    def __str__(self) -> str:
        return format_expr(self)


Expr = Literal | ListExpr | ConsumerRef | ColumnRef | Compare | And | Or | Not


def walk(expr: Expr):
    """Every node of an expression, depth first."""
    yield expr
    if isinstance(expr, Compare):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, (And, Or)):
        for op in expr.operands:
            yield from walk(op)
    elif isinstance(expr, Not):
        yield from walk(expr.operand)
    elif isinstance(expr, ListExpr):
        yield from expr.items


# ---------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class Subject:
    """`everyone`, `user:<id>` or `group:<name>`."""

    kind: TLiteral["everyone", "user", "group"]
    name: str | None = None
    span: Span = _span()

    def __str__(self) -> str:
        return "everyone" if self.kind == "everyone" else f"{self.kind}:{self.name}"


@dataclass(frozen=True, slots=True)
class Subjects:
    """Who a rule is for: any of `include`, minus any of `exclude`."""

    include: tuple[Subject, ...]
    exclude: tuple[Subject, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductTarget:
    """A product or product glob (`sales.orders`, `sales.*`, `*`), optionally some of its columns.

    `columns is None` means every column.
    """

    product: Ident
    columns: tuple[Ident, ...] | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TagTarget:
    """Columns carrying any of `tags` (hierarchically), optionally only in `products` (globs)."""

    tags: tuple[Ident, ...]
    products: tuple[Ident, ...] = ()
    span: Span = _span()


Target = ProductTarget | TagTarget


@dataclass(frozen=True, slots=True)
class MaskArg:
    """One argument of a mask strategy: positional (`name is None`) or named."""

    name: str | None
    value: Literal
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MaskSpec:
    """A mask strategy as written: `hash`, `partial(first=2, last=2)`, `round(2)`..."""

    name: Ident
    args: tuple[MaskArg, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Annotation:
    """`@key("value")` before a rule; `@name` names the rule."""

    key: str
    value: str
    span: Span = _span()


RuleKind = TLiteral["allow", "deny", "mask", "filter"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy rule.

    `allow`/`deny` grant or forbid reading the target columns; `mask` rewrites them with
    `mask`; `filter` restricts rows of the target products with `row_filter`.
    `valid_from` is inclusive, `valid_until` exclusive (a date-only `until D` means the end of D).
    """

    kind: RuleKind
    target: Target
    subjects: Subjects
    purposes: tuple[Ident, ...] = ()
    condition: Expr | None = None
    valid_from: Literal | None = None
    valid_until: Literal | None = None
    mask: MaskSpec | None = None
    row_filter: Expr | None = None
    annotations: tuple[Annotation, ...] = ()
    span: Span = _span()

    @property
    def explicit_name(self) -> str | None:
        for a in self.annotations:
            if a.key == "name":
                return a.value
        return None

    @property
    def name(self) -> str:
        """The `@name`, or `<kind>@<file>:<line>` when the rule has none."""
        return self.explicit_name or f"{self.kind}@{self.span.file}:{self.span.line}"

    @property
    def location(self) -> str:
        return f"{self.span.file}:{self.span.line}"


@dataclass(frozen=True, slots=True)
class Scope:
    """`scope platform` (may govern every product) or `scope domain <name>`."""

    kind: TLiteral["platform", "domain"]
    domain: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Comment:
    """A `#` comment, kept so the formatter can put it back."""

    text: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One parsed policy file."""

    path: str
    scope: Scope | None
    rules: tuple[Rule, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)


# ---------------------------------------------------------------- canonical text
# Expressions print themselves (`__str__`) in the formatter's canonical form; the functions live
# here, with the nodes, so the AST needs nothing above it.

KEYWORDS = frozenset(
    ["scope", "platform", "domain", "allow", "deny", "mask", "filter", "everyone", "except", "for", "when", "from", "until", "and", "or", "not", "in", "contains", "true", "false", "read", "using", "rows", "where", "tagged", "to", "user", "group", "purpose", "purposes", "consumer"]
)
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*\Z")  # \Z: `$` would accept a trailing newline

# precedence: higher binds tighter
_OR, _AND, _NOT, _CMP, _ATOM = 1, 2, 3, 4, 5


def quote_string(value: str) -> str:
    """A double-quoted string literal that the parser reads back as `value`."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
               .replace("\r", "\\r"))
    return f'"{escaped}"'


def format_name(name: str) -> str:
    """A column name, back-quoted when it is not a plain name or is a keyword."""
    return name if PLAIN_NAME.match(name) and name not in KEYWORDS else f"`{name}`"


def format_literal(value: LiteralValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, dt.datetime):
        v = value.astimezone(dt.UTC)  # not strftime: its %Y does not pad years before 1000
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_expr(expr: Expr, parent: int = 0) -> str:
    """Render an expression with the fewest parentheses that keep its meaning."""
    if isinstance(expr, Literal):
        return format_literal(expr.value)
    if isinstance(expr, ListExpr):
        return "[" + ", ".join(format_literal(i.value) for i in expr.items) + "]"
    if isinstance(expr, ConsumerRef):
        return f"consumer.{expr.attribute}"
    if isinstance(expr, ColumnRef):
        return format_name(expr.name)
    if isinstance(expr, Compare):
        text = f"{format_expr(expr.left, _ATOM)} {expr.op} {format_expr(expr.right, _ATOM)}"
        prec = _CMP
    elif isinstance(expr, Not):
        text = f"not {format_expr(expr.operand, _NOT)}"
        prec = _NOT
    elif isinstance(expr, And):
        text = " and ".join(format_expr(o, _AND + 1) for o in expr.operands)
        prec = _AND
    elif isinstance(expr, Or):
        text = " or ".join(format_expr(o, _OR + 1) for o in expr.operands)
        prec = _OR
    else:  # pragma: no cover - exhaustive
        raise TypeError(f"not an expression: {expr!r}")
    return f"({text})" if prec < parent else text
