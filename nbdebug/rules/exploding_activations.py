"""NBD210 exploding-activations: the activation scale grows by orders of magnitude from the input
through the layers (a recurrence that compounds, weights that multiply the scale at each layer)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import RECURRENT_TYPES, fmt, leaf_calls, module_expr, rms

GROWTH = 1e2        # two orders of magnitude above the input's scale (or above 1 for tiny inputs)
LAYER_GAIN = 10.0   # one layer multiplying its input's scale by 10 or more is where it starts
COMPOUND_GAIN = 1.5  # else: layers that each multiply the scale by 1.5+ (healthy ones keep it near 1)
CONTAINER_TYPES = ("Sequential", "ModuleList", "ModuleDict")
OWN_PARAM_SCALE = 10.0   # a block's own scale/gain parameter this large explains its arithmetic


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


def _grown(c, base) -> bool:
    scale = rms(c.outputs[0]) if c.outputs and c.outputs[0].is_float else math.nan
    return math.isfinite(scale) and scale / base >= GROWTH


def _normalises(call) -> bool:
    """A normalisation layer brings its input to unit scale by construction: a 'gain' from a small
    input up to 1 is not growth (LayerNorm, BatchNorm2d, GroupNorm, RMSNorm, a custom LayerNorm2d)."""
    return "Norm" in call.type


def _peak(trace, leaves, base):
    """The first layer whose output has grown past GROWTH, or, when a custom module's own arithmetic
    got there first (`x * scale` inside a block's forward, its layers all at normal scale), that
    module: whichever comes first."""
    first_leaf = next((c for c in leaves if _grown(c, base)), None)
    leaf_ids = {c.index for c in leaf_calls(trace)}
    grown = [c for c in trace.calls if _grown(c, base)]
    parents = {c.parent for c in grown}
    inner = [c for c in grown if c.index not in leaf_ids and c.index not in parents
             and c.type not in CONTAINER_TYPES]
    found = [c for c in (first_leaf, inner[0] if inner else None) if c is not None]
    return min(found, key=lambda c: c.index) if found else None


def _compounding(trace, peak, upto) -> list:
    """No single steep layer: the layers whose moderate gains (>= COMPOUND_GAIN) multiply up to the
    peak. Weighted leaves first; else custom modules whose own forward scales (x * c in a block)."""
    growing = [c for c in upto if c.params and not _normalises(c) and _gain(c) >= COMPOUND_GAIN]
    if len(growing) >= 2:
        return growing
    blocks = [c for c in trace.calls if c.parent is not None and c.index <= peak.index
              and c.type not in CONTAINER_TYPES and c.index not in {x.index for x in upto}
              and _gain(c) >= COMPOUND_GAIN]
    return blocks if len(blocks) >= 2 else []


def check(trace):
    leaves = [c for c in leaf_calls(trace) if c.outputs and c.outputs[0].is_float]
    ref = _reference_scale(trace, leaves)
    if not math.isfinite(ref):
        return
    base = max(ref, 1.0)
    peak = _peak(trace, leaves, base)
    if peak is None:
        return
    upto = [c for c in leaves if c.index <= peak.index]
    steep = [c for c in upto if not _normalises(c) and _gain(c) >= LAYER_GAIN]
    if not steep and peak.index not in {c.index for c in leaves} and _gain(peak) >= LAYER_GAIN:
        steep = [peak]   # a block whose own arithmetic multiplies the scale its layers keep
    growing = [] if steep else _compounding(trace, peak, upto)
    root = steep[0] if steep else growing[0] if growing else peak
    growth = rms(peak.outputs[0]) / base
    message = (f"Activations grow from scale {fmt(ref)} at the input to {fmt(rms(peak.outputs[0]))} at "
               f"`{peak.name}` ({peak.type}), {fmt(growth)}× larger")
    if steep:
        message += (f"; `{root.name}` ({root.type}) alone multiplies its input's scale by "
                    f"{fmt(_gain(root))}")
    elif growing:
        gains = [_gain(c) for c in growing]
        message += (f"; {len(growing)} layers from `{root.name}` ({root.type}) on each multiply it by "
                    f"{fmt(min(gains))}–{fmt(max(gains))}, and the factors compound")
    message += "."
    expr = module_expr(root.name)
    if root.type in RECURRENT_TYPES:
        fix = (f"Keep the recurrence contractive: `nn.init.orthogonal_({expr}.weight_hh_l0)` (or the "
               f"default init), use an LSTM/GRU instead of a ReLU RNN, and clip gradients "
               f"(`torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)`).")
    elif root.index not in {c.index for c in leaves}:
        own = [p for p in trace.params if p.module == root.name and p.stats is not None
               and rms(p.stats) >= OWN_PARAM_SCALE]
        if own:
            p = own[0]
            message += (f" Its own parameter `{p.name}` {list(p.shape)} has scale {fmt(rms(p.stats))}, and "
                        f"its forward multiplies by it.")
            fix = (f"Initialise `{p.name}` at its intended scale (a layer scale / gain starts near 1e-6 to "
                   f"1, e.g. `nn.Parameter(1e-6 * torch.ones(dim))`): {fmt(rms(p.stats))} multiplies every "
                   f"residual branch it scales.")
        else:
            fix = (f"The arithmetic in `{root.name}`'s forward ({root.type}) multiplies the scale that its "
                   f"layers keep: check constant factors applied there at every layer (a "
                   f"`* math.sqrt(d_model)` belongs once after the embedding), and consider a LayerNorm at "
                   f"the end of each block.")
    else:
        fix = (f"Bring `{root.name}` back to a fan-in based scale (`{expr}.reset_parameters()` or "
               f"kaiming/xavier init), check the input normalisation, and consider a normalisation layer "
               f"(BatchNorm/LayerNorm) after it.")
    yield RULE.finding(root.name, message, fix, call=root.index,
                       evidence={"input_scale": ref, "peak": peak.name, "peak_scale": rms(peak.outputs[0]),
                                 "growth": growth, "layer_gain": _gain(root)})


class _LayerScaleBlock(nn.Module):
    """A residual block with a per-channel layer scale, x + gamma * mlp(norm(x)) (ConvNeXt, CaiT)."""
    def __init__(self, d, gamma):
        super().__init__()
        self.norm, self.fc1, self.fc2 = nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.gamma = nn.Parameter(gamma * torch.ones(d))

    def forward(self, x):
        return x + self.gamma * self.fc2(torch.relu(self.fc1(self.norm(x))))


def _layer_scaled(gamma):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.LayerNorm(16), _LayerScaleBlock(16, gamma), _LayerScaleBlock(16, gamma),
                      nn.LayerNorm(16), nn.Linear(16, 3))
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.arange(8) % 3)


def _bad_layer_scale_1e6():
    return _layer_scaled(1e6)    # meant 1e-6


def _good_layer_scale_1e_minus_6():
    return _layer_scaled(1e-6)


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


class _ScaledBlock(nn.Module):
    """x -> fc(x) * sqrt(d): the scaling is the block's own arithmetic, which no leaf call shows."""

    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.scale = d ** 0.5

    def forward(self, x):
        return self.fc(x) * self.scale


def _bad_sqrt_d_in_every_block():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(*[_ScaledBlock(64) for _ in range(4)]), inputs=torch.randn(4, 64))


def _good_embedding_scaled_once():
    # emb(ids) * sqrt(d_model) once, as the Transformer paper does: x16, not orders of magnitude
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 256)
            self.enc = nn.TransformerEncoderLayer(256, 4, 256, dropout=0.0, batch_first=True)

        def forward(self, ids):
            return self.enc(self.emb(ids) * 256 ** 0.5)

    return dict(model=Net().eval(), inputs=torch.randint(0, 50, (2, 6)))


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
    bad=[_bad_deep_std1, _bad_relu_rnn, _bad_sqrt_d_in_every_block, _bad_layer_scale_1e6],
    good=[_good_raw_scale_input, _good_tiny_input_then_layernorm, _good_embedding_scaled_once,
          _good_layer_scale_1e_minus_6],
    needs="forward",
    thresholds=(
        f"An activation whose rms exceeds {GROWTH:g}× the input's rms (or {GROWTH:g} for inputs of scale "
        f"below 1): 'orders of magnitude' in causes.md, far beyond the √depth growth of healthy residual "
        f"stacks. The root is the first layer up to there whose output/input rms is ≥ {LAYER_GAIN:g} "
        "(CS231n: activations should keep unit scale layer to layer). Own reasoning for the exact numbers."
    ),
)
