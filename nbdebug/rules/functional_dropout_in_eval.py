"""NBD164 train-eval-mode: `F.dropout(x, p)` written without `training=`, which defaults to True, so the
dropout stays on after `model.eval()`: predictions are random and worse than they should be."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import module_expr


def check(trace):
    found = trace.checks.get("functional_dropout") or []
    modes = {}
    for c in trace.calls:
        modes.setdefault(c.name, c.training)
    for item in found:
        evaluating = modes.get(item["module"]) is False
        at = f"`{item['class']}.{item['method']}`" + (f" (line {item['line']})" if item.get("line") else "")
        message = (f"{at} calls `{item['code']}` without `training=`; functional dropout defaults to "
                   f"training=True, so it ignores the module's mode")
        message += (": the model is in eval mode, yet this dropout zeroes units on every call, so "
                    "predictions are noisy and biased." if evaluating else
                    ". In training this is what you want, but after `model.eval()` it keeps dropping units.")
        fix = (f"Pass the module's mode: `F.dropout(x, p, training=self.training)`, or use an "
               f"`nn.Dropout(p)` submodule, which `{module_expr(item['module'])}.eval()` switches off.")
        yield RULE.finding(item["module"], message, fix, severity=None if evaluating else "info",
                           evidence=dict(item))


class _DropoutNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 32)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(F.dropout(torch.relu(self.fc1(x)), 0.5))


class _ModeAwareDropoutNet(_DropoutNet):
    def forward(self, x):
        return self.fc2(F.dropout(torch.relu(self.fc1(x)), 0.5, training=self.training))


def _bad_functional_dropout_in_eval():
    torch.manual_seed(0)
    return dict(model=_DropoutNet().eval(), inputs=torch.randn(8, 10))


def _good_training_flag_passed():
    torch.manual_seed(0)
    return dict(model=_ModeAwareDropoutNet().eval(), inputs=torch.randn(8, 10))


def _good_dropout_module():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3)).eval()
    return dict(model=m, inputs=torch.randn(8, 10))


RULE = Rule(
    code="NBD164",
    cause="train-eval-mode",
    severity="warning",
    title="Functional dropout that stays on in eval mode",
    explanation=(
        "`torch.nn.functional.dropout(input, p=0.5, training=True)`: unlike the `nn.Dropout` module, the "
        "function does not know the module's mode, and its `training` argument defaults to True. A "
        "forward that calls `F.dropout(x, 0.5)` keeps dropping half the units after `model.eval()`, so "
        "the same input gives different, degraded predictions at every call. Reported as a warning when "
        "the module ran in eval mode, as info in training mode."
    ),
    fix="Write `F.dropout(x, p, training=self.training)`, or use an `nn.Dropout(p)` submodule.",
    check=check,
    bad=[_bad_functional_dropout_in_eval],
    good=[_good_training_flag_passed, _good_dropout_module],
    needs="forward",
    thresholds="Structural: a call to F.dropout/dropout1d/2d/3d in the source of the user's module class "
               "with fewer than three positional arguments and no `training` keyword (own reasoning).",
)
