"""Fixtures for the decision-service tests."""

from __future__ import annotations

import pytest
from serve_helpers import make_app

from policyengine.serve.app import App


@pytest.fixture(scope="module")
def app() -> App:
    return make_app()
