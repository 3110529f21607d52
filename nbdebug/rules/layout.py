"""Queries about how layers read their inputs (batch dim, channel dim, dtype, device) that several
group-A rules share. Not a rule itself (it defines no RULE and is not in RULE_MODULES).
"""
from __future__ import annotations

import math
import re
from typing import Optional

from ..trace import Call, TensorStats, Trace
from .helpers import params_of

# Conv type -> number of spatial dims. The batched input has spatial + 2 dims, the unbatched one + 1.
CONV_SPATIAL = {"Conv1d": 1, "Conv2d": 2, "Conv3d": 3, "ConvTranspose1d": 1, "ConvTranspose2d": 2,
                "ConvTranspose3d": 3, "LazyConv1d": 1, "LazyConv2d": 2, "LazyConv3d": 3}
RNN_TYPES = ("RNN", "LSTM", "GRU")
NORM_CHANNEL_TYPES = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
                      "InstanceNorm2d", "InstanceNorm3d")
EMBEDDING_TYPES = ("Embedding", "EmbeddingBag")
# Float layers whose parameters fix the dtype their input must have.
_INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")

SHAPE_MESSAGE = re.compile(
    r"shapes? cannot be multiplied|size of tensor a|must match the size|is invalid for input of size|"
    r"expected input\[|to have \d+ channels|Expected \d+D|expected input with shape|"
    r"running_mean should contain|must be equal to input_size|Expected input to be \dD|"
    r"number of channels in input|size mismatch|shape mismatch|dimension out of range|"
    r"not compatible with input|Expected .*size|expected .* dimensions?|view size is not compatible|"
    r"input size|output size|need to be at least \dD|should also be \d-D|but got \d-D|Expected hidden|"
    r"does not broadcast|has size \d+ for operand|\.shape\[\d+\] to be", re.I)
DTYPE_MESSAGE = re.compile(
    r"same dtype|expected scalar type|should be the same|dtype .* does not match|mixed dtype|"
    r"scalar types?|not implemented for '(Half|Long|Int|Bool|Byte|Char|Short)'|"
    r"expected .*(Float|Double|Half|Long)|unsupported data type", re.I)
DEVICE_MESSAGE = re.compile(r"device", re.I)
NONE_MESSAGE = re.compile(r"NoneType|\bNone\b")


def first_input(call: Optional[Call]) -> Optional[TensorStats]:
    return call.inputs[0] if call is not None and call.inputs else None


def param_dtype(trace: Trace, call: Call) -> str:
    """The dtype of the module's own parameters ('' when it has none)."""
    ps = params_of(trace, call.name)
    return ps[0].dtype if ps else ""


def param_device(trace: Trace, call: Call) -> str:
    ps = params_of(trace, call.name)
    return ps[0].device if ps else ""


def is_int_dtype(dtype: str) -> bool:
    return dtype in _INT_DTYPES


def model_input_of(trace: Trace, s: Optional[TensorStats]) -> Optional[TensorStats]:
    """The model input that `s` is (the same tensor object), or None."""
    if s is None:
        return None
    for i in trace.inputs:
        if i.ref == s.ref and i.ref >= 0:
            return i
    return None


def same_data(a: TensorStats, b: TensorStats) -> bool:
    """True when two tensors hold the same values (a view, a reshape, a flatten of one another)."""
    if a.numel != b.numel or not (a.has_values and b.has_values):
        return False
    for x, y in ((a.mean, b.mean), (a.std, b.std), (a.min, b.min), (a.max, b.max)):
        if math.isnan(x) or math.isnan(y) or abs(x - y) > 1e-4 * max(1.0, abs(x), abs(y)):
            return False
    return True


def input_name(s: Optional[TensorStats]) -> str:
    """'x' for the single positional input, else its keyword (`right`) or path."""
    if s is None or not s.path or s.path == "args[0]":
        return "x"
    if s.path.startswith("args"):
        return f"inputs{s.path[4:]}"
    return s.path


def label(call: Call) -> str:
    """"Linear 'fc'", or "LSTM (the model)" for the root."""
    return f"{call.type} {call.name!r}" if call.name else f"{call.type} (the model)"


