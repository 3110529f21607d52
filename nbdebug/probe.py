"""Probe steps: a few optimizer steps on a deep copy of the model, on the one batch given.

The copy gets an optimizer of the same class with the same hyperparameters (per parameter group);
the user's optimizer state (Adam moments, ...) is not copied, so the probe starts fresh. The user's
model, its optimizer and their state are never touched. Per step we record the loss, the global
gradient norm and the update/weight ratio ||Δp|| / ||p|| of each parameter. Everything stays on the
device until one transfer at the end.
"""
from __future__ import annotations

import copy
import inspect
import math
from typing import Optional

import torch

from .backward import LossSpec, compute_loss
from .errors import describe
from .structure import map_tensors
from .trace import ProbeStep

DEFAULT_OPTIMIZER = (torch.optim.Adam, {"lr": 1e-3})


class ProbeError(Exception):
    """The probe could not run; the message says why (recorded as a note, never raised to the user)."""


def rebuild_optimizer(optimizer, model: torch.nn.Module, copy_model: torch.nn.Module):
    """An optimizer over `copy_model` like `optimizer` over `model` (same class, same groups)."""
    if optimizer is None:
        cls, kw = DEFAULT_OPTIMIZER
        return cls(copy_model.parameters(), **kw), f"{cls.__name__}(lr={kw['lr']}) (default)"
    if isinstance(optimizer, torch.optim.Optimizer):
        by_id = {id(p): n for n, p in model.named_parameters()}
        copied = dict(copy_model.named_parameters())
        groups = []
        for group in optimizer.param_groups:
            params = [copied[by_id[id(p)]] for p in group["params"] if id(p) in by_id]
            if params:
                groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": params})
        if not groups:
            raise ProbeError("the optimizer holds none of the model's parameters")
        cls = type(optimizer)
        try:
            opt = cls(groups, **optimizer.defaults)
        except TypeError:
            opt = cls(groups)
        lr = groups[0].get("lr")
        return opt, f"{cls.__name__}(lr={lr})"
    if callable(optimizer):
        opt = optimizer(copy_model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            raise ProbeError("the optimizer factory did not return a torch.optim.Optimizer")
        return opt, f"{type(opt).__name__} (from factory)"
    raise ProbeError(f"cannot use {type(optimizer).__name__} as an optimizer")


def _fresh(x):
    return x.detach().clone() if isinstance(x, torch.Tensor) else x


def run_probe(model: torch.nn.Module, args: tuple, kwargs: dict, target, spec: LossSpec,
              optimizer, steps: int) -> tuple:
    """Run `steps` optimizer steps on a copy; returns (list[ProbeStep], description)."""
    try:
        with torch.no_grad():  # TorchScript's deepcopy would otherwise clone parameters into non-leaves
            twin = copy.deepcopy(model)
    except Exception as e:
        raise ProbeError(f"the model could not be deep-copied ({describe(e)})") from None
    for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
        if q.requires_grad != p.requires_grad:
            q.requires_grad_(p.requires_grad)
    opt, description = rebuild_optimizer(optimizer, model, twin)
    names = [n for n, p in twin.named_parameters() if p.requires_grad]
    params = [p for n, p in twin.named_parameters() if p.requires_grad]
    if not params:
        raise ProbeError("no parameter requires grad, so no optimizer step can change the model")
    needs_closure = _step_needs_closure(opt)
    rows = []
    for _ in range(steps):
        first: list = []   # (loss, gradient norm) at the step's starting point

        def closure():
            opt.zero_grad(set_to_none=True)
            out = twin(*map_tensors(args, _fresh), **map_tensors(kwargs, _fresh))
            loss = compute_loss(spec, out, target)
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                raise ProbeError("the loss does not depend on any trainable parameter")
            loss.backward()
            if not first:
                grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
                first.append((loss.detach(), torch.linalg.vector_norm(
                    torch.stack([g.detach().float().norm() for g in grads]))))
            return loss

        before = [p.detach().clone() for p in params]
        if needs_closure:  # LBFGS re-evaluates the loss itself, several times per step
            opt.step(closure)
        else:
            closure()
            opt.step()
        loss, gnorm = first[0]
        with torch.no_grad():
            deltas = torch.stack([(p.detach() - b).float().norm() for p, b in zip(params, before)])
            sizes = torch.stack([b.float().norm() for b in before])
            ratio = deltas / sizes.clamp_min(1e-12)
        rows.append(torch.cat([loss.detach().float().reshape(1).to(ratio.device),
                               gnorm.reshape(1).to(ratio.device), ratio]))
    values = torch.stack(rows).double().cpu().tolist()  # the probe's one host transfer
    result = []
    for i, row in enumerate(values):
        result.append(ProbeStep(step=i, loss=row[0], grad_norm=row[1],
                                update_ratio={n: r for n, r in zip(names, row[2:])}))
    return result, description


def _step_needs_closure(opt: torch.optim.Optimizer) -> bool:
    """Whether `opt.step` must be given a closure (LBFGS: `step(closure)` without a default)."""
    try:
        closure = inspect.signature(opt.step).parameters.get("closure")
    except (TypeError, ValueError):
        return False
    return closure is not None and closure.default is inspect.Parameter.empty


def loss_curve(steps: list) -> list:
    return [s.loss for s in steps]


def finite_or_nan(x: Optional[float]) -> float:
    return x if x is not None and math.isfinite(x) else math.nan
