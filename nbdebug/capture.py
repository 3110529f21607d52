"""Hooks in, hooks out: record every module call of one forward pass, in order.

nbdebug uses the *global* module hooks (`torch.nn.modules.module.register_module_forward_*`) rather
than a hook per module: installing them costs the same for 10 modules or 10,000, they leave the
user's modules' own hook dictionaries untouched, and they also see modules the model reaches without
registering them (layers kept in a plain Python list), which is itself a diagnosis. They are removed
in a `finally`, as torchinfo does.

The forward post-hook is registered with `always_call=True`, so a module that raises still reports
back: the innermost call that raised is the failing call, with the inputs it received.

Gradients w.r.t. each module output are taken with tensor hooks registered on the output tensors,
not with full backward hooks, which break on in-place ops (pytorch#61519).
"""
from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn as nn
from torch.nn.modules import module as module_mod

from . import signals, weight_grads
from .stats import StatsBatch
from .structure import kind, tensors
from .trace import Call

MAX_CALLS = 5000     # calls recorded one by one; later calls are counted per module (see notes)


class ModelIndex:
    """Names, parameter counts and config attributes of the modules of one model."""

    def __init__(self, model: nn.Module, root: nn.Module):
        self.model = model
        self.names: dict = {}
        self.keyed: list = []            # ModuleDicts: their items are picked by key (a task, a domain)
        for name, m in model.named_modules():
            self.names.setdefault(id(m), name)
            if isinstance(m, nn.ModuleDict):
                self.keyed.append(name)
        self._registered = set(self.names)
        self._params: dict = {}
        self._attrs: dict = {}
        self._unregistered: dict = {}
        self.root = root

    def name_of(self, module: nn.Module) -> tuple:
        """(qualified name, registered?) of a module reached during forward."""
        key = id(module)
        if key in self.names:
            return self.names[key], key in self._registered
        name = self._find_unregistered(module)
        for sub, m in module.named_modules():
            self.names.setdefault(id(m), f"{name}.{sub}" if sub else name)
        return self.names[key], False

    def _find_unregistered(self, module: nn.Module) -> str:
        """Where the model keeps a module it did not register: `blocks.0` for `self.blocks = [...]`."""
        for owner_name, owner in self.model.named_modules():
            for attr, value in vars(owner).items():
                prefix = f"{owner_name}.{attr}" if owner_name else attr
                if value is module:
                    return prefix
                items = value.items() if isinstance(value, dict) else (
                    enumerate(value) if isinstance(value, (list, tuple)) else ())
                for k, v in items:
                    if v is module:
                        return f"{prefix}.{k}"
        return f"<{type(module).__name__}>"

    def param_count(self, module: nn.Module) -> int:
        key = id(module)
        if key not in self._params:
            # the _parameters dict, not parameters(recurse=False): that walks named_modules per call
            own = getattr(module, "_parameters", None) or {}
            self._params[key] = sum(p.numel() for p in own.values() if p is not None and
                                    not isinstance(p, nn.parameter.UninitializedTensorMixin)) + sum(
                self.param_count(c) for c in module.children())
        return self._params[key]

    def attrs(self, module: nn.Module) -> dict:
        key = id(module)
        if key not in self._attrs:
            self._attrs[key] = simple_attrs(module)
        return self._attrs[key]


def layer_type(module: nn.Module) -> str:
    """The module's class name; for a parametrised layer (spectral_norm, weight_norm, orthogonal via
    torch.nn.utils.parametrize) the layer's own class, `Conv2d` rather than `ParametrizedConv2d`, so the
    rules know it for what it computes."""
    cls = type(module)
    if cls.__name__.startswith("Parametrized") and len(cls.__mro__) > 1 and \
            getattr(module, "parametrizations", None) is not None:
        return cls.__mro__[1].__name__
    return cls.__name__


