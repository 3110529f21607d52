"""The one-pass CPU kernel (nbdebug/_fused.c via fused.py) and the statistics and gradient norms
built on it, checked against float64 numpy and against the torch passes it replaces."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug import fused, stats, stats_small

BIG = fused.MIN_SIZE * 4 + 7   # above the kernel's threshold, and not a multiple of a vector width


def reference(t):
    a = t.numpy().astype(np.float64)
    return a.sum(), (a * a).sum(), int((a == 0).sum()), float(a.min()), float(a.max())


def relu_like(n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.randn(n, generator=g, dtype=dtype) * 3 + 0.5
    t[t < 0.2] = 0
    t[5] = -7.25  # a negative minimum among many zeros
    t[9] = -0.0
    return t


@pytest.fixture
def without_kernel(monkeypatch):
    monkeypatch.setattr(fused, "_kernel", lambda: None)


@pytest.fixture
def rebuilt_kernel(monkeypatch):
    """The kernel is looked up afresh inside the test (as the test has set things up), with an empty
    list of reasons, and afresh again after it, so no other test sees what this one built."""
    monkeypatch.setattr(fused, "_failed", [])
    fused._kernel.cache_clear()
    yield
    fused._kernel.cache_clear()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [
    lambda n, d: relu_like(n, d),
    lambda n, d: -torch.rand(n, dtype=d) - 1,            # all negative
    lambda n, d: torch.rand(n, dtype=d) * 1e-30,         # tiny positives
    lambda n, d: torch.full((n,), 3.5, dtype=d),         # constant
    lambda n, d: torch.linspace(-1e30, 1e30, n, dtype=d),
], ids=["relu", "negative", "tiny", "constant", "huge"])
def test_moments_match_float64_numpy(make, dtype):
    t = make(BIG, dtype)
    total, squares, zeros, lo, hi = fused.moments(t)
    r_total, r_squares, r_zeros, r_lo, r_hi = reference(t)
    scale = t.double().abs().sum().item()  # float64 rounding is relative to the terms, not the total
    assert total == pytest.approx(r_total, rel=1e-12, abs=1e-12 * scale)
    assert squares == pytest.approx(r_squares, rel=1e-12)
    assert zeros == r_zeros
    assert (lo, hi) == (r_lo, r_hi)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [
    lambda n, d: relu_like(n, d),
    lambda n, d: torch.rand(n, dtype=d) * 1e-30,
    lambda n, d: torch.linspace(-1e30, 1e30, n, dtype=d),
], ids=["relu", "tiny", "huge"])
def test_sum_of_squares_matches_float64_numpy(make, dtype):
    t = make(BIG + 7, dtype)  # a length that leaves a vector tail
    assert fused.sum_of_squares(t) == pytest.approx(reference(t)[1], rel=1e-12)
    assert fused.sum_of_squares(t) == pytest.approx(fused.moments(t)[1], rel=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_nonfinite_value_shows_in_the_sum_of_squares(bad):
    t = relu_like(BIG, torch.float32)
    t[BIG // 2] = bad
    assert not math.isfinite(fused.sum_of_squares(t))


@pytest.mark.parametrize("t", [torch.randn(BIG).half(), torch.randn(BIG, 2).t(), torch.randn(10)],
                         ids=["half", "strided", "small"])
def test_sum_of_squares_declines_what_it_cannot_take(t):
    assert fused.sum_of_squares(t) is None


def test_sum_of_squares_declines_without_a_kernel(without_kernel):
    assert fused.sum_of_squares(torch.randn(BIG)) is None


def test_negative_zero_is_a_zero_and_sorts_below_plus_zero():
    t = torch.zeros(BIG)
    t[3] = -0.0
    t[4] = 1.0
    total, squares, zeros, lo, hi = fused.moments(t)
    assert zeros == BIG - 1 and hi == 1.0 and lo == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_nonfinite_value_shows_in_the_sum(bad):
    t = relu_like(BIG, torch.float32)
    t[BIG // 2] = bad
    assert not math.isfinite(fused.moments(t)[0])


@pytest.mark.parametrize("t", [
    torch.randn(100),                              # too small to be worth a call
    torch.randn(BIG, 2)[:, 0],                     # not contiguous
    torch.randn(BIG).half(),                       # no kernel for half precision
    torch.arange(BIG),                             # integers
], ids=["small", "strided", "half", "int"])
def test_moments_declines_what_it_cannot_take(t):
    assert fused.moments(t) is None


def test_moments_declines_without_a_kernel(without_kernel):
    assert fused.moments(torch.randn(BIG)) is None


@pytest.mark.parametrize("n", [BIG, 1 << 20])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_summary_bins_the_sample_like_numpy(n, dtype):
    t = relu_like(n, dtype, seed=n)
    got = fused.summary(t, 32, *stats._sample_runs(n))
    assert got[:5] == list(fused.moments(t)[:2]) + [float(fused.moments(t)[2])] + list(fused.moments(t)[3:])
    lo, hi = t.min().item(), t.max().item()
    flat = stats._sample(t, stats.HIST_SAMPLE)
    assert got[5:] == stats._binned(flat.double().numpy(), lo, hi, 32)
    assert sum(got[5:]) == flat.numel() == stats._sample_len(n)


@pytest.mark.parametrize("bins", [2, 7, 32, 512, 600])
@pytest.mark.parametrize("layout", [(1, 4099, 0), (5, 3, 1000), (9, 1, 7)])
def test_summary_counts_every_bin_like_numpy(bins, layout):
    """Any bin count (beyond 512 the kernel's plain loop), runs whose length is not a multiple of the
    kernel's four lanes, and values on the bin edges, the max among them."""
    blocks, block_len, step = layout
    n = max(blocks * max(step, block_len), stats_small.SMALL + 1)
    t = torch.randn(n, dtype=torch.float64).float()
    t[::11] = t[::11].round()                 # repeated values on bin edges
    got = fused.summary(t, bins, blocks, block_len, step)
    sample = torch.cat([t[b * step:b * step + block_len] for b in range(blocks)])
    lo, hi = t.min().item(), t.max().item()
    assert got[5:] == stats._binned(sample.double().numpy(), lo, hi, bins)
    assert sum(got[5:]) == blocks * block_len


def test_every_tensor_above_the_small_batch_takes_the_kernel(monkeypatch):
    # below stats_small.SMALL tensors are reduced together; above it one kernel call is ~5x cheaper
    # than torch's passes and histogram, so no size in between falls back to them
    kernels = fused._kernel()
    calls = []
    counted = {key: (lambda fn: lambda *a: calls.append(a[1]) or fn(*a))(fn) for key, fn in kernels.items()}
    monkeypatch.setattr(fused, "_kernel", lambda: counted)
    for n in (stats_small.SMALL + 1, 4096, 16383):
        stats.compute(relu_like(n, torch.float32))
    assert calls == [stats_small.SMALL + 1, 4096, 16383]


def test_summary_of_a_constant_and_of_a_nan():
    assert fused.summary(torch.full((BIG,), 2.0), 8, *stats._sample_runs(BIG))[5:] == [
        float(stats._sample_len(BIG))] + [0.0] * 7
    t = relu_like(BIG, torch.float32)
    t[100] = math.nan
    got = fused.summary(t, 8, *stats._sample_runs(BIG))
    assert math.isnan(got[0]) and got[5:] == [0.0] * 8


@pytest.mark.parametrize("make", [
    lambda: relu_like(BIG, torch.float32),
    lambda: torch.randn(3, 1000, 41, dtype=torch.float64) + 100,   # |mean| >> std: centred pass
    lambda: relu_like(7 * BIG, torch.float32).reshape(-1, 7)[:, :5],   # not contiguous: a flat copy
    lambda: relu_like(stats_small.SMALL + 1, torch.float32),   # the smallest size the kernel takes
])
def test_stats_are_the_same_with_and_without_the_kernel(make, monkeypatch):
    t = make()
    fast = stats.compute(t)
    monkeypatch.setattr(fused, "_kernel", lambda: None)
    slow = stats.compute(t)
    for field in ("nan", "inf", "min", "max", "zero_frac", "hist"):
        assert getattr(fast, field) == getattr(slow, field), field
    # torch's float32 sum is good to ~1e-7; the kernel accumulates in float64
    exact = t.double()
    assert fast.mean == pytest.approx(exact.mean().item(), rel=1e-12)
    assert fast.std == pytest.approx(exact.std().item(), rel=1e-9)
    assert slow.mean == pytest.approx(fast.mean, rel=1e-6)
    assert slow.std == pytest.approx(fast.std, rel=1e-6)


def test_large_activation_stats_match_an_independent_computation(traced):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 256))
    x = torch.randn(128, 64)
    t = traced(model, x, backward=False)
    with torch.no_grad():
        hidden = model[0](x)
        outs = [hidden, hidden.relu(), model[2](hidden.relu())]
    for call, ref in zip(t.calls[1:], outs):
        s = call.outputs[0]
        f = ref.double()
        assert s.numel >= fused.MIN_SIZE
        assert s.mean == pytest.approx(f.mean().item(), rel=1e-9, abs=1e-12)
        assert s.std == pytest.approx(f.std().item(), rel=1e-9)
        assert (s.min, s.max) == (f.min().item(), f.max().item())
        assert s.zero_frac == (f == 0).double().mean().item()


