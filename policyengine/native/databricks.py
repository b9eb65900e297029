"""Databricks Unity Catalog native objects from a compiled plan (rendered, not executed here;
docs/native.md). The mask bodies are Spark SQL, run on the suite's Spark (tests/engines).

Per product, from its consumer classes (`fold.py`):
- one column mask function per column (`CASE <class> WHEN ... THEN <value or mask> ELSE NULL
  END`), set with `ALTER TABLE ... ALTER COLUMN ... SET MASK` (a column has one mask);
- one row filter function per table (per class its predicate, FALSE for everyone else), set
  with `ALTER TABLE ... SET ROW FILTER` (a table has one row filter);
- `SELECT` on the table to each consumer's account group.
The reading consumer is the one mapped account group `is_account_group_member` finds in the
mapping table `apply` maintains (none or several: NULL, no class, default deny); its class per
product comes from a second mapping table. A denied column reads NULL (a column mask cannot
fail a query). Keyed `hash` is refused: no key store is documented that a mask function reads
and its callers cannot.
"""

from __future__ import annotations

import functools
import uuid

import sqlglot
from sqlglot import exp

from policyengine.native.compile import NativePlan
from policyengine.native.fold import (
    FoldedColumn,
    ProductFold,
    class_values,
    column_case,
    filter_columns,
    fold_plan,
    row_case,
    with_lookup,
)
from policyengine.native.rendered import (
    MARK,
    Options,
    RenderedError,
    Statement,
    base_table,
    dotted,
    engine_type,
    fill,
    ident,
    join,
    literal,
    object_name,
)

DIALECT = "databricks"
MASK_DIALECT = "spark"  # the mask building blocks (SparkMasks), proven on Spark
GROUPS_TABLE, CLASSES_TABLE = "pe_consumer_groups", "pe_consumer_classes"
KINDS = ("column mask functions", "row filter functions", "grants")
DEFAULTS = Options(policy_schema="main.policyengine", principal="pe_{consumer}")


def group_name(consumer: str, options: Options) -> str:
    return fill(options.principal, {"consumer": consumer}, "--principal")


def _in(options: Options, table: str) -> str:
    return f"{dotted(options.policy_schema, DIALECT)}.{ident(table, DIALECT)}"


@functools.lru_cache(maxsize=64)
def _lookup_template(options: Options) -> tuple[str, str]:
    """The lookup's SQL for a token product (parsed and printed once), and the token's literal."""
    product = "pe_product_" + uuid.uuid4().hex
    sql = (f"(SELECT MAX(k.class) FROM {_in(options, CLASSES_TABLE)} AS k WHERE k.product = {literal(product, DIALECT)} "
           f"AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM {_in(options, GROUPS_TABLE)} "
           "AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name)))")
    tree = sqlglot.parse_one(sql, read=DIALECT)
    return tree.sql(DIALECT), literal(product, DIALECT)


def class_lookup_sql(product: str, options: Options) -> str:
    """The reading consumer's class for `product` (NULL: no mapped group, several, or no class)."""
    template, token = _lookup_template(options)
    return template.replace(token, literal(product, DIALECT))


def class_lookup(product: str, options: Options) -> exp.Expr:
    """`class_lookup_sql` as a tree."""
    tree = sqlglot.parse_one(class_lookup_sql(product, options), read=DIALECT)
    assert isinstance(tree, exp.Expression)
    return tree


def product_statements(fold: ProductFold, options: Options) -> list[Statement]:
    table = base_table(fold.product, options.table, DIALECT)
    lookup_sql = class_lookup_sql(fold.product, options)
    schema = dotted(options.policy_schema, DIALECT)
    out: list[Statement] = []
    for column in fold.columns:
        kind = engine_type(column.logical_type, DIALECT, column.name)
        def build(k: exp.Expr, c: FoldedColumn = column) -> exp.Expr:
            return column_case(c, exp.column("val"), k, MASK_DIALECT)
        body = with_lookup(build, lookup_sql, DIALECT)
        body = f"CAST(NULL AS {kind})" if body == "NULL" else body  # nobody reads it: typed
        name = f"{schema}.{ident(object_name(fold.product, column.name), DIALECT)}"
        out.append(Statement("column mask functions", name,
                             f"CREATE OR REPLACE FUNCTION {name}(val {kind}) RETURNS {kind}\n"
                             f"  COMMENT {literal(MARK, DIALECT)}\n  RETURN {body}", body, DIALECT))
        out.append(Statement("column mask functions", name,
                             f"ALTER TABLE {table} ALTER COLUMN {ident(column.name, DIALECT)} SET MASK {name}"))
    args = filter_columns(fold)
    types = dict(fold.types)
    signature = ", ".join(f"{ident(a, DIALECT)} {engine_type(types.get(a), DIALECT, a)}" for a in args)
    body = with_lookup(lambda k: row_case(fold, k), lookup_sql, DIALECT)
    rname = f"{schema}.{ident(object_name(fold.product, 'rows'), DIALECT)}"
    out.append(Statement("row filter functions", rname,
                         f"CREATE OR REPLACE FUNCTION {rname}({signature}) RETURNS BOOLEAN\n"
                         f"  COMMENT {literal(MARK, DIALECT)}\n  RETURN {body}", body, DIALECT))
    out.append(Statement("row filter functions", rname, f"ALTER TABLE {table} SET ROW FILTER {rname} ON "
                         f"({', '.join(ident(a, DIALECT) for a in args)})"))
    for consumer in sorted(c for k in fold.classes for c in k.consumers):
        out.append(Statement("grants", consumer,
                             f"GRANT SELECT ON TABLE {table} TO {ident(group_name(consumer, options), DIALECT)}"))
    return out


