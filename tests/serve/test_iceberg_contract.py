"""Contract tests of `POST /v1/iceberg/read-restrictions`: the reply is Iceberg's REST
`ReadRestrictions` (actions from Iceberg's closed set, by field id; the row filter an Iceberg
expression over IdReference), and everything else is an HTTP error — never a permissive reply.

The app runs over a small mesh of its own (tests/serve/iceberg_mesh) whose masks all have
faithful Iceberg actions, plus the example mesh for refusals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from serve_helpers import call, make_app

from policyengine.enforce.iceberg import ACTIONS
from policyengine.engine.loading import load
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App

MESH = Path(__file__).parent / "iceberg_mesh"
PATH = "/v1/iceberg/read-restrictions"
FIELDS = [("member_id", "long", True), ("email", "string", False), ("card", "string", False),
          ("phone", "string", False), ("birth_date", "date", False), ("joined_at", "timestamp", False),
          ("name", "string", False), ("region", "string", False), ("notes", "string", False)]


def schema(fields: list[tuple[str, str, bool]] = FIELDS, first_id: int = 1) -> dict[str, Any]:
    return {"type": "struct", "schema-id": 0, "fields": [
        {"id": first_id + i, "name": n, "type": t, "required": r} for i, (n, t, r) in enumerate(fields)]}


def _holder() -> ReloadingEngine:
    return ReloadingEngine(lambda: load(MESH / "policies", MESH / "products", consumers=MESH / "consumers.yaml"))


@pytest.fixture(scope="module")
def shop() -> App:
    return App(_holder(), allow_unkeyed_hash=True)  # `name` is hashed: sha-256-global needs the opt-in


def ask(app: App, consumer: Any = "sam", **extra: Any) -> Any:
    body = {"consumer": consumer, "product": "shop.members", "schema": schema()}
    body.update(extra)
    return call(app, "POST", PATH, {k: v for k, v in body.items() if v is not None})


# ---------------------------------------------------------------- the reply


def test_the_reply_is_icebergs_read_restrictions(shop: App) -> None:
    r = ask(shop)
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) == {"read-restrictions", "product", "consumer", "bundle_version"}
    assert body["product"] == "shop.members" and body["consumer"] == "sam"
    rr = body["read-restrictions"]
    assert set(rr) == {"required-column-projections", "required-row-filter"}
    assert rr["required-column-projections"] == [
        {"action": "mask-alphanum", "field-id": 2}, {"action": "show-last-4", "field-id": 3},
        {"action": "show-first-4", "field-id": 4}, {"action": "truncate-to-year", "field-id": 5},
        {"action": "truncate-to-month", "field-id": 6}, {"action": "sha-256-global", "field-id": 7},
        {"action": "replace-with-null", "field-id": 9}]
    assert rr["required-row-filter"] == {"type": "and",
                                         "left": {"type": "not-null", "child": {"type": "reference", "id": 8}},
                                         "right": {"type": "eq", "left": {"type": "reference", "id": 8},
                                                   "right": "eu"}}


def test_every_action_is_from_icebergs_closed_set_and_every_field_id_is_the_schemas(shop: App) -> None:
    rr = ask(shop, schema=schema(first_id=100)).json()["read-restrictions"]
    ids = {f["id"] for f in schema(first_id=100)["fields"]}
    projections = rr["required-column-projections"]
    assert all(set(p) == {"action", "field-id"} and p["action"] in ACTIONS and p["field-id"] in ids
               for p in projections)
    assert len({p["field-id"] for p in projections}) == len(projections)  # the spec: one per field id

    def refs(e: Any) -> list[dict[str, Any]]:
        if isinstance(e, dict):
            return ([e] if e.get("type") == "reference" else []) + [r for v in e.values() for r in refs(v)]
        return []

    assert all(set(ref) == {"type", "id"} and ref["id"] in ids for ref in refs(rr["required-row-filter"]))


def test_an_unrestricted_consumer_gets_an_empty_object(shop: App) -> None:
    r = ask(shop, consumer="ada")
    assert r.status == 200 and r.json()["read-restrictions"] == {}


def test_namespace_and_table_name_the_product(shop: App) -> None:
    body = {"consumer": "sam", "namespace": ["shop"], "table": "members", "schema": schema()}
    r = call(shop, "POST", PATH, body)
    assert r.status == 200 and r.json() == ask(shop).json()


def test_an_inline_consumer_and_its_attributes(shop: App) -> None:
    r = ask(shop, consumer={"id": "x", "groups": ["staff"], "attributes": {"region": "us"}})
    assert r.status == 200 and r.json()["read-restrictions"]["required-row-filter"]["right"]["right"] == "us"


def test_a_consumer_without_the_filters_attribute_reads_no_rows(shop: App) -> None:
    r = ask(shop, consumer={"id": "x", "groups": ["staff"]})
    assert r.status == 200 and r.json()["read-restrictions"]["required-row-filter"] is False


# ---------------------------------------------------------------- attacks: never a weaker answer


def test_a_schema_omitting_a_masked_column_is_refused(shop: App) -> None:
    r = ask(shop, schema=schema([f for f in FIELDS if f[0] != "email"]))
    assert r.status == 403 and "email" in r.json()["error"] and "read-restrictions" not in r.json()


def test_a_schema_renaming_a_masked_column_is_refused(shop: App) -> None:
    renamed = [("mail", t, r) if n == "email" else (n, t, r) for n, t, r in FIELDS]
    r = ask(shop, schema=schema(renamed))
    assert r.status == 403 and "read-restrictions" not in r.json()


def test_a_schema_with_an_undeclared_column_is_refused(shop: App) -> None:
    r = ask(shop, schema=schema([*FIELDS, ("ssn", "string", False)]))
    assert r.status == 403 and "ssn" in r.json()["error"]


def test_a_schema_giving_a_masked_column_another_type_is_refused(shop: App) -> None:
    """A hash maps to sha-256-global on strings only: on an int, Iceberg would return an int."""
    retyped = [(n, "int" if n == "name" else t, r) for n, t, r in FIELDS]
    r = ask(shop, schema=schema(retyped))
    assert r.status == 403 and "name" in r.json()["error"]


def test_a_denied_column_is_refused_not_nulled(shop: App) -> None:
    r = ask(shop, consumer="ian")
    assert r.status == 403 and "card" in r.json()["error"] and "denied" in r.json()["error"]


def test_a_mask_without_a_faithful_action_is_refused() -> None:
    """The example mesh: bob's `email_domain`, `partial`, `redact` have no Iceberg action."""
    app = App(make_app().holder, allow_unkeyed_hash=True)  # past full_name's `hash`: to email's email_domain
    fields = [{"id": i + 1, "name": c.name, "type": "string"}
              for i, c in enumerate(app.holder.engine.catalog.get("sales.customers").columns)]
    r = call(app, "POST", PATH, {"consumer": "bob", "product": "sales.customers",
                                 "schema": {"type": "struct", "fields": fields}})
    assert r.status == 403 and "no faithful Iceberg action" in r.json()["error"]


