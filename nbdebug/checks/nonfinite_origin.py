"""Name the first torch op whose inputs are finite and whose output is not, with its source line.

Paid only when the recorded stats already show non-finite values born inside the model or the loss:
the forward (and loss) is re-run under a TorchFunctionMode that checks each op's output. This costs
a host sync per op, which is why it never runs on a healthy model.
"""
from __future__ import annotations

import os
import traceback

import torch
from torch.nn.modules import module as module_mod
from torch.overrides import TorchFunctionMode

from ..errors import _OWN_DIR, _is_library
from ..structure import tensors

MAX_OPS = 100_000


def _all_finite(obj) -> bool:
    for _, t in tensors(obj):
        if t.is_floating_point() and t.numel() and t.device.type != "meta":
            if not bool(torch.isfinite(t).all()):
                return False
    return True


def _op_name(func) -> str:
    name = getattr(func, "__name__", None) or str(func)
    owner = getattr(func, "__objclass__", None) or getattr(func, "__self__", None)
    if owner is torch.Tensor or (isinstance(owner, type) and issubclass(owner, torch.Tensor)):
        return f"Tensor.{name}"
    return f"torch.{name}" if not name.startswith("__") else f"Tensor.{name}"


class _FirstNonfinite(TorchFunctionMode):
    def __init__(self, modules: list):
        super().__init__()
        self.found = None
        self.modules = modules
        self.ops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.found is not None or self.ops > MAX_OPS:
            return out
        self.ops += 1
        try:
            if not _all_finite(out) and _all_finite((args, kwargs)):
                self.found = self._describe(func, args, out)
        except Exception:
            pass
        return out

    def _describe(self, func, args, out) -> dict:
        frame = None
        for f in reversed(traceback.extract_stack()[:-2]):
            if os.path.abspath(f.filename).startswith(_OWN_DIR) and _is_library(f.filename):
                break  # back at nbdebug: the op ran in library code (a named loss), not the user's
            if not _is_library(f.filename):
                frame = f
                break
        first = next((t for _, t in tensors(args) if t.is_floating_point() and t.numel()), None)
        info = {"op": _op_name(func), "module": self.modules[-1] if self.modules else ""}
        if frame is not None:
            info.update(file=os.path.basename(frame.filename), path=frame.filename, line=frame.lineno or 0,
                        code=(frame.line or "")[:200])
        if first is not None:
            f = first.detach().float()
            info.update(input_min=float(f.min()), input_max=float(f.max()),
                        input_zero_frac=float((f == 0).float().mean()),
                        input_nonpositive_frac=float((f <= 0).float().mean()))
        o = next((t for _, t in tensors(out) if t.is_floating_point()), None)
        if o is not None:
            o = o.detach()
            info.update(output_nan=int(torch.isnan(o).sum()), output_inf=int(torch.isinf(o).sum()),
                        output_numel=o.numel())
        return info


def run(model, args, kwargs, names: dict, loss_fn=None) -> dict:
    """Re-run forward (and `loss_fn(output)` if given) and report the first op that made non-finite values."""
    stack: list = []

    def pre(module, inputs):
        stack.append(names.get(id(module), f"<{type(module).__name__}>"))

    def post(module, inputs, output):
        if stack:
            stack.pop()

    mode = _FirstNonfinite(stack)
    h1 = module_mod.register_module_forward_pre_hook(pre)
    h2 = module_mod.register_module_forward_hook(post)
    stage = "forward"
    try:
        with torch.no_grad(), mode:
            out = model(*args, **kwargs)
            if mode.found is None and loss_fn is not None:
                stage = "loss"
                stack.clear()
                loss_fn(out)
    finally:
        h1.remove()
        h2.remove()
    if mode.found is None:
        return {"found": False, "ops_checked": mode.ops}
    return {"found": True, "stage": stage, **mode.found}
