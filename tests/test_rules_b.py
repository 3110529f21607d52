"""Group B rules (activations, initialisation, wiring; NBD200-NBD399) on variants of their own.

The examples inside each rule file are the minimal cases; these are the other sizes, layer types,
functional vs module forms and silent vs crashing forms that show the rules generalise, plus healthy
variants on which no group B rule may raise a warning or an error.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import nbdebug
from nbdebug.checks import mixing_origin

SERIOUS = ("warning", "error")


def group_b(finding) -> bool:
    return 200 <= int(finding.rule[3:]) < 400


def trace(untouched, model, inputs, **kw):
    with untouched(model):
        return nbdebug.trace(model, inputs, **kw)


def serious(t):
    return [f for f in t.findings if f.severity in SERIOUS]


def found(t, cause, where=None):
    """The serious findings of this cause (at `where` or inside it)."""
    out = []
    for f in serious(t):
        if f.cause != cause:
            continue
        if where is None or f.where == where or f.where.startswith(where + "."):
            out.append(f)
    return out


# ------------------------------------------------------------------ bad-init, exploding activations
def test_std1_on_wide_layers_is_bad_init_at_the_first_layer(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    for layer in (m[0], m[2], m[4]):
        nn.init.normal_(layer.weight)
    t = trace(untouched, m, torch.randn(16, 256))
    f = found(t, "bad-init", "0")
    assert f and serious(t)[0] is f[0]
    assert "model[0]" in f[0].fix and f[0].call == 1
    assert found(t, "exploding-activations")


def test_uniform_conv_init_names_conv_and_growth(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.ReLU(), nn.Flatten(),
                      nn.Linear(16 * 12 * 12, 2))
    for p in m.parameters():
        nn.init.uniform_(p, -10, 10)
    t = trace(untouched, m, torch.randn(4, 3, 16, 16))
    assert found(t, "bad-init", "0")
    growth = found(t, "exploding-activations")
    assert growth and growth[0].where == "0"


def test_recurrent_matrix_too_large_with_tanh_rnn(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 64, batch_first=True)
            self.fc = nn.Linear(64, 1)
            nn.init.normal_(self.rnn.weight_hh_l0, std=0.5)   # spectral radius about 4

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1])

    t = trace(untouched, Net(), torch.randn(8, 50, 3), target=torch.randn(8, 1))
    f = found(t, "bad-init", "rnn")
    assert f and "orthogonal_(model.rnn.weight_hh_l0)" in f[0].fix
    assert serious(t)[0].cause == "bad-init"


def test_token_model_growth_measured_from_the_embedding(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 32)
            self.blocks = nn.Sequential(*[nn.Linear(32, 32) for _ in range(4)])
            self.out = nn.Linear(32, 3)
            for b in self.blocks:
                nn.init.normal_(b.weight, std=2.0)

        def forward(self, ids):
            h = self.emb(ids)
            for b in self.blocks:
                h = torch.relu(b(h))
            return self.out(h.mean(1))

    t = trace(untouched, Net(), torch.randint(0, 50, (4, 9)))
    assert found(t, "exploding-activations", "blocks.0")
    assert found(t, "bad-init", "blocks.0")


def test_constant_weights_are_symmetric_init(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    for layer in (m[0], m[2], m[4]):
        nn.init.constant_(layer.weight, 0.1)
    t = trace(untouched, m, torch.randn(16, 4), target=torch.randn(16, 1))
    f = found(t, "bad-init")
    assert {x.where for x in f} >= {"0", "2"} and "every value is 0.1" in f[0].message


# ------------------------------------------------------------------ saturation, dead units, constant output
def test_tanh_on_large_offset_features(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    t = trace(untouched, m, torch.randn(64, 6) * 200 + 500, target=torch.randn(64, 1))
    f = found(t, "saturated-activation", "1")
    assert f and "standardise" in f[0].fix.lower()


def test_saturation_measured_on_a_hardsigmoid_gate_inside_a_block(untouched):
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Conv1d(4, 4, 1)
            self.gate = nn.Hardsigmoid()
            nn.init.normal_(self.proj.weight, std=20.0)

        def forward(self, x):
            return x * self.gate(self.proj(x))

    m = nn.Sequential(Block(), nn.Flatten(), nn.Linear(4 * 10, 2))
    t = trace(untouched, m, torch.randn(8, 4, 10))
    assert found(t, "saturated-activation", "0.gate")


def test_dead_conv_channels_point_at_the_conv_with_the_negative_bias(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
    nn.init.constant_(m[2].bias, -6.0)
    t = trace(untouched, m, torch.randn(16, 3, 8, 8), target=torch.randint(0, 4, (16,)))
    f = found(t, "dead-relu", "2")
    assert f and serious(t)[0] is f[0]
    assert "nn.init.zeros_(model[2].bias)" in f[0].fix and f[0].call == 4


def test_dead_inplace_relu(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(inplace=True), nn.Linear(32, 3))
    nn.init.constant_(m[0].bias, -10.0)
    t = trace(untouched, m, torch.randn(24, 10), target=torch.randint(0, 3, (24,)))
    assert found(t, "dead-relu", "0")


def test_functional_relu_killed_by_a_negative_bias(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 8, 3)
            self.fc = nn.Linear(8 * 8, 2)
            nn.init.constant_(self.conv.bias, -8.0)

        def forward(self, x):
            return self.fc(torch.relu(self.conv(x)).flatten(1))

    t = trace(untouched, Net(), torch.randn(12, 3, 10), target=torch.randint(0, 2, (12,)))
    f = found(t, "dead-relu", "conv")
    assert f and serious(t)[0] is f[0] and "nn.init.zeros_(model.conv.bias)" in f[0].fix


def test_functional_relu_head_gives_constant_output(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.h = nn.Linear(4, 16)
            self.o = nn.Linear(16, 1)
            nn.init.constant_(self.o.bias, -3.0)

        def forward(self, x):
            return F.relu(self.o(torch.tanh(self.h(x))))

    t = trace(untouched, Net(), torch.randn(30, 4), target=torch.randn(30, 1))
    assert found(t, "constant-output")


def test_constant_output_of_a_model_that_ignores_token_ids(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8)
            self.fc = nn.Linear(8, 2)

        def forward(self, ids):
            h = self.emb(ids).mean(1)
            return self.fc(torch.zeros_like(h))       # the embedding result is dropped

    t = trace(untouched, Net(), torch.randint(0, 20, (6, 5)))
    assert found(t, "constant-output")


# ------------------------------------------------------------------ softmax over the batch
@pytest.mark.parametrize("layer,shape", [(nn.Softmax(dim=0), (6, 4, 8)), (nn.LogSoftmax(), (4, 7, 8)),
                                         (nn.Softmin(dim=0), (9, 8))])
def test_softmax_modules_over_dim0(untouched, layer, shape):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 5), layer)
    t = trace(untouched, m, torch.randn(*shape))
    f = found(t, "softmax-wrong-dim", "1")
    assert f and serious(t)[0] is f[0] and "dim=-1" in f[0].fix


def test_softmax_over_batch_in_a_forward_only_trace(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=0))
    t = trace(untouched, m, torch.randn(12, 5), backward=False)
    assert found(t, "softmax-wrong-dim", "1")


@pytest.mark.parametrize("log", [False, True])
def test_functional_softmax_over_batch_ranks_before_the_mixing_it_causes(untouched, log):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            return (F.log_softmax if log else F.softmax)(self.fc(x), dim=0)

    kw = dict(target=torch.randint(0, 3, (12,)), loss=nn.NLLLoss()) if log else {}
    t = trace(untouched, Net(), torch.randn(12, 5), **kw)
    assert serious(t)[0].cause == "softmax-wrong-dim"
    assert not found(t, "batch-mixing")


# ------------------------------------------------------------------ missing non-linearity
def test_conv1d_pair_without_activation(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(2, 8, 3), nn.Conv1d(8, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6, 2))
    t = trace(untouched, m, torch.randn(4, 2, 10))
    f = found(t, "missing-nonlinearity", "0")
    assert f and "`1`" in f[0].message


def test_functional_forward_chain(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(10, 50)
            self.fc2 = nn.Linear(50, 50)
            self.fc3 = nn.Linear(50, 2)

        def forward(self, x):
            return self.fc3(F.relu(self.fc2(self.fc1(x))))

    t = trace(untouched, Net(), torch.randn(8, 10))
    f = found(t, "missing-nonlinearity", "fc1")
    assert f and "nn.Linear(10, 50)" in f[0].message and "fc3" not in f[0].message


def test_linear_flatten_dropout_linear_in_training_mode(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 4)), nn.Flatten(), nn.Dropout(0.5),
                      nn.Linear(12, 2)).train()
    t = trace(untouched, m, torch.randn(5, 6), target=torch.randint(0, 2, (5,)))
    assert found(t, "missing-nonlinearity", "0")


# ------------------------------------------------------------------ batch mixing
def test_lstm_fed_batch_first_data(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 16)
            self.fc = nn.Linear(16, 1)

        def forward(self, x):
            return self.fc(self.lstm(x)[0][:, -1])

    t = trace(untouched, Net(), torch.randn(8, 30, 3), target=torch.randn(8, 1))
    f = found(t, "batch-mixing", "lstm")
    assert f and "nn.LSTM(3, 16, batch_first=True)" in f[0].fix


def test_transformer_encoder_fed_batch_first_data(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32), 1,
                                             enable_nested_tensor=False)
            self.fc = nn.Linear(16, 2)

        def forward(self, x):
            return self.fc(self.enc(x)[:, 0])

    t = trace(untouched, Net(), torch.randn(6, 9, 16), target=torch.randint(0, 2, (6,)))
    f = found(t, "batch-mixing", "enc")
    assert f and f[0].where == "enc" and "nn.TransformerEncoderLayer(16, 2, ..., batch_first=True)" in f[0].fix


def test_view_that_splits_the_batch_is_found_in_the_forward_that_does_it(untouched):
    torch.manual_seed(0)

    class Mixer(nn.Module):
        def forward(self, x):
            return x.view(-1, x.shape[0]).t().reshape(x.shape[0], -1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.mix = Mixer()
            self.fc = nn.Linear(4 * 6 * 6, 2)

        def forward(self, x):
            return self.fc(self.mix(F.relu(self.conv(x))))

    t = trace(untouched, Net(), torch.randn(5, 3, 8, 8), target=torch.randint(0, 2, (5,)))
    f = found(t, "batch-mixing", "mix")
    assert f and f[0].severity == "error"


def test_mixing_origin_names_the_parent_when_mixing_happens_between_children():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 2)

        def forward(self, x):
            h = self.a(x)
            return self.b(h - h.mean(0))          # batch statistics written by hand, between a and b

    x = torch.randn(6, 4)
    origin = mixing_origin.locate(Net(), (x,), {}, 6)
    # calls: 0 = the root, 1 = a, 2 = b; b's input is already mixed, so its parent's code did it
    assert origin["call"] == 2 and origin["side"] == "input"


# ------------------------------------------------------------------ untrained parameters
def test_dict_of_layers(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = {"a": nn.Linear(4, 4), "b": nn.Linear(4, 2)}

        def forward(self, x):
            return self.layers["b"](F.relu(self.layers["a"](x)))

    t = trace(untouched, Net(), torch.randn(6, 4), target=torch.randint(0, 2, (6,)))
    f = found(t, "untrained-parameter", "")
    assert f and "nn.ModuleDict" in f[0].fix and serious(t)[0] is f[0]


def test_plain_list_inside_a_registered_child(untouched):
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.parts = [nn.Linear(4, 4), nn.Linear(4, 4)]

        def forward(self, x):
            for p in self.parts:
                x = F.relu(p(x))
            return x

    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), Block(), nn.Linear(4, 2))
    t = trace(untouched, m, torch.randn(6, 4), target=torch.randint(0, 2, (6,)))
    f = found(t, "untrained-parameter", "2")
    assert f and "self.parts" in f[0].message and "nn.ModuleList" in f[0].fix


def test_parameters_missing_from_the_optimizer_after_a_new_head(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 2))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m[3] = nn.Linear(4 * 6, 5)
    t = trace(untouched, m, torch.randn(3, 1, 8), target=torch.randint(0, 5, (3,)), optimizer=opt)
    f = found(t, "untrained-parameter", "3")
    assert f and f[0].severity == "error" and "add_param_group" in f[0].fix


# ------------------------------------------------------------------ no gradient
@pytest.mark.parametrize("cut", ["detach", "no_grad", "tolist", "data"])
def test_encoder_cut_from_the_graph(untouched, cut):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(6, 8), nn.ReLU())
            self.dec = nn.Linear(8, 1)

        def forward(self, x):
            if cut == "no_grad":
                with torch.no_grad():
                    h = self.enc(x)
            else:
                h = self.enc(x)
                h = {"detach": lambda: h.detach(), "tolist": lambda: torch.tensor(h.tolist()),
                     "data": lambda: h.data}[cut]()
            return self.dec(h)

    t = trace(untouched, Net(), torch.randn(4, 6), target=torch.randn(4, 1))
    f = found(t, "no-gradient", "enc")
    assert f and serious(t)[0] is f[0]
    assert ("no_grad" in f[0].message) == (cut == "no_grad")


def test_half_frozen_model_points_at_the_first_frozen_layer(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    for name, p in m.named_parameters():
        p.requires_grad_(name == "3.bias")
    t = trace(untouched, m, torch.randn(4, 1, 8, 8), target=torch.randint(0, 3, (4,)))
    f = found(t, "no-gradient", "0")
    assert f and f[0].severity == "error" and "requires_grad_(True)" in f[0].fix


def test_frozen_head_after_trainable_layers_is_a_warning(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))
    m[2].requires_grad_(False)
    t = trace(untouched, m, torch.randn(5, 6), target=torch.randint(0, 2, (5,)))
    f = found(t, "no-gradient", "2")
    assert f and f[0].severity == "warning"


class _FrozenMiddle(nn.Module):
    """A large projection between a trainable stem and a trainable head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.proj = nn.Linear(128, 256)
        self.head = nn.Linear(256, 3)

    def forward(self, x):
        return self.head(torch.relu(self.proj(self.stem(x))))


