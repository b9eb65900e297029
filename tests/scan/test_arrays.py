"""The pandas-free Arrow builders equal what `pa.array` / `to_numpy` give, and a scan never
imports pandas (it cost about a second of start-up per scanning process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from policyengine.scan.arrays import (
    FALSE,
    bool_numpy,
    int64_array,
    int64_scalar,
    int_numpy,
    string_array,
)

ROOT = Path(__file__).resolve().parents[2]


def test_string_array_equals_pa_array() -> None:
    values = ["", "a", "Zoë Müller", "東京", "x" * 300, "a|b"]
    got = string_array(values)
    assert got.type == pa.string()
    assert got.equals(pa.array(values, type=pa.string()))
    assert string_array([]).to_pylist() == []


def test_int64_array_and_scalar() -> None:
    idx = np.array([3, 0, 2], dtype=np.int32)
    assert int64_array(idx).equals(pa.array([3, 0, 2], type=pa.int64()))
    assert pa.array(["a", "b", "c", "d"]).take(int64_array(idx)).to_pylist() == ["d", "a", "c"]
    assert int64_scalar(1000).as_py() == 1000
    assert FALSE.as_py() is False


def test_bool_numpy_reads_nulls_as_false_and_honours_offsets() -> None:
    mask = pa.array([True, None, False, True, True, None, False, True, True, False, True])
    assert bool_numpy(mask).tolist() == [True, False, False, True, True, False, False, True, True, False, True]
    sliced = mask.slice(3, 6)
    assert bool_numpy(sliced).tolist() == [True, True, False, False, True, True]
    assert bool_numpy(pa.array([], type=pa.bool_())).tolist() == []


def test_int_numpy() -> None:
    lengths = pc.utf8_length(pa.array(["ab", "", "abcd", "x"]))
    assert int_numpy(lengths).tolist() == [2, 0, 4, 1]
    assert int_numpy(lengths.slice(2)).tolist() == [4, 1]
    try:
        int_numpy(pa.array([1, None]))
    except ValueError:
        pass
    else:
        raise AssertionError("an array with nulls must be refused")


def test_a_scan_does_not_import_pandas() -> None:
    code = (
        "import sys\n"
        "from policyengine.scan import scan_paths\n"
        "scan_paths([sys.argv[1]], model='none', jobs=1)\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "tests" / "data" / "pii-columns")],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
