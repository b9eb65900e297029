"""Arrow arrays built from Python and NumPy values without `pa.array`.

`pa.array` (for a list or a NumPy array alike) asks pyarrow's pandas shim whether the input is
a pandas object, and that imports pandas: about a second of start-up, on every scanning
process, for a scan that never uses pandas. These builders assemble the arrays from their
buffers instead, which pyarrow takes as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_INT32_MAX = 2**31 - 1


def int64_array(values: np.ndarray | Sequence[int]) -> pa.Array:
    """An int64 Arrow array (no nulls) of `values`, e.g. the row indices given to `take`."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def string_array(values: Sequence[str]) -> pa.Array:
    """A UTF-8 Arrow array (no nulls) of `values`: `string`, or `large_string` when the values
    hold more than 2 GiB of text (32-bit offsets cannot address it)."""
    encoded = [x.encode("utf-8") for x in values]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    typ = pa.string()
    if offsets[-1] > _INT32_MAX:
        typ = pa.large_string()
    else:
        offsets = offsets.astype(np.int32)
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(typ, len(encoded), [None, pa.py_buffer(offsets), data])


def int64_scalar(value: int) -> pa.Scalar:
    """An int64 Arrow scalar: a compute call given a Python number converts it with `pa.scalar`,
    which asks the pandas shim too."""
    return int64_array([value])[0]


FALSE: pa.Scalar = pa.Array.from_buffers(pa.bool_(), 1, [None, pa.py_buffer(b"\x00")])[0]
"""The boolean Arrow scalar false (`pc.fill_null(mask, FALSE)`)."""


_NUMPY_INTS = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
               pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64}


def bool_numpy(mask: pa.Array) -> np.ndarray:
    """A boolean Arrow array as a NumPy bool array, null read as false. (`Array.to_numpy` goes
    through pyarrow's pandas conversion, which imports pandas.)"""
    n = len(mask)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if mask.null_count:
        mask = pc.fill_null(mask, FALSE)
    bits = np.frombuffer(mask.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[mask.offset : mask.offset + n].astype(bool)


def int_numpy(values: pa.Array) -> np.ndarray:
    """An integer Arrow array without nulls (lengths, counts) as a NumPy array, zero-copy."""
    if values.null_count:
        raise ValueError("int_numpy: the array has nulls")
    dtype = _NUMPY_INTS[values.type]
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(values.buffers()[1], dtype=dtype)[values.offset : values.offset + n]
