"""Large weights' gradient norms taken slice by slice (nbdebug/weight_grads.py).

Every test compares the trace's norms with torch's own gradients, computed here independently, and
says whether the shortcut was taken: where it applies it must agree with autograd, and where a weight
is shared, hooked, penalised, checkpointed or modified in place it must step aside.
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import nbdebug
from nbdebug import backward, weight_grads


@pytest.fixture
def shortcut(monkeypatch):
    """Record which parameters each trace took the shortcut for (by name); `small=True` lets every
    weight qualify, so small test models exercise it."""
    taken: list = []
    plan = weight_grads.plan

    def spy(loss, params, calls):
        chosen = plan(loss, params, calls)
        taken.append({id(params[i]) for i in chosen})
        return chosen

    monkeypatch.setattr(weight_grads, "plan", spy)

    def run(model, x, small=False, **kw):
        if small:
            monkeypatch.setattr(weight_grads, "MIN_BYTES", 0)
        taken.clear()
        t = nbdebug.trace(model, x, **kw)
        ids = taken[-1] if taken else set()
        names = {n for n, p in model.named_parameters() if id(p) in ids}
        return t, names
    return run


def reference_norms(model, x, loss_fn):
    """{name: ||d loss / d param||} straight from torch.autograd.grad, in float64."""
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    loss = loss_fn(model(x))
    grads = torch.autograd.grad(loss, [p for _, p in params], allow_unused=True)
    return {n: None if g is None else torch.linalg.vector_norm(g.double()).item()
            for (n, _), g in zip(params, grads)}


def assert_norms(trace, expected, rel=1e-5):
    got = {p.name: p.grad_norm for p in trace.params}
    for name, want in expected.items():
        if want is None:
            assert got[name] is None, name
        else:
            assert got[name] == pytest.approx(want, rel=rel), name


def mse_to(target):
    return lambda out: F.mse_loss(out, target)


def test_large_linear_takes_the_shortcut_and_matches_autograd(shortcut):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 8))
    x, y = torch.randn(32, 64), torch.randn(32, 8)
    t, names = shortcut(model, x, target=y, loss="mse")
    assert names == {"2.weight"}  # 4 MB, two slices; the others are well under
    assert_norms(t, reference_norms(model, x, mse_to(y)))


def test_linear_on_a_sequence_matches_autograd(shortcut):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
    x, y = torch.randn(4, 10, 32), torch.randn(4, 10, 32)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert names == {"0.weight", "2.weight"}
    assert_norms(t, reference_norms(model, x, mse_to(y)))


def test_linear_on_a_sequence_then_an_inplace_relu_matches_autograd(shortcut):
    # the 3-d output is a view; ReLU(inplace=True) on it rebuilds the view's autograd node, so the
    # norm must hang on the product's node (a hook on the old view node would never run)
    torch.manual_seed(15)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(inplace=True), nn.Linear(64, 8), nn.ReLU(inplace=True),
                          nn.Linear(8, 3))
    x, y = torch.randn(4, 10, 32), torch.randn(4, 10, 3)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert {"0.weight", "2.weight"} <= names
    assert_norms(t, reference_norms(model, x, mse_to(y)))


@pytest.mark.parametrize("conv, shape", [
    (lambda: nn.Conv1d(8, 16, 5, stride=2, padding=2, dilation=1), (4, 8, 40)),
    (lambda: nn.Conv2d(8, 16, 3, stride=2, padding=1, dilation=2, bias=False), (4, 8, 20, 20)),
    (lambda: nn.Conv3d(4, 8, 3, padding=(1, 0, 1)), (2, 4, 8, 8, 8)),
])
def test_convolutions_match_autograd(shortcut, conv, shape):
    torch.manual_seed(2)
    # a convolution followed by an in-place ReLU: its output gradient is still taken before the ReLU
    first = {3: nn.Conv1d, 4: nn.Conv2d, 5: nn.Conv3d}[len(shape)](shape[1], shape[1], 1)
    model = nn.Sequential(first, conv(), nn.ReLU(inplace=True), nn.Flatten(), nn.LazyLinear(3))
    x = torch.randn(*shape)
    model(x)  # materialise the lazy layer
    y = torch.randn(shape[0], 3)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert "1.weight" in names
    assert_norms(t, reference_norms(model, x, mse_to(y)))


def test_a_real_size_convolution_is_sliced_and_matches(shortcut):
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 512, 3, padding=1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))
    x, y = torch.randn(2, 3, 8, 8), torch.randint(0, 10, (2,))
    t, names = shortcut(model, x, target=y, loss="cross_entropy")
    assert names == {"2.weight"}  # 4.7 MB: three slices of up to two megabytes
    assert_norms(t, reference_norms(model, x, lambda out: F.cross_entropy(out, y)))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.mid = nn.Linear(16, 16)
        self.head = nn.Linear(16, 50, bias=False)
        self.head.weight = self.emb.weight  # tied: two uses of one weight

    def forward(self, ids):
        return self.head(torch.tanh(self.mid(self.emb(ids))))


def test_a_tied_weight_goes_the_ordinary_way(shortcut):
    torch.manual_seed(4)
    model, ids = Tied(), torch.randint(0, 50, (3, 7))
    t, names = shortcut(model, ids, small=True)
    assert "emb.weight" not in names and "mid.weight" in names
    expected = reference_norms(model, ids, lambda out: backward.standin_loss(out))
    assert_norms(t, expected)


def test_a_penalty_on_the_weight_in_the_loss_goes_the_ordinary_way(shortcut):
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 4))
    x, y = torch.randn(16, 8), torch.randn(16, 4)

    def loss(out, target):
        return F.mse_loss(out, target) + 0.1 * model[2].weight.pow(2).sum()

    t, names = shortcut(model, x, small=True, target=y, loss=loss)
    assert "2.weight" not in names and "0.weight" in names
    assert_norms(t, reference_norms(model, x, lambda out: loss(out, y)))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 16)
        self.shared = nn.Linear(16, 16)
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        return self.out(self.shared(torch.relu(self.shared(self.inp(x)))))


def test_a_layer_called_twice_goes_the_ordinary_way(shortcut):
    torch.manual_seed(6)
    model, x, y = Twice(), torch.randn(5, 8), torch.randn(5, 2)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert "shared.weight" not in names and "out.weight" in names
    assert_norms(t, reference_norms(model, x, mse_to(y)))


def test_hooks_on_the_layer_or_its_weight_go_the_ordinary_way(shortcut):
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))
    doubled = model[2].register_forward_hook(lambda m, a, out: out * 2)  # changes what the weight sees
    clipped = model[4].weight.register_hook(lambda g: g.clamp(-1e-3, 1e-3))
    x, y = torch.randn(5, 8), torch.randn(5, 2)
    try:
        t, names = shortcut(model, x, small=True, target=y, loss="mse")
        assert names == {"0.weight"}
        expected = reference_norms(model, x, mse_to(y))  # the clamp hook applies here too
    finally:
        doubled.remove()
        clipped.remove()
    assert_norms(t, expected)


def test_a_first_layer_without_bias_is_left_to_autograd(shortcut):
    # leaving its weight out, autograd would not run its node at all: no pre-hook, no norm
    torch.manual_seed(8)
    model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.ReLU(), nn.Linear(16, 2))
    x, y = torch.randn(5, 8), torch.randn(5, 2)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert names == {"2.weight"}
    assert_norms(t, reference_norms(model, x, mse_to(y)))
    assert t.params[0].grad_norm is not None


def test_a_model_of_one_large_weight_still_gets_its_norm(shortcut):
    torch.manual_seed(9)
    model = nn.Linear(8, 4, bias=False)
    x, y = torch.randn(5, 8), torch.randn(5, 4)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert names == set()  # autograd needs one input to work on
    assert_norms(t, reference_norms(model, x, mse_to(y)))


class InPlaceAfter(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 16)
        self.b = nn.Linear(16, 2)

    def forward(self, x):
        h = torch.relu(self.a(x))
        out = self.b(h)
        h.mul_(2)  # the input `b` saved for its weight gradient is changed: backward must fail
        return out


def test_an_input_changed_in_place_after_the_call_still_fails_as_in_training(shortcut):
    torch.manual_seed(10)
    model, x, y = InPlaceAfter(), torch.randn(5, 8), torch.randn(5, 2)
    with pytest.raises(RuntimeError, match="inplace"):
        F.mse_loss(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert "b.weight" not in names
    assert t.error is not None and "inplace" in t.error.message


class Checkpointed(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 32)
        self.b = nn.Linear(32, 32)
        self.c = nn.Linear(32, 2)

    def forward(self, x):
        h = checkpoint(lambda v: torch.tanh(self.b(torch.relu(self.a(v)))), x, use_reentrant=False)
        return self.c(h)


def test_activation_checkpointing_goes_the_ordinary_way(shortcut):
    torch.manual_seed(11)
    model, x, y = Checkpointed(), torch.randn(5, 8), torch.randn(5, 2)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert "a.weight" not in names and "b.weight" not in names and "c.weight" in names
    assert_norms(t, reference_norms(model, x, mse_to(y)))


def test_bfloat16_weights_match_autograd(shortcut):
    torch.manual_seed(12)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4)).to(torch.bfloat16)
    x, y = torch.randn(8, 16, dtype=torch.bfloat16), torch.randn(8, 4, dtype=torch.bfloat16)
    t, names = shortcut(model, x, small=True, target=y, loss="mse")
    assert "2.weight" in names
    assert_norms(t, reference_norms(model, x, mse_to(y)), rel=1e-2)


def test_an_unbatched_image_into_a_convolution_goes_the_ordinary_way(shortcut):
    torch.manual_seed(13)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
    x = torch.randn(3, 12, 12)  # no batch dimension: torch adds one inside the layer
    t, names = shortcut(model, x, small=True)
    assert names == set()
    assert t.error is None
    assert all(p.grad_norm is not None for p in t.params)


def test_the_users_model_and_grads_are_untouched(shortcut, untouched):
    torch.manual_seed(14)
    model = nn.Sequential(nn.Linear(64, 2048), nn.ReLU(), nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 8))
    x, y = torch.randn(32, 64), torch.randn(32, 8)
    F.mse_loss(model(x), y).backward()  # the user's own .grad, alive during the trace
    with untouched(model):
        _, names = shortcut(model, x, target=y, loss="mse")
    assert names == {"2.weight"}


@pytest.mark.parametrize("scale, expected", [(1e-25, 1e-25 * math.sqrt(12)), (1e21, 1e21 * math.sqrt(12)),
                                             (1.0, math.sqrt(12))])
def test_small_gradient_norms_neither_underflow_nor_overflow(scale, expected):
    # 12 values: below the compiled kernel's minimum, so torch takes the norm; in float32 the squares
    # of 1e-25 vanish and those of 1e21 overflow (the trace reported 0 and Inf for finite gradients)
    g = torch.full((12,), scale, dtype=torch.float32)
    assert backward._norm(g) == pytest.approx(expected, rel=1e-6)
