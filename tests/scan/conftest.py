"""Shared fixtures: the spaCy model is loaded once per session (the scanner caches it per process)."""

from __future__ import annotations

import pytest

from policyengine.scan.ner import DEFAULT_MODEL, cached_model


@pytest.fixture(scope="session")
def nlp_model() -> str:
    """The model name, loaded once; tests that need NER depend on this fixture."""
    nlp, why = cached_model(DEFAULT_MODEL)
    if nlp is None:
        pytest.skip(why or "no spaCy model")
    return DEFAULT_MODEL
