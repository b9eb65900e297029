"""`policyengine scan --engine spark`: the per-batch stage on Spark gives the local scanner's findings.

The merge of partial statistics is checked as a property (pure Python, no Spark): associative,
commutative, and equal to summarising the whole batch at once. The Spark tests run on the test
session's one local SparkSession (tests/conftest.py: spark_session), over a Parquet dataset of
several files cut into several partitions, so the driver-side merge is exercised.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.scan import scan_paths, to_json
from policyengine.scan import spark as on_spark
from policyengine.scan.stats import merge, partial_stats, partial_stats_at

SAMPLE = 50

# ----------------------------------------------------------------- the merge (pure, no Spark)

values = st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=0, max_size=120)


def _partials_of(column: list[str | None], cuts: list[int], seed: int) -> list:
    arr = pa.array(column, pa.string())
    batch = pa.RecordBatch.from_arrays([arr], names=["c"])
    bounds = sorted({0, len(column), *(c % (len(column) + 1) for c in cuts)})
    return [partial_stats(batch.slice(a, b - a), a, SAMPLE, seed)[0] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=60, deadline=None)
@given(values, st.lists(st.integers(0, 200), max_size=5), st.integers(0, 2**31), st.randoms(use_true_random=False))
def test_merge_is_associative_commutative_and_exact(column, cuts, seed, rnd) -> None:
    parts = _partials_of(column, cuts, seed)
    whole = partial_stats(pa.RecordBatch.from_arrays([pa.array(column, pa.string())], names=["c"]), 0, SAMPLE, seed)[0]
    if not parts:
        return
    left = parts[0]
    for p in parts[1:]:
        left = merge(left, p, SAMPLE)
    shuffled = parts[:]
    rnd.shuffle(shuffled)
    right = shuffled[-1]
    for p in reversed(shuffled[:-1]):  # another order, another grouping
        right = merge(p, right, SAMPLE)
    assert (left.keys, left.values, left.rows, left.nulls) == (right.keys, right.values, right.rows, right.nulls)
    assert (left.keys, left.values, left.rows, left.nulls) == (whole.keys, whole.values, whole.rows, whole.nulls)
    if len(parts) >= 3:
        a, b, c = parts[:3]
        assert merge(merge(a, b, SAMPLE), c, SAMPLE) == merge(a, merge(b, c, SAMPLE), SAMPLE)


def test_rows_anywhere_in_a_file_give_the_same_partials() -> None:
    """A Spark task's rows carry their row numbers in the file: same keys, same sample."""
    column = [f"v{i}" if i % 7 else None for i in range(500)]
    batch = pa.RecordBatch.from_arrays([pa.array(column, pa.large_string())], names=["c"])
    local = partial_stats(batch, 0, SAMPLE, 3)[0]
    spark_read = pa.RecordBatch.from_arrays([pa.array(column, pa.string())], names=["c"])  # Spark's own type
    at = partial_stats_at(spark_read, np.arange(500), SAMPLE, 3, {"c": pa.large_string()})[0]
    assert at == local


def test_partials_round_trip_as_plain_data() -> None:
    batch = pa.RecordBatch.from_arrays([pa.array(["a@b.io", None, "x" * 2000]), pa.array([1, 2, None])], names=["e", "n"])
    parts = partial_stats(batch, 10, SAMPLE, 0)
    assert on_spark.decode(on_spark.encode(parts)) == parts
    json.loads(on_spark.encode(parts))  # JSON, not pickle, crosses from executors to the driver


# ------------------------------------------------------------------------------ on Spark

