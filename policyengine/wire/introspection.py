"""What clients ask a PostgreSQL server about itself, answered from the catalog per consumer.

psql's `\\dt` and `\\d`, SQLAlchemy's inspector, pgjdbc's `DatabaseMetaData`, DBeaver and
Metabase read `pg_catalog` and `information_schema`, call `version()`, `current_schema()` and
`current_setting()`, and send `SHOW` and `SET`. None of that may reach the backend: DuckDB's own
`pg_catalog` views (and `duckdb_tables()`) would list the raw tables and their columns.

Instead each consumer gets a small in-memory DuckDB database of its own holding only look-alikes
of the catalog relations (`pg_class`, `pg_namespace`, `pg_attribute`, `pg_type`, `pg_database`,
`pg_settings`, `information_schema.tables`/`columns`/`schemata`, ... ; see `RELATIONS`), filled
from the products that consumer may read: one schema per domain, one table per product, with
exactly the columns and types `SELECT *` returns through the gateway for that consumer (denied
columns absent, masked columns with the masked output's type), never a raw table, never another
consumer's view. The database holds no data, has external access disabled and its configuration
locked, and no Python object can be scanned from it.

A statement is answered here when every relation it reads is one of these look-alikes (or a CTE)
and every function it calls is on `_FUNCTIONS`/`_MACROS`; it is translated from PostgreSQL to
DuckDB with sqlglot, each catalog name pointed at its look-alike and each session value (user,
schema, database, settings, table visibility) put in as a literal. A statement that reads the
catalog and anything else is refused; one that reads no catalog relation and calls no catalog
function is not ours (`answer` returns None) and goes through the enforced path.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from policyengine.enforce.gateway import Gateway, GatewayError
from policyengine.wire import messages as m


class Refusal(Exception):
    """A statement refused here: its SQLSTATE and a message quoting no data value."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate, self.text = sqlstate, text


@dataclass(frozen=True)
class Answer:
    """A statement's outcome in protocol terms: command tag, columns (None: no rows), DataRows."""

    tag: str
    columns: list[m.Column] | None = None
    rows: list[bytes] = field(default_factory=list)


# ---------------------------------------------------------------- what a consumer sees


@dataclass(frozen=True)
class CatalogColumn:
    name: str
    oid: int  # the PostgreSQL type OID the gateway sends for it in RowDescription
    typmod: int = -1
    description: str = ""


@dataclass(frozen=True)
class CatalogTable:
    schema: str
    name: str
    columns: tuple[CatalogColumn, ...]
    description: str = ""


def visible_tables(gateway: Gateway, consumer: Any) -> tuple[CatalogTable, ...]:
    """The products `consumer` may read through `gateway`, each with the columns and types its
    `SELECT *` returns for that consumer: asked of the gateway itself (`LIMIT 0`), so what is
    listed is what a query gets. A product the consumer cannot read (error decision, no readable
    column, no data in this gateway, a refusal) is not listed at all."""
    import pyarrow as pa

    engine = gateway.engine
    found: list[CatalogTable] = []
    for name, product in sorted(engine.catalog.products.items()):
        decision = engine.evaluate(consumer, name)
        if decision.error or not decision.readable_columns:
            continue
        domain, _, table = name.partition(".")
        select = exp.select(exp.Star()).from_(exp.Table(this=exp.to_identifier(table, quoted=True),
                                                        db=exp.to_identifier(domain, quoted=True))).limit(0)
        try:
            result = gateway.query(select.sql(dialect="duckdb"), consumer)
        except GatewayError:
            continue
        described = {c.name: c.description for c in product.columns}
        columns = []
        for f in result.schema:
            typmod = -1
            if pa.types.is_decimal(f.type):
                typmod = ((f.type.precision << 16) | f.type.scale) + 4
            columns.append(CatalogColumn(f.name, m.type_oid(f.type), typmod, described.get(f.name, "")))
        found.append(CatalogTable(domain, table, tuple(columns), product.description))
    return tuple(found)


# ---------------------------------------------------------------- session state


SERVER_VERSION_NUM = "160000"
_SETTABLE = ("application_name", "extra_float_digits", "datestyle", "client_encoding", "search_path",
             "timezone")


class Session:
    """One connection's settings (what SHOW, current_setting() and pg_settings read, and what the
    harmless SETs change) and its database name."""

    def __init__(self, parameters: Mapping[str, str], database: str = "", version: str = "") -> None:
        self.database = database or "policyengine"
        self.version = version  # what version() returns
        self.defaults: dict[str, tuple[str, str]] = {k.lower(): (k, v) for k, v in parameters.items()}
        for key, value in (("search_path", ""), ("transaction_isolation", "read committed"),
                           ("default_transaction_isolation", "read committed"),
                           ("transaction_read_only", "on"), ("default_transaction_read_only", "on"),
                           ("extra_float_digits", "1"), ("max_identifier_length", "63"),
                           ("server_version_num", SERVER_VERSION_NUM), ("lc_collate", "C"), ("lc_ctype", "C"),
                           ("max_index_keys", "32"), ("block_size", "8192"),
                           ("default_table_access_method", "heap")):
            self.defaults.setdefault(key, (key, value))
        self.values: dict[str, str] = {}

    def get(self, name: str) -> tuple[str, str] | None:
        found = self.defaults.get(name.lower())
        if found is None:
            return None
        return found[0], self.values.get(name.lower(), found[1])

    def all(self) -> list[tuple[str, str]]:
        return sorted(((key, self.values.get(low, value)) for low, (key, value) in self.defaults.items()),
                      key=lambda kv: kv[0].lower())


# ---------------------------------------------------------------- the look-alike relations

# PostgreSQL type OIDs the catalog lists: name, length, category, and how format_type() names it
_TYPES: tuple[tuple[int, str, int, str, str], ...] = (
    (16, "bool", 1, "B", "boolean"), (17, "bytea", -1, "U", "bytea"), (18, "char", 1, "Z", '"char"'),
    (19, "name", 64, "S", "name"), (20, "int8", 8, "N", "bigint"), (21, "int2", 2, "N", "smallint"),
    (23, "int4", 4, "N", "integer"), (25, "text", -1, "S", "text"), (26, "oid", 4, "N", "oid"),
    (700, "float4", 4, "N", "real"), (701, "float8", 8, "N", "double precision"),
    (1043, "varchar", -1, "S", "character varying"), (1082, "date", 4, "D", "date"),
    (1083, "time", 8, "D", "time without time zone"), (1114, "timestamp", 8, "D", "timestamp without time zone"),
    (1184, "timestamptz", 8, "D", "timestamp with time zone"), (1700, "numeric", -1, "N", "numeric"),
)
# the types whose I/O functions PostgreSQL names with an underscore (`date_recv`, not `daterecv`):
# drivers (ADBC) pick their binary decoder by `typreceive`'s name
_UNDERSCORED_IO = frozenset({"array", "date", "time", "timetz", "timestamp", "timestamptz", "interval", "numeric",
                             "uuid", "json", "jsonb"})


def _io_functions(name: str) -> tuple[str, str, str, str]:
    """A type's (typinput, typoutput, typreceive, typsend) as PostgreSQL names them."""
    sep = "_" if name in _UNDERSCORED_IO else ""
    return tuple(f"{name}{sep}{part}" for part in ("in", "out", "recv", "send"))  # type: ignore[return-value]


_ARRAY_OID = 10000  # a type's array type: its OID + this (arrays are listed for the types above)
NS_CATALOG, NS_PUBLIC, NS_INFO = 11, 2200, 13000
_FIRST_NS, _FIRST_TABLE = 16384, 20000
OWNER = "policyengine"
_CLASS_OID = 1259  # pg_class's own OID (pg_description.classoid)

V, B, I2, I4, I8, F8 = "VARCHAR", "BOOLEAN", "SMALLINT", "INTEGER", "BIGINT", "DOUBLE"
VA = "VARCHAR[]"

