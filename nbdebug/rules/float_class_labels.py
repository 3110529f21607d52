"""NBD421 wrong-target: class labels for CrossEntropy/NLL stored as floats (or int32) instead of int64."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .loss_signals import CLASS_LOSSES, is_integral, output, target, user_loss

INDEX_DTYPES = ("int64", "uint8")   # what cross_entropy/nll_loss accept as class indices


def check(trace):
    kind = user_loss(trace)
    if kind not in CLASS_LOSSES:
        return
    out, tgt = output(trace), target(trace)
    if out is None or tgt is None or len(out.shape) < 2 or not tgt.has_values:
        return
    index_shape = tuple(out.shape[:1]) + tuple(out.shape[2:])
    if tuple(tgt.shape) != index_shape or tgt.dtype in INDEX_DTYPES or tgt.dtype == "bool":
        return
    if is_integral(tgt):
        message = (f"The target {shape(tgt)} holds class labels {fmt(tgt.min)}..{fmt(tgt.max)} as {tgt.dtype}, "
                   f"but {kind} needs class indices as int64 (long)"
                   + (": the loss raised." if trace.error is not None and trace.error.stage == "loss" else "."))
        fix = "Convert the labels: `y.long()` (or build them with `dtype=torch.long` in the dataset)."
    else:
        message = (f"The target {shape(tgt)} holds continuous {tgt.dtype} values ({fmt(tgt.min)}..{fmt(tgt.max)}), "
                   f"but {kind} needs one int64 class index per sample.")
        fix = ("For a regression target use `nn.MSELoss()` (or L1/Huber); for soft labels pass a "
               f"float target of the output's shape {shape(out)} whose rows are probabilities; for labels "
               "stored as floats, round them and call `.long()`.")
    yield RULE.finding("target", message, fix, evidence={"dtype": tgt.dtype, "min": tgt.min, "max": tgt.max})


def _bad_float_labels():
    torch.manual_seed(13)
    m = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    return dict(model=m, inputs=torch.randn(12, 10), target=torch.randint(0, 4, (12,)).float(),
                loss=nn.CrossEntropyLoss())


def _bad_int32_labels_segmentation():
    torch.manual_seed(14)
    m = nn.Conv2d(3, 5, 1)
    return dict(model=m, inputs=torch.randn(2, 3, 6, 6), target=torch.randint(0, 5, (2, 6, 6), dtype=torch.int32),
                loss=nn.CrossEntropyLoss())


def _good_long_labels():
    torch.manual_seed(13)
    m = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    return dict(model=m, inputs=torch.randn(12, 10), target=torch.randint(0, 4, (12,)),
                loss=nn.CrossEntropyLoss())


def _good_soft_labels():
    torch.manual_seed(13)
    m = nn.Sequential(nn.Linear(10, 4))
    return dict(model=m, inputs=torch.randn(12, 10), target=torch.softmax(torch.randn(12, 4), 1),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD421",
    cause="wrong-target",
    severity="error",
    title="Class labels are not int64",
    explanation=(
        "CrossEntropyLoss and NLLLoss read a target with one entry per sample as class indices and "
        "require int64 (long): a float or int32 label tensor raises 'expected target dtype to be Long'. "
        "(A float target is accepted only with the output's full shape, as class probabilities.) Labels "
        "become floats when they go through numpy/pandas as float columns, or are built with torch.tensor "
        "on float data."
    ),
    fix="Convert the labels with y.long() (or build them as int64).",
    check=check,
    bad=[_bad_float_labels, _bad_int32_labels_segmentation],
    good=[_good_long_labels, _good_soft_labels],
    needs="loss",
    thresholds="Target with the output's shape minus the class dimension and a dtype other than int64/uint8: "
               "structural (PyTorch's own check), no tuned threshold.",
)
