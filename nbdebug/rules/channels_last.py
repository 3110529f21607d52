"""NBD105 shape-mismatch: an image (or sequence) in channels-last layout (N, H, W, C) reached a conv
that reads channels-first (N, C, H, W)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import producer, shape
from .layout import CONV_SPATIAL, channels_last, channels_last_perm, forward_error, input_name, label, \
    model_input_of, raised_calls, same_data


def check(trace):
    if not forward_error(trace):
        return
    for call in raised_calls(trace):
        s = channels_last(call)
        if s is None:
            continue
        src = model_input_of(trace, s) or next((i for i in trace.inputs if same_data(i, s)), None)
        where = "input" if src is not None else call.name
        var = input_name(src) if src is not None else "x"
        spatial = CONV_SPATIAL[call.type]
        batched = len(s.shape) == spatial + 2
        channels = call.attrs.get("in_channels")
        wrong = s.shape[1] if batched else s.shape[0]
        perm = channels_last_perm(len(s.shape), batched, var)
        if src is not None:
            what = f"the input {shape(s)}"
        else:
            made = producer(trace, s.ref, before=call.index)
            what = f"the tensor {shape(s)}" + (f" from {label(made)}" if made is not None and made.name else "")
        origin = ("as images come from PIL, numpy or TensorFlow" if spatial > 1
                  else "as embeddings and sequence features come")
        message = (f"{label(call)} expects {channels} channels in dim {1 if batched else 0} but {what} "
                   f"holds them in its last dim (channels-last, {origin}), so it read {wrong} channels "
                   f"instead.")
        if spatial > 1:
            fix = (f"Move the channels in front of the spatial dims: `{perm}`, or load images with "
                   f"`torchvision.transforms.ToTensor()`, which returns (C, H, W).")
        else:
            fix = (f"Put the channels before the length: `{perm}` (the same as `.transpose(1, 2)`) right "
                   f"before {label(call)}.")
        yield RULE.finding(where, message, fix, call=call.index,
                           evidence={"layer": call.name, "shape": list(s.shape), "in_channels": channels})
        return


def _bad_numpy_style_rgb_batch():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    return dict(model=m, inputs=torch.rand(2, 20, 20, 3))


def _bad_sequence_into_conv1d():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(50, 8)
            self.conv = nn.Conv1d(8, 16, 3)

        def forward(self, tokens):
            return self.conv(self.embed(tokens)).amax(-1)  # (N, L, 8): the embedding dim is last

    return dict(model=Net(), inputs=torch.randint(0, 50, (4, 12)))


def _good_channels_first():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    return dict(model=m, inputs=torch.rand(2, 3, 20, 20))


RULE = Rule(
    code="NBD105",
    cause="shape-mismatch",
    severity="error",
    title="Channels-last input to a channels-first convolution",
    explanation=(
        "PyTorch convolutions read (N, C, H, W) (Conv1d: (N, C, L)), but images loaded with PIL, numpy, "
        "OpenCV or TensorFlow are (H, W, C), and embeddings or sequence features come as (N, L, C). When "
        "the channels sit in the last dim, the conv sees the image height (or the sequence length) as the "
        "channel count and raises \"expected input ... to have 3 channels, but got 32 channels\"."
    ),
    fix="Permute the channels in front of the spatial dims (`x.permute(0, 3, 1, 2)` for images, "
        "`x.transpose(1, 2)` for sequences) or use a transform that returns channels-first tensors.",
    check=check,
    bad=[_bad_numpy_style_rgb_batch, _bad_sequence_into_conv1d],
    good=[_good_channels_first],
    needs="forward",
    thresholds="Structural, no numbers: the conv that raised received a tensor whose last dim equals "
               "in_channels while its channel dim does not.",
)