# relation -> its columns (name, DuckDB type); rows come from `_rows`
RELATIONS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("pg_catalog", "pg_namespace"): (("oid", I8), ("nspname", V), ("nspowner", I8), ("nspacl", VA)),
    ("pg_catalog", "pg_class"): (
        ("oid", I8), ("relname", V), ("relnamespace", I8), ("reltype", I8), ("reloftype", I8),
        ("relowner", I8), ("relam", I8), ("relfilenode", I8), ("reltablespace", I8), ("relpages", I4),
        ("reltuples", "REAL"), ("relallvisible", I4), ("reltoastrelid", I8), ("relhasindex", B),
        ("relisshared", B), ("relpersistence", V), ("relkind", V), ("relnatts", I2), ("relchecks", I2),
        ("relhasrules", B), ("relhastriggers", B), ("relhassubclass", B), ("relrowsecurity", B),
        ("relforcerowsecurity", B), ("relispopulated", B), ("relreplident", V), ("relispartition", B),
        ("relrewrite", I8), ("relfrozenxid", I8), ("relminmxid", I8), ("relacl", VA), ("reloptions", VA),
        ("relpartbound", V)),
    ("pg_catalog", "pg_attribute"): (
        ("attrelid", I8), ("attname", V), ("atttypid", I8), ("attlen", I2), ("attnum", I2),
        ("attcacheoff", I4), ("atttypmod", I4), ("attndims", I2), ("attbyval", B), ("attalign", V),
        ("attstorage", V), ("attcompression", V), ("attnotnull", B), ("atthasdef", B), ("atthasmissing", B),
        ("attidentity", V), ("attgenerated", V), ("attisdropped", B), ("attislocal", B), ("attinhcount", I2),
        ("attstattarget", I2), ("attcollation", I8), ("attacl", VA), ("attoptions", VA),
        ("attfdwoptions", VA), ("attmissingval", V)),
    ("pg_catalog", "pg_type"): (
        ("oid", I8), ("typname", V), ("typnamespace", I8), ("typowner", I8), ("typlen", I2), ("typbyval", B),
        ("typtype", V), ("typcategory", V), ("typispreferred", B), ("typisdefined", B), ("typdelim", V),
        ("typrelid", I8), ("typsubscript", V), ("typelem", I8), ("typarray", I8), ("typinput", V),
        ("typoutput", V), ("typreceive", V), ("typsend", V), ("typmodin", V), ("typmodout", V),
        ("typanalyze", V), ("typalign", V), ("typstorage", V), ("typnotnull", B), ("typbasetype", I8),
        ("typtypmod", I4), ("typndims", I4), ("typcollation", I8), ("typdefaultbin", V), ("typdefault", V),
        ("typacl", VA)),
    ("pg_catalog", "pg_database"): (
        ("oid", I8), ("datname", V), ("datdba", I8), ("encoding", I4), ("datlocprovider", V),
        ("datistemplate", B), ("datallowconn", B), ("datconnlimit", I4), ("datfrozenxid", I8),
        ("datminmxid", I8), ("dattablespace", I8), ("datcollate", V), ("datctype", V), ("daticulocale", V),
        ("daticurules", V), ("datcollversion", V), ("datacl", VA)),
    ("pg_catalog", "pg_settings"): (
        ("name", V), ("setting", V), ("unit", V), ("category", V), ("short_desc", V), ("extra_desc", V),
        ("context", V), ("vartype", V), ("source", V), ("min_val", V), ("max_val", V), ("enumvals", VA),
        ("boot_val", V), ("reset_val", V), ("sourcefile", V), ("sourceline", I4), ("pending_restart", B)),
    ("pg_catalog", "pg_description"): (("objoid", I8), ("classoid", I8), ("objsubid", I4), ("description", V)),
    ("pg_catalog", "pg_am"): (("oid", I8), ("amname", V), ("amhandler", V), ("amtype", V)),
    ("pg_catalog", "pg_roles"): (
        ("oid", I8), ("rolname", V), ("rolsuper", B), ("rolinherit", B), ("rolcreaterole", B),
        ("rolcreatedb", B), ("rolcanlogin", B), ("rolreplication", B), ("rolconnlimit", I4),
        ("rolpassword", V), ("rolvaliduntil", V), ("rolbypassrls", B), ("rolconfig", VA)),
    ("pg_catalog", "pg_user"): (
        ("usename", V), ("usesysid", I8), ("usecreatedb", B), ("usesuper", B), ("userepl", B),
        ("usebypassrls", B), ("passwd", V), ("valuntil", V), ("useconfig", VA)),
    ("pg_catalog", "pg_tables"): (
        ("schemaname", V), ("tablename", V), ("tableowner", V), ("tablespace", V), ("hasindexes", B),
        ("hasrules", B), ("hastriggers", B), ("rowsecurity", B)),
    ("pg_catalog", "pg_tablespace"): (("oid", I8), ("spcname", V), ("spcowner", I8), ("spcacl", VA),
                                      ("spcoptions", VA)),
    # relations that exist and are empty through the gateway: no indexes, keys, defaults, views...
    ("pg_catalog", "pg_attrdef"): (("oid", I8), ("adrelid", I8), ("adnum", I2), ("adbin", V)),
    ("pg_catalog", "pg_index"): (
        ("indexrelid", I8), ("indrelid", I8), ("indnatts", I2), ("indnkeyatts", I2), ("indisunique", B),
        ("indnullsnotdistinct", B), ("indisprimary", B), ("indisexclusion", B), ("indimmediate", B),
        ("indisclustered", B), ("indisvalid", B), ("indcheckxmin", B), ("indisready", B), ("indislive", B),
        ("indisreplident", B), ("indkey", "SMALLINT[]"), ("indcollation", "BIGINT[]"), ("indclass", "BIGINT[]"), ("indoption", "SMALLINT[]"),
        ("indexprs", V), ("indpred", V)),
    ("pg_catalog", "pg_constraint"): (
        ("oid", I8), ("conname", V), ("connamespace", I8), ("contype", V), ("condeferrable", B),
        ("condeferred", B), ("convalidated", B), ("conrelid", I8), ("contypid", I8), ("conindid", I8),
        ("conparentid", I8), ("confrelid", I8), ("confupdtype", V), ("confdeltype", V), ("confmatchtype", V),
        ("conislocal", B), ("coninhcount", I2), ("connoinherit", B), ("conkey", "SMALLINT[]"),
        ("confkey", "SMALLINT[]"), ("conbin", V)),
    ("pg_catalog", "pg_inherits"): (("inhrelid", I8), ("inhparent", I8), ("inhseqno", I4),
                                    ("inhdetachpending", B)),
    ("pg_catalog", "pg_proc"): (("oid", I8), ("proname", V), ("pronamespace", I8), ("proowner", I8),
                                ("prokind", V), ("prorettype", I8), ("proargtypes", "BIGINT[]")),
    ("pg_catalog", "pg_collation"): (("oid", I8), ("collname", V), ("collnamespace", I8)),
    ("pg_catalog", "pg_enum"): (("oid", I8), ("enumtypid", I8), ("enumsortorder", "REAL"), ("enumlabel", V)),
    ("pg_catalog", "pg_sequence"): (("seqrelid", I8), ("seqtypid", I8), ("seqstart", I8),
                                    ("seqincrement", I8), ("seqmax", I8), ("seqmin", I8), ("seqcache", I8),
                                    ("seqcycle", B)),
    ("pg_catalog", "pg_views"): (("schemaname", V), ("viewname", V), ("viewowner", V), ("definition", V)),
    ("pg_catalog", "pg_matviews"): (("schemaname", V), ("matviewname", V), ("matviewowner", V),
                                    ("definition", V)),
    ("pg_catalog", "pg_trigger"): (("oid", I8), ("tgrelid", I8), ("tgname", V), ("tgenabled", V),
                                   ("tgisinternal", B)),
    ("pg_catalog", "pg_rewrite"): (("oid", I8), ("rulename", V), ("ev_class", I8), ("ev_type", V)),
    ("pg_catalog", "pg_policy"): (("oid", I8), ("polname", V), ("polrelid", I8), ("polcmd", V),
                                  ("polpermissive", B), ("polroles", "BIGINT[]"), ("polqual", V), ("polwithcheck", V)),
    ("pg_catalog", "pg_extension"): (("oid", I8), ("extname", V), ("extowner", I8), ("extnamespace", I8),
                                     ("extversion", V)),
    ("pg_catalog", "pg_foreign_table"): (("ftrelid", I8), ("ftserver", I8), ("ftoptions", VA)),
    ("pg_catalog", "pg_partitioned_table"): (("partrelid", I8), ("partstrat", V), ("partnatts", I2)),
    ("pg_catalog", "pg_statistic_ext"): (("oid", I8), ("stxrelid", I8), ("stxname", V),
                                         ("stxnamespace", I8), ("stxowner", I8), ("stxkeys", "SMALLINT[]"),
                                         ("stxkind", VA), ("stxstattarget", I2)),
    ("pg_catalog", "pg_publication"): (("oid", I8), ("pubname", V), ("pubowner", I8), ("puballtables", B),
                                       ("pubinsert", B), ("pubupdate", B), ("pubdelete", B),
                                       ("pubtruncate", B), ("pubviaroot", B)),
    ("pg_catalog", "pg_publication_rel"): (("oid", I8), ("prpubid", I8), ("prrelid", I8), ("prqual", V),
                                           ("prattrs", "SMALLINT[]")),
    ("pg_catalog", "pg_publication_namespace"): (("oid", I8), ("pnpubid", I8), ("pnnspid", I8)),
    ("pg_catalog", "pg_depend"): (("classid", I8), ("objid", I8), ("objsubid", I4), ("refclassid", I8),
                                  ("refobjid", I8), ("refobjsubid", I4), ("deptype", V)),
    ("pg_catalog", "pg_opclass"): (("oid", I8), ("opcmethod", I8), ("opcname", V), ("opcnamespace", I8),
                                   ("opcowner", I8), ("opcfamily", I8), ("opcintype", I8), ("opcdefault", B),
                                   ("opckeytype", I8)),
    ("pg_catalog", "pg_stat_user_tables"): (("relid", I8), ("schemaname", V), ("relname", V), ("seq_scan", I8),
                                            ("n_live_tup", I8), ("n_dead_tup", I8), ("last_analyze", V)),
    ("pg_catalog", "pg_range"): (("rngtypid", I8), ("rngsubtype", I8), ("rngmultitypid", I8)),
    ("information_schema", "schemata"): (
        ("catalog_name", V), ("schema_name", V), ("schema_owner", V), ("default_character_set_catalog", V),
        ("default_character_set_schema", V), ("default_character_set_name", V), ("sql_path", V)),
    ("information_schema", "tables"): (
        ("table_catalog", V), ("table_schema", V), ("table_name", V), ("table_type", V),
        ("self_referencing_column_name", V), ("reference_generation", V), ("user_defined_type_catalog", V),
        ("user_defined_type_schema", V), ("user_defined_type_name", V), ("is_insertable_into", V),
        ("is_typed", V), ("commit_action", V)),
    ("information_schema", "columns"): (
        ("table_catalog", V), ("table_schema", V), ("table_name", V), ("column_name", V),
        ("ordinal_position", I4), ("column_default", V), ("is_nullable", V), ("data_type", V),
        ("character_maximum_length", I4), ("character_octet_length", I4), ("numeric_precision", I4),
        ("numeric_precision_radix", I4), ("numeric_scale", I4), ("datetime_precision", I4),
        ("interval_type", V), ("interval_precision", I4), ("character_set_catalog", V),
        ("character_set_schema", V), ("character_set_name", V), ("collation_catalog", V),
        ("collation_schema", V), ("collation_name", V), ("domain_catalog", V), ("domain_schema", V),
        ("domain_name", V), ("udt_catalog", V), ("udt_schema", V), ("udt_name", V), ("scope_catalog", V),
        ("scope_schema", V), ("scope_name", V), ("maximum_cardinality", I4), ("dtd_identifier", V),
        ("is_self_referencing", V), ("is_identity", V), ("identity_generation", V), ("identity_start", V),
        ("identity_increment", V), ("identity_maximum", V), ("identity_minimum", V), ("identity_cycle", V),
        ("is_generated", V), ("generation_expression", V), ("is_updatable", V)),
    ("information_schema", "views"): (("table_catalog", V), ("table_schema", V), ("table_name", V),
                                      ("view_definition", V)),
    ("information_schema", "table_constraints"): (
        ("constraint_catalog", V), ("constraint_schema", V), ("constraint_name", V), ("table_catalog", V),
        ("table_schema", V), ("table_name", V), ("constraint_type", V), ("is_deferrable", V),
        ("initially_deferred", V), ("enforced", V), ("nulls_distinct", V)),
    ("information_schema", "key_column_usage"): (
        ("constraint_catalog", V), ("constraint_schema", V), ("constraint_name", V), ("table_catalog", V),
        ("table_schema", V), ("table_name", V), ("column_name", V), ("ordinal_position", I4),
        ("position_in_unique_constraint", I4)),
    ("information_schema", "referential_constraints"): (
        ("constraint_catalog", V), ("constraint_schema", V), ("constraint_name", V),
        ("unique_constraint_catalog", V), ("unique_constraint_schema", V), ("unique_constraint_name", V),
        ("match_option", V), ("update_rule", V), ("delete_rule", V)),
    ("information_schema", "routines"): (("specific_catalog", V), ("specific_schema", V),
                                         ("specific_name", V), ("routine_name", V), ("routine_type", V)),
}
_SCHEMA_OF = {"pg_catalog": "pgc", "information_schema": "isc"}  # the look-alikes' schemas here


