"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5937): torch.manual_seed(s)


def _padded_ids(batch, max_len, vocab, min_len, pad=0, first=1):
    """Token ids in [first, vocab) with right padding (pad id) after a random length >= min_len."""
    ids = torch.randint(first, vocab, (batch, max_len))
    lengths = torch.randint(min_len, max_len + 1, (batch,))
    lengths[0] = max_len  # at least one full row
    pos = torch.arange(max_len)[None, :]
    pad_mask = pos >= lengths[:, None]  # True on padding
    ids = ids.masked_fill(pad_mask, pad)
    return ids, pad_mask, lengths


# =====================================================================================
# BUGGY CASES
# =====================================================================================

@case
def nb59_char_lm_btv_logits_straight_into_cross_entropy():
    # Bug: CrossEntropyLoss gets (B, T, V) logits; it wants the class dim second, (B, V, T).
    _seed()

    class CharLM(nn.Module):
        def __init__(self, vocab=40, d=32, h=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.gru = nn.GRU(d, h, batch_first=True)
            self.head = nn.Linear(h, vocab)

        def forward(self, ids):
            out, _ = self.gru(self.emb(ids))
            return self.head(out)  # (B, T, V)

    seq = torch.randint(0, 40, (8, 13))
    x, y = seq[:, :-1], seq[:, 1:]
    return dict(model=CharLM(), inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch", "loss-mismatch", "wrong-target"])


@case
def nb59_news_classifier_embedding_smaller_than_tokenizer_vocab():
    # Bug: tokenizer produces ids up to 4999, but the Embedding table only has 3000 rows.
    _seed()

    class BowNews(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(3000, 64, padding_idx=0)
            self.fc = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))

        def forward(self, ids):
            return self.fc(self.emb(ids).mean(1))

    ids, _, _ = _padded_ids(16, 40, 5000, 20)
    return dict(model=BowNews(), inputs=ids, target=torch.randint(0, 4, (16,)),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["emb", "input"])


@case
def nb59_ner_pad_label_is_extra_class_head_too_small():
    # Bug: 9 real tags (0..8) and padded positions labelled 9, but the head has 9 outputs and no ignore_index.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(500, 32, padding_idx=0)
            self.lstm = nn.LSTM(32, 32, batch_first=True, bidirectional=True)
            self.head = nn.Linear(64, 9)

        def forward(self, ids):
            return self.head(self.lstm(self.emb(ids))[0])

    ids, pad, _ = _padded_ids(12, 20, 500, 6)
    tags = torch.randint(0, 9, (12, 20)).masked_fill(pad, 9)

    def tag_loss(out, y):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    return dict(model=Tagger(), inputs=ids, target=tags, loss=tag_loss,
                expect=["wrong-target", "loss-mismatch"], where=["target", "loss", "head"])


@case
def nb59_padding_idx_embedding_fed_float_ids():
    # Bug: ids came out of a float tensor (e.g. torch.tensor(df.values)); Embedding needs integer indices.
    _seed()

    class TextCNNLite(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(200, 32, padding_idx=0)
            self.conv = nn.Conv1d(32, 48, 3, padding=1)
            self.fc = nn.Linear(48, 3)

        def forward(self, ids):
            h = F.relu(self.conv(self.emb(ids).transpose(1, 2)))
            return self.fc(h.amax(-1))

    ids, _, _ = _padded_ids(8, 25, 200, 10)
    return dict(model=TextCNNLite(), inputs=ids.float(), target=torch.randint(0, 3, (8,)),
                loss=nn.CrossEntropyLoss(), expect=["dtype-mismatch"], where=["emb", "input"])


@case
def nb59_hf_attention_mask_used_as_key_padding_mask():
    # Bug: key_padding_mask is True on the REAL tokens (HF attention_mask convention); full rows become NaN.
    _seed()

    class AttnClassifier(nn.Module):
        def __init__(self, vocab=300, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.norm = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 2)

        def forward(self, input_ids, attention_mask):
            x = self.emb(input_ids)
            h, _ = self.attn(x, x, x, key_padding_mask=attention_mask.bool())  # should be ~mask
            h = self.norm(x + h)
            return self.fc(h[:, 0])

    ids, pad, _ = _padded_ids(10, 16, 300, 8)
    pad[:6] = False  # six sentences fill the whole window
    ids[:6] = torch.randint(1, 300, (6, 16))
    attention_mask = (~pad).long()  # 1 = real token, 0 = padding
    return dict(model=AttnClassifier(), inputs={"input_ids": ids, "attention_mask": attention_mask},
                target=torch.randint(0, 2, (10,)), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-created"])


@case
def nb59_time_major_lstm_fed_batch_first_last_column():
    # Bug: BiLSTM is batch_first=False but gets (B, T, F); the recurrence runs across samples, out[:, -1] mixes them.
    _seed()

    class SensorClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 32, bidirectional=True)  # default layout: (T, B, F)
            self.fc = nn.Linear(64, 3)

        def forward(self, x):  # x: (B, T, F)
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])

    return dict(model=SensorClassifier(), inputs=torch.randn(16, 20, 8), target=torch.randint(0, 3, (16,)),
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing", "shape-mismatch"])


@case
def nb59_encoder_mean_pool_over_batch_axis():
    # Bug: batch-first encoder output (B, T, D) pooled with mean(0) (batch) instead of mean(1) (time).
    _seed()

    class PooledEncoder(nn.Module):
        def __init__(self, vocab=256, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.enc = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
            self.fc = nn.Linear(d, 2)

        def forward(self, ids):
            h = self.enc(self.emb(ids))
            return self.fc(h.mean(0))  # should be h.mean(1)

    # batch 32, max_len 32: shapes line up, so nothing crashes
    return dict(model=PooledEncoder(), inputs=torch.randint(0, 256, (32, 32)),
                target=torch.randint(0, 2, (32,)), loss=nn.CrossEntropyLoss(),
                expect=["batch-mixing", "shape-mismatch"])


@case
def nb59_bigru_attention_pool_softmax_over_batch():
    # Bug: attention-pooling weights normalised with softmax(dim=0) over the batch, not over time (dim=1).
    _seed()

    class AttnPoolGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(400, 32)
            self.gru = nn.GRU(32, 32, batch_first=True, bidirectional=True)
            self.score = nn.Linear(64, 1)
            self.fc = nn.Linear(64, 2)

        def forward(self, ids):
            h, _ = self.gru(self.emb(ids))          # (B, T, 64)
            a = F.softmax(self.score(h).squeeze(-1), dim=0)  # (B, T)
            return self.fc((a.unsqueeze(-1) * h).sum(1))

    return dict(model=AttnPoolGRU(), inputs=torch.randint(0, 400, (16, 18)),
                target=torch.randint(0, 2, (16,)), loss=nn.CrossEntropyLoss(),
                expect=["softmax-wrong-dim", "batch-mixing"])


@case
def nb59_stateful_gru_hidden_buffer_from_bigger_batch():
    # Bug: hidden state kept from the previous (training) batch of 32 is reused for an unrelated batch of 8.
    _seed()

    class StatefulGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 48, batch_first=True)
            self.fc = nn.Linear(48, 1)
            self.register_buffer("h", torch.zeros(1, 32, 48))

        def forward(self, x):
            out, h = self.gru(x, self.h)
            self.h = h.detach()
            return self.fc(out[:, -1])

    return dict(model=StatefulGRU(), inputs=torch.randn(8, 15, 6), target=torch.randn(8, 1),
                loss=nn.MSELoss(), expect=["shape-mismatch"])


@case
def nb59_nn_transformer_default_layout_given_batch_first():
    # Bug: nn.Transformer defaults to (S, B, E); batch-first src/tgt of equal length run without error.
    _seed()

    class Translator(nn.Module):
        def __init__(self, vocab=100, d=32):
            super().__init__()
            self.src_emb = nn.Embedding(vocab, d)
            self.tgt_emb = nn.Embedding(vocab, d)
            self.tf = nn.Transformer(d, 4, num_encoder_layers=1, num_decoder_layers=1,
                                     dim_feedforward=64, dropout=0.0)
            self.out = nn.Linear(d, vocab)

        def forward(self, src, tgt):
            h = self.tf(self.src_emb(src), self.tgt_emb(tgt))  # (B, T, E) read as (T, B, E)
            return self.out(h)

    src = torch.randint(0, 100, (6, 12))
    tgt = torch.randint(0, 100, (6, 13))
    return dict(model=Translator(), inputs=(src, tgt[:, :-1]), target=tgt[:, 1:],
                loss=lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1)),
                expect=["batch-mixing", "shape-mismatch"])


