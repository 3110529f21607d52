"""NBD163 train-eval-mode: a BatchNorm layer trains on a batch of one sample that still has spatial (or
time) positions, so it does not raise: it silently normalises each channel over one sample's positions."""
import torch
import torch.nn as nn

from .base import Rule
from .batchnorm_single_value import per_channel
from .helpers import NORM_TYPES, module_expr, shape, training_intent
from .layout import label


def check(trace):
    if not training_intent(trace):
        return  # an inference run in training mode is NBD161's
    for call in trace.calls:
        s = call.inputs[0] if call.inputs else None
        if call.type not in NORM_TYPES or not call.training or call.status != "ok" or s is None:
            continue
        if len(s.shape) < 3 or s.shape[0] != 1 or per_channel(s) < 2:
            continue  # one value per channel raises instead (NBD160)
        message = (f"{label(call)} trains on {shape(s)}: a batch of one sample, so each channel is normalised "
                   f"with the mean and variance of this one sample's {per_channel(s)} positions (instance "
                   f"normalisation), and its running statistics, used after `model.eval()`, average "
                   f"single-sample statistics that do not match what the layer saw in training.")
        fix = ("Train with batches of several samples (8 or more for BatchNorm); if only one fits, replace "
               f"`{call.name}` by `nn.GroupNorm(num_groups, {s.shape[1]})`, or keep it on its running "
               f"statistics with `{module_expr(call.name)}.eval()` after each `model.train()`.")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"layer": call.name, "shape": list(s.shape), "per_channel": per_channel(s)})
        return


def _cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 2))


def _bad_one_image_training():
    return dict(model=_cnn().train(), inputs=torch.randn(1, 3, 8, 8), target=torch.tensor([1]),
                loss=nn.CrossEntropyLoss())


def _good_batch_of_four():
    return dict(model=_cnn().train(), inputs=torch.randn(4, 3, 8, 8), target=torch.tensor([0, 1, 1, 0]),
                loss=nn.CrossEntropyLoss())


def _good_one_image_eval():
    return dict(model=_cnn().eval(), inputs=torch.randn(1, 3, 8, 8), target=torch.tensor([1]),
                loss=nn.CrossEntropyLoss())


RULE = Rule(
    code="NBD163",
    cause="train-eval-mode",
    severity="warning",
    title="BatchNorm trains on a batch of one sample (silently, over its positions)",
    explanation=(
        "BatchNorm in training mode normalises each channel with the statistics of the current batch. "
        "With one image (or one sequence) per batch it does not raise, because each channel still has "
        "many positions, but it then normalises each sample with its own statistics: it acts as "
        "instance normalisation in training and as batch normalisation with mismatched running "
        "statistics in evaluation, so validation results differ from training and training is noisy."
    ),
    fix="Use batches of several samples, or replace BatchNorm by GroupNorm/LayerNorm when the batch must "
        "be one sample.",
    check=check,
    bad=[_bad_one_image_training],
    good=[_good_batch_of_four, _good_one_image_eval],
    needs="forward",
    thresholds="Structural: a BatchNorm call in training mode, in a run with a loss and target or an "
               "optimizer, whose ≥ 3-D input has batch size 1 and at least 2 values per channel.",
)
