"""NBD291 no-gradient: parameters frozen with requires_grad=False in a pattern that fine-tuning does
not explain: everything frozen, a module half frozen, or frozen layers after trainable ones."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import (ALL_NORM_TYPES, WEIGHTED_TYPES, backward_ran, first_calls, module_expr, training_intent,
                      values_in)
from .params_not_in_optimizer import module_order


def _by_module(trace) -> dict:
    out: dict = {}
    for p in trace.params:
        out.setdefault(p.module, []).append(p)
    return out



FROZEN_NORM_TYPES = ALL_NORM_TYPES


def _type_of(trace, module: str) -> str:
    call = first_calls(trace).get(module)
    return call.type if call is not None else ""


def _adapter_beside(trace, module: str, learners: list) -> bool:
    """A trainable Linear/Conv shares `module`'s parent, and that parent is not the model itself (a
    LoRA wrapper holds the frozen base layer and its trainable low-rank pair)."""
    if "." not in module:
        return False
    parent = module.rsplit(".", 1)[0] + "."
    return any(p.module.startswith(parent) and not p.module.startswith(module + ".") and p.module != module
               and _type_of(trace, p.module) in WEIGHTED_TYPES for p in learners)


def _on_gradient_path(trace, module: str) -> bool:
    """Whether a gradient reached the output of `module`'s first call (True when no backward ran)."""
    if not backward_ran(trace):
        return True
    call = first_calls(trace).get(module)
    if call is None or not call.outputs:
        return True
    return any(g is not None for g in (call.grads or []))


def check(trace):
    frozen = [p for p in trace.params if not p.requires_grad]
    if not frozen:
        return
    order = module_order(trace)
    last = len(trace.calls) + 1
    modules = _by_module(trace)
    key = lambda m: order.get(m, last)  # noqa: E731
    half = sorted((m for m, ps in modules.items() if any(p.requires_grad for p in ps)
                   and any(not p.requires_grad for p in ps)), key=key)
    whole = sorted((m for m, ps in modules.items() if all(not p.requires_grad for p in ps)), key=key)
    trainable = sorted((m for m, ps in modules.items() if any(p.requires_grad for p in ps)), key=key)
    first_trainable = key(trainable[0]) if trainable else None
    # frozen normalisation layers among trainable ones are "frozen batch norm" (detection and
    # segmentation fine-tuning with small batches keep the pretrained statistics and affine): deliberate
    norm_only = {m for m in whole if _type_of(trace, m) in FROZEN_NORM_TYPES}
    # a frozen module no gradient passes through (an EMA/teacher network run under no_grad, or its
    # output detached) stops nothing: only frozen modules on the loss's gradient path count
    after = [m for m in whole if first_trainable is not None and key(m) > first_trainable and m not in norm_only
             and _on_gradient_path(trace, m)]
    first_frozen = sorted({p.module for p in frozen}, key=key)[0]
    intent = training_intent(trace)
    n_train = sum(p.requires_grad for p in trace.params)
    summary = f"{len(frozen)} of {len(trace.params)} parameter tensors have requires_grad=False"
    norms_only = bool(trainable) and all(_type_of(trace, m) in FROZEN_NORM_TYPES for m in trainable)
    if not trainable:
        if not intent:
            return  # an inference model with every parameter frozen is normal
        message = (f"Every parameter tensor ({len(frozen)}) has requires_grad=False, yet a loss is given: "
                   f"nothing can train.")
        severity = "error"
    elif norms_only and intent and any(_type_of(trace, m) in WEIGHTED_TYPES for m in whole):
        names = ", ".join(f"`{m}`" for m in trainable[:4])
        message = (f"{summary}: only the normalisation layers ({names}) can learn, their scale and shift; every "
                   f"Linear/Conv, the head included, is frozen, yet a loss is given. A freezing condition "
                   f"written the wrong way round does this.")
        severity = "error"
    elif half:
        detail = "; ".join(
            f"`{m}` trains {', '.join(p.name.rsplit('.', 1)[-1] for p in modules[m] if p.requires_grad)} but "
            f"not {', '.join(p.name.rsplit('.', 1)[-1] for p in modules[m] if not p.requires_grad)}"
            for m in half[:3])
        message = (f"{summary}, in a pattern no fine-tuning uses: {detail}"
                   + (f"; whole modules frozen: {', '.join(f'`{m}`' for m in whole[:4])}" if whole else "")
                   + f". Only {n_train} tensor(s) can learn.")
        severity = "error" if intent else "warning"
    elif after:
        message = (f"{summary}: {', '.join(f'`{m}`' for m in after[:4])} "
                   f"{'is' if len(after) == 1 else 'are'} frozen although layers before "
                   f"{'it' if len(after) == 1 else 'them'} train, so gradients pass through a fixed layer.")
        # adapters (LoRA and the like) interleave a few trainable tensors with a frozen majority
        # ... in layers of their own (Linear/Conv); only norm parameters left training is not that
        # ... around a frozen base of several layers, or beside the frozen layer inside one wrapper
        # module; one frozen layer on the main path between trainable ones is a freezing loop that
        # hit the wrong module
        learners = [p for p in trace.params if p.requires_grad]
        frozen_layers = [m for m in whole if _type_of(trace, m) in WEIGHTED_TYPES]
        adapters = values_in(frozen) > values_in(learners) and any(
            _type_of(trace, p.module) in WEIGHTED_TYPES for p in learners) and (
            len(frozen_layers) >= 2 or any(_adapter_beside(trace, m, learners) for m in after))
        severity = "info" if adapters else "warning"
        if adapters:
            message += " Most values are frozen, as with adapters (LoRA): fine if intended."
    elif whole and not half and not any(_on_gradient_path(trace, m) for m in whole):
        names = ", ".join(f"`{m}`" for m in whole[:4]) + (" …" if len(whole) > 4 else "")
        message = (f"{summary}: the frozen modules ({names}) run without any gradient reaching them, as a "
                   f"target, teacher or EMA copy does; freezing them changes nothing.")
        severity = "info"
    elif norm_only and first_trainable is not None and any(key(m) > first_trainable for m in norm_only):
        names = ", ".join(f"`{m}`" for m in sorted(norm_only, key=key)[:4]) + (" …" if len(norm_only) > 4 else "")
        message = (f"{summary}: normalisation layers ({names}) are frozen among trainable layers, the "
                   f"'frozen batch norm' of detection and segmentation fine-tuning: fine if intended.")
        severity = "info"
    else:
        names = ", ".join(f"`{m}`" for m in whole[:4]) + (" …" if len(whole) > 4 else "")
        message = (f"{summary}: the first modules ({names}) are frozen and the later ones train, the usual "
                   f"fine-tuning pattern.")
        severity = "info"
    target = after[0] if severity == "warning" and after else first_frozen
    expr = module_expr(target) if target else "model"
    fix = (f"Unfreeze what should learn: `{expr}.requires_grad_(True)` (or `model.requires_grad_(True)`), "
           f"and look for a leftover `requires_grad_(False)` / `param.requires_grad = False` loop; build the "
           f"optimizer afterwards.")
    yield RULE.finding(target, message, fix, call=order.get(target), severity=severity,
                       evidence={"frozen": [p.name for p in frozen], "half_frozen_modules": half,
                                 "frozen_after_trainable": after})


