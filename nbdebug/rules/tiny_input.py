"""NBD152 unnormalized-input: the input is orders of magnitude below unit scale (pixels divided by 255
twice, a unit conversion gone wrong), so the first layer outputs little more than its bias and the
samples barely differ after it."""

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt
from .layout import input_name, label
from .unnormalized_input import NORMALISING, first_consumer, rms

TINY = 1e-2        # input rms 100x below the unit scale that fan-in initialisers assume


def check(trace):
    for s in trace.inputs:
        if not s.is_float or not s.has_values or not s.finite or s.numel < 2:
            continue
        scale = rms(s)
        if scale == 0 or scale >= TINY:
            continue  # an all-zero input is another story; unit-scale inputs are fine
        call = first_consumer(trace, s)
        if call is None or call.type in NORMALISING or not call.outputs:
            continue  # a norm layer first rescales it anyway
        twice = 0 <= s.min and s.max <= 1 / 255 + 1e-9 and s.max > 0
        what = ": pixels divided by 255 twice?" if twice else ""
        message = (f"The input {tuple(s.shape)} has mean {fmt(s.mean)} and std {fmt(s.std)} (values "
                   f"{fmt(s.min)}..{fmt(s.max)}{what}), about {fmt(1 / scale)}x below the unit scale the "
                   f"initialisation of {label(call)} assumes: its output is little more than its bias, so "
                   f"the samples barely differ after it and its weights get tiny gradients.")
        var = input_name(s)
        fix = (f"Divide by 255 once: `{var} = raw / 255` (then standardise per channel)." if twice else
               f"Standardise the input: `{var} = ({var} - {fmt(s.mean)}) / {fmt(s.std)}` for this batch; "
               f"better, with the training set's per-feature mean and std, applied the same way at inference.")
        yield RULE.finding("input", message, fix, call=call.index,
                           evidence={"mean": s.mean, "std": s.std, "min": s.min, "max": s.max, "rms": scale,
                                     "first_layer": call.name})


def _bad_pixels_divided_twice():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 4))
    x = torch.randint(0, 256, (8, 3, 16, 16)).float() / 255.0 / 255.0
    return dict(model=m, inputs=x, target=torch.randint(0, 4, (8,)))


def _bad_micrometres_as_metres():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
    return dict(model=m, inputs=torch.randn(32, 4) * 1e-4, target=torch.randn(32, 1), loss=nn.MSELoss())


def _good_unit_range_pixels():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 4))
    return dict(model=m, inputs=torch.rand(8, 3, 16, 16), target=torch.randint(0, 4, (8,)))


def _good_quiet_audio():
    # a float waveform in [-1, 1] at a modest level is the usual scale for audio models
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(1, 8, 9, stride=4), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                      nn.Linear(8, 2))
    return dict(model=m, inputs=torch.randn(4, 1, 400) * 0.05, target=torch.randint(0, 2, (4,)))


def _good_normalised_by_the_first_layer():
    torch.manual_seed(0)
    m = nn.Sequential(nn.LayerNorm(4), nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(16, 4) * 1e-4, target=torch.randn(16, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD152",
    cause="unnormalized-input",
    severity="warning",
    title="Input far below unit scale",
    explanation=(
        "Default initialisations assume inputs of about unit scale. Inputs a hundred times smaller (pixels "
        "divided by 255 twice, lengths in metres where micrometres were meant) make the first layer's "
        "output little more than its bias: every sample looks nearly the same to the rest of the network, "
        "ReLUs behind a negative bias die, and the first layer's weights get gradients as small as the "
        "input."
    ),
    fix="Scale the input to unit range (standardise with the training set's statistics).",
    check=check,
    bad=[_bad_pixels_divided_twice, _bad_micrometres_as_metres],
    good=[_good_unit_range_pixels, _good_quiet_audio, _good_normalised_by_the_first_layer],
    needs="forward",
    thresholds=(f"Input rms (not zero) < {TINY:g}, read first by a weighted layer rather than a "
                "normalisation layer (own reasoning: two orders of magnitude below unit scale)."),
)
