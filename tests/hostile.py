"""Hostile models, inputs, targets and losses for the property-based tests (tests/test_hostile.py).

Hypothesis draws plain *specs* (tuples of names and numbers), so a failing example prints as
something readable; `build_model`, `build_input`, ... turn specs into live objects. Every layer in
the palette is a module class defined here (not a lambda), so the models deep-copy for probe steps.

The palette is what users bring to a debugger: widths that do not fit, modules that return None,
tuples, dicts or Python scalars, or raise (with markup in the message), in-place ops on inputs and
parameters, `detach`, numpy round trips, `no_grad` inside forward, reused modules, dtype casts,
forward passes that register hooks, add submodules, cache tensors on `self`, call `backward`, or keep
layers in a plain list. Module *names* carry markup payloads too (`add_module` accepts any string
without a dot).
"""
from __future__ import annotations

import math
import warnings
from html.parser import HTMLParser

import numpy as np
import torch
import torch.nn as nn
from hypothesis import strategies as st

# Payloads that must only ever appear as text in any HTML view.
IMG = '<img src=x onerror="alert(1)">'
SCRIPT = "<script>alert('nbdebug')</script>"
PAYLOADS = (IMG, SCRIPT, '"><svg onload=alert(2)>', "</td></tr></table><b>x</b>")

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
          "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "uint8": torch.uint8,
          "bool": torch.bool, "complex64": torch.complex64}


# ---------------------------------------------------------------------- the palette of layers
class ReturnNone(nn.Module):
    def forward(self, x):
        x * 1  # a forward without `return`


class ReturnTuple(nn.Module):
    def forward(self, x):
        return x, x * 2


class ReturnDict(nn.Module):
    def forward(self, x):
        return {"out": x, "aux": 1, "name": SCRIPT}


class ReturnScalar(nn.Module):
    def forward(self, x):
        return float(x.float().sum()) if isinstance(x, torch.Tensor) else 3


class Raise(nn.Module):
    def __init__(self, message: str = IMG):
        super().__init__()
        self.message = message

    def forward(self, x):
        raise ValueError(self.message)


class BrokenMessage(nn.Module):
    """Raises an exception whose own __str__ and __repr__ raise."""

    class Error(Exception):
        def __str__(self):
            raise RuntimeError("cannot render")

        def __repr__(self):
            raise RuntimeError("cannot render")

    def forward(self, x):
        raise self.Error()


class InplaceInput(nn.Module):
    """Changes the tensor it receives in place (the user's input when it is the first layer)."""

    def forward(self, x):
        return x.mul_(2) if isinstance(x, torch.Tensor) and x.is_floating_point() else x


class InplaceParam(nn.Module):
    """Changes its own parameter in place during forward."""

    def __init__(self, width: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(width))

    def forward(self, x):
        with torch.no_grad():
            self.scale.mul_(1.5)
        return x * self.scale


class Detach(nn.Module):
    def forward(self, x):
        return x.detach()


class NumpyRoundTrip(nn.Module):
    def forward(self, x):
        return torch.from_numpy(np.ascontiguousarray(x.detach().cpu().numpy()))


class NoGradLinear(nn.Module):
    def __init__(self, i: int, o: int):
        super().__init__()
        self.fc = nn.Linear(i, o)

    def forward(self, x):
        with torch.no_grad():
            return self.fc(x)


class Cast(nn.Module):
    def __init__(self, dtype: str):
        super().__init__()
        self.dtype = dtype

    def forward(self, x):
        return x.to(DTYPES[self.dtype])


class Log(nn.Module):
    def forward(self, x):
        return torch.log(x)


class DivideByZero(nn.Module):
    def forward(self, x):
        return x / 0


class RandomNoise(nn.Module):
    """Draws from the global RNG, which nbdebug must leave as it found it."""

    def forward(self, x):
        return x + torch.rand_like(x) if x.is_floating_point() else x