def _bad_all_frozen_with_loss():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6, 2))
    m.requires_grad_(False)
    return dict(model=m, inputs=torch.randn(5, 2, 8), target=torch.randint(0, 2, (5,)))


def _bad_weights_frozen_bias_trains():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    for name, p in m.named_parameters():
        p.requires_grad_(name.endswith("bias") or name.startswith("4."))
    return dict(model=m, inputs=torch.randn(6, 4), target=torch.randn(6, 1), loss=nn.MSELoss())


def _good_frozen_backbone_finetune():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(8, 4)
            self.backbone.requires_grad_(False)

        def forward(self, x):
            return self.head(self.backbone(x))

    return dict(model=Net(), inputs=torch.randn(4, 3, 10, 10), target=torch.randint(0, 4, (4,)))


def _good_frozen_batchnorm_between_trainable_convs():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    for bn in (m[1], m[4]):
        bn.eval().requires_grad_(False)
    return dict(model=m, inputs=torch.randn(2, 3, 10, 10), target=torch.tensor([0, 2]))


def _bad_only_the_norm_layers_train():
    # a freezing condition written the wrong way round: every conv and the head frozen, the norms train
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.GroupNorm(2, 8),
                      nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    for name, p in m.named_parameters():
        if not name.startswith(("1.", "4.")):
            p.requires_grad_(False)
    return dict(model=m, inputs=torch.randn(4, 3, 10, 10), target=torch.tensor([0, 1, 2, 0]))


def _good_frozen_inference_model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).eval().requires_grad_(False)
    return dict(model=m, inputs=torch.randn(3, 4))


RULE = Rule(
    code="NBD291",
    cause="no-gradient",
    severity="error",
    title="Parameters frozen (requires_grad=False) where they should train",
    explanation=(
        "A parameter with requires_grad=False gets no gradient and never changes. Freezing the first "
        "layers of a pretrained network to fine-tune the rest is a deliberate pattern; freezing "
        "everything while training, freezing a layer's weight but not its bias, or frozen layers after "
        "trainable ones usually come from a leftover freezing loop, a `requires_grad_(False)` applied to "
        "the wrong module, or parameters loaded from a checkpoint of a frozen model."
    ),
    fix="Unfreeze the parameters that should learn (`requires_grad_(True)`), then build the optimizer.",
    check=check,
    bad=[_bad_all_frozen_with_loss, _bad_weights_frozen_bias_trains, _bad_only_the_norm_layers_train],
    good=[_good_frozen_backbone_finetune, _good_frozen_inference_model,
          _good_frozen_batchnorm_between_trainable_convs],
    needs="forward",
    thresholds=(
        "No number; patterns. Error: every parameter frozen while a loss with a target (or an optimizer) "
        "is given, or only normalisation layers left trainable then, or a module with some parameters frozen and others trainable. Warning: whole modules "
        "frozen after a trainable one, unless frozen values outnumber trainable ones and some Linear/Conv "
        "trains (adapters such as LoRA: info). Info: a frozen prefix of whole modules (fine-tuning), and frozen normalisation "
        "layers among trainable ones (frozen batch norm)."
    ),
)
