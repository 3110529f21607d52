"""NBD292 no-gradient: modules with trainable parameters that forward never called (an unused branch,
a layer defined but forgotten), so they get no gradient and never train."""
import torch
import torch.nn as nn

from .base import Rule
from .cut_from_graph import group_by_ancestor
from .helpers import backward_ran, training_intent, values_in


def _uncalled_heads(top: str, names: set, called: set) -> list:
    """The modules to name for group `top`: `top` itself when forward never called it; when it ran but
    skipped some of its children (`blocks.2` ran, `blocks.2.body` did not), those children."""
    if top not in called:
        return [top]
    heads = []
    for name in sorted(n for n in names if n.startswith(top + ".")):
        parts = name.split(".")
        for cut in range(top.count(".") + 2, len(parts) + 1):
            head = ".".join(parts[:cut])
            if head not in called:
                if not any(head == h or head.startswith(h + ".") for h in heads):
                    heads.append(head)
                break
    return heads or [top]


def _signature(trace, prefix: str) -> list:
    return sorted((p.name[len(prefix) + 1:], tuple(p.shape)) for p in trace.params
                  if p.module == prefix or p.module.startswith(prefix + "."))


def _skipped_by_sibling(trace, head: str, called: set) -> str:
    """A module like `head` that forward did run, so this call skipped `head` on purpose (stochastic
    depth, layer drop, an early exit) rather than forgetting it: an owner of the same class that
    called the same child, or, inside a ModuleList, an item with the same parameters while `head`
    sits between others (a loop that skips its last item is more likely off by one), or, when the
    list is routed into (items that ran on both sides of one that did not: mixture-of-experts), anywhere;
    or an item of a ModuleDict when another item of it ran (picked by key: a multi-task head)."""
    owner, _, attr = head.rpartition(".")
    if owner in (trace.checks.get("module_dicts") or ()):
        # a ModuleDict's items are picked by key (a task, a domain, a head per dataset)
        ran = sorted(n for n in called if n.rpartition(".")[0] == owner and n != head)
        if ran:
            return ran[0]
    types = {c.name: c.type for c in trace.calls}
    if owner in types:
        for name, kind in types.items():
            if name != owner and kind == types[owner] and f"{name}.{attr}" in called:
                return name
    if not attr.isdigit():
        return ""
    prefix = f"{owner}." if owner else ""
    items = {int(n[len(prefix):].split(".")[0]) for n in {p.module for p in trace.params}
             if n.startswith(prefix) and n[len(prefix):].split(".")[0].isdigit()}
    ran = {k for k in items if f"{prefix}{k}" in called}
    # items skipped between items that ran: the list is routed into (mixture-of-experts, layer drop),
    # not walked in a loop, so its first or last item may sit idle too
    routed = bool(ran) and any(min(ran) < k < max(ran) for k in items - ran)
    if not items or (int(attr) in (min(items), max(items)) and not routed):
        return ""
    mine = _signature(trace, head)
    for k in sorted(items):
        name = f"{prefix}{k}"
        if name != head and name in called and _signature(trace, name) == mine:
            return name
    return ""


def check(trace):
    if not backward_ran(trace) or trace.checks.get("loss_without_grad"):
        return
    called = {c.name for c in trace.calls} | set((trace.checks.get("calls_not_recorded") or {}).keys())

    def unused(p):
        # a gradient means its weights were used by another module (MultiheadAttention's out_proj)
        return p.grad_norm is None and p.module not in called

    names = {p.module for p in trace.params if p.requires_grad and unused(p)}
    if not names:
        return
    serious = training_intent(trace) and trace.training
    for group in group_by_ancestor(names, trace.params, unused):
        for top in _uncalled_heads(group, names, called):
            yield _finding(trace, top, called, serious)


def _finding(trace, top: str, called: set, serious: bool):
    members = [p for p in trace.params if p.requires_grad and (p.module == top or p.module.startswith(top + "."))]
    numel = values_in(members)
    owner = top.rpartition(".")[0]
    sibling = _skipped_by_sibling(trace, top, called)
    ran = f"`{owner}` ran, but " if owner in called else ""
    message = (f"{ran}`{top}` holds {len(members)} trainable parameter tensor(s) ({numel} values) and forward "
               f"never called it, so it gets no gradient in this step.")
    severity = None if serious else "info"
    if sibling and owner in (trace.checks.get("module_dicts") or ()):
        severity = "info"
        message += (f" `{sibling}` of the same ModuleDict did run: its items are picked by key (a head per "
                    f"task or dataset), and this call picked another one, which is fine if intended.")
    elif sibling:
        severity = "info"
        message += (f" `{sibling}`, built the same way, did run: this call skipped `{top}` (stochastic depth, "
                    f"layer drop, an early exit), which is fine if intended.")
    elif not serious:
        message += " (Fine for a branch used only in another mode or for other inputs.)"
    fix = (f"Call `{top}` in forward where it belongs (a branch that is never taken, a layer defined but "
           f"forgotten), or delete it so it does not waste memory and optimizer state.")
    return RULE.finding(top, message, fix, severity=severity, evidence={"params": [p.name for p in members],
                                                                       "skipped_like": sibling})



class _Forgotten(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 12)      # defined, never used
        self.out = nn.Linear(12, 2)

    def forward(self, x):
        return self.out(torch.relu(self.fc1(x)))


