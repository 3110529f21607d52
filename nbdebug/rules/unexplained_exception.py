"""NBD900 exception (fallback): the model, the loss or the backward raised, and no rule explained why.

The last word on a failed trace: it names the failing module (or the loss), the user's own line, and
what the message says, so no failed trace ends without a finding. It reads a few frequent messages
(a forward whose signature does not fit the inputs, a wrong keyword, an in-place op that breaks
backward) to give a concrete fix; for anything else the fix points at the line. A failed backward
is placed at the forward op whose gradient failed (checks/backward_origin.py, an anomaly-mode
replay), and an `inplace=True` layer that overwrote that op's output is named.
"""
import re

import torch
import torch.nn as nn

from ..checks.backward_origin import torch_layer_file
from .base import Rule
from .helpers import error_call
from .layout import label

SIGNATURE = re.compile(r"forward\(\) (takes|missing|got an unexpected keyword|got multiple values)")
INPLACE = re.compile(r"modified by an inplace operation")
GRAPH_TWICE = re.compile(r"Trying to backward through the graph a second time")
INPLACE_OP = re.compile(r"which is output \d+ of (\w+?)(?:Backward\d*)?,")


def _line(trace) -> str:
    frames = trace.error.frames or []
    if not frames:
        return ""
    f = frames[-1]
    code = f": `{f.code}`" if f.code else ""
    return f" ({f.file.rsplit('/', 1)[-1]}:{f.line} in {f.function}{code})"


def _origin(trace):
    """The backward-origin replay's verdict when it found the forward op: (dict, call of its module)."""
    found = trace.checks.get("backward_origin") or {}
    if not found.get("found"):
        return None, None
    call = next((c for c in trace.calls if c.name == found.get("module")), None)
    return found, call


def _overwriter(trace, call):
    """A later `inplace=True` module that received `call`'s output (and so overwrote it)."""
    if call is None or not call.outputs:
        return None
    ref = call.outputs[0].ref
    return next((c for c in trace.calls[call.index + 1:]
                 if c.attrs.get("inplace") is True and c.inputs and c.inputs[0].ref == ref), None)


def _at(frame) -> str:
    """'gate.py:12 (`g = torch.sigmoid(x)`)', or 'gate.py:12' when the source is not available."""
    code = f" (`{frame['code']}`)" if frame.get("code") else ""
    return f"{frame['file'].replace(chr(92), '/').rsplit('/', 1)[-1]}:{frame['line']}{code}"


def _origin_text(found, call) -> str:
    where = label(call) if call is not None else f"`{found.get('module')}`"
    if torch_layer_file(found["frame"]["file"]):
        return f" The gradient that failed belongs to {where}."
    return f" The gradient that failed belongs to the op at {_at(found['frame'])} in {where}."


def _fix(trace) -> str:
    msg = trace.error.message
    if SIGNATURE.search(msg):
        return ("Pass the inputs the way `forward` takes them: a tensor for one argument, a tuple for several "
                "positional arguments (so a single tuple argument must be wrapped, `((a, b),)`), or a dict "
                "for keyword arguments.")
    if INPLACE.search(msg):
        found, call = _origin(trace)
        culprit = _overwriter(trace, call)
        if culprit is not None:
            return (f"{label(culprit)} is built with inplace=True and overwrites the output of {label(call)}, "
                    f"which that op's backward still needs: construct it with inplace=False.")
        if found is not None:
            f = found["frame"]
            return (f"The output of the op at {_at(f)} is changed in place later in that forward (`x += ...`, "
                    "`x.relu_()`, `x[...] = ...`), but its backward needs the original: write that later line "
                    "out of place (`x = x + ...`), or `.clone()` the tensor before changing it.")
        op = INPLACE_OP.search(msg)
        # Backward raises from inside autograd, so there is no user line; the message names the op instead.
        which = f"the output of `{op.group(1)}`" if op else "a tensor that backward still needs"
        return (f"An in-place op (`x += ...`, `x.relu_()`, `ReLU(inplace=True)`, slice assignment) overwrote "
                f"{which} in `forward`: use the out-of-place form (`x = x + ...`) there, or `.clone()` the "
                "tensor before changing it.")
    if GRAPH_TWICE.search(msg):
        return ("The forward backpropagates through a graph kept from an earlier pass (a cached tensor, a "
                "hidden state carried between batches): `.detach()` what is carried over.")
    return "Read the line named above: the message says what it received; the call table shows the shapes, " \
           "dtypes and devices that reached it."


def check(trace):
    e = trace.error
    if e is None:
        return
    call = error_call(trace)
    if e.stage == "forward":
        where = call.name if call is not None else ""
        who = label(call) if call is not None else "The model"
    else:
        where, who = "loss", {"loss": "The loss", "backward": "The backward pass", "probe": "A probe step"}.get(
            e.stage, "The trace")
        call = None
        found, origin_call = _origin(trace) if e.stage == "backward" else (None, None)
        if found is not None:  # a failed backward is located at the forward op whose gradient failed
            where, call = found["module"], origin_call
    # torch appends generic hints (anomaly detection) that the fix below replaces.
    text = e.message.splitlines()[0].split(" Hint:")[0][:240].rstrip(". ") if e.message else ""
    message = f"{who} raised {e.type}{_line(trace)}: {text}."
    if e.stage == "backward" and found is not None:
        message += _origin_text(found, origin_call)
    yield RULE.finding(where, message, _fix(trace), call=call.index if call is not None else None,
                       evidence={"type": e.type, "stage": e.stage, "message": e.message[:300]})


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def _bad_inputs_do_not_fit_forward():
    torch.manual_seed(0)
    return dict(model=_TwoInputs(), inputs=(torch.randn(3, 4), torch.randn(3, 4)))


class _Lookup(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.names = {"a": 0}

    def forward(self, x):
        return self.fc(x) * self.names["b"]


def _bad_key_error_in_forward():
    torch.manual_seed(0)
    return dict(model=_Lookup(), inputs=torch.randn(3, 4))


class _InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.sigmoid(self.fc(x))
        h += 1  # sigmoid's backward needs its output, which this overwrites
        return self.out(h)


def _bad_inplace_breaks_backward():
    torch.manual_seed(0)
    return dict(model=_InPlace(), inputs=torch.randn(3, 4))


def _good_runs():
    torch.manual_seed(0)
    return dict(model=_TwoInputs(), inputs=torch.randn(3, 4))


RULE = Rule(
    code="NBD900",
    cause="exception",
    severity="error",
    title="An exception no other rule explains",
    explanation=(
        "The model, the loss or the backward raised, and none of the specific causes (shapes, dtypes, "
        "devices, None, targets, ...) matches what was recorded. The trace still shows every call up to "
        "the failure with its inputs, and this finding names the failing module and your line."
    ),
    fix="Read the named line and the inputs the failing call received in the call table.",
    check=check,
    bad=[_bad_inputs_do_not_fit_forward, _bad_key_error_in_forward, _bad_inplace_breaks_backward],
    good=[_good_runs],
    needs="forward",
    thresholds="A fallback: only when the trace failed and no other rule reported an error.",
    fallback=True,
)
