"""NBD290 no-gradient: a module ran in forward but its trainable parameters got no gradient, because
its output left the autograd graph before the loss (`.detach()`, `.data`, a numpy round trip,
`torch.no_grad()` inside forward, or a result that is never used); or, when no parameter got one at
all, because the user's loss function left the graph (`.item()`, `torch.tensor(...)` re-wrapping)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import backward_ran, first_calls, loss_kind, model_output, module_expr, shape


def group_by_ancestor(names: set, all_params, include) -> list:
    """The largest modules (never the root) all of whose trainable parameters are in `names`' modules.

    `include(p)` says whether a trainable parameter counts as affected."""
    affected = {p.module for p in all_params if p.requires_grad and include(p)}
    healthy = {p.module for p in all_params if p.requires_grad and not include(p)}
    tops = []
    for name in sorted(names, key=lambda n: n.count(".")):
        if any(name == t or name.startswith(t + ".") for t in tops):
            continue
        parts = name.split(".")
        best = name
        for cut in range(1, len(parts)):
            anc = ".".join(parts[:cut])
            inside = [m for m in affected | healthy if m == anc or m.startswith(anc + ".")]
            if inside and all(m in affected for m in inside):
                best = anc
                break
        tops.append(best)
    return tops



def _cut_in_the_loss(trace):
    """One finding at the loss when no parameter got a gradient although the model's output is in the
    graph: the user's loss function left it (`.item()`, `torch.tensor(...)`, `.detach()`, numpy)."""
    out = model_output(trace)
    trainable = [p for p in trace.params if p.requires_grad]
    kind = loss_kind(trace)
    torch_loss = kind in ("", "stand-in") or isinstance(getattr(nn, kind, None), type)
    # torch's own losses cannot leave the graph; a user's function can
    if (out is None or not out.requires_grad or torch_loss or not trainable
            or any(p.grad_norm is not None for p in trainable)):
        return None
    message = (f"None of the model's {len(trainable)} trainable parameter tensors got a gradient, although "
               f"the output {shape(out)} is in the autograd graph: the loss function does not use it through "
               f"torch ops, so its value requires grad but leads back to none of the weights.")
    fix = ("Compute the loss from the output with torch ops only: no `.item()`, `.detach()`, `.numpy()` or "
           "`torch.tensor(...)` re-wrapping (a `torch.tensor(value, requires_grad=True)` is a new leaf, not "
           "the model's loss).")
    return RULE.finding("loss", message, fix, evidence={"trainable": len(trainable)})


def check(trace):
    if not backward_ran(trace) or trace.checks.get("loss_without_grad"):
        return
    calls = first_calls(trace)
    dropped = set((trace.checks.get("calls_not_recorded") or {}).keys())

    def cut(p):
        return p.grad_norm is None and (p.module in calls or p.module in dropped)

    names = {p.module for p in trace.params if p.requires_grad and cut(p)}
    if not names:
        return
    loss_cut = _cut_in_the_loss(trace)
    if loss_cut is not None:
        yield loss_cut
        return
    got_grad = [calls[p.module].index for p in trace.params
                if p.requires_grad and p.grad_norm is not None and p.module in calls]
    first_trained = min(got_grad) if got_grad else None
    # a torch loss sees only the first output; the user's own loss may read every output
    own = trace.loss is not None and trace.loss.own
    multi_output = len(trace.outputs) > 1 and loss_kind(trace) not in ("custom", "stand-in") and not own
    for top in group_by_ancestor(names, trace.params, cut):
        inner = sorted((n for n in names if n == top or n.startswith(top + ".")),
                       key=lambda n: calls[n].index if n in calls else 0)
        call = calls.get(top) or calls.get(inner[0])
        members = [p for p in trace.params if p.requires_grad and p.module in inner]
        under_no_grad = all(calls[n].outputs and not calls[n].outputs[0].requires_grad
                            for n in inner if n in calls)
        how = ("it ran under `torch.no_grad()` (its output does not require grad)" if under_no_grad else
               "its output is cut from the autograd graph before the loss (a `.detach()`, `.data`, "
               "`.numpy()`/`.item()` round trip, or a result that is never used)")
        message = (f"`{top}` ({call.type if call else 'module'}) ran in forward, but none of its "
                   f"{len(members)} trainable parameter tensor(s) got a gradient: {how}.")
        severity = None
        if multi_output:
            severity = "info"
            message += " The loss only sees the first of the model's outputs; if this module feeds another " \
                       "output, that is why."
        elif under_no_grad and first_trained is not None and call is not None and call.index < first_trained:
            severity = "warning"
            message += " If it is a frozen feature extractor, say so with `requires_grad_(False)`."
        expr = module_expr(top)
        if under_no_grad:
            fix = (f"Run `{top}` with gradients (remove the `torch.no_grad()` around it), or freeze it "
                   f"explicitly with `{expr}.requires_grad_(False)` if it should not train.")
        else:
            fix = (f"Keep `{top}`'s output a torch tensor in the graph: no `.detach()`, `.data`, "
                   f"`.numpy()`/`torch.tensor(...)` round trip or `.item()` between it and the loss (use torch "
                   f"ops instead of numpy), or freeze it with `{expr}.requires_grad_(False)` if intended.")
        yield RULE.finding(top, message, fix, call=call.index if call else None, severity=severity,
                           evidence={"modules": inner, "params": [p.name for p in members],
                                     "under_no_grad": under_no_grad})


