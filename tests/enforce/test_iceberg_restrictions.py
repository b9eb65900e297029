"""read_restrictions(decision, fields): the Iceberg REST `ReadRestrictions` object of a decision.

Attacks first: a schema that omits, renames or duplicates a column, a denied column, an error
decision, a filter that does not translate — each is refused, never answered with something
weaker. Then the row filter: for every filter shape, the rows an Iceberg reader keeps (evaluated
here as Iceberg's Java Evaluator does: two-valued, NULL ordered below every value, `in` false on
NULL) are exactly the rows our SQL keeps in DuckDB.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pyarrow as pa
import pytest

from policyengine.enforce.arrow import connect
from policyengine.enforce.iceberg import (
    IcebergRefused,
    IcebergSchemaError,
    parse_schema,
    read_restrictions,
)
from policyengine.enforce.sql import filter_expression
from policyengine.engine.decision import Decision
from policyengine.language import ast
from tests.enforce.conftest import col, decision

SCHEMA = {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "type": "long", "required": True},
    {"id": 2, "name": "email", "type": "string", "required": False},
    {"id": 3, "name": "region", "type": "string", "required": False},
    {"id": 4, "name": "born", "type": "date", "required": False},
    {"id": 5, "name": "ssn", "type": "string", "required": False},
]}


def _customers(**overrides: Any) -> Decision:
    columns = {"id": col("id"), "email": col("email", "mask", "mask_alphanum"), "region": col("region"),
               "born": col("born", "mask", "year"), "ssn": col("ssn", "mask", "null")}
    columns.update(overrides)
    return decision(list(columns.values()))


def _schema(*, drop: str | None = None, rename: tuple[str, str] | None = None, extra: dict | None = None) -> dict:
    fields = [dict(f) for f in SCHEMA["fields"] if f["name"] != drop]
    for f in fields:
        if rename and f["name"] == rename[0]:
            f["name"] = rename[1]
    return {"type": "struct", "fields": fields + ([extra] if extra else [])}


# ---------------------------------------------------------------- attacks


def test_a_schema_that_omits_a_masked_column_is_refused() -> None:
    with pytest.raises(IcebergRefused, match="no field id for column 'email'"):
        read_restrictions(_customers(), parse_schema(_schema(drop="email")), hash_key=None)


def test_a_schema_that_renames_a_masked_column_is_refused() -> None:
    with pytest.raises(IcebergRefused, match="column 'mail', which the decision .* does not cover"):
        read_restrictions(_customers(), parse_schema(_schema(rename=("email", "mail"))), hash_key=None)


def test_a_schema_with_a_column_the_product_does_not_declare_is_refused() -> None:
    extra = {"id": 9, "name": "secret", "type": "string", "required": False}
    with pytest.raises(IcebergRefused, match="column 'secret'"):
        read_restrictions(_customers(), parse_schema(_schema(extra=extra)), hash_key=None)


def test_a_field_id_mapping_that_omits_a_column_is_refused() -> None:
    with pytest.raises(IcebergRefused, match="no field id for column 'ssn'"):
        read_restrictions(_customers(), {"id": 1, "email": 2, "region": 3, "born": 4}, hash_key=None)


def test_two_columns_on_one_field_id_are_refused() -> None:
    """Otherwise one column's projection would land on the other's id (or none on one)."""
    with pytest.raises(IcebergSchemaError, match="field id 2 twice"):
        parse_schema({"type": "struct", "fields": [
            {"id": 1, "name": "id", "type": "long"}, {"id": 2, "name": "email", "type": "string"},
            {"id": 2, "name": "region", "type": "string"}]})
    with pytest.raises(IcebergSchemaError, match="field id 2 twice"):
        read_restrictions(_customers(), {"id": 1, "email": 2, "region": 2, "born": 4, "ssn": 5})


def test_a_nested_type_named_by_a_list_is_a_schema_error() -> None:
    """Not a TypeError from hashing the list: the schema is refused with its one-line reason."""
    tags = {"id": 6, "name": "tags", "required": False, "type": {
        "type": "list", "element-id": 7, "element": {"type": ["struct"]}}}
    with pytest.raises(IcebergSchemaError, match="unknown nested Iceberg type"):
        parse_schema(_schema(extra=tags))


def test_a_top_level_id_reused_inside_a_nested_type_is_refused() -> None:
    """A projection on id 2 would be ambiguous between `email` and the struct's subfield."""
    nested = {"id": 6, "name": "meta", "required": False, "type": {"type": "struct", "fields": [
        {"id": 2, "name": "inner", "type": "string", "required": False}]}}
    with pytest.raises(IcebergSchemaError, match="field id 2 twice"):
        parse_schema(_schema(extra=nested))
    listed = {"id": 6, "name": "tags", "required": False, "type": {
        "type": "list", "element-id": 3, "element": "string", "element-required": False}}
    with pytest.raises(IcebergSchemaError, match="field id 3 twice"):
        parse_schema(_schema(extra=listed))
    mapped = {"id": 6, "name": "attrs", "required": False, "type": {
        "type": "map", "key-id": 7, "key": "string", "value-id": 1, "value": "string", "value-required": False}}
    with pytest.raises(IcebergSchemaError, match="field id 1 twice"):
        parse_schema(_schema(extra=mapped))
    good = {"id": 6, "name": "meta", "required": False, "type": {"type": "struct", "fields": [
        {"id": 7, "name": "inner", "type": {"type": "list", "element-id": 8, "element": "int",
                                            "element-required": True}, "required": False}]}}
    assert [f.name for f in parse_schema(_schema(extra=good))][-1] == "meta"
    with pytest.raises(IcebergSchemaError, match="not a positive integer"):
        parse_schema(_schema(extra={"id": 6, "name": "m", "type": {"type": "list", "element": "int"}}))


