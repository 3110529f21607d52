"""NBD108 shape-mismatch: a module's tuple/list/dict output was fed to a layer that needs one tensor
(the classic `nn.Sequential(nn.LSTM(...), nn.Linear(...))`, where the LSTM returns (output, (h, c)))."""
import re

import torch
import torch.nn as nn

from .base import Rule
from .helpers import error_call
from .layout import forward_error, label

NOT_A_TENSOR = re.compile(r"must be Tensor, not (tuple|list|dict)|'(tuple|list|dict)' object has no "
                          r"attribute '(dim|size|shape|view|reshape|float|to)'")
RECURRENT = ("LSTM", "GRU", "RNN")


def _producer(trace, call):
    """The sibling call just before the failing one: what handed it the structure."""
    if call is None or call.parent is None:
        return None
    before = [c for c in trace.calls if c.parent == call.parent and c.index < call.index and c.status == "ok"]
    return before[-1] if before else None


def _fix(producer) -> str:
    if producer is not None and producer.type in RECURRENT:
        head = "output, (h, c)" if producer.type == "LSTM" else "output, h"
        return (f"`{producer.type}` returns `({head})`, so it cannot sit in an `nn.Sequential` before a layer: "
                f"write a small module whose forward does `out, _ = self.rnn(x)` and passes `out` (or "
                f"`out[:, -1]` for the last step) on.")
    if producer is not None and producer.type == "MultiheadAttention":
        return ("`nn.MultiheadAttention` returns `(output, weights)`: take `out, _ = self.attn(q, k, v)` in "
                "a custom forward and pass `out` on.")
    return ("Unpack the structure before the next layer: take the tensor you need from it (`out[0]`, "
            "`out['logits']`), in a custom forward rather than `nn.Sequential`.")


def check(trace):
    if not forward_error(trace):
        return
    m = NOT_A_TENSOR.search(trace.error.message)
    if not m:
        return
    kind = m.group(1) or m.group(2)
    call = error_call(trace)
    producer = _producer(trace, call)
    who = label(call) if call is not None else "A layer"
    source = f" from {label(producer)}, which returns a {producer.output_kind}" if producer is not None else ""
    message = f"{who} received a {kind}{source}, but it needs a single tensor."
    where = producer.name if producer is not None else (call.name if call is not None else "")
    yield RULE.finding(where, message, _fix(producer), call=(producer or call).index if (producer or call) else None,
                       evidence={"kind": kind, "message": trace.error.message[:200]})


def _bad_lstm_in_sequential():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.LSTM(4, 8, batch_first=True), nn.Linear(8, 2)),
                inputs=torch.randn(3, 5, 4))


class _Pair(nn.Module):
    def forward(self, x):
        return x, x.mean(-1)


def _bad_custom_pair_in_sequential():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(4, 4), _Pair(), nn.ReLU()), inputs=torch.randn(3, 4))


class _Unpacks(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def _good_lstm_unpacked():
    torch.manual_seed(0)
    return dict(model=_Unpacks(), inputs=torch.randn(3, 5, 4))


RULE = Rule(
    code="NBD108",
    cause="shape-mismatch",
    severity="error",
    title="A tuple/list/dict output fed to a layer that needs a tensor",
    explanation=(
        "Recurrent layers return (output, state), MultiheadAttention returns (output, weights), and many "
        "custom blocks return tuples or dicts. In an `nn.Sequential` the whole structure is passed to the "
        "next layer, which needs one tensor and fails with 'must be Tensor, not tuple'. The failing layer "
        "is innocent: the fix is where the structure is produced."
    ),
    fix="Unpack the structure in a custom forward (`out, _ = self.rnn(x)`) and pass one tensor on.",
    check=check,
    bad=[_bad_lstm_in_sequential, _bad_custom_pair_in_sequential],
    good=[_good_lstm_unpacked],
    needs="forward",
    thresholds="The forward raised 'must be Tensor, not tuple/list/dict' (or a tuple has no .dim/.size): no "
               "threshold; the module that produced the structure is the sibling call just before.",
)
