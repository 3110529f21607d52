"""NBD220 saturated-activation: most pre-activations of a sigmoid/tanh are so large that its output is
pinned at the bounds and its gradient vanishes; or a softmax layer inside the model whose rows are
one-hot because the scores reaching it are far from unit scale (attention without the 1/√d)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import SQUASH_TYPES, fmt, model_output, pct, producer, rms

SATURATED = 0.5          # DeepDiagnosis: > 50 % of the pre-activations with |x| >= 5
OUTPUT_SATURATED = 0.9   # on the model's own output layer, where confident scores are legal
MIN_VALUES = 8
SOFTMAX_MODULES = ("Softmax", "Softmin", "LogSoftmax")
SOFTMAX_LOGIT_SCALE = 5.0   # scores of rms >= 5 reaching a softmax: the |x| >= 5 of DeepDiagnosis
GRADIENT_AT_5 = {"Sigmoid": 6.6e-3, "Tanh": 1.8e-4, "Hardsigmoid": 0.0, "LogSigmoid": 6.7e-3}


def _norm_layer(pre) -> str:
    if len(pre.shape) == 2:
        return f"nn.BatchNorm1d({pre.shape[1]})"
    if len(pre.shape) >= 3:
        return f"nn.LayerNorm({pre.shape[-1]})"
    return "a normalisation layer"


def _softmax_findings(trace, out):
    """Softmax layers inside the model whose rows are pinned at one class (max probability >= 0.99):
    the softmax form of saturation (unscaled attention scores, logits far from unit scale)."""
    for call in trace.calls:
        if call.type not in SOFTMAX_MODULES or not call.inputs or not call.outputs:
            continue
        frac = call.outputs[0].extra.get("peak99_frac")
        pre = call.inputs[0]
        if frac is None or math.isnan(frac) or frac <= SATURATED or pre.numel < MIN_VALUES:
            continue
        if out is not None and call.outputs[0].ref == out.ref:
            continue  # confident predictions are legal at the output; double-softmax covers losses
        scale = pre.std  # softmax ignores a shift along its dim: the spread is what pins it
        if not scale >= SOFTMAX_LOGIT_SCALE:
            continue  # peaked rows from unit-scale scores are a learned choice, not saturation
        src = producer(trace, pre.ref, before=call.index)
        fed = f" from `{src.name}` ({src.type})" if src is not None and src.index != call.parent else ""
        message = (f"{pct(frac)} of the rows coming out of `{call.name}` ({call.type}) put 99 % or more of "
                   f"their probability on one entry: the scores reaching it{fed} have scale {fmt(scale)}, so "
                   f"the softmax is one-hot and its gradient (p·(1 − p)) all but vanishes.")
        fix = (f"Scale the scores down before `{call.name}`: divide attention scores by √d "
               f"(`scores / math.sqrt(d)`, as `F.scaled_dot_product_attention` does), or normalise the "
               f"inputs of the layer that computes them (LayerNorm).")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"peak99_frac": frac, "score_scale": scale, "values": pre.numel})


def check(trace):
    out = model_output(trace)
    yield from _softmax_findings(trace, out)
    yield from _functional_findings(trace, out)
    for call in trace.calls:
        if call.type not in SQUASH_TYPES or not call.inputs:
            continue
        pre = call.inputs[0]
        frac = pre.extra.get("abs_ge5_frac")
        if frac is None or math.isnan(frac) or pre.numel < MIN_VALUES:
            continue
        is_output = out is not None and bool(call.outputs) and call.outputs[0].ref == out.ref
        if frac <= (OUTPUT_SATURATED if is_output else SATURATED):
            continue
        src = producer(trace, pre.ref, before=call.index)
        fed = f" from `{src.name}` ({src.type})" if src is not None and src.index != call.parent else ""
        grad = GRADIENT_AT_5.get(call.type)
        grad_txt = f", where its gradient is below {fmt(grad)}" if grad else ""
        message = (f"{pct(frac)} of the {pre.numel} pre-activations reaching `{call.name}` ({call.type})"
                   f"{fed} have |x| ≥ 5 (their scale is {fmt(rms(pre))}), so its outputs sit at the bounds"
                   f"{grad_txt}.")
        inputs_rms = max((rms(s) for s in trace.inputs if s.is_float and s.has_values), default=math.nan)
        if math.isfinite(inputs_rms) and inputs_rms > 10:
            first = f"standardise the model's input (its scale is {fmt(inputs_rms)}): `x = (x - mean) / std`"
        elif src is not None and src.params:
            first = f"re-initialise `{src.name}` with xavier/default init so its outputs stay near unit scale"
        else:
            first = "scale the pre-activations down to unit size"
        fix = f"{first[0].upper()}{first[1:]}; or put `{_norm_layer(pre)}` before `{call.name}`."
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"abs_ge5_frac": frac, "values": pre.numel, "output_layer": is_output})


def _functional_findings(trace, out):
    """Modules whose output a functional sigmoid/tanh produced (`torch.sigmoid(gate)`, a soft threshold
    `sigmoid((x - t) / 0.01)`), pinned at the bounds: the same saturation, seen from the output. A module
    that only passes on its child's output is not named twice."""
    modules = {s.ref for c in trace.calls if c.type in SQUASH_TYPES for s in c.outputs}  # seen above
    innermost: dict = {}
    for call in trace.calls:
        if call.type in SQUASH_TYPES or not call.outputs or call.outputs[0].ref in modules:
            continue
        y = call.outputs[0]
        for op in ("sigmoid", "tanh"):
            frac = y.extra.get(f"{op}_bounds_frac")
            if frac is not None and not math.isnan(frac) and y.numel >= MIN_VALUES:
                innermost[y.ref] = (call, op, frac)   # later calls are deeper: the innermost wins
    for call, op, frac in innermost.values():
        y = call.outputs[0]
        is_output = out is not None and y.ref == out.ref
        if frac <= (OUTPUT_SATURATED if is_output else SATURATED):
            continue
        message = (f"{pct(frac)} of the {y.numel} values coming out of `{call.name}` ({call.type}), a "
                   f"torch.{op} in its forward, sit at the bounds (their pre-activations have |x| ≥ 5), "
                   f"so almost no gradient passes back through them.")
        fix = (f"Keep what `{call.name}` feeds to {op} near unit scale: drop or raise a small temperature "
               f"(`x / 0.01` makes a step function), re-initialise the layer that computes it, or normalise "
               f"its input (LayerNorm).")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"bounds_frac": frac, "op": op, "values": y.numel, "output_layer": is_output})


