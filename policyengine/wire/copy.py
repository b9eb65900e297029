"""`COPY (SELECT …) TO STDOUT`: the one COPY the gateway runs, its inner SELECT enforced like any
query, its rows in PostgreSQL's text, csv or binary COPY format (ADBC's PostgreSQL driver reads
every result as `COPY (…) TO STDOUT (FORMAT binary)`). Every other COPY (FROM, to a file or a
program, of a table) is refused: it would write, read a file, or skip the rewrite.

Pure functions: `parse_copy` reads the statement with DuckDB's tokenizer (so a parenthesis in a
string or comment does not count), `copy_messages` builds the CopyOutResponse, CopyData and
CopyDone messages for a result table.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

from policyengine.wire import messages as m
from policyengine.wire.binary import binary_value

ONLY = "only COPY (SELECT …) TO STDOUT is allowed through the gateway"
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRUE = {"true", "on", "1"}
_FALSE = {"false", "off", "0"}


class CopyRefused(ValueError):
    """A COPY the gateway does not run: the SQLSTATE and a message naming what is refused."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Copy:
    query: str  # the inner SELECT, run through the rewrite like any query
    format: str = "text"  # text, csv or binary
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"


def _word(token: object) -> str:
    return str(getattr(token, "text", "")).lower()


def parse_copy(sql: str) -> Copy:
    """The COPY statement `sql` (starting with COPY) as a Copy, or CopyRefused."""
    try:
        tokens = list(sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql))
    except SqlglotError:
        raise CopyRefused("42601", "cannot parse the COPY statement") from None
    while tokens and tokens[-1].token_type == TokenType.SEMICOLON:
        tokens.pop()
    if len(tokens) < 2 or _word(tokens[0]) != "copy" or tokens[1].token_type != TokenType.L_PAREN:
        raise CopyRefused("42501", f"{ONLY} (COPY of a table or FROM reads past the rewrite or writes)")
    depth, close = 0, -1
    for i in range(1, len(tokens)):
        kind = tokens[i].token_type
        depth += 1 if kind == TokenType.L_PAREN else -1 if kind == TokenType.R_PAREN else 0
        if depth == 0:
            close = i
            break
    if close < 0:
        raise CopyRefused("42601", "cannot parse the COPY statement (unbalanced parentheses)")
    query = sql[tokens[1].end + 1:tokens[close].start]
    rest = tokens[close + 1:]
    if len(rest) < 2 or _word(rest[0]) != "to" or _word(rest[1]) != "stdout":
        raise CopyRefused("42501", f"{ONLY} (not to a file, a program or from anywhere)")
    return _options(query, rest[2:])


def _options(query: str, tokens: Sequence[object]) -> Copy:
    options: dict[str, str] = {}
    words = list(tokens)
    if words and _word(words[0]) == "with":
        words = words[1:]
    if words and getattr(words[0], "token_type", None) == TokenType.L_PAREN:
        if getattr(words[-1], "token_type", None) != TokenType.R_PAREN:
            raise CopyRefused("42601", "cannot parse the COPY options")
        inner, current = words[1:-1], list[object]()
        for token in [*inner, None]:
            if token is None or getattr(token, "token_type", None) == TokenType.COMMA:
                if not current:
                    raise CopyRefused("42601", "cannot parse the COPY options")
                name = _word(current[0])
                if len(current) > 2:
                    raise CopyRefused("42601", f"cannot parse the COPY option {name}")
                options[name] = str(getattr(current[1], "text", "")) if len(current) == 2 else "true"
                current = []
            else:
                current.append(token)
    else:  # the form before PostgreSQL 9.0: BINARY, CSV, HEADER, DELIMITER [AS] 'x', NULL [AS] 'x'
        i = 0
        while i < len(words):
            name = _word(words[i])
            if name in ("binary", "csv"):
                options["format"] = name
                i += 1
            elif name == "header":
                options["header"] = "true"
                i += 1
            elif name in ("delimiter", "null"):
                i += 2 if i + 1 < len(words) and _word(words[i + 1]) == "as" else 1
                if i >= len(words):
                    raise CopyRefused("42601", f"COPY option {name} needs a value")
                options[name] = str(getattr(words[i], "text", ""))
                i += 1
            else:
                raise CopyRefused("0A000", f"COPY option {name} is not supported by the gateway")
    return _copy(query, options)


