"""BigQuery native objects from a compiled plan (rendered, not executed here; docs/native.md).

- Rows: one row access policy per consumer class and table, `GRANT TO` the class's principals
  (each consumer one principal, so each principal is in exactly one policy per table: BigQuery
  unions the policies a principal is granted, and no union ever widens our fold). A principal in
  no policy reads no row of a table that has row access policies.
- Columns: one policy tag per product column some class masks or may not read. Classes that
  read it as it is get the tag's Fine-Grained Reader role; each mask class gets the Masked
  Reader role of one data policy (`dataPolicies.create` with a predefined expression). A
  principal with neither reading the column gets an access error. Only faithful predefined
  expressions are used (`null` -> ALWAYS_NULL, `year` on dates -> DATE_YEAR_MASK); the compiler
  refuses every other mask (Capabilities.unsupported_strategies), never lowering it.
- The requests are JSON bodies for a deployment tool: the tag and data policy resource names the
  APIs return are placeholders (`{tag:<product>.<column>}`), resolved by the tool.
"""

from __future__ import annotations

import json
from typing import Any

from policyengine.enforce.sql_filters import filter_expression
from policyengine.native.compile import NativePlan
from policyengine.native.fold import ProductFold, fold_plan
from policyengine.native.rendered import (
    Options,
    RenderedError,
    Statement,
    base_table,
    fill,
    ident,
    join,
)

DIALECT = "bigquery"
PREDEFINED = {"null": "ALWAYS_NULL", "year": "DATE_YEAR_MASK"}
DEFAULTS = Options(policy_schema="policyengine", principal="group:pe-{consumer}@example.com")
ROW_KIND = "row access policies (one per class: each principal in exactly one)"
FINE_GRAINED_READER = "roles/datacatalog.categoryFineGrainedReader"
MASKED_READER = "roles/bigquerydatapolicy.maskedReader"


def principal(consumer: str, options: Options) -> str:
    return fill(options.principal, {"consumer": consumer}, "--principal")


def _principals(fold: ProductFold, classes: tuple[str, ...], options: Options) -> list[str]:
    members = {k.name: k.consumers for k in fold.classes}
    return sorted(principal(c, options) for k in classes for c in members[k])


def row_policies(fold: ProductFold, options: Options) -> list[Statement]:
    table = base_table(fold.product, options.table, DIALECT)
    out: list[Statement] = []
    for cls in fold.classes:
        grantees = ", ".join(json.dumps(p) for p in _principals(fold, (cls.name,), options))
        predicate = "TRUE" if cls.decision.row_filter is None else filter_expression(
            cls.decision.row_filter, types=dict(fold.types)).sql(DIALECT)
        name = ident(f"pe_{cls.name}", DIALECT)
        out.append(Statement(ROW_KIND, name,
                             f"CREATE OR REPLACE ROW ACCESS POLICY {name} ON {table}\n  GRANT TO ({grantees})\n"
                             f"  FILTER USING ({predicate})", predicate, DIALECT))
    for consumer in sorted(c for k in fold.classes for c in k.consumers):
        out.append(Statement("table grants", consumer, f"GRANT `roles/bigquery.dataViewer` ON TABLE {table} "
                             f"TO {json.dumps(principal(consumer, options))}"))
    return out


