"""The OpenAPI 3.1 document served at `/openapi.json`."""

from __future__ import annotations

from typing import Any

from policyengine.serve.requests import schema_components

_RULE = {"type": ["object", "null"], "properties": {
    "name": {"type": "string"}, "file": {"type": "string"}, "line": {"type": "integer"}, "kind": {"type": "string"}}}

_COMPONENTS = schema_components()  # Request and Consumer: the classes requests are validated with
_CONSUMER = _COMPONENTS["Request"]["properties"]["consumer"]

_DECISION = {"type": "object", "properties": {
    "product": {"type": "string"}, "consumer": {"type": "string"}, "purpose": {"type": ["string", "null"]},
    "at": {"type": ["string", "null"]}, "policy_version": {"type": "string"}, "bundle_version": {"type": "string"},
    "columns": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "column": {"type": "string"}, "effect": {"enum": ["allow", "mask", "deny"]},
        "strategy": {"type": ["string", "null"]}, "args": {"type": "object"}, "rule": _RULE,
        "reason": {"type": "string"}, "applied": {"type": "array", "items": _RULE}}}},
    "readable_columns": {"type": "array", "items": {"type": "string"}},
    "row_filter": {"type": ["string", "null"]},
    "filter_rules": {"type": "array", "items": _RULE},
    "error": {"type": ["string", "null"]}, "reason": {"type": "string"},
}}

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}}

_ICEBERG_FIELD = {"type": "object", "required": ["id", "name", "type"], "properties": {
    "id": {"type": "integer", "minimum": 1}, "name": {"type": "string"},
    "type": {"oneOf": [{"type": "string"}, {"type": "object"}]}, "required": {"type": "boolean"}}}

_ICEBERG_REQUEST = {
    "type": "object", "required": ["consumer", "schema"], "additionalProperties": False, "properties": {
        "consumer": _CONSUMER,
        "product": {"type": "string", "description": "or 'namespace' and 'table'"},
        "namespace": {"type": "array", "items": {"type": "string"}, "description": "with 'table': the product "
                      "<namespace joined by '.'>.<table>"},
        "table": {"type": "string"},
        "schema": {"type": "object", "description": "the table's Iceberg schema (its field ids and types)",
                   "required": ["type", "fields"], "properties": {
                       "type": {"const": "struct"}, "fields": {"type": "array", "items": _ICEBERG_FIELD}}},
        "purpose": {"type": "string"},
        "at": {"type": "string", "format": "date-time", "description": "as in Request"},
    }}

_ICEBERG_REPLY = {"type": "object", "required": ["read-restrictions"], "properties": {
    "read-restrictions": {"type": "object", "description": "Iceberg REST ReadRestrictions", "properties": {
        "required-column-projections": {"type": "array", "items": {
            "type": "object", "required": ["action", "field-id"], "properties": {
                "action": {"enum": ["mask-alphanum", "mask-to-fixed-value", "replace-with-null", "show-first-4",
                                    "show-last-4", "truncate-to-year", "truncate-to-month", "sha-256-global"]},
                "field-id": {"type": "integer"}}}},
        "required-row-filter": {"description": "an Iceberg expression over IdReference {type: reference, id}",
                                "oneOf": [{"type": "boolean"}, {"type": "object"}]}}},
    "product": {"type": "string"}, "consumer": {"type": "string"}, "bundle_version": {"type": "string"}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for c, d in ((400, "malformed request"), (401, "missing or wrong bearer token"),
                         (403, "the decision has no faithful Iceberg form, or an unknown consumer (refused, never weakened)"),
                         (404, "unknown product"),
                         (408, "the body did not arrive in time"), (413, "the body or batch is too large"),
                         (421, "the Host header names no address of this server (DNS rebinding)"),
                         (500, "internal error or a mask/filter that cannot be expressed (fail closed)"),
                         (503, "the batch took too long (fail closed)")) if c in codes}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _opa(summary: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"post": {"summary": summary, "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/OpaInput"})},
                     "responses": {"200": {"description": "the decision", **_json(
                         {"type": "object", "required": ["result"], "properties": {"result": result}})},
                         **_errors(400, 401, 408, 413, 421, 500, 503)}}}


_VIEW = {"type": "object", "required": ["expression"], "properties": {"expression": {"type": "string"}}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "policyengine decision service", "version": "1"},
    "paths": {
        "/health": {"get": {"summary": "liveness and the bundle in force", "responses": {"200": {"description": "ok"}}}},
        "/metrics": {"get": {"summary": "Prometheus text metrics", "responses": {"200": {"description": "metrics"}}}},
        "/v1/evaluate": {"post": {
            "summary": "decide one request", "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/Request"})},
            "responses": {"200": {"description": "Decision.to_dict()", **_json({"$ref": "#/components/schemas/Decision"})},
                          **_errors(400, 401, 408, 413, 421, 500)}}},
        "/v1/evaluate/batch": {"post": {
            "summary": "decide several requests", "requestBody": {"required": True, **_json(
                {"type": "object", "required": ["requests"], "properties": {
                    "requests": {"type": "array", "items": {"$ref": "#/components/schemas/Request"}}}})},
            "responses": {"200": {"description": "one decision per request, in order", **_json(
                {"type": "object", "properties": {"decisions": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Decision"}}}})},
                **_errors(400, 401, 408, 413, 421, 500, 503)}}},
        "/v1/iceberg/read-restrictions": {"post": {
            "summary": "Iceberg REST read-restrictions for one consumer reading one table",
            "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/IcebergRequest"})},
            "responses": {"200": {"description": "the read restrictions", **_json(
                {"$ref": "#/components/schemas/IcebergReadRestrictions"})},
                **_errors(400, 401, 403, 404, 408, 413, 421, 500)}}},
        "/v1/trino/allow": _opa("Trino opa.policy.uri", {"type": "boolean"}),
        "/v1/trino/batch": _opa("Trino opa.policy.batched-uri", {"type": "array", "items": {"type": "integer"}}),
        "/v1/trino/row-filters": _opa("Trino opa.policy.row-filters-uri", {"type": "array", "items": _VIEW}),
        "/v1/trino/column-mask": _opa("Trino opa.policy.column-masking-uri", {"oneOf": [_VIEW, {"type": "null"}]}),
        "/v1/trino/batch-column-masks": _opa("Trino opa.policy.batch-column-masking-uri", {"type": "array", "items": {
            "type": "object", "required": ["index", "viewExpression"],
            "properties": {"index": {"type": "integer"}, "viewExpression": _VIEW}}}),
    },
    "components": {
        "schemas": {
            **_COMPONENTS, "Decision": _DECISION, "Error": _ERROR,
            "IcebergRequest": _ICEBERG_REQUEST, "IcebergReadRestrictions": _ICEBERG_REPLY,
            "OpaInput": {"type": "object", "required": ["input"], "properties": {"input": {
                "type": "object", "required": ["context", "action"], "properties": {
                    "context": {"type": "object"}, "action": {"type": "object"}}}}},
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{}, {"bearer": []}],
}
