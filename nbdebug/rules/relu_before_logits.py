"""NBD419 loss-mismatch: a ReLU-family layer after the last Linear of a classifier, so the logits that
CrossEntropyLoss (or BCEWithLogitsLoss) reads are clamped at 0: a class can never be scored below the
others' zero, and every logit the ReLU zeroed gets no gradient."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import RELU_TYPES, fmt, module_expr, output_head, pct
from .loss_signals import output, user_loss

LOGIT_LOSSES = ("CrossEntropyLoss", "BCEWithLogitsLoss")


def check(trace):
    kind = user_loss(trace)
    if kind not in LOGIT_LOSSES:
        return
    out = output(trace)
    if out is None or not out.has_values or not out.is_float:
        return
    head = output_head(trace, out, RELU_TYPES)
    if head is None:
        return
    message = (f"The model's last layer `{head.name}` ({head.type}) clamps the logits that {kind} reads at 0 "
               f"({pct(out.zero_frac)} of the output is exactly 0, min {fmt(out.min)}): a class cannot get a "
               f"negative score, and the logits it zeroed pass no gradient back.")
    fix = (f"Remove `{head.name}` from the head: {kind} takes raw logits from the last Linear "
           f"(`{module_expr(head.name)}` → `nn.Identity()`, or drop it from the nn.Sequential).")
    yield RULE.finding(head.name, message, fix, call=head.index,
                       evidence={"zero_frac": out.zero_frac, "min": out.min})


def _classifier(final_relu: bool):
    torch.manual_seed(0)
    layers = [nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)] + ([nn.ReLU()] if final_relu else [])
    return dict(model=nn.Sequential(*layers), inputs=torch.randn(12, 8), target=torch.arange(12) % 4,
                loss=nn.CrossEntropyLoss())


def _bad_relu_after_the_head():
    return _classifier(True)


def _good_raw_logits():
    return _classifier(False)


RULE = Rule(
    code="NBD419",
    cause="loss-mismatch",
    severity="warning",
    title="ReLU after the last layer of a classifier",
    explanation=(
        "CrossEntropyLoss and BCEWithLogitsLoss expect raw logits, any real number. A ReLU after the last "
        "Linear clamps them at 0: no class can score below zero, so the model can only rank classes by "
        "pushing the right one up, and every logit the ReLU zeroed passes no gradient to the layers "
        "before it. It usually comes from building the head with the same Linear-ReLU block as the "
        "hidden layers."
    ),
    fix="End the classifier with the Linear layer; the loss applies softmax/sigmoid itself.",
    check=check,
    bad=[_bad_relu_after_the_head],
    good=[_good_raw_logits],
    needs="loss",
    thresholds="No number: the module that produced the output given to CrossEntropyLoss or "
               "BCEWithLogitsLoss is a ReLU, ReLU6 or Threshold.",
)
