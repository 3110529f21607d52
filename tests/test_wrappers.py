"""Wrapped models: torch.compile, DataParallel, DistributedDataParallel, TorchScript, the meta device.

nbdebug unwraps compile/DataParallel/DDP and runs the inner module eagerly, so every layer is still
recorded (and says so). TorchScript hides its insides from hooks: the trace records the outer call
and a note says why. Meta tensors have shapes but no values: the trace records shapes only.
"""
import socket

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn

import nbdebug


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


X = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
Y = torch.tensor([0, 1, 2, 0, 1])
LAYERS = ["Sequential", "Linear", "ReLU", "Linear"]


def assert_sees_every_layer(t, prefix: str):
    assert [c.type for c in t.calls] == LAYERS
    assert [c.name for c in t.calls] == [prefix, f"{prefix}.0", f"{prefix}.1", f"{prefix}.2"]
    assert t.error is None and t.calls[-1].outputs[0].shape == (5, 3)
    assert all(p.grad_norm is not None and p.grad_norm > 0 for p in t.params)


def assert_same_numbers(t, reference):
    """The wrapper changes names, not numbers: the same stats as the bare model's trace."""
    for a, b in zip(t.calls, reference.calls):
        assert a.outputs[0].mean == pytest.approx(b.outputs[0].mean, rel=1e-5, abs=1e-7)
    assert t.loss.value == pytest.approx(reference.loss.value, rel=1e-6)


def test_torch_compile_is_traced_eagerly(traced):
    model = torch.compile(net())
    t = traced(model, X, target=Y, steps=1)
    assert t.meta["wrapper"] == "OptimizedModule"
    assert_sees_every_layer(t, "_orig_mod")
    assert_same_numbers(t, nbdebug.trace(net(), X, target=Y))
    assert any("OptimizedModule wrapper" in n and "eagerly" in n for n in t.notes)
    assert len(t.steps) == 1
    # findings point at names of the object the user passed
    names = {n for n, _ in model.named_modules()} | {"input", "target", "loss", "optimizer"}
    assert all(f.where in names for f in t.findings)


def test_data_parallel(traced):
    model = nn.DataParallel(net())
    t = traced(model, X, target=Y, steps=1)
    assert t.meta["wrapper"] == "DataParallel"
    assert_sees_every_layer(t, "module")
    assert_same_numbers(t, nbdebug.trace(net(), X, target=Y))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def gloo_group():
    """A single-process gloo group on CPU, destroyed after the test."""
    if not dist.is_available():
        pytest.skip("torch.distributed is not available in this build")
    if dist.is_initialized():
        pytest.skip("a process group already exists")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_distributed_data_parallel(traced, gloo_group):
    model = nn.parallel.DistributedDataParallel(net())
    t = traced(model, X, target=Y, steps=1)
    assert t.meta["wrapper"] == "DistributedDataParallel"
    assert_sees_every_layer(t, "module")
    assert_same_numbers(t, nbdebug.trace(net(), X, target=Y))
    assert len(t.steps) == 1
    # the wrapper still works for the user afterwards
    model(X).sum().backward()
    assert model.module[0].weight.grad is not None


def test_nested_wrappers(traced):
    model = torch.compile(nn.DataParallel(net()))
    t = traced(model, X, target=Y)
    assert_sees_every_layer(t, "_orig_mod.module")


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_root_is_one_call_with_an_accurate_note(how, traced):
    model = torch.jit.script(net()) if how == "script" else torch.jit.trace(net(), X)
    t = traced(model, X, target=Y, steps=1)
    assert t.error is None
    assert len(t.calls) == 1 and t.calls[0].outputs[0].shape == (5, 3)
    note = next(n for n in t.notes if "TorchScript" in n)
    assert "hooks cannot see inside" in note and "original Python module" in note
    assert t.loss.value == pytest.approx(nbdebug.trace(net(), X, target=Y).loss.value, rel=1e-6)
    assert all(p.grad_norm is not None for p in t.params)  # gradients still reach its parameters
    assert len(t.steps) == 1


def test_torchscript_submodule_is_named_in_the_note(traced):
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.jit.script(nn.Sequential(nn.Linear(4, 8), nn.ReLU()))
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.encoder(x))

    t = traced(Mixed(), X, target=Y)
    assert [c.name for c in t.calls] == ["", "encoder", "head"]
    note = next(n for n in t.notes if "TorchScript" in n)
    assert "`encoder`" in note and "hooks cannot see inside" in note


def test_python_module_has_no_torchscript_note(traced):
    t = traced(net(), X, target=Y)
    assert not any("TorchScript" in n for n in t.notes)
    assert not any("wrapper" in n for n in t.notes)


def meta_net():
    with torch.device("meta"):
        return net()


def test_meta_model_records_shapes_only(traced):
    model = meta_net()
    t = traced(model, torch.empty(5, 4, device="meta"),
               target=torch.zeros(5, dtype=torch.long, device="meta"), steps=2)
    assert t.error is None and t.device == "meta"
    assert [c.outputs[0].shape for c in t.calls] == [(5, 3), (5, 8), (5, 8), (5, 3)]
    assert all("meta" in c.outputs[0].note for c in t.calls)
    assert any("meta device" in n for n in t.notes)
    assert t.steps == [] and t.checks["probe"]["skipped"]
    # no values means no evidence: nothing about gradients or values may be claimed
    assert [f for f in t.findings if f.severity != "info"] == []
    t.to_json()
    repr(t)


def test_meta_model_with_a_real_input_is_a_device_mismatch(traced):
    t = traced(meta_net(), X)
    assert t.error is not None and t.error.stage == "forward"
    assert t.findings and t.findings[0].cause == "device-mismatch"


def test_meta_model_with_a_shape_error(traced):
    t = traced(meta_net(), torch.empty(5, 7, device="meta"))
    assert t.error is not None and t.error.where == "0"
    assert t.findings and t.findings[0].cause == "shape-mismatch"
