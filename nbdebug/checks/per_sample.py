"""Is the model per-sample by construction, so that the batch-mixing experiment can be skipped?

The batch-mixing test costs two extra forwards, which on a CPU is mostly fixed cost per forward
(about a quarter of a ResNet-18's forward+backward). It can only ever find mixing where some code
moves data across the batch dimension, so it runs unless every module that ran is known to keep
samples apart:

- torch.nn modules from an allow-list (convolutions, linear layers, norms, activations, pooling,
  dropout, embeddings, padding, ...), with their arguments checked where they matter (a Flatten must
  start after dim 0, a Softmax must not normalise over dim 0, sequence layers must be batch_first);
- modules of the user's own classes whose source (every method of every non-torch class in the MRO)
  uses only operations known to stay within a sample: submodule calls, arithmetic, element-wise and
  per-sample torch functions, reductions and concatenations over explicit dims >= 1, and
  `view`/`reshape` that keep `x.size(0)` first.

Anything else (an unknown call, indexing a tensor on dim 0, `transpose`, `matmul`, a reduction without
`dim`, hooks the user registered, a class whose source cannot be read) means "not provably
per-sample", and the experiment runs. The answer errs on the side of running it.
"""
from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from typing import Optional

import torch.nn as nn

# torch.nn modules that never mix samples in eval mode, whatever their arguments
SAFE_TYPES = {
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "Linear", "LazyLinear", "Bilinear", "Identity",
    "NonDynamicallyQuantizableLinear",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "RMSNorm",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm",
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
    "Sigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Softsign", "Softshrink",
    "Hardshrink", "Tanhshrink", "Threshold", "LogSigmoid", "GLU",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "LPPool1d", "LPPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
    "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "Embedding", "Sequential", "ModuleList", "ModuleDict",
}
DIM_TYPES = {"Softmax", "LogSoftmax", "Softmin"}            # safe when dim is not the batch
SEQ_TYPES = {"RNN", "LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer",
             "TransformerDecoderLayer"}                       # safe when batch_first=True
SEQ_CONTAINERS = {"TransformerEncoder", "TransformerDecoder", "Transformer"}  # safe when all layers are

# Tensor methods and torch / torch.nn.functional functions that work within each sample.
SAFE_CALLS = {
    # element-wise and casts
    "relu", "relu_", "relu6", "leaky_relu", "gelu", "silu", "mish", "elu", "selu", "celu", "sigmoid",
    "tanh", "hardtanh", "hardsigmoid", "hardswish", "softplus", "softsign", "logsigmoid", "exp", "log",
    "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "sign", "clamp", "clamp_", "clamp_min", "clamp_max",
    "clip", "add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_", "pow", "square", "reciprocal",
    "sin", "cos", "floor", "ceil", "round", "trunc", "frac", "erf", "where", "masked_fill", "lerp",
    "maximum", "minimum", "float", "double", "half", "bfloat16", "long", "int", "bool", "to", "type_as",
    "contiguous", "clone", "detach", "requires_grad_", "dropout", "dropout1d", "dropout2d", "dropout3d",
    "alpha_dropout", "isfinite", "isnan", "nan_to_num", "sigmoid_", "tanh_", "exp_", "mul_",
    # per-sample layers in functional form
    "linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "layer_norm", "group_norm", "instance_norm", "rms_norm", "normalize",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_avg_pool3d", "interpolate", "upsample", "pad", "embedding", "one_hot", "pixel_shuffle",
    # shape queries
    "size", "dim", "numel", "ndimension",
    # new tensors that hold no sample's data (positions, masks, noise): what they are combined with
    # is judged where it happens. expand can only widen size-1 dims, never change a batch of B.
    "arange", "ones", "zeros", "full", "empty", "eye", "linspace", "tensor", "as_tensor",
    "ones_like", "zeros_like", "full_like", "empty_like", "rand", "randn", "rand_like", "randn_like",
    "triu", "tril", "expand", "expand_as",
    # Python builtins on shapes and loops
    "len", "range", "enumerate", "zip", "isinstance", "int", "float", "bool", "super", "getattr",
    "hasattr", "tuple", "list", "dict", "print", "min", "max", "abs", "sum", "all", "any",
}
# Reductions, normalisations and joins: safe only with an explicit dim that is not 0.
DIM_CALLS = {"mean", "sum", "prod", "std", "var", "amax", "amin", "max", "min", "argmax", "argmin",
             "logsumexp", "norm", "softmax", "log_softmax", "softmin", "cumsum", "cumprod", "cat",
             "concat", "concatenate", "stack", "split", "chunk", "unbind", "all", "any", "nansum",
             "nanmean", "median", "unsqueeze", "squeeze", "glu", "flip"}
