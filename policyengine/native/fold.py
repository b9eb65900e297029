"""Per-product objects from per-consumer plans: the consumer classes of one product, folded.

Engines that attach one policy to a column or a table (Snowflake masking and row access
policies, Unity Catalog column masks and row filters, BigQuery policy tags and row access
policies) need one object per column and one per table, whoever reads it. `fold_plan` groups the
consumers of each product into classes (consumers whose table plans are equal: same readable
columns, masks and row filter after their attributes were substituted) and folds each column
into ordered branches `class set -> allow | mask`. A consumer in no class (it reads nothing of
the product, or its pair was refused) falls to the default: no value, no row (deny).

Nothing is decided here: the classes are `evaluate()`'s decisions as `compile.py` folded them
(deny > strictest mask > allow, default deny). A class's name is a digest of its outcome, so
moving a consumer between existing classes changes only the mapping table `apply` maintains,
never a policy body.

`column_case` and `row_case` render the folded forms as SQL in any dialect of
`policyengine.enforce.sql_masks`, given the SQL expression that yields the reading consumer's
class (each target's own lookup; a literal in tests).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from policyengine.enforce.sql_filters import filter_expression
from policyengine.enforce.sql_masks import mask_expression
from policyengine.engine.decision import Decision
from policyengine.language.masks import MaskStrategy
from policyengine.native.compile import ColumnPlan, NativePlan, TablePlan


@dataclass(frozen=True)
class ConsumerClass:
    """Consumers of one product whose table plans are equal (one outcome, one branch each)."""

    name: str  # "k" + digest of the outcome: stable while the outcome is
    consumers: tuple[str, ...]
    columns: tuple[ColumnPlan, ...]
    denied: tuple[str, ...]
    row_filter: str | None
    decision: Decision = field(compare=False, repr=False)  # one member's: the row filter's tree


@dataclass(frozen=True)
class Branch:
    """Classes that read one column the same way (`allow`, or one mask with its arguments)."""

    classes: tuple[str, ...]
    effect: str
    strategy: str | None
    args: tuple[tuple[str, object], ...]
    rules: tuple[str, ...]  # the deciding rules' file:line:col

    @property
    def mask(self) -> MaskStrategy | None:
        return MaskStrategy(self.strategy, self.args) if self.effect == "mask" and self.strategy else None


@dataclass(frozen=True)
class FoldedColumn:
    name: str
    logical_type: str | None
    branches: tuple[Branch, ...]  # a class in no branch reads no value (deny)


@dataclass(frozen=True)
class RowBranch:
    classes: tuple[str, ...]
    row_filter: str | None  # None: every row
    decision: Decision = field(compare=False, repr=False)


@dataclass(frozen=True)
class ProductFold:
    """One product's classes, per-column branches and per-class row predicates."""

    product: str
    classes: tuple[ConsumerClass, ...]
    columns: tuple[FoldedColumn, ...]
    rows: tuple[RowBranch, ...]
    types: tuple[tuple[str, str], ...]

    def class_of(self, consumer: str) -> str | None:
        return next((c.name for c in self.classes if consumer in c.consumers), None)


def _outcome(table: TablePlan) -> tuple[object, ...]:
    return (tuple((c.name, c.effect, c.strategy, c.args) for c in table.columns), table.denied, table.row_filter)


def class_name(table: TablePlan) -> str:
    text = json.dumps(_outcome(table), default=str, sort_keys=True)
    return "k" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def fold_product(product: str, tables: Sequence[TablePlan]) -> ProductFold:
    """The classes of one product's table plans, its columns' branches and its row branches."""
    groups: dict[str, list[TablePlan]] = {}
    for table in tables:
        groups.setdefault(class_name(table), []).append(table)
    classes = tuple(ConsumerClass(name, tuple(sorted(t.consumer for t in members)), members[0].columns,
                                  members[0].denied, members[0].row_filter, members[0].decision)
                    for name, members in sorted(groups.items()))
    order: list[str] = []
    types: dict[str, str] = {}
    for table in tables:
        types.update(dict(table.types))
        for name in table.decision.columns:
            if name not in order:
                order.append(name)
    columns: list[FoldedColumn] = []
    for name in order:
        branches: dict[tuple[object, ...], tuple[list[str], list[str]]] = {}
        for cls in classes:
            plan = next((c for c in cls.columns if c.name == name), None)
            if plan is None:
                continue
            members, rules = branches.setdefault((plan.effect, plan.strategy, plan.args), ([], []))
            members.append(cls.name)
            if plan.rule not in rules:
                rules.append(plan.rule)
        columns.append(FoldedColumn(name, types.get(name), tuple(
            Branch(tuple(members), str(effect), strategy, args, tuple(rules))  # type: ignore[arg-type]
            for (effect, strategy, args), (members, rules) in branches.items())))
    rows: dict[str | None, tuple[list[str], Decision]] = {}
    for cls in classes:
        rows.setdefault(cls.row_filter, ([], cls.decision))[0].append(cls.name)
    return ProductFold(product, classes, tuple(columns),
                       tuple(RowBranch(tuple(m), f, d) for f, (m, d) in rows.items()), tuple(sorted(types.items())))


