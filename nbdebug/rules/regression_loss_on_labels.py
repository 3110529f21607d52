"""NBD415 loss-mismatch: a regression loss (MSE, L1, Huber) between class indices and C logits."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import class_index_expr, shape
from .loss_signals import (REGRESSION_LOSSES, guessed_severity, is_integral, loss_name, output, output_call,
                           target, user_loss)


def applies(trace) -> bool:
    """Output (N, C >= 2) against a (N,) / (N, 1) target of class indices 0..C-1."""
    if user_loss(trace) not in REGRESSION_LOSSES:
        return False
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or len(out.shape) != 2 or out.shape[1] < 2 or not tgt.has_values:
        return False
    if tuple(tgt.shape) not in ((out.shape[0],), (out.shape[0], 1)):
        return False
    return is_integral(tgt) and tgt.min >= 0 and tgt.max <= out.shape[1] - 1 and tgt.max >= 1


def check(trace):
    if not applies(trace):
        return
    kind = user_loss(trace)
    out, tgt = output(trace), target(trace)
    c = int(out.shape[1])
    head = output_call(trace)
    message = (f"{loss_name(trace)} compares the {c} output columns {shape(out)} with class indices {shape(tgt)} "
               f"(values {int(tgt.min)}..{int(tgt.max)}): the index is broadcast against every column, so "
               f"the model is trained to output the label's number, not to pick a class.")
    fix = (f"Use `nn.CrossEntropyLoss()` on the (N, C) logits with {class_index_expr(tgt)}"
           f"; if you do want a regression loss, compare with one-hot targets `F.one_hot(y.long(), {c}).float()`.")
    yield RULE.finding("loss", message, fix, call=head.index if head is not None else None,
                       severity=guessed_severity(trace),
                       evidence={"classes": c, "target_shape": list(tgt.shape)})


def _bad_mse_on_labels():
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 5))
    return dict(model=m, inputs=torch.randn(24, 6), target=torch.randint(0, 5, (24,)).float(),
                loss=nn.MSELoss())


def _bad_l1_on_column_labels():
    torch.manual_seed(12)
    m = nn.Sequential(nn.Linear(3, 3))
    return dict(model=m, inputs=torch.randn(9, 3), target=torch.randint(0, 3, (9, 1)).float(),
                loss=nn.L1Loss())


def _good_mse_regression():
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 5))
    return dict(model=m, inputs=torch.randn(24, 6), target=torch.randn(24, 5), loss=nn.MSELoss())


RULE = Rule(
    code="NBD415",
    cause="loss-mismatch",
    severity="error",
    title="Regression loss between class indices and logits",
    explanation=(
        "A classifier with C outputs trained with MSE/L1 against a column of class indices is asked to "
        "output the label's number in every column (the target broadcasts), or fails on the shape "
        "mismatch. Class labels are categories, not quantities: class 3 is not 'three times' class 1. "
        "It comes from reusing a regression training loop for classification."
    ),
    fix="Use CrossEntropyLoss with class indices (or a regression loss with one-hot targets).",
    check=check,
    bad=[_bad_mse_on_labels, _bad_l1_on_column_labels],
    good=[_good_mse_regression],
    needs="loss",
    thresholds="Output (N, C >= 2), target (N,) or (N, 1) of whole numbers within 0..C-1 reaching at "
               "least 1: structural, no tuned threshold.",
)
