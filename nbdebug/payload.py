"""What the widget and the offline report receive: a compact summary, and one call's details on demand.

The summary is small on purpose (≤ 300 KB for 2,000 calls): one short row per call in a columnar
layout, repeated strings (types, shapes, dtypes) interned in a table, numbers rounded to 4 significant
digits, names stored relative to the parent call. The histograms and full statistics of a call are
not in it; `details(trace, index)` gives them when the user selects that call.

Non-finite numbers are encoded as the strings "NaN", "Inf", "-Inf" (strict JSON); null means "no value".
Every string here is data: the ES module inserts it with textContent, never as markup.
"""
from __future__ import annotations

import json
import math
from typing import Optional

from .text import io_cell
from .trace import Call, TensorStats, Trace

VERSION = 1
COLUMNS = ("depth", "parent", "name", "type", "io", "dtype", "device", "params", "mean", "std", "zero",
           "nonfin", "grad", "flags")
# flags bits
RAISED, RUNNING, UNREGISTERED = 1, 2, 4

MAX_FINDINGS = 300
MAX_TEXT = 1000          # characters kept of a message, fix or exception text
MAX_CHART_PARAMS = 300   # points in the gradient-norm-by-depth chart
MAX_DETAIL_TENSORS = 8   # tensors listed per role in a call's details


def num(x, digits: int = 4):
    """A float for JSON: 4 significant digits, 'NaN'/'Inf'/'-Inf' as strings, None stays None."""
    if x is None:
        return None
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    r = float(f"{x:.{digits}g}")
    return int(r) if r.is_integer() and abs(r) < 1e15 else r


def dumps(obj) -> str:
    """Compact strict JSON."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def _clip(text, limit: int = MAX_TEXT) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Strings:
    """Interned strings: each distinct value stored once, rows hold its index."""

    def __init__(self):
        self.values: list = []
        self._index: dict = {}

    def __call__(self, value: str) -> int:
        i = self._index.get(value)
        if i is None:
            i = self._index[value] = len(self.values)
            self.values.append(value)
        return i


def _first_stats(c: Call) -> Optional[TensorStats]:
    return c.outputs[0] if c.outputs else (c.inputs[0] if c.inputs else None)


def _grad(c: Call):
    g = next((g for g in c.grads if g is not None), None)
    if g is None or not g.has_values:
        return None
    return "NaN" if g.nonfinite else num(g.norm)


def _moments(s: Optional[TensorStats]):
    if s is None or not s.has_values:
        return None, None
    if s.nonfinite == s.numel:
        return "NaN", "NaN"
    return num(s.mean), num(s.std)


def _local_name(c: Call, names: list) -> str:
    """'.fc1' when the name is the parent's name plus '.fc1' (the ES module rebuilds the full name)."""
    if c.parent is not None and 0 <= c.parent < len(names):
        prefix = names[c.parent]
        if prefix and c.name.startswith(prefix + "."):
            return c.name[len(prefix):]
    return c.name


def _row(c: Call, names: list, strings: _Strings) -> list:
    out = c.output
    first = _first_stats(c)
    mean, std = _moments(out)
    flags = (RAISED if c.status == "raised" else 0) | (RUNNING if c.status == "running" else 0) \
        | (0 if c.registered else UNREGISTERED)
    has = out is not None and out.numel > 0
    return [c.depth, -1 if c.parent is None else c.parent, _local_name(c, names), strings(c.type),
            strings(io_cell(c)), strings(first.dtype if first else ""), strings(first.device if first else ""),
            c.params, mean, std, num(out.zero_frac, 3) if has and out.has_values else None,
            num(out.nonfinite / out.numel, 3) if has else None, _grad(c), flags]


def _finding_call(t: Trace, f) -> Optional[int]:
    if f.call is not None:
        return f.call
    if f.where and f.where not in ("input", "target", "loss", "optimizer"):
        c = t.call_of(f.where)
        return c.index if c is not None else None
    return None


def finding_calls(t: Trace) -> list:
    """The calls that carry a finding, in order (where "next finding" stops)."""
    return sorted({i for i in (_finding_call(t, f) for f in t.findings) if i is not None})


def _findings(t: Trace) -> tuple:
    items, explain = [], {}
    for f in t.findings[:MAX_FINDINGS]:
        items.append({"rule": f.rule, "cause": f.cause, "severity": f.severity, "where": f.where,
                      "title": _clip(f.title, 200), "message": _clip(f.message), "fix": _clip(f.fix),
                      "call": _finding_call(t, f), "consequence_of": f.consequence_of})
        if f.explanation and f.rule not in explain:
            explain[f.rule] = _clip(f.explanation, 2000)
    return items, explain


def _chart_params(t: Trace) -> list:
    """[name, grad norm] per trainable parameter, in model order (= depth), at most MAX_CHART_PARAMS."""
    ps = [p for p in t.params if p.requires_grad]
    if len(ps) > MAX_CHART_PARAMS:
        ps = [p for p in ps if len(p.shape) >= 2] or ps   # weights carry the depth profile
    if len(ps) > MAX_CHART_PARAMS:
        step = len(ps) / MAX_CHART_PARAMS
        ps = [ps[int(i * step)] for i in range(MAX_CHART_PARAMS)]
    return [[p.name, num(p.grad_norm, 3)] for p in ps]