def test_one_large_frozen_layer_between_trainable_ones_is_a_warning(untouched):
    # most values frozen, a Linear head trains: not adapters, a freezing loop that hit the wrong module
    torch.manual_seed(0)
    m = _FrozenMiddle()
    m.proj.requires_grad_(False)
    t = trace(untouched, m, torch.randn(4, 3, 8, 8), target=torch.randint(0, 3, (4,)))
    f = found(t, "no-gradient", "proj")
    assert f and f[0].severity == "warning"


class _LoRAWrapped(nn.Module):
    def __init__(self, base: nn.Linear, rank: int = 2):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.lora_a = nn.Linear(base.in_features, rank, bias=False)
        self.lora_b = nn.Linear(rank, base.out_features, bias=False)
        nn.init.zeros_(self.lora_b.weight)

    def forward(self, x):
        return self.base(x) + self.lora_b(self.lora_a(x))


def test_a_single_lora_wrapped_layer_stays_info(untouched):
    torch.manual_seed(0)
    m = _FrozenMiddle()
    m.proj = _LoRAWrapped(m.proj)
    t = trace(untouched, m, torch.randn(4, 3, 8, 8), target=torch.randint(0, 3, (4,)))
    assert not [f for f in t.findings if f.rule == "NBD291" and f.severity != "info"], [str(f) for f in t.findings]


