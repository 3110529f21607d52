"""NBD412 loss-mismatch: CrossEntropy/NLL over a single output unit (or no class dimension at all)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import (CLASS_LOSSES, guessed_severity, head_fix, loss_name, output, output_call, target,
                           user_loss)


def check(trace):
    kind = user_loss(trace)
    if kind not in CLASS_LOSSES:
        return
    out = output(trace)
    if out is None or not out.shape:
        return
    tgt = target(trace)
    head = output_call(trace)
    call = head.index if head is not None else None
    loss = trace.loss.value if trace.loss is not None else None
    if len(out.shape) >= 2 and out.shape[1] == 1:
        message = (f"{loss_name(trace)} normalises over the output's dimension 1, which has a single unit "
                   f"({shape(out)}): "
                   f"softmax over one class is always 1, so the loss is "
                   f"{fmt(loss) if loss is not None else 'always 0 or an out-of-bounds error'} and no "
                   f"gradient flows.")
        fix = (f"For a binary problem keep one output and use `nn.BCEWithLogitsLoss()` with "
               f"`y.float().view(-1, 1)`; or {head_fix(trace, 2)} and keep {kind} with labels 0/1.")
        yield RULE.finding("loss", message, fix, call=call, severity=guessed_severity(trace),
                           evidence={"output_shape": list(out.shape)})
    elif len(out.shape) == 1 and tgt is not None and tuple(tgt.shape) == tuple(out.shape):
        # F.cross_entropy reads a 1-D input as ONE unbatched sample whose classes are the batch.
        message = (f"The output {shape(out)} has no class dimension, so {loss_name(trace)} reads the whole batch "
                   f"as one sample with {out.shape[0]} classes and the target {shape(tgt)} as its class "
                   f"probabilities: the loss compares samples with each other.")
        fix = ("For a binary problem use `nn.BCEWithLogitsLoss()` on the (N,) output with `y.float()`; for "
               "C classes return (N, C) logits and pass labels of shape (N,).")
        yield RULE.finding("loss", message, fix, call=call, severity=guessed_severity(trace),
                           evidence={"output_shape": list(out.shape)})


def _bad_one_logit():
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 1))
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.zeros(16, dtype=torch.long),
                loss=nn.CrossEntropyLoss())


class _Squeezed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x).squeeze(-1)


def _bad_squeezed_output():
    torch.manual_seed(8)
    return dict(model=_Squeezed(), inputs=torch.randn(10, 4), target=torch.randint(0, 2, (10,)).float(),
                loss="cross_entropy")


def _good_two_logits():
    torch.manual_seed(7)
    m = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 2))
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.randint(0, 2, (16,)),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD412",
    cause="loss-mismatch",
    severity="error",
    title="Cross-entropy over a single class",
    explanation=(
        "CrossEntropyLoss and NLLLoss pick the target's class out of dimension 1 of the output. With one "
        "output unit the softmax over it is identically 1: the loss is exactly 0 for label 0, an "
        "out-of-bounds error for label 1, and the model receives no gradient. With a squeezed (N,) output "
        "there is no class dimension at all and the batch is read as one sample's classes. It comes from "
        "treating a binary problem as 'one output + cross-entropy'."
    ),
    fix="Use BCEWithLogitsLoss with one output and float 0/1 targets, or give the head 2 outputs.",
    check=check,
    bad=[_bad_one_logit, _bad_squeezed_output],
    good=[_good_two_logits],
    needs="loss",
    thresholds="Output dimension 1 of size 1, or a 1-D output as large as the target: structural, no "
               "tuned threshold.",
)