def test_a_keyed_hash_is_refused() -> None:
    r = ask(App(_holder(), hash_key=b"a key", allow_unkeyed_hash=True))
    assert r.status == 403 and "HMAC" in r.json()["error"]


def test_an_unkeyed_hash_is_refused_without_the_opt_in() -> None:
    """As the gateway: a plain SHA-256 of a guessable value can be confirmed by hashing a guess."""
    r = ask(App(_holder()))
    assert r.status == 403 and "allow_unkeyed_hash" in r.json()["error"]


@pytest.mark.parametrize("body", [
    [1], {"consumer": "sam", "product": "shop.members"},
    {"consumer": "sam", "product": "shop.members", "schema": {"type": "struct", "fields": "x"}},
    {"consumer": "sam", "product": "shop.members", "schema": schema([("member_id", "varchar", True)])},
    {"consumer": "sam", "product": "shop.members", "schema": schema(), "columns": ["email"]},
    {"consumer": "sam", "product": "shop.members", "namespace": ["shop"], "table": "members", "schema": schema()},
    {"consumer": "sam", "namespace": "shop", "table": "members", "schema": schema()},
    # attack (review): ["shop"]+"a.b", ["shop", "a"]+"b" and ["shop.a"]+"b" all joined to shop.a.b
    {"consumer": "sam", "namespace": ["shop.members"], "table": "x", "schema": schema()},
    {"consumer": "sam", "namespace": ["shop"], "table": "members.x", "schema": schema()},
    {"consumer": "", "product": "shop.members", "schema": schema()},
    {"consumer": "sam", "product": "shop.members", "schema": schema(), "at": "2026-01-01T00:00:00"},
])
def test_malformed_requests_are_400(shop: App, body: Any) -> None:
    r = call(shop, "POST", PATH, body)
    assert r.status == 400 and set(r.json()) == {"error"}


def test_unknown_product_is_404_and_an_evaluation_error_500(shop: App) -> None:
    r = call(shop, "POST", PATH, {"consumer": "sam", "product": "shop.nope", "schema": schema()})
    assert r.status == 404 and set(r.json()) == {"error"}
    r = ask(shop, consumer="nobody-in-the-consumers-file")  # a deny, not an evaluation error (issue 27)
    assert r.status == 403 and set(r.json()) == {"error"} and "unknown consumer" in r.json()["error"]
    assert call(shop, "POST", PATH, raw=b"{").status == 400
    assert call(shop, "GET", PATH).status == 405


def test_the_openapi_document_has_the_route(shop: App) -> None:
    spec = call(shop, "GET", "/openapi.json").json()
    post = spec["paths"][PATH]["post"]
    assert {"200", "400", "403", "404", "500"} <= set(post["responses"])
    schemas = spec["components"]["schemas"]
    assert schemas["IcebergRequest"]["required"] == ["consumer", "schema"]
    actions = set(schemas["IcebergReadRestrictions"]["properties"]["read-restrictions"]["properties"][
        "required-column-projections"]["items"]["properties"]["action"]["enum"])
    assert actions <= set(ACTIONS)
    from policyengine.language.masks import STRATEGIES
    assert {s.iceberg for s in STRATEGIES.values() if s.iceberg} == actions