@case
def nb59_raw_token_ids_as_float_feature_into_gru():
    # Bug: token ids (0..4999) fed as a 1-d float feature to a GRU instead of through an Embedding.
    _seed()

    class IdGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(1, 64, batch_first=True)
            self.fc = nn.Linear(64, 2)

        def forward(self, x):
            return self.fc(self.gru(x)[0][:, -1])

    ids = torch.randint(0, 5000, (16, 30))
    return dict(model=IdGRU(), inputs=ids.float().unsqueeze(-1), target=torch.randint(0, 2, (16,)),
                loss=nn.CrossEntropyLoss(), expect=["unnormalized-input", "saturated-activation"])


@case
def nb59_gru_lm_embedding_table_multiplied_by_1000():
    # Bug: embedding weights scaled by 1000 at init ("to make them stand out"); the GRU gates saturate.
    _seed()

    class WordLM(nn.Module):
        def __init__(self, vocab=120, d=32, h=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.gru = nn.GRU(d, h, batch_first=True)
            self.head = nn.Linear(h, vocab)
            with torch.no_grad():
                self.emb.weight.mul_(1000.0)

        def forward(self, ids):
            return self.head(self.gru(self.emb(ids))[0])

    seq = torch.randint(0, 120, (8, 17))
    return dict(model=WordLM(), inputs=seq[:, :-1], target=seq[:, 1:],
                loss=lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1)),
                expect=["bad-init", "saturated-activation", "exploding-activations"], where=["emb", "gru"])


