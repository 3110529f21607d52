"""NBD435 wrong-target: a pair loss whose target is a sign (MarginRankingLoss, CosineEmbeddingLoss,
HingeEmbeddingLoss want +1 / -1) given 0 / 1 labels: every 0 pair contributes a constant (margin
ranking: max(0, margin) ; cosine embedding: raises or is ignored), so half the data teaches nothing
and "the other way round" is never learned."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import target

SIGN_LOSSES = {"margin_ranking_loss": "MarginRankingLoss", "cosine_embedding_loss": "CosineEmbeddingLoss",
               "hinge_embedding_loss": "HingeEmbeddingLoss"}


def check(trace):
    calls = [c for c in trace.checks.get("loss_calls") or [] if c.get("function") in SIGN_LOSSES and c.get("on_target")]
    tgt = target(trace)
    if not calls or tgt is None or not tgt.has_values or not tgt.finite:
        return
    if not (tgt.min == 0 and tgt.max == 1 and tgt.extra.get("integral_frac", 0) >= 0.999):
        return
    name = SIGN_LOSSES[calls[0]["function"]]
    zeros = f" ({fmt(100 * tgt.zero_frac)} % of them)" if tgt.zero_frac == tgt.zero_frac else ""
    message = (f"{name} takes a target of +1 or -1 (which of the pair should rank higher, or whether the pair is "
               f"similar), but the target {shape(tgt)} holds 0 and 1: the 0 labels{zeros} are read as a third "
               f"value, so those pairs give a constant or wrong loss and the model never learns their side.")
    fix = "Map the labels to signs before the loss: `y = 2 * y - 1` (0 -> -1, 1 -> +1)."
    yield RULE.finding("target", message, fix, evidence={"loss": name, "zero_frac": tgt.zero_frac})


class _Ranker(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, a, b):
        return torch.cat([self.enc(a), self.enc(b)], 1)


def _rank_loss(scores, y):
    return nn.MarginRankingLoss(margin=0.5)(scores[:, 0], scores[:, 1], y)


def _bad_margin_ranking_with_zero_one_labels():
    torch.manual_seed(0)
    y = (torch.arange(16) % 2).float()
    return dict(model=_Ranker(), inputs=(torch.randn(16, 6), torch.randn(16, 6)), target=y, loss=_rank_loss)


def _good_margin_ranking_with_signs():
    torch.manual_seed(0)
    y = (torch.arange(16) % 2).float() * 2 - 1
    return dict(model=_Ranker(), inputs=(torch.randn(16, 6), torch.randn(16, 6)), target=y, loss=_rank_loss)


RULE = Rule(
    code="NBD435",
    cause="wrong-target",
    severity="error",
    title="A pair loss that wants +1/-1 targets given 0/1 labels",
    explanation=(
        "MarginRankingLoss, CosineEmbeddingLoss and HingeEmbeddingLoss encode the pair's relation as a sign: "
        "+1 (first ranks higher, similar) or -1. Binary labels 0/1 copied from a classification dataset make "
        "every 0 pair a different, unintended case, so half the supervision is lost."
    ),
    fix="Map 0/1 labels to -1/+1 with `2 * y - 1`.",
    check=check,
    bad=[_bad_margin_ranking_with_zero_one_labels],
    good=[_good_margin_ranking_with_signs],
    needs="loss",
    thresholds="No number: the user's loss called one of these functions with the target itself, and the "
               "target's values are exactly 0 and 1.",
)
