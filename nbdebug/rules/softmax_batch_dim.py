"""NBD250 softmax-wrong-dim: a Softmax/LogSoftmax module normalises over dimension 0, the batch
(explicitly with dim=0, or implicitly with dim=None on a 3-D input)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import batch_size, fmt, model_output, shape

NORMALISING_TYPES = ("Softmax", "LogSoftmax", "Softmin")


def resolved_dim(call):
    """The dimension the module normalises over, as torch resolves it (dim=None: 0 for 0/1/3-D)."""
    if not call.inputs:
        return None
    ndim = len(call.inputs[0].shape)
    dim = call.attrs.get("dim")
    if dim is None:
        return 0 if ndim in (0, 1, 3) else 1
    if not isinstance(dim, int):
        return None
    return dim + ndim if dim < 0 else dim


def normalisers_of(trace, out):
    """(call, its input, resolved dim) for each Softmax-family module call whose output is `out`."""
    for call in trace.calls:
        if call.type in NORMALISING_TYPES and call.inputs and call.outputs and call.outputs[0].ref == out.ref:
            yield call, call.inputs[0], resolved_dim(call)


def over_batch(trace, call) -> bool:
    """The module normalises over dim 0 and dim 0 is the batch that the model's output keeps."""
    if call.type not in NORMALISING_TYPES or not call.inputs or resolved_dim(call) != 0:
        return False
    x = call.inputs[0]
    batch = batch_size(trace)
    if len(x.shape) < 2 or batch is None or batch < 2 or x.shape[0] != batch:
        return False
    mixing = trace.checks.get("batch_mixing") or {}
    if mixing.get("mixed") is False:
        return False  # the check found samples independent: dim 0 is not what reaches the output
    out = model_output(trace)
    return out is None or (len(out.shape) >= 1 and out.shape[0] == batch)


def check(trace):
    for call in trace.calls:
        if not over_batch(trace, call):
            continue
        x = call.inputs[0]
        explicit = call.attrs.get("dim") is not None
        how = "dim=0" if explicit else f"dim=None, which torch resolves to 0 for a {len(x.shape)}-D input"
        good_dim = 1 if len(x.shape) == 4 else -1
        out = model_output(trace)
        sums = ""
        if out is not None and call.outputs and call.outputs[0].ref == out.ref:
            d0, d1 = out.extra.get("sum1_err_d0"), out.extra.get("sum1_err_d1")
            if call.type == "Softmax" and d0 is not None and d1 is not None:
                sums = (f"; its outputs sum to 1 down each column (off by {fmt(d0)}) instead of along each "
                        f"row (off by {fmt(d1)} on average)")
        message = (f"`{call.name}` ({call.type}, {how}) normalises its {shape(x)} input over dimension 0, "
                   f"the batch of {x.shape[0]} samples, so every sample's scores depend on the others{sums}.")
        fix = (f"Normalise over the class dimension: `nn.{call.type}(dim={good_dim})` "
               f"(or `F.{call.type.lower() if call.type != 'LogSoftmax' else 'log_softmax'}(x, dim={good_dim})`).")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"dim": call.attrs.get("dim"), "resolved": 0, "shape": list(x.shape)})


def _bad_log_softmax_dim0():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4), nn.LogSoftmax(dim=0))
    return dict(model=m, inputs=torch.randn(10, 6), target=torch.randint(0, 4, (10,)), loss=nn.NLLLoss())


def _bad_implicit_dim_on_sequence():
    torch.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(8, 5)
            self.norm = nn.Softmax()          # implicit dim: 0 for a 3-D (batch, seq, classes) input

        def forward(self, x):
            return self.norm(self.proj(x))

    return dict(model=Tagger(), inputs=torch.randn(3, 7, 8))


def _good_class_dim():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 4), nn.Softmax(dim=1))
    return dict(model=m, inputs=torch.randn(10, 6))


def _good_seq_first_attention_pooling():
    # Seq-first data (time, batch, features): softmax over dim 0 is over time, which is right.
    torch.manual_seed(0)

    class Pool(nn.Module):
        def __init__(self):
            super().__init__()
            self.score = nn.Linear(4, 1)
            self.weights = nn.Softmax(dim=0)
            self.out = nn.Linear(4, 2)

        def forward(self, x):                 # x: (time, batch, features)
            w = self.weights(self.score(x))
            return self.out((w * x).sum(0))

    return dict(model=Pool(), inputs=torch.randn(9, 5, 4))


RULE = Rule(
    code="NBD250",
    cause="softmax-wrong-dim",
    severity="warning",
    title="Softmax over the batch dimension",
    explanation=(
        "Softmax turns scores into probabilities along one dimension. Over dim 0 of a (batch, classes) "
        "tensor it makes each class's probabilities sum to 1 across the samples of the batch, so a "
        "sample's prediction depends on which other samples share its batch, the probabilities of one "
        "sample do not sum to 1, and results change with the batch size. `nn.Softmax()` without a dim "
        "picks dim 0 for 3-D inputs (a deprecated implicit choice), which is the batch for "
        "(batch, seq, classes) tensors."
    ),
    fix="Pass the class dimension explicitly: `nn.Softmax(dim=-1)` (dim=1 for (N, C, H, W) maps).",
    check=check,
    bad=[_bad_log_softmax_dim0, _bad_implicit_dim_on_sequence],
    good=[_good_class_dim, _good_seq_first_attention_pooling],
    needs="forward",
    thresholds=(
        "No number: fires when the resolved dim is 0, dim 0 has the batch size (≥ 2) and the model's "
        "output keeps the batch first, and the batch-mixing check (when it ran) confirms that samples "
        "interact. torch's implicit-dim rule (`_get_softmax_dim`: 0 for 0-, 1- and 3-D inputs)."
    ),
)
