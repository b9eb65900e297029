"""Server-side cursors in SQL: `DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH[OUT] HOLD] FOR
<select>`, `FETCH`/`MOVE` forward, `CLOSE name | ALL` (psycopg's named cursors send these).

A cursor is a portal of its connection under its name (as in PostgreSQL, so a client can
Describe it); its SELECT is enforced like any query when it is first read. Only forward
movement is supported: the gateway keeps no result it has sent. Pure parsing here; the
connection (server.py) keeps the portals.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType


class CursorError(ValueError):
    """A cursor statement the gateway cannot run: its SQLSTATE and a message."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@dataclass(frozen=True)
class Declare:
    name: str
    query: str  # the SELECT, from the text after FOR
    binary: bool = False
    hold: bool = False


@dataclass(frozen=True)
class Fetch:
    name: str
    count: int | None  # None: ALL
    move: bool = False  # MOVE: advance without returning rows


@dataclass(frozen=True)
class Close:
    name: str | None  # None: ALL


@dataclass(frozen=True)
class _Lead:
    """The statement's first word as a token (tokenizers read DECLARE as a command whose rest
    is one string: the rest is tokenized on its own)."""

    text: str
    end: int
    token_type: object = None


def _tokens(sql: str) -> list[object]:
    head = len(sql) - len(sql.lstrip())
    word_end = head
    while word_end < len(sql) and sql[word_end].isalpha():
        word_end += 1
    try:
        rest = list(sqlglot.Dialect.get_or_raise("postgres").tokenize(sql[word_end:]))
    except SqlglotError:
        raise CursorError("42601", "cannot parse the cursor statement") from None
    for token in rest:  # positions in `sql`
        token.start += word_end
        token.end += word_end
    tokens: list[object] = [_Lead(sql[head:word_end], word_end - 1), *rest]
    while tokens and getattr(tokens[-1], "token_type", None) == TokenType.SEMICOLON:
        tokens.pop()
    return tokens


def _word(token: object) -> str:
    return str(getattr(token, "text", "")).lower()


def _name(token: object) -> str:
    """A cursor name: an identifier as written when quoted, else folded to lower case."""
    kind = getattr(token, "token_type", None)
    text = str(getattr(token, "text", ""))
    if kind == TokenType.IDENTIFIER:
        return text
    if kind in (TokenType.VAR,) or (text.replace("_", "").isalnum() and text[:1].isalpha()):
        return text.lower()
    raise CursorError("42601", "a cursor name is expected")


def parse_declare(sql: str) -> Declare:
    tokens = _tokens(sql)
    if len(tokens) < 4 or _word(tokens[0]) != "declare":
        raise CursorError("42601", "cannot parse DECLARE")
    name = _name(tokens[1])
    binary = hold = False
    i = 2
    while i < len(tokens) and _word(tokens[i]) != "cursor":
        word = _word(tokens[i])
        if word == "binary":
            binary = True
        elif word == "no" and i + 1 < len(tokens) and _word(tokens[i + 1]) == "scroll":
            i += 1  # NO SCROLL: what every cursor here is
        elif word not in ("insensitive", "asensitive"):
            raise CursorError("0A000", f"DECLARE … {word.upper()} is not supported by the gateway "
                                       "(cursors move forward only)")
        i += 1
    i += 1
    if i + 1 < len(tokens) and _word(tokens[i]) in ("with", "without") and _word(tokens[i + 1]) == "hold":
        hold = _word(tokens[i]) == "with"
        i += 2
    if i >= len(tokens) or _word(tokens[i]) != "for" or i + 1 >= len(tokens):
        raise CursorError("42601", "cannot parse DECLARE (… CURSOR FOR <select>)")
    start = int(getattr(tokens[i], "end", 0)) + 1
    return Declare(name, sql[start:].strip().rstrip(";"), binary, hold)


def parse_fetch(sql: str) -> Fetch:
    """FETCH or MOVE: [NEXT | FORWARD [n | ALL] | n | ALL] [FROM | IN] name."""
    tokens = _tokens(sql)
    move = bool(tokens) and _word(tokens[0]) == "move"
    words = tokens[1:]
    if not words:
        raise CursorError("42601", "cannot parse FETCH")
    count: int | None = 1
    first = _word(words[0])
    if first in ("prior", "first", "last", "absolute", "relative", "backward"):
        raise CursorError("0A000", f"FETCH {first.upper()} is not supported by the gateway (cursors move "
                                   "forward only)")
    if first == "next":
        words = words[1:]
    elif first == "forward":
        words = words[1:]
        if words and _word(words[0]) == "all":
            count, words = None, words[1:]
        elif words and getattr(words[0], "token_type", None) == TokenType.NUMBER:
            count, words = int(_word(words[0])), words[1:]
    elif first == "all":
        count, words = None, words[1:]
    elif getattr(words[0], "token_type", None) in (TokenType.NUMBER, TokenType.DASH):
        if getattr(words[0], "token_type", None) == TokenType.DASH:
            raise CursorError("0A000", "FETCH backwards is not supported by the gateway")
        count, words = int(_word(words[0])), words[1:]
    if words and _word(words[0]) in ("from", "in"):
        words = words[1:]
    if len(words) != 1:
        raise CursorError("42601", "cannot parse FETCH (FETCH [FORWARD] [n | ALL] FROM name)")
    return Fetch(_name(words[0]), count, move)


def parse_close(sql: str) -> Close:
    tokens = _tokens(sql)
    if len(tokens) != 2:
        raise CursorError("42601", "cannot parse CLOSE (CLOSE name | ALL)")
    return Close(None if _word(tokens[1]) == "all" else _name(tokens[1]))
