"""NBD130 none-output: a module returned None (a `forward` without `return`, or a branch that falls
through), and the next layer or the loss failed on it."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import children, shape
from .layout import NONE_MESSAGE, label


def _origin(trace, call):
    """Walk down from a None-returning container to the child whose None it passed on."""
    while True:
        kids = [c for c in children(trace, call) if c.status == "ok"]
        if not kids or kids[-1].output_kind != "None":
            return call
        call = kids[-1]


def _branch_note(trace, call):
    """' (it returned a tensor for input (1, 8), but None for (4, 8))': the branch that falls through."""
    got = call.inputs[0] if call.inputs else None
    for other in trace.calls:
        if other.name == call.name and other.index != call.index and other.output_kind == "Tensor" and other.inputs:
            return f" (it returned a tensor for input {shape(other.inputs[0])}, but None for {shape(got)})"
    return f" for its input {shape(got)}" if got is not None else ""


def check(trace):
    root = trace.calls[0] if trace.calls else None
    candidates = []
    none_error = trace.error is not None and bool(NONE_MESSAGE.search(trace.error.message))
    if root is not None and root.status == "ok" and root.output_kind == "None" and (trace.error is None or none_error):
        candidates.append(_origin(trace, root))
    elif none_error and trace.error.stage == "forward":
        # every call that completed did so before the exception: the last None among them fed it
        returned = [c for c in trace.calls if c.status == "ok" and c.output_kind == "None"]
        if returned:
            candidates.append(returned[-1])
    for call in candidates:
        after = ""
        if trace.error is not None:
            at = f" in {trace.error.where!r}" if trace.error.where else ""
            after = f"; the {trace.error.stage} then failed{at} with {trace.error.type}"
        message = f"{label(call)} returned None{_branch_note(trace, call)}{after}."
        fix = (f"Make every path through `{call.type}.forward` end in `return <tensor>`; a branch without "
               f"`return` (or an `if` with no `else`) returns None in Python.")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"module": call.name, "type": call.type})


class _Forgetful(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.fc(x)  # computed, never returned


class _Skip(nn.Module):
    def forward(self, x):
        if x.shape[-1] > 4:
            return x[..., :4]


def _bad_forward_without_return():
    torch.manual_seed(0)
    return dict(model=_Forgetful(), inputs=torch.randn(2, 4))


def _bad_branch_falls_through_then_crash():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 4), _Skip(), nn.Linear(4, 2)), inputs=torch.randn(3, 6))


def _bad_none_into_loss():
    torch.manual_seed(0)
    return dict(model=_Forgetful(), inputs=torch.randn(2, 4), target=torch.randn(2, 3), loss=nn.MSELoss())


def _good_side_effect_module():
    torch.manual_seed(0)

    class Logger(nn.Module):
        def forward(self, x):
            self.last_mean = float(x.mean())  # called for its side effect; the result is not used

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.log = Logger()

        def forward(self, x):
            self.log(x)
            return self.fc(x)

    return dict(model=Net(), inputs=torch.randn(3, 4))


RULE = Rule(
    code="NBD130",
    cause="none-output",
    severity="error",
    title="A module returned None",
    explanation=(
        "A Python function without `return` returns None, and so does a `forward` whose `if` branch has no "
        "`return` for the other case. The next layer then fails with \"must be Tensor, not NoneType\" (or "
        "the loss with \"'NoneType' object has no attribute ...\"), far from the module that forgot to "
        "return. nbdebug points at the module whose call returned None."
    ),
    fix="Return the result on every path of forward (`return x`).",
    check=check,
    bad=[_bad_forward_without_return, _bad_branch_falls_through_then_crash, _bad_none_into_loss],
    good=[_good_side_effect_module],
    needs="forward",
    thresholds="Structural: the model returned None, or a module call returned None before an exception "
               "whose message mentions None/NoneType. A None returned and never used is not reported.",
)
