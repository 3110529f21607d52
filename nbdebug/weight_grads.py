"""Gradient norms of large Linear/Conv weights on the CPU, without materialising the gradient.

Asked for a large weight's gradient, autograd allocates it whole (a 512×512×3×3 convolution: 9.4 MB,
plus a second buffer of that size where oneDNN reorders it), and nbdebug only reads its norm. In a
plain training step those buffers land in the holes that `zero_grad()` just left; in a trace the
user's `.grad` are alive, the pair extends the heap, and once freed glibc hands it back to the
kernel, so every such layer page-faults ~18 MB back in: ~15,000 faults and 15-20 ms of a 110 ms
ResNet-18 trace (docs/benchmarks.md).

So for a layer whose weight gradient is exactly "this call's input against this call's output
gradient" (an nn.Linear or nn.ConvNd of torch's own, called once, its weight used by nothing else),
the weight is left out of autograd's inputs, and a pre-hook on the layer's output node computes the
gradient in slices of output units, two megabytes each, summing their squares. Same arithmetic,
small buffers that fit the heap's holes, and the norm agrees with autograd's to float rounding.

Anything unusual takes the ordinary path: user hooks on the layer or the weight, a weight shared or
also used by the loss, saved-tensor hooks (activation checkpointing), a string padding, groups, an
input modified in place after the call, a node autograd would not otherwise run, or a device other
than the CPU (whose caching allocators never fault).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
from torch.nn.modules import module as module_mod

from . import fused
from .checks import graph

MIN_BYTES = 1 << 22     # smaller weights: the ordinary path (measured: their gradients fit the heap's
                        # holes, and one fused backward call is cheaper than two)
CHUNK_BYTES = 1 << 21   # each slice of the gradient
LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_MAX_DEPTH = 3          # output node -> weight's AccumulateGrad: conv 1, addmm 2 (via t()), 3-d linear 3


@dataclass
class LayerCall:
    """One call of a layer whose weight gradient nbdebug may take itself."""
    module: nn.Module
    weight: torch.Tensor
    input: Optional[torch.Tensor]
    version: int            # input._version at the call: an in-place change since voids the shortcut
    node: object            # the output's grad_fn
    output_nr: int


def large_weight(module) -> bool:
    """The cheap test the recorder runs on every leaf call: a torch layer with a large CPU weight."""
    if type(module) not in LAYER_TYPES:
        return False
    w = module._parameters.get("weight")
    return (w is not None and w.requires_grad and w.device.type == "cpu"
            and w.numel() * w.element_size() >= MIN_BYTES)


def layer_call(module, args, result) -> Optional[LayerCall]:
    """A LayerCall for this call of a large_weight() module when its weight gradient can be taken
    from its input and output gradient alone; else None."""
    w = module._parameters["weight"]
    if module._forward_hooks or module._forward_pre_hooks or _tensor_hooks(w):
        return None
    if isinstance(module, nn.modules.conv._ConvNd) and (
            module.groups != 1 or module.padding_mode != "zeros" or not isinstance(module.padding, tuple)):
        return None
    if len(args) != 1 or not isinstance(args[0], torch.Tensor) or type(result) is not torch.Tensor:
        return None
    x = args[0]
    if isinstance(module, nn.modules.conv._ConvNd) and x.dim() != w.dim():  # unbatched: torch adds the dim
        return None
    if result.grad_fn is None or x.dtype != w.dtype or result.dtype != w.dtype or x.layout != torch.strided:
        return None
    if _saved_tensor_hooks_active():  # checkpointing: the saved input is not what autograd will see
        return None
    if len(module_mod._global_forward_hooks) > 1:  # another global hook (beside the recorder's) may
        return None                                 # have replaced the output
    node, output_nr = _op_node(result)
    if node is None:
        return None
    return LayerCall(module, w, x, x._version, node, output_nr)


# The node of the layer's own product, whose incoming gradient is the one the weight's gradient is
# built from. A 3-d input's Linear output is a view of it: an in-place op on that view (ReLU(inplace))
# rebuilds the view's node and orphans it, while the product's node stays on the gradient's path.
_OP_NODES = {"ConvolutionBackward0", "AddmmBackward0", "MmBackward0"}
_VIEW_NODES = {"ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0"}


def _op_node(result: torch.Tensor):
    node, output_nr = result.grad_fn, result.output_nr
    while node is not None and type(node).__name__ in _VIEW_NODES:
        nxt = [(fn, nr) for fn, nr in node.next_functions if fn is not None]
        if len(nxt) != 1:
            return None, 0
        node, output_nr = nxt[0]
    return (node, output_nr) if node is not None and type(node).__name__ in _OP_NODES else (None, 0)


def plan(loss: torch.Tensor, params: list, calls: list) -> dict:
    """{index in `params`: LayerCall} for the weights whose norm norm_hook() can take; the rest go
    through autograd as usual."""
    index = {id(p): i for i, p in enumerate(params)}
    found = {}
    for call in calls:
        i = index.get(id(call.weight))
        if i is None or call.input._version != call.version:
            continue
        acc = _accumulate_node(call.node, call.weight)
        if acc is not None:
            found[i] = (call, acc)
    if not found:
        return {}
    # the weight used once in the whole graph of the loss (a tied weight, or a penalty on it in the
    # loss, adds a use), and that use inside this call
    watched = [acc for _, acc in found.values()] + [call.node for call, _ in found.values()]
    uses = graph.edges_into([loss], watched)
    if uses is None:
        return {}
    # ... and the layer's node still on the loss's path (a hook on a node off it would never run)
    chosen = {i: call for i, (call, acc) in found.items() if uses[acc] == 1 and uses[call.node] >= 1}
    if len(chosen) == len(params):  # autograd needs one input: the smallest goes the usual way
        chosen.pop(min(chosen, key=lambda i: params[i].numel()))
    # autograd runs a node only on the way to an input it was asked for: drop the layers whose
    # output node would not run once their weight is left out (a first layer without bias)
    wanted = {id(p) for i, p in enumerate(params) if i not in chosen}
    memo: dict = {}
    return {i: call for i, call in chosen.items() if _leads_to(call.node, wanted, memo)}


def norm_hook(call: LayerCall, store, key):
    """A pre-hook for call.node: takes the weight's gradient norm from the output gradient and
    stores it with store(key, norm), or store(key, exception) when that failed."""
    def hook(grad_outputs):
        g = grad_outputs[call.output_nr] if call.output_nr < len(grad_outputs) else None
        if g is not None and call.input is not None:
            try:
                store(key, _weight_grad_norm(call, g))
            except Exception as e:  # never the user's failure: the trace goes on without this norm
                store(key, e)
            call.input = None  # let autograd free the activation as it would have
        return None
    return hook


def _weight_grad_norm(call: LayerCall, g: torch.Tensor):
    """sqrt(sum of squares) of call's weight gradient, built a slice of output units at a time."""
    w, x = call.weight, call.input
    out_units = w.shape[0]
    per = max(1, CHUNK_BYTES // max(1, (w.numel() // out_units) * w.element_size()))
    total = 0.0
    with torch.no_grad():
        if isinstance(call.module, nn.Linear):
            x2 = x.reshape(-1, x.shape[-1])
            g2 = g.reshape(-1, out_units)
            slices = (g2[:, o:o + per].t() @ x2 for o in range(0, out_units, per))
        else:
            m = call.module
            zeros = [0] * (w.dim() - 2)
            slices = (torch.ops.aten.convolution_backward(
                g[:, o:o + per], x, w[o:o + per], None, list(m.stride), list(m.padding), list(m.dilation),
                False, zeros, 1, [False, True, False])[1] for o in range(0, out_units, per))
        for part in slices:
            total += _squares(part)
    return math.sqrt(total)


def _squares(t: torch.Tensor) -> float:
    got = fused.sum_of_squares(t.reshape(-1)) if t.is_contiguous() else None
    if got is None:
        got = float(torch.linalg.vector_norm(t, dtype=torch.float64) ** 2)
    return got


def _accumulate_node(node, weight):
    """The weight's AccumulateGrad node within _MAX_DEPTH steps below `node`, or None."""
    level = [node]
    for _ in range(_MAX_DEPTH):
        nxt = []
        for fn in level:
            for child, _ in getattr(fn, "next_functions", ()):
                if child is None:
                    continue
                if getattr(child, "variable", None) is weight:
                    return child
                nxt.append(child)
        level = nxt
    return None


def _leads_to(node, wanted: set, memo: dict) -> bool:
    """Whether an AccumulateGrad of a tensor in `wanted` (ids) lies below `node`. `memo` keeps
    settled answers across calls: True for the nodes asked about, False for every node of a search
    that found nothing (a successful search stops early, so what it visited stays unsettled)."""
    visited, stack = set(), [node]
    while stack:
        fn = stack.pop()
        if fn in memo or fn in visited:
            if memo.get(fn):
                memo[node] = True
                return True
            continue
        var = getattr(fn, "variable", None)
        if var is not None:
            if id(var) in wanted:
                memo[node] = True
                return True
            continue
        visited.add(fn)
        stack.extend(child for child, _ in getattr(fn, "next_functions", ()) if child is not None)
    memo.update(dict.fromkeys(visited, False))
    return False


def _tensor_hooks(w: torch.Tensor) -> bool:
    return bool(getattr(w, "_backward_hooks", None)) or bool(getattr(w, "_post_accumulate_grad_hooks", None))


def _saved_tensor_hooks_active() -> bool:
    top = getattr(torch._C._autograd, "_top_saved_tensors_default_hooks", None)
    if top is None:
        return True  # cannot tell: assume they are
    try:
        return top(True) is not None
    except TypeError:
        return top() is not None
