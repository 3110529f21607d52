"""NBD260 missing-nonlinearity: a Linear/Conv feeds another Linear/Conv directly (or through
pass-through layers such as Dropout, Flatten, Identity, or a batch norm, which is affine per feature),
so the two collapse into one linear map."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Rule
from .helpers import (ALL_NORM_TYPES, CONV_TYPES, LINEAR_TYPES, NORM_TYPES, PASSTHROUGH_TYPES, ancestors,
                      leaf_calls)

MAPS = tuple(t for t in LINEAR_TYPES if t != "Bilinear") + CONV_TYPES
# what a value crosses without meeting a non-linearity: a batch norm scales and shifts each feature
# (by running or batch statistics), so Linear -> BatchNorm -> Linear is still one affine map
CROSSED = PASSTHROUGH_TYPES + NORM_TYPES


def _width(call, side: str):
    a = call.attrs
    return a.get(f"{side}_features", a.get(f"{side}_channels"))


def _depthwise(call) -> bool:
    groups = call.attrs.get("groups") or 1
    return groups > 1 and groups == call.attrs.get("in_channels")


def _bottleneck(a, b) -> bool:
    """A low-rank factorisation (d -> r -> d' with r smaller than both): linear on purpose."""
    r, d_in, d_out = _width(a, "out"), _width(a, "in"), _width(b, "out")
    return None not in (r, d_in, d_out) and r < d_in and r < d_out


def _identity(call) -> bool:
    """An activation that computes nothing: `nn.LeakyReLU(True)` means negative_slope=True, that is 1.0
    (the `inplace=True` it was meant to be is the second argument)."""
    return call.type in ("LeakyReLU", "RReLU") and call.attrs.get("negative_slope", call.attrs.get("lower")) == 1


def _next_maps(by_input: dict, a, uses: dict) -> list:
    """Linear maps that receive a's output through nothing but pass-through layers and batch norms,
    none of whose outputs is also used elsewhere (SimSiam's projector output, normalised, goes to the
    predictor and to the loss: it must exist on its own)."""
    found, refs, seen = [], [a.outputs[0].ref], set()
    while refs:
        ref = refs.pop()
        if ref in seen:
            continue
        seen.add(ref)
        for c in by_input.get(ref, ()):
            if c.index <= a.index:
                continue
            if (c.type in CROSSED or _identity(c)) and c.outputs:
                if uses.get(str(c.index), 0) <= 1:
                    refs.append(c.outputs[0].ref)
            elif c.type in MAPS:
                found.append(c)
    return found


CONTAINER_TYPES = ("Sequential", "ModuleList", "ModuleDict")


def _around_b(trace, a, b) -> bool:
    """b sits inside a custom module that receives a's output and returns a tensor none of its own
    layers output (x + f(x)): a's output also reaches the result by a path around b, so a and b do
    not compose into one map (a residual stream entering a block that starts with a Linear)."""
    ref = a.outputs[0].ref
    for k in ancestors(trace, b):
        if k.type in CONTAINER_TYPES or not any(s.ref == ref for s in k.inputs):
            continue
        out_refs = {s.ref for s in k.outputs}
        inner = {s.ref for c in trace.calls if c.index > k.index
                 and k.index in {x.index for x in ancestors(trace, c)}
                 for s in c.outputs}
        if out_refs and not out_refs & inner:
            return True
        # not here: a block nested in a residual one (x + block2(block1(x))) passes its input on too
    return False


ACTIVATING = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
              "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh", "Hardtanh", "Softplus", "Softsign", "GLU")


def _block_of(trace, c):
    """The nearest custom (non-container) module call around c."""
    return next((k for k in ancestors(trace, c) if k.type not in CONTAINER_TYPES), None)


def _between_blocks(trace, a, b) -> bool:
    """a ends one block and b starts the next block of the same class, and a's block has its own
    activations: the linear bottleneck of inverted-residual designs (MobileNetV2/V3, EfficientNet),
    where the projection is kept linear on purpose (Sandler et al. 2018)."""
    ka, kb = _block_of(trace, a), _block_of(trace, b)
    if ka is None or kb is None or ka.index == kb.index or ka.type != kb.type or ka.parent is None:
        return False
    inside = [c for c in trace.calls if ka.index < c.index < a.index and ka in ancestors(trace, c)]
    return any(c.type in ACTIVATING for c in inside)


NORMALISING = ALL_NORM_TYPES + ("RMSNorm",)


