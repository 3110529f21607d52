"""Where a failing backward came from: the forward line of the op whose gradient could not be computed.

A backward error is raised from inside autograd, so its traceback holds no line of the user's code;
torch's own hint is "enable anomaly detection to find the operation that failed". This check does
that for the user: it replays the forward and the loss under `torch.autograd.detect_anomaly`, lets
the backward fail again, and reads the forward traceback that anomaly mode records for the failing
node. Runs only when the trace's backward already failed (inside the guard, which restores the
model, its buffers and the RNG).
"""
from __future__ import annotations

import dis
import re
import warnings

import torch

from ..errors import _is_library

_FILE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)$')
_NODE = re.compile(r"Error detected in (\w+)")


def _forward_traceback(caught) -> tuple:
    """(failing node's name, the anomaly warning's text) from the recorded warnings."""
    for w in caught:
        text = str(w.message)
        found = _NODE.search(text)
        if found and "Traceback of forward call" in text:
            return found.group(1), text
    return "", ""


def _frames(text: str) -> list:
    """The traceback's frames as dicts, each with the source line that follows it (if any)."""
    lines = [line.strip() for line in text.splitlines()]
    out = []
    for i, line in enumerate(lines):
        m = _FILE.match(line)
        if not m:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        code = "" if _FILE.match(nxt) or nxt.startswith("(Triggered") else nxt
        out.append({"file": m["file"], "line": int(m["line"]), "function": m["function"], "code": code[:200]})
    return out


def run(model: torch.nn.Module, args: tuple, kwargs: dict, loss_fn, params: list, names: dict = None) -> dict:
    """{"found": True, "node": "SigmoidBackward0", "frame": {file, line, function, code}, "module": name}
    with the innermost user frame inside one of the model's modules, or {"found": False, ...}.
    `names` (id(module) -> name) spells module names as the trace does (a wrapper's prefix included)."""
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.autograd.detect_anomaly(check_nan=False):
            try:
                with torch.enable_grad():
                    loss = loss_fn(model(*args, **kwargs))
                    wrt = [p for p in params if p.requires_grad]
                    if loss is not None and loss.requires_grad and wrt:
                        torch.autograd.grad(loss, wrt, allow_unused=True)
            except Exception as e:  # the failure we came for
                error = f"{type(e).__name__}: {e}"[:300]
    node, text = _forward_traceback(caught)
    if not text:
        return {"found": False, "reason": "the replay did not fail in backward" if error is None
                else "anomaly mode recorded no forward traceback", "replay_error": error}
    # innermost first: the user's own forward, or one of torch's layers (a Sigmoid module)
    candidates = [f for f in _frames(text) if not _is_library(f["file"]) or torch_layer_file(f["file"])]
    for frame in reversed(candidates):
        module = owner(model, frame, names)
        if module is not None:
            return {"found": True, "node": node, "frame": frame, "module": module, "replay_error": error}
    return {"found": False, "node": node, "replay_error": error,
            "reason": "the failing op is inside torch's own layers, not in a forward of this model's code"}


def _line_span(code) -> tuple:
    lines = [line for _, line in dis.findlinestarts(code) if line]
    return (min(lines), max(lines)) if lines else (0, -1)


def torch_layer_file(path: str) -> bool:
    """A file of torch's own layers (activation.py, conv.py, ...), not its call machinery."""
    norm = path.replace("\\", "/")
    return "/torch/nn/modules/" in norm and not norm.endswith("/module.py")


def _defines(cls: type, frame: dict, torch_layer: bool) -> bool:
    """Whether the class (not its torch bases) defines the function at the frame's file and line."""
    for base in cls.__mro__:
        if base is torch.nn.Module or base is object:
            return False
        is_torch = base.__module__.startswith("torch.")
        if is_torch and not torch_layer:
            continue
        for attr, fn in vars(base).items():
            code = getattr(fn, "__code__", None)
            if code is None or code.co_filename != frame["file"] or (is_torch and attr != "forward"):
                continue
            lo, hi = _line_span(code)
            if lo <= frame["line"] <= hi:
                return True
    return False


def owner(model: torch.nn.Module, frame: dict, names: dict = None):
    """The qualified name of the first module whose class defines the function at this file and line
    (its `forward`, or a helper method it calls); None when the line is outside every module."""
    torch_layer = torch_layer_file(frame["file"])
    verdicts: dict = {}   # one look per class, however many instances the model has
    for name, m in model.named_modules():
        cls = type(m)
        if cls not in verdicts:
            verdicts[cls] = _defines(cls, frame, torch_layer)
        if verdicts[cls]:
            return (names or {}).get(id(m), name)
    return None
