"""NBD434 wrong-target: CrossEntropyLoss given a float target of the output's shape, which it reads as
class probabilities, but the target has negative values: raw scores (a teacher's logits in
distillation) passed where their softmax belongs."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import output, target, user_loss


def check(trace):
    if user_loss(trace) != "CrossEntropyLoss":
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not tgt.has_values or not tgt.finite or not tgt.is_float:
        return
    if tuple(tgt.shape) != tuple(out.shape) or len(out.shape) < 2 or tgt.min >= 0:
        return
    sums = tgt.extra.get("sum1_err_d1")
    tail = f", and its rows are off a sum of 1 by {fmt(sums)} on average" if sums is not None else ""
    message = (f"CrossEntropyLoss reads a float target of the output's shape {shape(out)} as class probabilities, "
               f"but this target has negative values (min {fmt(tgt.min)}, max {fmt(tgt.max)}){tail}: raw "
               f"scores, such as a teacher's logits, not a distribution. The loss is then unbounded below and "
               f"rewards pushing the negative classes' logits up.")
    fix = ("Turn the scores into probabilities first: `target = (teacher_logits / T).softmax(dim=1)` (T the "
           "distillation temperature), or pass class indices `teacher_logits.argmax(1)`.")
    yield RULE.finding("target", message, fix, evidence={"min": tgt.min, "max": tgt.max, "sum1_err_d1": sums})


def _bad_teacher_logits_as_soft_targets():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 5))
    return dict(model=m, inputs=torch.randn(16, 8), target=torch.randn(16, 5) * 3, loss=nn.CrossEntropyLoss())


def _good_teacher_probabilities_as_soft_targets():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 5))
    return dict(model=m, inputs=torch.randn(16, 8), target=(torch.randn(16, 5) * 3 / 2).softmax(1),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD434",
    cause="wrong-target",
    severity="error",
    title="CrossEntropyLoss soft targets with negative values (raw scores, not probabilities)",
    explanation=(
        "Given a float target of the logits' shape, CrossEntropyLoss computes -sum(target * log_softmax), "
        "treating each target row as a probability distribution. Raw scores (a teacher's logits) have "
        "negative entries, so the loss has no lower bound and the model is pushed to raise the logits of "
        "exactly the classes the teacher rated low."
    ),
    fix="Pass softmax(teacher_logits / T) as the target (or argmax class indices).",
    check=check,
    bad=[_bad_teacher_logits_as_soft_targets],
    good=[_good_teacher_probabilities_as_soft_targets],
    needs="loss",
    thresholds="No number: a CrossEntropyLoss target of the output's shape, float, finite, with a minimum below 0.",
)