def _type_name(oid: int) -> str:
    return next((name for o, name, *_ in _TYPES if o == oid), "text")


def _format_type(oid: int, typmod: int) -> str:
    formatted = next((f for o, _, _, _, f in _TYPES if o == oid), "text")
    if oid == 1700 and typmod >= 4:
        return f"numeric({(typmod - 4) >> 16},{(typmod - 4) & 0xFFFF})"
    return formatted


def _data_type(oid: int) -> str:
    return _format_type(oid, -1)


def _settings_rows(settings: Sequence[tuple[str, str]]) -> list[tuple[Any, ...]]:
    return [(name, value, None, "policyengine gateway", "", None, "user", "string", "session", None, None, None,
             value, value, None, None, False) for name, value in settings]


def _session_relation(key: tuple[str, str], session: Session, alias: exp.Expression) -> exp.Expression:
    """A relation whose rows are the session's (pg_settings): a VALUES list in place of the table."""
    columns = RELATIONS[key]
    rows = [exp.Tuple(expressions=[exp.cast(_literal(v), t, dialect="duckdb") for v, (_, t) in zip(row, columns,
                                                                                                     strict=True)])
            for row in _settings_rows(session.all())]
    values = exp.Values(expressions=rows, alias=exp.TableAlias(this=exp.to_identifier("v"), columns=[
        exp.to_identifier(c) for c, _ in columns]))
    return exp.Subquery(this=exp.select(exp.Star()).from_(values), alias=alias)