@case
def nb59_seq2seq_encoder_run_under_no_grad():
    # Bug: encoder call wrapped in torch.no_grad() (copied from the inference loop): the encoder never learns.
    _seed()

    class Seq2Seq(nn.Module):
        def __init__(self, vocab=60, d=32, h=64):
            super().__init__()
            self.src_emb = nn.Embedding(vocab, d)
            self.encoder = nn.GRU(d, h, batch_first=True)
            self.tgt_emb = nn.Embedding(vocab, d)
            self.decoder = nn.GRU(d, h, batch_first=True)
            self.out = nn.Linear(h, vocab)

        def forward(self, src, tgt_in):
            with torch.no_grad():
                _, hid = self.encoder(self.src_emb(src))
            dec, _ = self.decoder(self.tgt_emb(tgt_in), hid)
            return self.out(dec).transpose(1, 2)  # (B, V, T) for CrossEntropyLoss

    src = torch.randint(0, 60, (8, 10))
    tgt = torch.randint(0, 60, (8, 9))
    return dict(model=Seq2Seq(), inputs=(src, tgt[:, :-1]), target=tgt[:, 1:], loss=nn.CrossEntropyLoss(),
                expect=["no-gradient"], where=["encoder", "src_emb"])


@case
def nb59_learned_positions_plain_tensor_not_parameter():
    # Bug: learned positional table is a plain tensor with requires_grad, not nn.Parameter: the optimizer never sees it.
    _seed()

    class PosEncoderClassifier(nn.Module):
        def __init__(self, vocab=200, d=32, max_len=24):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = torch.zeros(1, max_len, d, requires_grad=True)  # should be nn.Parameter
            self.enc = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
            self.fc = nn.Linear(d, 3)

        def forward(self, ids):
            x = self.tok(ids) + self.pos[:, : ids.shape[1]]
            return self.fc(self.enc(x).mean(1))

    m = PosEncoderClassifier()
    return dict(model=m, inputs=torch.randint(0, 200, (12, 20)), target=torch.randint(0, 3, (12,)),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=10,
                expect=["untrained-parameter"])


