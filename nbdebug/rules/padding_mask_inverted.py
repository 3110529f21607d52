"""NBD297 no-gradient: a boolean key padding mask that hides most positions. In PyTorch True means
"ignore this key"; Hugging Face's attention_mask uses 1/True for "a real token". Passed as it is, it
hides the real tokens and leaves attention only the padding, so the tokens get no gradient (and a row
with no visible key turns into NaN)."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import pct

MOSTLY = 0.5           # more than half the positions hidden: padding is rarely the majority


def _masks(trace):
    """(call, input stats) of boolean *key_padding_mask inputs, outermost first, one per mask tensor."""
    seen = set()
    for c in trace.calls:
        for s in c.inputs:
            if s.path.endswith("key_padding_mask") and s.dtype == "bool" and s.has_values and s.ref not in seen:
                seen.add(s.ref)
                yield c, s


def check(trace):
    for call, mask in _masks(trace):
        hidden = mask.mean
        if not hidden > MOSTLY:
            continue
        message = (f"`{mask.path}` given to `{call.name or 'the model'}` ({call.type}) is True for "
                   f"{pct(hidden)} of the positions, and in PyTorch True means 'ignore this key': "
                   f"attention sees mostly padding, so the real tokens barely reach the output or get no "
                   f"gradient" + (", and rows with every key hidden turn into NaN." if mask.max == 1 and
                                  hidden >= 0.999 else "."))
        fix = ("Invert a Hugging Face-style attention mask (1 = real token) before passing it: "
               "`key_padding_mask = attention_mask == 0` (or `~attention_mask.bool()`); build it as "
               "`tokens == pad_id`.")
        yield RULE.finding(call.name, message, fix, call=call.index,
                           evidence={"mask": mask.path, "hidden_fraction": hidden, "shape": list(mask.shape)})


class _Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16, padding_idx=0)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, tokens, key_padding_mask):
        h = self.emb(tokens)
        return self.head(self.attn(h, h, h, key_padding_mask=key_padding_mask)[0].mean(1))


def _tokens():
    torch.manual_seed(0)
    tokens = torch.randint(1, 20, (4, 8))
    tokens[:, 6:] = 0                      # two padding positions per row
    return tokens


def _bad_attention_mask_passed_as_key_padding_mask():
    tokens = _tokens()
    return dict(model=_Encoder(), inputs=(tokens, tokens != 0), target=torch.tensor([0, 1, 0, 1]))


def _good_padding_marked_true():
    tokens = _tokens()
    return dict(model=_Encoder(), inputs=(tokens, tokens == 0), target=torch.tensor([0, 1, 0, 1]))


RULE = Rule(
    code="NBD297",
    cause="no-gradient",
    severity="warning",
    title="Key padding mask hides most positions (True means ignore)",
    explanation=(
        "`nn.MultiheadAttention` and the `nn.Transformer` family read a boolean key_padding_mask as True = "
        "'this key is padding, ignore it'. Hugging Face tokenizers return attention_mask with 1 = 'real "
        "token'. Passing that straight through inverts it: every real token is hidden and attention "
        "averages the padding, so the model cannot use its input and the token embeddings get no "
        "gradient; a row whose keys are all hidden gives NaN."
    ),
    fix="`key_padding_mask = attention_mask == 0`, or build it as `tokens == pad_id`.",
    check=check,
    bad=[_bad_attention_mask_passed_as_key_padding_mask],
    good=[_good_padding_marked_true],
    needs="forward",
    thresholds=f"A boolean input named *key_padding_mask that is True for more than {MOSTLY:.0%} of its "
               "positions (own reasoning: padding is rarely the majority of a batch).",
)
