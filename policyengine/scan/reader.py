"""Find data files and stream them as Arrow record batches.

A folder is walked whole (`walk`: hidden and extension-less files too, links followed only inside
a boundary), and a file's format is read from its content, never its name (`detect`): Parquet and
Arrow IPC by their magic bytes, gzip and zstd seen through, JSON Lines, JSON documents and CSV by
their text. Every format but a JSON document (parsed whole, up to 64 MiB) is read in bounded
record batches so a large file never has to fit in memory: Parquet row groups are streamed with
`iter_batches`, CSV and JSON Lines with pyarrow's block readers, Arrow IPC batch by batch. Errors
surface as `ReadError` with a one-line message that never contains cell values, so callers can
report them per file and carry on with the rest.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from policyengine.scan.headers import header_is_data

BATCH_ROWS = 131_072  # rows per record batch: fewer per-batch selections; a 20-column batch stays in tens of MB
_HEAD_BYTES = 4096  # what format detection reads of a file (after decompression)
_MAX_JSON_DOCUMENT = 64 << 20  # a JSON document (not JSON Lines) is parsed whole: up to 64 MiB
_SKIP_FOLDERS = frozenset({".git", ".hg", ".svn"})  # version-control internals, never data


class ReadError(Exception):
    """A file that cannot be scanned; the message is one line and free of data values."""


def _compression(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return None


def _open(path: Path, compression: str | None):  # -> a pyarrow input stream (binary, readable)
    return pa.input_stream(str(path), compression=compression)


def _content_format(head: bytes, suffix: str) -> str | None:
    """The format of (decompressed) bytes: Parquet and Arrow IPC by their magic, JSON by its first
    character, else text (CSV; TSV when the name says so: the delimiter is sniffed either way);
    None for binary content of no known format."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return "ipc"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json"
    if b"\x00" in head or head.startswith((b"PK\x03\x04", b"\x89PNG", b"%PDF", b"\xd0\xcf\x11\xe0")):
        return None
    return "tsv" if suffix == ".tsv" else "csv"


def detect(path: Path) -> tuple[str | None, str | None]:
    """(format, compression) of `path` from its content, never its extension: gzip and zstd are
    seen through; Parquet and Arrow IPC (file or stream) by their magic bytes; JSON Lines when the
    text starts with `{`, a JSON document when it starts with `[`; other text is CSV. (None, …)
    for content of no known format, a missing or unreadable file."""
    if not path.is_file():  # a FIFO or device would block or never end
        return None, None
    try:
        with path.open("rb") as fh:
            raw = fh.read(_HEAD_BYTES)
        compression = _compression(raw)
        head = raw
        if compression is not None:
            with _open(path, compression) as stream:
                head = stream.read(_HEAD_BYTES)
    except (OSError, pa.ArrowException):
        return None, None
    if not head:
        return None, compression
    inner = path.suffix.lower() if compression is None else Path(path.stem).suffix.lower()
    fmt = _content_format(head, inner)
    if compression is not None and fmt in ("parquet", "ipc"):
        fmt = None  # a compressed Parquet or IPC file is not read (their own codecs compress them)
    return fmt, compression


def format_of(path: Path) -> str | None:
    """The data format of `path` from its content (see `detect`); None if unknown."""
    return detect(path)[0]


def discover(paths: Iterable[str | Path], boundary: str | Path | None = None) -> list[Path]:
    """The files `walk` finds (its problems left out): see `walk`."""
    return walk(paths, boundary)[0]