TUPLE_LAYERS = (nn.MultiheadAttention, nn.RNNBase)   # return (output, extra): [0] is the output
MODULE_ROOTS = ("torch", "torch.nn", "torch.nn.functional", "F", "nn", "nn.functional", "math")


def _safe_dim(node: ast.AST) -> bool:
    """A literal dim (or tuple of dims) that cannot be the batch: >= 1 or negative."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value != 0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return bool(node.elts) and all(_safe_dim(e) for e in node.elts)
    return False


def _is_batch_size(node: ast.AST) -> bool:
    """`x.size(0)`, `x.shape[0]` or `len(x)`: the batch size, kept first by a view/reshape."""
    if isinstance(node, ast.Call):
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "size" and len(node.args) == 1:
            a = node.args[0]
            return isinstance(a, ast.Constant) and a.value == 0
        return isinstance(f, ast.Name) and f.id == "len"
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
        s = node.slice
        return isinstance(s, ast.Constant) and s.value == 0
    return False


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _dim_arg(call: ast.Call, position: int) -> Optional[ast.AST]:
    for kw in call.keywords:
        if kw.arg in ("dim", "axis", "start_dim"):
            return kw.value
    return call.args[position] if len(call.args) > position else None


class _Scan(ast.NodeVisitor):
    """Collects the first construct that may move data across the batch dimension."""

    def __init__(self, instance: nn.Module, methods: dict):
        self.instance = instance
        self.methods = methods          # name -> FunctionDef of the user's classes
        self.pending: list = []         # this class's methods called from forward, still to scan
        self.risk: Optional[str] = None
        self.receiver = "self"          # the method's first parameter, whatever it is called
        self.submodules: set = set()    # loop variables bound to a container's submodules

    def scan_method(self, fn) -> None:
        args = fn.args.posonlyargs + fn.args.args
        self.receiver = args[0].arg if args else "self"
        self.submodules = set()
        for stmt in fn.body:
            self.visit(stmt)

    def _container(self, node) -> bool:
        """`self.blocks`, `self.blocks.values()`, `enumerate(self.blocks)` or `zip(self.a, self.b)`
        over nn.Module containers: iterating it yields submodules (each judged on its own)."""
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in ("enumerate", "zip", "reversed") and node.args:
                return all(self._container(a) for a in node.args[:1 if f.id != "zip" else None])
            if isinstance(f, ast.Attribute) and f.attr in ("values", "children") and not node.args:
                return self._container(f.value)
            return False
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self.receiver:
            return isinstance(getattr(self.instance, node.attr, None),
                              (nn.ModuleList, nn.Sequential, nn.ModuleDict))
        return False

    def visit_For(self, node: ast.For):
        if self._container(node.iter):
            for name in ast.walk(node.target):
                if isinstance(name, ast.Name):
                    self.submodules.add(name.id)
        self.generic_visit(node)

    def flag(self, node, why: str):
        if self.risk is None:
            self.risk = f"{why} (line {getattr(node, 'lineno', '?')})"

    def visit_Call(self, node: ast.Call):
        self._call(node)
        self.generic_visit(node)

    def _call(self, node: ast.Call):
        f = node.func
        if isinstance(f, ast.Name):
            if f.id in self.submodules:
                return
            if f.id not in SAFE_CALLS:
                self.flag(node, f"call of {f.id}()")
            elif f.id == "normalize":
                self._normalize_dim(node)
            return
        if isinstance(f, ast.Subscript) and self._container(f.value):
            return  # self.blocks[i](x): a submodule
        if not isinstance(f, ast.Attribute):
            self.flag(node, "a computed call")
            return
        name, owner = f.attr, _dotted(f.value)
        if owner == self.receiver:
            if name in self.methods:
                self.pending.append(name)
                return
            target = getattr(self.instance, name, None)
            if target is None or isinstance(target, nn.Module):
                return  # a submodule (judged by its own type or source), or an optional one left None
            self.flag(node, f"self.{name}()")
            return
        if owner == "super()" or (isinstance(f.value, ast.Call) and _dotted(f.value.func) == "super"):
            self.pending.append(name)
            return
        module_call = owner in MODULE_ROOTS or owner.startswith(("torch.", "nn."))
        tensor_arg = 1 if module_call else 0   # torch.mean(x, 1) vs x.mean(1)
        if name == "normalize":
            self._normalize_dim(node)
        elif name in ("view", "reshape"):
            if not (node.args and _is_batch_size(node.args[0])):
                self.flag(node, f".{name}() without x.size(0) first")
        elif name == "flatten":
            dim = _dim_arg(node, tensor_arg)
            if dim is None or not _safe_dim(dim):
                self.flag(node, "flatten() from dim 0")
        elif name == "permute":
            first = node.args[tensor_arg] if len(node.args) > tensor_arg else None
            if not (isinstance(first, ast.Constant) and first.value == 0):
                self.flag(node, "permute() that moves dim 0")
        elif name in DIM_CALLS:
            dim = _dim_arg(node, tensor_arg)
            if dim is None or not _safe_dim(dim):
                self.flag(node, f"{name}() without a dim other than 0")
        elif name not in SAFE_CALLS:
            self.flag(node, f"{name}()")

    def _normalize_dim(self, node: ast.Call):
        # F.normalize(x, p=2.0, dim=1): per sample by default, across the batch with dim=0
        dim = _dim_arg(node, 2)
        if dim is not None and not _safe_dim(dim):
            self.flag(node, "normalize() over dim 0")

    def visit_BinOp(self, node: ast.BinOp):
        if isinstance(node.op, ast.MatMult):
            self.flag(node, "a matrix product (@)")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript):
        target = node.value
        on_self = isinstance(target, ast.Attribute) and _dotted(target).startswith(self.receiver + ".")
        index = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) and node.slice.elts else node.slice
        keeps_batch = (isinstance(index, ast.Slice) and index.lower is None and index.upper is None
                       and index.step is None) or (isinstance(index, ast.Constant) and index.value is Ellipsis)
        shape_query = isinstance(target, ast.Attribute) and target.attr == "shape"
        if not (on_self or keeps_batch or shape_query or isinstance(node.ctx, ast.Store)
                or self._tuple_output(target, index)):
            self.flag(node, "indexing that may select along dim 0")
        self.generic_visit(node)

    def _tuple_output(self, target, index) -> bool:
        """`self.attn(q, k, v)[0]`, `self.lstm(x)[0]`: a constant index into the tuple that these
        torch layers return, not into a batch."""
        if not (isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute)
                and isinstance(index, ast.Constant) and isinstance(index.value, int)):
            return False
        f = target.func
        layer = (getattr(self.instance, f.attr, None)
                 if isinstance(f.value, ast.Name) and f.value.id == self.receiver else None)
        return isinstance(layer, TUPLE_LAYERS)

    def visit_Global(self, node):
        self.flag(node, "global state")

    def visit_Nonlocal(self, node):
        self.flag(node, "nonlocal state")

    def visit_Lambda(self, node):
        self.flag(node, "a lambda")


def _user_classes(module: nn.Module) -> list:
    return [c for c in type(module).__mro__
            if c not in (nn.Module, object) and not c.__module__.startswith("torch.")]


def _parsed(obj) -> ast.Module:
    """The AST of `obj`'s source, its line numbers as in the file (or notebook cell) it came from."""
    lines, start = inspect.getsourcelines(obj)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    ast.increment_lineno(tree, max(start, 1) - 1)
    return tree


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_UNREADABLE = (OSError, TypeError, SyntaxError, IndentationError)


