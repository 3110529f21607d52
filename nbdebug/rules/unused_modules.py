"""NBD292 no-gradient: modules with trainable parameters that forward never called (an unused branch,
a layer defined but forgotten), so they get no gradient and never train."""
import torch
import torch.nn as nn

from .base import Rule
from .cut_from_graph import group_by_ancestor
from .helpers import backward_ran, training_intent


def check(trace):
    if not backward_ran(trace) or trace.checks.get("loss_without_grad"):
        return
    called = {c.name for c in trace.calls} | set((trace.checks.get("calls_not_recorded") or {}).keys())

    def unused(p):
        # a gradient means its weights were used by another module (MultiheadAttention's out_proj)
        return p.grad_norm is None and p.module not in called

    names = {p.module for p in trace.params if p.requires_grad and unused(p)}
    if not names:
        return
    serious = training_intent(trace) and trace.training
    for top in group_by_ancestor(names, trace.params, unused):
        members = [p for p in trace.params if p.requires_grad and (p.module == top or p.module.startswith(top + "."))]
        numel = sum(_numel(p) for p in members)
        message = (f"`{top}` holds {len(members)} trainable parameter tensor(s) ({numel} values) but forward never "
                   f"called it, so it gets no gradient and never trains.")
        if not serious:
            message += " (Fine for a branch used only in another mode or for other inputs.)"
        fix = (f"Call `{top}` in forward where it belongs (a branch that is never taken, a layer defined but "
               f"forgotten), or delete it so it does not waste memory and optimizer state.")
        yield RULE.finding(top, message, fix, severity=None if serious else "info",
                           evidence={"params": [p.name for p in members]})


def _numel(p) -> int:
    n = 1
    for d in p.shape:
        n *= d
    return n


class _Forgotten(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 12)      # defined, never used
        self.out = nn.Linear(12, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc1(x)))


def _bad_forgotten_layer():
    torch.manual_seed(0)
    return dict(model=_Forgotten(), inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)))


def _bad_branch_never_taken():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.refine = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
            self.out = nn.Linear(8, 1)

        def forward(self, x, refine=False):
            h = torch.relu(self.enc(x))
            if refine:
                h = self.refine(h)
            return self.out(h)

    return dict(model=Net(), inputs=torch.randn(5, 4), target=torch.randn(5, 1))


def _good_all_used():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 2)), inputs=torch.randn(5, 6),
                target=torch.randint(0, 2, (5,)))


def _good_attention_out_proj():
    # MultiheadAttention uses out_proj's weights without calling it: they get gradients.
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    return dict(model=layer, inputs=torch.randn(2, 5, 16), target=torch.randn(2, 5, 16))


def _good_unused_in_inference():
    torch.manual_seed(0)
    return dict(model=_Forgotten().eval(), inputs=torch.randn(5, 6))


RULE = Rule(
    code="NBD292",
    cause="no-gradient",
    severity="warning",
    title="Modules with parameters that forward never calls",
    explanation=(
        "A module that forward does not call takes no part in the output, gets no gradient and keeps its "
        "initial weights. Often that is a layer defined in `__init__` and forgotten in `forward`, a branch "
        "behind a flag that is never set, or a typo that calls another layer twice; the model is then "
        "smaller than intended. Sometimes it is deliberate (an auxiliary head used only in training)."
    ),
    fix="Call the module where it belongs in forward, or remove it.",
    check=check,
    bad=[_bad_forgotten_layer, _bad_branch_never_taken],
    good=[_good_all_used, _good_attention_out_proj, _good_unused_in_inference],
    needs="backward",
    thresholds=(
        "No number: trainable parameters with no gradient whose module was never called. A warning when "
        "the model is in training mode with a real loss or an optimizer; info otherwise (a branch used "
        "only in another mode is legal)."
    ),
)
