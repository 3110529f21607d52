"""The loss watch: a user's own loss that is one torch loss function on the output and the target is
treated as that loss; anything else stays custom; torch's functions are put back whatever happened."""
import functools
import threading

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import nbdebug
from nbdebug import loss_watch
from nbdebug.entry_points import Wrapped

NAMES = loss_watch._FUNCTIONS
ORIGINALS = {name: getattr(F, name) for name in NAMES}


def _restored():
    return all(getattr(F, name) is ORIGINALS[name] for name in NAMES)


def _setup(seed=0, classes=4):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, classes)), torch.randn(24, 6), \
        torch.arange(24) % classes


def test_a_lambda_calling_cross_entropy_is_cross_entropy():
    m, x, y = _setup()
    t = nbdebug.trace(m, x, target=y, loss=lambda out, t: F.cross_entropy(out, t))
    assert t.loss.name == "CrossEntropyLoss"
    assert "F.cross_entropy" in t.loss.description
    assert _restored()


def test_an_nn_loss_inside_a_users_loss_class_counts_with_its_weight():
    class Criterion(nn.Module):     # a wrapper class: its name is not a loss's
        def __init__(self):
            super().__init__()
            self.ce = nn.CrossEntropyLoss(weight=torch.ones(4), ignore_index=3)

        def forward(self, out, t):
            return self.ce(out, t)

    m, x, y = _setup()
    t = nbdebug.trace(m, x, target=y, loss=Criterion())
    assert (t.loss.name, t.loss.class_weighted, t.loss.ignore_index) == ("CrossEntropyLoss", True, 3)


@pytest.mark.parametrize("loss, expected", [
    (lambda out, t: F.cross_entropy(out.view(-1, 4), t.view(-1)), "custom"),          # a view of the output
    (lambda out, t: F.cross_entropy(out, t.flip(0)), "custom"),                       # a transformed target
    (lambda out, t: F.cross_entropy(out, t) + F.mse_loss(out, out.detach()), "custom"),  # two loss functions
    (lambda out, t: F.cross_entropy(out, t) + 0.1 * out.pow(2).mean(), "CrossEntropyLoss"),  # one call
])
def test_only_one_call_on_the_output_and_the_target_itself_counts(loss, expected):
    m, x, y = _setup()
    assert nbdebug.trace(m, x, target=y, loss=loss).loss.name == expected


def test_a_named_loss_is_not_watched():
    m, x, y = _setup()
    t = nbdebug.trace(m, x, target=y, loss=nn.CrossEntropyLoss())
    assert t.loss.name == "CrossEntropyLoss" and "F.cross_entropy" not in t.loss.description


def test_a_partial_of_a_loss_function_gives_its_ignore_index():
    m, x, y = _setup()
    y = y.clone()
    y[:4] = 255
    t = nbdebug.trace(m, x, target=y, loss=functools.partial(F.cross_entropy, ignore_index=255))
    assert t.loss.ignore_index == 255
    assert not [f for f in t.findings if f.cause == "wrong-target"]


def test_one_based_labels_behind_a_lambda_are_found():
    m, x, y = _setup()
    t = nbdebug.trace(m, x, target=y + 1, loss=lambda out, t: F.cross_entropy(out, t))
    assert any(f.rule == "NBD422" for f in t.findings)
    assert _restored()   # the loss raised (target 4 is out of bounds): put back all the same


def test_functions_are_restored_when_the_loss_raises():
    def broken(out, t):
        F.mse_loss(out, out)
        raise ValueError("boom")

    m, x, y = _setup()
    t = nbdebug.trace(m, x, target=y, loss=broken)
    assert t.error is not None and "boom" in t.error.message
    assert t.loss.name == "custom"
    assert _restored()


def test_calls_from_other_threads_are_not_noted():
    m, x, y = _setup()
    seen = []

    def loss(out, t):
        worker = threading.Thread(target=lambda: seen.append(F.mse_loss(torch.ones(2), torch.zeros(2))))
        worker.start()
        worker.join(10)
        return F.cross_entropy(out, t)

    t = nbdebug.trace(m, x, target=y, loss=loss)
    assert seen and t.loss.name == "CrossEntropyLoss"


def test_wrapped_installs_once_and_restores_after_the_last_watch():
    class Owner:
        @staticmethod
        def f(v):
            return v + 1

    original = Owner.__dict__["f"]
    noted = []

    def make(fn, tag, watches):
        def wrapper(v):
            for w in tuple(watches):
                noted.append((w, tag, v))
            return fn(v)
        return wrapper

    wrapped = Wrapped([(Owner, "f", "t")], make)
    with wrapped.active("a"):
        first = Owner.__dict__["f"]
        with pytest.raises(RuntimeError):
            with wrapped.active("b"):
                assert Owner.__dict__["f"] is first      # not wrapped twice
                assert Owner.f(1) == 2
                raise RuntimeError
        assert Owner.f(2) == 3
    assert Owner.__dict__["f"] is original
    assert noted == [("a", "t", 1), ("b", "t", 1), ("a", "t", 2)]


@pytest.mark.parametrize("name, kind", list(loss_watch._KINDS.items()))
def test_every_watched_function_is_known_and_never_breaks_the_loss(name, kind):
    # each watched function, called inside a loss of the user's own, runs as it would without the watch
    torch.manual_seed(0)
    m = nn.Linear(4, 3)
    x = torch.randn(6, 4)
    targets = {"cross_entropy": torch.arange(6) % 3, "nll_loss": torch.arange(6) % 3,
               "binary_cross_entropy": torch.rand(6, 3), "binary_cross_entropy_with_logits": torch.rand(6, 3),
               "kl_div": torch.softmax(torch.randn(6, 3), 1)}
    signs = (torch.arange(6) % 2).float() * 2 - 1
    targets.update({"margin_ranking_loss": signs, "cosine_embedding_loss": signs,
                    "hinge_embedding_loss": signs[:, None].expand(6, 3).contiguous()})
    y = targets.get(name, torch.randn(6, 3))
    fn = getattr(F, name)

    def loss(out, t):
        out = torch.sigmoid(out) if name == "binary_cross_entropy" else out
        out = torch.log_softmax(out, 1) if name in ("nll_loss", "kl_div") else out
        if name == "margin_ranking_loss":  # pair losses: two inputs and a sign target
            return fn(out[:, 0], out[:, 1], t)
        if name == "cosine_embedding_loss":
            return fn(out, out.flip(0), t)
        return fn(out, t)

    t = nbdebug.trace(m, x, target=y, loss=loss)
    assert t.error is None, t.error
    assert t.loss.value is not None
    assert _restored()


def test_a_loss_over_several_outputs_is_still_known_as_the_users_own():
    # the model returns (reconstruction, auxiliary loss) and the user's loss adds them: one F.mse_loss
    # call names it, and `own` keeps saying it may read the other output too (NBD290 relies on it)
    class WithAux(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            y = self.fc(x)
            return y, y.pow(2).mean()

    x = torch.randn(5, 4)
    t = nbdebug.trace(WithAux(), x, target=x, loss=lambda out, y: F.mse_loss(out[0], y) + out[1])
    assert (t.loss.name, t.loss.own) == ("MSELoss", True)
    assert nbdebug.trace(WithAux(), x, target=x, loss="mse").loss.own is False