class _Distil(nn.Module):
    """A student trained against a frozen teacher that runs without gradient."""

    def __init__(self):
        super().__init__()
        self.student = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))
        self.teacher = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).requires_grad_(False)

    def forward(self, x):
        logits = self.student(x)  # the teacher runs after the student: frozen layers "after" trainable ones
        with torch.no_grad():
            soft = self.teacher(x).softmax(-1)
        return torch.cat([logits, soft], 1)


def test_a_frozen_teacher_run_without_gradient_is_not_a_warning(untouched):
    torch.manual_seed(0)

    def loss(out, y):
        return F.cross_entropy(out[:, :3], y) + F.kl_div(out[:, :3].log_softmax(-1), out[:, 3:], reduction="batchmean")

    t = trace(untouched, _Distil(), torch.randn(8, 6), target=torch.randint(0, 3, (8,)), loss=loss)
    frozen = [f for f in t.findings if f.rule == "NBD291"]
    assert frozen and all(f.severity == "info" for f in frozen) and "without any gradient" in frozen[0].message


class _ReZero(nn.Module):
    def __init__(self):
        super().__init__()
        self.ff = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
        self.alpha = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x + self.alpha * self.ff(x)


def test_rezero_branches_get_exact_zeros_by_design(untouched):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), _ReZero(), _ReZero(), nn.Linear(8, 2))
    t = trace(untouched, m, torch.randn(6, 4), target=torch.randint(0, 2, (6,)))
    assert not serious(t), [str(f) for f in serious(t)]
    m[1].alpha.data.fill_(0.5)  # without the zero gate, a round inside a branch is still found
    m[1].ff[1] = _Round()
    t = trace(untouched, m, torch.randn(6, 4), target=torch.randint(0, 2, (6,)))
    assert found(t, "no-gradient", "1.ff.0")


