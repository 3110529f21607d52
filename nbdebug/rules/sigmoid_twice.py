"""NBD404 double-softmax (binary form, inside the model): a sigmoid applied to the output of a Sigmoid
layer (`torch.sigmoid(self.net(x))` where `self.net` already ends in `nn.Sigmoid`), squeezing every
prediction into (0.5, 0.731)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, leaf_calls, model_output, shape

LOW, HIGH = 0.5, 1 / (1 + math.exp(-1))   # sigmoid of [0, 1]
MATCH = 1e-4


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def check(trace):
    out = model_output(trace)
    if out is None or not out.is_float or not out.has_values or not out.finite or out.numel < 2:
        return
    if not (LOW - MATCH <= out.min and out.max <= HIGH + MATCH):
        return
    leaves = leaf_calls(trace)
    last = leaves[-1] if leaves else None
    if last is None or last.type != "Sigmoid" or not last.outputs or last.outputs[0].ref == out.ref:
        return
    inner = last.outputs[0]
    if inner.numel != out.numel or not inner.has_values:
        return
    # the output is exactly the sigmoid of that layer's output: sigmoid is monotone, so its ends map
    if abs(_sigmoid(inner.min) - out.min) > MATCH or abs(_sigmoid(inner.max) - out.max) > MATCH:
        return
    message = (f"`{last.name}` (Sigmoid) already outputs probabilities in [{fmt(inner.min)}, "
               f"{fmt(inner.max)}], and the forward applies a sigmoid to them again: the model's output "
               f"{shape(out)} lies in "
               f"[{fmt(out.min)}, {fmt(out.max)}], inside (0.5, 0.731), so every prediction reads as "
               f"'positive' and the loss can never approach 0.")
    fix = (f"Apply the sigmoid once: drop `torch.sigmoid(...)` in forward (or the final `nn.Sigmoid`, "
           f"`{last.name}`); better, return logits and use `nn.BCEWithLogitsLoss`.")
    yield RULE.finding(last.name, message, fix, call=last.index,
                       evidence={"inner_min": inner.min, "inner_max": inner.max, "min": out.min, "max": out.max})


class _TwiceSquashed(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())

    def forward(self, x):
        return torch.sigmoid(self.net(x))


def _bad_sigmoid_twice():
    torch.manual_seed(0)
    return dict(model=_TwiceSquashed(), inputs=torch.randn(20, 6),
                target=torch.randint(0, 2, (20, 1)).float(), loss=nn.BCELoss())


class _OnceSquashed(_TwiceSquashed):
    def forward(self, x):
        return self.net(x)


def _good_sigmoid_once():
    torch.manual_seed(0)
    return dict(model=_OnceSquashed(), inputs=torch.randn(20, 6),
                target=torch.randint(0, 2, (20, 1)).float(), loss=nn.BCELoss())


class _Gated(nn.Module):
    # a sigmoid gate times values: its output is not the sigmoid of the gate
    def __init__(self):
        super().__init__()
        self.gate = nn.Sequential(nn.Linear(6, 4), nn.Sigmoid())

    def forward(self, x):
        return self.gate(x) * 0.2 + 0.55


def _good_affine_of_a_sigmoid():
    torch.manual_seed(0)
    return dict(model=_Gated(), inputs=torch.randn(20, 6))


RULE = Rule(
    code="NBD404",
    cause="double-softmax",
    severity="warning",
    title="Sigmoid applied twice",
    explanation=(
        "A sigmoid maps any real number into (0, 1); applied to values that are already in (0, 1) it "
        "returns values in (0.5, 0.731). A model whose last layer is `nn.Sigmoid` and whose forward wraps "
        "the result in `torch.sigmoid` again predicts 'positive' for every sample, and BCELoss on those "
        "predictions cannot go below the loss of always saying 0.6. The same happens with a sigmoid head "
        "under BCEWithLogitsLoss (NBD402)."
    ),
    fix="Apply the sigmoid once, or return logits and use BCEWithLogitsLoss.",
    check=check,
    bad=[_bad_sigmoid_twice],
    good=[_good_sigmoid_once, _good_affine_of_a_sigmoid],
    needs="forward",
    thresholds=(f"The output lies in [0.5, 0.731] (± {MATCH:g}), the last layer that ran is an nn.Sigmoid "
                "whose output is not the model's, and the model's output range is exactly the sigmoid of "
                "that layer's range (sigmoid is monotone): structural, own reasoning."),
)
