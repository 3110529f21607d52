"""NBD422 wrong-target: class labels outside 0..C-1 (labels >= C, 1-based labels, negative labels)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import class_dim_last
from .base import Rule
from .helpers import shape
from .loss_signals import (CLASS_LOSSES, DEFAULT_IGNORE_INDEX, head_fix, label_counts, only_ignored_outside, output,
                           target, user_loss)

def check(trace):
    kind = user_loss(trace)
    if kind not in CLASS_LOSSES:
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or len(out.shape) < 2 or out.shape[1] < 2 or not tgt.has_values:
        return
    counts = label_counts(tgt)
    if counts is None or counts[-1] == 0 or class_dim_last.applies(trace):
        return  # in range, or in range of the last dimension: logits laid out (N, T, C), NBD113
    c = int(out.shape[1])
    lo, hi = int(tgt.min), int(tgt.max)
    if only_ignored_outside(trace, tgt, c):
        return  # padding or void pixels marked with the loss's ignore_index: the loss skips them
    outside = counts[-1]
    if lo == 1 and hi == c:
        message = (f"The labels in the target {shape(tgt)} run 1..{c} but the output has {c} classes, indexed "
                   f"0..{c - 1}: the labels are 1-based, so label {c} is out of bounds and every other label "
                   f"points at the wrong class.")
        fix = "Shift the labels to start at 0: `y - 1` (or fix the label encoding in the dataset)."
    elif hi >= c:
        message = (f"{outside} of {tgt.numel} labels in the target {shape(tgt)} are outside 0..{c - 1} (they "
                   f"reach {hi}), but the output {shape(out)} has only {c} classes: {kind} raises, or on "
                   f"CUDA fails with a device-side assert.")
        fix = (f"If there are really {hi + 1} classes, {head_fix(trace, hi + 1)}; otherwise remap the labels "
               f"to 0..{c - 1} (e.g. `torch.unique(y, return_inverse=True)[1]`).")
    else:
        message = (f"{outside} of {tgt.numel} labels in the target {shape(tgt)} are negative (down to {lo}): "
                   f"{kind} accepts only 0..{c - 1}, plus the ignore_index {DEFAULT_IGNORE_INDEX} for padding.")
        fix = (f"Map the labels into 0..{c - 1}; mark entries to skip with {DEFAULT_IGNORE_INDEX} (or pass "
               f"`ignore_index={lo}` to the loss if {lo} means 'no label').")
    yield RULE.finding("target", message, fix,
                       evidence={"classes": c, "min": lo, "max": hi, "outside": outside})


def _bad_one_based():
    torch.manual_seed(15)
    m = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 3))
    return dict(model=m, inputs=torch.randn(18, 5), target=torch.randint(1, 4, (18,)),
                loss=nn.CrossEntropyLoss())


def _bad_too_few_outputs():
    torch.manual_seed(16)
    m = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 10))
    return dict(model=m, inputs=torch.randn(40, 5), target=torch.randint(0, 12, (40,)), loss="cross_entropy")


def _bad_negative_labels():
    torch.manual_seed(17)
    m = nn.Sequential(nn.Linear(5, 2), nn.LogSoftmax(dim=1))
    y = torch.randint(0, 2, (16,)) * 2 - 1   # -1 / +1 labels
    return dict(model=m, inputs=torch.randn(16, 5), target=y, loss=nn.NLLLoss())


def _good_in_range():
    torch.manual_seed(15)
    m = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 3))
    return dict(model=m, inputs=torch.randn(18, 5), target=torch.randint(0, 3, (18,)), loss=nn.CrossEntropyLoss())


def _good_ignore_index_padding():
    torch.manual_seed(15)
    m = nn.Linear(6, 4)
    x = torch.randn(3, 7, 6)
    y = torch.randint(0, 4, (3, 7))
    y[:, 5:] = DEFAULT_IGNORE_INDEX
    return dict(model=_TokenClassifier(m), inputs=x, target=y, loss=nn.CrossEntropyLoss())


def _good_void_label_255():
    # semantic segmentation (Pascal VOC, Cityscapes) marks unlabelled pixels 255 and tells the loss so
    torch.manual_seed(16)
    m = nn.Conv2d(3, 5, 3, padding=1)
    y = torch.randint(0, 5, (2, 8, 8))
    y[:, :2] = 255
    return dict(model=m, inputs=torch.randn(2, 3, 8, 8), target=y, loss=nn.CrossEntropyLoss(ignore_index=255))


def _good_padding_minus_one_in_own_loss():
    # padding -1, skipped by the F.cross_entropy call inside the user's own loss function
    torch.manual_seed(15)
    y = torch.randint(0, 4, (3, 7))
    y[:, 5:] = -1
    return dict(model=_TokenClassifier(nn.Linear(6, 4)), inputs=torch.randn(3, 7, 6), target=y,
                loss=lambda out, t: F.cross_entropy(out, t, ignore_index=-1))


class _TokenClassifier(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x).transpose(1, 2)   # (N, C, T) as cross_entropy wants


RULE = Rule(
    code="NBD422",
    cause="wrong-target",
    severity="error",
    title="Class labels outside 0..C-1",
    explanation=(
        "CrossEntropyLoss and NLLLoss index the output's class dimension with the label, so labels must "
        "lie in 0..C-1. A label >= C raises 'Target N is out of bounds' on CPU and an opaque device-side "
        "assert on CUDA. Usual causes: 1-based labels (1..C), a head sized for fewer classes than the "
        "data has, or -1/+1 labels carried over from an SVM-style setup."
    ),
    fix="Remap the labels into 0..C-1 (y - 1 for 1-based labels) or size the head for all classes.",
    check=check,
    bad=[_bad_one_based, _bad_too_few_outputs, _bad_negative_labels],
    good=[_good_in_range, _good_ignore_index_padding, _good_void_label_255,
          _good_padding_minus_one_in_own_loss],
    needs="loss",
    thresholds="Any integer label outside 0..C-1 (C = output dim 1), except the loss's ignore_index (-100 "
               "unless the loss, or the one torch loss function a custom loss calls, says another): "
               "a hard indexing limit, no tuned threshold.",
)
