"""NBD270 batch-mixing: one sample's output depends on another sample's input (a wrong view/reshape,
or a sequence-first layer fed batch-first data), found by the swap test of checks/batch_mixing.py."""
import torch
import torch.nn as nn

from .base import Rule
from .helpers import NORM_TYPES, RECURRENT_TYPES, SEQ_FIRST_TYPES, fmt, model_output, shape
from .softmax_batch_dim import over_batch
from .softmax_batch_dim_silent import over_batch_output

INTENDED_TYPES = NORM_TYPES  # batch-norm without running statistics mixes samples by design


def _culprit(trace, origin):
    index, side = origin.get("call"), origin.get("side")
    if index is None or not 0 <= index < len(trace.calls):
        return None, side
    c = trace.calls[index]
    if side == "input":
        return (trace.calls[c.parent] if c.parent is not None else None), side
    return c, side


TRANSFORMER_TYPES = ("Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
                     "TransformerDecoderLayer")


def _outermost_transformer(trace, c):
    """The outermost torch Transformer module around an attention call: where batch_first is set."""
    found, parent = None, c.parent
    while parent is not None:
        p = trace.calls[parent]
        if p.type in TRANSFORMER_TYPES:
            found = p
        parent = p.parent
    return found


def _batch_first_fix(c, attention=None) -> str:
    a = c.attrs
    if c.type in TRANSFORMER_TYPES:
        b = attention.attrs if attention is not None else {}
        layer = "TransformerDecoderLayer" if "Decoder" in c.type else "TransformerEncoderLayer"
        args = f"{b['embed_dim']}, {b['num_heads']}, " if b.get("embed_dim") and b.get("num_heads") else ""
        return (f"Build the layers of `{c.name}` with `nn.{layer}({args}..., batch_first=True)`, or transpose "
                f"around it (`x.transpose(0, 1)` before, and back after), so it reads (batch, seq, features).")
    if c.type == "MultiheadAttention" and a.get("embed_dim") and a.get("num_heads"):
        ctor = f"nn.MultiheadAttention({a['embed_dim']}, {a['num_heads']}, batch_first=True)"
    elif c.type in RECURRENT_TYPES and a.get("input_size") and a.get("hidden_size"):
        ctor = f"nn.{c.type}({a['input_size']}, {a['hidden_size']}, batch_first=True)"
    else:
        ctor = f"nn.{c.type}(..., batch_first=True)"
    return (f"Build `{c.name}` as `{ctor}`, or transpose around it (`x.transpose(0, 1)` before, and back "
            f"after), so it reads (batch, seq, features) correctly.")


def _seq_first_misread(trace, c):
    """(clear?, message part) when a sequence-first layer got a batch-first tensor."""
    if c.type not in SEQ_FIRST_TYPES or c.attrs.get("batch_first", False) or not c.inputs:
        return None
    x, out = c.inputs[0], model_output(trace)
    if len(x.shape) != 3:
        return None
    n0, n1 = x.shape[0], x.shape[1]
    clear = out is not None and len(out.shape) < 3 and out.shape and out.shape[0] == n0
    shifted = time_axis_from_shift(trace) == 1
    why = ("the target is the input shifted by one along dimension 1, so dimension 1 is time and "
           "dimension 0 the batch" if shifted and not clear else "dimension 0 is the batch the output keeps")
    part = (f"`{c.name}` ({c.type}, batch_first=False) reads its {shape(x)} input as (seq={n0}, "
            f"batch={n1}, features), but {why}, so it mixes the "
            f"{n0} samples across what it takes for time")
    return clear or shifted, part


SHIFTED = 0.9   # next-token targets: this fraction of target[t] equals input[t + 1] along the time axis


def time_axis_from_shift(trace):
    """1 (or 0) when the integer target is the integer input shifted by one step along dimension 1 (0)
    and not along the other: a next-token language-model batch, whose shift gives away the time axis;
    None when it says nothing."""
    shift = trace.checks.get("shifted_target") or {}
    d0, d1 = shift.get("dim0"), shift.get("dim1")
    if d0 is None or d1 is None:
        return None
    if d1 >= SHIFTED and d0 < 0.5:
        return 1
    if d0 >= SHIFTED and d1 < 0.5:
        return 0
    return None


def _percent(change: float) -> str:
    return f"{100 * change:.2g} %" if change < 10 else f"{fmt(change)}×"


