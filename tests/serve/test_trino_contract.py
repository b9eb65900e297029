"""Contract tests: request documents in the shapes Trino's OPA access-control plugin sends, and
the replies it decodes.

The shapes are built from trinodb/trino `plugin/trino-opa/src/main/java/io/trino/plugin/opa/`:
  OpaHttpClient.java          — the body is `{"input": ...}` (OpaQuery), replies must be 2xx JSON;
  OpaHighLevelClient.java     — allow/ExecuteQuery, GetRowFilters, GetColumnMask (single and batch);
  OpaAccessControl.java       — every operation name and the resource it carries;
  OpaBatchAccessControl.java  — `filterResources`, and FilterColumns as one table per request;
  schema/OpaQueryContext.java — context = identity, softwareStack, properties, queryId;
  schema/TrinoIdentity.java   — identity = user, groups, extraCredentials (only configured keys);
  schema/TrinoTable.java, TrinoSchema.java, TrinoColumn.java, TrinoFunction.java, TrinoUser.java,
  schema/OpaQueryInputResource.java — resource fields (catalog.name, schema, table, column, ...);
  schema/OpaQueryResult / OpaBatchQueryResult / OpaRowFiltersQueryResult / OpaColumnMaskQueryResult /
  OpaBatchColumnMaskQueryResult.java — `{"result": bool}`, `{"result": [int]}`,
  `{"result": [{"expression"}]}`, `{"result": {"expression"} | null}`,
  `{"result": [{"index", "viewExpression": {"expression"}}]}`.
"""

from __future__ import annotations

from typing import Any

import pytest
from serve_helpers import call, make_app

from policyengine.serve.trino import TrinoSettings

CTX_BOB = {"identity": {"user": "bob", "groups": []}, "softwareStack": {"trinoVersion": "476"},
           "properties": {}, "queryId": "20260101_000000_00000_aaaaa"}


