"""PostgreSQL native objects from a compiled plan: render, read back, plan, apply.

The object model (docs/native.md), for a role prefix `pe_`:
- one role per consumer (`pe_<consumer id>`, NOLOGIN: grant it to login roles), and one owner
  role `pe_policyengine` (NOLOGIN, never superuser nor BYPASSRLS) that owns the views and the
  functions, so row-level security applies to every read through them;
- the internal schema `pe_policyengine` (no privilege for consumers): the mapping tables
  `consumers` (the consumer roles) and `access` (per consumer role and product: its class and the
  values its row filter compares with, i.e. the consumer attributes), the HMAC pads of keyed
  `hash`, and two `SECURITY DEFINER` functions taking `current_user` as an argument
  (`class_of`, `param`; `search_path` fixed, the caller's session must be a member of the role
  it names);
- per base table: row-level security enabled and FORCED; one permissive policy (everything, for
  roles that are not consumers: the pipelines writing the table), one restrictive policy
  (a consumer without a class for the product reads nothing) and one restrictive policy per
  consumer class with a row filter (its predicate, every literal read from `access` through
  `param`); the owner role may SELECT it, no consumer role (nor a login role mapped to one) may
  touch it;
- the view schema `pe` and in it one owner-rights `security_barrier` view per product, named like
  the product: the masks per class (a `CASE` on `class_of` where classes differ), no WHERE (the
  rows are row-level security's); consumers get SELECT on the columns their class may read
  (column privileges: a denied column is a permission error).

A consumer class is every consumer of a product whose compiled form is the same once the
literals of its row filter are taken out: nothing in any object's text names a consumer's
attribute value. Views, policies and functions are commented with the digest of the SQL they
were made from and of the catalog's text right after (a hand edit shows as drift).

`plan()` reads the live state from pg_catalog and gives the changes (Terraform-style);
`apply()` runs them in one transaction, then checks that no consumer role can read a base table,
a mapping table or the key (else everything is rolled back).
"""

from __future__ import annotations

import hashlib
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from policyengine.enforce.sql import SOURCE_ALIAS
from policyengine.enforce.sql_filters import filter_expression
from policyengine.enforce.sql_keys import RenderError, hash_parameters, resolve_key
from policyengine.enforce.sql_masks import mask_expression, postgres_safe_strings
from policyengine.native.compile import NativePlan, TablePlan

MARK = "managed by policyengine"
DEFAULT_PREFIX = "pe_"
DEFAULT_TABLE = "{schema}.{table}"
KEY_TABLE = "hmac_pads"
# read and write the catalogs under fixed settings: pg_get_viewdef prints names and constants
# depending on search_path, TimeZone and the date/float styles
SETTINGS = (("search_path", "pg_catalog"), ("TimeZone", "UTC"), ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"), ("extra_float_digits", "1"))
LOCK = "SELECT pg_advisory_xact_lock(hashtext('policyengine native postgres'))"
PRIVILEGES = "SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER"
COLUMN_PRIVILEGES = "SELECT,INSERT,UPDATE,REFERENCES"

Statement = tuple[str, tuple[Any, ...]]


class NativeError(ValueError):
    """The plan cannot be made (a name conflict, a missing base table, a bad --table): input."""


class UnsafeState(NativeError):
    """The changes applied would leave a consumer reading what it must not: rolled back."""


def ident(name: str) -> str:
    """A quoted Postgres identifier (refused past Postgres' 63 bytes: it would be truncated)."""
    if not name or len(name.encode("utf-8")) > 63 or "\0" in name:
        raise NativeError(f"'{name[:80]}' cannot be a Postgres name (empty, NUL or longer than 63 bytes)")
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dollar(body: str, tag: str = "pe") -> str:
    """`body` dollar-quoted with a tag it does not contain."""
    while f"${tag}$" in body:
        tag += "x"
    return f"${tag}${body}${tag}$"


@dataclass(frozen=True)
class Names:
    """The names a role prefix gives the managed objects."""

    prefix: str

    @property
    def owner(self) -> str:  # role owning views and functions
        return self.prefix + "policyengine"

    @property
    def internal(self) -> str:  # schema of the mapping tables, the key and the functions
        return self.prefix + "policyengine"

    @property
    def views(self) -> str:  # schema of the views consumers read
        return self.prefix.rstrip("_") or self.prefix

    def table(self, name: str) -> str:
        return f"{ident(self.internal)}.{ident(name)}"

    @property
    def class_of(self) -> str:
        return f"{ident(self.internal)}.class_of"

    @property
    def param(self) -> str:
        return f"{ident(self.internal)}.param"


# ---------------------------------------------------------------- the desired state


@dataclass(frozen=True)
class ViewSpec:
    """The one view of one product (every consumer class of it)."""

    schema: str
    name: str
    base: str  # the base table, as SQL
    body: str  # the SELECT
    policy: str  # digest of the body
    grants: frozenset[tuple[str, str]] = frozenset()  # (role, column) SELECT

    @property
    def qualified(self) -> str:
        return f"{ident(self.schema)}.{ident(self.name)}"


@dataclass(frozen=True)
class RowPolicy:
    """One row-level security policy on a base table (all commands, to PUBLIC)."""

    base: str
    name: str
    permissive: bool
    using: str
    prefix: str = DEFAULT_PREFIX  # the deployment it belongs to (several may share a base table)

    @property
    def policy(self) -> str:
        return digest(f"{self.permissive}|{self.using}")

    def create(self) -> tuple[Statement, ...]:
        kind = "PERMISSIVE" if self.permissive else "RESTRICTIVE"
        return ((f"CREATE POLICY {ident(self.name)} ON {self.base} AS {kind} FOR ALL TO PUBLIC "
                 f"USING ({self.using})", ()),
                _comment(f"POLICY {ident(self.name)} ON {self.base}", self.policy,
                         _policy_text(self.base, self.name), f"prefix={self.prefix.encode().hex()} "))


@dataclass(frozen=True)
class FunctionSpec:
    """One SECURITY DEFINER function of the internal schema."""

    signature: str  # schema.name(types)
    sql: str  # CREATE OR REPLACE FUNCTION ...

    @property
    def policy(self) -> str:
        return digest(self.sql)


@dataclass(frozen=True)
class Desired:
    """Every object a plan should leave in the database."""

    names: Names
    roles: Mapping[str, str]  # consumer role -> consumer
    views: tuple[ViewSpec, ...]
    bases: tuple[str, ...]
    policies: tuple[RowPolicy, ...]
    access: Mapping[tuple[str, str], tuple[int, tuple[str, ...]]]  # (role, product) -> (class, params)
    key: str | None = field(default=None, repr=False)  # digest of the pads (never the key)
    pads: tuple[bytes, bytes] | None = field(default=None, repr=False, compare=False)

    @property
    def functions(self) -> tuple[FunctionSpec, ...]:
        return functions(self.names)


def base_table(product: str, template: str = DEFAULT_TABLE) -> str:
    """The base table of `product` as SQL: `template` with {product}, {schema}, {table} (the
    product name split at its first dot), each part quoted."""
    schema, _, table = product.partition(".")
    values = {"product": product, "schema": schema, "table": table or schema}
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None or spec or conv]
    except ValueError:
        fields = [""]
    if any(f not in values for f in fields):
        raise NativeError(f"--table {template!r}: use {{product}}, {{schema}} and {{table}} only")
    name = template.format_map(values)
    return ".".join(ident(p) for p in name.split("."))


