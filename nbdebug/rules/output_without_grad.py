"""NBD293 no-gradient: the loss does not depend on any trainable parameter: the model's output came
out of the autograd graph (forward under torch.no_grad, the output rebuilt from numpy or numbers)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import leaf_calls, training_intent


def check(trace):
    if not trace.checks.get("loss_without_grad") or trace.error is not None or not training_intent(trace):
        return  # with no target, a forward under no_grad is plain inference
    if not any(p.requires_grad for p in trace.params):
        return  # everything frozen: NBD291 says so
    owners = {p.module for p in trace.params if p.requires_grad}
    in_graph = [c for c in leaf_calls(trace) if c.name in owners and c.outputs and c.outputs[0].requires_grad]
    out = trace.outputs[0] if len(trace.outputs) == 1 else None
    if in_graph and out is not None and out.requires_grad and trace.loss is not None and not trace.loss.stand_in:
        # the model's output is in the graph: the user's loss function broke it
        message = ("The model's output is in the autograd graph, but the loss the loss function returns is "
                   "not: it was rebuilt outside the graph (`.item()`, `float(...)`, `torch.tensor(value)`, "
                   "`.detach()`, a numpy round trip), so `loss.backward()` raises 'element 0 of tensors does "
                   "not require grad' and nothing can train.")
        fix = ("Return the loss as the tensor torch computed (`return torch.sqrt(F.mse_loss(out, y))`); call "
               "`.item()` only to log the value, on a copy, after backward.")
        where, call = "loss", None
    elif in_graph:
        last = in_graph[-1]
        message = (f"The loss does not depend on any trainable parameter: `{last.name}` ({last.type}) still "
                   f"produced a tensor in the autograd graph, but the output was rebuilt from it outside the "
                   f"graph (`.detach()`, `.numpy()`, `.tolist()`, `.item()`, `torch.tensor(...)`).")
        fix = (f"Keep everything after `{last.name}` in torch ops on the tensor itself (no numpy/Python round "
               f"trip, no `torch.tensor(x)` re-wrapping, no `.detach()`).")
        where, call = last.name, last.index
    else:
        message = ("The loss does not depend on any trainable parameter: no layer's output requires grad, so "
                   "forward ran under `torch.no_grad()` / `torch.inference_mode()` (a decorator, a context "
                   "left in the training code, or `torch.set_grad_enabled(False)`).")
        fix = ("Remove `@torch.no_grad()` / `with torch.no_grad():` from forward and the training step (keep it "
               "for evaluation only), and check `torch.is_grad_enabled()` before the forward.")
        where, call = "", 0
    yield RULE.finding(where, message, fix, call=call, evidence={"layers_in_graph": [c.name for c in in_graph]})


def _bad_no_grad_decorator():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        @torch.no_grad()
        def forward(self, x):
            return self.fc(x)

    return dict(model=Net(), inputs=torch.randn(6, 4), target=torch.randint(0, 2, (6,)))


def _bad_output_rebuilt_from_numpy():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)

        def forward(self, x):
            return torch.tensor(self.fc(x).detach().numpy().clip(0, None))

    return dict(model=Net(), inputs=torch.randn(6, 4), target=torch.randn(6, 1))


def _good_plain():
    torch.manual_seed(0)
    return dict(model=nn.Linear(4, 1), inputs=torch.randn(6, 4), target=torch.randn(6, 1))


def _good_inference_without_target():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        @torch.no_grad()
        def forward(self, x):
            return self.fc(x)

    return dict(model=Net(), inputs=torch.randn(6, 4))


def _bad_loss_rebuilt_from_item():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))

    def rmse(out, y):
        return torch.tensor(torch.sqrt(nn.functional.mse_loss(out, y)).item())

    x = torch.randn(12, 5)
    return dict(model=m, inputs=x, target=x[:, :1], loss=rmse)


def _good_loss_logged_with_item():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))
    logged = []

    def rmse(out, y):
        value = torch.sqrt(nn.functional.mse_loss(out, y))
        logged.append(value.item())
        return value

    x = torch.randn(12, 5)
    return dict(model=m, inputs=x, target=x[:, :1], loss=rmse)


RULE = Rule(
    code="NBD293",
    cause="no-gradient",
    severity="error",
    title="The loss does not depend on any trainable parameter",
    explanation=(
        "`loss.backward()` needs a graph from the loss back to the parameters. When forward runs under "
        "`torch.no_grad()` (a decorator, a context meant for evaluation) or the output is rebuilt from "
        "numpy arrays or Python numbers, the output is a constant to autograd: backward fails with 'element "
        "0 of tensors does not require grad', or, with a loss that adds a trainable term, silently trains "
        "nothing of the model."
    ),
    fix="Run forward with gradients enabled and keep the output a torch tensor in the graph.",
    check=check,
    bad=[_bad_no_grad_decorator, _bad_output_rebuilt_from_numpy, _bad_loss_rebuilt_from_item],
    good=[_good_plain, _good_inference_without_target, _good_loss_logged_with_item],
    needs="loss",
    thresholds="No number: a real loss (with a target) whose value does not require grad while the model has "
               "trainable parameters.",
)
