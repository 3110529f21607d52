"""NBD426 wrong-target: a regression loss between a bounded head (a final Sigmoid in (0, 1), Tanh in
(-1, 1)) and targets far outside that range: the loss cannot approach 0, and the squash saturates as
it chases the targets, so its gradient vanishes too."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, output_head, shape
from .loss_signals import REGRESSION_LOSSES, output, target, user_loss

RANGES = {"Sigmoid": (0.0, 1.0), "Tanh": (-1.0, 1.0), "Hardsigmoid": (0.0, 1.0), "Hardtanh": (-1.0, 1.0),
          "Softsign": (-1.0, 1.0), "ReLU": (0.0, math.inf), "ReLU6": (0.0, 6.0), "Softplus": (0.0, math.inf)}
MARGIN = 0.5   # outside by half the head's range: a scaling slip, not a target that touches a bound
BELOW = 0.25   # a head bounded below only (ReLU): this share of the targets under its bound
STUCK = 0.7    # ... unless the head is dead (dead-relu's share of dead units): its own finding


def _share_below(tgt, bound: float) -> float:
    """The share of the target's values below `bound`, from its histogram (bins over [min, max])."""
    edges, counts = tgt.hist_edges, tgt.hist
    total = sum(counts)
    if not total or len(edges) != len(counts) + 1:
        return 0.0
    return sum(k for k, hi in zip(counts, edges[1:]) if hi <= bound) / total


def check(trace):
    kind = user_loss(trace)
    if kind not in REGRESSION_LOSSES:
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not tgt.has_values or not tgt.finite or not tgt.is_float:
        return
    head = output_head(trace, out, RANGES)
    if head is None:
        return
    lo, hi = RANGES[head.type]
    if head.type == "Hardtanh":
        lo, hi = head.attrs.get("min_val", lo), head.attrs.get("max_val", hi)
    if math.isinf(hi):  # bounded below only: a good share of the targets must sit under the bound
        stuck = head.outputs[0]
        if (stuck.zero_frac or 0) >= 1.0 or (stuck.extra.get("dead_unit_frac") or 0) >= STUCK:
            return  # the head is dead, stuck at its bound for every input: dead-relu/constant-output
        below = _share_below(tgt, lo)
        if below < BELOW or tgt.min >= lo - MARGIN * max(tgt.std or 0.0, 1e-12):
            return
    else:
        span = hi - lo
        if not (tgt.max > hi + MARGIN * span or tgt.min < lo - MARGIN * span):
            return
    bounds = f"[{fmt(lo)}, ∞)" if math.isinf(hi) else f"({fmt(lo)}, {fmt(hi)})"
    chase = ("outputs its bound wherever it would have to go below it, and passes no gradient there"
             if math.isinf(hi) else
             "saturates as it chases them, so its gradient vanishes too")
    message = (f"The model ends in `{head.name}` ({head.type}), so every prediction lies in {bounds}, but the "
               f"{kind} targets {shape(tgt)} span [{fmt(tgt.min)}, {fmt(tgt.max)}]: the loss cannot get "
               f"near 0 on the targets outside, and the {head.type} {chase}.")
    fix = (f"For an unbounded regression drop the final `{head.type}` (`{head.name}`) and predict raw values; "
           f"or scale the targets into ({fmt(lo)}, {fmt(hi)}) (e.g. min-max) and undo the scaling on the "
           f"predictions.")
    yield RULE.finding(head.name, message, fix, call=head.index,
                       evidence={"head": head.type, "target_min": tgt.min, "target_max": tgt.max})


def _bad_tanh_head_price_targets():
    torch.manual_seed(26)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1), nn.Tanh())
    return dict(model=m, inputs=torch.randn(32, 4), target=torch.rand(32, 1) * 4e5 + 5e4, loss=nn.MSELoss())


def _bad_sigmoid_head_ratings():
    torch.manual_seed(27)
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(20, 6), target=torch.randint(1, 6, (20, 1)).float(),
                loss=nn.L1Loss())


def _bad_relu_head_standardised_targets():
    torch.manual_seed(28)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1), nn.ReLU())
    return dict(model=m, inputs=torch.randn(32, 6), target=torch.randn(32, 1), loss=nn.MSELoss())


def _good_relu_head_counts():
    torch.manual_seed(28)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1), nn.ReLU())
    return dict(model=m, inputs=torch.randn(32, 6), target=torch.randint(0, 10, (32, 1)).float(),
                loss=nn.MSELoss())


def _good_sigmoid_head_unit_targets():
    torch.manual_seed(27)
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(20, 6), target=torch.rand(20, 1), loss=nn.MSELoss())


def _good_unbounded_head():
    torch.manual_seed(26)
    m = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    return dict(model=m, inputs=torch.randn(32, 4), target=torch.rand(32, 1) * 4e5, loss=nn.MSELoss())


RULE = Rule(
    code="NBD426",
    cause="wrong-target",
    severity="error",
    title="Regression targets outside the range of a bounded output layer",
    explanation=(
        "A final Sigmoid keeps predictions in (0, 1), a Tanh in (-1, 1). With MSE/L1/Huber against "
        "targets far outside that range (prices, ratings 1..5, unscaled measurements), no prediction can "
        "reach them: the loss plateaus high, and the squash saturates at its bound, where its gradient "
        "is nearly zero, so the layers before it stop learning as well."
    ),
    fix="Remove the final squash for unbounded targets, or scale the targets into its range.",
    check=check,
    bad=[_bad_tanh_head_price_targets, _bad_sigmoid_head_ratings, _bad_relu_head_standardised_targets],
    good=[_good_sigmoid_head_unit_targets, _good_unbounded_head, _good_relu_head_counts],
    needs="loss",
    thresholds=(f"Targets beyond the head's range by more than {MARGIN:g} × its width (so a target that "
                f"touches 0 or 1 is fine); for a head bounded below only (ReLU, Softplus), ≥ {BELOW:.0%} of "
                f"the targets under its bound and the lowest more than {MARGIN:g} target std below it: a "
                "scaling slip rather than rounding (own reasoning)."),
)
