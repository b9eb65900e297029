"""The JSON API's reply documents (serve/replies.py) encode to exactly `Decision.to_dict()`."""

from __future__ import annotations

import datetime as dt

import orjson
from serve_helpers import ROOT

from policyengine.config import load_config
from policyengine.engine.loading import load
from policyengine.serve.replies import DecisionDocuments


def test_documents_encode_like_to_dict_for_every_consumer_and_product() -> None:
    cfg = load_config(ROOT / "policyengine.yaml")
    engine = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    docs = DecisionDocuments(size=3)  # small: encodings are dropped and redone along the way
    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    checked = 0
    for consumer in [*engine.consumers, "nobody", {"id": "x", "groups": ["analytics"]}]:
        for product in [*engine.catalog.products, "no.such"]:
            for purpose in (None, "reporting"):
                for use_cache in (True, False):
                    d = engine.evaluate(consumer, product, None, purpose, at, use_cache=use_cache)
                    assert orjson.dumps(docs.document(d)) == orjson.dumps(d.to_dict())
                    checked += 1
    assert checked > 100
    assert len(docs) <= 3


def test_a_decision_changed_after_the_engine_is_encoded_afresh() -> None:
    """Documents are shared by `Decision.outcome_key`; a copy with other columns (dataclasses.replace)
    or a decision built by hand has no key, so it never gets another decision's document."""
    import dataclasses
    from types import MappingProxyType

    cfg = load_config(ROOT / "policyengine.yaml")
    engine = load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    docs = DecisionDocuments()
    d = engine.evaluate("alice", "sales.orders", None, "reporting", dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert d.outcome_key is not None and orjson.dumps(docs.document(d)) == orjson.dumps(d.to_dict())
    first = next(iter(d.columns))
    fewer = dataclasses.replace(d, columns=MappingProxyType({first: d.columns[first]}))
    assert fewer.outcome_key is None
    assert orjson.dumps(docs.document(fewer)) == orjson.dumps(fewer.to_dict())
