"""One pass over a CPU float array: sum, sum of squares, zero count, min and max together, and the
histogram of its sample, compiled by numba.

torch and numpy have no fused reduction for these, so the CPU path otherwise reads each activation
four times (sum, dot, aminmax, a zero count); on a CNN those passes were most of a trace's overhead.
The kernel reads it once, vectorised, and accumulates in float64.

Min and max are taken over the floats' bit patterns mapped to integers that sort like the floats:
LLVM vectorises integer min/max but not the NaN-aware float ones. A NaN or Inf anywhere makes the
float64 sum non-finite, which the caller checks before trusting anything else here.

Every function returns None when it cannot help (no numba, a dtype or layout it does not take, or a
kernel that failed on this platform, after which the torch path is used for the rest of the process).
Compiled code is cached on disk (numba's cache); a process's first large tensor pays for numba's
import and start-up, about a second, once.
"""
from __future__ import annotations

import functools
from typing import Optional

import numpy as np
import torch

MIN_SIZE = 1 << 14   # below this the compiled call's own overhead is not worth it

# float dtype -> (integer view, sign shift, low bits): the constants of the sortable-integer mapping
_INT_VIEW = {np.dtype(f): (i, i(8 * np.dtype(i).itemsize - 1), i(np.iinfo(i).max))
             for f, i in ((np.float32, np.int32), (np.float64, np.int64))}


@functools.lru_cache(maxsize=1)
def _kernel():
    """The compiled (moments, histogram, summary) kernels, or None without numba (imported here, on
    first use: the import and numba's start-up cost ~1 s once per process)."""
    try:
        import numba
    except Exception:
        return None
    for cache in (True, False):  # numba refuses to cache where no cache directory is writable
        try:
            return _build(numba, cache)
        except Exception:
            continue
    return None


_failed: list = []   # why a kernel failed at run time (numba on a platform it cannot compile for)


def _compiled(which: int):
    """Kernel `which` of _kernel(), or None: no numba, or a kernel already failed (torch from then on)."""
    if _failed:
        return None
    kernels = _kernel()
    return None if kernels is None else kernels[which]


def _give_up(e: Exception) -> None:
    _failed.append(f"{type(e).__name__}: {e}"[:200])
    return None


def _build(numba, cache: bool) -> tuple:
    # reassociation lets the sums vectorise; no nnan/ninf: a NaN must stay a NaN in the sum
    fast = {"reassoc", "contract", "nsz", "arcp"}

    @numba.njit(fastmath=fast, nogil=True, cache=cache)
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

    @numba.njit(nogil=True, cache=cache)
    def binner(sample, lo, scale, counts):
        last = counts.size - 1
        for row in range(sample.shape[0]):
            for col in range(sample.shape[1]):
                i = np.intp((np.float64(sample[row, col]) - lo) * scale)  # >= 0: lo is the minimum
                counts[min(i, last)] += 1

    @numba.njit(fastmath=fast, nogil=True, cache=cache)
    def summary(values, bits, shift, low_bits, extremes, blocks, block_len, step, out):
        """kernel(), then the histogram of the sample of `blocks` runs of `block_len` values `step`
        apart over [min, max] when all values are finite: out = [sum, squares, zeros, min, max,
        counts...]. One call instead of two: the dispatch costs as much as a small tensor's pass."""
        total, squares, zeros = kernel(values, bits, shift, low_bits, extremes)
        floats = extremes.view(values.dtype)
        lo = np.float64(floats[0])
        hi = np.float64(floats[1])
        out[0] = total
        out[1] = squares
        out[2] = zeros
        out[3] = lo
        out[4] = hi
        bins = out.size - 5
        for b in range(bins):
            out[5 + b] = 0.0
        if not (np.isfinite(total) and np.isfinite(squares)):
            return
        if not hi > lo:
            out[5] = blocks * block_len  # a constant: everything in the first bin
            return
        scale = bins / (hi - lo)
        for b in range(blocks):
            start = b * step
            for j in range(start, start + block_len):
                i = np.intp((np.float64(values[j]) - lo) * scale)
                out[5 + min(i, bins - 1)] += 1.0

    return kernel, binner, summary


def _values(c: torch.Tensor):
    """(numpy view, (int dtype, shift, low bits)) of a tensor the kernels take, else None."""
    if c.numel() < MIN_SIZE or type(c) is not torch.Tensor or not c.is_contiguous():
        return None
    try:
        values = c.numpy().reshape(-1)
    except Exception:
        return None
    mapping = _INT_VIEW.get(values.dtype)
    return None if mapping is None else (values, mapping)


def moments(c: torch.Tensor) -> Optional[tuple]:
    """(sum, sum of squares, zeros, min, max) of a contiguous float32/float64 CPU tensor in one
    pass, or None when the kernel cannot take it (then use torch). sum is NaN/Inf when the tensor
    holds a NaN or Inf; min and max are then meaningless."""
    got, kernel = _values(c), _compiled(0)
    if got is None or kernel is None:
        return None
    values, (ints, shift, low_bits) = got
    extremes = np.empty(2, dtype=ints)
    try:
        total, squares, zeros = kernel(values, values.view(ints), shift, low_bits, extremes)
    except Exception as e:
        return _give_up(e)
    lo, hi = extremes.view(values.dtype).tolist()
    return total, squares, int(zeros), lo, hi


def summary(c: torch.Tensor, bins: int, blocks: int, block_len: int, step: int) -> Optional[list]:
    """moments() and the histogram of an even sample (`blocks` runs of `block_len` consecutive
    values, `step` apart: stats._sample_layout) in one call: [sum, sum of squares, zeros, min, max,
    counts...], or None when the kernel cannot take `c`. The counts are all zero when `c` holds
    NaN/Inf (the sum says so)."""
    got, kernel = _values(c), _compiled(2)
    if got is None or kernel is None:
        return None
    values, (ints, shift, low_bits) = got
    out = np.empty(5 + bins, dtype=np.float64)
    try:
        kernel(values, values.view(ints), shift, low_bits, np.empty(2, dtype=ints), blocks, block_len, step, out)
    except Exception as e:
        return _give_up(e)
    return out.tolist()


def histogram(sample: torch.Tensor, lo: float, hi: float, bins: int) -> Optional[list]:
    """Counts of a finite float32/float64 CPU sample (1-d, or 2-d blocks of a strided view, read in
    place) in `bins` equal bins over [lo, hi], binned as stats._binned does; None when the kernel
    cannot take it."""
    kernel = _compiled(1)
    if kernel is None or type(sample) is not torch.Tensor or sample.dim() > 2 or not hi > lo:
        return None
    try:
        values = sample.numpy()
    except Exception:
        return None
    scale = bins / (hi - lo)
    if values.dtype not in _INT_VIEW or not np.isfinite(scale):
        return None
    counts = np.zeros(bins, dtype=np.int64)
    try:
        kernel(values.reshape(1, -1) if values.ndim == 1 else values, float(lo), float(scale), counts)
    except Exception as e:
        return _give_up(e)
    return counts.astype(np.float64).tolist()
