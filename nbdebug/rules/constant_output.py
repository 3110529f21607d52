"""NBD240 constant-output: the model gives the same output for every sample although the inputs differ."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import (RELU_TYPES, SQUASH_TYPES, fmt, leaf_calls, model_output, module_expr, producer, rms, shape,
                      zero_initialised)

EXACT = 1e-6       # spread across the batch / output scale: float32 round-off, nothing more
BACKED = 1e-3      # nearly constant, and a dead or saturated layer explains why
DEAD_BACKING = 0.9


def _inputs_vary(trace) -> bool:
    floats = [s for s in trace.inputs if s.is_float and s.has_values]
    if not floats:
        return True  # token ids and other integers: only exact constancy is judged
    return any((s.extra.get("batch_std") or 0) > EXACT * max(rms(s), 1e-30) for s in floats)


def _backing(trace):
    """A layer that explains a (nearly) constant output: dead ReLUs or a saturated sigmoid/tanh."""
    for c in trace.calls:
        if c.type in RELU_TYPES and c.outputs and (c.outputs[0].extra.get("dead_unit_frac") or 0) >= DEAD_BACKING:
            return c
        if c.type in SQUASH_TYPES and c.inputs and (c.inputs[0].extra.get("abs_ge5_frac") or 0) >= DEAD_BACKING:
            return c
    return None


def _where_variation_dies(trace):
    """The first leaf call whose output is one repeated value while its input was not."""
    for c in leaf_calls(trace):
        if not c.inputs or not c.outputs:
            continue
        i, o = c.inputs[0], c.outputs[0]
        if o.is_float and o.has_values and o.numel > 1 and o.std == 0 and i.has_values and (i.std or 0) > 0:
            return c
    return None


def check(trace):
    out = model_output(trace)
    if out is None or not out.is_float or not out.has_values or not out.finite or len(out.shape) < 1:
        return
    if out.shape[0] < 2 or out.numel < 2:
        return
    spread = out.extra.get("batch_std")
    if spread is None or math.isnan(spread) or not _inputs_vary(trace):
        return
    scale = rms(out)
    ratio = spread / scale if scale > 0 else (0.0 if spread == 0 else math.inf)
    backing = _backing(trace)
    if not (ratio <= EXACT or (ratio <= BACKED and backing is not None)):
        return
    dies = _where_variation_dies(trace)
    culprit = dies or backing
    where = culprit.name if culprit is not None else ""
    at = f"; the variation between samples disappears at `{culprit.name}` ({culprit.type})" if culprit else ""
    message = (f"The output {shape(out)} is the same for all {out.shape[0]} samples (spread across the batch "
               f"{fmt(spread)} against a scale of {fmt(scale)}) although the inputs differ{at}.")
    # the layer that makes the output: with a zero weight and a bias, its output varies across units
    # but not across the batch, which _where_variation_dies (one repeated value) does not see
    # a zero-initialised output layer explains it whatever happened before it (zero convs at the end of
    # residual branches, as in a diffusion UNet, make inner outputs constant too)
    zero_layer = producer(trace, out.ref)
    zeroed = zero_initialised(trace, zero_layer)
    if zeroed is None and dies is not None:
        zero_layer, zeroed = dies, zero_initialised(trace, dies)
    if zeroed is not None:
        dies = zero_layer
        learns = (f"; its gradient (norm {fmt(zeroed.grad_norm)}) is not zero, so the first step moves it"
                  if zeroed.grad_norm else "")
        message = (f"The output {shape(out)} is the same for all {out.shape[0]} samples because `{dies.name}` "
                   f"({dies.type}) has an all-zero weight{learns}. A zero-initialised output layer is a "
                   f"common choice and harmless.")
        fix = (f"Nothing to do if the zero init is intended. If not, give `{dies.name}` its default "
               f"initialisation: `{module_expr(dies.name)}.reset_parameters()`.")
        yield RULE.finding(dies.name, message, fix, call=dies.index, severity="info",
                           evidence={"batch_std": spread, "scale": scale, "ratio": ratio,
                                     "zero_weight": zeroed.name})
        return
    if culprit is not None and culprit.type in RELU_TYPES and culprit.outputs and \
            culprit.outputs[0].ref == out.ref:
        fix = (f"The final `{culprit.name}` ({culprit.type}) clamps every output to 0: remove it from the "
               f"head (a regression or logit output should be the raw Linear output), or fix the negative "
               f"pre-activations that reach it.")
    elif culprit is not None:
        fix = (f"Make `{culprit.name}` pass information again (see its dead/saturated units: reset the "
               f"layer before it, normalise the input), then check that every later layer uses its input.")
    else:
        fix = ("Check that forward really uses its input (no leftover constant, `torch.zeros_like`, or a "
               "detached/overwritten tensor), and that no layer clamps or zeroes everything.")
    yield RULE.finding(where, message, fix, call=culprit.index if culprit is not None else 0,
                       evidence={"batch_std": spread, "scale": scale, "ratio": ratio,
                                 "backed_by": backing.name if backing is not None else None})


def _bad_relu_regression_head():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2), nn.ReLU())
    nn.init.constant_(m[2].bias, -4.0)
    return dict(model=m, inputs=torch.randn(12, 3))


def _bad_input_ignored():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(5, 3)

        def forward(self, x):
            h = self.fc(x)
            return self.fc(torch.zeros_like(h[:, :1]).expand(-1, 5))  # meant self.fc(x)

    return dict(model=Net(), inputs=torch.randn(6, 5))


def _good_eval_cnn_nearly_constant():
    # A fresh CNN in eval mode gives outputs that differ only a little between samples: normal.
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 5)).eval()
    return dict(model=m, inputs=torch.randn(6, 3, 16, 16))


def _good_zero_initialised_output_layer():
    # zero-initialised last layer (diffusion models, ControlNet): constant at init, learns at once
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.SiLU(), nn.Linear(16, 4))
    nn.init.zeros_(m[2].weight)
    nn.init.zeros_(m[2].bias)
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.randn(8, 4), loss=nn.MSELoss())


def _good_identical_samples():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    return dict(model=m, inputs=torch.ones(5, 4))


RULE = Rule(
    code="NBD240",
    cause="constant-output",
    severity="warning",
    title="The output is the same for every sample",
    explanation=(
        "If the output does not change when the input changes, the model cannot fit anything that "
        "depends on the input: the loss plateaus at the value of the best constant. Usual causes: a "
        "final ReLU (or clamp) on a regression head that zeroes every output, dead ReLUs or saturated "
        "sigmoids upstream, a forward that overwrites or ignores its input, or weights that collapsed. "
        "A fresh network whose outputs differ only slightly between samples is normal and not reported: "
        "this needs the spread across the batch to vanish. A layer whose weight is exactly zero but gets "
        "a gradient (a zero-initialised output layer) is reported as info only."
    ),
    fix="Find the layer where the samples stop differing (dead or clamping activation, ignored input) and "
        "fix it; remove a final ReLU from regression or logit heads.",
    check=check,
    bad=[_bad_relu_regression_head, _bad_input_ignored],
    good=[_good_eval_cnn_nearly_constant, _good_identical_samples, _good_zero_initialised_output_layer],
    needs="forward",
    thresholds=(
        f"Mean over units of the std across the batch ≤ {EXACT:g} × the output's rms (float32 round-off: "
        f"exact constancy), or ≤ {BACKED:g} × when a ReLU layer has ≥ {DEAD_BACKING:.0%} dead units or a "
        f"sigmoid/tanh has ≥ {DEAD_BACKING:.0%} of its inputs beyond ±5; the inputs must differ (their "
        "spread above the same round-off). Own reasoning: healthy fresh models in eval mode show ratios "
        "around 1e-2."
    ),
)
