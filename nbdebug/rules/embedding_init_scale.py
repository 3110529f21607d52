"""NBD203 bad-init: an embedding table initialised far above unit scale (`nn.init.normal_(emb.weight,
std=100)`, a table loaded in the wrong units), so every token vector is huge before the first layer.

Fan-in based scales (NBD201) mean nothing for a lookup table: PyTorch's default is N(0, 1), and
GPT-style models use std 0.02; both are far below this rule's threshold."""
import math

import torch
import torch.nn as nn

from .base import Rule
from .helpers import first_calls, fmt, module_expr, rms

EMBEDDING_TYPES = ("Embedding", "EmbeddingBag")
TOO_LARGE = 10.0   # rms of the table: 10x PyTorch's default N(0, 1)


def check(trace):
    calls = first_calls(trace)
    for p in trace.params:
        call = calls.get(p.module)
        if call is None or call.type not in EMBEDDING_TYPES or p.name.rsplit(".", 1)[-1] != "weight":
            continue
        scale = rms(p.stats) if p.stats is not None else math.nan
        if not scale >= TOO_LARGE:
            continue
        message = (f"`{p.name}` ({call.type}, {p.shape[0]} × {p.shape[-1]}) has an rms of {fmt(scale)}, "
                   f"{fmt(scale)}× PyTorch's default N(0, 1): every token's vector is that large before the "
                   f"first layer, which saturates squashing layers and blows up attention scores.")
        fix = (f"Initialise it at unit scale or below: `nn.init.normal_({module_expr(p.module)}.weight, std=1.0)` "
               f"(0.02 in GPT-style models), or check the units of a loaded table.")
        yield RULE.finding(p.module, message, fix, call=call.index, evidence={"rms": scale})


def _bag(std):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            if std is not None:
                nn.init.normal_(self.emb.weight, std=std)
            self.fc = nn.Linear(8, 2)

        def forward(self, ids):
            return self.fc(self.emb(ids).mean(1))

    return dict(model=Net(), inputs=torch.randint(0, 50, (4, 6)))


def _bad_std_100_table():
    return _bag(100.0)


def _good_default_table():
    return _bag(None)


def _good_gpt_style_table():
    return _bag(0.02)


RULE = Rule(
    code="NBD203",
    cause="bad-init",
    severity="warning",
    title="Embedding table initialised far above unit scale",
    explanation=(
        "An embedding layer looks its rows up instead of multiplying, so there is no fan-in to scale by: "
        "PyTorch initialises tables from N(0, 1) and many language models from N(0, 0.02). A table ten or "
        "a hundred times larger hands the first layer inputs that large, which saturates tanh/sigmoid "
        "layers, overflows attention logits and makes the first steps' gradients huge."
    ),
    fix="Initialise the table with `nn.init.normal_(weight, std=1.0)` or smaller.",
    check=check,
    bad=[_bad_std_100_table],
    good=[_good_default_table, _good_gpt_style_table],
    needs="forward",
    thresholds="The table's rms >= 10, ten times PyTorch's default N(0, 1) (own choice: far beyond any "
               "common initialisation, GPT-2's 0.02 and PyTorch's 1.0 included).",
)
