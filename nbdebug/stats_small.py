"""Statistics of many small CPU tensors at once.

A model with thousands of small module calls spends its trace time in per-tensor overhead: each torch
reduction costs a few microseconds of dispatch whatever its size, and a tensor needs about ten. So
`StatsBatch` copies small CPU tensors (a few KB each) into float64 numpy arrays as they are seen, and
reduces them together here: one concatenation, per-segment reductions (`ufunc.reduceat`), and one
`bincount` for all the histograms. The numbers are the same as the one-tensor path's (exact moments
over all values, two-pass centred sum of squares in float64, histogram over all values).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

SMALL = 2048            # CPU tensors of at most this many elements are batched
BUFFER = 1 << 16        # elements held before the batch is reduced: 512 KB of float64, whose reduction
                        # temporaries (several times that) set the peak memory of a many-call trace
_NUMPY_DTYPES = {torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16,
                 torch.int8, torch.uint8, torch.bool}


def host_copy(x: torch.Tensor) -> Optional[np.ndarray]:
    """A flat float64 copy of a small CPU tensor, taken now (a later in-place op must not change it);
    None when the tensor has no numpy view (a subclass, an exotic dtype)."""
    try:
        if x.dtype in _NUMPY_DTYPES and type(x) is torch.Tensor:
            return np.array(x.numpy(), dtype=np.float64).reshape(-1)
        return x.to(torch.float64).reshape(-1).numpy().copy()
    except Exception:
        return None


def rows(arrays: list, bins: int) -> list:
    """[n, nan, inf, zeros, sum, centred sum of squares, min, max] + histogram, per array; None for
    an array holding NaN/Inf (the caller takes the exact masked path for it)."""
    k = len(arrays)
    lens = np.fromiter((a.size for a in arrays), dtype=np.intp, count=k)
    starts = np.zeros(k, dtype=np.intp)
    np.cumsum(lens[:-1], out=starts[1:])
    buf = np.concatenate(arrays)
    # per-array values spread over the array's elements with np.repeat, not by indexing with a
    # segment-id array: a gather costs about four times as much (this runs per 64 K values)
    with np.errstate(all="ignore"):
        sums = np.add.reduceat(buf, starts)
        ok = np.isfinite(sums)  # NaN and ±Inf propagate into the sum
        if not ok.all():
            buf[np.repeat(~ok, lens)] = 0.0
            sums[~ok] = 0.0
        mins = np.minimum.reduceat(buf, starts)
        maxs = np.maximum.reduceat(buf, starts)
        # counted as bytes into int32 (arrays are at most SMALL long): half the time of bool -> intp
        zeros = np.add.reduceat((buf == 0).view(np.uint8), starts, dtype=np.int32)
        work = buf - np.repeat(sums / lens, lens)
        work *= work
        ssq = np.add.reduceat(work, starts)
        width = maxs - mins
        scale = np.where(width > 0, bins / np.where(width > 0, width, 1.0), 0.0)
        wide = ~np.isfinite(scale)  # a denormal range: leave it to the one-tensor path
        if wide.any():
            ok &= ~wide
            scale[wide] = 0.0
        np.subtract(buf, np.repeat(mins, lens), out=work)
        work *= np.repeat(scale, lens)
        idx = work.astype(np.intp)
    np.minimum(idx, bins - 1, out=idx)  # the maximum lands in the last bin; idx >= 0 as min is the min
    idx += np.repeat(np.arange(0, k * bins, bins, dtype=np.intp), lens)
    hist = np.bincount(idx, minlength=k * bins).reshape(k, bins)
    table = np.empty((k, 8 + bins), dtype=np.float64)
    table[:, 0] = lens
    table[:, 1:3] = 0.0
    table[:, 3] = zeros
    table[:, 4] = sums
    table[:, 5] = ssq
    table[:, 6] = mins
    table[:, 7] = maxs
    table[:, 8:] = hist
    return [row if good else None for row, good in zip(table.tolist(), ok.tolist())]
