"""Flatten nested inputs and outputs (tuple, list, dict, dataclass, namedtuple, None) into tensors."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator, Optional

import torch

MAX_DEPTH = 6
MAX_TENSORS = 256   # per structure; more are counted, not summarised
MAX_ITEMS = 10_000  # per structure: items looked at, tensors or not (a list of a million floats, or
                    # one that a forward multiplied into millions of entries, is not walked to its end)


def iter_tensors(obj: Any, path: str = "", depth: int = 0, budget: Optional[list] = None) -> Iterator[tuple]:
    """Yield (path, tensor) for every tensor in `obj`, in order, looking at MAX_ITEMS items at most."""
    if budget is None:
        budget = [MAX_ITEMS]
    budget[0] -= 1
    if budget[0] < 0:
        return
    if isinstance(obj, torch.Tensor):
        yield path, obj
        return
    if depth >= MAX_DEPTH or obj is None or isinstance(obj, (str, bytes, int, float, bool)):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_tensors(v, f"{path}[{k!r}]", depth + 1, budget)
            if budget[0] < 0:
                return
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple, PackedSequence
        for k, v in zip(obj._fields, obj):
            yield from iter_tensors(v, f"{path}.{k}", depth + 1, budget)
    elif isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            yield from iter_tensors(v, f"{path}[{i}]", depth + 1, budget)
            if budget[0] < 0:
                return
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from iter_tensors(getattr(obj, f.name, None), f"{path}.{f.name}", depth + 1, budget)


def tensors(obj: Any, path: str = "") -> list:
    """[(path, tensor)] for every tensor in `obj` (at most MAX_TENSORS), in order."""
    # the shapes nearly every module call has, a tensor or a short tuple of them (its arguments),
    # without a generator per level: this runs twice per call
    if isinstance(obj, torch.Tensor):
        return [(path, obj)]
    if type(obj) is tuple and len(obj) <= 8 and all(isinstance(v, torch.Tensor) for v in obj):
        return [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
    out = []
    for item in iter_tensors(obj, path):
        if len(out) >= MAX_TENSORS:
            break
        out.append(item)
    return out


def kind(obj: Any) -> str:
    """A short description of a value's structure: 'Tensor', 'tuple[2]', 'dict', 'None', 'int'."""
    if isinstance(obj, torch.Tensor):
        return "Tensor"
    if obj is None:
        return "None"
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj).__name__
    if isinstance(obj, (tuple, list)):
        return f"{type(obj).__name__}[{len(obj)}]"
    if isinstance(obj, dict):
        return type(obj).__name__ if type(obj) is not dict else "dict"
    return type(obj).__name__


def map_tensors(obj: Any, fn: Callable[[torch.Tensor], Any], depth: int = 0) -> Any:
    """A copy of `obj` with every tensor replaced by fn(tensor); other values kept as they are."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if depth >= MAX_DEPTH or obj is None:
        return obj
    if isinstance(obj, dict):
        return type(obj)((k, map_tensors(v, fn, depth + 1)) for k, v in obj.items()) \
            if type(obj) is dict else _rebuild_mapping(obj, fn, depth)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*[map_tensors(v, fn, depth + 1) for v in obj])
    if isinstance(obj, (tuple, list)):
        return type(obj)(map_tensors(v, fn, depth + 1) for v in obj)
    return obj


def _rebuild_mapping(obj, fn, depth):
    try:
        return type(obj)((k, map_tensors(v, fn, depth + 1)) for k, v in obj.items())
    except Exception:
        return {k: map_tensors(v, fn, depth + 1) for k, v in obj.items()}
