"""`merge_many` (the sample chosen once, in NumPy) equals `merge` folded batch by batch, and a
task's result does not depend on how often its partials are merged."""

from __future__ import annotations

from functools import reduce

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.scan import pipeline
from policyengine.scan.stats import merge, merge_many, partial_stats


def _batches() -> list[pa.RecordBatch]:
    out, row = [], 0
    for n in (700, 1, 0, 1500, 333, 2048):
        ids = list(range(row, row + n))
        out.append(pa.record_batch({
            "text": pa.array([f"v{i}" if i % 7 else None for i in ids], type=pa.string()),
            "num": pa.array(ids, type=pa.int64()),
            "long": pa.array(["x" * (1001 if i % 5 == 0 else 3) for i in ids], type=pa.string()),
        }))
        row += n
    return out


def test_merge_many_equals_the_pairwise_fold() -> None:
    for sample_rows in (1, 10, 1000, 5000):
        row, per_col = 0, {}
        for b in _batches():
            for p in partial_stats(b, row, sample_rows, seed=3):
                per_col.setdefault(p.name, []).append(p)
            row += b.num_rows
        for parts in per_col.values():
            folded = reduce(lambda a, b: merge(a, b, sample_rows), parts)
            assert merge_many(parts, sample_rows) == folded


def test_a_task_is_the_same_whatever_the_merge_cadence(tmp_path, monkeypatch) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_batches([b for b in _batches() if b.num_rows]), path, row_group_size=1000)
    task = pipeline._Task(str(path), tuple(range(pq.ParquetFile(path).num_row_groups)), 0)
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 97)
    monkeypatch.setattr(pipeline, "MERGE_EVERY", 2)
    often = pipeline._run_task(task, 50, 1)
    monkeypatch.setattr(pipeline, "MERGE_EVERY", 10_000)
    once = pipeline._run_task(task, 50, 1)
    assert often == once and often[1] is None
    assert {p.name: p.rows for p in often[0]} == {"text": 4582, "num": 4582, "long": 4582}
