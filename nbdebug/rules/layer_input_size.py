"""NBD104 shape-mismatch: a layer was built for another input size than the one it receives
(Linear in_features, Conv in_channels, BatchNorm num_features, LayerNorm normalized_shape, RNN
input_size), so it raised."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import producer, shape
from .layout import channels_last, first_input, flattened_before, forward_error, input_name, label, \
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
        if call.type == "Linear" and declared == 1 and len(s.shape) == 1:
            yield _scalar_batch(trace, call, s)
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


def _scalar_batch(trace, call, s):
    """A batch of N scalars passed as (N,) to nn.Linear(1, ...): the feature dim is missing."""
    src = model_input_of(trace, s)
    var = input_name(src) if src is not None else "x"
    message = (f"{label(call)} takes 1 feature per sample but receives a 1-D tensor {shape(s)}, which it "
               f"reads as one sample with {s.shape[0]} features: the {s.shape[0]} scalars need a feature dim.")
    fix = f"Give each sample its feature dim: `{var}.unsqueeze(1)` (shape ({s.shape[0]}, 1)), or `{var}.view(-1, 1)`."
    return RULE.finding("input" if src is not None else call.name, message, fix, call=call.index,
                        evidence={"declared": 1, "received": s.shape[0], "input_shape": list(s.shape)})


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
        "...)`, `nn.BatchNorm1d(num_features)`, `nn.LayerNorm(normalized_shape)`, `nn.LSTM(input_size, ...)`. "
        "When the tensor reaching it has another size, torch raises (\"mat1 and mat2 shapes cannot be "
        "multiplied\", \"running_mean should contain ...\"). Usual causes: the flattened size after a conv "
        "stack computed by hand for another image size, or a layer width edited in one place only."
    ),
    fix="Build the layer for the size it actually receives (computed from the trace), use a Lazy layer, "
        "or fix the layers before it.",
    check=check,
    bad=[_bad_linear_after_conv_stack, _bad_batchnorm_width, _bad_lstm_input_size,
         _bad_scalars_without_feature_dim],
    good=[_good_matching_sizes],
    needs="forward",
    thresholds="Structural, no numbers: the declared size attribute differs from the matching dim of the "
               "input the raising layer received; a 1-D input to nn.Linear(1, ...) is a batch of scalars "
               "without its feature dim (fix at the input). Skipped when an earlier layer read an unbatched "
               "input (NBD102), the input is channels-last (NBD105) or a Flatten came before a conv (NBD106).",
)
