"""NBD299 no-gradient: forward hands an activation to numpy (`h.numpy()`), which torch refuses on a
tensor that requires grad. The fix torch's message suggests, `.detach().numpy()`, makes the error go
away and silently cuts every layer before that point off the gradient."""
import numpy as np
import torch
import torch.nn as nn

from .base import Rule

MESSAGE = "Can't call numpy() on Tensor that requires grad"


def check(trace):
    e = trace.error
    if e is None or e.stage != "forward" or MESSAGE not in e.message:
        return
    line = next((f.code for f in reversed(e.frames) if "numpy" in (f.code or "")), "")
    seen = f" (`{line.strip()}`)" if line else ""
    where = e.where or ""
    at = f"`{where}`'s forward" if where else "The model's forward"
    message = (f"{at} converts an activation that requires grad to numpy{seen}, and torch refuses. "
               f"Following its hint, `.detach().numpy()`, would run, but the gradient would stop there: every "
               f"layer before it would get no gradient and never train.")
    fix = ("Do the operation in torch on the tensor itself: `torch.clamp(h, 0, 6)` for `np.clip`, `torch.where` "
           "for `np.where`, `torch.log1p`, ...; numpy belongs after training (or under `torch.no_grad()` for "
           "metrics).")
    yield RULE.finding(where, message, fix, call=e.call, evidence={"message": e.message[:200]})


class _NumpyClip(nn.Module):
    def __init__(self, torch_op: bool):
        super().__init__()
        self.enc, self.dec = nn.Linear(6, 8), nn.Linear(8, 1)
        self.torch_op = torch_op

    def forward(self, x):
        h = self.enc(x)
        h = torch.clamp(h, 0.0, 6.0) if self.torch_op else torch.from_numpy(np.clip(h.numpy(), 0.0, 6.0))
        return self.dec(h)


def _bad_numpy_clip_in_forward():
    torch.manual_seed(0)
    return dict(model=_NumpyClip(torch_op=False), inputs=torch.randn(8, 6), target=torch.randn(8, 1),
                loss=nn.MSELoss())


def _good_torch_clamp_in_forward():
    torch.manual_seed(0)
    return dict(model=_NumpyClip(torch_op=True), inputs=torch.randn(8, 6), target=torch.randn(8, 1),
                loss=nn.MSELoss())


RULE = Rule(
    code="NBD299",
    cause="no-gradient",
    severity="error",
    title="An activation sent through numpy in forward",
    explanation=(
        "numpy knows nothing of autograd, so torch refuses `.numpy()` on a tensor that requires grad. "
        "Its own hint, `.detach().numpy()`, removes the error and the gradient with it: the layers before "
        "that line keep their initial weights while the loss still falls through the layers after."
    ),
    fix="Replace the numpy call with the torch operation of the same name.",
    check=check,
    bad=[_bad_numpy_clip_in_forward],
    good=[_good_torch_clamp_in_forward],
    needs="forward",
    thresholds="No number: the forward raised torch's 'Can't call numpy() on Tensor that requires grad'.",
)
