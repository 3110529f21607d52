"""NBD416 loss-mismatch: KLDivLoss given probabilities or raw scores where it expects log-probabilities
(its input is log q, unlike the target), so the "divergence" it computes is not one."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import is_probability_rows, output, output_call, user_loss


def check(trace):
    if user_loss(trace) != "KLDivLoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite or out.max is None or out.max <= 0:
        return  # log-probabilities are never positive
    if out.min >= 0 and is_probability_rows(out):
        what = "probabilities (every row sums to 1)"
        fix = ("Pass log-probabilities: `F.log_softmax(logits, dim=1)` instead of `softmax` (or drop the final "
               "`nn.Softmax` for an `nn.LogSoftmax`); the target stays probabilities, or log-probabilities "
               "with `log_target=True`.")
    else:
        what = "raw scores (some positive), not log-probabilities"
        fix = ("Apply `F.log_softmax(output, dim=1)` to the model's output before KLDivLoss (or end the model "
               "in `nn.LogSoftmax(dim=1)`); the target stays probabilities, or log-probabilities with "
               "`log_target=True`.")
    head = output_call(trace)
    message = (f"KLDivLoss takes its input as log-probabilities (log q), but the output {shape(out)} holds "
               f"{what}, with values in [{fmt(out.min)}, {fmt(out.max)}]: the loss it computes is not a "
               f"divergence (it can go negative) and its gradient points the wrong way.")
    yield RULE.finding(head.name if head is not None else "loss", message, fix,
                       call=head.index if head is not None else None,
                       evidence={"min": out.min, "max": out.max})


def _soft_targets(n=16, c=5):
    return torch.softmax(torch.randn(n, c), 1)


def _bad_softmax_into_kl_div():
    torch.manual_seed(13)
    m = nn.Sequential(nn.Linear(8, 5), nn.Softmax(dim=1))
    return dict(model=m, inputs=torch.randn(16, 8), target=_soft_targets(),
                loss=nn.KLDivLoss(reduction="batchmean"))


def _bad_logits_into_kl_div():
    torch.manual_seed(14)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 5))
    return dict(model=m, inputs=torch.randn(16, 8), target=_soft_targets(), loss="kl_div")


def _good_log_softmax_into_kl_div():
    torch.manual_seed(13)
    m = nn.Sequential(nn.Linear(8, 5), nn.LogSoftmax(dim=1))
    return dict(model=m, inputs=torch.randn(16, 8), target=_soft_targets(),
                loss=nn.KLDivLoss(reduction="batchmean"))


RULE = Rule(
    code="NBD416",
    cause="loss-mismatch",
    severity="error",
    title="KLDivLoss on probabilities or logits instead of log-probabilities",
    explanation=(
        "`nn.KLDivLoss(input, target)` computes Σ target · (log target − input): it expects `input` to be "
        "log-probabilities already, while the target is plain probabilities (unless `log_target=True`). "
        "Feeding it softmax probabilities or raw logits computes something that is not a divergence; it "
        "can be negative, and minimising it does not match the two distributions. Distillation code is "
        "where this usually happens."
    ),
    fix="Give KLDivLoss `F.log_softmax(logits, dim=1)` as its input.",
    check=check,
    bad=[_bad_softmax_into_kl_div, _bad_logits_into_kl_div],
    good=[_good_log_softmax_into_kl_div],
    needs="loss",
    thresholds="Structural: log-probabilities are never positive, so any positive value in the loss's input "
               "means it is not one (own reasoning).",
)
