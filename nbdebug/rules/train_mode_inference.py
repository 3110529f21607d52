"""NBD161 train-eval-mode: dropout or batch-norm layers run in training mode although the trace is an
inference run (no target, no loss, no optimizer, no steps): `model.eval()` was forgotten."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import DROPOUT_TYPES, NORM_TYPES


def inference_run(trace) -> bool:
    """Nothing in the call says training: no target, no loss of the user's, no optimizer, no steps."""
    user_loss = trace.loss is not None and not trace.loss.stand_in
    return (not trace.target and not user_loss and "optimizer" not in trace.checks
            and not trace.steps and not trace.meta.get("steps"))


def stochastic_calls(trace) -> list:
    """Calls of layers that behave differently in training mode and ran in it."""
    out, seen = [], set()
    for c in trace.calls:
        if not c.training or c.status != "ok" or c.name in seen:
            continue
        if (c.type in DROPOUT_TYPES and (c.attrs.get("p") or 0) > 0) or (
                c.type in NORM_TYPES and c.attrs.get("track_running_stats", True)):
            out.append(c)
            seen.add(c.name)
    return out


def _outermost_in_training(trace, active):
    """The outermost module call in training mode that holds the first active layer: the module that
    was added or replaced after `model.eval()`, or had `.train()` called on it."""
    first = active[0]
    found = first
    parent = first.parent
    while parent is not None and 0 <= parent < len(trace.calls) and trace.calls[parent].training:
        found = trace.calls[parent]
        parent = found.parent
    return found


def _mixed_modes(trace, active):
    """The model is in eval mode but some of its layers are not."""
    norm = [c for c in active if c.type in NORM_TYPES]
    top = _outermost_in_training(trace, active)
    names = ", ".join(f"`{c.name}`" for c in active[:4]) + (" …" if len(active) > 4 else "")
    message = (f"The model is in eval mode, but {len(active)} layer(s) inside it still run in training mode "
               f"({names}), under `{top.name}`: modules created or replaced after `model.eval()` (a new "
               f"head), or a `.train()` called on a part, start in training mode.")
    if norm:
        message += " Batch norm then normalises with this batch's statistics and overwrites its running averages."
    else:
        message += (" Only dropout is active: fine if this is deliberate Monte-Carlo dropout, otherwise the "
                    "prediction changes from run to run.")
    fix = ("Call `model.eval()` after the last change to the model (after replacing the head), right before "
           "inference.")
    yield RULE.finding(top.name, message, fix, call=top.index, severity=None if norm else "info",
                       evidence={"training_layers": [c.name for c in active], "outermost": top.name})


def _generator(trace) -> bool:
    """A latent vector in, an image out: a GAN generator or a decoder sampling from noise, which is
    trained without a target (its loss comes from a discriminator) and, in most GAN code, also sampled
    in training mode. A forward without a target says nothing about inference here."""
    floats = [s for s in trace.inputs if s.shape and s.has_values and not s.dtype.startswith(("int", "bool", "uint"))]
    if len(floats) != 1 or len(trace.outputs) != 1 or not trace.outputs[0].shape:
        return False  # one noise vector (a conditional generator adds integer labels)
    z, out = floats[0], trace.outputs[0]
    if z.shape[0] < 2:
        return False  # one sample: batch norm then normalises with that one sample's statistics
    latent = len(z.shape) == 2 or (len(z.shape) >= 3 and all(d == 1 for d in z.shape[2:]))
    per_z, per_out = z.numel // max(z.shape[0], 1), out.numel // max(out.shape[0], 1)
    # classifiers and regressors contract; generators expand, into an image when only a little
    return latent and (per_out >= 4 * per_z or (len(out.shape) >= 3 and per_out >= 2 * per_z))


