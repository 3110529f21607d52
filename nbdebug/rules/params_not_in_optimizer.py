"""NBD281 untrained-parameter: trainable model parameters that the given optimizer does not hold
(parameters added after the optimizer was built, a new head, an optimizer built for another instance)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import first_calls, module_expr, module_list, values_in


def module_order(trace) -> dict:
    """Module name -> index of its first call (modules never called come last)."""
    return {name: c.index for name, c in first_calls(trace).items()}


def check(trace):
    trainable = [p for p in trace.params if p.requires_grad and p.in_optimizer is not None]
    missing = [p for p in trainable if p.in_optimizer is False]
    if not missing:
        return
    order = module_order(trace)
    last = len(trace.calls) + 1
    modules = sorted({p.module for p in missing}, key=lambda m: order.get(m, last))
    held = [p for p in trainable if p.in_optimizer]
    foreign = (trace.checks.get("optimizer") or {}).get("foreign_params", 0)
    numel = values_in(missing)
    shown = module_list(modules)
    opt = (trace.checks.get("optimizer") or {}).get("class", "optimizer")
    if not held:
        message = (f"The {opt} holds none of the model's {len(trainable)} trainable parameters"
                   + (f" but {foreign} tensors of another model" if foreign else "")
                   + ": it was built before the model was re-created (or for another instance), so no "
                   "step changes this model.")
        fix = "Build the optimizer from this model after creating it: `torch.optim.Adam(model.parameters(), lr=...)`."
        yield RULE.finding("optimizer", message, fix, evidence={"missing": [p.name for p in missing],
                                                               "foreign": foreign})
        return
    # missing parameters that all run before every optimized one look like a backbone left out on purpose
    first_held = min(order.get(p.module, last) for p in held)
    prefix = all(order.get(m, last) < first_held for m in modules)
    message = (f"{len(missing)} trainable parameter tensor(s) ({numel} values) of {shown} are not in the "
               f"{opt}'s parameter groups, so its steps never update them although they get gradients.")
    if prefix:
        message += " They all run before the optimized layers: if they are meant to stay fixed, freeze them."
    first = modules[0]
    fix = (f"Add them: `optimizer.add_param_group({{'params': {module_expr(first)}.parameters()}})`, or "
           f"rebuild the optimizer from `model.parameters()` after the model is complete"
           + (f"; to keep them fixed, `{module_expr(first)}.requires_grad_(False)`." if prefix else "."))
    call = order.get(first)
    yield RULE.finding(first, message, fix, call=call, severity="warning" if prefix else None,
                       evidence={"missing": [p.name for p in missing], "prefix": prefix})



def _bad_head_added_after_optimizer():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    m[2] = nn.Linear(8, 3)        # new head after the optimizer was built
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 3, (5,)), optimizer=opt)


def _bad_optimizer_of_another_instance():
    torch.manual_seed(0)
    old = nn.Linear(4, 1)
    opt = torch.optim.Adam(old.parameters(), lr=1e-3)
    return dict(model=nn.Linear(4, 1), inputs=torch.randn(6, 4), target=torch.randn(6, 1), optimizer=opt)


def _good_all_params():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1))


def _good_frozen_backbone_not_in_optimizer():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    m[0].requires_grad_(False)
    return dict(model=m, inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)),
                optimizer=torch.optim.SGD(m[2].parameters(), lr=0.1))


RULE = Rule(
    code="NBD281",
    cause="untrained-parameter",
    severity="error",
    title="Model parameters missing from the optimizer",
    explanation=(
        "An optimizer updates only the tensors in its parameter groups, fixed when it is built. A layer "
        "replaced or added afterwards (a new classification head, a module created lazily), or an "
        "optimizer built for a previous instance of the model, leaves trainable parameters that get "
        "gradients but never move: the loss falls only as far as the other layers can take it."
    ),
    fix="Build the optimizer after the model is complete, from `model.parameters()`, or add the missing "
        "parameters with `optimizer.add_param_group`.",
    check=check,
    bad=[_bad_head_added_after_optimizer, _bad_optimizer_of_another_instance],
    good=[_good_all_params, _good_frozen_backbone_not_in_optimizer],
    needs="forward",
    thresholds=(
        "No number: a parameter with requires_grad=True that is not in any of the optimizer's groups. A "
        "warning rather than an error when the missing ones all run before every optimized layer (a "
        "backbone left out, perhaps on purpose); parameters with requires_grad=False are not counted."
    ),
)
