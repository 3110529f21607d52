"""NBD104 shape-mismatch: a layer was built for another input size than the one it receives
(Linear in_features, Conv in_channels, BatchNorm num_features, LayerNorm normalized_shape, RNN
input_size), so it raised."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import producer, shape
from .layout import CONV_SPATIAL, RNN_TYPES, channels_last, first_input, flattened_before, forward_error, input_name, label, \
    model_input_of, raised_calls, received_size, size_fix, unbatched_calls


def _shown(v):
    return "×".join(str(d) for d in v) if isinstance(v, tuple) else str(v)


def check(trace):
    if not forward_error(trace):
        return
    for call in raised_calls(trace):
        found = received_size(call)
        if found is None or channels_last(call) is not None or flattened_before(trace, call) is not None:
            continue  # channels-last input is NBD105's, a Flatten before a conv NBD106's
        if unbatched_calls(trace, before=call.index):
            return  # the root cause is the missing batch dim upstream (NBD102), not this layer's size
        declared, got, what = found
        s = first_input(call)
        hint = _layout_hint(trace, call, s, declared)
        if hint is not None:
            where, message, fix = hint
            yield RULE.finding(where, message, fix, call=call.index,
                               evidence={"declared": declared, "received": got, "input_shape": list(s.shape)})
            return
        src = producer(trace, s.ref, before=call.index)
        came = f" from {label(src)}" if src is not None and src.name else ""
        message = (f"{label(call)} was built for {_shown(declared)} input {what} but receives "
                   f"{_shown(got)}{came} (input {shape(s)}).")
        fix = f"Build the layer for what it receives: {size_fix(call, _shown(got))}"
        if call.type == "Linear":
            fix += f", or let it infer the size with `nn.LazyLinear({call.attrs.get('out_features')})`"
        fix += "; or change the layers before it so they produce " + f"{_shown(declared)} {what.split(' ')[0]}."
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"declared": declared, "received": got, "input_shape": list(s.shape)})
        return


def _layout_hint(trace, call, s, declared):
    """(where, message, fix) when the data has the right size in the wrong layout, so that resizing the
    layer would be the wrong fix: a batch of scalars without its feature dim, images not flattened before
    a Linear, features in dim 1 instead of last, grayscale images without their channel dim."""
    src = model_input_of(trace, s)
    var = input_name(src) if src is not None else "x"
    at = "input" if src is not None else call.name
    dims = s.shape
    if call.type == "Linear" and declared == 1 and len(dims) == 1:
        return (at, f"{label(call)} takes 1 feature per sample but receives a 1-D tensor {shape(s)}, which it "
                    f"reads as one sample with {dims[0]} features: the {dims[0]} scalars need a feature dim.",
                f"Give each sample its feature dim: `{var}.unsqueeze(1)` (shape ({dims[0]}, 1)), or "
                f"`{var}.view(-1, 1)`.")
    if call.type == "Linear" and len(dims) >= 3 and math.prod(dims[1:]) == declared:
        return (call.name, f"{label(call)} expects {declared} features per sample and gets {shape(s)}, which holds "
                           f"exactly {declared} values per sample but not flattened: a Linear only reads the last "
                           f"dim ({dims[-1]}).",
                f"Flatten each sample before it: add `nn.Flatten()` before {label(call)} (or `{var}.flatten(1)`).")
    if call.type in ("Linear", "LayerNorm") + RNN_TYPES and len(dims) == 3 and dims[1] == declared != dims[-1]:
        return (at, f"{label(call)} reads features from the last dim, but {shape(s)} has its {declared} features "
                    f"in dim 1 (channels-first, as a Conv1d or a (batch, features, time) array lays them out).",
                f"Move the features last: `{var}.transpose(1, 2)` (then the shape is "
                f"({dims[0]}, {dims[2]}, {dims[1]})).")
    spatial = CONV_SPATIAL.get(call.type)
    if spatial and declared == 1 and len(dims) == spatial + 1 and dims[0] != 1:
        return (at, f"{label(call)} takes 1 channel; {shape(s)} has no channel dim, so it was read as one "
                    f"unbatched sample with {dims[0]} channels: these are {dims[0]} single-channel samples.",
                f"Add the channel dim: `{var}.unsqueeze(1)` (shape ({dims[0]}, 1, "
                f"{', '.join(str(d) for d in dims[1:])})).")
    return None


def _bad_linear_after_conv_stack():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10))
    return dict(model=m, inputs=torch.randn(2, 1, 24, 24))


def _bad_batchnorm_width():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(12, 1))
    return dict(model=m, inputs=torch.randn(8, 6))


def _bad_lstm_input_size():
    torch.manual_seed(0)
    return dict(model=nn.LSTM(10, 4, batch_first=True), inputs=torch.randn(3, 5, 7))


def _bad_scalars_without_feature_dim():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)), inputs=torch.rand(16))


def _bad_images_not_flattened():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(8 * 8, 5), nn.ReLU()), inputs=torch.randn(3, 1, 8, 8))


def _bad_grayscale_batch_without_channel_dim():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    return dict(model=m, inputs=torch.randn(5, 12, 12))


def _bad_transformer_wider_than_embedding():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    return dict(model=nn.Sequential(nn.Embedding(20, 8), layer), inputs=torch.randint(0, 20, (2, 5)))


def _good_transformer_matches_embedding():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 32, batch_first=True)
    return dict(model=nn.Sequential(nn.Embedding(20, 8), layer), inputs=torch.randint(0, 20, (2, 5)))


def _good_matching_sizes():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 11 * 11, 10))
    return dict(model=m, inputs=torch.randn(2, 1, 24, 24))


RULE = Rule(
    code="NBD104",
    cause="shape-mismatch",
    severity="error",
    title="Layer built for another input size than it receives",
    explanation=(
        "Each layer is built for a fixed input size: `nn.Linear(in_features, out)`, `nn.Conv2d(in_channels, "
        "...)`, `nn.BatchNorm1d(num_features)`, `nn.LayerNorm(normalized_shape)`, `nn.LSTM(input_size, ...)`, "
        "`nn.MultiheadAttention(embed_dim, ...)` (a Transformer layer's `d_model`). "
        "When the tensor reaching it has another size, torch raises (\"mat1 and mat2 shapes cannot be "
        "multiplied\", \"running_mean should contain ...\"). Usual causes: the flattened size after a conv "
        "stack computed by hand for another image size, or a layer width edited in one place only."
    ),
    fix="Build the layer for the size it actually receives (computed from the trace), use a Lazy layer, "
        "or fix the layers before it.",
    check=check,
    bad=[_bad_linear_after_conv_stack, _bad_batchnorm_width, _bad_lstm_input_size,
         _bad_scalars_without_feature_dim, _bad_images_not_flattened, _bad_grayscale_batch_without_channel_dim,
         _bad_transformer_wider_than_embedding],
    good=[_good_matching_sizes, _good_transformer_matches_embedding],
    needs="forward",
    thresholds="Structural, no numbers: the declared size attribute differs from the matching dim of the "
               "input the raising layer received. Layout hints instead of a resize when the sizes say so: a "
               "1-D input to nn.Linear(1, ...) (batch of scalars), prod(dims[1:]) == in_features (not "
               "flattened), dim 1 == in_features in a 3-D input (features not last), a 1-channel conv given "
               "(N, H, W) (channel dim missing). Skipped when an earlier layer read an unbatched input "
               "(NBD102), the input is channels-last (NBD105) or a Flatten came before a conv (NBD106).",
)