def _copy(query: str, options: dict[str, str]) -> Copy:
    known = {"format", "header", "delimiter", "null"}
    for name in options:
        if name not in known:
            raise CopyRefused("0A000", f"COPY option {name} is not supported by the gateway "
                                       f"(supported: {', '.join(sorted(known))})")
    fmt = options.get("format", "text").lower()
    if fmt not in ("text", "csv", "binary"):
        raise CopyRefused("22023", f"COPY format {fmt} not recognized")
    header_word = options.get("header", "false").lower()
    if header_word not in _TRUE | _FALSE:
        raise CopyRefused("22023", "COPY header must be a boolean")
    header = header_word in _TRUE
    if header and fmt != "csv":
        raise CopyRefused("0A000", "COPY HEADER is available only in CSV mode")
    delimiter = options.get("delimiter", "," if fmt == "csv" else "\t")
    null = options.get("null", "" if fmt == "csv" else "\\N")
    if fmt == "binary" and ("delimiter" in options or "null" in options):
        raise CopyRefused("42601", "cannot specify DELIMITER or NULL in BINARY mode")
    if len(delimiter) != 1 or delimiter in "\r\n\\" or delimiter == '"' and fmt == "csv":
        raise CopyRefused("22023", "COPY delimiter must be a single one-byte character other than "
                                   "newline, carriage return, backslash (and quote in CSV)")
    if any(c in null for c in "\r\n") or delimiter in null:
        raise CopyRefused("22023", "COPY null representation cannot use newline, carriage return or "
                                   "the delimiter")
    return Copy(query, fmt, header, delimiter, null)


# ---------------------------------------------------------------- output

_TEXT_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _text_field(value: bytes | None, copy: Copy) -> str:
    if value is None:
        return copy.null
    text = value.decode("utf-8")
    out = "".join(_TEXT_ESCAPES.get(c, c) for c in text)
    return out.replace(copy.delimiter, "\\" + copy.delimiter) if copy.delimiter not in _TEXT_ESCAPES else out


def _csv_field(value: bytes | None, copy: Copy) -> str:
    if value is None:
        return copy.null
    text = value.decode("utf-8")
    if (text == "" or text == copy.null or any(c in text for c in (copy.delimiter, '"', "\n", "\r"))
            or text.startswith("\\.")):
        return '"' + text.replace('"', '""') + '"'
    return text


def copy_messages(table: pa.Table, columns: Sequence[m.Column], copy: Copy) -> list[bytes]:
    """CopyOutResponse, one CopyData per row (and the binary header and trailer), CopyDone."""
    binary = copy.format == "binary"
    width = len(columns)
    out = [m.message(b"H", struct.pack("!bh", int(binary), width) + struct.pack("!h", int(binary)) * width)]
    oids = [c.oid for c in columns]
    values = [table.column(i).to_pylist() for i in range(table.num_columns)]
    if binary:  # the file header rides with the first tuple (or the trailer), as PostgreSQL sends it
        for r in range(table.num_rows):
            parts = [_BINARY_HEADER if r == 0 else b"", struct.pack("!h", width)]
            for column, oid in zip(values, oids, strict=True):
                raw = binary_value(column[r], oid)
                parts.append(struct.pack("!i", -1) if raw is None else struct.pack("!i", len(raw)) + raw)
            out.append(m.message(b"d", b"".join(parts)))
        out.append(m.message(b"d", (b"" if table.num_rows else _BINARY_HEADER) + struct.pack("!h", -1)))
    else:
        field = _csv_field if copy.format == "csv" else _text_field
        if copy.header:
            out.append(m.message(b"d", (copy.delimiter.join(
                _csv_field(c.name.encode("utf-8"), copy) for c in columns) + "\n").encode("utf-8")))
        for r in range(table.num_rows):
            line = copy.delimiter.join(field(m.text_value(column[r], oid), copy)
                                       for column, oid in zip(values, oids, strict=True))
            out.append(m.message(b"d", (line + "\n").encode("utf-8")))
    out.append(m.message(b"c"))
    return out