def ctx(user: str, groups: list[str] | None = None, extra: dict[str, str] | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {"user": user, "groups": groups or []}
    if extra:
        identity["extraCredentials"] = extra
    return {"identity": identity, "softwareStack": {"trinoVersion": "484"}}


def doc(context: dict[str, Any], operation: str, resource: dict[str, Any] | None = None,
        filter_resources: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    action: dict[str, Any] = {"operation": operation}
    if resource is not None:
        action["resource"] = resource
    if filter_resources is not None:
        action["filterResources"] = filter_resources
    action.update(more)
    return {"input": {"context": context, "action": action}}


def table(schema: str, name: str, columns: list[str] | None = None, catalog: str = "lakehouse") -> dict[str, Any]:
    t: dict[str, Any] = {"catalogName": catalog, "schemaName": schema, "tableName": name}
    if columns is not None:
        t["columns"] = columns
    return {"table": t}


def column(schema: str, name: str, col: str, ctype: str = "varchar") -> dict[str, Any]:
    return {"column": {"catalogName": "lakehouse", "schemaName": schema, "tableName": name,
                       "columnName": col, "columnType": ctype}}


def allow(app, document) -> Any:
    r = call(app, "POST", "/v1/trino/allow", document)
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"result"} and isinstance(body["result"], bool)  # never {}
    return body["result"]


def batch(app, document) -> list[int]:
    r = call(app, "POST", "/v1/trino/batch", document)
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    return r.json()["result"]


# ---------------------------------------------------------------- allow (opa.policy.uri)


def test_execute_query_for_known_and_unknown_users(app) -> None:
    assert allow(app, doc(CTX_BOB, "ExecuteQuery")) is True
    assert allow(app, doc(ctx("mallory"), "ExecuteQuery")) is False  # not in the consumers file


def test_access_catalog_and_filter_catalogs(app) -> None:
    assert allow(app, doc(CTX_BOB, "AccessCatalog", {"catalog": {"name": "lakehouse"}})) is True
    assert allow(app, doc(CTX_BOB, "AccessCatalog", {"catalog": {"name": "other"}})) is False
    assert allow(app, doc(CTX_BOB, "FilterCatalogs", {"catalog": {"name": "lakehouse"}})) is True
    assert batch(app, doc(CTX_BOB, "FilterCatalogs", filter_resources=[
        {"catalog": {"name": "other"}}, {"catalog": {"name": "lakehouse"}}])) == [1]
    assert allow(app, doc(ctx("grace"), "AccessCatalog", {"catalog": {"name": "lakehouse"}})) is False


def test_filter_schemas_shows_only_schemas_with_readable_products(app) -> None:
    schemas = ["hr", "sales", "marketing", "information_schema", "nope"]
    resources = [{"schema": {"catalogName": "lakehouse", "schemaName": s}} for s in schemas]
    assert batch(app, doc(CTX_BOB, "FilterSchemas", filter_resources=resources)) == [1, 2, 3]
    assert batch(app, doc(ctx("frank"), "FilterSchemas", filter_resources=resources)) == [0, 3]
    assert allow(app, doc(CTX_BOB, "FilterSchemas", resources[0])) is False
    assert allow(app, doc(CTX_BOB, "ShowTables", resources[1])) is True
    assert allow(app, doc(CTX_BOB, "ShowSchemas", {"catalog": {"name": "lakehouse"}})) is True


def test_filter_tables(app) -> None:
    resources = [table("sales", "customers"), table("hr", "payroll"), table("marketing", "leads"),
                 table("marketing", "campaign_events"), table("sales", "missing")]
    assert batch(app, doc(CTX_BOB, "FilterTables", filter_resources=resources)) == [0, 2]
    assert allow(app, doc(CTX_BOB, "FilterTables", table("hr", "payroll"))) is False
    assert allow(app, doc(CTX_BOB, "ShowColumns", table("sales", "orders"))) is True


def test_batched_filter_columns_indices_point_into_the_tables_columns(app) -> None:
    cols = ["customer_id", "margin", "customer_email", "amount", "no_such_column"]
    got = batch(app, doc(CTX_BOB, "FilterColumns", filter_resources=[table("sales", "orders", cols)]))
    assert got == [0, 2, 3]  # margin denied; a masked column is visible; an unknown one is not
    assert batch(app, doc(CTX_BOB, "FilterColumns", filter_resources=[table("hr", "payroll", ["salary"])])) == []


def test_single_filter_columns_sends_one_column(app) -> None:
    assert allow(app, doc(CTX_BOB, "FilterColumns", table("sales", "orders", ["amount"]))) is True
    assert allow(app, doc(CTX_BOB, "FilterColumns", table("sales", "orders", ["margin"]))) is False


def test_select_from_columns_fails_on_any_denied_column(app) -> None:
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["order_id", "amount"]))) is True
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["order_id", "margin"]))) is False
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["customer_email"]))) is True
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", []))) is True  # count(*)
    assert allow(app, doc(ctx("grace"), "SelectFromColumns", table("sales", "orders", []))) is False
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("hr", "payroll", ["region"]))) is False
    assert allow(app, doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["x"], catalog="other"))) is False


def test_purpose_arrives_through_extra_credentials(app) -> None:
    read = table("hr", "payroll", ["salary"])
    assert allow(app, doc(ctx("erin"), "SelectFromColumns", read)) is False
    assert allow(app, doc(ctx("erin", extra={"purpose": "compensation-review"}), "SelectFromColumns", read)) is True


def test_trino_groups_are_mapped(app) -> None:
    mapped = make_app(trino=TrinoSettings(catalogs=("lakehouse",), groups={"ldap-hr-admins": "hr-admins"},
                                          users={"g.hopper": "grace"}))
    read = table("hr", "payroll", ["salary"])
    assert allow(mapped, doc(ctx("g.hopper"), "SelectFromColumns", read)) is False
    assert allow(mapped, doc(ctx("g.hopper", ["ldap-hr-admins"]), "SelectFromColumns", read)) is True