def _into_unit(trace, a, b) -> bool:
    """b opens an nn.Sequential unit of its own (conv/linear, then a norm or an activation) that a is
    not part of: a sub-network's linear output (an FPN level, a projection) entering the next stage's
    conv-norm-act block, a boundary between modules rather than a forgotten activation."""
    if b.parent is None or not 0 <= b.parent < len(trace.calls) or a.parent == b.parent:
        return False
    unit = trace.calls[b.parent]
    kids = children_of(trace, unit.index)
    if unit.type != "Sequential" or not kids or kids[0].index != b.index or unit in ancestors(trace, a):
        return False
    return any(c.type in NORMALISING or c.type in ACTIVATING for c in kids[1:])


def _pairs(trace) -> list:
    leaves = leaf_calls(trace)
    by_input: dict = {}
    for c in leaves:
        if c.inputs:
            by_input.setdefault(c.inputs[0].ref, []).append(c)
    uses = trace.checks.get("output_uses") or {}
    pairs = []
    for a in leaves:
        if a.type not in MAPS or not a.outputs or _depthwise(a):
            continue
        if uses.get(str(a.index), 0) > 1:
            continue  # a's output also goes somewhere else (a residual, a concat): it must exist apart
        for b in _next_maps(by_input, a, uses):
            if not _depthwise(b) and not _around_b(trace, a, b):
                pairs.append((a, b))
    return pairs


def _chains(pairs) -> list:
    nxt = {}
    for a, b in pairs:
        nxt.setdefault(a.index, (a, b))
    heads = [a for a, _ in pairs if not any(b.index == a.index for _, b in pairs)]
    chains = []
    for head in heads:
        chain, cur = [head], head
        while cur.index in nxt and len(chain) < 64:
            cur = nxt[cur.index][1]
            chain.append(cur)
        if chain not in chains:
            chains.append(chain)
    return chains


def _collapsed(chain) -> str:
    if all(c.type == "Linear" for c in chain):
        d_in, d_out = _width(chain[0], "in"), _width(chain[-1], "out")
        if d_in is not None and d_out is not None:
            return f"`nn.Linear({d_in}, {d_out})`"
    return "one linear map"


def _sequential_with_relus(trace, chain) -> str:
    """`nn.Sequential(nn.Linear(20, 64), nn.ReLU(), ...)` when the chain is Linear children of one
    nn.Sequential (the usual place an activation is forgotten); '' otherwise."""
    parents = {c.parent for c in chain}
    if len(parents) != 1 or None in parents or trace.calls[chain[0].parent].type != "Sequential":
        return ""
    if not all(c.type == "Linear" and _width(c, "in") and _width(c, "out") for c in chain):
        return ""
    parts = ", nn.ReLU(), ".join(f"nn.Linear({_width(c, 'in')}, {_width(c, 'out')})" for c in chain)
    return f"nn.Sequential(..., {parts}, ...)" if len(children_of(trace, chain[0].parent)) > len(chain) \
        else f"nn.Sequential({parts})"


def children_of(trace, index) -> list:
    return [c for c in trace.calls if c.parent == index]


def check(trace):
    for chain in _chains(_pairs(trace)):
        links = list(zip(chain, chain[1:]))
        low_rank = all(_bottleneck(a, b) for a, b in links)
        by_design = low_rank or all(_bottleneck(a, b) or _between_blocks(trace, a, b) or _into_unit(trace, a, b)
                                    for a, b in links)
        unit_start = not low_rank and any(_into_unit(trace, a, b) for a, b in links)
        names = " → ".join(f"`{c.name}` ({c.type})" for c in chain)
        message = (f"{names} follow each other with no activation in between, so together they compute "
                   f"no more than {_collapsed(chain)}.")
        if low_rank:
            message += " The middle width is smaller than both ends: a low-rank factorisation, if intended."
        elif by_design and unit_start:
            message += (f" `{chain[-1].name}` opens a unit of its own with a normalisation or activation after "
                        f"it, and the first layer's output is another module's result (an FPN level, a "
                        f"projection): redundant at most, if intended.")
        elif by_design:
            message += (" They end one block and start the next: the linear bottleneck of inverted-residual "
                        "designs (MobileNetV2/V3), if intended.")
        after = ", ".join(f"`{c.name}`" for c in chain[:-1])
        fix = (f"Add a non-linearity after {after} (e.g. `nn.ReLU()` between them in the nn.Sequential, "
               f"or `F.relu(...)` in forward), or drop the extra layers if one linear map is enough.")
        rebuilt = _sequential_with_relus(trace, chain)
        if rebuilt:
            fix = f"Put an activation between them: `{rebuilt}`."
        outs = {c.outputs[0].ref for c in chain[:-1] if c.outputs}
        fake = [c for c in trace.calls if _identity(c) and c.inputs and c.inputs[0].ref in outs]
        if fake:
            message += (f" The `{fake[0].type}` between them (`{fake[0].name}`) has negative_slope=1, the "
                        f"identity: `nn.{fake[0].type}(True)` sets the slope, not `inplace`.")
            fix = (f"Give the slope first: `nn.{fake[0].type}(0.2, inplace=True)` (or "
                   f"`nn.{fake[0].type}(negative_slope=0.2)`).")
        yield RULE.finding(chain[0].name, message, fix, call=chain[0].index,
                           severity="info" if by_design else None,
                           evidence={"chain": [c.name for c in chain], "low_rank": low_rank,
                                     "between_blocks": by_design and not low_rank})


