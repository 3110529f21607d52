"""NBD201 bad-init: weights far larger than any fan-in based initialisation (uniform(-100, 100), N(0, 1)
on a wide layer, a recurrent matrix whose spectral radius is far above 1)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import RECURRENT_TYPES, WEIGHTED_TYPES, first_calls, fmt, module_expr, rms

# std·sqrt(fan_in) of the usual initialisations: PyTorch's default kaiming_uniform(a=√5) 0.58,
# LeCun/orthogonal 1, He (kaiming for ReLU) 1.41, Xavier <= 1.41, tanh gain 5/3 -> 1.67.
DEFAULT_GAIN = 1 / math.sqrt(3)
FEEDFORWARD_BACKED = 4.0     # ... flagged when the layer's own output/input scale confirms it
FEEDFORWARD_ALONE = 10.0     # ... flagged on the weights alone
RECURRENT_BACKED = 2.0       # spectral radius ~ std·sqrt(n) (circular law): > 1 explodes over time
RECURRENT_ALONE = 3.0
CALL_GAIN = 4.0              # output rms / input rms of the layer's call that backs the weights
CHECKED_TYPES = WEIGHTED_TYPES + RECURRENT_TYPES + ("MultiheadAttention",)



def _is_weight(p) -> bool:
    last = p.name.rsplit(".", 1)[-1]
    return len(p.shape) >= 2 and p.fan_in > 0 and "weight" in last


def _call_gain(call) -> float:
    if call is None or not call.inputs or not call.outputs:
        return math.nan
    i, o = rms(call.inputs[0]), rms(call.outputs[0])
    if not call.outputs[0].finite and call.inputs[0].finite:
        return math.inf
    return o / i if i > 0 else math.nan


FAN_OUT_MATCH = 0.25         # within 25 % of a kaiming fan-out std counts as that scheme


def _fan_out_scheme(p, call, scale: float) -> bool:
    """A conv initialised with `kaiming_normal_(w, mode='fan_out')` (torchvision's ResNet, MobileNet and
    EfficientNet init): std sqrt(2 / (out_channels * kernel)) or sqrt(1 / ...). On a channel-reducing
    conv (the squeeze of a squeeze-excite block) that is several times the fan-in scale, by design."""
    if call.type not in ("Conv1d", "Conv2d", "Conv3d") or len(p.shape) < 3:
        return False
    fan_out = p.shape[0] * math.prod(p.shape[2:])
    if fan_out >= p.fan_in:
        return False
    return any(abs(scale / math.sqrt(g / fan_out) - 1) <= FAN_OUT_MATCH for g in (1.0, 2.0))


def _suspects(trace) -> list:
    calls = first_calls(trace)
    found = []
    for p in trace.params:
        call = calls.get(p.module)
        if call is None or call.type not in CHECKED_TYPES or not _is_weight(p) or p.stats is None:
            continue
        scale = rms(p.stats)
        if math.isnan(scale):
            continue
        gain = scale * math.sqrt(p.fan_in)
        recurrent = "weight_hh" in p.name
        backed_at, alone_at = (RECURRENT_BACKED, RECURRENT_ALONE) if recurrent else (FEEDFORWARD_BACKED,
                                                                                     FEEDFORWARD_ALONE)
        layer_gain = _call_gain(call)
        backed = layer_gain >= (10.0 if recurrent else CALL_GAIN)
        if (gain >= alone_at or (gain >= backed_at and backed)) and not _fan_out_scheme(p, call, scale):
            found.append(dict(param=p, call=call, gain=gain, scale=scale, recurrent=recurrent,
                              layer_gain=layer_gain))
    return found


def _fix(s) -> str:
    p = s["param"]
    expr = module_expr(p.module)
    attr = p.name.rsplit(".", 1)[-1]
    if s["recurrent"]:
        return (f"Re-initialise the recurrent weights with spectral radius about 1: "
                f"`nn.init.orthogonal_({expr}.{attr})`, or PyTorch's default (uniform ±1/√hidden = "
                f"±{fmt(1 / math.sqrt(p.fan_in))}) with `{expr}.reset_parameters()`; clip gradients, or use "
                f"an LSTM/GRU.")
    target = DEFAULT_GAIN / math.sqrt(p.fan_in)
    return (f"Re-initialise `{p.module}` with a fan-in based scheme: `{expr}.reset_parameters()` (PyTorch's "
            f"default, std {fmt(target)} here) or `nn.init.kaiming_normal_({expr}.weight, "
            f"nonlinearity='relu')` (std {fmt(math.sqrt(2 / p.fan_in))}), and reset its bias too.")


def check(trace):
    suspects = _suspects(trace)
    if not suspects:
        return
    s = suspects[0]
    p, call = s["param"], s["call"]
    typical = DEFAULT_GAIN / math.sqrt(p.fan_in)
    others = sorted({x["param"].module for x in suspects[1:]} - {p.module})
    more = f"; {len(others)} more layer(s) too ({', '.join(f'`{o}`' for o in others[:4])})" if others else ""
    grows = (f", and the layer multiplies its input's scale by {fmt(s['layer_gain'])}"
             if math.isfinite(s["layer_gain"]) and s["layer_gain"] >= CALL_GAIN else "")
    if s["recurrent"]:
        gauge = (f"spectral radius about std·√hidden = {fmt(s['gain'])}, where a stable recurrence needs "
                 f"about 1")
    else:
        gauge = f"std·√fan_in = {fmt(s['gain'])}, healthy about 0.5–1.7"
    kind = "recurrent weights" if s["recurrent"] else "weights"
    message = (f"`{p.name}` ({call.type}, fan-in {p.fan_in}) has {kind} of scale {fmt(s['scale'])}, "
               f"{fmt(s['scale'] / typical)}× PyTorch's default {fmt(typical)} ({gauge}){grows}{more}.")
    fix = _fix(s)
    if others:
        fix += (" For every layer at once: `for m in model.modules(): getattr(m, 'reset_parameters', "
                "lambda: None)()`.")
    yield RULE.finding(p.module, message, fix, call=call.index,
                       evidence={"param": p.name, "gain": s["gain"], "scale": s["scale"],
                                 "layer_gain": s["layer_gain"], "others": others})


def _bad_uniform_100():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 3))
    nn.init.uniform_(m[0].weight, -50, 50)
    return dict(model=m, inputs=torch.randn(8, 12))


def _bad_std1_conv():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Conv2d(16, 16, 3), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    for layer in (m[0], m[2]):
        nn.init.normal_(layer.weight, std=1.0)   # fan-in 27 and 144: gains 5 and 12 per layer
    return dict(model=m, inputs=torch.randn(4, 3, 16, 16))


def _bad_gru_recurrence():
    torch.manual_seed(0)
    m = nn.GRU(3, 24, batch_first=True)
    nn.init.normal_(m.weight_hh_l0, std=1.5)
    return dict(model=m, inputs=torch.randn(2, 20, 3))


def _good_default_init():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16 * 14 * 14, 10))
    return dict(model=m, inputs=torch.randn(4, 3, 16, 16))


def _good_fan_out_squeeze_excite():
    # torchvision's EfficientNet init: every conv kaiming_normal_(mode='fan_out'), the SE squeeze too
    torch.manual_seed(0)

    class SE(nn.Module):
        def __init__(self, c, r):
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(c, r, 1), nn.Conv2d(r, c, 1)

        def forward(self, x):
            s = torch.sigmoid(self.fc2(F.silu(self.fc1(x.mean((2, 3), keepdim=True)))))
            return x * s

    m = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.SiLU(), SE(64, 4), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(64, 5))
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out")
    return dict(model=m, inputs=torch.randn(4, 3, 8, 8), target=torch.arange(4) % 5)


def _good_kaiming_and_orthogonal():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 32)          # N(0, 1) by design: not a weight to judge
            self.rnn = nn.RNN(32, 32, batch_first=True)
            self.fc = nn.Linear(32, 4)
            nn.init.orthogonal_(self.rnn.weight_hh_l0)
            nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")

        def forward(self, ids):
            return self.fc(self.rnn(self.emb(ids))[0][:, -1])

    return dict(model=Net(), inputs=torch.randint(0, 50, (4, 15)))


RULE = Rule(
    code="NBD201",
    cause="bad-init",
    severity="warning",
    title="Weights far larger than a fan-in based initialisation",
    explanation=(
        "Each layer multiplies the scale of its input by about std(W)·sqrt(fan_in). The usual "
        "initialisations keep that factor near 1 (PyTorch's default 0.58, He 1.41), so activations keep "
        "their scale through depth. Weights drawn from uniform(-100, 100), or N(0, 1) on a layer with "
        "hundreds of inputs, multiply it by 10 to 100s at every layer: activations explode, sigmoid and "
        "tanh saturate, the loss starts huge or overflows, and the first steps are wild. A recurrent "
        "matrix is applied once per time step, so a factor above 1 compounds over the sequence. Usual "
        "causes: a hand-written init (`uniform_(-a, a)` with a large a, `normal_(std=1)`), weights "
        "created with `torch.randn` as nn.Parameter, or a loading mistake."
    ),
    fix="Re-initialise with a fan-in based scheme (the layer's `reset_parameters()`, kaiming_* for ReLU, "
        "xavier_* for tanh, orthogonal for recurrent matrices).",
    check=check,
    bad=[_bad_uniform_100, _bad_std1_conv, _bad_gru_recurrence],
    good=[_good_default_init, _good_kaiming_and_orthogonal, _good_fan_out_squeeze_excite],
    needs="forward",
    thresholds=(
        "std·√fan_in (computed as rms of the weight) ≥ 10 on its own, or ≥ 4 when the layer's recorded "
        "output is ≥ 4× its input in scale; for recurrent (weight_hh) matrices ≥ 3, or ≥ 2 when the "
        "layer grows its input ≥ 10×. Reference points: PyTorch's default 1/√3 = 0.58, LeCun 1, He "
        "√2 = 1.41 (He et al. 2015; CS231n 'Weight initialization'); spectral radius ≈ std·√n for random "
        "matrices (circular law), which must stay near 1 for a stable recurrence (Pascanu et al. 2013). "
        "Only Linear/Conv/RNN/attention weights are judged: Embedding tables are N(0, 1) by design and "
        "norm-layer weights are 1-D. A channel-reducing conv whose std is within 25 % of kaiming's fan-out "
        "std (√(1 or 2 / (out_channels · kernel)), torchvision's init) is that scheme, not a bug."
    ),
)
