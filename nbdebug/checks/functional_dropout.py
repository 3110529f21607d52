"""Functional dropout that ignores the module's mode: `F.dropout(x, 0.5)` defaults to `training=True`,
so it keeps dropping units after `model.eval()`; `nn.Dropout` and `F.dropout(x, p, self.training)` do
not. Found by reading the source of the user's own classes (the AST per_sample.py already parses,
cached per class): no forward runs, nothing is timed.
"""
from __future__ import annotations

import ast
import functools

import torch.nn as nn

from .per_sample import _methods, _user_classes

# the torch.nn.functional dropouts whose `training` defaults to True (alpha dropouts default to False)
DEFAULT_ON = {"dropout", "dropout1d", "dropout2d", "dropout3d"}
TRAINING_POSITION = 2   # dropout(input, p, training, inplace)


def _calls_without_training(fn: ast.AST) -> list:
    found = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
        if name not in DEFAULT_ON or (isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                                      and f.value.id == "self"):
            continue  # self.dropout(...) is a submodule, which follows the mode
        if len(node.args) > TRAINING_POSITION or any(k.arg == "training" for k in node.keywords):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue  # *args/**kwargs may carry it
        found.append(node)
    return found


@functools.lru_cache(maxsize=512)
def _found_in(classes: tuple) -> tuple:
    """((class name, method, line, code), ...) for these classes, cached like per_sample._methods."""
    methods, problem = _methods(classes)
    if problem or not methods:
        return ()
    out = []
    for method, fn in methods.items():
        owner = next((c for c in classes if method in vars(c)), classes[0])
        for node in _calls_without_training(fn):
            out.append((owner.__name__, method, node.lineno, ast.unparse(node)[:120]))
    return tuple(out)


def run(model: nn.Module, trace) -> list:
    """[{module, class, method, line, code}] for each functional dropout without `training` in the
    source of a user class whose module ran; [] when none (or no source can be read)."""
    by_name = dict(model.named_modules())
    out, seen = [], set()
    for call in trace.calls:
        m = by_name.get(call.name)
        classes = tuple(_user_classes(m)) if m is not None else ()
        if not classes or classes in seen:
            continue
        seen.add(classes)
        for cls_name, method, line, code in _found_in(classes):
            out.append({"module": call.name, "class": cls_name, "method": method, "line": line, "code": code})
    return out
