"""NBD424 wrong-target: a target whose shape does not fit the loss (silent broadcasting in MSE, an
extra dimension on class labels, one-hot labels as integers)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import shape
from .loss_signals import (BCE_LOSSES, CLASS_LOSSES, REGRESSION_LOSSES, guessed_severity, is_integral,
                           output, output_call, target, user_loss)
from . import dense_output_size, regression_loss_on_labels


def _reshape_fix(out_shape: tuple, tgt_shape: tuple) -> str:
    if out_shape == tgt_shape + (1,):
        return "`y.unsqueeze(-1)` (or squeeze the output: `out.squeeze(-1)`)"
    if tgt_shape == out_shape + (1,):
        return "`y.squeeze(-1)`"
    return f"`y.view({', '.join(str(d) for d in out_shape)})`"


def _elementwise(trace, kind, out, tgt):
    """MSE/L1/BCE compare element by element: the shapes must be equal."""
    if tuple(tgt.shape) == tuple(out.shape):
        return None
    if dense_output_size.mismatch(trace) is not None:
        return None  # a dense output at the wrong resolution: the model's shape (NBD115), not the target's
    if kind in REGRESSION_LOSSES and regression_loss_on_labels.applies(trace):
        return None  # class indices against C logits: NBD415
    if kind in BCE_LOSSES and len(out.shape) == 2 and out.shape[1] >= 2:
        return None  # class indices against C logits: NBD413
    if tgt.numel != out.numel and kind in BCE_LOSSES:
        return None  # not a layout slip; the shape-mismatch rules own a plain size error
    try:
        grid = tuple(torch.broadcast_shapes(tuple(out.shape), tuple(tgt.shape)))
    except RuntimeError:
        grid = None
    if grid is not None and grid != tuple(out.shape):
        effect = (f"PyTorch broadcasts them to {shape(grid)} and compares every prediction with every target, so "
                  f"the loss is wrong and the model learns the batch mean")
    elif grid is None:
        effect = "the shapes cannot be broadcast, so the loss raises"
    else:
        effect = "the target is broadcast along the output's dimensions, so one target is reused for many outputs"
    message = (f"{kind} compares elementwise, but the output is {shape(out)} and the target {shape(tgt)}: "
               f"{effect}.")
    fix = f"Give the target the output's shape: {_reshape_fix(tuple(out.shape), tuple(tgt.shape))}."
    return message, fix


def _class_labels(trace, kind, out, tgt):
    """CrossEntropy/NLL want (N,) class indices (or float probabilities of the output's shape)."""
    if len(out.shape) < 2:
        return None
    index_shape = tuple(out.shape[:1]) + tuple(out.shape[2:])
    if tuple(tgt.shape) == index_shape + (1,):
        cast = "" if tgt.dtype == "int64" else ".long()"
        message = (f"The target {shape(tgt)} has an extra trailing dimension: {kind} wants one class index "
                   f"per sample, shape {shape(index_shape)} ('0D or 1D target tensor expected').")
        return message, f"Drop the extra dimension: `y.squeeze(-1){cast}` (or `y.view(-1){cast}`)."
    if tuple(tgt.shape) == tuple(out.shape) and not tgt.is_float and is_integral(tgt) and tgt.max <= 1:
        message = (f"The target {shape(tgt)} is one-hot encoded as {tgt.dtype}: {kind} wants class indices "
                   f"{shape(index_shape)}, or float class probabilities.")
        return message, "Pass class indices: `y.argmax(1)` (or `y.float()` to use them as probabilities)."
    if tuple(tgt.shape) == tuple(out.shape) and kind == "NLLLoss":
        # unlike CrossEntropyLoss, NLLLoss takes no class probabilities: one-hot or soft labels raise
        encoded = "one-hot encoded" if is_integral(tgt) and tgt.max <= 1 else "a class distribution"
        message = (f"The target {shape(tgt)} is {encoded}, but NLLLoss only takes class indices "
                   f"{shape(index_shape)} ('0D or 1D target tensor expected').")
        return message, ("Pass class indices: `y.argmax(1)`; for soft labels use `nn.CrossEntropyLoss` on the "
                         "logits (before log_softmax), which takes class probabilities.")
    return None


def check(trace):
    kind = user_loss(trace)
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not out.shape or not tgt.has_values:
        return
    if kind in REGRESSION_LOSSES or kind in BCE_LOSSES:
        found = _elementwise(trace, kind, out, tgt)
    elif kind in CLASS_LOSSES:
        found = _class_labels(trace, kind, out, tgt)
    else:
        return
    if found:
        head = output_call(trace)
        yield RULE.finding("target", found[0], found[1], call=head.index if head is not None else None,
                           severity=guessed_severity(trace),
                           evidence={"output_shape": list(out.shape), "target_shape": list(tgt.shape)})


def _bad_mse_broadcast():
    torch.manual_seed(21)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(20, 4), target=torch.randn(20), loss=nn.MSELoss())


def _bad_label_column():
    torch.manual_seed(22)
    m = nn.Sequential(nn.Linear(4, 3))
    return dict(model=m, inputs=torch.randn(10, 4), target=torch.randint(0, 3, (10, 1)),
                loss=nn.CrossEntropyLoss())


def _bad_bce_flat_target():
    torch.manual_seed(23)
    m = nn.Sequential(nn.Linear(4, 1))
    return dict(model=m, inputs=torch.randn(10, 4), target=torch.randint(0, 2, (10,)).float(),
                loss=nn.BCEWithLogitsLoss())


def _bad_one_hot_float_for_nll():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(8, 4), nn.LogSoftmax(dim=1))
    y = nn.functional.one_hot(torch.randint(0, 4, (16,)), 4).float()
    return dict(model=m, inputs=torch.randn(16, 8), target=y, loss=nn.NLLLoss())


def _good_soft_labels_for_cross_entropy():
    torch.manual_seed(24)
    m = nn.Sequential(nn.Linear(8, 4))
    return dict(model=m, inputs=torch.randn(16, 8), target=torch.softmax(torch.randn(16, 4), 1),
                loss=nn.CrossEntropyLoss())


def _good_matching_shapes():
    torch.manual_seed(21)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(20, 4), target=torch.randn(20, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD424",
    cause="wrong-target",
    severity="error",
    title="Target shape does not fit the loss",
    explanation=(
        "Elementwise losses (MSE, L1, BCE) need the target in the output's exact shape. A (N,) target "
        "against a (N, 1) output is the classic silent bug: MSELoss broadcasts both to (N, N), only warns, "
        "and the model learns to predict the batch mean. Class-index losses want (N,) labels, not (N, 1), "
        "and not one-hot integers (NLLLoss takes no float class probabilities either). These come from "
        "a DataLoader that returns labels as a column, or from "
        "squeezing the output but not the target (or the reverse)."
    ),
    fix="Reshape the target to what the loss expects (y.view_as(output), y.squeeze(-1), y.argmax(1)).",
    check=check,
    bad=[_bad_mse_broadcast, _bad_label_column, _bad_bce_flat_target, _bad_one_hot_float_for_nll],
    good=[_good_matching_shapes, _good_soft_labels_for_cross_entropy],
    needs="loss",
    thresholds="Shape equality (PyTorch's own broadcasting warning condition for elementwise losses) and "
               "the class-index shape rule of cross_entropy: structural, no tuned threshold.",
)