def _class_functions(cls) -> list:
    """The FunctionDefs of `cls`'s body. A class typed into a notebook cell has no file inspect can
    find, but each of its functions does (the cell is in linecache): those are parsed one by one."""
    try:
        tree = _parsed(cls)
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        return [node for node in body if isinstance(node, _FUNCTIONS)]
    except _UNREADABLE:
        pass
    nodes = []
    for obj in vars(cls).values():
        fn = getattr(obj, "__func__", obj)  # staticmethod / classmethod
        if not inspect.isfunction(fn):
            continue
        tree = _parsed(fn)  # raises when this cannot be read either
        if tree.body and isinstance(tree.body[0], _FUNCTIONS):
            nodes.append(tree.body[0])
    return nodes


@functools.lru_cache(maxsize=512)
def _methods(classes: tuple) -> tuple:
    """name -> FunctionDef over the user's classes (most derived first), or a reason they can't be read.
    Cached per class tuple: reading and parsing source is the expensive part (a notebook that
    redefines a class makes a new class object, hence a new entry)."""
    found: dict = {}
    for cls in classes:
        try:
            nodes = _class_functions(cls)
        except _UNREADABLE:
            return None, f"the source of {cls.__name__} cannot be read"
        for node in nodes:
            found.setdefault(node.name, node)
    return found, None


