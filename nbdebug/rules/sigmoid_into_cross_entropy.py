"""NBD403 double-softmax (squashed-logits form): a Sigmoid head feeding CrossEntropyLoss, which
applies its own softmax to scores already squeezed into [0, 1]."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, output_head, shape
from .loss_signals import output, user_loss


def check(trace):
    if user_loss(trace) != "CrossEntropyLoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite or len(out.shape) < 2 or out.shape[1] < 2:
        return
    head = output_head(trace, out, ("Sigmoid",))
    if head is None or out.min < 0 or out.max > 1:
        return
    c = int(out.shape[1])
    floor = math.log(1 + (c - 1) / math.e)  # every score in [0, 1]: the true class's softmax is at most e/(e+c-1)
    message = (f"The model ends in `{head.name}` (Sigmoid), so each of the {c} class scores of its {shape(out)} "
               f"output is squeezed into [{fmt(out.min)}, {fmt(out.max)}] before CrossEntropyLoss applies its "
               f"own softmax: the scores can differ by at most 1, the predicted distribution stays close to "
               f"uniform, the loss can never go below {fmt(floor)} and the gradients are small.")
    fix = (f"Remove the final `nn.Sigmoid` (`{head.name}`) and return the raw logits to `nn.CrossEntropyLoss`. "
           f"If a sample can belong to several classes (multi-label), keep one score per class and use "
           f"`nn.BCEWithLogitsLoss` on the logits instead.")
    yield RULE.finding(head.name, message, fix, call=head.index,
                       evidence={"classes": c, "loss_floor": floor, "min": out.min, "max": out.max})


def _bad_sigmoid_head():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.randint(0, 4, (16,)),
                loss=nn.CrossEntropyLoss())


class _GatedClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(2, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.head = nn.Linear(8, 6)
        self.squash = nn.Sigmoid()

    def forward(self, x):
        return self.squash(self.head(self.body(x)))


def _bad_sigmoid_in_custom_head():
    torch.manual_seed(6)
    return dict(model=_GatedClassifier(), inputs=torch.randn(12, 2, 20), target=torch.randint(0, 6, (12,)),
                loss="cross_entropy")


def _good_logits():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.randint(0, 4, (16,)),
                loss=nn.CrossEntropyLoss())


def _good_multilabel_sigmoid_with_bce():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.randint(0, 2, (16, 4)).float(),
                loss=nn.BCELoss())


RULE = Rule(
    code="NBD403",
    cause="double-softmax",
    severity="warning",
    title="Sigmoid output fed to CrossEntropyLoss",
    explanation=(
        "`nn.CrossEntropyLoss` expects raw logits and applies log-softmax itself. A final Sigmoid squeezes "
        "every class score into [0, 1] first, so no score can exceed another by more than 1: the softmax "
        "of such scores stays near uniform, the loss has a floor of log(1 + (C−1)/e), and training crawls. "
        "It usually comes from a binary or multi-label template reused for a single-label, multi-class "
        "task."
    ),
    fix="Remove the final Sigmoid for CrossEntropyLoss, or use BCEWithLogitsLoss for multi-label targets.",
    check=check,
    bad=[_bad_sigmoid_head, _bad_sigmoid_in_custom_head],
    good=[_good_logits, _good_multilabel_sigmoid_with_bce],
    needs="loss",
    thresholds=(
        "The last layer that ran is an `nn.Sigmoid` whose values are the model's (N, C ≥ 2, ...) output and "
        "lie in [0, 1], with CrossEntropyLoss: structural, no tuned threshold (own reasoning)."
    ),
)
