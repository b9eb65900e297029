"""`POST /v1/iceberg/read-restrictions`: the read restrictions an Iceberg REST catalog returns
with a table (the `read-restrictions` of a LoadTableResponse), decided by the engine.

Request (JSON object):

- `consumer`: a consumer id or `{id, groups, attributes}` (as `/v1/evaluate`);
- `product`: the product name, or `namespace` (a list of names, as Iceberg's) and `table`, read
  as the product `<namespace joined by ".">.<table>`;
- `schema`: the table's current Iceberg schema (`{"type": "struct", "fields": [{"id", "name",
  "type", "required"}, ...]}`), so the catalog passes its own field ids and types;
- `purpose`, `at`: optional, as `/v1/evaluate`.

Reply 200: `{"read-restrictions": {...}, "product", "consumer", "bundle_version"}`. Anything else
is an HTTP error with `{"error": "..."}`, never a permissive reply: 400 for a malformed request or
schema, 404 for an unknown product, 403 when the decision has no faithful Iceberg form (a denied
column, a mask without an equal Iceberg action, a filter that does not translate, a schema that
omits, renames or adds a column), 500 for an evaluation error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policyengine.enforce.iceberg import IcebergField, parse_schema, read_restrictions
from policyengine.engine.decision import Decision
from policyengine.serve.trino import BadRequest

FIELDS = frozenset({"consumer", "product", "namespace", "table", "schema", "purpose", "at"})


def split_request(doc: Any) -> tuple[dict[str, Any], tuple[IcebergField, ...]]:
    """The evaluate part of a read-restrictions request ({consumer, product, purpose, at}) and the
    table's parsed fields; BadRequest (or IcebergSchemaError) on a malformed request."""
    if not isinstance(doc, Mapping):
        raise BadRequest("a request is a JSON object")
    unknown = sorted(set(doc) - FIELDS)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r}")
    if "schema" not in doc:
        raise BadRequest("'schema' (the table's Iceberg schema) is required")
    product = doc.get("product")
    if "namespace" in doc or "table" in doc:
        if product is not None:
            raise BadRequest("give 'product' or 'namespace' and 'table', not both")
        namespace, table = doc.get("namespace"), doc.get("table")
        if not isinstance(namespace, list) or not namespace or not all(isinstance(n, str) and n for n in namespace):
            raise BadRequest("'namespace' must be a non-empty list of names")
        if not isinstance(table, str) or not table:
            raise BadRequest("'table' must be a non-empty string")
        if any("." in name for name in (*namespace, table)):  # ["a"]+"b.c" and ["a", "b"]+"c" would be one name
            raise BadRequest("a namespace level or table name containing '.' is ambiguous: give 'product'")
        product = ".".join([*namespace, table])
    evaluate = {k: doc[k] for k in ("consumer", "purpose", "at") if k in doc}
    evaluate["product"] = product
    return evaluate, parse_schema(doc["schema"])


def reply(decision: Decision, fields: tuple[IcebergField, ...], hash_key: bytes | None,
          allow_unkeyed_hash: bool = False) -> dict[str, Any]:
    """The 200 body; raises IcebergRefused where the decision has no faithful Iceberg form."""
    restrictions = read_restrictions(decision, fields, hash_key=hash_key, allow_unkeyed_hash=allow_unkeyed_hash)
    return {"read-restrictions": restrictions,
            "product": decision.product, "consumer": decision.consumer, "bundle_version": decision.bundle_version}
