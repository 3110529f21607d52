"""NBD112 shape-mismatch: the model returns a different number of rows than the batch it was given,
while the target has one row per sample. A reshape with a hard-coded size (`x.view(-1, 320)`) or a
sequence-first RNN fed a batch-first input turned something else into rows; the loss then fails with
"Expected input batch_size (M) to match target batch_size (N)" and the target gets the blame."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import batch_size, leaf_calls, shape
from .layout import forward_error
from .loss_signals import output, target

# layers with a `batch_first` flag of their own (a Transformer layer's is its attention's, seen as a call)
SEQUENCE_FIRST = ("RNN", "LSTM", "GRU", "MultiheadAttention")


def _rows(s):
    return s.shape[0] if s is not None and s.shape else None


def _sequence_first_layer(trace, n: int, m: int):
    """A sequence-first layer that read the (n, m, ...) batch as n steps of m sequences."""
    for c in trace.calls:
        if c.type not in SEQUENCE_FIRST or c.attrs.get("batch_first") or not c.inputs:
            continue
        s = c.inputs[0]
        if len(s.shape) == 3 and s.shape[0] == n and s.shape[1] == m:
            return c
    return None


def _first_wrong_rows(trace, n: int, m: int):
    """(the last leaf call whose output still had the batch's n rows, the first one fed m rows)."""
    last_ok = None
    for c in leaf_calls(trace):
        rows = _rows(c.inputs[0]) if c.inputs else None
        if rows == m and (last_ok is not None or rows != n):
            return last_ok, c
        if c.outputs and _rows(c.outputs[0]) == n:
            last_ok = c
    return last_ok, None


def check(trace):
    if forward_error(trace) or len(trace.outputs) != 1 or len(trace.target or ()) != 1:
        return
    n, out, tgt = batch_size(trace), output(trace), target(trace)
    m, t_rows = _rows(out), _rows(tgt)
    if n is None or n < 2 or m is None or t_rows != n or m == n:
        return
    dim = (trace.checks.get("batch_mixing") or {}).get("batch_dim", 0)
    if dim and out is not None and len(out.shape) > dim and out.shape[dim] == n:
        return  # sequence-first data kept sequence-first (CTC's (T, N, C) log-probs): the batch is dim 1
    if out is not None and len(out.shape) >= 3 and out.shape[1] == n:
        return  # a time-major output, (T, N, C), made on purpose from batch-first data (CTC wants it)
    head = f"The model was given {n} samples and the target has {n} rows, but the output {shape(out)} has {m}"
    rnn = _sequence_first_layer(trace, n, m)
    if rnn is not None:
        s = rnn.inputs[0]
        message = (f"{head}: `{rnn.name}` ({rnn.type}) is sequence-first (batch_first=False) and read the "
                   f"{shape(s)} batch as {n} time steps of {m} sequences.")
        fix = (f"Create `{rnn.name}` with `batch_first=True` (the input is (batch, time, features)) and take "
               f"the last step as `out[:, -1]`, or feed it `x.transpose(0, 1)`.")
        where, call = rnn.name, rnn.index
    else:
        before, first = _first_wrong_rows(trace, n, m)
        if first is not None:
            after = f" after `{before.name}` ({before.type})" if before is not None else ""
            message = (f"{head}: `{first.name}` ({first.type}) receives {shape(first.inputs[0])}, so the batch "
                       f"dimension was lost{after}; typically a `view`/`reshape` with a hard-coded feature "
                       f"size that does not match, which re-splits the batch's values into rows of the wrong "
                       f"length.")
            where, call = first.name, first.index
        else:
            message = (f"{head}: the forward rearranges the batch dimension somewhere (a `view`/`reshape` with a "
                       f"hard-coded size, or a transpose of the batch axis).")
            where, call = "", 0
        fix = ("Keep the batch dimension first and let torch infer the rest: `x.flatten(1)` or "
               "`x.view(x.size(0), -1)` instead of `x.view(-1, k)`, and size the next layer from the real "
               "number of features per sample.")
    if trace.error is not None and trace.error.stage == "loss":
        message += f" The loss failed on it: {trace.error.message.splitlines()[0][:160].rstrip('. ')}."
    yield RULE.finding(where, message, fix, call=call,
                       evidence={"batch": n, "output_rows": m, "target_rows": t_rows})


class _HardCodedView(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(50, 3)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).view(-1, 50))  # 4 * 6 * 6 = 144 features, not 50