def ctor(call: Call, first_arg, *rest) -> str:
    """'nn.Linear(676, 10)' with the module's own type name."""
    args = ", ".join(str(a) for a in (first_arg,) + rest)
    return f"nn.{call.type}({args})"


def kernel_args(call: Call) -> str:
    k = call.attrs.get("kernel_size")
    if isinstance(k, list) and k and all(v == k[0] for v in k):
        k = k[0]
    return str(tuple(k) if isinstance(k, list) else k)


# ---------------------------------------------------------------------- unbatched reads
def unbatched_read(call: Call) -> Optional[TensorStats]:
    """The input a conv/RNN/attention layer read as a single unbatched sample, or None.

    Conv{N}d takes (N, C, *spatial) or, unbatched, (C, *spatial); RNNs take (N, L, H) / (L, N, H) or,
    unbatched, (L, H); MultiheadAttention takes 3-D or, unbatched, 2-D. All of them accept the
    unbatched form silently, which is how a missing batch dim turns into a crash far downstream.
    """
    s = first_input(call)
    if s is None or not s.shape or (call.input_kinds and call.input_kinds[0] != "Tensor"):
        return None  # a PackedSequence's data is 2-D by design
    n = len(s.shape)
    if call.type in CONV_SPATIAL:
        spatial = CONV_SPATIAL[call.type]
        channels = call.attrs.get("in_channels")
        if n == spatial + 1 and (channels is None or s.shape[0] == channels):
            return s
        return None
    if call.type in RNN_TYPES and n == 2:
        return s
    if call.type == "MultiheadAttention" and n == 2:
        return s
    return None


def unbatched_calls(trace: Trace, before: Optional[int] = None) -> list:
    """Calls that read an unbatched input (and completed), in order."""
    out = []
    for c in trace.calls:
        if before is not None and c.index >= before:
            break
        if c.status == "ok" and unbatched_read(c) is not None:
            out.append(c)
    return out


# ---------------------------------------------------------------------- channel / size mismatch
def channels_last(call: Call) -> Optional[TensorStats]:
    """A conv input laid out channels-last, (N, *spatial, C) or unbatched (*spatial, C): the last dim
    holds in_channels and the channel position does not."""
    s = first_input(call)
    if call.type not in CONV_SPATIAL or s is None:
        return None
    spatial = CONV_SPATIAL[call.type]
    channels = call.attrs.get("in_channels")
    if not isinstance(channels, int) or len(s.shape) not in (spatial + 1, spatial + 2):
        return None
    channel_pos = 1 if len(s.shape) == spatial + 2 else 0
    if s.shape[-1] == channels and s.shape[channel_pos] != channels:
        return s
    return None


def channels_last_perm(ndim: int, batched: bool, var: str = "x") -> str:
    """`x.permute(0, 3, 1, 2)` for (N, H, W, C); `x.permute(2, 0, 1).unsqueeze(0)` for one (H, W, C)."""
    if batched:
        order = [0, ndim - 1] + list(range(1, ndim - 1))
        return f"{var}.permute(" + ", ".join(str(i) for i in order) + ")"
    order = [ndim - 1] + list(range(0, ndim - 1))
    return f"{var}.permute(" + ", ".join(str(i) for i in order) + ").unsqueeze(0)"