def _dataset(folder: Path) -> Path:
    """Four Parquet files, several row groups each: PII only in the later rows of one column and
    only in the last file of another, nulls, an all-null column, names for NER."""
    rng = random.Random(5)
    data = folder / "dataset"
    data.mkdir()
    first = ["Olivia", "Liam", "Emma", "Noah", "Sophia", "Lucas", "Mia", "Ethan", "Amelia", "Mason", "Harper", "Logan"]
    last = ["Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Moore", "Taylor", "Thomas", "Clark"]
    for i in range(4):
        n = 6000
        pq.write_table(pa.table({
            "customer_email": [f"{rng.choice(first).lower()}.{rng.randrange(10**5)}@example.org" if rng.random() > 0.2 else None
                               for _ in range(n)],
            # plain text in the first rows, e-mail addresses in the last rows of each file
            "contact": [f"ticket {j}" if j < 2400 else f"{rng.choice(last).lower()}{j}@mail.example.com" for j in range(n)],
            # phone numbers only in the last file
            "note": [f"batch {rng.randrange(50)}" if i < 3 else f"+1 415 555 {rng.randrange(1000, 9999)}" for _ in range(n)],
            "full_name": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)],
            "mrn": [f"{rng.randrange(10**7, 10**8)}" for _ in range(n)],
            "amount": [round(rng.random() * 100, 2) for _ in range(n)],
            "never": pa.array([None] * n, pa.string()),
        }), data / f"part-{i:05d}.parquet", row_group_size=1000)
    return data


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return _dataset(tmp_path)


@pytest.fixture
def small_partitions(spark_session):
    """Files cut into several Spark partitions (and tasks), so partials of one file are merged."""
    keys = ("spark.sql.files.maxPartitionBytes", "spark.sql.files.openCostInBytes")
    before = {k: spark_session.conf.get(k) for k in keys}
    spark_session.conf.set("spark.sql.files.maxPartitionBytes", str(24 << 10))
    spark_session.conf.set("spark.sql.files.openCostInBytes", "0")
    yield spark_session
    for k, v in before.items():
        spark_session.conf.set(k, v)


def _without_time(report_json: str) -> dict:
    """The whole report but its wall time and the settings block (which names `jobs`)."""
    out = json.loads(report_json)
    out.pop("seconds")
    settings = out.pop("settings")
    return {**out, "sampling": (settings["sample_rows"], settings["seed"], settings["model"])}


def test_spark_gives_the_local_findings(dataset: Path, small_partitions, nlp_model: str) -> None:
    local = scan_paths([dataset], model=nlp_model, jobs=1)
    on = scan_paths([dataset], model=nlp_model, engine="spark", spark=small_partitions)
    assert _without_time(to_json(on)) == _without_time(to_json(local))
    found = {(Path(f["source"]).name, f["column"], f["entity"]) for f in json.loads(to_json(on))["findings"]}
    assert ("part-00003.parquet", "note", "PHONE_NUMBER") in found  # only in the last file
    assert ("part-00000.parquet", "note", "PHONE_NUMBER") not in found
    assert all((f"part-0000{i}.parquet", "contact", "EMAIL_ADDRESS") in found for i in range(4))
    assert ("part-00000.parquet", "full_name", "PERSON") in found  # NER ran on an executor
    assert ("part-00001.parquet", "mrn", "MEDICAL_RECORD_NUMBER") in found


def test_the_driver_merges_several_partials_per_file(dataset: Path, small_partitions) -> None:
    files = sorted(dataset.glob("*.parquet"))
    merged, errors, sent = on_spark.phase1(small_partitions, files, 1000, 0)
    assert not errors and set(merged) == {str(f) for f in files}
    assert sent > 2 * len(files)
    assert {p.rows for parts in merged.values() for p in parts} == {6000}


def test_patterns_only_and_other_seeds_agree_too(dataset: Path, spark_session) -> None:
    for seed, rows in ((7, 300), (0, 5000)):
        local = scan_paths([dataset], model="none", seed=seed, sample_rows=rows, jobs=2)
        on = scan_paths([dataset], model="none", seed=seed, sample_rows=rows, engine="spark", spark=spark_session)
        assert _without_time(to_json(on)) == _without_time(to_json(local))