_LOOKUP = """
  IF p_who IS NULL OR NOT pg_catalog.pg_has_role(session_user, p_who, 'MEMBER') THEN
    RAISE EXCEPTION 'policyengine: this session cannot act as that role' USING ERRCODE = '42501';
  END IF;
  SELECT pg_catalog.array_agg(c.role ORDER BY c.role) INTO found FROM {consumers} c
   WHERE c.role IN (WITH RECURSIVE up(id) AS (
                      SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = p_who
                      UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.id)
                    SELECT r.rolname FROM pg_catalog.pg_roles r JOIN up ON r.oid = up.id);
  IF found IS NULL THEN
    RETURN {outsider};
  END IF;
  IF pg_catalog.cardinality(found) > 1 THEN
    RAISE EXCEPTION 'policyengine: the role maps to more than one consumer' USING ERRCODE = '42501';
  END IF;"""


def functions(names: Names) -> tuple[FunctionSpec, ...]:
    """`class_of(role, product)`: 0 for a role that is no consumer (nor a member of one), the
    consumer's class for the product, NULL when it has none. `param(role, product, i)`: the i-th
    literal of the consumer's row filter on the product (NULL for a role that is no consumer).
    Both raise when the session may not act as `role` (so no consumer reads another's values)
    or the role maps to two consumers (fail closed)."""
    consumers, access = names.table("consumers"), names.table("access")
    common = ("LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS ")
    class_body = (f"\nDECLARE found name[];\nBEGIN{_LOOKUP.format(consumers=consumers, outsider='0')}\n"
                  f"  RETURN (SELECT a.class FROM {access} a WHERE a.role = found[1] AND a.product = p_product);\n"
                  "END\n")
    param_body = (f"\nDECLARE found name[];\nBEGIN{_LOOKUP.format(consumers=consumers, outsider='NULL')}\n"
                  f"  RETURN (SELECT a.params[p_index] FROM {access} a WHERE a.role = found[1] "
                  "AND a.product = p_product);\nEND\n")
    return (
        FunctionSpec(f"{names.class_of}(name, text)",
                     f"CREATE OR REPLACE FUNCTION {names.class_of}(p_who name, p_product text) RETURNS integer "
                     + common + _dollar(class_body, "fn")),
        FunctionSpec(f"{names.param}(name, text, integer)",
                     f"CREATE OR REPLACE FUNCTION {names.param}(p_who name, p_product text, p_index integer) "
                     "RETURNS text " + common + _dollar(param_body, "fn")),
    )


def _keyed(select: exp.Select, pads: str) -> exp.Select:
    """Replace pgcrypto's HMAC(data, key, 'sha256') by HMAC composed from sha256() and the pads
    the owner-only key table holds (nothing of the key in the SQL)."""
    for node in list(select.find_all(exp.Anonymous)):
        if str(node.this).upper() != "HMAC":
            continue
        data = node.expressions[0].copy()
        form = sqlglot.parse_one(f"SHA256((SELECT opad FROM {pads}) || SHA256((SELECT ipad FROM {pads}) || pe_data))",
                                 dialect="postgres")
        for col in list(form.find_all(exp.Column)):
            if col.name == "pe_data":
                col.replace(data)
        node.replace(form)
    return select


def _class_lookup(names: Names, product: str) -> str:
    """The reader's class for `product`, as SQL (an uncorrelated subquery: evaluated once per query)."""
    return f"(SELECT {names.class_of}(CURRENT_USER, {literal(product)}))"


