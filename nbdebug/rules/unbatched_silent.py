"""NBD103 shape-mismatch: a conv, RNN or attention layer read its input as one unbatched sample, and
nothing crashed. The silent form of NBD102 (same detection, see unbatched_input.py)."""
import torch
import torch.nn as nn

from .base import Rule
from .unbatched_input import findings


def check(trace):
    if trace.error is None:
        yield from findings(RULE, trace, inputs_only=True)


def _bad_fully_convolutional_single_image():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
    return dict(model=m, inputs=torch.rand(3, 24, 24))


def _bad_gru_over_a_table():
    torch.manual_seed(0)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(5, 12, batch_first=True)
            self.out = nn.Linear(12, 2)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.out(h)

    return dict(model=Tagger(), inputs=torch.randn(9, 5))


def _good_batched_image():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 2, 1))
    return dict(model=m, inputs=torch.rand(1, 3, 24, 24))


def _good_per_sample_loop():
    torch.manual_seed(0)

    class SetEncoder(nn.Module):
        """Variable-size sets, encoded one at a time: each set is read unbatched on purpose."""

        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(6, 2)

        def forward(self, x):
            return torch.stack([self.attn(s, s, s)[0].mean(0) for s in x])

    return dict(model=SetEncoder(), inputs=torch.randn(3, 5, 6))


def _good_batch_first_gru():
    torch.manual_seed(0)
    return dict(model=nn.GRU(5, 12, batch_first=True), inputs=torch.randn(4, 9, 5))


RULE = Rule(
    code="NBD103",
    cause="shape-mismatch",
    severity="warning",
    title="Input read as one unbatched sample (missing batch dimension), silently",
    explanation=(
        "Convolutions, RNNs and attention accept one unbatched sample as well as a batch, so a tensor "
        "without its batch dimension runs through without an error: Conv2d reads (C, H, W) as one image, "
        "an RNN reads (L, H) as one sequence. When that was not meant, the first dimension of the data "
        "is taken for channels or time steps: a (batch, features) table fed to an RNN becomes one long "
        "sequence in which every row sees the rows before it, and per-sample outputs are wrong without a "
        "crash. It is a warning rather than an error because a single unbatched sample is legal input."
    ),
    fix="Add the missing batch dimension (`x.unsqueeze(0)`) or batch samples with a DataLoader; for RNNs "
        "give each sample a time axis.",
    check=check,
    bad=[_bad_fully_convolutional_single_image, _bad_gru_over_a_table],
    good=[_good_batched_image, _good_batch_first_gru, _good_per_sample_loop],
    needs="forward",
    thresholds="Structural, as NBD102: Conv{N}d input with N+1 dims whose first dim equals in_channels; "
               "RNN/GRU/LSTM input with 2 dims (not a PackedSequence); MultiheadAttention query with 2 "
               "dims; only when the forward and loss ran without an error, and only for the model's own "
               "input (a forward that loops over samples reads slices unbatched on purpose).",
)
