"""`nbdebug.trace`: run the model once, record everything, diagnose. Never raises for a broken model.

The stages, each of which may fail without losing what came before:
  forward   global hooks record every module call (capture.py); stats are queued on device
  loss      the user's loss, a named one, or a stand-in (backward.py)
  backward  torch.autograd.grad: gradients w.r.t. outputs (tensor hooks) and parameters
  finish    the single device-to-host transfer of all stats (stats.py)
  checks    targeted experiments: batch mixing, where NaN was born, unregistered parameters
  probe     optimizer steps on a deep copy (probe.py), when steps > 0
  rules     the Trace becomes ranked findings (rules/)
All of it runs inside ModelGuard, which puts the model back exactly as it was.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import time
import warnings

import torch
import torch.nn as nn

from . import fused, loss_watch, signals, softmax_watch, stats, weight_grads
from .backward import (CANONICAL, LossSpec, NormUnavailable, accumulated_grad_norms, class_weighted,
                       compute_loss, ignore_index, log_input, loss_input, norm_vector, param_grad_norms,
                       resolve_loss)
from .capture import MAX_CALLS, ModelIndex, Recorder, recording
from .checks import backward_origin, batch_mixing, functional_dropout, graph, nonfinite_origin, per_sample
from .errors import describe, error_info, misuse
from .guard import ModelGuard
from .probe import ProbeError, run_probe
from .stats import HIST_BINS, StatsBatch
from .structure import map_tensors, tensors
from .trace import LossInfo, ParamInfo, Trace

_PARAM_EXTRAS = {"row_spread": stats.row_spread}  # symmetric init (rules/init_symmetric.py)


def unwrap(model: nn.Module) -> nn.Module:
    """The module that really runs: torch.compile's `_orig_mod`, (Distributed)DataParallel's `.module`."""
    seen = 0
    while seen < 8:
        seen += 1
        inner = getattr(model, "_orig_mod", None)
        if isinstance(inner, nn.Module):
            model = inner
            continue
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
            continue
        break
    return model


def split_inputs(inputs) -> tuple:
    """(args, kwargs) from a tensor, a tuple/list of positional arguments, or a dict of keywords."""
    if isinstance(inputs, dict):
        return (), dict(inputs)
    if isinstance(inputs, (tuple, list)) and not hasattr(inputs, "_fields"):
        return tuple(inputs), {}
    return (inputs,), {}


def _validate(model, inputs, steps, max_calls):
    if not isinstance(model, nn.Module):
        hint = ""
        if isinstance(model, type):
            hint = " (it is a class: pass an instance, e.g. Net())"
        elif isinstance(inputs, nn.Module):
            hint = " (the arguments are swapped: nbdebug.trace(model, inputs))"
        elif callable(model):
            hint = " (a plain function: wrap it in an nn.Module whose forward calls it)"
        raise misuse(f"nbdebug.trace: model must be a torch.nn.Module, not {type(model).__name__}{hint}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise misuse(f"nbdebug.trace: steps must be a whole number >= 0, e.g. steps=20 (0 = no probe), "
                     f"not {steps!r}", ValueError)
    if not isinstance(max_calls, int) or max_calls < 1:
        raise misuse(f"nbdebug.trace: max_calls must be a positive int, not {max_calls!r}", ValueError)
    if inputs is None:
        raise misuse("nbdebug.trace: inputs is None: pass a tensor, a tuple of positional arguments, "
                     "or a dict of keyword arguments", ValueError)


def _validate_options(optimizer, backward):
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer) and not callable(optimizer):
        raise misuse("nbdebug.trace: optimizer must be a torch.optim.Optimizer instance or a factory "
                     "params -> Optimizer, e.g. lambda p: torch.optim.SGD(p, lr=0.1), "
                     f"not {type(optimizer).__name__}")
    if not isinstance(backward, (bool, numbers.Integral)):
        raise misuse(f"nbdebug.trace: backward must be True or False, not {backward!r}")


def _fresh(t: torch.Tensor) -> torch.Tensor:
    """A private copy of a user input, so an in-place op in forward cannot change the user's tensor.
    It requires grad when the input did: what a checkpointed block gets gradients for depends on it."""
    if t.device.type == "meta" or t.layout != torch.strided:
        return t
    copy = t.detach().clone()
    return copy.requires_grad_() if t.requires_grad and copy.is_floating_point() else copy


def _post_accumulate_hooks(p: torch.Tensor) -> bool:
    """Whether the user hung hooks on p's .grad accumulation (an optimizer stepping in backward):
    a plain .backward() would run them, so nbdebug must not."""
    return bool(getattr(p, "_post_accumulate_grad_hooks", None))


class _Tracer:
    def __init__(self, model, inputs, target, loss, optimizer, steps, backward, max_calls, bins):
        self.model = model
        self.root = unwrap(model)
        self.args, self.kwargs = split_inputs(inputs)
        # an inference tensor cannot enter autograd: a normal copy (others are used as they are)
        self.target = map_tensors(target, lambda v: _fresh(v) if v.is_inference() else v)
        self.spec: LossSpec = resolve_loss(loss, target)
        self.optimizer = optimizer
        self.steps = steps
        self.want_backward = backward
        self.batch = StatsBatch(bins)
        self.index = ModelIndex(model, self.root)
        self.t = Trace(model=type(model).__name__, training=self.root.training)
        if self.index.keyed:
            self.t.checks["module_dicts"] = self.index.keyed[:200]
        self.recorder = Recorder(self.index, self.batch, grads=backward, max_calls=max_calls)
        self.output = None
        self.batch_layout = (None, 0)   # (batch size, batch dim) the batch-mixing experiment used
        self.loss_value = None
        self.grad_tensors: list = []
        self.timings: dict = {}
        self.reentrant_checkpoint = False

    # ------------------------------------------------------------------ stages
    def run(self) -> Trace:
        t = self.t
        start = time.perf_counter()
        with ModelGuard(self.model) as guard, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._describe_model()
            self._record_params()
            ok = self._forward()
            if ok:
                self._walk_graph()
                ok = self._loss()
            self.output = None  # let backward free the output as soon as the loss's grad is taken
            if ok and self.loss_value is not None and not self.on_meta:
                self._backward()
            self.loss_value = None
            self.recorder.remove_grad_hooks()
            self._lap("forward+backward", start)
            self._queue_checks(guard)
            self.batch.finish()  # the trace's one host transfer
            self._lap("stats", start)
            self._checks(guard)
            self._probe()
            self._lap("checks+probe", start)
            if guard.changed_params:
                t.checks["params_changed_in_forward"] = list(guard.changed_params)
        t.checks["warnings"] = _warning_texts(caught)
        if self.recorder.dropped:
            t.checks["calls_not_recorded"] = dict(self.recorder.dropped)
            t.notes.append(f"{sum(self.recorder.dropped.values())} calls beyond the first "
                           f"{len(t.calls)} were counted per module, not recorded one by one")
        internal = self.recorder.internal_errors
        if t.error is not None and t.error.type == "RecursionError":  # the hooks ran out of stack too
            internal = [e for e in internal if "RecursionError" not in e]
        if internal:
            t.notes.append("nbdebug internal: " + "; ".join(internal[:3]))
        self._diagnose()
        self._lap("rules", start)
        t.meta["timings"] = self.timings
        t.meta["cpu_stats"] = fused.status()  # the one-pass kernel, or torch's passes and why
        return t

    def _lap(self, name, start):
        self.timings[name] = round(time.perf_counter() - start, 6)

    def _describe_model(self):
        t = self.t
        first = next(self.root.parameters(), None)
        if first is None:
            first = next(self.root.buffers(), None)
        x = next((v for _, v in tensors((self.args, self.kwargs))), None)
        ref = first if first is not None else x
        if ref is not None:
            t.device, t.dtype = str(ref.device), str(ref.dtype).replace("torch.", "")
        t.meta.update(torch=torch.__version__, loss=self.spec.description, steps=self.steps,
                      wrapper=type(self.model).__name__ if self.root is not self.model else "")
        if isinstance(self.root, torch.jit.ScriptModule):
            t.notes.append(f"TorchScript module ({type(self.root).__name__}, from torch.jit.script or "
                           "torch.jit.trace): hooks cannot see inside it, so only its outer call is "
                           "recorded; trace the original Python module to see every layer")
        else:
            scripted = _scripted_children(self.model)
            if scripted:
                t.notes.append("TorchScript submodule(s) " + ", ".join(f"`{n}`" for n in scripted[:5])
                               + ": hooks cannot see inside them, so each is recorded as one call; use "
                               "the original Python modules to see their layers")
        if self.root is not self.model:
            t.notes.append(f"{type(self.model).__name__} wrapper: nbdebug ran the module inside it "
                           "eagerly (without compilation or replication), so every layer is recorded")
        self.on_meta = t.device == "meta"
        if self.on_meta:
            t.notes.append("the model is on the meta device: shapes and dtypes only (no values, "
                           "gradients, checks or probe steps)")
        if self.spec.stand_in and self.want_backward:
            t.notes.append(self.spec.description)
        elif not self.spec.stand_in and self.spec.description.startswith("no loss given"):
            t.notes.append(self.spec.description)

    def _record_params(self):
        owner = {}
        for mname, m in self.model.named_modules():
            for p in (getattr(m, "_parameters", None) or {}).values():  # not named_parameters: a walk per module
                if p is not None:
                    owner.setdefault(id(p), mname)
        in_opt = None
        if isinstance(self.optimizer, torch.optim.Optimizer):
            in_opt = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        self.named_params = []
        seen = set()
        host_weights = []  # (ParamInfo, tensor): their row_spread is taken for all of them at once below
        for name, p in self.model.named_parameters():
            if id(p) in seen:
                continue
            if isinstance(p, nn.parameter.UninitializedTensorMixin):  # lazy: no shape before forward
                if not any("lazy" in n for n in self.t.notes):
                    self.t.notes.append("lazy module parameters are not initialised before this forward, "
                                        "so they are not recorded; run the model once before tracing")
                continue
            seen.add(id(p))
            info = ParamInfo(name=name, module=owner.get(id(p), ""), shape=tuple(p.shape),
                             dtype=str(p.dtype).replace("torch.", ""), device=str(p.device),
                             requires_grad=p.requires_grad,
                             in_optimizer=None if in_opt is None else id(p) in in_opt,
                             fan_in=math.prod(p.shape[1:]) if p.dim() >= 2 else 0)
            # parameters are summarised from a sample beyond 4,096 values (NaN/Inf re-counted on demand):
            # bad-init thresholds are orders of magnitude, and a ResNet's 11 M weights cost 11 ms exact
            if stats.on_host_float(p):
                info.stats = self.batch.add(p, name, None, sampled=True)
                host_weights.append((info, p))
            else:  # on a device the spread is queued with the rest, for the one transfer
                info.stats = self.batch.add(p, name, _PARAM_EXTRAS, sampled=True)
            self.t.params.append(info)
            self.named_params.append((info, p))
        try:
            spreads = stats.row_spreads([p for _, p in host_weights])
        except Exception as e:  # an exotic parameter must not cost the trace: the signal is skipped
            spreads = []
            self.t.notes.append(f"weight row comparison skipped: {describe(e)}")
        for (info, _), spread in zip(host_weights, spreads):
            if spread is not None:
                info.stats.extra["row_spread"] = spread
        if in_opt is not None:
            model_ids = {id(p) for _, p in self.named_params}
            extra = [p for p in in_opt if p not in model_ids]
            still = {id(p) for g in self.optimizer.param_groups if _zero_lr(g) for p in g["params"]}
            self.t.checks["optimizer"] = {"class": type(self.optimizer).__name__,
                                          "lr": self.optimizer.param_groups[0].get("lr"),
                                          "foreign_params": len(extra),
                                          "zero_lr_params": [i.name for i, p in self.named_params
                                                             if id(p) in still]}

    def _forward(self) -> bool:
        t = self.t
        args = map_tensors(self.args, _fresh)
        kwargs = map_tensors(self.kwargs, _fresh)
        self.fresh_args, self.fresh_kwargs = args, kwargs
        extras = signals.for_model_input()
        t.inputs = [self.batch.add(v, p, extras) for p, v in tensors((args, kwargs), "")]
        for s in t.inputs:
            s.path = _input_path(s.path)
        self.recorder.root_kwargs = kwargs
        self.rng_before = torch.get_rng_state()
        grad_mode = torch.enable_grad() if self.want_backward else torch.no_grad()
        watch = None
        try:
            with grad_mode, recording(self.recorder), softmax_watch.watching(self.recorder) as watch:
                self.output = self.root(*args, **kwargs)
        except Exception as e:
            t.calls = self.recorder.calls
            t.error = error_info(e, "forward", self.recorder.failing_call())
            return False
        finally:
            t.calls = self.recorder.calls
            if watch is not None and watch.records:
                t.checks["softmax_calls"] = watch.records
        out_tensors = tensors(self.output)
        numel = sum(v.numel() for _, v in out_tensors)
        t.outputs = [self.batch.add(v, p, signals.for_model_output(numel)) for p, v in out_tensors]
        t.output_kind = _kind(self.output)
        return True

    def _walk_graph(self):
        try:
            leaves, self.reentrant_checkpoint, uses = graph.survey([v for _, v in tensors(self.output)],
                                                                   self.recorder.leaf_outputs)
            # str keys: trace.checks is plain JSON data
            self.t.checks["output_uses"] = {str(index): n for index, n in uses.items()}
            inputs = [v for _, v in tensors((self.fresh_args, self.fresh_kwargs))]
            self.t.checks["unregistered_params"] = graph.unregistered_parameters(self.model, leaves, inputs,
                                                                                 self.index)
        except Exception as e:
            self.t.notes.append(f"unregistered-parameter check skipped: {describe(e)}")
        finally:
            self.recorder.leaf_outputs = {}

    def _loss(self) -> bool:
        t = self.t
        spec = self.spec
        t.loss = LossInfo(name=spec.kind if not spec.stand_in else "stand-in", stand_in=spec.stand_in,
                          description=spec.description, class_weighted=class_weighted(spec.fn),
                          ignore_index=ignore_index(spec.fn), log_input=log_input(spec.fn))
        t.loss.output = t.outputs[0] if t.outputs else None
        if self.target is not None:
            out = next((v for _, v in tensors(self.output)), None)
            # a nested output has no plain size along dim 1 (strided: .shape raises; jagged: symbolic)
            plain = out is not None and not out.is_nested and out.dim() >= 2
            classes = max(int(out.shape[1]), 2) if plain else 2
            t.target = [self.batch.add(v, p or "target", signals.for_target(classes))
                        for p, v in tensors(self.target)]
            t.loss.target = t.target[0] if t.target else None
            t.meta["loss_name"] = spec.name
        if not self.want_backward and spec.stand_in:
            return True
        # a loss of the user's own is watched for the one torch loss function it may amount to
        custom = not spec.stand_in and spec.kind not in CANONICAL.values()
        watch = loss_watch.watching(loss_input(self.output), loss_input(self.target)) if custom else \
            contextlib.nullcontext()
        softmaxes = softmax_watch.watching_output(loss_input(self.output)) if custom else contextlib.nullcontext()
        try:
            with torch.enable_grad() if self.want_backward else torch.no_grad(), watch as seen, \
                    softmaxes as normalised:
                value = compute_loss(spec, self.output, self.target)
        except Exception as e:
            t.error = error_info(e, "loss")
            return False
        finally:
            if custom:
                _adopt_loss_call(t.loss, seen.single_call())
                if seen.calls:  # plain data for the rules: which torch loss functions ran, on what
                    t.checks["loss_calls"] = [{"function": c.function, "on_target": c.on_target}
                                              for c in seen.calls]
                if normalised.records:
                    t.checks["loss_softmax_on_output"] = normalised.records
        self._queue_shift_signal()
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            self.batch.add_vector(value.detach().float().reshape(1), _setter(t.loss, "value"))
            if value.requires_grad and self.want_backward:
                self.loss_value = value
            elif self.want_backward and not spec.stand_in:
                t.checks["loss_without_grad"] = True
        elif value is None and self.want_backward:
            t.checks["loss_without_grad"] = True
        return True

    def _layer_calls(self, params: list) -> dict:
        """weight_grads.plan for this trace: the large weights whose norm is taken without their
        gradient (an empty plan, and so the ordinary path, if planning fails)."""
        calls = [c for c in self.recorder.weight_calls.values() if c is not None]
        self.recorder.weight_calls = {}
        if not calls:
            return {}
        try:
            return weight_grads.plan(self.loss_value, params, calls)
        except Exception as e:
            self.recorder.internal_errors.append(f"weight-gradient plan: {type(e).__name__}: {e}")
            return {}

    def _queue_shift_signal(self):
        """For an integer input and target of the same shape (a language model's ids): how much of the
        target is the input shifted by one step along dim 0, and along dim 1, which tells the time axis
        (rules.batch_mixing.time_axis_from_shift). Rides in the stats' one transfer."""
        tgt = self.target
        if not isinstance(tgt, torch.Tensor) or tgt.dim() < 2 or tgt.is_floating_point() or tgt.is_complex():
            return
        ids = [a for a in self.args if isinstance(a, torch.Tensor) and a.shape == tgt.shape
               and a.dtype == tgt.dtype and a.device == tgt.device]
        if not ids or min(tgt.shape[0], tgt.shape[1]) < 3:
            return
        with torch.no_grad():  # a seq2seq model takes (source, shifted target): the best-matching input
            along0 = torch.stack([(a[1:] == tgt[:-1]).float().mean() for a in ids]).max()
            along1 = torch.stack([(a[:, 1:] == tgt[:, :-1]).float().mean() for a in ids]).max()
        checks = self.t.checks

        def fill(values):
            checks["shifted_target"] = {"dim0": values[0], "dim1": values[1]}
        self.batch.add_vector(torch.stack([along0, along1]), fill)

    def _backward(self):
        trainable = [(info, p) for info, p in self.named_params if p.requires_grad]
        params = [p for _, p in trainable]
        if self.reentrant_checkpoint:
            # its backward runs only under .backward(), which also runs what hangs on .grad accumulation:
            # DistributedDataParallel's all-reduce, an optimizer stepping in backward
            ddp = type(self.model).__name__ == "DistributedDataParallel"
            if ddp or any(_post_accumulate_hooks(p) for p in params):
                self.t.notes.append(
                    "no backward: the model uses torch.utils.checkpoint(use_reentrant=True), whose backward "
                    "runs only under .backward(), and " + ("DistributedDataParallel" if ddp else "a hook on "
                    "gradient accumulation") + " would act on it; pass use_reentrant=False to trace gradients")
                return
        try:
            if self.reentrant_checkpoint:
                # leaves inside a checkpoint appear only during backward: the model's attributes too
                leaves = graph.reachable_leaves([self.loss_value]) + graph.attribute_tensors(self.model)
                norms = accumulated_grad_norms(self.loss_value, params, leaves)
                self.t.notes.append("the model uses torch.utils.checkpoint(use_reentrant=True), whose backward "
                                    "runs only under .backward(): nbdebug ran that, with every .grad it could "
                                    "write set aside and put back")
            else:
                norms = param_grad_norms(self.loss_value, params, self._layer_calls(params))
        except Exception as e:
            self.t.error = error_info(e, "backward")
            return
        missing = [v for v in norms if isinstance(v, NormUnavailable)]
        if missing:  # an exotic gradient layout: keep the trace, say what is missing
            self.t.notes.append(f"parameter gradient norms unavailable: {missing[0]}"[:300])
        device = trainable[0][1].device if trainable else None
        vector = norm_vector(norms, device) if device is not None else None
        if vector is not None:
            infos = [i for i, _ in trainable]
            got = [v is not None and not isinstance(v, NormUnavailable) for v in norms]

            def fill(values, infos=infos, got=got):
                for info, v, present in zip(infos, values, got):
                    if present:
                        info.grad_norm = v
                        info.grad_nonfinite = 0 if math.isfinite(v) else 1
            self.batch.add_vector(vector, fill)
        self.t.meta["backward"] = True

    def _queue_checks(self, guard: ModelGuard):
        """Experiments whose numbers can travel with the stats' one transfer (before finish())."""
        t = self.t
        if self.want_backward and t.error is None and not self.on_meta and self.recorder.dropped:
            # input gradients through thousands of per-step slices (RNN cells over long sequences)
            # cost time quadratic in the sequence length: skip rather than stall the trace
            t.checks["batch_mixing"] = {"skipped": f"more than {self.recorder.max_calls} module calls "
                                        "(raise max_calls to run this check)"}
        elif self.want_backward and t.error is None and not self.on_meta:
            try:
                batch, dim = self.batch_layout = batch_mixing.batch_layout(self.args, self.kwargs, self.target)
                static, reason = per_sample.per_sample_by_construction(self.model, t)
                if static and batch is not None and batch >= 2:
                    # nothing in the model can move data across the batch: the experiment would cost
                    # two forwards to confirm it
                    t.checks["batch_mixing"] = {"mixed": False, "method": "static", "reason": reason}
                else:
                    # no _fresh copies: the check feeds the model row-picked clones of the inputs
                    rows = t.outputs[0].shape[0] if t.outputs and t.outputs[0].shape else None
                    t.checks["batch_mixing"] = batch_mixing.queue(self.root, self.args, self.kwargs, batch,
                                                                  self.batch, dim, rows)
            except Exception as e:
                t.checks["batch_mixing"] = {"skipped": describe(e)[:300]}
            finally:
                guard.restore_modes()

    def _checks(self, guard: ModelGuard):
        """Checks that read the transferred numbers; their own experiments run only on a broken model
        (mixing found, a NaN born), so a healthy trace keeps its one transfer."""
        t = self.t
        mixing = t.checks.get("batch_mixing")
        if isinstance(mixing, dict):  # settle() leaves static, skipped and unmixed verdicts as they are
            try:
                batch_mixing.settle(mixing, self.root, self.args, self.kwargs, *self.batch_layout)
            except Exception as e:
                mixing.clear()
                mixing["skipped"] = describe(e)[:300]
            finally:
                guard.restore_modes()
        self._nonfinite_check(guard)
        self._backward_origin(guard)
        try:  # static: reads the source of the user's classes, runs nothing
            t.checks["functional_dropout"] = functional_dropout.run(self.model, t)
        except Exception as e:
            t.notes.append(f"functional-dropout check skipped: {describe(e)}"[:300])

    def _backward_origin(self, guard: ModelGuard):
        """A failed backward has no user line in its traceback: replay it under anomaly mode."""
        t = self.t
        if t.error is None or t.error.stage != "backward" or self.on_meta:
            return
        try:
            torch.set_rng_state(self.rng_before)
            found = backward_origin.run(
                self.root, map_tensors(self.args, _fresh), map_tensors(self.kwargs, _fresh),
                lambda out: compute_loss(self.spec, out, self.target), [p for _, p in self.named_params],
                self.index.names)
            t.checks["backward_origin"] = found
        except Exception as e:
            t.checks["backward_origin"] = {"found": False, "reason": describe(e)[:300]}
        finally:
            guard.restore_modes()

    def _exact_param_nonfinite(self):
        """NaN/Inf counts of every parameter, exactly (large ones were summarised from a sample)."""
        for info, p in self.named_params:
            st = info.stats
            if st is None or not st.sampled or p.device.type == "meta":
                continue
            with torch.no_grad():
                d = p.detach()
                st.nan, st.inf = int(torch.isnan(d).sum()), int(torch.isinf(d).sum())

    def _nonfinite_check(self, guard: ModelGuard):
        t = self.t
        if _nonfinite_born(t):
            self._exact_param_nonfinite()
            try:
                torch.set_rng_state(self.rng_before)
                loss_fn = None
                if self.target is not None and not self.spec.stand_in:
                    loss_fn = lambda out: compute_loss(self.spec, out, self.target)  # noqa: E731
                t.checks["nonfinite_origin"] = nonfinite_origin.run(
                    self.root, map_tensors(self.args, _fresh), map_tensors(self.kwargs, _fresh),
                    self.index.names, loss_fn)
            except Exception as e:
                t.checks["nonfinite_origin"] = {"found": False, "skipped": describe(e)[:300]}
            finally:
                guard.restore_modes()

    def _probe(self):
        t = self.t
        if self.steps <= 0:
            return
        if self.on_meta:
            t.checks["probe"] = {"skipped": "the model is on the meta device"}
            return
        if self.spec.stand_in:
            t.notes.append("probe steps skipped: they need a target (and a loss) to train towards")
            t.checks["probe"] = {"skipped": "no target"}
            return
        if t.error is not None:
            t.checks["probe"] = {"skipped": "the forward, loss or backward failed"}
            return
        try:
            t.steps, description = run_probe(self.root, self.args, self.kwargs, self.target, self.spec,
                                             self.optimizer, self.steps)
            t.checks["probe"] = {"optimizer": description, "steps": len(t.steps)}
        except ProbeError as e:
            t.checks["probe"] = {"skipped": str(e)}
            t.notes.append(f"probe steps skipped: {e}")
        except Exception as e:
            t.checks["probe"] = {"skipped": describe(e)[:300]}
            t.notes.append(f"probe steps stopped: {describe(e)}"[:300])

    def _diagnose(self):
        from .rules import diagnose

        try:
            self.t.findings = diagnose(self.t)
        except Exception as e:  # a rule bug must not cost the user the trace
            self.t.notes.append(f"nbdebug internal: rules failed: {describe(e)}")


def _zero_lr(group: dict) -> bool:
    """A parameter group whose learning rate is exactly 0 (a float or a tensor lr)."""
    try:
        return float(group.get("lr", 1.0)) == 0.0
    except (TypeError, ValueError, RuntimeError):
        return False


def _scripted_children(model: nn.Module) -> list:
    """Names of the outermost TorchScript submodules (hooks see their call, not their insides)."""
    found = []
    for name, m in model.named_modules():
        if isinstance(m, torch.jit.ScriptModule) and not any(name.startswith(f + ".") for f in found):
            found.append(name)
    return found


def _adopt_loss_call(info: LossInfo, call) -> None:
    """A custom loss that was exactly one torch loss function on the output and the target is that
    loss to the rules (loss_watch); its description says so."""
    if info is None or call is None:
        return
    info.name = call.kind
    info.own = True   # still the user's callable: it may read the model's other outputs in its own ways
    info.class_weighted = info.class_weighted or call.weighted
    if call.ignore_index is not None:
        info.ignore_index = call.ignore_index
    info.description += f" (it calls F.{call.function} on the model's output)"


def _setter(obj, attr):
    def fill(values):
        setattr(obj, attr, values[0])
    return fill


def _input_path(path: str) -> str:
    """'[0][0]' -> 'args[0]' ; "[1]['left']" -> 'left' (positional and keyword inputs)."""
    if path.startswith("[0]"):
        return "args" + path[3:]
    if path.startswith("[1]['") and "']" in path[5:]:
        key, tail = path[5:].split("']", 1)
        return key + tail
    return path


def _kind(obj) -> str:
    from .structure import kind

    return kind(obj)


def _nonfinite_born(t: Trace) -> bool:
    """Non-finite values appear in some call's output (or in the loss) while the inputs are finite."""
    if any(not s.finite for s in t.inputs):
        return False
    if any(not s.finite for c in t.calls for s in c.outputs):
        return True
    value = None if t.loss is None or t.loss.stand_in else t.loss.value
    return value is not None and not math.isfinite(value)


def _warning_texts(caught) -> list:
    out = []
    for w in caught or []:
        text = f"{w.category.__name__}: {w.message}"
        if text not in out:
            out.append(text[:400])
    return out[:20]


def trace(model, inputs, *, target=None, loss=None, optimizer=None, steps: int = 0,
          backward: bool = True, max_calls: int = MAX_CALLS, bins: int = HIST_BINS) -> Trace:
    """Run `model` once on `inputs`, record every module call, and diagnose what is wrong.

    model      an nn.Module (torch.compile'd and DataParallel models are unwrapped)
    inputs     a tensor, a tuple/list of positional arguments, or a dict of keyword arguments
    target     optional target for the loss
    loss       a callable loss(output, target), or a name: 'cross_entropy', 'mse', 'bce_with_logits',
               'nll', ... (default: inferred from the target; a stand-in when there is no target)
    optimizer  an optimizer instance (its class and hyperparameters are reused on a copy) or a
               factory params -> Optimizer; used by the probe steps
    steps      optimizer steps to probe on a deep copy of the model (0 = none)
    backward   False for a forward-only trace (no gradients)

    Returns a Trace. Never raises because the model is broken: the failure is in `trace.error` and
    explained in `trace.findings`. Raises only when nbdebug itself is called wrongly.
    """
    _validate(model, inputs, steps, max_calls)
    _validate_options(optimizer, backward)
    steps = int(steps)  # numpy integers are fine
    if not isinstance(bins, int) or not 2 <= bins <= 512:
        raise misuse(f"nbdebug.trace: bins must be an int between 2 and 512, not {bins!r}", ValueError)
    with torch.inference_mode(False):  # called inside `torch.inference_mode()`: still get gradients
        tracer = _Tracer(model, inputs, target, loss, optimizer, steps, bool(backward), max_calls, bins)
        return _without_gc(tracer.run)


def _without_gc(run):
    """Run with the cyclic GC paused. A trace makes thousands of small records, which set off full
    collections of the whole process mid-trace (a quarter of a 2,000-call trace); cycles made
    meanwhile are collected as usual once it is back on."""
    import gc

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return run()
    finally:
        if was_enabled:
            gc.enable()