def row_filter(table: TablePlan, names: Names, types: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """The row filter of `table` with every literal taken out: (the predicate reading the i-th
    literal through `param(current_user, product, i)`, the literals). Consumers whose filters
    differ only in their literals (their attribute values) share the predicate."""
    if table.decision.row_filter is None:
        return None, ()
    tree = filter_expression(table.decision.row_filter, types=types)
    params: list[str] = []
    for node in list(tree.walk()):
        if isinstance(node, exp.Boolean):
            value, kind = "true" if node.this else "false", exp.DataType.Type.BOOLEAN
        elif isinstance(node, exp.Literal):
            value, kind = str(node.this), exp.DataType.Type.TEXT if node.is_string else exp.DataType.Type.DECIMAL
        else:
            continue
        if node.find_ancestor(exp.DataType) is not None:
            continue
        params.append(value)
        cast = exp.cast(exp.Var(this=f"\0{len(params)}\0"), kind)  # NUL: in no name or value
        if node is tree:
            tree = cast
        else:
            node.replace(cast)
    text = tree.sql(dialect="postgres")
    if text.count("\0") != 2 * len(params):
        raise RenderError("a row filter holds a NUL character")
    product = literal(table.product)
    for i in range(1, len(params) + 1):
        text = text.replace(f"\0{i}\0", f"(SELECT {names.param}(CURRENT_USER, {product}, {i}))")
    return text, tuple(params)


# A readable column is exposed as COALESCE(c, c), never as the bare column: PostgreSQL estimates
# a leakproof operator (`=`, `<`) on a base column from its statistics whatever row-level
# security hides (selfuncs.c, statistic_proc_security_check), and a consumer's `region = 'eu'`
# is pushed through the security_barrier view onto the base column, so EXPLAIN's row estimates
# would tell which values hidden rows hold (most common values, histograms). An expression with
# no function call is still pushed down (the filter runs at the scan) but has no statistics.
# The cost: a consumer's predicate on the view uses no index of the base table.


def _column_sql(name: str, cd: Any, logical_type: str | None, keyed: bool, pads: str,
                cache: dict[tuple[Any, ...], str]) -> str:
    """One readable column as SQL: the column itself, or its mask as enforce/sql.py renders it
    (the same registry), keyed `hash` reading the pads table. Cached: every consumer and product
    with the same column, strategy and type shares the text."""
    if cd.effect == "allow":  # an expression, not the column (above)
        column = f"{ident(SOURCE_ALIAS)}.{ident(name)}"
        return f"COALESCE({column}, {column})"
    key = (name, repr(cd.mask), logical_type, keyed, pads)
    found = cache.get(key)
    if found is None:
        if cd.mask is None:
            raise RenderError(f"column '{name}' is masked without a strategy")
        col = exp.column(name, table=exp.to_identifier(SOURCE_ALIAS, quoted=True), quoted=True)
        select = exp.Select(expressions=[mask_expression(cd.mask, col, "postgres", logical_type=logical_type,
                                                         keyed=keyed, column=name)])
        if keyed:
            select = _keyed(select, pads)
        postgres_safe_strings(select)
        found = cache[key] = select.expressions[0].sql(dialect="postgres")
    return found


def _projections(table: TablePlan, names: Names, types: Mapping[str, str], keyed: bool,
                 cache: dict[tuple[Any, ...], str]) -> tuple[tuple[str, str], ...]:
    """(column, its SQL) for each column `table` may read (masked as enforce/sql.py masks)."""
    pads = names.table(KEY_TABLE)
    return tuple((name, _column_sql(name, cd, types.get(name), keyed, pads, cache))
                 for name, cd in table.decision.columns.items() if cd.effect != "deny")


def _view_body(product: str, base: str, order: Sequence[str], names: Names,
               classes: Mapping[int, Mapping[str, str]]) -> str:
    """The SELECT of a product's view: each column readable by some class, as that class masks
    it (a CASE on the reader's class where classes differ); no WHERE (row-level security's)."""
    items = []
    for column in order:
        forms: dict[str, list[int]] = {}
        for number, columns in sorted(classes.items()):
            if column in columns:
                forms.setdefault(columns[column], []).append(number)
        if not forms:
            continue
        if len(forms) == 1:
            sql = next(iter(forms))
        else:
            lookup = _class_lookup(names, product)
            whens = " ".join(f"WHEN {lookup} IN ({', '.join(map(str, ids))}) THEN {form}" for form, ids in forms.items())
            sql = f"CASE {whens} END"
        items.append(f"{sql} AS {ident(column)}")
    return f"SELECT {', '.join(items)} FROM {base} AS {ident(SOURCE_ALIAS)}"


def desired_state(plan: NativePlan, *, prefix: str = DEFAULT_PREFIX, table_template: str = DEFAULT_TABLE,
                  types: Mapping[str, Mapping[str, str]] | None = None,
                  hash_key: bytes | str | None = None) -> Desired:
    """The objects `plan` compiles to. `types`: per product, column -> logical type (as
    enforcement renders it: `timestamptz` for a timestamp with a zone)."""
    names = Names(prefix)
    key = resolve_key(hash_key)
    roles: dict[str, str] = {}
    uses_hash = False
    by_product: dict[str, list[tuple[str, tuple[tuple[str, str], ...], str | None, tuple[str, ...]]]] = {}
    order: dict[str, list[str]] = {}
    bases: dict[str, str] = {}
    cache: dict[tuple[Any, ...], str] = {}
    for table in plan.tables:
        role = prefix + table.consumer
        ident(role)
        if role == names.owner:
            raise NativeError(f"consumer '{table.consumer}' would be named like the owner role {names.owner}: "
                              "choose another --role-prefix")
        roles[role] = table.consumer
        base = bases.setdefault(table.product, base_table(table.product, table_template))
        keyed = any(c.strategy == "hash" for c in table.columns)
        if keyed and key is None:
            raise NativeError(f"{table.consumer} on {table.product}: keyed hash needs a key (compile "
                              "without one refuses it)")
        uses_hash = uses_hash or keyed
        column_types = dict(table.types) | dict((types or {}).get(table.product, {}))
        try:
            columns = _projections(table, names, column_types, keyed, cache)
            predicate, params = row_filter(table, names, column_types)
        except RenderError as exc:
            raise NativeError(f"{table.consumer} on {table.product}: {exc}") from None
        by_product.setdefault(table.product, []).append((role, columns, predicate, params))
        order.setdefault(table.product, list(table.decision.columns))
    for refusal in plan.refusals:  # a refused consumer still gets its role: it reads nothing natively
        roles.setdefault(prefix + refusal.consumer, refusal.consumer)
        # and its product's base table is closed to consumers even when no one else reads it
        bases.setdefault(refusal.product, base_table(refusal.product, table_template))
    shared = [b for b, n in Counter(bases.values()).items() if n > 1]
    if shared:
        raise NativeError(f"--table maps two products to {shared[0]}: each product needs its own base table")
    views: list[ViewSpec] = []
    policies: list[RowPolicy] = []
    access: dict[tuple[str, str], tuple[int, tuple[str, ...]]] = {}
    lookup_sql = {p: _class_lookup(names, p) for p in bases}
    for product in sorted(set(bases) - set(by_product)):  # every pair refused: no view, no row for anyone
        policies.append(RowPolicy(bases[product], f"{prefix}others", True, "true", prefix))
        policies.append(RowPolicy(bases[product], f"{prefix}consumers", False, f"{lookup_sql[product]} IS NOT NULL",
                                  prefix))
    for product, entries in sorted(by_product.items()):
        base = bases[product]
        shapes = sorted({(columns, predicate or "") for _, columns, predicate, _ in entries})
        number = {shape: i + 1 for i, shape in enumerate(shapes)}
        classes = {number[s]: dict(s[0]) for s in shapes}
        grants = set()
        for role, columns, predicate, params in entries:
            access[(role, product)] = (number[(columns, predicate or "")], params)
            grants |= {(role, name) for name, _ in columns}
        body = _view_body(product, base, order[product], names, classes)
        views.append(ViewSpec(names.views, product, base, body, digest(body), frozenset(grants)))
        policies.append(RowPolicy(base, f"{prefix}others", True, "true", prefix))
        policies.append(RowPolicy(base, f"{prefix}consumers", False, f"{lookup_sql[product]} IS NOT NULL", prefix))
        for (_, predicate), i in number.items():
            if predicate:
                policies.append(RowPolicy(base, f"{prefix}class_{i}", False,
                                          f"{lookup_sql[product]} IS DISTINCT FROM {i} OR ({predicate})", prefix))
    pads = None
    key_digest = None
    if uses_hash and key is not None:
        hp = hash_parameters(key, "duckdb")
        pads = (bytes(hp["pe_hmac_ipad"]), bytes(hp["pe_hmac_opad"]))
        key_digest = hashlib.sha256(pads[0] + pads[1]).hexdigest()
    return Desired(names, roles, tuple(views), tuple(sorted(bases.values())), tuple(policies), access,
                   key_digest, pads)


def live_types(con: Any, products: Sequence[str], table_template: str = DEFAULT_TABLE) -> dict[str, dict[str, str]]:
    """Per product, the columns its base table holds as `timestamp with time zone` (rendered as
    `timestamptz`: masked as their UTC instant, as enforcement renders them)."""
    out: dict[str, dict[str, str]] = {}
    with con.transaction(force_rollback=True):
        for product in products:
            rows = con.execute(
                "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
                "AND NOT a.attisdropped AND a.atttypid = 'timestamptz'::regtype",
                (base_table(product, table_template),)).fetchall()
            out[product] = {name: "timestamptz" for (name,) in rows}
    return out


# ---------------------------------------------------------------- the live state


@dataclass(frozen=True)
class LiveObject:
    """A commented object (view, policy, function): its comment, the digest of its catalog text
    now, its owner and grants (the owner's own left out)."""

    comment: str
    text: str
    owner: str = ""
    grants: frozenset[tuple[str, str]] = frozenset()
    barrier: bool = True  # views: security_barrier


@dataclass(frozen=True)
class Live:
    """What the database holds now, as far as policyengine manages it."""

    user: str
    roles: Mapping[str, bool]  # role -> managed (for the roles of interest)
    schemas: Mapping[str, tuple[bool, frozenset[tuple[str, str]]]]  # name -> (managed, grants)
    views: Mapping[str, LiveObject]  # product -> its view (in the views schema)
    column_grants: Mapping[str, frozenset[tuple[str, str, str]]]  # product -> (grantee, column, privilege)
    base_readers: Mapping[str, frozenset[str]]  # base table -> roles of interest (or PUBLIC) with a privilege
    missing_bases: tuple[str, ...]
    rls: Mapping[str, tuple[bool, bool]]  # base -> (enabled, forced)
    policies: Mapping[tuple[str, str], LiveObject]  # (base, policy name) -> policy
    owner_reads: frozenset[str]  # bases the owner role may SELECT
    owner_bypass: bool  # the owner role is superuser or BYPASSRLS
    tables: frozenset[str]  # internal tables that exist
    table_readers: frozenset[str]  # roles of interest that can read an internal table
    owner_reads_tables: frozenset[str]
    consumers: frozenset[str]  # rows of the consumers table
    access: Mapping[tuple[str, str], tuple[int, tuple[str, ...]]]
    functions: Mapping[str, LiveObject]  # signature -> function
    key: str | None  # digest of the pads held (None: no key rows)
    memberships: frozenset[tuple[str, str]] = frozenset()  # (role, member): a consumer or owner role in another
    legacy: tuple[str, ...] = ()  # schemas an earlier version made (per-consumer views, the key schema)
    # (role, member): a role a consumer's role or login is directly a member of, through which it
    # reaches (SET ROLE, inherited or not) a role that can touch a base or internal table, or a superuser
    reach: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def empty(cls) -> Live:
        """An empty database (what `render` plans against)."""
        return cls("", {}, {}, {}, {}, {}, (), {}, {}, frozenset(), False, frozenset(), frozenset(), frozenset(),
                   frozenset(), {}, {}, None)


def _settings(cur: Any) -> None:
    for name, value in SETTINGS:
        cur.execute("SELECT set_config(%s, %s, true)", (name, value))


GRANTABLE = " WITH GRANT OPTION"


def _acl(cur: Any, acl: str, oid: int, owner: str) -> frozenset[tuple[str, str]]:
    """(grantee, privilege) granted on an object, the owner's own left out; a privilege that may
    be passed on reads `SELECT WITH GRANT OPTION` (not what is compiled: revoked, granted again).
    `acl`: a query of the object's ACL (a missing one is the type's default) by oid."""
    rows = cur.execute(
        f"SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, "
        f"a.is_grantable FROM aclexplode(({acl})) a", (oid,)).fetchall()
    return frozenset((g, p + (GRANTABLE if grantable else "")) for g, p, grantable in rows if g != owner)


def _revoke(privilege: str, target: str, grantee: str) -> Statement:
    who = "PUBLIC" if grantee == "PUBLIC" else ident(grantee)
    return (f"REVOKE {privilege.removesuffix(GRANTABLE)} ON {target} FROM {who} CASCADE", ())


def _policy_text(base: str, name: str) -> str:
    """SQL giving a policy's catalog text (its expressions, kind, commands, roles)."""
    return ("(SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || "
            "coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || "
            f"p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = {literal(base)}::regclass "
            f"AND p.polname = {literal(name)})")


def _text_digest(sql: str) -> str:
    return f"encode(sha256(convert_to({sql}, 'UTF8')), 'hex')"


def read_live(con: Any, desired: Desired) -> Live:
    """The live state (in a transaction of its own, rolled back: reading changes nothing)."""
    names = desired.names
    with con.transaction(force_rollback=True):
        cur = con.cursor()
        _settings(cur)
        user = cur.execute("SELECT current_user").fetchone()[0]
        # ours: commented with this deployment's prefix (or, made before prefixes were recorded,
        # with none and named with it); another prefix's roles are left alone
        marked = {r for r, comment in cur.execute(
            "SELECT rolname, shobj_description(oid, 'pg_authid') FROM pg_roles "
            "WHERE shobj_description(oid, 'pg_authid') LIKE %s", (MARK + "%",))
            if _owner_prefix(comment) == names.prefix or (_owner_prefix(comment) is None and r.startswith(names.prefix))}
        interest = [*desired.roles, names.owner]
        existing = {r for (r,) in cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (interest,))}
        roles = {r: r in marked for r in existing | marked}
        consumer_roles = sorted(r for r in roles if r != names.owner and (r in desired.roles or roles[r]))
        # the roles that read as a consumer: its role and every role that is a member of it
        who = [r for (r,) in cur.execute(
            "WITH RECURSIVE down(id) AS (SELECT oid FROM pg_roles WHERE rolname = ANY(%s) "
            "UNION SELECT m.member FROM pg_auth_members m JOIN down ON m.roleid = down.id) "
            "SELECT r.rolname FROM pg_roles r JOIN down ON r.oid = down.id WHERE NOT r.rolsuper ORDER BY 1",
            (consumer_roles,)).fetchall()]
        row = cur.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", (names.owner,)).fetchone()
        owner_bypass = bool(row and row[0])
        schemas: dict[str, tuple[bool, frozenset[tuple[str, str]]]] = {}
        for oid, name, comment, owner in cur.execute(
                "SELECT n.oid, n.nspname, obj_description(n.oid, 'pg_namespace'), pg_get_userbyid(n.nspowner) "
                "FROM pg_namespace n WHERE n.nspname = ANY(%s)", ([names.views, names.internal],)).fetchall():
            schemas[name] = ((comment or "").startswith(MARK), _acl(
                con.cursor(), "SELECT nspacl FROM pg_namespace WHERE oid = %s", oid, owner))
        legacy = tuple(n for n, comment in cur.execute(
            "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
            "WHERE obj_description(oid, 'pg_namespace') LIKE %s AND NOT nspname = ANY(%s) ORDER BY 1",
            (MARK + "%", [names.views, names.internal])).fetchall()
            if _owner_prefix(comment) is None and "prefix=" not in comment
            and (n.startswith(names.prefix) or n == "policyengine_keys"))
        views: dict[str, LiveObject] = {}
        column_grants: dict[str, frozenset[tuple[str, str, str]]] = {}
        for oid, name, comment, text, options, owner in cur.execute(
                f"SELECT c.oid, c.relname, obj_description(c.oid, 'pg_class'), {_text_digest('pg_get_viewdef(c.oid)')}, "
                "c.reloptions, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('v', 'r', 'm') AND n.nspname = %s", (names.views,)).fetchall():
            views[name] = LiveObject(comment or "", text or "", owner, _acl(
                con.cursor(), "SELECT relacl FROM pg_class WHERE oid = %s", oid, owner),
                "security_barrier=true" in (options or []))
            column_grants[name] = frozenset(
                (g, col, p + (GRANTABLE if grantable else "")) for g, col, p, grantable in con.execute(
                    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, t.attname, "
                    "a.privilege_type, a.is_grantable FROM pg_attribute t, aclexplode(t.attacl) a "
                    "WHERE t.attrelid = %s AND t.attacl IS NOT NULL", (oid,)).fetchall())
        readers: dict[str, frozenset[str]] = {}
        missing: list[str] = []
        rls: dict[str, tuple[bool, bool]] = {}
        policies: dict[tuple[str, str], LiveObject] = {}
        owner_reads: set[str] = set()
        for base in desired.bases:
            row = cur.execute("SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                              "WHERE c.oid = to_regclass(%s)", (base,)).fetchone()
            if row is None:
                missing.append(base)
                continue
            oid, enabled, forced = row
            rls[base] = (enabled, forced)
            found = {r for (r,) in cur.execute(
                "SELECT r FROM unnest(%s::text[]) r WHERE has_table_privilege(r, %s::oid, %s) "
                "OR has_any_column_privilege(r, %s::oid, %s)", (who, oid, PRIVILEGES, oid, COLUMN_PRIVILEGES))}
            public = cur.execute("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
                                 "WHERE c.oid = %s AND a.grantee = 0", (oid,)).fetchone()[0]
            readers[base] = frozenset(found | ({"PUBLIC"} if public else set()))
            if names.owner in roles and cur.execute("SELECT has_table_privilege(%s, %s::oid, 'SELECT')",
                                                    (names.owner, oid)).fetchone()[0]:
                owner_reads.add(base)
            for name, comment in cur.execute(
                    "SELECT p.polname, obj_description(p.oid, 'pg_policy') FROM pg_policy p WHERE p.polrelid = %s",
                    (oid,)).fetchall():
                text = cur.execute(f"SELECT {_text_digest(_policy_text(base, name))}").fetchone()[0]
                policies[(base, name)] = LiveObject(comment or "", text or "")
        tables = frozenset(t for (t,) in cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s) AND c.relkind = 'r'",
            (names.internal, ["consumers", "access", KEY_TABLE])).fetchall())
        table_readers: set[str] = set()
        owner_tables: set[str] = set()
        for t in tables:
            qualified = names.table(t)
            table_readers |= {r for (r,) in cur.execute(
                "SELECT r FROM unnest(%s::text[]) r WHERE has_table_privilege(r, %s::regclass, %s) "
                "OR has_any_column_privilege(r, %s::regclass, %s)",
                (who, qualified, PRIVILEGES, qualified, COLUMN_PRIVILEGES))}
            if names.owner in roles and cur.execute("SELECT has_table_privilege(%s, %s::regclass, 'SELECT')",
                                                    (names.owner, qualified)).fetchone()[0]:
                owner_tables.add(t)
        consumers = frozenset(r for (r,) in cur.execute(
            f"SELECT role FROM {names.table('consumers')}")) if "consumers" in tables else frozenset()
        access = {(r, p): (c, tuple(params)) for r, p, c, params in cur.execute(
            f"SELECT role, product, class, params FROM {names.table('access')}")} if "access" in tables else {}
        key = None
        if KEY_TABLE in tables:
            row = cur.execute(f"SELECT encode(sha256(string_agg(ipad || opad, '')), 'hex') "
                              f"FROM {names.table(KEY_TABLE)}").fetchone()
            key = row[0] if row else None
        found_functions: dict[str, LiveObject] = {}
        for spec in desired.functions:
            row = cur.execute(
                f"SELECT p.oid, obj_description(p.oid, 'pg_proc'), "
                f"{_text_digest('pg_get_functiondef(p.oid)')}, pg_get_userbyid(p.proowner) FROM pg_proc p "
                "WHERE p.oid = to_regprocedure(%s)", (spec.signature,)).fetchone()
            if row is not None:
                oid, comment, text, owner = row
                found_functions[spec.signature] = LiveObject(comment or "", text or "", owner, _acl(
                    con.cursor(), "SELECT coalesce(proacl, acldefault('f', proowner)) FROM pg_proc WHERE oid = %s",
                    oid, owner))
        tops = [*consumer_roles, names.owner]
        members = frozenset(cur.execute(
            "SELECT pg_get_userbyid(m.roleid), pg_get_userbyid(m.member) FROM pg_auth_members m "
            "WHERE pg_get_userbyid(m.roleid) = ANY(%s) AND pg_get_userbyid(m.member) = ANY(%s) "
            "AND (pg_get_userbyid(m.roleid) = %s OR pg_get_userbyid(m.member) = ANY(%s))",
            (tops, [*who, *consumer_roles], names.owner, consumer_roles)).fetchall())
        relations = [*desired.bases, *(names.table(t) for t in tables)]
        # PostgreSQL 16+: a membership with neither SET nor INHERIT reaches nothing
        options = cur.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'pg_auth_members'::regclass "
                              "AND attname IN ('set_option', 'inherit_option')").fetchone()[0] == 2
        edge = " AND (m.set_option OR m.inherit_option)" if options else ""
        reach = frozenset(cur.execute(_REACH.replace("{edge}", edge), (
            who, consumer_roles, relations, PRIVILEGES, COLUMN_PRIVILEGES)).fetchall()) if who else frozenset()
    return Live(user, roles, schemas, views, column_grants, readers, tuple(missing), rls, policies,
                frozenset(owner_reads), owner_bypass, tables, frozenset(table_readers), frozenset(owner_tables),
                consumers, access, found_functions, key, frozenset((r, m) for r, m in members), legacy,
                frozenset((r, m) for r, m in reach))


