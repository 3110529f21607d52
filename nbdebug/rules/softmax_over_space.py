"""NBD253 softmax-wrong-dim: a convolution's per-pixel class scores (classes in dim 1 of an (N, C, H, W)
output) normalised over a spatial axis, e.g. `softmax(dim=-1)` copied from a classifier: each class
sums to 1 along the image width instead of each pixel along the classes."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import CONV_TYPES, fmt, last_of_shape, made_by, model_output, producer, shape
from .softmax_batch_dim import normalisers_of
from .softmax_wrong_axis import NOT_ALONG_CLASSES, SUMS_TO_ONE, normalised_along


def _module_case(trace, out):
    for call, x, dim in normalisers_of(trace, out):
        if len(x.shape) < 4 or dim is None or dim in (0, 1) or x.shape[1] < 2:
            continue  # dim 0 is NBD250's; dim 1 holds a convolution's classes
        src = made_by(trace, x, call.index, CONV_TYPES)
        if src is not None:
            return call, src, dim
    return None


def _class_map_target(trace, out) -> bool:
    """The target is a map of class indices, (N, H, W) against the (N, C, H, W) output, below C: the
    channels are classes, so each pixel, not each map, must be a distribution."""
    tgt = trace.target[0] if trace.target else None
    return (tgt is not None and tgt.has_values and len(tgt.shape) == len(out.shape) - 1
            and tuple(tgt.shape) == (out.shape[0],) + tuple(out.shape[2:])
            and tgt.extra.get("integral_frac", 0) >= 0.999 and tgt.min >= 0 and tgt.max < out.shape[1])


def _functional_case(trace, out):
    """(scores' conv, error over the classes, error over the spatial axis, which axis) when the output
    sums to 1 over its last dimension or over its whole feature map, and not over the classes."""
    for key, axis in (("sum1_err_dlast", "its last dimension, a spatial axis"),
                      ("sum1_err_spatial", "each whole feature map (height × width)")):
        if key == "sum1_err_spatial" and not _class_map_target(trace, out):
            continue  # a spatial softmax over keypoint heatmaps (soft-argmax) is one distribution per map
        errs = normalised_along(out, key, "sum1_err_d1")
        if errs is None or out.shape[1] < 2:
            continue
        along, d1 = errs
        src = last_of_shape(trace, out, CONV_TYPES)
        if src is not None:
            return src, d1, along, axis
    return None


def check(trace):
    out = model_output(trace)
    if out is None or not out.is_float or not out.has_values or len(out.shape) < 4:
        return
    found = _module_case(trace, out)
    if found is not None:
        call, src, dim = found
        x = call.inputs[0]
        message = (f"`{call.name}` ({call.type}) normalises the {shape(x)} scores of `{src.name}` "
                   f"({src.type}, {x.shape[1]} classes in dimension 1) over dimension {dim} (size "
                   f"{x.shape[dim]}), a spatial axis: each class sums to 1 along it, and no pixel's scores "
                   f"form a distribution over the classes.")
        yield RULE.finding(call.name, message, f"Normalise over the classes: `nn.{call.type}(dim=1)`.",
                           call=call.index, evidence={"dim": dim, "shape": list(x.shape), "scores": src.name})
        return
    found = _functional_case(trace, out)
    if found is None:
        return
    src, d1, dlast, axis = found
    owner = producer(trace, out.ref)
    message = (f"The output {shape(out)} sums to 1 over {axis} (off by "
               f"{fmt(dlast)}), and not over dimension 1, the {out.shape[1]} classes of `{src.name}` "
               f"({src.type}; off by {fmt(d1)} on average): a softmax in forward normalises along the "
               f"image, not over the classes.")
    yield RULE.finding(owner.name if owner is not None else "", message,
                       "Normalise over the classes: `F.softmax(scores, dim=1)` for (N, C, H, W) scores.",
                       call=owner.index if owner is not None else None,
                       evidence={"err_d1": d1, "err_dlast": dlast, "scores": src.name})


class _Segmenter(nn.Module):
    def __init__(self, dim, functional=False):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.norm = nn.Softmax(dim=dim)
        self.functional, self.dim = functional, dim

    def forward(self, x):
        scores = self.conv(x)
        return F.softmax(scores, dim=self.dim) if self.functional else self.norm(scores)


def _bad_softmax_over_width():
    torch.manual_seed(0)
    return dict(model=_Segmenter(-1).eval(), inputs=torch.randn(2, 3, 8, 8))


def _bad_functional_softmax_over_width():
    torch.manual_seed(0)
    return dict(model=_Segmenter(-1, functional=True).eval(), inputs=torch.randn(2, 3, 8, 8))


def _good_softmax_over_classes():
    torch.manual_seed(0)
    return dict(model=_Segmenter(1, functional=True).eval(), inputs=torch.randn(2, 3, 8, 8))


class _FlatSoftmaxSegmenter(_Segmenter):
    def forward(self, x):
        z = self.conv(x)
        return F.softmax(z.flatten(2), dim=-1).view_as(z)


def _dice(probs, labels):
    onehot = F.one_hot(labels, probs.shape[1]).permute(0, 3, 1, 2).float()
    return 1 - (2 * (probs * onehot).sum() + 1) / (probs.sum() + onehot.sum() + 1)


def _bad_softmax_over_the_flattened_map_before_dice():
    torch.manual_seed(0)
    return dict(model=_FlatSoftmaxSegmenter(1), inputs=torch.randn(2, 3, 8, 8),
                target=torch.randint(0, 5, (2, 8, 8)), loss=_dice)


def _good_softmax_over_classes_before_dice():
    torch.manual_seed(0)
    return dict(model=_Segmenter(1, functional=True), inputs=torch.randn(2, 3, 8, 8),
                target=torch.randint(0, 5, (2, 8, 8)), loss=_dice)


def _good_spatial_softmax_keypoints():
    # one heatmap per keypoint normalised over the flattened image (spatial softmax): dims >= 2 joined
    torch.manual_seed(0)

    class Keypoints(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x):
            h = self.conv(x)
            return F.softmax(h.flatten(2), dim=-1).view_as(h)

    return dict(model=Keypoints().eval(), inputs=torch.randn(2, 3, 8, 8))


RULE = Rule(
    code="NBD253",
    cause="softmax-wrong-dim",
    severity="warning",
    title="Softmax over a spatial axis of per-pixel class scores",
    explanation=(
        "A convolution puts its output channels, the classes of a segmentation head, in dimension 1 of an "
        "(N, C, H, W) tensor. A softmax over the last dimension (the width), often copied from a "
        "classifier's `dim=-1`, makes each class sum to 1 along every row of the image instead of making "
        "each pixel's class scores a distribution: the probabilities depend on the image width and the "
        "model cannot express 'this pixel is class c'."
    ),
    fix="Pass the class dimension: `nn.Softmax(dim=1)` / `F.softmax(scores, dim=1)` for conv scores.",
    check=check,
    bad=[_bad_softmax_over_width, _bad_functional_softmax_over_width,
         _bad_softmax_over_the_flattened_map_before_dice],
    good=[_good_softmax_over_classes, _good_spatial_softmax_keypoints, _good_softmax_over_classes_before_dice],
    needs="forward",
    thresholds=(
        "Module form: a Softmax/LogSoftmax/Softmin whose output is the model's ≥ 4-D output, over a dim "
        "other than 0 and 1, of scores made by a convolution. Functional form: values in [0, 1], mean "
        f"|Σ over the last dim − 1| ≤ {SUMS_TO_ONE:g} while over dim 1 ≥ {NOT_ALONG_CLASSES:g}, and the "
        "last layer of that shape is a convolution. Own reasoning."
    ),
)
