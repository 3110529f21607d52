"""NBD414 loss-mismatch: BCELoss (which wants probabilities) fed raw logits."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import output, output_call, user_loss


def check(trace):
    if user_loss(trace) != "BCELoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite:
        return
    if out.min >= 0 and out.max <= 1:
        return
    head = output_call(trace)
    message = (f"BCELoss expects probabilities in [0, 1], but the {shape(out)} output ranges over "
               f"[{fmt(out.min)}, {fmt(out.max)}]: these are logits, and BCELoss raises or takes the log "
               f"of negative numbers.")
    fix = ("Use `nn.BCEWithLogitsLoss()` on the logits (it applies the sigmoid in a numerically stable "
           "way); apply `torch.sigmoid` only for predictions.")
    yield RULE.finding("loss", message, fix, call=head.index if head is not None else None,
                       evidence={"min": out.min, "max": out.max})


def _bad_logits_into_bce():
    torch.manual_seed(10)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(20, 4), target=torch.randint(0, 2, (20, 1)).float(),
                loss=nn.BCELoss())


def _good_sigmoid_into_bce():
    torch.manual_seed(10)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(20, 4), target=torch.randint(0, 2, (20, 1)).float(),
                loss=nn.BCELoss())


RULE = Rule(
    code="NBD414",
    cause="loss-mismatch",
    severity="error",
    title="BCELoss on logits",
    explanation=(
        "`nn.BCELoss` computes -[y log p + (1-y) log(1-p)] and needs p in [0, 1]: PyTorch raises 'all "
        "elements of input should be between 0 and 1' for anything else. Logits belong to "
        "`nn.BCEWithLogitsLoss`, which folds the sigmoid into the loss and stays stable for large "
        "logits. It comes from removing the Sigmoid head without switching the loss."
    ),
    fix="Use BCEWithLogitsLoss on logits (or end the model with a Sigmoid before BCELoss).",
    check=check,
    bad=[_bad_logits_into_bce],
    good=[_good_sigmoid_into_bce],
    needs="loss",
    thresholds="Any output value outside [0, 1] with BCELoss: a hard domain limit, no tuned threshold.",
)
