"""The loss (the user's, one named by a short name, or a stand-in) and the backward pass.

Gradients come from `torch.autograd.grad`, so the user's `.grad` is never touched (a reentrant
torch.utils.checkpoint, which refuses autograd.grad, gets a plain `.backward()` with every `.grad` set
aside and put back: accumulated_grad_norms). Gradients w.r.t.
module outputs arrive through the tensor hooks that capture registered; parameter gradient norms are
taken here, each as its gradient arrives (param_grad_norms), on the gradient's device.

The stand-in loss, used when no target is given, is a fixed random projection of the output:
`sum_i (out_i * r_i).sum() / batch` with r ~ N(0, 1) drawn from nbdebug's own seeded generator (the
global RNG is not touched). Its gradient w.r.t. the output is r / batch, scale-free and the same for
every output unit, so gradient norms across layers compare the layers, not the loss.
"""
from __future__ import annotations

import difflib
import math
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from . import fused, stats, weight_grads
from .errors import misuse
from .structure import tensors

STANDIN_SEED = 1234


def _bce(output, target):
    return F.binary_cross_entropy(output, target)


LOSSES: dict = {
    "cross_entropy": F.cross_entropy,
    "ce": F.cross_entropy,
    "nll": F.nll_loss,
    "nll_loss": F.nll_loss,
    "mse": F.mse_loss,
    "mse_loss": F.mse_loss,
    "l1": F.l1_loss,
    "l1_loss": F.l1_loss,
    "smooth_l1": F.smooth_l1_loss,
    "huber": F.huber_loss,
    "bce": _bce,
    "binary_cross_entropy": _bce,
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "kl_div": F.kl_div,
}

# The nn.Module loss class each short name stands for: rules key on this canonical name.
CANONICAL = {
    "cross_entropy": "CrossEntropyLoss", "ce": "CrossEntropyLoss",
    "nll": "NLLLoss", "nll_loss": "NLLLoss",
    "mse": "MSELoss", "mse_loss": "MSELoss",
    "l1": "L1Loss", "l1_loss": "L1Loss",
    "smooth_l1": "SmoothL1Loss", "huber": "HuberLoss",
    "bce": "BCELoss", "binary_cross_entropy": "BCELoss",
    "bce_with_logits": "BCEWithLogitsLoss", "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "kl_div": "KLDivLoss",
}
_FUNCTION_KIND = {fn: CANONICAL[name] for name, fn in LOSSES.items() if name in CANONICAL}


class LossSpec:
    """What loss to apply, and how to describe it."""

    def __init__(self, fn: Optional[Callable], name: str, kind: str, stand_in: bool, description: str):
        self.fn = fn
        self.name = name            # as the user named it
        self.kind = kind            # canonical class name ("CrossEntropyLoss") or "custom" / "stand-in"
        self.stand_in = stand_in
        self.description = description


def _loss_option(fn, name: str):
    """An argument a loss was built with: the attribute of an nn loss module
    (`nn.CrossEntropyLoss(ignore_index=255).ignore_index`), or a `functools.partial`'s keyword."""
    keywords = getattr(fn, "keywords", None) or {}
    return keywords.get(name, getattr(fn, name, None))


def class_weighted(fn) -> bool:
    """Whether a loss weights its classes itself: `nn.CrossEntropyLoss(weight=w)`,
    `nn.BCEWithLogitsLoss(pos_weight=p)`, or a `functools.partial` of a loss function with either."""
    return any(_loss_option(fn, name) is not None for name in ("weight", "pos_weight"))


def log_input(fn) -> Optional[bool]:
    """`nn.PoissonNLLLoss(log_input=...)` (or a partial of `F.poisson_nll_loss` with it); None when
    the loss has no such option."""
    value = _loss_option(fn, "log_input")
    return value if isinstance(value, bool) else None