# A consumer's login that is also a member of another role can `SET ROLE` to it even when it does
# not inherit its privileges (`WITH INHERIT FALSE`, a NOINHERIT login), so has_table_privilege of
# the login says nothing; that role is no consumer and row-level security lets it read every row.
# Every role reachable upwards from a consumer's role or login (consumer roles left out: a login's
# membership in its consumer's role is the mapping) that may touch a base or internal table, or
# is a superuser, is reached through which direct membership of which member.
_REACH = """
WITH RECURSIVE up(member, direct, id) AS (
  SELECT m.member, m.roleid, m.roleid FROM pg_catalog.pg_auth_members m
   WHERE m.member = ANY(%s::text[]::regrole[]) AND NOT m.roleid = ANY(%s::text[]::regrole[]){edge}
  UNION SELECT up.member, up.direct, m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.id
   WHERE true{edge})
SELECT DISTINCT pg_catalog.pg_get_userbyid(up.direct), pg_catalog.pg_get_userbyid(up.member)
  FROM up JOIN pg_catalog.pg_roles r ON r.oid = up.id
 WHERE r.rolsuper OR EXISTS (
   SELECT 1 FROM pg_catalog.unnest(%s::text[]) t(name)
    WHERE pg_catalog.to_regclass(t.name) IS NOT NULL
      AND (pg_catalog.has_table_privilege(r.oid, pg_catalog.to_regclass(t.name), %s)
           OR pg_catalog.has_any_column_privilege(r.oid, pg_catalog.to_regclass(t.name), %s)))
 ORDER BY 1, 2"""


