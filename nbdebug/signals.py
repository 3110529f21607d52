"""Which extra on-device reductions each tensor gets, by its role. The rules read them from
`TensorStats.extra`; computing them here, while the tensor exists, is what lets the trace hold no
activations.

Extras are cheap (one or two passes) and asked for only where a rule needs them.
"""
from __future__ import annotations

import torch.nn as nn

from . import stats

# ReLU-family: units that output zero for every sample are dead.
RELU_FAMILY = (nn.ReLU, nn.ReLU6, nn.Threshold)
# Squashing activations: pre-activations with |x| >= 5 saturate them (DeepDiagnosis).
SQUASHING = (nn.Sigmoid, nn.Tanh, nn.Hardsigmoid, nn.Softsign, nn.LogSigmoid, nn.Tanhshrink)

# Softmax-family: rows pinned at one class (max probability >= 0.99) are saturated like a sigmoid.
SOFTMAX_FAMILY = (nn.Softmax, nn.Softmin, nn.LogSoftmax)

OUTPUT_LIMIT = 1 << 22   # root outputs larger than this skip the per-dim extras


def for_module_input(module) -> dict:
    if isinstance(module, SQUASHING):
        return {"abs_ge5_frac": stats.abs_ge5_frac}
    return {}


def for_module_output(module) -> dict:
    if isinstance(module, RELU_FAMILY):
        return {"dead_unit_frac": stats.dead_unit_frac}
    if isinstance(module, SOFTMAX_FAMILY):
        return {"peak99_frac": stats.peak_prob_frac(getattr(module, "dim", None),
                                                    log=isinstance(module, nn.LogSoftmax))}
    return {}


# the autograd node of a tensor that torch.sigmoid / torch.tanh (or F.*) produced
SQUASH_NODES = {"SigmoidBackward0": "sigmoid", "TanhBackward0": "tanh"}


def for_functional_output(grad_fn) -> dict:
    """A module's output that a functional sigmoid/tanh inside its forward produced (a gate, a soft
    threshold): the saturated fraction, read off the output."""
    op = SQUASH_NODES.get(type(grad_fn).__name__) if grad_fn is not None else None
    return {f"{op}_bounds_frac": stats.squash_bounds_frac(op)} if op else {}


def for_model_input() -> dict:
    return {"batch_std": stats.batch_std, "feature_scale_ratio": stats.feature_scale_ratio,
            "integral_frac": stats.integral_frac, "feature_std_range": stats.feature_std_range}


def for_model_output(numel: int) -> dict:
    if numel > OUTPUT_LIMIT:
        return {}
    return {
        "batch_std": stats.batch_std,
        "dead_unit_frac": stats.dead_unit_frac,
        "sum1_err_d0": stats.sum_to_one_err(0),
        "sum1_err_d1": stats.sum_to_one_err(1),
        "sum1_err_dlast": lambda x: stats.sum_to_one_err(x.dim() - 1)(x) if x.dim() > 2 else None,
        # a softmax over a flattened feature map (`z.view(b, c, h * w).softmax(-1)`): each map sums to 1
        "sum1_err_spatial": lambda x: stats.sum_to_one_err(2)(x.flatten(2)) if x.dim() > 3 else None,
        "logsumexp_d1": stats.logsumexp_abs,
        # log-probabilities over the batch (log_softmax on dim 0): logsumexp over dim 0 is 0
        "logsumexp_d0": lambda x: (x.float().logsumexp(0).abs().mean()
                                   if x.dim() >= 2 and x.is_floating_point() else None),
    }


def for_target(num_classes: int) -> dict:
    # sum1_err_d1: whether float (N, C) targets are one distribution per row (soft labels) or multi-hot
    extras = {"integral_frac": stats.integral_frac, "sum1_err_d1": stats.sum_to_one_err(1)}
    if 0 < num_classes <= 4096:
        extras["label_counts"] = stats.label_counts(num_classes)
    return extras
