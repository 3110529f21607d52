"""NBD411 loss-mismatch: NLLLoss fed raw logits or probabilities instead of log-probabilities."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import is_probability_rows, output, output_call, user_loss

LOGSUMEXP_TOL = 1e-2   # log-probabilities have logsumexp over classes == 0
POSITIVE_TOL = 1e-4    # log-probabilities are <= 0


def check(trace):
    if user_loss(trace) != "NLLLoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite or len(out.shape) < 2 or out.shape[1] < 2:
        return
    lse = out.extra.get("logsumexp_d1")
    positive = out.max > POSITIVE_TOL
    if not positive and (lse is None or lse < LOGSUMEXP_TOL):
        return  # these are log-probabilities: fine
    head = output_call(trace)
    if is_probability_rows(out):
        what = (f"probabilities (rows of the {shape(out)} output sum to 1, values in "
                f"[{fmt(out.min)}, {fmt(out.max)}])")
        fix = ("Take the log before NLLLoss: end the model with `nn.LogSoftmax(dim=1)` instead of "
               "`nn.Softmax`, or pass `torch.log(probs.clamp_min(1e-8))`; simplest: return logits and use "
               "`nn.CrossEntropyLoss()`.")
    else:
        what = (f"raw logits (values up to {fmt(out.max)}, and log-sum-exp over classes averages "
                f"{fmt(lse)} instead of 0)")
        layer = f" after `{head.name}`" if head is not None and head.name else ""
        fix = (f"Use `nn.CrossEntropyLoss()` on the logits (it is log_softmax + NLLLoss), or add "
               f"`nn.LogSoftmax(dim=1)`{layer} / `F.log_softmax(logits, dim=1)` before NLLLoss.")
    message = (f"NLLLoss expects log-probabilities but receives {what}, so it just sums minus the target "
               f"logit: the loss can go below 0 and push that logit to infinity instead of learning.")
    yield RULE.finding("loss", message, fix, call=head.index if head is not None else None,
                       evidence={"max": out.max, "logsumexp_d1": lse})


def _bad_logits():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 6))
    return dict(model=m, inputs=torch.randn(30, 8), target=torch.randint(0, 6, (30,)), loss=nn.NLLLoss())


def _bad_probabilities():
    torch.manual_seed(6)
    m = nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))
    return dict(model=m, inputs=torch.randn(12, 8), target=torch.randint(0, 3, (12,)), loss=F.nll_loss)


def _good_log_softmax():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 6), nn.LogSoftmax(dim=1))
    return dict(model=m, inputs=torch.randn(30, 8), target=torch.randint(0, 6, (30,)), loss=nn.NLLLoss())


RULE = Rule(
    code="NBD411",
    cause="loss-mismatch",
    severity="error",
    title="NLLLoss without log-softmax",
    explanation=(
        "`nn.NLLLoss` does no normalisation: it returns minus the value at the target index, and expects "
        "that value to be a log-probability. Fed raw logits, the loss is unbounded below: the optimizer "
        "just inflates the target logit, the loss goes negative, and nothing is learned about the other "
        "classes. Fed probabilities, the loss is linear in them and gradients are wrong. It happens when "
        "NLLLoss is picked where CrossEntropyLoss (log_softmax + NLLLoss) was meant, or the LogSoftmax "
        "head was forgotten or written as Softmax."
    ),
    fix="Use CrossEntropyLoss on logits, or end the model with LogSoftmax(dim=1) before NLLLoss.",
    check=check,
    bad=[_bad_logits, _bad_probabilities],
    good=[_good_log_softmax],
    needs="loss",
    thresholds=(
        f"Log-probabilities are <= 0 and their log-sum-exp over classes is 0. Flagged when the output "
        f"has a value > {POSITIVE_TOL} or its mean |logsumexp over dim 1| exceeds {LOGSUMEXP_TOL} "
        f"(float32 round-off is ~1e-6; own reasoning)."
    ),
)
