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
- the global CPU RNG and the RNG of every CUDA device in use (torch.random.fork_rng);
- each module's class and attributes (a forward that registers hooks, adds submodules, caches
  tensors on `self` or initialises a lazy module): attributes are put back by identity, and the
  contents of plain dict/list/set attributes (hook and child dictionaries included) in place;
- modules the model keeps unregistered in plain lists or dicts get all of the above too.
"""
from __future__ import annotations

import contextlib
import operator
from collections import OrderedDict
import copy

import torch
import torch.nn as nn

PARAM_CLONE_BYTES = 4 << 20   # larger models: version counters only (a clone costs ~20 ms on a ResNet-18)
BUFFER_CLONE_BYTES = 512 << 20
CONTAINER_LIMIT = 100_000   # larger dict/list/set attributes are restored by identity only
_CONTAINERS = (dict, list, set)


def _nbytes(t: torch.Tensor) -> int:
    if isinstance(t, nn.parameter.UninitializedTensorMixin):  # a lazy module's: no size yet
        return 0
    return t.numel() * t.element_size()


def _version(t: torch.Tensor):
    """The in-place version counter; None for inference tensors, which have none."""
    try:
        return t._version
    except RuntimeError:
        return None


def _cloneable(t: torch.Tensor) -> bool:
    return t.device.type != "meta" and t.layout == torch.strided and not isinstance(
        t, nn.parameter.UninitializedTensorMixin)


def _all_modules(model: nn.Module) -> list:
    """(name, module) for the registered modules and those kept unregistered in plain containers."""
    found = list(model.named_modules())
    seen = {id(m) for _, m in found}
    i = 0
    while i < len(found):
        owner_name, owner = found[i]
        i += 1
        # one comprehension per module: this scans every attribute of every module once per trace
        held = [(attr, value) for attr, value in vars(owner).items()
                if attr[:1] != "_" and isinstance(value, (list, tuple, dict))]
        for attr, value in held:
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in list(items)[:1000]:
                if isinstance(v, nn.Module) and id(v) not in seen:
                    for sub, m in v.named_modules(prefix=f"{owner_name}.{attr}.{k}".lstrip(".")):
                        if id(m) not in seen:
                            seen.add(id(m))
                            found.append((sub, m))
    return found


def _unique(ts) -> list:
    """The tensors, None and repeats (a tied weight) left out."""
    seen, out = set(), []
    for t in ts:
        if t is not None and id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


_PLAIN = (dict, list, set, OrderedDict)


def _snapshot(v):
    # the exact built-in types copy with their own constructor, ~10x cheaper than copy.copy
    return type(v)(v) if type(v) in _PLAIN else copy.copy(v)


def _attr_state(mod: nn.Module) -> tuple:
    """The module's class, a shallow copy of its attributes, its empty plain containers (most of
    them are a module's hook dicts: only remembered as empty) and copies of the others."""
    attrs = dict(vars(mod))
    containers = [v for v in attrs.values() if isinstance(v, _CONTAINERS)]
    try:
        empty = [v for v in containers if not v]
    except Exception:  # a container subclass whose len() raises: restored by identity only
        containers = [v for v in containers if type(v) in _PLAIN]
        empty = [v for v in containers if not v]
    filled = []
    for v in containers:
        try:
            if v and len(v) <= CONTAINER_LIMIT:
                filled.append((v, _snapshot(v)))
        except Exception:  # an exotic container subclass: restored by identity only
            pass
    return mod, type(mod), attrs, empty, filled


def _same_items(a: dict, b: dict) -> bool:
    """The same keys bound to the same objects, in the same order (compared in C: this runs for
    every attribute dictionary of every module, twice per trace). A False that only reflects an
    order change costs a restore, never a wrong answer."""
    return len(a) == len(b) and a.keys() == b.keys() and all(map(operator.is_, a.values(), b.values()))


def _changed(obj, saved) -> bool:
    if isinstance(obj, dict):
        return not _same_items(obj, saved)
    if isinstance(obj, list):
        return len(obj) != len(saved) or not all(map(operator.is_, obj, saved))
    return obj != saved


def _put_back(obj, saved) -> None:
    """Refill a container in place with its saved contents (None: it was empty)."""
    try:
        obj.clear()
        if saved is None:
            return
        if isinstance(obj, list):
            obj.extend(saved)
        else:
            obj.update(saved)
    except Exception:  # a container subclass with its own rules: leave it as the forward left it
        pass


