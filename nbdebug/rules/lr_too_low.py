"""NBD512 lr-too-low: probe steps barely move the loss or the weights."""
import statistics

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, pct
from .probe_signals import HEALTHY_RATIO, finite, losses, optimizer_text, ratios, suggest_lr, typical_range

SMALL_RATIO = HEALTHY_RATIO / 20   # update/weight ratio 20x below CS231n's healthy 1e-3
STILL = 0.01                        # the loss moves by less than 1 % of its start over the probe
MIN_STEPS = 3


def check(trace):
    ls = losses(trace)
    if len(ls) < MIN_STEPS or not all(finite(x) for x in ls):
        return
    l0 = ls[0]
    if abs(l0) < 1e-8:
        return  # nothing left to learn on this batch
    if not finite(trace.steps[0].grad_norm) or trace.steps[0].grad_norm <= 0:
        return  # no gradient at all: the no-gradient rules own that
    rs = [r for r in ratios(trace) if finite(r)]
    if not rs:
        return
    typical = statistics.median(rs)
    moved = max(abs(x - l0) for x in ls) / abs(l0)
    if typical >= SMALL_RATIO or moved >= STILL:
        return
    name, lr, lr_text = optimizer_text(trace)
    message = (f"In {len(ls)} probe steps with {lr_text} on this batch the loss moves by only {fmt(100 * moved)} % "
               f"({fmt(l0)} to {fmt(ls[-1])}) and the weights by {fmt(typical)} of their norm per step "
               f"(healthy is ~{fmt(HEALTHY_RATIO)}).")
    new = suggest_lr(lr, typical, lower=False, name=name)
    if new is not None:
        fix = (f"Raise the learning rate to lr={new:g} ({round(new / lr):,}x higher) and re-run the probe; "
               f"{typical_range(name)}. A learning-rate range test (increase lr each step, keep the largest "
               f"that still lowers the loss) finds it quickly.")
    else:
        fix = f"Raise the learning rate 10-100x; {typical_range(name)}."
    yield RULE.finding("optimizer", message, fix,
                       evidence={"lr": lr, "losses": ls, "update_ratio": typical, "suggested_lr": new})


def _bad_sgd_tiny_lr():
    torch.manual_seed(36)
    m = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
    x = torch.randn(40, 5)
    return dict(model=m, inputs=x, target=(x[:, 0] > 0).long(), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=1e-6), steps=6)


def _bad_adamw_tiny_lr():
    torch.manual_seed(37)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(30, 3)
    return dict(model=m, inputs=x, target=x.sum(1, keepdim=True), loss=nn.MSELoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-8), steps=10)


def _good_adam_default():
    torch.manual_seed(37)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    x = torch.randn(30, 3)
    return dict(model=m, inputs=x, target=x.sum(1, keepdim=True), loss=nn.MSELoss(), steps=10)


def _good_sgd_momentum():
    torch.manual_seed(36)
    m = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 2))
    x = torch.randn(40, 5)
    return dict(model=m, inputs=x, target=(x[:, 0] > 0).long(), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), steps=6)


RULE = Rule(
    code="NBD512",
    cause="lr-too-low",
    severity="warning",
    title="Learning rate too low",
    explanation=(
        "With a learning rate far too small, each step changes the weights by a negligible fraction, so "
        "the loss stays flat for many epochs and training looks stuck even though gradients flow. On a "
        "single batch a working setup lowers the loss visibly within a few steps. Typical causes: a "
        "rate meant for fine-tuning (1e-6..1e-5) used from scratch, a scheduler that decayed it to "
        "nothing, or a unit slip (1e-7 for 1e-3)."
    ),
    fix="Raise the learning rate 10-100x (or run a learning-rate range test).",
    check=check,
    bad=[_bad_sgd_tiny_lr, _bad_adamw_tiny_lr],
    good=[_good_adam_default, _good_sgd_momentum],
    needs="steps",
    thresholds=(
        f"The median weight update/weight ratio across steps is < {fmt(SMALL_RATIO)} (20x below CS231n's "
        f"healthy 1e-3; at 10x, plain SGD at 1e-3 on small nets, slow but sane, was flagged) and the probe "
        f"loss moves by < {pct(STILL)} of its start over >= {MIN_STEPS} steps "
        f"(own reasoning: one batch is learnable, so a working rate moves it by more), with a non-zero "
        f"gradient."
    ),
)
