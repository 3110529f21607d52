"""Capture: every module call, in order, with stats that match an independent computation."""
import copy
import math
from collections import defaultdict

import pytest
import torch
import torch.nn as nn

import models
import nbdebug


def flatten(obj):
    """Independent of nbdebug.structure: tensors of a nested value, in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for v in obj.values() for t in flatten(v)]
    if isinstance(obj, (list, tuple)):
        return [t for v in obj for t in flatten(v)]
    if hasattr(obj, "__dataclass_fields__"):
        return [t for k in obj.__dataclass_fields__ for t in flatten(getattr(obj, k))]
    return []


def reference_outputs(model, inputs, seed=0):
    """(module name, occurrence) -> output tensors, from per-module hooks installed by the test."""
    names = {id(m): n for n, m in model.named_modules()}
    seen = defaultdict(int)
    out = {}
    handles = []

    def hook(mod, args, result):
        name = names[id(mod)]
        out[(name, seen[name])] = [t.detach().clone() for t in flatten(result)]
        seen[name] += 1

    for m in model.modules():
        handles.append(m.register_forward_hook(hook))
    try:
        torch.manual_seed(seed)
        with torch.no_grad():
            if isinstance(inputs, dict):
                model(**inputs)
            elif isinstance(inputs, tuple):
                model(*inputs)
            else:
                model(inputs)
    finally:
        for h in handles:
            h.remove()
    return out


def assert_stats_match(s, t, where):
    f = t.detach().double().reshape(-1)
    fin = f[torch.isfinite(f)]
    assert s.shape == tuple(t.shape), where
    assert s.dtype == str(t.dtype).replace("torch.", ""), where
    assert s.numel == t.numel(), where
    assert s.nan == int(torch.isnan(f).sum()), where
    assert s.inf == int(torch.isinf(f).sum()), where
    if fin.numel():
        assert s.mean == pytest.approx(fin.mean().item(), rel=1e-4, abs=1e-5), where
        assert s.min == pytest.approx(fin.min().item(), rel=1e-6, abs=1e-6), where
        assert s.max == pytest.approx(fin.max().item(), rel=1e-6, abs=1e-6), where
        if fin.numel() > 1:
            assert s.std == pytest.approx(fin.std().item(), rel=1e-4, abs=1e-6), where
        assert s.zero_frac == pytest.approx((f == 0).double().mean().item(), abs=1e-12), where
        assert sum(s.hist) == fin.numel() if not s.hist_sampled else True, where


@pytest.mark.parametrize("name,model,inputs", models.all_models(), ids=[m[0] for m in models.all_models()])
def test_every_call_recorded_and_stats_match(name, model, inputs, traced):
    model.eval() if name != "batchnorm_train" else None
    torch.manual_seed(0)
    t = traced(model, inputs, backward=False)
    assert t.error is None, t.error
    expected_calls = reference_outputs(model, inputs)
    seen = defaultdict(int)
    for c in t.calls:
        key = (c.name, seen[c.name])
        seen[c.name] += 1
        assert key in expected_calls, f"unexpected call {key}"
        ref = expected_calls[key]
        assert len(c.outputs) == len(ref), key
        if name == "batchnorm_train":
            continue  # dropout draws differ between the two runs; shapes are compared above
        for s, r in zip(c.outputs, ref):
            assert_stats_match(s, r, key)
    assert sum(seen.values()) == len(expected_calls)


def test_call_order_depth_and_parents(traced):
    models.seeded()
    t = traced(models.Nested(), torch.randn(3, 6))
    assert [c.name for c in t.calls] == ["", "stem", "stem.0", "stem.1", "body", "body.0", "body.0.0",
                                         "body.0.1", "body.1"]
    by_name = {c.name: c for c in t.calls}
    assert by_name["body.0.1"].depth == 3
    assert t.calls[by_name["body.0.1"].parent].name == "body.0"
    assert by_name[""].parent is None and by_name[""].type == "Nested"


def test_reused_module_gives_one_call_per_use(traced):
    models.seeded()
    t = traced(models.Reused(), torch.randn(4, 5))
    assert [c.name for c in t.calls].count("shared") == 3


def test_structured_outputs_are_flattened_with_paths(traced):
    models.seeded()
    m = models.LSTMNet(nn.LSTM)
    t = traced(m, torch.randn(4, 5, 3))
    rnn = t.call_of("rnn")
    assert [s.path for s in rnn.outputs] == ["[0]", "[1][0]", "[1][1]"]
    assert rnn.output_kind == "tuple[2]"
    t = traced(models.DictOut(), torch.randn(5, 4))
    assert [s.path for s in t.outputs] == ["['logits']", "['value']"]
    t = traced(models.StructuredOut(), torch.randn(3, 4))
    assert [s.path for s in t.outputs] == [".z", ".extra[0].mean", ".extra[0].logvar"]


def test_keyword_inputs_are_recorded(traced):
    models.seeded()
    t = traced(models.KwargsIn(), {"left": torch.randn(3, 4), "right": torch.randn(3, 3)})
    assert [s.path for s in t.inputs] == ["left", "right"]
    assert [s.shape for s in t.calls[0].inputs] == [(3, 4), (3, 3)]


def test_none_output_is_recorded(traced):
    models.seeded()
    t = traced(models.NoneInside(), torch.randn(2, 4))
    side = t.call_of("side")
    assert side.output_kind == "None" and side.outputs == []


def test_exception_keeps_calls_before_and_the_failing_call(traced):
    models.seeded()
    x = torch.randn(2, 1, 8, 8)
    t = traced(models.RaisesAt(), x)
    assert t.error is not None and t.error.stage == "forward"
    assert t.error.type == "RuntimeError" and "mat1 and mat2" in t.error.message
    assert t.error.where == "fc"
    names = [c.name for c in t.calls]
    assert names == ["", "conv", "flat", "fc"]
    fc = t.call_of("fc")
    assert fc.status == "raised" and fc.outputs == []
    assert fc.inputs[0].shape == (2, 144)
    assert t.call_of("conv").status == "ok" and t.call_of("conv").outputs[0].shape == (2, 4, 6, 6)


def test_exception_in_custom_forward_keeps_user_frames(traced):
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            h = self.fc(x)
            raise ValueError("custom failure with <b>markup</b>")

    t = traced(Boom(), torch.randn(2, 3))
    assert t.error.type == "ValueError"
    assert t.error.where == "" and t.calls[0].status == "raised" and t.call_of("fc").status == "ok"
    assert any(f.function == "forward" and "raise ValueError" in f.code for f in t.error.frames)


def test_caught_exception_inside_forward_is_not_the_failure(traced):
    class Careful(nn.Module):
        def __init__(self):
            super().__init__()
            self.bad = nn.Linear(5, 2)
            self.good = nn.Linear(3, 2)

        def forward(self, x):
            try:
                return self.bad(x)
            except RuntimeError:
                return self.good(x)

    t = traced(Careful(), torch.randn(2, 3))
    assert t.error is None
    assert t.call_of("bad").status == "raised" and t.call_of("good").status == "ok"


def test_half_and_bfloat16_stats(traced):
    for dtype in (torch.float16, torch.bfloat16):
        models.seeded()
        m = nn.Sequential(nn.Linear(4, 4), nn.Tanh()).to(dtype)
        x = torch.randn(6, 4).to(dtype)
        t = traced(m, x)
        assert t.error is None, t.error
        ref = reference_outputs(m, x)
        assert_stats_match(t.call_of("1").outputs[0], ref[("1", 0)][0], str(dtype))
        assert t.call_of("1").outputs[0].dtype == str(dtype).replace("torch.", "")


def test_int_inputs(traced):
    models.seeded()
    ids = torch.randint(0, 20, (3, 7))
    t = traced(models.Embedder(), ids)
    assert t.inputs[0].dtype == "int64"
    assert t.inputs[0].mean == pytest.approx(ids.double().mean().item())
    assert t.error is None


def test_gradients_match_independent_backward(traced):
    models.seeded()
    m = models.Nested()
    x, y = torch.randn(4, 6), torch.randn(4, 4)
    t = traced(m, x, target=y, loss=nn.MSELoss())
    # independent: the same loss, .backward() on a deep copy, grads w.r.t. module outputs by hooks
    twin = copy.deepcopy(m)
    names = {id(mod): n for n, mod in twin.named_modules()}
    grads = {}

    def hook(mod, args, out):
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.register_hook(lambda g, n=names[id(mod)]: grads.__setitem__(n, g.clone()))

    hs = [mod.register_forward_hook(hook) for mod in twin.modules()]
    nn.MSELoss()(twin(x), y).backward()
    for h in hs:
        h.remove()
    for c in t.calls:
        g = c.grads[0]
        assert g is not None, c.name
        ref = grads[c.name].double()
        assert g.norm == pytest.approx(ref.norm().item(), rel=1e-4)
        assert g.mean == pytest.approx(ref.mean().item(), rel=1e-3, abs=1e-7)
    for p in t.params:
        ref = dict(twin.named_parameters())[p.name].grad
        assert p.grad_norm == pytest.approx(ref.norm().item(), rel=1e-4)
    assert t.loss.value == pytest.approx(nn.MSELoss()(m(x), y).item(), rel=1e-5)


def test_inplace_relu_gradients(traced):
    models.seeded()
    t = traced(models.InplaceRelu(), torch.randn(5, 4), target=torch.randn(5, 1), loss="mse")
    assert t.error is None, t.error
    assert all(g is not None for c in t.calls for g in c.grads)


def test_user_grad_is_untouched_and_not_created(traced):
    models.seeded()
    m = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    m[0].weight.grad = torch.full_like(m[0].weight, 7.0)
    t = traced(m, torch.randn(4, 3), target=torch.randn(4, 1), loss="mse")
    assert m[0].weight.grad.eq(7.0).all() and m[2].weight.grad is None
    assert t.param("2.weight").grad_norm > 0


def test_batchnorm_running_stats_and_dropout_rng_untouched(traced):
    models.seeded()
    m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.3), nn.Linear(6, 1)).train()
    t = traced(m, torch.randn(8, 4), steps=3, target=torch.randn(8, 1), loss="mse")
    assert len(t.steps) == 3


def test_input_tensor_not_modified_by_inplace_forward(traced):
    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            x.mul_(2)
            return self.fc(x)

    x = torch.ones(2, 3)
    traced(Scales(), x)
    assert torch.equal(x, torch.ones(2, 3))


def test_unwraps_data_parallel_and_compile(traced):
    models.seeded()
    inner = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    dp = nn.DataParallel(inner)
    t = traced(dp, torch.randn(2, 3))
    assert [c.name for c in t.calls] == ["module", "module.0", "module.1"]
    assert t.meta["wrapper"] == "DataParallel"
    compiled = torch.compile(inner)
    t = traced(compiled, torch.randn(2, 3))
    assert [c.name for c in t.calls] == ["_orig_mod", "_orig_mod.0", "_orig_mod.1"]
    assert t.error is None


def test_unregistered_module_is_seen_and_named(traced):
    class ListNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [nn.Linear(4, 4), nn.Linear(4, 4)]
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.head(x)

    models.seeded()
    t = traced(ListNet(), torch.randn(3, 4))
    names = [(c.name, c.registered) for c in t.calls]
    assert ("blocks.0", False) in names and ("blocks.1", False) in names and ("head", True) in names
    found = {u["name"] for u in t.checks["unregistered_params"]}
    assert found == {"blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"}


def test_max_calls_bounds_the_record(traced):
    models.seeded()
    cell = nn.RNNCell(3, 3)

    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = cell

        def forward(self, x):
            h = torch.zeros(x.shape[0], 3)
            for step in range(x.shape[1]):
                h = self.cell(x[:, step], h)
            return h

    t = traced(Unrolled(), torch.randn(2, 50, 3), max_calls=10)
    assert len(t.calls) == 10
    assert t.checks["calls_not_recorded"] == {"cell": 41}
    assert any("counted per module" in n for n in t.notes)


def test_forward_only_trace_has_no_gradients(traced):
    models.seeded()
    t = traced(nn.Sequential(nn.Linear(3, 2)), torch.randn(2, 3), backward=False)
    assert all(g is None for c in t.calls for g in c.grads)
    assert all(p.grad_norm is None for p in t.params)


def test_meta_device_tensors_do_not_break_stats(traced):
    m = nn.Linear(3, 2).to("meta")
    t = traced(m, torch.randn(2, 3, device="meta"))
    assert t.inputs[0].note.startswith("meta")
    assert math.isnan(t.inputs[0].mean)


class Checkpointed(nn.Module):
    """An embedding-like layer, then a block under torch.utils.checkpoint, as gradient
    checkpointing in transformer libraries does."""

    def __init__(self, reentrant: bool):
        super().__init__()
        self.reentrant = reentrant
        self.emb = nn.Linear(16, 32)
        self.block = nn.Sequential(nn.Linear(32, 32), nn.Tanh())
        self.head = nn.Linear(32, 3)
        self.scale = torch.ones(32, requires_grad=True)   # a trainable tensor the model does not register
        self.gain = torch.ones(32, requires_grad=True)    # ... and one used only inside the checkpoint

    def forward(self, x):
        from torch.utils.checkpoint import checkpoint
        h = checkpoint(lambda z: self.block(z) * self.gain, self.emb(x), use_reentrant=self.reentrant)
        return self.head(h * self.scale)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpointed_blocks_get_their_gradients(reentrant, traced):
    models.seeded()
    m = Checkpointed(reentrant)
    x, y = torch.randn(8, 16), torch.randint(0, 3, (8,))
    m.block[0].weight.grad = torch.full_like(m.block[0].weight, 7.0)
    user_grad = m.block[0].weight.grad
    t = traced(m, x, target=y, loss="cross_entropy")
    assert t.error is None, t.error
    twin = copy.deepcopy(m)
    twin.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(twin(x), y).backward()
    for p in t.params:
        assert p.grad_norm == pytest.approx(dict(twin.named_parameters())[p.name].grad.norm().item(), rel=1e-5)
    assert not [f for f in t.findings if f.rule == "NBD290"]
    assert m.block[0].weight.grad is user_grad and user_grad.eq(7.0).all()
    assert m.scale.grad is None and m.gain.grad is None and x.grad is None
    noted = any("use_reentrant=True" in n for n in t.notes)
    assert noted == reentrant


def test_a_reentrant_checkpoint_with_a_users_accumulation_hook_is_not_run_with_backward(traced):
    models.seeded()
    m = Checkpointed(True)
    calls = []
    handle = m.emb.weight.register_post_accumulate_grad_hook(lambda p: calls.append(1))
    try:
        t = traced(m, torch.randn(8, 16), target=torch.randint(0, 3, (8,)), loss="cross_entropy")
    finally:
        handle.remove()
    assert calls == []                      # the user's optimizer-in-backward never stepped
    assert t.error is None and not t.meta.get("backward")
    assert any("no backward" in n and "use_reentrant=False" in n for n in t.notes)
    assert not [f for f in t.findings if f.rule in ("NBD290", "NBD900")]   # no blame on the model


def test_an_input_that_requires_grad_keeps_requiring_it_inside_the_trace(traced):
    models.seeded()
    m = nn.Sequential(nn.Linear(4, 4))
    x = torch.randn(3, 4, requires_grad=True)
    t = traced(m, x, target=torch.randn(3, 4), loss="mse")
    assert t.inputs[0].requires_grad and x.grad is None


def test_a_huge_python_structure_is_not_walked_to_its_end():
    from nbdebug.structure import MAX_ITEMS, tensors

    x = torch.ones(2)
    huge = [[1.0] * 1000 for _ in range(5000)] + [x]  # 5 M floats before the one tensor
    # the walk stops after MAX_ITEMS items: the tensor past them is not summarised, and nothing
    # walks 5 M Python floats one by one
    assert tensors(huge) == []
    assert [p for p, _ in tensors([x] * 3 + [[0.0] * (2 * MAX_ITEMS)] + [x])] == ["[0]", "[1]", "[2]"]


def test_a_forward_that_multiplies_a_list_does_not_hang_the_trace(traced):
    class Explode(nn.Module):
        def forward(self, x):
            return [[0.0] * 200 for _ in range(200)] * 50 + [x]  # 2 M floats, built at C speed

    class Head(nn.Module):
        def forward(self, rows):
            return rows[-1] * 2

    model = nn.Sequential(Explode(), Head())
    t = traced(model, torch.randn(3, 2))
    assert t.error is None and len(t.calls) == 3
    assert t.calls[-1].outputs[0].shape == (3, 2)
