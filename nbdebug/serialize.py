"""Rebuild a Trace from `Trace.to_dict()` output (JSON), e.g. to reload a saved trace."""
from __future__ import annotations

import math

from .trace import (Call, ErrorInfo, Finding, Frame, LossInfo, ParamInfo, ProbeStep, TensorStats,
                    Trace)

_FLOATS = {"mean", "std", "min", "max", "absmax", "norm", "zero_frac", "value", "loss", "grad_norm"}


def _nan(d: dict) -> dict:
    """JSON null back to NaN for float fields that default to NaN."""
    return {k: (math.nan if v is None and k in _FLOATS and k not in ("value", "grad_norm") else v)
            for k, v in d.items()}


def stats(d):
    if d is None:
        return None
    d = _nan(dict(d))
    d.pop("hist_edges", None)  # derived from min, max and the bin count
    d["shape"] = tuple(d.get("shape") or ())
    return TensorStats(**d)


def trace_from_dict(d: dict) -> Trace:
    d = dict(d)
    calls = []
    for c in d.get("calls", []):
        c = dict(c)
        c["inputs"] = [stats(s) for s in c.get("inputs", [])]
        c["outputs"] = [stats(s) for s in c.get("outputs", [])]
        c["grads"] = [stats(s) for s in c.get("grads", [])]
        calls.append(Call(**c))
    params = []
    for p in d.get("params", []):
        p = dict(p)
        p["shape"] = tuple(p.get("shape") or ())
        p["stats"] = stats(p.get("stats"))
        params.append(ParamInfo(**p))
    loss = d.get("loss")
    if loss is not None:
        loss = dict(loss)
        loss["output"], loss["target"] = stats(loss.get("output")), stats(loss.get("target"))
        loss = LossInfo(**loss)
    error = d.get("error")
    if error is not None:
        error = dict(error)
        error["frames"] = [Frame(**f) for f in error.get("frames", [])]
        error = ErrorInfo(**error)
    steps = [ProbeStep(**_nan(s)) for s in d.get("steps", [])]
    return Trace(model=d.get("model", ""), device=d.get("device", ""), dtype=d.get("dtype", ""),
                 training=d.get("training", False), calls=calls, params=params,
                 inputs=[stats(s) for s in d.get("inputs", [])], outputs=[stats(s) for s in d.get("outputs", [])],
                 output_kind=d.get("output_kind", ""), target=[stats(s) for s in d.get("target", [])],
                 loss=loss, error=error, steps=steps, checks=d.get("checks", {}),
                 findings=[Finding(**f) for f in d.get("findings", [])], notes=d.get("notes", []),
                 meta=d.get("meta", {}))