def column_requests(fold: ProductFold, options: Options) -> list[dict[str, Any]]:
    """The Data Catalog and Data Policy API requests for the product's tagged columns."""
    everyone = tuple(k.name for k in fold.classes)
    schema, _, name = fold.product.partition(".")
    parts = fill(options.table, {"product": fold.product, "schema": schema, "table": name or schema},
                 "--table").split(".")
    dataset, table = (parts[-2] if len(parts) > 1 else "{dataset}"), parts[-1]
    out: list[dict[str, Any]] = []
    for column in fold.columns:
        plain = [b for b in column.branches if b.effect == "allow"]
        if len(plain) == 1 and set(plain[0].classes) == set(everyone):
            continue  # every class reads it as it is: no tag
        tag = f"{fold.product}.{column.name}"
        ref = "{tag:" + tag + "}"
        out.append({"method": "POST", "api": "datacatalog.taxonomies.policyTags.create",
                    "path": "projects/{project}/locations/{location}/taxonomies/{taxonomy}/policyTags",
                    "body": {"displayName": tag, "description": "managed by policyengine"}, "returns": ref})
        readers = [p for b in plain for p in _principals(fold, b.classes, options)]
        out.append({"method": "POST", "api": "datacatalog.taxonomies.policyTags.setIamPolicy",
                    "path": ref + ":setIamPolicy",
                    "body": {"policy": {"bindings": [{"role": FINE_GRAINED_READER, "members": readers}]
                                        if readers else []}}})
        for n, branch in enumerate(b for b in column.branches if b.effect == "mask"):
            expression = PREDEFINED.get(branch.strategy or "")
            if expression is None:  # the compiler refuses these first: never lowered
                raise RenderedError(f"{tag}: mask '{branch.strategy}' has no faithful predefined expression")
            policy_id = f"pe_{fold.product}_{column.name}_{n}".replace(".", "_").replace("-", "_")
            policy_ref = "projects/{project}/locations/{location}/dataPolicies/" + policy_id
            out.append({"method": "POST", "api": "bigquerydatapolicy.dataPolicies.create",
                        "path": "projects/{project}/locations/{location}/dataPolicies",
                        "body": {"dataPolicyId": policy_id, "dataPolicyType": "DATA_MASKING_POLICY",
                                 "policyTag": ref, "dataMaskingPolicy": {"predefinedExpression": expression}},
                        "rules": list(branch.rules)})
            out.append({"method": "POST", "api": "bigquerydatapolicy.dataPolicies.setIamPolicy",
                        "path": policy_ref + ":setIamPolicy",
                        "body": {"policy": {"bindings": [{"role": MASKED_READER, "members": _principals(
                            fold, branch.classes, options)}]}}})
        out.append({"method": "PATCH", "api": "bigquery.tables.patch",
                    "path": f"projects/{{project}}/datasets/{dataset}/tables/{table}",
                    "body": {"schema": {"fields": [{"name": column.name, "policyTags": {"names": [ref]}}]}},
                    "note": "merge into the table's full schema: a patch replaces the field list"})
    return out


def render_statements(plan: NativePlan, options: Options = DEFAULTS) -> list[Statement]:
    statements = [s for fold in fold_plan(plan) for s in row_policies(fold, options)]
    return sorted(statements, key=lambda s: s.kind != "table grants")  # stable: policies first


def readback(options: Options = DEFAULTS) -> str:
    return "\n".join([
        "-- policyengine: read the live BigQuery state back (compare with apply.sql and data_policies.json;"
        " not run here)",
        "-- every row access policy of a dataset, with its predicate:",
        "SELECT table_name, row_access_policy_name, filter_predicate",
        "  FROM `<project>.<dataset>.INFORMATION_SCHEMA.ROW_ACCESS_POLICIES` ORDER BY table_name;",
        "-- each policy's grantees: bq ls --row_access_policies <dataset>.<table>, or the API's",
        "--   rowAccessPolicies.getIamPolicy;",
        "-- each column's policy tags: bq show --schema <dataset>.<table> (policyTags.names);",
        "-- each data policy and its masked readers: the Data Policy API's dataPolicies.list and",
        "--   dataPolicies.getIamPolicy; each policy tag's fine-grained readers: Data Catalog's",
        "--   taxonomies.policyTags.getIamPolicy.", ""])


def render_files(plan: NativePlan, options: Options = DEFAULTS, *, keyed: bool = False) -> dict[str, str]:
    try:
        statements = render_statements(plan, options)
        requests = [r for fold in fold_plan(plan) for r in column_requests(fold, options)]
    except ValueError as exc:
        raise RenderedError(str(exc)) from None
    header = ("-- policyengine native objects for bigquery: RENDERED, NOT EXECUTED by policyengine\n"
              f"-- compiled at {plan.at.isoformat()} (policy {plan.policy_version or 'unversioned'})\n"
              "-- column masks: data_policies.json (Data Catalog and Data Policy API request bodies)")
    return {"apply.sql": join(header, statements),
            "data_policies.json": json.dumps({"rendered_not_executed": True, "requests": requests}, indent=2) + "\n",
            "readback.sql": readback(options)}