def _bad_forgotten_layer():
    torch.manual_seed(0)
    return dict(model=_Forgotten(), inputs=torch.randn(5, 6), target=torch.randint(0, 2, (5,)))


def _bad_branch_never_taken():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(4, 8)
            self.refine = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
            self.out = nn.Linear(8, 1)

        def forward(self, x, refine=False):
            h = torch.relu(self.enc(x))
            if refine:
                h = self.refine(h)
            return self.out(h)

    return dict(model=Net(), inputs=torch.randn(5, 4), target=torch.randn(5, 1))


def _good_all_used():
    torch.manual_seed(0)
    return dict(model=nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 2)), inputs=torch.randn(5, 6),
                target=torch.randint(0, 2, (5,)))


def _good_attention_out_proj():
    # MultiheadAttention uses out_proj's weights without calling it: they get gradients.
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    return dict(model=layer, inputs=torch.randn(2, 5, 16), target=torch.randn(2, 5, 16))


class _DropBlock(nn.Module):
    """A residual block that stochastic depth skips: the second instance returns its input."""

    def __init__(self, skip):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))
        self.skip = skip

    def forward(self, x):
        if self.training and self.skip:
            return x
        return x + self.body(x)


def _good_stochastic_depth_skips_one_block():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), _DropBlock(False), _DropBlock(True), nn.Linear(8, 1))
    return dict(model=m, inputs=torch.randn(6, 4), target=torch.randn(6, 1))


def _good_layer_dropped_from_a_module_list():
    torch.manual_seed(0)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(3))
            self.drop = [False, True, False]   # this step's LayerDrop draws

        def forward(self, x):
            for layer, drop in zip(self.layers, self.drop):
                if not (self.training and drop):
                    x = layer(x)
            return x

    return dict(model=Encoder(), inputs=torch.randn(4, 8), target=torch.randn(4, 8))


class _Routed(nn.Module):
    """Top-1 routing: each token goes to one expert (a router decides it in real code; here a fixed
    route keeps the example stable), so experts 1, 4 and 5, the last one included, get no token."""
    def __init__(self):
        super().__init__()
        self.experts = nn.ModuleList(nn.Linear(4, 4) for _ in range(6))
        self.head = nn.Linear(4, 4)
        self.register_buffer("route", torch.tensor([0, 2, 3, 0, 2, 3, 0, 2]))

    def forward(self, x):
        out = torch.zeros_like(x)
        for e in self.route.unique().tolist():
            sel = self.route == e
            out[sel] = self.experts[e](x[sel])
        return self.head(out)


def _good_top1_experts_some_idle():
    torch.manual_seed(0)
    return dict(model=_Routed(), inputs=torch.randn(8, 4), target=torch.randn(8, 4), loss=nn.MSELoss())


class _MultiTask(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 8)
        self.heads = nn.ModuleDict({"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})

    def forward(self, x, task="cls"):
        return self.heads[task](torch.relu(self.body(x)))


def _good_head_picked_by_task():
    torch.manual_seed(0)
    return dict(model=_MultiTask(), inputs={"x": torch.randn(6, 6), "task": "cls"}, target=torch.arange(6) % 3,
                loss=nn.CrossEntropyLoss())


def _bad_loop_skips_the_last_block():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(8, 8), nn.ReLU()) for _ in range(3))

        def forward(self, x):
            for i in range(len(self.blocks) - 1):   # off by one
                x = self.blocks[i](x)
            return x

    return dict(model=Net(), inputs=torch.randn(4, 8), target=torch.randn(4, 8))


def _good_unused_in_inference():
    torch.manual_seed(0)
    return dict(model=_Forgotten().eval(), inputs=torch.randn(5, 6))


RULE = Rule(
    code="NBD292",
    cause="no-gradient",
    severity="warning",
    title="Modules with parameters that forward never calls",
    explanation=(
        "A module that forward does not call takes no part in the output, gets no gradient and keeps its "
        "initial weights. Often that is a layer defined in `__init__` and forgotten in `forward`, a branch "
        "behind a flag that is never set, or a typo that calls another layer twice; the model is then "
        "smaller than intended. Sometimes it is deliberate (an auxiliary head used only in training)."
    ),
    fix="Call the module where it belongs in forward, or remove it.",
    check=check,
    bad=[_bad_forgotten_layer, _bad_branch_never_taken, _bad_loop_skips_the_last_block],
    good=[_good_all_used, _good_attention_out_proj, _good_stochastic_depth_skips_one_block,
          _good_layer_dropped_from_a_module_list, _good_unused_in_inference, _good_top1_experts_some_idle,
          _good_head_picked_by_task],
    needs="backward",
    thresholds=(
        "No number: trainable parameters with no gradient whose module was never called. A warning when "
        "the model is in training mode with a real loss or an optimizer; info otherwise (a branch used "
        "only in another mode is legal), and info when a module built the same way did run (an owner "
        "of the same class that called the same child, or a ModuleList item with the same parameters "
        "when the skipped one is not the list's first or last, or anywhere when items that ran sit on both "
        "sides of one that did not, as with routed experts; an item of a ModuleDict when another item ran, "
        "picked by key): a branch skipped for this call, as "
        "stochastic depth and layer drop do."
    ),
)
