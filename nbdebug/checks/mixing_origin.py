"""Where samples start to mix: the first module call whose output (or input) ties samples together.

Run only after `batch_mixing` found mixing. On a sub-batch of two samples, every module's first
input and first output that still carry the batch dimension are kept (cloned, so later in-place ops
cannot change them), in the order they happen. Going through them in that order, the first tensor in
which sample 0 depends on sample 1's input (or sample 1 on sample 0's) names the culprit: a module's
*output* means that module mixed them; a module's *input* means the code around it (its parent's
forward, e.g. a wrong `view`) did. The call index matches `Trace.calls`, because calls are numbered in
the order their forward starts, here as during the trace.
"""
from __future__ import annotations

import torch
from torch.nn.modules import module as module_mod

from ..structure import map_tensors, tensors

SUB_BATCH = 2
SEED = 4322
MAX_EVENTS = 400
RELATIVE = 1e-6


def _slice(batch: int, leaves: list, dim: int = 0):
    """The first SUB_BATCH samples of every batch-sized tensor (batch along `dim`); floating ones
    become leaves to differentiate w.r.t., kept in `leaves` as (tensor, batch dim)."""
    def fn(t: torch.Tensor):
        if t.dim() > dim and t.shape[dim] == batch:
            sub = t.detach().narrow(dim, 0, SUB_BATCH).clone()
            if sub.is_floating_point():
                sub.requires_grad_(True)
                leaves.append((sub, dim))
                return sub.clone()
            return sub
        return t.detach().clone()
    return fn


def _first_batched(obj, dim: int = 0):
    """(tensor, its batch dim) of the first floating tensor carrying the sub-batch along `dim`, or
    along dim 0 (a sequence-first model's code may turn its data batch-first on the way)."""
    for _, t in tensors(obj):
        if not (t.is_floating_point() and t.requires_grad):
            continue
        for d in dict.fromkeys((dim, 0)):
            if t.dim() > d and t.shape[d] == SUB_BATCH:
                return t, d
    return None


def _mixed(t: torch.Tensor, d: int, wrt: list) -> bool:
    """Whether one sample of t (batch along d) depends on the other sample's part of `wrt`
    ((tensor, batch dim) pairs)."""
    gen = torch.Generator(device=t.device)
    gen.manual_seed(SEED)
    r = torch.randn(t.select(d, 0).shape, generator=gen, device=t.device, dtype=torch.float32)
    tensors_wrt = [w for w, _ in wrt]
    for own in (0, SUB_BATCH - 1):
        probe = (t.select(d, own).float() * r).sum()
        grads = torch.autograd.grad(probe, tensors_wrt, retain_graph=True, allow_unused=True)
        own_n = other_n = 0.0
        for g, (_, gd) in zip(grads, wrt):
            if g is None:
                continue
            flat = g.detach().float().movedim(gd, 0).reshape(SUB_BATCH, -1)
            own_n += float(flat[own].norm())
            other_n += float(torch.cat([flat[:own], flat[own + 1:]]).norm())
        if other_n > 0 and other_n > RELATIVE * max(own_n, 1e-30):
            return True
    return False


def locate(model: torch.nn.Module, args: tuple, kwargs: dict, batch: int, dim: int = 0) -> dict:
    """{'call': index, 'side': 'output' | 'input'} of the first mixed tensor, or {'call': None}.
    `dim`: the inputs' batch dimension (1 for sequence-first data)."""
    leaves: list = []
    fn = _slice(batch, leaves, dim)
    sub_args, sub_kwargs = map_tensors(args, fn), map_tensors(kwargs, fn)
    events: list = []       # (call index, side, tensor, its batch dim)
    counter = [0]
    open_calls: list = []
    captured: list = []     # integer inputs: differentiate w.r.t. the first float activation instead

    def pre(module, inputs):
        index = counter[0]
        counter[0] += 1
        open_calls.append(index)
        if len(events) < MAX_EVENTS:
            found = _first_batched(inputs, dim)
            if found is not None:
                events.append((index, "input", found[0].clone(), found[1]))
        return None

    def post(module, inputs, output):
        index = open_calls.pop() if open_calls else None
        if index is not None and len(events) < MAX_EVENTS:
            found = _first_batched(output, dim)
            if found is not None:
                if not leaves and not captured:
                    captured.append(found)
                events.append((index, "output", found[0].clone(), found[1]))
        return None

    h1 = module_mod.register_module_forward_pre_hook(pre)
    h2 = module_mod.register_module_forward_hook(post)
    try:
        with torch.enable_grad():
            model(*sub_args, **sub_kwargs)
    finally:
        h1.remove()
        h2.remove()
    wrt = leaves or captured
    if not wrt:
        return {"call": None, "skipped": "no floating input or activation to differentiate"}
    for index, side, t, d in events:
        if _mixed(t, d, wrt):
            return {"call": index, "side": side, "events_checked": len(events)}
    return {"call": None, "events_checked": len(events)}
