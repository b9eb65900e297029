"""The parse benchmark's generator stays valid: a small run checks clean and passes --strict."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_small_benchmark_run_is_clean(capsys) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_parse
    finally:
        sys.path.remove(str(BENCH))
    assert bench_parse.main(["--rules", "300", "--repeat", "1", "--strict"]) == 0
    out = capsys.readouterr().out
    assert "300 rules in 11 files" in out and "0 error(s), 0 warning(s)" in out