def _rows(tables: Sequence[CatalogTable], database: str, consumer: str,
          settings: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """The rows of every look-alike relation for these tables (the rest are empty)."""
    schemas = sorted({t.schema for t in tables})
    ns = {name: _FIRST_NS + i for i, name in enumerate(schemas)}
    rows: dict[tuple[str, str], list[tuple[Any, ...]]] = {key: [] for key in RELATIONS}
    rows["pg_catalog", "pg_namespace"] = [(NS_CATALOG, "pg_catalog", 10, None), (NS_PUBLIC, "public", 10, None),
                                          (NS_INFO, "information_schema", 10, None)]
    rows["pg_catalog", "pg_namespace"] += [(ns[s], s, 10, None) for s in schemas]
    for oid, name, length, category, _ in _TYPES:
        for array in (False, True):
            rows["pg_catalog", "pg_type"].append((
                oid + _ARRAY_OID if array else oid, f"_{name}" if array else name, NS_CATALOG, 10,
                -1 if array else length, (0 < length <= 8) and not array, "b", "A" if array else category, False,
                True, ",", 0, "array_subscript_handler" if array else "-", oid if array else 0,
                0 if array else oid + _ARRAY_OID, *_io_functions("array" if array else name),
                "-",
                "-", "-", "i", "x" if length < 0 or array else "p", False, 0, -1, 0,
                100 if category == "S" else 0, None, None, None))
    rows["pg_catalog", "pg_database"] = [(16383, database, 10, 6, "c", False, True, -1, 0, 0, 1663, "C", "C",
                                          None, None, None, None)]
    rows["pg_catalog", "pg_am"] = [(2, "heap", "heap_tableam_handler", "t")]
    rows["pg_catalog", "pg_roles"] = [(10, consumer, False, True, False, False, True, False, -1, "********",
                                       None, False, None)]
    rows["pg_catalog", "pg_user"] = [(consumer, 10, False, False, False, False, "********", None, None)]
    rows["pg_catalog", "pg_tablespace"] = [(1663, "pg_default", 10, None, None)]
    rows["pg_catalog", "pg_settings"] = _settings_rows(settings)
    rows["information_schema", "schemata"] = [(database, s, OWNER, None, None, None, None)
                                              for s in ["information_schema", "pg_catalog", "public", *schemas]]
    for index, table in enumerate(tables):
        oid = _FIRST_TABLE + index
        rows["pg_catalog", "pg_class"].append((
            oid, table.name, ns[table.schema], 0, 0, 10, 2, oid, 0, 0, -1.0, 0, 0, False, False, "p", "r",
            len(table.columns), 0, False, False, False, False, False, True, "d", False, 0, 0, 0, None, None,
            None))
        rows["pg_catalog", "pg_tables"].append((table.schema, table.name, OWNER, None, False, False, False, False))
        rows["information_schema", "tables"].append((database, table.schema, table.name, "BASE TABLE", None, None,
                                                     None, None, None, "NO", "NO", None))
        if table.description:
            rows["pg_catalog", "pg_description"].append((oid, _CLASS_OID, 0, table.description))
        for num, column in enumerate(table.columns, start=1):
            length = next((length for o, _, length, _, _ in _TYPES if o == column.oid), -1)
            rows["pg_catalog", "pg_attribute"].append((
                oid, column.name, column.oid, length, num, -1, column.typmod, 0, 0 < length <= 8, "i",
                "p" if length > 0 else "x", "", False, False, False, "", "", False, True, 0, -1,
                100 if column.oid == 25 else 0, None, None, None, None))
            if column.description:
                rows["pg_catalog", "pg_description"].append((oid, _CLASS_OID, num, column.description))
            precision = scale = radix = None
            if column.oid == 1700 and column.typmod >= 4:
                precision, scale, radix = (column.typmod - 4) >> 16, (column.typmod - 4) & 0xFFFF, 10
            elif column.oid in (20, 21, 23):
                precision, scale, radix = {20: 64, 21: 16, 23: 32}[column.oid], 0, 2
            elif column.oid in (700, 701):
                precision, radix = {700: 24, 701: 53}[column.oid], 2
            rows["information_schema", "columns"].append((
                database, table.schema, table.name, column.name, num, None, "YES", _data_type(column.oid), None,
                1073741824 if column.oid == 25 else None, precision, radix, scale,
                6 if column.oid in (1083, 1114, 1184) else (0 if column.oid == 1082 else None), None, None,
                None, None, None, None, None, None, None, None, None, database, "pg_catalog",
                _type_name(column.oid), None, None, None, None, str(num), "NO", "NO", None, None, None, None,
                None, "NO", "NEVER", None, "NO"))
    return rows


# ---------------------------------------------------------------- functions

# sqlglot's function nodes a catalog query may use (all of them harmless over catalog rows)
_FUNCTIONS = frozenset({
    "Abs", "All", "Any", "Array", "ArrayAgg", "ArrayContains", "ArraySize", "ArrayToString", "Avg", "BoolOr",
    "BoolAnd", "Case", "Cast", "Ceil", "Coalesce", "Concat", "ConcatWs", "Count", "CurrentCatalog",
    "CurrentDatabase", "CurrentSchema", "CurrentSchemas", "CurrentUser", "CurrentVersion", "Floor",
    "GroupConcat", "Greatest", "If", "Initcap", "Least", "Left", "Length", "LogicalAnd", "LogicalOr", "Lower",
    "Max", "Min", "Nullif", "Pad", "RegexpILike", "RegexpLike", "Replace", "Right", "Round", "RowNumber",
    "SessionUser", "Split", "StartsWith", "StrPosition", "Substring", "Sum", "Trim", "TryCast", "Upper",
    "Rank", "DenseRank", "Exists", "Lag", "Lead", "Repeat", "Reverse", "ArrayFirst", "Explode", "Unnest", "ExplodingGenerateSeries", "GenerateSeries",
    "StringToArray", "Lpad", "Rpad", "First", "Last", "ToChar", "Chr", "Ascii",
})

# PostgreSQL catalog functions, written here as DuckDB macros over the look-alikes (by arity)
_MACROS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "pg_get_userbyid": ((("o",), f"'{OWNER}'"),),
    "pg_type_is_visible": ((("o",), "true"),),
    "pg_function_is_visible": ((("o",), "true"),),
    "pg_collation_is_visible": ((("o",), "true"),),
    "pg_encoding_to_char": ((("e",), "CASE WHEN e = 6 THEN 'UTF8' ELSE '' END"),),
    "pg_char_to_encoding": ((("e",), "CASE WHEN upper(e) IN ('UTF8', 'UTF-8') THEN 6 ELSE -1 END"),),
    "format_type": ((("o", "t"), "CASE WHEN o = 1700 AND t >= 4 THEN 'numeric(' || ((t - 4) >> 16) || ',' || "
                                 "((t - 4) & 65535) || ')' ELSE (SELECT f.formatted FROM pgc.pe_formats f "
                                 "WHERE f.oid = o) END"),),
    "obj_description": ((("o",), "(SELECT d.description FROM pgc.pg_description d WHERE d.objoid = o "
                                 "AND d.objsubid = 0)"),
                        (("o", "c"), "(SELECT d.description FROM pgc.pg_description d WHERE d.objoid = o "
                                     "AND d.objsubid = 0)")),
    "col_description": ((("o", "n"), "(SELECT d.description FROM pgc.pg_description d WHERE d.objoid = o "
                                     "AND d.objsubid = n)"),),
    "shobj_description": ((("o", "c"), "NULL::VARCHAR"),),
    "pg_get_expr": ((("e", "r"), "NULL::VARCHAR"), (("e", "r", "p"), "NULL::VARCHAR")),
    "pg_get_indexdef": ((("o",), "NULL::VARCHAR"), (("o", "n", "p"), "NULL::VARCHAR")),
    "pg_get_constraintdef": ((("o",), "NULL::VARCHAR"), (("o", "p"), "NULL::VARCHAR")),
    "pg_get_viewdef": ((("o",), "NULL::VARCHAR"), (("o", "p"), "NULL::VARCHAR")),
    "pg_get_triggerdef": ((("o",), "NULL::VARCHAR"), (("o", "p"), "NULL::VARCHAR")),
    "pg_get_partkeydef": ((("o",), "NULL::VARCHAR"),),
    "pg_get_statisticsobjdef_columns": ((("o",), "NULL::VARCHAR"),),
    "pg_get_serial_sequence": ((("t", "c"), "NULL::VARCHAR"),),
    "pg_get_function_result": ((("o",), "NULL::VARCHAR"),),
    "pg_get_function_arguments": ((("o",), "NULL::VARCHAR"),),
    "pg_get_function_identity_arguments": ((("o",), "NULL::VARCHAR"),),
    "pg_relation_is_publishable": ((("o",), "false"),),
    "pg_size_pretty": ((("n",), "NULL::VARCHAR"),),
    "pg_table_size": ((("o",), "NULL::BIGINT"),),
    "pg_relation_size": ((("o",), "NULL::BIGINT"), (("o", "f"), "NULL::BIGINT")),
    "pg_total_relation_size": ((("o",), "NULL::BIGINT"),),
    "pg_is_in_recovery": (((), "false"),),
    # `x::regtype::text` and `x::regclass::text`: the type's name as format_type writes it, the table's name
    "pe_regtype_text": ((("o",), "(SELECT f.formatted FROM pgc.pe_formats f WHERE f.oid = o)"),),
    "pe_regclass_text": ((("o",), "(SELECT r.relname FROM pgc.pg_class r WHERE r.oid = o)"),),
    # a type's OID by its name, NULL if there is none (psycopg's TypeInfo.fetch, SQLAlchemy's hstore check)
    "to_regtype": ((("s",), "(SELECT min(t.oid) FROM pgc.pg_type t "
                            "WHERE t.typname = regexp_replace(s, '^pg_catalog[.]', ''))"),),
    "pg_is_other_temp_schema": ((("o",), "false"),),
    "pg_my_temp_schema": (((), "0::BIGINT"),),
    "quote_ident": ((("s",), "CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s "
                             "ELSE '\"' || replace(s, '\"', '\"\"') || '\"' END"),),
    "array_lower": ((("a", "d"), "CASE WHEN len(a) > 0 THEN 1 END"),),
    "array_upper": ((("a", "d"), "CASE WHEN len(a) > 0 THEN len(a) END"),),
}
for _name in ("has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
              "has_any_column_privilege", "has_function_privilege", "has_sequence_privilege", "pg_has_role"):
    _MACROS[_name] = ((("a", "b"), "true"), (("a", "b", "c"), "true"), (("a", "b", "c", "d"), "true"))

