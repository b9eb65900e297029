"""Keyed hash over a real Trino, each configuration in turn (serve restarted on the port Trino
asks; the tests' own serve is restored after).

A Trino column mask is SQL text: it cannot carry a bind parameter, so a keyed `hash`
(HMAC-SHA-256) would have to inline the key. bob's sales.orders has `customer_name` and
`client_ip` masked with `hash`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

import policyengine
from tests.engines import seed
from tests.engines.conftest import differences
from tests.engines.test_conformance import _load_mesh
from tests.engines.test_trino_leaks import _run
from tests.engines.trino_server import trino_settings

pytestmark = pytest.mark.trino

KEY = "trino-test-hmac-key-5d41402abc4b2a76"  # read by serve from POLICYENGINE_HASH_KEY
HASHED = ("customer_name", "client_ip")


@pytest.fixture
def restart(trino_stack) -> Iterator:
    """Restart serve with other settings; the default serve again after the test."""
    yield trino_stack.start_serve
    trino_stack.start_serve()


def _enforced(key: bytes | None) -> tuple[list[str], list[tuple]]:
    mesh = _load_mesh()
    view = policyengine.enforce(seed.mesh_tables()["sales.orders"], mesh.evaluate("bob", "sales.orders"),
                                hash_key=key, allow_unkeyed_hash=key is None)
    return list(view.column_names), [tuple(r.values()) for r in view.to_pylist()]


def _b64(key: str) -> str:
    return base64.b64encode(key.encode()).decode()


def _refused_as_unreadable(stack) -> None:
    for column in HASHED:
        cols, got = _run(stack, f"SELECT {column} FROM orders")
        assert cols is None and got.startswith("PERMISSION_DENIED"), got
    cols, _ = _run(stack, "SELECT * FROM orders")
    assert cols is not None and not set(HASHED) & set(cols)


def test_key_set_without_the_opt_in_refuses_the_column(restart, trino_stack) -> None:
    """The default with a key: no mask can carry it, so the column is unreadable (never weaker)."""
    restart(env={"POLICYENGINE_HASH_KEY": KEY})
    _refused_as_unreadable(trino_stack)
    cols, got = _run(trino_stack, "EXPLAIN SELECT * FROM orders")
    assert KEY.encode().hex() not in got[0][0].lower() and _b64(KEY) not in got[0][0]


def test_no_key_and_no_unkeyed_opt_in_refuses_the_column(restart, trino_stack) -> None:
    """No key and no `allow_unkeyed_hash`: a plain SHA-256 of a guessable value is refused too."""
    restart(allow_unkeyed_hash=False)
    _refused_as_unreadable(trino_stack)


def test_opt_in_inlines_the_key_and_any_consumer_can_read_it(restart, trino_stack) -> None:
    """`accept_key_in_query_text: true`: Trino computes HMAC-SHA-256 exactly as enforce() does, and
    the key is in the plan: bob (any consumer who may read the column) reads it with EXPLAIN, and
    Trino keeps it wherever it records plans (EXPLAIN ANALYZE, the web UI's query details, event
    listeners that log plans)."""
    restart(trino_settings(accept_key_in_query_text=True), env={"POLICYENGINE_HASH_KEY": KEY})
    want_cols, want = _enforced(KEY.encode())
    cols, got = _run(trino_stack, "SELECT * FROM orders")
    assert cols == want_cols
    assert not differences(cols, got, want)
    _, plan = _run(trino_stack, "EXPLAIN SELECT customer_name FROM orders")
    assert _b64(KEY) in plan[0][0]  # the documented price of the opt-in (a varbinary literal, base64)


def test_unkeyed_opt_in_is_plain_sha256(trino_stack) -> None:
    """The tests' default serve (`allow_unkeyed_hash: true`, no key): enforce()'s plain SHA-256."""
    want_cols, want = _enforced(None)
    cols, got = _run(trino_stack, "SELECT * FROM orders")
    assert cols == want_cols and not differences(cols, got, want)
