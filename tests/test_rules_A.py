"""Group A rules (inputs, exceptions, data layout) on variants of their own examples: other sizes,
other layer types, functional vs module forms, silent vs crashing forms, and healthy look-alikes.

Each positive test asserts the cause, where it points (the root cause, not the crash site), and that
the fix is computed from this model's numbers. Every trace also goes through the `traced` fixture,
which fails if nbdebug changed the model.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from nbdebug.rules import RULE_MODULES

SERIOUS = ("error", "warning")
GROUP_A = ("NBD1",)


def serious(t):
    return [f for f in t.findings if f.severity in SERIOUS]


def only(t, code):
    found = [f for f in t.findings if f.rule == code]
    assert found, f"{code} did not fire; got {[str(f) for f in t.findings]}; error={t.error}"
    return found[0]


def top(t):
    s = serious(t)
    assert s, f"no serious finding; error={t.error}"
    return s[0]


def quiet_group_a(t):
    loud = [str(f) for f in serious(t) if f.rule.startswith(GROUP_A)]
    assert not loud, loud


def seeded(fn):
    torch.manual_seed(0)
    return fn()


# ---------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("conv,shape,flat", [
    (lambda: nn.Conv1d(2, 5, 3), (2, 40), 5 * 38),
    (lambda: nn.Conv2d(3, 4, 5), (3, 20, 20), 4 * 16 * 16),
    (lambda: nn.Conv3d(1, 2, 3), (1, 6, 6, 6), 2 * 4 * 4 * 4),
])
def test_missing_batch_dim_is_blamed_on_the_input_not_the_crashing_linear(traced, conv, shape, flat):
    m = seeded(lambda: nn.Sequential(conv(), nn.ReLU(), nn.Flatten(), nn.Linear(flat, 3)))
    t = traced(m, torch.randn(*shape))
    assert t.error is not None and t.error.where == "3"  # the crash is at the Linear
    f = top(t)
    assert (f.rule, f.cause, f.where, f.severity, f.call) == ("NBD102", "shape-mismatch", "input", "error", 1)
    assert "x.unsqueeze(0)" in f.fix and str((1,) + shape) in f.fix
    assert not [g for g in t.findings if g.rule == "NBD104"], "the Linear's size is a consequence, not a cause"


def test_missing_batch_dim_as_keyword_input_names_the_keyword(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(2 * 6 * 6, 2)

        def forward(self, image):
            return self.fc(self.conv(image).flatten(1))

    t = traced(seeded(Net), {"image": torch.randn(1, 8, 8)})
    f = only(t, "NBD102")
    assert f.where == "input" and "image.unsqueeze(0)" in f.fix


def test_unbatched_read_that_does_not_crash_is_a_warning(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv3d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv3d(3, 1, 1)))
    t = traced(m, torch.randn(2, 5, 5, 5))
    f = only(t, "NBD103")
    assert (f.cause, f.where, f.severity) == ("shape-mismatch", "input", "warning")
    assert len([g for g in t.findings if g.rule == "NBD103"]) == 1, "the second conv is a consequence"


def test_rnn_over_a_flat_table_offers_both_readings(traced):
    t = traced(seeded(lambda: nn.LSTM(7, 4)), torch.randn(11, 7))  # batch_first=False
    f = only(t, "NBD103")
    assert "x.unsqueeze(1)" in f.fix and "x.unsqueeze(0)" in f.fix and "batch_first=False" in f.fix


def test_rnn_reading_a_table_as_one_sequence_ranks_before_the_batch_mixing_it_causes(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(5, 8, batch_first=True)
            self.out = nn.Linear(8, 1)

        def forward(self, x):
            return self.out(self.rnn(x)[0])

    t = traced(seeded(Net), torch.randn(10, 5), target=torch.randn(10, 1), loss=nn.MSELoss())
    f = top(t)
    assert (f.rule, f.where) == ("NBD103", "input")
    mixing = [g for g in t.findings if g.cause == "batch-mixing"]
    assert all(g.consequence_of == "NBD103" for g in mixing)


@pytest.mark.parametrize("inputs", [torch.randn(4, 3, 9, 9), torch.randn(1, 3, 9, 9)])
def test_batched_images_are_not_unbatched(traced, inputs):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 7 * 7, 2)))
    quiet_group_a(traced(m, inputs))


@pytest.mark.parametrize("image,flat", [(28, 13 * 13), (32, 15 * 15), (20, 9 * 9)])
def test_linear_size_fix_is_computed_from_what_it_receives(traced, image, flat):
    # the Linear was sized for 28x28 images; other image sizes need another in_features
    m = seeded(lambda: nn.Sequential(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                     nn.Linear(6 * 13 * 13, 10)))
    t = traced(m, torch.randn(2, 1, image, image))
    if image == 28:
        quiet_group_a(t)
        return
    f = top(t)
    assert (f.rule, f.where, f.call) == ("NBD104", "4", 5)
    assert f"nn.Linear({6 * flat}, 10)" in f.fix and f"{6 * 13 * 13}" in f.message


@pytest.mark.parametrize("layer,fix", [
    (nn.LayerNorm(12), "nn.LayerNorm(8)"),
    (nn.GroupNorm(3, 12), "nn.GroupNorm(3, 8)"),
    (nn.BatchNorm1d(12), "nn.BatchNorm1d(8)"),
])
def test_norm_layer_sizes(traced, layer, fix):
    m = seeded(lambda: nn.Sequential(nn.Linear(5, 8), layer, nn.ReLU()))
    f = top(traced(m, torch.randn(4, 5)))
    assert (f.rule, f.cause, f.where) == ("NBD104", "shape-mismatch", "1") and fix in f.fix


@pytest.mark.parametrize("conv,shape,perm", [
    (lambda: nn.Conv2d(3, 2, 3), (2, 16, 16, 3), "x.permute(0, 3, 1, 2)"),
    (lambda: nn.Conv3d(4, 2, 3), (2, 6, 7, 8, 4), "x.permute(0, 4, 1, 2, 3)"),
    (lambda: nn.Conv2d(3, 2, 3), (16, 16, 3), "x.permute(2, 0, 1).unsqueeze(0)"),
])
def test_channels_last_layouts(traced, conv, shape, perm):
    t = traced(seeded(lambda: nn.Sequential(conv(), nn.ReLU())), torch.rand(*shape))
    f = top(t)
    assert (f.rule, f.cause, f.where) == ("NBD105", "shape-mismatch", "input") and perm in f.fix


def test_flatten_before_pooling_points_at_the_flatten(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.MaxPool2d(2)))
    f = top(traced(m, torch.randn(2, 1, 10, 10)))
    assert (f.rule, f.where, f.call) == ("NBD106", "1", 2) and "Flatten" in f.fix


def test_reshape_inside_forward_before_conv_points_at_the_conv(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x.reshape(x.shape[0], -1))

    f = top(traced(seeded(Net), torch.randn(2, 3, 8, 8)))
    assert (f.rule, f.where) == ("NBD106", "conv") and "(2, 3, 8, 8)" in f.message


@pytest.mark.parametrize("channels,side", [(1, 28), (3, 32)])
def test_flat_rows_into_conv_get_an_image_view(traced, channels, side):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(channels, 4, 3), nn.ReLU()))
    f = top(traced(m, torch.rand(5, channels * side * side)))
    assert (f.rule, f.where) == ("NBD106", "input") and f"x.view(-1, {channels}, {side}, {side})" in f.fix


def test_token_ids_beyond_the_table_fix_the_table_size(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(50, 4)

        def forward(self, ids):
            return self.emb(ids)

    ids = torch.randint(0, 50, (3, 6))
    ids[1, 2] = 63
    f = top(traced(seeded(Net), ids))
    assert (f.rule, f.where) == ("NBD107", "emb") and "nn.Embedding(64, 4)" in f.fix


@pytest.mark.parametrize("n", [7, 32])
def test_batch_of_scalars_without_feature_dim(traced, n):
    m = seeded(lambda: nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Linear(4, 1)))
    f = top(traced(m, torch.linspace(0, 1, n)))
    assert (f.rule, f.where) == ("NBD104", "input") and "x.unsqueeze(1)" in f.fix and f"({n}, 1)" in f.fix


@pytest.mark.parametrize("layer", [lambda: nn.LSTM(6, 4, batch_first=True), lambda: nn.Linear(6, 4),
                                   lambda: nn.LayerNorm(6)])
def test_features_in_dim_1_instead_of_last(traced, layer):
    f = top(traced(seeded(lambda: nn.Sequential(layer())), torch.randn(3, 6, 20)))
    assert (f.rule, f.where) == ("NBD104", "input") and "x.transpose(1, 2)" in f.fix and "(3, 20, 6)" in f.fix


@pytest.mark.parametrize("shape", [(4, 3, 10, 10), (4, 300)])
def test_images_into_a_linear(traced, shape):
    m = seeded(lambda: nn.Sequential(nn.Linear(300, 10), nn.ReLU(), nn.Linear(10, 2)))
    t = traced(m, torch.randn(*shape))
    if len(shape) == 2:
        quiet_group_a(t)
        return
    f = top(t)
    assert (f.rule, f.where) == ("NBD104", "0") and "nn.Flatten()" in f.fix


@pytest.mark.parametrize("conv,shape", [(lambda: nn.Conv1d(1, 3, 5), (6, 50)),
                                        (lambda: nn.Conv2d(1, 3, 3), (6, 9, 9))])
def test_single_channel_batch_without_channel_dim(traced, conv, shape):
    f = top(traced(seeded(lambda: nn.Sequential(conv(), nn.ReLU())), torch.randn(*shape)))
    assert (f.rule, f.where) == ("NBD104", "input") and "x.unsqueeze(1)" in f.fix


def test_feature_map_shrunk_below_the_kernel(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 5), nn.MaxPool2d(2), nn.Conv2d(4, 4, 5)))
    f = top(traced(m, torch.randn(2, 3, 10, 10)))
    assert (f.rule, f.where) == ("NBD109", "2") and "padding" in f.fix


def test_sets_encoded_one_by_one_are_not_unbatched_inputs(traced):
    class PerSample(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 3)

        def forward(self, x):
            return torch.stack([self.rnn(seq)[0][-1] for seq in x])

    quiet_group_a(traced(seeded(PerSample), torch.randn(2, 6, 4)))


def test_cat_of_mismatched_branches_is_a_generic_shape_error(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 3)
            self.b = nn.Linear(4, 3)

        def forward(self, x):
            return torch.cat([self.a(x), self.b(x[:-1])], dim=1)

    f = top(traced(seeded(Net), torch.randn(5, 4)))
    assert (f.rule, f.cause, f.severity, f.where) == ("NBD109", "shape-mismatch", "error", "")
    assert not f.message.endswith("..")


# ---------------------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("x,fix", [
    (torch.randint(0, 1000, (4, 6)), "x.float()`"),                       # int64 features from pandas
    (torch.randn(4, 6).double(), "x.float()`"),                           # numpy's float64 default
    (torch.rand(4, 6) > 0.5, "x.float()`"),                               # a bool mask
    (torch.randint(0, 256, (4, 6), dtype=torch.uint8), "x.float() / 255"),  # 8-bit values
])
def test_input_dtype_into_float32_linear(traced, x, fix):
    m = seeded(lambda: nn.Sequential(nn.Linear(6, 3), nn.ReLU()))
    f = top(traced(m, x))
    assert (f.rule, f.cause, f.where, f.call) == ("NBD110", "dtype-mismatch", "input", 1) and fix in f.fix


def test_double_input_into_lstm_is_a_dtype_mismatch_at_the_input(traced):
    t = traced(seeded(lambda: nn.GRU(3, 5, batch_first=True)), torch.randn(2, 4, 3).double())
    f = top(t)
    assert (f.rule, f.where) == ("NBD110", "input") and "x.float()" in f.fix


def test_bfloat16_layer_inside_float32_model_points_at_the_layer(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.head = nn.Sequential(nn.ReLU(), nn.Linear(8, 2).to(torch.bfloat16))

        def forward(self, x):
            return self.head(self.enc(x))

    f = top(traced(seeded(Net), torch.randn(3, 4)))
    assert (f.rule, f.where) == ("NBD110", "head.1") and "model.head[1].float()" in f.fix


def test_numpy_float64_parameter_in_a_float32_model_is_blamed_on_the_module(traced):
    import numpy as np

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Module()
            self.proj.w = nn.Parameter(torch.from_numpy(np.ones((4, 3))))  # float64
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return self.fc(torch.matmul(x, self.proj.w))

    t = traced(seeded(Net), torch.randn(2, 4))
    f = top(t)
    assert (f.rule, f.cause, f.where) == ("NBD110", "dtype-mismatch", "proj") and "proj.w" in f.message
    assert "model.proj.float()" in f.fix


@pytest.mark.parametrize("ids", [torch.randint(0, 20, (2, 5)).double(), torch.randint(0, 20, (2, 5)).half()])
def test_float_ids_into_embedding(traced, ids):
    t = traced(seeded(lambda: nn.Embedding(20, 3)), ids)
    f = top(t)
    assert (f.rule, f.cause, f.where) == ("NBD111", "dtype-mismatch", "input") and "x.long()" in f.fix


def test_int_images_scaled_inside_forward_are_fine(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x.float().div(255).sub(0.5))

    quiet_group_a(traced(seeded(Net), torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)))


# ---------------------------------------------------------------------------------------- devices
def test_meta_layer_in_the_middle_of_a_model(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
            self.neck = nn.Linear(4, 4, device="meta")
            self.head = nn.Linear(4, 1)

        def forward(self, x):
            return self.head(self.neck(self.body(x)))

    f = top(traced(seeded(Net), torch.randn(2, 4)))
    assert (f.rule, f.cause, f.where) == ("NBD120", "device-mismatch", "neck")
    assert "model.neck.to_empty(device='cpu')" in f.fix


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_input_into_cuda_model_is_blamed_on_the_input(traced):
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 2)).cuda())
    f = top(traced(m, torch.randn(3, 4)))
    assert (f.rule, f.where) == ("NBD120", "input") and "x.to('cuda:0')" in f.fix


# ---------------------------------------------------------------------------------------- None
def test_none_from_a_nested_block_reaches_the_root(traced):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            x = self.fc(x)  # no return

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(3, 3)
            self.block = Block()

        def forward(self, x):
            return self.block(self.stem(x))

    f = top(traced(seeded(Net), torch.randn(2, 3)))
    assert (f.rule, f.cause, f.where) == ("NBD130", "none-output", "block") and "Block.forward" in f.fix


def test_none_used_by_a_tensor_method_in_forward(traced):
    class Gate(nn.Module):
        def forward(self, x):
            if x.mean() > 100:
                return x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = Gate()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            return self.fc(self.gate(x).relu())

    f = top(traced(seeded(Net), torch.randn(2, 3)))
    assert (f.rule, f.where) == ("NBD130", "gate")


def test_branch_note_names_the_input_that_fell_through(traced):
    class Pick(nn.Module):
        def forward(self, x):
            if x.shape[0] == 1:
                return x

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pick = Pick()
            self.fc = nn.Linear(3, 1)

        def forward(self, x):
            first = self.pick(x[:1])
            return self.fc(first) + self.fc(self.pick(x))

    f = top(traced(seeded(Net), torch.randn(4, 3)))
    assert f.rule == "NBD130" and "(1, 3)" in f.message and "(4, 3)" in f.message


# ---------------------------------------------------------------------------------------- NaN born
@pytest.mark.parametrize("op,fix", [
    (lambda x: torch.sqrt(x), "clamp_min(1e-12)"),
    (lambda x: torch.exp(x * 200), "logsumexp"),
    (lambda x: torch.acos(x * 3), "clamp(-1 + 1e-6"),
])
def test_nan_created_by_an_op_inside_a_module(traced, op, fix):
    class Op(nn.Module):
        def forward(self, x):
            return op(x)

    m = seeded(lambda: nn.Sequential(nn.Linear(4, 4), Op(), nn.Linear(4, 1)))
    f = top(traced(m, torch.randn(8, 4)))
    assert (f.rule, f.cause, f.where, f.call) == ("NBD140", "nonfinite-created", "1", 2) and fix in f.fix


def test_std_of_a_single_sample_inside_forward(traced):
    class Standardise(nn.Module):
        def forward(self, x):
            return (x - x.mean(0)) / x.std(0)

    m = seeded(lambda: nn.Sequential(nn.Linear(3, 3), Standardise(), nn.Linear(3, 1)))
    f = top(traced(m, torch.randn(1, 3)))
    assert (f.rule, f.where) == ("NBD140", "1") and "correction=0" in f.fix


def test_log_of_softmax_underflow(traced):
    class LogSoftmaxByHand(nn.Module):
        def forward(self, x):
            return torch.log(F.softmax(x * 80, dim=1))

    m = seeded(lambda: nn.Sequential(nn.Linear(3, 5), LogSoftmaxByHand()))
    f = top(traced(m, torch.randn(4, 3) * 3))
    assert (f.rule, f.where) == ("NBD140", "1") and "F.log_softmax" in f.fix


def test_nan_created_in_a_functional_custom_loss(traced):
    m = seeded(lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    nn.init.constant_(m[0].bias, -10.0)

    def loss(out, y):
        return (y * torch.log(out)).mean()  # log(0) on the dead ReLU outputs

    f = top(traced(m, torch.randn(4, 3), target=torch.rand(4, 2), loss=loss))
    assert (f.rule, f.where) == ("NBD140", "loss") and "clamp_min" in f.fix


def test_backward_only_nan_from_a_hand_written_norm_at_zero(traced):
    class Normalise(nn.Module):
        def forward(self, x):
            # forward safe thanks to the clamp, but sqrt'(0) is infinite: 0 * inf = NaN in backward
            return x / x.pow(2).sum(1, keepdim=True).sqrt().clamp_min(1e-6)

    m = seeded(lambda: nn.Sequential(nn.Linear(3, 4, bias=False), Normalise(), nn.Linear(4, 1)))
    x = torch.randn(4, 3)
    x[2] = 0.0  # this sample's features are all zero: its norm is 0
    t = traced(m, x, target=torch.randn(4, 1), loss=nn.MSELoss())
    f = top(t)
    assert (f.rule, f.cause, f.where, f.call) == ("NBD141", "nonfinite-created", "1", 2)
    assert "norm" in f.fix


def test_finite_models_and_masks_raise_no_nan_finding(traced):
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 6)

        def forward(self, x):
            logits = self.fc(x)
            mask = torch.zeros_like(logits, dtype=torch.bool)
            mask[:, -1] = True
            return F.softmax(logits.masked_fill(mask, float("-inf")), dim=-1)  # finite after softmax

    quiet_group_a(traced(seeded(Masked), torch.randn(3, 4)))


# ---------------------------------------------------------------------------------------- scale
@pytest.mark.parametrize("x,needle", [
    (torch.randint(0, 256, (4, 3, 12, 12)).float(), "/ 255"),
    (torch.randn(4, 3, 12, 12) * 40 + 100, "(x - "),
])
def test_unscaled_images(traced, x, needle):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 10 * 10, 2)))
    f = top(traced(m, x))
    assert (f.rule, f.cause, f.where, f.severity) == ("NBD150", "unnormalized-input", "input", "warning")
    assert needle in f.fix


def test_waveform_in_int16_units_into_conv1d(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv1d(1, 4, 9), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                                     nn.Linear(4, 2)))
    f = top(traced(m, torch.randn(3, 1, 400) * 8000))
    assert f.rule == "NBD150" and "8" in f.message


def test_large_inputs_into_an_lstm(traced):
    t = traced(seeded(lambda: nn.LSTM(3, 4, batch_first=True)), torch.rand(2, 6, 3) * 500)
    assert only(t, "NBD150").where == "input"


@pytest.mark.parametrize("x", [
    torch.rand(4, 3, 12, 12),                                   # [0, 1] pixels
    (torch.rand(4, 3, 12, 12) - 0.45) / 0.225,                  # ImageNet-style normalised
    torch.randn(4, 3, 12, 12) * 3,                              # a bit wide, not out of scale
])
def test_normal_image_scales_are_fine(traced, x):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 10 * 10, 2)))
    quiet_group_a(traced(m, x))


def test_large_float_ids_that_the_model_turns_into_embeddings_are_fine(traced):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(1000, 8)
            self.fc = nn.Linear(8, 2)

        def forward(self, ids):
            return self.fc(self.emb(ids.long()).mean(1))

    quiet_group_a(traced(seeded(Net), torch.randint(0, 1000, (4, 7)).float()))


def test_layernorm_first_normalises_large_inputs(traced):
    m = seeded(lambda: nn.Sequential(nn.LayerNorm(5), nn.Linear(5, 3)))
    quiet_group_a(traced(m, torch.rand(6, 5) * 1e4))


def test_feature_spread_ignores_constant_columns(traced):
    x = torch.cat([torch.randn(16, 4), torch.ones(16, 1), torch.zeros(16, 1)], dim=1)
    quiet_group_a(traced(seeded(lambda: nn.Linear(6, 2)), x))


# ---------------------------------------------------------------------------------------- modes
def test_bn_on_one_sample_in_a_conv_net_after_global_pooling(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.BatchNorm1d(4), nn.Linear(4, 2)))
    f = top(traced(m, torch.randn(1, 3, 8, 8), target=torch.randint(0, 2, (1,)), loss=nn.CrossEntropyLoss()))
    assert (f.rule, f.cause, f.where, f.severity) == ("NBD160", "train-eval-mode", "3", "error")
    assert "model.eval()" in f.fix


def test_bn_with_one_image_but_many_pixels_is_not_the_crash_rule(traced):
    m = seeded(lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()))
    t = traced(m, torch.randn(1, 3, 8, 8), target=torch.randn(1, 4, 6, 6), loss=nn.MSELoss())
    assert not [f for f in t.findings if f.rule == "NBD160"]


@pytest.mark.parametrize("layer", [nn.BatchNorm1d(6), nn.AlphaDropout(0.2), nn.Dropout1d(0.3)])
def test_inference_in_training_mode(traced, layer):
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 6), layer, nn.Linear(6, 2)))
    x = torch.randn(5, 4) if not isinstance(layer, nn.Dropout1d) else torch.randn(5, 4)
    t = traced(m.train(), x)
    f = only(t, "NBD161")
    assert (f.cause, f.where, f.severity) == ("train-eval-mode", "1", "warning")


@pytest.mark.parametrize("kwargs", [
    dict(target=torch.randn(5, 2), loss=nn.MSELoss()),
    dict(target=torch.randn(5, 2)),
])
def test_training_step_in_training_mode_is_fine(traced, kwargs):
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 2)))
    quiet_group_a(traced(m.train(), torch.randn(5, 4), **kwargs))


def test_dropout_with_p_zero_does_not_count(traced):
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.0), nn.Linear(6, 2)))
    quiet_group_a(traced(m.train(), torch.randn(5, 4)))


def test_training_a_batchnorm_model_left_in_eval_mode(traced):
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))).eval()
    t = traced(m, torch.randn(8, 4), target=torch.randn(8, 1), loss=nn.MSELoss(),
               optimizer=torch.optim.SGD(m.parameters(), lr=0.01), steps=2)
    f = only(t, "NBD162")
    assert f.where == "1" and "frozen running statistics" in f.message and "model.train()" in f.fix


# ---------------------------------------------------------------------------------------- registry
def test_group_a_block_lists_every_group_a_module():
    import importlib

    for name in RULE_MODULES:
        rule = importlib.import_module(f"nbdebug.rules.{name}").RULE
        if rule.code.startswith("NBD1"):
            assert rule.cause in ("shape-mismatch", "dtype-mismatch", "device-mismatch", "none-output",
                                  "nonfinite-input", "nonfinite-created", "unnormalized-input",
                                  "train-eval-mode"), rule.code


class _OwnOverflow(nn.Module):
    """One forward that scales and squares in half precision: the overflow is its own arithmetic."""
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return (self.fc(x).half() * 5000.0) ** 2


class _Exp(nn.Module):
    def forward(self, x):
        return torch.exp(x)


def test_an_overflow_in_one_modules_own_forward_ranks_before_its_growth(traced):
    t = traced(seeded(_OwnOverflow), torch.randn(4, 8))
    causes = [f.cause for f in t.findings]
    assert causes[0] == "nonfinite-created", causes
    grew = [f for f in t.findings if f.cause == "exploding-activations"]
    assert grew and not any(f.consequence_of for f in grew + t.findings[:1])


class _Scale(nn.Module):
    def forward(self, x):
        return x * 30.0


def test_growth_over_depth_still_explains_the_overflow_it_leads_to(traced):
    m = seeded(lambda: nn.Sequential(nn.Linear(16, 16), *[_Scale() for _ in range(4)], _Exp()))
    t = traced(m, torch.randn(4, 16))
    grew = [f for f in t.findings if f.cause == "exploding-activations"]
    born = [f for f in t.findings if f.cause == "nonfinite-created"]
    assert grew and born, [f.cause for f in t.findings]
    assert born[0].where != grew[0].where and born[0].consequence_of == grew[0].rule


def test_value_findings_after_a_meta_weight_layer_follow_the_device_mismatch():
    # a Conv2d with meta weights fed a CPU tensor can return a CPU tensor of uninitialised memory:
    # whatever the value rules read from it is a consequence, ranked after the mismatch
    from nbdebug.rules.base import rank
    from nbdebug.trace import Finding

    grew = Finding(rule="NBD210", cause="exploding-activations", severity="warning", where="2.0")
    meta = Finding(rule="NBD120", cause="device-mismatch", severity="error", where="2.0")
    dead = Finding(rule="NBD230", cause="dead-relu", severity="warning", where="2.1")
    ranked = rank([grew, dead, meta])
    assert ranked[0] is meta
    assert grew.consequence_of == "NBD120" and dead.consequence_of == "NBD120"


def test_a_first_layer_left_on_meta_is_named_not_the_input(traced):
    # the rest of the model is on the input's device: the odd layer is the one to move
    m = seeded(lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)))
    m[0].to("meta")
    f = only(traced(m, torch.randn(5, 4)), "NBD120")
    assert f.where == "0", f
    whole = seeded(lambda: nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))).to("meta")
    g = only(traced(whole, torch.randn(5, 4)), "NBD120")
    assert g.where == "input", g


def test_a_block_that_scales_its_own_branch_is_named_with_its_parameter():
    # the growth is in the block's own arithmetic (gamma * branch), its layers at normal scale; the
    # LayerNorms before it, which only bring a small input to unit scale, are not "growing" layers
    import nbdebug
    from nbdebug.rules import exploding_activations as rule
    setup = rule._bad_layer_scale_1e6()
    t = nbdebug.trace(setup["model"], setup["inputs"], target=setup["target"])
    found = [f for f in t.findings if f.rule == "NBD210"]
    assert [f.where for f in found] == ["2"]
    assert "`2.gamma`" in found[0].message
