"""The softmax watch: every softmax forward computes is noted with its enclosing call, and torch's
entry points are put back afterwards, whatever the forward did."""
import threading

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import nbdebug

ORIGINALS = (torch.Tensor.softmax, torch.Tensor.log_softmax, torch.softmax, torch.log_softmax)


def _entry_points():
    return (torch.Tensor.softmax, torch.Tensor.log_softmax, torch.softmax, torch.log_softmax)


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.norm = nn.Softmax(dim=-1)

    def forward(self, x):
        h = self.fc(x)
        a = F.softmax(h, dim=1)
        b = h.log_softmax(-1)
        c = torch.softmax(h.unsqueeze(0), 2)
        d = torch.log_softmax(h, dim=0)
        return self.norm(a + b + c[0] + d)


def test_every_entry_point_is_noted_with_its_call_and_dim():
    t = nbdebug.trace(Mixed(), torch.randn(3, 4), backward=False)
    got = [(r["call"], r["shape"], r["dim"], r["log"]) for r in t.checks["softmax_calls"]]
    norm = next(c.index for c in t.calls if c.name == "norm")
    assert got == [(0, [3, 4], 1, False), (0, [3, 4], 1, True), (0, [1, 3, 4], 2, False),
                   (0, [3, 4], 0, True), (norm, [3, 4], 1, False)]
    assert _entry_points() == ORIGINALS


def test_entry_points_are_restored_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            x.softmax(-1)
            raise RuntimeError("boom")

    t = nbdebug.trace(Broken(), torch.randn(2, 3))
    assert t.error is not None and "boom" in t.error.message
    assert t.checks["softmax_calls"][0]["shape"] == [2, 3]
    assert _entry_points() == ORIGINALS
    assert torch.randn(2, 3).softmax(-1).sum(-1).allclose(torch.ones(2))


def test_other_threads_are_not_noted():
    done = threading.Event()

    class Waits(nn.Module):
        def forward(self, x):
            worker = threading.Thread(target=lambda: (torch.randn(5, 5).softmax(0), done.set()))
            worker.start()
            worker.join()
            return x * 2

    t = nbdebug.trace(Waits(), torch.randn(2, 3), backward=False)
    assert done.is_set()
    assert "softmax_calls" not in t.checks


@pytest.mark.parametrize("dim", [1, -2])
def test_attention_over_the_queries_is_found_in_a_hand_written_block(dim):
    torch.manual_seed(0)

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k = nn.Linear(8, 8), nn.Linear(8, 8)

        def forward(self, x):
            return (self.q(x) @ self.k(x).transpose(1, 2)).softmax(dim) @ x

    t = nbdebug.trace(nn.Sequential(nn.Linear(8, 8), Attn()), torch.randn(4, 6, 8))
    found = [f for f in t.findings if f.rule == "NBD254"]
    assert [f.where for f in found] == ["1"] and found[0].severity == "warning"


def test_traces_in_two_threads_leave_no_wrapper_behind():
    # the second trace starts while the first is inside its forward, and ends after the first
    inside, release = threading.Event(), threading.Event()

    class Slow(nn.Module):
        def forward(self, x):
            inside.set()
            release.wait(10)
            return x.softmax(-1)

    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("t", nbdebug.trace(Slow(), torch.randn(2, 3),
                                                                                   backward=False)))

    class Outlives(Mixed):
        def forward(self, x):
            release.set()
            worker.join(10)          # the worker's trace ends inside this one
            return super().forward(x)

    worker.start()
    inside.wait(10)
    t2 = nbdebug.trace(Outlives(), torch.randn(3, 4), backward=False)
    assert not worker.is_alive()
    assert [r["shape"] for r in result["t"].checks["softmax_calls"]] == [[2, 3]]
    assert len(t2.checks["softmax_calls"]) == 5
    assert _entry_points() == ORIGINALS
