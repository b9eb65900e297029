"""Snowflake native objects from a compiled plan (rendered, not executed here; docs/native.md).

Per product, from its consumer classes (`fold.py`):
- one masking policy per column (`CASE <class> WHEN ... THEN <value or mask> ELSE NULL END`),
  set on the column: a column has one masking policy, so every class's branch is in it;
- one projection policy per column some class may not read (`ALLOW => FALSE, ENFORCEMENT =>
  'FAIL'`: selecting it fails; the masking policy's NULL covers WHERE, joins and inner queries,
  where projection policies do not apply);
- one row access policy per table (per class its predicate, FALSE for everyone else);
- a role per consumer, granted SELECT on the tables it reads.
The reading consumer is the one consumer role IS_ROLE_IN_SESSION finds in the mapping table
`apply` maintains (none or several: NULL, no class, default deny); its class per product comes from
a second mapping table. Policy bodies run with the policy owner's rights, so consumers need no
privilege on the mapping tables or on the key table of keyed `hash`, which holds the HMAC key's
pads only (never in a policy body, so GET_DDL and DESCRIBE print no key).
"""

from __future__ import annotations

import functools
import uuid

import sqlglot
from sqlglot import exp

from policyengine.enforce.sql_masks import masks_for
from policyengine.native.compile import NativePlan
from policyengine.native.fold import (
    FoldedColumn,
    Hmac,
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

DIALECT = "snowflake"
ROLES_TABLE, CLASSES_TABLE, KEY_TABLE = "PE_CONSUMER_ROLES", "PE_CONSUMER_CLASSES", "PE_HMAC_PADS"
KINDS = ("masking policies", "projection policies", "row access policies", "grants")
DEFAULTS = Options(policy_schema="POLICYENGINE.GOVERNANCE", principal="PE_{consumer}")


def role_name(consumer: str, options: Options) -> str:
    """The consumer's role, as stored (quoted when created: IS_ROLE_IN_SESSION matches it exactly)."""
    return fill(options.principal, {"consumer": consumer}, "--principal")


def _in(options: Options, table: str) -> str:
    return f"{dotted(options.policy_schema, DIALECT)}.{ident(table, DIALECT)}"


@functools.lru_cache(maxsize=64)
def _lookup_template(options: Options) -> tuple[str, str]:
    """The lookup's SQL for a token product (parsed and printed once), and the token's literal."""
    product = "pe_product_" + uuid.uuid4().hex
    sql = (f"(SELECT MAX(k.class) FROM {_in(options, CLASSES_TABLE)} AS k WHERE k.product = "
           f"{literal(product, DIALECT)} AND k.consumer = (SELECT IFF(COUNT(*) = 1, MAX(r.consumer), NULL) "
           f"FROM {_in(options, ROLES_TABLE)} AS r WHERE IS_ROLE_IN_SESSION(r.role_name)))")
    tree = sqlglot.parse_one(sql, read=DIALECT)
    return tree.sql(DIALECT), literal(product, DIALECT)


def class_lookup_sql(product: str, options: Options) -> str:
    """The reading consumer's class for `product` (NULL: no consumer role, several, or no class)."""
    template, token = _lookup_template(options)
    return template.replace(token, literal(product, DIALECT))


def class_lookup(product: str, options: Options) -> exp.Expr:
    """`class_lookup_sql` as a tree."""
    tree = sqlglot.parse_one(class_lookup_sql(product, options), read=DIALECT)
    assert isinstance(tree, exp.Expression)
    return tree


def hmac(options: Options) -> Hmac:
    """HMAC-SHA-256 of a value's text from the pads in the owner-only key table (SHA2 over
    BINARY concatenations: the same composition the PostgreSQL target proves live)."""
    pads = _in(options, KEY_TABLE)

    def build(value: exp.Expr, logical_type: str | None) -> exp.Expr:
        text = masks_for(DIALECT, logical_type).text(value)
        tree = sqlglot.parse_one(f"SHA2(CONCAT((SELECT p.opad FROM {pads} AS p), SHA2_BINARY(CONCAT((SELECT "
                                 f"p.ipad FROM {pads} AS p), TO_BINARY(pe_value, 'UTF-8')), 256)), 256)", read=DIALECT)
        for node in list(tree.find_all(exp.Column)):
            if node.name == "pe_value":
                node.replace(text.copy())
        assert isinstance(tree, exp.Expression)
        return tree
    return build


def _plain_column(fold: ProductFold) -> tuple[str, ...]:
    """A column for a row access policy that filters on none (its signature needs one, and a
    column in it can have no masking policy): one every class reads as it is."""
    everyone = {k.name for k in fold.classes}
    for column in fold.columns:
        if any(b.effect == "allow" and set(b.classes) == everyone for b in column.branches):
            return (column.name,)
    raise RenderedError(f"{fold.product}: no column every reader reads as it is, for the row access "
                        "policy's signature")


def product_statements(fold: ProductFold, options: Options, keyed: bool) -> list[Statement]:
    table = base_table(fold.product, options.table, DIALECT)
    lookup_sql = class_lookup_sql(fold.product, options)
    keyed_hash = hmac(options)
    schema = dotted(options.policy_schema, DIALECT)
    out: list[Statement] = []
    readers = {k.name: k.consumers for k in fold.classes}
    args = filter_columns(fold) or _plain_column(fold)
    for column in fold.columns:
        if column.name in args:  # read as it is by every reader (compile refuses the others)
            continue
        kind = engine_type(column.logical_type, DIALECT, column.name)
        def build(k: exp.Expr, c: FoldedColumn = column) -> exp.Expr:
            return column_case(c, exp.column("val"), k, DIALECT, keyed=keyed, hmac=keyed_hash)
        body = with_lookup(build, lookup_sql, DIALECT)
        body = f"CAST(NULL AS {kind})" if body == "NULL" else body  # nobody reads it: typed
        name = f"{schema}.{ident(object_name(fold.product, column.name), DIALECT)}"
        out.append(Statement("masking policies", name,
                             f"CREATE OR REPLACE MASKING POLICY {name} AS (val {kind}) RETURNS {kind} ->\n  {body}\n"
                             f"  COMMENT = {literal(MARK, DIALECT)}", body, DIALECT))
        out.append(Statement("masking policies", name, f"ALTER TABLE {table} MODIFY COLUMN "
                             f"{ident(column.name, DIALECT)} SET MASKING POLICY {name} FORCE"))
        allowed = sorted({c for b in column.branches for k in b.classes for c in readers[k]})
        everyone = sorted(c for k in fold.classes for c in k.consumers)
        if allowed != everyone:
            roles = " OR ".join(f"IS_ROLE_IN_SESSION({literal(role_name(c, options), DIALECT)})" for c in allowed)
            deny = "PROJECTION_CONSTRAINT(ALLOW => FALSE, ENFORCEMENT => 'FAIL')"
            cond = f"CASE WHEN {roles} THEN PROJECTION_CONSTRAINT(ALLOW => TRUE) ELSE {deny} END" if allowed else deny
            pname = f"{schema}.{ident(object_name(fold.product, column.name + '__projection'), DIALECT)}"
            out.append(Statement("projection policies", pname,
                                 f"CREATE OR REPLACE PROJECTION POLICY {pname} AS () RETURNS PROJECTION_CONSTRAINT ->"
                                 f"\n  {cond}\n  COMMENT = {literal(MARK, DIALECT)}", cond, DIALECT))
            out.append(Statement("projection policies", pname, f"ALTER TABLE {table} MODIFY COLUMN "
                                 f"{ident(column.name, DIALECT)} SET PROJECTION POLICY {pname} FORCE"))
    types = dict(fold.types)
    signature = ", ".join(f"{ident(a, DIALECT)} {engine_type(types.get(a), DIALECT, a)}" for a in args)
    body = with_lookup(lambda k: row_case(fold, k), lookup_sql, DIALECT)
    rname = f"{schema}.{ident(object_name(fold.product, 'rows'), DIALECT)}"
    out.append(Statement("row access policies", rname,
                         f"CREATE OR REPLACE ROW ACCESS POLICY {rname} AS ({signature}) RETURNS BOOLEAN ->\n  {body}\n"
                         f"  COMMENT = {literal(MARK, DIALECT)}", body, DIALECT))
    out.append(Statement("row access policies", rname, f"ALTER TABLE {table} ADD ROW ACCESS POLICY {rname} ON "
                         f"({', '.join(ident(a, DIALECT) for a in args)})"))
    for consumer in sorted(c for k in fold.classes for c in k.consumers):
        out.append(Statement("grants", consumer, f"GRANT SELECT ON TABLE {table} TO ROLE "
                             f"{ident(role_name(consumer, options), DIALECT)}"))
    return out


def render_statements(plan: NativePlan, options: Options = DEFAULTS, *, keyed: bool = False) -> list[Statement]:
    """Every statement, in apply order, as applied to an account holding none of them."""
    folds = fold_plan(plan)
    consumers = sorted({t.consumer for t in plan.tables} | {r.consumer for r in plan.refusals})
    out = [Statement("schema", options.policy_schema,
                     f"CREATE SCHEMA IF NOT EXISTS {dotted(options.policy_schema, DIALECT)} "
                     f"COMMENT = {literal(MARK, DIALECT)}")]
    for consumer in consumers:
        role = ident(role_name(consumer, options), DIALECT)
        out.append(Statement("roles", consumer, f"CREATE ROLE IF NOT EXISTS {role} COMMENT = {literal(MARK, DIALECT)}"))
    out.append(Statement("mapping tables (read by the policies with their owner's rights)", ROLES_TABLE,
                         f"CREATE TABLE IF NOT EXISTS {_in(options, ROLES_TABLE)} (role_name VARCHAR NOT NULL, "
                         "consumer VARCHAR NOT NULL)"))
    out.append(Statement("mapping tables (read by the policies with their owner's rights)", CLASSES_TABLE,
                         f"CREATE TABLE IF NOT EXISTS {_in(options, CLASSES_TABLE)} (consumer VARCHAR NOT NULL, "
                         "product VARCHAR NOT NULL, class VARCHAR NOT NULL)"))
    rows = ",\n  ".join(f"({literal(role_name(c, options), DIALECT)}, {literal(c, DIALECT)})" for c in consumers)
    classes = ",\n  ".join(f"({literal(c, DIALECT)}, {literal(p, DIALECT)}, {literal(k, DIALECT)})"
                           for c, p, k in class_values(folds))
    out.append(Statement("mapping rows", ROLES_TABLE, "BEGIN"))
    out.append(Statement("mapping rows", ROLES_TABLE, f"DELETE FROM {_in(options, ROLES_TABLE)}"))
    if rows:
        out.append(Statement("mapping rows", ROLES_TABLE, f"INSERT INTO {_in(options, ROLES_TABLE)} "
                             f"(role_name, consumer) VALUES\n  {rows}"))
    out.append(Statement("mapping rows", CLASSES_TABLE, f"DELETE FROM {_in(options, CLASSES_TABLE)}"))
    if classes:
        out.append(Statement("mapping rows", CLASSES_TABLE, f"INSERT INTO {_in(options, CLASSES_TABLE)} "
                             f"(consumer, product, class) VALUES\n  {classes}"))
    out.append(Statement("mapping rows", CLASSES_TABLE, "COMMIT"))
    if keyed and any(c.strategy == "hash" for t in plan.tables for c in t.columns):
        out.append(Statement("key table (the policy owner's only; its pads are loaded by apply, never "
                             "written to a file)", KEY_TABLE,
                             f"CREATE TABLE IF NOT EXISTS {_in(options, KEY_TABLE)} (ipad BINARY NOT NULL, "
                             "opad BINARY NOT NULL)"))
    per_product = [s for fold in folds for s in product_statements(fold, options, keyed)]
    return out + sorted(per_product, key=lambda s: KINDS.index(s.kind))  # stable: product order kept


def readback(options: Options = DEFAULTS) -> str:
    """The queries a deployment runs to read the live state back for drift (not run here)."""
    schema = options.policy_schema
    db = schema.split(".")[0]
    return "\n".join([
        "-- policyengine: read the live Snowflake state back (compare with apply.sql; not run here)",
        "-- every policy attached to a table, with its kind and columns:",
        "SELECT policy_kind, policy_name, ref_entity_name, ref_column_name, ref_arg_column_names, policy_status",
        f"  FROM TABLE({ident(db, DIALECT)}.INFORMATION_SCHEMA.POLICY_REFERENCES(",
        "    REF_ENTITY_NAME => '<database>.<schema>.<table>', REF_ENTITY_DOMAIN => 'table'));",
        "-- or account-wide (up to two hours late): SNOWFLAKE.ACCOUNT_USAGE.POLICY_REFERENCES",
        "-- each policy's body (compare with the CREATE statements):",
        f"SHOW MASKING POLICIES IN SCHEMA {dotted(schema, DIALECT)};",
        f"SHOW ROW ACCESS POLICIES IN SCHEMA {dotted(schema, DIALECT)};",
        f"SHOW PROJECTION POLICIES IN SCHEMA {dotted(schema, DIALECT)};",
        "SELECT GET_DDL('POLICY', '<schema>.<policy name>');",
        "-- the mapping tables and each consumer role's grants:",
        f"SELECT * FROM {_in(options, ROLES_TABLE)} ORDER BY role_name;",
        f"SELECT * FROM {_in(options, CLASSES_TABLE)} ORDER BY consumer, product;",
        "SHOW GRANTS TO ROLE <consumer role>;",
        "-- the key table: only its owner (the policies' owner) may read it; a future grant on the",
        "-- schema would hand it to others:",
        f"SHOW GRANTS ON TABLE {_in(options, KEY_TABLE)};",
        f"SHOW FUTURE GRANTS IN SCHEMA {dotted(schema, DIALECT)};", ""])


def render_files(plan: NativePlan, options: Options = DEFAULTS, *, keyed: bool = False) -> dict[str, str]:
    try:
        statements = render_statements(plan, options, keyed=keyed)
    except ValueError as exc:
        raise RenderedError(str(exc)) from None
    header = ("-- policyengine native objects for snowflake: RENDERED, NOT EXECUTED by policyengine\n"
              f"-- compiled at {plan.at.isoformat()} (policy {plan.policy_version or 'unversioned'})")
    return {"apply.sql": join(header, statements), "readback.sql": readback(options)}
