"""NBD110 dtype-mismatch: a layer raised because its input's dtype differs from its parameters' dtype
(integer pixels into Conv2d, float32 data into a float64 or half model, one layer cast on its own)."""
import collections

import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, module_expr, params_of, producer, shape
from .layout import DTYPE_MESSAGE, EMBEDDING_TYPES, first_input, forward_error, input_name, is_int_dtype, \
    label, model_input_of, raised_calls, same_data

CAST = {"float32": "float()", "float64": "double()", "float16": "half()", "bfloat16": "bfloat16()"}


def _cast(var, dtype):
    return f"{var}.{CAST[dtype]}" if dtype in CAST else f"{var}.to(torch.{dtype})"


def _model_dtype(trace):
    """The dtype most of the model's floating parameter tensors have; a tie goes to the data's dtype."""
    counts = collections.Counter(p.dtype for p in trace.params if not is_int_dtype(p.dtype))
    if not counts:
        return ""
    data = {s.dtype for s in trace.inputs}
    return max(counts, key=lambda d: (counts[d], d in data))


def _mismatch(trace, call):
    """(input stats, parameter dtype) when the raising layer got an input of another dtype."""
    s = first_input(call)
    ps = params_of(trace, call.name)
    if s is None or not ps or call.type in EMBEDDING_TYPES:
        return None
    dtype = ps[0].dtype
    if s.dtype == dtype or is_int_dtype(dtype):
        return None
    return s, dtype


def _int_fix(s, var, dtype):
    cast = _cast(var, dtype)
    if s.has_values and s.min >= 0 and 1 < s.max <= 255:
        return (f"Convert the pixels to floats in [0, 1]: `{cast} / 255` (then standardise), or "
                f"`torchvision.transforms.ToTensor()`, which does both.")
    return f"Cast the input to the model's dtype: `{cast}`."


def check(trace):
    if not forward_error(trace):
        return
    model_dtype = _model_dtype(trace)
    for call in raised_calls(trace):
        found = _mismatch(trace, call)
        if found is None:
            continue
        s, dtype = found
        src = model_input_of(trace, s) or next((i for i in trace.inputs if same_data(i, s)), None)
        evidence = {"layer": call.name, "input_dtype": s.dtype, "param_dtype": dtype, "model_dtype": model_dtype}
        if model_dtype and dtype != model_dtype and s.dtype == model_dtype:
            names = ", ".join(p.name for p in params_of(trace, call.name)[:3])
            message = (f"{label(call)} has {dtype} parameters ({names}) while the rest of the model is "
                       f"{model_dtype}, so its {s.dtype} input {shape(s)} does not fit them.")
            fix = (f"Cast that layer back with the rest: `{module_expr(call.name)}.{CAST.get(model_dtype, 'float()')}`"
                   f" (parameters built from numpy arrays are float64: use `torch.from_numpy(a).float()`).")
            yield RULE.finding(call.name, message, fix, call=call.index, evidence=evidence)
            return
        if src is not None:
            var = input_name(src)
            kind = "integer" if is_int_dtype(s.dtype) else s.dtype
            extra = (f" (values {fmt(s.min)}..{fmt(s.max)})" if is_int_dtype(s.dtype) and s.has_values else "")
            message = (f"The input {shape(s)} is {kind}{extra} but {label(call)}, the first layer to use it, "
                       f"computes in {dtype}.")
            if is_int_dtype(s.dtype):
                fix = _int_fix(s, var, dtype)
            elif dtype == "float64":
                fix = (f"Cast the input to the model's dtype, `{_cast(var, dtype)}`, or (float64 is slow and "
                       f"rarely needed) the model to float32 with `model.float()`.")
            elif dtype in ("float16", "bfloat16"):
                fix = (f"Cast the input, `{_cast(var, dtype)}`, or keep the model in float32 "
                       f"(`model.float()`) and use `torch.autocast` for mixed precision.")
            else:
                fix = f"Cast the input to the model's dtype: `{_cast(var, dtype)}`."
            yield RULE.finding("input", message, fix, call=call.index, evidence=evidence)
            return
        made = producer(trace, s.ref, before=call.index)
        origin = f"{label(made)} outputs" if made is not None and made.name else "the forward makes"
        message = f"{origin} {s.dtype} {shape(s)}, but {label(call)} computes in {dtype}."
        fix = (f"Cast the tensor before {label(call)}, `{_cast('x', dtype)}`, or find the op in forward that "
               f"changes the dtype (a numpy round trip or `torch.tensor(...)` makes float64 / int64).")
        yield RULE.finding(made.name if made is not None and made.name else call.name, message, fix,
                           call=call.index, evidence=evidence)
        return
    # A dtype error in a module without parameters of its own (a functional op): name the call.
    message = trace.error.message
    if not DTYPE_MESSAGE.search(message) or "indices" in message:
        return
    call = next(iter(raised_calls(trace)), None)
    odd = [p for p in trace.params if model_dtype and p.dtype != model_dtype and not is_int_dtype(p.dtype)]
    if odd:
        names = ", ".join(p.name for p in odd[:3])
        message_ = (f"The model computes in {model_dtype} but {names} {'is' if len(odd) == 1 else 'are'} "
                    f"{odd[0].dtype}, and {label(call) if call else 'the forward'} raised when combining them: "
                    f"{message.splitlines()[0][:160]}.")
        fix = (f"Create the parameter in the model's dtype (`torch.from_numpy(a).float()`: numpy arrays are "
               f"float64), or cast it: `{module_expr(odd[0].module)}.{CAST.get(model_dtype, 'float()')}`.")
        yield RULE.finding(odd[0].module, message_, fix, call=call.index if call is not None else None,
                           evidence={"params": [p.name for p in odd[:10]], "model_dtype": model_dtype})
        return
    where = call.name if call is not None else ""
    dtypes = ", ".join(f"{shape(i)} {i.dtype}" for i in call.inputs[:3]) if call is not None else ""
    yield RULE.finding(where, f"{label(call) if call else 'The model'} raised a dtype error on inputs {dtypes}: "
                       f"{message.splitlines()[0][:200]}.",
                       "Cast the tensors combined there to one dtype (usually float32): `x.float()`.",
                       call=call.index if call is not None else None, evidence={"message": message[:200]})