@case
def nb59_handwritten_block_ffn_without_activation():
    # Bug: the feed-forward sublayer of a hand-written transformer block forgot its GELU between the two Linears.
    _seed()

    class Block(nn.Module):
        def __init__(self, d=48):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.ln2 = nn.LayerNorm(d)
            self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.Linear(4 * d, d))

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ffn(self.ln2(x))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(150, 48)
            self.blocks = nn.ModuleList([Block(), Block()])
            self.fc = nn.Linear(48, 4)

        def forward(self, ids):
            x = self.emb(ids)
            for b in self.blocks:
                x = b(x)
            return self.fc(x.mean(1))

    return dict(model=Encoder(), inputs=torch.randint(0, 150, (16, 14)), target=torch.randint(0, 4, (16,)),
                loss=nn.CrossEntropyLoss(), expect=["missing-nonlinearity"],
                where=["blocks.0.ffn", "blocks.1.ffn"])


@case
def nb59_sentiment_gru_moduledict_head_softmax_into_ce():
    # Bug: head ends in Softmax and the output goes to CrossEntropyLoss, which applies log-softmax again.
    _seed()

    class Sentiment(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(800, 48, padding_idx=0)
            self.gru = nn.GRU(48, 64, batch_first=True)
            self.heads = nn.ModuleDict({
                "polarity": nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3), nn.Softmax(dim=-1)),
            })

        def forward(self, ids):
            _, h = self.gru(self.emb(ids))
            return self.heads["polarity"](h[-1])

    ids, _, _ = _padded_ids(24, 20, 800, 8)
    return dict(model=Sentiment(), inputs=ids, target=torch.randint(0, 3, (24,)),
                loss=nn.CrossEntropyLoss(), expect=["double-softmax"])


@case
def nb59_char_gru_lm_adam_lr_one():
    # Bug: Adam with lr=1.0 (meant 1e-3) on a char-level GRU language model.
    _seed()

    class CharGRU(nn.Module):
        def __init__(self, vocab=30):
            super().__init__()
            self.emb = nn.Embedding(vocab, 32)
            self.gru = nn.GRU(32, 64, batch_first=True)
            self.head = nn.Linear(64, vocab)

        def forward(self, ids):
            return self.head(self.gru(self.emb(ids))[0])

    m = CharGRU()
    seq = torch.randint(0, 30, (16, 21))
    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:],
                loss=lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1)),
                optimizer=torch.optim.Adam(m.parameters(), lr=1.0), steps=20, expect=["lr-too-high"])


# =====================================================================================
# HEALTHY CASES
# =====================================================================================

@case
def nb59_ok_char_gru_lm_flattened_ce_adam():
    _seed()

    class CharLM(nn.Module):
        def __init__(self, vocab=48, d=32, h=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.gru = nn.GRU(d, h, batch_first=True)
            self.head = nn.Linear(h, vocab)

        def forward(self, ids):
            return self.head(self.gru(self.emb(ids))[0])

    m = CharLM()
    seq = torch.randint(0, 48, (16, 25))
    x, y = seq[:, :-1], seq[:, 1:]

    def lm_loss(out, tgt):
        return F.cross_entropy(out.reshape(-1, out.size(-1)), tgt.reshape(-1))

    return dict(model=m, inputs=x, target=y, loss=lm_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=2e-3), steps=20, expect=[])


