"""NBD230 dead-relu: most units of a ReLU-family layer output zero for every sample of the batch."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import RELU_TYPES, ancestors, fmt, module_expr, params_of, pct, producer

DEAD_FRAC = 0.7       # most units dead
MIN_BATCH = 8         # a healthy unit is never positive by chance with probability ~0.5^batch
ALL_DEAD_SAMPLES = 16 # every unit dead: trusted once batch·units makes chance negligible (0.5^16)


def _units(s) -> int:
    """What dead_unit_frac counts: channels of a feature map (N, C, H, W, ...), else positions."""
    if len(s.shape) >= 4:
        return s.shape[1]
    return max(1, s.numel // s.shape[0]) if s.shape and s.shape[0] else 0


def _unit_word(s) -> str:
    return "channels" if len(s.shape) >= 4 else "units"


def _dead(call):
    out = call.outputs[0] if call.outputs else None
    if out is None or not out.shape or out.shape[0] < 2:
        return None
    frac = out.extra.get("dead_unit_frac")
    if frac is None or math.isnan(frac):
        return None
    batch, units = out.shape[0], _units(out)
    if frac >= DEAD_FRAC and batch >= MIN_BATCH:
        return frac
    if frac >= 1.0 and batch * units >= ALL_DEAD_SAMPLES:
        return frac
    return None


def _root(trace, call):
    """The layer whose output the ReLU received, when it owns parameters: that is what to change."""
    if not call.inputs:
        return None
    src = producer(trace, call.inputs[0].ref, before=call.index)
    if src is None or src.params == 0 or src.index in {c.index for c in ancestors(trace, call)}:
        return None  # made by functional code in an enclosing forward: the ReLU is the place to show
    return src


def _fix(trace, call, src) -> str:
    pre = call.inputs[0] if call.inputs else None
    if src is not None:
        bias = next((p for p in params_of(trace, src.name) if p.name.endswith("bias") and p.stats), None)
        expr = module_expr(src.name)
        if bias is not None and pre is not None and bias.stats.mean < 0 and pre.max <= 0:
            return (f"The bias of `{src.name}` averages {fmt(bias.stats.mean)} and pushes every "
                    f"pre-activation below zero: reset it (`nn.init.zeros_({expr}.bias)`), or use "
                    f"`nn.LeakyReLU(0.01)` so negative units still pass a gradient.")
        return (f"Bring the pre-activations from `{src.name}` back around zero: re-initialise it "
                f"(`{expr}.reset_parameters()`, or kaiming init for ReLU), normalise its input (or add "
                f"BatchNorm before the ReLU), lower the learning rate, or use `nn.LeakyReLU(0.01)`/GELU.")
    return ("Bring the pre-activations back around zero (fan-in based init, input normalisation, BatchNorm "
            "before the ReLU, a lower learning rate), or use `nn.LeakyReLU(0.01)`/GELU.")


def check(trace):
    for call in trace.calls:
        if call.type not in RELU_TYPES:
            continue
        frac = _dead(call)
        if frac is None:
            continue
        out = call.outputs[0]
        src = _root(trace, call)
        pre = call.inputs[0] if call.inputs else None
        why = ""
        if pre is not None and pre.has_values and pre.max <= 0:
            why = f": every input it receives is ≤ 0 (max {fmt(pre.max)}, mean {fmt(pre.mean)})"
        elif pre is not None and pre.has_values:
            why = f" (its input has mean {fmt(pre.mean)}, std {fmt(pre.std)})"
        origin = f", fed by `{src.name}` ({src.type})" if src is not None else ""
        word = _unit_word(out)
        where_in = " at every position" if word == "channels" else ""
        message = (f"`{call.name}` ({call.type}) outputs zero for every one of the {out.shape[0]} samples"
                   f"{where_in} in {pct(frac)} of its {_units(out)} {word}{origin}{why}; those {word} pass no "
                   f"gradient and cannot recover.")
        where = src.name if src is not None else call.name
        yield RULE.finding(where, message, _fix(trace, call, src), call=call.index,
                           evidence={"dead_unit_frac": frac, "batch": out.shape[0], "units": _units(out),
                                     "relu": call.name})


def _bad_negative_bias():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 2))
    nn.init.constant_(m[0].bias, -10.0)
    return dict(model=m, inputs=torch.randn(8, 3, 12, 12))


def _bad_relu6_after_negative_shift():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 40)
            self.act = nn.ReLU6()
            self.out = nn.Linear(40, 1)

        def forward(self, x):
            return self.out(self.act(self.fc(x) - 20.0))

    return dict(model=Net(), inputs=torch.randn(10, 6))


def _good_default_mlp():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=torch.randn(16, 10))


def _good_small_batch():
    # With 3 samples a healthy unit is never positive by chance 1 time in 8: not evidence.
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    return dict(model=m, inputs=torch.randn(3, 4))


RULE = Rule(
    code="NBD230",
    cause="dead-relu",
    severity="warning",
    title="Most ReLU units output zero for every sample",
    explanation=(
        "A ReLU unit whose pre-activation is negative for every input outputs 0 and has gradient 0, so "
        "nothing it feeds can learn through it, and its own weights never change again: the unit is dead. "
        "When most units of a layer are dead the layer passes almost nothing on, the output barely "
        "depends on the input and training stalls. Usual causes: a large negative bias (hand-written "
        "init, or a step with a too-high learning rate that pushed the weights), weights too large for "
        "the fan-in, or an input far from zero mean."
    ),
    fix="Bring the pre-activations back around zero (reset the bias/weights with a fan-in based init, "
        "normalise the input, add BatchNorm, lower the learning rate), or use LeakyReLU/GELU.",
    check=check,
    bad=[_bad_negative_bias, _bad_relu6_after_negative_shift],
    good=[_good_default_mlp, _good_small_batch],
    needs="forward",
    thresholds=(
        f"≥ {DEAD_FRAC:.0%} of the units (positions past the batch dimension) never positive, with a "
        f"batch of ≥ {MIN_BATCH} (a healthy unit is never positive by chance with probability 0.5^batch "
        f"= 0.4 % at 8); or every unit dead once batch × units ≥ {ALL_DEAD_SAMPLES} (chance 0.5^16). "
        "AUTOTRAINER reports 'dying ReLU' when most neurons pass zero gradient; the 70 % is our choice "
        "between that and the ~50 % of units a non-centred input can silence at initialisation."
    ),
)
