"""NBD109 shape-mismatch: the forward raised a shape error that no more specific shape rule explains
(a `view`/`reshape` that does not fit, a broadcast between mismatched tensors, ...)."""
import re

import torch
import torch.nn as nn

from . import batchnorm_single_value, channels_last, device_mismatch, embedding_range, input_dtype, input_rank, \
    layer_input_size, none_output, unbatched_input
from .base import Rule
from .helpers import shape
from .layout import NONE_MESSAGE, SHAPE_MESSAGE, forward_error, label
from .helpers import children, error_call

# The rules that name a precise cause for a forward exception; this one stays silent when any fires.
SPECIFIC = (unbatched_input, layer_input_size, channels_last, input_rank, embedding_range, input_dtype,
            device_mismatch, none_output, batchnorm_single_value)

HIDDEN = re.compile(r"hx should also be|Expected hidden", re.I)
TOO_SMALL = re.compile(r"Kernel size can't be greater than actual input size|Output size is too small")
VIEW = re.compile(r"shape '\[([^\]]*)\]' is invalid for input of size (\d+)")
BROADCAST = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at "
                       r"non-singleton dimension (\d+)")


def _line(trace):
    frames = trace.error.frames or []
    if not frames:
        return ""
    f = frames[-1]
    code = f" `{f.code}`" if f.code else ""
    return f" at {f.function}, line {f.line}{code}"


def _branches(trace, call, message):
    """' (a gives 4, b gives 3)': the child calls whose outputs carry the two clashing sizes."""
    m = BROADCAST.search(message)
    if m is None or call is None:
        return ""
    dim, sizes = int(m.group(3)), {int(m.group(1)), int(m.group(2))}
    named = []
    for c in children(trace, call):
        out = c.outputs[0] if c.outputs else None
        if out is not None and len(out.shape) > dim and out.shape[dim] in sizes:
            named.append(f"{c.name} gives {out.shape[dim]}")
    return f" ({', '.join(named[-2:])})" if len(named) >= 2 else ""


def _fix(trace, message):
    if HIDDEN.search(message):
        return ("An RNN's initial state is (num_layers × num_directions, batch, hidden), even with "
                "batch_first=True: `h0 = torch.zeros(rnn.num_layers, x.size(0), rnn.hidden_size)` (an LSTM "
                "takes `(h0, c0)` of that shape), or pass no state and let it start from zeros.")
    if TOO_SMALL.search(message):
        return ("The feature map has shrunk below this layer's kernel: pad the convolutions "
                "(`padding=k // 2`), drop a pooling/stride-2 layer, or feed larger inputs; "
                "`nn.AdaptiveAvgPool2d` before the head makes the model independent of the input size.")
    m = VIEW.search(message)
    if m:
        return (f"The target shape [{m.group(1)}] does not hold {m.group(2)} elements: keep the batch dim "
                f"and let torch infer the rest, `x.reshape(x.shape[0], -1)` or `x.flatten(1)`, instead of "
                f"hard-coded sizes.")
    m = BROADCAST.search(message)
    if m:
        return (f"Make dim {m.group(3)} agree ({m.group(1)} vs {m.group(2)}) in the two tensors combined "
                f"there: check the sizes of the layers that produce them, or add the missing `unsqueeze` "
                f"for an intended broadcast.")
    return "Print the shapes reaching that line (the trace's last recorded calls show them) and make the " \
           "layer sizes or the reshape agree with the data."


def check(trace):
    if not forward_error(trace):
        return
    message = trace.error.message
    if not SHAPE_MESSAGE.search(message) or NONE_MESSAGE.search(message):
        return
    if any(list(rule.check(trace)) for rule in SPECIFIC):
        return
    call = error_call(trace)
    where = call.name if call is not None else ""
    got = ", ".join(shape(s) for s in call.inputs[:3]) if call is not None and call.inputs else ""
    who = label(call) if call is not None else "the model"
    text = message.splitlines()[0][:200].rstrip(". ")
    yield RULE.finding(where, f"{who} raised a shape error{_line(trace)}" + (f" on inputs {got}" if got else "")
                       + f": {text}{_branches(trace, call, message)}.", _fix(trace, message), call=call.index if call is not None else None,
                       evidence={"message": text})


