"""NBD160 train-eval-mode: a BatchNorm layer in training mode got one value per channel (a batch of
one sample), so it cannot compute batch statistics and raised."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import NORM_TYPES, shape
from .layout import label, raised_calls


def per_channel(s) -> int:
    """Values each channel's batch statistics are computed over: numel / channels (dim 1)."""
    if s is None or len(s.shape) < 2 or not s.shape[1]:
        return 0
    return s.numel // s.shape[1]


def check(trace):
    if trace.error is None or trace.error.stage != "forward":
        return
    for call in raised_calls(trace):
        s = call.inputs[0] if call.inputs else None
        if call.type not in NORM_TYPES or not call.training or per_channel(s) != 1:
            continue
        message = (f"{label(call)} is in training mode and received {shape(s)}: one value per channel, so it "
                   f"has no batch statistics to normalise with and raised.")
        fix = (f"For inference or evaluation call `model.eval()` first (BatchNorm then uses its running "
               f"statistics). For training use batches of at least 2 samples, e.g. `DataLoader(..., "
               f"drop_last=True)` so a last batch of one sample is dropped.")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"layer": call.name, "shape": list(s.shape)})
        return


def _bad_single_row_through_bn():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 2)).train()
    return dict(model=m, inputs=torch.randn(1, 6))


def _bad_pooled_features_bn2d():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(4), nn.Flatten(),
                      nn.Linear(4, 2)).train()
    return dict(model=m, inputs=torch.randn(1, 3, 9, 9))


def _good_single_row_in_eval():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 10), nn.BatchNorm1d(10), nn.ReLU(), nn.Linear(10, 2)).eval()
    return dict(model=m, inputs=torch.randn(1, 6))


RULE = Rule(
    code="NBD160",
    cause="train-eval-mode",
    severity="error",
    title="BatchNorm in training mode on a single sample",
    explanation=(
        "In training mode BatchNorm normalises each channel with the mean and variance of the current "
        "batch. With one sample (and no spatial positions left, e.g. after global pooling or on a Linear "
        "output) each channel has a single value, the variance is undefined and torch raises \"Expected "
        "more than 1 value per channel when training\". It happens when a model is run on one example "
        "without `model.eval()`, or when the last batch of an epoch holds a single sample."
    ),
    fix="Call `model.eval()` for inference; use batches of at least 2 (`drop_last=True`) for training.",
    check=check,
    bad=[_bad_single_row_through_bn, _bad_pooled_features_bn2d],
    good=[_good_single_row_in_eval],
    needs="forward",
    thresholds="Structural: the raising BatchNorm was in training mode and its input had numel / channels "
               "== 1.",
)