def test_query_owner_operations_and_everything_else_denied(app) -> None:
    own = {"user": {"user": "bob", "groups": []}}
    other = {"user": {"user": "carol", "groups": []}}
    assert allow(app, doc(CTX_BOB, "ViewQueryOwnedBy", own)) is True
    assert allow(app, doc(CTX_BOB, "KillQueryOwnedBy", other)) is False
    assert batch(app, doc(CTX_BOB, "FilterViewQueryOwnedBy", filter_resources=[other, own])) == [1]
    builtin = {"function": {"catalogName": "system", "schemaName": "builtin", "functionName": "sha256"}}
    assert allow(app, doc(CTX_BOB, "ExecuteFunction", builtin)) is True
    for op, res in [("CreateTable", table("sales", "x")), ("DropTable", table("sales", "orders")),
                    ("InsertIntoTable", table("sales", "orders")), ("DeleteFromTable", table("sales", "orders")),
                    ("ImpersonateUser", {"user": {"user": "frank"}}), ("ReadSystemInformation", None),
                    ("SetSystemSessionProperty", {"systemSessionProperty": {"name": "query_max_memory"}}),
                    ("CreateSchema", {"schema": {"catalogName": "lakehouse", "schemaName": "s", "properties": {}}}),
                    ("ShowCreateTable", table("sales", "orders")), ("NoSuchOperation", None)]:
        assert allow(app, doc(CTX_BOB, op, res)) is False, op
    assert allow(app, doc(CTX_BOB, "RenameTable", table("sales", "orders"),
                          targetResource=table("sales", "orders2"))) is False


# ---------------------------------------------------------------- row filters


def _filters(app, document) -> list[dict[str, str]]:
    r = call(app, "POST", "/v1/trino/row-filters", document)
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    return r.json()["result"]


def test_row_filters_as_trino_expressions(app) -> None:
    got = _filters(app, doc(CTX_BOB, "GetRowFilters", table("sales", "customers")))
    # never NULL (COALESCE): Trino would run the user's WHERE on a row the filter leaves NULL
    assert got == [{"expression": "COALESCE((\"region\" = 'uk'), FALSE)"}]
    # judy has no region: she sees no rows (an explicit false, never "no filter")
    assert _filters(app, doc(ctx("judy"), "GetRowFilters", table("sales", "customers"))) == [{"expression": "FALSE"}]
    assert _filters(app, doc(ctx("frank"), "GetRowFilters", table("hr", "payroll"))) == []  # no filter applies
    assert _filters(app, doc(ctx("mallory"), "GetRowFilters", table("sales", "customers"))) == [{"expression": "FALSE"}]
    assert _filters(app, doc(CTX_BOB, "GetRowFilters", table("x", "y", catalog="other"))) == [{"expression": "FALSE"}]


# ---------------------------------------------------------------- column masks


def test_single_column_mask(app) -> None:
    def mask(col: str, who=CTX_BOB) -> Any:
        r = call(app, "POST", "/v1/trino/column-mask", doc(who, "GetColumnMask", column("sales", "orders", col)))
        assert r.status == 200 and r.headers["content-type"] == "application/json"
        body = r.json()
        assert set(body) == {"result"}
        return body["result"]

    assert mask("amount") is None  # allowed: no mask
    got = mask("customer_email")
    assert set(got) == {"expression"} and "customer_email" in got["expression"]
    assert mask("margin") == {"expression": "CAST(NULL AS VARCHAR)"}  # denied: never unmasked


def test_batch_column_masks_for_20_columns() -> None:
    app = make_app(allow_unkeyed_hash=True)  # full_name's `hash` over Trino needs the opt-in
    cols = [c.name for c in app.holder.engine.catalog.products["sales.customers"].columns]
    cols = (cols + [f"extra_{i}" for i in range(20)])[:20]
    resources = [column("sales", "customers", c) for c in cols]
    r = call(app, "POST", "/v1/trino/batch-column-masks", doc(CTX_BOB, "GetColumnMask", filter_resources=resources))
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    items = r.json()["result"]
    by_index = {i["index"]: i["viewExpression"]["expression"] for i in items}
    d = app.holder.engine.evaluate("bob", "sales.customers", cols)
    for i, c in enumerate(cols):
        effect = d.columns[c].effect
        assert (i in by_index) == (effect != "allow"), c
        if effect == "deny":
            assert by_index[i] == "CAST(NULL AS VARCHAR)"
    assert 'SHA256' in by_index[cols.index("full_name")].upper()


