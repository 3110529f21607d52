"""NBD504 vanishing-gradients: a plain RNN (`nn.RNN`, or an `nn.RNNCell` stepped in a loop) run over a
long sequence. The gradient that reaches step t from step T passes T - t times through the recurrent
weights and tanh'; with recurrent weights of spectral radius rho < 1 (PyTorch's default init gives
about 0.58 whatever the width) it shrinks like rho^(T - t), so nothing learns from the early steps."""
import math
from typing import Optional

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, module_expr

MIN_STEPS = 100        # shorter sequences are what plain RNNs are used for (char-RNN tutorials: 10-30)
GAIN_LIMIT = 1e-6      # rho^T below this: six orders of magnitude lost between the last step and the first


def _steps(call) -> Optional[int]:
    if not call.inputs:
        return None
    shape = call.inputs[0].shape
    if len(shape) == 3:
        return int(shape[1] if call.attrs.get("batch_first") else shape[0])
    return int(shape[0]) if len(shape) == 2 else None   # unbatched (T, features)


def _radius(p) -> Optional[float]:
    """The circular-law estimate of a square recurrent matrix's spectral radius: rms(entries) * sqrt(n)
    (exact for orthogonal or identity init, where it gives 1)."""
    s = p.stats
    if s is None or len(p.shape) != 2 or not (math.isfinite(s.std) and math.isfinite(s.mean)):
        return None
    rms = math.sqrt(s.std ** 2 + s.mean ** 2)
    return rms * math.sqrt(p.shape[1])


def _final_state_only(call) -> bool:
    """The loss reads only the last step: the output sequence gets no gradient but at one step in T."""
    grads = call.grads or []
    seq = grads[0] if grads else None
    if seq is None:
        return True
    steps = _steps(call) or 1
    return math.isfinite(seq.zero_frac) and seq.zero_frac >= 1 - 1.5 / steps


def _recurrences(trace):
    """(call, steps, recurrent weight names): nn.RNN calls, and nn.RNNCell modules by their calls."""
    cells: dict = {}
    for c in trace.calls:
        if c.status != "ok":
            continue
        if c.type == "RNN":
            layers = int(c.attrs.get("num_layers") or 1)
            yield c, _steps(c), [f"{c.name}.weight_hh_l{k}" for k in range(layers)]
        elif c.type == "RNNCell":
            cells.setdefault(c.name, []).append(c)
    for name, calls in cells.items():
        yield calls[-1], len(calls), [f"{name}.weight_hh"]


def check(trace):
    params = {p.name: p for p in trace.params}
    for call, steps, names in _recurrences(trace):
        if not steps or steps < MIN_STEPS:
            continue
        radii = [r for r in (_radius(params[n]) for n in names if n in params) if r is not None]
        if not radii or max(radii) >= 1:
            continue
        rho = max(radii)
        gain = rho ** (steps - 1)
        if gain >= GAIN_LIMIT:
            continue
        last_only = _final_state_only(call) if call.type == "RNN" else True
        message = (f"`{call.name}` is a plain {call.type} run over {steps} steps, with recurrent weights of "
                   f"spectral radius about {fmt(rho)}: the gradient from the last step reaches the first "
                   f"shrunk by about {fmt(rho)}^{steps - 1} ≈ {gain:.0e}, so the early steps of the "
                   f"sequence cannot be learned from"
                   + (", and the loss reads only the final state." if last_only else "."))
        fix = (f"Use a gated recurrence: `nn.LSTM` or `nn.GRU` in place of `{module_expr(call.name)}` (same "
               f"arguments); or shorten the sequence (truncated BPTT, pooling over time, attention).")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           severity="warning" if last_only else "info",
                           evidence={"steps": steps, "radius": rho, "gain": gain, "final_state_only": last_only})


class _LastStep(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.fc = nn.Linear(rnn.hidden_size, 1)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def _bad_plain_rnn_over_300_steps():
    torch.manual_seed(0)
    x = torch.randn(4, 300, 3)
    return dict(model=_LastStep(nn.RNN(3, 16, batch_first=True)), inputs=x, target=x[:, 0, :1],
                loss=nn.MSELoss())


class _CellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.RNNCell(2, 12)
        self.fc = nn.Linear(12, 1)

    def forward(self, x):   # (T, batch, features), stepped by hand
        h = x.new_zeros(x.shape[1], 12)
        for x_t in x:
            h = self.cell(x_t, h)
        return self.fc(h)


def _bad_rnn_cell_stepped_150_times():
    torch.manual_seed(0)
    x = torch.randn(150, 4, 2)
    return dict(model=_CellLoop(), inputs=x, target=x[0, :, :1], loss=nn.MSELoss())


def _good_gru_over_300_steps():
    torch.manual_seed(0)
    x = torch.randn(4, 300, 3)
    return dict(model=_LastStep(nn.GRU(3, 16, batch_first=True)), inputs=x, target=x[:, 0, :1],
                loss=nn.MSELoss())


def _good_plain_rnn_over_30_steps():
    torch.manual_seed(0)
    x = torch.randn(4, 30, 3)
    return dict(model=_LastStep(nn.RNN(3, 16, batch_first=True)), inputs=x, target=x[:, 0, :1],
                loss=nn.MSELoss())


def _good_orthogonal_recurrence():
    # recurrent weights with spectral radius 1 (orthogonal init): nothing shrinks by construction
    torch.manual_seed(0)
    rnn = nn.RNN(3, 16, batch_first=True)
    nn.init.orthogonal_(rnn.weight_hh_l0)
    x = torch.randn(4, 300, 3)
    return dict(model=_LastStep(rnn), inputs=x, target=x[:, 0, :1], loss=nn.MSELoss())


RULE = Rule(
    code="NBD504",
    cause="vanishing-gradients",
    severity="warning",
    title="Plain RNN over a long sequence: gradients vanish through time",
    explanation=(
        "Backpropagation through time multiplies the gradient by the recurrent weight matrix (and by "
        "tanh', at most 1) once per step. With a spectral radius below 1 the gradient that reaches a step "
        "k steps back shrinks like radius^k (Bengio et al. 1994; Pascanu et al. 2013), and PyTorch's "
        "default init, uniform(±1/√hidden), gives a radius of about 0.58 at any width. Over a hundred "
        "steps nothing is left: a plain RNN learns only from the last few steps, and a task that needs the "
        "start of the sequence does not learn at all. LSTM and GRU gates keep an additive path through "
        "time."
    ),
    fix="Replace nn.RNN/nn.RNNCell with nn.LSTM/nn.GRU (same arguments), or shorten the sequences.",
    check=check,
    bad=[_bad_plain_rnn_over_300_steps, _bad_rnn_cell_stepped_150_times],
    good=[_good_gru_over_300_steps, _good_plain_rnn_over_30_steps, _good_orthogonal_recurrence],
    needs="forward",
    thresholds=(
        f"An nn.RNN over at least {MIN_STEPS} steps (or an nn.RNNCell called {MIN_STEPS} times) whose "
        f"recurrent weights give radius^(T-1) < {GAIN_LIMIT:g}, the radius estimated as rms(weight_hh) · "
        "√hidden (the circular law; exact for orthogonal and identity init). A warning when the loss reads "
        "only the final state (the output sequence's gradient is zero at all but one step), info otherwise "
        "(each step's own output still trains it)."
    ),
)
