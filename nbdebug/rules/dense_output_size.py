"""NBD115 shape-mismatch: a dense prediction (segmentation, depth, super-resolution) comes out at
another spatial size than its target: the upsampling factor does not undo the network's stride, or a
PixelShuffle / transposed convolution scales by the wrong factor. The loss then raises (or, where the
sizes broadcast, compares the wrong pixels), and the message blames the target."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import shape
from .loss_signals import output, output_call, target


def mismatch(trace):
    """(output spatial size, target spatial size, input spatial size or None) when the output and the
    target agree on the batch and disagree only on a spatial size of the same rank; else None."""
    out, tgt = output(trace), target(trace)
    # images and volumes only: a (N, C, T) sequence against (N, S) labels is CTC, shorter by design
    if out is None or tgt is None or len(out.shape) < 4 or len(tgt.shape) < 3:
        return None
    o_space = tuple(out.shape[2:])
    x = trace.inputs[0] if trace.inputs else None
    if x is None or len(x.shape) != len(out.shape):
        return None  # dense prediction maps an (N, C, *S) input to an (N, C', *S) output
    if len(tgt.shape) == len(out.shape) - 1:        # class map (N, *S) against (N, C, *S)
        if tuple(tgt.shape) == tuple(out.shape[:-1]):
            return None  # (N, T) labels for (N, T, C) scores: classes last, nothing spatial
        t_space = tuple(tgt.shape[1:])
    elif len(tgt.shape) == len(out.shape):          # (N, C, *S) regression, masks, images
        if tgt.shape[1] != out.shape[1]:
            return None
        t_space = tuple(tgt.shape[2:])
    else:
        return None
    if tgt.shape[0] != out.shape[0] or t_space == o_space or min(o_space + t_space) < 2:
        return None
    return o_space, t_space, tuple(x.shape[2:])


def _size(dims) -> str:
    return "×".join(str(d) for d in dims)


def check(trace):
    found = mismatch(trace)
    if found is None:
        return
    o_space, t_space, x_space = found
    head = output_call(trace)
    ratio = [t / o for t, o in zip(t_space, o_space)]
    same = all(abs(r - ratio[0]) < 1e-9 for r in ratio)
    factor = (f" ({ratio[0]:g}× smaller)" if same and ratio[0] > 1 else
              f" ({1 / ratio[0]:g}× larger)" if same and ratio[0] < 1 else "")
    seen = f"; the input is {_size(x_space)}" if x_space else ""
    message = (f"The output {shape(output(trace))} is {_size(o_space)} in space{factor} while the target "
               f"{shape(target(trace))} is {_size(t_space)}{seen}: the model's upsampling does not undo its "
               f"downsampling (an `interpolate(scale_factor=...)` that does not match the stride, a "
               f"PixelShuffle or transposed convolution with the wrong factor).")
    if trace.error is not None and trace.error.stage == "loss":
        message += f" The loss raised on it: {trace.error.message.splitlines()[0][:140].rstrip('. ')}."
    where = head.name if head is not None else ""
    fix = (f"Make the output the target's size: upsample to it explicitly, `F.interpolate(logits, "
           f"size={tuple(t_space)}, mode='bilinear', align_corners=False)` (or `size=x.shape[-2:]`), or fix "
           f"the factor of the layer that scales the output.")
    yield RULE.finding(where, message, fix, call=head.index if head is not None else None,
                       evidence={"output_space": list(o_space), "target_space": list(t_space),
                                 "input_space": list(x_space) if x_space else None})


class _FCN(nn.Module):
    def __init__(self, scale: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(),
                                  nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
        self.head = nn.Conv2d(8, 4, 1)
        self.scale = scale

    def forward(self, x):
        return F.interpolate(self.head(self.body(x)), scale_factor=self.scale, mode="bilinear",
                             align_corners=False)


def _bad_stride_8_upsampled_by_4():
    torch.manual_seed(0)
    return dict(model=_FCN(4), inputs=torch.randn(2, 3, 32, 32), target=torch.randint(0, 4, (2, 32, 32)),
                loss=nn.CrossEntropyLoss())


def _bad_pixel_shuffle_factor():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Tanh(), nn.Conv2d(16, 3 * 16, 3, padding=1),
                      nn.PixelShuffle(4))
    x = torch.randn(2, 3, 8, 8)
    return dict(model=m, inputs=x, target=F.interpolate(x, scale_factor=2), loss=nn.L1Loss())


def _good_stride_8_upsampled_by_8():
    torch.manual_seed(0)
    return dict(model=_FCN(8), inputs=torch.randn(2, 3, 32, 32), target=torch.randint(0, 4, (2, 32, 32)),
                loss=nn.CrossEntropyLoss())


def _good_sequence_classifier_is_not_dense():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(4, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(8, 3))
    return dict(model=m, inputs=torch.randn(5, 4, 20), target=torch.randint(0, 3, (5,)))


RULE = Rule(
    code="NBD115",
    cause="shape-mismatch",
    severity="error",
    title="A dense prediction at another spatial size than its target",
    explanation=(
        "Segmentation, depth and super-resolution models must return a map of the target's size. A "
        "backbone with output stride 8 upsampled by 4, or a PixelShuffle(4) in a 2× super-resolution "
        "net, returns half or twice the size: the loss raises a size error that reads like a problem with "
        "the target, or, where one size is 1, broadcasts and compares the wrong pixels."
    ),
    fix="Upsample the logits to the target's size explicitly (`size=`), or fix the scaling layer's factor.",
    check=check,
    bad=[_bad_stride_8_upsampled_by_4, _bad_pixel_shuffle_factor],
    good=[_good_stride_8_upsampled_by_8, _good_sequence_classifier_is_not_dense],
    needs="loss",
    thresholds=("No number: an image or volume output (N, C, *S), S of rank ≥ 2, against a target (N, *S') or "
                "(N, C, *S') of the same batch and channels, with S' ≠ S of the same rank (every size ≥ 2), from "
                "an input of the output's rank."),
)
