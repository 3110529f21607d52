"""NBD114 shape-mismatch: an image batch (N, C, H, W) fed straight to a Linear layer with no flatten.
nn.Linear maps only the last axis, so with in_features equal to the width it runs silently over each
row of pixels, and the output keeps the image's extra axes."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import LINEAR_TYPES, leaf_calls, model_output, shape


def check(trace):
    if not trace.inputs:
        return
    x = trace.inputs[0]
    if len(x.shape) < 4 or not x.is_float:
        return
    first = next((c for c in leaf_calls(trace) if c.status == "ok" and c.inputs and c.inputs[0].ref == x.ref),
                 None)
    if first is None or first.type not in LINEAR_TYPES or not first.outputs:
        return
    out = model_output(trace)
    if out is None or len(out.shape) < 3:
        return  # the model reduced the extra axes itself: a per-pixel Linear on purpose (a 1x1 conv)
    n, rest = x.shape[0], 1
    for d in x.shape[1:]:
        rest *= d
    message = (f"The image batch {shape(x)} goes straight into `{first.name}` ({first.type}, in_features="
               f"{first.attrs.get('in_features')}), which maps only the last axis (the width): it runs over "
               f"every row of pixels separately, and the output {shape(out)} keeps the image's axes instead "
               f"of one row per sample.")
    fix = (f"Flatten first: `x.flatten(1)` (or `nn.Flatten()` before the Linear) and size it "
           f"`nn.Linear({rest}, ...)` for {shape(x)} inputs; for images a conv stem with pooling is better.")
    yield RULE.finding(first.name, message, fix, call=first.index,
                       evidence={"input": list(x.shape), "output": list(out.shape)})


def _mlp(flatten: bool):
    torch.manual_seed(0)
    layers = ([nn.Flatten(), nn.Linear(64, 16)] if flatten else [nn.Linear(8, 16)]) + [nn.ReLU(), nn.Linear(16, 3)]
    return dict(model=nn.Sequential(*layers), inputs=torch.randn(5, 1, 8, 8), target=torch.arange(5) % 3)


def _bad_linear_over_the_width():
    return _mlp(False)


def _good_flattened_first():
    return _mlp(True)


RULE = Rule(
    code="NBD114",
    cause="shape-mismatch",
    severity="error",
    title="Image batch fed to a Linear layer without flattening",
    explanation=(
        "`nn.Linear` acts on the last dimension and treats all others as batch. An (N, C, H, W) image batch "
        "given to `nn.Linear(W, ...)` therefore runs the layer over every row of pixels on its own: nothing "
        "crashes there, the output keeps (N, C, H, ...) axes, and the loss later fails or, worse, "
        "broadcasts. The classic cause is a missing `x.flatten(1)` / `nn.Flatten()` in an MLP for MNIST."
    ),
    fix="Flatten the image before the first Linear: `nn.Flatten()`, with in_features = C*H*W.",
    check=check,
    bad=[_bad_linear_over_the_width],
    good=[_good_flattened_first],
    needs="forward",
    thresholds="No number: the model's first float input has 4 or more dimensions, the first layer that "
               "reads it is a Linear, and the model's output still has 3 or more dimensions.",
)
