"""NBD120 device-mismatch: the data and a layer's parameters live on different devices (cpu, cuda,
mps, meta): the model moved without its input, one layer left behind, or weights never materialised
from the meta device."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import leaf_calls, module_expr, params_of, shape
from .layout import DEVICE_MESSAGE, first_input, forward_error, input_name, label, model_input_of, \
    param_device, raised_calls, same_data


def _devices(stats):
    return {s.device for s in stats if s.device}


def _changer(trace, before):
    """The first completed layer whose parameters sit on another device than the data it received and
    whose output left the data's device, or whose weights are on meta (a meta Conv2d does not raise)."""
    for c in leaf_calls(trace):
        if before is not None and c.index >= before:
            break
        pdev = param_device(trace, c)
        if c.status != "ok" or not pdev or not c.inputs or not c.outputs:
            continue
        din = _devices(c.inputs)
        if pdev not in din and (_devices(c.outputs) == {pdev} or pdev == "meta"):
            return c, next(iter(din))  # meta weights hold no values, whatever device the output claims
    return None


def _layer_fix(call, pdev, data_dev):
    expr = module_expr(call.name)
    if pdev == "meta":
        return (f"Its weights were never materialised: `{expr}.to_empty(device='{data_dev}')` and then "
                f"re-initialise (`reset_parameters()`) or load them with `load_state_dict(state, assign=True)`; "
                f"or build the model without `device='meta'` / `init_empty_weights`.")
    return (f"Move the whole model once after building it, `model.to('{data_dev}')`, instead of moving "
            f"layers one by one (`{expr}` is on {pdev}).")


def check(trace):
    error_at = trace.error.call if forward_error(trace) else None
    found = _changer(trace, error_at)
    if found is not None:
        c, data_dev = found
        pdev = param_device(trace, c)
        after = f", and {trace.error.where!r} then failed" if error_at is not None and trace.error.where else ""
        out_dev = c.outputs[0].device
        moved = (f"so its output moved to {pdev}" if out_dev == pdev
                 else "so its output holds no real values (meta weights have none)")
        message = (f"{label(c)} has its parameters on {pdev} while its input {shape(c.inputs[0])} is on "
                   f"{data_dev}, {moved}{after}.")
        yield RULE.finding(c.name, message, _layer_fix(c, pdev, data_dev), call=c.index,
                           evidence={"param_device": pdev, "data_device": data_dev})
        return
    if error_at is None:
        return
    for call in raised_calls(trace):
        s = first_input(call)
        pdev = param_device(trace, call)
        if s is None or not pdev or s.device == pdev:
            continue
        ran = {param_device(trace, c) for c in trace.calls
               if c.index < call.index and c.status == "ok" and params_of(trace, c.name)}
        others = "the layers before it"
        if not ran:  # the first layer failed: the rest of the model says where the parameters belong
            rest = {p.device for p in trace.params if p.module != call.name and p.device}
            ran, others = (rest if s.device in rest else set()), "the model's other layers"
        src = model_input_of(trace, s) or next((i for i in trace.inputs if same_data(i, s)), None)
        evidence = {"layer": call.name, "param_device": pdev, "data_device": s.device}
        if ran and pdev not in ran:
            message = (f"{label(call)} has its parameters on {pdev}, but {others} and the data {shape(s)} are "
                       f"on {s.device}.")
            yield RULE.finding(call.name, message, _layer_fix(call, pdev, s.device), call=call.index,
                               evidence=evidence)
            return
        if src is not None:
            var = input_name(src)
            message = f"The input {shape(s)} is on {s.device} but the model's parameters are on {pdev}."
            fix = (f"Move the input to the model's device: `{var} = {var}.to('{pdev}')` (in general "
                   f"`{var}.to(next(model.parameters()).device)`); move targets the same way.")
            if pdev == "meta":
                fix = _layer_fix(call, pdev, s.device)
            yield RULE.finding("input", message, fix, call=call.index, evidence=evidence)
            return
        message = f"{label(call)} has its parameters on {pdev} but receives a tensor {shape(s)} on {s.device}."
        yield RULE.finding(call.name, message, _layer_fix(call, pdev, s.device), call=call.index, evidence=evidence)
        return
    message = trace.error.message
    if DEVICE_MESSAGE.search(message) and ("expected" in message.lower() or "same device" in message):
        call = next(iter(raised_calls(trace)), None)
        where = call.name if call is not None else ""
        yield RULE.finding(
            where, f"{label(call) if call else 'The model'} combined tensors on different devices: "
                   f"{message.splitlines()[0][:200]}.",
            "Create tensors inside forward on the input's device (`torch.zeros(n, device=x.device)`), or "
            "register constant tensors as buffers (`self.register_buffer(...)`) so `model.to()` moves them.",
            call=call.index if call is not None else None, evidence={"message": message[:200]})


def _bad_meta_linear():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 1))
    m[2].to("meta")
    return dict(model=m, inputs=torch.randn(4, 3))


def _bad_meta_conv_silent():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    m[0].to("meta")
    return dict(model=m, inputs=torch.randn(2, 1, 8, 8))


def _bad_whole_model_on_meta():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(5, 2)).to("meta"), inputs=torch.randn(2, 5))


def _good_same_device():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 1)), inputs=torch.randn(4, 3))


RULE = Rule(
    code="NBD120",
    cause="device-mismatch",
    severity="error",
    title="Data and parameters on different devices",
    explanation=(
        "Every tensor in one operation must live on the same device. `model.to('cuda')` does not move the "
        "input, and moving layers one by one (or building some on the `meta` device for lazy loading and "
        "never materialising them) leaves parameters behind, so torch raises \"Expected all tensors to be on "
        "the same device\" or \"Tensor on device meta is not on the expected device cpu\". Meta parameters "
        "have no values at all: a layer built on meta silently returns meta tensors."
    ),
    fix="Move the model once (`model.to(device)`) and every batch to the same device (`x.to(device)`); "
        "materialise meta weights with `to_empty` and load or re-initialise them.",
    check=check,
    bad=[_bad_meta_linear, _bad_meta_conv_silent, _bad_whole_model_on_meta],
    good=[_good_same_device],
    needs="forward",
    thresholds="Structural: a completed layer whose parameters are on another device than its input and "
               "whose output moved to that device; or the raising layer's parameter device differs from "
               "its input's, attributed to the layer when the layers before it ran on the data's device, "
               "else to the input.",
)