def check(trace):
    mix = trace.checks.get("batch_mixing") or {}
    if not mix.get("mixed"):
        return
    if mix.get("method") == "rows":
        yield _rows_not_samples(trace, mix)
        return
    if mix.get("method") == "index":
        yield _indexes_the_batch(trace, mix)
        return
    change = mix.get("relative_change", 0.0)
    evidence = {"relative_change": change, "origin": mix.get("origin")}
    c, side = _culprit(trace, mix.get("origin") or {})
    if c is not None and (c.type in INTENDED_TYPES or over_batch(trace, c)):
        return  # batch statistics by design, or a softmax over the batch: NBD250 names it
    if over_batch_output(trace) is not None:
        return  # the output is a distribution over the batch: NBD251 names it
    out = model_output(trace)
    batch = out.shape[0] if out is not None and out.shape else None
    seq = _seq_first_misread(trace, c) if c is not None else None
    clear_misread = seq is not None and seq[0]
    # an (N, N) output may be a similarity matrix, unless a layer plainly misreads the batch (with as
    # many classes as samples, a classifier's output is square too)
    if out is not None and len(out.shape) == 2 and batch and batch >= 3 and out.shape[1] == batch \
            and not clear_misread:
        yield RULE.finding(c.name if c is not None else "", f"The output {shape(out)} compares every sample "
                           f"with every other (a similarity matrix?), so samples interact by design.",
                           "Nothing to do if this is a contrastive or retrieval head.", severity="info",
                           call=c.index if c is not None else None, evidence=evidence)
        return
    tail = (f" (replacing one sample's input changes the other sample's output by {_percent(change)}, "
            f"where it must not change at all)")
    if seq is not None:
        clear, part = seq
        outer = _outermost_transformer(trace, c)
        fix = _batch_first_fix(outer, c) if outer is not None else _batch_first_fix(c)
        at = outer if outer is not None else c
        if clear:
            yield RULE.finding(at.name, part + tail + ".", fix, call=at.index, evidence=evidence)
        else:
            yield RULE.finding(at.name, part.replace("but dimension 0 is the batch the output keeps, ", "")
                               + "; if your data is (batch, seq, features) that is a bug.",
                               fix, call=at.index, severity="info", evidence=evidence)
        return
    if c is None or not c.name:
        where, at = "", f"the forward of {trace.model or 'the model'}"
    elif side == "input":
        where, at = c.name, f"the forward of `{c.name}` ({c.type}), between its sub-module calls"
    else:
        where, at = c.name, f"`{c.name}` ({c.type})"
    message = f"Samples of the batch influence each other's outputs, first in {at}{tail}."
    fix = ("Keep the batch dimension first and separate: flatten with `x.flatten(1)` or "
           "`x.view(x.size(0), -1)` (never `x.view(-1, n)` with n the batch or a mismatched size), use "
           "`permute`/`transpose` rather than `view` to reorder dimensions, and reduce (`mean`, `sum`, "
           "`softmax`) over feature dimensions, not dim 0.")
    if mix.get("batch_dim") == 1:
        message += (" The data is sequence-first (time, batch, ...), as the target's length shows, so a `view` "
                    "or `reshape` to (batch, -1) glues together different samples' time steps.")
        fix = ("Move the batch to the front before flattening: `out.transpose(0, 1).flatten(1)` (or "
               "`out.permute(1, 0, 2).reshape(out.size(1), -1)`), or build the recurrent/attention layers "
               "with `batch_first=True` and feed (batch, time, features). " + fix)
    yield RULE.finding(where, message, fix, call=c.index if c is not None else None, evidence=evidence)


def _rows_not_samples(trace, mix):
    out = model_output(trace)
    rows, k = mix.get("output_rows"), mix.get("sub_batch")
    message = (f"The output {shape(out)} has one row per sample only by coincidence: with the batch cut to "
               f"{k} samples it still has {rows} rows, so its rows come from another axis of the data (a "
               f"sequence as long as the batch), and each sample's prediction is built from other samples.")
    fix = ("Index the batch dimension last: `h[:, 0]` (every sample's first token, BERT's [CLS]) rather "
           "than `h[0]` (all tokens of the first sample); `x.mean(1)` rather than `x.mean(0)`; check "
           "`view`/`reshape` calls that put the batch anywhere but first.")
    return RULE.finding("", message, fix, call=0 if trace.calls else None,
                        evidence={"output_rows": rows, "sub_batch": k, "origin": mix.get("origin")})