def ignore_index(fn) -> Optional[int]:
    """The label a class loss skips: `nn.CrossEntropyLoss(ignore_index=255)` or a `functools.partial`
    of a loss function with it; None when the loss does not say (the rules assume torch's -100)."""
    value = _loss_option(fn, "ignore_index")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def resolve_loss(loss, target) -> LossSpec:
    """Turn the `loss` argument into a LossSpec. Raises only for misuse of nbdebug's API."""
    if loss is None:
        if target is None:
            return LossSpec(None, "stand-in", "stand-in", True,
                             "no target given: a stand-in loss (a fixed random projection of the output) "
                             "drives the backward pass")
        if isinstance(target, torch.Tensor) and not target.is_floating_point() and target.dtype != torch.bool:
            return LossSpec(F.cross_entropy, "cross_entropy", "CrossEntropyLoss", False,
                            "no loss given: cross_entropy chosen because the target holds integers")
        why = "the target holds floats" if isinstance(target, torch.Tensor) else \
            f"nothing else fits a target that is a {type(target).__name__}, not a tensor"
        return LossSpec(F.mse_loss, "mse", "MSELoss", False, f"no loss given: mse chosen because {why}")
    if target is None and (isinstance(loss, str) or isinstance(loss, torch.nn.modules.loss._Loss)):
        name = repr(loss) if isinstance(loss, str) else f"{type(loss).__name__}()"
        raise misuse(f"nbdebug.trace: loss={name} needs a target: pass target=y, or leave out the loss "
                     "to use a stand-in", ValueError)
    if isinstance(loss, str):
        key = loss.strip().lower().replace("-", "_")
        if key not in LOSSES:
            close = difflib.get_close_matches(key, list(LOSSES), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise misuse(f"nbdebug.trace: unknown loss {loss!r}: {hint}pass one of "
                         f"{', '.join(sorted(LOSSES))}, or a callable loss(output, target)", ValueError)
        return LossSpec(LOSSES[key], key, CANONICAL.get(key, key), False, f"loss: {key}")
    if isinstance(loss, type):
        raise misuse(f"nbdebug.trace: loss is the class {loss.__name__}: pass an instance, "
                     f"e.g. loss={loss.__name__}()")
    if callable(loss):
        if isinstance(loss, torch.nn.Module):
            name = type(loss).__name__
            return LossSpec(loss, name, name if name.endswith("Loss") else "custom", False, f"loss: {name}")
        name = getattr(loss, "__name__", type(loss).__name__)
        return LossSpec(loss, name, _FUNCTION_KIND.get(loss, "custom"), False, f"loss: {name}")
    raise misuse(f"nbdebug.trace: loss must be a callable loss(output, target) or a name such as "
                 f"'cross_entropy', not {type(loss).__name__}")


def loss_input(output):
    """The tensor a loss receives: the output itself, or the first tensor of a structured output."""
    if isinstance(output, torch.Tensor):
        return output
    found = tensors(output)
    return found[0][1] if found else None


def standin_loss(output) -> Optional[torch.Tensor]:
    """sum of (out * r).sum() / batch over the floating outputs that require grad."""
    total = None
    for _, t in tensors(output):
        if not (t.is_floating_point() and t.requires_grad) or t.numel() == 0 or t.device.type == "meta":
            continue
        gen = torch.Generator(device=t.device)
        gen.manual_seed(STANDIN_SEED)
        r = torch.randn(t.shape, generator=gen, device=t.device, dtype=torch.float32)
        batch = t.shape[0] if t.dim() > 0 and t.shape[0] > 0 else 1
        term = (t.float() * r).sum() / batch
        total = term if total is None else total + term
    return total


def compute_loss(spec: LossSpec, output, target) -> Optional[torch.Tensor]:
    if spec.stand_in:
        return standin_loss(output)
    # a user's own loss gets the output exactly as their training loop would; a named one, its tensor
    given = output if spec.kind == "custom" or spec.name not in LOSSES else loss_input(output)
    value = spec.fn(given, target)
    if isinstance(value, torch.Tensor) and value.numel() != 1:
        value = value.mean()  # reduction='none': average, as the usual reduction does
    return value


def param_grad_norms(loss: torch.Tensor, params: list, layer_calls: Optional[dict] = None) -> list:
    """The L2 norm of the loss's gradient w.r.t. each parameter: a float (CPU), a 0-d device tensor,
    None where the parameter got no gradient, or a NormUnavailable saying why there is no norm.
    `.grad` is never touched (torch.autograd.grad).

    The gradients themselves are not kept: a hook on each parameter takes the norm as its gradient
    arrives and hands autograd a zero-stride stand-in to capture, so each gradient is freed at once
    instead of all being held until autograd.grad returns (on a ResNet-18, 47 MB of fresh memory per
    trace, whose page faults alone cost ~5 % of a forward+backward).

    `layer_calls` ({index: weight_grads.LayerCall}, from weight_grads.plan) names large weights whose
    gradient is never materialised at all: they are left out of autograd's inputs and their norm is
    taken slice by slice from the layer's output gradient (weight_grads explains why)."""
    if not params:
        return []
    norms: list = [None] * len(params)

    def hook_for(i):
        def hook(g):
            norms[i] = _norm_or_why(g)
            if isinstance(norms[i], NormUnavailable) or g.layout != torch.strided:
                return None  # an exotic gradient passes as it is; a sparse one is small already
            return g.new_zeros(()).expand(g.shape)
        return hook

    layer_calls = layer_calls or {}

    def store(i, value):
        norms[i] = NormUnavailable(f"{type(value).__name__}: {value}") if isinstance(value, Exception) else value

    ordinary = [i for i in range(len(params)) if i not in layer_calls]
    handles = []
    try:
        for i, call in layer_calls.items():
            handles.append(call.node.register_prehook(weight_grads.norm_hook(call, store, i)))
        for i in ordinary:
            handles.append(params[i].register_hook(hook_for(i)))
        torch.autograd.grad(loss, [params[i] for i in ordinary], allow_unused=True)
    finally:
        for h in handles:  # hooks restored whatever happened, as the user's model must be
            h.remove()
    return norms


def accumulated_grad_norms(loss: torch.Tensor, params: list, leaves: list) -> list:
    """param_grad_norms for a graph that torch.autograd.grad cannot walk whole: a reentrant
    torch.utils.checkpoint recomputes its forward in backward and runs only under a plain
    `.backward()`, which writes `.grad`. So every `.grad` that backward can write (the parameters'
    and the other `leaves` the loss reaches) is set aside first and put back after, the same
    objects; the gradients are summed into empty `.grad`s, read, and dropped. Parameter gradients
    are held until the end here (a parameter can receive its gradient in pieces)."""
    targets = list({id(t): t for t in list(params) + list(leaves)}.values())
    saved = [(t, t.grad) for t in targets]
    try:
        for t in targets:
            t.grad = None
        loss.backward()
        return [None if p.grad is None else _norm_or_why(p.grad) for p in params]
    finally:
        for t, grad in saved:  # the user's .grad, untouched, whatever happened
            t.grad = grad


class NormUnavailable(str):
    """In place of a norm that could not be taken: why."""


def _norm_or_why(g: torch.Tensor):
    """_norm(g), or a NormUnavailable for an exotic gradient: the backward and the trace go on."""
    try:
        return _norm(g)
    except Exception as e:
        return NormUnavailable(f"{type(e).__name__}: {e}")


def _norm(g: torch.Tensor):
    """L2 norm of one gradient: one compiled pass on CPU (float64 sum of squares, NaN/Inf propagate),
    else a device reduction, with no sync."""
    if g.layout != torch.strided:
        g = g.coalesce().values() if g.is_sparse else g.to_dense()
    host = stats.on_host(g.device)
    if host and g.is_contiguous():
        squares = fused.sum_of_squares(g.reshape(-1))
        if squares is not None:
            return math.sqrt(squares)  # NaN and Inf pass through
    # float64 (float32 on MPS, which has none): a float32 sum of squares overflows above ~1e19 and
    # underflows below ~1e-19, reporting a finite gradient as Inf or a vanishing one as zero
    if g.device.type == "mps":
        wide = torch.complex64 if g.is_complex() else torch.float32
    else:
        wide = torch.complex128 if g.is_complex() else torch.float64
    v = torch.linalg.vector_norm(g, dtype=wide)
    return v.item() if host else v


def norm_vector(norms: list, device: torch.device) -> Optional[torch.Tensor]:
    """param_grad_norms' values as one vector on `device` (NaN where None), ready for the trace's one
    host transfer; None when no parameter got a gradient."""
    norms = [None if isinstance(v, NormUnavailable) else v for v in norms]
    if all(v is None for v in norms):
        return None
    dtype = torch.float32 if device.type == "mps" else torch.float64
    if all(not isinstance(v, torch.Tensor) for v in norms):
        return torch.tensor([math.nan if v is None else v for v in norms], dtype=dtype)
    nan = torch.full((), math.nan, dtype=dtype, device=device)  # torch.full: no host-to-device wait
    return torch.stack([nan if v is None else torch.as_tensor(v, device=device).to(dtype).reshape(())
                        for v in norms])
