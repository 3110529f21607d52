"""NBD413 loss-mismatch: binary cross-entropy on a multi-class output with class-index targets."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import class_index_expr, shape
from .loss_signals import BCE_LOSSES, is_integral, output, output_call, target, user_loss


def check(trace):
    kind = user_loss(trace)
    if kind not in BCE_LOSSES:
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or len(out.shape) != 2 or out.shape[1] < 2 or not tgt.has_values:
        return
    index_shaped = tuple(tgt.shape) in ((out.shape[0],), (out.shape[0], 1))
    if not index_shaped or not is_integral(tgt) or tgt.max < 1:
        return  # a (N, C) target of the output's shape is multi-label, which BCE is right for
    c = int(out.shape[1])
    head = output_call(trace)
    message = (f"{kind} compares each of the {c} output columns {shape(out)} with a target of class indices "
               f"{shape(tgt)} (values {int(tgt.min)}..{int(tgt.max)}): binary cross-entropy treats every "
               f"column as an independent yes/no question, not one choice among {c} classes.")
    fix = (f"Use `nn.CrossEntropyLoss()` on the logits with {class_index_expr(tgt)}"
           f"; keep BCE only for multi-label targets, given as a (N, {c}) 0/1 tensor "
           f"(`F.one_hot(y.long(), {c}).float()`).")
    yield RULE.finding("loss", message, fix, call=head.index if head is not None else None,
                       evidence={"classes": c, "target_shape": list(tgt.shape)})


def _bad_bce_class_indices():
    torch.manual_seed(9)
    m = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 4))
    return dict(model=m, inputs=torch.randn(16, 5), target=torch.randint(0, 4, (16,)).float(),
                loss=nn.BCEWithLogitsLoss())


def _good_multilabel():
    torch.manual_seed(9)
    m = nn.Sequential(nn.Linear(5, 10), nn.ReLU(), nn.Linear(10, 4))
    return dict(model=m, inputs=torch.randn(16, 5), target=torch.randint(0, 2, (16, 4)).float(),
                loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD413",
    cause="loss-mismatch",
    severity="error",
    title="Binary cross-entropy on a multi-class output",
    explanation=(
        "BCELoss/BCEWithLogitsLoss score every output unit as its own binary decision against a target "
        "of the same shape. A single-label C-class problem needs CrossEntropyLoss over the C logits with "
        "one class index per sample; with BCE and a (N,) target of class indices, the shapes do not even "
        "match, and a broadcast target silently trains every column towards the label's number."
    ),
    fix="Use CrossEntropyLoss with class indices; keep BCE for multi-label (one 0/1 column per class).",
    check=check,
    bad=[_bad_bce_class_indices],
    good=[_good_multilabel],
    needs="loss",
    thresholds="Output (N, C >= 2) with a (N,) or (N, 1) target of whole numbers reaching at least 1: "
               "structural, no tuned threshold.",
)
