"""Find data files and stream them as Arrow record batches.

Every format is read in bounded record batches so a large file never has to fit in memory:
Parquet row groups are streamed with `iter_batches`, CSV and JSON Lines with pyarrow's block
readers, Arrow IPC batch by batch. Errors surface as `ReadError` with a one-line message that
never contains cell values, so callers can report them per file and carry on with the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

BATCH_ROWS = 131_072  # rows per record batch: fewer per-batch selections; a 20-column batch stays in tens of MB
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


_COUNT = re.compile(r"\bgot \d+")
_QUOTE_OPEN = re.compile(r"(?:^|(?<=[\s:(\[=,]))['\"`]")


def short_error(exc: BaseException) -> str:
    """The first line of an exception message, trimmed of anything that could be data.

    pyarrow quotes cell contents in several messages: a ragged CSV row follows "Expected 1
    columns, got 2: ", conversion errors quote the value, JSON errors quote the row. So the text
    stops after "got N", at the first quote or known data marker, and is cut to 160 characters.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    m = _COUNT.search(text)
    if m:
        text = text[: m.end()]
    for marker in (" got '", ": '", "straddling", " in row:", " row: "):
        i = text.find(marker)
        if i > 0:
            text = text[:i]
    m = _QUOTE_OPEN.search(text)  # an opening quote (not an apostrophe as in "Couldn't")
    if m:
        text = text[: m.start()]
    text = text.rstrip(" :,.")
    return text[:160] or type(exc).__name__


def iter_batches(
    path: Path, batch_rows: int = BATCH_ROWS, use_threads: bool = True, skipped: list[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """Yield the record batches of one file; raise ReadError for missing, unknown or corrupt files.
    `use_threads`: whether pyarrow decodes a Parquet file's columns on its own thread pool.
    `skipped`: a one-item counter of CSV rows skipped for having another number of fields than
    the header (real exports have a few: an unquoted comma in an address)."""
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
            yield from _parquet(path, batch_rows, use_threads)
        elif fmt in ("csv", "tsv"):
            yield from _csv(path, "\t" if fmt == "tsv" else ",", skipped)
        elif fmt == "jsonl":
            yield from _jsonl(path)
        else:
            yield from _ipc(path)
    except ReadError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
        raise ReadError(f"cannot read as {fmt}: {short_error(exc)}") from None


def _parquet(path: Path, batch_rows: int, use_threads: bool) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, memory_map=True)
    yield from pf.iter_batches(batch_size=batch_rows, use_threads=use_threads)


def iter_row_groups(
    path: Path, row_groups: list[int], batch_rows: int = BATCH_ROWS, use_threads: bool = False
) -> Iterator[pa.RecordBatch]:
    """The record batches of some row groups of a Parquet file, with `iter_batches`' errors (a
    file cut into row-group tasks fails with the message it fails with whole)."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, memory_map=True)
        yield from pf.iter_batches(batch_size=batch_rows, row_groups=row_groups, use_threads=use_threads)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ReadError(f"cannot read as parquet: {short_error(exc)}") from None


_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 1 << 16
_UTF8_CHECK_BYTES = 64 << 20  # how much of a CSV is checked to be UTF-8 before choosing a codec


def _outside_quotes(line: str, ch: str) -> int:
    """How often `ch` occurs in `line` outside double-quoted fields."""
    n, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == ch and not quoted:
            n += 1
    return n


def sniff_delimiter(text: str, default: str) -> str:
    """The delimiter of a CSV from its first lines: of `,` `;` tab `|`, the one the header uses
    most that the next lines use as often (European exports use `;`, since `,` is their decimal
    mark). Falls back to `default`."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    if not lines:
        return default
    best, best_n = default, 0
    for d in _DELIMITERS:
        n = _outside_quotes(lines[0], d)
        if n == 0:
            continue
        rest = lines[1:-1] if len(lines) > 2 else lines[1:]  # the last line may be cut off
        consistent = not rest or sum(_outside_quotes(ln, d) == n for ln in rest) >= 0.8 * len(rest)
        score = n + (1000 if consistent else 0)
        if score > best_n:
            best, best_n = d, score
    return best


def sniff_encoding(path: Path) -> str:
    """utf-8 when the file (its first 64 MB) decodes as UTF-8, else cp1252 (Windows exports),
    else latin-1, which decodes any byte."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    try:
        with path.open("rb") as fh:
            while seen < _UTF8_CHECK_BYTES:
                chunk = fh.read(1 << 20)
                if not chunk:
                    decoder.decode(b"", final=True)
                    break
                seen += len(chunk)
                decoder.decode(chunk)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    with path.open("rb") as fh:
        head = fh.read(_UTF8_CHECK_BYTES)
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


_CSV_BLOCK = 1 << 22  # 4 MiB blocks; a longer row makes the reader retry with 4x larger ones
_CSV_MAX_BLOCK = 1 << 28  # up to 256 MiB: a row longer than that is an error


def _csv(path: Path, default_delimiter: str, skipped: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """CSV cells are read as text: a streaming reader infers types from the first block only and
    would fail on a later block, and the scanner infers numbers from the values anyway. The
    delimiter is sniffed from the first lines and the encoding falls back to cp1252 / latin-1
    when the file is not UTF-8."""
    from pyarrow import csv

    encoding = sniff_encoding(path)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES).decode(encoding, errors="replace").lstrip("\ufeff")
    delimiter = sniff_delimiter(head, default_delimiter)
    bad = [0]

    def skip_row(row: object) -> str:  # counted only: a row's text is data, never reported
        bad[0] += 1
        return "skip"

    parse = csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=skip_row)
    pa_encoding = "utf8" if encoding == "utf-8" else encoding
    block, done = _CSV_BLOCK, 0
    while True:  # a row longer than a block fails ("straddles two block boundaries"): larger blocks
        read = csv.ReadOptions(block_size=block, encoding=pa_encoding)
        try:
            probe = csv.open_csv(path, read_options=read, parse_options=parse)
            names = probe.schema.names
            probe.close()
            convert = csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
            seen, bad[0] = 0, 0
            for batch in csv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert):
                if seen + batch.num_rows > done:  # rows an earlier, smaller-block pass did not yield
                    yield batch.slice(max(0, done - seen))
                    done = seen + batch.num_rows
                seen += batch.num_rows
            if skipped is not None:
                skipped[0] += bad[0]
            return
        except pa.ArrowInvalid as exc:
            if "straddle" not in str(exc) or block >= _CSV_MAX_BLOCK:
                raise
            block *= 4


def _jsonl(path: Path) -> Iterator[pa.RecordBatch]:
    """JSON Lines through pyarrow's block reader; when that fails (a field that is a number in
    some rows and a string in others defeats its type inference), the rows not yet yielded are
    read with Python's json module, every field as text."""
    from pyarrow import json

    read = json.ReadOptions(block_size=1 << 22)
    done = 0
    try:
        for batch in json.open_json(path, read_options=read):
            done += batch.num_rows
            yield batch
        return
    except pa.ArrowInvalid:
        pass
    yield from _jsonl_as_text(path, skip=done)