# ---------------------------------------------------------------- plan: the difference


@dataclass(frozen=True)
class Change:
    """One change a plan makes: `+` create, `-` remove, `~` replace, with why and its SQL."""

    action: str
    kind: str
    name: str
    why: str
    statements: tuple[Statement, ...] = field(repr=False)

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.name}" + (f"  ({self.why})" if self.why else "")


def _comment(target: str, policy: str, catalog_text: str, extra: str = "") -> Statement:
    """COMMENT `target` with its policy digest and the digest of its catalog text as stored now."""
    body = (f"PERFORM set_config('search_path', 'pg_catalog', true); "
            f"EXECUTE {literal(f'COMMENT ON {target} IS ')} || quote_literal("
            f"{literal(f'{MARK} {extra}policy={policy} text=')} || {_text_digest(catalog_text)});")
    return (f"DO {_dollar(f' BEGIN {body} END ')}", ())


def _recorded(comment: str) -> tuple[str, str]:
    """(policy digest, catalog text digest) a managed object's comment records."""
    parts = dict(p.split("=", 1) for p in comment.removeprefix(MARK).split() if "=" in p)
    return parts.get("policy", ""), parts.get("text", "")


def _owner_prefix(comment: str | None) -> str | None:
    """The --role-prefix a managed object's comment records (None: not recorded)."""
    if not comment or not comment.startswith(MARK):
        return None
    found = dict(p.split("=", 1) for p in comment.split() if "=" in p).get("prefix")
    try:
        return None if found is None else bytes.fromhex(found).decode("utf-8")
    except ValueError:
        return None