def received_size(call: Call) -> Optional[tuple]:
    """(declared, received, what) when the layer's declared input size differs from its input."""
    s = first_input(call)
    if s is None or not s.shape:
        return None
    a = call.attrs
    if call.type in ("Linear", "Bilinear", "NonDynamicallyQuantizableLinear"):
        declared = a.get("in_features") if call.type != "Bilinear" else a.get("in1_features")
        got = s.shape[-1]
        what = "features (last dim)"
    elif call.type in CONV_SPATIAL:
        spatial = CONV_SPATIAL[call.type]
        if len(s.shape) not in (spatial + 1, spatial + 2):
            return None
        declared = a.get("in_channels")
        got = s.shape[0] if len(s.shape) == spatial + 1 else s.shape[1]
        what = "channels"
    elif call.type in NORM_CHANNEL_TYPES:
        declared = a.get("num_features")
        if len(s.shape) < 2:
            return None
        got = s.shape[1]
        what = "channels (dim 1)"
    elif call.type == "GroupNorm":
        declared = a.get("num_channels")
        if len(s.shape) < 2:
            return None
        got = s.shape[1]
        what = "channels (dim 1)"
    elif call.type == "LayerNorm":
        shape = a.get("normalized_shape")
        if not isinstance(shape, list) or not shape or len(s.shape) < len(shape):
            return None
        declared = tuple(shape) if len(shape) > 1 else shape[0]
        tail = tuple(s.shape[-len(shape):])
        got = tail if len(shape) > 1 else tail[0]
        what = "trailing dims" if len(shape) > 1 else "features (last dim)"
    elif call.type in RNN_TYPES:
        declared = a.get("input_size")
        got = s.shape[-1]
        what = "features (last dim)"
    elif call.type == "MultiheadAttention":  # also the self-attention inside Transformer layers
        declared = a.get("embed_dim")
        got = s.shape[-1]
        what = "features (last dim, the embedding size)"
    else:
        return None
    if declared is None or declared == got:
        return None
    return declared, got, what


def size_fix(call: Call, got) -> str:
    """The constructor that fits what the layer received, e.g. `nn.Linear(676, 10)`."""
    a = call.attrs
    t = call.type
    if t in ("Linear", "NonDynamicallyQuantizableLinear"):
        return f"`nn.Linear({got}, {a.get('out_features')})`"
    if t in CONV_SPATIAL:
        return f"`nn.{t}({got}, {a.get('out_channels')}, {kernel_args(call)})`"
    if t in NORM_CHANNEL_TYPES:
        return f"`nn.{t}({got})`"
    if t == "GroupNorm":
        return f"`nn.GroupNorm({a.get('num_groups')}, {got})`"
    if t == "LayerNorm":
        return f"`nn.LayerNorm({got})`"
    if t in RNN_TYPES:
        return f"`nn.{t}({got}, {a.get('hidden_size')}, batch_first={a.get('batch_first')})`"
    if t == "MultiheadAttention":
        return f"`nn.MultiheadAttention({got}, num_heads)` (`d_model={got}` for a Transformer layer)"
    return f"a layer that takes {got} inputs"


# Layer type -> the input ranks it accepts (unbatched forms included, as torch accepts them).
def accepted_ranks(call: Call) -> Optional[tuple]:
    t = call.type
    if t in CONV_SPATIAL:
        n = CONV_SPATIAL[t]
        return (n + 1, n + 2)
    digit = t[-2] if t.endswith("d") and t[-2:-1].isdigit() else ""
    if not digit:
        return None
    n = int(digit)
    if t.startswith(("BatchNorm", "SyncBatchNorm", "LazyBatchNorm")):
        return (2, 3) if n == 1 else (n + 2,)
    if t.startswith(("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "LPPool", "InstanceNorm",
                     "Dropout", "ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "FractionalMaxPool")):
        return (n + 1, n + 2)
    return None


# Layers with a rank rule that are meant to follow a Flatten (classifier heads).
FLAT_OK_TYPES = ("BatchNorm1d", "LazyBatchNorm1d", "SyncBatchNorm", "InstanceNorm1d", "Dropout1d")


def flattened_before(trace: Trace, call: Call) -> Optional[Call]:
    """The Flatten whose output a spatial layer (conv, pooling, batch-norm) received, or None."""
    from .helpers import producer

    s = first_input(call)
    if s is None or accepted_ranks(call) is None or call.type in FLAT_OK_TYPES:
        return None
    made = producer(trace, s.ref, before=call.index)
    if made is not None and made.type == "Flatten" and made.inputs and len(made.inputs[0].shape) > len(s.shape):
        return made
    return None


def raised_calls(trace: Trace) -> list:
    """Calls that raised (the failing chain), innermost first."""
    return sorted((c for c in trace.calls if c.status == "raised"), key=lambda c: -c.depth)


def forward_error(trace: Trace) -> bool:
    return trace.error is not None and trace.error.stage == "forward"