# functions whose value is the session's: put in as literals before the query runs
_SESSION_FUNCTIONS = frozenset({"version", "current_database", "current_schema", "current_user", "session_user",
                                "current_setting", "current_schemas", "pg_table_is_visible", "pg_backend_pid",
                                "inet_server_addr", "inet_server_port", "user", "current_role", "current_catalog",
                                "pg_postmaster_start_time"})
_MACRO_NAMES = frozenset(_MACROS)
# DuckDB's own functions a catalog query may call by their PostgreSQL names (same meaning)
_NATIVE = frozenset({"array_to_string", "regexp_replace", "string_agg", "btrim", "ltrim", "rtrim", "split_part",
                     "strpos", "char_length", "substr", "array_length", "cardinality", "md5", "json_object",
                     "generate_subscripts"})
# the OIDs PostgreSQL gives its own catalogs (what `'pg_catalog.pg_class'::regclass` is)
_CATALOG_OIDS = {"pg_class": 1259, "pg_attribute": 1249, "pg_type": 1247, "pg_namespace": 2615,
                 "pg_constraint": 2606, "pg_index": 2610, "pg_description": 2609, "pg_database": 1262,
                 "pg_proc": 1255, "pg_am": 2601, "pg_attrdef": 2604, "pg_inherits": 2611}
_RENAMED = {"json_build_object": "json_object"}  # PostgreSQL's name -> DuckDB's, same meaning


# ---------------------------------------------------------------- the per-consumer database


class _Catalogs:
    """The look-alike databases, per (consumer, tables, database name), a few at a time."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: dict[tuple, Any] = {}

    def get(self, gateway: Gateway, consumer: Any, session: Session) -> tuple[Any, tuple[CatalogTable, ...]]:
        decisions = tuple((name, gateway.engine.evaluate(consumer, name).outcome_key)
                          for name in sorted(gateway.engine.catalog.products))
        cacheable = all(key is not None for _, key in decisions)
        key = (id(gateway), id(gateway.engine.catalog), consumer.id, decisions, session.database)
        with self.lock:
            hit = self.entries.get(key) if cacheable else None
        if hit is not None and hit[0] is gateway:
            return hit[1], hit[2]
        tables = visible_tables(gateway, consumer)
        con = build(tables, session.database, consumer.id, session.all())
        if cacheable:
            with self.lock:
                if len(self.entries) >= self.size:
                    self.entries.pop(next(iter(self.entries)))
                self.entries[key] = (gateway, con, tables)
        return con, tables


_CATALOGS = _Catalogs()


def visible_products(gateway: Gateway, consumer: Any, session: Session) -> frozenset[str]:
    """The products `consumer`'s catalog lists (`\\dt`): the ones it may read (see `visible_tables`)."""
    return frozenset(f"{t.schema}.{t.name}" for t in _CATALOGS.get(gateway, consumer, session)[1])


def build(tables: Sequence[CatalogTable], database: str, consumer: str, settings: Sequence[tuple[str, str]]) -> Any:
    """A fresh in-memory DuckDB database of the look-alike relations for `tables`, locked down."""
    import duckdb
    import pyarrow as pa

    arrow_types = {I8: pa.int64(), V: pa.string(), B: pa.bool_(), I2: pa.int16(), I4: pa.int32(),
                    "REAL": pa.float32(), F8: pa.float64(), VA: pa.list_(pa.string()),
                    "BIGINT[]": pa.list_(pa.int64()), "SMALLINT[]": pa.list_(pa.int16())}

    from policyengine.enforce.arrow import lock_down

    con = duckdb.connect(":memory:")
    con.execute("SET python_enable_replacements = false")  # no Python variable is ever a table here
    # the definitions as one script (one call instead of a hundred), then each relation's rows
    script = ["SET TimeZone = 'UTC'", *(f"CREATE SCHEMA {schema}" for schema in _SCHEMA_OF.values()),
              "CREATE TABLE pgc.pe_formats (oid BIGINT, formatted VARCHAR)"]
    script += [f'CREATE TABLE {_SCHEMA_OF[schema]}."{name}" ({", ".join(f"{c} {t}" for c, t in columns)})'
               for (schema, name), columns in RELATIONS.items()]
    script += ["CREATE MACRO main." + name + ", ".join(f"({', '.join(args)}) AS {body}" for args, body in overloads)
               for name, overloads in _MACROS.items()]
    con.execute(";\n".join(script))
    rows = _rows(tables, database, consumer, settings)
    rows["pg_catalog", "pe_formats"] = [(o, f) for o, _, _, _, f in _TYPES] + \
        [(o + _ARRAY_OID, f + "[]") for o, _, _, _, f in _TYPES]
    columns_of = {**RELATIONS, ("pg_catalog", "pe_formats"): (("oid", I8), ("formatted", V))}
    for (schema, name), values in rows.items():
        if values:  # as an Arrow table registered for the insert only (executemany costs ms per row)
            columns = columns_of[schema, name]
            arrow = pa.table({c: pa.array([row[i] for row in values], arrow_types[t])
                              for i, (c, t) in enumerate(columns)})
            con.register("pe_rows", arrow)
            con.execute(f'INSERT INTO {_SCHEMA_OF[schema]}."{name}" SELECT * FROM pe_rows')
            con.unregister("pe_rows")
    lock_down(con)
    return con


# ---------------------------------------------------------------- statements

_MAYBE = re.compile(r"pg_|information_schema|current_|session_user|version|\buser\b|^\s*(?:show|set|reset|discard)\b"
                    r"|\breg(?:class|type|proc|procedure|namespace|role|oper|operator|config|collation)\b", re.I)
_OPERATOR = re.compile(r"OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!*<>=]{1,3})\s*\)", re.I)
# no pattern starts with a repeat (a long run of blanks must not make it backtrack: linear time)
_COLLATE = re.compile(r"\bCOLLATE\s+(?:pg_catalog\s*\.\s*)?(?:\"default\"|default|\"C\")", re.I)
_SHOW = re.compile(r"show\s+(all|[A-Za-z_][A-Za-z0-9_.]*(?:\s+[A-Za-z_]+){0,2})", re.I)
_SET = re.compile(r"set\s+(?:(session|local)\s+)?([A-Za-z_][A-Za-z0-9_.]*)(?:\s*=\s*|\s+to\s+)(.+)", re.I | re.S)
_SET_ZONE = re.compile(r"set\s+(?:(?:session|local)\s+)?time\s+zone\s+(.+)", re.I | re.S)
_RESET = re.compile(r"reset\s+([A-Za-z_][A-Za-z0-9_.]*|all)", re.I)
_SHOW_ALIASES = {"transaction isolation level": "transaction_isolation", "time zone": "timezone",
                 "session authorization": "session_authorization"}


def maybe(core: str) -> bool:
    """Whether `core` (a statement without its leading comments) might be ours: a cheap test so
    the enforced path pays nothing for ordinary queries."""
    return _MAYBE.search(core) is not None


def claims(core: str) -> bool:
    """Whether `answer` handles `core` (answers or refuses it) rather than the enforced path."""
    if not maybe(core):
        return False
    words = core.split(None, 1)
    if words and words[0].lower() in ("show", "set", "reset", "discard"):
        return True
    try:
        return _catalog_tree(core) is not None
    except Refusal:
        return True


async def answer(gateway: Gateway, consumer: Any, session: Session, core: str, *, apply: bool = True,
                 params: Sequence[Any] = (), timeout: float = 30.0) -> Answer | None:
    """The answer to `core` when it is a SHOW, a SET, or a catalog query; None when it is not
    ours (the enforced path runs it). Raises Refusal for what is refused."""
    words = core.split(None, 1)
    word = words[0].lower() if words else ""
    if word == "show":
        return _show(session, core)
    if word in ("set", "reset", "discard"):  # search_path looks the consumer's schemas up: in a worker
        return await asyncio.wait_for(asyncio.to_thread(_set, gateway, consumer, session, core, apply), timeout)
    # parsing a large text takes a while: in a worker, never on the event loop; on a timeout the
    # catalog query is interrupted (`generate_series` can be asked for a very long run)
    running = _Interruptible()
    try:
        return await asyncio.wait_for(asyncio.to_thread(_run, gateway, consumer, session, core, params, running),
                                      timeout)
    except TimeoutError:
        running.interrupt()
        raise


