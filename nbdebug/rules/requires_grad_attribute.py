"""NBD296 no-gradient: `module.requires_grad = True` was meant to unfreeze a module, but on an
nn.Module it only sets a plain attribute; the module's parameters stay frozen."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import first_calls, module_expr, training_intent


def _inside(name: str, module: str) -> bool:
    return module == "" or name.startswith(module + ".")


def check(trace):
    for name, call in first_calls(trace).items():
        if call.attrs.get("requires_grad") is not True:
            continue
        own = [p for p in trace.params if _inside(p.name, name)]
        frozen = [p for p in own if not p.requires_grad]
        if not own or len(frozen) < len(own):
            continue  # something under it trains: the attribute agrees with what the user sees
        expr = module_expr(name) if name else "model"
        message = (f"`{expr}.requires_grad = True` is set, but on an nn.Module that only creates a plain "
                   f"attribute: all {len(frozen)} parameter tensor(s) of `{name or call.type}` still have "
                   f"requires_grad=False, so they get no gradient and never change"
                   + (", although the optimizer was given them." if any(p.in_optimizer for p in frozen)
                      else "."))
        fix = (f"Call the method instead: `{expr}.requires_grad_(True)` (with the underscore), which sets "
               f"the flag on every parameter; then (re)build the optimizer if it was built while they were "
               f"frozen.")
        yield RULE.finding(name, message, fix, call=call.index,
                           severity="error" if training_intent(trace) else "warning",
                           evidence={"frozen": [p.name for p in frozen]})


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(6, 12), nn.ReLU())
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        return self.head(self.backbone(x))


def _bad_attribute_instead_of_method():
    torch.manual_seed(0)
    m = _Net()
    m.backbone.requires_grad_(False)   # warm-up: backbone frozen
    m.backbone.requires_grad = True    # "unfrozen": a plain attribute, the parameters stay frozen
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.arange(8) % 3, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3))


def _good_method_call():
    torch.manual_seed(0)
    m = _Net()
    m.backbone.requires_grad_(False)
    m.backbone.requires_grad_(True)
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.arange(8) % 3, loss=nn.CrossEntropyLoss())


def _good_attribute_that_agrees():
    # a module that keeps its own flag (some codebases do) while its parameters do train
    torch.manual_seed(0)
    m = _Net()
    m.head.requires_grad = True
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.arange(8) % 3, loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD296",
    cause="no-gradient",
    severity="error",
    title="`module.requires_grad = True` sets an attribute, not the parameters' flag",
    explanation=(
        "On a tensor, `requires_grad` is the flag autograd reads. On an `nn.Module` it is not a property: "
        "`module.requires_grad = True` just creates an attribute of that name, and the parameters keep "
        "requires_grad=False. It typically happens when unfreezing a backbone after warm-up; the optimizer "
        "holds the parameters, but they never get a gradient. `module.requires_grad_(True)`, the method, "
        "sets the flag on every parameter."
    ),
    fix="Use `module.requires_grad_(True)` (the method), then rebuild the optimizer if needed.",
    check=check,
    bad=[_bad_attribute_instead_of_method],
    good=[_good_method_call, _good_attribute_that_agrees],
    needs="forward",
    thresholds="No number: a module whose instance attribute `requires_grad` is True while every parameter "
               "under it has requires_grad=False.",
)
