"""A zoo of small models of our own, for the capture and stats tests (not the acceptance zoo)."""
from collections import namedtuple
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


def seeded(seed=0):
    torch.manual_seed(seed)


class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(6, 12), nn.ReLU())
        self.body = nn.Sequential(nn.Sequential(nn.Linear(12, 12), nn.Tanh()), nn.Linear(12, 4))

    def forward(self, x):
        return self.body(self.stem(x))


class Reused(nn.Module):
    """One Linear applied three times: three calls of the same module."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(5, 5)

    def forward(self, x):
        for _ in range(3):
            x = torch.tanh(self.shared(x))
        return x


class Functional(nn.Module):
    """Functional ops between modules: only module calls are recorded, stats stay right."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(8, 2)

    def forward(self, x):
        h = F.gelu(self.a(x)) * 2 + 1
        return self.b(h.sigmoid())


class LSTMNet(nn.Module):
    def __init__(self, cell=nn.LSTM):
        super().__init__()
        self.rnn = cell(3, 7, batch_first=True)
        self.fc = nn.Linear(7, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        h, w = self.attn(x, x, x)
        return self.fc(h.mean(1))


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 6)
        self.cls = nn.Linear(6, 3)
        self.reg = nn.Linear(6, 1)

    def forward(self, x):
        h = torch.relu(self.enc(x))
        return {"logits": self.cls(h), "value": self.reg(h)}


class KwargsIn(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 8)
        self.b = nn.Linear(3, 8)

    def forward(self, left, right, scale=1.0):
        return (self.a(left) + self.b(right)) * scale


class NoneInside(nn.Module):
    """A submodule returning None, which the parent handles."""

    class Side(nn.Module):
        def forward(self, x):
            return None

    def __init__(self):
        super().__init__()
        self.side = NoneInside.Side()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        assert self.side(x) is None
        return self.fc(x)


Pair = namedtuple("Pair", "mean logvar")


@dataclass
class Out:
    z: torch.Tensor
    extra: tuple


class StructuredOut(nn.Module):
    """namedtuple and dataclass outputs."""

    def __init__(self):
        super().__init__()
        self.mu = nn.Linear(4, 2)
        self.lv = nn.Linear(4, 2)

    def forward(self, x):
        p = Pair(self.mu(x), self.lv(x))
        return Out(z=p.mean + p.logvar.exp(), extra=(p, None, 3))


class RaisesAt(nn.Module):
    """fc is built for the wrong width: raises at fc, after conv and flat ran."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(100, 10)

    def forward(self, x):
        return self.fc(self.flat(self.conv(x)))


class InplaceRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6)
        self.fc = nn.Linear(6, 2)

    def forward(self, ids):
        return self.fc(self.emb(ids).mean(1))


def all_models():
    """(name, model, inputs) for a broad sweep."""
    seeded(0)
    return [
        ("sequential", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), torch.randn(5, 4)),
        ("nested", Nested(), torch.randn(3, 6)),
        ("reused", Reused(), torch.randn(4, 5)),
        ("functional", Functional(), torch.randn(6, 4)),
        ("lstm", LSTMNet(nn.LSTM), torch.randn(4, 5, 3)),
        ("gru", LSTMNet(nn.GRU), torch.randn(4, 5, 3)),
        ("rnn", LSTMNet(nn.RNN), torch.randn(4, 5, 3)),
        ("attention", Attention(), torch.randn(2, 5, 8)),
        ("transformer", nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2),
         torch.randn(2, 5, 8)),
        ("dict_out", DictOut(), torch.randn(5, 4)),
        ("kwargs_in", KwargsIn(), {"left": torch.randn(3, 4), "right": torch.randn(3, 3)}),
        ("none_inside", NoneInside(), torch.randn(2, 4)),
        ("structured_out", StructuredOut(), torch.randn(3, 4)),
        ("inplace_relu", InplaceRelu(), torch.randn(5, 4)),
        ("embedding", Embedder(), torch.randint(0, 20, (3, 7))),
        ("batchnorm_train", nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5),
                                          nn.Linear(6, 1)).train(), torch.randn(8, 4)),
        ("cnn", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3)), torch.randn(2, 3, 8, 8)),
    ]
