"""NBD111 dtype-mismatch: floating-point values fed to nn.Embedding, which needs integer ids."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, producer, shape
from .layout import EMBEDDING_TYPES, first_input, forward_error, input_name, is_int_dtype, label, \
    model_input_of, raised_calls


def check(trace):
    if not forward_error(trace):
        return
    for call in raised_calls(trace):
        if call.type not in EMBEDDING_TYPES:
            continue
        # EmbeddingBag's offsets are ids too (its third argument, per-sample weights, is float by design)
        ids = call.inputs[:2] if call.type == "EmbeddingBag" else [first_input(call)]
        s = next((t for t in ids if t is not None and not is_int_dtype(t.dtype)), None)
        if s is None:
            continue
        src = model_input_of(trace, s)
        var = input_name(src) if src is not None else "ids"
        whole = s.extra.get("integral_frac")
        looks_like_ids = s.has_values and s.min >= 0 and (whole is None or whole >= 0.999)
        if src is None:
            made = producer(trace, s.ref, before=call.index)
            what = f"the {s.dtype} tensor {shape(s)}" + (f" from {label(made)}" if made is not None and made.name else "")
        else:
            what = f"the {s.dtype} input {shape(s)}"
        message = f"{label(call)} looks up rows by integer id, but receives {what}"
        if looks_like_ids:
            message += f" (values {fmt(s.min)}..{fmt(s.max)})."
            fix = f"Pass the ids as integers: `{var}.long()` (keep token ids int64 from the tokenizer on)."
        else:
            message += f" with values {fmt(s.min)}..{fmt(s.max)}, which are not ids."
            fix = ("These are continuous features, not token ids: feed them to `nn.Linear`, or map each "
                   "category to an integer id first and pass `ids.long()`.")
        yield RULE.finding("input" if src is not None else call.name, message, fix, call=call.index,
                           evidence={"layer": call.name, "dtype": s.dtype})
        return


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(40, 8)
        self.fc = nn.Linear(8, 3)

    def forward(self, ids):
        return self.fc(self.tok(ids).mean(1))


def _bad_float_token_ids():
    torch.manual_seed(0)
    return dict(model=_Encoder(), inputs=torch.randint(0, 40, (4, 6)).float())


def _bad_features_into_embedding():
    torch.manual_seed(0)
    return dict(model=_Encoder(), inputs=torch.randn(4, 6))


class _Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(50, 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, ids, offsets):
        return self.fc(self.bag(ids, offsets))


def _bad_float_bag_offsets():
    torch.manual_seed(0)
    return dict(model=_Bag(), inputs=(torch.randint(0, 50, (12,)), torch.tensor([0.0, 4.0, 9.0])))


def _good_long_ids():
    torch.manual_seed(0)
    return dict(model=_Encoder(), inputs=torch.randint(0, 40, (4, 6)))


RULE = Rule(
    code="NBD111",
    cause="dtype-mismatch",
    severity="error",
    title="Float values fed to an Embedding",
    explanation=(
        "`nn.Embedding` is a lookup table: its input must be integer ids (int64 or int32). Ids that went "
        "through a float tensor (a numpy array of floats, `torch.tensor(list_of_floats)`, a collate that "
        "stacks with other float columns) raise \"Expected tensor for argument #1 'indices' to have one of "
        "the following scalar types: Long, Int\". When the values are not whole numbers, they were never "
        "ids: continuous features belong in a Linear layer."
    ),
    fix="Pass token ids as int64 (`ids.long()`); feed continuous features to `nn.Linear` instead.",
    check=check,
    bad=[_bad_float_token_ids, _bad_features_into_embedding, _bad_float_bag_offsets],
    good=[_good_long_ids],
    needs="forward",
    thresholds="Structural: the raising Embedding received a floating tensor. Values >= 0 and whole "
               "(all of them, when the input's integral fraction is known) select the `.long()` fix.",
)
