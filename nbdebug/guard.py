"""Leave the user's model exactly as it was, whatever happens during the trace.

Snapshotted on entry and put back on exit, success or failure:
- train/eval flags of every module (set directly, not via .train(), which would recurse);
- buffers (batch-norm running stats): cloned and always copied back (kernels update them in place
  without moving their version counter);
- parameters: their identity and requires_grad always; their values are cloned when the model is
  small (<= PARAM_CLONE_BYTES) and otherwise guarded by version counters, which reveal any in-place
  change a forward makes (reported in `changed_params`);
- `.grad` of every parameter: the same tensor object with the same values (nbdebug itself only uses
  torch.autograd.grad, which never writes .grad);
- the global CPU RNG and the RNG of every CUDA device in use (torch.random.fork_rng).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn

PARAM_CLONE_BYTES = 64 << 20
BUFFER_CLONE_BYTES = 512 << 20


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _cloneable(t: torch.Tensor) -> bool:
    return t.device.type != "meta" and t.layout == torch.strided


class ModelGuard(contextlib.AbstractContextManager):
    def __init__(self, model: nn.Module):
        self.model = model
        self.changed_params: list = []   # names of parameters a forward changed in place (not restorable)
        self._rng = None

    def __enter__(self):
        m = self.model
        self._modules = list(m.named_modules())
        self._training = [(mod, mod.training) for _, mod in self._modules]
        self._slots = []  # (owner module, kind '_parameters'/'_buffers', key, tensor object, version, clone)
        params_small = sum(_nbytes(p) for p in m.parameters()) <= PARAM_CLONE_BYTES
        buffers_small = sum(_nbytes(b) for b in m.buffers()) <= BUFFER_CLONE_BYTES
        for _, mod in self._modules:
            for key, t in list(mod._parameters.items()):
                if t is not None:
                    clone = t.detach().clone() if params_small and _cloneable(t) else None
                    self._slots.append((mod, "_parameters", key, t, t._version, clone))
            for key, t in list(mod._buffers.items()):
                if t is not None:
                    clone = t.detach().clone() if (buffers_small or mod.training) and _cloneable(t) else None
                    self._slots.append((mod, "_buffers", key, t, t._version, clone))
        self._requires_grad = [(p, p.requires_grad) for p in m.parameters()]
        self._grads = [(p, p.grad, None if p.grad is None else p.grad._version) for p in m.parameters()]
        devices = sorted({p.device.index or 0 for p in list(m.parameters()) + list(m.buffers())
                          if p.device.type == "cuda"})
        if torch.cuda.is_available() and torch.cuda.is_initialized() and not devices:
            devices = [torch.cuda.current_device()]
        self._rng = torch.random.fork_rng(devices=devices, enabled=True)
        self._rng.__enter__()
        return self

    def restore_modes(self):
        """Put every module's train/eval flag back (also usable in the middle of a trace)."""
        for mod, flag in self._training:
            if mod.training != flag:
                mod.training = flag

    def __exit__(self, *exc):
        try:
            self.restore_modes()
            with torch.no_grad():
                for mod, kind, key, obj, version, clone in self._slots:
                    slots = getattr(mod, kind)
                    if slots.get(key) is not obj:
                        slots[key] = obj
                    # batch_norm updates running stats inside its kernel without bumping the
                    # version counter, so buffers are always copied back from their clone
                    if clone is not None and (kind == "_buffers" or obj._version != version):
                        obj.copy_(clone)
                    elif clone is None and kind == "_parameters" and obj._version != version:
                        self.changed_params.append(key)
            for p, flag in self._requires_grad:
                if p.requires_grad != flag:
                    p.requires_grad_(flag)
            for p, grad, version in self._grads:
                if p.grad is not grad:
                    p.grad = grad
        finally:
            self._rng.__exit__(None, None, None)
        return False