class _Round(nn.Module):
    def forward(self, x):
        return torch.round(x)


def test_forward_under_no_grad_with_a_loss(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

        def forward(self, x):
            with torch.inference_mode(False), torch.no_grad():
                return self.body(x)

    t = trace(untouched, Net(), torch.randn(5, 4), target=torch.randint(0, 2, (5,)))
    f = found(t, "no-gradient")
    assert f and f[0].rule == "NBD293"


def test_layer_defined_but_never_called(untouched):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.extra = nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4))
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(F.relu(self.conv(x)).mean((2, 3)))

    t = trace(untouched, Net(), torch.randn(4, 1, 8, 8), target=torch.randint(0, 2, (4,)))
    f = found(t, "no-gradient", "extra")
    assert f and f[0].where == "extra"


# ------------------------------------------------------------------ healthy variants: no group B alarm
def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class _ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))


class _ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(_ResBlock(16), _ResBlock(16))
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(self.drop(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)))


class _SeqFirstLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8)
        self.fc = nn.Linear(8, 1)

    def forward(self, x):                     # (seq, batch, features), read correctly
        return self.fc(self.lstm(x)[0][-1])


class _SeqFirstGRUPerStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 8, bidirectional=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc(self.gru(x)[0])


class _TokenClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.fc = nn.Linear(32, 3)

    def forward(self, ids):
        return self.fc(self.enc(self.emb(ids)).mean(1))