class _Reshaper(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(x.view(8, 12))  # hard-coded batch size


class _TwoHeads(nn.Module):
    def __init__(self, right_width):
        super().__init__()
        self.a = nn.Linear(5, 4)
        self.b = nn.Linear(5, right_width)

    def forward(self, x):
        return self.a(x) * self.b(x)


class _GruWithFlatState(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 8, batch_first=True)

    def forward(self, x):
        return self.rnn(x, torch.zeros(x.shape[0], 8))[0]   # the state needs a layer dimension first


def _bad_rnn_state_without_layer_dim():
    torch.manual_seed(0)
    return dict(model=_GruWithFlatState(), inputs=torch.randn(3, 5, 4))


def _bad_hard_coded_view():
    torch.manual_seed(0)
    return dict(model=_Reshaper(), inputs=torch.randn(6, 3, 4))


def _bad_broadcast_between_heads():
    torch.manual_seed(0)
    return dict(model=_TwoHeads(3), inputs=torch.randn(6, 5))


def _bad_too_many_poolings():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3))
    return dict(model=m, inputs=torch.randn(2, 1, 12, 12))


class _Scores(nn.Module):
    """Dot-product scores written with einsum: keys named (b, m, d), or by mistake (b, d, m)."""
    def __init__(self, keys):
        super().__init__()
        self.q, self.k = nn.Linear(6, 6), nn.Linear(6, 6)
        self.keys = keys

    def forward(self, x):
        return torch.einsum(f"bld,{self.keys}->blm", self.q(x), self.k(x)).softmax(-1).mean(1)


def _bad_einsum_letters_swapped():
    torch.manual_seed(0)
    return dict(model=_Scores("bdm"), inputs=torch.randn(2, 4, 6))


def _bad_padding_mask_sequence_first():
    torch.manual_seed(0)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x, mask):
            return self.attn(x, x, x, key_padding_mask=mask)[0]

    mask = torch.zeros(5, 3, dtype=torch.bool)   # (S, N); batch_first attention wants (N, S)
    return dict(model=Encoder(), inputs=(torch.randn(3, 5, 8), mask))


def _good_einsum_letters_right():
    torch.manual_seed(0)
    return dict(model=_Scores("bmd"), inputs=torch.randn(2, 4, 6))


def _good_heads_agree():
    torch.manual_seed(0)
    return dict(model=_TwoHeads(4), inputs=torch.randn(6, 5))


RULE = Rule(
    code="NBD109",
    cause="shape-mismatch",
    severity="error",
    title="Shape error inside forward",
    explanation=(
        "The forward raised a shape error that is not a layer-size, batch-dim, channel-order or rank "
        "problem of a standard layer: usually a `view`/`reshape` with hard-coded sizes (a batch size or an "
        "image size that changed), or two branches combined with `+`/`*`/`cat` whose sizes differ."
    ),
    fix="Reshape with sizes inferred from the tensor (`x.flatten(1)`, `x.reshape(x.shape[0], -1)`), and "
        "make the widths of combined branches agree.",
    check=check,
    bad=[_bad_hard_coded_view, _bad_broadcast_between_heads, _bad_too_many_poolings, _bad_einsum_letters_swapped,
         _bad_padding_mask_sequence_first,
         _bad_rnn_state_without_layer_dim],
    good=[_good_heads_agree, _good_einsum_letters_right],
    needs="forward",
    thresholds="No numbers: the forward raised an exception whose message is a torch shape error, and "
               "no more specific rule (NBD102-NBD107, dtype, device, none-output, NBD160) explains it.",
)