def test_a_denied_column_refuses_the_whole_answer() -> None:
    with pytest.raises(IcebergRefused, match="column 'ssn' is denied.*cannot hide a column"):
        read_restrictions(_customers(ssn=col("ssn", "deny")), parse_schema(SCHEMA), hash_key=None)


def test_an_error_decision_is_refused() -> None:
    d = Decision("sales.orders", "alice", {"id": col("id", "deny")}, error="internal error: boom")
    with pytest.raises(IcebergRefused, match="is an error"):
        read_restrictions(d, {"id": 1})


def test_a_mask_without_a_faithful_action_is_refused() -> None:
    with pytest.raises(IcebergRefused, match="mask 'last4' on column 'email' has no faithful Iceberg action"):
        read_restrictions(_customers(email=col("email", "mask", "last4")), parse_schema(SCHEMA), hash_key=None)


def test_a_keyed_hash_is_refused_and_a_plain_one_maps_only_when_allowed() -> None:
    d = _customers(email=col("email", "mask", "hash"))
    with pytest.raises(IcebergRefused, match="HMAC"):
        read_restrictions(d, parse_schema(SCHEMA), hash_key=b"k3y", allow_unkeyed_hash=True)
    with pytest.raises(IcebergRefused, match="unkeyed sha-256-global"):
        read_restrictions(d, parse_schema(SCHEMA), hash_key=None)
    got = read_restrictions(d, parse_schema(SCHEMA), hash_key=None, allow_unkeyed_hash=True)
    assert {"action": "sha-256-global", "field-id": 2} in got["required-column-projections"]


def test_null_on_a_required_column_is_refused() -> None:
    with pytest.raises(IcebergRefused, match="required"):
        read_restrictions(_customers(id=col("id", "mask", "null")), parse_schema(SCHEMA), hash_key=None)


@pytest.mark.parametrize("bad", [
    [], {"type": "struct"}, {"type": "struct", "fields": [{"id": 1, "name": "x"}]},
    {"type": "struct", "fields": [{"id": 0, "name": "x", "type": "string"}]},
    {"type": "struct", "fields": [{"id": True, "name": "x", "type": "string"}]},
    {"type": "struct", "fields": [{"id": 1, "name": "", "type": "string"}]},
    {"type": "struct", "fields": [{"id": 1, "name": "x", "type": "strin"}]},
    {"type": "struct", "fields": [{"id": 1, "name": "x", "type": "string", "required": "no"}]},
    {"type": "struct", "fields": [{"id": 1, "name": "x", "type": "string"}, {"id": 2, "name": "x", "type": "int"}]},
])
def test_malformed_schemas_are_errors(bad: Any) -> None:
    with pytest.raises(IcebergSchemaError):
        parse_schema(bad)


