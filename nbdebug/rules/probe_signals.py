"""Probe-step queries shared by the learning-rate rules (not a rule module).

The probe runs a few optimizer steps on a copy of the model, on the one batch given, and records
the loss and the update/weight ratio ||dp|| / ||p|| of each parameter per step. CS231n puts a healthy
update/weight ratio near 1e-3.
"""
from __future__ import annotations

import math
import re
import statistics
from typing import Optional

from ..trace import Trace
from .helpers import fmt

HEALTHY_RATIO = 1e-3   # CS231n, "Neural Networks Part 3": updates ~1e-3 of the weights


def losses(trace: Trace) -> list:
    return [s.loss for s in trace.steps]


def weight_ratio(trace: Trace, step) -> float:
    """The median update/weight ratio over weight matrices (dim >= 2) in one step; NaN counts as Inf.

    The median, and weights only: a bias initialised at 0 has an update ratio of ~1e12 whatever the
    learning rate."""
    shapes = {p.name: p.shape for p in trace.params}
    vals = [r for n, r in step.update_ratio.items() if len(shapes.get(n, ())) >= 2]
    if not vals:
        vals = list(step.update_ratio.values())
    if not vals:
        return math.nan
    vals = [math.inf if (r is None or math.isnan(r)) else r for r in vals]
    return statistics.median(vals)


def ratios(trace: Trace) -> list:
    return [weight_ratio(trace, s) for s in trace.steps]


def optimizer_text(trace: Trace) -> tuple:
    """(class name, learning rate, "SGD(lr=10)" as a message names it)."""
    name, lr, default = optimizer(trace)
    if lr is None:
        return name, lr, name
    return name, lr, f"{name}(lr={fmt(lr)})" + (" (nbdebug's default)" if default else "")


def optimizer(trace: Trace) -> tuple:
    """(class name, learning rate or None, whether it is nbdebug's default)."""
    desc = str((trace.checks.get("probe") or {}).get("optimizer", ""))
    info = trace.checks.get("optimizer") or {}
    name = info.get("class") or (desc.split("(")[0].strip() if desc else "the optimizer")
    lr = info.get("lr")
    if lr is None:
        m = re.search(r"lr=([0-9.eE+-]+)", desc)
        if m:
            try:
                lr = float(m.group(1))
            except ValueError:
                lr = None
    return name, lr if isinstance(lr, (int, float)) else None, "(default)" in desc


TYPICAL = {"sgd": (1e-3, 1e-1), "adaptive": (1e-4, 1e-2), "other": (1e-4, 1e-1)}
ADAPTIVE = ("adam", "rmsprop", "adagrad", "adadelta", "adamax", "radam", "nadam", "lion")


def _family(name: str) -> str:
    n = name.lower()
    if "sgd" in n:
        return "sgd"
    return "adaptive" if any(k in n for k in ADAPTIVE) else "other"


def suggest_lr(lr: float, ratio: float, lower: bool, name: str = "") -> Optional[float]:
    """A learning rate, as a power of ten, that brings the update/weight ratio near 1e-3 (both SGD's and
    Adam's steps scale linearly with lr), kept inside the optimizer's usual range and at least 10x away
    from the current rate."""
    if lr is None or lr <= 0 or not math.isfinite(lr):
        return None
    lo, hi = TYPICAL[_family(name)]
    if ratio is None or not math.isfinite(ratio) or ratio <= 0:
        target = lr / 100 if lower else lr * 100
    else:
        target = 10 ** round(math.log10(lr * HEALTHY_RATIO / ratio))
    target = min(max(target, lo), hi)
    return min(target, lr / 10) if lower else max(target, lr * 10)


def typical_range(name: str) -> str:
    lo, hi = TYPICAL[_family(name)]
    who = "SGD" if _family(name) == "sgd" else (name if _family(name) == "adaptive" else "most optimizers")
    return f"{who} usually trains at {lo:g} to {hi:g}"


def finite(x) -> bool:
    return x is not None and math.isfinite(x)
