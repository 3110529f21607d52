"""NBD433 loss-mismatch: GaussianNLLLoss raised "var has negative entry/entries": the variance the
model predicts comes from an unconstrained layer, so some of it is negative."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape

MESSAGE = "var has negative entr"


def _variance_output(trace):
    """The model output (of several) with negative values that is not the first: the variance head."""
    negatives = [s for s in trace.outputs[1:] if s.has_values and s.min is not None and s.min < 0]
    return negatives[0] if negatives else None


def check(trace):
    e = trace.error
    if e is None or e.stage != "loss" or MESSAGE not in e.message:
        return
    var = _variance_output(trace)
    seen = (f" The model's output {var.path or ''} {shape(var)} ranges {fmt(var.min)}..{fmt(var.max)}."
            if var is not None else "")
    message = (f"GaussianNLLLoss raised '{e.message.splitlines()[0][:80]}': the variance it was given has "
               f"negative values, so the variance head is an unconstrained layer.{seen}")
    fix = ("Make the variance positive by construction: `var = F.softplus(raw) + 1e-6` or predict the "
           "log-variance and pass `torch.exp(log_var)`.")
    yield RULE.finding("loss", message, fix, evidence={"message": e.message[:200]})


class _MeanVar(nn.Module):
    def __init__(self, positive: bool):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 32), nn.Tanh())
        self.mean, self.var = nn.Linear(32, 1), nn.Linear(32, 1)
        self.positive = positive

    def forward(self, x):
        h = self.body(x)
        v = self.var(h)
        return self.mean(h), (nn.functional.softplus(v) + 1e-6 if self.positive else v)


def _gaussian_nll(out, y):
    mu, var = out
    return nn.GaussianNLLLoss()(mu, y, var)


def _bad_raw_variance_head():
    torch.manual_seed(1)
    x = torch.randn(32, 5)
    return dict(model=_MeanVar(positive=False), inputs=x, target=x[:, :1] + 0.3 * torch.randn(32, 1),
                loss=_gaussian_nll)


def _good_softplus_variance_head():
    torch.manual_seed(1)
    x = torch.randn(32, 5)
    return dict(model=_MeanVar(positive=True), inputs=x, target=x[:, :1] + 0.3 * torch.randn(32, 1),
                loss=_gaussian_nll)


RULE = Rule(
    code="NBD433",
    cause="loss-mismatch",
    severity="error",
    title="GaussianNLLLoss given a variance with negative values",
    explanation=(
        "A heteroscedastic regressor predicts a mean and a variance; GaussianNLLLoss needs the variance "
        "positive and raises 'var has negative entry/entries' otherwise. A variance taken straight from a "
        "Linear layer is negative for about half the inputs at initialisation."
    ),
    fix="Pass the variance through softplus (plus a small eps) or predict the log-variance and exponentiate.",
    check=check,
    bad=[_bad_raw_variance_head],
    good=[_good_softplus_variance_head],
    needs="loss",
    thresholds="No number: the loss raised GaussianNLLLoss's 'var has negative entry/entries'.",
)
