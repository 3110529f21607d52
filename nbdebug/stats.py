"""TensorStats, computed on the tensor's own device and moved to the host once per trace.

`StatsBatch.add(tensor)` queues a handful of reductions on the tensor's device and returns a
`TensorStats` whose numbers are filled in by `StatsBatch.finish()`, which makes one device-to-host
transfer per device (none at all for CPU tensors). No activation is kept: only small result vectors.

Memory policy: reductions run over flat chunks of at most `CHUNK` elements, so temporaries (a dtype
conversion, a finiteness mask) stay bounded whatever the tensor size. The histogram is taken over an
even sample of at most `HIST_SAMPLE` elements, in blocks of consecutive values (recorded in
`hist_sampled`); every other number (counts, moments, min and max) is exact over the whole tensor.
Parameters (`sampled=True`) beyond `PARAM_SAMPLE` values are summarised from such a sample too.

Speed policy: on CPU the common all-finite case costs one compiled pass (fused.py: moments, zeros,
min, max, the sample's histogram and, for ReLU outputs, the dead units), or four torch passes and a
numpy histogram without the kernel, read straight into Python floats (free on CPU); a non-finite
value sends the rare tensor down the exact masked path, and |mean| >> std adds a centred second
pass. On accelerators the masked path always runs, since branching would need a device sync.
See docs/benchmarks.md for the costs measured.
"""
from __future__ import annotations

import functools
import math
from typing import Callable, Optional

import numpy as np
import torch

from . import fused, stats_small
from .trace import TensorStats

HIST_BINS = 32
CHUNK = 1 << 22
HIST_SAMPLE = 1 << 12   # 4,096 values give 32 bins ~128 each; a larger sample costs as much
                        # as a full pass over the tensor (one cache line per element read)

_PLAIN_TENSORS = (torch.Tensor, torch.nn.Parameter)
_FLOATS = (torch.float32, torch.float64)

# Layout of the per-tensor result vector.
N_FINITE, NAN, INF, ZEROS, SUM, SUMSQ_C, MIN, MAX = range(8)
BASE = 8


def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _acc_dtype(device: torch.device):
    # MPS has no float64; counts stay exact up to 2**24 there.
    return torch.float32 if device.type == "mps" else torch.float64


def _numeric_view(x: torch.Tensor):
    """The tensor whose values we summarise, and a note when that is not `x` itself."""
    if x.is_meta or x.device.type == "meta":
        return None, "meta tensor: no values"
    if x.is_sparse or x.layout != torch.strided:
        return None, f"{str(x.layout).replace('torch.', '')} tensor: values not summarised"
    if getattr(x, "is_nested", False):
        return None, "nested tensor: values not summarised"
    if x.is_quantized:
        return x.dequantize(), "quantized: stats of the dequantized values"
    if x.is_complex():
        return x.abs(), "complex: stats of |x|"
    return x, ""


