"""Queries about the loss, the target and the output the loss saw, shared by the loss/target rules.

Not a rule module (it is not listed in RULE_MODULES): the loss-mismatch, double-softmax, wrong-target
and class-imbalance rules read the trace through these few functions so they agree on what "the
output", "the target" and "the number of classes" are.
"""
from __future__ import annotations

import math
import re
from typing import Optional

from ..trace import Call, ErrorInfo, TensorStats, Trace
from .helpers import LINEAR_TYPES, leaf_calls, loss_kind, producer

CLASS_LOSSES = ("CrossEntropyLoss", "NLLLoss")
BCE_LOSSES = ("BCELoss", "BCEWithLogitsLoss")
REGRESSION_LOSSES = ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss")


def user_loss(trace: Trace) -> str:
    """The canonical loss name when the user gave (or nbdebug inferred) a real loss; '' otherwise."""
    kind = loss_kind(trace)
    return "" if kind in ("", "stand-in") or (trace.loss is not None and trace.loss.stand_in) else kind


def inferred(trace: Trace) -> bool:
    """No loss was given: nbdebug picked cross-entropy (integer target) or MSE (float target)."""
    return trace.loss is not None and trace.loss.description.startswith("no loss given")


def loss_name(trace: Trace) -> str:
    """The loss's name for a message, saying so when nbdebug chose it."""
    kind = user_loss(trace)
    return f"{kind} (nbdebug's choice, as no loss was given)" if inferred(trace) else kind


def guessed_severity(trace: Trace):
    """'info' when the loss was nbdebug's guess: a mismatch with a loss the user never chose is a hint,
    not a bug; None (the rule's own severity) otherwise."""
    return "info" if inferred(trace) else None


def output(trace: Trace) -> Optional[TensorStats]:
    """The tensor the loss received (the model's first output tensor)."""
    if trace.loss is not None and trace.loss.output is not None:
        return trace.loss.output
    return trace.outputs[0] if trace.outputs else None


def target(trace: Trace) -> Optional[TensorStats]:
    if trace.loss is not None and trace.loss.target is not None:
        return trace.loss.target
    return trace.target[0] if trace.target else None


def classes(trace: Trace) -> Optional[int]:
    """C, the size of the class dimension (dim 1) of the output, when the output has one."""
    out = output(trace)
    if out is None or len(out.shape) < 2:
        return None
    return int(out.shape[1])


def loss_error(trace: Trace) -> Optional[ErrorInfo]:
    """The exception the loss raised, if it did."""
    e = trace.error
    return e if e is not None and e.stage == "loss" else None


def loss_error_matches(trace: Trace, *patterns: str) -> bool:
    e = loss_error(trace)
    return e is not None and any(re.search(p, e.message) for p in patterns)


def is_integral(s: Optional[TensorStats]) -> bool:
    """Every value is a whole number (class indices, 0/1 labels)."""
    if s is None or not s.has_values or not s.finite or not (finite(s.min) and finite(s.max)):
        return False
    if not s.is_float:
        return s.dtype != "bool"
    return s.extra.get("integral_frac") == 1.0


DEFAULT_IGNORE_INDEX = -100   # CrossEntropyLoss / NLLLoss skip this label unless told otherwise


def ignored_label(trace: Trace) -> int:
    """The label the class loss skips: its own ignore_index when it has one, else torch's -100."""
    info = trace.loss
    return info.ignore_index if info is not None and info.ignore_index is not None else DEFAULT_IGNORE_INDEX


def only_ignored_outside(trace: Trace, tgt: TensorStats, classes: int) -> bool:
    """Every label outside 0..C-1 is the loss's ignore_index (padding, a segmentation's void 255), as far
    as the target's min and max tell."""
    lo, hi, skipped = int(tgt.min), int(tgt.max), ignored_label(trace)
    return (lo == skipped and hi < classes) or (hi == skipped and lo >= 0)


def label_counts(s: Optional[TensorStats]) -> Optional[list]:
    """Counts of labels 0..C-1, then one bin for labels outside that range (integer targets only)."""
    counts = s.extra.get("label_counts") if s is not None else None
    return [int(c) for c in counts] if counts else None


def output_call(trace: Trace) -> Optional[Call]:
    """The innermost module call that produced the model's output tensor (its last layer), if any."""
    out = trace.outputs[0] if trace.outputs else None
    if out is None or out.ref < 0:
        return None
    return producer(trace, out.ref)


def last_linear(trace: Trace) -> Optional[Call]:
    """The last Linear layer that ran: the classifier head whose width decides C."""
    found = None
    for c in leaf_calls(trace):
        if c.type in LINEAR_TYPES and "in_features" in c.attrs:
            found = c
    return found


def head_fix(trace: Trace, units: int) -> str:
    """'`nn.Linear(16, 4)` for the head `2`' or a plain description when there is no Linear head."""
    head = last_linear(trace)
    if head is None:
        return f"make the last layer output {units} values per sample"
    return f"make the head `{head.name}` `nn.Linear({head.attrs['in_features']}, {units})`"


def is_probability_rows(s: Optional[TensorStats], tol: float = 1e-3) -> bool:
    """Values in [0, 1] whose rows (dim 1) sum to 1: a softmax output over the class dimension."""
    if s is None or not s.has_values or len(s.shape) < 2 or s.shape[1] < 2 or not s.finite:
        return False
    err = s.extra.get("sum1_err_d1")
    return err is not None and err < tol and s.min >= 0.0 and s.max <= 1.0


def finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)
