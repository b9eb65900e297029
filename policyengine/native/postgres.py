"""PostgreSQL native objects from a compiled plan: render, read back, plan, apply.

Objects (docs/native.md):
- one role per consumer (`<prefix><consumer id>`, NOLOGIN: grant it to login roles), commented
  `managed by policyengine`;
- one schema per consumer, named like its role, owned by the applying role, USAGE to that role only;
- in it, one owner-rights `security_barrier` view per product the consumer may read, named like
  the product, selecting the masked columns (denied ones left out) under the row filter, SELECT
  to that role only, commented with the digest of the SQL it was made from and of
  `pg_get_viewdef` just after (so a hand edit shows as drift);
- the base tables: no consumer role (nor PUBLIC) may read them;
- keyed `hash`: HMAC-SHA-256 composed from the built-in `sha256()` and the key's two pads, kept
  in `policyengine_keys.hmac_pads`, readable by the owner only (the views read it with the
  owner's rights). The key is in no view definition, comment or file.

`plan()` reads the live state from pg_catalog and gives the changes (Terraform-style);
`apply()` runs them in one transaction, then checks that no consumer role can read a base table
or the key (else everything is rolled back).
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from policyengine.enforce.sql import enforced_select, source_table
from policyengine.enforce.sql_keys import RenderError, hash_parameters, resolve_key
from policyengine.native.compile import NativePlan, TablePlan

MARK = "managed by policyengine"
KEY_SCHEMA, KEY_TABLE = "policyengine_keys", "hmac_pads"
DEFAULT_PREFIX = "pe_"
DEFAULT_TABLE = "{schema}.{table}"
# read and write the catalogs under fixed settings: pg_get_viewdef prints names and constants
# depending on search_path, TimeZone and the date/float styles
SETTINGS = (("search_path", "pg_catalog"), ("TimeZone", "UTC"), ("DateStyle", "ISO, MDY"),
            ("IntervalStyle", "postgres"), ("extra_float_digits", "1"))
LOCK = "SELECT pg_advisory_xact_lock(hashtext('policyengine native postgres'))"

Statement = tuple[str, tuple[Any, ...]]


class NativeError(ValueError):
    """The plan cannot be made or applied (a name conflict, a missing base table, a failed check)."""


def ident(name: str) -> str:
    """A quoted Postgres identifier (refused past Postgres' 63 bytes: it would be truncated)."""
    if not name or len(name.encode("utf-8")) > 63 or "\0" in name:
        raise NativeError(f"'{name[:80]}' cannot be a Postgres name (empty, NUL or longer than 63 bytes)")
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- the desired state


@dataclass(frozen=True)
class ViewSpec:
    """One consumer's view of one product."""

    schema: str
    name: str
    role: str
    base: str  # the base table, as SQL
    body: str  # the SELECT
    policy: str  # digest of the body

    @property
    def qualified(self) -> str:
        return f"{ident(self.schema)}.{ident(self.name)}"


@dataclass(frozen=True)
class Desired:
    """Every object a plan should leave in the database."""

    roles: Mapping[str, str]  # role -> consumer
    views: tuple[ViewSpec, ...]
    bases: tuple[str, ...]
    key: str | None = field(default=None, repr=False)  # digest of the pads (never the key)
    pads: tuple[bytes, bytes] | None = field(default=None, repr=False, compare=False)


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


def _keyed(select: exp.Select) -> exp.Select:
    """Replace pgcrypto's HMAC(data, key, 'sha256') by HMAC composed from sha256() and the pads
    the owner-only key table holds (nothing of the key in the SQL)."""
    pads = f"{ident(KEY_SCHEMA)}.{ident(KEY_TABLE)}"
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


def view_body(table: TablePlan, base: str, types: Mapping[str, str] | None, keyed: bool) -> str:
    """The SELECT of `table`'s view (the enforced SELECT of enforce/sql.py)."""
    select = enforced_select(table.decision, source_table(base, "postgres"), "postgres", types=types, keyed=keyed)
    if keyed:
        select = _keyed(select)
    return select.sql(dialect="postgres")


def desired_state(plan: NativePlan, *, prefix: str = DEFAULT_PREFIX, table_template: str = DEFAULT_TABLE,
                  types: Mapping[str, Mapping[str, str]] | None = None,
                  hash_key: bytes | str | None = None) -> Desired:
    """The objects `plan` compiles to. `types`: per product, column -> logical type (as
    enforcement renders it: `timestamptz` for a timestamp with a zone)."""
    key = resolve_key(hash_key)
    roles: dict[str, str] = {}
    views: list[ViewSpec] = []
    bases: set[str] = set()
    uses_hash = False
    for table in plan.tables:
        role = prefix + table.consumer
        ident(role)
        roles[role] = table.consumer
        base = base_table(table.product, table_template)
        bases.add(base)
        keyed = any(c.strategy == "hash" for c in table.columns)
        if keyed and key is None:
            raise NativeError(f"{table.consumer} on {table.product}: keyed hash needs a key (compile "
                              "without one refuses it)")
        uses_hash = uses_hash or keyed
        column_types = dict(table.types) | dict((types or {}).get(table.product, {}))
        try:
            body = view_body(table, base, column_types, keyed)
        except RenderError as exc:
            raise NativeError(f"{table.consumer} on {table.product}: {exc}") from None
        views.append(ViewSpec(role, table.product, role, base, body, digest(body)))
    for refusal in plan.refusals:  # a refused consumer still gets its role: it reads nothing natively
        roles.setdefault(prefix + refusal.consumer, refusal.consumer)
    pads = None
    key_digest = None
    if uses_hash and key is not None:
        params = hash_parameters(key, "duckdb")
        pads = (bytes(params["pe_hmac_ipad"]), bytes(params["pe_hmac_opad"]))
        key_digest = hashlib.sha256(pads[0] + pads[1]).hexdigest()
    return Desired(roles, tuple(views), tuple(sorted(bases)), key_digest, pads)


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
class LiveView:
    comment: str
    viewdef: str  # digest of pg_get_viewdef now
    barrier: bool
    owner: str
    grants: frozenset[tuple[str, str]]  # (grantee, privilege), the owner's own left out


@dataclass(frozen=True)
class Live:
    """What the database holds now, as far as policyengine manages it."""

    user: str
    roles: Mapping[str, bool]  # role -> managed (for the roles of interest)
    schemas: Mapping[str, tuple[bool, frozenset[tuple[str, str]]]]  # name -> (managed, grants)
    views: Mapping[tuple[str, str], LiveView]  # managed views, in any schema
    base_readers: Mapping[str, frozenset[str]]  # base table -> roles of interest (or PUBLIC) reading it
    missing_bases: tuple[str, ...]
    key: str | None  # digest of the pads held (None: no key table)
    key_readers: frozenset[str]
    memberships: frozenset[tuple[str, str]] = frozenset()  # (role, member): a role of interest in another


def _settings(cur: Any) -> None:
    for name, value in SETTINGS:
        cur.execute("SELECT set_config(%s, %s, true)", (name, value))


GRANTABLE = " WITH GRANT OPTION"


def _acl(cur: Any, column: str, table: str, oid: int, owner: str) -> frozenset[tuple[str, str]]:
    """(grantee, privilege) granted on an object, the owner's own left out; a privilege that may
    be passed on reads `SELECT WITH GRANT OPTION` (not what is compiled: revoked, granted again)."""
    rows = cur.execute(
        f"SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, "
        f"a.is_grantable FROM {table} x, aclexplode(x.{column}) a WHERE x.oid = %s", (oid,)).fetchall()
    return frozenset((g, p + (GRANTABLE if grantable else "")) for g, p, grantable in rows if g != owner)


def _revoke(privilege: str, target: str, grantee: str) -> Statement:
    who = "PUBLIC" if grantee == "PUBLIC" else ident(grantee)
    return (f"REVOKE {privilege.removesuffix(GRANTABLE)} ON {target} FROM {who} CASCADE", ())


def read_live(con: Any, desired: Desired) -> Live:
    """The live state (in a transaction of its own, rolled back: reading changes nothing)."""
    with con.transaction(force_rollback=True):
        cur = con.cursor()
        _settings(cur)
        user = cur.execute("SELECT current_user").fetchone()[0]
        managed_roles = {r for (r,) in cur.execute(
            "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = %s", (MARK,))}
        existing = {r for (r,) in cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                              (list(desired.roles),))}
        roles = {r: r in managed_roles for r in existing | managed_roles}
        schemas: dict[str, tuple[bool, frozenset[tuple[str, str]]]] = {}
        wanted = {v.schema for v in desired.views}
        for oid, name, comment, owner in cur.execute(
                "SELECT n.oid, n.nspname, obj_description(n.oid, 'pg_namespace'), pg_get_userbyid(n.nspowner) "
                "FROM pg_namespace n WHERE obj_description(n.oid, 'pg_namespace') = %s OR n.nspname = ANY(%s)",
                (MARK, list(wanted))).fetchall():
            schemas[name] = (comment == MARK, _acl(con.cursor(), "nspacl", "pg_namespace", oid, owner))
        views: dict[tuple[str, str], LiveView] = {}
        for oid, schema, name, comment, viewdef, options, owner in cur.execute(
                "SELECT c.oid, n.nspname, c.relname, obj_description(c.oid, 'pg_class'), "
                "encode(sha256(convert_to(pg_get_viewdef(c.oid), 'UTF8')), 'hex'), c.reloptions, "
                "pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'v' AND (obj_description(c.oid, 'pg_class') LIKE %s OR n.nspname = ANY(%s))",
                (MARK + " %", list(wanted))).fetchall():
            views[(schema, name)] = LiveView(comment or "", viewdef, "security_barrier=true" in (options or []),
                                             owner, _acl(con.cursor(), "relacl", "pg_class", oid, owner))
        readers: dict[str, frozenset[str]] = {}
        missing: list[str] = []
        who = sorted(r for r in roles if r in desired.roles or roles[r])
        for base in desired.bases:
            oid = cur.execute("SELECT to_regclass(%s)::oid", (base,)).fetchone()[0]
            if oid is None:
                missing.append(base)
                continue
            found = {r for r in who if cur.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT') OR has_any_column_privilege(%s, %s, 'SELECT')",
                (r, oid, r, oid)).fetchone()[0]}
            public = cur.execute("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
                                 "WHERE c.oid = %s AND a.grantee = 0", (oid,)).fetchone()[0]
            readers[base] = frozenset(found | ({"PUBLIC"} if public else set()))
        key = None
        key_readers: frozenset[str] = frozenset()
        pads = f"{ident(KEY_SCHEMA)}.{ident(KEY_TABLE)}"
        oid = cur.execute("SELECT to_regclass(%s)::oid", (pads,)).fetchone()[0]
        if oid is not None:
            row = cur.execute(f"SELECT encode(sha256(ipad || opad), 'hex') FROM {pads}").fetchone()
            key = row[0] if row else ""
            key_readers = frozenset(r for r in who if cur.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT')", (r, oid)).fetchone()[0])
        members = frozenset(cur.execute(
            "SELECT pg_get_userbyid(m.roleid), pg_get_userbyid(m.member) FROM pg_auth_members m "
            "WHERE pg_get_userbyid(m.roleid) = ANY(%s) AND pg_get_userbyid(m.member) = ANY(%s)",
            (who, who)).fetchall())
    return Live(user, roles, schemas, views, readers, tuple(missing), key, key_readers,
                frozenset((r, m) for r, m in members))


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


def _comment_statement(view: ViewSpec) -> Statement:
    """COMMENT the view with its policy digest and the digest of pg_get_viewdef as stored now."""
    reg = literal(view.qualified)
    body = (f"PERFORM set_config('search_path', 'pg_catalog', true); "
            f"EXECUTE format('COMMENT ON VIEW %s IS %L', {reg}::regclass, "
            f"{literal(f'{MARK} policy={view.policy} viewdef=')} || "
            f"encode(sha256(convert_to(pg_get_viewdef({reg}::regclass), 'UTF8')), 'hex'));")
    tag = "$pe$"
    while tag in body:
        tag = tag[:-1] + "x$"
    return (f"DO {tag} BEGIN {body} END {tag}", ())


def create_view(view: ViewSpec) -> tuple[Statement, ...]:
    return ((f"CREATE VIEW {view.qualified} WITH (security_barrier = true) AS {view.body}", ()),
            _comment_statement(view),
            (f"REVOKE ALL ON {view.qualified} FROM PUBLIC", ()),
            (f"GRANT SELECT ON {view.qualified} TO {ident(view.role)}", ()))


def _recorded(comment: str) -> tuple[str, str]:
    """(policy digest, viewdef digest) a managed view's comment records."""
    parts = dict(p.split("=", 1) for p in comment.removeprefix(MARK).split() if "=" in p)
    return parts.get("policy", ""), parts.get("viewdef", "")


def plan_changes(desired: Desired, live: Live) -> list[Change]:
    """What apply changes to turn `live` into `desired` (empty: nothing to do)."""
    if live.missing_bases:
        raise NativeError(f"base table(s) missing: {', '.join(live.missing_bases)} (--table names them)")
    changes: list[Change] = []
    for role, consumer in sorted(desired.roles.items()):
        if role not in live.roles:
            changes.append(Change("+", "role", role, f"consumer {consumer}", (
                (f"CREATE ROLE {ident(role)} NOLOGIN", ()), (f"COMMENT ON ROLE {ident(role)} IS {literal(MARK)}", ()))))
        elif not live.roles[role]:
            raise NativeError(f"role {role} exists and is not managed by policyengine: rename the consumer "
                              "or choose another --role-prefix")
    if desired.key is not None and live.key != desired.key:
        pads = f"{ident(KEY_SCHEMA)}.{ident(KEY_TABLE)}"
        statements: list[Statement] = []
        if live.key is None:
            statements += [(f"CREATE SCHEMA IF NOT EXISTS {ident(KEY_SCHEMA)}", ()),
                           (f"COMMENT ON SCHEMA {ident(KEY_SCHEMA)} IS {literal(MARK + ' key')}", ()),
                           (f"REVOKE ALL ON SCHEMA {ident(KEY_SCHEMA)} FROM PUBLIC", ()),
                           (f"CREATE TABLE {pads} (ipad bytea NOT NULL, opad bytea NOT NULL)", ()),
                           (f"REVOKE ALL ON {pads} FROM PUBLIC", ())]
        statements += [(f"DELETE FROM {pads}", ()),
                       (f"INSERT INTO {pads} (ipad, opad) VALUES (%s, %s)", desired.pads or ())]
        changes.append(Change("~" if live.key is not None else "+", "hmac key", pads,
                              "the key's pads differ" if live.key is not None else "for keyed hash masks",
                              tuple(statements)))
    for role in sorted(desired.roles):
        if role in live.key_readers:
            changes.append(Change("-", "grant", f"{KEY_SCHEMA}.{KEY_TABLE} to {role}", "consumers never read the key",
                                  ((f"REVOKE ALL ON {ident(KEY_SCHEMA)}.{ident(KEY_TABLE)} FROM {ident(role)}", ()),)))
    wanted = {(v.schema, v.name): v for v in desired.views}
    schemas = sorted({v.schema for v in desired.views})
    for (schema, name), stale in sorted(live.views.items()):
        if (schema, name) not in wanted and stale.comment.startswith(MARK):
            changes.append(Change("-", "view", f"{schema}.{name}", "no longer compiled",
                                  ((f"DROP VIEW {ident(schema)}.{ident(name)}", ()),)))
    for schema, (managed, _) in sorted(live.schemas.items()):
        if managed and schema not in schemas:
            changes.append(Change("-", "schema", schema, "no view left",
                                  ((f"DROP SCHEMA {ident(schema)}", ()),)))
    for schema in schemas:
        role = schema
        found = live.schemas.get(schema)
        if found is None:
            changes.append(Change("+", "schema", schema, f"views of {role}", (
                (f"CREATE SCHEMA {ident(schema)}", ()),
                (f"COMMENT ON SCHEMA {ident(schema)} IS {literal(MARK)}", ()),
                (f"REVOKE ALL ON SCHEMA {ident(schema)} FROM PUBLIC", ()),
                (f"GRANT USAGE ON SCHEMA {ident(schema)} TO {ident(role)}", ()))))
            continue
        managed, grants = found
        if not managed:
            raise NativeError(f"schema {schema} exists and is not managed by policyengine")
        for grantee, privilege in sorted(grants - {(role, "USAGE")}):
            changes.append(Change("-", "grant", f"{privilege} on schema {schema} to {grantee}", "not compiled",
                                  (_revoke(privilege, f"SCHEMA {ident(schema)}", grantee),)))
        if (role, "USAGE") not in grants:
            changes.append(Change("+", "grant", f"USAGE on schema {schema} to {role}", "missing",
                                  ((f"GRANT USAGE ON SCHEMA {ident(schema)} TO {ident(role)}", ()),)))
    for key, view in sorted(wanted.items()):
        lv = live.views.get(key)
        name = f"{view.schema}.{view.name}"
        if lv is None:
            changes.append(Change("+", "view", name, f"{len(view.body)} chars of SQL", create_view(view)))
            continue
        if not lv.comment.startswith(MARK):
            raise NativeError(f"view {name} exists and is not managed by policyengine")
        policy, viewdef = _recorded(lv.comment)
        why = [w for w, bad in (("the policies changed", policy != view.policy),
                                ("edited by hand", viewdef != lv.viewdef),
                                ("security_barrier is off", not lv.barrier),
                                (f"owned by {lv.owner}, not {live.user}", lv.owner != live.user)) if bad]
        if why:
            changes.append(Change("~", "view", name, ", ".join(why),
                                  ((f"DROP VIEW {view.qualified}", ()), *create_view(view))))
            continue
        for grantee, privilege in sorted(lv.grants - {(view.role, "SELECT")}):
            changes.append(Change("-", "grant", f"{privilege} on {name} to {grantee}", "not compiled",
                                  (_revoke(privilege, view.qualified, grantee),)))
        if (view.role, "SELECT") not in lv.grants:
            changes.append(Change("+", "grant", f"SELECT on {name} to {view.role}", "missing",
                                  ((f"GRANT SELECT ON {view.qualified} TO {ident(view.role)}", ()),)))
    for base in desired.bases:
        readers = sorted(live.base_readers.get(base, frozenset()))
        if readers:
            names = ", ".join("PUBLIC" if r == "PUBLIC" else ident(r) for r in readers)
            changes.append(Change("-", "grant", f"{base} to {', '.join(readers)}", "base tables are not for consumers",
                                  ((f"REVOKE ALL ON {base} FROM {names}", ()),)))
    for role, member in sorted(live.memberships):  # a consumer's role inside another's reads its views
        changes.append(Change("-", "membership", f"{role} to {member}", "consumer roles are members of none",
                              ((f"REVOKE {ident(role)} FROM {ident(member)}", ()),)))
    for role, managed in sorted(live.roles.items()):
        if managed and role not in desired.roles:
            changes.append(Change("-", "role", role, "no longer a consumer", ((f"DROP ROLE {ident(role)}", ()),)))
    return changes


# ---------------------------------------------------------------- apply


def check_applied(con: Any, desired: Desired) -> None:
    """After the changes, inside the transaction: no consumer role reads a base table or the key."""
    live = read_live(con, desired)
    for base, readers in live.base_readers.items():
        if readers:
            raise NativeError(f"{', '.join(sorted(readers))} can still read {base} (through a role it is "
                              "a member of or owns?): nothing was applied")
    if live.key_readers:
        raise NativeError(f"{', '.join(sorted(live.key_readers))} can read the key table: nothing was applied")


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


def render_files(desired: Desired, changes: Sequence[Change]) -> dict[str, str]:
    """The SQL of `changes` as files (one per change kind, in apply order): for review or a
    deployment tool. The key's pads are never written: that statement is left as a comment."""
    out = ["-- policyengine native objects for postgres: run in one transaction", "BEGIN;", LOCK + ";"]
    for name, value in SETTINGS:
        out.append(f"SELECT set_config({literal(name)}, {literal(value)}, true);")
    for change in changes:
        out.append(f"-- {change}")
        for sql, params in change.statements:
            out.append("-- the HMAC pads are loaded by `policyengine apply` only (never written to files)"
                       if params else sql + ";")
    out.append("COMMIT;")
    return {"apply.sql": "\n".join(out) + "\n"}
