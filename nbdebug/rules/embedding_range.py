"""NBD107 shape-mismatch: token ids outside the rows of an nn.Embedding (vocabulary larger than the
table, or negative padding ids)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import fmt, shape
from .layout import EMBEDDING_TYPES, first_input, forward_error, input_name, is_int_dtype, label, \
    model_input_of, raised_calls


def check(trace):
    if not forward_error(trace):
        return
    for call in raised_calls(trace):
        s = first_input(call)
        rows = call.attrs.get("num_embeddings")
        if call.type not in EMBEDDING_TYPES or s is None or not is_int_dtype(s.dtype) or not s.has_values:
            continue
        if not isinstance(rows, int) or (s.min >= 0 and s.max < rows):
            continue
        src = model_input_of(trace, s)
        var = input_name(src) if src is not None else "ids"
        dim = call.attrs.get("embedding_dim")
        if s.min < 0:
            message = (f"{label(call)} got ids down to {fmt(s.min)} in {shape(s)}; an embedding row index "
                       f"must be between 0 and {rows - 1}.")
            fix = (f"Reserve a real row for padding instead of id {fmt(s.min)}: "
                   f"`{var}.masked_fill({var} < 0, {rows})` with `nn.Embedding({rows + 1}, {dim}, "
                   f"padding_idx={rows})`.")
            where = "input" if src is not None else call.name
        else:
            message = (f"{label(call)} has {rows} rows (ids 0..{rows - 1}) but receives ids up to "
                       f"{fmt(s.max)}: the vocabulary is larger than the embedding table.")
            fix = (f"Size the table from the data: `nn.Embedding({int(s.max) + 1}, {dim})` at least, better "
                   f"`nn.Embedding(len(vocab), {dim})` with the tokenizer's vocabulary size.")
            where = call.name
        yield RULE.finding(where, message, fix, call=call.index,
                           evidence={"num_embeddings": rows, "min_id": s.min, "max_id": s.max})
        return


class _Bag(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, 6)
        self.head = nn.Linear(6, 2)

    def forward(self, ids):
        return self.head(self.embed(ids).mean(1))


def _bad_vocab_bigger_than_table():
    torch.manual_seed(0)
    return dict(model=_Bag(100), inputs=torch.randint(0, 120, (4, 9)))


def _bad_negative_padding():
    torch.manual_seed(0)
    ids = torch.randint(0, 30, (3, 7))
    ids[:, 5:] = -1
    return dict(model=_Bag(30), inputs=ids)


def _good_ids_in_range():
    torch.manual_seed(0)
    return dict(model=_Bag(100), inputs=torch.randint(0, 100, (4, 9)))


RULE = Rule(
    code="NBD107",
    cause="shape-mismatch",
    severity="error",
    title="Token ids outside the embedding table",
    explanation=(
        "`nn.Embedding(num_embeddings, dim)` is a table with one row per id, so every id must lie in "
        "0..num_embeddings-1; anything else raises \"index out of range in self\" (on GPU a device-side "
        "assert that poisons the CUDA context). Usual causes: the table was sized for another tokenizer or "
        "vocabulary, special tokens were added to the vocabulary later, or padding is marked with -1."
    ),
    fix="Size the table with the tokenizer's vocabulary size, and use a real row (with padding_idx) for "
        "padding.",
    check=check,
    bad=[_bad_vocab_bigger_than_table, _bad_negative_padding],
    good=[_good_ids_in_range],
    needs="forward",
    thresholds="Structural: the raising Embedding's integer input has min < 0 or max >= num_embeddings.",
)
