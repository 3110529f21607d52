"""The backprop test for batch mixing: one sample's output must not depend on other samples' inputs.

On a sub-batch of the first two samples, with every module in eval mode (so batch-norm uses its
running statistics and dropout is off, the two legitimate ways samples interact), the gradient of a
random projection of sample 0's output w.r.t. the *other* samples' inputs must be exactly zero. A
wrong `view`/`reshape`/`transpose`, or attention/RNN layers fed batch-first data they read as
sequence-first, make it non-zero.

Integer inputs (token ids) cannot carry a gradient; there the test differentiates w.r.t. the first
floating module output that still has the batch dimension (typically the embedding).
"""
from __future__ import annotations

import torch
from torch.nn.modules import module as module_mod

from ..structure import map_tensors, tensors
from . import mixing_origin

SUB_BATCH = 2
SEED = 4321


def _batch_size(args, kwargs):
    for _, t in tensors((args, kwargs)):
        if t.dim() >= 1:
            return t.shape[0]
    return None


def run(model: torch.nn.Module, args: tuple, kwargs: dict, batch: int) -> dict:
    k = SUB_BATCH
    if batch is None or batch < k:
        return {"skipped": "fewer than two samples in the batch"}
    leaves = []

    def slice_input(t: torch.Tensor):
        if t.dim() >= 1 and t.shape[0] == batch:
            sub = t.detach()[:k].clone()
            if sub.is_floating_point():
                sub.requires_grad_(True)
                leaves.append(sub)
                return sub.clone()  # a non-leaf, so in-place ops in forward stay legal
            return sub
        return t.detach().clone()

    sub_args, sub_kwargs = map_tensors(args, slice_input), map_tensors(kwargs, slice_input)
    captured = []

    def first_float_output(module, inputs, output):
        if not leaves and not captured:
            for _, t in tensors(output):
                if t.is_floating_point() and t.requires_grad and t.dim() >= 1 and t.shape[0] == k:
                    captured.append(t)
                    break
        return None

    for m in model.modules():
        m.training = False
    handle = module_mod.register_module_forward_hook(first_float_output)
    try:
        with torch.enable_grad():
            out = model(*sub_args, **sub_kwargs)
    finally:
        handle.remove()
    wrt = leaves or captured
    if not wrt:
        return {"skipped": "no floating input or activation with the batch dimension"}
    outs = [t for _, t in tensors(out) if t.is_floating_point() and t.requires_grad and t.dim() >= 1]
    if not outs:
        return {"skipped": "the output does not depend on the input through autograd"}
    o = outs[0]
    if o.shape[0] != k:
        return {"skipped": f"the output's first dimension ({o.shape[0]}) is not the batch ({k})",
                "output_shape": list(o.shape)}
    gen = torch.Generator(device=o.device)
    gen.manual_seed(SEED)
    r = torch.randn(o[0].shape, generator=gen, device=o.device, dtype=torch.float32)
    own = other = 0.0
    pieces = []
    # the first sample's output w.r.t. the others, and the last one's: a causal mix (an RNN reading
    # the batch as time) shows only in the later samples
    for i in (0, k - 1):
        probe = (o[i].float() * r).sum()
        grads = torch.autograd.grad(probe, wrt, allow_unused=True, retain_graph=i == 0)
        for g in grads:
            if g is None:
                continue
            flat = g.detach().float().reshape(k, -1)
            rest = torch.cat([flat[:i], flat[i + 1:]])
            pieces.append(torch.stack([flat[i].norm(), rest.norm()]))
    if not pieces:
        return {"skipped": "no gradient reached the inputs"}
    own, other = torch.stack(pieces).sum(0).double().cpu().tolist()  # the check's one transfer
    mixed = other > 0 and other > 1e-6 * max(own, 1e-30)
    result = {"mixed": bool(mixed), "own_grad": own, "other_grad": other, "sub_batch": k,
              "wrt": "input" if leaves else "first activation", "output_shape": list(o.shape)}
    if mixed:  # rare, so the localising re-run costs nothing on healthy models
        try:
            result["origin"] = mixing_origin.locate(model, args, kwargs, batch)
        except Exception as e:
            result["origin"] = {"call": None, "skipped": f"{type(e).__name__}: {e}"[:200]}
    return result
