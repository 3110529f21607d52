"""NBD102 shape-mismatch: a conv, RNN or attention layer read its input as one unbatched sample, and
the forward then failed.

Conv2d accepts (C, H, W) as well as (N, C, H, W), so an image passed without its batch dim is read
silently, and the crash comes layers later, where the channels have become the batch. The silent form
(nothing crashed) is NBD103, which shares `findings` below.
"""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import shape
from .layout import CONV_SPATIAL, RNN_TYPES, input_name, label, model_input_of, same_data, unbatched_calls, \
    unbatched_read


def _source(trace, s):
    """The model input this tensor is (or is a view of), else None."""
    found = model_input_of(trace, s)
    if found is not None:
        return found
    return next((i for i in trace.inputs if same_data(i, s) and len(i.shape) == len(s.shape)), None)


def _fix(call, src, var):
    if call.type in CONV_SPATIAL:
        batched = "(1, " + ", ".join(str(d) for d in src.shape) + ")"
        return (f"Add the batch dimension: `{var}.unsqueeze(0)` gives {batched}; for several samples "
                f"stack them (`torch.stack(samples)`) or let a DataLoader batch them.")
    if call.type in RNN_TYPES:
        first = call.attrs.get("batch_first", False)
        one_seq, per_step = (0, 1) if first else (1, 0)
        return (f"If `{var}` is one sequence of {src.shape[0]} steps, add the batch dim with "
                f"`{var}.unsqueeze({one_seq})`; if it is a batch of {src.shape[0]} feature vectors, give "
                f"each a time axis with `{var}.unsqueeze({per_step})` (batch_first={first}).")
    return f"Add the batch dimension: `{var}.unsqueeze(0)`, or pass batch_first-shaped 3-D tensors."


def _plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def _reading(call, s):
    if call.type in CONV_SPATIAL:
        spatial = "×".join(str(d) for d in s.shape[1:])
        return f"one unbatched sample with {_plural(s.shape[0], 'channel')} of {spatial}"
    if call.type in RNN_TYPES:
        return f"one unbatched sequence of {s.shape[0]} steps with {s.shape[1]} features"
    return f"one unbatched sequence of {s.shape[0]} tokens"


def findings(rule, trace, inputs_only=False):
    """One finding per unbatched source tensor, built with `rule` (NBD102 or NBD103). `inputs_only`:
    only the model's own inputs (a forward that loops over samples reads them unbatched on purpose)."""
    reported = set()
    for call in unbatched_calls(trace):
        s = unbatched_read(call)
        src = _source(trace, s)
        key = src.ref if src is not None else "inside"
        if key in reported or (src is None and reported):
            continue  # a later layer reading the same unbatched data is a consequence, not a new cause
        if src is None and inputs_only:
            reported.add(key)
            continue
        reported.add(key)
        where = "input" if src is not None else call.name
        crashed = trace.error is not None
        out = call.outputs[0] if call.outputs else None
        then = (f", so its output {shape(out)} has no batch dim either, and any layer that expects one "
                f"takes its first dim ({out.shape[0]}) for the batch" if out is not None and out.shape else "")
        if crashed:
            at = f" at {trace.error.where!r}" if trace.error.where else ""
            tail = f"; the {trace.error.stage} then failed{at}"
        else:
            tail = "; nothing crashed, but every per-sample result after it is wrong"
        what = f"the input {shape(src)}" if src is not None else f"a tensor {shape(s)}"
        message = (f"{label(call)} read {what} as {_reading(call, s)}{then}{tail}.")
        var = input_name(src) if src is not None else "x"
        yield rule.finding(where, message, _fix(call, src or s, var), call=call.index,
                           evidence={"layer": call.name, "type": call.type, "shape": list(s.shape)})


def check(trace):
    if trace.error is not None:
        yield from findings(RULE, trace)


def _bad_image_without_batch_dim():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 12 * 12, 4))
    return dict(model=m, inputs=torch.randn(3, 16, 16))


def _bad_lstm_last_step_on_flat_batch():
    torch.manual_seed(0)

    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(5, 12, batch_first=True)
            self.out = nn.Linear(12, 2)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.out(h[:, -1])  # (9, 12) read as one sequence: h[:, -1] is (9,), not (9, 12)

    return dict(model=LastStep(), inputs=torch.randn(9, 5))


def _good_batched_conv1d():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8, 3))
    return dict(model=m, inputs=torch.randn(6, 2, 10))


def _good_packed_sequence():
    torch.manual_seed(0)
    seqs = torch.randn(3, 7, 4)
    packed = nn.utils.rnn.pack_padded_sequence(seqs, [7, 5, 2], batch_first=True)
    return dict(model=nn.LSTM(4, 8, batch_first=True), inputs=(packed,))


RULE = Rule(
    code="NBD102",
    cause="shape-mismatch",
    severity="error",
    title="Input read as one unbatched sample (missing batch dimension), then the forward failed",
    explanation=(
        "Convolutions, RNNs and attention accept an unbatched sample as well as a batch: Conv2d takes "
        "(C, H, W) as one image, an LSTM takes (L, H) as one sequence. An image passed without its batch "
        "dimension is therefore read without complaint, and the channels (or the time steps) take the "
        "place of the batch downstream: a Linear layer then crashes with a size it was not built for, or, "
        "worse, nothing crashes and samples are mixed. Usual causes: indexing one sample out of a dataset "
        "(`dataset[0][0]`), a grayscale image without its channel and batch dims, or a (batch, features) "
        "table fed to an RNN that expects (batch, time, features)."
    ),
    fix="Add the missing batch dimension (`x.unsqueeze(0)`) or batch samples with a DataLoader; for RNNs "
        "give the input a time axis.",
    check=check,
    bad=[_bad_image_without_batch_dim, _bad_lstm_last_step_on_flat_batch],
    good=[_good_batched_conv1d, _good_packed_sequence],
    needs="forward",
    thresholds="Structural, no numbers: Conv{N}d input with N+1 dims whose first dim equals in_channels; "
               "RNN/GRU/LSTM input with 2 dims (not a PackedSequence); MultiheadAttention query with 2 dims. "
               "Fires when the forward (or the loss) then failed; the silent form is NBD103.",
)
