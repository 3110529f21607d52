"""NBD210 exploding-activations: the activation scale grows by orders of magnitude from the input
through the layers (a recurrence that compounds, weights that multiply the scale at each layer)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import RECURRENT_TYPES, fmt, leaf_calls, module_expr, rms

GROWTH = 1e3        # three orders of magnitude above the input's scale (or above 1 for tiny inputs)
LAYER_GAIN = 10.0   # one layer multiplying its input's scale by 10 or more is where it starts


def _reference_scale(trace, leaves) -> float:
    """The input's scale (rms over float inputs); for token ids, the first float activation's."""
    scales = [rms(s) for s in trace.inputs if s.is_float and s.has_values]
    scales = [s for s in scales if math.isfinite(s)]
    if scales:
        return max(scales)
    for c in leaves:
        if c.outputs and c.outputs[0].is_float and math.isfinite(rms(c.outputs[0])):
            return rms(c.outputs[0])
    return math.nan


def _gain(call) -> float:
    if not call.inputs or not call.outputs or not call.inputs[0].is_float:
        return math.nan
    i, o = rms(call.inputs[0]), rms(call.outputs[0])
    return o / i if i > 0 else math.nan


def check(trace):
    leaves = [c for c in leaf_calls(trace) if c.outputs and c.outputs[0].is_float]
    ref = _reference_scale(trace, leaves)
    if not math.isfinite(ref):
        return
    base = max(ref, 1.0)
    peak = None
    for c in leaves:
        scale = rms(c.outputs[0])
        if math.isfinite(scale) and scale / base >= GROWTH:
            peak = c
            break
    if peak is None:
        return
    upto = [c for c in leaves if c.index <= peak.index]
    steep = [c for c in upto if _gain(c) >= LAYER_GAIN]
    root = steep[0] if steep else peak
    growth = rms(peak.outputs[0]) / base
    message = (f"Activations grow from scale {fmt(ref)} at the input to {fmt(rms(peak.outputs[0]))} at "
               f"`{peak.name}` ({peak.type}), {fmt(growth)}× larger")
    if steep:
        message += (f"; `{root.name}` ({root.type}) alone multiplies its input's scale by "
                    f"{fmt(_gain(root))}")
    message += "."
    expr = module_expr(root.name)
    if root.type in RECURRENT_TYPES:
        fix = (f"Keep the recurrence contractive: `nn.init.orthogonal_({expr}.weight_hh_l0)` (or the "
               f"default init), use an LSTM/GRU instead of a ReLU RNN, and clip gradients "
               f"(`torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`).")
    else:
        fix = (f"Bring `{root.name}` back to a fan-in based scale (`{expr}.reset_parameters()` or "
               f"kaiming/xavier init), check the input normalisation, and consider a normalisation layer "
               f"(BatchNorm/LayerNorm) after it.")
    yield RULE.finding(root.name, message, fix, call=root.index,
                       evidence={"input_scale": ref, "peak": peak.name, "peak_scale": rms(peak.outputs[0]),
                                 "growth": growth, "layer_gain": _gain(root)})


def _bad_deep_std1():
    torch.manual_seed(0)
    layers = []
    for _ in range(5):
        lin = nn.Linear(64, 64)
        nn.init.normal_(lin.weight, std=1.0)  # about x5.7 per Linear+ReLU: 5.7^5 over the stack
        layers += [lin, nn.ReLU()]
    return dict(model=nn.Sequential(*layers), inputs=torch.randn(8, 64))


def _bad_relu_rnn():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(2, 16, nonlinearity="relu", batch_first=True)
            nn.init.normal_(self.rnn.weight_hh_l0, std=0.8)
            self.out = nn.Linear(16, 1)

        def forward(self, x):
            return self.out(self.rnn(x)[0][:, -1])

    return dict(model=Net(), inputs=torch.randn(3, 40, 2))


def _good_raw_scale_input():
    # Large inputs are not growth: the scale is measured relative to the input's.
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=torch.rand(16, 5) * 5000)


def _good_tiny_input_then_layernorm():
    torch.manual_seed(0)
    m = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 2))
    return dict(model=m, inputs=torch.randn(4, 16) * 1e-4)


RULE = Rule(
    code="NBD210",
    cause="exploding-activations",
    severity="warning",
    title="Activations grow by orders of magnitude through the layers",
    explanation=(
        "A healthy network keeps activations near the scale of its input from layer to layer. When each "
        "layer multiplies the scale (weights too large for the fan-in, a recurrent matrix with spectral "
        "radius above 1 applied at every time step, residual branches that add up without "
        "normalisation), activations reach thousands or overflow to Inf, the loss and gradients become "
        "huge, sigmoid/tanh saturate and training diverges. The first layer that multiplies its input's "
        "scale by 10 or more is where to look."
    ),
    fix="Re-initialise the layer that multiplies the scale with a fan-in based scheme, add "
        "normalisation, and for recurrences use orthogonal init, LSTM/GRU and gradient clipping.",
    check=check,
    bad=[_bad_deep_std1, _bad_relu_rnn],
    good=[_good_raw_scale_input, _good_tiny_input_then_layernorm],
    needs="forward",
    thresholds=(
        f"An activation whose rms exceeds {GROWTH:g}× the input's rms (or {GROWTH:g} for inputs of scale "
        f"below 1): 'orders of magnitude' in causes.md, far beyond the √depth growth of healthy residual "
        f"stacks. The root is the first layer up to there whose output/input rms is ≥ {LAYER_GAIN:g} "
        "(CS231n: activations should keep unit scale layer to layer). Own reasoning for the exact numbers."
    ),
)
