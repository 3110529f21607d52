"""NBD503 exploding-gradients: regression targets in the hundreds of thousands or beyond (prices in
dollars, raw counts) under MSE/L1/Huber, while the model's outputs start near 0: the loss and its
gradients are that scale squared, so the first steps are huge or the learning rate has to be tiny."""

import torch
import torch.nn as nn

from .base import Rule
from .grad_signals import finite, stand_in, weights_in_order
from .helpers import fmt, rms, shape
from .loss_signals import REGRESSION_LOSSES, output, target, user_loss

# targets this large (rms) against outputs at least 100x smaller; targets in the tens of thousands stay a
# loss scale, not a finding (tests/test_rules_c.py keeps them quiet)
TARGET_SCALE = 1e5
OUTPUT_GAP = 1e2
LARGE_GRAD = 1e2     # a weight gradient this large (clipping norms are ~1-5)


def applies(trace):
    """(target rms, output rms, the weight with the largest gradient) when the targets' scale explains
    the gradients, else None."""
    if user_loss(trace) not in REGRESSION_LOSSES or stand_in(trace):
        return None
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not tgt.has_values or not tgt.finite or not tgt.is_float:
        return None
    t_scale, o_scale = rms(tgt), rms(out)
    if not (finite(t_scale) and finite(o_scale)) or t_scale < TARGET_SCALE or o_scale * OUTPUT_GAP > t_scale:
        return None
    ws = [p for p in weights_in_order(trace) if finite(p.grad_norm)]
    top = max(ws, key=lambda p: p.grad_norm, default=None)
    if top is None or top.grad_norm < LARGE_GRAD:
        return None
    return t_scale, o_scale, top


def check(trace):
    found = applies(trace)
    if found is None:
        return
    t_scale, o_scale, top = found
    tgt = target(trace)
    kind = user_loss(trace)
    message = (f"The {kind} targets {shape(tgt)} have a scale of {fmt(t_scale)} (mean {fmt(tgt.mean)}, std "
               f"{fmt(tgt.std)}) while the model's outputs are around {fmt(o_scale)}: the loss is "
               f"{fmt(trace.loss.value)}, and the gradient of `{top.name}` reaches {fmt(top.grad_norm)}. "
               f"With a usual learning rate the first steps throw the weights far off; with one small "
               f"enough to survive them, learning crawls.")
    fix = ("Standardise the targets with the training set's statistics, `y_n = (y - mean) / std`, train on "
           "`y_n` and map predictions back with `pred * std + mean`; for positive, skewed targets such as "
           "prices, `torch.log1p(y)` works too.")
    yield RULE.finding("target", message, fix,
                       evidence={"target_scale": t_scale, "output_scale": o_scale, "param": top.name,
                                 "grad_norm": top.grad_norm})


def _bad_house_prices():
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=torch.randn(32, 8), target=torch.rand(32, 1) * 5e5 + 1e5, loss=nn.MSELoss())


def _good_standardised_targets():
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    y = torch.rand(32, 1) * 5e5 + 1e5
    return dict(model=m, inputs=torch.randn(32, 8), target=(y - y.mean()) / y.std(), loss=nn.MSELoss())


def _good_large_targets_matched_by_the_output():
    # a model whose last layer already works at the targets' scale (a fitted or rescaled head)
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    with torch.no_grad():
        m[2].bias.fill_(3.5e5)
    return dict(model=m, inputs=torch.randn(32, 8), target=torch.rand(32, 1) * 5e5 + 1e5, loss=nn.MSELoss())


RULE = Rule(
    code="NBD503",
    cause="exploding-gradients",
    severity="warning",
    title="Regression targets at a scale the outputs are far from",
    explanation=(
        "A fresh network outputs values around 0 to 1. Against targets in the hundreds of thousands (house "
        "prices in dollars, raw counts), MSE is of the order of the targets squared and so is its "
        "gradient: the first steps at a usual learning rate throw the weights far off (or to NaN), and a "
        "learning rate small enough to survive them barely moves the model later. Standardised targets "
        "put the loss, the gradients and the usual learning rates back in their normal range."
    ),
    fix="Standardise (or log-transform) the regression targets and undo it on the predictions.",
    check=check,
    bad=[_bad_house_prices],
    good=[_good_standardised_targets, _good_large_targets_matched_by_the_output],
    needs="backward",
    thresholds=(f"Target rms ≥ {TARGET_SCALE:g}, at least {OUTPUT_GAP:g}× the output's, and a weight "
                f"gradient norm ≥ {LARGE_GRAD:g} under the user's regression loss (own reasoning; clipping "
                "norms are 1–5; targets in the tens of thousands are left alone as a loss scale)."),
)