def _bad_tanh_wide_weights():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
    nn.init.normal_(m[0].weight, std=3.0)
    return dict(model=m, inputs=torch.randn(16, 32))


def _bad_sigmoid_gate_on_raw_counts():
    torch.manual_seed(0)

    class Gate(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(3, 8)
            self.gate = nn.Sigmoid()
            self.out = nn.Linear(8, 1)

        def forward(self, x):
            return self.out(self.gate(self.proj(x)) * x.mean(1, keepdim=True))

    return dict(model=Gate(), inputs=torch.rand(20, 3) * 300)


class _Attention(nn.Module):
    def __init__(self, d, scaled):
        super().__init__()
        self.q, self.k = nn.Linear(d, d), nn.Linear(d, d)
        self.softmax = nn.Softmax(dim=-1)
        self.scale = 1 / d ** 0.5 if scaled else 1.0

    def forward(self, x):
        return self.softmax(self.q(x) @ self.k(x).transpose(1, 2) * self.scale) @ x


def _bad_unscaled_attention_softmax():
    # token embeddings scaled by sqrt(d) and scores never divided by sqrt(d): one-hot attention rows
    torch.manual_seed(0)
    return dict(model=_Attention(32, scaled=False), inputs=torch.randn(2, 10, 32) * 32 ** 0.5)


def _good_scaled_attention_softmax():
    torch.manual_seed(0)
    return dict(model=_Attention(32, scaled=True), inputs=torch.randn(2, 10, 32))


class _SoftThreshold(nn.Module):
    """sigmoid((x - t) / temperature): a 'differentiable threshold'."""
    def __init__(self, n, temperature):
        super().__init__()
        self.t = nn.Parameter(torch.zeros(n))
        self.temperature = temperature

    def forward(self, x):
        return torch.sigmoid((x - self.t) / self.temperature)


def _thresholded(temperature):
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.LayerNorm(32), _SoftThreshold(32, temperature), nn.Linear(32, 3))
    return dict(model=m, inputs=torch.randn(16, 10), target=torch.arange(16) % 3, loss=nn.CrossEntropyLoss())