def test_keyed_hash_is_refused_over_trino_unless_accepted() -> None:
    keyed = make_app(hash_key=b"k" * 32)
    res = doc(CTX_BOB, "GetColumnMask", column("sales", "customers", "full_name"))
    # refused = denied: the denied mask, not an HTTP error (Trino asks masks for every column of a
    # table it scans, so an error would fail queries that never read this column)
    r = call(keyed, "POST", "/v1/trino/column-mask", res)
    assert r.status == 200 and r.json()["result"] == {"expression": "CAST(NULL AS VARCHAR)"}
    r = call(keyed, "POST", "/v1/trino/batch-column-masks",
             doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "customers", "full_name")]))
    assert r.status == 200 and r.json()["result"] == [
        {"index": 0, "viewExpression": {"expression": "CAST(NULL AS VARCHAR)"}}]
    # the column is then unreadable: SelectFromColumns fails instead of showing it unmasked
    assert allow(keyed, doc(CTX_BOB, "SelectFromColumns", table("sales", "customers", ["full_name"]))) is False
    assert allow(keyed, doc(CTX_BOB, "SelectFromColumns", table("sales", "customers", ["customer_id"]))) is True
    accepted = make_app(hash_key=b"k" * 32, trino=TrinoSettings(catalogs=("lakehouse",),
                                                                accept_key_in_query_text=True))
    r = call(accepted, "POST", "/v1/trino/column-mask", res)
    assert r.status == 200 and "HMAC_SHA256" in r.json()["result"]["expression"].upper()
    assert (b"k" * 32).hex() in r.json()["result"]["expression"].lower()


def test_unkeyed_hash_is_refused_over_trino_unless_allowed() -> None:
    """Attack: with no HMAC key, `hash` is a plain SHA-256 of the value; a consumer hashes guesses
    (names, emails) and matches them, so the mask reveals the value. The gateway refuses that
    unless `allow_unkeyed_hash` is set, and so must the Trino endpoints."""
    unkeyed = make_app()
    res = doc(CTX_BOB, "GetColumnMask", column("sales", "customers", "full_name"))
    r = call(unkeyed, "POST", "/v1/trino/column-mask", res)
    assert r.status == 200 and r.json()["result"] == {"expression": "CAST(NULL AS VARCHAR)"}
    r = call(unkeyed, "POST", "/v1/trino/batch-column-masks",
             doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "customers", "full_name")]))
    assert r.status == 200 and b"SHA256" not in r.body.upper()
    assert allow(unkeyed, doc(CTX_BOB, "SelectFromColumns", table("sales", "customers", ["full_name"]))) is False
    assert allow(unkeyed, doc(CTX_BOB, "SelectFromColumns", table("sales", "customers", ["customer_id"]))) is True
    allowed = make_app(allow_unkeyed_hash=True)
    r = call(allowed, "POST", "/v1/trino/column-mask", res)
    assert r.status == 200 and "SHA256" in r.json()["result"]["expression"].upper()
    assert "HMAC" not in r.json()["result"]["expression"].upper()


# ---------------------------------------------------------------- fail closed


@pytest.mark.parametrize("path", ["/v1/trino/allow", "/v1/trino/batch", "/v1/trino/row-filters",
                                  "/v1/trino/column-mask", "/v1/trino/batch-column-masks"])
@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"input": {}}', b'{"input": {"context": {}, "action": {}}}',
                                  b'{"input": {"context": {"identity": {"user": 7}}, "action": {"operation": "X"}}}'])
def test_malformed_requests_are_http_errors_never_an_allow(app, path: str, body: bytes) -> None:
    r = call(app, "POST", path, raw=body)
    assert r.status == 400 and r.headers["content-type"] == "application/json"
    assert "result" not in r.json()


def test_wrong_operation_for_an_endpoint_is_an_error(app) -> None:
    r = call(app, "POST", "/v1/trino/row-filters", doc(CTX_BOB, "GetColumnMask", column("sales", "orders", "x")))
    assert r.status == 400
    r = call(app, "POST", "/v1/trino/batch", doc(CTX_BOB, "FilterColumns", filter_resources=[
        table("sales", "orders", ["a"]), table("sales", "customers", ["b"])]))
    assert r.status == 400


def test_an_internal_error_on_a_mask_is_an_http_error(app, monkeypatch) -> None:
    broken = make_app()
    policy = broken._policy()
    monkeypatch.setattr(policy, "decide", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    r = call(broken, "POST", "/v1/trino/batch-column-masks",
             doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "orders", "amount")]))
    assert r.status == 500 and "result" not in r.json()
    r = call(broken, "POST", "/v1/trino/allow", doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["amount"])))
    assert r.status == 500 and "result" not in r.json()