class _Interruptible:
    """The cursor a catalog query runs on, so a timeout can stop it (even before it starts)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cursor: Any = None
        self.stopped = False
        self.done = threading.Event()  # set when the worker has finished (tests wait on it)

    def start(self, cursor: Any) -> bool:
        with self.lock:
            self.cursor = cursor
            return not self.stopped

    def interrupt(self) -> None:
        with self.lock:
            self.stopped = True
            if self.cursor is not None:
                self.cursor.interrupt()


MAX_ROWS = 100_000  # a catalog answer larger than this is refused (54000), not built


def _show(session: Session, core: str) -> Answer:
    shown = _SHOW.fullmatch(core)
    if shown is None:
        raise Refusal("42601", "syntax error in SHOW")
    name = " ".join(shown.group(1).lower().split())
    if name == "all":
        rows = session.all()
        columns = [m.Column("name", m.OID_TEXT), m.Column("setting", m.OID_TEXT), m.Column("description", m.OID_TEXT)]
        return Answer("SHOW", columns, [m.data_row([k.encode(), v.encode(), b""]) for k, v in rows])
    found = session.get(_SHOW_ALIASES.get(name, name))
    if found is None:
        raise Refusal("42704", f'unrecognized configuration parameter "{shown.group(1)}"')
    key, value = found
    return Answer("SHOW", [m.Column(key, m.OID_TEXT)], [m.data_row([value.encode()])])


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


def _set(gateway: Gateway, consumer: Any, session: Session, core: str, apply: bool) -> Answer:
    """SET of the harmless client settings; anything else is refused (the server's settings are
    fixed). RESET and DISCARD ALL put the defaults back."""
    low = " ".join(core.lower().split())
    if low in ("discard all", "reset all"):
        if apply:
            session.values.clear()
        return Answer("DISCARD ALL" if low.startswith("discard") else "RESET")
    reset = _RESET.fullmatch(core)
    if reset is not None:
        if reset.group(1).lower() not in _SETTABLE:
            raise Refusal("0A000", f"RESET {reset.group(1)} is not supported by the gateway")
        if apply:
            session.values.pop(reset.group(1).lower(), None)
        return Answer("RESET")
    if low in ("set session characteristics as transaction read only", "set transaction read only"):
        return Answer("SET")  # it is: everything through the gateway is read-only
    zone = _SET_ZONE.fullmatch(core)
    setting = _SET.fullmatch(core)
    if zone is not None:
        name, raw = "timezone", zone.group(1)
    elif setting is not None:
        name, raw = setting.group(2).lower(), setting.group(3)
    else:
        raise Refusal("0A000", "this SET is not supported by the gateway (its settings are fixed; "
                               "application_name, extra_float_digits, DateStyle ISO, client_encoding UTF8, "
                               "TimeZone UTC and search_path can be set)")
    value = _checked(gateway, consumer, session, name, raw.strip())
    if apply and name != "timezone":
        session.values[name] = value
    return Answer("SET")


def _checked(gateway: Gateway, consumer: Any, session: Session, name: str, raw: str) -> str:
    """The value a SET stores, or Refusal (naming the setting, never echoing a long value)."""
    value = _unquote(raw)
    if name == "application_name":
        return value.encode("utf-8")[:63].decode("utf-8", "ignore")
    if name == "extra_float_digits":
        if re.fullmatch(r"-?\d{1,2}", value) and -15 <= int(value) <= 3:
            return str(int(value))
        raise Refusal("22023", "extra_float_digits must be an integer from -15 to 3")
    if name == "datestyle":
        parts = [p.strip().upper() for p in value.replace('"', "").split(",")]
        order = [p for p in parts if p in ("MDY", "DMY", "YMD", "US", "EUROPEAN", "NONEURO", "NONEUROPEAN")]
        if parts and parts[0] == "ISO" and len(parts) == 1 + len(order) <= 2:
            return "ISO, " + ("MDY" if not order or order[0] in ("US", "NONEURO", "NONEUROPEAN") else
                              "DMY" if order[0] == "EUROPEAN" else order[0])
        raise Refusal("0A000", "the gateway writes dates in ISO style only (SET DateStyle = 'ISO')")
    if name == "client_encoding":
        if value.upper().replace("-", "") in ("UTF8", "UNICODE"):
            return "UTF8"
        raise Refusal("0A000", "the gateway speaks UTF8 only (client_encoding is fixed)")
    if name == "timezone":
        if value.upper() in ("UTC", "ETC/UTC", "GMT", "Z", "ZULU", "UCT", "0", "+00:00", "'UTC'"):
            return "UTC"
        raise Refusal("0A000", "the gateway's TimeZone is UTC (results are written in UTC)")
    if name == "search_path":
        seen = {t.schema for t in _CATALOGS.get(gateway, consumer, session)[1]} | {"public", "pg_catalog", "$user"}
        names = [_unquote(p) for p in raw.split(",")] if raw.strip() else []
        if not names or any(n not in seen for n in names):
            raise Refusal("0A000", "search_path may only name the schemas the catalog shows you (\\dn); "
                                   "products are read by their qualified name (domain.product)")
        return ", ".join(f'"{n}"' if n == "$user" else n for n in names)
    raise Refusal("0A000", f"SET {name} is not supported by the gateway (its settings are fixed)")


def _tables(tree: exp.Expression) -> list[exp.Table]:
    return list(tree.find_all(exp.Table))


def _relation(table: exp.Table, ctes: set[str]) -> tuple[str, str] | None | bool:
    """(schema, name) of a look-alike; None for a CTE or `unnest(...)`; False for anything else."""
    catalog, db, name = table.catalog.lower(), table.db.lower(), table.name.lower()
    if isinstance(table.this, (exp.Explode, exp.Unnest, exp.ExplodingGenerateSeries, exp.GenerateSeries)) \
            and not catalog and db in ("", "pg_catalog"):
        return None
    if not isinstance(table.this, exp.Identifier) or catalog:
        return False
    if not db and name in ctes:
        return None
    key = (db or "pg_catalog", name)
    if key in RELATIONS:
        return key
    if db in _SCHEMA_OF:
        raise Refusal("42P01", f"{db}.{name[:64]} is not answered by the gateway (it answers "
                               f"{len(RELATIONS)} catalog relations, docs/gateway.md)")
    return False


def _described(table: exp.Table) -> str:
    """A table reference named for a message: its name, or 'a table function' (never its
    arguments, which may be a path or a value)."""
    if isinstance(table.this, exp.Identifier):
        return "'" + ".".join(p for p in (table.catalog, table.db, table.name) if p)[:80] + "'"
    return "a table function"


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return ""


def _catalog_tree(core: str) -> exp.Expression | None:
    """The parsed statement when it is a catalog query (it reads a look-alike, or calls a session
    or catalog function, and nothing else), else None. A query mixing the catalog with anything
    else, or using what the catalog path does not allow, is refused."""
    text = _COLLATE.sub("", _OPERATOR.sub(r" \1 ", core))
    try:
        parsed = [s for s in sqlglot.parse(text, read="postgres") if s is not None]
    except (SqlglotError, ValueError, RecursionError):
        return None
    if len(parsed) != 1 or not isinstance(parsed[0], (exp.Select, exp.SetOperation, exp.Subquery)):
        return None
    tree = parsed[0]
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    kinds = [_relation(t, ctes) for t in _tables(tree)]
    catalog_relations = [k for k in kinds if isinstance(k, tuple)]
    others = [t for t, k in zip(_tables(tree), kinds, strict=True) if k is False]
    calls = {_function_name(n) for n in tree.find_all(exp.Anonymous)}
    session_calls = any(isinstance(n, (exp.CurrentUser, exp.CurrentSchema, exp.CurrentDatabase, exp.CurrentVersion,
                                       exp.CurrentSchemas, exp.SessionUser, exp.CurrentCatalog))
                        for n in tree.walk())
    dotted = any(isinstance(n, exp.Dot) and isinstance(n.this, exp.Identifier)
                 and n.this.name.lower() == "pg_catalog" for n in tree.walk())
    oid_casts = any(isinstance(n, exp.Cast) and _type_word(n.to) in _OID_TYPES for n in tree.find_all(exp.Cast))
    ours = (catalog_relations or session_calls or dotted or oid_casts
            or bool(calls & (_SESSION_FUNCTIONS | _MACRO_NAMES)))
    if not ours:
        return None
    if others:
        raise Refusal("42501", "a query may read the catalog (pg_catalog, information_schema) or products, not "
                               f"both; {_described(others[0])} is not a catalog relation")
    return tree


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, (list, tuple)):
        return exp.cast(exp.Array(expressions=[_literal(v) for v in value]), "VARCHAR[]")
    return exp.Literal.string(str(value))


def _search_path(session: Session, tables: Sequence[CatalogTable]) -> list[str]:
    """The schemas searched, in order: the session's search_path, else public and then every
    schema the consumer sees (so psql's `\\dt` lists every product it may read)."""
    shown = session.get("search_path")
    if shown and shown[1]:
        return [p.strip().strip('"') for p in shown[1].split(",") if p.strip().strip('"') != "$user"]
    return ["public", *sorted({t.schema for t in tables})]


def _translate(tree: exp.Expression, session: Session, consumer: str, tables: Sequence[CatalogTable],
               version: str, params: Sequence[Any] = ()) -> exp.Expression:
    """Point every catalog name at its look-alike and put the session's values in as literals;
    Refusal for any node the catalog path does not allow."""
    path = _search_path(session, tables)
    first: dict[str, int] = {}
    for schema in path:
        for index, table in enumerate(tables):
            if table.schema == schema:
                first.setdefault(table.name, _FIRST_TABLE + index)
    visible = sorted(first.values())
    current = next((s for s in path if s == "public" or any(t.schema == s for t in tables)), None)

    def setting(args: list[exp.Expression]) -> exp.Expression:
        args = [a.this if isinstance(a, exp.Cast) and isinstance(a.this, (exp.Literal, exp.Placeholder, exp.Parameter))
                else a for a in args]
        bound = args[0] if args and isinstance(args[0], (exp.Placeholder, exp.Parameter)) and args[0].name.isdigit() \
            and 0 < int(args[0].name) <= len(params) and isinstance(params[int(args[0].name) - 1], str) else None
        if bound is not None:  # a name bound as a parameter (SQLAlchemy): looked up as a literal, the
            # parameter kept in the text (so the values bound still match its parameters)
            value = setting([exp.Literal.string(params[int(bound.name) - 1]), *args[1:]])
            return exp.Case().when(exp.Is(this=bound.copy(), expression=exp.Null()), exp.Null()).else_(value)
        if not args or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            raise Refusal("0A000", "current_setting() takes a setting's name as a literal here")
        found = session.get(args[0].name)
        if found is None:
            if len(args) > 1 and isinstance(args[1], exp.Boolean) and args[1].this:
                return exp.Null()
            raise Refusal("42704", f'unrecognized configuration parameter "{args[0].name[:64]}"')
        return exp.Literal.string(found[1])

    def session_value(name: str, args: list[exp.Expression]) -> exp.Expression | None:
        if name == "version":
            return exp.Literal.string(version)
        if name in ("current_database", "current_catalog"):
            return exp.Literal.string(session.database)
        if name == "current_schema":
            return _literal(current)
        if name in ("current_user", "session_user", "user", "current_role"):
            return exp.Literal.string(consumer)
        if name == "current_setting":
            return setting(args)
        if name == "current_schemas":
            implicit = isinstance(args[0], exp.Boolean) and args[0].this if args else False
            return _literal((["pg_catalog"] if implicit else []) + path)
        if name == "pg_table_is_visible" and len(args) == 1:
            return exp.In(this=exp.Paren(this=args[0]), expressions=[exp.Literal.number(v) for v in visible]) \
                if visible else exp.Boolean(this=False)
        if name == "pg_backend_pid":
            return exp.Literal.number(1)
        if name in ("inet_server_addr", "pg_postmaster_start_time"):
            return exp.Null()
        if name == "inet_server_port":
            return exp.Null()
        return None

    classes = _FUNC_NAMES

    def transform(node: exp.Expression) -> exp.Expression:
        for cls, name in classes.items():
            if type(node) is cls:
                args = [a for a in node.args.values() if isinstance(a, exp.Expression)]
                value = session_value(name, args)
                assert value is not None
                return value
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in ("user", "current_role") \
                and not node.this.quoted:
            return exp.Literal.string(consumer)
        if isinstance(node, exp.Anonymous) and str(node.name).lower() in _SESSION_FUNCTIONS:
            value = session_value(str(node.name).lower(), list(node.expressions))
            if value is None:
                raise Refusal("0A000", f"{node.name}() is not supported in a catalog query")
            return value
        return node

    tree = tree.copy()
    _name_outputs(tree)
    for dot in list(tree.find_all(exp.Dot)):  # pg_catalog.f(...) is f(...)
        if isinstance(dot.this, exp.Identifier) and dot.this.name.lower() == "pg_catalog" \
                and isinstance(dot.expression, exp.Func):
            dot.replace(dot.expression)
    for column in list(tree.find_all(exp.Column)):
        # `pg_catalog.pg_class.relname`: the look-alike keeps its name, so drop the schema
        column.set("db", None)
        column.set("catalog", None)
    for cast in list(tree.find_all(exp.Cast)):
        inner = cast.this
        if _is_text(cast.to) and isinstance(inner, exp.Cast) and _type_word(inner.to) in ("regtype", "regclass") \
                and not (isinstance(inner.this, exp.Literal) and inner.this.is_string):
            cast.replace(exp.Anonymous(this=f"pe_{_type_word(inner.to)}_text", expressions=[inner.this]))
        elif isinstance(cast.this, exp.Literal) and cast.this.is_string and _type_word(cast.to) == "regclass":
            cast.replace(exp.Literal.number(_regclass(cast.this.name, tables, first)))
        elif isinstance(inner, (exp.Placeholder, exp.Parameter)) and _type_word(cast.to) == "regclass" \
                and inner.name.isdigit() and 0 < int(inner.name) <= len(params) \
                and isinstance(params[int(inner.name) - 1], str):
            # `$n::regclass` with a name bound (SQLAlchemy's comment and constraint look-ups): as a literal
            # (the parameter stays in the text, so the values bound still match its parameters)
            oid = _regclass(params[int(inner.name) - 1], tables, first)
            cast.replace(exp.Case().when(exp.Is(this=inner.copy(), expression=exp.Null()), exp.Null())
                         .else_(exp.Literal.number(oid)))
        else:
            _cast_type(cast)
    for compare in list(tree.find_all(exp.EQ, exp.NEQ)):
        # a regproc column (text in the look-alikes, '-' for none) compared with the OID 0, as
        # ADBC's `typreceive != 0`: PostgreSQL compares the function's OID; here its name with '-'
        for side, other in ((compare.this, compare.expression), (compare.expression, compare.this)):
            if isinstance(side, exp.Column) and side.name.lower() in _REGPROC_COLUMNS \
                    and isinstance(other, exp.Literal) and not other.is_string and other.name == "0":
                other.replace(exp.Literal.string("-"))
    tree = tree.transform(transform, copy=False)
    for node in tree.walk():
        if isinstance(node, exp.Anonymous):
            name = str(node.name).lower()
            if name in _RENAMED:
                node.set("this", _RENAMED[name])
                continue
            if name in _NATIVE:
                continue
            if name not in _MACRO_NAMES:
                raise Refusal("42883", f"function {name[:64]}() is not available in a catalog query through "
                                       "the gateway")
            if len(node.expressions) not in {len(args) for args, _ in _MACROS[name]}:
                raise Refusal("42883", f"function {name} does not take {len(node.expressions)} arguments here")
        elif isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary, exp.Connector)) \
                and type(node).__name__ not in _FUNCTIONS:
            raise Refusal("42883", f"{type(node).__name__.upper()} is not available in a catalog query through "
                                   "the gateway")
        elif isinstance(node, (exp.Placeholder, exp.Parameter)) and not params:
            raise Refusal("08P01", "a parameter without a bound value")
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for ref in _tables(tree):
        kind = _relation(ref, ctes)
        if kind is False:
            raise Refusal("42501", f"{_described(ref)} is not a catalog relation")
        if kind is None:
            ref.set("db", None)  # pg_catalog.unnest(...)
            continue
        assert isinstance(kind, tuple)
        if ref.args.get("alias") is None:
            ref.set("alias", exp.TableAlias(this=exp.to_identifier(ref.name)))
        if kind == ("pg_catalog", "pg_settings"):
            ref.replace(_session_relation(kind, session, ref.args["alias"]))
            continue
        ref.set("db", exp.to_identifier(_SCHEMA_OF[kind[0]]))
        ref.set("this", exp.to_identifier(kind[1], quoted=True))
    for node in tree.walk():
        if isinstance(node, (exp.Command, exp.Pragma, exp.Set, exp.Copy, exp.Create, exp.Drop, exp.Insert,
                             exp.Update, exp.Delete, exp.Attach, exp.Detach, exp.Use)):
            raise Refusal("42501", f"{node.key.upper()} is not allowed in a catalog query")
    return tree