def _bad_conv_stack():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))
    return dict(model=m, inputs=torch.randn(2, 3, 8, 8))


def _bad_linear_dropout_linear():
    torch.manual_seed(0)

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(12, 48)
            self.drop = nn.Dropout(0.2)
            self.out = nn.Linear(48, 5)

        def forward(self, x):
            return self.out(self.drop(self.hidden(x)))

    return dict(model=Head(), inputs=torch.randn(6, 12))


def _bad_batchnorm_between_linears():
    # BatchNorm is not an activation: the forgotten ReLU of a "Linear, BatchNorm, ReLU" block
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.Linear(32, 32), nn.BatchNorm1d(32),
                      nn.Linear(32, 2))
    return dict(model=m, inputs=torch.randn(16, 10))


def _bad_leaky_relu_slope_one():
    # nn.LeakyReLU(True) was meant as inplace=True, but the first argument is the slope: 1.0, the identity
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1), nn.LeakyReLU(True), nn.Conv2d(8, 8, 4, 2, 1), nn.LeakyReLU(True),
                      nn.Flatten(), nn.Linear(8 * 2 * 2, 1))
    return dict(model=m, inputs=torch.randn(4, 3, 8, 8))


def _good_conv_bn_relu_blocks():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                      nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(8, 2))
    return dict(model=m, inputs=torch.randn(4, 3, 8, 8))


def _good_with_activations():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 32), nn.GELU(),
                      nn.Linear(32, 2))
    return dict(model=m, inputs=torch.randn(4, 10))


def _good_depthwise_separable():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 16, 1), nn.ReLU())
    return dict(model=m, inputs=torch.randn(2, 8, 6, 6))


def _good_residual_stream_into_block():
    # stem Linear -> block(x) = x + relu(fc(x)): the stem's output also reaches the block's result
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x):
            return x + torch.relu(self.fc(x))

    return dict(model=nn.Sequential(nn.Linear(4, 16), Block(), Block(), nn.Linear(16, 1)),
                inputs=torch.randn(5, 4))


def _good_residual_around_nested_blocks():
    # stem Linear -> encoder(x) = block2(block1(x)) + x, each block starting with a Linear: the residual
    # sits one level above the block that holds the second map
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.block1, self.block2 = Block(), Block()

        def forward(self, x):
            return self.block2(self.block1(x)) + x

    return dict(model=nn.Sequential(nn.Linear(5, 8), Encoder(), nn.Linear(8, 3)), inputs=torch.randn(6, 5))


def _good_post_norm_residual_message_passing():
    # stem Linear -> layer(h) = norm(h + gelu(upd(cat(h, msg(h))))): the message Linear reads the stem's
    # output, but so do the concat and the residual sum, so the stem's output is needed on its own
    torch.manual_seed(0)

    class MessageLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.msg, self.upd, self.norm = nn.Linear(8, 8), nn.Linear(16, 8), nn.LayerNorm(8)

        def forward(self, h):
            agg = self.msg(h).roll(1, dims=1)   # each node hears its neighbour
            return self.norm(h + torch.nn.functional.gelu(self.upd(torch.cat([h, agg], -1))))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.layer, self.head = nn.Linear(3, 8), MessageLayer(), nn.Linear(8, 2)

        def forward(self, x):
            return self.head(self.layer(self.inp(x)).mean(1))

    return dict(model=Net(), inputs=torch.randn(4, 5, 3))


class _InvertedResidual(nn.Module):
    """expand 1x1 (when widening) -> depthwise -> project 1x1, the projection linear (MobileNetV2)."""
    def __init__(self, cin, exp, cout):
        super().__init__()
        layers = [nn.Conv2d(cin, exp, 1), nn.BatchNorm2d(exp), nn.ReLU6()] if exp != cin else []
        layers += [nn.Conv2d(exp, exp, 3, padding=1, groups=exp), nn.BatchNorm2d(exp), nn.ReLU6(),
                   nn.Conv2d(exp, cout, 1), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


def _good_linear_bottleneck_between_blocks():
    # the first block does not expand, so its 16 -> 16 projection meets the next block's 16 -> 64
    # expansion with only a batch norm between them, by design
    torch.manual_seed(0)
    m = nn.Sequential(_InvertedResidual(16, 16, 16), _InvertedResidual(16, 64, 24), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(24, 3))
    return dict(model=m, inputs=torch.randn(4, 16, 8, 8), target=torch.arange(4) % 3)


def _good_normalised_embedding_also_used_by_the_loss():
    # SimSiam: the projector ends Linear -> BatchNorm, and that embedding goes both to the predictor's
    # Linear and, returned, to the loss
    torch.manual_seed(0)

    class Siam(nn.Module):
        def __init__(self):
            super().__init__()
            self.projector = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16, bias=False),
                                           nn.BatchNorm1d(16, affine=False))
            self.predictor = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 16))

        def forward(self, x):
            z = self.projector(x)
            return self.predictor(z), z

    return dict(model=Siam(), inputs=torch.randn(12, 8),
                loss=lambda out, t: -F.cosine_similarity(out[0], out[1].detach(), dim=-1).mean(),
                target=torch.zeros(12))


