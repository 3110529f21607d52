"""TensorStats, computed on the tensor's own device and moved to the host once per trace.

`StatsBatch.add(tensor)` queues a handful of reductions on the tensor's device and returns a
`TensorStats` whose numbers are filled in by `StatsBatch.finish()`, which makes one device-to-host
transfer per device (none at all for CPU tensors). No activation is kept: only small result vectors.

Memory policy: reductions run over flat chunks of at most `CHUNK` elements, so temporaries (a dtype
conversion, a finiteness mask) stay bounded whatever the tensor size. The histogram is taken over an
evenly strided sample of at most `HIST_SAMPLE` elements (recorded in `hist_sampled`); every other
number (counts, moments, min and max) is exact over the whole tensor.

Speed policy: on CPU the common all-finite case costs four fast reductions (sum, dot, aminmax,
count_nonzero); a value seen on the host (free on CPU) sends the rare non-finite or ill-conditioned
tensor down the exact masked path. On accelerators the masked path always runs, since branching would
need a device sync.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from .trace import TensorStats

HIST_BINS = 32
CHUNK = 1 << 22
HIST_SAMPLE = 1 << 14

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


DOT_PIECE = 1 << 16


def _sumsq(c: torch.Tensor, acc) -> torch.Tensor:
    """Sum of squares. BLAS dot accumulates sequentially, so long vectors go in pieces."""
    if c.numel() <= DOT_PIECE:
        return torch.dot(c, c).to(acc)
    return torch.stack([torch.dot(p, p) for p in c.split(DOT_PIECE)]).to(acc).sum()


def _fast_partial(c: torch.Tensor, acc) -> list:
    """[sum, sumsq, min, max, nonzero] of one all-finite-looking chunk, as 0-d device tensors."""
    mn, mx = torch.aminmax(c)
    # torch's float32 sum is pairwise, accurate and much faster than a float64-accumulated one
    return [c.sum().to(acc), _sumsq(c, acc), mn.to(acc), mx.to(acc), torch.count_nonzero(c).to(acc)]


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
    inf = torch.tensor(float(x.numel()), dtype=acc, device=x.device) - n_fin - nan
    return torch.stack([n_fin, nan, inf, zeros, total, ssq, mn, mx])


def _fast_vector(x: torch.Tensor) -> Optional[torch.Tensor]:
    """CPU fast path; None when the tensor has non-finite values or the sum of squares cancels."""
    acc = torch.float64
    parts = [_fast_partial(_as_float(c), acc) for c in _flat_chunks(x, CHUNK)]
    if len(parts) == 1:
        s, ss, mn, mx, nz = parts[0]
    else:
        cols = [torch.stack(col) for col in zip(*parts)]
        s, ss, mn, mx, nz = cols[0].sum(), cols[1].sum(), cols[2].min(), cols[3].max(), cols[4].sum()
    lo, hi, total, sq = mn.item(), mx.item(), s.item(), ss.item()
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(total) and math.isfinite(sq)):
        return None
    n = x.numel()
    centred = sq - total * total / n
    if sq > 0 and centred < 1e-2 * sq:  # |mean| >> std: the one-pass formula would lose its digits
        return None
    return torch.tensor([n, 0.0, 0.0, n - nz.item(), total, max(centred, 0.0), lo, hi], dtype=acc)


def _sample(x: torch.Tensor, k: int) -> torch.Tensor:
    """An evenly strided sample of at most k elements, without copying the whole tensor."""
    n = x.numel()
    if n <= k:
        return x.reshape(-1)
    step = -(-n // k)
    if x.is_contiguous():
        return x.view(-1)[::step]
    idx = torch.arange(0, n, step, device=x.device)
    return x[torch.unravel_index(idx, x.shape)]


def _histogram(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int) -> torch.Tensor:
    s = _as_float(_sample(x, HIST_SAMPLE)).to(lo.dtype)
    width = (hi - lo).clamp_min(torch.finfo(lo.dtype).tiny)
    b = ((s - lo) / width * bins).floor().clamp(0, bins - 1)
    b = torch.where(torch.isfinite(s), b, bins).long()
    return torch.bincount(b, minlength=bins + 1)[:bins].to(lo.dtype)


class StatsBatch:
    """Collects per-tensor device vectors; `finish()` moves them to the host, once per device."""

    def __init__(self, bins: int = HIST_BINS):
        self.bins = bins
        self._rows: list = []      # (device, vector, TensorStats, extra layout)
        self._refs: dict = {}      # id(tensor) -> (weakref, version, TensorStats): dedupe
        self._twins: list = []     # (original, twin): the same tensor seen under another path
        self._next_ref = 0
        self.finished = False

    def __len__(self):
        return len(self._rows)

    def add(self, t: torch.Tensor, path: str = "", extras: Optional[dict] = None) -> TensorStats:
        """Queue the statistics of `t`; the returned object is complete after `finish()`."""
        seen = self._seen(t)
        if seen is not None:
            if extras:
                self._guarded(t, seen, lambda x: self._queue_extras(x, seen, extras))
            if seen.path == path:
                return seen
            twin = TensorStats(path=path)
            self._twins.append((seen, twin))
            return twin
        st = TensorStats(shape=tuple(t.shape), dtype=dtype_name(t.dtype), device=str(t.device),
                         numel=t.numel(), path=path, requires_grad=bool(t.requires_grad))
        st.ref = self._remember(t, st)
        self._guarded(t, st, lambda x: self._queue(x, st, extras or {}))
        return st

    def _guarded(self, t, st, work):
        try:
            with torch.no_grad():
                work(t.detach())
        except Exception as e:  # an exotic tensor type must never break the trace
            st.note = f"stats unavailable: {type(e).__name__}: {e}"[:200]

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

    def _queue(self, t: torch.Tensor, st: TensorStats, extras: dict):
        x, note = _numeric_view(t)
        st.note = note if x is None else ""
        if x is None or x.numel() == 0:
            if x is not None:
                st.note = ""
                st.hist, st.hist_edges = [0] * self.bins, []
            return
        if note:
            st.extra["note"] = note
        vec = _fast_vector(x) if x.device.type == "cpu" else None
        if vec is None:
            vec = _masked_vector(x)
        lo, hi = vec[MIN], vec[MAX]
        hist = _histogram(x, lo, hi, self.bins)
        st.hist_sampled = 0 if x.numel() <= HIST_SAMPLE else int(_sample_len(x.numel()))
        self._rows.append((x.device, torch.cat([vec, hist]), st, None))
        if extras:
            self._queue_extras(t, st, extras)

    def _queue_extras(self, t: torch.Tensor, st: TensorStats, extras: dict):
        x, _ = _numeric_view(t)
        if x is None or x.numel() == 0:
            return
        layout, pieces = [], []
        for name, fn in extras.items():
            try:
                v = fn(x)
            except Exception:
                continue
            if v is None:
                continue
            v = v.detach().reshape(-1).to(_acc_dtype(x.device))
            layout.append((name, v.numel(), _is_list_extra(name)))
            pieces.append(v)
        if pieces:
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
        by_device: dict = {}
        for row in self._rows:
            by_device.setdefault(str(row[0]), []).append(row)
        for rows in by_device.values():
            flat = torch.cat([r[1].to(torch.float64) if r[1].device.type == "cpu" else r[1]
                              for r in rows]).cpu().double().tolist()
            i = 0
            for _, vec, st, layout in rows:
                n = vec.numel()
                if layout == "callback":
                    st(flat[i:i + n])
                elif layout is None:
                    _fill(st, flat[i:i + n], self.bins)
                else:
                    _fill_extras(st, flat[i:i + n], layout)
                i += n
        for original, twin in self._twins:
            path = twin.path
            twin.__dict__.update(original.__dict__)
            twin.path = path
        self._rows.clear()
        self._refs.clear()
        self._twins.clear()


def _version(t: torch.Tensor):
    try:
        return t._version
    except RuntimeError:  # inference tensors have no version counter
        return None


def _sample_len(n: int) -> int:
    step = -(-n // HIST_SAMPLE)
    return -(-n // step)


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
    st.hist = [int(round(h)) for h in hist]
    if n_fin > 0:
        width = (hi - lo) / bins
        st.hist_edges = [lo + width * i for i in range(bins)] + [hi]


def _fill_extras(st: TensorStats, v: list, layout: list) -> None:
    i = 0
    for name, length, as_list in layout:
        vals = v[i:i + length]
        st.extra[name] = [float(a) for a in vals] if (as_list or length > 1) else float(vals[0])
        i += length


# ---------------------------------------------------------------------- role-specific extras
# Each takes the (numeric) tensor and returns a 0-d or 1-d tensor on its device.

def dead_unit_frac(x: torch.Tensor):
    """Fraction of units (positions past the batch dim) never positive for any sample."""
    if x.dim() < 2 or x.shape[0] < 2:
        return None
    return (_as_float(x).amax(0) <= 0).float().mean()


def batch_std(x: torch.Tensor):
    """Mean over units of the population std across the batch: how much samples differ."""
    if x.dim() < 1 or x.shape[0] < 2 or not (x.is_floating_point() or x.dtype == torch.bool):
        return None
    return _as_float(x).std(0, correction=0).nan_to_num(0.0).mean()


def abs_ge5_frac(x: torch.Tensor):
    """Fraction of values with |x| >= 5: saturated pre-activations for sigmoid/tanh (DeepDiagnosis)."""
    return (_as_float(x).abs() >= 5).float().mean()


def integral_frac(x: torch.Tensor):
    """Fraction of values that are whole numbers."""
    f = _as_float(x)
    return (f == f.round()).float().mean()


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


def label_counts(num_classes: int) -> Callable:
    """Counts of integer labels 0..C-1, plus one bin for anything outside that range."""
    def fn(x: torch.Tensor):
        if x.is_floating_point() or x.dtype == torch.bool or x.numel() == 0:
            return None
        v = x.reshape(-1).long()
        v = torch.where((v >= 0) & (v < num_classes), v, num_classes)
        return torch.bincount(v, minlength=num_classes + 1)[:num_classes + 1]
    return fn


def compute(t: torch.Tensor, path: str = "", extras: Optional[dict] = None, bins: int = HIST_BINS) -> TensorStats:
    """Stats of one tensor right away (for tests and one-off use)."""
    b = StatsBatch(bins)
    st = b.add(t, path, extras)
    b.finish()
    return st
