"""NBD417 loss-mismatch: multi-hot targets (several 1s per row, or none) given to CrossEntropyLoss, which
takes one class per sample or a probability distribution per row: a multi-label task wants
BCEWithLogitsLoss."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import is_integral, output, target, user_loss

NOT_ONE = 0.05   # mean |row sum - 1| beyond float round-off and label smoothing's rows (which sum to 1)


def check(trace):
    if user_loss(trace) != "CrossEntropyLoss":
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not tgt.has_values or not tgt.is_float or len(tgt.shape) != 2:
        return
    if tuple(tgt.shape) != tuple(out.shape) or out.shape[1] < 2 or not is_integral(tgt):
        return
    if tgt.min < 0 or tgt.max > 1:
        return
    err = tgt.extra.get("sum1_err_d1")
    if err is None or err <= NOT_ONE:
        return  # one-hot rows: valid class probabilities
    per_row = tgt.mean * tgt.shape[1]
    message = (f"The target {shape(tgt)} is 0/1 with {fmt(per_row)} ones per row on average (rows do not sum "
               f"to 1: off by {fmt(err)}), but CrossEntropyLoss takes one class per sample, or one probability "
               f"distribution per row: with several labels per sample it pushes them to share one unit of "
               f"probability, and a row without labels contributes nothing.")
    fix = ("For multi-label targets use `nn.BCEWithLogitsLoss()` on the logits (one independent yes/no per "
           "class, `torch.sigmoid(logits) > 0.5` to predict); if each sample has exactly one class, pass "
           "`y.argmax(1)`.")
    yield RULE.finding("loss", message, fix, evidence={"ones_per_row": per_row, "sum1_err": err})


def _multi_hot(n=16, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, c, generator=g) > 0.6).float()


def _bad_multi_hot_cross_entropy():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 5))
    return dict(model=m, inputs=torch.randn(16, 8), target=_multi_hot(), loss=nn.CrossEntropyLoss())


def _good_one_hot_rows():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 5))
    y = nn.functional.one_hot(torch.arange(16) % 5, 5).float()
    return dict(model=m, inputs=torch.randn(16, 8), target=y, loss=nn.CrossEntropyLoss())


def _good_multi_hot_with_bce():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 5))
    return dict(model=m, inputs=torch.randn(16, 8), target=_multi_hot(), loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD417",
    cause="loss-mismatch",
    severity="error",
    title="Multi-hot targets under CrossEntropyLoss",
    explanation=(
        "CrossEntropyLoss accepts class indices, or float targets that are a probability distribution per "
        "row (soft labels, one-hot rows). Multi-hot rows (a sample tagged with several classes) are not "
        "distributions: the loss rewards spreading one unit of probability over the tagged classes, so "
        "none of them can be predicted confidently, and an untagged row adds nothing. Multi-label "
        "problems need one independent sigmoid per class: BCEWithLogitsLoss."
    ),
    fix="Use BCEWithLogitsLoss for multi-label targets (or argmax them if each sample has one class).",
    check=check,
    bad=[_bad_multi_hot_cross_entropy],
    good=[_good_one_hot_rows, _good_multi_hot_with_bce],
    needs="loss",
    thresholds=(f"A float target of the output's (N, C ≥ 2) shape holding only 0 and 1 whose rows miss a sum "
                f"of 1 by more than {NOT_ONE:g} on average (own reasoning: one-hot and smoothed rows sum "
                "to 1)."),
)