def _bad_uint8_images():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    return dict(model=m, inputs=torch.randint(0, 256, (2, 1, 12, 12), dtype=torch.uint8))


def _bad_half_model_float_data():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 1)).half(), inputs=torch.randn(3, 6))


def _bad_one_layer_cast_to_double():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    m[2].double()
    return dict(model=m, inputs=torch.randn(5, 6))


class _Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 8, batch_first=True)
        self.fc = nn.Linear(8, 1)

    def forward(self, x, state):
        return self.fc(self.lstm(x, state)[0][:, -1])


def _bad_float64_initial_state():
    # (h0, c0) built from numpy arrays: float64, while the LSTM is float32 (CPU says only
    # "get_mkldnn_dtype: unsupported data type")
    torch.manual_seed(0)
    state = (torch.zeros(1, 4, 8, dtype=torch.float64), torch.zeros(1, 4, 8, dtype=torch.float64))
    return dict(model=_Forecaster(), inputs=(torch.randn(4, 5, 3), state))


def _good_int_data_cast_inside():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)

        def forward(self, x):
            return self.conv(x.float() / 255)

    return dict(model=Net(), inputs=torch.randint(0, 256, (2, 1, 12, 12), dtype=torch.uint8))


def _good_double_everywhere():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 4), nn.Tanh()).double(), inputs=torch.randn(3, 6).double())


RULE = Rule(
    code="NBD110",
    cause="dtype-mismatch",
    severity="error",
    title="Input dtype differs from the layer's parameters",
    explanation=(
        "A layer multiplies its input by its weights, and torch does not promote between them: integer or "
        "bool data (uint8 pixels, int64 features from pandas), float32 data into a model cast with "
        "`.double()` or `.half()`, or one layer left in another dtype all raise \"Input type (int) and bias "
        "type (float) should be the same\" / \"mat1 and mat2 must have the same dtype\". Integer pixels also "
        "need scaling, not just a cast."
    ),
    fix="Cast the input to the model's dtype (`x.float()`; pixels `x.float() / 255`), or cast the model "
        "(`model.float()`) so every layer shares one dtype.",
    check=check,
    bad=[_bad_uint8_images, _bad_half_model_float_data, _bad_one_layer_cast_to_double, _bad_float64_initial_state],
    good=[_good_int_data_cast_inside, _good_double_everywhere],
    needs="forward",
    thresholds="Structural: the raising layer's input dtype differs from its parameters' dtype; the "
               "model dtype is the most common floating parameter dtype. Pixel range 0..255 (integers) "
               "selects the `/ 255` fix.",
)
