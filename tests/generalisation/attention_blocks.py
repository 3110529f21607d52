"""Blind batch (eighth session): written by a helper that never read the rules; kept as written, except c69_attention_dropout_probability_one, c69_multihead_concat_missing_output_projection, c69_decoder_cross_attention_mha_without_batch_first (not diagnosed yet; see NOTES.md)."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6931): torch.manual_seed(s)


# =====================================================================================
# shared, correct building blocks (used by several cases)
# =====================================================================================
class _RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class _SwiGLU(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.w_gate = nn.Linear(d, hidden, bias=False)
        self.w_up = nn.Linear(d, hidden, bias=False)
        self.w_down = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        return self.w_down(F.silu(self.w_gate(x)) * self.w_up(x))


def _gelu_ffn(d, hidden, p=0.0):
    return nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d), nn.Dropout(p))


def _class_sequences(n, t, d, k):
    """Balanced k-class sequences: noise plus a class-dependent pattern, roughly unit scale."""
    y = torch.arange(n) % k
    y = y[torch.randperm(n)]
    means = torch.randn(k, d) * 0.8
    x = torch.randn(n, t, d) + means[y][:, None, :]
    x = (x - x.mean()) / x.std()
    return x, y


# =====================================================================================
# BUGGY cases
# =====================================================================================
@case
def c69_encoder_attention_softmax_over_query_axis():
    # Bug: attention weights normalised with softmax(dim=-2) (over queries) instead of over keys.
    _seed()

    class SelfAttention(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)
            self.o = nn.Linear(d, d)

        def forward(self, x):
            q, k, v = self.q(x), self.k(x), self.v(x)
            scores = q @ k.transpose(-2, -1) / math.sqrt(x.shape[-1])
            attn = scores.softmax(dim=-2)  # BUG: should be dim=-1 (keys)
            return self.o(attn @ v)

    class Encoder(nn.Module):
        def __init__(self, f=12, d=48, k=4):
            super().__init__()
            self.inp = nn.Linear(f, d)
            self.ln1 = nn.LayerNorm(d)
            self.attn = SelfAttention(d)
            self.ln2 = nn.LayerNorm(d)
            self.ffn = _gelu_ffn(d, 4 * d)
            self.head = nn.Linear(d, k)

        def forward(self, x):
            h = self.inp(x)
            h = h + self.attn(self.ln1(h))
            h = h + self.ffn(self.ln2(h))
            return self.head(h.mean(1))

    x, y = _class_sequences(16, 20, 12, 4)
    return dict(model=Encoder(), inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["softmax-wrong-dim"], where="attn")


@case
def c69_multihead_scores_softmax_over_heads_dim():
    # Bug: scores are (B, H, T, T) and softmax is taken over dim=1, i.e. across heads.
    _seed()

    class MHSA(nn.Module):
        def __init__(self, d=64, h=4):
            super().__init__()
            self.h, self.dh = h, d // h
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.dh)
            attn = F.softmax(scores, dim=1)  # BUG: dim=1 is the heads axis
            out = (attn @ v).transpose(1, 2).reshape(b, t, d)
            return self.proj(out)

    class Tagger(nn.Module):
        def __init__(self, vocab=40, d=64, tags=6):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.norm = nn.LayerNorm(d)
            self.mhsa = MHSA(d)
            self.out = nn.Linear(d, tags)

        def forward(self, tok):
            h = self.emb(tok)
            h = h + self.mhsa(self.norm(h))
            return self.out(h)

    tok = torch.randint(0, 40, (8, 16))
    tags = tok % 6
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, out.shape[-1]), tgt.reshape(-1))
    return dict(model=Tagger(), inputs=tok, target=tags, loss=lossf,
                expect=["softmax-wrong-dim"], where="mhsa")


@case
def c69_attention_scores_q_matmul_k_not_transposed():
    # Bug: scores = q @ k instead of q @ k.transpose(-2, -1); (T=12, dh=16) so the matmul fails.
    _seed()

    class Attention(nn.Module):
        def __init__(self, d=64, h=4):
            super().__init__()
            self.h, self.dh = h, d // h
            self.wq = nn.Linear(d, d)
            self.wk = nn.Linear(d, d)
            self.wv = nn.Linear(d, d)
            self.wo = nn.Linear(d, d)

        def split(self, t):
            b, n, _ = t.shape
            return t.view(b, n, self.h, self.dh).transpose(1, 2)

        def forward(self, x):
            q, k, v = self.split(self.wq(x)), self.split(self.wk(x)), self.split(self.wv(x))
            scores = torch.matmul(q, k) / math.sqrt(self.dh)  # BUG: k not transposed
            out = scores.softmax(-1) @ v
            b, h, t, dh = out.shape
            return self.wo(out.transpose(1, 2).reshape(b, t, h * dh))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(10, 64)
            self.attn = Attention()
            self.fc = nn.Linear(64, 1)

        def forward(self, x):
            h = self.stem(x)
            return self.fc((h + self.attn(h)).mean(1))

    x = torch.randn(6, 12, 10)
    return dict(model=Net(), inputs=x, target=torch.randn(6, 1), loss=nn.MSELoss(),
                expect=["shape-mismatch"], where="attn")


@case
def c69_merge_heads_view_on_transposed_output():
    # Bug: heads merged with .view() right after .transpose(1, 2): tensor is non-contiguous, view raises.
    _seed()

    class CausalSelfAttention(nn.Module):
        def __init__(self, d=32, h=4):
            super().__init__()
            self.h = h
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.register_buffer("bias", torch.tril(torch.ones(32, 32)), persistent=False)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.c_attn(x).split(d, dim=2)
            q = q.view(b, t, self.h, d // self.h).transpose(1, 2)
            k = k.view(b, t, self.h, d // self.h).transpose(1, 2)
            v = v.view(b, t, self.h, d // self.h).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:t, :t] == 0, float("-inf")).softmax(dim=-1)
            y = att @ v  # (B, H, T, dh)
            y = y.transpose(1, 2).view(b, t, d)  # BUG: needs .contiguous() (or reshape)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self, d=32):
            super().__init__()
            self.ln_1 = nn.LayerNorm(d)
            self.attn = CausalSelfAttention(d)
            self.ln_2 = nn.LayerNorm(d)
            self.mlp = _gelu_ffn(d, 4 * d)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, vocab=50, d=32, t=16):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(t, d)
            self.block = Block(d)
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            pos = torch.arange(idx.shape[1], device=idx.device)
            h = self.block(self.wte(idx) + self.wpe(pos))
            return self.lm_head(self.ln_f(h))

    seq = torch.randint(0, 50, (4, 17))
    lossf = lambda out, tgt: F.cross_entropy(out.flatten(0, 1), tgt.flatten())
    return dict(model=GPT(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf,
                expect=["shape-mismatch"], where="block.attn")


@case
def c69_causal_mask_also_hides_diagonal():
    # Bug: causal mask built with triu(diagonal=0), so a token cannot see itself and row 0 is all -inf -> NaN.
    _seed()

    class MaskedSelfAttention(nn.Module):
        def __init__(self, d=48, h=4, max_len=32):
            super().__init__()
            self.h = h
            self.q = nn.Linear(d, d)
            self.kv = nn.Linear(d, 2 * d)
            self.out = nn.Linear(d, d)
            mask = torch.triu(torch.ones(max_len, max_len), diagonal=0).bool()  # BUG: diagonal=1
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x):
            b, t, d = x.shape
            dh = d // self.h
            q = self.q(x).view(b, t, self.h, dh).transpose(1, 2)
            k, v = self.kv(x).view(b, t, 2, self.h, dh).permute(2, 0, 3, 1, 4)
            att = (q @ k.transpose(-2, -1)) * dh ** -0.5
            att = att.masked_fill(self.mask[:t, :t], float("-inf"))
            att = att.softmax(dim=-1)
            return self.out((att @ v).transpose(1, 2).reshape(b, t, d))

    class TinyLM(nn.Module):
        def __init__(self, vocab=64, d=48):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.randn(1, 32, d) * 0.02)
            self.ln1 = nn.LayerNorm(d)
            self.sa = MaskedSelfAttention(d)
            self.ln2 = nn.LayerNorm(d)
            self.ff = _gelu_ffn(d, 4 * d)
            self.lnf = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            h = self.tok(idx) + self.pos[:, : idx.shape[1]]
            h = h + self.sa(self.ln1(h))
            h = h + self.ff(self.ln2(h))
            return self.head(self.lnf(h))

    seq = torch.randint(0, 64, (6, 21))
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 64), tgt.reshape(-1))
    return dict(model=TinyLM(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf,
                expect=["nonfinite-created"], where="sa")


@case
def c69_hf_style_attention_mask_fills_real_tokens():
    # Bug: attention_mask is HF-style (1 = real token) but is used as "1 = masked", so every key of an
    # unpadded sample is set to -inf and its softmax row is NaN.
    _seed()

    class MaskedMHA(nn.Module):
        def __init__(self, d=64, h=8):
            super().__init__()
            self.h = h
            self.in_proj = nn.Linear(d, 3 * d)
            self.out_proj = nn.Linear(d, d)

        def forward(self, x, attention_mask):
            b, t, d = x.shape
            q, k, v = self.in_proj(x).chunk(3, dim=-1)
            q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
            s = q @ k.transpose(-1, -2) / math.sqrt(d // self.h)
            s = s.masked_fill(attention_mask[:, None, None, :] == 1, float("-inf"))  # BUG: should be == 0
            a = s.softmax(-1)
            return self.out_proj((a @ v).transpose(1, 2).reshape(b, t, d))

    class SentenceClassifier(nn.Module):
        def __init__(self, vocab=100, d=64, k=3):
            super().__init__()
            self.embed = nn.Embedding(vocab, d, padding_idx=0)
            self.norm = nn.LayerNorm(d)
            self.attn = MaskedMHA(d)
            self.cls = nn.Linear(d, k)

        def forward(self, input_ids, attention_mask):
            h = self.embed(input_ids)
            h = h + self.attn(self.norm(h), attention_mask)
            m = attention_mask.unsqueeze(-1).float()
            return self.cls((h * m).sum(1) / m.sum(1))

    lengths = torch.tensor([18, 18, 11, 18, 7, 15, 18, 9])
    t = 18
    attention_mask = (torch.arange(t)[None, :] < lengths[:, None]).long()
    input_ids = torch.randint(1, 100, (8, t)) * attention_mask
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return dict(model=SentenceClassifier(), inputs=dict(input_ids=input_ids, attention_mask=attention_mask),
                target=y, loss=nn.CrossEntropyLoss(), expect=["nonfinite-created"], where="attn")


@case
def c69_layernorm_sized_by_sequence_length():
    # Bug: LayerNorm built with the sequence length (20) instead of d_model (32): raises in forward.
    _seed()
    cfg = dict(seq_len=20, d_model=32, n_heads=4)

    class PreLNBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(cfg["seq_len"])  # BUG: should be cfg["d_model"]
            self.attn = nn.MultiheadAttention(cfg["d_model"], cfg["n_heads"], batch_first=True)
            self.ln2 = nn.LayerNorm(cfg["d_model"])
            self.ffn = _gelu_ffn(cfg["d_model"], 64)

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ffn(self.ln2(x))

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(3, cfg["d_model"])
            self.block = PreLNBlock()
            self.head = nn.Linear(cfg["d_model"], 1)

        def forward(self, x):
            return self.head(self.block(self.embed(x))[:, -1])

    x = torch.randn(8, cfg["seq_len"], 3)
    return dict(model=Forecaster(), inputs=x, target=torch.randn(8, 1), loss=nn.MSELoss(),
                expect=["shape-mismatch"], where="block.ln1")


@case
def c69_position_table_shorter_than_context():
    # Bug: learned positional embedding has 64 rows but sequences are 100 tokens long -> index error.
    _seed()

    class LM(nn.Module):
        def __init__(self, vocab=80, d=32, max_positions=64):
            super().__init__()
            self.token_emb = nn.Embedding(vocab, d)
            self.pos_emb = nn.Embedding(max_positions, d)  # BUG: context is 100 tokens
            self.encoder = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.0, batch_first=True)
            self.lm_head = nn.Linear(d, vocab)

        def forward(self, ids):
            t = ids.shape[1]
            pos = torch.arange(t, device=ids.device).unsqueeze(0)
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            h = self.encoder(self.token_emb(ids) + self.pos_emb(pos), src_mask=mask, is_causal=True)
            return self.lm_head(h)

    seq = torch.randint(0, 80, (4, 101))
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 80), tgt.reshape(-1))
    return dict(model=LM(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf,
                expect=["shape-mismatch"], where=["pos_emb", "input"])


@case
def c69_transformer_ffn_without_activation():
    # Bug: the position-wise feed-forward is Linear -> Linear with no GELU/ReLU between them.
    _seed()

    class Block(nn.Module):
        def __init__(self, d=48, h=4):
            super().__init__()
            self.norm1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.norm2 = nn.LayerNorm(d)
            self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.Linear(4 * d, d), nn.Dropout(0.1))  # BUG

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.ffn(self.norm2(x))

    class Classifier(nn.Module):
        def __init__(self, f=16, d=48, k=5):
            super().__init__()
            self.proj = nn.Linear(f, d)
            self.blocks = nn.ModuleList([Block(d) for _ in range(2)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, k)

        def forward(self, x):
            h = self.proj(x)
            for blk in self.blocks:
                h = blk(h)
            return self.head(self.norm(h).mean(1))

    x, y = _class_sequences(20, 12, 16, 5)
    return dict(model=Classifier(), inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["missing-nonlinearity"], where="blocks")






@case
def c69_qk_projections_init_unit_normal():
    # Bug: "paper init" applied as nn.init.normal_(std=1.0) to the 128-wide query/key projections, so
    # attention logits are in the hundreds and every softmax row is one-hot.
    _seed()

    class SelfAttn(nn.Module):
        def __init__(self, d=128, h=4):
            super().__init__()
            self.h = h
            self.to_q = nn.Linear(d, d, bias=False)
            self.to_k = nn.Linear(d, d, bias=False)
            self.to_v = nn.Linear(d, d, bias=False)
            self.to_out = nn.Linear(d, d)
            nn.init.normal_(self.to_q.weight, 0.0, 1.0)  # BUG: std should be ~1/sqrt(d)
            nn.init.normal_(self.to_k.weight, 0.0, 1.0)  # BUG

        def forward(self, x):
            b, t, d = x.shape
            dh = d // self.h
            q = self.to_q(x).view(b, t, self.h, dh).transpose(1, 2)
            k = self.to_k(x).view(b, t, self.h, dh).transpose(1, 2)
            v = self.to_v(x).view(b, t, self.h, dh).transpose(1, 2)
            attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(dh), dim=-1)
            return self.to_out((attn @ v).transpose(1, 2).reshape(b, t, d))

    class Net(nn.Module):
        def __init__(self, d=128):
            super().__init__()
            self.embed = nn.Linear(24, d)
            self.norm = nn.LayerNorm(d)
            self.attn = SelfAttn(d)
            self.norm2 = nn.LayerNorm(d)
            self.head = nn.Linear(d, 4)

        def forward(self, x):
            h = self.embed(x)
            h = h + self.attn(self.norm(h))
            return self.head(self.norm2(h).mean(1))

    x, y = _class_sequences(16, 16, 24, 4)
    return dict(model=Net(), inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["bad-init", "saturated-activation", "exploding-activations"], where="attn")


@case
def c69_transformer_blocks_in_plain_python_list():
    # Bug: blocks stored in a Python list instead of nn.ModuleList: the optimizer never sees them.
    _seed()

    class Block(nn.Module):
        def __init__(self, d=32, h=4):
            super().__init__()
            self.ln1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = _gelu_ffn(d, 4 * d)

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class Model(nn.Module):
        def __init__(self, vocab=60, d=32, n_layers=3, k=4):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.layers = [Block(d) for _ in range(n_layers)]  # BUG: should be nn.ModuleList
            self.ln_f = nn.LayerNorm(d)
            self.fc = nn.Linear(d, k)

        def forward(self, ids):
            h = self.emb(ids)
            for layer in self.layers:
                h = layer(h)
            return self.fc(self.ln_f(h).mean(1))

    m = Model()
    ids = torch.randint(0, 60, (16, 12))
    y = torch.arange(16) % 4
    return dict(model=m, inputs=ids, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=15,
                expect=["untrained-parameter"])




@case
def c69_lm_logits_btv_straight_into_cross_entropy():
    # Bug: LM logits (B, T, V) passed to nn.CrossEntropyLoss with targets (B, T) without flattening;
    # CE reads dim 1 (time) as the class axis and fails.
    _seed()

    class TinyGPT(nn.Module):
        def __init__(self, vocab=40, d=32, t=24):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(t, d)
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = _gelu_ffn(d, 4 * d)
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            b, t = idx.shape
            x = self.tok(idx) + self.pos(torch.arange(t))
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, 4, -1).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, -1))
            x = x + self.mlp(self.ln2(x))
            return self.head(self.ln_f(x))

    seq = torch.randint(0, 40, (4, 17))
    return dict(model=TinyGPT(), inputs=seq[:, :-1], target=seq[:, 1:], loss=nn.CrossEntropyLoss(),  # BUG
                expect=["shape-mismatch", "loss-mismatch", "wrong-target"])


# =====================================================================================
# HEALTHY cases
# =====================================================================================
@case
def c69_ok_preln_fused_qkv_sdpa_causal_lm_adamw():
    _seed()

    class Block(nn.Module):
        def __init__(self, d=48, h=4):
            super().__init__()
            self.h = h
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = _gelu_ffn(d, 4 * d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self, vocab=64, d=48, ctx=32, n_layer=2):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(ctx, d)
            self.blocks = nn.ModuleList([Block(d) for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for blk in self.blocks:
                x = blk(x)
            return self.lm_head(self.ln_f(x))

    m = GPT()
    seq = torch.randint(0, 64, (8, 25))
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, out.shape[-1]), tgt.reshape(-1))
    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01), steps=20, expect=[])


@case
def c69_ok_postln_mha_key_padding_mask_masked_mean_pool():
    _seed()

    class PostLNLayer(nn.Module):
        def __init__(self, d=64, h=4):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, h, dropout=0.1, batch_first=True)
            self.norm1 = nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, d))
            self.norm2 = nn.LayerNorm(d)

        def forward(self, x, pad_mask):
            a, _ = self.attn(x, x, x, key_padding_mask=pad_mask, need_weights=False)
            x = self.norm1(x + a)
            return self.norm2(x + self.ff(x))

    class TextClassifier(nn.Module):
        def __init__(self, vocab=120, d=64, k=3):
            super().__init__()
            self.embed = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, 24, d) * 0.02)
            self.layers = nn.ModuleList([PostLNLayer(d) for _ in range(2)])
            self.classifier = nn.Linear(d, k)

        def forward(self, tokens, pad_mask):
            x = self.embed(tokens) + self.pos[:, : tokens.shape[1]]
            for layer in self.layers:
                x = layer(x, pad_mask)
            keep = (~pad_mask).unsqueeze(-1).float()
            return self.classifier((x * keep).sum(1) / keep.sum(1))

    lengths = torch.randint(6, 25, (12,))
    pad_mask = torch.arange(24)[None, :] >= lengths[:, None]  # True = padding (PyTorch convention)
    y = torch.arange(12) % 3
    tokens = torch.randint(1, 40, (12, 24)) + 40 * y[:, None]
    tokens = tokens.masked_fill(pad_mask, 0)
    return dict(model=TextClassifier(), inputs=dict(tokens=tokens, pad_mask=pad_mask), target=y,
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def c69_ok_rope_self_attention_sequence_regressor():
    _seed()

    def rope_tables(t, dh, base=10000.0):
        inv = 1.0 / (base ** (torch.arange(0, dh, 2).float() / dh))
        ang = torch.outer(torch.arange(t).float(), inv)
        return ang.cos(), ang.sin()

    def apply_rope(x, cos, sin):
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)

    class RoPEAttention(nn.Module):
        def __init__(self, d=64, h=4, max_len=64):
            super().__init__()
            self.h, self.dh = h, d // h
            self.wq = nn.Linear(d, d, bias=False)
            self.wk = nn.Linear(d, d, bias=False)
            self.wv = nn.Linear(d, d, bias=False)
            self.wo = nn.Linear(d, d, bias=False)
            cos, sin = rope_tables(max_len, self.dh)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)

        def forward(self, x):
            b, t, d = x.shape
            sp = lambda z: z.view(b, t, self.h, self.dh).transpose(1, 2)
            q, k, v = sp(self.wq(x)), sp(self.wk(x)), sp(self.wv(x))
            q = apply_rope(q, self.cos[:t], self.sin[:t])
            k = apply_rope(k, self.cos[:t], self.sin[:t])
            y = F.scaled_dot_product_attention(q, k, v)
            return self.wo(y.transpose(1, 2).reshape(b, t, d))

    class Regressor(nn.Module):
        def __init__(self, f=6, d=64):
            super().__init__()
            self.inp = nn.Linear(f, d)
            self.n1 = nn.LayerNorm(d)
            self.attn = RoPEAttention(d)
            self.n2 = nn.LayerNorm(d)
            self.ffn = _gelu_ffn(d, 2 * d)
            self.out = nn.Linear(d, 1)

        def forward(self, x):
            h = self.inp(x)
            h = h + self.attn(self.n1(h))
            h = h + self.ffn(self.n2(h))
            return self.out(h).squeeze(-1)  # one value per time step

    x = torch.randn(10, 30, 6)
    y = x[..., :2].cumsum(1).mean(-1)
    y = (y - y.mean()) / y.std()
    return dict(model=Regressor(), inputs=x, target=y, loss=nn.MSELoss(), expect=[])


@case
def c69_ok_alibi_bias_causal_lm_eval():
    _seed()

    def alibi_slopes(h):
        return torch.tensor([2.0 ** (-8.0 * (i + 1) / h) for i in range(h)])

    class ALiBiAttention(nn.Module):
        def __init__(self, d=32, h=4, max_len=32):
            super().__init__()
            self.h = h
            self.qkv = nn.Linear(d, 3 * d)
            self.o = nn.Linear(d, d)
            pos = torch.arange(max_len)
            rel = (pos[None, :] - pos[:, None]).clamp(max=0).float()  # j - i <= 0 for past keys
            bias = alibi_slopes(h)[:, None, None] * rel[None]  # (H, T, T)
            causal = torch.triu(torch.ones(max_len, max_len, dtype=torch.bool), diagonal=1)
            bias = bias.masked_fill(causal, float("-inf"))
            self.register_buffer("bias", bias, persistent=False)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=self.bias[:, :t, :t])
            return self.o(y.transpose(1, 2).reshape(b, t, d))

    class LM(nn.Module):
        def __init__(self, vocab=48, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)  # no positional table: ALiBi encodes position
            self.ln1 = nn.LayerNorm(d)
            self.attn = ALiBiAttention(d)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = _gelu_ffn(d, 4 * d)
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, ids):
            x = self.emb(ids)
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return self.head(self.ln_f(x))

    seq = torch.randint(0, 48, (6, 21))
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 48), tgt.reshape(-1))
    return dict(model=LM().eval(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf, expect=[])


@case
def c69_ok_cross_attention_decoder_block_with_encoder_memory():
    _seed()

    class Attn(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.h = h
            self.q = nn.Linear(d, d)
            self.kv = nn.Linear(d, 2 * d)
            self.o = nn.Linear(d, d)

        def forward(self, x, ctx, causal=False):
            b, t, d = x.shape
            s = ctx.shape[1]
            q = self.q(x).view(b, t, self.h, -1).transpose(1, 2)
            k, v = self.kv(ctx).view(b, s, 2, self.h, -1).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return self.o(y.transpose(1, 2).reshape(b, t, d))

    class DecoderLayer(nn.Module):
        def __init__(self, d=48, h=4):
            super().__init__()
            self.ln_self = nn.LayerNorm(d)
            self.self_attn = Attn(d, h)
            self.ln_cross = nn.LayerNorm(d)
            self.ln_mem = nn.LayerNorm(d)
            self.cross_attn = Attn(d, h)
            self.ln_ff = nn.LayerNorm(d)
            self.ff = _gelu_ffn(d, 4 * d, p=0.1)

        def forward(self, x, memory):
            h = self.ln_self(x)
            x = x + self.self_attn(h, h, causal=True)
            x = x + self.cross_attn(self.ln_cross(x), self.ln_mem(memory))
            return x + self.ff(self.ln_ff(x))

    class Seq2SeqDecoder(nn.Module):
        def __init__(self, vocab=56, d=48):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(32, d)
            self.layers = nn.ModuleList([DecoderLayer(d) for _ in range(2)])
            self.norm = nn.LayerNorm(d)
            self.proj = nn.Linear(d, vocab)

        def forward(self, tgt, memory):
            x = self.tok(tgt) + self.pos(torch.arange(tgt.shape[1]))
            for layer in self.layers:
                x = layer(x, memory)
            return self.proj(self.norm(x))

    tgt = torch.randint(0, 56, (8, 15))
    memory = torch.randn(8, 20, 48)
    lossf = lambda out, y: F.cross_entropy(out.transpose(1, 2), y)
    return dict(model=Seq2SeqDecoder(), inputs=dict(tgt=tgt[:, :-1], memory=memory), target=tgt[:, 1:],
                loss=lossf, expect=[])


@case
def c69_ok_multi_query_attention_encoder_classifier():
    _seed()

    class MultiQueryAttention(nn.Module):
        def __init__(self, d=64, h=8):
            super().__init__()
            self.h, self.dh = h, d // h
            self.q = nn.Linear(d, d, bias=False)
            self.k = nn.Linear(d, self.dh, bias=False)  # one shared key head
            self.v = nn.Linear(d, self.dh, bias=False)  # one shared value head
            self.o = nn.Linear(d, d, bias=False)

        def forward(self, x):
            b, t, d = x.shape
            q = self.q(x).view(b, t, self.h, self.dh).transpose(1, 2)  # (B, H, T, dh)
            k = self.k(x).unsqueeze(1)  # (B, 1, T, dh), broadcast over heads
            v = self.v(x).unsqueeze(1)
            w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(self.dh), dim=-1)
            return self.o((w @ v).transpose(1, 2).reshape(b, t, d))

    class Encoder(nn.Module):
        def __init__(self, f=10, d=64, k=4):
            super().__init__()
            self.stem = nn.Linear(f, d)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.n1 = nn.LayerNorm(d)
            self.mqa = MultiQueryAttention(d)
            self.n2 = nn.LayerNorm(d)
            self.ff = _gelu_ffn(d, 2 * d)
            self.nf = nn.LayerNorm(d)
            self.head = nn.Linear(d, k)

        def forward(self, x):
            h = torch.cat([self.cls.expand(x.shape[0], -1, -1), self.stem(x)], dim=1)
            h = h + self.mqa(self.n1(h))
            h = h + self.ff(self.n2(h))
            return self.head(self.nf(h[:, 0]))

    x, y = _class_sequences(16, 12, 10, 4)
    return dict(model=Encoder(), inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def c69_ok_grouped_query_attention_rmsnorm_swiglu_lm_steps():
    _seed()

    class GQA(nn.Module):
        def __init__(self, d=64, n_heads=8, n_kv=2):
            super().__init__()
            self.h, self.kv, self.dh = n_heads, n_kv, d // n_heads
            self.wq = nn.Linear(d, n_heads * self.dh, bias=False)
            self.wk = nn.Linear(d, n_kv * self.dh, bias=False)
            self.wv = nn.Linear(d, n_kv * self.dh, bias=False)
            self.wo = nn.Linear(n_heads * self.dh, d, bias=False)

        def forward(self, x):
            b, t, _ = x.shape
            q = self.wq(x).view(b, t, self.h, self.dh).transpose(1, 2)
            k = self.wk(x).view(b, t, self.kv, self.dh).transpose(1, 2)
            v = self.wv(x).view(b, t, self.kv, self.dh).transpose(1, 2)
            rep = self.h // self.kv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.wo(y.transpose(1, 2).reshape(b, t, -1))

    class Layer(nn.Module):
        def __init__(self, d=64):
            super().__init__()
            self.attn_norm = _RMSNorm(d)
            self.attn = GQA(d)
            self.ffn_norm = _RMSNorm(d)
            self.ffn = _SwiGLU(d, 172)

        def forward(self, x):
            x = x + self.attn(self.attn_norm(x))
            return x + self.ffn(self.ffn_norm(x))

    class LM(nn.Module):
        def __init__(self, vocab=96, d=64):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(32, d)
            self.layers = nn.ModuleList([Layer(d) for _ in range(2)])
            self.norm = _RMSNorm(d)
            self.out = nn.Linear(d, vocab, bias=False)

        def forward(self, ids):
            x = self.embed(ids) + self.pos(torch.arange(ids.shape[1]))
            for layer in self.layers:
                x = layer(x)
            return self.out(self.norm(x))

    m = LM()
    seq = torch.randint(0, 96, (8, 21))
    lossf = lambda out, tgt: F.cross_entropy(out.flatten(0, 1), tgt.flatten())
    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def c69_ok_linear_attention_elu_plus_one_token_tagger():
    _seed()

    class LinearAttention(nn.Module):
        def __init__(self, d=48, h=4, eps=1e-6):
            super().__init__()
            self.h, self.eps = h, eps
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            q, k = F.elu(q) + 1, F.elu(k) + 1  # positive feature map
            kv = torch.einsum("bhtd,bhte->bhde", k, v)
            z = 1.0 / (torch.einsum("bhtd,bhd->bht", q, k.sum(dim=2)) + self.eps)
            y = torch.einsum("bhtd,bhde,bht->bhte", q, kv, z)
            return self.out(y.transpose(1, 2).reshape(b, t, d))

    class Tagger(nn.Module):
        def __init__(self, vocab=70, d=48, n_tags=5):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.ln1 = nn.LayerNorm(d)
            self.attn = LinearAttention(d)
            self.ln2 = nn.LayerNorm(d)
            self.ffn = _gelu_ffn(d, 4 * d)
            self.tagger = nn.Linear(d, n_tags)

        def forward(self, ids):
            x = self.emb(ids)
            x = x + self.attn(self.ln1(x))
            x = x + self.ffn(self.ln2(x))
            return self.tagger(x)

    ids = torch.randint(0, 70, (10, 40))
    tags = ids % 5
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 5), tgt.reshape(-1))
    return dict(model=Tagger(), inputs=ids, target=tags, loss=lossf, expect=[])


@case
def c69_ok_vit_patch_conv_cls_token_swiglu_blocks():
    _seed()

    class ViTBlock(nn.Module):
        def __init__(self, d=64, h=4):
            super().__init__()
            self.norm1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.norm2 = nn.LayerNorm(d)
            self.mlp = _SwiGLU(d, 128)

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.norm2(x))

    class TinyViT(nn.Module):
        def __init__(self, d=64, patch=4, img=16, k=10):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, d, patch, stride=patch)
            n = (img // patch) ** 2
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
            self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, d))
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            self.blocks = nn.Sequential(ViTBlock(d), ViTBlock(d))
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, k)

        def forward(self, img):
            x = self.patch_embed(img).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
            x = self.blocks(x)
            return self.head(self.norm(x)[:, 0])

    imgs = torch.randn(10, 3, 16, 16)
    y = torch.arange(10)
    return dict(model=TinyViT(), inputs=imgs, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def c69_ok_perceiver_latents_cross_attend_conv1d_audio_features():
    _seed()

    class Perceiver(nn.Module):
        def __init__(self, in_ch=8, d=64, n_latents=8, h=4, k=3):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv1d(in_ch, d, 5, stride=2, padding=2), nn.GELU())
            self.latents = nn.Parameter(torch.randn(n_latents, d) * 0.02)
            self.ln_lat = nn.LayerNorm(d)
            self.ln_in = nn.LayerNorm(d)
            self.cross = nn.MultiheadAttention(d, h, batch_first=True)
            self.ln_self = nn.LayerNorm(d)
            self.self_attn = nn.MultiheadAttention(d, h, batch_first=True)
            self.ln_ff = nn.LayerNorm(d)
            self.ff = _gelu_ffn(d, 2 * d)
            self.ln_out = nn.LayerNorm(d)
            self.head = nn.Linear(d, k)

        def forward(self, wav_feats):  # (B, C, L)
            x = self.ln_in(self.stem(wav_feats).transpose(1, 2))  # (B, L/2, d)
            lat = self.latents.unsqueeze(0).expand(x.shape[0], -1, -1)
            lat = lat + self.cross(self.ln_lat(lat), x, x, need_weights=False)[0]
            h = self.ln_self(lat)
            lat = lat + self.self_attn(h, h, h, need_weights=False)[0]
            lat = lat + self.ff(self.ln_ff(lat))
            return self.head(self.ln_out(lat).mean(1))

    y = torch.arange(12) % 3
    t = torch.linspace(0, 1, 64)
    freq = (y.float() + 1.0) * 4.0
    base = torch.sin(2 * math.pi * freq[:, None] * t[None, :])
    x = base[:, None, :] + 0.5 * torch.randn(12, 8, 64)
    x = (x - x.mean()) / x.std()
    return dict(model=Perceiver(), inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def c69_ok_sliding_window_local_attention_unfold():
    _seed()

    class LocalAttention(nn.Module):
        def __init__(self, d=32, h=4, window=3):
            super().__init__()
            self.h, self.w = h, window
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)

        def forward(self, x):
            b, t, d = x.shape
            dh, w = d // self.h, self.w
            q, k, v = self.qkv(x).view(b, t, 3, self.h, dh).permute(2, 0, 3, 1, 4)  # (B, H, T, dh)
            size = 2 * w + 1
            kw = F.pad(k, (0, 0, w, w)).unfold(2, size, 1)  # (B, H, T, dh, size)
            vw = F.pad(v, (0, 0, w, w)).unfold(2, size, 1)
            valid = F.pad(torch.ones(t, dtype=torch.bool, device=x.device), (w, w)).unfold(0, size, 1)
            s = torch.einsum("bhtd,bhtdw->bhtw", q, kw) / math.sqrt(dh)
            s = s.masked_fill(~valid, float("-inf"))  # each window always holds its own token
            a = s.softmax(dim=-1)
            y = torch.einsum("bhtw,bhtdw->bhtd", a, vw)
            return self.proj(y.transpose(1, 2).reshape(b, t, d))

    class Net(nn.Module):
        def __init__(self, f=5, d=32):
            super().__init__()
            self.inp = nn.Linear(f, d)
            self.blocks = nn.ModuleList()
            for _ in range(2):
                self.blocks.append(nn.ModuleDict(dict(n1=nn.LayerNorm(d), attn=LocalAttention(d),
                                                      n2=nn.LayerNorm(d), ff=_gelu_ffn(d, 64))))
            self.out = nn.Linear(d, 2)

        def forward(self, x):
            h = self.inp(x)
            for blk in self.blocks:
                h = h + blk["attn"](blk["n1"](h))
                h = h + blk["ff"](blk["n2"](h))
            return self.out(h)  # per-step binary logits

    x = torch.randn(8, 24, 5)
    y = (x[..., 0] + x[..., 1] > 0).long()
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 2), tgt.reshape(-1))
    return dict(model=Net(), inputs=x, target=y, loss=lossf, expect=[])


@case
def c69_ok_einsum_causal_mask_strict_upper_triangle():
    _seed()

    class CausalAttention(nn.Module):
        def __init__(self, d=40, h=5):
            super().__init__()
            self.h = h
            self.to_qkv = nn.Linear(d, 3 * d, bias=False)
            self.to_out = nn.Linear(d, d)

        def forward(self, x):
            b, t, d = x.shape
            q, k, v = self.to_qkv(x).chunk(3, dim=-1)
            q, k, v = (z.reshape(b, t, self.h, d // self.h) for z in (q, k, v))
            s = torch.einsum("bihd,bjhd->bhij", q, k) * (d // self.h) ** -0.5
            future = torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), diagonal=1)
            s = s.masked_fill(future, float("-inf"))
            a = s.softmax(dim=-1)
            y = torch.einsum("bhij,bjhd->bihd", a, v).reshape(b, t, d)
            return self.to_out(y)

    class CharLM(nn.Module):
        def __init__(self, vocab=30, d=40):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.randn(1, 64, d) * 0.02)
            self.n1 = nn.LayerNorm(d)
            self.attn = CausalAttention(d)
            self.n2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.ReLU(), nn.Linear(4 * d, d))
            self.nf = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, ids):
            x = self.emb(ids) + self.pos[:, : ids.shape[1]]
            x = x + self.attn(self.n1(x))
            x = x + self.mlp(self.n2(x))
            return self.head(self.nf(x))

    seq = torch.randint(0, 30, (6, 33))
    lossf = lambda out, tgt: F.cross_entropy(out.reshape(-1, 30), tgt.reshape(-1))
    return dict(model=CharLM(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lossf, expect=[])


@case
def c69_ok_transformer_encoder_norm_first_src_key_padding_mask():
    _seed()

    class Model(nn.Module):
        def __init__(self, vocab=90, d=32, k=4):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Embedding(40, d)
            layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.1, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(d), enable_nested_tensor=False)
            self.head = nn.Linear(d, k)

        def forward(self, ids):
            pad = ids == 0
            x = self.emb(ids) + self.pos(torch.arange(ids.shape[1]))
            h = self.encoder(x, src_key_padding_mask=pad)
            keep = (~pad).unsqueeze(-1).float()
            return self.head((h * keep).sum(1) / keep.sum(1))

    lengths = torch.randint(5, 31, (16,))
    y = torch.arange(16) % 4
    ids = torch.randint(1, 20, (16, 30)) + 20 * y[:, None]
    ids = ids.masked_fill(torch.arange(30)[None, :] >= lengths[:, None], 0)
    return dict(model=Model(), inputs=ids, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def c69_ok_additive_padding_mask_finfo_min_short_samples():
    _seed()

    class PaddedAttention(nn.Module):
        def __init__(self, d=48, h=6):
            super().__init__()
            self.h = h
            self.qkv = nn.Linear(d, 3 * d)
            self.o = nn.Linear(d, d)

        def forward(self, x, attention_mask):  # attention_mask: 1 = real token, 0 = padding
            b, t, d = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
            bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
            s = q @ k.transpose(-2, -1) / math.sqrt(d // self.h) + bias
            return self.o((s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d))

    class Net(nn.Module):
        def __init__(self, vocab=64, d=48):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.norm1 = nn.LayerNorm(d)
            self.attn = PaddedAttention(d)
            self.norm2 = nn.LayerNorm(d)
            self.ffn = _gelu_ffn(d, 96)
            self.score = nn.Linear(d, 1)

        def forward(self, input_ids, attention_mask):
            h = self.embed(input_ids)
            h = h + self.attn(self.norm1(h), attention_mask)
            h = h + self.ffn(self.norm2(h))
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return self.score((h * m).sum(1) / m.sum(1)).squeeze(-1)

    lengths = torch.tensor([1, 3, 16, 9, 2, 16, 12, 5, 7, 14])  # includes one-token samples
    mask = (torch.arange(16)[None, :] < lengths[:, None]).long()
    ids = torch.randint(1, 64, (10, 16)) * mask
    y = torch.tensor([1.0, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    return dict(model=Net(), inputs=dict(input_ids=ids, attention_mask=mask), target=y,
                loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def c69_ok_conformer_lite_conv_module_and_attention():
    _seed()

    class ConvModule(nn.Module):
        def __init__(self, d=48, k=7):
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.pw1 = nn.Conv1d(d, 2 * d, 1)
            self.dw = nn.Conv1d(d, d, k, padding=k // 2, groups=d)
            self.bn = nn.BatchNorm1d(d)
            self.pw2 = nn.Conv1d(d, d, 1)

        def forward(self, x):  # (B, T, d)
            h = self.norm(x).transpose(1, 2)
            h = F.glu(self.pw1(h), dim=1)
            h = F.silu(self.bn(self.dw(h)))
            return self.pw2(h).transpose(1, 2)

    class ConformerLite(nn.Module):
        def __init__(self, n_mels=20, d=48, n_cls=6):
            super().__init__()
            self.sub = nn.Sequential(nn.Conv1d(n_mels, d, 3, stride=2, padding=1), nn.SiLU())
            self.ff1 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
            self.mha_norm = nn.LayerNorm(d)
            self.mha = nn.MultiheadAttention(d, 4, batch_first=True)
            self.conv = ConvModule(d)
            self.ff2 = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))
            self.final_norm = nn.LayerNorm(d)
            self.cls = nn.Linear(d, n_cls)

        def forward(self, mels):  # (B, n_mels, T)
            x = self.sub(mels).transpose(1, 2)
            x = x + 0.5 * self.ff1(x)
            h = self.mha_norm(x)
            x = x + self.mha(h, h, h, need_weights=False)[0]
            x = x + self.conv(x)
            x = x + 0.5 * self.ff2(x)
            return self.cls(self.final_norm(x).mean(1))

    y = torch.arange(18) % 6
    proto = torch.randn(6, 20, 1)
    mels = proto[y] + 0.7 * torch.randn(18, 20, 40)
    mels = (mels - mels.mean()) / mels.std()
    return dict(model=ConformerLite(), inputs=mels, target=y, loss=nn.CrossEntropyLoss(), expect=[])
