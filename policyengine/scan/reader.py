"""Find data files and stream them as Arrow record batches.

Every format is read in bounded record batches so a large file never has to fit in memory:
Parquet row groups are streamed with `iter_batches`, CSV and JSON Lines with pyarrow's block
readers, Arrow IPC batch by batch. Errors surface as `ReadError` with a one-line message that
never contains cell values, so callers can report them per file and carry on with the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

BATCH_ROWS = 65_536
_EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".arrow": "ipc",
    ".feather": "ipc",
    ".ipc": "ipc",
    ".arrows": "ipc",
}


class ReadError(Exception):
    """A file that cannot be scanned; the message is one line and free of data values."""


def format_of(path: Path) -> str | None:
    """The data format of `path` from its extension, else from its magic bytes; None if unknown."""
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return "ipc"
    return None


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to the data files below them (known extensions, no hidden files).

    Files named explicitly are always kept, so an unknown format is reported rather than
    silently ignored; missing paths are kept too and fail later with a clear message.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*")
                if f.is_file()
                and f.suffix.lower() in _EXTENSIONS
                and f.suffix.lower() != ".json"  # a folder's .json is usually metadata, not rows
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            found = [p]
        for f in found:
            if f not in seen:
                seen.add(f)
                out.append(f)
    return out


def _short(exc: BaseException) -> str:
    """The first line of an exception message, trimmed: pyarrow errors can quote cell contents
    (CSV conversion errors do), so anything after a colon that looks like data is cut off."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for marker in (" got '", ": '", "CSV conversion error", "straddling"):
        i = text.find(marker)
        if i > 0:
            text = text[:i]
    return text[:200]


def iter_batches(path: Path, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Yield the record batches of one file; raise ReadError for missing, unknown or corrupt files."""
    if not path.exists():
        raise ReadError("no such file")
    if path.is_dir():
        raise ReadError("is a directory")
    fmt = format_of(path)
    if fmt is None:
        raise ReadError(f"unknown format (extension '{path.suffix or '<none>'}'); expected Parquet, CSV, JSON Lines or Arrow IPC")
    if path.stat().st_size == 0:
        raise ReadError("empty file")
    try:
        if fmt == "parquet":
            yield from _parquet(path, batch_rows)
        elif fmt in ("csv", "tsv"):
            yield from _csv(path, "\t" if fmt == "tsv" else ",")
        elif fmt == "jsonl":
            yield from _jsonl(path)
        else:
            yield from _ipc(path)
    except ReadError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"cannot read as {fmt}: {_short(exc)}") from None


def _parquet(path: Path, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, memory_map=True)
    yield from pf.iter_batches(batch_size=batch_rows, use_threads=True)


def _csv(path: Path, delimiter: str) -> Iterator[pa.RecordBatch]:
    """CSV cells are read as text: a streaming reader infers types from the first block only and
    would fail on a later block, and the scanner infers numbers from the values anyway."""
    from pyarrow import csv

    parse = csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    read = csv.ReadOptions(block_size=1 << 22)
    probe = csv.open_csv(path, read_options=read, parse_options=parse)
    names = probe.schema.names
    probe.close()
    convert = csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
    yield from csv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _jsonl(path: Path) -> Iterator[pa.RecordBatch]:
    from pyarrow import json

    read = json.ReadOptions(block_size=1 << 22)
    try:
        reader = json.open_json(path, read_options=read)
        yield from reader
    except pa.ArrowInvalid:
        # Types that change between blocks defeat the streaming reader; the whole-file reader
        # unifies them (JSON Lines files large enough for this to matter are rare).
        yield from json.read_json(path, read_options=read).to_batches(BATCH_ROWS)


def _ipc(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        stream = pa.ipc.open_stream(pa.memory_map(str(path)))
        yield from stream
        return
    for i in range(reader.num_record_batches):
        yield reader.get_batch(i)