def test_a_nan_in_a_large_activation_is_counted_exactly(traced):
    class Poison(nn.Module):
        def forward(self, x):
            x = x.clone()
            x[0, :3] = math.nan
            x[1, 0] = math.inf
            return x

    model = nn.Sequential(nn.Linear(64, 512), Poison())
    t = traced(model, torch.randn(128, 64), backward=False)
    s = t.calls[-1].outputs[0]
    assert (s.nan, s.inf) == (3, 1) and math.isfinite(s.mean) and math.isfinite(s.max)


# ------------------------------------------------------------------ parameter gradient norms
class Wide(nn.Module):
    """Large parameters (the kernel's path), small ones (torch's), and one the forward skips."""

    def __init__(self):
        super().__init__()
        self.big = nn.Linear(256, 256)
        self.small = nn.Linear(256, 3)
        self.unused = nn.Linear(3, 3)

    def forward(self, x):
        return self.small(torch.tanh(self.big(x)))


def test_parameter_gradient_norms_match_backward(traced):
    torch.manual_seed(0)
    model, x, y = Wide(), torch.randn(16, 256), torch.randint(0, 3, (16,))
    t = traced(model, x, target=y, loss="cross_entropy")
    twin = Wide()
    twin.load_state_dict(model.state_dict())
    nn.functional.cross_entropy(twin(x), y).backward()
    for p in t.params:
        ref = dict(twin.named_parameters())[p.name].grad
        if ref is None:
            assert p.grad_norm is None, p.name
        else:
            assert p.grad_norm == pytest.approx(ref.double().norm().item(), rel=1e-6), p.name
    assert t.param("unused.weight").grad_norm is None


