"""The reference models of the benchmark, built in code (no torchvision, no downloads).

Each `build_*` returns a `Workload`: the model, its input, a target and the user's loss. `size`
is "full" for the published numbers and "smoke" for the CI run (tiny shapes, same code paths).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn


@dataclass
class Workload:
    name: str
    description: str
    model: nn.Module
    x: torch.Tensor
    target: torch.Tensor
    loss: nn.Module


# ----------------------------------------------------------------------------- ResNet-18
class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        skip = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + skip)


class ResNet18(nn.Module):
    """torchvision's resnet18 layout: a 7×7 stem, four stages of two basic blocks, 1000 classes."""

    def __init__(self, width: int = 64, classes: int = 1000):
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(3, w, 7, 2, 3, bias=False), nn.BatchNorm2d(w),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], w
        for i, cout in enumerate((w, 2 * w, 4 * w, 8 * w)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def build_cnn(size: str) -> Workload:
    full = size == "full"
    batch, res, width, classes = (16, 64, 64, 1000) if full else (4, 32, 8, 10)
    model = ResNet18(width, classes)
    x = torch.randn(batch, 3, res, res)
    y = torch.randint(0, classes, (batch,))
    return Workload("cnn", f"ResNet-18 (width {width}), batch {batch}, {res}×{res}", model, x, y,
                    nn.CrossEntropyLoss())


# ----------------------------------------------------------------------------- Transformer
class TextEncoder(nn.Module):
    """Token embedding, learned positions, nn.TransformerEncoder, mean pooling, a linear head."""

    def __init__(self, vocab: int, dim: int, heads: int, layers: int, seq: int, classes: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(1, seq, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens) + self.pos[:, :tokens.shape[1]])
        return self.head(self.norm(h).mean(1))


def build_transformer(size: str) -> Workload:
    full = size == "full"
    batch, seq, dim, layers, heads = (16, 128, 256, 6, 8) if full else (4, 16, 32, 2, 4)
    vocab, classes = 1000, 10
    model = TextEncoder(vocab, dim, heads, layers, seq, classes)
    x = torch.randint(0, vocab, (batch, seq))
    y = torch.randint(0, classes, (batch,))
    return Workload("transformer", f"Transformer encoder, {layers} layers × {dim}, seq {seq}, batch {batch}",
                    model, x, y, nn.CrossEntropyLoss())


# ----------------------------------------------------------------------------- deep MLP
def build_mlp(size: str) -> Workload:
    full = size == "full"
    batch, width, depth = (64, 512, 24) if full else (8, 32, 4)
    layers: list = [nn.Linear(784, width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.LayerNorm(width), nn.ReLU()]
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    x = torch.randn(batch, 784)
    y = torch.randint(0, 10, (batch,))
    return Workload("mlp", f"deep MLP, {depth} hidden layers × {width}, batch {batch}", model, x, y,
                    nn.CrossEntropyLoss())


# ----------------------------------------------------------------------------- many calls
class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.Tanh()

    def forward(self, x):
        return x + 0.1 * self.act(self.fc(x))


def build_many_calls(size: str, calls: int = 2000) -> Workload:
    """A model whose forward makes exactly `calls` module calls: root + blocks×3 + a head."""
    if size != "full":
        calls = 200
    width, batch = 32, 8
    blocks = (calls - 2) // 3
    head_calls = calls - 1 - 3 * blocks  # 1 or more linear heads to land exactly on `calls`
    model = nn.Sequential(*[Block(width) for _ in range(blocks)],
                          *[nn.Linear(width, width) for _ in range(head_calls)])
    x = torch.randn(batch, width)
    y = torch.randn(batch, width)
    return Workload("calls2000" if size == "full" else "calls200",
                    f"{calls} module calls ({blocks} residual Linear+Tanh blocks), batch {batch}",
                    model, x, y, nn.MSELoss())


# ----------------------------------------------------------------------------- tiny
def build_tiny(size: str) -> Workload:
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(8, 4)
    y = torch.randint(0, 3, (8,))
    return Workload("tiny", "tiny MLP (4 → 8 → 3), batch 8", model, x, y, nn.CrossEntropyLoss())


BUILDERS: dict = {
    "cnn": build_cnn,
    "transformer": build_transformer,
    "mlp": build_mlp,
    "calls": build_many_calls,
    "tiny": build_tiny,
}


def build(key: str, size: str, device: str = "cpu", seed: int = 0) -> Workload:
    torch.manual_seed(seed)
    w = BUILDERS[key](size)
    w.model.to(device).train()
    w.x, w.target, w.loss = w.x.to(device), w.target.to(device), w.loss.to(device)
    return w


def count_calls(model: nn.Module, x) -> int:
    """Module calls one forward makes (what nbdebug records one by one)."""
    from torch.nn.modules import module as module_mod

    n = [0]

    def pre(module, args):
        n[0] += 1

    h = module_mod.register_module_forward_pre_hook(pre)
    try:
        with torch.no_grad():
            model(x)
    finally:
        h.remove()
    return n[0]


Builder = Callable[[str], Workload]
