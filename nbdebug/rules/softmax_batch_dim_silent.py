"""NBD251 softmax-wrong-dim: the model's output holds probabilities (or log-probabilities) that
normalise over the batch (a functional `F.softmax(x, dim=0)` / `x.log_softmax(0)`, which no module
call shows)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import SEQ_FIRST_TYPES, SOFTMAX_TYPES, fmt, model_output, producer, shape

SUMS_TO_ONE = 1e-4     # mean |sum - 1| along dim 0: float32 round-off of a softmax
NOT_ALONG_CLASSES = 0.05


def _seq_first_model(trace) -> bool:
    return any(c.type in SEQ_FIRST_TYPES and not c.attrs.get("batch_first", False) for c in trace.calls)


def over_batch_output(trace):
    """{'kind', 'err_d0', 'err_d1'} when the model's output is a distribution over dim 0, else None."""
    out = model_output(trace)
    if out is None or not out.is_float or not out.has_values or not out.finite or len(out.shape) < 2:
        return None
    if out.shape[0] < 2:
        return None
    x = out.extra
    found = None
    d0, d1, dlast = x.get("sum1_err_d0"), x.get("sum1_err_d1"), x.get("sum1_err_dlast")
    if out.min >= 0 and out.max <= 1 + 1e-6 and d0 is not None and d1 is not None:
        if d0 <= SUMS_TO_ONE and d1 >= NOT_ALONG_CLASSES and (dlast is None or dlast >= NOT_ALONG_CLASSES):
            found = {"kind": "probabilities", "err_d0": d0, "err_d1": d1}
    l0, l1 = x.get("logsumexp_d0"), x.get("logsumexp_d1")
    if found is None and out.max <= 1e-6 and l0 is not None and l1 is not None:
        if l0 <= SUMS_TO_ONE and l1 >= NOT_ALONG_CLASSES:
            found = {"kind": "log-probabilities", "err_d0": l0, "err_d1": l1}
    if found is None:
        return None
    mixing = trace.checks.get("batch_mixing") or {}
    if mixing.get("mixed") is False or _seq_first_model(trace):
        return None  # samples independent, or dim 0 may be time in a seq-first model: not evidence
    return found


def check(trace):
    found = over_batch_output(trace)
    if found is None:
        return
    out = model_output(trace)
    src = producer(trace, out.ref)
    if src is not None and src.type in SOFTMAX_TYPES:
        return  # a module: NBD250 names it with its dim
    where = src.name if src is not None else ""
    owner = f"`{where}` ({src.type})" if where else f"{trace.model or 'the model'}"
    log = found["kind"] == "log-probabilities"
    what = "its exponentials sum" if log else "it sums"
    message = (f"The output {shape(out)} holds {found['kind']} over dimension 0, the batch of {out.shape[0]} "
               f"samples: {what} to 1 down each column (off by {fmt(found['err_d0'])}) and not over the "
               f"classes (off by {fmt(found['err_d1'])} on average); a {'log_' if log else ''}softmax in the "
               f"forward of {owner} normalises over the batch.")
    fn = "F.log_softmax" if log else "F.softmax"
    fix = f"Normalise over the class dimension: `{fn}(logits, dim=-1)`, not dim=0."
    yield RULE.finding(where, message, fix, call=src.index if src is not None else None,
                       evidence=dict(found))


class _FunctionalHead(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc = nn.Linear(6, 4)
        self.dim = dim

    def forward(self, x):
        return F.softmax(self.fc(x), dim=self.dim)


def _bad_functional_dim0():
    torch.manual_seed(0)
    return dict(model=_FunctionalHead(0), inputs=torch.randn(9, 6))


def _bad_method_softmax0_with_target():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))

        def forward(self, x):
            return self.body(x).softmax(0)

    return dict(model=Net(), inputs=torch.randn(16, 5), target=torch.rand(16, 3), loss=nn.MSELoss())


def _bad_functional_log_softmax_dim0():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 4)

        def forward(self, x):
            return F.log_softmax(self.fc(x), dim=0)

    return dict(model=Net(), inputs=torch.randn(9, 6), target=torch.randint(0, 4, (9,)), loss=nn.NLLLoss())


def _good_functional_dim1():
    torch.manual_seed(0)
    return dict(model=_FunctionalHead(-1), inputs=torch.randn(9, 6))


def _good_sigmoid_probabilities():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 3), nn.Sigmoid()), inputs=torch.randn(9, 6))


RULE = Rule(
    code="NBD251",
    cause="softmax-wrong-dim",
    severity="warning",
    title="Output probabilities sum to 1 over the batch (functional softmax/log_softmax on dim 0)",
    explanation=(
        "The silent form of NBD250, for a softmax written as a function (`F.softmax(x, dim=0)`, "
        "`x.softmax(0)`) inside forward: module hooks do not see it, but the output does. Its values "
        "sum to 1 down each column, across the samples of the batch, instead of across the classes of "
        "each sample, so predictions depend on the rest of the batch and change with its size."
    ),
    fix="Pass the class dimension: `F.softmax(logits, dim=-1)`.",
    check=check,
    bad=[_bad_functional_dim0, _bad_method_softmax0_with_target, _bad_functional_log_softmax_dim0],
    good=[_good_functional_dim1, _good_sigmoid_probabilities],
    needs="forward",
    thresholds=(
        f"Mean |Σ over dim 0 − 1| ≤ {SUMS_TO_ONE:g} (float32 round-off) while mean |Σ over dim 1 − 1| ≥ "
        f"{NOT_ALONG_CLASSES:g}, values in [0, 1], batch ≥ 2 (for log-probabilities, values ≤ 0: mean "
        f"|logsumexp over dim 0| ≤ {SUMS_TO_ONE:g} and over dim 1 ≥ {NOT_ALONG_CLASSES:g}); silent when the batch-mixing check found the "
        "samples independent or the model has sequence-first layers (dim 0 may be time). Own reasoning."
    ),
)