def fold_plan(plan: NativePlan) -> tuple[ProductFold, ...]:
    """Every product of `plan` that some consumer reads, folded (products in name order)."""
    by_product: dict[str, list[TablePlan]] = {}
    for table in plan.tables:
        by_product.setdefault(table.product, []).append(table)
    return tuple(fold_product(p, ts) for p, ts in sorted(by_product.items()))


# ---------------------------------------------------------------- SQL of the folded forms

Hmac = Callable[[exp.Expr, str | None], exp.Expr]  # (column, logical type) -> HMAC hex


def _by_class(class_expr: exp.Expr, whens: Sequence[tuple[str, exp.Expr]],
              default: exp.Expr) -> exp.Expr:
    """`CASE <class> WHEN 'k1' THEN ... ELSE default END` (the class computed once; a NULL class,
    no consumer or several at once, matches no WHEN)."""
    if not whens:
        return default
    return exp.Case(this=class_expr.copy(), ifs=[exp.If(this=exp.Literal.string(k), true=v) for k, v in whens],
                    default=default)


def column_case(column: FoldedColumn, value: exp.Expr, class_expr: exp.Expr, dialect: str, *,
                keyed: bool = False, hmac: Hmac | None = None,
                types: Mapping[str, str] | None = None) -> exp.Expr:
    """The column's one mask body: per class its value, mask or NULL; any other reader NULL.
    `hmac`: how the target computes a keyed `hash` (from a key only the policy owner reads)."""
    logical_type = (types or {}).get(column.name, column.logical_type)
    whens: list[tuple[str, exp.Expr]] = []
    for branch in column.branches:
        strategy = branch.mask
        for name in branch.classes:
            if strategy is None:
                then = value.copy()
            elif strategy.name == "hash" and keyed and hmac is not None:
                then = hmac(value.copy(), logical_type)
            else:
                then = mask_expression(strategy, value.copy(), dialect, logical_type=logical_type, keyed=keyed,
                                       column=column.name)
            whens.append((name, then))
    return _by_class(class_expr, sorted(whens, key=lambda w: w[0]), exp.Null())


def row_case(fold: ProductFold, class_expr: exp.Expr, *, table: str | None = None,
             types: Mapping[str, str] | None = None) -> exp.Expr:
    """The product's one row predicate: per class its row filter (TRUE without one), FALSE for
    every other reader (`COALESCE(..., FALSE)`: a NULL predicate keeps no row either)."""
    whens: list[tuple[str, exp.Expr]] = []
    for branch in fold.rows:
        predicate: exp.Expr = exp.Boolean(this=True) if branch.decision.row_filter is None else \
            filter_expression(branch.decision.row_filter, table=table, types=dict(types or dict(fold.types)))
        whens += [(name, exp.Paren(this=predicate.copy())) for name in branch.classes]
    body = _by_class(class_expr, sorted(whens, key=lambda w: w[0]), exp.Boolean(this=False))
    return exp.Coalesce(this=body, expressions=[exp.Boolean(this=False)])


def with_lookup(build: Callable[[exp.Expr], exp.Expr], lookup_sql: str, dialect: str) -> str:
    """`build(<class>)`'s SQL in `dialect` with the class lookup's SQL in place of a one-time
    token (rendering the lookup once per product, not once per column: 40x faster on W1). The
    token is random, so no literal of a policy can hold it."""
    token = "pe_class_" + uuid.uuid4().hex
    sql = build(exp.column(token)).sql(dialect)
    return sql.replace(token, lookup_sql)


def class_values(plan_folds: Sequence[ProductFold]) -> tuple[tuple[str, str, str], ...]:
    """The mapping table's rows: (consumer, product, class), sorted."""
    return tuple(sorted((c, f.product, k.name) for f in plan_folds for k in f.classes for c in k.consumers))


def filter_columns(fold: ProductFold) -> tuple[str, ...]:
    """The columns the row predicate reads (the row policy's arguments), in product order."""
    used: set[str] = set()
    for branch in fold.rows:
        if branch.decision.row_filter is None:
            continue
        tree = filter_expression(branch.decision.row_filter, types=dict(fold.types))
        used |= {c.name for c in tree.find_all(exp.Column)}
    return tuple(c.name for c in fold.columns if c.name in used)