class _LoRA(nn.Module):
    def __init__(self, d, r=2):
        super().__init__()
        self.base, self.a, self.b = nn.Linear(d, d), nn.Linear(d, r, bias=False), nn.Linear(r, d, bias=False)
        nn.init.zeros_(self.b.weight)
        self.base.requires_grad_(False)

    def forward(self, x):
        return self.base(x) + self.b(self.a(x))


class _Contrastive(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 16), nn.Linear(8, 16)

    def forward(self, x, y):
        return F.normalize(self.a(x), dim=-1) @ F.normalize(self.b(y), dim=-1).T


class _FrozenExtractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU()).requires_grad_(False)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        with torch.no_grad():
            h = self.backbone(x)
        return self.head(h)


def _deep_plain_cnn():
    layers = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()]
    for _ in range(8):
        layers += [nn.Conv2d(8, 8, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).eval()


def _lora_stack():
    m = nn.Sequential(_LoRA(16), nn.ReLU(), _LoRA(16), nn.ReLU(), nn.Linear(16, 2))
    m[4].requires_grad_(False)
    return m


def _deep_tanh():
    layers = [nn.Linear(10, 32), nn.Tanh()]
    for _ in range(6):
        layers += [nn.Linear(32, 32), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(32, 1))


HEALTHY = {  # name -> () -> (model, inputs, trace options)
    "lenet_train": lambda: (_lenet(), torch.randn(32, 1, 28, 28), dict(target=torch.randint(0, 10, (32,)))),
    "lenet_pixels_0_1": lambda: (_lenet(), torch.rand(32, 1, 28, 28), dict(target=torch.randint(0, 10, (32,)))),
    "deep_plain_cnn_eval": lambda: (_deep_plain_cnn(), torch.randn(16, 3, 16, 16), {}),
    "resnet_train_bn_dropout": lambda: (_ResNet().train(), torch.randn(8, 3, 16, 16),
                                        dict(target=torch.randint(0, 10, (8,)))),
    "resnet_eval_nearly_constant": lambda: (_ResNet().eval(), torch.randn(8, 3, 16, 16), {}),
    "seq_first_transformer_eval": lambda: (nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32), 2,
                                                                 enable_nested_tensor=False).eval(),
                                           torch.randn(10, 4, 16), {}),
    "seq_first_lstm_batch_of_2": lambda: (_SeqFirstLSTM(), torch.randn(12, 2, 3), dict(target=torch.randn(2, 1))),
    "seq_first_bigru_per_step": lambda: (_SeqFirstGRUPerStep(), torch.randn(12, 5, 3),
                                         dict(target=torch.randn(12, 5, 2))),
    "token_classifier": lambda: (_TokenClassifier(), torch.randint(0, 100, (8, 12)),
                                 dict(target=torch.randint(0, 3, (8,)))),
    "mlp_bn_dropout_train": lambda: (nn.Sequential(nn.Linear(12, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                                   nn.Dropout(0.3), nn.Linear(64, 1)).train(),
                                     torch.randn(32, 12), dict(target=torch.randn(32, 1))),
    "autoencoder_sigmoid_bce": lambda: (nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 64),
                                                      nn.Sigmoid()), torch.rand(16, 1, 8, 8),
                                        dict(target=torch.rand(16, 64), loss=nn.BCELoss())),
    "lora_adapters": lambda: (_lora_stack(), torch.randn(8, 16), dict(target=torch.randint(0, 2, (8,)))),
    "contrastive_similarity": lambda: (_Contrastive(), (torch.randn(6, 8), torch.randn(6, 8)),
                                       dict(target=torch.arange(6))),
    "single_sample_eval": lambda: (nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                                 nn.Flatten(), nn.Linear(8, 4)).eval(),
                                   torch.randn(1, 3, 16, 16), {}),
    "frozen_feature_extractor": lambda: (_FrozenExtractor(), torch.randn(8, 8), dict(target=torch.randint(0, 2, (8,)))),
    "inplace_relu_mlp": lambda: (nn.Sequential(nn.Linear(8, 32), nn.ReLU(inplace=True), nn.Linear(32, 2)),
                                 torch.randn(16, 8), dict(target=torch.randint(0, 2, (16,)))),
    "deep_tanh_mlp": lambda: (_deep_tanh(), torch.randn(64, 10), dict(target=torch.randn(64, 1))),
    "sgd_probe_steps": lambda: _with_optimizer(),
    "batchnorm_without_running_stats": lambda: (nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(
        16, track_running_stats=False), nn.ReLU(), nn.Linear(16, 2)), torch.randn(12, 6),
        dict(target=torch.randint(0, 2, (12,)))),
}


