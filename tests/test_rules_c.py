"""Group C rules (losses, targets, gradients, training dynamics) on variants of their own examples:
other sizes, other layer types, functional vs module forms, silent vs crashing forms, and healthy
setups that must stay quiet."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import nbdebug

SERIOUS = ("error", "warning")


def group_c(t):
    """Serious findings of the group C rules (codes NBD400-NBD599)."""
    return [f for f in t.findings if f.severity in SERIOUS and 400 <= int(f.rule[3:]) < 600]


def run(model, inputs, untouched=None, **kw):
    if untouched is None:
        return nbdebug.trace(model, inputs, **kw)
    with untouched(model):
        return nbdebug.trace(model, inputs, **kw)


def only(t, cause):
    """Exactly the group C findings of one cause, and nothing else from group C."""
    found = group_c(t)
    assert found, f"nothing found; all findings: {[str(f) for f in t.findings]}"
    assert {f.cause for f in found} == {cause}, [str(f) for f in found]
    return found


def quiet(t):
    loud = group_c(t)
    assert not loud, [str(f) for f in loud]


# ---------------------------------------------------------------------------------- double-softmax
class Classifier(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 16), nn.GELU())
        self.head = head

    def forward(self, x):
        return self.head(self.body(x))


@pytest.mark.parametrize("classes", [2, 7])
def test_softmax_nested_in_a_head_is_named(classes, untouched):
    torch.manual_seed(0)
    m = Classifier(nn.Sequential(nn.Linear(16, classes), nn.Softmax(dim=1)))
    t = run(m, torch.randn(25, 6), untouched, target=torch.randint(0, classes, (25,)), loss=F.cross_entropy)
    (f,) = only(t, "double-softmax")
    assert f.where == "head.1" and f.call is not None and t.calls[f.call].type == "Softmax"
    assert "head.1" in f.fix
    assert f.evidence["loss_floor"] == pytest.approx(math.log(1 + (classes - 1) / math.e))


def test_softmax_over_sequence_classes(untouched):
    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 5, 3, padding=1)
            self.soft = nn.Softmax(dim=1)

        def forward(self, x):
            return self.soft(self.conv(x))

    torch.manual_seed(1)
    t = run(Tagger(), torch.randn(3, 4, 11), untouched, target=torch.randint(0, 5, (3, 11)),
            loss=nn.CrossEntropyLoss())
    assert only(t, "double-softmax")[0].where == "soft"


def test_softmax_over_batch_axis_is_not_a_double_softmax():
    torch.manual_seed(2)
    m = nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=0))
    t = run(m, torch.randn(12, 5), target=torch.randint(0, 3, (12,)), loss=nn.CrossEntropyLoss())
    assert not [f for f in group_c(t) if f.cause == "double-softmax"]


def test_softmax_head_without_a_loss_is_fine():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=1)).eval()
    quiet(run(m, torch.randn(12, 5)))


def test_sigmoid_head_with_functional_bce_with_logits(untouched):
    torch.manual_seed(4)
    m = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Sigmoid())   # a segmentation mask
    t = run(m, torch.randn(2, 1, 8, 8), untouched, target=torch.randint(0, 2, (2, 1, 8, 8)).float(),
            loss=F.binary_cross_entropy_with_logits)
    assert only(t, "double-softmax")[0].where == "1"


# ---------------------------------------------------------------------------------- loss-mismatch
def test_nll_on_segmentation_logits(untouched):
    torch.manual_seed(5)
    m = nn.Conv2d(3, 4, 1)
    t = run(m, torch.randn(2, 3, 5, 5), untouched, target=torch.randint(0, 4, (2, 5, 5)), loss="nll")
    f = only(t, "loss-mismatch")[0]
    assert f.where == "loss" and "CrossEntropyLoss" in f.fix


def test_nll_after_functional_log_softmax_is_fine():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 5)

        def forward(self, x):
            return F.log_softmax(self.fc(x), dim=1)

    torch.manual_seed(6)
    quiet(run(Net(), torch.randn(30, 6), target=torch.arange(30) % 5, loss=nn.NLLLoss()))


@pytest.mark.parametrize("label", [0, 1])
def test_cross_entropy_over_one_unit_silent_and_crashing(label, untouched):
    # label 0 everywhere: the loss is exactly 0 (silent); label 1: an out-of-bounds error (crash)
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    t = run(m, torch.randn(9, 3), untouched, target=torch.full((9,), label), loss=nn.CrossEntropyLoss())
    assert (t.error is None) == (label == 0)
    f = only(t, "loss-mismatch")[0]
    assert "BCEWithLogitsLoss" in f.fix and "nn.Linear(8, 2)" in f.fix


def test_bce_on_multiclass_with_long_labels_crashes_and_is_named(untouched):
    torch.manual_seed(8)
    m = nn.Sequential(nn.Linear(4, 6))
    t = run(m, torch.randn(10, 4), untouched, target=torch.randint(0, 6, (10,)), loss=nn.BCEWithLogitsLoss())
    assert t.error is not None
    f = only(t, "loss-mismatch")[0]
    assert "CrossEntropyLoss" in f.fix


def test_bce_loss_on_logits_crashes_and_is_named(untouched):
    torch.manual_seed(9)
    m = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    t = run(m, 3 * torch.randn(50, 4), untouched, target=torch.randint(0, 2, (50, 1)).float(), loss="bce")
    f = only(t, "loss-mismatch")[0]
    assert "BCEWithLogitsLoss" in f.fix


def test_mse_between_long_labels_and_logits_crashing_form(untouched):
    torch.manual_seed(10)
    m = nn.Sequential(nn.Linear(4, 3))
    t = run(m, torch.randn(10, 4), untouched, target=torch.randint(0, 3, (10,)), loss=nn.MSELoss())
    assert t.error is not None
    assert only(t, "loss-mismatch")[0].rule == "NBD415"


def test_regression_with_matching_shapes_is_fine():
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    quiet(run(m, torch.randn(16, 4), target=torch.randn(16, 3), loss=nn.SmoothL1Loss()))


# ---------------------------------------------------------------------------------- wrong-target
def test_float_labels_for_nll_loss(untouched):
    torch.manual_seed(12)
    m = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    t = run(m, torch.randn(7, 4), untouched, target=torch.tensor([0., 1, 2, 1, 0, 2, 2]), loss=nn.NLLLoss())
    f = only(t, "wrong-target")[0]
    assert f.where == "target" and "y.long()" in f.fix


def test_float_label_column_needs_squeeze_and_long(untouched):
    torch.manual_seed(13)
    m = nn.Linear(4, 3)
    t = run(m, torch.randn(7, 4), untouched, target=torch.randint(0, 3, (7, 1)).float(),
            loss=nn.CrossEntropyLoss())
    (f,) = only(t, "wrong-target")
    assert "squeeze(-1).long()" in f.fix


@pytest.mark.parametrize("classes", [2, 5])
def test_one_based_labels(classes, untouched):
    torch.manual_seed(14)
    m = nn.Sequential(nn.Linear(3, classes))
    y = torch.arange(40) % classes + 1
    t = run(m, torch.randn(40, 3), untouched, target=y, loss=nn.CrossEntropyLoss())
    (f,) = only(t, "wrong-target")
    assert "y - 1" in f.fix and f"1..{classes}" in f.message


def test_label_beyond_the_head_names_the_head(untouched):
    torch.manual_seed(15)
    m = Classifier(nn.Linear(16, 4))
    y = torch.arange(30) % 4
    y[3] = 6
    t = run(m, torch.randn(30, 6), untouched, target=y)   # no loss given: cross-entropy from the int target
    (f,) = only(t, "wrong-target")
    assert "nn.Linear(16, 7)" in f.fix and "head" in f.fix


def test_ignore_index_padding_is_fine():
    torch.manual_seed(16)
    m = nn.Linear(5, 3)
    y = torch.arange(24) % 3
    y[-4:] = -100
    quiet(run(m, torch.randn(24, 5), target=y, loss=nn.CrossEntropyLoss()))


def test_bce_with_class_indices_on_a_squeezed_output(untouched):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 1)

        def forward(self, x):
            return self.fc(x).view(-1)

    torch.manual_seed(17)
    t = run(Net(), torch.randn(30, 5), untouched, target=(torch.arange(30) % 3).float(),
            loss=nn.BCEWithLogitsLoss())
    f = only(t, "wrong-target")[0]
    assert "CrossEntropyLoss" in f.fix and "nn.Linear(5, 3)" in f.fix


@pytest.mark.parametrize("out_col", [True, False])
def test_mse_broadcasting_either_way(out_col, untouched):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            y = self.fc(x)
            return y if out_col else y.squeeze(1)

    torch.manual_seed(18)
    y = torch.randn(12) if out_col else torch.randn(12, 1)
    t = run(Net(), torch.randn(12, 3), untouched, target=y, loss=nn.MSELoss())
    (f,) = only(t, "wrong-target")
    assert "(12, 12)" in f.message
    assert ("unsqueeze" in f.fix) == out_col


def test_one_hot_long_target_for_cross_entropy(untouched):
    torch.manual_seed(19)
    m = nn.Linear(4, 3)
    y = F.one_hot(torch.arange(9) % 3, 3)
    t = run(m, torch.randn(9, 4), untouched, target=y, loss=nn.CrossEntropyLoss())
    (f,) = only(t, "wrong-target")
    assert "argmax(1)" in f.fix


# ---------------------------------------------------------------------------------- class-imbalance
def test_binary_cross_entropy_labels_92_percent_one_class(untouched):
    torch.manual_seed(20)
    m = nn.Sequential(nn.Linear(4, 2))
    y = torch.zeros(50, dtype=torch.long)
    y[:4] = 1
    t = run(m, torch.randn(50, 4), untouched, target=y, loss=nn.CrossEntropyLoss())
    (f,) = only(t, "class-imbalance")
    assert f.evidence["majority"] == 0 and "weight=" in f.fix


def test_rare_positives_with_flat_bce_target(untouched):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            return self.fc(x).squeeze(1)

    torch.manual_seed(21)
    y = torch.ones(40)
    y[:2] = 0.0
    t = run(Net(), torch.randn(40, 4), untouched, target=y, loss=nn.BCEWithLogitsLoss())
    (f,) = only(t, "class-imbalance")
    assert "pos_weight" in f.fix


@pytest.mark.parametrize("labels", [
    [0] * 16 + [1] * 4,                  # 80 / 20: common and fine
    [2] * 19,                            # one class, but too few labels to judge
])
def test_moderate_or_tiny_label_skew_is_quiet(labels):
    torch.manual_seed(22)
    y = torch.tensor(labels)
    quiet(run(nn.Linear(4, 3), torch.randn(len(labels), 4), target=y, loss=nn.CrossEntropyLoss()))


def test_token_targets_dominated_by_padding_label_are_quiet():
    torch.manual_seed(23)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 4)

        def forward(self, x):
            return self.fc(x).transpose(1, 2)

    y = torch.zeros(4, 30, dtype=torch.long)
    y[:, 0] = 3
    quiet(run(Tagger(), torch.randn(4, 30, 6), target=y, loss=nn.CrossEntropyLoss()))


# ---------------------------------------------------------------------------------- gradients
class FunctionalSigmoidStack(nn.Module):
    def __init__(self, depth, width=40):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(5 if i == 0 else width, width) for i in range(depth)])
        self.out = nn.Linear(width, 1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return self.out(x)


def test_vanishing_through_functional_sigmoids(untouched):
    torch.manual_seed(24)
    t = run(FunctionalSigmoidStack(12), torch.randn(10, 5), untouched, target=torch.randn(10, 1),
            loss=nn.MSELoss())
    (f,) = only(t, "vanishing-gradients")
    assert f.where == "layers.0" and f.evidence["ratio"] < 1e-5


def test_vanishing_through_sigmoid_convs(untouched):
    torch.manual_seed(25)
    layers = []
    for i in range(9):
        layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), nn.Sigmoid()]
    m = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    t = run(m, torch.randn(4, 3, 8, 8), untouched, target=torch.randint(0, 2, (4,)))
    (f,) = only(t, "vanishing-gradients")
    assert f.where == "0" and "nn.Sigmoid" in f.fix


@pytest.mark.parametrize("depth", [4, 10])
def test_default_relu_mlps_get_no_gradient_warning(depth):
    torch.manual_seed(26)
    layers = [nn.Linear(20, 64), nn.ReLU()]
    for _ in range(depth):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    m = nn.Sequential(*layers, nn.Linear(64, 4))
    quiet(run(m, torch.randn(32, 20), target=torch.randint(0, 4, (32,))))


def test_exploding_relu_rnn_of_another_size(untouched):
    torch.manual_seed(27)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(3, 24, batch_first=True, nonlinearity="relu")
            nn.init.normal_(self.rnn.weight_hh_l0, std=0.8)
            self.head = nn.Linear(24, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    t = run(Net(), torch.randn(3, 80, 3), untouched, target=torch.randn(3, 2), loss=nn.MSELoss())
    f = [f for f in group_c(t) if f.cause == "exploding-gradients"]
    assert f and f[0].where == "rnn"


def test_exploding_through_large_init_convs(untouched):
    torch.manual_seed(28)
    layers = []
    for i in range(5):
        conv = nn.Conv2d(2 if i == 0 else 16, 16, 3, padding=1)
        nn.init.normal_(conv.weight, std=1.0)
        layers += [conv, nn.ReLU()]
    m = nn.Sequential(*layers, nn.Flatten(), nn.Linear(16 * 6 * 6, 1))
    t = run(m, torch.randn(4, 2, 6, 6), untouched, target=torch.randn(4, 1), loss=nn.MSELoss())
    assert [f for f in group_c(t) if f.cause == "exploding-gradients"]


def test_nan_born_in_forward_is_not_called_exploding_gradients():
    class LogRelu(nn.Module):
        def forward(self, x):
            return torch.log(torch.relu(x))

    torch.manual_seed(29)
    m = nn.Sequential(nn.Linear(4, 8), LogRelu(), nn.Linear(8, 1))
    t = run(m, torch.randn(8, 4), target=torch.randn(8, 1), loss=nn.MSELoss())
    assert not [f for f in group_c(t) if f.cause == "exploding-gradients"]


def test_nan_from_a_custom_loss_is_not_called_exploding_gradients():
    torch.manual_seed(30)
    m = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    nn.init.constant_(m[0].weight, -1.0)
    nn.init.constant_(m[0].bias, -1.0)
    t = run(m, torch.rand(4, 3), target=torch.rand(4, 3), loss=lambda o, y: ((o - y) ** 2 / o.sum()).mean())
    assert not [f for f in group_c(t) if f.cause in ("exploding-gradients", "vanishing-gradients")]


@pytest.mark.parametrize("cell", [nn.LSTM, nn.GRU])
def test_recurrent_and_attention_models_get_no_gradient_warning(cell):
    torch.manual_seed(31)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 12)
            self.rnn = cell(12, 20, batch_first=True, num_layers=2)
            self.attn = nn.MultiheadAttention(20, 2, batch_first=True)
            self.fc = nn.Linear(20, 3)

        def forward(self, x):
            h = self.rnn(self.emb(x))[0]
            return self.fc(self.attn(h, h, h)[0].mean(1))

    quiet(run(Net(), torch.randint(0, 50, (6, 40)), target=torch.randint(0, 3, (6,))))


# ---------------------------------------------------------------------------------- learning rate
def test_sgd_lr_far_too_high_on_a_cnn(untouched):
    torch.manual_seed(32)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    y = torch.arange(12) % 3
    t = run(m, torch.randn(12, 1, 8, 8), untouched, target=y, optimizer=torch.optim.SGD(m.parameters(), lr=50.0),
            steps=6)
    (f,) = only(t, "lr-too-high")
    assert f.where == "optimizer" and f.evidence["suggested_lr"] <= 5.0
    assert "lr=" in f.fix


def test_adam_lr_one_oscillates_on_regression(untouched):
    torch.manual_seed(33)
    m = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 3)
    t = run(m, x, untouched, target=x.sum(1, keepdim=True), loss=nn.MSELoss(),
            optimizer=torch.optim.Adam(m.parameters(), lr=3.0), steps=12)
    assert only(t, "lr-too-high")


def test_sgd_lr_tiny_on_a_cnn(untouched):
    torch.manual_seed(34)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    t = run(m, torch.randn(12, 1, 8, 8), untouched, target=torch.arange(12) % 3,
            optimizer=torch.optim.SGD(m.parameters(), lr=1e-7, momentum=0.9), steps=5)
    (f,) = only(t, "lr-too-low")
    assert f.evidence["suggested_lr"] >= 1e-6


@pytest.mark.parametrize("make_opt,steps", [
    (lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9), 15),
    (lambda ps: torch.optim.Adam(ps, lr=1e-3), 15),
    (lambda ps: torch.optim.Adam(ps, lr=1e-2), 30),
    (lambda ps: torch.optim.AdamW(ps, lr=3e-4, weight_decay=0.01), 10),
])
def test_sane_learning_rates_with_dropout_and_batchnorm_are_quiet(make_opt, steps):
    torch.manual_seed(35)
    m = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3)).train()
    x = torch.randn(48, 8)
    t = run(m, x, target=x[:, :3].argmax(1), loss=nn.CrossEntropyLoss(), optimizer=make_opt, steps=steps)
    quiet(t)


def test_a_single_probe_step_says_nothing_about_the_rate():
    torch.manual_seed(36)
    m = nn.Sequential(nn.Linear(1, 1))
    x = torch.rand(20, 1)
    t = run(m, x, target=2 * x + 1, loss=nn.MSELoss(), optimizer=torch.optim.Adam(m.parameters(), lr=1e-8), steps=1)
    quiet(t)


def test_healthy_untrained_models_in_eval_mode_are_quiet():
    torch.manual_seed(37)
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 5)).eval()
    quiet(run(m, torch.randn(4, 3, 16, 16)))
    quiet(run(m, torch.randn(4, 3, 16, 16), target=torch.tensor([0, 1, 2, 3])))


def test_nan_gradient_of_sqrt_at_zero_is_not_called_exploding():
    class Dist(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 4)

        def forward(self, x):
            h = self.fc(x)
            return (h - h).pow(2).sum(1, keepdim=True).sqrt()   # d sqrt / dx at 0 is Inf

    torch.manual_seed(38)
    t = run(Dist(), torch.randn(6, 3), target=torch.randn(6, 1), loss=nn.MSELoss())
    assert any(p.grad_norm is not None and not math.isfinite(p.grad_norm) for p in t.params)
    assert not [f for f in group_c(t) if f.cause == "exploding-gradients"]


@pytest.mark.parametrize("seed", [1, 5, 7])
def test_dropout_noise_on_a_tiny_batch_is_not_a_bad_learning_rate(seed):
    # with p=0.5 dropout on 8 samples the one-batch loss wobbles by ~20 % from step to step
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.5),
                      nn.Linear(64, 3)).train()
    t = run(m, torch.randn(8, 10), target=torch.randint(0, 3, (8,)),
            optimizer=lambda ps: torch.optim.Adam(ps, lr=3e-3), steps=5)
    assert len(t.steps) == 5
    quiet(t)


def test_plain_sgd_at_1e_3_is_slow_but_not_flagged():
    torch.manual_seed(39)
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.rand(100, 10)
    t = run(m, x, target=(x.sum(1, keepdim=True) > 5).float(), loss=nn.BCEWithLogitsLoss(),
            optimizer=torch.optim.SGD(m.parameters(), lr=1e-3), steps=15)
    quiet(t)


def test_a_mismatch_with_a_loss_nbdebug_guessed_is_only_a_hint():
    # no loss given: nbdebug picks cross-entropy for integer targets, MSE for float ones; integer counts
    # regressed by one output, or a (N,) float target against (N, 1), may be right for the user's real loss
    torch.manual_seed(40)
    counts = run(nn.Linear(4, 1), torch.randn(10, 4), target=torch.randint(0, 3, (10,)))
    flat = run(nn.Linear(4, 1), torch.randn(10, 4), target=torch.randn(10))
    for t, rule in ((counts, "NBD412"), (flat, "NBD424")):
        mine = [f for f in t.findings if f.rule == rule]
        assert mine and all(f.severity == "info" for f in mine), [str(f) for f in t.findings]
        assert "no loss was given" in mine[0].message or rule == "NBD424"
        quiet(t)


def test_large_regression_targets_are_not_exploding_gradients():
    # targets in the tens of thousands give gradient norms ~3e4: a loss scale, not an explosion
    torch.manual_seed(41)
    m = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    t = run(m, torch.randn(64, 8), target=1e4 * (1 + torch.rand(64, 1)), loss=nn.MSELoss())
    assert max(p.grad_norm for p in t.params) > 1e4
    quiet(t)
