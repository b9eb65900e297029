"""SQL rendering, part 1: the dialects, the HMAC key for `hash`, and the parameter markers that
carry it (the key never appears in SQL text: the SQL references parameters and
`hash_parameters(key, dialect)` gives their values to bind at execution time, by name; Trino
only has positional `?` markers, whose values in order `positional_parameters(tree, params)`
gives). The other parts: `sql_masks` (one class per dialect), `sql_filters` (row filters), `sql`
(the enforced SELECT).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

DIALECTS: tuple[str, ...] = ("duckdb", "trino", "spark", "snowflake", "bigquery", "postgres")
# DuckDB parameter names carrying the HMAC pads (derived from the key, never the key itself)
IPAD_PARAM, OPAD_PARAM, KEY_PARAM = "pe_hmac_ipad", "pe_hmac_opad", "pe_hash_key"
# meta key on a placeholder the renderer placed, naming the parameter whose value it takes
_PARAM_META = "pe_param"
# Postgres markers are generated under this random name first and renamed to `%(name)s` only
# where the renderer placed them (see `escape_pyformat`): a literal holding `%(pe_hash_key)s`
# stays a literal, and a text holding the random name is refused (it cannot be told apart)
_MARKER_TOKEN = f"pe_marker_{secrets.token_hex(12)}_"


class RenderError(ValueError):
    """A decision cannot be rendered faithfully in this dialect (missing function, unknown type...)."""


class UnkeyedHash(RenderError):
    """A decision masks with `hash` and no HMAC key is given: plain SHA-256 of a guessable value
    (a name, an IP address) is confirmed by hashing a guess, so rendering refuses unless the
    caller explicitly allows it (`allow_unkeyed_hash=True`)."""


def resolve_key(hash_key: bytes | str | None) -> bytes | None:
    """Normalise a `hash_key` argument (bytes, text or None; empty is None) to bytes or None.

    The key is always passed in: nothing here reads a configuration file or the environment
    (the project's key is `policyengine.config.load_config().hash_key`, read from the variable
    its `hash_key_env` names)."""
    if isinstance(hash_key, str):
        return hash_key.encode("utf-8") or None
    if hash_key is not None and not isinstance(hash_key, bytes):
        raise TypeError(f"hash_key must be bytes, text or None, not {type(hash_key).__name__}")
    return hash_key or None


def keyed_hash(hashed: Sequence[str], key: bytes | None, allow_unkeyed_hash: bool,
               key_env: str | None = None) -> bool:
    """The unkeyed-hash rule, the one place it is applied: whether the `hashed` columns (named
    as the message should name them) are rendered with the HMAC `key`. Without a key they are
    refused (UnkeyedHash) unless `allow_unkeyed_hash`, then plain SHA-256. `key_env`: the
    variable the caller reads the key from (policyengine.yaml's `hash_key_env`), named in the
    message when known."""
    if hashed and key is None and not allow_unkeyed_hash:
        where = f"${key_env}" if key_env else ("the variable hash_key_env names in policyengine.yaml, "
                                               "POLICYENGINE_HASH_KEY by default")
        raise UnkeyedHash(f"{', '.join(hashed)} {'is' if len(hashed) == 1 else 'are'} masked with 'hash' but no HMAC "
                          "key is given (plain SHA-256 of a guessable value can be confirmed by hashing a guess); "
                          f"set the key ({where}) or allow unkeyed hashing explicitly "
                          "(allow_unkeyed_hash: true in policyengine.yaml, --allow-unkeyed-hash)")
    return bool(hashed) and key is not None


def check_dialect(dialect: str) -> str:
    """The dialect name, or a RenderError listing the supported ones."""
    if dialect not in DIALECTS:
        raise RenderError(f"unsupported SQL dialect {dialect!r}; supported: {', '.join(DIALECTS)}")
    return dialect


# ---------------------------------------------------------------- HMAC parameters


@functools.lru_cache(maxsize=8)
def _hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA-256 pads for `key` (RFC 2104); remembered for a few keys (a
    gateway binds them to every statement; the process holds its key anyway)."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hash_parameters(key: bytes | str | None, dialect: str = "duckdb") -> dict[str, Any]:
    """Values for the parameters a keyed `hash` mask references, by name (empty without a key).

    DuckDB has SHA-256 but no HMAC, so its SQL composes HMAC from the two pads; Trino and
    Postgres (pgcrypto) take the key itself. Either way the SQL text holds only parameter markers.
    In Trino each `?` marker takes `KEY_PARAM`'s value: see `positional_parameters`.
    """
    raw = resolve_key(key)
    if raw is None:
        return {}
    if dialect == "duckdb":
        ipad, opad = _hmac_pads(raw)
        return {IPAD_PARAM: ipad, OPAD_PARAM: opad}
    return {KEY_PARAM: raw}


def parameter(name: str, style: str) -> exp.Placeholder:
    """A parameter marker in a dialect's `style` (`SqlMasks.PARAMETERS`): "named" (`$name`,
    `:name`), "pyformat" (Postgres: `%(name)s`, under a random name until `escape_pyformat`), or
    "positional": an anonymous `?` that remembers `name` for `positional_parameters`."""
    if style == "pyformat":
        marker = exp.Placeholder(this=_MARKER_TOKEN + name)
    elif style == "named":
        marker = exp.Placeholder(this=name)
    else:
        marker = exp.Placeholder()
    marker.meta[_PARAM_META] = name
    return marker


def placed_markers(tree: exp.Expression) -> int:
    """How many parameter markers the renderer placed in `tree` (what `escape_pyformat` expects)."""
    return sum(1 for node in tree.walk() if isinstance(node, exp.Placeholder) and _PARAM_META in node.meta)


def positional_parameters(tree: exp.Expression, params: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values to bind to the anonymous `?` markers of `tree`, in the order they appear in its
    SQL (depth-first, as sqlglot generates): each marker's value is `params[its name]`.

    For a Trino query holding several enforced SELECTs (e.g. a gateway rewrite), call this on the
    final tree: every keyed `hash` column adds one `?` taking the key. Raises RenderError for a
    `?` that is not one of ours (a user's placeholder would otherwise receive the key)."""
    values: list[Any] = []
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Placeholder) and not node.this:
            name = node.meta.get(_PARAM_META)
            if name is None or name not in params:
                raise RenderError(f"the SQL has a positional parameter {node.sql()} that enforcement did not put "
                                  "there (or whose value is not given); refusing to bind the hash key to it")
            values.append(params[name])
    return tuple(values)


