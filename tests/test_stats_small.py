"""stats_small.rows reduces many small arrays at once; each row must equal the array's own stats."""
import math

import numpy as np
import pytest

from nbdebug import stats, stats_small

BINS = 32


def reference(a: np.ndarray):
    """[n, 0, 0, zeros, sum, centred sum of squares, min, max] + histogram of one finite array."""
    lo, hi = float(a.min()), float(a.max())
    total = float(a.sum())
    centred = float(((a - total / a.size) ** 2).sum())
    return [float(a.size), 0.0, 0.0, float((a == 0).sum()), total, centred, lo, hi], stats._binned(a, lo, hi, BINS)


def batch(seed: int) -> list:
    rng = np.random.default_rng(seed)
    arrays = []
    for _ in range(int(rng.integers(1, 120))):
        n = int(rng.integers(1, stats_small.SMALL + 1))
        a = rng.standard_normal(n) * 10.0 ** int(rng.integers(-20, 20))
        kind = int(rng.integers(0, 7))
        if kind == 1:
            a[:] = 3.5                                  # constant
        elif kind == 2:
            a = a + 1e6                                 # |mean| >> std
        elif kind == 3:
            a[: n // 2] = 0.0                           # many zeros
        elif kind == 4:
            a[int(rng.integers(0, n))] = np.nan
        elif kind == 5:
            a[int(rng.integers(0, n))] = -np.inf
        arrays.append(a)
    return arrays


@pytest.mark.parametrize("seed", range(12))
def test_each_row_equals_the_arrays_own_stats(seed):
    arrays = batch(seed)
    rows = stats_small.rows([a.copy() for a in arrays], BINS)
    assert len(rows) == len(arrays)
    for a, row in zip(arrays, rows):
        if not np.isfinite(a).all():
            assert row is None  # the caller takes the exact masked path
            continue
        head, hist = reference(a)
        assert row[:4] == head[:4]
        assert row[4] == pytest.approx(head[4], rel=1e-12, abs=1e-12 * float(np.abs(a).sum()))
        # the two means are summed in different orders; each one's rounding error (a few ulps of
        # max|a|) enters every squared deviation, which matters only when std is near that size
        mean_error = 8 * np.finfo(np.float64).eps * float(np.abs(a).max())
        assert row[5] == pytest.approx(head[5], rel=1e-9, abs=a.size * mean_error ** 2 + 1e-300)
        assert row[6:8] == head[6:8]
        assert row[8:] == hist
        assert sum(row[8:]) == a.size


def test_a_denormal_range_is_left_to_the_one_tensor_path():
    a = np.array([5e-324, 1e-323, 1.5e-323])      # width so small that bins / width overflows
    b = np.arange(10.0)
    rows = stats_small.rows([a, b], BINS)
    assert rows[0] is None and rows[1] is not None
