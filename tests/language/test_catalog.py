"""Catalog loader cases: ODCS contracts that are malformed, incomplete, duplicated or carry
unknown fields. Errors are one line `file:line:col: error: message` (and render with a caret);
unknown or missing optional fields are warnings and the catalog still loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policyengine.catalog import CatalogError, load_catalog

from .conftest import PRODUCTS

BASE = (PRODUCTS / "hr.staff.yaml").read_text(encoding="utf-8")


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_catalog(folder)
    return [d.one_line().replace(str(folder) + "/", "") for d in info.value.diagnostics if d.severity == "error"]


def warnings_of(folder: Path) -> list[str]:
    return [d.one_line().replace(str(folder) + "/", "") for d in load_catalog(folder).warnings]


ERROR_CASES = {
    "unclosed flow list": (
        BASE.replace("tags: [pii.name]", "tags: [pii.name"),
        ["c.yaml:17:9: error: malformed YAML: did not find expected ',' or ']'"],
    ),
    "bad indentation": (
        BASE.replace("  - name: salary", "   - name: salary"),
        ["c.yaml:20:4: error: malformed YAML: did not find expected key"],
    ),
    "tab indentation": (
        BASE.replace("    logicalType: date", "\tlogicalType: date"),
        ["c.yaml:24:1: error: malformed YAML: found a tab character that violates indentation"],
    ),
    "duplicate key": (
        BASE.replace("version: 2.1.0", "version: 2.1.0\nversion: 3.0.0"),
        ["c.yaml:6:1: error: malformed YAML: duplicate key 'version' (the first is on line 5)"],
    ),
    "not a mapping": ("- just\n- a list\n", ["c.yaml:1:1: error: a data contract must be a YAML mapping"]),
    "empty file": ("", ["c.yaml:1:1: error: a data contract must be a YAML mapping"]),
    "wrong kind and api version": (
        BASE.replace("kind: DataContract", "kind: Contract").replace("apiVersion: v3.0.2", "apiVersion: v2.2.0"),
        ["c.yaml:2:1: error: 'kind' must be 'DataContract', found 'Contract'",
         "c.yaml:1:1: error: 'apiVersion' must be an ODCS v3 version (e.g. v3.0.2), found 'v2.2.0'"],
    ),
    "missing domain": (
        BASE.replace("domain: hr\n", ""),
        ["c.yaml:1:1: error: 'domain' must be a plain name (letters, digits, _ and -), found None"],
    ),
    "domain with a dot": (
        BASE.replace("domain: hr", "domain: h.r"),
        ["c.yaml:7:1: error: 'domain' must be a plain name (letters, digits, _ and -), found 'h.r'"],
    ),
    "missing schema": (BASE.split("schema:")[0], ["c.yaml:1:1: error: 'schema' must be a list with one schema object"]),
    "empty properties": (
        BASE.split("  properties:")[0] + "  properties: []\n",
        ["c.yaml:11:3: error: the schema object needs a non-empty 'properties' list"],
    ),
    "property without a name": (
        BASE.replace("  - name: salary\n", "  - description: no name\n"),
        ["c.yaml:20:5: error: property without a 'name'"],
    ),
    "duplicate column": (
        BASE.replace("  - name: region", "  - name: salary"),
        ["c.yaml:25:5: error: duplicate column 'salary'"],
    ),
    "bad logicalType": (
        BASE.replace("logicalType: date", "logicalType: datee"),
        ["c.yaml:24:5: error: unknown logicalType 'datee' (expected one of array, boolean, date, integer, "
         "number, object, string, time, timestamp)"],
    ),
    "tags not a list": (
        BASE.replace("tags: [pii.name]", "tags: 5"),
        ["c.yaml:16:5: error: 'tags' of column 'full_name' must be a list of tag names"],
    ),
    "servers not a list": (BASE + "servers: local\n", ["c.yaml:27:1: error: 'servers' must be a list"]),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_error_case(case: str, tmp_path: Path) -> None:
    text, expected = ERROR_CASES[case]
    assert errors_of(write(tmp_path, {"c.yaml": text})) == expected


def test_unknown_and_missing_fields_are_warnings(tmp_path: Path) -> None:
    text = (BASE.replace("id: hr-staff\n", "").replace("status: active\n", "")
            .replace("dataProduct: staff", "dataProduct: staff\nsla: gold")
            .replace("    tags: [pii.national_id]", "    tags: [pii.national_id]\n    colour: red"))
    folder = write(tmp_path, {"c.yaml": text})
    assert warnings_of(folder) == [
        "c.yaml:1:1: warning: unknown field 'sla' ignored".replace("1:1", "7:1"),
        "c.yaml:1:1: warning: missing ODCS field 'id' (required by the standard; not used here)",
        "c.yaml:1:1: warning: missing ODCS field 'status' (required by the standard; not used here)",
        "c.yaml:19:5: warning: unknown field 'colour' of column 'national_id' ignored",
    ]
    product = load_catalog(folder).get("hr.staff")
    assert product is not None and product.column("national_id").tags == frozenset({"pii.national_id"})


def test_tag_outside_the_taxonomy_is_a_warning(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": BASE.replace("pii.name]", "pii.nmae]")})
    assert warnings_of(folder) == ["c.yaml:16:5: warning: tag 'pii.nmae' of column 'full_name' is not in the taxonomy"]


def test_duplicate_product_names_the_other_file(tmp_path: Path) -> None:
    folder = write(tmp_path, {"a.yaml": BASE, "b.yaml": BASE.replace("id: hr-staff", "id: hr-staff-2")})
    assert errors_of(folder) == ["b.yaml:4:1: error: product 'hr.staff' is also defined in a.yaml"]


def test_every_broken_file_is_reported_at_once(tmp_path: Path) -> None:
    folder = write(tmp_path, {"a.yaml": "kind: [", "b.yaml": BASE.replace("logicalType: date", "logicalType: x"),
                              "c.yaml": BASE.replace("domain: hr", "domain: ok")})
    found = errors_of(folder)
    assert [f.split(":")[0] for f in found] == ["a.yaml", "b.yaml"]


def test_types_from_physical_type_and_aliases(tmp_path: Path) -> None:
    text = (BASE.replace("    logicalType: integer", "    physicalType: BIGINT")
            .replace("    logicalType: date", "    logicalType: DateTime")
            .replace("  - name: region\n    logicalType: string", "  - name: region\n    physicalType: varchar(20)"))
    product = load_catalog(write(tmp_path, {"c.yaml": text})).get("hr.staff")
    assert product is not None
    types = {c.name: c.logical_type for c in product.columns}
    assert types["employee_id"] == "integer" and types["hired_on"] == "timestamp" and types["region"] == "string"


def test_catalog_error_renders_source_line_and_caret(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": BASE.replace("logicalType: date", "logicalType: datee")})
    with pytest.raises(CatalogError) as info:
        load_catalog(folder)
    lines = info.value.render().splitlines()
    assert lines[0].endswith("c.yaml:24:5: error: unknown logicalType 'datee' (expected one of array, boolean, "
                             "date, integer, number, object, string, time, timestamp)")
    assert lines[2] == "24 |     logicalType: datee"
    assert lines[3] == "   |     ^^^^^"


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(tmp_path / "nope")
    assert info.value.diagnostics[0].one_line().endswith("nope: error: no such file or folder")


def test_fixture_and_example_catalogs_load_without_warnings() -> None:
    assert load_catalog(PRODUCTS).warnings == ()
    example = Path(__file__).resolve().parents[2] / "examples" / "mesh" / "products"
    catalog = load_catalog(example)
    assert len(catalog.products) >= 5 and len(catalog.domains) >= 3 and catalog.warnings == ()


def test_unknown_fields_of_the_schema_object_and_servers_are_warnings(tmp_path: Path) -> None:
    text = (BASE.replace("- name: staff\n", "- name: staff\n  physicalName: staff_v2\n  granularity: row\n")
            + "servers:\n  - server: local\n    type: local\n    path: staff.csv\n    format: csv\n    colour: red\n"
            + "  - server: wh\n    type: snowflake\n    account: acme\n    database: hr\n    schema: public\n"
            + "    warehouse: wh\n")
    folder = write(tmp_path, {"c.yaml": text})
    assert warnings_of(folder) == [
        "c.yaml:12:3: warning: unknown field 'granularity' of schema object 'staff' ignored",
        "c.yaml:34:5: warning: unknown field 'colour' of server 'local' ignored",
    ]
