"""The scan pipeline: files → partial stats per batch → merge → evidence → NER → decide.

Phase 1 (read and summarise) is the only phase that touches all rows. It runs per task (a file,
or a range of Parquet row groups of a large file) on a pool of threads: reading, decoding,
casting and the bottom-k selection run in pyarrow and NumPy, which release the GIL, and threads
cost nothing to start (worker processes cost ~0.5 s of imports each, more than they saved, and
re-imported the caller's `__main__`). Tasks return `ColumnPartial`s that are merged. The later
phases only see the bounded samples. Meanwhile the spaCy model loads in a child process
(`nerprocess`; in a thread of this process on a single core), and runs once over all columns
that need it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from policyengine.scan.classify import (
    ColumnEvidence,
    ColumnVerdict,
    decide,
    evidence,
    needs_ner,
    ner_values,
)
from policyengine.scan.entities import BUILTIN, Recognizer
from policyengine.scan.gazetteer import gazetteer
from policyengine.scan.headers import redacted_name
from policyengine.scan.ner import DEFAULT_MODEL, cached_model
from policyengine.scan.nerprocess import NerInChild, ner_runner
from policyengine.scan.reader import (
    BATCH_ROWS,
    ReadError,
    format_of,
    header_row_is_data,
    iter_batches,
    iter_row_groups,
    short_error,
    walk,
)
from policyengine.scan.recognizers import MatchTable, distinct_values
from policyengine.scan.stats import (
    ColumnPartial,
    ColumnSample,
    merge_all,
    merge_many,
    partial_stats,
)

PARALLEL_MIN_BYTES = 48 << 20  # a Parquet file this large is cut into row-group tasks
MERGE_EVERY = 32  # a column's batch partials are merged in one step once this many wait


@dataclass(frozen=True)
class ScanSettings:
    """How to scan: sample size, seed, model, parallelism and the recognizers to run."""

    sample_rows: int = 1000
    seed: int = 0
    model: str = DEFAULT_MODEL
    jobs: int | None = None
    recognizers: tuple[Recognizer, ...] = BUILTIN
    extra_hints: tuple[tuple[str, str, float], ...] = ()  # (column-name word, entity, strength)
    progress: bool = False
    engine: str = "local"  # local | spark (phase 1 and NER as Spark tasks: `scan.spark`)
    spark_master: str | None = None  # default $POLICYENGINE_SPARK_MASTER, else local[*]


@dataclass(frozen=True)
class FileIssue:
    """A per-file (or per-column) problem: one line, never a data value."""

    source: str
    severity: str  # error | warning | info
    message: str


@dataclass(frozen=True)
class FileResult:
    """The decided columns of one file, or the reason it could not be scanned."""

    source: str
    columns: tuple[ColumnVerdict, ...] = ()
    rows: int = 0
    issues: tuple[FileIssue, ...] = ()


@dataclass(frozen=True)
class ScanOutcome:
    """Everything the pipeline produced; `report.build_report` turns it into a ScanReport."""

    files: tuple[FileResult, ...]
    seconds: float
    model: str | None
    notes: tuple[str, ...] = field(default=())
    settings: ScanSettings = field(default_factory=ScanSettings)


@dataclass(frozen=True)
class _Task:
    path: str
    row_groups: tuple[int, ...] | None
    start_row: int


def _run_task(
    task: _Task, sample_rows: int, seed: int, use_threads: bool = False, skipped: list[int] | None = None
) -> tuple[tuple[ColumnPartial, ...], str | None]:
    """Phase 1 for one task: stream its batches, merging partial stats as they come.
    `use_threads`: let pyarrow decode a Parquet file's columns in parallel (for a lone task).
    `skipped`: a one-item counter the CSV reader adds its skipped malformed rows to."""
    path = Path(task.path)
    pending: dict[str, list[ColumnPartial]] = {}  # per column, partials not merged yet
    row = task.start_row
    try:
        if task.row_groups is not None:
            batches: Iterable = iter_row_groups(path, list(task.row_groups), BATCH_ROWS, use_threads)
        else:
            batches = iter_batches(path, use_threads=use_threads, skipped=skipped)
        for batch in batches:
            for p in partial_stats(batch, row, sample_rows, seed):
                parts = pending.setdefault(p.name, [])
                parts.append(p)
                if len(parts) >= MERGE_EVERY:  # bounded memory, however many batches
                    pending[p.name] = [merge_many(parts, sample_rows)]
            row += batch.num_rows
    except ReadError as exc:
        return (), str(exc)
    except MemoryError:
        return (), "out of memory while reading"
    except Exception as exc:  # corrupt data can raise from deep inside pyarrow
        return (), f"cannot read: {type(exc).__name__}: {short_error(exc)}"
    return tuple(merge_many(parts, sample_rows) for parts in pending.values()), None


def _tasks(path: Path, jobs: int) -> list[_Task]:
    """One task per file, or per group of Parquet row groups for a large Parquet file."""
    if jobs > 1 and format_of(path) == "parquet" and path.exists() and path.stat().st_size >= PARALLEL_MIN_BYTES:
        try:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            n = meta.num_row_groups
            if n > 1:
                starts, total = [], 0
                for i in range(n):
                    starts.append(total)
                    total += meta.row_group(i).num_rows
                per = -(-n // jobs)
                return [
                    _Task(str(path), tuple(range(i, min(n, i + per))), starts[i]) for i in range(0, n, per)
                ]
        except Exception:
            pass  # unreadable metadata: the plain reader reports the error
    return [_Task(str(path), None, 0)]


def _progress(items: Sequence, enabled: bool, desc: str):
    if enabled and sys.stderr.isatty() and not os.environ.get("CI"):
        try:
            from tqdm import tqdm

            return tqdm(items, desc=desc, unit="file", leave=False, file=sys.stderr)
        except ImportError:
            pass
    return items


def _phase1(
    files: list[Path], settings: ScanSettings, workers: int
) -> tuple[dict[str, tuple[tuple[ColumnSample, ...], int, str | None]], dict[str, int]]:
    """Read and summarise `files` on `workers` threads (one task per thread; a lone task lets
    pyarrow decode its columns in parallel instead). Also gives, per file, the malformed CSV rows
    skipped (a file with more of them than good rows is an error instead)."""
    tasks = [t for f in files for t in _tasks(f, workers)]
    results: dict[str, list[tuple[tuple[ColumnPartial, ...], str | None]]] = {str(f): [] for f in files}
    skipped: dict[str, list[int]] = {str(f): [0] for f in files}
    if workers > 1 and len(tasks) > 1:
        pool = ThreadPoolExecutor(max_workers=min(workers, len(tasks)), thread_name_prefix="scan")
        try:
            futures = [(t, pool.submit(_run_task, t, settings.sample_rows, settings.seed, False, skipped[t.path]))
                       for t in tasks]
            for t, fut in _progress(futures, settings.progress, "scanning"):
                results[t.path].append(fut.result())
        except BaseException:  # Ctrl-C: the queued tasks are cancelled, not run to the end
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    else:
        for t in _progress(tasks, settings.progress, "scanning"):
            results[t.path].append(_run_task(t, settings.sample_rows, settings.seed, workers > 1, skipped[t.path]))
    out = {}
    for path, parts in results.items():
        error = next((e for _, e in parts if e), None)
        samples = merge_all([p for p, _ in parts], settings.sample_rows) if error is None else ()
        rows = sum(part[0].rows for part, _ in parts if part) if error is None else 0
        bad = skipped[path][0]
        if error is None and bad > rows:  # more malformed rows than good ones: not a CSV of this shape
            error = f"cannot read as csv: {bad} of {bad + rows} rows have another number of fields than the header"
            samples, rows = (), 0
        out[path] = (samples, rows, error)
    return out, {path: n[0] for path, n in skipped.items() if n[0] and out[path][2] is None}


def _phase1_spark(files: list[Path], settings: ScanSettings, spark: Any) -> dict[str, tuple[tuple[ColumnSample, ...], int, str | None]]:
    """Phase 1 on Spark for the Parquet files; missing files, files without rows and files that
    are not Parquet are handled here as the local scan handles them (or reported)."""
    from policyengine.scan import spark as on_spark

    out: dict[str, tuple[tuple[ColumnSample, ...], int, str | None]] = {}
    distributed: list[Path] = []
    for f in files:
        if not f.is_file():
            out[str(f)] = (), 0, _run_task(_Task(str(f), None, 0), settings.sample_rows, settings.seed)[1]
        elif format_of(f) != "parquet":
            out[str(f)] = (), 0, "not a Parquet file: --engine spark reads Parquet files and dataset folders only"
        elif _parquet_rows(f) == 0:  # no row for Spark to read: its (empty) columns come from the file
            parts, error = _run_task(_Task(str(f), None, 0), settings.sample_rows, settings.seed)
            out[str(f)] = (merge_all([parts], settings.sample_rows) if error is None else ()), 0, error
        else:
            distributed.append(f)
    merged, errors, _ = on_spark.phase1(spark, distributed, settings.sample_rows, settings.seed) if distributed else ({}, {}, 0)
    for f in distributed:
        p = str(f)
        if p in errors:
            out[p] = (), 0, errors[p]
        elif p not in merged:  # rows in the footer, none from Spark: never report it clean
            out[p] = (), 0, "Spark read no rows from this file"
        else:
            parts = merged[p]
            out[p] = merge_all([parts], settings.sample_rows), (parts[0].rows if parts else 0), None
    return {str(f): out[str(f)] for f in files}


def _parquet_rows(path: Path) -> int | None:
    """The row count in a Parquet footer (None if unreadable: Spark's read reports it)."""
    try:
        import pyarrow.parquet as pq

        return pq.read_metadata(path).num_rows
    except Exception:
        return None


def _column_issues(source: str, s: ColumnSample) -> list[FileIssue]:
    """Skipped or partly read columns; a nested column whose leaves cannot be reached (a union)
    is an error: what is not read cannot be said to hold no PII."""
    out = []
    name = redacted_name(s.name)
    if s.kind == "binary":
        out.append(FileIssue(source, "warning", f"column '{name}': binary data, not scanned"))
    elif s.kind == "nested":
        out.append(FileIssue(source, "error", f"column '{name}': nested type {s.arrow_type.split('<')[0]}, not scanned"))
    elif s.rows and s.nulls == s.rows:
        out.append(FileIssue(source, "warning", f"column '{name}': all values are null, nothing to scan"))
    if s.truncated:
        out.append(FileIssue(source, "warning", f"column '{name}': {s.truncated} sampled values longer than 1000 characters were cut"))
    return out


def _headerless(path: str, samples: tuple[ColumnSample, ...]) -> list[FileIssue]:
    """A warning for a CSV read without a header row (its first row looked like data)."""
    if not samples or samples[0].name != "column_1" or not header_row_is_data(Path(path)):
        return []
    return [FileIssue(path, "warning", "the first row looks like data, not a header: read as data, the columns "
                                       "named column_1, column_2, … (add a header row naming the contract's columns)")]


def scan(paths: Iterable[str | Path], settings: ScanSettings | None = None, spark: Any = None,
         boundary: str | Path | None = None) -> ScanOutcome:
    """Scan files and folders; a file that fails is reported and the others go on.

    Folders are walked whole (`reader.walk`): links are followed inside `boundary` (default: the
    folder walked), and a link leaving it or a file that is not a regular file is an error.
    With `settings.engine == "spark"`, phase 1 and NER run on `spark` (a SparkSession), or on a
    session started for this scan and stopped after (`scan.spark.SparkUnavailable` if it cannot)."""
    settings = settings or ScanSettings()
    if settings.engine == "spark" and spark is None:
        from policyengine.scan.spark import session

        with session(settings.spark_master) as started_session:
            return scan(paths, settings, started_session, boundary)
    started = time.perf_counter()
    on_spark = settings.engine == "spark"
    jobs = settings.jobs or os.cpu_count() or 1
    loader = ner_runner(settings.model, settings.jobs) if settings.model and not on_spark else None
    # the model's child process takes one core while it loads: phase 1 leaves it that core
    workers = max(1, jobs - 1) if isinstance(loader, NerInChild) else jobs
    threading.Thread(target=gazetteer, name="gazetteer-loader", daemon=True).start()  # while files are read
    files, walk_problems = walk(paths, boundary)
    skipped_rows: dict[str, int]
    if on_spark:
        phase1, skipped_rows = (_phase1_spark(files, settings, spark) if files else {}), {}
    else:
        phase1, skipped_rows = _phase1(files, settings, workers) if files else ({}, {})
    extra = {w: (e, s) for w, e, s in settings.extra_hints}
    evidences: dict[str, list[ColumnEvidence]] = {}
    issues: dict[str, list[FileIssue]] = {str(f): [] for f in files}
    rows_of: dict[str, int] = {}
    ok = [(path, s) for path, (samples, _, error) in phase1.items() if not error for s in samples]
    table = MatchTable([distinct_values(s.values) for _, s in ok], settings.recognizers)
    position = {(path, s.name): i for i, (path, s) in enumerate(ok)}
    for path, (samples, rows, error) in phase1.items():
        rows_of[path] = rows
        if error:
            issues[path].append(FileIssue(path, "error", error))
            continue
        if not samples or rows == 0:
            issues[path].append(FileIssue(path, "warning", "empty table: no rows to scan"))
        if skipped_rows.get(path):
            # an error, not a warning: the other rows' findings are reported, but rows nobody
            # scanned must not let the gate pass (exit 2), however clean the rest is
            n = skipped_rows[path]
            what = "1 row" if n == 1 else f"{n} rows"
            issues[path].append(FileIssue(
                path, "error", f"{what} with another number of fields than the header {'was' if n == 1 else 'were'} not scanned"))
        issues[path].extend(_headerless(path, samples))
        evs = []
        for s in samples:
            issues[path].extend(_column_issues(path, s))
            evs.append(evidence(path, s, table, position[(path, s.name)], settings.recognizers, extra))
        evidences[path] = evs
    samples_by = {(p, s.name): s for p, (ss, _, _) in phase1.items() for s in ss}
    notes: list[str] = []
    model_name = None
    wanted = [(p, i) for p, evs in evidences.items() for i, ev in enumerate(evs) if needs_ner(ev)]
    if on_spark and settings.model and settings.model.lower() in ("none", "off", "no"):
        notes.append(cached_model(settings.model)[1] or "NER disabled: pattern recognizers only")
    elif on_spark and settings.model:
        from policyengine.scan.spark import ner_on_spark

        columns = [ner_values(samples_by[(p, evidences[p][i].column)].values) for p, i in wanted]
        counted, why = ner_on_spark(spark, settings.model, columns)
        if counted is None:
            notes.append(why or "no NER model: pattern recognizers only")
        else:
            model_name = settings.model
            for (p, i), counts in zip(wanted, counted, strict=True):
                evidences[p][i] = replace(evidences[p][i], ner=counts)
    elif loader is not None:
        count, why = loader.get()
        if count is None:
            notes.append(why or "no NER model: pattern recognizers only")
        else:
            model_name = settings.model
            if wanted:
                columns = [ner_values(samples_by[(p, evidences[p][i].column)].values) for p, i in wanted]
                for (p, i), counts in zip(wanted, count(columns), strict=True):
                    evidences[p][i] = replace(evidences[p][i], ner=counts)
    else:
        notes.append("NER disabled: pattern recognizers only")
    results = []
    for f in files:
        p = str(f)
        cols = tuple(decide(ev) for ev in evidences.get(p, ()))
        results.append(FileResult(p, cols, rows_of.get(p, 0), tuple(issues[p])))
    results.extend(FileResult(p, issues=(FileIssue(p, "error", why),)) for p, why in walk_problems)
    return ScanOutcome(tuple(results), time.perf_counter() - started, model_name, tuple(notes), settings)
