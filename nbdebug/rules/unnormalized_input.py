"""NBD150 unnormalized-input: the input reaches the first layer far from unit scale (raw 0-255 pixels,
features in the hundreds or thousands), and that layer's pre-activations come out just as large."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import WEIGHTED_TYPES, fmt, leaf_calls
from .layout import RNN_TYPES, input_name, label, same_data

NORMALISING = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm",
               "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm", "RMSNorm")
GATED = RNN_TYPES + ("MultiheadAttention",)
RMS_LIMIT = 10.0          # input root-mean-square, in units of the unit scale initialisers assume
PREACT_LIMIT = 5.0        # first-layer output std: DeepDiagnosis' |x| >= 5 saturation level
RMS_LIMIT_GATED = 20.0    # RNN/attention outputs are bounded, so no second signal: ask for more


def rms(s) -> float:
    return math.sqrt(s.mean * s.mean + s.std * s.std) if s.has_values and not math.isnan(s.std) else 0.0


def first_consumer(trace, s):
    """The first leaf call that reads this input's values (the tensor itself or a view/flatten of it);
    failing that, the model's very first leaf call when it is a layer reading a part of the input, or
    the inputs joined, at the input's scale (`x1, x2 = x.chunk(2, -1)` in a coupling layer, `x[:, :k]`,
    `torch.cat([x_t, t], 1)`): no layer ran before it, so what it reads can only have come from the
    inputs."""
    calls = leaf_calls(trace)
    for c in calls:
        if c.status == "ok" and c.inputs and (c.inputs[0].ref == s.ref or same_data(c.inputs[0], s)):
            if c.type in WEIGHTED_TYPES + GATED + NORMALISING:
                return c
    first = calls[0] if calls else None
    total = sum(i.numel for i in trace.inputs if i.has_values)
    if (first is not None and first.status == "ok" and first.inputs and first.type in WEIGHTED_TYPES + GATED
            and first.inputs[0].has_values and first.inputs[0].numel <= total
            and rms(first.inputs[0]) >= 0.1 * rms(s)):
        return first  # a part of the input, or the inputs joined (`torch.cat([x_t, t], 1)`)
    return None


def batch_normalised_next(trace, call) -> bool:
    """The first layer's output goes straight into a batch norm in training mode (conv -> BN, the stem
    of most CNNs): a linear map followed by normalisation with this batch's statistics is blind to the
    input's scale, in its outputs and in the weight gradients alike."""
    if not call.outputs or call.type not in WEIGHTED_TYPES:
        return False
    ref = call.outputs[0].ref
    nxt = next((c for c in leaf_calls(trace) if c.index > call.index and c.inputs and c.inputs[0].ref == ref),
               None)
    return nxt is not None and nxt.type.startswith(("BatchNorm", "SyncBatchNorm")) and nxt.training


def is_pixels(s) -> bool:
    return s.extra.get("integral_frac", 0) >= 0.99 and s.min >= 0 and 50 < s.max <= 255


def standardise_fix(s, var) -> str:
    if is_pixels(s):
        return (f"Scale the raw pixels to [0, 1] with `{var} = {var} / 255`, then standardise per channel "
                f"(here mean {fmt(s.mean / 255)}, std {fmt(s.std / 255)}: `({var} / 255 - {fmt(s.mean / 255)}) / "
                f"{fmt(s.std / 255)}`, or `transforms.ToTensor()` + `transforms.Normalize(mean, std)`).")
    return (f"Standardise the input: `{var} = ({var} - {fmt(s.mean)}) / {fmt(s.std)}` for this batch; better, per "
            f"feature with the training set's statistics (`mu, sd = X_train.mean(0), X_train.std(0)`, or "
            f"`sklearn.preprocessing.StandardScaler`), applied the same way at inference.")


def check(trace):
    for s in trace.inputs:
        if not s.is_float or not s.has_values or not s.finite:
            continue
        scale = rms(s)
        if scale < RMS_LIMIT:
            continue
        call = first_consumer(trace, s)
        if call is None or call.type in NORMALISING or not call.outputs or batch_normalised_next(trace, call):
            continue  # never read by a layer, or normalised by the model's first layer(s)
        out = call.outputs[0]
        if call.type in GATED:
            if scale < RMS_LIMIT_GATED:
                continue
            effect = f"and {label(call)} reads it directly, driving its gates and scores into saturation"
        else:
            if not out.has_values or math.isnan(out.std) or out.std < PREACT_LIMIT:
                continue
            effect = (f"and {label(call)} turns it into pre-activations with std {fmt(out.std)} (about "
                      f"{fmt(out.std / scale)} for unit-scale data)")
        what = "raw 8-bit pixels" if is_pixels(s) else "far from unit scale"
        name = f" {s.path}" if s.path and s.path != "args[0]" else ""
        message = (f"The input{name} {tuple(s.shape)} has mean {fmt(s.mean)} and std {fmt(s.std)} (values "
                   f"{fmt(s.min)}..{fmt(s.max)}, {what}), {effect}.")
        yield RULE.finding("input", message, standardise_fix(s, input_name(s)), call=call.index,
                           evidence={"mean": s.mean, "std": s.std, "min": s.min, "max": s.max, "rms": scale,
                                     "first_layer": call.name, "preact_std": out.std})