def simple_attrs(module: nn.Module) -> dict:
    """Public config attributes with plain values (in_features, dim, p, batch_first, ...)."""
    out = {}
    # most of a module's attributes are torch's private ones: filtered in one comprehension
    public = [(k, v) for k, v in vars(module).items() if k[:1] != "_"]
    for k, v in public:
        if k == "training":
            continue
        if v is None or isinstance(v, (bool, int, float, str)):
            out[k] = v if not isinstance(v, str) else v[:80]
        elif isinstance(v, (tuple, list)) and len(v) <= 8 and all(isinstance(a, (int, float)) for a in v):
            out[k] = list(v)
    return out


class Recorder:
    """Receives the global hooks' calls and turns them into `Call` records."""

    def __init__(self, index: ModelIndex, batch: StatsBatch, *, grads: bool, max_calls: int = MAX_CALLS):
        self.index = index
        self.batch = batch
        self.want_grads = grads
        self.max_calls = max_calls
        self.calls: list = []
        self.dropped: dict = {}          # module name -> calls not recorded one by one
        self.internal_errors: list = []  # nbdebug's own failures inside hooks (never raised)
        self._stack: list = []           # (Call | None, id(module))
        self._grad_handles: list = []
        self.leaf_outputs: dict = {}     # call index -> grad_fn of a leaf module's first output
        self.weight_calls: dict = {}     # id(layer) -> weight_grads.LayerCall, None once seen twice
        self._thread = threading.get_ident()
        self.active = False
        self.root_kwargs: dict = {}
        self.kwargs_hooks = True         # False on old torch: post-hooks then never see failures

    # ------------------------------------------------------------------ hook bodies
    def pre(self, module, args):
        if not self.active or threading.get_ident() != self._thread:
            return None
        try:
            self._start(module, args)
        except Exception as e:  # nbdebug must never break the user's forward
            self.internal_errors.append(f"pre-hook: {type(e).__name__}: {e}")
            self._stack.append((None, id(module)))
        return None

    def post(self, module, args, *rest):
        if not self.active or threading.get_ident() != self._thread:
            return None
        # with_kwargs hooks get (kwargs, result); on the exception path torch passes (result,) only
        if len(rest) == 2:
            (kwargs, result), raised = rest, False
        else:
            kwargs, result, raised = {}, rest[0], self.kwargs_hooks
        try:
            self._finish(module, args, kwargs, result, raised)
        except Exception as e:
            self.internal_errors.append(f"post-hook: {type(e).__name__}: {e}")
        return None

    # ------------------------------------------------------------------ recording
    def current_call(self) -> Optional[Call]:
        """The innermost recorded call still running (None outside any): the parent of the next one."""
        for call, _ in reversed(self._stack):
            if call is not None:
                return call
        return None

    def _new_call(self, module, args) -> Call:
        name, registered = self.index.name_of(module)
        parent = self.current_call()
        call = Call(index=len(self.calls), name=name, type=layer_type(module),
                    depth=0 if parent is None else parent.depth + 1,
                    parent=None if parent is None else parent.index,
                    params=self.index.param_count(module), attrs=self.index.attrs(module),
                    training=module.training, registered=registered, status="running")
        extras = signals.for_module_input(module)
        call.inputs = [self.batch.add(t, p, extras) for p, t in tensors(args)]
        if not self.calls and self.root_kwargs:
            call.inputs += [self.batch.add(t, p, extras) for p, t in tensors(self.root_kwargs)]
        call.input_kinds = [kind(a) for a in args]
        self.calls.append(call)
        return call

    def _start(self, module, args):
        if len(self.calls) >= self.max_calls:
            name, _ = self.index.name_of(module)
            self.dropped[name] = self.dropped.get(name, 0) + 1
            self._stack.append((None, id(module)))
            return
        self._stack.append((self._new_call(module, args), id(module)))

    def _finish(self, module, args, kwargs, result, raised):
        call = None
        while self._stack:
            entry, key = self._stack.pop()
            if key == id(module):
                call = entry
                break
        if call is None:
            if not raised:
                return
            call = self._new_call(module, args)  # a dropped call that failed: keep it
        if raised:
            call.status = "raised"
            return
        call.status = "ok"
        if kwargs and call.index != 0:  # the root's keyword inputs were recorded at its start
            call.inputs += self._kwarg_stats(kwargs)
        extras = signals.for_module_output(module)
        outs = tensors(result)
        if extras or isinstance(module, signals.SQUASHING):  # a squashing module's extra is on its input
            call.outputs = [self.batch.add(t, p, extras) for p, t in outs]
        else:  # each output by the op that made it: a functional sigmoid/tanh gets its own extra
            call.outputs = [self.batch.add(t, p, signals.for_functional_output(t.grad_fn)) for p, t in outs]
        call.output_kind = kind(result)
        call.grads = [None] * len(outs)
        if outs and not module._modules and outs[0][1].grad_fn is not None:
            # how many ops consume a layer's output is read off the graph later (graph.survey)
            self.leaf_outputs[call.index] = outs[0][1].grad_fn
        if self.want_grads and weight_grads.large_weight(module):
            key = id(module)  # a layer called twice sums two gradients: the ordinary path then
            self.weight_calls[key] = (None if key in self.weight_calls
                                      else weight_grads.layer_call(module, args, result))
        if self.want_grads and torch.is_grad_enabled():
            for pos, (p, t) in enumerate(outs):
                if t.requires_grad and t.grad_fn is not None:
                    hook = functools.partial(self._on_grad, call, pos, p)
                    self._grad_handles.append(t.register_hook(hook))

    def _kwarg_stats(self, kwargs) -> list:
        out = []
        for k, v in kwargs.items():
            for p, t in tensors(v, k):
                out.append(self.batch.add(t, p))
        return out

    def _on_grad(self, call: Call, pos: int, path: str, grad):
        try:
            if grad is not None:
                call.grads[pos] = self.batch.add(grad, path)
        except Exception as e:
            self.internal_errors.append(f"grad hook: {type(e).__name__}: {e}")
        return None

    # ------------------------------------------------------------------ after the run
    def failing_call(self) -> Optional[Call]:
        """The innermost call on the chain of calls that raised, walking down from the root.

        A child that raised but was followed by calls that completed was caught by the user's code,
        so the chain stops above it.
        """
        failed = [c for c in self.calls if c.status in ("raised", "running")]
        if not failed:
            return None
        current = failed[0]
        while True:
            children = [c for c in failed if c.parent == current.index]
            if not children:
                return current
            child = children[-1]
            later_ok = any(c.index > child.index and c.status == "ok" and c.parent == current.index
                           for c in self.calls)
            if later_ok:
                return current
            current = child

    def remove_grad_hooks(self):
        self.weight_calls = {}
        for h in self._grad_handles:
            try:
                h.remove()
            except Exception:
                pass
        self._grad_handles.clear()


@contextmanager
def recording(recorder: Recorder):
    """Install the global hooks for the duration of the block; always remove them."""
    # Transformer layers take a fused fast path in eval mode that skips their submodules when no
    # per-module hooks are attached; turn it off while recording so every layer is seen.
    fastpath = _mha_fastpath(None)
    _mha_fastpath(False)
    pre = module_mod.register_module_forward_pre_hook(recorder.pre)
    try:
        post = module_mod.register_module_forward_hook(recorder.post, with_kwargs=True, always_call=True)
    except TypeError:  # torch < 2.0: no always_call; failing calls are then found from the stack
        post = module_mod.register_module_forward_hook(recorder.post)
        recorder.kwargs_hooks = False
    recorder.active = True
    try:
        yield recorder
    finally:
        recorder.active = False
        pre.remove()
        post.remove()
        _mha_fastpath(fastpath)


def _mha_fastpath(value):
    """Read (value None) or set torch.backends.mha's fast-path flag, where this torch has one."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "get_fastpath_enabled"):
        return None
    if value is None:
        return mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(value)
    return value
