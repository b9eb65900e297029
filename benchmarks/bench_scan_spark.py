"""The scanner on Spark local against the local scanner, side by side in one run.

    .venv/bin/python benchmarks/bench_scan_spark.py [--rows 10000000] [--files 10] [--master local[*]] [--model NAME]

Generates a Parquet dataset of `--rows` rows x 20 columns (bench_scan.make_large's columns: PII and
look-alikes; `--files` files, deterministic seeds) in a temporary folder, then scans it twice, each
in a fresh process: `scan_paths(DIR)` (local: phase-1 threads plus the NER model's process) and `scan_paths(DIR,
engine="spark")` on Spark local mode (`--master`, default local[*]). For each: wall time (start-up,
imports, JVM and model load included) and peak resident memory of the whole process tree (the
scanning process, its NER process, and for Spark the JVM and its Python workers), sampled with
psutil every 50 ms. Both must report the same findings; the benchmark says so, or exits 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_scan import MODEL, make_large  # noqa: E402

SCAN = """
import sys
from policyengine.scan import scan_paths, to_json
engine, master = sys.argv[3], (sys.argv[5] if len(sys.argv) > 5 else None)
report = scan_paths([sys.argv[1]], model=sys.argv[4], engine=engine, spark_master=master)
open(sys.argv[2], "w").write(to_json(report))
"""


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (the JVM and Spark's Python workers too)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(args: list[str]) -> tuple[float, int]:
    """(wall seconds, peak process-tree RSS in MB) of `python -c SCAN args`; raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SCAN, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(ps))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}")
    return wall, peak >> 20


def findings(path: Path) -> list[tuple]:
    report = json.loads(path.read_text())
    return sorted((Path(f["source"]).name, f["column"], f["entity"], f["score"], f.get("tag"))
                  for f in report["findings"])


def option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def main(argv: list[str]) -> int:
    rows = int(option(argv, "--rows", "10000000"))
    files = max(1, int(option(argv, "--files", "10")))
    master = option(argv, "--master", "local[*]")
    model = option(argv, "--model", MODEL)
    tmp = Path(tempfile.mkdtemp(prefix="bench_scan_spark_"))
    try:
        data = tmp / "dataset"
        data.mkdir()
        t0 = time.perf_counter()
        per = -(-rows // files)
        for k in range(files):
            n = min(per, rows - k * per)
            if n > 0:
                make_large(data / f"part-{k:05d}.parquet", n, seed=k, first_id=k * per)
        size = sum(f.stat().st_size for f in data.iterdir()) / 2**20
        print(f"dataset: {rows:,} rows x 20 columns in {files} Parquet files, {size:.0f} MB "
              f"(generated in {time.perf_counter() - t0:.1f}s); model {model}; {psutil.cpu_count()} CPUs, "
              "fresh process per run, peak RSS of the process tree")
        local_wall, local_peak = measure([str(data), str(tmp / "local.json"), "local", model])
        print(f"  local scanner          wall={local_wall:7.2f}s  peak RSS={local_peak:6d} MB")
        spark_wall, spark_peak = measure([str(data), str(tmp / "spark.json"), "spark", model, master])
        print(f"  Spark {master:<16} wall={spark_wall:7.2f}s  peak RSS={spark_peak:6d} MB")
        print(f"  ratio Spark/local: wall {spark_wall / local_wall:.2f}x, peak memory {spark_peak / max(local_peak, 1):.2f}x")
        same = findings(tmp / "local.json") == findings(tmp / "spark.json")
        print(f"  same findings: {'yes' if same else 'NO'} ({len(findings(tmp / 'local.json'))} findings)")
        return 0 if same else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