def _bad_detach_middle():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16))
            self.head = nn.Linear(16, 2)

        def forward(self, x):
            return self.head(torch.relu(self.stem(x)).detach())

    return dict(model=Net(), inputs=torch.randn(6, 5), target=torch.randint(0, 2, (6,)))


def _bad_detached_then_marked_trainable():
    # `.clone().detach().requires_grad_()` "to read h.grad": the head trains, the encoder never does
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(10, 32), nn.ReLU())
            self.head = nn.Linear(32, 2)

        def forward(self, x):
            return self.head(self.enc(x).clone().detach().requires_grad_(True))

    return dict(model=Net(), inputs=torch.randn(8, 10), target=torch.randint(0, 2, (8,)))


def _bad_loss_rewrapped_as_new_tensor():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
    loss = lambda o, t: torch.tensor(F.mse_loss(o, t).item(), requires_grad=True)  # noqa: E731
    return dict(model=m, inputs=torch.randn(8, 6), target=torch.randn(8, 1), loss=loss)


def _bad_data_attribute_in_head():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Conv1d(2, 4, 3)
            self.proj = nn.Linear(4, 4)
            self.out = nn.Linear(4, 1)

        def forward(self, x):
            h = self.enc(x).mean(-1)
            return self.out(torch.tanh(h + self.proj(h).data))   # .data drops proj from the graph

    return dict(model=Net(), inputs=torch.randn(3, 2, 9), target=torch.randn(3, 1))


def _good_everything_in_graph():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(4, 5), target=torch.randn(4, 1))


def _good_frozen_by_requires_grad():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    m[0].requires_grad_(False)
    return dict(model=m, inputs=torch.randn(4, 5), target=torch.randn(4, 1))


RULE = Rule(
    code="NBD290",
    cause="no-gradient",
    severity="error",
    title="A layer's output is cut from the graph: its parameters get no gradient",
    explanation=(
        "Gradients reach a parameter only through torch operations recorded in the autograd graph. A "
        "`.detach()`, `.data`, a trip through numpy or Python numbers, a result computed under "
        "`torch.no_grad()`, or an output that never reaches the loss cuts the layers before it off: "
        "their gradient is None and they stay at their initial values while the rest trains, often "
        "without any error."
    ),
    fix="Keep the computation in torch and in the graph between the layer and the loss; if the layer "
        "should not train, freeze it explicitly with `requires_grad_(False)`.",
    check=check,
    bad=[_bad_detach_middle, _bad_detached_then_marked_trainable, _bad_loss_rewrapped_as_new_tensor,
         _bad_data_attribute_in_head],
    good=[_good_everything_in_graph, _good_frozen_by_requires_grad],
    needs="backward",
    thresholds=(
        "No number: a parameter with requires_grad=True whose module was called and whose gradient is "
        "None after backward (an all-zero gradient is not counted: dead ReLUs explain those). A warning "
        "when the module ran under torch.no_grad() before every trained layer (a frozen feature "
        "extractor, perhaps on purpose); info when the model has several outputs and the loss saw only "
        "the first."
    ),
)
