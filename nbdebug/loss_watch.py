"""See which of torch's loss functions a user's own loss calls, and on what.

`loss=lambda out, y: F.cross_entropy(out, y)` is cross-entropy for every purpose, but to the rules it
was a custom callable, so a softmax head under it (double-softmax) or 1-based labels went unseen. While
a custom loss runs, `torch.nn.functional`'s loss functions are wrapped (entry_points.Wrapped) and each
call is noted: which function, whether it got the model's output and the user's target themselves (the
same objects, not a view or a transformed copy), and the class weighting and ignore_index it was given.
The trace then treats the loss as that function when it made exactly one such call
(`single_call`): a loss that mixes terms, or reshapes the output first, stays custom. `LossInfo.own`
keeps saying that it is the user's callable, which may read the model's other outputs too.
"""
from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from typing import Optional

import torch.nn.functional as F

from .entry_points import Wrapped

MAX_RECORDS = 16
# torch.nn.functional's loss functions and the loss class each one is
_KINDS = {"cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
          "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "mse_loss": "MSELoss", "l1_loss": "L1Loss",
          "smooth_l1_loss": "SmoothL1Loss", "huber_loss": "HuberLoss", "kl_div": "KLDivLoss",
          # pair losses, whose target is a sign (+1 / -1): noted for the target rules, never adopted
          # (their input is two tensors, not the output)
          "margin_ranking_loss": "MarginRankingLoss", "cosine_embedding_loss": "CosineEmbeddingLoss",
          "hinge_embedding_loss": "HingeEmbeddingLoss"}
_FUNCTIONS = tuple(_KINDS)


@dataclass
class LossCall:
    function: str            # "cross_entropy"
    kind: str                # its loss class: "CrossEntropyLoss"
    on_output: bool          # its input is the model's output tensor itself
    on_target: bool          # its target is the user's target tensor itself
    weighted: bool           # weight= or pos_weight= given
    ignore_index: Optional[int]


class LossWatch:
    def __init__(self, output, target):
        self.output, self.target = output, target
        self.calls: list = []
        self._thread = threading.get_ident()

    def seen(self, function: str, signature, args, kwargs) -> None:
        if threading.get_ident() != self._thread or len(self.calls) >= MAX_RECORDS:
            return
        try:
            bound = signature.bind(*args, **kwargs).arguments
            ignore = bound.get("ignore_index")
            self.calls.append(LossCall(
                function=function, kind=_KINDS[function],
                on_output=self.output is not None and bound.get("input") is self.output,
                on_target=self.target is not None and bound.get("target") is self.target,
                weighted=bound.get("weight") is not None or bound.get("pos_weight") is not None,
                ignore_index=ignore if isinstance(ignore, int) and not isinstance(ignore, bool) else None))
        except Exception:
            return  # a note for the rules: never worth breaking the user's loss (a bad call raises itself)

    def single_call(self) -> Optional[LossCall]:
        """The one loss function called, when the loss was exactly that call on the output and target."""
        if len(self.calls) != 1:
            return None
        call = self.calls[0]
        return call if call.on_output and call.on_target else None


def _wrapped(original, function: str, watches: list):
    signature = inspect.signature(original)

    def loss_function(*args, **kwargs):
        for watch in tuple(watches):
            watch.seen(function, signature, args, kwargs)
        return original(*args, **kwargs)
    return loss_function


_ENTRY_POINTS = Wrapped([(F, name, name) for name in _FUNCTIONS], _wrapped)


def watching(output, target):
    """Note the loss-function calls of this thread while the block runs; yields the LossWatch.
    `output` and `target` are the tensors the calls are compared with (None: no comparison)."""
    return _ENTRY_POINTS.active(LossWatch(output, target))
