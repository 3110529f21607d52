"""Note every softmax and log-softmax that forward computes, with its input's shape and the dim it
normalises, and the module call it ran in.

Module hooks see `nn.Softmax` but not `F.softmax(scores, dim=1)` inside a hand-written attention,
where the wrong axis is a classic bug. A TorchFunctionMode would see it, at the price of a Python
call on every op of the forward; instead the four entry points are wrapped for the duration of the
forward only, and restored in a `finally` (`F.softmax` calls `Tensor.softmax`):
`torch.Tensor.softmax`, `torch.Tensor.log_softmax`, `torch.softmax`, `torch.log_softmax`.
Other threads, and calls after the recorder stopped, pass straight through.
"""
from __future__ import annotations

import threading

import torch

from .entry_points import Wrapped

MAX_RECORDS = 256
# ops a score tensor passes through between its matmul and the softmax (scale, mask, bias, reshape)
_ON_THE_WAY = {"DivBackward0", "MulBackward0", "AddBackward0", "SubBackward0", "MaskedFillBackward0",
               "ViewBackward0", "UnsafeViewBackward0", "ReshapeAliasBackward0", "PermuteBackward0",
               "TransposeBackward0", "CloneBackward0", "WhereBackward0", "ToCopyBackward0"}
_PRODUCTS = {"BmmBackward0", "MmBackward0", "BaddbmmBackward0", "AddmmBackward0"}


def from_product(x: torch.Tensor) -> bool:
    """Whether x came out of a matrix product (q @ k^T, einsum) through at most a scale, a mask, a bias
    and reshapes: what marks attention scores apart from, say, (N, C, H, W) logits of a conv."""
    fn = x.grad_fn
    for _ in range(8):
        if fn is None:
            return False
        name = type(fn).__name__
        if name in _PRODUCTS:
            return True
        if name not in _ON_THE_WAY:
            return False
        fn = next((n for n, _ in fn.next_functions if n is not None), None)
    return False

_TARGETS = ((torch.Tensor, "softmax", False), (torch.Tensor, "log_softmax", True),
            (torch, "softmax", False), (torch, "log_softmax", True))


def _normalised_dim(x, args, kwargs):
    """The dim a softmax call normalises over, in 0..x.dim()-1; None when it cannot be read."""
    dim = args[0] if args else kwargs.get("dim")
    if not isinstance(x, torch.Tensor) or not isinstance(dim, int) or x.is_nested:
        return None
    ndim = x.dim()
    return dim % ndim if ndim and -ndim <= dim < ndim else None


class SoftmaxWatch:
    def __init__(self, recorder):
        self.recorder = recorder
        self.records: list = []   # {"call", "shape", "dim", "log"}: plain data for trace.checks
        self._thread = threading.get_ident()

    def seen(self, x, args, kwargs, log: bool) -> None:
        rec = self.recorder
        if not rec.active or threading.get_ident() != self._thread or len(self.records) >= MAX_RECORDS:
            return
        try:
            dim = _normalised_dim(x, args, kwargs)
            if dim is None:
                return
            call = rec.current_call()
            self.records.append({"call": call.index if call is not None else None, "shape": list(x.shape),
                                 "dim": dim, "log": log, "from_product": from_product(x)})
        except Exception:  # a note for a rule: never worth breaking the user's forward
            return


class OutputSoftmaxWatch:
    """While the user's own loss runs: the (log-)softmax calls made on the model's output tensor itself
    (`F.log_softmax(out, -1)` in a policy-gradient or hand-written loss). A model that already returns
    probabilities gets a second softmax there."""

    def __init__(self, output):
        self.output = output
        self.records: list = []   # {"dim", "log"}
        self._thread = threading.get_ident()

    def seen(self, x, args, kwargs, log: bool) -> None:
        if x is not self.output or threading.get_ident() != self._thread or len(self.records) >= 8:
            return
        try:
            dim = _normalised_dim(x, args, kwargs)
            if dim is not None:
                self.records.append({"dim": dim, "log": log})
        except Exception:
            return


def _wrapped(original, log: bool, watches: list):
    def softmax(x, *args, **kwargs):
        out = original(x, *args, **kwargs)
        for watch in tuple(watches):
            watch.seen(x, args, kwargs, log)
        return out
    return softmax


_ENTRY_POINTS = Wrapped(_TARGETS, _wrapped)


def watching(recorder):
    """Note the softmax calls of `recorder`'s thread while the block runs; yields the SoftmaxWatch."""
    return _ENTRY_POINTS.active(SoftmaxWatch(recorder))


def watching_output(output):
    """Note the softmax calls on `output` itself while the block (the user's loss) runs."""
    return _ENTRY_POINTS.active(OutputSoftmaxWatch(output))