def _stale(obj: LiveObject, policy: str) -> list[str]:
    recorded, text = _recorded(obj.comment)
    return [w for w, bad in (("the policies changed", recorded != policy),
                             ("edited by hand", text != obj.text)) if bad]


def create_view(view: ViewSpec, names: Names) -> tuple[Statement, ...]:
    out: list[Statement] = [
        (f"CREATE VIEW {view.qualified} WITH (security_barrier = true) AS {view.body}", ()),
        (f"ALTER VIEW {view.qualified} OWNER TO {ident(names.owner)}", ()),
        _comment(f"VIEW {view.qualified}", view.policy, f"pg_get_viewdef({literal(view.qualified)}::regclass)"),
        (f"REVOKE ALL ON {view.qualified} FROM PUBLIC", ())]
    out += _column_grants(view, view.grants)
    return tuple(out)


def _column_grants(view: ViewSpec, grants: frozenset[tuple[str, str]]) -> list[Statement]:
    by_role: dict[str, list[str]] = {}
    for role, column in sorted(grants):
        by_role.setdefault(role, []).append(ident(column))
    return [(f"GRANT SELECT ({', '.join(cols)}) ON {view.qualified} TO {ident(role)}", ())
            for role, cols in by_role.items()]


def _table_statements(names: Names, table: str) -> tuple[Statement, ...]:
    columns = {"consumers": "role name PRIMARY KEY",
               "access": "role name NOT NULL, product text NOT NULL, class integer NOT NULL, "
                         "params text[] NOT NULL, PRIMARY KEY (role, product)",
               KEY_TABLE: "ipad bytea NOT NULL, opad bytea NOT NULL"}[table]
    return ((f"CREATE TABLE {names.table(table)} ({columns})", ()),
            (f"REVOKE ALL ON {names.table(table)} FROM PUBLIC", ()),
            (f"GRANT SELECT ON {names.table(table)} TO {ident(names.owner)}", ()))


def _function_statements(spec: FunctionSpec, names: Names) -> tuple[Statement, ...]:
    return ((spec.sql, ()),
            (f"ALTER FUNCTION {spec.signature} OWNER TO {ident(names.owner)}", ()),
            (f"REVOKE ALL ON FUNCTION {spec.signature} FROM PUBLIC", ()),
            (f"GRANT EXECUTE ON FUNCTION {spec.signature} TO PUBLIC", ()),
            _comment(f"FUNCTION {spec.signature}", spec.policy,
                     f"pg_get_functiondef({literal(spec.signature)}::regprocedure)"))


def _roles(desired: Desired, live: Live) -> list[Change]:
    names = desired.names
    changes: list[Change] = []
    wanted = {names.owner: "", **desired.roles}
    for role, consumer in sorted(wanted.items()):
        if role not in live.roles:
            extra = " NOSUPERUSER NOBYPASSRLS" if role == names.owner else ""
            changes.append(Change("+", "role", role, f"consumer {consumer}" if consumer else "owns views and functions", (
                (f"CREATE ROLE {ident(role)} NOLOGIN{extra}", ()),
                (f"COMMENT ON ROLE {ident(role)} IS {literal(f'{MARK} prefix={names.prefix.encode().hex()}')}", ()))))
        elif not live.roles[role]:
            raise NativeError(f"role {role} exists and is not managed by policyengine (with this --role-prefix): "
                              "rename the consumer or choose another --role-prefix")
    if live.owner_bypass:
        changes.append(Change("~", "role", names.owner, "superuser or BYPASSRLS: row-level security would not apply",
                              ((f"ALTER ROLE {ident(names.owner)} NOSUPERUSER NOBYPASSRLS", ()),)))
    return changes


