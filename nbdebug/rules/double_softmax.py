"""NBD401 double-softmax: the model already outputs softmax probabilities, and CrossEntropyLoss
applies log-softmax on top of them."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import fmt, output_head, shape
from .loss_signals import is_probability_rows, output, user_loss

SOFTMAX = ("Softmax", "Softmax2d")


def check(trace):
    if user_loss(trace) != "CrossEntropyLoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite or len(out.shape) < 2:
        return
    head = output_head(trace, out, SOFTMAX)
    if not is_probability_rows(out):
        return  # a softmax over another axis is softmax-wrong-dim, not a double softmax
    c = int(out.shape[1])
    floor = math.log(1 + (c - 1) / math.e)  # the lowest CE reachable when every "logit" is in [0, 1]
    if head is not None:
        where, call, what = head.name, head.index, f"its last layer `{head.name}` ({head.type})"
        fix = (f"Remove the final `nn.{head.type}` (`{head.name}`) and return the raw logits: "
               f"`nn.CrossEntropyLoss` applies log-softmax itself. Apply `logits.softmax(1)` only when you "
               f"need probabilities for prediction.")
    else:
        where, call, what = "", 0 if trace.calls else None, "its forward (a functional softmax)"
        fix = ("Return the logits from `forward` (drop the `softmax`/`F.softmax` at the end): "
               "`nn.CrossEntropyLoss` applies log-softmax itself. Apply `logits.softmax(1)` only for "
               "prediction.")
    message = (f"The model outputs probabilities through {what}: each row of the {shape(out)} output sums to 1 "
               f"with values in [{fmt(out.min)}, {fmt(out.max)}], and CrossEntropyLoss applies softmax again, "
               f"so the loss can never go below {fmt(floor)} and its gradients are squashed.")
    yield RULE.finding(where, message, fix, call=call,
                       evidence={"classes": c, "loss_floor": floor, "min": out.min, "max": out.max,
                                 "sum1_err_d1": out.extra.get("sum1_err_d1")})


def _bad_softmax_module():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(12, 24), nn.Tanh(), nn.Linear(24, 5), nn.Softmax(dim=1))
    return dict(model=m, inputs=torch.randn(20, 12), target=torch.randint(0, 5, (20,)),
                loss=nn.CrossEntropyLoss())


class _FunctionalSoftmax(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(7, 4)

    def forward(self, x):
        return F.softmax(self.body(x), dim=-1)


def _bad_functional_softmax():
    torch.manual_seed(2)
    return dict(model=_FunctionalSoftmax(), inputs=torch.randn(10, 7), target=torch.randint(0, 4, (10,)),
                loss="cross_entropy")


def _good_logits():
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(12, 24), nn.Tanh(), nn.Linear(24, 5))
    return dict(model=m, inputs=torch.randn(20, 12), target=torch.randint(0, 5, (20,)),
                loss=nn.CrossEntropyLoss())


def _good_log_softmax_head():
    # log_softmax(log_softmax(x)) == log_softmax(x): a LogSoftmax head under CrossEntropyLoss is harmless.
    torch.manual_seed(1)
    m = nn.Sequential(nn.Linear(12, 5), nn.LogSoftmax(dim=1))
    return dict(model=m, inputs=torch.randn(20, 12), target=torch.randint(0, 5, (20,)),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD401",
    cause="double-softmax",
    severity="warning",
    title="Softmax output fed to CrossEntropyLoss",
    explanation=(
        "`nn.CrossEntropyLoss` expects raw, unnormalised logits: it applies log-softmax itself. When the "
        "model already ends in a softmax, its outputs are squeezed into [0, 1], the second softmax sees "
        "almost equal scores, the loss cannot fall below log(1 + (C-1)/e), and the gradients shrink, so "
        "training stalls at a poor accuracy. It usually comes from porting a Keras model (which puts the "
        "softmax in the model) or from returning `probs` for prediction and for the loss alike."
    ),
    fix="Remove the final softmax and return logits; apply softmax only when you need probabilities.",
    check=check,
    bad=[_bad_softmax_module, _bad_functional_softmax],
    good=[_good_logits, _good_log_softmax_head],
    needs="loss",
    thresholds=(
        "Rows of the output (dim 1) sum to 1 within 1e-3 on average and every value is in [0, 1]: "
        "exact properties of a softmax over the class dimension, practically impossible for raw logits "
        "(own reasoning). A LogSoftmax head is not flagged because log-softmax is idempotent."
    ),
)
