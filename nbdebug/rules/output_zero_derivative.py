"""NBD298 no-gradient: every trainable parameter gets a gradient of exactly zero while the loss's
gradient w.r.t. the model's output is not zero: the output is made by an operation whose derivative
is zero everywhere (`torch.round`, `floor`, `sign`, a threshold) after the last layer. NBD294 covers
such an operation in the middle, where later layers still train; here nothing does."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import backward_ran, fmt, leaf_calls, shape
from .zero_gradient import explained


def _grad_norm(call):
    g = call.grads[0] if call.grads else None
    return g.norm if g is not None and g.has_values else None


def _culprit(trace):
    """The deepest call whose output gradient is not zero while every child's is exactly zero: the
    zero-derivative operation is in its forward, after those children."""
    children: dict = {}
    for c in trace.calls:
        if c.parent is not None:
            children.setdefault(c.parent, []).append(c)
    best = None
    for c in trace.calls:
        norm = _grad_norm(c)
        kids = [_grad_norm(k) for k in children.get(c.index, [])]
        kids = [n for n in kids if n is not None]
        if norm and norm > 0 and kids and all(n == 0.0 for n in kids):
            if best is None or c.depth > best.depth:
                best = c
    return best


def check(trace):
    if not backward_ran(trace) or not trace.calls:
        return
    own = [p for p in trace.params if p.requires_grad]
    if not own or any(p.grad_norm is None or p.grad_norm != 0.0 for p in own):
        return  # None is a cut graph (NBD290); a non-zero norm means something trains
    culprit = _culprit(trace)
    if culprit is None:
        return
    weighted = [c for c in leaf_calls(trace) if c.params and _grad_norm(c) == 0.0]
    if not weighted or explained(trace, weighted[-1]):
        return  # dead ReLUs, saturation, an all-zero layer: their own findings
    last = weighted[-1]
    where = culprit.name or "the model"
    message = (f"All {len(own)} trainable parameter tensors get a gradient of exactly zero, yet the loss's "
               f"gradient reaches `{where}`'s output {shape(culprit.outputs[0]) if culprit.outputs else ''} "
               f"(norm {fmt(_grad_norm(culprit))}); the last layer inside, `{last.name}` ({last.type}), "
               f"already gets zeros. Between them `{where}`'s forward applies an operation whose derivative "
               f"is zero everywhere (`torch.round`, `floor`, `ceil`, `sign`, a `>` threshold turned into "
               f"floats): no step can change any weight.")
    fix = ("Return the continuous value (logits or the sigmoid probability) and let the loss work on it; "
           "round or threshold only to report predictions, under `torch.no_grad()`. Where the discrete "
           "value is needed in training, use a straight-through estimator `x + (x.round() - x).detach()`.")
    yield RULE.finding(culprit.name, message, fix, call=culprit.index,
                       evidence={"params": len(own), "last_layer": last.name,
                                 "output_grad_norm": fmt(_grad_norm(culprit))})


class _RoundedChurn(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x):
        return torch.round(torch.sigmoid(self.net(x)))


def _bad_rounded_probabilities():
    torch.manual_seed(24)
    x = torch.randn(32, 6)
    return dict(model=_RoundedChurn(), inputs=x, target=(x[:, :1] > 0).float(), loss=nn.MSELoss())


class _SignHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(2, 8, 3), nn.Tanh(), nn.Flatten(), nn.Linear(8 * 6, 1))

    def forward(self, x):
        return torch.sign(self.body(x))


def _bad_sign_output_with_l1():
    torch.manual_seed(22)
    return dict(model=_SignHead(), inputs=torch.randn(16, 2, 8), target=torch.randn(16, 1).sign(),
                loss=nn.L1Loss())


class _ProbaChurn(_RoundedChurn):
    def forward(self, x):
        return torch.sigmoid(self.net(x))


def _good_probabilities_rounded_only_at_report():
    torch.manual_seed(24)
    x = torch.randn(32, 6)
    return dict(model=_ProbaChurn(), inputs=x, target=(x[:, :1] > 0).float(), loss=nn.BCELoss())


class _StraightThroughChurn(_RoundedChurn):
    def forward(self, x):
        p = torch.sigmoid(self.net(x))
        return p + (p.round() - p).detach()


def _good_straight_through_output():
    torch.manual_seed(24)
    x = torch.randn(32, 6)
    return dict(model=_StraightThroughChurn(), inputs=x, target=(x[:, :1] > 0).float(), loss=nn.MSELoss())


def _good_round_in_the_middle_is_nbd294():
    # later layers still train: NBD294's finding, not this one
    torch.manual_seed(23)

    class Mid(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc, self.dec = nn.Linear(6, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.dec(torch.round(self.enc(x)))

    return dict(model=Mid(), inputs=torch.randn(16, 6), target=torch.randn(16, 1), loss=nn.MSELoss())


RULE = Rule(
    code="NBD298",
    cause="no-gradient",
    severity="error",
    title="The output is rounded or thresholded: every gradient is exactly zero",
    explanation=(
        "Returning `torch.round(torch.sigmoid(logits))` (or `sign`, `floor`, `(p > 0.5).float()`) so that "
        "the outputs look like labels makes the model's output piecewise constant: its derivative is zero "
        "almost everywhere, autograd passes back exact zeros, and no optimizer step can change a weight. "
        "The loss is computed, `.grad` is filled (with zeros) and nothing raises, so the model simply "
        "never learns."
    ),
    fix="Return the continuous output for the loss; round only to report predictions.",
    check=check,
    bad=[_bad_rounded_probabilities, _bad_sign_output_with_l1],
    good=[_good_probabilities_rounded_only_at_report, _good_straight_through_output,
          _good_round_in_the_middle_is_nbd294],
    needs="backward",
    thresholds=("Exact zeros: every trainable parameter's gradient norm is 0 (none missing), the gradient "
                "of the innermost call that contains the operation is not, every child of that call gets 0, "
                "and no dead ReLU, saturated squash or all-zero layer (NBD294's list) explains it."),
)
