"""The leak corpus (tests/enforce/leak_corpus) sent over the wire as psycopg sends it, as bob:
nothing hidden comes back in any result or error message; a single statement the Gateway library
call refuses is refused over the wire too, and one it runs returns the same rows. A text of
several statements is cut and each piece is enforced on its own (test_wire_clients.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "enforce" / "leak_corpus"))

from leak_attacks import ATTACKS, Attack  # noqa: E402
from test_leak_corpus import _leaks, engine, hidden  # noqa: E402,F401 (module fixtures reused)

from policyengine.enforce.gateway import GatewayError  # noqa: E402
from policyengine.wire import introspection  # noqa: E402
from policyengine.wire.server import core_text, split_statements  # noqa: E402


def answered_by_the_server(sql: str) -> bool:
    """SHOW, SET, version(), current_user, pg_catalog...: the server answers these itself from the
    consumer's catalog (policyengine.wire.introspection), never from the engine's; where the library
    refuses them the wire may answer, so only the no-leak checks apply (docs/gateway.md)."""
    return introspection.claims(core_text(sql))


@pytest.fixture(scope="module")
def conn(wire):
    with psycopg.connect(wire.dsn(), autocommit=True) as connection:
        yield connection


def _texts(rows: list[tuple]) -> list[str]:
    return [str(v) for row in rows for v in row if v is not None]


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.klass}:{a.sql[:60]}")
def test_leak_corpus_over_the_wire(attack: Attack, conn, wire_gateway, hidden) -> None:  # noqa: F811
    bob = wire_gateway.engine.consumers.get("bob")
    results: list[list[tuple]] = []
    try:
        cur = conn.execute(attack.sql)
        while True:
            results.append(cur.fetchall() if cur.description else [])
            if not cur.nextset():
                break
        error = None
    except psycopg.Error as exc:
        error = exc
        assert not _leaks([str(exc)], hidden), f"the error quotes hidden values: {exc}"
    for rows in results:
        assert not _leaks(_texts(rows), hidden), "hidden values came back"
    if len(split_statements(attack.sql)) != 1 or answered_by_the_server(attack.sql):
        return
    try:
        library = wire_gateway.query(attack.sql, bob)
    except GatewayError:
        assert error is not None, f"the library refuses it, the wire ran it: {results[:1]}"
        return
    assert error is None, f"the library runs it, the wire refused it: {error}"
    want = [tuple(r.values()) for r in library.to_pylist()]
    assert len(results) == 1 and sorted(results[0], key=repr) == sorted(want, key=repr)  # no ORDER BY


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: f"{a.klass}:{a.sql[:60]}")
def test_leak_corpus_in_binary_over_the_extended_protocol(attack: Attack, conn, wire_gateway,  # noqa: F811
                                                         hidden) -> None:  # noqa: F811
    """The same attacks as psycopg's binary cursors send them (Parse/Bind/Execute, binary
    results): nothing hidden in any cell or error; the library's refusals and rows."""
    try:
        rows = conn.cursor(binary=True).execute(attack.sql, prepare=True).fetchall()
        error = None
    except psycopg.Error as exc:
        rows, error = [], exc
        assert not _leaks([str(exc)], hidden), f"the error quotes hidden values: {exc}"
    assert not _leaks(_texts(rows), hidden), "hidden values came back"
    if len(split_statements(attack.sql)) != 1 or answered_by_the_server(attack.sql):
        return
    try:
        library = wire_gateway.query(attack.sql, wire_gateway.engine.consumers.get("bob"))
    except GatewayError:
        assert error is not None, f"the library refuses it, the wire ran it: {rows[:1]}"
        return
    assert error is None, f"the library runs it, the wire refused it: {error}"
    want = [tuple(r.values()) for r in library.to_pylist()]
    assert sorted(rows, key=repr) == sorted(want, key=repr)