def _flat_chunks(x: torch.Tensor, limit: int):
    """Flat 1-D pieces of `x`, each at most `limit` elements, copying at most one piece at a time."""
    n = x.numel()
    if n <= limit:
        yield x.reshape(-1)
        return
    if x.is_contiguous():
        flat = x.view(-1)
        for i in range(0, n, limit):
            yield flat[i:i + limit]
        return
    d = next(i for i, s in enumerate(x.shape) if s > 1)
    step = max(1, x.shape[d] * limit // n)
    for piece in x.split(step, dim=d):
        yield from _flat_chunks(piece, limit)


def _as_float(c: torch.Tensor) -> torch.Tensor:
    if c.dtype in (torch.float32, torch.float64):
        return c
    if c.is_floating_point():
        return c.float()
    return c.to(_acc_dtype(c.device))


DOT_PIECE = 1 << 18   # BLAS dot keeps ~1e-7 relative accuracy up to here, ~1e-5 at 4 M


def _sumsq(c: torch.Tensor, acc) -> torch.Tensor:
    """Sum of squares. BLAS dot accumulates sequentially, so long vectors go in pieces."""
    if c.numel() <= DOT_PIECE:
        return torch.dot(c, c).to(acc)
    return torch.stack([torch.dot(p, p) for p in c.split(DOT_PIECE)]).to(acc).sum()


def _minmax(c: torch.Tensor) -> tuple:
    """(min, max) as floats: one pass where torch.aminmax exists for the dtype."""
    try:
        lo, hi = torch.aminmax(c)
        return lo.item(), hi.item()
    except (RuntimeError, NotImplementedError):
        return c.amin().item(), c.amax().item()


def _zeros(c: torch.Tensor) -> int:
    """Exact zeros (-0.0 included) of a 1-d CPU float chunk. numpy's compare+count is branch-free;
    torch.count_nonzero is ~40x slower on tensors that are half zeros (ReLU outputs and their grads)."""
    try:
        return c.numel() - int(np.count_nonzero(c.numpy() != 0))
    except Exception:  # a tensor subclass without a numpy view
        return int((c == 0).sum().item())


def _masked_vector(x: torch.Tensor) -> torch.Tensor:
    """Exact statistics over the finite values, robust to NaN/Inf; bounded memory by chunks."""
    acc = _acc_dtype(x.device)
    n_fin = nan = zeros = total = torch.zeros((), dtype=acc, device=x.device)
    mn = torch.full((), math.inf, dtype=acc, device=x.device)
    mx = torch.full((), -math.inf, dtype=acc, device=x.device)
    for raw in _flat_chunks(x, CHUNK):
        c = _as_float(raw)
        fin = torch.isfinite(c)
        n_fin = n_fin + fin.sum(dtype=acc)
        nan = nan + torch.isnan(c).sum(dtype=acc)
        zeros = zeros + (c == 0).sum(dtype=acc)
        total = total + torch.where(fin, c, 0).sum(dtype=acc)
        mn = torch.minimum(mn, torch.where(fin, c, math.inf).amin().to(acc))
        mx = torch.maximum(mx, torch.where(fin, c, -math.inf).amax().to(acc))
    mean = total / n_fin.clamp_min(1)
    ssq = torch.zeros((), dtype=acc, device=x.device)
    for raw in _flat_chunks(x, CHUNK):  # second pass: centred sum of squares, no cancellation
        c = _as_float(raw)
        d = torch.where(torch.isfinite(c), c.to(acc) - mean, 0)
        ssq = ssq + (d * d).sum()
    # torch.full, not torch.tensor: a host-to-device copy would wait for the device (a sync per tensor)
    inf = torch.full((), float(x.numel()), dtype=acc, device=x.device) - n_fin - nan
    return torch.stack([n_fin, nan, inf, zeros, total, ssq, mn, mx])


def _cpu_row(x: torch.Tensor, bins: int, extra: Optional[dict] = None) -> Optional[list]:
    """CPU fast path: the stats row as floats, or None (non-finite values) for the exact masked path.

    One compiled pass (fused.py) gives sum, sum of squares, zeros, min and max, and bins the sample;
    without it, four torch passes per chunk and a separate histogram. The values are in host memory
    already, so reading the results is free: no torch.cat, no transfer. With `extra` given, the pass
    also counts dead units (dead_unit_frac) when it can, into extra["dead_unit_frac"].
    """
    n = x.numel()
    hist = None
    units = n // x.shape[0] if extra is not None and _dead_units_apply(x) else 0
    # feature maps: a unit is a channel, so the kernel counts the channels none of whose positions fires
    channels = x.shape[1] if units and x.dim() >= 4 and x.shape[1] else 0
    got = fused.summary(x, bins, *_sample_runs(n), units=units, groups=channels) if n <= CHUNK else None
    if got is not None:
        (total, sq, zeros, lo, hi), hist = got[:5], got[5:5 + bins]
        if units and math.isfinite(total) and math.isfinite(sq):
            extra["dead_unit_frac"] = got[5 + bins] / (channels or units)
    else:
        total, sq, zeros, lo, hi = _chunked_moments(x)
    if not all(map(math.isfinite, (total, sq, lo, hi))):  # NaN/Inf present: the exact path
        return None
    if hi == lo:  # constant (batch-norm weights at init): exact without cancellation
        total, centred = lo * n, 0.0
    else:
        centred = sq - total * total / n
        if sq == 0 or centred < 1e-2 * sq:  # squares underflowed, or |mean| >> std: exact float64 path
            return None
    if hist is None:
        hist = _cpu_histogram(x, lo, hi, bins)
    return [float(n), 0.0, 0.0, float(zeros), total, max(centred, 0.0), lo, hi] + hist


def _chunked_moments(x: torch.Tensor) -> tuple:
    """(sum, sum of squares, zeros, min, max) chunk by chunk; sum is NaN/Inf (and the rest
    meaningless) as soon as a chunk holds a non-finite value."""
    total = sq = 0.0
    lo, hi = math.inf, -math.inf
    zeros = 0
    for raw in _flat_chunks(x, CHUNK):
        c = _as_float(raw)
        one_pass = fused.moments(c)
        if one_pass is not None:
            c_total, c_sq, c_zeros, c_lo, c_hi = one_pass
        else:
            c_total = c.sum().item()
            if math.isfinite(c_total):  # else a NaN/Inf (or a float32 sum overflowed): stop here
                c_sq = _sumsq(c, torch.float64).item()
                c_lo, c_hi = _minmax(c)
                # a chunk that is all positive or all negative has no zeros to count
                c_zeros = _zeros(c) if c_lo <= 0.0 <= c_hi else 0
        total += c_total
        if not math.isfinite(total):
            return total, 0.0, 0, 0.0, 0.0
        sq += c_sq
        zeros += c_zeros
        lo, hi = min(lo, c_lo), max(hi, c_hi)
    return total, sq, zeros, lo, hi


PARAM_SAMPLE = 1 << 12   # std within ~3 % for the bad-init thresholds, which are orders of magnitude


def _cpu_sampled_row(x: torch.Tensor, bins: int) -> Optional[list]:
    """Like _cpu_row, with every number from an even sample (_sample) (moments and the zero count
    scaled to the whole tensor; the histogram over the sample itself). No full pass: reading every
    weight of a large model once costs more than the rest of its trace's statistics. A sample holding
    NaN/Inf sends the tensor down the exact path (None); the trace re-counts NaN/Inf in every parameter
    exactly when non-finite values appear in the forward (api._exact_param_nonfinite), the only time
    they matter."""
    n = x.numel()
    sample = _as_float(_sample(x, PARAM_SAMPLE))
    k = sample.numel()
    got = fused.summary(sample, bins, 1, k, 0, min_size=0)  # one call, not eight numpy ones
    if got is not None and all(map(math.isfinite, got[:2])):
        total, sq, zeros, lo, hi = got[:5]
        centred = 0.0 if hi == lo else sq - total * total / k
        if hi == lo or (sq > 0 and centred >= 1e-2 * sq):  # else |mean| >> std: numpy's two passes
            return [float(n), 0.0, 0.0, zeros * n / k, total / k * n, centred / (k - 1) * (n - 1), lo, hi] + got[5:]
    try:
        a = np.asarray(sample.numpy(), dtype=np.float64)
    except Exception:  # a tensor subclass without a numpy view: the exact path
        return None
    total = float(a.sum())
    if not math.isfinite(total):
        return None
    lo, hi = float(a.min()), float(a.max())
    mean = total / k
    var = float(a.var(ddof=1)) if k > 1 else 0.0
    zeros = (k - int(np.count_nonzero(a))) * n / k
    return [float(n), 0.0, 0.0, zeros, mean * n, var * (n - 1), lo, hi] + _binned(a, lo, hi, bins)


def _binned(a: np.ndarray, lo: float, hi: float, bins: int) -> Optional[list]:
    """Counts of the finite array `a` in `bins` equal bins over [lo, hi] (the array's own range);
    None when numpy cannot bin it (a range too narrow for float64)."""
    if not hi > lo:  # a constant tensor: everything in the first bin, as on the device path
        return [float(a.size)] + [0.0] * (bins - 1)
    scale = bins / (hi - lo)
    if not math.isfinite(scale):
        return None
    pos = np.subtract(a, lo, dtype=np.float64)
    pos *= scale
    idx = pos.astype(np.intp).reshape(-1)
    np.minimum(idx, bins - 1, out=idx)  # idx >= 0 since lo is the minimum; np.clip is slower
    return np.bincount(idx, minlength=bins).astype(np.float64).tolist()


def _cpu_histogram(x: torch.Tensor, lo: float, hi: float, bins: int) -> list:
    """Counts of the (all-finite) sample in `bins` equal bins over [lo, hi], binned by numpy in
    float64 (half the cost of torch.histc); histc where numpy cannot view the tensor."""
    s = _as_float(_sample(x, HIST_SAMPLE))
    try:
        counts = _binned(s.numpy(), lo, hi, bins)
        if counts is not None:
            return counts
    except Exception:
        pass
    return torch.histc(s.double(), bins, min=lo, max=hi).tolist()


SAMPLE_BLOCK = 64   # consecutive values per sampled block: 4 cache lines read, not 64 scattered ones


@functools.lru_cache(maxsize=4096)
def _sample_layout(n: int, k: int) -> tuple:
    """(blocks, stride) of an even sample of at most k of n > k elements, taken as blocks of
    SAMPLE_BLOCK consecutive values. The stride is the first prime >= ceil(n / blocks): a stride that
    divides a trailing dimension would start every block in the same few columns (every 1024th element
    of a (..., 1024) tensor starts in column 0); a prime stride moves the start across all of them.
    Blocks, not single values: a strided gather touches one cache line per value, which on a tensor
    the CPU has just evicted costs as much as a full pass over it."""
    blocks = max(1, k // SAMPLE_BLOCK)
    step = max(SAMPLE_BLOCK, -(-n // blocks))
    while step > 2 and any(step % d == 0 for d in range(2, int(step ** 0.5) + 1)):
        step += 1
    return min(blocks, (n - SAMPLE_BLOCK) // step + 1), step


def _sample_runs(n: int, k: int = HIST_SAMPLE) -> tuple:
    """(runs, run length, stride) of _sample's sample of n values: the whole tensor as one run when
    n <= k."""
    if n <= k:
        return 1, n, 0
    blocks, step = _sample_layout(n, k)
    return blocks, SAMPLE_BLOCK, step


def _sample(x: torch.Tensor, k: int) -> torch.Tensor:
    """An even 1-d sample of at most k elements (blocks of consecutive values), without copying the
    whole tensor."""
    n = x.numel()
    if n <= k:
        return x.reshape(-1)
    blocks, step = _sample_layout(n, k)
    if x.is_contiguous():
        return x.view(-1).as_strided((blocks, SAMPLE_BLOCK), (step, 1)).reshape(-1)
    starts = torch.arange(0, blocks * step, step, device=x.device)
    idx = (starts[:, None] + torch.arange(SAMPLE_BLOCK, device=x.device)).reshape(-1)
    return x[torch.unravel_index(idx, x.shape)]


def _histogram(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    s = _as_float(_sample(x, HIST_SAMPLE)).to(lo.dtype)
    width = (hi - lo).clamp_min(torch.finfo(lo.dtype).tiny)
    b = ((s - lo) / width * bins).floor().clamp(0, bins - 1)
    b = torch.where(torch.isfinite(s), b, bins).long()
    return _counts(b, bins + 1, lo.dtype)[:bins]


def _counts(idx: torch.Tensor, size: int, dtype) -> torch.Tensor:
    """bincount of indices in [0, size) without a device sync: torch.bincount reads the largest index
    back to the host to size its output, which on a GPU stalls once per tensor."""
    out = torch.zeros(size, dtype=dtype, device=idx.device)
    return out.scatter_add_(0, idx, torch.ones(idx.shape, dtype=dtype, device=idx.device))


class StatsBatch:
    """Collects per-tensor device vectors; `finish()` moves them to the host, once per device."""

    def __init__(self, bins: int = HIST_BINS):
        self.bins = bins
        self._rows: list = []      # (device, vector, TensorStats, extra layout)
        self._refs: dict = {}      # id(tensor) -> (weakref, version, TensorStats): dedupe
        self._twins: list = []     # (original, twin): the same tensor seen under another path
        self._filled: set = set()  # id() of the TensorStats whose numbers are in already (CPU rows)
        self._small: list = []     # (float64 numpy copy, TensorStats): small CPU tensors, reduced together
        self._small_size = 0
        self._next_ref = 0
        self.finished = False

    def __len__(self):
        return len(self._rows) + len(self._small)

    def add(self, t: torch.Tensor, path: str = "", extras: Optional[dict] = None,
            sampled: bool = False) -> TensorStats:
        """Queue the statistics of `t`; the returned object is complete after `finish()`.

        `sampled=True` (parameters): on CPU, beyond PARAM_SAMPLE values every number comes from an
        even sample (`TensorStats.sampled`); a sample holding NaN/Inf sends the tensor down the exact path."""
        seen = self._seen(t)
        if seen is not None:
            if extras:
                self._guarded(t, seen, lambda x: self._queue_extras(x, seen, extras))
            if seen.path == path:
                return seen
            # what is known without values is known now (checks that run before finish() read shapes)
            twin = TensorStats(shape=seen.shape, dtype=seen.dtype, device=seen.device, numel=seen.numel,
                               path=path, requires_grad=seen.requires_grad, ref=seen.ref)
            if id(seen) in self._filled:  # numbers known already (CPU): copy them while they are in cache
                _copy_numbers(seen, twin)
            else:
                self._twins.append((seen, twin))
            return twin
        if t.is_nested:  # no plain shape: a strided one raises on .shape, a jagged one has a symbolic dim
            st = TensorStats(dtype=dtype_name(t.dtype), device=str(t.device), path=path,
                             requires_grad=bool(t.requires_grad), note="nested tensor: values not summarised")
            st.ref = self._remember(t, st)
            return st
        st = TensorStats(shape=tuple(t.shape), dtype=dtype_name(t.dtype), device=str(t.device),
                         numel=t.numel(), path=path, requires_grad=bool(t.requires_grad))
        st.ref = self._remember(t, st)
        if on_host_float(t) and t.layout == torch.strided:
            # the common case, a float tensor in host memory, without _guarded's grad-mode switch and
            # view checks: nothing here records autograd history on a detached tensor (a few µs per
            # tensor, thousands of tensors in a large model's trace)
            try:
                self._queue_values(t.detach(), st, extras or {}, sampled)
            except Exception as e:
                st.note = f"stats unavailable: {type(e).__name__}: {e}"[:200]
            return st
        self._guarded(t, st, lambda x: self._queue(x, st, extras or {}, sampled))
        return st

    def _guarded(self, t, st, work):
        # the raw grad-mode switch: torch.no_grad() costs ~5 µs to build, paid per tensor
        enabled = torch.is_grad_enabled()
        torch._C._set_grad_enabled(False)
        try:
            work(t.detach())
        except Exception as e:  # an exotic tensor type must never break the trace
            st.note = f"stats unavailable: {type(e).__name__}: {e}"[:200]
        finally:
            torch._C._set_grad_enabled(enabled)

    def _seen(self, t):
        entry = self._refs.get(id(t))
        if entry is None:
            return None
        ref, version, st = entry
        if ref() is t and _version(t) == version:
            return st
        return None

    def _remember(self, t, st) -> int:
        import weakref

        self._next_ref += 1
        try:
            self._refs[id(t)] = (weakref.ref(t), _version(t), st)
        except TypeError:
            pass
        return self._next_ref

    def _queue(self, t: torch.Tensor, st: TensorStats, extras: dict, sampled: bool = False):
        x, note = _numeric_view(t)
        st.note = note if x is None else ""
        if x is None or x.numel() == 0:
            if x is not None:
                st.note = ""
                st.hist = [0] * self.bins
            return
        if note:
            st.extra["note"] = note
        self._queue_values(x, st, extras, sampled, t)

    def _queue_values(self, x: torch.Tensor, st: TensorStats, extras: dict, sampled: bool = False,
                      t: Optional[torch.Tensor] = None):
        """Queue the stats of `x`, a strided real tensor with values (`t`: the tensor the extras see,
        when x is a view of it such as |t| of a complex t)."""
        t = x if t is None else t
        if x.numel() == 0:
            st.hist = [0] * self.bins
            return
        st.hist_sampled = 0 if x.numel() <= HIST_SAMPLE else int(_sample_len(x.numel()))
        host = on_host(x.device)
        if host and x.numel() <= stats_small.SMALL and self._queue_small(x, st):
            if extras:
                self._queue_extras(t, st, extras)
            return
        row = None
        if host:
            if sampled and x.numel() > PARAM_SAMPLE:
                row = _cpu_sampled_row(x, self.bins)
                if row is not None:  # the histogram is over the same sample
                    st.sampled = st.hist_sampled = _sample_len(x.numel(), PARAM_SAMPLE)
            if row is None:
                fused_extras = {} if "dead_unit_frac" in extras else None
                row = _cpu_row(x, self.bins, fused_extras)
                if fused_extras:  # the pass counted the dead units: no second pass for them
                    st.extra.update(fused_extras)
                    extras = {k: fn for k, fn in extras.items() if k not in fused_extras}
        if row is not None:
            # host floats already: fill now, while the record is in cache (filled in finish(), after the
            # backward has streamed every tensor through the cache, each fill was a string of misses)
            _fill(st, row, self.bins)
            self._filled.add(id(st))
        else:
            vec = _masked_vector(x)
            self._rows.append((x.device, torch.cat([vec, _histogram(x, vec[MIN], vec[MAX], self.bins)]), st, None))
        if extras:
            self._queue_extras(t, st, extras)

    def _queue_small(self, x: torch.Tensor, st: TensorStats) -> bool:
        """Copy a small CPU tensor aside; its stats are computed with others' (stats_small.py)."""
        a = stats_small.host_copy(x)
        if a is None:
            return False
        self._small.append((a, st))
        self._small_size += a.size
        if self._small_size >= stats_small.BUFFER:
            self._flush_small()
        return True

    def _flush_small(self):
        if not self._small:
            return
        arrays = [a for a, _ in self._small]
        for (a, st), row in zip(self._small, stats_small.rows(arrays, self.bins)):
            if row is None:  # NaN/Inf inside: the exact masked path over the copy
                x = torch.from_numpy(a)
                vec = _masked_vector(x)
                row = torch.cat([vec, _histogram(x, vec[MIN], vec[MAX], self.bins)]).tolist()
            _fill(st, row, self.bins)
        self._small.clear()
        self._small_size = 0

    def _queue_extras(self, t: torch.Tensor, st: TensorStats, extras: dict):
        x, _ = _numeric_view(t)
        if x is None or x.numel() == 0:
            return
        layout, pieces = [], []
        cpu = on_host(x.device)
        for name, fn in extras.items():
            try:
                v = fn(x)
            except Exception:
                continue
            if v is None:
                continue
            if isinstance(v, float):  # a host value already (row_spread on CPU)
                st.extra[name] = v
                continue
            v = v.detach().reshape(-1)
            layout.append((name, v.numel(), _is_list_extra(name)))
            if cpu:  # host values already: read them now, no cat
                pieces.extend(float(a) for a in v.tolist())
            else:
                pieces.append(v.to(_acc_dtype(x.device)))
        if pieces and cpu:
            _fill_extras(st, pieces, layout)
        elif pieces:
            self._rows.append((x.device, torch.cat(pieces), st, layout))

    def add_vector(self, vec: torch.Tensor, on_ready: Callable[[list], None]) -> None:
        """Queue any small 1-d device vector; `on_ready(values)` receives it as floats in `finish()`."""
        if vec.device.type == "meta":  # no values to read: on_ready is never called
            return
        self._rows.append((vec.device, vec.detach().reshape(-1).to(_acc_dtype(vec.device)), on_ready, "callback"))

    def finish(self) -> None:
        """The single device-to-host transfer (per device); fills every queued TensorStats."""
        if self.finished:
            return
        self.finished = True
        self._flush_small()
        by_device: dict = {}
        for row in self._rows:
            by_device.setdefault(str(row[0]), []).append(row)
        for rows in by_device.values():
            # host-side rows filled their records when queued; these vectors go over in one transfer
            flat = torch.cat([r[1].to(torch.float64) if r[1].device.type == "cpu" else r[1]
                              for r in rows]).cpu().double().tolist()
            i = 0
            for _, vec, st, layout in rows:
                values = flat[i:i + vec.numel()]
                i += vec.numel()
                if layout == "callback":
                    st(values)
                elif layout is None:
                    _fill(st, values, self.bins)
                else:
                    _fill_extras(st, values, layout)
        for original, twin in self._twins:
            _copy_numbers(original, twin)
        self._rows.clear()
        self._refs.clear()
        self._twins.clear()
        self._filled.clear()


def on_host(device: torch.device) -> bool:
    """Whether values can be read straight into Python for free (the CPU shortcuts); everything else
    takes the queued path with one transfer in finish(). A seam: tests route CPU tensors through the
    accelerator path by patching it."""
    return device.type == "cpu"


def _copy_numbers(original: TensorStats, twin: TensorStats) -> None:
    """The same tensor seen under another path: everything of the original but the path."""
    path = twin.path
    twin.__dict__.update(original.__dict__)
    twin.path = path


def _version(t: torch.Tensor):
    try:
        return t._version
    except RuntimeError:  # inference tensors have no version counter
        return None


def _sample_len(n: int, k: int = HIST_SAMPLE) -> int:
    """How many values _sample(x, k) takes from n > k."""
    return _sample_layout(n, k)[0] * SAMPLE_BLOCK


_LIST_EXTRAS = {"label_counts"}


def _is_list_extra(name: str) -> bool:
    return name in _LIST_EXTRAS or name.endswith("_list")


def _fill(st: TensorStats, v: list, bins: int) -> None:
    n_fin, nan, inf, zeros, total, ssq, lo, hi = v[:BASE]
    n = st.numel
    st.nan, st.inf = int(round(nan)), int(round(inf))
    st.zero_frac = zeros / n if n else math.nan
    if n_fin > 0:
        st.mean = total / n_fin
        st.std = math.sqrt(max(ssq, 0.0) / (n_fin - 1)) if n_fin > 1 else math.nan
        st.min, st.max = lo, hi
        st.absmax = max(abs(lo), abs(hi))
        st.norm = math.sqrt(max(ssq, 0.0) + n_fin * st.mean * st.mean)
    hist = v[BASE:BASE + bins]
    st.hist = list(map(round, hist))  # round(float) is an int; map: thousands of tensors per trace


def _fill_extras(st: TensorStats, v: list, layout: list) -> None:
    i = 0
    for name, length, as_list in layout:
        vals = v[i:i + length]
        st.extra[name] = [float(a) for a in vals] if (as_list or length > 1) else float(vals[0])
        i += length


# ---------------------------------------------------------------------- role-specific extras
# Each takes the (numeric) tensor and returns a 0-d or 1-d tensor on its device.

def _fraction(mask: torch.Tensor) -> torch.Tensor:
    """The fraction of True in a bool tensor, as a 0-d tensor. On the host numpy counts it: torch's
    compare-float-mean on a 64 K mask costs ~50 µs of thread dispatch, numpy's count ~5 µs."""
    if on_host(mask.device) and type(mask) is torch.Tensor:
        return torch.tensor(np.count_nonzero(mask.numpy()) / max(mask.numel(), 1), dtype=torch.float64)
    return mask.float().mean()


def _dead_units_apply(x: torch.Tensor) -> bool:
    return x.dim() >= 2 and x.shape[0] >= 2


def dead_unit_frac(x: torch.Tensor):
    """Fraction of units never positive for any sample. A unit is a position past the batch dim, or,
    for feature maps (N, C, H, W, ...), a channel: a filter that fires anywhere learns from there, one
    that fires nowhere is dead. (On CPU the stats kernel measures this in its pass: _cpu_row.)"""
    if not _dead_units_apply(x):
        return None
    x = _as_float(x)
    if x.dim() >= 4:
        return _fraction(x.amax(dim=(0, *range(2, x.dim()))) <= 0)
    return _fraction(x.amax(0) <= 0)


def batch_std(x: torch.Tensor):
    """Mean over units of the population std across the batch: how much samples differ."""
    if x.dim() < 1 or x.shape[0] < 2 or not (x.is_floating_point() or x.dtype == torch.bool):
        return None
    if on_host_float(x):
        # numpy's einsum sums the squares in float64 without a float64 copy of x: ~5x faster than
        # the torch path on an image batch (a float, set straight into extra)
        a = x.detach().reshape(x.shape[0], -1).numpy()
        if a.shape[1] == 0:  # no units: NaN, as the device path gives, without numpy's empty-mean warning
            return math.nan
        with np.errstate(all="ignore"):
            mean = a.mean(axis=0, dtype=np.float64)
            var = np.einsum("ij,ij->j", a, a, dtype=np.float64) / a.shape[0] - mean * mean
            return float(np.nan_to_num(np.sqrt(np.maximum(var, 0.0)), nan=0.0).mean())
    # E[x²] - E[x]² in float64: no cancellation worth the name, and ~10x faster than std(0) on CPU
    d = x.to(torch.float64) if x.device.type != "mps" else x.float()
    m = d.mean(0)
    var = ((d * d).mean(0) - m * m).clamp_min(0)
    return var.sqrt().nan_to_num(0.0).mean()


def abs_ge5_frac(x: torch.Tensor):
    """Fraction of values with |x| >= 5: saturated pre-activations for sigmoid/tanh (DeepDiagnosis)."""
    return _fraction(_as_float(x).abs() >= 5)


SIGMOID_AT_MINUS_5 = 1.0 / (1.0 + math.exp(5.0))   # sigmoid(-5): outputs below it, or above 1 - it, had |x| >= 5
TANH_AT_5 = math.tanh(5.0)


def squash_bounds_frac(op: str):
    """For the output of a functional sigmoid/tanh: the fraction of values whose pre-activation had
    |x| >= 5 (abs_ge5_frac, read off the output, where the module hook cannot see the input)."""
    def frac(y: torch.Tensor):
        f = _as_float(y)
        if op == "sigmoid":
            return _fraction((f <= SIGMOID_AT_MINUS_5) | (f >= 1.0 - SIGMOID_AT_MINUS_5))
        return _fraction(f.abs() >= TANH_AT_5)
    return frac


def integral_frac(x: torch.Tensor):
    """Fraction of values that are whole numbers."""
    f = _as_float(x)
    return _fraction(f == f.round())


def feature_scale_ratio(x: torch.Tensor):
    """max/min per-feature std over the batch, for (batch, features) inputs."""
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        return None
    s = _as_float(x).std(0, correction=0)
    return s.max() / s.min().clamp_min(1e-12)


def feature_std_range(x: torch.Tensor):
    """[smallest, largest] per-feature std over the batch for (batch, features) inputs, ignoring
    constant features (a column of ones, a one-hot column absent from the batch): spread, not gaps."""
    if x.dim() != 2 or x.shape[0] < 2 or x.shape[1] < 2 or not x.is_floating_point():
        return None
    s = _as_float(x).std(0, correction=0)
    varying = s > 1e-6 * s.max().clamp_min(1e-30)
    return torch.stack([torch.where(varying, s, math.inf).amin(), s.max()])


ROW_SPREAD_LIMIT = 1 << 22
ROW_SPREAD_ROWS = 32


def row_spread(w: torch.Tensor):
    """Largest difference between any row and the first: 0 when all output units are identical.
    A float on the host (numpy, a third of torch's per-op cost on these small slices), else a 0-d
    tensor on the tensor's device."""
    if not _has_rows(w):
        return None
    rows = w.reshape(w.shape[0], -1)
    if on_host_float(rows):
        return _host_spreads(rows.detach().numpy()[None])[0]
    step = _spread_step(rows.shape[0])
    picked = rows[step::step].float()
    if picked.shape[0] == 0:
        picked = rows[1:].float()
    return (picked - rows[0].float()).abs().amax()


def _has_rows(w: torch.Tensor) -> bool:
    """Two rows or more to compare, some values, and not so many that the comparison is skipped."""
    return w.dim() >= 2 and w.shape[0] >= 2 and 0 < w.numel() <= ROW_SPREAD_LIMIT


def _spread_step(rows: int) -> int:
    # up to 32 evenly spaced rows against the first: symmetric units are identical everywhere, so a
    # sample of rows decides it without a pass over the whole weight
    return max(1, -(-rows // ROW_SPREAD_ROWS))


def _host_spreads(a: np.ndarray) -> list:
    """row_spread of each (rows, columns) matrix in the stack `a` (weights, rows, columns), as floats."""
    step = _spread_step(a.shape[1])
    picked = a[:, step::step]
    if picked.shape[1] == 0:
        picked = a[:, 1:]
    with np.errstate(all="ignore"):  # Inf - Inf is NaN, as on the device, without a warning
        d = picked - a[:, :1]
        return np.abs(d, out=d).reshape(a.shape[0], -1).max(axis=1).tolist()


STACK_LIMIT = 1 << 14   # weights up to this many values are stacked with their same-shape peers


def on_host_float(t: torch.Tensor) -> bool:
    """A plain float tensor in host memory: numpy reads it without a copy."""
    return type(t) in _PLAIN_TENSORS and t.dtype in _FLOATS and on_host(t.device)


def row_spreads(weights: list) -> list:
    """row_spread of each host float tensor (on_host_float), as floats or None. Small weights of one
    shape and dtype (a model's repeated blocks) are compared in one numpy pass over their stack:
    a dozen numpy calls per weight were most of a many-block model's parameter statistics."""
    out: list = [None] * len(weights)
    groups: dict = {}
    for i, w in enumerate(weights):
        if not _has_rows(w):
            continue
        if w.numel() <= STACK_LIMIT:
            groups.setdefault((tuple(w.shape), w.dtype), []).append(i)
        else:
            out[i] = row_spread(w)
    for (shape, _), members in groups.items():
        stack = np.stack([weights[i].detach().reshape(shape[0], -1).numpy() for i in members])
        for i, v in zip(members, _host_spreads(stack)):
            out[i] = v
    return out


def sum_to_one_err(dim: int) -> Callable:
    """Mean |sum along `dim` - 1|: near 0 when the tensor holds probabilities over `dim`."""
    def fn(x: torch.Tensor):
        if x.dim() <= dim or not x.is_floating_point():
            return None
        return (_as_float(x).sum(dim) - 1).abs().mean()
    return fn


def logsumexp_abs(x: torch.Tensor):
    """Mean |logsumexp over dim 1|: near 0 when the tensor holds log-probabilities over classes."""
    if x.dim() < 2 or not x.is_floating_point():
        return None
    return _as_float(x).logsumexp(1).abs().mean()


def peak_prob_frac(dim, log: bool = False) -> Callable:
    """Fraction of rows of a softmax (log_softmax) output whose largest probability along `dim` is
    >= 0.99: rows pinned at one class, the softmax form of a saturated sigmoid. dim=None resolves as
    torch's legacy implicit choice (0 for 0-, 1- and 3-D tensors, else 1)."""
    def fn(x: torch.Tensor):
        if not x.is_floating_point() or x.dim() < 1:
            return None
        d = (0 if x.dim() in (0, 1, 3) else 1) if dim is None else dim
        if x.shape[d] < 2:
            return None
        p = _as_float(x)
        return _fraction((p.exp() if log else p).amax(d) >= 0.99)
    return fn


def label_counts(num_classes: int) -> Callable:
    """Counts of integer labels 0..C-1, plus one bin for anything outside that range."""
    def fn(x: torch.Tensor):
        if x.is_floating_point() or x.dtype == torch.bool or x.numel() == 0:
            return None
        v = x.reshape(-1).long()
        v = torch.where((v >= 0) & (v < num_classes), v, num_classes)
        return _counts(v, num_classes + 1, torch.long)
    return fn


def compute(t: torch.Tensor, path: str = "", extras: Optional[dict] = None, bins: int = HIST_BINS) -> TensorStats:
    """Stats of one tensor right away (for tests and one-off use)."""
    b = StatsBatch(bins)
    st = b.add(t, path, extras)
    b.finish()
    return st
