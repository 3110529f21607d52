"""NBD162 train-eval-mode: the model is in eval mode while it is being trained (optimizer or probe
steps given), so dropout is off and batch-norm neither uses nor updates batch statistics."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import DROPOUT_TYPES, NORM_TYPES


def check(trace):
    training_run = "optimizer" in trace.checks or bool(trace.meta.get("steps"))
    if not training_run or trace.training:
        return
    frozen, seen = [], set()
    for c in trace.calls:
        if c.training or c.name in seen:
            continue
        if (c.type in DROPOUT_TYPES and (c.attrs.get("p") or 0) > 0) or c.type in NORM_TYPES:
            frozen.append(c)
            seen.add(c.name)
    if not frozen:
        return
    names = ", ".join(f"{c.type} {c.name!r}" for c in frozen[:3]) + (" ..." if len(frozen) > 3 else "")
    effects = []
    if any(c.type in DROPOUT_TYPES for c in frozen):
        effects.append("dropout regularises nothing")
    if any(c.type in NORM_TYPES for c in frozen):
        effects.append("batch-norm uses frozen running statistics")
    message = (f"The model is in eval mode but is being trained (an optimizer or probe steps were given): "
               f"{names} run as at inference, so {' and '.join(effects)}.")
    fix = ("Call `model.train()` before the training loop (after any `model.eval()` used for validation); "
           "to freeze only batch-norm, set `.eval()` on the BatchNorm modules, not on the model.")
    yield RULE.finding(frozen[0].name, message, fix, call=frozen[0].index,
                       evidence={"modules": [c.name for c in frozen]})


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 2))


def _bad_training_after_validation():
    m = _net().eval()
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.randint(0, 2, (16,)),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(m.parameters(), lr=0.05), steps=3)


def _good_training_in_train_mode():
    m = _net().train()
    return dict(model=m, inputs=torch.randn(16, 6), target=torch.randint(0, 2, (16,)),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.SGD(m.parameters(), lr=0.05), steps=3)


def _good_validation_loss_in_eval():
    return dict(model=_net().eval(), inputs=torch.randn(16, 6), target=torch.randint(0, 2, (16,)),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD162",
    cause="train-eval-mode",
    severity="warning",
    title="Training a model left in eval mode",
    explanation=(
        "`model.eval()` switches dropout off and makes batch-norm use its running statistics; it stays that "
        "way until `model.train()`. A training loop that runs after a validation pass without calling "
        "`model.train()` trains without dropout (over-fitting) and with batch-norm frozen at stale "
        "statistics, which silently hurts accuracy."
    ),
    fix="Call `model.train()` at the start of every training epoch.",
    check=check,
    bad=[_bad_training_after_validation],
    good=[_good_training_in_train_mode, _good_validation_loss_in_eval],
    needs="steps",
    thresholds="Structural: the model is in eval mode, an optimizer or steps > 0 were given, and a "
               "Dropout (p > 0) or BatchNorm layer ran in eval mode.",
)
