"""Bad input: one clear line per file, the other files go on, the exit code says something failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.scan import scan_paths, to_json

GOOD = [f"user{i}@example.com" for i in range(30)]


def _good(tmp_path: Path) -> Path:
    p = tmp_path / "good.parquet"
    pq.write_table(pa.table({"mail": GOOD}), p)
    return p


def test_corrupt_unknown_missing_and_empty_files(tmp_path: Path) -> None:
    good = _good(tmp_path)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"\x00garbage" * 50)
    unknown = tmp_path / "notes.docx"
    unknown.write_bytes(b"PK\x03\x04hello")  # a .docx is a zip archive: no format the scanner reads
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b\n")
    report = scan_paths([good, corrupt, unknown, empty, header_only, tmp_path / "nope.parquet"], model="none")
    assert {f.column for f in report.findings} == {"mail"}
    by = {Path(i.source).name: i for i in report.issues}
    assert by["corrupt.parquet"].severity == "error"
    assert "unknown format" in by["notes.docx"].message
    assert by["empty.csv"].severity == "error"
    assert by["header.csv"].severity == "warning" and "empty table" in by["header.csv"].message
    assert "no such file" in by["nope.parquet"].message
    assert all("\n" not in i.message for i in report.issues)
    assert report.exit_code("never") == 2


def test_all_null_binary_and_huge_columns(tmp_path: Path) -> None:
    p = tmp_path / "odd.parquet"
    huge = ["x" * 200_000 + f" user{i}@example.com" for i in range(5)]
    pq.write_table(
        pa.table({
            "nothing": pa.array([None] * 5, pa.string()),
            "blob": pa.array([b"\x00\x01secret@example.com"] * 5, pa.binary()),
            "huge": huge,
        }),
        p,
    )
    report = scan_paths([p], model="none")
    msgs = " | ".join(i.message for i in report.issues)
    assert "'nothing': all values are null" in msgs
    assert "'blob': binary data" in msgs
    assert "'huge'" in msgs and "cut" in msgs
    assert report.exit_code("never") == 0
    assert "secret@example.com" not in to_json(report)


def test_no_network_and_quiet_stderr(tmp_path: Path) -> None:
    """The e-mail check uses tldextract's bundled snapshot: with sockets disabled, nothing is
    attempted and nothing is printed on stderr."""
    good = _good(tmp_path)
    code = (
        "import socket\n"
        "def _no(*a, **k): raise RuntimeError('network used')\n"
        "socket.socket.connect = _no\nsocket.create_connection = _no\nsocket.getaddrinfo = _no\n"
        "from policyengine.scan import scan_paths\n"
        f"r = scan_paths([{str(good)!r}], model='none')\n"
        "assert [f.entity for f in r.findings] == ['EMAIL_ADDRESS'], r.findings\n"
        "import presidio_analyzer.predefined_recognizers as pr\n"
        "rec = pr.EmailRecognizer()\n"
        "assert rec.analyze('mail me at a.b@example.org', ['EMAIL_ADDRESS'])\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TLDEXTRACT_CACHE": str(tmp_path / "tld")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""


def test_a_csv_cell_longer_than_a_read_block_is_read(tmp_path) -> None:
    """A 12 MB cell (longer than two of the reader's 4 MiB blocks) used to fail with pyarrow's 'straddles
    two block boundaries'; the reader retries with larger blocks and yields every row once."""
    from policyengine.scan.reader import iter_batches

    path = tmp_path / "wide.csv"
    long_cell = "x" * 12_000_000  # longer than two of the reader's 4 MiB blocks
    rows = ["id,note", *(f"{i},short" for i in range(3)), "3," + long_cell, *(f"{i},short" for i in range(4, 9))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    ids = [v for batch in iter_batches(path) for v in batch.column("id").to_pylist()]
    assert ids == [str(i) for i in range(9)]