def _bad_hard_coded_view():
    torch.manual_seed(0)
    return dict(model=_HardCodedView(), inputs=torch.randn(25, 1, 8, 8), target=torch.randint(0, 3, (25,)),
                loss=nn.CrossEntropyLoss())


class _SeqFirstGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(10, 20)
        self.fc = nn.Linear(20, 2)

    def forward(self, x):  # x: (batch, time, features)
        return self.fc(self.rnn(x)[0][-1])


def _bad_sequence_first_gru():
    torch.manual_seed(0)
    return dict(model=_SeqFirstGRU(), inputs=torch.randn(6, 15, 10), target=torch.randint(0, 2, (6,)))


class _TokenLogits(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.out = nn.Linear(8, 30)

    def forward(self, ids):
        return self.out(self.emb(ids)).reshape(-1, 30)  # one row per token, as the target


def _good_token_rows_with_token_targets():
    torch.manual_seed(0)
    ids = torch.randint(0, 30, (4, 6))
    return dict(model=_TokenLogits(), inputs=ids, target=ids.reshape(-1))


def _good_sequence_first_fed_sequence_first():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(10, 20)
            self.fc = nn.Linear(20, 2)

        def forward(self, x):  # x: (time, batch, features)
            return self.fc(self.rnn(x)[0][-1])

    return dict(model=Net(), inputs=torch.randn(15, 6, 10), target=torch.randint(0, 2, (6,)))


def _good_time_major_outputs_for_ctc():
    # CTC wants (time, batch, classes) log-probabilities: a time-major output of a time-major batch
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(8, 16, bidirectional=True)
            self.fc = nn.Linear(32, 6)

        def forward(self, x):  # x: (time, batch, features)
            return self.fc(self.rnn(x)[0]).log_softmax(-1)

    def ctc(log_probs, targets):
        t, n = log_probs.shape[:2]
        return F.ctc_loss(log_probs, targets, torch.full((n,), t, dtype=torch.long),
                          torch.full((n,), targets.shape[1], dtype=torch.long))

    return dict(model=Net(), inputs=torch.randn(20, 4, 8), target=torch.randint(1, 6, (4, 5)), loss=ctc)


RULE = Rule(
    code="NBD112",
    cause="shape-mismatch",
    severity="error",
    title="The output has a different number of rows than the batch",
    explanation=(
        "A model must return one row per sample. When it returns another number of rows while the "
        "target has one per sample, the forward lost the batch dimension: `x.view(-1, 320)` with a size "
        "that is not the real number of features per sample re-splits the whole batch into rows of the "
        "wrong length, and an RNN or attention layer left sequence-first (`batch_first=False`) reads a "
        "(batch, time, features) input as time steps of sequences. The loss then fails with 'Expected "
        "input batch_size (M) to match target batch_size (N)', which looks like a problem with the target."
    ),
    fix="Keep the batch dimension (`x.flatten(1)`, `x.view(x.size(0), -1)`), or set `batch_first=True`.",
    check=check,
    bad=[_bad_hard_coded_view, _bad_sequence_first_gru],
    good=[_good_token_rows_with_token_targets, _good_sequence_first_fed_sequence_first,
          _good_time_major_outputs_for_ctc],
    needs="loss",
    thresholds=("Structural: the first input's first dimension N ≥ 2 equals the target's, and the single "
                "output's first dimension differs from it."),
)
