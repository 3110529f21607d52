"""The rules registry: every rule, explicitly listed, and `diagnose(trace)` -> ranked findings.

One rule per module. Each module defines `RULE = Rule(...)` (see base.py). The docs catalogue
(docs/rules.md) is generated from RULES by scripts/gen_rule_docs.py.
"""
from __future__ import annotations

import importlib

from ..trace import Trace
from .base import CAUSES, SHARED_CAUSES, Rule, rank

# Modules listed by group. Each group is kept in its own block so parallel work does not collide.
RULE_MODULES = [
    # -- inputs, exceptions, structure of the data --------------------------------------------
    "nonfinite_input",
    "unbatched_input",
    "unbatched_silent",
    "layer_input_size",
    "dense_output_size",
    "linear_on_image",
    "batch_rows_lost",
    "class_dim_last",
    "channels_last",
    "input_rank",
    "embedding_range",
    "shape_error",
    "structured_into_layer",
    "input_dtype",
    "embedding_float_ids",
    "device_mismatch",
    "none_output",
    "nonfinite_created",
    "nonfinite_gradient",
    "unnormalized_input",
    "tiny_input",
    "feature_scale_spread",
    "batchnorm_single_value",
    "batchnorm_one_sample_silent",
    "train_mode_inference",
    "functional_dropout_in_eval",
    "eval_mode_training",
    # -- activations, initialisation, wiring --------------------------------------------------
    "init_scale",
    "init_symmetric",
    "embedding_init_scale",
    "exploding_activations",
    "saturated_activation",
    "dead_relu",
    "dead_relu_functional",
    "constant_output",
    "softmax_batch_dim",
    "softmax_batch_dim_silent",
    "softmax_wrong_axis",
    "softmax_over_space",
    "softmax_over_queries",
    "missing_nonlinearity",
    "batch_mixing",
    "unregistered_params",
    "params_not_in_optimizer",
    "zero_lr_group",
    "cut_from_graph",
    "zero_gradient",
    "output_zero_derivative",
    "numpy_in_forward",
    "cell_state_not_carried",
    "requires_grad_attribute",
    "padding_mask_inverted",
    "frozen_params",
    "unused_modules",
    "output_without_grad",
    # -- losses, targets, gradients and training dynamics -------------------------------------
    "double_softmax", "softmax_in_loss", "double_sigmoid", "sigmoid_twice", "sigmoid_into_cross_entropy",
    "nll_without_log_softmax",
    "kl_div_input", "multi_hot_cross_entropy", "structured_output_into_loss", "relu_before_logits",
    "cross_entropy_one_class",
    "bce_on_multiclass", "bce_on_logits", "regression_loss_on_labels", "float_class_labels",
    "labels_out_of_range", "bce_target_range", "target_shape", "target_outside_output_range",
    "class_imbalance", "poisson_log_input", "gaussian_nll_variance", "soft_targets_not_probabilities",
    "sign_target_zero_one",
    "vanishing_gradients", "rnn_long_sequence", "exploding_gradients", "unscaled_regression_target",
    "lr_too_high", "lr_too_low", "target_out_of_reach",
    "target_loss_error",
    # -- the last word on a failed trace that nothing above explained ---------------------------
    "unexplained_exception",
]


def _load() -> list:
    rules = []
    for name in RULE_MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        rules.append(module.RULE)
    return rules


RULES: list = _load()


def by_code(code: str) -> Rule:
    for r in RULES:
        if r.code == code:
            return r
    raise KeyError(code)


def _run(rule: Rule, trace: Trace) -> list:
    try:
        return rule.run(trace)
    except Exception as e:
        trace.notes.append(f"nbdebug internal: rule {rule.code} failed: {type(e).__name__}: {e}")
        return []


def diagnose(trace: Trace, rules=None) -> list:
    """Run every rule over the trace; a rule that fails is noted, never raised. Fallback rules run
    only when the trace failed and no other rule found an error that explains it, in registry
    order, until one speaks: every failed trace ends with a finding that says what went wrong."""
    rules = list(rules if rules is not None else RULES)
    findings = []
    for rule in rules:
        if not rule.fallback:
            findings.extend(_run(rule, trace))
    if trace.error is not None and not any(f.severity == "error" for f in findings):
        for rule in rules:
            if rule.fallback:
                found = _run(rule, trace)
                if found:
                    findings.extend(found)
                    break
    return rank(findings)


__all__ = ["RULES", "RULE_MODULES", "Rule", "CAUSES", "SHARED_CAUSES", "diagnose", "by_code"]
