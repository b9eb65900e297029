"""The scan gate cannot be walked around (issue 19, holes 1, 2, 3 and 5): every product's sample is
read whatever its name, place or format; a file claimed twice is compared with both products;
nested leaves are scanned; no value reaches a report as a column name.

Each case is a change a careless or hostile domain team could commit: a new product with e-mail
addresses in an untagged column, whose sample the gate used to miss. It must exit non-zero."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .conftest import CONTRACT, Run

EMAILS = [f"person{i}.name@example.org" for i in range(12)]

CUSTOMERS = """\
apiVersion: v3.0.2
kind: DataContract
id: shop-customers
version: 1.0.0
status: active
domain: shop
dataProduct: customers
{servers}schema:
- name: customers
  properties:
  - name: customer_id
    logicalType: integer
  - name: email
    logicalType: string
"""


def _servers(path: str, fmt: str = "csv") -> str:
    return f"servers:\n- server: local\n  type: local\n  path: {path}\n  format: {fmt}\n"


def _csv() -> bytes:
    return ("customer_id,email\n" + "".join(f"{i},{e}\n" for i, e in enumerate(EMAILS))).encode()


def _table() -> pa.Table:
    return pa.table({"customer_id": list(range(len(EMAILS))), "email": EMAILS})


def _parquet() -> bytes:
    buf = io.BytesIO()
    pq.write_table(_table(), buf)
    return buf.getvalue()


def _ipc(stream: bool) -> bytes:
    sink = io.BytesIO()
    writer = (pa.ipc.new_stream if stream else pa.ipc.new_file)(sink, _table().schema)
    writer.write_table(_table())
    writer.close()
    return sink.getvalue()


def _zstd(data: bytes) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, "zstd") as out:
        out.write(data)
    return sink.getvalue().to_pybytes()


def _scan(project: Run, *args: str, files: dict[str, str | bytes] | None = None):
    os.environ.pop("POLICYENGINE_CONFIG", None)
    return project("scan", "--model", "none", *args, files=files)


JSON_ROWS = [{"customer_id": i, "email": e} for i, e in enumerate(EMAILS)]
VARIANTS = {  # name: (the sample's path in the project, its bytes)
    "json-array": ("samples/customers.json", json.dumps(JSON_ROWS).encode()),
    "json-lines-named-json": ("samples/customers.json", "\n".join(map(json.dumps, JSON_ROWS)).encode()),
    "json-pretty-object": ("samples/customers.json", json.dumps({"customer_id": 1, "email": EMAILS[0]},
                                                                 indent=2).encode()),
    "csv-gzip": ("samples/customers.csv.gz", gzip.compress(_csv())),
    "csv-zstd": ("samples/customers.csv.zst", _zstd(_csv())),
    "jsonl-gzip": ("samples/customers.jsonl.gz", gzip.compress("\n".join(map(json.dumps, JSON_ROWS)).encode())),
    "dot-file": ("samples/.customers.csv", _csv()),
    "dot-folder": ("samples/.cache/customers.csv", _csv()),
    "outside-samples": ("data/customers.csv", _csv()),
    "extension-less-parquet": ("samples/customers", _parquet()),
    "parquet-named-txt": ("samples/customers.txt", _parquet()),
    "arrow-ipc-file-no-extension": ("samples/customers_ipc", _ipc(stream=False)),
    "arrow-ipc-stream-named-bin": ("samples/customers.bin", _ipc(stream=True)),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_claimed_sample_is_read_whatever_its_name_place_or_format(project: Run, variant: str) -> None:
    path, data = VARIANTS[variant]
    contract = CUSTOMERS.format(servers=_servers(os.path.relpath(path, "products")))
    result = _scan(project, files={path: data, "products/shop.customers.yaml": contract})
    assert result.exit_code == 1, result.output
    assert "undeclared PII: column 'email' of shop.customers holds EMAIL_ADDRESS" in result.output
    # named explicitly, as the folder walk meets it, the same
    explicit = _scan(project, path)
    assert explicit.exit_code == 1, explicit.output


def test_a_contract_without_servers_is_an_error_unless_waived(project: Run) -> None:
    result = _scan(project, files={"products/shop.customers.yaml": CUSTOMERS.format(servers="")})
    assert result.exit_code == 1, result.output
    assert "error: shop.customers has no sample: its contract names none" in result.output
    assert "0 undeclared, 1 product(s) without a scanned sample" in result.output
    waived = "policies: policies/\ncatalog: products/\nsamples: samples/\nscan:\n  waive_samples:\n" \
             "  - product: shop.customers\n    reason: GOV-12 the vendor feed has no test extract\n"
    ok = _scan(project, files={"policyengine.yaml": waived})
    assert ok.exit_code == 0, ok.output
    assert "waived in the configuration: GOV-12 the vendor feed has no test extract" in ok.output


def test_a_missing_sample_is_an_error_and_a_waiver_needs_a_product_and_a_reason(project: Run) -> None:
    contract = CUSTOMERS.format(servers=_servers("../samples/customers.csv"))
    result = _scan(project, files={"products/shop.customers.yaml": contract})
    assert result.exit_code == 1, result.output
    assert "error: the sample of shop.customers does not exist (customers.csv)" in result.output
    base = "policies: policies/\ncatalog: products/\nsamples: samples/\n"
    for bad, message in (
        ("scan:\n  waive_samples:\n  - product: shop.customers\n", "each entry of 'waive_samples' must be"),
        ("scan:\n  waive_samples:\n  - {product: shop.customers, reason: ' '}\n", "both non-empty text"),
        ("scan:\n  waive_sample: []\n", "unknown key 'waive_sample' in 'scan' (did you mean 'waive_samples'?)"),
        ("scan:\n  waive_samples:\n  - {product: shop.gone, reason: old}\n", "names 'shop.gone', which is no product"),
    ):
        out = _scan(project, files={"policyengine.yaml": base + bad})
        assert out.exit_code == 2, (bad, out.output)
        assert message in out.stderr, (bad, out.stderr)
        assert out.stderr.splitlines()[-1].startswith("policyengine.yaml:"), out.stderr


def test_a_file_the_walk_cannot_read_is_an_error_not_a_skip(project: Run) -> None:
    result = _scan(project, files={"samples/notes.bin": b"\x00\x01\x02 binary \x00 junk"})
    assert result.exit_code == 2, result.output
    assert "samples/notes.bin: error: unknown format" in result.output


def test_a_symlinked_folder_inside_the_project_is_followed_one_outside_is_an_error(
        project: Run, tmp_path_factory: pytest.TempPathFactory) -> None:
    root: Path = project.root  # type: ignore[attr-defined]
    (root / "extracts").mkdir()
    (root / "extracts" / "customers.csv").write_bytes(_csv())
    (root / "samples" / "linked").symlink_to(root / "extracts", target_is_directory=True)
    contract = CUSTOMERS.format(servers=_servers("../samples/linked/customers.csv"))
    inside = _scan(project, "samples", files={"products/shop.customers.yaml": contract})
    assert inside.exit_code == 1, inside.output
    assert "undeclared PII: column 'email' of shop.customers" in inside.output
    outside = tmp_path_factory.mktemp("outside")
    (outside / "leak.csv").write_bytes(_csv())
    (root / "samples" / "elsewhere").symlink_to(outside, target_is_directory=True)
    result = _scan(project, "samples")
    assert result.exit_code == 2, result.output
    assert "samples/elsewhere: error: a link that leaves" in result.output and "not followed" in result.output
    (root / "samples" / "dangling.csv").symlink_to(root / "nowhere.csv")
    assert "samples/dangling.csv: error: a link to nothing" in _scan(project, "samples").output


def test_a_sample_claimed_twice_is_compared_with_every_product(project: Run) -> None:
    """A copy of the tagged contract, tags dropped, same servers.path: the copy fails."""
    copy = CONTRACT.format(sample="../samples/orders.csv").replace("id: shop-orders", "id: shop-orders-copy") \
        .replace("dataProduct: orders", "dataProduct: orders_copy").replace("    tags: [pii.email]\n", "")
    result = _scan(project, "--format", "json", files={"products/shop.orders_copy.yaml": copy})
    assert result.exit_code == 1, result.output
    undeclared = [d for d in json.loads(result.stdout)["drift"] if d["kind"] == "undeclared"]
    assert [(d["product"], d["column"]) for d in undeclared] == [("shop.orders_copy", "email")]
    sarif = json.loads(_scan(project, "--format", "sarif").stdout)
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert len(errors) == 1 and "shop.orders_copy" in errors[0]["message"]["text"]


NESTED = """\
apiVersion: v3.0.2
kind: DataContract
id: shop-profiles
version: 1.0.0
status: active
domain: shop
dataProduct: profiles
servers:
- server: local
  type: local
  path: ../samples/profiles.parquet
  format: parquet
