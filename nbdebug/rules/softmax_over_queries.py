"""NBD254 softmax-wrong-dim: a softmax in forward normalises square attention scores (..., queries,
keys) over the queries, `scores.softmax(dim=1)` on a (batch, T, T) tensor, or over the heads,
`dim=1` on (batch, heads, T, T), instead of over the keys: no query's weights form a distribution."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import call, shape


def _wrong_axis(rec: dict) -> str:
    """'queries' or 'heads' for a softmax over that axis of square attention scores, else ''."""
    dims, dim = rec.get("shape") or [], rec.get("dim")
    if len(dims) < 3 or not dims[-1] == dims[-2] >= 2:
        return ""
    if dim == len(dims) - 2:
        return "queries"
    # (batch, heads, T, T): an axis between the batch and the queries (dim 0 is batch-mixing's), of
    # scores a matrix product made: (N, C, H, W) logits of square images are normalised over dim 1 rightly
    return "heads" if (len(dims) >= 4 and 1 <= dim <= len(dims) - 3 and dims[dim] >= 2
                       and rec.get("from_product")) else ""


def check(trace):
    records = trace.checks.get("softmax_calls") or []
    seen = set()
    for rec in records:
        axis = _wrong_axis(rec)
        if not axis or rec.get("call") in seen:
            continue
        seen.add(rec.get("call"))
        owner = call(trace, rec.get("call"))
        where = owner.name if owner is not None else ""
        fn = "log_softmax" if rec.get("log") else "softmax"
        dims, dim = tuple(rec["shape"]), rec["dim"]
        inside = f"`{where}` ({owner.type})" if owner is not None and where else "the model's forward"
        across = ("each key's column across the queries" if axis == "queries" else
                  f"each (query, key) score across the {dims[dim]} heads")
        message = (f"{inside} applies {fn} over dimension {dim} of {shape(dims)} scores whose last two "
                   f"dimensions are equal, as attention's (queries × keys) are: that normalises {across}, "
                   f"so one query's weights over the keys do not sum to 1.")
        fix = (f"Normalise over the keys, the last dimension: `scores.{fn}(dim=-1)`, as "
               f"`F.scaled_dot_product_attention` and `nn.MultiheadAttention` do.")
        yield RULE.finding(where, message, fix, call=owner.index if owner is not None else None,
                           evidence={"shape": list(dims), "dim": dim, "axis": axis})


class _Attention(nn.Module):
    def __init__(self, dim: int, size: int = 8):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(size, size), nn.Linear(size, size), nn.Linear(size, size)
        self.dim = dim

    def forward(self, x):
        scores = self.q(x) @ self.k(x).transpose(-2, -1) / math.sqrt(x.shape[-1])
        return F.softmax(scores, dim=self.dim) @ self.v(x)


def _bad_attention_over_queries():
    torch.manual_seed(0)
    return dict(model=_Attention(dim=1), inputs=torch.randn(3, 5, 8))


class _Heads(nn.Module):
    """Two-head self-attention written by hand: (b, heads, t, t) scores, softmax over `dim`."""
    def __init__(self, dim: int):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.dim = dim

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, 2, 4).permute(2, 0, 3, 1, 4)
        att = torch.einsum("bhqd,bhkd->bhqk", q, k).softmax(self.dim)
        return (att @ v).transpose(1, 2).reshape(b, t, 8)


def _bad_multi_head_scores_over_queries_method():
    torch.manual_seed(0)
    return dict(model=_Heads(dim=2), inputs=torch.randn(2, 6, 8))


def _bad_multi_head_scores_over_heads():
    torch.manual_seed(0)
    return dict(model=_Heads(dim=1), inputs=torch.randn(2, 6, 8))


def _good_segmentation_logits_of_square_images():
    # (N, classes, H, W) with H == W, normalised over the classes: right, and not attention scores
    torch.manual_seed(0)

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            return F.log_softmax(self.conv(x), dim=1)

    return dict(model=Seg(), inputs=torch.randn(2, 3, 8, 8), target=torch.randint(0, 4, (2, 8, 8)),
                loss=nn.NLLLoss())


def _good_attention_over_keys():
    torch.manual_seed(0)
    return dict(model=_Attention(dim=-1), inputs=torch.randn(3, 5, 8))


def _good_slot_attention_over_slots():
    # Slot Attention normalises over the slots on purpose: (batch, slots, inputs), not square
    torch.manual_seed(0)

    class Slots(nn.Module):
        def __init__(self):
            super().__init__()
            self.slots = nn.Parameter(torch.randn(1, 4, 8))
            self.k = nn.Linear(8, 8)

        def forward(self, x):
            dots = self.slots.expand(x.shape[0], -1, -1) @ self.k(x).transpose(1, 2)   # (b, 4, n)
            return dots.softmax(dim=1) @ x

    return dict(model=Slots(), inputs=torch.randn(2, 10, 8))


RULE = Rule(
    code="NBD254",
    cause="softmax-wrong-dim",
    severity="warning",
    title="Attention scores normalised over the queries or the heads",
    explanation=(
        "Attention weights for one query are a softmax over the keys, the last dimension of the "
        "(…, queries, keys) score tensor. `softmax(dim=1)` on (batch, T, T) scores, or `dim=2` on "
        "(batch, heads, T, T), normalises each key's column across the queries instead: training still "
        "runs, but every query averages the values with weights that do not sum to 1, and which key "
        "matters is decided by how the other queries see it. `dim=1` on (batch, heads, T, T) normalises "
        "each score across the heads, which makes the heads compete instead of the keys. Module hooks "
        "cannot see a functional "
        "softmax, so nbdebug notes every softmax forward computes."
    ),
    fix="`scores.softmax(dim=-1)`, or use `F.scaled_dot_product_attention` / `nn.MultiheadAttention`.",
    check=check,
    bad=[_bad_attention_over_queries, _bad_multi_head_scores_over_queries_method,
         _bad_multi_head_scores_over_heads],
    good=[_good_attention_over_keys, _good_slot_attention_over_slots,
          _good_segmentation_logits_of_square_images],
    needs="forward",
    thresholds="Structural, no numbers: a softmax or log-softmax in forward over the second-to-last dim of a "
               "tensor of three or more dims whose last two sizes are equal (and at least 2), or, on four or "
               "more dims, over an axis between the batch (dim 0) and the queries of scores that a matrix "
               "product made (through at most a scale, a mask, a bias and reshapes: read off the autograd "
               "graph, so only when forward records one).",
)