# ---------------------------------------------------------------- the answer


def test_projections_by_field_id_and_no_filter() -> None:
    got = read_restrictions(_customers(), parse_schema(SCHEMA), hash_key=None)
    assert got == {"required-column-projections": [
        {"action": "mask-alphanum", "field-id": 2}, {"action": "truncate-to-year", "field-id": 4},
        {"action": "replace-with-null", "field-id": 5}]}


def test_an_allow_everything_decision_restricts_nothing() -> None:
    d = decision([col("id"), col("region")])
    assert read_restrictions(d, {"id": 1, "region": 3}) == {}


def test_a_plain_field_id_mapping_maps_type_independent_masks() -> None:
    got = read_restrictions(_customers(), {"id": 1, "email": 2, "region": 3, "born": 4, "ssn": 5}, hash_key=None)
    assert [p["action"] for p in got["required-column-projections"]] == [
        "mask-alphanum", "truncate-to-year", "replace-with-null"]


# ---------------------------------------------------------------- row filters: Iceberg keeps what SQL keeps

FILTER_SCHEMA = {"type": "struct", "fields": [
    {"id": 1, "name": "id", "type": "long", "required": True},
    {"id": 2, "name": "s", "type": "string"}, {"id": 3, "name": "i", "type": "long"},
    {"id": 4, "name": "d", "type": "date"}, {"id": 5, "name": "ts", "type": "timestamp"},
    {"id": 6, "name": "tz", "type": "timestamptz"}, {"id": 7, "name": "b", "type": "boolean"},
    {"id": 8, "name": "n", "type": "int"}, {"id": 9, "name": "dec", "type": "decimal(9, 2)"},
]}
TYPES = {"s": "string", "i": "integer", "d": "date", "ts": "timestamp", "tz": "timestamptz", "b": "boolean",
         "n": "integer", "dec": "number"}


def _rows(n: int = 300) -> pa.Table:
    rng = random.Random(14)

    def maybe(v: Any) -> Any:
        return None if rng.random() < 0.2 else v

    base = dt.datetime(2023, 12, 31, 20)
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "s": pa.array([maybe(rng.choice(["eu", "uk", "us", "", "EU", "é", "😀", "a"])) for _ in range(n)]),
        "i": pa.array([maybe(rng.randint(-3, 12)) for _ in range(n)], pa.int64()),
        "d": pa.array([maybe(dt.date(2023, 12, 30) + dt.timedelta(days=rng.randint(0, 4))) for _ in range(n)],
                      pa.date32()),
        "ts": pa.array([maybe(base + dt.timedelta(hours=rng.randint(0, 8))) for _ in range(n)], pa.timestamp("us")),
        "tz": pa.array([maybe((base + dt.timedelta(hours=rng.randint(0, 12))).replace(tzinfo=dt.UTC))
                        for _ in range(n)], pa.timestamp("us", tz="UTC")),
        "b": pa.array([maybe(rng.random() < 0.5) for _ in range(n)], pa.bool_()),
        "n": pa.array([maybe(rng.randint(-2, 2)) for _ in range(n)], pa.int32()),
        "dec": pa.array([maybe(rng.choice([-1, 0, 1, 2])) for _ in range(n)], pa.decimal128(9, 2)),
    })


def c(name: str) -> ast.ColumnRef:
    return ast.ColumnRef(name)


def lit(v: Any) -> ast.Literal:
    return ast.Literal(v)


def cmp(op: str, a: ast.Expr, b: ast.Expr) -> ast.Compare:
    return ast.Compare(op, a, b)


def lst(*vs: Any) -> ast.ListExpr:
    return ast.ListExpr(tuple(ast.Literal(v) for v in vs))


