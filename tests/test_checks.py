"""The targeted checks that run beside the trace: batch mixing, where NaN is born, unregistered params."""
import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug.checks import batch_mixing


class NoisyEncoder(nn.Module):
    """A VAE-style encoder: noise drawn inside forward, even in eval mode. Samples do not mix."""

    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(6, 3)
        self.logvar = nn.Linear(6, 3)

    def forward(self, x):
        mu, logvar = self.mu(x), self.logvar(x)
        return mu + torch.randn_like(mu) * (0.5 * logvar).exp()


class MeanOverBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        h = self.fc(x)
        return h - h.mean(0)   # centring over the batch: every sample depends on all others


class CausalOverBatch(nn.Module):
    """An RNN reading the batch as time: sample 0 is untouched by sample 1, sample 1 sees sample 0."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 4)   # seq-first

    def forward(self, x):          # x: (batch, seq, features), read as (seq, batch, features)
        return self.rnn(x)[0].mean(1)


def test_noise_inside_forward_is_not_mixing(untouched):
    torch.manual_seed(0)
    m, x = NoisyEncoder(), torch.randn(8, 6)
    with untouched(m):
        t = nbdebug.trace(m, x)
    assert t.checks["batch_mixing"]["mixed"] is False
    assert not [f for f in t.findings if f.cause == "batch-mixing"]


def test_centring_over_the_batch_is_mixing():
    torch.manual_seed(0)
    r = batch_mixing.run(MeanOverBatch(), (torch.randn(8, 4),), {}, 8)
    assert r["mixed"] is True and r["relative_change"] > 1e-2


def test_causal_mixing_is_found_in_one_direction_only():
    torch.manual_seed(0)
    r = batch_mixing.run(CausalOverBatch(), (torch.randn(6, 7, 5),), {}, 6)
    assert r["mixed"] is True


def test_per_sample_models_do_not_mix_for_any_input_dtype():
    torch.manual_seed(0)
    emb = nn.Sequential(nn.Embedding(30, 8), nn.Flatten(), nn.Linear(8 * 5, 2))
    assert batch_mixing.run(emb, (torch.randint(0, 30, (4, 5)),), {}, 4)["mixed"] is False
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2))
    assert batch_mixing.run(cnn, (torch.randn(4, 3, 8, 8),), {}, 4)["mixed"] is False


def test_mixing_check_skips_what_it_cannot_judge():
    m = nn.Linear(3, 2)
    assert "skipped" in batch_mixing.run(m, (torch.randn(1, 3),), {}, 1)
    same = torch.randn(1, 3).repeat(4, 1)
    assert "identical" in batch_mixing.run(m, (same,), {}, 4)["skipped"]
    summed = nn.Sequential(nn.Linear(3, 2), nn.Flatten(0))
    assert "first dimension" in batch_mixing.run(summed, (torch.randn(4, 3),), {}, 4)["skipped"]


def test_mixing_check_leaves_modes_to_the_guard(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4)).train()
    x, y = torch.randn(8, 4), torch.randn(8, 4)
    with untouched(m):
        t = nbdebug.trace(m, x, target=y, loss="mse")
    assert t.checks["batch_mixing"]["mixed"] is False


# ---------------------------------------------------------------------- per-sample by construction
from nbdebug.checks.per_sample import per_sample_by_construction  # noqa: E402


class Block(nn.Module):
    def __init__(self, down=False):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.down = nn.Conv2d(4, 4, 1) if down else None

    def forward(self, x):
        skip = x if self.down is None else self.down(x)
        return torch.relu(self.bn(self.conv(x)) + skip)


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block(down=True))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        h = self._pool(self.blocks(x))
        return self.fc(h.view(h.size(0), -1))

    def _pool(self, h):
        return h.mean(dim=(2, 3), keepdim=True)


def _verdict(model, x):
    t = nbdebug.trace(model, x, backward=False)
    return per_sample_by_construction(model, t)


def _with_forward(body: str):
    """A module whose forward is `body` (x -> ...), defined in a real file so its source is readable."""
    import importlib.util
    import pathlib
    import tempfile
    import textwrap

    src = textwrap.dedent(f"""
        import torch, torch.nn as nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(6, 6)
            def forward(self, x):
                h = self.fc(x)
                return {body}
    """)
    path = pathlib.Path(tempfile.mkdtemp()) / "custom_forward.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"custom_{abs(hash(body))}", path)
    mod = importlib.util.module_from_spec(spec)
    import sys

    sys.modules[spec.name] = mod   # inspect.getsource finds the file through sys.modules
    spec.loader.exec_module(mod)
    return mod.M()


def test_resnet_style_blocks_are_per_sample():
    torch.manual_seed(0)
    ok, why = _verdict(Head(), torch.randn(2, 4, 6, 6))
    assert ok, why
    t = nbdebug.trace(Head(), torch.randn(2, 4, 6, 6))
    assert t.checks["batch_mixing"]["method"] == "static"


@pytest.mark.parametrize("body,per_sample", [
    ("h * 2 + torch.sigmoid(h)", True),
    ("h.view(h.size(0), 2, 3).flatten(1)", True),
    ("torch.softmax(h, dim=-1)", True),
    ("h.view(-1, 6)", False),
    ("h.transpose(0, 1)", False),
    ("h - h.mean()", False),
    ("h - h.mean(0)", False),
    ("h[0] + h", False),
    ("h @ h.T", False),
    ("torch.cat([h, h], 0)", False),
    ("some_helper(h)", False),
    ("torch.nn.functional.normalize(h)", True),
    ("torch.nn.functional.normalize(h, dim=1)", True),
    ("torch.nn.functional.normalize(h, 2, -1)", True),
    ("torch.nn.functional.normalize(h, dim=0)", False),
    ("torch.nn.functional.normalize(h, 2, 0)", False),
])
def test_custom_forward_source_decides(body, per_sample):
    ok, why = _verdict(_with_forward(body), torch.randn(3, 6))
    assert ok is per_sample, why


@pytest.mark.parametrize("make,per_sample", [
    (lambda: nn.Sequential(nn.Linear(5, 5), nn.Softmax(dim=1)), True),
    (lambda: nn.Sequential(nn.Linear(5, 5), nn.Softmax(dim=0)), False),
    (lambda: nn.Sequential(nn.Linear(5, 5), nn.Softmax()), False),
    (lambda: nn.Sequential(nn.Flatten(0), nn.Linear(15, 5)), False),
])
def test_torch_modules_are_judged_by_their_arguments(make, per_sample):
    ok, why = _verdict(make(), torch.randn(3, 5))
    assert ok is per_sample, why


def test_seq_first_layers_and_hooks_need_the_experiment():
    lstm = nn.Sequential()
    lstm.add_module("rnn", nn.GRU(4, 4))
    ok, why = _verdict(lstm, torch.randn(3, 5, 4))
    assert not ok and "batch_first" in why
    m = nn.Sequential(nn.Linear(4, 4))
    h = m[0].register_forward_hook(lambda mod, i, o: None)
    try:
        ok, why = _verdict(m, torch.randn(3, 4))
    finally:
        h.remove()
    assert not ok and "hooks" in why


def _class_from_source(src: str, name: str = "M"):
    """An instance of class `name` defined by `src` in a real file, so its source is readable."""
    import importlib.util
    import pathlib
    import sys
    import tempfile
    import textwrap

    path = pathlib.Path(tempfile.mkdtemp()) / "custom_class.py"
    path.write_text("import torch, torch.nn as nn\n" + textwrap.dedent(src))
    spec = importlib.util.spec_from_file_location(f"custom_cls_{abs(hash(src))}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return getattr(mod, name)()


MIXES = """
class Mixer(nn.Module):
    def forward(self, x):
        return x - x.mean(0)