_FUNC_NAMES = {exp.CurrentUser: "current_user", exp.SessionUser: "session_user", exp.CurrentSchema: "current_schema",
               exp.CurrentDatabase: "current_database", exp.CurrentVersion: "version",
               exp.CurrentSchemas: "current_schemas", exp.CurrentCatalog: "current_catalog"}


def _output_name(node: Any) -> str:
    """The name PostgreSQL gives an unnamed output column: a column's name, a function's, a cast's
    inner name (else its type), `?column?` otherwise."""
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _output_name(node.expression)
    if isinstance(node, exp.Cast):
        inner = _output_name(node.this)
        return inner if inner != "?column?" else node.to.sql(dialect="postgres").lower()
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if type(node) in _FUNC_NAMES:
        return _FUNC_NAMES[type(node)]
    if isinstance(node, exp.Func) and not isinstance(node, (exp.Binary, exp.Unary, exp.Connector)):
        return node.sql_name().lower()
    return "?column?"


def _name_outputs(tree: exp.Expression) -> None:
    """Alias the unnamed output columns of the outermost SELECT(s) the way PostgreSQL names them."""
    selects = [tree] if isinstance(tree, exp.Select) else list(tree.find_all(exp.Select))[:1]
    for select in selects:
        for projection in list(select.expressions):
            if isinstance(projection, (exp.Alias, exp.Star)) or (isinstance(projection, exp.Column)
                                                                and isinstance(projection.this, exp.Star)):
                continue
            projection.replace(exp.alias_(projection.copy(), _output_name(projection), quoted=True))