def test_a_users_parameter_hook_still_sees_the_real_gradient(traced):
    torch.manual_seed(0)
    model = Wide()
    seen = []
    handle = model.big.weight.register_hook(lambda g: seen.append(g.clone()))
    try:
        t = traced(model, torch.randn(4, 256), target=torch.randint(0, 3, (4,)), loss="cross_entropy")
        hooks_after = len(model.big.weight._backward_hooks)
    finally:
        handle.remove()
    assert hooks_after == 1  # nbdebug's own hook was removed, the user's left in place
    assert len(seen) == 1 and seen[0].abs().sum() > 0
    assert t.param("big.weight").grad_norm == pytest.approx(seen[0].double().norm().item(), rel=1e-6)


def test_a_nonfinite_gradient_is_flagged(traced):
    model = Wide()
    with torch.no_grad():
        model.small.weight[0, 0] = math.inf
    t = traced(model, torch.randn(4, 256), target=torch.randint(0, 3, (4,)), loss="cross_entropy")
    assert any(p.grad_nonfinite for p in t.params)


def test_norms_are_kept_when_the_kernel_is_missing(traced, without_kernel):
    torch.manual_seed(0)
    t = traced(Wide(), torch.randn(4, 256), target=torch.randint(0, 3, (4,)), loss="cross_entropy")
    assert t.param("big.weight").grad_norm > 0 and t.calls[1].outputs[0].std > 0



