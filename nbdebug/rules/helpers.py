"""Small queries over a Trace that several rules share, and number formatting for messages."""
from __future__ import annotations

import math
from typing import Iterable, Optional

from ..trace import Call, TensorStats, Trace

LINEAR_TYPES = ("Linear", "LazyLinear", "Bilinear", "NonDynamicallyQuantizableLinear")
CONV_TYPES = ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
              "LazyConv1d", "LazyConv2d", "LazyConv3d")
WEIGHTED_TYPES = LINEAR_TYPES + CONV_TYPES
RELU_TYPES = ("ReLU", "ReLU6", "Threshold")
SQUASH_TYPES = ("Sigmoid", "Tanh", "Hardsigmoid", "Softsign", "LogSigmoid")
SOFTMAX_TYPES = ("Softmax", "LogSoftmax", "Softmin", "Softmax2d")
NORM_TYPES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
              "LazyBatchNorm2d", "LazyBatchNorm3d")
# batch norms and the normalisations that use each sample's own statistics
ALL_NORM_TYPES = NORM_TYPES + ("LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")
DROPOUT_TYPES = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
# Modules that pass values through without mixing them (for data-flow questions).
PASSTHROUGH_TYPES = ("Identity", "Flatten", "Unflatten") + DROPOUT_TYPES


def fmt(x: Optional[float], digits: int = 3) -> str:
    """3 significant digits; scientific notation when very large or small."""
    if x is None:
        return "n/a"
    if isinstance(x, bool) or isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e4 or a < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def pct(frac: float) -> str:
    return "n/a" if frac is None or math.isnan(frac) else f"{100 * frac:.0f} %"


def shape(s) -> str:
    """(1, 28, 28) from a TensorStats or a shape tuple."""
    dims = s.shape if isinstance(s, TensorStats) else s
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def children(trace: Trace, call: Call) -> list:
    return [c for c in trace.calls if c.parent == call.index]


def is_leaf(trace: Trace, call: Call) -> bool:
    return not any(c.parent == call.index for c in trace.calls)


PARAMETRIZATION = ".parametrizations."


def leaf_calls(trace: Trace) -> list:
    """Calls that run no other module: the layers. A parametrised layer (spectral_norm, weight_norm) runs
    the modules that compute its weight, but is still the layer the data goes through, and those
    weight computations are not layers of the model."""
    internal = {c.index for c in trace.calls if PARAMETRIZATION in f".{c.name}."}
    parents = {c.parent for c in trace.calls if c.parent is not None and c.index not in internal}
    return [c for c in trace.calls if c.index not in parents and c.index not in internal]


def output_head(trace: Trace, out, types) -> Optional[Call]:
    """The last leaf call when its type is one of `types` and its values are the output's `out` (the
    same tensor, or a reshape of it with the same count and range): the model's final layer."""
    leaves = leaf_calls(trace)
    last = leaves[-1] if leaves else None
    if last is None or last.type not in types or last.output is None:
        return None
    o = last.output
    if o.ref == out.ref or (o.numel == out.numel and o.min == out.min and o.max == out.max):
        return last
    return None


def made_by(trace: Trace, x, before: int, types) -> Optional[Call]:
    """The leaf call before call index `before` that output the tensor `x`, when its type is one of
    `types` (the layer whose scores a later softmax normalised); else None."""
    for c in reversed(leaf_calls(trace)):
        if c.index < before and c.outputs and c.outputs[0].ref == x.ref:
            return c if c.type in types else None
    return None


def last_of_shape(trace: Trace, out, types) -> Optional[Call]:
    """The last leaf call whose output has `out`'s shape, when its type is one of `types`: the scores a
    functional softmax in forward normalised (no module call shows the softmax itself)."""
    for c in reversed(leaf_calls(trace)):
        if c.outputs and c.outputs[0].shape == out.shape:
            return c if c.type in types else None
    return None


def zero_weight(trace: Trace, call: Call):
    """The ParamInfo of `call`'s `weight` when every value of it is exactly 0 (a zero-initialised
    layer); else None."""
    for p in params_of(trace, call.name):
        st = p.stats
        if p.name.rsplit(".", 1)[-1] == "weight" and st is not None and st.has_values and st.min == 0 \
                and st.max == 0:
            return p
    return None


def zero_initialised(trace: Trace, call: Optional[Call]):
    """The weight of `call` when it is exactly zero and still learns (its gradient is not zero, or no
    backward ran to say): a layer zero-initialised on purpose, like the output layer of a diffusion
    model or a ControlNet's zero convolution, whose output is constant until the first step."""
    if call is None or call.type not in WEIGHTED_TYPES:
        return None
    p = zero_weight(trace, call)
    if p is not None and p.stats.finite and (not backward_ran(trace) or (p.grad_norm or 0) > 0):
        return p
    return None


def zero_output_layer(trace: Trace):
    """The weight of the layer that makes the model's output, when it is zero-initialised and learns
    (zero_initialised); None otherwise."""
    out = model_output(trace)
    return zero_initialised(trace, producer(trace, out.ref)) if out is not None else None


def calls_of_type(trace: Trace, *types: str) -> list:
    return [c for c in trace.calls if c.type in types]


def call(trace: Trace, index: Optional[int]) -> Optional[Call]:
    if index is None or not 0 <= index < len(trace.calls):
        return None
    return trace.calls[index]


