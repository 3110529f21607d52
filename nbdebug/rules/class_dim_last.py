"""NBD113 shape-mismatch: sequence or pixel logits laid out (N, T, C) given to CrossEntropyLoss/NLLLoss,
which read dim 1 as the classes and want (N, C, T): the labels fit the last dimension, not dim 1."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import shape
from .loss_signals import CLASS_LOSSES, is_integral, output, output_call, target, user_loss


def applies(trace) -> bool:
    """The output is (N, ..., C) with the target (N, ...) and its labels in 0..C-1, dim 1 being another
    size: class logits in the last dimension where the loss reads dim 1."""
    if user_loss(trace) not in CLASS_LOSSES:
        return False
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or len(out.shape) < 3 or not tgt.has_values or not is_integral(tgt):
        return False
    c = out.shape[-1]
    return (tuple(tgt.shape) == tuple(out.shape[:-1]) and out.shape[1] != c and tgt.min >= 0
            and tgt.max < c)


def check(trace):
    if not applies(trace):
        return
    out, tgt = output(trace), target(trace)
    kind, c = user_loss(trace), int(out.shape[-1])
    head = output_call(trace)
    message = (f"{kind} reads dim 1 of the output {shape(out)} as the classes ({out.shape[1]} of them), but the "
               f"logits hold {c} classes in their last dimension: the target {shape(tgt)} matches every "
               f"dimension but the last, and its labels (up to {int(tgt.max)}) fit {c}, not {out.shape[1]}.")
    order = ", ".join(str(d) for d in [0, len(out.shape) - 1] + list(range(1, len(out.shape) - 1)))
    move = "`logits.transpose(1, 2)`" if len(out.shape) == 3 else f"`logits.permute({order})`"
    fix = (f"Move the classes to dim 1: pass {move} to the loss, or flatten both: "
           f"`loss(logits.reshape(-1, {c}), y.reshape(-1))`.")
    if trace.error is not None and trace.error.stage == "loss":
        message += f" The loss failed on it: {trace.error.message.splitlines()[0][:160].rstrip('. ')}."
    yield RULE.finding(head.name if head is not None else "loss", message, fix,
                       call=head.index if head is not None else None,
                       evidence={"output_shape": list(out.shape), "target_shape": list(tgt.shape)})


class _TokenTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(40, 16)
        self.out = nn.Linear(16, 12)

    def forward(self, ids):
        return self.out(self.emb(ids))   # (N, T, 12)


def _bad_token_logits_last():
    torch.manual_seed(30)
    ids = torch.randint(0, 40, (4, 9))
    return dict(model=_TokenTagger(), inputs=ids, target=torch.randint(0, 12, (4, 9)),
                loss=nn.CrossEntropyLoss())


class _Transposed(_TokenTagger):
    def forward(self, ids):
        return super().forward(ids).transpose(1, 2)   # (N, 12, T), as the loss wants


def _good_classes_in_dim_1():
    torch.manual_seed(30)
    ids = torch.randint(0, 40, (4, 9))
    return dict(model=_Transposed(), inputs=ids, target=torch.randint(0, 12, (4, 9)),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD113",
    cause="shape-mismatch",
    severity="error",
    title="Class logits in the last dimension where the loss reads dim 1",
    explanation=(
        "CrossEntropyLoss and NLLLoss take (N, C) logits, or (N, C, d1, ...) for sequences and images, "
        "with the classes in dim 1. A language model or a tagger naturally produces (N, T, C) from its "
        "final Linear; passed as is with (N, T) labels, the loss reads T as the number of classes and "
        "either raises on the target's shape or, when the sizes happen to agree, trains on scrambled "
        "logits."
    ),
    fix="Pass `logits.transpose(1, 2)`, or flatten logits to (N·T, C) and labels to (N·T,).",
    check=check,
    bad=[_bad_token_logits_last],
    good=[_good_classes_in_dim_1],
    needs="loss",
    thresholds="Structural: the target's shape equals the output's without its last dimension, the integer "
               "labels fit the last dimension, and dim 1 has another size (own reasoning).",
)