def _indexes_the_batch(trace, mix):
    message = (f"The model picks rows of its batch dimension by position: run on a sub-batch of "
               f"{mix.get('sub_batch')} samples it raised \"{mix.get('message')}\". A `gather`, `index_select` "
               f"or indexing over dim 0 with positions meant for another axis (time steps, tokens) builds "
               f"each sample's output from other samples' rows.")
    fix = ("Index the axis you mean: `h.gather(1, idx)` for the last valid time step of (batch, time, "
           "features) states, `h[torch.arange(len(h)), lengths - 1]`; keep dim 0 for the samples.")
    return RULE.finding("", message, fix, call=0 if trace.calls else None,
                        evidence={"message": mix.get("message"), "sub_batch": mix.get("sub_batch")})


class _LastStep(nn.Module):
    """The last valid time step of each sequence, gathered along time, or by mistake along the batch."""
    def __init__(self, dim):
        super().__init__()
        self.gru, self.fc = nn.GRU(3, 6, batch_first=True), nn.Linear(6, 2)
        self.dim = dim

    def forward(self, x, lengths):
        h, _ = self.gru(x)                                           # (batch, time, 6)
        idx = (lengths - 1).view(-1, 1, 1).repeat(1, 1, h.shape[-1])
        return self.fc(h.gather(self.dim, idx).squeeze(1))


def _last_step(dim):
    torch.manual_seed(0)
    lengths = torch.tensor([5, 7, 3, 6, 7, 4, 2, 6])
    return dict(model=_LastStep(dim), inputs=(torch.randn(8, 7, 3), lengths), target=torch.arange(8) % 2)


class _GraphReadout(nn.Module):
    """Node rows indexed by edges and pooled per graph: rows are nodes, not samples, by design."""
    def __init__(self):
        super().__init__()
        self.msg, self.out = nn.Linear(3, 3), nn.Linear(3, 2)

    def forward(self, x, edge_index, graph):
        src, dst = edge_index
        h = x + torch.zeros_like(x).index_add_(0, dst, self.msg(x)[src])
        pooled = torch.zeros(int(graph.max()) + 1, 3).index_add_(0, graph, h)
        return self.out(pooled)


def _good_graph_nodes_pooled_per_graph():
    torch.manual_seed(0)
    graph = torch.arange(4).repeat_interleave(3)                 # 4 graphs of 3 nodes
    ring = torch.tensor([[0, 1, 2], [1, 2, 0]])
    edges = torch.cat([ring + 3 * g for g in range(4)], dim=1)
    return dict(model=_GraphReadout(), inputs=(torch.randn(12, 3), edges, graph), target=torch.arange(4) % 2)


def _bad_gather_over_the_batch():
    return _last_step(0)


def _good_gather_over_time():
    return _last_step(1)


class _FirstTokenPooler(nn.Module):
    """(batch, seq, d) encoder states pooled to one row per sample, or by mistake to the first sample."""
    def __init__(self, right):
        super().__init__()
        self.enc, self.head = nn.Linear(4, 8), nn.Linear(8, 2)
        self.right = right

    def forward(self, x):
        h = torch.tanh(self.enc(x))
        return self.head(h[:, 0] if self.right else h[0])


def _bad_first_sample_for_first_token():
    # sequence length 6 == batch 6: h[0] is (6, 8) too, so every shape fits
    torch.manual_seed(0)
    return dict(model=_FirstTokenPooler(right=False), inputs=torch.randn(6, 6, 4), target=torch.arange(6) % 2)


def _good_first_token_of_every_sample():
    torch.manual_seed(0)
    return dict(model=_FirstTokenPooler(right=True), inputs=torch.randn(6, 6, 4), target=torch.arange(6) % 2)


def _bad_view_swaps_batch():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.fc = nn.Linear(4 * 6 * 6, 3)

        def forward(self, x):
            h = self.conv(x)                              # (batch, 4, 6, 6)
            h = h.view(4, x.shape[0], 6, 6).transpose(0, 1)  # meant h.view(batch, 4, 6, 6)
            return self.fc(h.reshape(x.shape[0], -1))

    return dict(model=Net(), inputs=torch.randn(5, 1, 6, 6), target=torch.randint(0, 3, (5,)))