def error_call(trace: Trace) -> Optional[Call]:
    return call(trace, trace.error.call) if trace.error is not None else None


def producer(trace: Trace, ref: int, before: Optional[int] = None) -> Optional[Call]:
    """The innermost call that output the tensor with this ref (a leaf rather than its container)."""
    found = None
    for c in trace.calls:
        if before is not None and c.index >= before:
            break
        if any(s.ref == ref for s in c.outputs):
            if found is None or c.depth >= found.depth:
                found = c
    return found


def consumers(trace: Trace, ref: int) -> list:
    return [c for c in trace.calls if any(s.ref == ref for s in c.inputs)]


def model_input(trace: Trace) -> Optional[TensorStats]:
    return trace.inputs[0] if trace.inputs else None


def float_inputs(trace: Trace) -> list:
    return [s for s in trace.inputs if s.is_float and s.has_values]


def batch_size(trace: Trace) -> Optional[int]:
    """The number of samples: the first input's dim 0, or its dim 1 when the batch-mixing check found
    the data sequence-first ((T, N, ...) with N target rows)."""
    dim = (trace.checks.get("batch_mixing") or {}).get("batch_dim", 0)
    for s in trace.inputs:
        if s.shape:
            return s.shape[dim] if len(s.shape) > dim else s.shape[0]
    return None


def loss_kind(trace: Trace) -> str:
    """Canonical loss class name ('CrossEntropyLoss', 'MSELoss', ...), 'custom', 'stand-in' or ''."""
    return trace.loss.name if trace.loss is not None else ""


def model_output(trace: Trace) -> Optional[TensorStats]:
    return trace.outputs[0] if trace.outputs else None


def weighted_calls(trace: Trace) -> list:
    return [c for c in trace.calls if c.type in WEIGHTED_TYPES]


def ancestors(trace: Trace, call: Call) -> list:
    """The calls enclosing `call`, innermost first."""
    out = []
    while call.parent is not None and 0 <= call.parent < len(trace.calls):
        call = trace.calls[call.parent]
        out.append(call)
    return out


def params_of(trace: Trace, module: str) -> list:
    return list(_params_by_module(trace).get(module, ()))


def _params_by_module(trace: Trace) -> dict:
    """module name -> its ParamInfos, built once per trace: rules ask per call, and a scan per call is
    O(calls × params) (50 ms on a 2,000-call trace). Rebuilt when trace.params is another list."""
    key = (id(trace.params), len(trace.params))
    cached = trace.__dict__.get("_params_by_module")
    if cached is None or cached[0] != key:
        index: dict = {}
        for p in trace.params:
            index.setdefault(p.module, []).append(p)
        cached = trace.__dict__["_params_by_module"] = (key, index)
    return cached[1]


def first_param_call(trace: Trace) -> Optional[Call]:
    """The first leaf call of a module that owns parameters: where the input is first consumed."""
    owners = {p.module for p in trace.params}
    for c in leaf_calls(trace):
        if c.name in owners:
            return c
    return None


def qualname_ok(name: str) -> str:
    """'' (the root) is shown as the model itself in messages."""
    return name if name else "the model"


def first(items: Iterable):
    for x in items:
        return x
    return None


RECURRENT_TYPES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
# Layers that mix positions along dim 0 unless batch_first=True: they read (seq, batch, features).
SEQ_FIRST_TYPES = ("RNN", "LSTM", "GRU", "MultiheadAttention", "Transformer", "TransformerEncoder",
                   "TransformerDecoder", "TransformerEncoderLayer", "TransformerDecoderLayer")


def rms(s: Optional[TensorStats]) -> float:
    """Root mean square over the finite values: the scale of an activation (NaN when unknown)."""
    if s is None or not s.has_values or math.isnan(s.mean):
        return math.nan
    std = 0.0 if math.isnan(s.std) else s.std
    return math.sqrt(s.mean * s.mean + std * std)


def training_intent(trace: Trace) -> bool:
    """The user gave what training needs: a real loss with a target, or an optimizer."""
    real_loss = trace.loss is not None and not trace.loss.stand_in and bool(trace.target)
    return real_loss or trace.checks.get("optimizer") is not None or any(
        p.in_optimizer is not None for p in trace.params)


def backward_ran(trace: Trace) -> bool:
    return bool(trace.meta.get("backward")) and trace.error is None


def class_index_expr(tgt: TensorStats) -> str:
    """How to turn the target into CrossEntropyLoss's class indices: `y.long()`, flattened if (N, 1)."""
    return "`y.long().view(-1)`" if len(tgt.shape) == 2 else "`y.long()`"


def module_expr(name: str, root: str = "model") -> str:
    """Python that reaches a module from the model: 'layers.0.fc' -> 'model.layers[0].fc'."""
    out = root
    for part in name.split(".") if name else []:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def values_in(params: Iterable) -> int:
    """How many values the parameter records hold together (the product of each shape)."""
    return sum(math.prod(p.shape) for p in params)


def module_list(names: list, limit: int = 4) -> str:
    """"`a`, `b`, `c`, `d` …": module names for a message, the root shown as (root)."""
    return ", ".join(f"`{m or '(root)'}`" for m in names[:limit]) + (" …" if len(names) > limit else "")


def first_calls(trace: Trace) -> dict:
    """Module name -> its first recorded Call (a module called several times keeps its first)."""
    out: dict = {}
    for c in trace.calls:
        out.setdefault(c.name, c)
    return out