def _with_optimizer():
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.rand(40, 4)
    return m, x, dict(target=x.sum(1, keepdim=True), optimizer=torch.optim.SGD(m.parameters(), lr=0.05), steps=5)


@pytest.mark.parametrize("name", list(HEALTHY))
def test_healthy_variants_raise_no_group_b_alarm(untouched, name):
    torch.manual_seed(0)
    model, inputs, kw = HEALTHY[name]()
    t = trace(untouched, model, inputs, **kw)
    loud = [str(f) for f in t.findings if group_b(f) and f.severity in SERIOUS]
    assert not loud, loud


class _LSTMLM(nn.Module):
    def __init__(self, batch_first: bool):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.lstm = nn.LSTM(16, 16, batch_first=batch_first)
        self.out = nn.Linear(16, 50)

    def forward(self, ids):
        return self.out(self.lstm(self.emb(ids))[0])


def _lm_loss(logits, target):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def test_a_next_token_shift_tells_the_time_axis_to_the_batch_mixing_rule(untouched):
    # (batch, time) ids into an LSTM left sequence-first: the shifted target says dim 1 is time
    torch.manual_seed(0)
    data = torch.randint(0, 50, (6, 21))
    t = trace(untouched, _LSTMLM(batch_first=False), data[:, :-1], target=data[:, 1:], loss=_lm_loss)
    f = found(t, "batch-mixing", "lstm")
    assert f and f[0].severity == "error" and "shifted by one along dimension 1" in f[0].message
    assert t.checks["shifted_target"]["dim1"] == 1.0


def test_a_time_major_lm_batch_keeps_the_ambiguity(untouched):
    # the same ids laid out (time, batch), shifted along dim 0: a sequence-first LSTM is right for them
    torch.manual_seed(0)
    data = torch.randint(0, 50, (21, 6))
    t = trace(untouched, _LSTMLM(batch_first=False), data[:-1], target=data[1:], loss=_lm_loss)
    assert not [f for f in t.findings if f.cause == "batch-mixing" and f.severity == "error"], \
        [str(f) for f in t.findings]
    assert t.checks["shifted_target"]["dim0"] == 1.0


class _TimeMajorCTC(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(8, 16, 3, 2, 1)
        self.head = nn.Linear(16, 6)

    def forward(self, feats):  # (N, mels, T) -> (T', N, C) log-probabilities, as CTC wants them
        h = torch.relu(self.conv(feats)).transpose(1, 2)
        return self.head(h).log_softmax(-1).transpose(0, 1)


def test_a_time_major_output_made_for_ctc_is_not_lost_rows(untouched):
    torch.manual_seed(0)

    def ctc(log_probs, target):
        steps, n = log_probs.shape[:2]
        return F.ctc_loss(log_probs, target, torch.full((n,), steps, dtype=torch.long),
                          torch.full((n,), target.shape[1], dtype=torch.long))

    t = trace(untouched, _TimeMajorCTC(), torch.randn(4, 8, 20), target=torch.randint(1, 6, (4, 3)), loss=ctc)
    assert not [f for f in t.findings if f.rule == "NBD112"], [str(f) for f in t.findings]