def walk(paths: Iterable[str | Path], boundary: str | Path | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand folders to every file below them, whatever its name or extension (hidden files and
    folders too; only version-control folders and zero-byte files, which hold no rows, are left
    out), with the problems met on the way as (path, one-line message).

    Links are followed when their target lies inside `boundary` (default: the folder walked);
    a link whose target leaves it, or that points nowhere, is a problem, never silently skipped.
    Files named explicitly are always kept (missing ones too: they fail later with a clear
    message); a file reached twice (through a link, or named and found) is kept once.
    """
    out: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(f: Path) -> None:
        key = f.resolve() if f.exists() else f.absolute()
        if key not in seen:
            seen.add(key)
            out.append(f)

    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            add(p)
            continue
        limit = Path(boundary).resolve() if boundary is not None else p.resolve()
        visited: set[Path] = set()
        stack = [p]
        found: list[Path] = []
        while stack:
            folder = stack.pop()
            real = folder.resolve()
            if real in visited:  # a link back to a folder already walked
                continue
            visited.add(real)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                problems.append((str(folder), f"cannot list folder: {exc.strerror or type(exc).__name__}"))
                continue
            for entry in entries:
                f = Path(folder, entry.name)
                if entry.is_symlink():
                    target = f.resolve()
                    if not f.exists():
                        problems.append((str(f), "a link to nothing: not scanned"))
                        continue
                    if target != limit and limit not in target.parents:
                        problems.append((str(f), f"a link that leaves {limit.name or limit}: not followed "
                                                 "(name its target explicitly to scan it)"))
                        continue
                if f.is_dir():
                    if entry.name not in _SKIP_FOLDERS:
                        stack.append(f)
                elif f.is_file():
                    if f.stat().st_size > 0:
                        found.append(f)
                else:
                    problems.append((str(f), "not a regular file: not scanned"))
        for f in sorted(found):
            add(f)
    return out, problems


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
    if not path.is_file():
        raise ReadError("not a regular file")
    if path.stat().st_size == 0:
        raise ReadError("empty file")
    try:
        path.open("rb").close()
    except OSError as exc:
        raise ReadError(f"cannot open: {exc.strerror or type(exc).__name__}") from None
    fmt, compression = detect(path)
    if fmt is None:
        raise ReadError("unknown format: the content is not Parquet, Arrow IPC, JSON, JSON Lines or CSV text "
                        "(plain, gzip or zstd)")
    try:
        if fmt == "parquet":
            yield from _parquet(path, batch_rows, use_threads)
        elif fmt in ("csv", "tsv"):
            yield from _csv(path, "\t" if fmt == "tsv" else ",", skipped, compression)
        elif fmt == "jsonl":
            yield from _jsonl(path, compression)
        elif fmt == "json":
            yield from _json_document(path, compression)
        else:
            yield from _ipc(path)
    except ReadError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise ReadError(f"cannot read as {fmt}{' (' + compression + ')' if compression else ''}: "
                        f"{short_error(exc)}") from None


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


def sniff_encoding(path: Path, compression: str | None = None) -> str:
    """utf-8 when the file (its first 64 MB, decompressed) decodes as UTF-8, else cp1252 (Windows
    exports), else latin-1, which decodes any byte."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = 0
    try:
        with _open(path, compression) as fh:
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
    with _open(path, compression) as fh:
        head = fh.read(_UTF8_CHECK_BYTES)
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


_CSV_BLOCK = 1 << 22  # 4 MiB blocks; a longer row makes the reader retry with 4x larger ones
_CSV_MAX_BLOCK = 1 << 28  # up to 256 MiB: a row longer than that is an error


def _first_row(head: str, delimiter: str) -> list[str]:
    """The cells of a CSV's first row (as Python's csv module reads it)."""
    import csv as pycsv

    try:
        return next(pycsv.reader(io.StringIO(head), delimiter=delimiter), [])
    except pycsv.Error:
        return []


def header_row_is_data(path: Path) -> bool:
    """True when a CSV's first row looks like data, not a header (see `headers.header_is_data`):
    the file is then read as a file without a header row."""
    fmt, compression = detect(path)
    if fmt not in ("csv", "tsv"):
        return False
    encoding = sniff_encoding(path, compression)
    with _open(path, compression) as fh:
        head = fh.read(_SNIFF_BYTES).decode(encoding, errors="replace").lstrip("\ufeff")
    return header_is_data(_first_row(head, sniff_delimiter(head, "\t" if fmt == "tsv" else ",")))


def _csv(path: Path, default_delimiter: str, skipped: list[int] | None = None,
         compression: str | None = None) -> Iterator[pa.RecordBatch]:
    """CSV cells are read as text: a streaming reader infers types from the first block only and
    would fail on a later block, and the scanner infers numbers from the values anyway. The
    delimiter is sniffed from the first lines and the encoding falls back to cp1252 / latin-1
    when the file is not UTF-8. A first row that looks like data (an e-mail address, a long
    number: a file without a header row) is read as data, the columns named `column_1`, …,
    so no value becomes a column name in a report."""
    from pyarrow import csv

    encoding = sniff_encoding(path, compression)
    with _open(path, compression) as fh:
        head = fh.read(_SNIFF_BYTES).decode(encoding, errors="replace").lstrip("\ufeff")
    delimiter = sniff_delimiter(head, default_delimiter)
    first = _first_row(head, delimiter)
    generated = [f"column_{i + 1}" for i in range(len(first))] if header_is_data(first) else []
    bad = [0]

    def skip_row(row: object) -> str:  # counted only: a row's text is data, never reported
        bad[0] += 1
        return "skip"

    parse = csv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=skip_row)
    pa_encoding = "utf8" if encoding == "utf-8" else encoding
    block, done = _CSV_BLOCK, 0
    while True:  # a row longer than a block fails ("straddles two block boundaries"): larger blocks
        read = csv.ReadOptions(block_size=block, encoding=pa_encoding, column_names=generated)
        try:
            with _open(path, compression) as source:
                probe = csv.open_csv(source, read_options=read, parse_options=parse)
                names = probe.schema.names
                probe.close()
            convert = csv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True)
            seen, bad[0] = 0, 0
            with _open(path, compression) as source:
                for batch in csv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert):
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


