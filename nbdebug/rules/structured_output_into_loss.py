"""NBD418 loss-mismatch: the model returns several things (a tuple of logits and auxiliary logits, a
dict, a HuggingFace-style output) and the loss was handed all of them, so it raised."""
import re

import torch
import torch.nn as nn

from .base import Rule
from .helpers import shape

NOT_A_TENSOR = re.compile(r"must be Tensor, not (tuple|list|dict|\w*Output\w*)|"
                          r"'(tuple|list|dict)' object has no attribute", re.I)
STRUCTURED = ("tuple", "list", "dict")


def check(trace):
    e = trace.error
    kind = (trace.output_kind or "").split("[")[0]   # "tuple[2]"
    if e is None or e.stage != "loss" or kind not in STRUCTURED:
        return
    m = NOT_A_TENSOR.search(e.message)
    if m is None or (m.group(1) or m.group(2) or "").lower() not in STRUCTURED:
        return
    parts = ", ".join(f"{s.path or '?'} {shape(s)}" for s in trace.outputs[:4])
    first = trace.outputs[0] if trace.outputs else None
    pick = "out['logits']" if kind == "dict" else "out[0]"
    if kind == "dict" and first is not None and first.path:
        pick = f"out{first.path}"
    message = (f"The model returns a {kind} ({parts}), and the loss was given the whole {kind}: "
               f"{e.message.splitlines()[0][:160].rstrip('. ')}.")
    fix = (f"Give the loss the tensor it scores: `criterion({pick}, y)`; an auxiliary head gets its own "
           f"term, `loss = criterion(out[0], y) + 0.4 * criterion(out[1], y)` (as Inception's training "
           f"does); or wrap the criterion (`loss=lambda out, y: criterion(out[0], y)`) when tracing.")
    yield RULE.finding("loss", message, fix, evidence={"output_kind": kind,
                                                       "message": e.message[:200]})


class _WithAux(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.head, self.aux = nn.Linear(8, 3), nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return self.head(h), self.aux(h)


def _bad_tuple_into_cross_entropy():
    torch.manual_seed(0)
    return dict(model=_WithAux(), inputs=torch.randn(5, 6), target=torch.arange(5) % 3,
                loss=nn.CrossEntropyLoss())


def _good_loss_that_unpacks_the_tuple():
    torch.manual_seed(0)
    ce = nn.CrossEntropyLoss()
    return dict(model=_WithAux(), inputs=torch.randn(5, 6), target=torch.arange(5) % 3,
                loss=lambda out, y: ce(out[0], y) + 0.4 * ce(out[1], y))


RULE = Rule(
    code="NBD418",
    cause="loss-mismatch",
    severity="error",
    title="The loss was given the model's whole tuple/dict output",
    explanation=(
        "Models with an auxiliary head (Inception, deep supervision) or several outputs return a tuple "
        "or a dict. `criterion(model(x), y)` then hands the loss the whole structure, and torch's losses "
        "raise 'must be Tensor, not tuple'. The loss needs the one tensor it scores, and each auxiliary "
        "output a term of its own."
    ),
    fix="Index the output before the loss: `criterion(out[0], y)` (plus a term per auxiliary output).",
    check=check,
    bad=[_bad_tuple_into_cross_entropy],
    good=[_good_loss_that_unpacks_the_tuple],
    needs="loss",
    thresholds="No number: the loss raised a 'not a Tensor' error naming a tuple, list or dict, and the "
               "model's output is one.",
)
