"""NBD101 nonfinite-input: NaN or ±Inf already in the model's input or in the target."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import shape


def check(trace):
    for role, tensors in (("input", trace.inputs), ("target", trace.target)):
        for s in tensors:
            if not s.has_values or s.finite:
                continue
            parts = []
            if s.nan:
                parts.append(f"{s.nan} NaN")
            if s.inf:
                parts.append(f"{s.inf} ±Inf")
            name = s.path or role
            message = (f"The {role} {name} {shape(s)} already holds {' and '.join(parts)} of {s.numel} "
                       f"values, before any layer runs; every value computed from them is poisoned.")
            var = "x" if role == "input" else "y"
            fix = (f"Clean the data before the model: find the rows with `{var}.isnan().any(-1)` / "
                   f"`~{var}.isfinite().all(-1)`, drop or impute them (e.g. `torch.nan_to_num({var})`), and "
                   f"check the preprocessing for divisions by zero and log of zero.")
            yield RULE.finding(role, message, fix, call=0 if role == "input" and trace.calls else None,
                               evidence={"nan": s.nan, "inf": s.inf, "numel": s.numel, "path": s.path})


def _bad_nan_feature():
    torch.manual_seed(0)
    x = torch.randn(8, 4)
    x[3, 2] = float("nan")
    return dict(model=nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)), inputs=x)


def _bad_inf_target():
    torch.manual_seed(0)
    y = torch.randn(6, 1)
    y[0, 0] = float("inf")
    return dict(model=nn.Linear(3, 1), inputs=torch.randn(6, 3), target=y, loss=nn.MSELoss())


def _good_finite():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)), inputs=torch.randn(8, 4))


RULE = Rule(
    code="NBD101",
    cause="nonfinite-input",
    severity="error",
    title="NaN or Inf in the input or target",
    explanation=(
        "A single NaN in the input makes every activation, the loss and every gradient that depends on "
        "it NaN, so the model cannot learn from the batch, and an optimizer step spreads the NaN into "
        "the weights. It comes from the data, not the model: missing values read as NaN, a division by "
        "a zero row sum or a zero standard deviation during normalisation, log of zero in feature "
        "engineering, or an overflow when casting to half precision."
    ),
    fix="Find and clean the non-finite values before the model (drop, impute, or nan_to_num), and fix the "
        "preprocessing step that made them.",
    check=check,
    bad=[_bad_nan_feature, _bad_inf_target],
    good=[_good_finite],
    needs="forward",
    thresholds="Any NaN or ±Inf counts: there is no safe amount.",
)
