"""NBD252 softmax-wrong-dim: the model's output is a softmax over a middle axis (time, height) of
per-position scores whose classes are in the last dimension, e.g. a tagger's (batch, seq, classes)
logits normalised with `nn.Softmax(dim=1)`."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import LINEAR_TYPES, fmt, last_of_shape, made_by, model_output, producer, shape
from .softmax_batch_dim import normalisers_of

SUMS_TO_ONE = 1e-4      # float32 round-off of a softmax
NOT_ALONG_CLASSES = 0.05


def _module_case(trace, out):
    """A Softmax-family module whose output is the model's output, over a middle dim of Linear scores."""
    for call, x, dim in normalisers_of(trace, out):
        ndim = len(x.shape)
        if ndim < 3 or dim is None or dim in (0, ndim - 1) or x.shape[-1] < 2:
            continue  # dim 0 is NBD250's; the last dim is right for Linear scores
        src = made_by(trace, x, call.index, LINEAR_TYPES)
        if src is not None:
            return call, src, dim
    return None


def normalised_along(out, along: str, not_along: str):
    """(error along, error not along) when `out` holds probabilities whose sums are 1 along the axis
    of the `along` signal (sum1_err_d1 / sum1_err_dlast) and clearly not along the other; else None."""
    a, b = out.extra.get(along), out.extra.get(not_along)
    if a is None or b is None or not (out.min >= 0 and out.max <= 1 + 1e-6):
        return None
    return None if a > SUMS_TO_ONE or b < NOT_ALONG_CLASSES else (a, b)


def _functional_case(trace, out):
    errs = normalised_along(out, "sum1_err_d1", "sum1_err_dlast")
    if errs is None or out.shape[-1] < 2:
        return None
    d1, dlast = errs
    src = last_of_shape(trace, out, LINEAR_TYPES)
    return (src, d1, dlast) if src is not None else None


def check(trace):
    out = model_output(trace)
    if out is None or not out.is_float or not out.has_values or len(out.shape) < 3:
        return
    n_classes = out.shape[-1]
    found = _module_case(trace, out)
    if found is not None:
        call, src, dim = found
        axis = f"dimension {dim} (size {call.inputs[0].shape[dim]})"
        message = (f"`{call.name}` ({call.type}) normalises the {shape(call.inputs[0])} scores of `{src.name}` "
                   f"(Linear, {n_classes} outputs in the last dimension) over {axis} instead of over the "
                   f"{n_classes} classes: each class's values sum to 1 across the positions, and one "
                   f"position's scores are not a distribution.")
        fix = f"Normalise over the classes: `nn.{call.type}(dim=-1)`."
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"dim": dim, "shape": list(call.inputs[0].shape), "scores": src.name})
        return
    found = _functional_case(trace, out)
    if found is None:
        return
    src, d1, dlast = found
    owner = producer(trace, out.ref)  # the module whose forward applied the softmax
    where = owner.name if owner is not None else ""
    message = (f"The output {shape(out)} holds probabilities that sum to 1 over dimension 1 (off by {fmt(d1)}) "
               f"and not over its last dimension, the {n_classes} outputs of `{src.name}` (Linear; off by "
               f"{fmt(dlast)} on average): a softmax in forward normalises over positions, not classes.")
    fix = "Normalise over the classes: `F.softmax(scores, dim=-1)`, not dim=1."
    yield RULE.finding(where, message, fix, call=owner.index if owner is not None else None,
                       evidence={"err_d1": d1, "err_dlast": dlast, "scores": src.name})


class _Tagger(nn.Module):
    def __init__(self, dim, functional=False):
        super().__init__()
        self.proj = nn.Linear(6, 4)
        self.norm = nn.Softmax(dim=dim)
        self.functional = functional
        self.dim = dim

    def forward(self, x):  # (batch, seq, features) -> per-token class probabilities
        scores = self.proj(x)
        return F.softmax(scores, dim=self.dim) if self.functional else self.norm(scores)


def _bad_softmax_over_time():
    torch.manual_seed(0)
    return dict(model=_Tagger(1), inputs=torch.randn(3, 7, 6))


def _bad_functional_softmax_over_time():
    torch.manual_seed(0)
    return dict(model=_Tagger(1, functional=True), inputs=torch.randn(3, 7, 6))


def _good_softmax_over_classes():
    torch.manual_seed(0)
    return dict(model=_Tagger(-1), inputs=torch.randn(3, 7, 6))


def _good_segmentation_channels():
    # conv scores keep their classes in dim 1: softmax(dim=1) over (N, C, H, W) is right
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Conv2d(3, 4, 1), nn.Softmax(dim=1)), inputs=torch.randn(2, 3, 5, 5))


def _good_attention_pooling_over_time():
    # one score per position (Linear(d, 1)), normalised over time inside the model: attention pooling
    torch.manual_seed(0)

    class Pool(nn.Module):
        def __init__(self):
            super().__init__()
            self.score = nn.Linear(6, 1)
            self.weights = nn.Softmax(dim=1)
            self.out = nn.Linear(6, 2)

        def forward(self, x):
            return self.out((self.weights(self.score(x)) * x).sum(1))

    return dict(model=Pool(), inputs=torch.randn(3, 7, 6))


RULE = Rule(
    code="NBD252",
    cause="softmax-wrong-dim",
    severity="warning",
    title="Softmax over positions instead of the classes of per-position scores",
    explanation=(
        "A Linear layer applied to a (batch, seq, features) tensor puts its outputs, the classes, in the "
        "last dimension. A softmax over dim 1 of those scores normalises each class across the sequence "
        "(or the image rows) instead of normalising each position across the classes: a token's "
        "'probabilities' do not sum to 1, depend on the sequence length and on the other tokens, and a "
        "loss on them learns the wrong thing."
    ),
    fix="Pass the class dimension: `nn.Softmax(dim=-1)` / `F.softmax(scores, dim=-1)`.",
    check=check,
    bad=[_bad_softmax_over_time, _bad_functional_softmax_over_time],
    good=[_good_softmax_over_classes, _good_segmentation_channels, _good_attention_pooling_over_time],
    needs="forward",
    thresholds=(
        "No number for the module form: the model's output is a Softmax/LogSoftmax/Softmin of ≥ 3-D scores "
        "made by a Linear (classes last, more than one), over a dim that is neither 0 (NBD250) nor the "
        f"last. Functional form: values in [0, 1], mean |Σ over dim 1 − 1| ≤ {SUMS_TO_ONE:g} while over "
        f"the last dim ≥ {NOT_ALONG_CLASSES:g}, and the last layer of that shape is a Linear. Own reasoning."
    ),
)
