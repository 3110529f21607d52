"""NBD282 untrained-parameter: trainable parameters that sit in an optimizer parameter group whose
learning rate is 0, so every step leaves them where they are (a head given `lr=0` by a typo in a
per-layer learning-rate table, a scheduler that decayed one group to nothing)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import module_expr, module_list, values_in
from .params_not_in_optimizer import module_order


def check(trace):
    names = set((trace.checks.get("optimizer") or {}).get("zero_lr_params") or [])
    still = [p for p in trace.params if p.name in names and p.requires_grad]
    if not still:
        return
    order = module_order(trace)
    last = len(trace.calls) + 1
    modules = sorted({p.module for p in still}, key=lambda m: order.get(m, last))
    shown = module_list(modules)
    numel = values_in(still)
    opt = (trace.checks.get("optimizer") or {}).get("class", "optimizer")
    message = (f"{len(still)} trainable parameter tensor(s) ({numel} values) of {shown} are in a {opt} "
               f"parameter group with lr=0: they get gradients, but no step moves them.")
    first = modules[0]
    fix = (f"Give that group a learning rate (`optimizer.param_groups[i]['lr'] = 1e-3`, or fix the per-layer "
           f"table), or, to keep the layer fixed, freeze it: `{module_expr(first)}.requires_grad_(False)`.")
    yield RULE.finding(first, message, fix, call=order.get(first),
                       evidence={"params": sorted(p.name for p in still)})



def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))


def _bad_head_group_lr_zero():
    m = _net()
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.1}, {"params": m[2].parameters(), "lr": 0.0}])
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)), optimizer=opt)


def _good_every_group_learns():
    m = _net()
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.01}, {"params": m[2].parameters(), "lr": 0.1}])
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)), optimizer=opt)


def _good_frozen_layer_in_a_zero_lr_group():
    m = _net()
    m[0].requires_grad_(False)
    opt = torch.optim.SGD([{"params": m[0].parameters(), "lr": 0.0}, {"params": m[2].parameters(), "lr": 0.1}])
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)), optimizer=opt)


RULE = Rule(
    code="NBD282",
    cause="untrained-parameter",
    severity="warning",
    title="Trainable parameters in an optimizer group with learning rate 0",
    explanation=(
        "An optimizer's step scales every update by its group's learning rate: a group at `lr=0` keeps "
        "its parameters at their initial values while the rest of the model trains around them, and "
        "they still cost a gradient each step. Usually a per-layer learning-rate table with a typo, or "
        "a schedule that decayed one group to zero; if the layer is meant to stay fixed, freezing it "
        "says so and saves the backward work."
    ),
    fix="Give the group a learning rate, or freeze its parameters with `requires_grad_(False)`.",
    check=check,
    bad=[_bad_head_group_lr_zero],
    good=[_good_every_group_learns, _good_frozen_layer_in_a_zero_lr_group],
    needs="forward",
    thresholds="No number beyond exactly zero: a parameter with requires_grad=True in a group whose lr is 0.",
)