_REGPROC_COLUMNS = frozenset({"typinput", "typoutput", "typreceive", "typsend", "typmodin", "typmodout",
                              "typanalyze", "typsubscript"})
_OID_TYPES = frozenset({"regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "regoper",
                        "regoperator", "regconfig", "regcollation", "oid", "xid", "cid", "tid"})
_CAST_TYPES = {"text": "VARCHAR", "varchar": "VARCHAR", "name": "VARCHAR", "char": "VARCHAR", "bpchar": "VARCHAR",
               "int2": "SMALLINT", "smallint": "SMALLINT", "int4": "INTEGER", "int": "INTEGER",
               "integer": "INTEGER", "int8": "BIGINT", "bigint": "BIGINT", "bool": "BOOLEAN",
               "boolean": "BOOLEAN", "float4": "REAL", "float8": "DOUBLE", "numeric": "DECIMAL(38,10)"}


def _type_word(to: exp.Expression) -> str:
    """The bare name of a cast's target type (`pg_catalog.regclass` -> regclass), '' if none."""
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.lower()
    if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot):
            kind = kind.expression
        return kind.name.lower() if isinstance(kind, exp.Identifier) else ""
    return ""


def _is_text(to: exp.Expression) -> bool:
    if isinstance(to, exp.DataType) and to.this in (exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR,
                                                    exp.DataType.Type.NAME):
        return True
    return _type_word(to) in ("text", "varchar", "name")


def _regclass(text: str, tables: Sequence[CatalogTable], visible: Mapping[str, int]) -> int:
    """The OID `'name'::regclass` names: a catalog relation, or a table the consumer sees
    (qualified, or found on the search path); else the error PostgreSQL gives."""
    name = text.strip()
    schema, _, relation = name.rpartition(".")
    schema, relation = schema.strip('"'), relation.strip('"')
    if schema in ("", "pg_catalog") and relation in _CATALOG_OIDS:
        return _CATALOG_OIDS[relation]
    if not schema and relation in visible:
        return visible[relation]
    for index, table in enumerate(tables):
        if table.schema == schema and table.name == relation:
            return _FIRST_TABLE + index
    raise Refusal("42P01", f'relation "{name[:64]}" does not exist')


def _cast_type(node: exp.Cast) -> None:
    """PostgreSQL's catalog types as DuckDB's: OIDs and reg* types are BIGINT, name/"char" text."""
    to = node.args.get("to")
    if isinstance(to, (exp.DataType, exp.ObjectIdentifier)):
        node.set("to", _duck_type(to))


def _duck_type(to: exp.Expression) -> exp.Expression:
    if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.ARRAY and to.expressions:
        inner = _duck_type(to.expressions[0])
        return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[inner], nested=True)
    name = ""
    if isinstance(to, exp.ObjectIdentifier):
        name = to.name.lower()
    elif isinstance(to, exp.DataType) and to.this == exp.DataType.Type.NAME:
        name = "name"
    elif isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot) and isinstance(kind.this, exp.Identifier) \
                and kind.this.name.lower() == "pg_catalog":
            kind = kind.expression
        name = kind.name.lower() if isinstance(kind, exp.Identifier) else str(kind).lower()
        if name not in _OID_TYPES and name not in _CAST_TYPES:
            raise Refusal("0A000", f"the type {name[:64]} is not available in a catalog query")
    if name in _OID_TYPES:
        return exp.DataType.build("BIGINT")
    if name:
        return exp.DataType.build(_CAST_TYPES[name], dialect="duckdb")
    return to


def _run(gateway: Gateway, consumer: Any, session: Session, core: str, params: Sequence[Any],
         running: _Interruptible | None = None) -> Answer | None:
    """Run a catalog query on the consumer's look-alike database (in a worker thread); None when
    `core` is not a catalog query."""
    running = running or _Interruptible()
    try:
        return _run_query(gateway, consumer, session, core, params, running)
    finally:
        running.done.set()


def _run_query(gateway: Gateway, consumer: Any, session: Session, core: str, params: Sequence[Any],
               running: _Interruptible) -> Answer | None:
    import duckdb
    import pyarrow as pa

    tree = _catalog_tree(core)
    if tree is None:
        return None
    con, tables = _CATALOGS.get(gateway, consumer, session)
    translated = _translate(tree, session, consumer.id, tables, session.version, params)
    sql = translated.sql(dialect="duckdb")
    cursor = con.cursor()
    try:
        if not running.start(cursor):
            raise TimeoutError
        relation = cursor.sql(sql, params=list(params) or None)
        # DuckDB 2 names it to_arrow_reader (fetch_record_batch is deprecated there); 1.x has only the old name
        read = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
        reader = read(10_000)
        batches, count = [], 0
        for batch in reader:
            count += batch.num_rows
            if count > MAX_ROWS:
                raise Refusal("54000", f"the catalog answer has more than {MAX_ROWS} rows")
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=reader.schema)
    except duckdb.InterruptException:
        raise TimeoutError from None
    except duckdb.Error as exc:
        raise Refusal("42703" if isinstance(exc, duckdb.BinderException) else "XX000",
                      f"the catalog query failed ({type(exc).__name__}); the gateway answers the common "
                      "catalog queries of psql, JDBC and SQLAlchemy from a subset of pg_catalog and "
                      "information_schema (docs/gateway.md)") from None
    finally:
        cursor.close()
    columns = m.result_columns(table)
    return Answer(f"SELECT {table.num_rows}", columns, m.result_rows(table, columns))


def relations() -> Iterable[str]:
    """The look-alike relations, qualified (for the docs and the tests)."""
    return (f"{schema}.{name}" for schema, name in RELATIONS)
