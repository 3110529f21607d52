"""NBD280 untrained-parameter: trainable tensors used in forward that `model.parameters()` does not
list (layers in a plain Python list or dict, a tensor attribute with requires_grad instead of an
nn.Parameter, a layer created inside forward), so no optimizer built the usual way updates them."""
import torch
import torch.nn as nn

from .base import Rule
from .cut_from_graph import _bad_detached_then_marked_trainable
from .helpers import batch_size, module_expr


def _registered_names(trace) -> set:
    names = {""} | {c.name for c in trace.calls if c.registered} | {p.module for p in trace.params}
    return names


def _holder(name: str, registered: set) -> tuple:
    """('enc', 'blocks', rest) for 'enc.blocks.0.weight': the registered owner, its attribute, the rest."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, -1, -1):
        owner = ".".join(parts[:cut])
        if owner in registered and cut < len(parts):
            return owner, parts[cut], parts[cut + 1:]
    return "", parts[0], parts[1:]


def _fix(owner: str, attr: str, rest: list, entries: list) -> str:
    target = f"{module_expr(owner, 'self') if owner else 'self'}.{attr}"
    if attr.startswith("<"):
        return ("Create every layer and parameter in `__init__` and assign it to `self` (it is then "
                "registered); a layer built inside `forward` is new at every call and never trained.")
    if rest and len(rest) >= 2:
        container = "nn.ModuleList" if rest[0].isdigit() else "nn.ModuleDict"
        return (f"Register the layers: `{target} = {container}(...)` instead of a plain "
                f"{'list' if rest[0].isdigit() else 'dict'}, then rebuild the optimizer from "
                f"`model.parameters()`.")
    if rest:  # a list/dict of bare tensors
        container = "nn.ParameterList" if rest[0].isdigit() else "nn.ParameterDict"
        return f"Register the tensors: `{target} = {container}(...)`, then rebuild the optimizer."
    if not entries[0].get("is_parameter"):
        return (f"Make it a parameter: `{target} = nn.Parameter(torch.randn(...))` instead of a tensor "
                f"created with requires_grad=True, then rebuild the optimizer.")
    return f"Assign the parameter as an attribute of a registered module (`{target} = nn.Parameter(...)`)."


def _activation_shapes(trace) -> set:
    return {tuple(o.shape) for c in trace.calls for o in c.outputs if o is not None and o.shape}


def _detached_activation(entry: dict, batch, shapes: set) -> bool:
    """A leaf the model does not hold, shaped like one of its activations with the batch first: an
    activation cut off with `.detach().requires_grad_()` in forward. That is no-gradient (NBD290 names
    the layers it cuts off), not a parameter to register."""
    dims = tuple(entry.get("shape") or ())
    return (str(entry.get("name", "")).startswith("<") and not entry.get("is_parameter")
            and batch is not None and len(dims) >= 2 and dims[0] == batch and dims in shapes)


def check(trace):
    found = trace.checks.get("unregistered_params") or []
    if found:
        batch, shapes = batch_size(trace), _activation_shapes(trace)
        found = [e for e in found if not _detached_activation(e, batch, shapes)]
    if not found:
        return
    registered = _registered_names(trace)
    groups: dict = {}
    for entry in found:
        owner, attr, rest = _holder(entry.get("name", "?"), registered)
        groups.setdefault((owner, attr), []).append((entry, rest))
    for (owner, attr), items in groups.items():
        entries = [e for e, _ in items]
        numel = sum(e.get("numel", 0) for e in entries)
        names = sorted(e.get("name", "?") for e in entries)
        shown = ", ".join(f"`{n}`" for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        prefix = f"{owner}.{attr}" if owner else attr
        first = next((c for c in trace.calls if not c.registered and c.name.startswith(prefix)), None)
        holder = f"`self.{attr}` of `{owner}`" if owner else f"`self.{attr}`"
        if attr.startswith("<"):
            holder = "tensors the model does not hold as attributes"
        message = (f"{len(entries)} trainable tensor(s) with {numel} values take part in forward but are not "
                   f"among `model.parameters()`: {shown}, kept in {holder}; an optimizer built from "
                   f"`model.parameters()` never updates them.")
        yield RULE.finding(owner, message, _fix(owner, attr, items[0][1], entries),
                           call=first.index if first is not None else None,
                           evidence={"tensors": names, "numel": numel, "attribute": attr})


def _bad_dict_of_layers():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = {"a": nn.Linear(6, 2), "b": nn.Linear(6, 2)}   # should be nn.ModuleDict
            self.body = nn.Linear(6, 6)

        def forward(self, x):
            h = torch.relu(self.body(x))
            return self.heads["a"](h) + self.heads["b"](h)

    return dict(model=Net(), inputs=torch.randn(4, 6), target=torch.randn(4, 2))


def _bad_tensor_attribute():
    torch.manual_seed(0)

    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.gain = torch.ones(3, requires_grad=True)   # should be nn.Parameter

        def forward(self, x):
            return self.fc(x) * self.gain

    return dict(model=Scale(), inputs=torch.randn(5, 3))


def _good_module_list():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            for b in self.blocks:
                x = torch.relu(b(x))
            return x

    return dict(model=Net(), inputs=torch.randn(4, 4))


def _good_frozen_constant_in_list():
    # Tensors without requires_grad kept in a list are constants, not parameters to train.
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.masks = [torch.ones(4), torch.zeros(4)]

        def forward(self, x):
            return self.fc(x) * self.masks[0]

    return dict(model=Net(), inputs=torch.randn(4, 4))


def _good_activation_detached_in_forward():
    # A cut graph (NBD290's no-gradient), not an unregistered parameter: the leaf is an activation.
    return _bad_detached_then_marked_trainable()


RULE = Rule(
    code="NBD280",
    cause="untrained-parameter",
    severity="error",
    title="Trainable tensors used in forward but not registered with the model",
    explanation=(
        "Only tensors registered with the module tree appear in `model.parameters()`, and an optimizer "
        "built from it updates nothing else. Layers kept in a plain Python list or dict, a tensor made "
        "with `requires_grad=True` instead of `nn.Parameter`, or a layer created inside `forward` all "
        "take part in the computation and even get gradients, but never change: the model trains with "
        "part of itself frozen at its random initialisation. They are also missing from `state_dict()`, "
        "so saving and loading loses them, and `.to(device)` does not move them."
    ),
    fix="Use nn.ModuleList / nn.ModuleDict / nn.Parameter (or ParameterList), create layers in `__init__`, "
        "and rebuild the optimizer from `model.parameters()`.",
    check=check,
    bad=[_bad_dict_of_layers, _bad_tensor_attribute],
    good=[_good_module_list, _good_frozen_constant_in_list, _good_activation_detached_in_forward],
    needs="backward",
    thresholds="No number: any leaf tensor with requires_grad reached from the output's autograd graph that "
               "is neither an input nor one of `model.parameters()`.",
)