def _bad_raw_grayscale_pixels():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    x = torch.randint(0, 256, (6, 1, 14, 14)).float()
    return dict(model=m, inputs=x, target=torch.randint(0, 3, (6,)), loss=nn.CrossEntropyLoss())


def _bad_prices_in_thousands():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    x = torch.rand(20, 3) * torch.tensor([5000.0, 300.0, 2000.0])
    return dict(model=m, inputs=x, target=torch.randn(20, 1), loss=nn.MSELoss())


class _Coupling(nn.Module):
    """A flow's affine coupling: the first layer reads half of the input's columns."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 16), nn.SiLU(), nn.Linear(16, 6))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=-1)
        s, t = self.net(x1).chunk(2, dim=-1)
        return torch.cat([x1, x2 * torch.exp(torch.tanh(s)) + t], -1)


def _bad_raw_readings_into_a_coupling_layer():
    torch.manual_seed(0)
    x = torch.tensor([300.0, 1e5, 50.0, 2e3, 800.0, 1.2e4]) * (1 + 0.1 * torch.randn(32, 6))
    return dict(model=_Coupling(), inputs=x, target=torch.randn(32, 6), loss=nn.MSELoss())


def _good_standardised_readings_into_a_coupling_layer():
    torch.manual_seed(0)
    return dict(model=_Coupling(), inputs=torch.randn(32, 6), target=torch.randn(32, 6), loss=nn.MSELoss())


class _TimeConditioned(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(7, 32), nn.SiLU(), nn.Linear(32, 6))

    def forward(self, x_t, t):
        return self.net(torch.cat([x_t, t], dim=1))


def _bad_raw_timestep_joined_to_the_input():
    torch.manual_seed(0)
    t = torch.randint(0, 1000, (32, 1)).float()
    return dict(model=_TimeConditioned(), inputs={"x_t": torch.randn(32, 6), "t": t}, target=torch.randn(32, 6),
                loss=nn.MSELoss())


def _good_scaled_timestep_joined_to_the_input():
    torch.manual_seed(0)
    t = torch.randint(0, 1000, (32, 1)).float() / 1000
    return dict(model=_TimeConditioned(), inputs={"x_t": torch.randn(32, 6), "t": t}, target=torch.randn(32, 6),
                loss=nn.MSELoss())


def _good_standardised_features():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    return dict(model=m, inputs=torch.randn(20, 3), target=torch.randn(20, 1), loss=nn.MSELoss())


def _good_raw_pixels_into_conv_then_batchnorm():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 3)).train()
    return dict(model=m, inputs=torch.randint(0, 256, (6, 1, 12, 12)).float(), target=torch.arange(6) % 3)


def _good_batchnorm_first():
    torch.manual_seed(0)
    m = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.rand(20, 3) * 1000
    return dict(model=m, inputs=x, target=torch.randn(20, 1), loss=nn.MSELoss())


def _good_scaled_inside_forward():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return self.conv(x / 255 - 0.5)

    return dict(model=Net(), inputs=torch.randint(0, 256, (3, 1, 10, 10)).float())


RULE = Rule(
    code="NBD150",
    cause="unnormalized-input",
    severity="warning",
    title="Input far from unit scale",
    explanation=(
        "Default initialisations (Kaiming, Xavier, PyTorch's uniform fan-in init) are designed for inputs "
        "with roughly zero mean and unit variance. Raw 0-255 pixels or features in the hundreds or "
        "thousands multiply the first layer's pre-activations by the same factor: sigmoid/tanh saturate, "
        "ReLU networks produce huge logits and gradients, and the learning rate that suits the other "
        "layers is far too large for the first. It is the most common preprocessing slip: forgetting "
        "`ToTensor()`/`/ 255`, or feeding a dataframe without standardising it."
    ),
    fix="Scale pixels to [0, 1] and standardise per channel; standardise tabular features with the "
        "training set's mean and std.",
    check=check,
    bad=[_bad_raw_grayscale_pixels, _bad_prices_in_thousands, _bad_raw_readings_into_a_coupling_layer,
         _bad_raw_timestep_joined_to_the_input],
    good=[_good_standardised_features, _good_standardised_readings_into_a_coupling_layer,
          _good_scaled_timestep_joined_to_the_input, _good_batchnorm_first,
          _good_scaled_inside_forward, _good_raw_pixels_into_conv_then_batchnorm],
    needs="forward",
    thresholds=f"Input RMS sqrt(mean² + std²) >= {RMS_LIMIT:g} (unit-scale data has RMS ≈ 1; my reasoning: an "
               f"order of magnitude above what initialisers assume, as in CS231n's preprocessing notes) AND the "
               f"first Linear/Conv reading it outputs std >= {PREACT_LIMIT:g} (DeepDiagnosis' saturation level "
               f"|x| >= 5). RNN/attention first layers have bounded outputs, so they need RMS >= "
               f"{RMS_LIMIT_GATED:g} alone. Silent when a normalisation layer reads the input first, when the "
               f"first Linear/Conv feeds a batch norm in training mode directly (scale-blind), or the "
               f"model rescales it before its first layer. Pixels: whole numbers in 0..255 with max > 50.",
)
