"""NBD425 wrong-target (fallback): the loss raised because of the target (not a tensor, or a size the
loss cannot match to the output), and no more specific target rule explained it."""
import re

import torch
import torch.nn as nn

from . import dense_output_size
from .base import Rule
from .helpers import shape
from .loss_signals import CLASS_LOSSES, inferred, user_loss

TARGET = re.compile(r"target|label", re.I)
NOT_TENSOR = re.compile(r"must be Tensor, not (\w+)|'(list|tuple|int|float|ndarray|str)' object has no attribute")
OUT_OF_BOUNDS = re.compile(r"Target (-?\d+) is out of bounds")
SIZE = re.compile(r"size|shape|dimension|same number|match|\b[0-9]D\b|multi-target", re.I)


def check(trace):
    e = trace.error
    if e is None or e.stage != "loss" or not TARGET.search(e.message + " ".join(f.code for f in e.frames)):
        return
    out = trace.outputs[0] if trace.outputs else None
    tgt = trace.target[0] if trace.target else None
    m = NOT_TENSOR.search(e.message)
    if m:
        kind = m.group(1) or m.group(2)
        yield RULE.finding("target", f"The loss needs the target as a tensor, but it is a {kind}.",
                           "Convert it once, before training: `y = torch.as_tensor(y)` (class indices as "
                           "`torch.long`, regression targets as `torch.float32`), on the output's device.",
                           evidence={"message": e.message[:200]})
        return
    m = OUT_OF_BOUNDS.search(e.message)
    if m and not inferred(trace):  # with a loss nbdebug guessed, the guess may be what is wrong (NBD412)
        label = int(m.group(1))
        what = ("negative, and not the loss's ignore_index" if label < 0 else
                "at least the number of classes the logits it was paired with have")
        yield RULE.finding("target", f"The loss raised '{m.group(0)}': a class label, {label}, is {what}. "
                           f"With C logits per sample the labels must be 0..C-1.",
                           "Count the classes, the extra ones included ('no object', 'background', padding): "
                           "give the head that many outputs, or map those labels into 0..C-1; labels to skip "
                           "go to the loss's `ignore_index` (-100 by default).",
                           evidence={"message": e.message[:200], "label": label})
        return
    if SIZE.search(e.message) and out is not None and tgt is not None and dense_output_size.mismatch(trace) is None:
        text = e.message.splitlines()[0][:160].rstrip(". ")
        kind = user_loss(trace)
        if kind in CLASS_LOSSES and len(out.shape) >= 2 and len(tgt.shape) != len(out.shape) - 1:
            indices = shape(tuple(out.shape[:1]) + tuple(out.shape[2:]))
            fix = (f"{kind} wants one class index per sample: a target of shape {indices} as `torch.long` "
                   f"(`y.argmax(1)` for one-hot rows)" + (", or float class probabilities of the output's shape "
                   "(CrossEntropyLoss only)." if kind == "CrossEntropyLoss" else "."))
        elif out.numel == tgt.numel:
            fix = f"Make the shapes agree: `y.view_as(output)` (the target {shape(tgt)} holds as many values as the output {shape(out)})."
        elif len(tgt.shape) == len(out.shape) - 1:
            fix = (f"For class indices use `nn.CrossEntropyLoss` with a target of shape {shape(out.shape[:1])}; "
                   f"for a {shape(out)} output with BCE the target must be {shape(out)} too (one-hot or "
                   f"multi-label).")
        else:
            fix = f"Give the target the output's shape {shape(out)}, or the output the target's {shape(tgt)}."
        yield RULE.finding("target", f"The loss ({trace.loss.name if trace.loss else 'loss'}) cannot pair the "
                           f"output {shape(out)} with the target {shape(tgt)}: {text}.", fix,
                           evidence={"message": e.message[:200]})


def _bad_target_is_a_list():
    torch.manual_seed(0)
    return dict(model=nn.Linear(4, 3), inputs=torch.randn(5, 4), target=[0, 1, 2, 1, 0], loss="cross_entropy")


def _bad_bce_target_wider_than_output():
    torch.manual_seed(0)
    return dict(model=nn.Linear(4, 2), inputs=torch.randn(3, 4), target=torch.rand(3, 5),
                loss=nn.BCEWithLogitsLoss())


def _bad_nll_target_with_two_columns():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    return dict(model=m, inputs=torch.randn(5, 4), target=torch.randint(0, 3, (5, 2)), loss=nn.NLLLoss())


def _bad_no_object_label_past_the_head_in_a_custom_loss():
    # a set-prediction loss: (labels, boxes) targets, "no object" labelled one past the last logit
    torch.manual_seed(0)
    head = nn.Linear(8, 4)  # 3 classes + "no object" = 4 logits: indices 0..3

    def loss(out, target):
        labels, boxes = target
        return nn.functional.cross_entropy(out.flatten(0, 1), labels.flatten()) + (boxes - 0.5).abs().mean()

    labels = torch.randint(0, 3, (2, 5))
    labels[:, -2:] = 4  # "no object" should be 3
    return dict(model=head, inputs=torch.randn(2, 5, 8), target=(labels, torch.rand(2, 5, 4)), loss=loss)


def _good_matching_target():
    torch.manual_seed(0)
    return dict(model=nn.Linear(4, 2), inputs=torch.randn(3, 4), target=torch.rand(3, 2),
                loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD425",
    cause="wrong-target",
    severity="error",
    title="The loss failed on the target (type or shape)",
    explanation=(
        "Losses need the target as a tensor of a shape they can pair with the output: class indices "
        "(N,) for CrossEntropy, the output's own shape for MSE and BCE. A Python list, a numpy array of "
        "objects, or a target with another number of columns makes the loss raise before any gradient "
        "exists."
    ),
    fix="Convert the target with `torch.as_tensor` and give it the shape the loss expects.",
    check=check,
    bad=[_bad_target_is_a_list, _bad_bce_target_wider_than_output, _bad_nll_target_with_two_columns,
         _bad_no_object_label_past_the_head_in_a_custom_loss],
    good=[_good_matching_target],
    needs="loss",
    thresholds="A fallback: only when the loss raised, the message concerns the target, and no other rule "
               "found an error.",
    fallback=True,
)