def check(trace):
    if trace.error is not None or not inference_run(trace):
        return
    active = stochastic_calls(trace)
    if not active or _generator(trace):
        return
    if not trace.training:
        yield from _mixed_modes(trace, active)
        return
    drop = [c for c in active if c.type in DROPOUT_TYPES]
    norm = [c for c in active if c.type in NORM_TYPES]
    parts = []
    if drop:
        ps = sorted({c.attrs.get("p") for c in drop})
        parts.append(f"{len(drop)} dropout layer(s) (p={', '.join(str(p) for p in ps)}) zero random units, so "
                     f"the output changes from run to run")
    if norm:
        parts.append(f"{len(norm)} batch-norm layer(s) normalise with this batch's statistics instead of "
                     f"their running averages")
    message = (f"The model is in training mode for what looks like an inference run (no target, loss or "
               f"optimizer): {'; '.join(parts)}.")
    fix = ("Switch to evaluation mode for inference: `model.eval()` (and run under `torch.inference_mode()` "
           "or `torch.no_grad()`); call `model.train()` again before training. If this trace is a training "
           "check, pass the target and the loss so nbdebug knows.")
    first = active[0]
    yield RULE.finding(first.name, message, fix, call=first.index,
                       evidence={"dropout": [c.name for c in drop], "batchnorm": [c.name for c in norm]})


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


def _bad_predict_without_eval():
    return dict(model=_net().train(), inputs=torch.randn(4, 8))


def _bad_transformer_left_in_train_mode():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, batch_first=True)
    return dict(model=nn.TransformerEncoder(layer, 1, enable_nested_tensor=False).train(),
                inputs=torch.randn(2, 5, 16))


def _bad_head_replaced_after_eval():
    torch.manual_seed(0)
    m = _net().eval()
    m[4] = nn.Sequential(nn.Linear(16, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))   # new: train mode
    return dict(model=m, inputs=torch.randn(4, 8))


def _good_monte_carlo_dropout():
    # eval mode with only the dropout layers switched back on, on purpose: reported as info at most
    m = _net().eval()
    m[3].train()
    return dict(model=m, inputs=torch.randn(4, 8))


def _good_predict_in_eval():
    return dict(model=_net().eval(), inputs=torch.randn(4, 8))


def _good_training_step_with_target():
    return dict(model=_net().train(), inputs=torch.randn(4, 8), target=torch.randint(0, 3, (4,)),
                loss=nn.CrossEntropyLoss())


def _good_no_dropout_or_norm():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).train(),
                inputs=torch.randn(4, 8))


def _good_dcgan_generator_in_training_mode():
    torch.manual_seed(0)
    g = nn.Sequential(nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.Tanh())
    return dict(model=g, inputs=torch.randn(8, 16, 1, 1))


def _bad_single_sample_from_a_generator_in_training_mode():
    torch.manual_seed(0)
    g = nn.Sequential(nn.ConvTranspose2d(16, 32, 4, 1, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.Tanh())
    return dict(model=g, inputs=torch.randn(1, 16, 1, 1))


RULE = Rule(
    code="NBD161",
    cause="train-eval-mode",
    severity="warning",
    title="Dropout or BatchNorm in training mode during inference",
    explanation=(
        "Modules start in training mode, and only `model.eval()` switches them. In training mode dropout "
        "zeros a random fraction of units (the prediction changes on every call and is noisier), and "
        "batch-norm normalises with the statistics of the current batch (a prediction depends on the other "
        "samples in the batch, and a single sample may fail) while overwriting its running averages. "
        "Forgetting `model.eval()` before evaluation or prediction is one of the most common PyTorch bugs."
    ),
    fix="Call `model.eval()` before inference or evaluation, and `model.train()` before training.",
    check=check,
    bad=[_bad_predict_without_eval, _bad_transformer_left_in_train_mode, _bad_head_replaced_after_eval,
         _bad_single_sample_from_a_generator_in_training_mode],
    good=[_good_predict_in_eval, _good_dcgan_generator_in_training_mode, _good_training_step_with_target, _good_no_dropout_or_norm,
          _good_monte_carlo_dropout],
    needs="forward",
    thresholds="Structural: the model is in training mode, at least one Dropout (p > 0) or BatchNorm "
               "(tracking running stats) ran in training mode, and the call gives no target, no loss, no "
               "optimizer and no steps (an inference run). With a target or a loss it is a training step, "
               "which is healthy. A model in eval mode whose layers partly run in training mode (a head "
               "replaced after `model.eval()`): a warning when a batch norm is among them, info when only "
               "dropout is (Monte-Carlo dropout is done that way on purpose).",
)
