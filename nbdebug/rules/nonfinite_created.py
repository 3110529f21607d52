"""NBD140 nonfinite-created: NaN/Inf born inside the model or the loss from finite inputs (log or sqrt
of non-positive values, division by zero, exp overflow, fp16 overflow)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import backward_ran, leaf_calls, pct
from .layout import label

LOG_OPS = ("log", "log2", "log10", "xlogy", "special_xlogy")
SQRT_OPS = ("sqrt", "rsqrt")
DIV_OPS = ("div", "true_divide", "divide", "__truediv__", "__rtruediv__", "__itruediv__", "__div__",
           "__rdiv__", "reciprocal", "fmod", "remainder", "__mod__", "floor_divide")
EXP_OPS = ("exp", "expm1", "exp2", "pow", "__pow__", "__rpow__", "cosh", "sinh", "float_power")
ARC_OPS = ("acos", "asin", "atanh", "arccos", "arcsin", "arctanh", "acosh", "arccosh", "logit", "erfinv")
STAT_OPS = ("std", "var", "std_mean", "var_mean")
EXP_INPUT_LIMIT = 1e3   # exp of inputs up to this size: the exp overflowed, not an exploding input
MATMUL_OPS = ("matmul", "mm", "bmm", "linear", "conv1d", "conv2d", "conv3d", "addmm", "baddbmm", "einsum",
              "__matmul__", "sum", "mean", "cumsum", "prod", "cumprod")


def _short(op: str) -> str:
    return op.split(".")[-1]


def _fix(op: str, info: dict, dtype: str) -> str:
    name = _short(op)
    if name in LOG_OPS:
        return ("Keep the log's argument positive: `torch.log(x.clamp_min(1e-6))`, or `torch.log1p(x)` for "
                "x >= 0; for log-probabilities use `F.log_softmax` instead of `log(softmax(...))`.")
    if name in SQRT_OPS:
        return "Keep the argument positive: `torch.sqrt(x.clamp_min(1e-12))` (or `x + 1e-12` for x >= 0)."
    if name in DIV_OPS:
        return ("The divisor is zero somewhere: add an epsilon, `a / (b + 1e-8)`, or clamp it, "
                "`a / b.clamp_min(1e-8)` (for a sum or a norm that can be 0).")
    if name in EXP_OPS:
        return ("exp overflows past ~88 in float32 (~11 in float16): use `torch.logsumexp`, `F.softmax` or "
                "`F.log_softmax` instead of exp-then-normalise, or clamp the exponent, `x.clamp(max=80)`.")
    if name in STAT_OPS:
        return ("An unbiased std/var over a single value is NaN (it divides by n - 1 = 0): use "
                "`correction=0` (`unbiased=False`), reduce over more values (a batch > 1), and add an epsilon "
                "when dividing by it, `x / (x.std(0) + 1e-5)`.")
    if name in ARC_OPS:
        return "Clamp the argument into the open domain first, e.g. `x.clamp(-1 + 1e-6, 1 - 1e-6)`."
    if dtype in ("float16", "bfloat16") or name in MATMUL_OPS:
        return ("The values overflow the dtype's range (float16 stops at 65504): compute in float32 or "
                "bfloat16 (`torch.autocast(dtype=torch.bfloat16)`), and scale down inputs or weights.")
    return f"Guard the domain of `{op}` (clamp its input, or add an epsilon) so it cannot produce NaN/Inf."


def _is_root(op: str, origin: dict) -> bool:
    """A domain error (log/sqrt of <= 0, division by 0) is a cause in itself, and so is exp of a value
    of ordinary size; an overflow of values that were already huge is the consequence of exploding
    activations or a bad init upstream, and is ranked after them."""
    name = _short(op)
    if name in LOG_OPS + SQRT_OPS + DIV_OPS + ARC_OPS + STAT_OPS:
        return True
    largest = max(abs(origin.get("input_min", math.inf)), abs(origin.get("input_max", math.inf)))
    return name in EXP_OPS and largest <= EXP_INPUT_LIMIT


def _harmful(trace) -> bool:
    """Non-finite values reach the output, the loss or the gradients (an internal -inf mask does not,
    nor -inf logits of masked choices that the user's loss takes in its stride: a pointer network, an
    action mask, with no NaN in the output and a finite loss and gradients)."""
    loss_finite = trace.loss is not None and trace.loss.value is not None and math.isfinite(trace.loss.value)
    if trace.loss is not None and trace.loss.value is not None and not loss_finite:
        return True
    if any(p.grad_nonfinite for p in trace.params):
        return True
    if any(not s.finite for s in trace.outputs):
        masked = (loss_finite and not trace.loss.stand_in and backward_ran(trace)
                  and not any(s.nan for s in trace.outputs)
                  and any(p.grad_norm is not None for p in trace.params))
        return not masked
    return False


def _counts(nan: int, inf: int) -> str:
    parts = [f"{nan} NaN" if nan else "", f"{inf} ±Inf" if inf else ""]
    return " and ".join(p for p in parts if p) or "non-finite values"


def _first_creator(trace):
    """The innermost recorded call whose inputs are all finite and whose outputs are not."""
    for c in leaf_calls(trace):
        if c.status == "ok" and c.outputs and all(s.finite for s in c.inputs) and any(not s.finite for s in c.outputs):
            return c
    return None


def _module_call(trace, module: str):
    """The first call of that module whose output is non-finite (else its first call)."""
    calls = [c for c in trace.calls if c.name == module]
    bad = [c for c in calls if any(not s.finite for s in c.outputs)]
    return (bad or calls or [None])[0]


def check(trace):
    if any(not s.finite for s in trace.inputs) or any(not s.finite for s in trace.target):
        return  # nonfinite-input (NBD101) is the cause
    if not _harmful(trace):
        return
    origin = trace.checks.get("nonfinite_origin") or {}
    if origin.get("found"):
        op = origin.get("op", "?")
        where_code = ""
        if origin.get("file"):
            where_code = f" ({origin['file']}:{origin.get('line', '?')}" + (
                f" `{origin['code']}`)" if origin.get("code") else ")")
        got = _counts(origin.get("output_nan", 0), origin.get("output_inf", 0))
        numel = origin.get("output_numel")
        of = f" of {numel} values" if numel else ""
        why = ""
        zero = origin.get("input_zero_frac")
        nonpos = origin.get("input_nonpositive_frac")
        if _short(op) in LOG_OPS + SQRT_OPS and nonpos:
            why = (f": {pct(nonpos)} of its input is <= 0" + (f" ({pct(zero)} exactly 0)" if zero else "")
                   + f", min {origin.get('input_min', float('nan')):.3g}")
        elif _short(op) in EXP_OPS and origin.get("input_max") is not None:
            why = f": its input reaches {origin['input_max']:.3g}"
        evidence = dict(origin, root_cause=_is_root(op, origin))
        if origin.get("stage") == "loss":
            message = f"The loss's {op}{where_code} turned the finite model output into {got}{of}{why}."
            yield RULE.finding("loss", message, _fix(op, origin, ""), evidence=evidence)
            return
        module = origin.get("module", "")
        call = _module_call(trace, module)
        dtype = call.outputs[0].dtype if call is not None and call.outputs else ""
        who = label(call) if call is not None else f"module {module!r}"
        message = f"{op} in {who}{where_code} turned finite inputs into {got}{of}{why}."
        yield RULE.finding(module, message, _fix(op, origin, dtype), call=call.index if call else None,
                           evidence=evidence)
        return
    call = _first_creator(trace)
    if call is not None:
        out = next(s for s in call.outputs if not s.finite)
        bad = [p for p in trace.params if p.module == call.name and p.stats is not None and p.stats.nonfinite]
        if bad:  # the layer's own weights are corrupted (a diverged optimizer step, a bad checkpoint)
            names = ", ".join(f"`{p.name}` ({_counts(p.stats.nan, p.stats.inf)})" for p in bad[:3])
            message = (f"{label(call)} received only finite values but output {_counts(out.nan, out.inf)} "
                       f"of {out.numel} values, because its own parameters hold non-finite values: {names}.")
            fix = ("Reload or re-initialise these parameters (e.g. `module.reset_parameters()`), and find the "
                   "step that corrupted them: a learning rate that made the loss diverge, a NaN loss that "
                   "was backpropagated, or a checkpoint saved after that; `torch.isfinite(p).all()` checks one.")
            yield RULE.finding(call.name, message, fix, call=call.index,
                               evidence={"nan": out.nan, "inf": out.inf, "params": [p.name for p in bad],
                                         "root_cause": True})
            return
        message = (f"{label(call)} received only finite values but output {_counts(out.nan, out.inf)} of "
                   f"{out.numel} values.")
        yield RULE.finding(call.name, message, _fix("", {}, out.dtype), call=call.index,
                           evidence={"nan": out.nan, "inf": out.inf})
        return
    if trace.loss is not None and trace.loss.value is not None and not math.isfinite(trace.loss.value):
        message = f"The model output is finite but the loss ({trace.loss.name}) is {trace.loss.value}."
        yield RULE.finding("loss", message, "Guard the loss's divisions and logs with an epsilon "
                           "(`/ (d + 1e-8)`, `log(p.clamp_min(1e-8))`), or use a built-in loss.",
                           evidence={"loss": trace.loss.value})


def _bad_nan_in_a_large_weight():
    # a weight corrupted by a diverged step; large enough that its stats come from a sample
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 2))
    with torch.no_grad():
        m[0].weight[7, 12] = float("nan")
    return dict(model=m, inputs=torch.randn(8, 300))


class _LogScale(nn.Module):
    def forward(self, x):
        return torch.log(x)  # called on ReLU output: log(0) = -inf


class _Normalise(nn.Module):
    def forward(self, x):
        return x / x.sum(dim=1, keepdim=True)  # a row of zeros gives 0/0 = NaN


def _bad_log_after_relu():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), _LogScale(), nn.Linear(6, 2))
    return dict(model=m, inputs=torch.randn(10, 5))


def _bad_row_normalise_dead_rows():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), _Normalise(), nn.Linear(4, 1))
    nn.init.constant_(m[0].bias, -3.0)
    return dict(model=m, inputs=torch.randn(6, 3))


def _bad_custom_loss_log_of_zero():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))

    def loss(out, y):
        return -(y * torch.log(out - out.detach() * (y > 0))).sum()  # log(0) where y > 0

    return dict(model=m, inputs=torch.randn(5, 4), target=torch.eye(3)[torch.tensor([0, 1, 2, 0, 1])], loss=loss)


def _good_safe_log():
    torch.manual_seed(0)

    class SafeLog(nn.Module):
        def forward(self, x):
            return torch.log(x.clamp_min(1e-6))

    m = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), SafeLog(), nn.Linear(6, 2))
    return dict(model=m, inputs=torch.randn(10, 5))


def _good_masked_choices_as_minus_inf_logits():
    # a pointer network over variable-length inputs: positions past each length get -inf logits, and
    # cross-entropy (the target is always a valid position) stays finite, gradients too
    torch.manual_seed(0)

    class Pointer(nn.Module):
        def __init__(self):
            super().__init__()
            self.score = nn.Linear(4, 1)

        def forward(self, x, lengths):
            s = self.score(x).squeeze(-1)                                   # (batch, positions)
            valid = torch.arange(x.shape[1])[None] < lengths[:, None]
            return s.masked_fill(~valid, float("-inf"))

    lengths = torch.tensor([3, 5, 2, 4])
    return dict(model=Pointer(), inputs=(torch.randn(4, 5, 4), lengths), target=torch.tensor([2, 4, 0, 1]),
                loss=nn.CrossEntropyLoss())


def _good_causal_mask_with_inf():
    torch.manual_seed(0)

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            n = x.shape[1]
            mask = torch.full((n, n), float("-inf")).triu(1)  # -inf by design, softmax makes it 0
            return self.attn(x, x, x, attn_mask=mask)[0]

    return dict(model=Causal(), inputs=torch.randn(2, 5, 8))


RULE = Rule(
    code="NBD140",
    cause="nonfinite-created",
    severity="error",
    title="NaN or Inf created inside the model or the loss",
    explanation=(
        "The inputs are finite, but an operation inside forward or the loss produced NaN or ±Inf: log or "
        "sqrt of zero or negative values (often right after a ReLU), a division by a sum or norm that is "
        "zero, exp of a large value, or a float16 overflow. From there every later activation, the loss "
        "and all gradients are poisoned, and one optimizer step writes NaN into the weights. nbdebug "
        "re-runs the forward under a torch function mode to name the first op that made them, with its "
        "source line."
    ),
    fix="Keep each op inside its domain: clamp before log/sqrt, add an epsilon to divisors, use "
        "logsumexp/log_softmax instead of exp, compute in float32 or bfloat16.",
    check=check,
    bad=[_bad_log_after_relu, _bad_row_normalise_dead_rows, _bad_custom_loss_log_of_zero,
         _bad_nan_in_a_large_weight],
    good=[_good_safe_log, _good_causal_mask_with_inf, _good_masked_choices_as_minus_inf_logits],
    needs="forward",
    thresholds="Any NaN/Inf counts, but only when it reaches the model output, the loss or a parameter "
               "gradient (an internal -inf attention mask that softmax turns into 0 is by design; so are "
               "±Inf logits of masked choices in an output without NaN when the user's loss and every "
               "gradient stay finite), and "
               "only when the input and target are finite (else NBD101). Ranked as a root cause for "
               "domain errors and for exp of inputs up to |x| <= 1e3 (exp overflows at 88 in float32); "
               "overflows of larger inputs follow exploding activations / bad init.",
)