def _source_risk(module: nn.Module) -> Optional[str]:
    """Scan `forward` and the methods it calls; None when all of it keeps samples apart."""
    classes = tuple(_user_classes(module))
    methods, problem = _methods(classes)
    if problem:
        return problem
    if "forward" not in methods:
        return f"{type(module).__name__} inherits forward from a torch class it changes"
    scan = _Scan(module, methods)
    todo, done = ["forward"], set()
    while todo and scan.risk is None:
        name = todo.pop()
        if name in done or name not in methods:
            continue
        done.add(name)
        scan.scan_method(methods[name])
        todo.extend(scan.pending)
        scan.pending = []
    return f"{type(module).__name__}: {scan.risk}" if scan.risk else None


def _batch_first(m: nn.Module) -> bool:
    """batch_first of a sequence layer; Transformer layers keep it on their attention."""
    flag = getattr(m, "batch_first", None)
    if flag is None and isinstance(getattr(m, "self_attn", None), nn.Module):
        flag = getattr(m.self_attn, "batch_first", None)
    return bool(flag)


def _torch_module_risk(module: nn.Module, input_dims: list) -> Optional[str]:
    name = type(module).__name__
    if name in SAFE_TYPES:
        return None
    if name == "Flatten":
        for nd in input_dims or [2]:
            if (module.start_dim + nd if module.start_dim < 0 else module.start_dim) == 0:
                return "Flatten from dim 0"
        return None
    if name == "Unflatten":
        return "Unflatten of dim 0" if module.dim == 0 else None
    if name in DIM_TYPES:
        dim = getattr(module, "dim", None)
        if dim is None:
            return f"{name} without dim"
        for nd in input_dims:
            if nd and dim % nd == 0:
                return f"{name}(dim={dim}) over the batch"
        return None
    if name in SEQ_TYPES:
        return None if _batch_first(module) else f"{name} without batch_first"
    if name in SEQ_CONTAINERS:
        layers = [m for m in module.modules() if type(m).__name__ in SEQ_TYPES]
        if layers and all(_batch_first(m) for m in layers):
            return None
        return f"{name} without batch_first"
    return f"{name} is not known to keep samples apart"


def per_sample_by_construction(model: nn.Module, trace) -> tuple:
    """(True, reason) when every module that ran is known to keep samples apart; else (False, why)."""
    by_name = dict(model.named_modules())
    modules, dims = {}, {}
    for c in trace.calls:
        m = by_name.get(c.name)
        if m is None:
            return False, f"{c.name or c.type} ran without being registered"
        modules[id(m)] = m
        dims.setdefault(id(m), []).extend(len(s.shape) for s in c.inputs[:1])
    if not modules:
        return False, "no module call was recorded"
    verdicts: dict = {}
    for key, m in modules.items():
        if m._forward_hooks or m._forward_pre_hooks:
            return False, f"{type(m).__name__} has forward hooks"
        if _user_classes(m):
            cls = type(m)
            if cls not in verdicts:   # one scan per class and trace
                verdicts[cls] = _source_risk(m)
            risk = verdicts[cls]
        else:
            risk = _torch_module_risk(m, dims.get(key, []))
        if risk:
            return False, risk
    return True, f"all {len(modules)} modules that ran keep samples apart by construction"