def test_files_spark_cannot_take_are_reported(tmp_path: Path, spark_session) -> None:
    good = _dataset(tmp_path) / "part-00000.parquet"
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really parquet")
    (tmp_path / "rows.csv").write_text("email\na@example.com\n")
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"email": pa.array([], pa.string())}), empty)
    paths = [good, tmp_path / "broken.parquet", tmp_path / "rows.csv", empty, tmp_path / "missing.parquet"]
    report = json.loads(to_json(scan_paths(paths, model="none", engine="spark", spark=spark_session)))
    issues = {(Path(i["source"]).name, i["severity"]) for i in report["issues"]}
    assert ("broken.parquet", "error") in issues and ("missing.parquet", "error") in issues
    assert ("rows.csv", "error") in issues and ("empty.parquet", "warning") in issues
    assert any(f["column"] == "customer_email" for f in report["findings"])
    messages = " ".join(i["message"] for i in report["issues"])
    assert "example.com" not in messages and "Traceback" not in messages


def test_cli_engine_spark(dataset: Path, spark_session) -> None:
    runner = CliRunner()
    args = ["scan", str(dataset), "--no-catalog", "--model", "none", "--format", "json"]
    local = runner.invoke(app, args)
    on = runner.invoke(app, [*args, "--engine", "spark"])
    assert on.exit_code == local.exit_code == 0, on.output
    assert _without_time(on.stdout) == _without_time(local.stdout)
    assert spark_session.range(1).count() == 1  # the caller's session is left running


def test_cli_without_pyspark_is_a_usage_error(dataset: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` fails as when not installed
    result = CliRunner().invoke(app, ["scan", str(dataset), "--no-catalog", "--engine", "spark"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: scan --engine spark needs pyspark: pip install 'datamesh-policyengine[spark]'"


def test_cli_without_pandas_is_a_usage_error_before_spark_starts(dataset: Path, monkeypatch) -> None:
    """pyspark's mapInArrow refuses to run without pandas: say so once, not once per file."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    result = CliRunner().invoke(app, ["scan", str(dataset), "--no-catalog", "--engine", "spark"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: scan --engine spark needs pandas")


def test_cli_spark_master_needs_the_spark_engine(dataset: Path) -> None:
    result = CliRunner().invoke(app, ["scan", str(dataset), "--no-catalog", "--spark-master", "local[1]"])
    assert result.exit_code == 2 and "--spark-master needs --engine spark" in result.stderr


def test_file_names_are_not_globs(tmp_path: Path, spark_session) -> None:
    """Spark reads paths as Hadoop globs: `orders[1].parquet` would be `orders1.parquet`."""
    odd = tmp_path / "orders[1] {eu}*.parquet"
    pq.write_table(pa.table({"email": [f"user{i}@example.org" for i in range(300)]}), odd)
    (tmp_path / "orders1 eu.parquet").write_bytes(b"")  # what the glob would match instead
    report = json.loads(to_json(scan_paths([odd], model="none", engine="spark", spark=spark_session)))
    assert not report["issues"]
    assert [(f["column"], f["entity"]) for f in report["findings"]] == [("email", "EMAIL_ADDRESS")]


def test_spark_that_cannot_start_is_one_line(tmp_path: Path) -> None:
    """A bad master (or no Java): exit 2, our one line, none of the JVM's stack trace. In a fresh
    process: the test session's SparkSession would otherwise be reused."""
    pytest.importorskip("pyspark")
    import subprocess

    data = tmp_path / "t.parquet"
    pq.write_table(pa.table({"email": ["a@example.org"] * 3}), data)
    proc = subprocess.run(
        [sys.executable, "-c", "from policyengine.cli import main; main()", "scan", str(data), "--no-catalog",
         "--engine", "spark", "--spark-master", "bogus://nowhere", "--model", "none"],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: cannot start Spark (bogus://nowhere): "), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "\tat " not in proc.stderr
