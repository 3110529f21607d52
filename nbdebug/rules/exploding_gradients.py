"""NBD502 exploding-gradients: gradient norms huge, non-finite, or growing towards the input."""
import math

import torch
import torch.nn as nn

from . import unscaled_regression_target
from .base import Rule
from .helpers import first_calls, fmt
from .grad_signals import call_index, finite, layer_count, stand_in, weights_in_order

RATIO = 70.0            # AUTOTRAINER: ||grad W_first|| / ||grad W_last|| above this
SEVERE_RATIO = 1e3      # own choice: over an order of magnitude beyond AUTOTRAINER, a warning on its own
HUGE_NORM = 1e6         # a weight gradient this large under the user's loss (clipping norms are ~1-5)
LARGE_NORM = 1e2        # second signal for the ratio test
BLOWN_ACTIVATION = 1e8  # forward values this large explain a non-finite loss by overflow


def _forward_absmax(trace) -> float:
    vals = [s.absmax for c in trace.calls for s in c.outputs if s.has_values and finite(s.absmax)]
    return max(vals) if vals else 0.0


def _largest_finite_grad(trace) -> float:
    vals = [p.grad_norm for p in trace.params if finite(p.grad_norm)]
    vals += [g.norm for c in trace.calls for g in c.grads if g is not None and g.has_values and finite(g.norm)]
    return max(vals) if vals else 0.0


def _nonfinite(trace):
    """Weights whose gradient is NaN/Inf, when that is an overflow and not a NaN born elsewhere."""
    if any(not s.finite for s in trace.inputs) or any(not s.finite for s in trace.target):
        return []   # nonfinite-input explains it
    if any(not s.finite for c in trace.calls for s in c.outputs):
        return []   # a NaN/Inf born in the forward pass: nonfinite-created
    blown = _forward_absmax(trace) >= BLOWN_ACTIVATION or _largest_finite_grad(trace) >= HUGE_NORM
    if not blown:
        return []   # a singular derivative (sqrt at 0, log(0) in the loss, 0/0): nonfinite-created
    calls = first_calls(trace)
    bad = [p for p in trace.params if p.grad_norm is not None and not math.isfinite(p.grad_norm)
           and p.module in calls]
    return sorted(bad, key=lambda p: calls[p.module].index)


def check(trace):
    bad = _nonfinite(trace)
    if bad:
        p = bad[0]
        loss = trace.loss.value if trace.loss is not None else None
        why = (f"the loss overflowed to {fmt(loss)} from outputs as large as {fmt(_forward_absmax(trace))}"
               if loss is not None and not math.isfinite(loss) else
               "the backward pass overflowed")
        message = (f"{len(bad)} parameter gradient(s) are NaN/Inf, starting at `{p.name}`: {why}, so one "
                   f"optimizer step would destroy the weights.")
        fix = (f"Shrink the signal that grows through `{p.module}`: initialise recurrent/hidden weights smaller "
               f"(e.g. `nn.init.orthogonal_` for RNN `weight_hh`, Kaiming/Xavier for the rest), use a "
               f"saturating or gated cell (tanh RNN, LSTM/GRU), normalise inputs and targets, and clip "
               f"gradients with `torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`.")
        yield RULE.finding(p.module, message, fix, call=call_index(trace, p.module),
                           evidence={"nonfinite": [q.name for q in bad]})
        return
    ws = [p for p in weights_in_order(trace) if finite(p.grad_norm)]
    if not ws:
        return
    top = max(ws, key=lambda p: p.grad_norm)
    user = not stand_in(trace)
    if user and top.grad_norm > HUGE_NORM and unscaled_regression_target.applies(trace) is None:
        message = (f"The gradient of `{top.name}` has norm {fmt(top.grad_norm)} under the loss "
                   f"({fmt(trace.loss.value)}): a step with any usual learning rate moves the weights far "
                   f"beyond their own size.")
        fix = ("Normalise the inputs and the regression targets (e.g. `(y - y.mean()) / y.std()`), check the "
               "initialisation, and clip gradients: `torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)` "
               "before `optimizer.step()`.")
        yield RULE.finding(top.module, message, fix, call=call_index(trace, top.module),
                           evidence={"param": top.name, "grad_norm": top.grad_norm})
        return
    if layer_count(ws) < 2:
        return
    first, last = ws[0], ws[-1]
    if last.grad_norm <= 0 or first.grad_norm <= 0:
        return
    ratio = first.grad_norm / last.grad_norm
    if ratio <= RATIO:
        return
    second = user and top.grad_norm > LARGE_NORM
    severity = "warning" if ratio > SEVERE_RATIO or second else "info"
    message = (f"Gradient norms grow towards the input: ||grad|| of `{first.name}` (first layer) is "
               f"{fmt(first.grad_norm)} against {fmt(last.grad_norm)} for `{last.name}` (last layer), "
               f"{fmt(ratio)}x larger across {layer_count(ws)} weighted layers.")
    fix = ("Initialise with a fan-in based scheme (Kaiming for ReLU, Xavier for tanh), add "
           "normalisation layers, normalise the inputs, and clip gradients with "
           "`torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`.")
    yield RULE.finding(first.module, message, fix, call=call_index(trace, first.module), severity=severity,
                       evidence={"first": first.name, "last": last.name, "ratio": ratio})