schema:
- name: profiles
  properties:
  - name: profile_id
    logicalType: integer
  - name: contact
    logicalType: object
{contact_tags}    properties:
    - name: email
      logicalType: string
{email_tags}  - name: emails
    logicalType: array
{emails_tags}    items:
      logicalType: string
  - name: attrs
    logicalType: object
{attrs_tags}"""


def _nested_parquet() -> bytes:
    n = len(EMAILS)
    table = pa.table({
        "profile_id": list(range(n)),
        "contact": pa.array([{"email": e, "city": "Lyon"} for e in EMAILS]),
        "emails": pa.array([[e, e.replace("person", "alt")] for e in EMAILS]),
        "attrs": pa.array([[("backup", e)] for e in EMAILS], type=pa.map_(pa.string(), pa.string())),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _nested(contact: str = "", email: str = "", emails: str = "", attrs: str = "") -> str:
    def tags(indent: int, tag: str) -> str:
        return f"{' ' * indent}tags: [{tag}]\n" if tag else ""
    return NESTED.format(contact_tags=tags(4, contact), email_tags=tags(6, email),
                         emails_tags=tags(4, emails), attrs_tags=tags(4, attrs))


def test_nested_leaves_are_scanned_and_must_be_declared(project: Run) -> None:
    files = {"samples/profiles.parquet": _nested_parquet(), "products/shop.profiles.yaml": _nested()}
    result = _scan(project, "--format", "json", files=files)
    assert result.exit_code == 1, result.output
    undeclared = {d["column"] for d in json.loads(result.stdout)["drift"] if d["kind"] == "undeclared"}
    assert undeclared == {"contact.email", "emails[]", "attrs{}"}
    assert "not scanned" not in result.output


def test_a_tag_on_the_nested_property_or_its_column_declares_the_leaf(project: Run) -> None:
    files = {"samples/profiles.parquet": _nested_parquet(),
             "products/shop.profiles.yaml": _nested(email="pii.email", emails="pii.email", attrs="pii.email")}
    result = _scan(project, files=files)
    assert result.exit_code == 0, result.output
    on_columns = _nested(contact="pii", emails="pii.email", attrs="pii.email")
    assert _scan(project, files={"products/shop.profiles.yaml": on_columns}).exit_code == 0
    # the nested tag is the column's too: policies and masks address the whole column
    import policyengine

    root: Path = project.root  # type: ignore[attr-defined]
    catalog = policyengine.load_catalog(root / "products")
    contact = catalog.get("shop.profiles").column("contact")
    assert "pii" in contact.tags and contact.fields[0].name == "email"


def test_nested_json_objects_are_scanned(project: Run) -> None:
    rows = [{"customer_id": i, "contact": {"email": e}, "emails": [e]} for i, e in enumerate(EMAILS)]
    contract = CUSTOMERS.format(servers=_servers("../samples/nested.jsonl")).replace(
        "  - name: email\n    logicalType: string\n",
        "  - name: contact\n    logicalType: object\n  - name: emails\n    logicalType: array\n")
    result = _scan(project, "--format", "json", files={
        "samples/nested.jsonl": "\n".join(map(json.dumps, rows)), "products/shop.customers.yaml": contract})
    assert result.exit_code == 1, result.output
    undeclared = {d["column"] for d in json.loads(result.stdout)["drift"] if d["kind"] == "undeclared"}
    assert undeclared == {"contact.email", "emails[]"}


HEADERLESS = "".join(f"Jane Doe{i},jane.doe{i}@example.org,+44 20 7946 09{i:02d}\n" for i in range(12))


@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_a_csv_without_a_header_row_shows_no_value_in_any_report(project: Run, fmt: str) -> None:
    contract = CUSTOMERS.format(servers=_servers("../samples/customers.csv"))
    result = _scan(project, "--format", fmt, files={"samples/customers.csv": HEADERLESS,
                                                    "products/shop.customers.yaml": contract})
    assert result.exit_code == 1, result.output  # the PII is in columns the contract does not name
    first = HEADERLESS.splitlines()[0].split(",")
    for value in first + ["jane.doe0", "example.org", "7946"]:
        assert value not in result.output, (value, result.output)
    assert "column_2" in result.output
    assert "the first row looks like data, not a header" in result.output


def test_a_column_name_that_is_a_value_is_redacted(project: Run) -> None:
    rows = [{"customer_id": i, "jane.doe@example.org": e} for i, e in enumerate(EMAILS)]
    contract = CUSTOMERS.format(servers=_servers("../samples/customers.jsonl"))
    for fmt in ("text", "json", "sarif"):
        result = _scan(project, "--format", fmt, files={"samples/customers.jsonl": "\n".join(map(json.dumps, rows)),
                                                        "products/shop.customers.yaml": contract})
        assert result.exit_code == 1, result.output
        assert "jane.doe@example.org" not in result.output and "****.***@*******.***" in result.output


def test_a_sample_without_rows_is_an_error_unless_waived(project: Run) -> None:
    contract = CUSTOMERS.format(servers=_servers("../samples/customers.csv"))
    files = {"samples/customers.csv": "customer_id,email\n", "products/shop.customers.yaml": contract}
    result = _scan(project, files=files)
    assert result.exit_code == 1, result.output
    assert "error: the sample of shop.customers has no rows (customers.csv)" in result.output
    waived = "policies: policies/\ncatalog: products/\nsamples: samples/\nscan:\n  waive_samples:\n" \
             "  - {product: shop.customers, reason: GOV-13 schema only until the first load}\n"
    assert _scan(project, files={"policyengine.yaml": waived}).exit_code == 0


def test_the_waivers_live_in_a_file_the_platform_owns(project: Run) -> None:
    """A waiver is reviewed: policyengine.yaml, where `scan: waive_samples:` lives, is a platform
    file in the generated CODEOWNERS, whatever the map says."""
    root: Path = project.root  # type: ignore[attr-defined]
    result = project("codeowners", "--output", str(root / "CODEOWNERS"))
    assert result.exit_code == 0, result.output
    lines = (root / "CODEOWNERS").read_text("utf-8").splitlines()
    assert any(line.split()[0].endswith("/policyengine.yaml") and line.split()[1:] == ["@example/platform"]
               for line in lines if line and not line.startswith("#")), lines


def test_a_claimed_sample_the_scan_was_not_given_is_drift(tmp_path: Path) -> None:
    """A library caller's report that left a product's sample out fails the gate too."""
    from policyengine.catalog.contracts import load_catalog
    from policyengine.scan import scan_paths
    from policyengine.scan.drift import check_drift

    (tmp_path / "products").mkdir()
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "customers.csv").write_bytes(_csv())
    (tmp_path / "products" / "c.yaml").write_text(CUSTOMERS.format(servers=_servers("../samples/customers.csv")))
    catalog = load_catalog(tmp_path / "products")
    partial = scan_paths([], model="none")  # scanned without the catalog: nothing read
    drift = check_drift(partial, catalog).drift
    assert [(d.severity, d.kind, d.product) for d in drift] == [("error", "unscanned-sample", "shop.customers")]
    assert check_drift(partial, catalog).exit_code() == 1


# A sample that lacks the contract's columns checks nothing about them. Each case changes only the
# domain's own contract (its `servers.path`), no platform file: the untagged 'email' must not pass.
NOT_THE_PRODUCTS_SAMPLE = {  # name: (the contract's sample path, files written)
    "the-contract-itself": ("shop.customers.yaml", {}),
    "another-products-sample": ("../samples/orders.csv", {"samples/orders.csv": b"order_id,total\n1,2\n"}),
    "a-folder-of-empty-files": ("../data/", {"data/.keep": b""}),
}


@pytest.mark.parametrize("case", sorted(NOT_THE_PRODUCTS_SAMPLE))
def test_a_sample_without_the_contracts_columns_fails_the_gate(project: Run, case: str) -> None:
    path, files = NOT_THE_PRODUCTS_SAMPLE[case]
    contract = CUSTOMERS.format(servers=_servers(path))
    result = _scan(project, files={**files, "products/shop.customers.yaml": contract})
    assert result.exit_code == 1, result.output
    if case == "a-folder-of-empty-files":
        assert "error: the sample of shop.customers has no rows (data)" in result.output
    else:
        assert "error: column 'email' of shop.customers is in none of its samples" in result.output
    assert "product(s) without a scanned sample" in result.output


def test_a_flat_column_named_like_a_leaf_does_not_declare_the_nested_column(project: Run) -> None:
    """A phantom column literally named `contact.email`, tagged, next to an untagged `contact`: the
    leaf `contact.email` of the struct matched the phantom's name first and passed, while the real
    column `contact`, untagged, is what policies would leave readable. Both readings must declare it."""
    phantom = ("  - name: contact.email\n    logicalType: string\n    tags: [pii.email]\n"
               "  - name: emails\n")
    contract = _nested(emails="pii.email", attrs="pii.email").replace("  - name: emails\n", phantom, 1)
    files = {"samples/profiles.parquet": _nested_parquet(), "products/shop.profiles.yaml": contract}
    result = _scan(project, "--format", "json", files=files)
    assert result.exit_code == 1, result.output
    (item,) = [d for d in json.loads(result.stdout)["drift"] if d["kind"] == "undeclared"]
    assert item["column"] == "contact.email" and "the contract does not tag it pii.email" in item["message"]
    assert item["line"] == contract.splitlines().index("    - name: email") + 1  # contact's own property


# A column empty (null) in every row of the sample is checked by nothing: the domain ships its PII
# in production while the sample it controls holds none (attack round 2, left open in stop 10).
EMPTY_EMAIL_CSV = "customer_id,email\n" + "".join(f"{i},\n" for i in range(12))


def test_a_column_empty_in_every_sample_row_fails_the_gate(project: Run) -> None:
    contract = CUSTOMERS.format(servers=_servers("../samples/customers.csv"))
    files = {"samples/customers.csv": EMPTY_EMAIL_CSV, "products/shop.customers.yaml": contract}
    result = _scan(project, files=files)
    assert result.exit_code == 1, result.output
    assert "error: column 'email' of shop.customers is empty (null) in every sample" in result.output
    assert "customer_id" not in result.output.split("empty (null)")[0].splitlines()[-1]


def test_an_empty_column_the_contract_tags_sensitive_passes(project: Run) -> None:
    """Declared sensitive: the guardrails mask or deny it whatever it holds."""
    tagged = CUSTOMERS.replace("  - name: email\n    logicalType: string\n",
                               "  - name: email\n    logicalType: string\n    tags: [pii.email]\n")
    contract = tagged.format(servers=_servers("../samples/customers.csv"))
    files = {"samples/customers.csv": EMPTY_EMAIL_CSV, "products/shop.customers.yaml": contract}
    result = _scan(project, files=files)
    assert "empty (null) in every sample" not in result.output, result.output
    assert result.exit_code == 0, result.output
