"""Walk the autograd graph of the output to find trainable tensors the model does not own.

A leaf that requires grad, is reached from the output, and is not among `model.parameters()` (nor an
input) belongs to a layer kept in a plain list or dict, a tensor attribute made with
`requires_grad=True` instead of `nn.Parameter`, or a module created inside `forward`. No optimizer
built from `model.parameters()` will ever update it.
"""
from __future__ import annotations

from typing import Optional

import torch

MAX_NODES = 200_000


def _nodes(roots: list, uses: Optional[dict] = None):
    """Every autograd node reached from these tensors' grad_fn (at most MAX_NODES). With `uses`
    (node -> 0 for the nodes of interest), also counts the graph edges that lead into those nodes."""
    seen, stack = set(), []
    for t in roots:
        if isinstance(t, torch.Tensor) and t.grad_fn is not None:
            stack.append(t.grad_fn)
            if uses is not None and t.grad_fn in uses:
                uses[t.grad_fn] += 1   # being returned is a use too (the loss reads it)
    while stack and len(seen) < MAX_NODES:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        yield fn
        for nxt, _ in getattr(fn, "next_functions", ()):
            if nxt is None:
                continue
            if uses is not None and nxt in uses:
                uses[nxt] += 1
            if nxt not in seen:
                stack.append(nxt)


def survey(roots: list, watched: Optional[dict] = None) -> tuple:
    """One walk from these tensors' grad_fn: (the leaf tensors it reaches, whether a
    torch.utils.checkpoint(use_reentrant=True) is on the way, and how many times each `watched` node
    is used). Such a checkpoint's backward recomputes its forward and runs only under a plain
    .backward(), never under autograd.grad. `watched` maps a key to an autograd node (a module
    output's grad_fn); the count is the number of graph edges into it, that is the ops that consumed
    that output on the way to `roots`."""
    watched = watched or {}
    uses = dict.fromkeys(watched.values(), 0)
    leaves, reentrant = [], False
    for fn in _nodes(roots, uses):
        var = getattr(fn, "variable", None)
        if isinstance(var, torch.Tensor):
            leaves.append(var)
        reentrant = reentrant or type(fn).__name__ == "CheckpointFunctionBackward"
    return leaves, reentrant, {key: uses[node] for key, node in watched.items()}


def edges_into(roots: list, nodes: list) -> dict:
    """{node: how many graph edges lead into it} over the graph of these tensors' grad_fn; None
    when the graph is larger than MAX_NODES, so the counts would be incomplete."""
    uses = dict.fromkeys(nodes, 0)
    visited = sum(1 for _ in _nodes(roots, uses))
    return uses if visited < MAX_NODES else None


def reachable_leaves(roots: list) -> list:
    """The leaf tensors (AccumulateGrad variables) reached from these tensors' grad_fn."""
    return survey(roots)[0]


def attribute_tensors(model: torch.nn.Module) -> list:
    """Trainable tensors kept as plain module attributes (or in lists, tuples and dicts there):
    the unregistered leaves a backward can reach without the graph showing them beforehand."""
    found = []
    for _, owner in model.named_modules():
        for attr, value in vars(owner).items():
            if attr.startswith("_"):
                continue
            items = value.values() if isinstance(value, dict) else (
                value if isinstance(value, (list, tuple)) else (value,))
            found.extend(v for v in items if isinstance(v, torch.Tensor) and v.requires_grad)
    return found


def _tensor_names(model: torch.nn.Module, index) -> dict:
    """id(tensor) -> a name for tensors the model reaches without registering them."""
    names = {}
    for owner_name, owner in model.named_modules():
        for attr, value in vars(owner).items():
            if attr.startswith("_"):
                continue
            prefix = f"{owner_name}.{attr}" if owner_name else attr
            if isinstance(value, torch.Tensor):
                names.setdefault(id(value), prefix)
            elif isinstance(value, torch.nn.Module):
                for n, p in value.named_parameters():
                    names.setdefault(id(p), f"{prefix}.{n}")
            elif isinstance(value, (list, tuple, dict)):
                items = value.items() if isinstance(value, dict) else enumerate(value)
                for k, v in items:
                    if isinstance(v, torch.nn.Module):
                        for n, p in v.named_parameters():
                            names.setdefault(id(p), f"{prefix}.{k}.{n}")
                    elif isinstance(v, torch.Tensor):
                        names.setdefault(id(v), f"{prefix}.{k}")
    return names


def unregistered_parameters(model: torch.nn.Module, leaves: list, inputs: list, index) -> list:
    """Plain-data records of the trainable `leaves` (those reached from the output: survey()) that
    the model does not own."""
    owned = {id(p) for p in model.parameters()}
    owned |= {id(t) for t in inputs if isinstance(t, torch.Tensor)}
    names = None
    found = []
    for leaf in leaves:
        if id(leaf) in owned or not leaf.requires_grad:
            continue
        owned.add(id(leaf))
        if names is None:
            names = _tensor_names(model, index)
        found.append({"name": names.get(id(leaf), f"<tensor {tuple(leaf.shape)}>"),
                      "shape": list(leaf.shape), "numel": leaf.numel(), "is_parameter":
                      isinstance(leaf, torch.nn.Parameter)})
    return found
