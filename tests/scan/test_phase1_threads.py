"""Phase 1 on threads: the same answers whatever the layout, and an interruption that stops it."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import policyengine
import policyengine.scan
from policyengine.scan import pipeline
from policyengine.scan.pipeline import ScanSettings, scan


def _issues(outcome) -> list[str]:
    return [i.message for f in outcome.files for i in f.issues]


def test_a_corrupt_row_group_reads_as_the_same_error_whole_or_cut(tmp_path: Path, monkeypatch) -> None:
    """A Parquet file cut into row-group tasks (≥ 48 MB) must fail with the message it fails
    with whole: the report must not depend on --jobs."""
    path = tmp_path / "broken.parquet"
    pq.write_table(pa.table({"email": [f"user{i}@example.com" for i in range(40_000)]}), path, row_group_size=5_000)
    meta = pq.ParquetFile(path).metadata
    chunk = meta.row_group(3).column(0)
    data = bytearray(path.read_bytes())
    start = chunk.data_page_offset
    data[start:start + 64] = b"\xff" * 64  # clobber a data page; the footer stays readable
    path.write_bytes(bytes(data))
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    messages = {jobs: _issues(scan([path], ScanSettings(model="none", jobs=jobs))) for jobs in (1, 3)}
    assert messages[1] and messages[1] == messages[3]
    assert messages[1][0].startswith("cannot read as parquet")


def test_an_interruption_cancels_the_queued_tasks(tmp_path: Path, monkeypatch) -> None:
    """Ctrl-C in phase 1 must not wait for every queued file to be read, and no queued file may
    start after it: the tasks already running are held until scan() has raised, then the pool's
    threads are joined (no sleeping: once they have ended, nothing more can start)."""
    files = []
    for i in range(30):
        files.append(tmp_path / f"f{i:02d}.csv")
        files[-1].write_text("a\n1\n")
    ran = []
    lock = threading.Lock()
    interrupted = threading.Event()
    real = pipeline._run_task

    def slow(task, *args, **kw):
        with lock:
            ran.append(task.path)
            first = len(ran) == 1
        if first:
            raise KeyboardInterrupt
        interrupted.wait(30)  # still running when the interruption reaches the caller
        return real(task, *args, **kw)

    before = set(threading.enumerate())
    monkeypatch.setattr(pipeline, "_run_task", slow)
    with pytest.raises(KeyboardInterrupt):
        scan(files, ScanSettings(model="none", jobs=2))
    interrupted.set()
    for t in set(threading.enumerate()) - before:
        if t.name.startswith("scan"):
            t.join(30)
            assert not t.is_alive(), "a scan thread outlived the interruption"
    assert len(ran) <= 4


def test_lazy_names_are_listed() -> None:
    for module in (policyengine, policyengine.scan):
        names = dir(module)
        for name in module._LAZY:
            assert name in names
            assert getattr(module, name) is not None
