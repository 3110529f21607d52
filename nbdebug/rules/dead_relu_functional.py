"""NBD231 dead-relu: a ReLU written as a function in forward (`F.relu`, `torch.relu`, `.clamp(min=0)`)
turns every value into 0: the layer before it outputs only values ≤ 0 and the layer after it receives
only zeros. Module hooks do not see the function, so NBD230 cannot; its neighbours show it."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import WEIGHTED_TYPES, fmt, module_expr, params_of, producer, shape

MIN_VALUES = 16   # all of at least 16 values ≤ 0 (chance 0.5^16 for a healthy pre-activation)


def _previous_sibling(trace, call):
    """The last weighted call of the same parent that finished before this one started."""
    found = None
    for c in trace.calls[:call.index]:
        if c.parent == call.parent and c.type in WEIGHTED_TYPES and c.outputs:
            found = c
    return found


def check(trace):
    inputs = {s.ref for s in trace.inputs}
    for call in trace.calls:
        if call.type not in WEIGHTED_TYPES or not call.inputs:
            continue
        x = call.inputs[0]
        if x.ref in inputs or not x.has_values or x.numel < MIN_VALUES or x.zero_frac != 1.0:
            continue
        if len(x.shape) < 2 or x.shape[0] < 2:
            continue
        made_by = producer(trace, x.ref, before=call.index)
        if made_by is not None and made_by.index != call.parent:
            continue  # a module made it (an nn.ReLU: NBD230), not code in the parent's forward
        src = _previous_sibling(trace, call)
        if src is None:
            continue
        pre = src.outputs[0]
        if not pre.has_values or pre.numel < MIN_VALUES or not pre.max <= 0 or pre.ref == x.ref:
            continue
        message = (f"Every output of `{src.name}` ({src.type}) is ≤ 0 (max {fmt(pre.max)}, mean {fmt(pre.mean)}), "
                   f"and `{call.name}` receives only zeros {shape(x)}: the ReLU applied between them in forward "
                   f"is dead for every unit and every sample, so no gradient passes.")
        bias = next((p for p in params_of(trace, src.name) if p.name.endswith("bias") and p.stats), None)
        expr = module_expr(src.name)
        if bias is not None and bias.stats.mean < 0:
            fix = (f"The bias of `{src.name}` averages {fmt(bias.stats.mean)}: reset it "
                   f"(`nn.init.zeros_({expr}.bias)`), or use `F.leaky_relu(x, 0.01)`.")
        else:
            fix = (f"Bring `{src.name}`'s outputs back around zero (`{expr}.reset_parameters()`, input "
                   f"normalisation, a lower learning rate), or use `F.leaky_relu(x, 0.01)`.")
        yield RULE.finding(src.name, message, fix, call=src.index,
                           evidence={"receiver": call.name, "pre_max": pre.max, "pre_mean": pre.mean})


class _Net(nn.Module):
    def __init__(self, bias):
        super().__init__()
        self.fc1 = nn.Linear(8, 24)
        self.fc2 = nn.Linear(24, 2)
        nn.init.constant_(self.fc1.bias, bias)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def _bad_functional_relu_dead():
    torch.manual_seed(0)
    return dict(model=_Net(-9.0), inputs=torch.randn(16, 8), target=torch.randint(0, 2, (16,)))


def _bad_clamp_after_conv():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3)
            self.head = nn.Conv2d(4, 1, 1)
            nn.init.constant_(self.conv.bias, -12.0)

        def forward(self, x):
            return self.head(self.conv(x).clamp(min=0))

    return dict(model=Net(), inputs=torch.randn(4, 2, 6, 6))


def _good_functional_relu():
    torch.manual_seed(0)
    return dict(model=_Net(0.0), inputs=torch.randn(16, 8), target=torch.randint(0, 2, (16,)))


def _good_sparse_input_features():
    # All-zero columns in the model's own input are data (bag of words), not dead units.
    torch.manual_seed(0)
    x = torch.zeros(8, 30)
    return dict(model=nn.Sequential(nn.Linear(30, 4)), inputs=x)


RULE = Rule(
    code="NBD231",
    cause="dead-relu",
    severity="warning",
    title="A functional ReLU in forward outputs zero everywhere",
    explanation=(
        "The silent form of NBD230 for a ReLU written as a function (`F.relu(x)`, `torch.relu(x)`, "
        "`x.clamp(min=0)`), which module hooks do not see. When every value the layer before it produces "
        "is negative, the ReLU returns zeros for every unit and sample: the next layer sees a constant, "
        "the output no longer depends on the input, and no gradient reaches anything before it. A large "
        "negative bias, weights too large for the fan-in, or a bad learning-rate step are the usual causes."
    ),
    fix="Bring the pre-activations back around zero (reset the bias/weights, normalise the input, lower the "
        "learning rate), or use a leaky ReLU.",
    check=check,
    bad=[_bad_functional_relu_dead, _bad_clamp_after_conv],
    good=[_good_functional_relu, _good_sparse_input_features],
    needs="forward",
    thresholds=(
        f"A Linear/Conv whose input (not the model's input) is all zeros over ≥ {MIN_VALUES} values and a "
        "batch of ≥ 2, right after a sibling Linear/Conv whose outputs are all ≤ 0 (a healthy "
        f"pre-activation is ≤ 0 everywhere by chance with probability about 0.5^{MIN_VALUES}). Own reasoning."
    ),
)
