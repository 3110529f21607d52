"""NBD402 double-softmax (binary form): a Sigmoid head feeding BCEWithLogitsLoss, which applies its
own sigmoid."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, output_head, shape
from .loss_signals import output, user_loss


def check(trace):
    if user_loss(trace) != "BCEWithLogitsLoss":
        return
    out = output(trace)
    if out is None or not out.has_values or not out.finite:
        return
    head = output_head(trace, out, ("Sigmoid",))
    functional = head is None and "sigmoid_bounds_frac" in out.extra  # `torch.sigmoid(...)` in forward
    if (head is None and not functional) or out.min < 0 or out.max > 1:
        return
    if functional:
        owner = trace.calls[0] if trace.calls else None
        message = (f"The model's forward ends in a sigmoid (`torch.sigmoid`), so its {shape(out)} output is "
                   f"already a probability in [{fmt(out.min)}, {fmt(out.max)}], and BCEWithLogitsLoss applies a "
                   f"second sigmoid: predictions are squeezed into [0.5, 0.731] and the loss can never reach 0.")
        fix = ("Return the logits from forward (drop the final `torch.sigmoid`) and keep BCEWithLogitsLoss; use "
               "`torch.sigmoid(logits)` only for predictions. Or keep the sigmoid and use `F.binary_cross_entropy`.")
        yield RULE.finding(owner.name if owner is not None else "", message, fix,
                           call=owner.index if owner is not None else None,
                           evidence={"min": out.min, "max": out.max, "functional": True})
        return
    message = (f"The model ends in `{head.name}` (Sigmoid), so its {shape(out)} output is already a probability "
               f"in [{fmt(out.min)}, {fmt(out.max)}], and BCEWithLogitsLoss applies a second sigmoid: "
               f"predictions are squeezed into [0.5, 0.731] and the loss can never reach 0.")
    fix = (f"Remove the final `nn.Sigmoid` (`{head.name}`) and keep `nn.BCEWithLogitsLoss` (numerically "
           f"stable); use `torch.sigmoid(logits)` only for predictions. Or keep the Sigmoid and switch to "
           f"`nn.BCELoss`.")
    yield RULE.finding(head.name, message, fix, call=head.index,
                       evidence={"min": out.min, "max": out.max})


def _bad_sigmoid_head():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(9, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(24, 9), target=torch.randint(0, 2, (24, 1)).float(),
                loss=nn.BCEWithLogitsLoss())


class _SqueezedSigmoid(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 1)
        self.act = nn.Sigmoid()

    def forward(self, x):
        return self.act(self.fc(x)).squeeze(1)


def _bad_sigmoid_then_squeeze():
    torch.manual_seed(4)
    return dict(model=_SqueezedSigmoid(), inputs=torch.randn(12, 5), target=torch.randint(0, 2, (12,)).float(),
                loss="bce_with_logits")


def _good_logits_head():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(9, 16), nn.ReLU(), nn.Linear(16, 1))
    return dict(model=m, inputs=torch.randn(24, 9), target=torch.randint(0, 2, (24, 1)).float(),
                loss=nn.BCEWithLogitsLoss())


def _good_sigmoid_with_bce():
    torch.manual_seed(3)
    m = nn.Sequential(nn.Linear(9, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    return dict(model=m, inputs=torch.randn(24, 9), target=torch.randint(0, 2, (24, 1)).float(),
                loss=nn.BCELoss())


class _FunctionalSigmoid(nn.Module):
    def __init__(self, squash: bool):
        super().__init__()
        self.fc = nn.Linear(6, 3)
        self.squash = squash

    def forward(self, x):
        z = self.fc(x)
        return torch.sigmoid(z) if self.squash else z


def _bad_functional_sigmoid_into_bce_with_logits():
    torch.manual_seed(4)
    return dict(model=_FunctionalSigmoid(squash=True), inputs=torch.randn(16, 6),
                target=(torch.rand(16, 3) < 0.4).float(), loss=nn.BCEWithLogitsLoss())


def _good_functional_logits_into_bce_with_logits():
    torch.manual_seed(4)
    return dict(model=_FunctionalSigmoid(squash=False), inputs=torch.randn(16, 6),
                target=(torch.rand(16, 3) < 0.4).float(), loss=nn.BCEWithLogitsLoss())


RULE = Rule(
    code="NBD402",
    cause="double-softmax",
    severity="warning",
    title="Sigmoid output fed to BCEWithLogitsLoss",
    explanation=(
        "`nn.BCEWithLogitsLoss` expects logits: it applies the sigmoid itself, in a numerically stable "
        "form. When the model already ends in a Sigmoid, the loss sees values in [0, 1], its own sigmoid "
        "maps them to [0.5, 0.731], so every prediction looks positive, the loss stays far from 0 and "
        "the gradients are small. The binary twin of a softmax head under CrossEntropyLoss."
    ),
    fix="Remove the final Sigmoid and keep BCEWithLogitsLoss, or keep the Sigmoid and use BCELoss.",
    check=check,
    bad=[_bad_sigmoid_head, _bad_sigmoid_then_squeeze, _bad_functional_sigmoid_into_bce_with_logits],
    good=[_good_logits_head, _good_sigmoid_with_bce, _good_functional_logits_into_bce_with_logits],
    needs="loss",
    thresholds=(
        "The last layer that ran is an `nn.Sigmoid` whose values are the model's output and lie in "
        "[0, 1], with BCEWithLogitsLoss: a structural fact, no tuned threshold (own reasoning)."
    ),
)
