"""Consumers file loader cases: every malformed shape is one located error line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.catalog.consumers import load_directory
from policyengine.yamlsource import YamlError

from .conftest import CONSUMERS

ERROR_CASES = {
    "consumers not a list": ("consumers: 5\n", "c.yaml:1:1: error: 'consumers' must be a list of {id, groups, attributes}"),
    "consumer not a mapping": ("consumers:\n  - 5\n", "c.yaml:1:1: error: each consumer must be a mapping with at least 'id'"),
    "consumer without id": ("consumers:\n  - groups: [a]\n", "c.yaml:2:5: error: a consumer needs a non-empty string 'id'"),
    "values not a list": (
        "attributes: {region: {type: string, values: 5}}\n",
        "c.yaml:1:37: error: 'values' of attribute 'region' must be a list of values",
    ),
    "values of the wrong type": (
        "attributes:\n  clearance: {type: integer, values: [a]}\n",
        "c.yaml:2:30: error: value 'a' of attribute 'clearance' is not an integer",
    ),
    "attributes of a consumer not a mapping": (
        "consumers:\n  - id: x\n    attributes: [1]\n",
        "c.yaml:3:5: error: 'attributes' of consumer 'x' must map attribute names to values",
    ),
    "groups not a list": (
        "consumers:\n  - id: x\n    groups: 5\n",
        "c.yaml:3:5: error: 'groups' of consumer 'x' must be a list of group names",
    ),
    "groups holding mappings": (
        "consumers:\n  - id: x\n    groups: [{a: 1}]\n",
        "c.yaml:3:5: error: 'groups' of consumer 'x' must be a list of group names",
    ),
    "attribute type is a list (unhashable)": (
        "attributes: {x: [a]}\n",
        "c.yaml:1:14: error: attribute 'x' has unknown type ['a'] (expected one of boolean, date, integer, list, "
        "number, string, timestamp)",
    ),
    "attribute type is a mapping": (
        "attributes: {x: {type: {a: 1}}}\n",
        "c.yaml:1:14: error: attribute 'x' has unknown type {'a': 1} (expected one of boolean, date, integer, list, "
        "number, string, timestamp)",
    ),
    "attribute value of the wrong type": (
        "attributes: {clearance: {type: integer}}\nconsumers:\n  - id: x\n    attributes: {clearance: high}\n",
        "c.yaml:4:18: error: attribute 'clearance' of consumer 'x' should be integer",
    ),
    "duplicate consumer": (
        "consumers:\n  - id: x\n  - id: x\n", "c.yaml:3:5: error: duplicate consumer 'x'",
    ),
    "not a mapping": ("- a\n", "c.yaml:1:1: error: a consumers file must be a mapping"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_error_case(case: str, tmp_path: Path) -> None:
    text, expected = ERROR_CASES[case]
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlError) as info:
        load_directory(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.replace(str(tmp_path) + "/", "") == expected


def test_values_are_kept_for_the_checker() -> None:
    schema = load_directory(CONSUMERS).schema
    assert schema is not None and schema.allowed_values["region"] == ("eu", "uk", "us")


def test_example_consumers_load() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "mesh" / "consumers.yaml"
    directory = load_directory(example)
    assert "alice" in directory.consumers and directory.schema is not None


def test_values_of_a_list_attribute_are_its_elements(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("attributes:\n  projects: {type: list, values: [apollo, gemini]}\n", encoding="utf-8")
    schema = load_directory(path).schema
    assert schema is not None and schema.allowed_values["projects"] == ("apollo", "gemini")