def _jsonl(path: Path, compression: str | None = None) -> Iterator[pa.RecordBatch]:
    """JSON Lines through pyarrow's block reader (nested objects and arrays become struct and
    list columns, whose leaves the scanner reads); when that fails (a field that is a number in
    some rows and a string in others defeats its type inference; a pretty-printed object over
    several lines), the rows not yet yielded are read with Python's json module."""
    from pyarrow import json

    read = json.ReadOptions(block_size=1 << 22)
    done = 0
    try:
        with _open(path, compression) as source:
            for batch in json.open_json(source, read_options=read):
                done += batch.num_rows
                yield batch
        return
    except pa.ArrowInvalid:
        pass
    try:
        yield from _jsonl_as_text(path, skip=done, compression=compression)
    except ReadError as exc:
        if done or not str(exc).startswith("cannot read as jsonl: line 1:"):
            raise
        yield from _json_document(path, compression)  # one JSON object written over several lines


def _json_cell(x: object) -> object:
    """A JSON value with every scalar as text (objects and arrays kept, so their leaves are
    scanned one by one)."""
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 9.2e18:
        return str(int(x))
    if isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, dict):
        return {str(k): _json_cell(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_cell(v) for v in x]
    return str(x)


def _jsonl_as_text(path: Path, skip: int = 0, compression: str | None = None) -> Iterator[pa.RecordBatch]:
    """The JSON Lines rows after the first `skip` ones as batches of text columns (two passes:
    the first collects the field names, so every batch has them all)."""
    import json as pyjson

    def rows() -> Iterator[dict]:
        n = 0
        with _open(path, compression) as raw, io.TextIOWrapper(raw, encoding="utf-8", errors="replace") as fh:
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

    yield from _record_batches(rows)


def _json_document(path: Path, compression: str | None = None) -> Iterator[pa.RecordBatch]:
    """A JSON document: an array of objects (one row each), or one object (one row); parsed whole,
    up to 64 MiB (a larger one is an error: write it as JSON Lines)."""
    import json as pyjson

    with _open(path, compression) as fh:
        data = fh.read(_MAX_JSON_DOCUMENT + 1)
    if len(data) > _MAX_JSON_DOCUMENT:
        raise ReadError("cannot read as json: a JSON document over 64 MiB (write it as JSON Lines)")
    try:
        doc = pyjson.loads(data.decode("utf-8", errors="replace").lstrip("\ufeff"))
    except ValueError as exc:
        raise ReadError(f"cannot read as json: line {getattr(exc, 'lineno', '?')}: "
                        f"{getattr(exc, 'msg', 'invalid JSON')}") from None
    except RecursionError:
        raise ReadError("cannot read as json: nested too deeply") from None
    records = doc if isinstance(doc, list) else [doc]
    if not all(isinstance(r, dict) for r in records):  # an array of scalars or arrays: one column
        records = [{"value": r} for r in records]
    yield from _record_batches(lambda: iter(records))


def _record_batches(rows: Callable[[], Iterator[dict]]) -> Iterator[pa.RecordBatch]:
    """Batches of the rows `rows()` yields (called twice: the field names first)."""
    names = list(dict.fromkeys(k for obj in rows() for k in obj))
    buf: list[dict] = []
    for obj in rows():
        buf.append(obj)
        if len(buf) >= BATCH_ROWS:
            yield _text_batch(buf, names)
            buf = []
    if buf:
        yield _text_batch(buf, names)


def _text_column(values: list[object]) -> pa.Array:
    """One column of JSON values with every scalar as text: nested objects and arrays as struct
    and list columns when pyarrow can type them, else each non-text cell as its JSON text."""
    import json as pyjson

    cells = [_json_cell(v) for v in values]
    if all(c is None or isinstance(c, str) for c in cells):
        return pa.array(cells, type=pa.string())
    try:
        return pa.array(cells)
    except (pa.ArrowException, TypeError, ValueError):
        return pa.array([c if c is None or isinstance(c, str) else pyjson.dumps(c, ensure_ascii=False)
                         for c in cells], type=pa.string())


def _text_batch(rows: list[dict], names: list[str]) -> pa.RecordBatch:
    return pa.record_batch([_text_column([r.get(k) for r in rows]) for k in names], names=names)


def _ipc(path: Path) -> Iterator[pa.RecordBatch]:
    try:
        reader = pa.ipc.open_file(pa.memory_map(str(path)))
    except pa.ArrowInvalid:
        stream = pa.ipc.open_stream(pa.memory_map(str(path)))
        yield from stream
        return
    for i in range(reader.num_record_batches):
        yield reader.get_batch(i)
