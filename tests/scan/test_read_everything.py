"""What the scanner reads (issue 19): formats by content, nested leaves sampled reproducibly,
unreachable nested types fail, findings of a file claimed twice tag both products."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from policyengine.catalog.contracts import load_catalog
from policyengine.scan import report_tags, scan_paths
from policyengine.scan.headers import header_is_data, looks_like_data, redacted_name
from policyengine.scan.reader import detect, walk
from policyengine.scan.stats import leaves, merge_all, partial_stats, row_keys

EMAILS = [f"user{i}@example.com" for i in range(40)]


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("a.csv", b"PAR1....", ("parquet", None)),
    ("a", b"ARROW1\x00\x00", ("ipc", None)),
    ("a.parquet", b"\xff\xff\xff\xff\x10\x00", ("ipc", None)),
    ("a.txt", b'  {"a": 1}\n', ("jsonl", None)),
    ("a.jsonl", b'[{"a": 1}]', ("json", None)),
    ("a.json", b"a,b\n1,2\n", ("csv", None)),
    ("a.tsv", b"a\tb\n", ("tsv", None)),
    ("a.csv.gz", gzip.compress(b"a,b\n1,2\n"), ("csv", "gzip")),
    ("a.tsv.gz", gzip.compress(b"a\tb\n"), ("tsv", "gzip")),
    ("x", gzip.compress(b'{"a": 1}\n'), ("jsonl", "gzip")),
    ("x.gz", gzip.compress(b"PAR1"), (None, "gzip")),
    ("x.docx", b"PK\x03\x04rest", (None, None)),
    ("x.csv", b"a,b\x00\n", (None, None)),
])
def test_the_format_is_read_from_the_content(tmp_path: Path, name: str, data: bytes, expected) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    assert detect(p) == expected


def test_walk_finds_hidden_and_extension_less_files_and_reports_what_it_cannot_follow(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "samples" / ".hidden").mkdir(parents=True)
    (root / "samples" / ".hidden" / "a.csv").write_text("a\n1\n")
    (root / "samples" / "noext").write_text("a\n1\n")
    (root / "samples" / ".gitkeep").write_text("")
    (root / "samples" / ".git").mkdir()
    (root / "samples" / ".git" / "HEAD").write_text("ref: x\n")
    (root / "data").mkdir()
    (root / "data" / "b.csv").write_text("b\n2\n")
    (root / "samples" / "in").symlink_to(root / "data", target_is_directory=True)
    (root / "samples" / "loop").symlink_to(root / "samples", target_is_directory=True)
    (tmp_path / "secret").mkdir()
    (root / "samples" / "out").symlink_to(tmp_path / "secret", target_is_directory=True)
    files, problems = walk([root / "samples"], boundary=root)
    names = sorted(f.relative_to(root / "samples").as_posix() for f in files)
    assert names == [".hidden/a.csv", "in/b.csv", "noext"]
    assert [(Path(p).name, m.split(":")[0]) for p, m in problems] == [("out", "a link that leaves project")]
    # without a boundary, the folder walked is the boundary: the link to data/ leaves it
    _, problems = walk([root / "samples"])
    assert sorted(Path(p).name for p, _ in problems) == ["in", "out"]


def _table(n: int) -> pa.Table:
    return pa.table({
        "id": list(range(n)),
        "contact": pa.array([None if i % 7 == 0 else {"email": EMAILS[i % 40], "n": i} for i in range(n)]),
        "emails": pa.array([None if i % 5 == 0 else [EMAILS[i % 40]] * (i % 3) for i in range(n)]),
        "attrs": pa.array([[("k", EMAILS[i % 40])] for i in range(n)], type=pa.map_(pa.string(), pa.string())),
        "deep": pa.array([[{"xs": [EMAILS[i % 40]]}] for i in range(n)]),
    })


def test_nested_leaves_have_paths_and_a_sample_that_does_not_depend_on_the_batching() -> None:
    table = _table(300)
    whole = merge_all([partial_stats(b, 0, 50, 7) for b in table.to_batches()], 50)
    parts, start = [], 0
    for b in table.to_batches(max_chunksize=37):
        parts.append(partial_stats(b, start, 50, 7))
        start += b.num_rows
    cut = merge_all(parts, 50)
    assert [c.name for c in whole] == ["id", "contact.email", "contact.n", "emails[]", "attrs{key}", "attrs{}",
                                      "deep[].xs[]"]
    assert whole == cut
    by = {c.name: c for c in whole}
    assert by["contact.email"].nulls == 300 // 7 + 1  # a null struct's fields are null
    assert by["emails[]"].rows == sum(i % 3 for i in range(300) if i % 5)
    assert set(by["attrs{}"].values) <= set(EMAILS) and by["attrs{key}"].values[0] == "k"


def test_leaves_of_a_flat_column_is_the_column() -> None:
    arr = pa.array(["a"])
    keys = row_keys(0, 0, 1)
    assert leaves("c", arr, keys) == [("c", arr, keys)]


def test_a_union_column_is_an_error_not_a_warning(tmp_path: Path) -> None:
    union = pa.UnionArray.from_sparse(pa.array([0, 1], type=pa.int8()),
                                      [pa.array(["a@example.com", "b"]), pa.array([1, 2])])
    p = tmp_path / "u.arrow"
    with pa.ipc.new_file(p, pa.schema([("u", union.type)])) as w:
        w.write_batch(pa.record_batch([union], names=["u"]))
    report = scan_paths([p], model="none")
    assert [(i.severity, i.message) for i in report.issues] == [("error", "column 'u': nested type sparse_union, not scanned")]
    assert report.exit_code("never") == 2


CONTRACT = """\
apiVersion: v3.0.2
kind: DataContract
id: {id}
version: 1.0.0
status: active
domain: shop
dataProduct: {product}
servers:
- {{server: local, type: local, path: ../data/p.parquet, format: parquet}}
schema:
- name: p
  properties:
  - name: contact
    logicalType: object
    properties:
    - name: email
      logicalType: string
      {tags}
