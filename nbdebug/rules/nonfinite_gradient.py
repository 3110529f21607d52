"""NBD141 nonfinite-created: the forward and the loss are finite, but the backward makes NaN/Inf
gradients (the derivative of sqrt or a norm at 0, pow with a fractional exponent at 0, acos at ±1,
a `torch.where` whose unused branch is NaN)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import leaf_calls, params_of
from .layout import label

FIX = ("Keep the op differentiable where it is evaluated: `torch.sqrt(x + 1e-12)` instead of `torch.sqrt(x)`, "
       "`(d.pow(2).sum(-1) + 1e-12).sqrt()` instead of `d.norm(dim=-1)` for distances that can be 0, clamp "
       "`acos`/`asin` inputs to (-1 + 1e-6, 1 - 1e-6), and make both branches of `torch.where` finite.")


def _forward_finite(trace) -> bool:
    if any(not s.finite for s in trace.inputs) or any(not s.finite for s in trace.target):
        return False
    if any(not s.finite for c in trace.calls for s in c.outputs) or any(not s.finite for s in trace.outputs):
        return False
    value = trace.loss.value if trace.loss is not None else None
    return value is None or math.isfinite(value)


def _bad(g) -> bool:
    return g is not None and not g.finite


def _creator(trace):
    """The last layer (first in backward order) that received finite output gradients and passed
    non-finite ones to its input or its own parameters."""
    bad_refs = {s.ref for c in trace.calls for s, g in zip(c.outputs, c.grads) if _bad(g)}
    for c in reversed(leaf_calls(trace)):
        if any(_bad(g) for g in c.grads):
            continue
        own = [p for p in params_of(trace, c.name) if p.grad_nonfinite]
        if own or any(s.ref in bad_refs for s in c.inputs):
            return c, own
    return None


def check(trace):
    bad_params = [p for p in trace.params if p.grad_nonfinite]
    bad_grads = any(_bad(g) for c in trace.calls for g in c.grads)
    if not (bad_params or bad_grads) or not _forward_finite(trace):
        return
    found = _creator(trace)
    evidence = {"params": [p.name for p in bad_params][:10]}
    if found is not None:
        call, own = found
        whose = f"its own parameters ({', '.join(p.name for p in own[:3])})" if own else "its input"
        message = (f"The forward and the loss are finite, but the backward of {label(call)} turns the finite "
                   f"gradient it receives into NaN/Inf for {whose}; {len(bad_params)} parameter tensor(s) "
                   f"get non-finite gradients.")
        yield RULE.finding(call.name, message, FIX, call=call.index, evidence=evidence)
        return
    root = trace.calls[0] if trace.calls else None
    if root is not None and any(_bad(g) for g in root.grads):
        message = (f"The model output and the loss ({trace.loss.name if trace.loss else 'loss'}) are finite, but "
                   f"the loss's gradient with respect to the output is NaN/Inf.")
        yield RULE.finding("loss", message, FIX, evidence=evidence)
        return
    if bad_params:
        p = bad_params[0]
        message = (f"The forward and the loss are finite, but {len(bad_params)} parameter tensor(s), first "
                   f"{p.name}, get NaN/Inf gradients.")
        yield RULE.finding(p.module, message, FIX, evidence=evidence)


class _Distance(nn.Module):
    """Distance of each sample to a learned centre; sqrt'(0) is infinite for a sample on the centre."""

    def __init__(self, centre, eps=0.0):
        super().__init__()
        self.centre = nn.Parameter(centre.clone())
        self.eps = eps

    def forward(self, h):
        return (((h - self.centre) ** 2).sum(-1, keepdim=True) + self.eps).sqrt()


def _distance_model(eps):
    torch.manual_seed(0)
    enc = nn.Linear(4, 6)
    nn.init.zeros_(enc.bias)
    x = torch.randn(5, 4)
    x[0] = 0.0  # the first sample is encoded exactly onto the centre (the origin)
    return nn.Sequential(enc, _Distance(torch.zeros(6), eps), nn.Linear(1, 1)), x


def _bad_norm_at_zero():
    m, x = _distance_model(0.0)
    return dict(model=m, inputs=x, target=torch.randn(5, 1), loss=nn.MSELoss())


def _bad_rmse_loss_at_zero_error():
    torch.manual_seed(0)
    m = nn.Linear(3, 1)
    x = torch.randn(6, 3)
    with torch.no_grad():
        y = m(x)

    def rmse(out, target):
        return torch.sqrt(((out - target) ** 2).mean())  # sqrt(0): infinite derivative

    return dict(model=m, inputs=x, target=y, loss=rmse)


def _good_distance_with_eps():
    m, x = _distance_model(1e-12)
    return dict(model=m, inputs=x, target=torch.randn(5, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD141",
    cause="nonfinite-created",
    severity="error",
    title="NaN or Inf gradients from a finite forward",
    explanation=(
        "Some functions are finite where they are evaluated but have an infinite or undefined derivative "
        "there: sqrt and norms at 0 (the distance of a point to itself, an RMSE loss that reaches 0), x**0.5 "
        "at 0, acos/asin at ±1. `torch.where(cond, f(x), 0)` also leaks the NaN gradient of the unused "
        "branch. The forward and the loss look fine, but the backward writes NaN into the gradients and the "
        "first optimizer step ruins the weights."
    ),
    fix="Add a small epsilon inside sqrt/norm, clamp inputs of functions with singular derivatives, and keep "
        "both branches of `torch.where` finite.",
    check=check,
    bad=[_bad_norm_at_zero, _bad_rmse_loss_at_zero_error],
    good=[_good_distance_with_eps],
    needs="backward",
    thresholds="Any NaN/Inf in a recorded gradient counts, when every forward activation, the output and "
               "the loss are finite (otherwise NBD140 or NBD101 names the cause).",
)
