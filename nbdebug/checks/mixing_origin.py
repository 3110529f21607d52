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


def _slice(batch: int, leaves: list):
    def fn(t: torch.Tensor):
        if t.dim() >= 1 and t.shape[0] == batch:
            sub = t.detach()[:SUB_BATCH].clone()
            if sub.is_floating_point():
                sub.requires_grad_(True)
                leaves.append(sub)
                return sub.clone()
            return sub
        return t.detach().clone()
    return fn


def _first_batched(obj):
    for _, t in tensors(obj):
        if t.is_floating_point() and t.requires_grad and t.dim() >= 1 and t.shape[0] == SUB_BATCH:
            return t
    return None


def _mixed(t: torch.Tensor, wrt: list) -> bool:
    gen = torch.Generator(device=t.device)
    gen.manual_seed(SEED)
    r = torch.randn(t[0].shape, generator=gen, device=t.device, dtype=torch.float32)
    for own in (0, SUB_BATCH - 1):
        probe = (t[own].float() * r).sum()
        grads = torch.autograd.grad(probe, wrt, retain_graph=True, allow_unused=True)
        own_n = other_n = 0.0
        for g in grads:
            if g is None:
                continue
            flat = g.detach().float().reshape(SUB_BATCH, -1)
            own_n += float(flat[own].norm())
            other_n += float(torch.cat([flat[:own], flat[own + 1:]]).norm())
        if other_n > 0 and other_n > RELATIVE * max(own_n, 1e-30):
            return True
    return False


def locate(model: torch.nn.Module, args: tuple, kwargs: dict, batch: int) -> dict:
    """{'call': index, 'side': 'output' | 'input'} of the first mixed tensor, or {'call': None}."""
    leaves: list = []
    fn = _slice(batch, leaves)
    sub_args, sub_kwargs = map_tensors(args, fn), map_tensors(kwargs, fn)
    events: list = []       # (call index, side, tensor)
    counter = [0]
    open_calls: list = []
    captured: list = []     # integer inputs: differentiate w.r.t. the first float activation instead

    def pre(module, inputs):
        index = counter[0]
        counter[0] += 1
        open_calls.append(index)
        if len(events) < MAX_EVENTS:
            t = _first_batched(inputs)
            if t is not None:
                events.append((index, "input", t.clone()))
        return None

    def post(module, inputs, output):
        index = open_calls.pop() if open_calls else None
        if index is not None and len(events) < MAX_EVENTS:
            t = _first_batched(output)
            if t is not None:
                if not leaves and not captured:
                    captured.append(t)
                events.append((index, "output", t.clone()))
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
    for index, side, t in events:
        if _mixed(t, wrt):
            return {"call": index, "side": side, "events_checked": len(events)}
    return {"call": None, "events_checked": len(events)}
