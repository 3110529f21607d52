"""Built-in broken (and fixed) models for the demo, the docs and the notebooks. Nothing is downloaded.

Each function returns a dict of `nbdebug.trace` arguments: model, inputs and optionally target,
loss, optimizer and steps.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class LogLayer(nn.Module):
    """log of its input: fine for positive values, -Inf for the zeros a ReLU produces."""

    def forward(self, x):
        return torch.log(x)


class SafeLogLayer(nn.Module):
    def forward(self, x):
        return torch.log(x.clamp_min(1e-6))


def _gen(seed: int = 0) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _mlp(last: nn.Module, seed: int = 0) -> nn.Sequential:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), last, nn.Linear(8, 3))


def log_of_relu() -> dict:
    """NaN/-Inf born inside the model: log() of the exact zeros a ReLU outputs."""
    x = torch.randn(8, 4, generator=_gen(1))
    return dict(model=_mlp(LogLayer()), inputs=x, target=torch.randint(0, 3, (8,), generator=_gen(2)),
                loss="cross_entropy")


def log_of_relu_fixed() -> dict:
    x = torch.randn(8, 4, generator=_gen(1))
    return dict(model=_mlp(SafeLogLayer()), inputs=x, target=torch.randint(0, 3, (8,), generator=_gen(2)),
                loss="cross_entropy")


def missing_batch_dim() -> dict:
    """A single 28x28 image without its batch dimension: Conv2d reads it as unbatched."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 10))
    return dict(model=m, inputs=torch.randn(1, 28, 28, generator=_gen(3)))


def softmax_into_cross_entropy() -> dict:
    """Probabilities fed to CrossEntropyLoss, which applies its own log-softmax."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3), nn.Softmax(dim=-1))
    return dict(model=m, inputs=torch.randn(16, 10, generator=_gen(4)),
                target=torch.randint(0, 3, (16,), generator=_gen(5)), loss=nn.CrossEntropyLoss())


EXAMPLES = {
    "log_of_relu": log_of_relu,
    "log_of_relu_fixed": log_of_relu_fixed,
    "missing_batch_dim": missing_batch_dim,
    "softmax_into_cross_entropy": softmax_into_cross_entropy,
}
DEMO = "log_of_relu"