@case
def nb59_ok_encoder_cls_pooling_with_key_padding_mask():
    _seed()

    class ClsEncoder(nn.Module):
        def __init__(self, vocab=500, d=64, max_len=32):
            super().__init__()
            self.tok = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, max_len, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, 128, dropout=0.1, batch_first=True, norm_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 4)

        def forward(self, input_ids, padding_mask):
            x = self.tok(input_ids) + self.pos[:, : input_ids.shape[1]]
            h = self.enc(x, src_key_padding_mask=padding_mask)
            return self.fc(self.norm(h[:, 0]))  # CLS token

    ids, pad, _ = _padded_ids(32, 24, 500, 6, first=2)
    ids[:, 0] = 1  # [CLS]
    return dict(model=ClsEncoder(), inputs={"input_ids": ids, "padding_mask": pad},
                target=torch.randint(0, 4, (32,)), loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_bilstm_tagger_ignore_index_minus_100():
    _seed()

    class BiLSTMTagger(nn.Module):
        def __init__(self, vocab=600, d=32, h=48, tags=7):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.lstm = nn.LSTM(d, h, batch_first=True, bidirectional=True)
            self.drop = nn.Dropout(0.2)
            self.head = nn.Linear(2 * h, tags)

        def forward(self, ids):
            return self.head(self.drop(self.lstm(self.emb(ids))[0]))

    ids, pad, _ = _padded_ids(16, 22, 600, 8)
    tags = torch.randint(0, 7, (16, 22)).masked_fill(pad, -100)
    ce = nn.CrossEntropyLoss(ignore_index=-100)
    return dict(model=BiLSTMTagger(), inputs=ids, target=tags,
                loss=lambda o, y: ce(o.reshape(-1, o.shape[-1]), y.reshape(-1)), expect=[])


@case
def nb59_ok_gru_seq2seq_teacher_forcing_bvt_logits():
    _seed()

    class Seq2Seq(nn.Module):
        def __init__(self, src_vocab=70, tgt_vocab=50, d=32, h=64):
            super().__init__()
            self.src_emb = nn.Embedding(src_vocab, d)
            self.encoder = nn.GRU(d, h, batch_first=True)
            self.tgt_emb = nn.Embedding(tgt_vocab, d)
            self.decoder = nn.GRU(d, h, batch_first=True)
            self.out = nn.Linear(h, tgt_vocab)

        def forward(self, src, tgt_in):
            _, hid = self.encoder(self.src_emb(src))
            dec, _ = self.decoder(self.tgt_emb(tgt_in), hid)  # teacher forcing
            return self.out(dec).permute(0, 2, 1)  # (B, V, T) as CrossEntropyLoss wants

    src = torch.randint(0, 70, (12, 15))
    tgt = torch.randint(0, 50, (12, 11))
    tgt[:, 0] = 1  # <sos>
    return dict(model=Seq2Seq(), inputs=(src, tgt[:, :-1]), target=tgt[:, 1:],
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_textcnn_multi_kernel_padding_idx_zero():
    _seed()

    class TextCNN(nn.Module):
        def __init__(self, vocab=1000, d=48, ch=32, classes=3):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.convs = nn.ModuleList([nn.Conv1d(d, ch, k) for k in (3, 4, 5)])
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(3 * ch, classes)

        def forward(self, ids):
            x = self.emb(ids).transpose(1, 2)  # (B, E, T)
            feats = [F.relu(c(x)).amax(dim=-1) for c in self.convs]
            return self.fc(self.drop(torch.cat(feats, 1)))

    ids, _, _ = _padded_ids(24, 40, 1000, 12)
    return dict(model=TextCNN(), inputs=ids, target=torch.randint(0, 3, (24,)),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_dan_masked_mean_pool_sentence_encoder():
    _seed()

    class DAN(nn.Module):
        def __init__(self, vocab=700, d=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.proj = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU())
            self.fc = nn.Linear(d, 3)

        def forward(self, ids, mask):
            h = self.proj(self.emb(ids))
            m = mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.fc(pooled)

    ids, pad, _ = _padded_ids(20, 30, 700, 5)
    return dict(model=DAN(), inputs=(ids, ~pad), target=torch.randint(0, 3, (20,)),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_lstm_forecaster_standardised_multivariate_series():
    _seed()
    t = torch.arange(0, 600, dtype=torch.float32)
    series = torch.stack([torch.sin(t / 9), torch.cos(t / 17), 0.01 * t], 1) + 0.1 * torch.randn(600, 3)
    series = (series - series.mean(0)) / series.std(0)
    starts = torch.randint(0, 600 - 25, (32,))
    windows = torch.stack([series[s:s + 25] for s in starts])
    x, y = windows[:, :24], windows[:, 24, :1]

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 48, batch_first=True)
            self.fc = nn.Linear(48, 1)

        def forward(self, x):
            return self.fc(self.lstm(x)[0][:, -1])

    m = Forecaster()
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def nb59_ok_causal_self_attention_tril_mask_lm():
    _seed()

    class CausalSelfAttention(nn.Module):
        def __init__(self, d=64, heads=4, max_len=32):
            super().__init__()
            self.h = heads
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.register_buffer("tril", torch.tril(torch.ones(max_len, max_len, dtype=torch.bool)))

        def forward(self, x):
            B, T, D = x.shape
            q, k, v = self.qkv(x).split(D, dim=-1)
            q, k, v = (t.view(B, T, self.h, D // self.h).transpose(1, 2) for t in (q, k, v))
            att = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(D // self.h)
            att = att.masked_fill(~self.tril[:T, :T], float("-inf")).softmax(dim=-1)
            y = torch.einsum("bhqk,bhkd->bhqd", att, v).transpose(1, 2).reshape(B, T, D)
            return self.proj(y)

    class Block(nn.Module):
        def __init__(self, d=64):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = CausalSelfAttention(d)
            self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class TinyGPT(nn.Module):
        def __init__(self, vocab=64, d=64, max_len=32):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(max_len, d)
            self.blocks = nn.Sequential(Block(d), Block(d))
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, ids):
            T = ids.shape[1]
            x = self.tok(ids) + self.pos(torch.arange(T, device=ids.device))
            return self.head(self.ln_f(self.blocks(x)))

    seq = torch.randint(0, 64, (8, 21))
    return dict(model=TinyGPT(), inputs=seq[:, :-1], target=seq[:, 1:],
                loss=lambda o, y: F.cross_entropy(o.flatten(0, 1), y.flatten()), expect=[])


@case
def nb59_ok_lm_returns_log_softmax_with_cross_entropy():
    # Not a bug: log_softmax is idempotent, so CrossEntropy on log-probs equals NLLLoss on them
    # (same value, same gradient). Redundant, not double-softmax.
    _seed()

    class LogProbLM(nn.Module):
        def __init__(self, vocab=36, d=32, h=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.lstm = nn.LSTM(d, h, batch_first=True)
            self.head = nn.Linear(h, vocab)

        def forward(self, ids):
            return F.log_softmax(self.head(self.lstm(self.emb(ids))[0]), dim=-1)

    seq = torch.randint(0, 36, (12, 19))
    return dict(model=LogProbLM(), inputs=seq[:, :-1], target=seq[:, 1:],
                loss=lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1)), expect=[])


@case
def nb59_ok_nn_transformer_batch_first_with_all_masks():
    _seed()

    class Translator(nn.Module):
        def __init__(self, vocab=90, d=32):
            super().__init__()
            self.src_emb = nn.Embedding(vocab, d, padding_idx=0)
            self.tgt_emb = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, 32, d) * 0.02)
            self.tf = nn.Transformer(d, 4, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64,
                                     dropout=0.1, batch_first=True)
            self.out = nn.Linear(d, vocab)

        def forward(self, src, tgt, src_pad, tgt_pad):
            T = tgt.shape[1]
            causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt.device), diagonal=1)
            s = self.src_emb(src) + self.pos[:, : src.shape[1]]
            t = self.tgt_emb(tgt) + self.pos[:, :T]
            h = self.tf(s, t, tgt_mask=causal, src_key_padding_mask=src_pad,
                        tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad)
            return self.out(h)

    src, src_pad, _ = _padded_ids(10, 14, 90, 6, first=3)
    tgt, tgt_pad, _ = _padded_ids(10, 11, 90, 5, first=3)
    tgt[:, 0] = 1  # <sos>
    tgt_in, tgt_out = tgt[:, :-1], tgt[:, 1:].masked_fill(tgt_pad[:, 1:], -100)
    return dict(model=Translator(), inputs=(src, tgt_in, src_pad, tgt_pad[:, :-1]), target=tgt_out,
                loss=lambda o, y: F.cross_entropy(o.reshape(-1, o.shape[-1]), y.reshape(-1), ignore_index=-100),
                expect=[])