def escape_pyformat(sql: str, dialect: str, params: Mapping[str, Any], *, placed: int = 0) -> str:
    """Postgres SQL with `%(name)s` markers is run through psycopg's %-substitution, which also
    acts on every other `%` in the text — in a literal (`LIKE 'a%'`) or in an identifier. So with
    parameters bound, every `%` is doubled (`%%`: one literal `%` after substitution), and only the
    markers the renderer placed — generated under a random name no literal can hold — become
    `%(name)s`. `placed` is how many it placed (`placed_markers`); finding another number refuses
    (RenderError): the key is never bound at a marker that was not ours. Never re-scans for
    `%(name)s` itself, so a consumer attribute `%(pe_hash_key)s` stays a literal."""
    if dialect != "postgres" or not params:
        if _MARKER_TOKEN in sql:
            raise RenderError("the SQL holds the renderer's marker name outside a marker; refusing to bind")
        return sql
    escaped = sql.replace("%", "%%")
    found = 0
    for name in params:
        marker = f"%%({_MARKER_TOKEN}{name})s"
        found += escaped.count(marker)
        escaped = escaped.replace(marker, f"%({name})s")
    if found != placed or _MARKER_TOKEN in escaped:
        raise RenderError("the SQL does not hold exactly the parameter markers enforcement placed; "
                          "refusing to bind the hash key")
    return escaped