def _schema(name: str, live: Live, usage: Sequence[str], what: str, prefix: str) -> list[Change]:
    found = live.schemas.get(name)
    if found is None:
        return [Change("+", "schema", name, what, (
            (f"CREATE SCHEMA {ident(name)}", ()),
            (f"COMMENT ON SCHEMA {ident(name)} IS {literal(f'{MARK} prefix={prefix.encode().hex()}')}", ()),
            (f"REVOKE ALL ON SCHEMA {ident(name)} FROM PUBLIC", ()),
            *((f"GRANT USAGE ON SCHEMA {ident(name)} TO {ident(r)}", ()) for r in usage)))]
    managed, grants = found
    if not managed:
        raise NativeError(f"schema {name} exists and is not managed by policyengine")
    want = {(r, "USAGE") for r in usage}
    changes = [Change("-", "grant", f"{p} on schema {name} to {g}", "not compiled",
                      (_revoke(p, f"SCHEMA {ident(name)}", g),)) for g, p in sorted(grants - want)]
    changes += [Change("+", "grant", f"USAGE on schema {name} to {r}", "missing",
                       ((f"GRANT USAGE ON SCHEMA {ident(name)} TO {ident(r)}", ()),)) for r, _ in sorted(want - grants)]
    return changes


def _internal(desired: Desired, live: Live) -> list[Change]:
    """The internal schema: its tables, their rows (the mapping), the key, the functions."""
    names = desired.names
    changes = [Change("-", "schema", name, "made by an earlier version (per-consumer views or the key schema)",
                      ((f"DROP SCHEMA {ident(name)} CASCADE", ()),)) for name in live.legacy]
    changes += _schema(names.internal, live, [names.owner], "mapping tables, key, functions", names.prefix)
    for table in ("consumers", "access", KEY_TABLE):
        if table not in live.tables:
            changes.append(Change("+", "table", f"{names.internal}.{table}", "owner only",
                                  _table_statements(names, table)))
        elif table not in live.owner_reads_tables:
            changes.append(Change("+", "grant", f"SELECT on {names.internal}.{table} to {names.owner}", "missing",
                                  ((f"GRANT SELECT ON {names.table(table)} TO {ident(names.owner)}", ()),)))
    for role in sorted(live.table_readers):
        revokes = tuple((f"REVOKE ALL ON {names.table(t)} FROM {ident(role)}", ()) for t in sorted(live.tables))
        changes.append(Change("-", "grant", f"{names.internal} tables to {role}", "consumers never read them",
                              revokes))
    consumers = names.table("consumers")
    for role in sorted(set(desired.roles) - live.consumers):
        changes.append(Change("+", "consumer", role, "mapping row",
                              ((f"INSERT INTO {consumers} (role) VALUES (%s)", (role,)),)))
    for role in sorted(live.consumers - set(desired.roles)):
        changes.append(Change("-", "consumer", role, "no longer a consumer",
                              ((f"DELETE FROM {consumers} WHERE role = %s", (role,)),)))
    access = names.table("access")
    for (role, product), (number, params) in sorted(desired.access.items()):
        found = live.access.get((role, product))
        if found == (number, params):
            continue
        why = "mapping row" if found is None else "the row differs (edited by hand or the policies changed)"
        changes.append(Change("+" if found is None else "~", "access", f"{role} on {product}", why, (
            (f"DELETE FROM {access} WHERE role = %s AND product = %s", (role, product)),
            (f"INSERT INTO {access} (role, product, class, params) VALUES (%s, %s, %s, %s::text[])",
             (role, product, number, list(params))))))
    for role, product in sorted(set(live.access) - set(desired.access)):
        changes.append(Change("-", "access", f"{role} on {product}", "no longer compiled",
                              ((f"DELETE FROM {access} WHERE role = %s AND product = %s", (role, product)),)))
    if desired.key is not None and live.key != desired.key:
        pads = names.table(KEY_TABLE)
        changes.append(Change("~" if live.key is not None else "+", "hmac key", f"{names.internal}.{KEY_TABLE}",
                              "the key's pads differ" if live.key is not None else "for keyed hash masks",
                              ((f"DELETE FROM {pads}", ()),
                               (f"INSERT INTO {pads} (ipad, opad) VALUES (%s, %s)", desired.pads or ()))))
    for spec in desired.functions:
        found_fn = live.functions.get(spec.signature)
        reasons = (["missing"] if found_fn is None else _stale(found_fn, spec.policy)
                   + ([f"owned by {found_fn.owner}"] if found_fn.owner != names.owner else [])
                   + (["its grants differ"] if found_fn.grants != {("PUBLIC", "EXECUTE")} else []))
        if reasons:
            changes.append(Change("+" if found_fn is None else "~", "function", spec.signature, ", ".join(reasons),
                                  _function_statements(spec, names)))
    return changes


def _bases(desired: Desired, live: Live) -> list[Change]:
    """Per base table: forced row-level security, its policies, who may read it."""
    names = desired.names
    changes: list[Change] = []
    wanted = {(p.base, p.name): p for p in desired.policies}
    for base in desired.bases:
        readers = sorted(live.base_readers.get(base, frozenset()))
        if readers:
            who = ", ".join("PUBLIC" if r == "PUBLIC" else ident(r) for r in readers)
            changes.append(Change("-", "grant", f"{base} to {', '.join(readers)}", "base tables are not for consumers",
                                  ((f"REVOKE ALL ON {base} FROM {who}", ()),)))
        if base not in live.owner_reads:
            changes.append(Change("+", "grant", f"SELECT on {base} to {names.owner}", "the views read it",
                                  ((f"GRANT SELECT ON {base} TO {ident(names.owner)}", ()),)))
        if live.rls.get(base) != (True, True):
            changes.append(Change("~" if base in live.rls and any(live.rls[base]) else "+", "row level security",
                                  base, "enabled and forced", (
                                      (f"ALTER TABLE {base} ENABLE ROW LEVEL SECURITY", ()),
                                      (f"ALTER TABLE {base} FORCE ROW LEVEL SECURITY", ()))))
        for (table, name), obj in sorted(live.policies.items()):
            if table != base or (table, name) in wanted:
                continue
            owner = _owner_prefix(obj.comment)
            ours = obj.comment.startswith(MARK) and owner == names.prefix
            if obj.comment.startswith(MARK) and owner is not None and not ours:
                continue  # another deployment's (another --role-prefix): its own plan manages it
            changes.append(Change("-", "row policy", f"{name} on {base}",
                                  "no longer compiled" if ours else "not compiled (made by hand?)",
                                  ((f"DROP POLICY {ident(name)} ON {base}", ()),)))
    for (base, name), spec in sorted(wanted.items()):
        found = live.policies.get((base, name))
        if found is None:
            changes.append(Change("+", "row policy", f"{name} on {base}", "", spec.create()))
            continue
        why = _stale(found, spec.policy)
        if why:
            changes.append(Change("~", "row policy", f"{name} on {base}", ", ".join(why),
                                  ((f"DROP POLICY {ident(name)} ON {base}", ()), *spec.create())))
    return changes