"""


def test_report_tags_tag_every_claiming_product_and_the_top_level_column(tmp_path: Path) -> None:
    (tmp_path / "products").mkdir()
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"contact": pa.array([{"email": e} for e in EMAILS])}), tmp_path / "data" / "p.parquet")
    (tmp_path / "products" / "a.yaml").write_text(CONTRACT.format(id="a", product="a", tags="tags: [pii.email]"))
    (tmp_path / "products" / "b.yaml").write_text(CONTRACT.format(id="b", product="b", tags=""))
    catalog = load_catalog(tmp_path / "products")
    report = scan_paths([], model="none", catalog=catalog)
    assert [f.column for f in report.findings] == ["contact.email"]
    assert [(d.product, d.column, d.line) for d in report.drift if d.kind == "undeclared"] == [("shop.b", "contact.email", 16)]
    assert report_tags(report, catalog) == {"shop.a": {"contact": {"pii.email"}}, "shop.b": {"contact": {"pii.email"}}}


@pytest.mark.parametrize(("name", "data"), [
    ("jane.doe@example.org", True), ("+44 20 7946 0958", True), ("https://x.org/a", True), ("10.0.0.1", True),
    ("4111111111111111", True), ("x" * 65, True),
    ("4111 1111 1111 1111", True),
    ("email", False), ("2019", False), ("2019-01-31", False), ("2019-01-31 12:00:00", False), ("q3_2024", False),
    ("sales_2019_2020", False), ("customer id", False), ("ip_v4", False), ("Amount (EUR)", False),
])
def test_what_looks_like_data_in_a_column_name(name: str, data: bool) -> None:
    assert looks_like_data(name) is data
    assert (redacted_name(name) != name) is data
    assert header_is_data(["id", name]) is (data and len(name) <= 64)  # a long header is a header


def test_a_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    report = scan_paths([fifo], model="none")
    assert [(i.severity, i.message) for i in report.issues] == [("error", "not a regular file")]
    files, problems = walk([tmp_path])
    assert files == [] and problems == [(str(fifo), "not a regular file: not scanned")]
