"""NBD295 no-gradient: an RNN cell (`nn.GRUCell`, `nn.LSTMCell`, `nn.RNNCell`) stepped in a loop gets
a zero hidden state at every step, so nothing is carried from one step to the next and its
hidden-to-hidden weights get exactly zero gradient: `h_new = cell(x[:, t], h)` that never assigns
`h = h_new`, or `cell(x[:, t])` without the state."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import backward_ran, module_expr, params_of

CELL_TYPES = ("RNNCell", "GRUCell", "LSTMCell")


def _all_zero(s) -> bool:
    return s is not None and s.has_values and s.numel > 0 and s.min == 0 and s.max == 0


def _state_always_zero(calls: list) -> bool:
    """Every step's state input is absent or all zeros (an LSTMCell's (h, c) both)."""
    return all(len(c.inputs) < 2 or all(_all_zero(s) for s in c.inputs[1:]) for c in calls)


def check(trace):
    by_name: dict = {}
    for c in trace.calls:
        if c.type in CELL_TYPES and c.status == "ok" and c.inputs:
            by_name.setdefault(c.name, []).append(c)
    for name, calls in by_name.items():
        if len(calls) < 2 or not _state_always_zero(calls):
            continue
        hh = [p for p in params_of(trace, name) if p.name.rsplit(".", 1)[-1] == "weight_hh"]
        if backward_ran(trace) and hh and hh[0].grad_norm:
            continue  # a gradient reached weight_hh after all
        passed = any(len(c.inputs) >= 2 for c in calls)
        how = ("receives an all-zero state at every one of its" if passed else
               "is called without a state (zeros by default) at every one of its")
        message = (f"`{name}` ({calls[0].type}) {how} {len(calls)} steps: nothing is carried from one step "
                   f"to the next, so the cell never sees the sequence's past and its hidden-to-hidden "
                   f"weights `weight_hh` get exactly zero gradient.")
        state = "(h, c)" if calls[0].type == "LSTMCell" else "h"
        fix = (f"Feed each step's new state to the next: `{state} = {module_expr(name, 'self')}(x[:, t], {state})` "
               f"inside the loop, with the state created once before it.")
        yield RULE.finding(name, message, fix, call=calls[0].index, evidence={"steps": len(calls),
                                                                             "state_passed": passed})


class _Loop(nn.Module):
    def __init__(self, carry: bool, cell: str = "GRUCell"):
        super().__init__()
        self.cell = getattr(nn, cell)(4, 8)
        self.out = nn.Linear(8, 2)
        self.carry = carry

    def forward(self, x):
        lstm = isinstance(self.cell, nn.LSTMCell)
        state = (x.new_zeros(x.shape[0], 8), x.new_zeros(x.shape[0], 8)) if lstm else x.new_zeros(x.shape[0], 8)
        outs = []
        for t in range(x.shape[1]):
            new = self.cell(x[:, t], state)
            if self.carry:
                state = new
            outs.append(self.out(new[0] if lstm else new))
        return torch.stack(outs, 1)


def _bad_gru_state_never_fed_back():
    torch.manual_seed(0)
    return dict(model=_Loop(carry=False), inputs=torch.randn(3, 5, 4), target=torch.randn(3, 5, 2))


def _bad_lstm_state_never_fed_back():
    torch.manual_seed(0)
    return dict(model=_Loop(carry=False, cell="LSTMCell"), inputs=torch.randn(3, 5, 4), target=torch.randn(3, 5, 2))


def _bad_cell_called_without_state():
    torch.manual_seed(0)

    class NoState(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.RNNCell(4, 8)

        def forward(self, x):
            return torch.stack([self.cell(x[:, t]) for t in range(x.shape[1])], 1)

    return dict(model=NoState(), inputs=torch.randn(3, 5, 4))


def _good_state_carried():
    torch.manual_seed(0)
    return dict(model=_Loop(carry=True), inputs=torch.randn(3, 5, 4), target=torch.randn(3, 5, 2))


def _good_lstm_state_carried():
    torch.manual_seed(0)
    return dict(model=_Loop(carry=True, cell="LSTMCell"), inputs=torch.randn(3, 5, 4), target=torch.randn(3, 5, 2))


RULE = Rule(
    code="NBD295",
    cause="no-gradient",
    severity="warning",
    title="RNN cell stepped in a loop without carrying its state",
    explanation=(
        "An RNN cell is a recurrence only if each step's new state is fed to the next. A loop that "
        "keeps the state from before the loop (`h_new = cell(x_t, h)` without `h = h_new`) or calls the "
        "cell without a state gives it zeros at every step: each output depends on that step's input "
        "alone, and the hidden-to-hidden weights get exactly zero gradient, so they never train. The "
        "model still learns something, which hides the bug."
    ),
    fix="Assign the new state inside the loop: `h = cell(x[:, t], h)` (an LSTMCell: `h, c = cell(x[:, t], (h, c))`).",
    check=check,
    bad=[_bad_gru_state_never_fed_back, _bad_lstm_state_never_fed_back, _bad_cell_called_without_state],
    good=[_good_state_carried, _good_lstm_state_carried],
    needs="forward",
    thresholds="No number: an RNNCell/GRUCell/LSTMCell called at least twice in one forward whose state input "
               "is absent or exactly all zeros at every call, and (when a backward ran) whose weight_hh got a "
               "zero or no gradient.",
)
