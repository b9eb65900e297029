"""User query parameters (`$1`, `$2`, … as PostgreSQL clients send them) through the rewrite,
bound by the engine and never spliced into SQL text.

The rewrite refuses placeholders in user SQL (the gateway binds its own, the HMAC key). A query
with parameters is therefore rewritten with each `$n` replaced by a **sentinel**, a string
literal no user text can hold by accident: the allow-list and the column checks see a plain
value where the parameter stands, so they decide on the query's shape alone. After the rewrite,
each sentinel token of the rewritten text is replaced by a named engine parameter
(`$pe_arg_n`), and the values are bound by the engine's prepared-statement binding. A parameter
is thus only ever a value: it cannot name a column, a table or a function, and it cannot change
the query's shape. If the rewrite moved, dropped or copied a sentinel (a position where a value
would mean something else, e.g. a unit word), the counts differ and the query is refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

# one per process: stable, so a query text seen before hits the rewrite cache; random, so no
# query written without knowing it holds one by accident (and holding one only refuses)
_NONCE = secrets.token_hex(6)
SENTINEL_PREFIX = f"pe_param_{_NONCE}_"
ARG_PREFIX = "pe_arg_"


class ParameterError(ValueError):
    """Parameters that cannot be bound: a count that does not match, or a parameter standing
    where the rewrite changed what a value there means."""


@dataclass(frozen=True)
class Placeheld:
    """A user query with its `$n` parameters replaced by sentinels: the text for the rewrite and
    how often each parameter number stands in it."""

    text: str
    uses: Mapping[int, int]

    @property
    def count(self) -> int:
        """The number of parameters the query needs: the highest `$n` (PostgreSQL's rule)."""
        return max(self.uses, default=0)


def _tokens(sql: str) -> list[Any] | None:
    try:
        return list(sqlglot.Dialect.get_or_raise("duckdb").tokenize(sql))
    except SqlglotError:
        return None


def sentinel(n: int) -> str:
    return f"{SENTINEL_PREFIX}{n}"


def placehold(sql: str) -> Placeheld:
    """`sql` with each `$n` token (outside strings and comments, as DuckDB's tokenizer reads
    it) replaced by its sentinel literal. Text the tokenizer cannot read is returned as it is:
    the rewrite refuses it with its own message."""
    tokens = _tokens(sql) if "$" in sql else None
    if not tokens:
        return Placeheld(sql, {})
    out: list[str] = []
    uses: dict[int, int] = {}
    last = 0
    for token, after in zip(tokens, tokens[1:], strict=False):
        if (token.token_type == TokenType.PARAMETER and token.text == "$"
                and after.token_type == TokenType.NUMBER and after.start == token.end + 1
                and after.text.isdigit() and 0 < len(after.text) <= 5 and int(after.text) > 0):
            n = int(after.text)
            uses[n] = uses.get(n, 0) + 1
            out += [sql[last:token.start], f"'{sentinel(n)}'"]
            last = after.end + 1
    if not uses:
        return Placeheld(sql, {})
    out.append(sql[last:])
    return Placeheld("".join(out), uses)


def bind(rewritten: str, held: Placeheld, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """The rewritten text with each sentinel literal replaced by its engine parameter, and the
    parameters to bind. ParameterError if `values` does not give every parameter or the
    rewritten text does not hold each sentinel exactly as often as the user's query did."""
    if len(values) < held.count:  # more is allowed: a client may declare parameters it does not use
        raise ParameterError(f"the statement takes {held.count} parameter(s), {len(values)} were bound")
    if not held.uses:
        return rewritten, {}
    tokens = _tokens(rewritten)
    if tokens is None:
        raise ParameterError("the rewritten query cannot be read back (nothing was run)")
    found: dict[int, int] = {}
    out: list[str] = []
    last = 0
    for token in tokens:
        if token.token_type != TokenType.STRING or SENTINEL_PREFIX not in token.text:
            continue
        suffix = token.text.removeprefix(SENTINEL_PREFIX)
        if not suffix.isdigit() or int(suffix) not in held.uses:
            raise ParameterError("a parameter stands where its value would not be a plain value")
        n = int(suffix)
        found[n] = found.get(n, 0) + 1
        out += [rewritten[last:token.start], f"${ARG_PREFIX}{n}"]
        last = token.end + 1
    out.append(rewritten[last:])
    if found != dict(held.uses):
        raise ParameterError("a parameter stands where its value would not be a plain value "
                             "(e.g. a unit or a keyword): write that part inline")
    # a parameter the query does not use (PostgreSQL allows it) is not passed to the engine
    return "".join(out), {f"{ARG_PREFIX}{n}": values[n - 1] for n in held.uses}