def render_statements(plan: NativePlan, options: Options = DEFAULTS) -> list[Statement]:
    """Every statement, in apply order, as applied to a metastore holding none of them."""
    folds = fold_plan(plan)
    consumers = sorted({t.consumer for t in plan.tables} | {r.consumer for r in plan.refusals})
    out = [Statement("schema", options.policy_schema, f"CREATE SCHEMA IF NOT EXISTS "
                     f"{dotted(options.policy_schema, DIALECT)} COMMENT {literal(MARK, DIALECT)}")]
    out.append(Statement("mapping tables", GROUPS_TABLE, f"CREATE TABLE IF NOT EXISTS {_in(options, GROUPS_TABLE)} "
                         "(group_name STRING NOT NULL, consumer STRING NOT NULL)"))
    out.append(Statement("mapping tables", CLASSES_TABLE, f"CREATE TABLE IF NOT EXISTS "
                         f"{_in(options, CLASSES_TABLE)} (consumer STRING NOT NULL, product STRING NOT NULL, "
                         "class STRING NOT NULL)"))
    groups = ",\n  ".join(f"({literal(group_name(c, options), DIALECT)}, {literal(c, DIALECT)})"
                          for c in consumers)
    classes = ",\n  ".join(f"({literal(c, DIALECT)}, {literal(p, DIALECT)}, {literal(k, DIALECT)})"
                           for c, p, k in class_values(folds))
    if groups:
        out.append(Statement("mapping rows (replaced whole)", GROUPS_TABLE,
                             f"INSERT OVERWRITE {_in(options, GROUPS_TABLE)} VALUES\n  {groups}"))
    if classes:
        out.append(Statement("mapping rows (replaced whole)", CLASSES_TABLE,
                             f"INSERT OVERWRITE {_in(options, CLASSES_TABLE)} VALUES\n  {classes}"))
    per_product = [s for fold in folds for s in product_statements(fold, options)]
    return out + sorted(per_product, key=lambda s: KINDS.index(s.kind))


def readback(options: Options = DEFAULTS) -> str:
    catalog = options.policy_schema.split(".")[0]
    return "\n".join([
        "-- policyengine: read the live Unity Catalog state back (compare with apply.sql; not run here)",
        "-- the mask on every column and the row filter on every table:",
        f"SELECT * FROM {ident(catalog, DIALECT)}.information_schema.column_masks ORDER BY table_schema, "
        "table_name, column_name;",
        f"SELECT * FROM {ident(catalog, DIALECT)}.information_schema.row_filters ORDER BY table_schema, "
        "table_name;",
        "-- each function's body (compare with the CREATE FUNCTION statements):",
        f"SELECT routine_schema, routine_name, routine_definition FROM {ident(catalog, DIALECT)}"
        ".information_schema.routines",
        f"  WHERE routine_schema = {literal(options.policy_schema.split('.')[-1], DIALECT)};",
        "-- the mapping tables and the grants on each table:",
        f"SELECT * FROM {_in(options, GROUPS_TABLE)} ORDER BY group_name;",
        f"SELECT * FROM {_in(options, CLASSES_TABLE)} ORDER BY consumer, product;",
        "SHOW GRANTS ON TABLE <catalog>.<schema>.<table>;", ""])


def render_files(plan: NativePlan, options: Options = DEFAULTS, *, keyed: bool = False) -> dict[str, str]:
    try:
        statements = render_statements(plan, options)
    except ValueError as exc:
        raise RenderedError(str(exc)) from None
    header = ("-- policyengine native objects for databricks (Unity Catalog): RENDERED, NOT EXECUTED by "
              f"policyengine\n-- compiled at {plan.at.isoformat()} (policy {plan.policy_version or 'unversioned'})")
    return {"apply.sql": join(header, statements), "readback.sql": readback(options)}
