"""NBD106 shape-mismatch: a conv, pooling or batch-norm layer received a tensor with the wrong number
of dims (a Flatten before the conv, flat 784-pixel rows into Conv2d, an extra stacking dim)."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import producer, shape
from .layout import accepted_ranks, first_input, flattened_before, forward_error, input_name, label, \
    model_input_of, raised_calls, same_data

def _square_side(n: int):
    side = int(round(math.sqrt(n)))
    return side if side * side == n else None


def _to_image_fix(call, s, var):
    """`x.view(-1, 1, 28, 28)` when the flat rows are square images with in_channels channels."""
    channels = call.attrs.get("in_channels") or call.attrs.get("num_features")
    per_sample = s.numel // s.shape[0] if len(s.shape) >= 1 and s.shape[0] else 0
    ranks = accepted_ranks(call)
    spatial = max(ranks) - 2
    if isinstance(channels, int) and channels and per_sample % channels == 0 and spatial == 2:
        side = _square_side(per_sample // channels)
        if side:
            return f"`{var}.view(-1, {channels}, {side}, {side})`"
    if isinstance(channels, int) and channels and per_sample % channels == 0 and spatial == 1:
        return f"`{var}.view(-1, {channels}, {per_sample // channels})`"
    return f"a reshape of `{var}` to {max(ranks)} dims (batch, channels, {', '.join(['...'] * spatial)})"


def _squeeze_fix(s, ranks, var):
    extra = len(s.shape) - max(ranks)
    ones = [d for d in range(extra + 1) if s.shape[d] == 1]
    if ones:
        return f"`{var}.squeeze({ones[-1] if ones[-1] > 0 or extra == 1 else 0})`"
    return f"`{var}.flatten(0, {extra})` (merge the extra leading dims into the batch)"


def check(trace):
    if not forward_error(trace):
        return
    for call in raised_calls(trace):
        ranks = accepted_ranks(call)
        s = first_input(call)
        flat = flattened_before(trace, call)
        if ranks is None or s is None or (len(s.shape) in ranks and flat is None):
            continue
        src = model_input_of(trace, s) or next((i for i in trace.inputs if same_data(i, s)), None)
        made = producer(trace, s.ref, before=call.index)
        want = " or ".join(f"{r}-D" for r in ranks)
        got = f"{len(s.shape)}-D {shape(s)}"
        if flat is not None:
            message = (f"{label(flat)} flattens the data from {shape(flat.inputs[0])} to {shape(s)} before "
                       f"{label(call)}, which needs {max(ranks)}-D input (batch, channels, spatial dims): the channel "
                       f"and spatial layout is gone.")
            fix = (f"Remove `nn.Flatten()` from before {label(call)} and flatten only after the last "
                   f"convolution/pooling layer, right before the first Linear.")
            yield RULE.finding(flat.name, message, fix, call=flat.index,
                               evidence={"layer": call.name, "shape": list(s.shape), "accepted": list(ranks)})
            return
        if src is not None and len(src.shape) in ranks and len(s.shape) < len(src.shape):
            # the input had the right rank: the model itself flattened it (a view/reshape in forward)
            message = (f"{label(call)} needs {want} input, but the model reshapes its input {shape(src)} to "
                       f"{shape(s)} before it (a `view`/`reshape`/`flatten` in forward).")
            fix = (f"Remove that reshape before {label(call)}: keep (batch, channels, spatial dims) through "
                   f"the convolutions and flatten only before the first Linear (`x.flatten(1)`).")
            yield RULE.finding(call.name, message, fix, call=call.index,
                               evidence={"layer": call.name, "shape": list(s.shape), "accepted": list(ranks)})
            return
        where = "input" if src is not None else call.name
        var = input_name(src) if src is not None else "x"
        origin = "the input" if src is not None else (
            f"the output of {label(made)}" if made is not None and made.name else "a tensor")
        message = f"{label(call)} needs {want} input but {origin} is {got}."
        if len(s.shape) < min(ranks):
            fix = (f"Give the data its channel and spatial dims before {label(call)}: "
                   f"{_to_image_fix(call, s, var)}.")
        else:
            fix = f"Remove the extra dimension: {_squeeze_fix(s, ranks, var)}."
        yield RULE.finding(where, message, fix, call=call.index,
                           evidence={"layer": call.name, "shape": list(s.shape), "accepted": list(ranks)})
        return


def _bad_flatten_first():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Conv1d(2, 4, 3), nn.ReLU())
    return dict(model=m, inputs=torch.randn(3, 2, 9))


def _bad_flat_mnist_rows():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    return dict(model=m, inputs=torch.rand(5, 784))


def _bad_stacked_batch():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    return dict(model=m, inputs=torch.rand(1, 6, 3, 10, 10))


def _good_flatten_after_convs():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    return dict(model=m, inputs=torch.rand(5, 1, 10, 10))


RULE = Rule(
    code="NBD106",
    cause="shape-mismatch",
    severity="error",
    title="Convolution, pooling or batch-norm input with the wrong number of dims",
    explanation=(
        "Conv2d, MaxPool2d and BatchNorm2d need (batch, channels, height, width) (Conv1d: (batch, "
        "channels, length)). A Flatten placed before them, an MLP-style dataset of flat 784-pixel rows, or "
        "a batch stacked with an extra dim gives them a tensor of another rank, and torch raises "
        "\"Expected 3D (unbatched) or 4D (batched) input to conv2d\"."
    ),
    fix="Flatten only after the last convolution; reshape flat rows to (N, C, H, W); squeeze an extra dim.",
    check=check,
    bad=[_bad_flatten_first, _bad_flat_mnist_rows, _bad_stacked_batch],
    good=[_good_flatten_after_convs],
    needs="forward",
    thresholds="Structural, no numbers: the raising layer's input rank is not one its type accepts "
               "(Conv{N}d and pooling: N+1 or N+2; BatchNorm1d: 2 or 3; BatchNorm{N}d: N+2), or it "
               "raised on the output of a Flatten.",
)
