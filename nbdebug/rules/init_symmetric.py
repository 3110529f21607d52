"""NBD202 bad-init: a layer whose weight rows are all identical (constant or all-zero init), so its
output units compute the same thing."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import first_calls, fmt, model_output, module_expr, zero_output_layer
from .init_scale import CHECKED_TYPES, _is_weight


def _identical(p) -> bool:
    spread = p.stats.extra.get("row_spread") if p.stats is not None else None
    return spread is not None and spread == 0 and p.shape[0] >= 2 and p.requires_grad


def check(trace):
    calls = first_calls(trace)
    out = model_output(trace)
    suspects = [p for p in trace.params
                if p.module in calls and calls[p.module].type in CHECKED_TYPES and _is_weight(p) and _identical(p)]
    if not suspects:
        return
    several = len({p.module for p in suspects}) >= 2
    # zero layers that get no gradient *because* the output layer is zero-initialised (a diffusion
    # UNet's zero convs): the first step moves the output layer, and the gradient reaches them next;
    # unless every weighted layer is zero, then nothing random is left to tell units apart
    output_zero = zero_output_layer(trace)
    weighted = [p for p in trace.params if p.module in calls and calls[p.module].type in CHECKED_TYPES
                and _is_weight(p)]
    all_zero = all(p.stats is not None and p.stats.absmax == 0 for p in weighted)
    for p in suspects:
        call = calls[p.module]
        zero = p.stats.absmax == 0
        final = out is not None and any(o.ref == out.ref for o in call.outputs)
        stuck = p.grad_norm == 0.0
        if zero and final and not stuck:
            continue  # a zero-initialised output layer is a known, harmless choice
        waits = zero and stuck and output_zero is not None and output_zero.name != p.name and not all_zero
        # zero weights that still get a gradient break their symmetry at the first step (LoRA's B,
        # zero-init gates); zero weights with a zero gradient, or constant ones, do not
        severity = None if (not zero or stuck) and not waits else "info"
        value = "0" if zero else (fmt(p.stats.mean) if p.stats.std == 0 else None)
        what = f"every value is {value}" if value is not None else "every row is the same vector"
        message = (f"All {p.shape[0]} rows of `{p.name}` ({call.type}) are identical ({what}), so its "
                   f"{p.shape[0]} output units compute the same function of the input")
        if waits:
            message += (f" and the weight got an all-zero gradient, because the output layer "
                        f"`{output_zero.name}` is zero-initialised too: once that layer moves (it gets a "
                        f"gradient), the gradient reaches this one. Zero-initialised residual branches (as in "
                        f"diffusion UNets, Fixup, ControlNet) work this way")
        elif stuck:
            message += " and the weight got an all-zero gradient: it cannot move"
        elif several and not zero:
            message += "; other layers are initialised the same way, so nothing breaks the symmetry"
        message += "."
        expr = module_expr(p.module)
        attr = p.name.rsplit(".", 1)[-1]
        fix = (f"Initialise with random values: `{expr}.reset_parameters()` (PyTorch's default) or "
               f"`nn.init.kaiming_uniform_({expr}.{attr}, nonlinearity='relu')`; constant and zero inits are "
               f"for biases (and, at most, the last layer).")
        yield RULE.finding(p.module, message, fix, call=call.index, severity=severity,
                           evidence={"param": p.name, "zero": zero, "grad_norm": p.grad_norm})


def _bad_constant_hidden():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))
    nn.init.constant_(m[0].weight, 0.5)
    return dict(model=m, inputs=torch.randn(8, 5), target=torch.randint(0, 3, (8,)))


def _bad_all_zero_mlp():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    for layer in (m[0], m[2], m[4]):
        nn.init.zeros_(layer.weight)
    return dict(model=m, inputs=torch.randn(8, 5), target=torch.randn(8, 1))


def _good_zero_init_head():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))
    nn.init.zeros_(m[2].weight)
    return dict(model=m, inputs=torch.randn(8, 5), target=torch.randint(0, 3, (8,)))


def _good_zero_residual_branches_and_output():
    # residual blocks whose last layer is zero, and a zero output layer: the model starts as the
    # identity plus zero, and every zero layer gets its gradient once the output layer has moved
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 8))
            nn.init.zeros_(self.body[2].weight)

        def forward(self, x):
            return x + self.body(x)

    m = nn.Sequential(nn.Linear(4, 8), Block(), Block(), nn.Linear(8, 2))
    nn.init.zeros_(m[3].weight)
    return dict(model=m, inputs=torch.randn(6, 4), target=torch.randn(6, 2), loss=nn.MSELoss())


def _good_default():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    return dict(model=m, inputs=torch.randn(3, 2, 6, 6))


RULE = Rule(
    code="NBD202",
    cause="bad-init",
    severity="warning",
    title="Identical weight rows: constant or zero initialisation",
    explanation=(
        "Random initialisation exists to break symmetry: units that start with the same weights compute "
        "the same output and, when the rest of the network does not tell them apart, receive the same "
        "gradient and stay copies of each other forever, so a layer of 64 units learns like a layer of "
        "one. All-zero weights in a hidden layer are worse: with ReLU or tanh nothing flows through them "
        "and their gradient is zero. Usual cause: `nn.init.constant_`/`zeros_` meant for biases applied to "
        "weights, or `torch.zeros`/`torch.ones` used to create a parameter."
    ),
    fix="Initialise weights randomly with a fan-in based scheme; keep constant/zero init for biases.",
    check=check,
    bad=[_bad_constant_hidden, _bad_all_zero_mlp],
    good=[_good_zero_init_head, _good_default, _good_zero_residual_branches_and_output],
    needs="forward",
    thresholds=(
        "No number: every row of a trainable Linear/Conv/RNN weight equal to the first (max |row − row0| = "
        "0, exact). Constant non-zero weights always; all-zero weights only when their gradient is exactly "
        "zero too (otherwise info: zero-init heads, LoRA's B matrix and zero-init gates are known "
        "techniques that the first step moves away from zero)."
    ),
)