EU = cmp("==", c("s"), lit("eu"))
FILTERS: dict[str, ast.Expr] = {
    "eq": EU,
    "not eq": ast.Not(EU),
    "neq": cmp("!=", c("s"), lit("eu")),
    "not not": ast.Not(ast.Not(EU)),
    "in": cmp("in", c("s"), lst("eu", "uk")),
    "not in": cmp("not in", c("s"), lst("eu", "uk")),
    "not (in)": ast.Not(cmp("in", c("s"), lst("eu", "😀"))),
    "in []": cmp("in", c("s"), lst()),
    "not in []": cmp("not in", c("s"), lst()),
    "not (in [])": ast.Not(cmp("in", c("s"), lst())),
    "list contains column": cmp("contains", lst("uk", "é"), c("s")),
    "ordering": ast.Or((cmp("<", c("i"), lit(2)), ast.Not(cmp(">=", c("i"), lit(9))))),
    "literal on the left": cmp(">", lit(5), c("i")),
    "not (and)": ast.Not(ast.And((cmp(">", c("i"), lit(3)), EU))),
    "not (or)": ast.Not(ast.Or((cmp("<=", c("i"), lit(3)), EU))),
    "date": cmp(">=", c("d"), lit(dt.date(2024, 1, 1))),
    "date on a timestamp": cmp("<", c("ts"), lit(dt.date(2024, 1, 1))),
    "aware timestamp on a timestamp": cmp(">", c("ts"), lit(dt.datetime(2024, 1, 1, 5, tzinfo=dt.timezone(
        dt.timedelta(hours=5))))),
    "timestamptz": ast.Not(cmp(">=", c("tz"), lit(dt.datetime(2024, 1, 1, 3, tzinfo=dt.timezone(
        dt.timedelta(hours=-2)))))),
    "naive on timestamptz": cmp("<", c("tz"), lit(dt.datetime(2024, 1, 1, 1, 30))),
    "boolean column": c("b"),
    "not boolean column": ast.Not(c("b")),
    "boolean eq": cmp("!=", c("b"), lit(False)),
    "int32": cmp("<=", c("n"), lit(0)),
    "decimal": ast.Not(cmp(">", c("dec"), lit(1))),
    "constant true and": ast.And((cmp("==", lit(1), lit(1)), EU)),
    "constant false or": ast.Or((cmp("==", lit(1), lit(2)), ast.Not(EU))),
    "undefined part": ast.Or((cmp("==", lit(1), lit("x")), EU)),
    "nested": ast.Or((ast.And((ast.Not(EU), cmp("in", c("i"), lst(1, 2, 3)))), ast.Not(ast.Or((
        c("b"), cmp("<", c("d"), lit(dt.date(2023, 12, 31)))))))),
}


def _iceberg_literal(kind: str, value: Any) -> Any:
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    if kind == "timestamptz":
        assert value.endswith("+00:00")  # Iceberg's SingleValueParser accepts UTC offsets only
        return dt.datetime.fromisoformat(value)
    if kind.startswith("decimal"):
        assert isinstance(value, str) and value.split(".")[1] == "00"  # the column's scale, as a string
        from decimal import Decimal
        return Decimal(value)
    return value


def _iceberg_eval(expr: Any, row: dict[str, Any], fields: dict[int, tuple[str, str]]) -> bool:
    """Iceberg's Evaluator (api/.../expressions/Evaluator.java): two-valued; comparators are
    nullsFirst (NULL below every value); `in` is false on NULL; not/and/or are Java's ! && ||."""
    if isinstance(expr, bool):
        return expr
    t = expr["type"]
    if t == "and":
        return _iceberg_eval(expr["left"], row, fields) and _iceberg_eval(expr["right"], row, fields)
    if t == "or":
        return _iceberg_eval(expr["left"], row, fields) or _iceberg_eval(expr["right"], row, fields)
    if t == "not":
        return not _iceberg_eval(expr["child"], row, fields)
    ref = expr.get("child", expr.get("left"))
    assert ref["type"] == "reference" and set(ref) == {"type", "id"}  # IdReference only (the spec's rule 3)
    name, kind = fields[ref["id"]]
    value = row[name]
    if t in ("is-null", "not-null"):
        return (value is None) == (t == "is-null")
    if t in ("in", "not-in"):
        inside = value is not None and value in {_iceberg_literal(kind, v) for v in expr["values"]}
        return inside if t == "in" else not inside
    literal = _iceberg_literal(kind, expr["right"])
    order = -1 if value is None else (value > literal) - (value < literal)
    return {"eq": order == 0, "not-eq": order != 0, "lt": order < 0, "lt-eq": order <= 0, "gt": order > 0,
            "gt-eq": order >= 0}[t]


