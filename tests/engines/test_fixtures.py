"""The engine fixtures' own contract: a missing engine package fails CI and skips locally; the
gateway renders time-zone columns as instants (the real type, not the contract's `timestamp`)."""

from __future__ import annotations

import dataclasses

import pytest

import policyengine
from policyengine import ColumnDecision, Decision, RuleRef
from policyengine.enforce import RenderError, render
from policyengine.enforce.gateway import Gateway, _column_types
from tests.engines import conftest

MISSING = "pe_no_such_engine_package"


def test_missing_engine_package_fails_under_ci(monkeypatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match=f"needs the Python package providing '{MISSING}'"):
        conftest.require(MISSING, "the test")


def test_missing_engine_package_skips_locally(monkeypatch) -> None:
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"pip install -e '\.\[dev\]'"):
        conftest.require(MISSING, "the test")


@pytest.fixture(scope="module")
def mesh():
    return policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")


def test_duckdb_gateway_passes_zoned_types_of_its_tables(mesh) -> None:
    gateway = Gateway(mesh, hash_key=None)
    assert gateway.types["sales.orders"] == {"created_at": "timestamptz"}  # the contract says `timestamp`
    assert gateway.types["hr.payroll"] == {}


def test_column_types_from_physical_type_and_overrides(mesh) -> None:
    meta = mesh.catalog.products["sales.orders"]
    assert _column_types(meta, "sales.orders", None)["created_at"] == "timestamp"
    assert _column_types(meta, "sales.orders", {"sales.orders": {"created_at": "timestamptz"}})["created_at"] \
        == "timestamptz"
    assert _column_types(meta, "sales.orders", lambda p: {"created_at": "timestamptz"})["created_at"] == "timestamptz"
    for physical in ("timestamptz", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_LTZ"):
        zoned = dataclasses.replace(meta, columns=tuple(
            dataclasses.replace(c, physical_type=physical) if c.name == "created_at" else c for c in meta.columns))
        assert _column_types(zoned, "sales.orders", None)["created_at"] == "timestamptz"
        assert _column_types(zoned, "sales.orders", None)["shipped_on"] == "date"


def test_postgres_round_keeps_the_column_type_or_refuses() -> None:
    """`round` on Postgres returns the column's own type (NUMERIC was returned without `types`)."""
    d = Decision("t.p", "c", {"v": ColumnDecision("v", "mask", "round", {"digits": 2}, RuleRef("r", "f", 1, "mask"))})
    with pytest.raises(RenderError, match="needs the column's type"):
        render(d, "t", "postgres", hash_key=None)
    assert "AS DOUBLE PRECISION" in render(d, "t", "postgres", types={"v": "number"}, hash_key=None).sql
    tens = Decision("t.p", "c", {"v": ColumnDecision("v", "mask", "round", {"digits": -1},
                                                     RuleRef("r", "f", 1, "mask"))})
    assert "AS BIGINT" in render(tens, "t", "postgres", types={"v": "integer"}, hash_key=None).sql
