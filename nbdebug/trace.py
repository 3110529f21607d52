"""The Trace: plain data (floats, ints, strings, lists, dicts), no tensors inside.

Everything downstream of capture reads these classes: the rules, the text and HTML views, the widget
and the report. `Trace.to_dict()` is JSON-serialisable and is what the widget and the report receive.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass
class TensorStats:
    """Statistics of one tensor. Moments, min and max are over the finite values only."""

    shape: tuple = ()
    dtype: str = ""
    device: str = ""
    numel: int = 0
    path: str = ""              # where in the nested input/output structure, e.g. "[0]" or "['logits']"
    requires_grad: bool = False
    mean: float = math.nan
    std: float = math.nan       # unbiased (correction=1), as torch.std
    min: float = math.nan
    max: float = math.nan
    absmax: float = math.nan
    norm: float = math.nan      # L2 norm over the finite values
    zero_frac: float = math.nan
    nan: int = 0
    inf: int = 0                # +Inf and -Inf together
    hist: list = field(default_factory=list)        # counts of finite values per bin
    hist_sampled: int = 0       # 0: histogram over all values; n: over an even sample of n (blocks of consecutive values)
    sampled: int = 0            # 0: every number exact; n: from an even sample of n values
                                # (large CPU parameters only; NaN/Inf are re-counted exactly whenever the
                                # forward produced non-finite values)
    extra: dict = field(default_factory=dict)       # role-specific signals (see stats.EXTRAS)
    ref: int = -1               # identity of the tensor object within the trace (same tensor, same ref)
    note: str = ""              # why numbers are missing (meta tensor, sparse, ...)

    @property
    def hist_edges(self) -> list:
        """The len(hist) + 1 bin edges: the bins are equal over [min, max], so the edges are derived
        rather than stored (33 floats per tensor were a third of a large trace's memory)."""
        return _edges(self.min, self.max, len(self.hist))

    @property
    def finite(self) -> bool:
        return self.nan == 0 and self.inf == 0

    @property
    def nonfinite(self) -> int:
        return self.nan + self.inf

    @property
    def is_float(self) -> bool:
        return self.dtype.startswith(("float", "bfloat", "complex"))

    @property
    def has_values(self) -> bool:
        return not self.note and self.numel > 0

    def shape_str(self) -> str:
        return "×".join(str(d) for d in self.shape) if self.shape else "scalar"


@dataclass
class Call:
    """One module call. A module called twice gives two calls."""

    index: int
    name: str                   # qualified name as model.named_modules() spells it ("" = root)
    type: str                   # class name, e.g. "Conv2d"
    depth: int = 0
    parent: Optional[int] = None
    inputs: list = field(default_factory=list)     # list[TensorStats], flattened in order
    outputs: list = field(default_factory=list)    # list[TensorStats]
    grads: list = field(default_factory=list)      # list[TensorStats | None], per output
    output_kind: str = ""       # "Tensor", "tuple", "dict", "None", "int", ...
    input_kinds: list = field(default_factory=list)  # kind of each positional argument
    params: int = 0             # parameters of this module, its children included
    attrs: dict = field(default_factory=dict)      # simple config attributes: in_features, dim, p, ...
    training: bool = False
    registered: bool = True     # False: a module reached in forward but absent from named_modules()
    status: str = "ok"          # "ok" | "raised" | "running" (still open when the trace stopped)
    repeat: int = 0             # >0: this call stands for `repeat` further identical-module calls folded in

    @property
    def output(self) -> Optional[TensorStats]:
        return self.outputs[0] if self.outputs else None


@dataclass
class ParamInfo:
    name: str                   # as model.named_parameters() spells it
    module: str                 # owning module's qualified name
    shape: tuple = ()
    dtype: str = ""
    device: str = ""
    requires_grad: bool = True
    stats: Optional[TensorStats] = None
    grad_norm: Optional[float] = None   # None: no gradient reached it (or no backward ran)
    grad_nonfinite: int = 0
    in_optimizer: Optional[bool] = None  # None: no optimizer given
    fan_in: int = 0


@dataclass
class Frame:
    file: str
    line: int
    function: str
    code: str = ""


@dataclass
class ErrorInfo:
    """The exception the model, the loss or the backward raised (plain data, frames are the user's)."""

    type: str
    message: str
    stage: str                  # "forward" | "loss" | "backward" | "probe"
    call: Optional[int] = None  # index of the innermost module call that raised
    where: str = ""             # that call's module name
    frames: list = field(default_factory=list)     # list[Frame], the user's own frames, innermost last

    def __str__(self) -> str:
        at = f" in {self.where!r}" if self.where else ""
        return f"{self.type}{at} during {self.stage}: {self.message}"


@dataclass
class LossInfo:
    name: str                   # "CrossEntropyLoss", "cross_entropy", "stand-in", ...
    stand_in: bool = False
    value: Optional[float] = None   # None: not computed
    description: str = ""
    output: Optional[TensorStats] = None   # the model output as the loss saw it
    target: Optional[TensorStats] = None
    class_weighted: bool = False    # the loss weights classes itself (weight= or pos_weight= given)
    ignore_index: Optional[int] = None   # the label a class loss skips, when it says (torch's default: -100)
    own: bool = False               # the user's own callable, named after the torch loss it calls (loss_watch)
    log_input: Optional[bool] = None    # PoissonNLLLoss: whether it reads its input as a log-rate


@dataclass
class ProbeStep:
    step: int
    loss: float = math.nan
    grad_norm: float = math.nan
    update_ratio: dict = field(default_factory=dict)   # param name -> ||Δp|| / ||p||


@dataclass
class Finding:
    rule: str                   # "NBD101"
    cause: str                  # a name from causes.md
    severity: str               # "error" | "warning" | "info"
    where: str                  # module name, or "input" / "target" / "loss" / "optimizer"
    title: str = ""
    message: str = ""
    fix: str = ""
    explanation: str = ""
    call: Optional[int] = None  # the call this finding belongs to, for the views
    evidence: dict = field(default_factory=dict)
    consequence_of: str = ""    # the rule code of the root cause this finding follows from

    def __str__(self) -> str:
        at = self.where if self.where else "<root>"
        return f"[{self.severity}] {self.rule} {self.cause} at {at}: {self.message}"


@dataclass
class Trace:
    model: str = ""             # class name of the model
    device: str = ""
    dtype: str = ""
    training: bool = False
    calls: list = field(default_factory=list)      # list[Call], in execution order (pre-order)
    params: list = field(default_factory=list)     # list[ParamInfo]
    inputs: list = field(default_factory=list)     # list[TensorStats], the model's inputs
    outputs: list = field(default_factory=list)    # list[TensorStats], the model's output
    output_kind: str = ""
    target: list = field(default_factory=list)     # list[TensorStats]
    loss: Optional[LossInfo] = None
    error: Optional[ErrorInfo] = None
    steps: list = field(default_factory=list)      # list[ProbeStep]
    checks: dict = field(default_factory=dict)     # results of targeted experiments (batch mixing, ...)
    findings: list = field(default_factory=list)   # list[Finding], most likely root cause first
    notes: list = field(default_factory=list)      # what nbdebug did that the user should know
    meta: dict = field(default_factory=dict)       # versions, timings, options

    # ------------------------------------------------------------------ lookups
    def call_of(self, name: str) -> Optional[Call]:
        """The first call of the module with this qualified name."""
        for c in self.calls:
            if c.name == name:
                return c
        return None

    def param(self, name: str) -> Optional[ParamInfo]:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def ok(self) -> bool:
        return self.error is None

    def top(self) -> Optional[Finding]:
        return self.findings[0] if self.findings else None

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self, dict_factory=_with_edges))

    def to_json(self, **kwargs) -> str:
        import json

        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_dict(cls, d: dict) -> "Trace":
        from .serialize import trace_from_dict

        return trace_from_dict(d)

    # ------------------------------------------------------------------ views
    def __repr__(self) -> str:
        from .text import render_text

        return render_text(self)

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str:
        from .html import render_html

        return render_html(self)

    def to_html(self, path=None) -> str:
        """Write the self-contained offline report; return its HTML (and write it when `path` is given)."""
        from .report import write_report

        return write_report(self, path)

    def figure(self, kind: str = "gradients", **kwargs):
        from .plots import figure

        return figure(self, kind, **kwargs)

    def plot(self, kind: str = "gradients", **kwargs):
        from .plots import plot

        return plot(self, kind, **kwargs)


def _edges(lo: float, hi: float, bins: int) -> list:
    """bins + 1 equal-width edges over [lo, hi]; none without a finite range or bins."""
    if not bins or not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    width = (hi - lo) / bins
    return [lo + width * i for i in range(bins)] + [hi]


_STATS_FIELDS = frozenset(f.name for f in dataclasses.fields(TensorStats))


def _with_edges(pairs: list) -> dict:
    """asdict's dict factory: a TensorStats dict also carries its (derived) `hist_edges`."""
    d = dict(pairs)
    if d.keys() == _STATS_FIELDS:
        d["hist_edges"] = _edges(d["min"], d["max"], len(d["hist"]))
    return d


def _jsonable(x: Any) -> Any:
    """NaN/Inf become None, tuples become lists: strict JSON."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