def _json_cell(x: object) -> str | None:
    import json as pyjson

    if x is None or isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 9.2e18:
        return str(int(x))
    if isinstance(x, (int, float)):
        return str(x)
    return pyjson.dumps(x, ensure_ascii=False)


def _jsonl_as_text(path: Path, skip: int = 0) -> Iterator[pa.RecordBatch]:
    """The JSON Lines rows after the first `skip` ones as batches of text columns (two passes:
    the first collects the field names, so every batch has them all)."""
    import json as pyjson

    def rows() -> Iterator[dict]:
        n = 0
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                n += 1
                if n <= skip:
                    continue
                try:
                    obj = pyjson.loads(line)
                except ValueError as exc:
                    raise ReadError(f"cannot read as jsonl: line {lineno}: {getattr(exc, 'msg', 'invalid JSON')}") from None
                if not isinstance(obj, dict):
                    raise ReadError(f"cannot read as jsonl: line {lineno}: not a JSON object")
                yield obj

    names = list(dict.fromkeys(k for obj in rows() for k in obj))
    buf: list[dict] = []
    for obj in rows():
        buf.append(obj)
        if len(buf) >= BATCH_ROWS:
            yield _text_batch(buf, names)
            buf = []
    if buf:
        yield _text_batch(buf, names)


def _text_batch(rows: list[dict], names: list[str]) -> pa.RecordBatch:
    return pa.record_batch(
        [pa.array([_json_cell(r.get(k)) for r in rows], type=pa.string()) for k in names], names=names
    )


def _ipc(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        stream = pa.ipc.open_stream(pa.memory_map(str(path)))
        yield from stream
        return
    for i in range(reader.num_record_batches):
        yield reader.get_batch(i)