def test_the_kernel_is_compiled_once_into_the_cache(tmp_path, monkeypatch, rebuilt_kernel):
    monkeypatch.setenv("NBDEBUG_CACHE", str(tmp_path))
    assert fused.moments(relu_like(BIG, torch.float32)) is not None
    built = list(tmp_path.iterdir())
    assert len(built) == 1 and built[0].name.startswith("fused-")
    fused._kernel.cache_clear()
    mtime = built[0].stat().st_mtime_ns
    assert fused.moments(relu_like(BIG, torch.float64)) is not None
    assert [p.stat().st_mtime_ns for p in tmp_path.iterdir()] == [mtime]  # loaded, not rebuilt


@pytest.mark.parametrize("without", ["switched off", "no compiler"])
def test_without_a_kernel_the_torch_passes_give_the_same_numbers(without, tmp_path, monkeypatch,
                                                                  rebuilt_kernel):
    monkeypatch.setenv("NBDEBUG_CACHE", str(tmp_path))
    if without == "switched off":
        monkeypatch.setenv("NBDEBUG_KERNEL", "0")
    else:
        monkeypatch.setattr(fused, "_compilers", lambda: [])
    t = relu_like(BIG, torch.float32)
    assert fused.moments(t) is None and fused._failed
    s = stats.compute(t)
    exact = t.double()
    assert s.mean == pytest.approx(exact.mean().item(), rel=1e-6)
    assert (s.min, s.max) == (exact.min().item(), exact.max().item())
    assert sum(s.hist) == stats._sample_len(BIG)


def test_a_miscompiled_sum_of_squares_is_not_used(monkeypatch, rebuilt_kernel):
    real_load = fused._load

    def load(path):
        functions = real_load(path)
        functions["squares", torch.float32] = lambda values, n, out: None  # leaves 0.0 behind
        return functions

    monkeypatch.setattr(fused, "_load", load)
    assert fused.sum_of_squares(relu_like(BIG, torch.float32)) is None
    assert any("wrong numbers" in why for why in fused._failed)


def test_a_miscompiled_kernel_is_not_used(monkeypatch, rebuilt_kernel):
    def wrong(values, n, blocks, block_len, step, bins, units, groups, unit_max, out):
        out[0] = 1.0  # every other number left at zero

    monkeypatch.setattr(fused, "_load", lambda path: {torch.float32: wrong, torch.float64: wrong})
    assert fused.moments(relu_like(BIG, torch.float32)) is None
    assert any("wrong numbers" in why for why in fused._failed)