def _restore_attrs(mod, cls, attrs, empty, filled) -> None:
    if type(mod) is not cls:
        mod.__class__ = cls  # a lazy module that turned into its concrete class
    current = vars(mod)
    if not _same_items(current, attrs):
        for k in [k for k in current if k not in attrs]:
            del current[k]
        for k, v in attrs.items():
            if k not in current or current[k] is not v:
                current[k] = v
    try:
        grown = any(map(len, empty))
    except Exception:
        grown = False
    if grown:  # a hook or an entry added during the trace
        for obj in empty:
            if len(obj):
                _put_back(obj, None)
    for obj, saved in filled:
        try:
            changed = _changed(obj, saved)
        except Exception:
            continue
        if changed:
            _put_back(obj, saved)


class ModelGuard(contextlib.AbstractContextManager):
    def __init__(self, model: nn.Module):
        self.model = model
        self.changed_params: list = []   # names of parameters a forward changed in place (not restorable)
        self._rng = None

    def __enter__(self):
        m = self.model
        self._modules = _all_modules(m)
        self._attrs = [_attr_state(mod) for _, mod in self._modules]
        self._training = [(mod, mod.training) for _, mod in self._modules]
        self._slots = []  # (owner module, kind '_parameters'/'_buffers', key, tensor object, version, clone)
        # from the module list already walked: each parameters()/buffers() call walks the model again
        owned_params = _unique(t for _, mod in self._modules for t in mod._parameters.values())
        owned_buffers = _unique(t for _, mod in self._modules for t in mod._buffers.values())
        params_small = sum(_nbytes(p) for p in owned_params) <= PARAM_CLONE_BYTES
        buffers_small = sum(_nbytes(b) for b in owned_buffers) <= BUFFER_CLONE_BYTES
        for _, mod in self._modules:
            for key, t in list(mod._parameters.items()):
                if t is not None:
                    clone = t.detach().clone() if params_small and _cloneable(t) else None
                    self._slots.append((mod, "_parameters", key, t, _version(t), clone))
            for key, t in list(mod._buffers.items()):
                if t is not None:
                    clone = t.detach().clone() if (buffers_small or mod.training) and _cloneable(t) else None
                    self._slots.append((mod, "_buffers", key, t, _version(t), clone))
        params = owned_params
        # lazy modules turn their UninitializedParameter objects into real ones in place
        self._lazy = [(t, type(t), t.data) for _, mod in self._modules
                      for t in list(mod._parameters.values()) + list(mod._buffers.values())
                      if isinstance(t, nn.parameter.UninitializedTensorMixin)]
        self._requires_grad = [(p, p.requires_grad) for p in params]
        # a forward that calls backward itself accumulates into .grad: the user's .grad tensors are set
        # aside for the trace (p.grad = None) and put back on exit, never touched, with nothing copied
        # (cloning them cost more than the trace's own stats on a ResNet-18)
        self._grads = [(p, p.grad, None if p.grad is None else _version(p.grad), None) for p in params]
        for p in params:
            if p.grad is not None:
                p.grad = None
        devices = sorted({p.device.index or 0 for p in owned_params + owned_buffers if p.device.type == "cuda"})
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
            for state in self._attrs:
                _restore_attrs(*state)
            self.restore_modes()
            with torch.no_grad():
                for mod, kind, key, obj, version, clone in self._slots:
                    slots = getattr(mod, kind)  # TorchScript's wrapper has no .get
                    if (slots[key] if key in slots else None) is not obj:
                        slots[key] = obj
                    # batch_norm updates running stats inside its kernel without bumping the
                    # version counter, so buffers are always copied back from their clone
                    if version is None:  # an inference tensor: writable only in inference mode
                        if clone is not None:
                            with torch.inference_mode():
                                obj.copy_(clone)
                        continue
                    if clone is not None and (kind == "_buffers" or obj._version != version):
                        # through .data, so the version counter does not move: a graph the user
                        # built before the trace (eval batch-norm saves its running stats) still
                        # runs backward afterwards
                        obj.data.copy_(clone)
                    elif clone is None and kind == "_parameters" and obj._version != version:
                        self.changed_params.append(key)
            for t, cls, data in self._lazy:
                if type(t) is not cls:
                    t.data = data
                    t.__class__ = cls
            for p, flag in self._requires_grad:
                if p.requires_grad != flag:
                    p.requires_grad_(flag)
            for p, grad, version, clone in self._grads:
                if p.grad is not grad:
                    p.grad = grad
                if grad is not None and version is not None and grad._version != version and clone is not None:
                    with torch.no_grad():
                        grad.data.copy_(clone)
        finally:
            self._rng.__exit__(None, None, None)
        return False
