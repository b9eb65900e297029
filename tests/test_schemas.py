"""The JSON Schemas shipped in policyengine/schemas validate the example mesh's files (what
YAML-aware editors check through `# yaml-language-server: $schema=...`)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "policyengine" / "schemas"


def _validate(schema_name: str, document: Path) -> None:
    schema = json.loads((SCHEMAS / schema_name).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    data = yaml.load(document.read_text("utf-8"), Loader=yaml.BaseLoader)  # dates stay text, as in YAML
    jsonschema.Draft202012Validator(schema).validate(_typed(data))


def _typed(value):
    """BaseLoader reads everything as text; give booleans and numbers back their types."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if value in ("true", "false"):
        return value == "true"
    if value in ("null", "~"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


@pytest.mark.parametrize(("schema", "document"), [
    ("policyengine.schema.json", ROOT / "policyengine.yaml"),
    ("consumers.schema.json", ROOT / "examples" / "mesh" / "consumers.yaml"),
    ("policy-tests.schema.json", ROOT / "policies" / "tests" / "mesh.yaml"),
])
def test_the_example_mesh_validates_against_the_shipped_schemas(schema: str, document: Path) -> None:
    _validate(schema, document)


@pytest.mark.parametrize(("schema", "bad"), [
    ("policyengine.schema.json", {"catalgo": "products/"}),
    ("consumers.schema.json", {"consumers": [{"groups": ["a"]}]}),
    ("policy-tests.schema.json", {"tests": [{"consumer": "a", "product": "x.y", "expect": {"colums": {}}}]}),
])
def test_the_schemas_reject_what_the_loaders_reject(schema: str, bad: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(json.loads((SCHEMAS / schema).read_text("utf-8"))).validate(bad)