@case
def nb59_ok_time_major_lstm_transposed_last_step():
    _seed()

    class TimeMajor(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 32)  # (T, B, F)
            self.fc = nn.Linear(32, 3)

        def forward(self, x):  # x: (B, T, F)
            out, _ = self.lstm(x.transpose(0, 1))
            return self.fc(out[-1])

    return dict(model=TimeMajor(), inputs=torch.randn(16, 20, 8), target=torch.randint(0, 3, (16,)),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_bigru_final_states_concat_adam():
    _seed()

    class BiGRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(900, 48, padding_idx=0)
            self.gru = nn.GRU(48, 48, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(96, 2)

        def forward(self, ids):
            _, h = self.gru(self.emb(ids))  # h: (2, B, H)
            return self.fc(torch.cat([h[0], h[1]], dim=-1))

    m = BiGRUClassifier()
    ids = torch.randint(1, 900, (32, 24))
    return dict(model=m, inputs=ids, target=torch.randint(0, 2, (32,)), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def nb59_ok_masked_attention_pooling_over_time():
    _seed()

    class AttnPool(nn.Module):
        def __init__(self, vocab=400, d=48):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.key = nn.Sequential(nn.Linear(d, d), nn.Tanh())
            self.score = nn.Linear(d, 1, bias=False)
            self.fc = nn.Linear(d, 4)

        def forward(self, ids, pad):
            x = self.emb(ids)
            s = self.score(self.key(x)).squeeze(-1).masked_fill(pad, float("-inf"))
            a = torch.softmax(s, dim=1)  # over time
            return self.fc(torch.einsum("bt,btd->bd", a, x))

    ids, pad, _ = _padded_ids(28, 26, 400, 4)
    return dict(model=AttnPool(), inputs=(ids, pad), target=torch.randint(0, 4, (28,)),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def nb59_ok_dna_onehot_conv1d_log_softmax_nll():
    _seed()
    bases = torch.randint(0, 4, (32, 100))
    x = F.one_hot(bases, 4).permute(0, 2, 1).float()  # (B, 4, L)
    m = nn.Sequential(
        nn.Conv1d(4, 32, 9, padding=4), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(4),
        nn.Conv1d(32, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(), nn.AdaptiveMaxPool1d(1),
        nn.Flatten(), nn.Linear(32, 2), nn.LogSoftmax(dim=1))
    return dict(model=m, inputs=x, target=torch.randint(0, 2, (32,)), loss=nn.NLLLoss(), expect=[])


@case
def nb59_ok_tbptt_gru_lm_carried_hidden_state():
    # Truncated BPTT: hidden state from the previous chunk of the SAME streams, detached, batch size matches.
    _seed()

    class StreamLM(nn.Module):
        def __init__(self, vocab=50, d=32, h=64):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.gru = nn.GRU(d, h, num_layers=2, batch_first=True)
            self.head = nn.Linear(h, vocab)

        def forward(self, ids, h0):
            out, _ = self.gru(self.emb(ids), h0)
            return self.head(out)

    m = StreamLM()
    stream = torch.randint(0, 50, (8, 41))
    with torch.no_grad():
        _, h = m.gru(m.emb(stream[:, :20]), torch.zeros(2, 8, 64))
    x, y = stream[:, 20:40], stream[:, 21:41]
    return dict(model=m, inputs=(x, h.detach()), target=y,
                loss=lambda o, t: F.cross_entropy(o.reshape(-1, o.shape[-1]), t.reshape(-1)), expect=[])