def _bad_lstm_batch_first_confusion():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 10)                    # seq-first by default
            self.head = nn.Linear(10, 1)

        def forward(self, x):                             # x: (batch, seq, features)
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return dict(model=Net(), inputs=torch.randn(6, 12, 3), target=torch.randn(6, 1))


def _good_seq_first_fed_correctly():
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 8, bidirectional=True)
            self.fc = nn.Linear(16, 2)

        def forward(self, x):                             # x: (seq, batch, features)
            out, _ = self.gru(x)
            return self.fc(out)                           # per-step outputs, (seq, batch, 2)

    return dict(model=Net(), inputs=torch.randn(7, 3, 4))


class _SeqFirstClassifier(nn.Module):
    """A seq-first LSTM fed (seq, batch, features), its per-step outputs flattened into one row per sample."""
    def __init__(self, steps, permute_first):
        super().__init__()
        self.lstm = nn.LSTM(5, 6)
        self.fc = nn.Linear(steps * 6, 2)
        self.permute_first = permute_first

    def forward(self, x):
        out, _ = self.lstm(x)                             # (seq, batch, 6)
        if self.permute_first:
            return self.fc(out.transpose(0, 1).flatten(1))
        return self.fc(out.view(x.size(1), -1))           # glues samples' time steps together


def _bad_seq_first_output_viewed_as_batch():
    torch.manual_seed(0)
    return dict(model=_SeqFirstClassifier(9, permute_first=False), inputs=torch.randn(9, 4, 5),
                target=torch.arange(4) % 2)


def _good_seq_first_output_transposed_then_flattened():
    torch.manual_seed(0)
    return dict(model=_SeqFirstClassifier(9, permute_first=True), inputs=torch.randn(9, 4, 5),
                target=torch.arange(4) % 2)


def _bad_as_many_classes_as_samples():
    # 3 samples, 3 classes: the (3, 3) output is square, but the encoder layer plainly reads the batch
    # as the sequence
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)   # (seq, batch, dim)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):                                                # x: (batch, seq, dim)
            return self.fc(self.encoder(x).mean(1))

    return dict(model=Net(), inputs=torch.randn(3, 7, 8), target=torch.tensor([0, 1, 2]))


def _good_batchnorm_training():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2)).train()
    return dict(model=m, inputs=torch.randn(16, 4), target=torch.randint(0, 2, (16,)))


RULE = Rule(
    code="NBD270",
    cause="batch-mixing",
    severity="error",
    title="Samples in a batch influence each other's outputs",
    explanation=(
        "Each sample's prediction should depend on that sample only (batch-norm statistics aside). When "
        "a `view`/`reshape` reorders memory across the batch dimension, or a layer that expects "
        "(seq, batch, features), an RNN, LSTM, GRU or MultiheadAttention built without "
        "batch_first=True, receives (batch, seq, features), information leaks between samples: the model "
        "trains on scrambled data, its predictions change with the batch composition, and evaluation "
        "with another batch size gives different results. Nothing crashes, because the shapes fit."
    ),
    fix="Keep the batch dimension first and separate: `flatten(1)` instead of a `view` that splits the "
        "batch, `permute`/`transpose` to reorder dimensions, and `batch_first=True` on sequence layers fed "
        "(batch, seq, features).",
    check=check,
    bad=[_bad_view_swaps_batch, _bad_lstm_batch_first_confusion, _bad_seq_first_output_viewed_as_batch,
         _bad_first_sample_for_first_token, _bad_as_many_classes_as_samples, _bad_gather_over_the_batch],
    good=[_good_seq_first_fed_correctly, _good_batchnorm_training,
          _good_seq_first_output_transposed_then_flattened, _good_first_token_of_every_sample,
          _good_gather_over_time, _good_graph_nodes_pooled_per_graph],
    needs="backward",
    thresholds=(
        "The independence test behind Karpathy's backprop check ('A Recipe for Training Neural Networks': "
        "one sample's output must depend on that sample only): on two samples with every module in eval "
        "mode and the RNG re-seeded, replacing sample 0 by sample 1 must leave sample 1's output "
        "unchanged; a relative change above 1e-5 (per-sample kernels give "
        "bit-identical results) is mixing, then localised with gradients. Not an error when the first mixing module keeps batch "
        "statistics (BatchNorm), when it is a sequence-first layer whose output keeps both leading "
        "dimensions (the data may really be seq-first: info), or when the output is a (batch, batch) "
        "similarity matrix (info)."
    ),
)
