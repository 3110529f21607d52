"""NBD432 loss-mismatch: PoissonNLLLoss(log_input=True), the default, reads the output as a log-rate
and exponentiates it, but the head already makes a non-negative rate (Softplus, ReLU, exp, sigmoid):
the predicted rate becomes exp(rate) >= 1, so counts of zero, the commonest, can never be fitted."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import fmt, leaf_calls, shape
from .loss_signals import output, output_call

NON_NEGATIVE = ("Softplus", "ReLU", "ReLU6", "Sigmoid", "Softmax", "ELU")  # ELU(alpha) >= -alpha: see below


def _non_negative_head(trace, out):
    """(the layer that makes the output non-negative, or None for a functional op, and how it was seen)
    when the output is >= 0 by construction; else None."""
    head = output_call(trace)
    if head is not None and head.type in NON_NEGATIVE and head.type != "ELU":
        return head, f"the output comes from {head.type} `{head.name}`"
    # a functional softplus/exp/relu after the last layer: that layer's output has negatives, the model's not
    weighted = [c for c in leaf_calls(trace) if c.params and c.outputs and c.outputs[0].has_values]
    last = weighted[-1] if weighted else None
    if last is not None and last.outputs[0].min < 0 and last.outputs[0].numel == out.numel:
        return None, (f"the last layer `{last.name}` outputs values down to {fmt(last.outputs[0].min)}, but the "
                      f"model returns only values ≥ 0 (a softplus, exp or relu after it)")
    return None


def check(trace):
    loss = trace.loss
    if loss is None or loss.name != "PoissonNLLLoss" or loss.log_input is False:
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite or out.min is None or out.min < 0:
        return
    found = _non_negative_head(trace, out)
    if found is None:
        return
    head, how = found
    message = (f"PoissonNLLLoss has log_input=True (its default), so it reads the output {shape(out)} as the "
               f"log of the rate and predicts exp(output); but {how}, so the output is already a rate "
               f"(here {fmt(out.min)}..{fmt(out.max)}). The predicted rate is exp(rate) ≥ 1: counts of 0, "
               f"the commonest, are out of reach, and the loss grows exponentially with the output.")
    fix = ("Either drop the final Softplus/exp and keep `log_input=True` (the head then predicts the log-rate, "
           "any real number), or keep the non-negative head and use `nn.PoissonNLLLoss(log_input=False)` "
           "(it adds eps inside the log).")
    yield RULE.finding("loss", message, fix, call=head.index if head is not None else None,
                       evidence={"output_min": out.min, "output_max": out.max,
                                 "head": head.name if head is not None else None})


def _counts(x):
    return torch.poisson(torch.exp(0.4 * x[:, :1] - 0.2))


def _bad_softplus_rate_with_default_log_input():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1), nn.Softplus())
    x = torch.randn(48, 8)
    return dict(model=m, inputs=x, target=_counts(x), loss=nn.PoissonNLLLoss())


class _ExpRate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 1)

    def forward(self, x):
        return torch.exp(self.fc(x))


def _bad_exp_rate_with_log_input():
    torch.manual_seed(6)
    x = torch.randn(48, 8)
    return dict(model=_ExpRate(), inputs=x, target=_counts(x), loss=nn.PoissonNLLLoss(log_input=True))


def _good_log_rate_head():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(48, 8)
    return dict(model=m, inputs=x, target=_counts(x), loss=nn.PoissonNLLLoss())


def _good_softplus_rate_with_log_input_false():
    torch.manual_seed(5)
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1), nn.Softplus())
    x = torch.randn(48, 8)
    return dict(model=m, inputs=x, target=_counts(x), loss=nn.PoissonNLLLoss(log_input=False))


def _good_partial_with_log_input_false():
    import functools

    torch.manual_seed(6)
    x = torch.randn(48, 8)
    return dict(model=_ExpRate(), inputs=x, target=_counts(x),
                loss=functools.partial(F.poisson_nll_loss, log_input=False))


RULE = Rule(
    code="NBD432",
    cause="loss-mismatch",
    severity="warning",
    title="PoissonNLLLoss exponentiates a rate that is already non-negative",
    explanation=(
        "`nn.PoissonNLLLoss()` defaults to log_input=True: the model is expected to output the log of the "
        "rate, any real number, and the loss computes exp(output) - target * output. A head that already "
        "ends in Softplus, ReLU or exp outputs the rate itself; taken as a log-rate, the model's "
        "prediction is exp(rate) ≥ 1, so zero counts cannot be fitted and the loss grows exponentially."
    ),
    fix="Predict the log-rate with log_input=True, or keep the non-negative head with log_input=False.",
    check=check,
    bad=[_bad_softplus_rate_with_default_log_input, _bad_exp_rate_with_log_input],
    good=[_good_log_rate_head, _good_softplus_rate_with_log_input_false, _good_partial_with_log_input_false],
    needs="loss",
    thresholds=("No number: PoissonNLLLoss with log_input=True (its default), a finite output ≥ 0 everywhere, "
                "made by a Softplus/ReLU/ReLU6/Sigmoid/Softmax layer, or by an op after the last layer whose "
                "own output had negative values."),
)