def _good_low_rank_adapter():
    torch.manual_seed(0)

    class LoRALinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.base = nn.Linear(32, 32)
            self.down = nn.Linear(32, 4, bias=False)
            self.up = nn.Linear(4, 32, bias=False)

        def forward(self, x):
            return torch.relu(self.base(x) + self.up(self.down(x)))

    return dict(model=LoRALinear(), inputs=torch.randn(3, 32))


class _PyramidHead(nn.Module):
    """FPN style: a linear 3x3 smoothing conv per level, then each level's conv-norm-act head."""

    def __init__(self):
        super().__init__()
        self.lateral = nn.ModuleList([nn.Conv2d(c, 8, 1) for c in (4, 8)])
        self.smooth = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(2)])
        self.heads = nn.ModuleList([nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.GroupNorm(2, 8), nn.ReLU())
                                    for _ in range(2)])
        self.down = nn.Sequential(nn.Conv2d(4, 8, 3, 2, 1), nn.ReLU())
        self.cls = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        c2 = x
        c3 = self.down(x)
        p3 = self.lateral[1](c3)
        p2 = self.lateral[0](c2) + F.interpolate(p3, size=c2.shape[-2:])
        outs = [self.heads[i](self.smooth[i](p)) for i, p in enumerate((p2, p3))]
        return self.cls(outs[0] + F.interpolate(outs[1], size=c2.shape[-2:]))


def _good_fpn_levels_into_conv_norm_act_heads():
    torch.manual_seed(0)
    return dict(model=_PyramidHead(), inputs=torch.randn(2, 4, 8, 8), target=torch.randint(0, 3, (2, 8, 8)))


RULE = Rule(
    code="NBD260",
    cause="missing-nonlinearity",
    severity="warning",
    title="Two linear layers in a row with no activation between them",
    explanation=(
        "A composition of linear maps is a linear map: Linear(20, 64) followed directly by Linear(64, 3) "
        "can only compute what a single Linear(20, 3) computes, with more parameters and a harder "
        "optimisation. The same holds for convolutions. Usually an activation was forgotten in an "
        "nn.Sequential, or a forward calls the layers one after the other without F.relu. Pass-through "
        "layers (Dropout, Flatten, Identity) do not count as activations, and neither does BatchNorm: it "
        "scales and shifts each feature, so Linear → BatchNorm → Linear is still one affine map."
    ),
    fix="Insert an activation (ReLU, GELU, Tanh) between the two layers.",
    check=check,
    bad=[_bad_conv_stack, _bad_linear_dropout_linear, _bad_batchnorm_between_linears, _bad_leaky_relu_slope_one],
    good=[_good_with_activations, _good_conv_bn_relu_blocks, _good_depthwise_separable,
          _good_low_rank_adapter, _good_residual_stream_into_block, _good_residual_around_nested_blocks,
          _good_post_norm_residual_message_passing, _good_linear_bottleneck_between_blocks,
          _good_normalised_embedding_also_used_by_the_loss, _good_fpn_levels_into_conv_norm_act_heads],
    needs="forward",
    thresholds=(
        "No number: the output tensor of a Linear/Conv call (same tensor identity, followed through "
        "Dropout/Flatten/Identity and batch-norm calls) is the input of the next Linear/Conv call. "
        "Not reported for "
        "depthwise-separable pairs (a depthwise conv, groups = in_channels, then a pointwise one: "
        "Chollet 2017), nor when the second layer sits in a custom module that receives the first one's "
        "output and returns a tensor none of its layers produced (a skip connection x + f(x)), nor when "
        "the autograd graph shows the first layer's output consumed by more than one op (a residual "
        "inside a post-norm block, a concat): it must then exist on its own; a pair that ends one block "
        "and starts the next block of the same class, whose own layers include an activation (the "
        "linear bottleneck of MobileNetV2/V3), and a "
        "low-rank bottleneck (middle width smaller than both ends, as in LoRA) is "
        "reported as info only."
    ),
)
