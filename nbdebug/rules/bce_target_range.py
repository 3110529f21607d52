"""NBD423 wrong-target: targets for binary cross-entropy outside [0, 1] (class indices, -1/+1 labels)
or of an integer dtype."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import class_index_expr, fmt, shape
from .loss_signals import BCE_LOSSES, head_fix, is_integral, output, target, user_loss


def check(trace):
    kind = user_loss(trace)
    if kind not in BCE_LOSSES:
        return
    out, tgt = output(trace), target(trace)
    if tgt is None or not tgt.has_values or not tgt.finite:
        return
    if out is not None and len(out.shape) == 2 and out.shape[1] >= 2 and tuple(tgt.shape) != tuple(out.shape):
        return  # class indices against C columns: NBD413 (binary loss on a multi-class output)
    evidence = {"dtype": tgt.dtype, "min": tgt.min, "max": tgt.max}
    if tgt.min >= 0 and tgt.max <= 1:
        if not tgt.is_float:
            message = (f"The target {shape(tgt)} is {tgt.dtype}, but {kind} computes in floating point and "
                       f"needs a float target of 0/1 values.")
            yield RULE.finding("target", message, "Convert the target: `y.float()`.", evidence=evidence)
        return
    lo, hi = tgt.min, tgt.max
    if is_integral(tgt) and lo == -1 and hi == 1:
        message = (f"The target {shape(tgt)} holds -1/+1 labels, but {kind} needs 0/1 targets: a -1 target "
                   f"rewards pushing the prediction past 0 and the loss has no minimum.")
        fix = "Map the labels to 0/1: `(y + 1) / 2` (or `(y > 0).float()`)."
    elif is_integral(tgt) and lo >= 0 and hi >= 2:
        k = int(hi) + 1
        message = (f"The target {shape(tgt)} holds class indices {int(lo)}..{int(hi)}, but {kind} is a binary "
                   f"loss that needs 0/1 targets (probabilities in [0, 1]): this is a {k}-class problem.")
        fix = f"Use `nn.CrossEntropyLoss()` with labels {class_index_expr(tgt)} and {head_fix(trace, k)}."
    else:
        message = (f"The target {shape(tgt)} ranges over [{fmt(lo)}, {fmt(hi)}], but {kind} needs targets in "
                   f"[0, 1]: values outside make the loss unbounded below.")
        fix = ("If this is a regression target use `nn.MSELoss()` (or L1/Huber); if it is a probability, "
               "rescale it into [0, 1].")
    yield RULE.finding("target", message, fix, evidence=evidence)


def _bad_class_indices():
    torch.manual_seed(18)
    m = nn.Sequential(nn.Linear(7, 14), nn.ReLU(), nn.Linear(14, 1))
    return dict(model=m, inputs=torch.randn(40, 7), target=torch.randint(0, 5, (40, 1)).float(),
                loss=nn.BCEWithLogitsLoss())


def _bad_plus_minus_one():
    torch.manual_seed(19)
    m = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    y = (torch.randint(0, 2, (20, 1)) * 2 - 1).float()
    return dict(model=m, inputs=torch.randn(20, 3), target=y, loss=nn.BCELoss())


def _bad_long_target():
    torch.manual_seed(20)
    m = nn.Linear(3, 1)
    return dict(model=m, inputs=torch.randn(10, 3), target=torch.randint(0, 2, (10, 1)),
                loss=nn.BCEWithLogitsLoss())


def _good_binary_float():
    torch.manual_seed(18)
    m = nn.Sequential(nn.Linear(7, 14), nn.ReLU(), nn.Linear(14, 1))
    return dict(model=m, inputs=torch.randn(40, 7), target=torch.randint(0, 2, (40, 1)).float(),
                loss=nn.BCEWithLogitsLoss())


def _good_soft_targets():
    torch.manual_seed(18)
    m = nn.Linear(7, 3)
    return dict(model=m, inputs=torch.randn(40, 7), target=torch.rand(40, 3), loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD423",
    cause="wrong-target",
    severity="error",
    title="Binary cross-entropy target outside [0, 1]",
    explanation=(
        "BCELoss and BCEWithLogitsLoss compute -[y log p + (1-y) log(1-p)], which has its minimum at p = y "
        "only for y in [0, 1]. Class indices 0..K-1 mean the problem has K classes and wants "
        "CrossEntropyLoss; -1/+1 labels (hinge/SVM convention) make the loss unbounded; an integer "
        "target raises a dtype error. The loss may still return a number, so training runs and learns "
        "nothing useful."
    ),
    fix="Give BCE float 0/1 targets; use CrossEntropyLoss for class indices of more than two classes.",
    check=check,
    bad=[_bad_class_indices, _bad_plus_minus_one, _bad_long_target],
    good=[_good_binary_float, _good_soft_targets],
    needs="loss",
    thresholds="Any target value below 0 or above 1, or a non-float target: the loss's domain, no tuned "
               "threshold.",
)