"""


@pytest.mark.parametrize("src,per_sample", [
    # the receiver need not be called self
    ("""
class M(nn.Module):
    def __init__(s):
        super().__init__()
        s.fc = nn.Linear(6, 6)
    def forward(s, x):
        return torch.relu(s.fc(x))
""", True),
    # a stack of blocks looped over, enumerated, zipped or indexed: each block is judged on its own
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Linear(6, 6) for _ in range(3))
        self.norms = nn.ModuleList(nn.LayerNorm(6) for _ in range(3))
    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        for i, blk in enumerate(self.blocks):
            x = x + blk(x)
        for blk, norm in zip(self.blocks, self.norms):
            x = norm(blk(x))
        return self.blocks[0](x)
""", True),
    (MIXES + """
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 6), Mixer()])
    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return x
""", False),
    # a plain list of callables is not a module container: its calls stay unknown
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.fns = [torch.relu, torch.tanh]
    def forward(self, x):
        for fn in self.fns:
            x = fn(self.fc(x))
        return x
""", False),
    # positions, masks and a broadcast token hold no sample's data
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.token = nn.Parameter(torch.zeros(1, 6))
    def forward(self, x):
        pos = torch.arange(x.shape[1]).float()
        mask = torch.triu(torch.ones(6, 6), 1)
        return self.fc(x + pos) + self.token.expand(x.size(0), -1) + torch.zeros_like(x)
""", True),
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
    def forward(self, x):
        return torch.ones(x.shape[0], x.shape[0]) @ self.fc(x)