def _views(desired: Desired, live: Live) -> list[Change]:
    names = desired.names
    changes = _schema(names.views, live, sorted(desired.roles), "the views consumers read", names.prefix)
    wanted = {v.name: v for v in desired.views}
    for name, stale in sorted(live.views.items()):
        if name not in wanted:
            if not stale.comment.startswith(MARK):
                raise NativeError(f"{names.views}.{name} exists and is not managed by policyengine")
            changes.append(Change("-", "view", f"{names.views}.{name}", "no longer compiled",
                                  ((f"DROP VIEW {ident(names.views)}.{ident(name)}", ()),)))
    for name, view in sorted(wanted.items()):
        lv = live.views.get(name)
        label = f"{view.schema}.{view.name}"
        if lv is None:
            changes.append(Change("+", "view", label, f"{len(view.body)} chars of SQL", create_view(view, names)))
            continue
        if not lv.comment.startswith(MARK):
            raise NativeError(f"view {label} exists and is not managed by policyengine")
        why = _stale(lv, view.policy) + [w for w, bad in (
            ("security_barrier is off", not lv.barrier),
            (f"owned by {lv.owner}, not {names.owner}", lv.owner != names.owner)) if bad]
        if why:
            changes.append(Change("~", "view", label, ", ".join(why),
                                  ((f"DROP VIEW {view.qualified}", ()), *create_view(view, names))))
            continue
        for grantee, privilege in sorted(lv.grants):
            changes.append(Change("-", "grant", f"{privilege} on {label} to {grantee}", "not compiled",
                                  (_revoke(privilege, view.qualified, grantee),)))
        have = live.column_grants.get(name, frozenset())
        want = {(role, column, "SELECT") for role, column in view.grants}
        for grantee, column, privilege in sorted(have - want):
            changes.append(Change("-", "grant", f"{privilege} ({column}) on {label} to {grantee}", "not compiled", (
                (f"REVOKE {privilege.removesuffix(GRANTABLE)} ({ident(column)}) ON {view.qualified} "
                 f"FROM {'PUBLIC' if grantee == 'PUBLIC' else ident(grantee)} CASCADE", ()),)))
        missing = frozenset((r, c) for r, c, _ in want - have)
        for statement in _column_grants(view, missing):
            changes.append(Change("+", "grant", f"column SELECT on {label}", "missing", (statement,)))
    return changes


def plan_changes(desired: Desired, live: Live) -> list[Change]:
    """What apply changes to turn `live` into `desired` (empty: nothing to do)."""
    if live.missing_bases:
        raise NativeError(f"base table(s) missing: {', '.join(live.missing_bases)} (--table names them)")
    names = desired.names
    changes = _roles(desired, live) + _internal(desired, live) + _bases(desired, live) + _views(desired, live)
    for role, member in sorted(live.memberships):  # a consumer's role inside another's reads as it
        changes.append(Change("-", "membership", f"{role} to {member}",
                              "consumer roles are members of none, nothing of a consumer is in the owner role",
                              ((f"REVOKE {ident(role)} FROM {ident(member)}", ()),)))
    for role, member in sorted(live.reach - live.memberships):  # SET ROLE to a base table's reader
        changes.append(Change("-", "membership", f"{role} to {member}",
                              "a consumer's role or login reaches a role that can read a base or internal table",
                              ((f"REVOKE {ident(role)} FROM {ident(member)}", ()),)))
    for role, managed in sorted(live.roles.items()):
        if managed and role not in desired.roles and role != names.owner:
            changes.append(Change("-", "role", role, "no longer a consumer", (
                (f"DROP ROLE {ident(role)}", ()),)))
    return changes


# ---------------------------------------------------------------- apply


def check_applied(con: Any, desired: Desired) -> None:
    """After the changes, inside the transaction: no consumer reads a base table, a mapping
    table or the key, and the owner role is subject to row-level security."""
    live = read_live(con, desired)
    for base, readers in live.base_readers.items():
        if readers:
            raise UnsafeState(f"{', '.join(sorted(readers))} can still read {base} (through a role it is "
                              "a member of or owns?): nothing was applied")
    if live.table_readers:
        raise UnsafeState(f"{', '.join(sorted(live.table_readers))} can read the mapping tables or the key: "
                          "nothing was applied")
    if live.reach:
        raise UnsafeState(f"{', '.join(sorted({m for _, m in live.reach}))} can SET ROLE to a role that reads a "
                          "base or internal table: nothing was applied")
    if live.owner_bypass:
        raise UnsafeState(f"{desired.names.owner} bypasses row-level security: nothing was applied")


def apply(con: Any, desired: Desired, changes: Sequence[Change] | None = None) -> list[Change]:
    """Plan against the live state and apply the changes in one transaction (all or nothing):
    an error in any statement or in the final check rolls everything back. Returns the changes.
    `con` must be outside a transaction (an enclosing one would decide whether anything commits)."""
    if con.info.transaction_status != 0:  # pq.TransactionStatus.IDLE
        raise NativeError("apply needs a connection outside any transaction (it runs one of its own)")
    with con.transaction():
        cur = con.cursor()
        cur.execute(LOCK)
        _settings(cur)
        todo = plan_changes(desired, read_live(con, desired)) if changes is None else list(changes)
        for change in todo:
            for sql, params in change.statements:
                cur.execute(sql, params or None)
        check_applied(con, desired)
    return todo


def _sql_value(value: Any) -> str:
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(literal(str(v)) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return literal(str(value))


def render_files(desired: Desired, changes: Sequence[Change]) -> dict[str, str]:
    """The SQL of `changes` as files (in apply order): for review or a deployment tool. The
    key's pads are never written (that statement is left as a comment); the mapping rows are
    (they are consumer attributes: keep the file where the consumers file is kept)."""
    out = ["-- policyengine native objects for postgres: run in one transaction", "BEGIN;", LOCK + ";"]
    for name, value in SETTINGS:
        out.append(f"SELECT set_config({literal(name)}, {literal(value)}, true);")
    for change in changes:
        out.append(f"-- {change}")
        for sql, params in change.statements:
            if change.kind == "hmac key" and params:
                out.append("-- the HMAC pads are loaded by `policyengine apply` only (never written to files)")
            elif params:
                parts = sql.split("%s")
                out.append("".join(p + (_sql_value(v) if i < len(params) else "")
                                   for i, (p, v) in enumerate(zip(parts, [*params, None], strict=False))) + ";")
            else:
                out.append(sql + ";")
    out.append("COMMIT;")
    return {"apply.sql": "\n".join(out) + "\n"}
