"""NBD513 wrong-target: regression targets far beyond the outputs' scale, so that probe steps which
move the weights normally leave the loss where it was: the network would first have to grow its
output by orders of magnitude."""
import torch
import torch.nn as nn

from .base import Rule
from .grad_signals import finite
from .helpers import fmt, rms, shape
from .loss_signals import REGRESSION_LOSSES, output, target, user_loss
from .probe_signals import losses, optimizer_text, ratios

TARGET_SCALE = 10.0    # targets (rms) at least this large ...
OUTPUT_GAP = 1e2       # ... and this many times the outputs'
STILL = 0.01           # the loss moves by less than 1 % of its start over the probe
MIN_STEPS = 5
MOVING = 1e-4          # weights do move (median update/weight ratio): a tiny lr is NBD512's


def applies(trace):
    """(target rms, output rms, loss movement, median update ratio) when it fires, else None."""
    if user_loss(trace) not in REGRESSION_LOSSES:
        return None
    ls = losses(trace)
    if len(ls) < MIN_STEPS or not all(finite(x) for x in ls) or ls[0] <= 0:
        return None
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or not tgt.has_values or not tgt.finite or not tgt.is_float:
        return None
    t_scale, o_scale = rms(tgt), rms(out)
    if not (finite(t_scale) and finite(o_scale)) or t_scale < TARGET_SCALE or o_scale * OUTPUT_GAP > t_scale:
        return None
    moved = max(abs(x - ls[0]) for x in ls) / ls[0]
    rs = sorted(r for r in ratios(trace) if finite(r))
    if moved >= STILL or not rs or rs[len(rs) // 2] < MOVING:
        return None
    return t_scale, o_scale, moved, rs[len(rs) // 2]


def check(trace):
    found = applies(trace)
    if found is None:
        return
    t_scale, o_scale, moved, ratio = found
    tgt = target(trace)
    ls = losses(trace)
    _, _, lr_text = optimizer_text(trace)
    message = (f"The {user_loss(trace)} targets {shape(tgt)} have a scale of {fmt(t_scale)} (mean {fmt(tgt.mean)}, "
               f"std {fmt(tgt.std)}), {fmt(t_scale / max(o_scale, 1e-30))}× the model's outputs ({fmt(o_scale)}). "
               f"In {len(ls)} probe steps with {lr_text} the weights move normally ({fmt(ratio)} of their "
               f"norm per step) but the loss moves by only {fmt(100 * moved)} % ({fmt(ls[0])} to {fmt(ls[-1])}): "
               f"the network must first grow its output {fmt(t_scale / max(o_scale, 1e-30))}-fold, which at this "
               f"pace takes thousands of steps.")
    fix = ("Standardise the targets with the training set's statistics, `y_n = (y - mean) / std`, train on "
           "`y_n` and map predictions back with `pred * std + mean` (for positive, skewed targets "
           "`torch.log1p(y)`); or start the last layer's bias at the targets' mean.")
    yield RULE.finding("target", message, fix,
                       evidence={"target_scale": t_scale, "output_scale": o_scale, "loss_moved": moved,
                                 "update_ratio": ratio, "losses": ls})


def _forecaster():
    return nn.Sequential(nn.Linear(6, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 1))


def _bad_energy_in_kwh_with_adam():
    torch.manual_seed(3)
    m, x = _forecaster(), torch.randn(48, 6)
    y = 4000 + 600 * x[:, :1]
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15)


def _bad_counts_with_l1_and_rmsprop():
    torch.manual_seed(4)
    m, x = _forecaster(), torch.randn(40, 6)
    y = (300 + 50 * x[:, 1:2]).round()
    return dict(model=m, inputs=x, target=y, loss=nn.L1Loss(),
                optimizer=torch.optim.RMSprop(m.parameters(), lr=1e-4), steps=12)


def _good_standardised_targets():
    torch.manual_seed(3)
    m, x = _forecaster(), torch.randn(48, 6)
    y = 4000 + 600 * x[:, :1]
    return dict(model=m, inputs=x, target=(y - y.mean()) / y.std(), loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15)


def _good_head_started_at_the_targets_mean():
    torch.manual_seed(3)
    m, x = _forecaster(), torch.randn(48, 6)
    y = 4000 + 600 * x[:, :1]
    with torch.no_grad():
        m[4].bias.fill_(4000.0)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15)


def _good_large_targets_without_a_probe():
    # no steps: the scale alone is a loss scale, not a finding here (NBD503 owns the extreme ones)
    torch.manual_seed(3)
    m, x = _forecaster(), torch.randn(48, 6)
    return dict(model=m, inputs=x, target=4000 + 600 * x[:, :1], loss=nn.MSELoss())


RULE = Rule(
    code="NBD513",
    cause="wrong-target",
    severity="warning",
    title="Regression targets out of the outputs' reach: the loss does not move",
    explanation=(
        "A fresh network outputs values around 0 to 1. Against targets in the thousands (energy in kWh, "
        "counts, prices), an adaptive optimizer such as Adam moves each weight by about the learning rate "
        "per step whatever the gradient, so the output creeps towards the targets and the loss, of the "
        "order of the targets squared, barely changes: the model looks stuck although every step is "
        "healthy. Standardised targets (or a bias started at their mean) make the first steps count."
    ),
    fix="Standardise (or log-transform) the regression targets and undo it on the predictions.",
    check=check,
    bad=[_bad_energy_in_kwh_with_adam, _bad_counts_with_l1_and_rmsprop],
    good=[_good_standardised_targets, _good_head_started_at_the_targets_mean,
          _good_large_targets_without_a_probe],
    needs="steps",
    thresholds=(f"Under the user's regression loss: target rms ≥ {TARGET_SCALE:g} and ≥ {OUTPUT_GAP:g}× the "
                f"output's, at least {MIN_STEPS} finite probe steps, the loss moving by < {100 * STILL:g} % of "
                f"its start while the median update/weight ratio is ≥ {MOVING:g} (own reasoning: below that "
                "the learning rate itself is the cause, NBD512)."),
)
