"""NBD294 no-gradient: a layer's trainable parameters get a gradient that is exactly zero although
later layers get real ones, and no dead or saturated activation explains it: its output passes through
an operation whose derivative is zero everywhere (`torch.round`, `floor`, `sign`, a quantisation)
before it reaches the loss. The graph is intact, so `.grad` is a tensor of zeros, not None."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import (RELU_TYPES, SQUASH_TYPES, WEIGHTED_TYPES, ancestors, backward_ran, fmt, leaf_calls, params_of,
                      shape, zero_weight)

DEAD = 0.9   # a ReLU this dead, or a squash this saturated, after the layer explains a zero gradient


def explained(trace, call) -> bool:
    """A ReLU-family layer after `call` with nearly all units dead, a sigmoid/tanh nearly saturated, a
    later layer with an all-zero weight or an all-zero output, or `call`'s own output all ≤ 0 (a
    functional relu zeroes it)."""
    out = call.outputs[0] if call.outputs else None
    if out is not None and out.has_values and out.numel and out.max is not None and out.max <= 0:
        return True
    if zero_gate_above(trace, call):
        return True
    for c in trace.calls[call.index + 1:]:
        if c.type in RELU_TYPES and c.outputs and (c.outputs[0].extra.get("dead_unit_frac") or 0) >= DEAD:
            return True
        if c.type in SQUASH_TYPES and c.inputs and (c.inputs[0].extra.get("abs_ge5_frac") or 0) >= DEAD:
            return True
        if zero_weight(trace, c) is not None:  # a zero-initialised layer or gamma: zeros by design
            return True
        if c.outputs and c.outputs[0].has_values and c.outputs[0].numel and c.outputs[0].zero_frac == 1.0:
            return True  # a later layer outputs only zeros (Dropout(p=1), a mask of zeros): its finding
    return False


def zero_gate_above(trace, call) -> bool:
    """A module enclosing `call` owns a parameter that is exactly zero and learns: a ReZero alpha or a
    zero-initialised LayerScale gates the branch, whose layers get exact zeros until its first step."""
    for outer in ancestors(trace, call)[:64]:
        for p in params_of(trace, outer.name):
            st = p.stats
            if (st is not None and st.has_values and st.min == 0 and st.max == 0 and p.requires_grad
                    and (p.grad_norm or 0) > 0):
                return True
    return False


def check(trace):
    if not backward_ran(trace):
        return
    trained = [p for p in trace.params if p.requires_grad and p.grad_norm]
    if not trained:
        return  # nothing gets a gradient: the loss or the output is the problem (other rules)
    for call in leaf_calls(trace):
        if call.type not in WEIGHTED_TYPES or not call.outputs:
            continue
        own = [p for p in params_of(trace, call.name) if p.requires_grad]
        if not own or any(p.grad_norm != 0.0 for p in own):
            continue  # None is NBD290's (cut from the graph); a non-zero norm trains
        grad = call.grads[0] if call.grads else None
        if grad is None or not grad.has_values or grad.norm != 0.0 or explained(trace, call):
            continue
        later = [p.name for p in trained if p.module != call.name][:3]
        message = (f"`{call.name}` ({call.type}) gets a gradient of exactly zero for all its {len(own)} "
                   f"parameter tensor(s), and so does its output {shape(call.outputs[0])}, while later "
                   f"parameters train ({', '.join(f'`{n}`' for n in later)}). No dead or saturated "
                   f"activation explains it: its output goes through an operation with a zero derivative "
                   f"(`torch.round`, `floor`, `ceil`, `sign`, a quantisation) before the loss.")
        fix = ("Make that step differentiable: a straight-through estimator `x + (x.round() - x).detach()` "
               "keeps the rounded values in forward and passes the gradient through, or round only at "
               "inference.")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"params": [p.name for p in own], "output_grad_norm": fmt(grad.norm)})


class _Rounded(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(6, 4)
        self.dec = nn.Linear(4, 1)

    def forward(self, x):
        return self.dec(torch.round(self.enc(x)))


def _bad_round_in_forward():
    torch.manual_seed(11)
    return dict(model=_Rounded(), inputs=torch.randn(16, 6), target=torch.randn(16, 1), loss=nn.MSELoss())


class _Quantised(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.floor(self.conv(x) * 8) / 8  # a hand-written 3-bit quantiser
        return self.head(h.mean((2, 3)))


def _bad_floor_quantiser():
    torch.manual_seed(12)
    return dict(model=_Quantised(), inputs=torch.randn(8, 1, 6, 6), target=torch.randint(0, 2, (8,)))


class _StraightThrough(_Rounded):
    def forward(self, x):
        h = self.enc(x)
        return self.dec(h + (h.round() - h).detach())


def _good_straight_through():
    torch.manual_seed(11)
    return dict(model=_StraightThrough(), inputs=torch.randn(16, 6), target=torch.randn(16, 1),
                loss=nn.MSELoss())


def _good_zero_initialised_gamma():
    # a residual branch whose last batch-norm gamma starts at zero passes back zeros by design
    torch.manual_seed(11)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            nn.init.zeros_(self.bn.weight)

        def forward(self, x):
            return torch.relu(x + self.bn(self.conv(x)))

    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), Block(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(4, 2))
    return dict(model=m, inputs=torch.randn(6, 1, 8, 8), target=torch.randint(0, 2, (6,)))


def _good_dropout_of_everything_is_not_this_rule():
    # Dropout(p=1) zeroes the whole activation: constant-output's finding, not a zero-derivative op
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(p=1.0), nn.Linear(8, 2))
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.randint(0, 2, (16,)))


def _good_dead_relu_is_not_this_rule():
    # all-dead ReLUs zero the gradient too: that is dead-relu's finding, not a zero-derivative op
    torch.manual_seed(11)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1))
    nn.init.constant_(m[0].bias, -20.0)
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.randn(16, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD294",
    cause="no-gradient",
    severity="error",
    title="A layer gets an exactly zero gradient (a zero-derivative operation after it)",
    explanation=(
        "`torch.round`, `floor`, `ceil` and `sign` have a derivative of zero almost everywhere, so "
        "autograd passes back exact zeros: every layer before them keeps its initial weights while "
        "the loss still falls through the layers after. The graph is not cut (`.grad` is a tensor, "
        "not None), which makes this harder to spot than a `.detach()`. Quantisation-aware training "
        "and discrete latent codes use a straight-through estimator for this reason."
    ),
    fix="Use a straight-through estimator (`x + (x.round() - x).detach()`) or round only at inference.",
    check=check,
    bad=[_bad_round_in_forward, _bad_floor_quantiser],
    good=[_good_straight_through, _good_zero_initialised_gamma, _good_dead_relu_is_not_this_rule,
          _good_dropout_of_everything_is_not_this_rule],
    needs="backward",
    thresholds=(f"Exact zeros: every trainable parameter of the layer and its output gradient have norm 0, "
                f"another parameter's is not, and no ReLU after it has ≥ {DEAD:.0%} dead units, no "
                f"sigmoid/tanh ≥ {DEAD:.0%} saturated inputs, no later layer an all-zero weight, and its "
                f"output is not all ≤ 0."),
)
