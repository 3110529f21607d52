"""Gradient-norm queries shared by the vanishing- and exploding-gradient rules (not a rule module).

AUTOTRAINER (Zhang et al., ICSE 2021) compares the gradient norm of the first layer's weights with
the last layer's; these helpers give those weights in forward order, whatever the registration order.
"""
from __future__ import annotations

import math
from typing import Optional

from ..trace import Trace
from .helpers import SQUASH_TYPES, first_calls, leaf_calls

# Weights whose gradient norm says nothing about depth: an embedding's gradient touches only the rows
# of the tokens in the batch, and norm layers' weights are per-channel scales.
SKIP_OWNER_TYPES = ("Embedding", "EmbeddingBag")


def weights_in_order(trace: Trace) -> list:
    """Weight matrices/kernels (dim >= 2) that got a gradient, ordered by when their module first ran."""
    calls = first_calls(trace)
    ws = []
    for p in trace.params:
        if len(p.shape) < 2 or p.grad_norm is None or p.module not in calls:
            continue
        if calls[p.module].type in SKIP_OWNER_TYPES:
            continue
        ws.append(p)
    ws.sort(key=lambda p: calls[p.module].index)
    return ws


def layer_count(weights: list) -> int:
    return len({p.module for p in weights})


def call_index(trace: Trace, module: str) -> Optional[int]:
    c = first_calls(trace).get(module)
    return c.index if c else None


def squash_calls_between(trace: Trace, start: int, end: int) -> list:
    """Sigmoid-family leaf calls that ran between two call indices (derivative <= 1/4 for sigmoid)."""
    return [c for c in leaf_calls(trace) if start < c.index < end and c.type in SQUASH_TYPES]


def saturated_squash(trace: Trace, frac: float = 0.5) -> list:
    """Squashing calls whose inputs have |x| >= 5 for more than `frac` of values (DeepDiagnosis)."""
    out = []
    for c in leaf_calls(trace):
        if c.type in SQUASH_TYPES and c.inputs:
            v = c.inputs[0].extra.get("abs_ge5_frac")
            if v is not None and v > frac:
                out.append(c)
    return out


def finite(x) -> bool:
    return x is not None and math.isfinite(x)


def stand_in(trace: Trace) -> bool:
    return trace.loss is None or trace.loss.stand_in