def _deep_relu(std, depth=6, width=64, seed=30):
    torch.manual_seed(seed)
    layers = [nn.Linear(10, width), nn.ReLU()]
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    m = nn.Sequential(*layers, nn.Linear(width, 1))
    if std is not None:
        for layer in m:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, std=std)
    return m


def _bad_large_init_regression():
    m = _deep_relu(std=0.5)
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.randn(16, 1), loss=nn.MSELoss())


class _LinearRecurrence(nn.Module):
    """A hand-written linear recurrence h = W h + U x over 40 steps with a large W: the signal and the
    gradient grow like ||W||^T."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(3, 16)
        self.rec = nn.Linear(16, 16, bias=False)
        self.out = nn.Linear(16, 1)
        nn.init.normal_(self.rec.weight, std=0.7)

    def forward(self, x):
        h = torch.zeros(x.shape[0], 16)
        for t in range(x.shape[1]):
            h = self.rec(h) + self.inp(x[:, t])
        return self.out(h)


def _bad_linear_recurrence():
    torch.manual_seed(31)
    return dict(model=_LinearRecurrence(), inputs=torch.randn(4, 40, 3), target=torch.randn(4, 1),
                loss=nn.MSELoss())


def _good_default_init():
    m = _deep_relu(std=None)
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.randn(16, 1), loss=nn.MSELoss())


def _good_large_inputs_shallow():
    torch.manual_seed(32)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
    return dict(model=m, inputs=20 * torch.randn(16, 10), target=torch.randint(0, 3, (16,)),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD502",
    cause="exploding-gradients",
    severity="warning",
    title="Gradients explode",
    explanation=(
        "When each layer (or each time step of a recurrence) multiplies the gradient by a factor above 1, "
        "the gradient grows exponentially towards the input. One optimizer step then moves the weights by "
        "more than their own size, the loss jumps or turns NaN, and training diverges. Typical causes: "
        "weights initialised too large, recurrent weights with spectral radius above 1 over long sequences, "
        "unnormalised inputs or regression targets, no normalisation layers, and no gradient clipping."
    ),
    fix="Use fan-in based initialisation, normalise inputs/targets, add normalisation layers, clip gradients.",
    check=check,
    bad=[_bad_large_init_regression, _bad_linear_recurrence],
    good=[_good_default_init, _good_large_inputs_shallow],
    needs="backward",
    thresholds=(
        f"NaN/Inf parameter gradients from finite inputs and a finite forward pass, with signs of overflow "
        f"(forward values >= {BLOWN_ACTIVATION:g} or a finite gradient norm >= {HUGE_NORM:g}; otherwise a "
        f"singular derivative is to blame, which is nonfinite-created); or a weight gradient norm > {HUGE_NORM:g} "
        f"under the user's loss (own choice: usual clipping norms are 1-5; norms of 1e3-1e5 already come from "
        f"a large loss scale such as unnormalised regression targets, which adaptive optimizers absorb); or AUTOTRAINER's "
        f"||grad W_first|| / ||grad W_last|| > {RATIO:g}, a warning when > {SEVERE_RATIO:g} or backed by a "
        f"gradient norm > {LARGE_NORM:g} under the user's loss, info otherwise."
    ),
)
