"""Catalog loader cases: ODCS contracts that are malformed, incomplete, duplicated or carry
unknown fields. Errors are one line `file:line:col: error: message` (and render with a caret);
unknown or missing optional fields are warnings and the catalog still loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from policyengine.catalog.contracts import CatalogError, SampleSource, load_catalog, plain_name
from policyengine.language.checker import check_policies
from policyengine.language.parser import parse_policy

from .conftest import FIXTURES, PRODUCTS

ODCS = FIXTURES / "odcs"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

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
        ["c.yaml:1:1: error: missing 'domain': products are named domain.product, so a contract needs one"],
    ),
    "domain not a name": (
        BASE.replace("domain: hr", "domain: [hr]"),
        ["c.yaml:7:1: error: 'domain' must be a name, found ['hr']"],
    ),
    "domain without a letter or digit": (
        BASE.replace("domain: hr", "domain: '...'"),
        ["c.yaml:7:1: error: 'domain' '...' has no letter or digit to name the product with (write a plain "
         "name: letters, digits, _ and -)"],
    ),
    "data product without a letter or digit": (
        BASE.replace("dataProduct: staff", "dataProduct: '---'"),
        ["c.yaml:8:1: error: 'dataProduct' '---' has no letter or digit to name the product with (write a "
         "plain name: letters, digits, _ and -)"],
    ),
    "missing schema": (BASE.split("schema:")[0], ["c.yaml:1:1: error: 'schema' must be a list of schema objects"]),
    "schema object not a mapping": (
        BASE.replace("schema:\n", "schema:\n- just a name\n"),
        ["c.yaml:9:1: error: each schema object must be a mapping with 'name' and 'properties'"],
    ),
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
    assert errors_of(folder) == ["b.yaml:8:1: error: product 'hr.staff' is also defined in a.yaml:8:1"]


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


# ---- contracts shaped like the official ODCS examples (free-text names, several schema objects,
# free-form tags): fixtures/odcs/full-example.odcs.yaml

FULL = ODCS / "full-example.odcs.yaml"
FULL_TEXT = FULL.read_text(encoding="utf-8")
ONE_TABLE = FULL_TEXT.split("\n  - name: receivers\n")[0] + "\nteam:\n  - username: daustin\n    role: owner\n"


def test_full_example_gives_one_product_per_schema_object() -> None:
    catalog = load_catalog(FULL)
    assert catalog.warnings == ()
    assert list(catalog.products) == ["seller.tbl", "seller.receivers"]
    tbl, receivers = catalog.get("seller.tbl"), catalog.get("seller.receivers")
    assert tbl.column_names == ("transaction_reference_date", "rcvr_id", "rcvr_cntry_code", "amount")
    assert receivers.column_names == ("id", "country_code", "receiver_name", "receiver_email", "onboarded_at")
    assert {c.name: c.logical_type for c in tbl.columns} == {
        "transaction_reference_date": "date", "rcvr_id": "string", "rcvr_cntry_code": "string", "amount": "number"}
    assert receivers.column("onboarded_at").logical_type == "timestamp"
    assert tbl.column("rcvr_id").tags == receivers.column("id").tags == frozenset({"uid"})
    assert tbl.column("amount").tags == frozenset({"finance", "confidential.financial"})
    assert receivers.column("receiver_email").tags == frozenset({"pii.email", "contact"})
    for product in (tbl, receivers):  # the contract's other fields are shared
        assert (product.domain, product.version, product.status, product.owner) == ("seller", "1.1.0", "active",
                                                                                    "daustin")
        assert product.description == "Views built on top of the seller tables."
        assert product.source == str(FULL)
    assert (tbl.span.line, receivers.span.line) == (35, 133)
    # `path: ../samples/{model}.parquet`: one sample file per schema object
    samples = ODCS.parent / "samples"
    assert tbl.samples == (SampleSource(samples / "tbl.parquet", "parquet"),)
    assert receivers.samples == (SampleSource(samples / "receivers.parquet", "parquet"),)
    assert catalog.product_for_sample(samples / "receivers.parquet") is receivers
    assert catalog.product_for_sample("elsewhere/tbl.parquet") is tbl


def test_free_form_tags_are_plain_tags_in_policies() -> None:
    catalog = load_catalog(FULL)
    assert {"uid", "finance", "contact"} <= set(catalog.taxonomy.tags)
    assert "pii.email" in catalog.taxonomy and "payments" not in catalog.taxonomy  # table tags are not column tags
    text = ("scope domain seller\n"
            "mask tagged uid using hash to everyone except group:privacy-office;\n"
            "mask tagged finance in seller.tbl using null to everyone except group:finance;\n"
            "mask tagged pii using redact to everyone;\n"
            "allow read seller.receivers.{id, country_code} to group:analysts;\n")
    result = check_policies([parse_policy(text, "seller.policy")], catalog, now=NOW)
    assert result.diagnostics == ()
    assert [dict(r.columns) for r in result.rules[:3]] == [
        {"seller.tbl": ("rcvr_id",), "seller.receivers": ("id",)},
        {"seller.tbl": ("amount",)},
        {"seller.receivers": ("receiver_name", "receiver_email")},
    ]
    typo = check_policies([parse_policy("scope platform\nmask tagged uidd using hash to everyone;\n", "p.policy")],
                          catalog, now=NOW)
    assert [d.message for d in typo.errors] == ["unknown tag 'uidd' (did you mean 'uid'?)"]


def test_dotted_free_form_tags_nest(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": FULL_TEXT.replace("tags: ['uid']", "tags: ['gdpr.art9']", 1)})
    catalog = load_catalog(folder)
    assert catalog.warnings == () and {"gdpr", "gdpr.art9", "uid"} <= set(catalog.taxonomy.tags)
    result = check_policies([parse_policy("scope platform\nmask tagged gdpr using null to everyone;\n", "p.policy")],
                            catalog, now=NOW)
    assert result.diagnostics == () and dict(result.rules[0].columns) == {"seller.tbl": ("rcvr_id",)}


def test_free_form_tags_do_not_leak_into_other_catalogs() -> None:
    assert "uid" not in load_catalog(PRODUCTS).taxonomy


def test_free_text_data_product_of_a_single_schema_contract(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": ONE_TABLE})
    catalog = load_catalog(folder)
    assert list(catalog.products) == ["seller.my_quantum"]
    assert catalog.get("seller.my_quantum").column_names[:2] == ("transaction_reference_date", "rcvr_id")
    assert catalog.get("seller.my_quantum").samples[0].path.name == "tbl.parquet"  # {model} is the object's name
    assert warnings_of(folder) == [
        "c.yaml:11:1: warning: 'dataProduct' 'my quantum' is not a plain name; policies name the product "
        "seller.my_quantum",
    ]


def test_free_text_domain_and_schema_object_names(tmp_path: Path) -> None:
    text = FULL_TEXT.replace("domain: seller", "domain: Seller Ops").replace("- name: receivers", "- name: Receivers Master")
    folder = write(tmp_path, {"c.yaml": text})
    assert list(load_catalog(folder).products) == ["seller_ops.tbl", "seller_ops.receivers_master"]
    assert warnings_of(folder) == [
        "c.yaml:10:1: warning: 'domain' 'Seller Ops' is not a plain name; policies name the product "
        "seller_ops.<product> (and scope domain seller_ops)",
        "c.yaml:133:5: warning: schema object name 'Receivers Master' is not a plain name; policies name the "
        "product seller_ops.receivers_master",
    ]


@pytest.mark.parametrize(("raw", "plain"), [
    ("my quantum", "my_quantum"), ("  Seller -- EU  ", "seller_eu"), ("Données clients", "donnees_clients"),
    ("h.r", "h_r"), ("2024 sales", "_2024_sales"), (2024, "_2024"), ("__ok__", "ok"), ("!!!", ""), ("数据", ""),
])
def test_plain_name(raw: object, plain: str) -> None:
    assert plain_name(raw) == plain


def test_plain_names_are_kept_as_they_are(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": BASE.replace("domain: hr", "domain: HR-eu").replace("dataProduct: staff",
                                                                                            "dataProduct: Staff_v2")})
    assert list(load_catalog(folder).products) == ["HR-eu.Staff_v2"] and warnings_of(folder) == []


def test_single_schema_contract_without_data_product_or_name_uses_the_schema_object(tmp_path: Path) -> None:
    folder = write(tmp_path, {"c.yaml": BASE.replace("name: staff\n", "", 1).replace("dataProduct: staff\n", "")})
    assert list(load_catalog(folder).products) == ["hr.staff"]


def test_several_schema_objects_need_names(tmp_path: Path) -> None:
    text = FULL_TEXT.replace("  - name: receivers\n", "  - id: receivers\n")
    assert errors_of(write(tmp_path, {"c.yaml": text})) == [
        "c.yaml:133:5: error: schema object without a 'name' (with several schema objects, each one is a product "
        "named domain.<schema object name>)",
    ]


def test_duplicate_products_from_schema_objects(tmp_path: Path) -> None:
    text = FULL_TEXT.replace("- name: receivers", "- name: order lines").replace("- name: tbl", "- name: order_lines")
    other = BASE.replace("domain: hr", "domain: seller").replace("dataProduct: staff", "dataProduct: receivers")
    folder = write(tmp_path, {"a.yaml": text, "b.yaml": FULL_TEXT, "c.yaml": other})
    assert errors_of(folder) == [
        "a.yaml:133:5: error: product 'seller.order_lines' is also defined in a.yaml:35:5",
        "c.yaml:8:1: error: product 'seller.receivers' is also defined in b.yaml:133:5",
    ]


def test_local_server_of_a_multi_schema_contract_maps_by_file_name(tmp_path: Path) -> None:
    text = FULL_TEXT.replace("    path: ../samples/{model}.parquet\n    format: parquet\n",
                             "    path: data/receivers_master.csv\n"
                             "  - server: dump\n    type: local\n    path: data/everything.csv\n")
    folder = write(tmp_path, {"c.yaml": text})
    catalog = load_catalog(folder)
    assert catalog.get("seller.tbl").samples == ()
    assert catalog.get("seller.receivers").samples == (SampleSource(folder / "data" / "receivers_master.csv", "csv"),)
    assert catalog.product_for_sample(folder / "data" / "receivers_master.csv").name == "seller.receivers"
    assert catalog.product_for_sample(folder / "data" / "everything.csv") is None
    assert warnings_of(folder) == [
        "c.yaml:34:5: warning: the path of local server 'dump' names no schema object of this contract, so its "
        "file is no product's sample (name the file after a schema object, e.g. tbl.csv, or write {model} in "
        "the path)",
    ]


def test_taxonomy_tags_stay_hierarchical_and_checked(tmp_path: Path) -> None:
    text = (FULL_TEXT.replace("tags: ['pii.name']", "tags: ['PII.Name']")
            .replace("tags: ['pii.email', 'contact']", "tags: ['pii.mail', 'contact']"))
    folder = write(tmp_path, {"c.yaml": text})
    catalog = load_catalog(folder)
    receivers = catalog.get("seller.receivers")
    assert receivers.column("receiver_name").tags == frozenset({"pii.name"})
    assert receivers.column("receiver_email").has_tag("pii") and "pii.mail" not in catalog.taxonomy
    assert warnings_of(folder) == [
        "c.yaml:166:9: warning: tag 'PII.Name' of column 'receiver_name' is read as the taxonomy's 'pii.name'",
        "c.yaml:172:9: warning: tag 'pii.mail' of column 'receiver_email' is not in the taxonomy",
    ]


def test_odcs_v31_fields(tmp_path: Path) -> None:
    text = (FULL_TEXT.replace("apiVersion: v3.0.2", "apiVersion: v3.1.0")
            .replace("        tags: ['uid']\n        classification: restricted\n",
                     "        tags: ['uid']\n        classification: restricted\n        relationships:\n"
                     "          - to: receivers.id\n            type: foreignKey\n", 1)
            .split("\nteam:\n")[0] + "\nteam:\n  name: sellers\n  members:\n    - username: daustin\n      role: Owner\n")
    folder = write(tmp_path, {"c.yaml": text})
    assert warnings_of(folder) == []
    assert load_catalog(folder).get("seller.tbl").owner == "daustin"


def test_documented_contract_loads_as_documented(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text(encoding="utf-8")
    section = doc.split("## Product contracts (the catalog)")[1].split("\n## ")[0]
    contract = section.split("```\n")[1]
    catalog = load_catalog(write(tmp_path, {"c.yaml": contract}))
    assert catalog.warnings == ()
    assert {name: p.column_names for name, p in catalog.products.items()} == {
        "seller.tbl": ("rcvr_id", "amount"), "seller.receivers": ("id", "receiver_email")}
    assert [s.path.name for p in catalog.products.values() for s in p.samples] == ["tbl.parquet", "receivers.parquet"]
    text = "scope domain seller\nmask tagged uid using hash to everyone except group:privacy-office;\n"
    result = check_policies([parse_policy(text, "seller.policy")], catalog, now=NOW)
    assert result.diagnostics == ()
    assert dict(result.rules[0].columns) == {"seller.tbl": ("rcvr_id",), "seller.receivers": ("id",)}