@pytest.fixture(scope="module")
def rows() -> tuple[pa.Table, list[dict[str, Any]]]:
    table = _rows()
    return table, table.to_pylist()


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_iceberg_keeps_exactly_the_rows_sql_keeps(name: str, rows: tuple[pa.Table, list[dict[str, Any]]]) -> None:
    table, pyrows = rows
    expr = FILTERS[name]
    fields = parse_schema(FILTER_SCHEMA)
    d = decision([col(f.name) for f in fields], expr)
    got = read_restrictions(d, fields)["required-row-filter"]
    by_id = {f["id"]: (f["name"], f["type"]) for f in FILTER_SCHEMA["fields"]}
    iceberg_ids = {r["id"] for r in pyrows if _iceberg_eval(got, r, by_id)}
    con = connect()
    con.register("t", table)
    where = filter_expression(expr, types=TYPES).sql(dialect="duckdb")
    sql_ids = {r[0] for r in con.execute(f"SELECT id FROM t WHERE {where}").fetchall()}
    assert iceberg_ids == sql_ids, f"{name}: Iceberg {len(iceberg_ids)} rows, SQL {len(sql_ids)}"
    if name not in ("in []", "not in []", "not (in [])", "undefined part"):  # constants: no rows / all rows
        assert 0 < len(sql_ids) < len(pyrows), f"{name}: the rows do not exercise the filter"


def test_an_undefined_filter_is_false() -> None:
    d = decision([col("s")], FILTERS["undefined part"])
    assert read_restrictions(d, {"s": 2})["required-row-filter"] is False


@pytest.mark.parametrize(("expr", "why"), [
    (cmp("contains", c("s"), lit("u")), "'contains' comparison does not translate"),
    (cmp("==", c("s"), c("region")), "compares a column with constants only"),
    (cmp("<", c("f"), lit(1.5)), "floating-point"),
    (cmp("==", c("f"), lit(0)), "floating-point"),
    (cmp("==", c("i"), lit("1")), "compares a long column with a str value"),
    (cmp("==", c("i"), lit(1.5)), "compares a long column with a float value"),
    (cmp("<", c("b"), lit(True)), "orders booleans"),
    (cmp("==", c("n"), lit(2**40)), "outside its range"),
    (cmp("==", c("d"), lit(dt.datetime(2024, 1, 1, 1))), "compares a date column with a datetime"),
    (cmp("==", c("missing"), lit(1)), "column 'missing', which has no field id"),
    (c("s"), "not boolean"),
    (cmp("in", c("arr"), lst(1)), "compares a list column"),
])
def test_a_filter_that_does_not_translate_is_refused(expr: ast.Expr, why: str) -> None:
    fields = parse_schema({"type": "struct", "fields": FILTER_SCHEMA["fields"] + [
        {"id": 20, "name": "region", "type": "string"}, {"id": 21, "name": "f", "type": "double"},
        {"id": 22, "name": "arr", "type": {"type": "list", "element-id": 23, "element": "int",
                                           "element-required": False}}]})
    d = decision([col(f.name) for f in fields], expr)
    with pytest.raises(IcebergRefused, match=why):
        read_restrictions(d, fields)


def test_refusals_never_quote_a_filter_value() -> None:
    secret = "tenant-7f3a-secret"
    d = decision([col("i")], cmp("==", c("i"), lit(secret)))
    with pytest.raises(IcebergRefused) as raised:
        read_restrictions(d, parse_schema({"type": "struct", "fields": [{"id": 3, "name": "i", "type": "long"}]}))
    assert secret not in str(raised.value)


def test_a_filter_without_types_is_refused() -> None:
    d = decision([col("s")], EU)
    with pytest.raises(IcebergRefused, match="needs the column's Iceberg type"):
        read_restrictions(d, {"s": 2})
