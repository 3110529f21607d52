"""One pass over a CPU float array: sum, sum of squares, zero count, min and max together (and a
compiled histogram of the sample).

torch and numpy have no fused reduction for these, so the CPU path otherwise reads each activation
four times (sum, dot, aminmax, a zero count); on a CNN those passes were most of a trace's overhead.
This kernel, compiled by numba, reads it once and accumulates in float64, vectorised.

Min and max are taken over the floats' bit patterns mapped to integers that sort like the floats:
LLVM vectorises integer min/max but not the NaN-aware float ones. A NaN or Inf anywhere
makes the float64 sum non-finite, which the caller checks before trusting anything else here.

`moments()` returns None when numba is missing or cannot take the array; the caller then does the
passes with torch. Compiled code is cached on disk (numba's own cache), so only the first trace
after an install pays for the compilation (about a second).
"""
from __future__ import annotations

import functools
from typing import Optional

import numpy as np
import torch

MIN_SIZE = 1 << 14   # below this the compiled call's own overhead is not worth it

_INT_VIEW = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled (moments, histogram) kernels, or None without numba (imported here, on first
    use: the import alone costs ~0.3 s)."""
    try:
        import numba
    except Exception:
        return None
    # reassociation lets the sums vectorise; no nnan/ninf: a NaN must stay a NaN in the sum
    fast = {"reassoc", "contract", "nsz", "arcp"}

    @numba.njit(fastmath=fast, nogil=True, cache=True)
    def kernel(values, bits, shift, low_bits, extremes):
        total = 0.0
        squares = 0.0
        zeros = 0
        lo = bits[0] ^ ((bits[0] >> shift) & low_bits)
        hi = lo
        for i in range(values.size):
            v = np.float64(values[i])
            total += v
            squares += v * v
            zeros += np.int64(values[i] == 0)
            k = bits[i] ^ ((bits[i] >> shift) & low_bits)  # sorts like the float (negatives flipped)
            lo = min(lo, k)
            hi = max(hi, k)
        # back to bit patterns (the mapping is its own inverse); the caller views them as floats
        extremes[0] = lo ^ ((lo >> shift) & low_bits)
        extremes[1] = hi ^ ((hi >> shift) & low_bits)
        return total, squares, zeros

    @numba.njit(nogil=True, cache=True)
    def binner(sample, lo, scale, counts):
        last = counts.size - 1
        for row in range(sample.shape[0]):
            for col in range(sample.shape[1]):
                i = np.intp((np.float64(sample[row, col]) - lo) * scale)  # >= 0: lo is the minimum
                counts[min(i, last)] += 1

    return kernel, binner


def moments(c: torch.Tensor) -> Optional[tuple]:
    """(sum, sum of squares, zeros, min, max) of a 1-d contiguous float32/float64 CPU tensor in one
    pass, or None when the kernel cannot take it (then use torch). sum is NaN/Inf when the tensor
    holds a NaN or Inf; min and max are then meaningless."""
    if c.numel() < MIN_SIZE or type(c) is not torch.Tensor or not c.is_contiguous():
        return None
    try:
        values = c.numpy()
    except Exception:
        return None
    ints = _INT_VIEW.get(values.dtype)
    compiled = _kernel() if ints is not None else None
    if compiled is None:
        return None
    kernel = compiled[0]
    bits = values.view(ints)
    extremes = np.empty(2, dtype=ints)
    total, squares, zeros = kernel(values, bits, ints(values.itemsize * 8 - 1), ints(np.iinfo(ints).max),
                                   extremes)
    lo, hi = extremes.view(values.dtype).tolist()
    return total, squares, int(zeros), lo, hi


def histogram(sample: torch.Tensor, lo: float, hi: float, bins: int) -> Optional[list]:
    """Counts of a finite float32/float64 CPU sample (1-d, or 2-d blocks of a strided view, read in
    place) in `bins` equal bins over [lo, hi], binned as stats._binned does; None when the kernel
    cannot take it."""
    if type(sample) is not torch.Tensor or sample.dim() > 2 or not hi > lo:
        return None
    try:
        values = sample.numpy()
    except Exception:
        return None
    if values.dtype not in _INT_VIEW:
        return None
    compiled = _kernel()
    scale = bins / (hi - lo)
    if compiled is None or not np.isfinite(scale):
        return None
    counts = np.zeros(bins, dtype=np.int64)
    compiled[1](values.reshape(1, -1) if values.ndim == 1 else values, float(lo), float(scale), counts)
    return counts.astype(np.float64).tolist()