class SelfMutating(nn.Module):
    """Registers a hook, adds a submodule, caches its input and flips its mode during forward."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        self.cache = x
        self.register_forward_hook(lambda *a: None)
        self.add_module(f"made_{self.calls}", nn.Identity())
        self.train(not self.training)
        return x


class UncountableDict(dict):
    """A dict subclass whose len() raises: a container the guard cannot size."""

    def __len__(self):
        raise TypeError("no length here")


class MutatesContainers(nn.Module):
    """Appends to a list attribute, adds to a dict attribute and to an unsizeable dict on each call."""

    def __init__(self):
        super().__init__()
        self.seen = []
        self.shapes = {"start": 0}
        self.odd = UncountableDict(a=1)

    def forward(self, x):
        self.seen.append(tuple(x.shape))
        self.shapes[f"call_{len(self.seen)}"] = x.shape[0]
        dict.__setitem__(self.odd, "b", 2)
        return x * 2


class NestedOutput(nn.Module):
    """Returns a nested tensor (ragged rows), which has no plain shape."""

    def __init__(self, layout):
        super().__init__()
        self.layout = layout
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        y = self.lin(x)
        return torch.nested.nested_tensor([y[:2], y[2:]], layout=self.layout)


class CallsBackward(nn.Module):
    """Runs its own backward inside forward, writing .grad on its parameter."""

    def __init__(self, width: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(width))

    def forward(self, x):
        y = x * self.w
        if y.requires_grad and y.is_floating_point():
            y.float().sum().backward(retain_graph=True)
        return y


class Unregistered(nn.Module):
    """Keeps its layers in a plain list: reached in forward, absent from named_modules()."""

    def __init__(self, width: int):
        super().__init__()
        self.blocks = [nn.Linear(width, width), nn.BatchNorm1d(width)]

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class FlattenAll(nn.Module):
    def forward(self, x):
        return x.reshape(-1)


class Unpack(nn.Module):
    """Takes the first element of a tuple/dict output, as user code between layers often does."""

    def forward(self, x):
        if isinstance(x, dict):
            return next(iter(x.values()))
        if isinstance(x, (tuple, list)):
            return x[0]
        return x


MarkupClass = type(SCRIPT, (nn.Module,), {"forward": lambda self, x: x})
ImgClass = type(IMG, (nn.Linear,), {})


class NanWeight(nn.Linear):
    """A Linear whose weights already hold a NaN (a checkpoint gone bad)."""

    def __init__(self, i: int, o: int):
        super().__init__(i, o)
        with torch.no_grad():
            self.weight.view(-1)[:1] = math.nan


class ReturnsParameter(nn.Module):
    """Ignores its input and returns its own parameter (a leaf), as a buggy forward can."""

    def __init__(self, width: int):
        super().__init__()
        self.w = nn.Parameter(torch.ones(width))

    def forward(self, x):
        return self.w


class DeepNest(nn.Module):
    def forward(self, x):
        for _ in range(10):
            x = [x]
        return x


class ManyOutputs(nn.Module):
    def forward(self, x):
        return [x * i for i in range(300)]


class ReturnsGenerator(nn.Module):
    def forward(self, x):
        return (x for _ in range(2))


class Recursive(nn.Module):
    """Calls itself until Python gives up: a RecursionError deep inside the module stack."""

    def forward(self, x):
        return self(x)


class SelfAttention(nn.Module):
    def __init__(self, width: int, batch_first: bool):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, 1, batch_first=batch_first)

    def forward(self, x):
        return self.attn(x, x, x)[0]


class HoldsEmptyWeight(nn.Module):
    """Passes its input through and holds a weight with no columns (nn.Linear(0, n))."""

    def __init__(self, width: int):
        super().__init__()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: initialising a zero-element tensor is a no-op
            self.empty = nn.Linear(0, max(width, 1))

    def forward(self, x):
        return x


class NestsInput(nn.Module):
    """Returns its (batch, ...) float input as a nested tensor of two ragged pieces."""

    def __init__(self, layout):
        super().__init__()
        self.layout = layout

    def forward(self, x):
        if not isinstance(x, torch.Tensor) or x.dim() < 2 or x.shape[0] < 2 or not x.is_floating_point():
            return x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: the strided nested layout is a prototype
            return torch.nested.nested_tensor([x[:1], x[1:]], layout=self.layout)


class SparseOutput(nn.Module):
    def forward(self, x):
        return x.to_sparse() if isinstance(x, torch.Tensor) and x.layout == torch.strided else x


# name -> (needs a width, factory(width_in, width_out, arg))
PALETTE = {
    "linear": lambda i, o, a: nn.Linear(i, o),
    "relu": lambda i, o, a: nn.ReLU(),
    "relu_inplace": lambda i, o, a: nn.ReLU(inplace=True),
    "tanh": lambda i, o, a: nn.Tanh(),
    "sigmoid": lambda i, o, a: nn.Sigmoid(),
    "batchnorm": lambda i, o, a: nn.BatchNorm1d(i),
    "layernorm": lambda i, o, a: nn.LayerNorm(i),
    "dropout": lambda i, o, a: nn.Dropout(0.5),
    "softmax": lambda i, o, a: nn.Softmax(dim=a % 2),
    "none": lambda i, o, a: ReturnNone(),
    "tuple": lambda i, o, a: ReturnTuple(),
    "dict": lambda i, o, a: ReturnDict(),
    "scalar": lambda i, o, a: ReturnScalar(),
    "unpack": lambda i, o, a: Unpack(),
    "raise": lambda i, o, a: Raise(PAYLOADS[a % len(PAYLOADS)]),
    "broken_message": lambda i, o, a: BrokenMessage(),
    "inplace_input": lambda i, o, a: InplaceInput(),
    "inplace_param": lambda i, o, a: InplaceParam(i),
    "detach": lambda i, o, a: Detach(),
    "numpy": lambda i, o, a: NumpyRoundTrip(),
    "no_grad": lambda i, o, a: NoGradLinear(i, o),
    "cast": lambda i, o, a: Cast(list(DTYPES)[a % len(DTYPES)]),
    "log": lambda i, o, a: Log(),
    "div0": lambda i, o, a: DivideByZero(),
    "random": lambda i, o, a: RandomNoise(),
    "self_mutating": lambda i, o, a: SelfMutating(),
    "calls_backward": lambda i, o, a: CallsBackward(i),
    "unregistered": lambda i, o, a: Unregistered(i),
    "flatten": lambda i, o, a: FlattenAll(),
    "markup_class": lambda i, o, a: MarkupClass() if a % 2 else ImgClass(i, o),
    "nan_weight": lambda i, o, a: NanWeight(i, o),
    "returns_parameter": lambda i, o, a: ReturnsParameter(i),
    "deep_nest": lambda i, o, a: DeepNest(),
    "many_outputs": lambda i, o, a: ManyOutputs(),
    "generator": lambda i, o, a: ReturnsGenerator(),
    "lazy": lambda i, o, a: nn.LazyLinear(o),
    "recursive": lambda i, o, a: Recursive(),
    # standard layers whose rank and dtype expectations the random inputs rarely meet
    "conv1d": lambda i, o, a: nn.Conv1d(i, o, kernel_size=1 + a % 3),
    "maxpool": lambda i, o, a: nn.MaxPool1d(2),
    "avgpool": lambda i, o, a: nn.AdaptiveAvgPool1d(1),
    "embedding": lambda i, o, a: nn.Embedding(max(i, 1) * 3, o),
    "lstm": lambda i, o, a: nn.LSTM(i, o, batch_first=bool(a % 2)),
    "gru_cell": lambda i, o, a: nn.GRUCell(i, o),
    "attention": lambda i, o, a: SelfAttention(i, bool(a % 2)),
    "flatten_layer": lambda i, o, a: nn.Flatten(),
    "log_softmax": lambda i, o, a: nn.LogSoftmax(dim=a % 2),
    "identity": lambda i, o, a: nn.Identity(),
    "nested_output": lambda i, o, a: NestsInput(torch.jagged if a % 2 else torch.strided),
    "empty_weight": lambda i, o, a: HoldsEmptyWeight(i),
    "mutates_containers": lambda i, o, a: MutatesContainers(),
    "sparse_output": lambda i, o, a: SparseOutput(),
}
CHANGES_WIDTH = {"linear", "no_grad", "markup_class", "nan_weight", "lazy", "conv1d", "embedding", "lstm",
                 "gru_cell"}


class HostileNet(nn.Module):
    """Calls its layers in `order` (indices may repeat: a reused module is called again).

    Layers are registered under `names` where given, so module names can carry markup.
    """

    def __init__(self, layers: list, order: list, names: list = ()):
        super().__init__()
        self.layers = nn.ModuleDict()
        for i, layer in enumerate(layers):
            name = names[i] if i < len(names) and names[i] else str(i)
            self.layers[name if name not in self.layers else f"{name}{i}"] = layer
        self.keys = list(self.layers)
        self.order = list(order)

    def forward(self, x, *extra, **kw):
        for i in self.order:
            x = self.layers[self.keys[i]](x)
        return x


class NoParams(nn.Module):
    def forward(self, x):
        return x


# ---------------------------------------------------------------------- specs -> objects
def build_model(spec) -> nn.Module:
    """spec = (seed, layer specs, order, mode, dtype, names); layer spec = (kind, width_in, width_out, arg)."""
    seed, layer_specs, order, mode, dtype, names = spec
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if not layer_specs:
            model = NoParams()
        else:
            layers = [PALETTE[k](i, o, a) for k, i, o, a in layer_specs]
            model = HostileNet(layers, [i % len(layers) for i in order], names)
        model.train(mode == "train")
        if dtype != "float32":
            model.to(DTYPES[dtype])
    return model


def build_tensor(spec):
    """spec = (shape, dtype, special, seed); special in {'', 'nan', 'inf', 'both'}."""
    shape, dtype, special, seed = spec
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen) * 3
    if special in ("nan", "both") and x.numel():
        x.view(-1)[0] = math.nan
    if special in ("inf", "both") and x.numel():
        x.view(-1)[-1] = math.inf
    if dtype in ("int64", "int32", "uint8"):
        x = x.nan_to_num(0, 0, 0).abs().round()
    if dtype == "bool":
        return x > 0
    if dtype == "complex64":
        return torch.complex(x, -x)
    return x.to(DTYPES[dtype])


def build_inputs(spec):
    """spec = (packing, tensor specs): 'tensor' | 'tuple' | 'dict' | 'wrong_kw'."""
    packing, tensor_specs = spec
    xs = [build_tensor(s) for s in tensor_specs]
    if packing == "tuple":
        return tuple(xs)
    if packing == "dict":
        return {"x": xs[0]}
    if packing == "wrong_kw":
        return {"not_an_argument": xs[0]}
    return xs[0]


class RaisingLoss:
    __name__ = "raising_loss"

    def __call__(self, out, target):
        raise RuntimeError(SCRIPT)


def nan_loss(out, target):
    return torch.tensor(math.nan, requires_grad=True)


def string_loss(out, target):
    return "not a tensor"


def none_loss(out, target):
    return None


def vector_loss(out, target):
    return out.float().reshape(-1) if isinstance(out, torch.Tensor) else out


def detached_loss(out, target):
    return out.float().mean().detach() if isinstance(out, torch.Tensor) else 0.0


LOSSES = {"none": None, "cross_entropy": "cross_entropy", "mse": "mse", "bce_with_logits": "bce_with_logits",
          "nll": "nll", "bce": "bce", "raising": RaisingLoss(), "nan": nan_loss, "string": string_loss,
          "returns_none": none_loss, "vector": vector_loss, "detached": detached_loss,
          "module": nn.MSELoss()}


def build_target(spec, batch: int):
    """spec = (kind, width, seed)."""
    kind, width, seed = spec
    gen = torch.Generator().manual_seed(seed)
    if kind == "none":
        return None
    if kind == "float":
        return torch.randn(batch, width, generator=gen)
    if kind == "labels":
        return torch.randint(0, max(width, 1), (batch,), generator=gen)
    if kind == "labels_out_of_range":
        return torch.randint(width + 1, width + 10, (batch,), generator=gen)
    if kind == "nan":
        return torch.full((batch, width), math.nan)
    if kind == "scalar":
        return torch.tensor(1.0)
    if kind == "bool":
        return torch.ones(batch, width, dtype=torch.bool)
    if kind == "list":
        return [1.0, 2.0, 3.0]
    return "nonsense"


def build_optimizer(kind: str, model: nn.Module):
    if kind == "none":
        return None
    if kind == "sgd":
        params = list(model.parameters())
        return torch.optim.SGD(params, lr=0.1) if params else None
    if kind == "foreign":
        return torch.optim.SGD([nn.Parameter(torch.ones(2))], lr=0.1)
    if kind == "lbfgs":  # its step() needs a closure
        params = list(model.parameters())
        return torch.optim.LBFGS(params) if params else None
    if kind == "class":  # the class itself works as a factory params -> Optimizer
        return torch.optim.SGD
    if kind == "factory":
        return lambda params: torch.optim.Adam(params, lr=1e-2)
    if kind == "factory_raises":
        def factory(params):
            raise ValueError(IMG)
        return factory
    return lambda params: "not an optimizer"


# ---------------------------------------------------------------------- hypothesis strategies
WIDTHS = st.integers(1, 6)


# layers that still return one tensor of the width they were given, so a stack of them runs end to end
TAME = ["linear", "relu", "relu_inplace", "tanh", "sigmoid", "batchnorm", "layernorm", "dropout", "softmax",
        "inplace_input", "inplace_param", "detach", "numpy", "no_grad", "log", "div0", "random",
        "self_mutating", "calls_backward", "unregistered", "markup_class", "tuple", "dict", "nan_weight",
        "lazy", "returns_parameter", "gru_cell", "log_softmax", "identity", "flatten_layer"]


@st.composite
def layer_spec(draw, width: int, tame: bool):
    kind = draw(st.sampled_from(TAME if tame else sorted(PALETTE)))
    fits = tame or draw(st.booleans()) or draw(st.booleans())  # widths fit three times out of four
    w_in = width if fits else draw(WIDTHS)
    w_out = draw(WIDTHS) if kind in CHANGES_WIDTH else w_in
    return kind, w_in, w_out, draw(st.integers(0, 7))


@st.composite
def model_specs(draw, tame: bool = False):
    width = draw(WIDTHS)
    n = draw(st.integers(0 if not tame else 1, 6))
    layers = []
    w = width
    for _ in range(n):
        spec = draw(layer_spec(w, tame))
        if tame and spec[0] in ("tuple", "dict"):
            layers.append(spec)
            spec = ("unpack", w, w, 0)  # a structured output, unpacked by the next layer
        if tame and spec[0] == "markup_class" and spec[3] % 2:
            spec = (spec[0], spec[1], spec[1], spec[3])  # the markup-named identity keeps the width
        layers.append(spec)
        w = spec[2]
    n = len(layers)
    reuse = not tame and draw(st.booleans())
    order = draw(st.lists(st.integers(0, 9), min_size=1, max_size=8)) if reuse else list(range(n))
    names = [nm.replace(".", "_") for nm in draw(st.lists(
        st.sampled_from(PAYLOADS + ("", "", "", "a b")), min_size=n, max_size=n))]
    mode = draw(st.sampled_from(["train", "eval"]))
    dtype = draw(st.sampled_from(["float32"] * 6 + ([] if tame else ["float64", "float16", "bfloat16"])))
    return (draw(st.integers(0, 2**16)), layers, order, mode, dtype, names), width, w


@st.composite
def tensor_specs(draw, width: int, tame: bool = False):
    shape = draw(st.sampled_from([(3, width), (2, width)] if tame else [
        (3, width), (3, width), (2, width), (1, width), (0, width),   # batches, a zero-size one
        (), (width,), (2, width, 2), (2, 3, width)]))                 # 0-d and wrong ranks
    dtype = draw(st.sampled_from(["float32"] * 6 + ([] if tame else list(DTYPES))))
    special = draw(st.sampled_from(["", "", "", "nan", "inf", "both"]))
    return shape, dtype, special, draw(st.integers(0, 2**16))


@st.composite
def input_specs(draw, width: int, tame: bool = False):
    packing = draw(st.sampled_from(["tensor"] * 5 + ([] if tame else ["tuple", "dict", "wrong_kw"])))
    n = draw(st.integers(2, 3)) if packing == "tuple" else 1
    return packing, [draw(tensor_specs(width, tame)) for _ in range(n)]


@st.composite
def hostile_cases(draw, tame: bool = False):
    """(model spec, input spec, target spec, loss name, steps, optimizer kind, backward, max_calls).

    tame=True keeps the model runnable end to end (and the target and loss fitting), so the later
    stages (backward, checks, probe steps) see hostile layers too.
    """
    model_spec, width, out_width = draw(model_specs(tame))
    inputs = draw(input_specs(width, tame))
    if tame:
        target = (draw(st.sampled_from(["none", "float", "labels", "nan"])), out_width, draw(st.integers(0, 2**16)))
        loss = {"float": "mse", "labels": "cross_entropy", "nan": "mse"}.get(target[0], "none")
        loss = draw(st.sampled_from([loss, loss, "none", "module", "nan", "detached", "raising"]))
    else:
        target = (draw(st.sampled_from(["none", "none", "float", "labels", "labels_out_of_range", "nan",
                                        "scalar", "bool", "list", "nonsense"])),
                  draw(WIDTHS), draw(st.integers(0, 2**16)))
        loss = draw(st.sampled_from(sorted(LOSSES)))
    steps = draw(st.sampled_from([0, 1, 2] if tame else [0, 0, 0, 1, 2]))
    optimizer = draw(st.sampled_from(["none", "sgd", "foreign", "factory", "factory_raises", "bad_factory",
                                      "lbfgs", "class"]))
    backward = draw(st.sampled_from([True, True, True, False]))
    max_calls = draw(st.sampled_from([5000, 5000, 3]))
    return model_spec, inputs, target, loss, steps, optimizer, backward, max_calls


def build_case(case) -> tuple:
    """(model, inputs, trace keyword arguments) for one drawn case."""
    model_spec, input_spec, target_spec, loss, steps, optimizer, backward, max_calls = case
    model = build_model(model_spec)
    inputs = build_inputs(input_spec)
    first = next(iter(inputs.values())) if isinstance(inputs, dict) else (
        inputs[0] if isinstance(inputs, tuple) else inputs)
    batch = first.shape[0] if first.dim() else 1
    kwargs = dict(target=build_target(target_spec, batch), loss=LOSSES[loss], steps=steps,
                  optimizer=build_optimizer(optimizer, model), backward=backward, max_calls=max_calls)
    named = isinstance(kwargs["loss"], (str, nn.modules.loss._Loss))
    if kwargs["loss"] is None or (named and kwargs["target"] is None):
        del kwargs["loss"]  # a named loss without a target is misuse (tests/test_api_misuse.py)
    return model, inputs, kwargs


# ---------------------------------------------------------------------- live-markup detection
SAFE_TAGS = {"style", "div", "b", "table", "thead", "tbody", "tr", "th", "td", "span", "ul", "li", "code",
             "br", "i", "pre", "small", "details", "summary", "p"}


class MarkupAudit(HTMLParser):
    """Every tag and attribute an HTML string really contains, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list = []
        self.handlers: list = []
        self.text: list = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.handlers += [f"{tag} {k}" for k, _ in attrs if k.lower().startswith("on")]

    def handle_data(self, data):
        self.text.append(data)


def audit(html: str) -> MarkupAudit:
    a = MarkupAudit()
    a.feed(html)
    a.close()
    return a


def live_markup(html: str, allowed=SAFE_TAGS) -> list:
    """Tags outside the view's own vocabulary, and any event-handler attribute: [] when safe."""
    a = audit(html)
    return sorted({t for t in a.tags if t not in allowed}) + a.handlers