""", False),
    # [0] of an attention's or an RNN's tuple is its output; [0] of a tensor is the first sample
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
        self.rnn = nn.GRU(6, 6, batch_first=True)
    def forward(self, x):
        h = self.attn(x, x, x, need_weights=False)[0]
        return self.rnn(h)[0]
""", True),
    ("""
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
    def forward(self, x):
        return self.fc(x)[0] + x
""", False),
])
def test_stacks_positions_and_tuple_outputs_are_read(src, per_sample):
    model = _class_from_source(src)
    ok, why = _verdict(model, torch.randn(3, 4, 6))
    assert ok is per_sample, why


def test_unreadable_source_needs_the_experiment():
    ns = {}
    exec("import torch.nn as nn\nclass Dyn(nn.Module):\n    def forward(self, x):\n        return x * 2\n", ns)
    ok, why = _verdict(ns["Dyn"](), torch.randn(3, 4))
    assert not ok and "cannot be read" in why


def _cell_class(source: str, name: str):
    """A class as a Jupyter cell makes it: its code's file is in linecache only, and its module is not
    in sys.modules, so inspect cannot read the class (TypeError), only its functions."""
    import linecache

    filename = f"/tmp/ipykernel_0/cell_{abs(hash(source))}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    ns = {"__name__": "not_a_module_in_sys_modules"}
    exec(compile(source, filename, "exec"), ns)
    return ns[name]


NOTEBOOK_CELL = """import torch
import torch.nn as nn
import torch.nn.functional as F

class CellNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.dropout(self.fc(x) * 2, 0.5)
"""


def test_a_class_typed_into_a_notebook_cell_is_read_function_by_function():
    import inspect

    cls = _cell_class(NOTEBOOK_CELL, "CellNet")
    with pytest.raises(TypeError):
        inspect.getsource(cls)
    ok, why = _verdict(cls(), torch.randn(3, 4))
    assert ok, why   # read and judged per-sample, not "cannot be read"


def test_functional_dropout_without_training_is_found_at_its_line():
    cls = _cell_class(NOTEBOOK_CELL, "CellNet")
    t = nbdebug.trace(cls().eval(), torch.randn(3, 4))
    (item,) = t.checks["functional_dropout"]
    assert (item["class"], item["method"], item["line"]) == ("CellNet", "forward", 11)
    assert item["code"].startswith("F.dropout(")
    assert any(f.rule == "NBD164" and f.severity == "warning" for f in t.findings)


@pytest.mark.parametrize("call,found", [
    ("F.dropout(h, 0.5)", True),
    ("F.dropout2d(h)", True),
    ("torch.nn.functional.dropout(h, p=0.1)", True),
    ("F.dropout(h, 0.5, self.training)", False),
    ("F.dropout(h, p=0.5, training=self.training)", False),
    ("F.alpha_dropout(h, 0.5)", False),   # defaults to training=False
    ("self.dropout(h)", False),           # a submodule follows the mode
])
def test_functional_dropout_calls_are_judged_by_their_arguments(call, found):
    source = NOTEBOOK_CELL.replace("F.dropout(self.fc(x) * 2, 0.5)", call).replace(
        "return ", "h = self.fc(x)\n        return ")
    if "self.dropout" in call:
        source = source.replace("self.fc = nn.Linear(4, 4)",
                                "self.fc = nn.Linear(4, 4)\n        self.dropout = nn.Dropout(0.5)")
    t = nbdebug.trace(_cell_class(source, "CellNet")().eval(), torch.randn(3, 4), backward=False)
    assert bool(t.checks["functional_dropout"]) is found, t.checks["functional_dropout"]


# ----------------------------------------------------------------------------- backward origin
class GatedBlock(nn.Module):
    """A sigmoid gate floored in place: sigmoid's backward needs the output `+=` overwrites."""

    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(6)   # running stats: the replay must not move them
        self.gate = nn.Linear(6, 6)

    def forward(self, x):
        g = torch.sigmoid(self.gate(self.norm(x)))  # ORIGIN
        g += 0.1
        return g * x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = GatedBlock()
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        return self.head(self.block(x))


def _origin_line() -> int:
    import inspect

    lines, start = inspect.getsourcelines(GatedBlock.forward)
    return start + next(i for i, line in enumerate(lines) if "# ORIGIN" in line)


def test_a_failed_backward_is_traced_to_the_forward_line_of_its_op(traced):
    torch.manual_seed(0)
    t = traced(Net(), torch.randn(8, 6), target=torch.randint(0, 2, (8,)))
    assert t.error is not None and t.error.stage == "backward"
    found = t.checks["backward_origin"]
    assert found["found"] and found["module"] == "block" and found["node"].startswith("Sigmoid")
    assert found["frame"]["line"] == _origin_line() and found["frame"]["file"] == __file__
    f = t.findings[0]
    assert (f.rule, f.cause, f.where) == ("NBD900", "exception", "block")
    assert f"test_checks.py:{_origin_line()}" in f.message and "torch.sigmoid" in f.fix