def test_compilers_that_are_not_installed_are_skipped(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/cc --flag")
    assert all(cc[0] != "/nonexistent/cc" for cc in fused._compilers())


def test_a_compiler_that_fails_leaves_the_torch_path(tmp_path, monkeypatch, rebuilt_kernel):
    monkeypatch.setenv("NBDEBUG_CACHE", str(tmp_path))
    monkeypatch.setattr(fused, "_compilers", lambda: [["false"]])  # exits 1, writes nothing
    assert fused.moments(relu_like(BIG, torch.float32)) is None
    assert fused._failed and fused._failed[0].startswith("false:")
    assert not list(tmp_path.iterdir())  # no half-written library left behind


@pytest.mark.parametrize("make", [
    lambda: torch.randn(256, 64, 3, 3) * 0.02,   # a conv weight
    lambda: torch.randn(1000, 512) + 5,          # |mean| >> std: numpy's two passes
    lambda: torch.full((8000,), 0.5),            # constant
    lambda: relu_like(20000, torch.float32),
], ids=["conv", "offset", "constant", "relu"])
def test_sampled_parameter_rows_are_the_same_with_and_without_the_kernel(make, monkeypatch):
    p = make()
    fast = stats._cpu_sampled_row(p, 32)
    monkeypatch.setattr(fused, "_kernel", lambda: None)
    slow = stats._cpu_sampled_row(p, 32)
    assert fast[8:] == slow[8:]
    assert fast[:8] == pytest.approx(slow[:8], rel=1e-9, abs=1e-12)


def test_a_trace_says_how_its_cpu_stats_were_taken(traced, monkeypatch):
    t = traced(nn.Linear(256, 256), torch.randn(128, 256))
    assert t.meta["cpu_stats"] == "kernel"
    monkeypatch.setattr(fused, "_failed", ["no C compiler found"])
    fused._kernel.cache_clear()
    monkeypatch.setenv("NBDEBUG_KERNEL", "0")
    try:
        t = traced(nn.Linear(256, 256), torch.randn(128, 256))
    finally:
        fused._kernel.cache_clear()
    assert t.meta["cpu_stats"].startswith("torch: ")



def dead_fraction(x):
    """Independent: the fraction of units with no positive value; a unit is a position past the batch
    dim, or a channel of a feature map (N, C, H, W, ...)."""
    if x.dim() >= 4:
        per_channel = x.transpose(0, 1).reshape(x.shape[1], -1)
        return (per_channel > 0).any(1).logical_not().double().mean().item()
    return (x.reshape(x.shape[0], -1) > 0).any(0).logical_not().double().mean().item()


@pytest.mark.parametrize("shape", [(16, 64, 8, 8), (32, 700), (2, 9000), (5, 3, 4099), (4, 30, 5, 6, 7)])
def test_the_pass_counts_dead_units_like_torch(shape, monkeypatch):
    torch.manual_seed(1)
    x = torch.randn(*shape).relu()
    if len(shape) >= 4:                       # feature maps: units are channels
        x[:, ::3] = 0                         # a third of the channels dead
        for c in range(0, shape[1], 9):       # ... of which a third revived at one position of one sample
            x[0, c].view(-1)[-1] = 0.5
    else:
        x.view(shape[0], -1)[:, ::3] = 0      # a third of the units dead
        x.view(shape[0], -1)[0, ::9] = 0.5    # ... of which a third revived by one sample
    fast = stats.compute(x, extras={"dead_unit_frac": stats.dead_unit_frac})
    monkeypatch.setattr(fused, "_kernel", lambda: None)
    slow = stats.compute(x, extras={"dead_unit_frac": stats.dead_unit_frac})
    expected = dead_fraction(x)
    assert 0.1 < expected < 0.5
    assert fast.extra["dead_unit_frac"] == pytest.approx(expected, abs=1e-12)
    assert slow.extra["dead_unit_frac"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("dead_channels", [(), (0,), (1,), (0, 1)])
def test_few_channels_are_counted_whole(dead_channels):
    """One or two channels of a large map: a channel is one unit of the count, alive if any of its
    positions fires, however many positions it has."""
    torch.manual_seed(2)
    x = torch.randn(8, 2, 40, 40).relu()
    for c in dead_channels:
        x[:, c] = 0
    st = stats.compute(x, extras={"dead_unit_frac": stats.dead_unit_frac})
    assert st.extra["dead_unit_frac"] == len(dead_channels) / 2
    one = stats.compute(x[:, :1].contiguous(), extras={"dead_unit_frac": stats.dead_unit_frac})
    assert one.extra["dead_unit_frac"] == (1.0 if 0 in dead_channels else 0.0)


def test_a_dead_relu_layer_is_measured_in_the_pass(traced):
    torch.manual_seed(0)
    lin = nn.Linear(64, 512)
    with torch.no_grad():
        lin.bias[:200] = -100.0               # 200 of 512 units never fire
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(512, 4))
    x = torch.randn(64, 64)
    t = traced(model, x)
    relu = next(c for c in t.calls if c.type == "ReLU")
    assert relu.outputs[0].extra["dead_unit_frac"] == pytest.approx(dead_fraction(model[1](lin(x))), abs=1e-12)
    assert relu.outputs[0].extra["dead_unit_frac"] >= 200 / 512


@pytest.mark.parametrize("make", [
    lambda: torch.randn(64, 3, 3, 3),
    lambda: torch.ones(8, 5),                       # symmetric: every row the same
    lambda: torch.ones(100, 7).double(),
    lambda: torch.randn(2, 4),                      # one row past the first
    lambda: torch.randn(70, 9).index_fill_(0, torch.tensor([3]), math.inf),
    lambda: torch.randn(70, 9).index_fill_(0, torch.tensor([0]), math.nan),
    lambda: nn.Parameter(torch.ones(6, 4)),         # called on a parameter itself, not a detached view
], ids=["conv", "symmetric", "float64", "two-rows", "inf", "nan", "parameter"])
def test_row_spread_on_the_host_matches_the_device_path(make, monkeypatch):
    w = make()
    host = stats.row_spread(w)
    assert isinstance(host, float)
    monkeypatch.setattr(stats, "on_host", lambda device: False)
    device = stats.row_spread(w)
    assert isinstance(device, torch.Tensor)
    assert host == pytest.approx(device.item(), nan_ok=True)


def test_row_spread_leaves_no_warning_behind():
    import warnings
    w = torch.randn(40, 6)
    w[4, 2] = math.inf  # row 4 is among the rows compared (every second of 40)
    w[0, 2] = math.inf  # Inf - Inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.row_spread(w))


def test_row_spreads_of_many_weights_match_one_at_a_time():
    torch.manual_seed(0)
    same = [torch.randn(32, 16) for _ in range(5)]            # one stacked group
    same[1][7] = math.inf                                       # row 7 is compared (every row of 32)
    same[2][0, 3] = math.nan
    same[3] = torch.ones(32, 16)                                # symmetric: spread 0
    weights = same + [
        nn.Parameter(torch.randn(40, 3, 3, 3)),                 # a singleton shape, a parameter
        torch.randn(300, 200),                                  # above the stacking limit
        torch.randn(64, 8).double(), torch.randn(64, 8).double(),
        torch.randn(64, 8),                                     # same shape, another dtype: its own group
        torch.randn(10),                                        # 1-d: no rows to compare
        torch.randn(1, 5),                                      # one row
        torch.empty(4, 0), torch.empty(4, 0),                   # no columns (nn.Linear(0, 4)): no spread
        torch.empty(5, 0, 3),
    ]
    expected = [stats.row_spread(w) for w in weights]
    got = stats.row_spreads(weights)
    assert len(got) == len(weights)
    for g, e in zip(got, expected):
        assert (g is None) == (e is None)
        if e is not None:
            assert isinstance(g, float) and g == pytest.approx(e, nan_ok=True)
    assert got[3] == 0.0 and math.isnan(got[2]) and got[1] == math.inf


def test_a_trace_records_row_spread_for_host_and_device_paths(monkeypatch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    nn.init.constant_(model[2].weight, 0.3)
    x = torch.randn(5, 6)
    host = nbdebug.trace(model, x)
    monkeypatch.setattr(stats, "on_host", lambda device: False)  # the accelerator path, on CPU tensors
    device = nbdebug.trace(model, x)
    for t in (host, device):
        spread = {p.name: p.stats.extra.get("row_spread") for p in t.params}
        assert spread["2.weight"] == 0.0 and spread["0.weight"] > 0 and spread["4.weight"] > 0
        assert spread["0.bias"] is None
    assert [f.rule for f in host.findings] == [f.rule for f in device.findings]
    assert any(f.rule == "NBD202" for f in host.findings)


def _with_nan(x, value):
    x = x.clone()
    x.view(-1)[3] = value
    return x


@pytest.mark.parametrize("make", [
    lambda: torch.randn(16, 3, 8, 8),
    lambda: torch.ones(5, 4),                        # no spread across the batch
    lambda: torch.randn(7).double(),
    lambda: _with_nan(torch.randn(6, 5), math.nan),  # a NaN unit counts as 0, as on the device
    lambda: _with_nan(torch.randn(6, 5), math.inf),
    lambda: torch.randn(6, 5) + 1e4,                 # |mean| >> std
    lambda: nn.Parameter(torch.randn(4, 3)),
    lambda: torch.empty(4, 0),                       # no units
], ids=["images", "constant", "float64", "nan", "inf", "offset", "parameter", "no-units"])
def test_batch_std_on_the_host_matches_the_device_path(make, monkeypatch):
    import warnings
    x = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak into the trace's warning list
        host = stats.batch_std(x)
    assert isinstance(host, float)
    monkeypatch.setattr(stats, "on_host", lambda device: False)
    device = stats.batch_std(x)
    assert isinstance(device, torch.Tensor)
    assert host == pytest.approx(device.item(), rel=1e-9, abs=1e-12, nan_ok=True)


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_a_model_with_empty_weights_traces(traced):
    class Empty(nn.Module):
        def __init__(self):
            super().__init__()
            self.none_in = nn.Linear(0, 4)
            self.also = nn.Linear(0, 4)
            self.used = nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    t = traced(Empty(), torch.randn(4, 3))
    assert t.error is None
    spread = {p.name: p.stats.extra.get("row_spread") for p in t.params}
    assert spread["none_in.weight"] is None and spread["used.weight"] > 0
