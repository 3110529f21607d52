"""NBD511 lr-too-high: probe steps make the loss blow up, turn NaN, or end no lower while the weights
move by a large fraction of their size."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt
from .probe_signals import HEALTHY_RATIO, finite, losses, optimizer_text, ratios, suggest_lr, typical_range

BIG_RATIO = 10 * HEALTHY_RATIO   # update/weight ratio 10x beyond CS231n's healthy 1e-3
BLOW_UP = 10.0                    # the loss rises to 10x its starting value
BOUNCE = 2.0                      # ... or to 2x and ends no lower than it started (dropout noise is ~20 %)
SPIKE = 5.0                       # ... or to 5x while a step moves the weights by their whole norm
WHOLE_NORM = 1.0                  # (1000x CS231n's healthy ratio: no sane learning rate gets there)
LURCH = 1.5                       # ... or to 1.5x right after a first step that moved a typical weight
LURCH_RATIO = 0.5                 #     matrix by half its norm (500x healthy: Adam 0.1 on a Transformer)
MIN_STEPS_NO_PROGRESS = 5         # fewer steps are too noisy to call "no progress"


def check(trace):
    ls = losses(trace)
    if len(ls) < 2 or not finite(ls[0]):
        return
    rs = ratios(trace)
    big = max((r for r in rs if r == r), default=0.0)   # NaN-safe max (NaN ratios count as Inf already)
    if big < BIG_RATIO:
        return
    l0 = ls[0]
    later = [x for x in ls[1:] if finite(x)]
    nan_at = next((i for i, x in enumerate(ls) if not finite(x)), None)
    peak = max(later) if later else None
    blew_up = peak is not None and peak - l0 > (BLOW_UP - 1) * abs(l0) and abs(l0) > 0
    bounced = peak is not None and peak - l0 > (BOUNCE - 1) * abs(l0)
    no_progress = len(ls) >= MIN_STEPS_NO_PROGRESS and finite(ls[-1]) and ls[-1] >= l0 and bounced
    spiked = peak is not None and peak - l0 > (SPIKE - 1) * abs(l0) and big >= WHOLE_NORM
    # a typical weight matrix moved by its whole norm in one step and the loss jumped half again at once
    lurched = (len(ls) > 1 and finite(ls[1]) and ls[1] - l0 > (LURCH - 1) * abs(l0) and bool(rs)
               and rs[0] >= LURCH_RATIO)
    if nan_at is not None:
        how = f"turns {fmt(ls[nan_at])} at step {nan_at}"
    elif blew_up or spiked or lurched:
        how = f"jumps from {fmt(l0)} to {fmt(peak)} (step {ls.index(peak)})"
    elif no_progress:
        how = f"bounces up to {fmt(peak)} and ends at {fmt(ls[-1])}, no lower than its start {fmt(l0)}"
    else:
        return
    name, lr, lr_text = optimizer_text(trace)
    moves = (f"the weights move by up to {fmt(big)} of their norm per step (healthy is ~{fmt(HEALTHY_RATIO)})"
             if finite(big) else
             "the weights themselves turn non-finite (healthy steps move them by ~1e-3 of their norm)")
    message = f"In {len(ls)} probe steps with {lr_text} on this batch the loss {how}, and {moves}."
    new = suggest_lr(lr, rs[0] if rs else None, lower=True, name=name)
    if new is not None:
        fix = (f"Lower the learning rate to lr={new:g} ({round(lr / new):,}x lower) and re-run the probe until "
               f"the loss falls steadily; {typical_range(name)}. A warm-up schedule or gradient clipping "
               f"(`clip_grad_norm_`) helps if it must stay high.")
    else:
        fix = f"Lower the learning rate 10-100x; {typical_range(name)}."
    yield RULE.finding("optimizer", message, fix,
                       evidence={"lr": lr, "losses": ls, "max_update_ratio": big, "suggested_lr": new})


def _bad_sgd_lr_10():
    torch.manual_seed(33)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 6)
    return dict(model=m, inputs=x, target=x[:, :1] * 3, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=10.0), steps=8)


def _bad_rmsprop_classifier():
    torch.manual_seed(34)
    m = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 3))
    x = torch.randn(48, 8)
    return dict(model=m, inputs=x, target=x[:, :3].argmax(1), loss=nn.CrossEntropyLoss(),
                optimizer=lambda ps: torch.optim.RMSprop(ps, lr=5.0), steps=10)


def _bad_adam_lr_1_spike_that_recovers():
    # the loss jumps ~8x at the first step and recovers by the last: the weights moved 7x their norm
    torch.manual_seed(8)
    m = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                      nn.Linear(32, 5))
    x = torch.randn(24, 1, 10, 10)
    return dict(model=m, inputs=x, target=torch.randint(0, 5, (24,)), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1.0), steps=12)


class _TokenClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 32)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True), 2,
                                         enable_nested_tensor=False)
        self.head = nn.Linear(32, 4)

    def forward(self, tokens):
        return self.head(self.enc(self.emb(tokens)).mean(1))


def _transformer_with_adam(lr):
    torch.manual_seed(0)
    labels = torch.arange(32) % 4
    tokens = torch.randint(4, 30, (32, 10))
    tokens[:, 0] = labels                        # a class-marker token makes the batch learnable
    m = _TokenClassifier()
    return dict(model=m, inputs=tokens, target=labels, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=lr), steps=15)


def _bad_adam_lr_01_transformer_lurches():
    # Adam at 0.1: the first step moves every weight matrix by about its own norm and the loss nearly
    # doubles; it then settles at chance level (just below its start), not at a fit
    return _transformer_with_adam(0.1)


def _good_adam_1e_3_same_transformer():
    return _transformer_with_adam(1e-3)


def _good_sgd_sane():
    torch.manual_seed(33)
    m = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 6)
    return dict(model=m, inputs=x, target=x[:, :1] * 3, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05), steps=8)


def _good_adam_fast_but_fine():
    torch.manual_seed(35)
    m = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    x = torch.rand(80, 2)
    return dict(model=m, inputs=x, target=x.sum(1, keepdim=True), loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=0.03), steps=25)


RULE = Rule(
    code="NBD511",
    cause="lr-too-high",
    severity="warning",
    title="Learning rate too high",
    explanation=(
        "A step that moves the weights by a large fraction of their own size overshoots the minimum: the "
        "loss rises, oscillates, or overflows to NaN, and ReLU units can die for good. On a single batch a "
        "sane learning rate makes the loss fall almost monotonically, so a probe that blows up points at "
        "the step size. Typical causes: a learning rate copied from another optimizer (SGD's 0.1 used with "
        "Adam), a missing warm-up, or a rate tuned for normalised inputs used on raw ones."
    ),
    fix="Lower the learning rate 10-100x (and add warm-up or gradient clipping if it must stay high).",
    check=check,
    bad=[_bad_sgd_lr_10, _bad_rmsprop_classifier, _bad_adam_lr_1_spike_that_recovers,
         _bad_adam_lr_01_transformer_lurches],
    good=[_good_sgd_sane, _good_adam_fast_but_fine, _good_adam_1e_3_same_transformer],
    needs="steps",
    thresholds=(
        f"Needs a median weight update/weight ratio > {fmt(BIG_RATIO)} in some step (10x CS231n's healthy 1e-3) "
        f"and the probe loss either non-finite, or rising above {BLOW_UP:g}x its start, or (with >= "
        f"{MIN_STEPS_NO_PROGRESS} steps) rising above {BOUNCE:g}x and ending no lower than it started (dropout "
        f"makes a one-batch loss wobble by ~20 %, never double), or rising above {SPIKE:g}x while some step "
        f"moves the weights by {WHOLE_NORM:g}x their own norm, or rising above {LURCH:g}x right after a first "
        f"step that moved a typical weight matrix by {LURCH_RATIO:g}x its norm. Adam at 1e-2 on a small net moves "
        f"weights by ~1e-2 per step and is healthy, hence the loss condition (own reasoning)."
    ),
)
