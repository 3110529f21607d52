"""One pass over a CPU float tensor: sum, sum of squares, zero count, min and max together, and the
histogram of its sample, by a small C kernel (`_fused.c`).

torch and numpy have no fused reduction for these, so the CPU path otherwise reads each activation
four times (sum, dot, aminmax, a zero count); on a CNN those passes were most of a trace's overhead.
The kernel reads it once, vectorised, and accumulates in float64.

The C file is compiled on first use with the system C compiler (`$CC`, else Python's, else `cc`),
cached per user (`$NBDEBUG_CACHE`, else `~/.cache/nbdebug`) under a name that hashes the source
and the compiler, and loaded with ctypes: no build step at install, and about 1 MB of memory where
numba, tried first, cost 125 MB of RSS. The first use on a machine pays the compilation, about
half a second, once.

Every function returns None when it cannot help: no compiler, `NBDEBUG_KERNEL=0` in the
environment, a dtype or layout the kernel does not take, or a kernel that failed. The caller then
uses torch's passes, which give the same numbers.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path
from typing import Optional

import torch

MIN_SIZE = 1 << 11   # smaller CPU tensors are reduced together (stats_small); from here up one call
                     # (~5 us) beats torch's passes and histogram (~25 us at 4,096 values)
SOURCE = Path(__file__).with_name("_fused.c")
_FUNCTIONS = {torch.float32: "nbd_summary_f32", torch.float64: "nbd_summary_f64"}
_SQUARES = {torch.float32: "nbd_squares_f32", torch.float64: "nbd_squares_f64"}

_failed: list = []   # why the kernel is not used (for NOTES and bug reports; never raised)


def _compilers() -> list:
    """Candidate compiler commands, installed ones only: $CC, the one Python was built with (often
    absent: a conda or pyenv build machine's), then the usual names."""
    found = []
    for cc in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        words = shlex.split(cc) if cc else []
        if words and shutil.which(words[0]) and words not in found:
            found.append(words)
    return found


def _cache_dir() -> Path:
    base = os.environ.get("NBDEBUG_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "nbdebug"


def _build(source: Path, target: Path, cc: list) -> None:
    """Compile to a temporary name and rename: concurrent first uses (test workers, two kernels)
    never load a half-written library."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        for extra in ([], ["-DNBD_NO_CLONES"]):  # a toolchain without ifunc support: baseline code
            done = subprocess.run([*cc, "-O3", "-shared", "-fPIC", *extra, "-o", tmp, str(source)],
                                  capture_output=True, timeout=120)
            if done.returncode == 0:
                os.replace(tmp, target)
                return
        raise RuntimeError(done.stderr.decode(errors="replace").strip()[-300:] or "compiler failed")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.lru_cache(maxsize=1)
def _kernel():
    """{torch dtype: summary function, ("squares", torch dtype): sum-of-squares function}, or None
    when no kernel can be had (the reason is in _failed)."""
    if os.environ.get("NBDEBUG_KERNEL", "1") == "0":
        _failed.append("disabled by NBDEBUG_KERNEL=0")
        return None
    compilers = _compilers()
    if not compilers:
        _failed.append("no C compiler found ($CC, cc, gcc, clang)")
        return None
    for cc in compilers:
        try:
            functions = _load(_library(cc))
        except Exception as e:  # a compiler that fails, an unwritable cache, a library that won't load
            _failed.append(f"{' '.join(cc)}: {type(e).__name__}: {e}"[:300])
            continue
        if _sane(functions):
            return functions
        _failed.append(f"{' '.join(cc)}: the compiled kernel gave wrong numbers")
    return None


def _library(cc: list) -> Path:
    """The compiled library for this source and compiler, built now if not cached yet."""
    key = hashlib.sha256(SOURCE.read_bytes() + " ".join(cc).encode()).hexdigest()[:16]
    name = f"fused-{key}{sysconfig.get_config_var('SHLIB_SUFFIX') or '.so'}"
    target = _cache_dir() / name
    if target.exists():
        return target
    try:
        _build(SOURCE, target, cc)
    except OSError:  # an unwritable cache: a private temporary directory instead
        target = Path(tempfile.mkdtemp(prefix="nbdebug-")) / name
        _build(SOURCE, target, cc)
    return target


def _load(path: Path) -> dict:
    lib = ctypes.CDLL(str(path))
    size = ctypes.c_ssize_t
    functions = {}
    for dtype, name in _FUNCTIONS.items():
        fn = getattr(lib, name)
        fn.argtypes = [ctypes.c_void_p, size, size, size, size, size, size, size, ctypes.c_void_p, ctypes.c_void_p]
        fn.restype = None
        functions[dtype] = fn
    for dtype, name in _SQUARES.items():
        fn = getattr(lib, name)
        fn.argtypes = [ctypes.c_void_p, size, ctypes.c_void_p]
        fn.restype = None
        functions["squares", dtype] = fn
    return functions


def _sane(functions: dict) -> bool:
    """A miscompiled kernel must not feed wrong numbers to every trace: check it once on values
    whose answers are exact in any float format."""
    n = MIN_SIZE + 3
    for dtype in _FUNCTIONS:
        fn, squares = functions.get(dtype), functions.get(("squares", dtype))
        if fn is None or squares is None:
            return False
        v = torch.zeros(n, dtype=dtype)
        v[1::4] = 2.0
        v[7] = -3.0
        out = (ctypes.c_double * 10)()
        fn(v.data_ptr(), n, 1, 8, 0, 4, 0, 0, None, out)
        twos = len(range(1, n, 4))
        # the sample is v[0:8] = 0 2 0 0 0 2 0 -3, in 4 bins over [-3, 2]
        expected = [2.0 * twos - 3.0, 4.0 * twos + 9.0, float(n - twos - 1), -3.0, 2.0, 1.0, 0.0, 5.0, 2.0, -1.0]
        if list(out) != expected:
            return False
        squares(v.data_ptr(), n, out)
        if out[0] != expected[1]:
            return False
        # as 3 rows of n // 3 units (the tail ignored): a unit is dead unless a 2.0 falls in it
        units = n // 3
        unit_max = torch.empty(units, dtype=dtype)
        fn(v.data_ptr(), 3 * units, 1, 8, 0, 4, units, 0, unit_max.data_ptr(), out)
        alive = {i % units for i in range(1, 3 * units, 4)}
        if out[9] != units - len(alive):
            return False
        # in groups of `units // 8` units (8 channels): a group is dead unless one of its units lives
        groups = 8
        fn(v.data_ptr(), 3 * units, 1, 8, 0, 4, units, groups, unit_max.data_ptr(), out)
        if units % groups == 0 and out[9] != groups - len({u // (units // groups) for u in alive}):
            return False
    return True


def _kernels_for(c: torch.Tensor, min_size: int) -> Optional[dict]:
    """The kernels (_kernel()) when they can take `c`: a plain contiguous float32/float64 CPU tensor
    of at least `min_size` values; else None."""
    if (c.numel() < max(min_size, 1) or type(c) is not torch.Tensor or c.device.type != "cpu"
            or not c.is_contiguous() or c.dtype not in _FUNCTIONS):
        return None
    return _kernel()


def summary(c: torch.Tensor, bins: int, blocks: int, block_len: int, step: int, min_size: int = MIN_SIZE,
            units: int = 0, unit_max: Optional[torch.Tensor] = None, groups: int = 0) -> Optional[list]:
    """[sum, sum of squares, zeros, min, max, counts...] of a contiguous float32/float64 CPU tensor
    in one pass, the counts over an even sample (`blocks` runs of `block_len` consecutive values,
    `step` apart: stats._sample_layout) and all zero when `c` holds NaN/Inf (the sum says so); or
    None when the kernel cannot take `c` (or it has fewer than `min_size` values).

    With `units` (c read as rows of that many values, the batch first), one more number: how many
    units are never positive in any row (stats.dead_unit_frac's count; meaningless with NaN). With
    `groups` (it divides `units`: a feature map's channels), how many groups of consecutive units
    have no unit ever positive instead. Pass `unit_max` (a tensor of `units` values, c's dtype) to
    keep each unit's max over the rows."""
    kernels = _kernels_for(c, min_size)
    if kernels is None:
        return None
    n = c.numel()
    units = units if 0 < units <= n and n % units == 0 else 0
    if units and (unit_max is None or unit_max.numel() != units or unit_max.dtype != c.dtype
                  or not unit_max.is_contiguous()):
        unit_max = torch.empty(units, dtype=c.dtype)
    out = (ctypes.c_double * (6 + bins))()
    groups = groups if units and groups > 0 and units % groups == 0 else 0
    kernels[c.dtype](c.data_ptr(), n, blocks, block_len, step, bins, units, groups,
                     unit_max.data_ptr() if units else None, out)
    return out[:] if units else out[:-1]  # slices: a list at a fifth of list(out)'s cost


def moments(c: torch.Tensor) -> Optional[tuple]:
    """(sum, sum of squares, zeros, min, max) in one pass, as summary() without a histogram."""
    got = summary(c, 0, 0, 0, 0)
    return None if got is None else (got[0], got[1], int(got[2]), got[3], got[4])


def sum_of_squares(c: torch.Tensor) -> Optional[float]:
    """The sum of squares of a contiguous float32/float64 CPU tensor in float64, NaN/Inf propagated
    (a gradient's norm is its square root); None when the kernel cannot take `c`, as summary()."""
    kernels = _kernels_for(c, MIN_SIZE)
    if kernels is None:
        return None
    out = (ctypes.c_double * 1)()
    kernels["squares", c.dtype](c.data_ptr(), c.numel(), out)
    return out[0]


def status() -> str:
    """How CPU statistics were taken in this process, for a trace's meta and bug reports: "kernel",
    "torch: <why>", or "not needed yet" (no tensor large enough so far)."""
    info = getattr(_kernel, "cache_info", None)  # absent where a test stands a function in
    if info is not None and info().currsize == 0:
        return "not needed yet"
    return "kernel" if _kernel() is not None else "torch: " + (_failed[-1] if _failed else "unknown")