def test_an_inplace_module_that_overwrites_a_needed_output_is_named(traced):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.ReLU(inplace=True), nn.Linear(4, 2))
    t = traced(m, torch.randn(3, 4))
    assert t.checks["backward_origin"]["module"] == "1"
    f = next(f for f in t.findings if f.rule == "NBD900")
    assert f.where == "1" and "ReLU '2'" in f.fix and "inplace=False" in f.fix


def test_the_backward_origin_replay_runs_only_when_backward_failed(traced):
    torch.manual_seed(0)
    healthy = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2))
    assert "backward_origin" not in traced(healthy, torch.randn(3, 4)).checks
    broken_forward = nn.Sequential(nn.Linear(4, 4), nn.Linear(5, 2))
    assert "backward_origin" not in traced(broken_forward, torch.randn(3, 4)).checks


def test_the_backward_origin_uses_the_names_the_trace_uses(traced):
    torch.manual_seed(0)
    inner = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.ReLU(inplace=True), nn.Linear(4, 2))
    t = traced(nn.DataParallel(inner), torch.randn(3, 4))
    f = next(f for f in t.findings if f.rule == "NBD900")
    assert f.where == "module.1" and "ReLU 'module.2'" in f.fix, (f.where, f.fix)


# ---------------------------------------------------------------- graph.survey: how often an output is used
from nbdebug.checks import graph  # noqa: E402


def test_survey_counts_the_ops_that_consume_a_watched_output():
    a, b = nn.Linear(3, 4), nn.Linear(4, 4)
    x = torch.randn(2, 3)
    h = a(x)
    single = b(h)
    twice = b(h) + h                       # the residual uses h a second time
    _, _, uses = graph.survey([single], {"h": h.grad_fn})
    assert uses == {"h": 1}
    _, _, uses = graph.survey([twice], {"h": h.grad_fn, "unused": a(x).grad_fn})
    assert uses == {"h": 2, "unused": 0}
    _, _, uses = graph.survey([single, h], {"h": h.grad_fn})   # returned as well as consumed
    assert uses == {"h": 2}


def test_a_trace_records_how_often_each_layer_output_is_used():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 4)

        def forward(self, x):
            h = self.a(x)
            return self.b(h) + h

    t = nbdebug.trace(Net(), torch.randn(2, 3))
    by_name = {c.name: c.index for c in t.calls}
    assert t.checks["output_uses"][str(by_name["a"])] == 2
    assert t.checks["output_uses"][str(by_name["b"])] == 1


# ---------------------------------------------------------------- batch layout: sequence-first data
from nbdebug.checks.batch_mixing import batch_layout  # noqa: E402


@pytest.mark.parametrize("x, target, expected", [
    (torch.randn(9, 4, 5), torch.zeros(4), (4, 1)),      # (T, N, F) with N targets: sequence-first
    (torch.randn(4, 9, 5), torch.zeros(4), (4, 0)),      # batch-first
    (torch.randn(9, 4, 5), None, (9, 0)),                # no target: nothing says so, dim 0
    (torch.randn(4, 4, 5), torch.zeros(4), (4, 0)),      # T == N: ambiguous, dim 0
    (torch.randn(9, 4), torch.zeros(4), (9, 0)),         # 2-D: no time axis
])
def test_batch_layout_reads_sequence_first_data_off_the_target(x, target, expected):
    assert batch_layout((x,), {}, target) == expected


def test_the_swap_test_runs_along_the_batch_of_sequence_first_data():
    torch.manual_seed(0)

    class PerStep(nn.Module):          # per-sample: each sequence's own per-step outputs, (T, N, C)
        def __init__(self):
            super().__init__()
            self.lstm, self.fc = nn.LSTM(5, 6), nn.Linear(6, 2)

        def forward(self, x):
            return self.fc(self.lstm(x)[0])

    x = torch.randn(9, 4, 5)
    assert batch_mixing.run(PerStep(), (x,), {}, 4, dim=1)["mixed"] is False
    assert batch_mixing.run(PerStep(), (x,), {}, 9, dim=0)["mixed"] is True   # time steps read as samples


def test_the_origin_of_mixing_is_looked_for_in_eval_mode_too():
    # a batch norm in training mode mixes samples by design; the swap test runs in eval mode, and so
    # must the search for where the mixing starts, or it stops at the batch norm and the real culprit,
    # a normalisation over the batch later on, goes unnamed
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn, self.fc = nn.BatchNorm1d(6), nn.Linear(6, 6)

        def forward(self, x):
            h = self.fc(self.bn(x))
            return h / h.abs().sum(0, keepdim=True)        # normalised over the batch

    model = Net().train()
    result = batch_mixing.run(model, (torch.randn(5, 6),), {}, 5)
    assert result["mixed"] is True
    assert result["origin"]["call"] != 1                     # not the batch norm (call 1)
    assert model.training and model.bn.training             # modes put back