def _origin(t: Trace) -> Optional[dict]:
    o = t.checks.get("nonfinite_origin") if isinstance(t.checks, dict) else None
    if not isinstance(o, dict) or not o.get("found"):
        return None
    return {k: _clip(o.get(k), 300) if isinstance(o.get(k), str) else o.get(k)
            for k in ("stage", "op", "module", "line", "path") if o.get(k) is not None}


def summary(t: Trace) -> dict:
    """The compact trace summary the widget keeps in its state and the report embeds."""
    strings = _Strings()
    names = [c.name for c in t.calls]
    rows = [_row(c, names, strings) for c in t.calls]
    findings, explain = _findings(t)
    err = None
    if t.error is not None:
        e = t.error
        err = {"type": _clip(e.type, 200), "message": _clip(e.message), "stage": e.stage, "call": e.call,
               "where": e.where}
    loss = None
    if t.loss is not None:
        loss = {"name": t.loss.name, "value": num(t.loss.value), "stand_in": t.loss.stand_in}
    repeats = {str(c.index): c.repeat for c in t.calls if c.repeat}
    return {
        "v": VERSION, "model": t.model, "device": t.device, "dtype": t.dtype, "training": t.training,
        "n": len(t.calls), "cols": list(COLUMNS), "s": strings.values, "calls": rows, "repeat": repeats,
        "findings": findings, "explain": explain, "error": err, "loss": loss,
        "params": _chart_params(t), "steps": [[num(s.loss), num(s.grad_norm)] for s in t.steps],
        "origin": _origin(t), "notes": [_clip(n, 500) for n in t.notes[:20]],
    }


def summary_json(t: Trace) -> str:
    return dumps(summary(t))


def _stats(s: Optional[TensorStats]) -> Optional[dict]:
    if s is None:
        return None
    d = {"path": s.path, "shape": list(s.shape), "dtype": s.dtype, "device": s.device, "numel": s.numel,
         "mean": num(s.mean), "std": num(s.std), "min": num(s.min), "max": num(s.max), "norm": num(s.norm),
         "zero": num(s.zero_frac, 3), "nan": s.nan, "inf": s.inf, "note": _clip(s.note, 300)}
    if s.hist and s.hist_edges and any(s.hist):
        # the bins are uniform: the two ends rebuild every edge
        d["hist"] = list(s.hist)
        d["lo"], d["hi"] = num(s.hist_edges[0], 6), num(s.hist_edges[-1], 6)
        d["sampled"] = s.hist_sampled
    if s.extra:
        d["extra"] = {str(k): (num(v) if isinstance(v, (int, float)) else v) for k, v in s.extra.items()
                      if isinstance(v, (int, float, str)) or v is None}
    return d


def _attr(v):
    if isinstance(v, (list, tuple)):
        return [_attr(x) for x in v[:16]]
    if isinstance(v, (bool, int, float)) or v is None:
        return num(v) if isinstance(v, float) else v
    return _clip(v, 200)


def details(t: Trace, index: int) -> Optional[dict]:
    """One call's full statistics and histograms, for the detail pane (fetched when selected)."""
    if not isinstance(index, int) or not 0 <= index < len(t.calls):
        return None
    c = t.calls[index]
    cut = MAX_DETAIL_TENSORS
    own = [p for p in t.params if p.module == c.name]
    return {
        "index": c.index, "name": c.name, "type": c.type, "status": c.status, "training": c.training,
        "registered": c.registered, "output_kind": c.output_kind, "input_kinds": list(c.input_kinds[:cut]),
        "params": c.params, "repeat": c.repeat,
        "attrs": {str(k): _attr(v) for k, v in list(c.attrs.items())[:24]},
        "inputs": [_stats(s) for s in c.inputs[:cut]], "more_inputs": max(0, len(c.inputs) - cut),
        "outputs": [_stats(s) for s in c.outputs[:cut]], "more_outputs": max(0, len(c.outputs) - cut),
        "grads": [_stats(s) for s in c.grads[:cut]],
        "own_params": [{"name": p.name, "shape": list(p.shape), "requires_grad": p.requires_grad,
                        "grad_norm": num(p.grad_norm), "norm": num(p.stats.norm) if p.stats else None}
                       for p in own[:32]],
    }


def static_roots() -> list:
    """Where the ES module and CSS live: nbdebug/static/ in a wheel, the repository's js/ in a checkout."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    return [here / "static", here.parent / "js"]


def static_text(name: str, roots=None) -> str:
    """The text of the widget's ES module or CSS, from the first root that has it."""
    for root in roots if roots is not None else static_roots():
        candidate = root / name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"nbdebug: {name} is missing from nbdebug/static/ and js/: reinstall nbdebug")
