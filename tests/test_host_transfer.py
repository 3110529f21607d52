"""The accelerator path of the stats reads nothing back per tensor: one host transfer in finish().

No GPU is needed: the CPU shortcuts (numbers read straight into floats, which is free on the host)
are switched off through `stats.on_host`, so CPU tensors take the path a CUDA or MPS tensor takes,
and every way a tensor's value can reach Python is counted.
"""
import math

import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug import stats

HOST_READS = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "__index__")


@pytest.fixture
def device_path(monkeypatch):
    """Route CPU tensors down the accelerator path and count host reads, split by stage."""
    monkeypatch.setattr(stats, "on_host", lambda device: False)
    reads = {"queue": [], "finish": []}
    stage = ["queue"]
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, _name=name, **k):
            reads[stage[0]].append(_name)
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    finish = stats.StatsBatch.finish

    def counted_finish(self):
        stage[0] = "finish"
        try:
            finish(self)
        finally:
            stage[0] = "queue"

    monkeypatch.setattr(stats.StatsBatch, "finish", counted_finish)
    return reads


def test_queueing_reads_nothing_back_and_finish_reads_once(device_path):
    torch.manual_seed(0)
    tensors = [torch.randn(64, 32), torch.randn(3, 5, 7).relu(), torch.tensor([1.0, math.nan, math.inf]),
               torch.randint(0, 10, (40,)), torch.zeros(10)]
    batch = stats.StatsBatch()
    queued = [batch.add(t, f"[{i}]", {"dead_unit_frac": stats.dead_unit_frac}) for i, t in enumerate(tensors)]
    assert device_path["queue"] == [], f"host reads while queueing: {device_path['queue']}"
    batch.finish()
    # one transfer per device: the concatenated vector goes over once and becomes floats once
    assert device_path["finish"].count("cpu") == 1, device_path["finish"]
    assert device_path["finish"].count("tolist") == 1, device_path["finish"]
    assert [n for n in device_path["finish"] if n not in ("cpu", "tolist")] == []
    # and the numbers are right
    assert queued[0].mean == pytest.approx(tensors[0].mean().item(), rel=1e-5)
    assert queued[2].nan == 1 and queued[2].inf == 1


class _Viewed(nn.Module):
    """Per-sample, but not provably so from the source (a view with -1 in front): the batch-mixing
    experiment runs, finds nothing, and must not cost a transfer of its own."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x.view(-1, 8))


@pytest.mark.parametrize("make", [
    lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)),
    _Viewed,
], ids=["sequential", "batch-mixing-experiment"])
def test_a_whole_trace_makes_one_transfer(device_path, make):
    torch.manual_seed(0)
    model = make()
    x, y = torch.randn(6, 8), torch.randint(0, 3, (6,))
    t = nbdebug.trace(model, x, target=y, loss="cross_entropy")
    assert t.ok and t.calls[-1].outputs[0].numel == 18
    assert t.checks["batch_mixing"]["mixed"] is False
    assert device_path["queue"] == [], f"host reads outside finish(): {device_path['queue']}"
    transfers = device_path["finish"]
    assert transfers.count("cpu") == 1 and transfers.count("tolist") == 1, transfers


def test_a_tensor_seen_twice_has_its_shape_before_the_transfer():
    """Checks that run before finish() (the batch-mixing verdict reads input ranks) see shapes."""
    batch = stats.StatsBatch()
    x = torch.randn(4, 3)  # small: its numbers wait for the batched reduction
    first, again = batch.add(x, "out"), batch.add(x, "in")
    assert again is not first and again.shape == (4, 3) and again.numel == 12 and again.dtype == "float32"
    batch.finish()
    assert again.mean == pytest.approx(x.mean().item(), rel=1e-6) and again.path == "in"
