"""A decision carries its own request's instant in UTC; error decisions carry one too."""

from __future__ import annotations

import datetime as dt

import pytest

import policyengine

from .conftest import GOOD, Run

NINE_Z = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
TEN_PLUS_ONE = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # the same instant


@pytest.fixture
def engine(project: Run):
    project("check", files={"policies/shop.policy": GOOD})
    root = project.root  # type: ignore[attr-defined]
    return policyengine.load(root / "policies", catalog=root / "products", consumers=root / "consumers.yaml")


def test_a_cache_hit_carries_its_own_request_instant_in_utc(engine) -> None:
    first = engine.evaluate("alice", "shop.orders", at=TEN_PLUS_ONE)
    hit = engine.evaluate("alice", "shop.orders", at=NINE_Z)
    assert engine.cache_hits == 1
    assert first.at == hit.at == NINE_Z
    assert first.at.utcoffset() == hit.at.utcoffset() == dt.timedelta(0)
    assert hit.to_dict()["at"] == "2026-06-01T09:00:00+00:00"
    later = engine.evaluate("alice", "shop.orders", at=NINE_Z + dt.timedelta(minutes=5))
    assert later.at == NINE_Z + dt.timedelta(minutes=5)


def test_error_decisions_have_at(engine) -> None:
    broken = engine.evaluate({"id": "x", "groups": 5}, "shop.orders", at=TEN_PLUS_ONE)
    assert broken.error is not None and all(c.effect == "deny" for c in broken.columns.values())
    assert broken.to_dict()["at"] == "2026-06-01T09:00:00+00:00"
    unknown = engine.evaluate({"id": "x", "groups": 5}, "shop.orders")
    assert unknown.to_dict()["at"] is not None


def test_a_consumer_by_id_without_a_consumers_file_says_what_is_missing(project: Run) -> None:
    project("check", files={"policies/shop.policy": GOOD})
    root = project.root  # type: ignore[attr-defined]
    engine = policyengine.load(root / "policies", catalog=root / "products")
    d = engine.evaluate("alice", "shop.orders")
    assert d.error is not None and "no consumers file lists it" in d.error