def _bad_functional_sigmoid_at_low_temperature():
    return _thresholded(0.01)


def _good_functional_sigmoid_at_unit_temperature():
    return _thresholded(1.0)


def _good_tanh_standardised():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(32, 8))


def _good_confident_output_sigmoid():
    # A binary classifier whose logits are mostly (not all) beyond ±5: confident, not broken.
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 1), nn.Sigmoid())
    with torch.no_grad():
        m[0].weight.fill_(5.0)  # logits ~ N(0, 10²): about 60 % beyond ±5
    return dict(model=m, inputs=torch.randn(32, 4))


RULE = Rule(
    code="NBD220",
    cause="saturated-activation",
    severity="warning",
    title="Sigmoid/tanh saturated (most pre-activations |x| ≥ 5), or softmax rows one-hot",
    explanation=(
        "Sigmoid and tanh are flat away from zero: at |x| = 5 the sigmoid's slope is 0.007 and tanh's "
        "0.0002. When most of the values reaching them are that large, the outputs are stuck at 0/1 (or "
        "±1), the layer stops carrying information about the input and almost no gradient flows back "
        "through it, so everything before it learns very slowly. The usual cause is scale: unnormalised "
        "input features (values in the hundreds), weights too large for the fan-in, or a missing "
        "normalisation layer. A softmax saturates the same way: when the scores reaching it spread over "
        "tens of units (attention scores q·k without the 1/√d scale), each row puts almost all its "
        "probability on one entry and its gradient p·(1 − p) vanishes."
    ),
    fix="Bring the pre-activations to unit scale: standardise the input, use xavier/default init, or add "
        "a normalisation layer before the activation.",
    check=check,
    bad=[_bad_tanh_wide_weights, _bad_sigmoid_gate_on_raw_counts, _bad_unscaled_attention_softmax,
         _bad_functional_sigmoid_at_low_temperature],
    good=[_good_tanh_standardised, _good_confident_output_sigmoid, _good_scaled_attention_softmax,
          _good_functional_sigmoid_at_unit_temperature],
    needs="forward",
    thresholds=(
        f"More than {SATURATED:.0%} of the pre-activations of a Sigmoid/Tanh/Hardsigmoid/Softsign/"
        f"LogSigmoid with |x| ≥ 5 (DeepDiagnosis, Wardat et al. ICSE 2022), over at least {MIN_VALUES} "
        f"values; on the layer that produces the model's output, more than {OUTPUT_SATURATED:.0%}, since "
        "confident predictions are legal there (own reasoning). Softmax/Softmin/LogSoftmax layers inside the "
        f"model (not its output): more than {SATURATED:.0%} of the rows with a largest probability ≥ 0.99, "
        f"backed by scores of std ≥ {SOFTMAX_LOGIT_SCALE:g} (the |x| ≥ 5 of DeepDiagnosis; own reasoning). "
        "A module whose output a functional torch.sigmoid/tanh produced: the same fractions, read off the "
        "output (values beyond sigmoid(±5) or tanh(±5))."
    ),
)
