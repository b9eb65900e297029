"""Shared fixtures: the fixture catalog and attribute schema, and a private parse cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policyengine.catalog.consumers import AttributeSchema, load_directory
from policyengine.catalog.contracts import Catalog, load_catalog

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
PRODUCTS = FIXTURES / "products"
CONSUMERS = FIXTURES / "consumers.yaml"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory):
    """Parse-cache entries of the tests go to a temporary folder, never to the user's cache."""
    old = os.environ.get("POLICYENGINE_CACHE_DIR")
    os.environ["POLICYENGINE_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))
    yield
    if old is None:
        os.environ.pop("POLICYENGINE_CACHE_DIR", None)
    else:
        os.environ["POLICYENGINE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog(PRODUCTS)


@pytest.fixture(scope="session")
def schema() -> AttributeSchema:
    directory = load_directory(CONSUMERS)
    assert directory.schema is not None
    return directory.schema
