"""NBD151 unnormalized-input: tabular features on very different scales (one column in the thousands
beside columns in units), so the large ones dominate the first layer."""
import math

import torch
import torch.nn as nn

from . import unnormalized_input
from .base import Rule
from .helpers import fmt
from .unnormalized_input import NORMALISING, first_consumer

RATIO_LIMIT = 100.0   # two orders of magnitude between the largest and smallest per-feature std
LARGE_STD = 10.0      # and the largest is itself out of unit scale


def check(trace):
    if list(unnormalized_input.check(trace)):
        return  # the whole input is out of scale: NBD150 already says so, with the same fix
    for s in trace.inputs:
        span = s.extra.get("feature_std_range")
        if not s.is_float or not s.finite or not isinstance(span, list) or len(span) != 2:
            continue
        lo, hi = span
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi < LARGE_STD or hi / lo < RATIO_LIMIT:
            continue
        call = first_consumer(trace, s)
        if call is None or call.type in NORMALISING:
            continue
        name = f" {s.path}" if s.path and s.path != "args[0]" else ""
        message = (f"The {s.shape[1]} features of the input{name} {tuple(s.shape)} have stds from {fmt(lo)} to "
                   f"{fmt(hi)} ({fmt(hi / lo)}×), so the largest ones dominate what {call.type} "
                   f"{call.name!r} sees and the small ones barely move it.")
        fix = ("Standardise each feature with the training set's statistics: `mu, sd = X_train.mean(0), "
               "X_train.std(0)`, then `x = (x - mu) / sd` (or `sklearn.preprocessing.StandardScaler`); use the "
               "same mu and sd at inference.")
        yield RULE.finding("input", message, fix, call=call.index,
                           evidence={"min_feature_std": lo, "max_feature_std": hi, "first_layer": call.name})


def _bad_one_raw_count_among_standardised():
    torch.manual_seed(0)
    x = torch.cat([torch.randn(32, 12),             # standardised features
                   20.0 * torch.randn(32, 1),       # a count left in raw units
                   0.2 * torch.rand(32, 1)], dim=1)  # a ratio in [0, 0.2]
    m = nn.Sequential(nn.Linear(14, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=x, target=torch.randn(32, 1), loss=nn.MSELoss())


def _good_one_hot_and_standardised():
    torch.manual_seed(0)
    onehot = torch.zeros(32, 3)
    onehot[0, 0] = 1.0  # a rare category: tiny std, no scale problem
    onehot[1:, 1] = 1.0
    x = torch.cat([torch.randn(32, 3), onehot], dim=1)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=x, target=torch.randn(32, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD151",
    cause="unnormalized-input",
    severity="warning",
    title="Input features on very different scales",
    explanation=(
        "When one feature varies in the tens or thousands and another in fractions, the first layer's "
        "pre-activations (and its weight gradients) are dominated by the large feature; the small ones are "
        "effectively ignored until the weights grow by orders of magnitude, and a learning rate that suits "
        "one feature is wrong for the other. Standardising each feature puts them on one footing; it is "
        "the default preprocessing for tabular data."
    ),
    fix="Standardise each feature (subtract the training mean, divide by the training std).",
    check=check,
    bad=[_bad_one_raw_count_among_standardised],
    good=[_good_one_hot_and_standardised],
    needs="forward",
    thresholds=f"2-D float input; among non-constant features, max std / min std >= {RATIO_LIMIT:g} and max "
               f"std >= {LARGE_STD:g} (my reasoning: two orders of magnitude of spread, with the large feature "
               f"itself out of unit scale; rare one-hot columns are small but not large). Silent when NBD150 "
               f"already reports the input, or a normalisation layer reads it first.",
)
