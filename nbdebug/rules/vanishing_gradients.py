"""NBD501 vanishing-gradients: gradient norms shrink by orders of magnitude towards the input."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt
from .grad_signals import (call_index, finite, layer_count, saturated_squash, squash_calls_between, stand_in,
                           weights_in_order)

RATIO = 1e-3          # AUTOTRAINER: ||grad W_first|| / ||grad W_last|| below this ...
ABSOLUTE = 1e-4       # ... and ||grad W_first|| below this (only meaningful with the user's loss)
STAND_IN_RATIO = 1e-4  # without the user's loss the absolute test is void: ask one more order of the ratio
SEVERE_RATIO = 1e-5   # two orders beyond AUTOTRAINER's ratio: a warning without a second signal
SQUASH_CHAIN = 3      # sigmoid-family layers in the path, each scaling gradients by <= 1/4 (sigmoid)
MIN_LAYERS = 3


def check(trace):
    ws = weights_in_order(trace)
    if layer_count(ws) < MIN_LAYERS:
        return
    first, last = ws[0], ws[-1]
    g0, g1 = first.grad_norm, last.grad_norm
    if not (finite(g0) and finite(g1)) or g0 <= 0 or g1 <= 0:
        return  # exact zeros are no-gradient / dead units, non-finite ones another story
    ratio = g0 / g1
    if stand_in(trace):
        if ratio >= STAND_IN_RATIO:
            return
    elif ratio >= RATIO or g0 >= ABSOLUTE:
        return
    i0, i1 = call_index(trace, first.module), call_index(trace, last.module)
    squash = squash_calls_between(trace, i0, i1)
    saturated = saturated_squash(trace)
    second = len(squash) >= SQUASH_CHAIN or bool(saturated)
    severity = "warning" if ratio < SEVERE_RATIO or second else "info"
    message = (f"Gradient norms shrink towards the input: ||grad|| of `{first.name}` (first layer) is {fmt(g0)} "
               f"against {fmt(g1)} for `{last.name}` (last layer), a ratio of {fmt(ratio)} across "
               f"{layer_count(ws)} weighted layers, so the first layers barely learn.")
    if squash:
        kinds = sorted({c.type for c in squash})
        names = ", ".join(f"`{c.name}`" for c in squash[:4]) + (", ..." if len(squash) > 4 else "")
        fix = (f"Replace the {len(squash)} hidden {'/'.join('nn.' + k for k in kinds)} layers ({names}) with "
               f"`nn.ReLU()` or `nn.GELU()` and use Kaiming init (`nn.init.kaiming_normal_`); keep a sigmoid only "
               f"at the output. Adding `nn.BatchNorm1d`/`nn.LayerNorm` after each Linear or residual "
               f"connections also keeps gradients alive.")
    else:
        fix = ("Use Kaiming initialisation (`nn.init.kaiming_normal_(w, nonlinearity='relu')`), add "
               "normalisation layers (BatchNorm/LayerNorm) or residual connections, or make the network "
               "shallower.")
    yield RULE.finding(first.module, message, fix, call=i0, severity=severity,
                       evidence={"first": first.name, "last": last.name, "first_grad": g0, "last_grad": g1,
                                 "ratio": ratio, "squash_layers": len(squash),
                                 "saturated": [c.name for c in saturated]})


def _deep(act, depth, width=48, seed=27):
    torch.manual_seed(seed)
    layers = [nn.Linear(8, width), act()]
    for _ in range(depth):
        layers += [nn.Linear(width, width), act()]
    return nn.Sequential(*layers, nn.Linear(width, 1))


def _bad_deep_sigmoid_regressor():
    m = _deep(nn.Sigmoid, 8)
    return dict(model=m, inputs=torch.randn(12, 8), target=torch.randn(12, 1), loss=nn.MSELoss())


def _bad_deep_sigmoid_no_target():
    m = _deep(nn.Sigmoid, 9, width=32, seed=28)
    return dict(model=m, inputs=torch.randn(12, 8))


def _good_shallow_sigmoid():
    m = _deep(nn.Sigmoid, 1)
    return dict(model=m, inputs=torch.randn(12, 8), target=torch.randn(12, 1), loss=nn.MSELoss())


def _good_deep_relu_bn():
    torch.manual_seed(29)
    layers = []
    for i in range(8):
        layers += [nn.Linear(8 if i == 0 else 32, 32), nn.BatchNorm1d(32), nn.ReLU()]
    m = nn.Sequential(*layers, nn.Linear(32, 3))
    return dict(model=m, inputs=torch.randn(16, 8), target=torch.randint(0, 3, (16,)), loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD501",
    cause="vanishing-gradients",
    severity="warning",
    title="Gradients vanish towards the input",
    explanation=(
        "Backpropagation multiplies the gradient by each layer's Jacobian. When those factors are below 1 "
        "(sigmoid's derivative is at most 1/4, tanh's shrinks as it saturates, and small initial weights "
        "shrink every layer), the gradient reaching the first layers decays exponentially with depth, "
        "so they keep their random weights and the network trains as if it were shallow. Typical causes: "
        "deep stacks of sigmoid/tanh, saturated activations, initialisation too small for the depth, "
        "no normalisation or skip connections."
    ),
    fix="Use ReLU-family activations with Kaiming init, add BatchNorm/LayerNorm or residual connections.",
    check=check,
    bad=[_bad_deep_sigmoid_regressor, _bad_deep_sigmoid_no_target],
    good=[_good_shallow_sigmoid, _good_deep_relu_bn],
    needs="backward",
    thresholds=(
        f"AUTOTRAINER: ||grad W_first|| / ||grad W_last|| < {RATIO:g} and ||grad W_first|| < {ABSOLUTE:g} (the "
        f"absolute test only with the user's loss; a stand-in loss makes scales arbitrary, so there the ratio "
        f"must be < {STAND_IN_RATIO:g} instead), over >= {MIN_LAYERS} weighted layers (weights of dim >= 2, "
        f"embeddings excluded). Reported "
        f"as a warning when severe (ratio < {SEVERE_RATIO:g}, own choice: two orders beyond AUTOTRAINER) or "
        f"backed by a second signal: >= {SQUASH_CHAIN} sigmoid-family layers on the path, or a squashing "
        f"layer with > 50 % of inputs at |x| >= 5 (DeepDiagnosis); otherwise as info, because an untrained "
        f"deep ReLU net with default init shows ratios near 1e-3 and still trains."
    ),
)
