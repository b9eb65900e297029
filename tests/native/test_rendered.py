"""The rendered targets (Snowflake, Databricks, BigQuery; rendered, never executed here): golden
files of the example mesh, every policy and function body parsed by sqlglot in its dialect, no key
in any file, the folded per-product form cell-for-cell equal to enforce() (run in DuckDB with
each consumer's class as a literal), the lookups failing closed, the capability table in the docs
generated from the code, and `check --target` / `plan` refusing what a target cannot express."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import duckdb
import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

import policyengine
from policyengine.cli import app
from policyengine.native import bigquery, compile_plan, databricks, snowflake
from policyengine.native.compile import TARGETS, capability_table
from policyengine.native.fold import fold_plan
from tests.engines import seed
from tests.native.cells import assert_cells_equal

AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
GOLDEN = Path(__file__).parent / "golden"
MODULES = {"snowflake": snowflake, "databricks": databricks, "bigquery": bigquery}
KEY = "rendered-golden-key-never-in-a-file"


@pytest.fixture(scope="module")
def mesh():
    return policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")


@pytest.mark.parametrize("target", sorted(MODULES))
def test_render_golden(tmp_path, monkeypatch, target) -> None:
    """The example mesh rendered per target (tests/native/golden/<target>/): a reviewable diff of
    every change; regenerate with POLICYENGINE_REGEN_GOLDEN=1 and review."""
    monkeypatch.setenv("POLICYENGINE_HASH_KEY", KEY)
    result = CliRunner().invoke(app, ["render", "--target", target, "-o", str(tmp_path), "--at", AT.isoformat()])
    assert result.exit_code == 0, result.output
    assert "rendered, not executed" in result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        text = (tmp_path / name).read_text("utf-8")
        assert KEY not in text and KEY.encode().hex() not in text
        path = GOLDEN / target / name
        if os.environ.get("POLICYENGINE_REGEN_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        assert path.exists(), f"missing {path}; run with POLICYENGINE_REGEN_GOLDEN=1"
        assert text == path.read_text("utf-8"), f"{target}/{name} changed; regenerate and review"
    assert "RENDERED, NOT EXECUTED" in (tmp_path / "apply.sql").read_text("utf-8")


@pytest.mark.parametrize("target", sorted(MODULES))
def test_every_body_parses_in_its_dialect(mesh, target) -> None:
    plan = compile_plan(mesh, target, at=AT, keyed_hash=True)
    statements = MODULES[target].render_statements(plan, MODULES[target].DEFAULTS) if target != "snowflake" else \
        snowflake.render_statements(plan, snowflake.DEFAULTS, keyed=True)
    bodies = [s for s in statements if s.body]
    assert bodies
    for s in bodies:
        tree = sqlglot.parse_one(s.body, read=s.dialect)
        # round trip: what sqlglot reads back prints the same (no part silently dropped)
        assert tree.sql(s.dialect) == sqlglot.parse_one(tree.sql(s.dialect), read=s.dialect).sql(s.dialect)


def test_snowflake_keyed_hash_reads_the_owner_only_key_table_and_prints_no_key(mesh) -> None:
    files = snowflake.render_files(compile_plan(mesh, "snowflake", at=AT, keyed_hash=True), keyed=True)
    sql = files["apply.sql"]
    assert 'SHA2_BINARY(CONCAT((SELECT p.ipad FROM "POLICYENGINE"."GOVERNANCE"."PE_HMAC_PADS" AS p)' in sql
    assert "INSERT INTO \"POLICYENGINE\".\"GOVERNANCE\".\"PE_HMAC_PADS\"" not in sql  # pads: apply only
    # the consumer never reads the key table: no grant names it
    assert not re.search(r"GRANT [^;]*PE_HMAC_PADS", sql)


@pytest.mark.parametrize("target", ["databricks", "bigquery"])
def test_hash_is_refused_where_no_key_can_be_kept_from_consumers(mesh, target) -> None:
    plan = compile_plan(mesh, target, at=AT, keyed_hash=True)
    hashed = [r for r in plan.refusals if "mask 'hash'" in r.reason]
    assert hashed and all("nearest safe choice" in r.reason for r in hashed)
    assert ("bob", "sales.orders") not in {(t.consumer, t.product) for t in plan.tables}
    # fail closed in the files too: no class row, no grant, no principal for the refused pair
    sql = MODULES[target].render_files(plan, MODULES[target].DEFAULTS)["apply.sql"]
    assert "('bob', 'sales.orders'" not in sql
    assert not re.search(r"GRANT [^;]*`sales`\.`orders`[^;]*pe[-_]bob", sql)


def test_bigquery_uses_only_faithful_predefined_expressions(mesh) -> None:
    import json

    files = bigquery.render_files(compile_plan(mesh, "bigquery", at=AT, keyed_hash=True))
    requests = json.loads(files["data_policies.json"])["requests"]
    expressions = {r["body"]["dataMaskingPolicy"]["predefinedExpression"] for r in requests
                   if r["api"] == "bigquerydatapolicy.dataPolicies.create"}
    assert expressions <= {"ALWAYS_NULL", "DATE_YEAR_MASK"}
    # one row access policy per class, every principal in exactly one per table (no union)
    sql = files["apply.sql"]
    for table in set(re.findall(r"ROW ACCESS POLICY `\w+` ON (`[^`]+`\.`[^`]+`)", sql)):
        grants = re.findall(r"ON " + re.escape(table) + r"\n  GRANT TO \(([^)]*)\)", sql)
        principals = [p for g in grants for p in g.split(", ")]
        assert len(principals) == len(set(principals)), table


def test_folded_form_gives_enforce_cells_for_every_consumer_of_the_mesh(mesh) -> None:
    plan = compile_plan(mesh, "postgres", at=AT, keyed_hash=True)
    tables = seed.mesh_tables()
    for fold in fold_plan(plan):
        for consumer in mesh.consumers:
            assert_cells_equal(fold, tables[fold.product], mesh, consumer, AT)


@pytest.mark.parametrize("target", ["snowflake", "databricks"])
def test_a_session_with_two_consumers_roles_gets_no_class(mesh, target) -> None:
    """The attack: a user holding bob's and carol's roles (Snowflake secondary roles, two account
    groups) would read with either class; the lookup yields NULL instead (default deny)."""
    from dataclasses import replace

    module = MODULES[target]
    options = replace(module.DEFAULTS, policy_schema="pecat.gov")
    lookup = module.class_lookup("sales.orders", options).sql(module.DIALECT)
    # the session function as a set membership over the roles a session holds
    session_fn = "IS_ROLE_IN_SESSION" if target == "snowflake" else "IS_ACCOUNT_GROUP_MEMBER"
    folds = {f.product: f for f in fold_plan(compile_plan(mesh, target, at=AT, keyed_hash=True))}
    names = {"bob": "PE_bob" if target == "snowflake" else "pe_bob",
             "carol": "PE_carol" if target == "snowflake" else "pe_carol"}
    for held, expected in (([names["bob"]], folds["sales.orders"].class_of("bob")),
                           ([names["carol"]], folds["sales.orders"].class_of("carol")),
                           ([names["bob"], names["carol"]], None), ([], None)):
        held_sql = ", ".join(f"'{h}'" for h in held) or "NULL"
        sql = re.sub(session_fn + r"\(([rg])\.(role_name|group_name)\)", rf"\1.\2 IN ({held_sql})", lookup,
                     flags=re.IGNORECASE)
        duck = sqlglot.transpile(sql, read=module.DIALECT, write="duckdb")[0]
        con = duckdb.connect(":memory:")
        schema = options.policy_schema.split(".")
        con.execute(f'ATTACH \':memory:\' AS "{schema[0]}"')
        con.execute(f'CREATE SCHEMA "{schema[0]}"."{schema[1]}"')
        q = f'"{schema[0]}"."{schema[1]}"'
        roles, classes = (module.ROLES_TABLE, module.CLASSES_TABLE) if target == "snowflake" else \
            (module.GROUPS_TABLE, module.CLASSES_TABLE)
        first = "role_name" if target == "snowflake" else "group_name"
        con.execute(f'CREATE TABLE {q}."{roles}" ({first} VARCHAR, consumer VARCHAR)')
        con.execute(f'CREATE TABLE {q}."{classes}" (consumer VARCHAR, product VARCHAR, class VARCHAR)')
        con.executemany(f'INSERT INTO {q}."{roles}" VALUES (?, ?)', [(v, k) for k, v in names.items()])
        con.executemany(f'INSERT INTO {q}."{classes}" VALUES (?, ?, ?)',
                        [(c, f.product, k.name) for f in folds.values() for k in f.classes for c in k.consumers])
        assert con.execute(f"SELECT {duck}").fetchone()[0] == expected, (held, target)


def test_capability_table_in_the_docs_is_the_code() -> None:
    text = Path("docs/native.md").read_text("utf-8")
    begin, end = "<!-- capabilities: generated by `policyengine capabilities` -->", "<!-- /capabilities -->"
    assert begin in text and end in text, "docs/native.md lacks the capability table's markers"
    assert text.split(begin, 1)[1].split(end, 1)[0].strip() == capability_table().strip(), \
        "docs/native.md's capability table differs from TARGETS: paste `policyengine capabilities`"
    result = CliRunner().invoke(app, ["capabilities", "--markdown"])
    assert result.exit_code == 0 and result.output == capability_table()
    assert set(TARGETS) >= {"postgres", "snowflake", "databricks", "bigquery"}


def test_check_target_refuses_at_the_rules_location_with_the_nearest_safe_choice() -> None:
    result = CliRunner().invoke(app, ["check", "--target", "bigquery"])
    assert result.exit_code == 1, result.output
    found = [line for line in result.output.splitlines() if "target bigquery" in line]
    assert found
    for line in found:
        where, _, rest = line.partition(": error: ")
        file, line_no, col = where.rsplit(":", 2)
        assert Path(file).exists() and int(line_no) >= 1 and int(col) >= 1
        assert "nearest safe choice" in rest
    unknown = CliRunner().invoke(app, ["check", "--target", "oracle"])
    assert unknown.exit_code == 2 and "unknown --target" in unknown.output


def test_check_target_passes_when_the_target_expresses_everything(monkeypatch) -> None:
    monkeypatch.setenv("POLICYENGINE_HASH_KEY", KEY)
    result = CliRunner().invoke(app, ["check", "--target", "snowflake"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_refuse_a_rendered_target(command) -> None:
    result = CliRunner().invoke(app, [command, "--target", "databricks", "--dsn", "host=/nowhere"])
    assert result.exit_code == 2 and "rendered, not applied" in result.output


SESSION_SPOOFS = {
    # what a consumer could set in its own session to claim another consumer's class
    "snowflake": ["SET pe_consumer = 'frank'", "ALTER SESSION SET QUERY_TAG = 'frank'"],
    "databricks": ["SET VAR pe_consumer = 'frank'", "SET spark.pe.consumer = frank"],
}


@pytest.mark.parametrize("target", ["snowflake", "databricks"])
def test_no_body_reads_anything_a_session_can_set(mesh, target) -> None:
    """The attack: `SET pe_consumer = 'frank'` (a session variable), a query tag or a Spark conf
    in the consumer's own session. No body reads any of them: the consumer is found only by
    IS_ROLE_IN_SESSION / is_account_group_member over the mapping table apply maintains."""
    module = MODULES[target]
    plan = compile_plan(mesh, target, at=AT, keyed_hash=True)
    statements = snowflake.render_statements(plan, keyed=True) if target == "snowflake" else \
        module.render_statements(plan)
    identity = {"IS_ROLE_IN_SESSION"} if target == "snowflake" else {"IS_ACCOUNT_GROUP_MEMBER"}
    for spoof in SESSION_SPOOFS[target]:
        sqlglot.parse_one(spoof, read=module.DIALECT)  # a statement the consumer can run
    for s in (s for s in statements if s.body):
        tree = sqlglot.parse_one(s.body, read=s.dialect)
        assert not list(tree.find_all(exp.Parameter, exp.SessionParameter, exp.Placeholder)), s.name
        names = {f.sql_name().upper() if not isinstance(f, exp.Anonymous) else str(f.this).upper()
                 for f in tree.find_all(exp.Func)}
        assert not names & {"GETVARIABLE", "CURRENT_USER", "SESSION_USER", "CURRENT_ROLE", "QUERY_TAG",
                            "SYSTEM$GET_TAG", "CURRENT_SESSION"}, (s.name, names)
        if "PE_CONSUMER_" in s.body.upper():  # every lookup names the consumer through identity only
            assert names & identity, s.name
        # a Databricks session variable reads as a bare name: every name is the masked value, a
        # column of the product (row filters) or a mapping table's column (qualified k./g./r., the key table's p.)
        columns = {c.name for c in mesh.catalog.products[next(
            p for p in mesh.catalog.products if s.name.strip('`"').split(".")[-1].strip('`"')
            .startswith("pe_" + p.replace(".", "_")))].columns}
        for col in tree.find_all(exp.Column):
            assert col.table in ("k", "g", "r", "p") or (not col.table and (col.name == "val" or col.name in columns)), \
                (s.name, col.sql())


def test_a_column_rows_are_filtered_on_must_be_read_as_it_is_by_every_reader(tmp_path) -> None:
    """The attack on one-row-policy-per-table targets: g2 may not read `region`, g1's rows are
    filtered on it. Snowflake cannot mask a column in a row access policy's signature, and a
    filter that saw a masked region could keep other rows: g2's pair is refused at its deny rule
    (file:line:col), never rendered with `region` readable; g1 keeps its objects."""
    from tests.governance.test_classes import CATALOG

    policy = tmp_path / "shop.policy"
    policy.write_text("scope domain shop\n"
                      "allow read shop.orders to everyone;\n"
                      'filter shop.orders rows where region == "eu" to group:g1;\n'
                      "deny read shop.orders.region to group:g2;\n", "utf-8")
    consumers = tmp_path / "consumers.yaml"
    consumers.write_text("consumers:\n  - {id: a, groups: [g1]}\n  - {id: b, groups: [g2]}\n", "utf-8")
    engine = policyengine.load([tmp_path], CATALOG, consumers=consumers)
    for target in ("snowflake", "databricks", "bigquery"):
        plan = compile_plan(engine, target, at=AT)
        assert {(t.consumer, t.product) for t in plan.tables if t.product == "shop.orders"} == {("a", "shop.orders")}
        refusal = next(r for r in plan.refusals if r.consumer == "b")
        assert refusal.where == f"{policy}:4:1" and "filtered on it" in refusal.reason
        assert "nearest safe choice" in refusal.reason
    # postgres serves both (each consumer its own view)
    assert {t.consumer for t in compile_plan(engine, "postgres", at=AT).tables} == {"a", "b"}
    sql = snowflake.render_files(compile_plan(engine, "snowflake", at=AT))["apply.sql"]
    assert 'MODIFY COLUMN "region" SET MASKING POLICY' not in sql
    assert 'ADD ROW ACCESS POLICY "POLICYENGINE"."GOVERNANCE"."pe_shop_orders__rows" ON ("region")' in sql


@pytest.mark.parametrize(("option", "value"), [("--principal", "{consumer.__class__}"), ("--table", "{owner}"),
                                               ("--table", "a..{table}"), ("--policy-schema", "")])
def test_a_bad_naming_option_is_a_usage_error(tmp_path, option, value) -> None:
    result = CliRunner().invoke(app, ["render", "--target", "snowflake", "-o", str(tmp_path), option, value])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_check_target_without_consumers_says_nothing_was_checked(tmp_path, monkeypatch) -> None:
    from tests.governance.test_classes import CATALOG

    monkeypatch.chdir(tmp_path)  # no project configuration: no consumers file

    (tmp_path / "shop.policy").write_text("scope domain shop\nmask shop.orders.email using hash to everyone;\n"
                                          "allow read shop.orders to everyone;\n", "utf-8")
    result = CliRunner().invoke(app, ["check", "--policies", str(tmp_path), "--catalog", str(CATALOG),
                                      "--target", "bigquery"])
    assert "no native object was compiled" in result.output
    strict = CliRunner().invoke(app, ["check", "--policies", str(tmp_path), "--catalog", str(CATALOG),
                                      "--target", "bigquery", "--strict"])
    assert strict.exit_code == 1
