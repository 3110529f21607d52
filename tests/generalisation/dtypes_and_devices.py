"""Blind batch 46 (seventh session): dtypes, the meta device and odd tensors (half and bfloat16 on
CPU, float64 buffers and states, complex inputs, float16 overflow), with healthy look-alikes (channels_last,
non-contiguous inputs, autocast inside forward), written by a helper that never read the rules. It found a
float64 LSTM state, whose CPU error says only "unsupported data type", unexplained.
"""
import math
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=4646): torch.manual_seed(s)


def _balanced(n, c):
    return torch.arange(n)[torch.randperm(n)] % c


def _smooth_images(b, c, h, w):
    # natural-ish images: low-frequency content that differs per sample, plus a little noise, standardised
    x = F.interpolate(torch.randn(b, c, 4, 4), size=(h, w), mode="bilinear", align_corners=False)
    x = x + 0.3 * torch.randn(b, c, h, w)
    return (x - x.mean()) / x.std()


def _oscillations(b, c, t):
    # multichannel sensor signals: per-sample frequencies, phases and amplitudes, plus noise
    tt = torch.arange(t).float() / t
    f = torch.randint(1, 25, (b, c, 1)).float()
    ph = torch.rand(b, c, 1) * 2 * math.pi
    amp = 0.5 + torch.rand(b, c, 1)
    x = amp * torch.sin(2 * math.pi * f * tt + ph) + 0.4 * torch.randn(b, c, t)
    return (x - x.mean()) / x.std()


# ================================================================== buggy: dtype-mismatch

@case
def halved_gru_tagger_given_float32_frames():
    # The model was .half()-ed to save memory, but the feature frames are still float32.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(20, 48, batch_first=True)
            self.out = nn.Linear(48, 5)

        def forward(self, x):
            h, _ = self.gru(x)
            return self.out(h)

    m = Tagger().half()
    x = torch.randn(8, 30, 20)  # float32
    return dict(model=m, inputs=x, expect=["dtype-mismatch"], where=["input", "gru"])


@case
def bf16_pretrained_embedding_table_in_float32_encoder():
    # The embedding table was swapped for a bfloat16 checkpoint tensor; the encoder stays float32.
    _seed()

    class TextEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(500, 64)
            self.encoder = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True)
            self.cls = nn.Linear(64, 3)

        def forward(self, ids):
            return self.cls(self.encoder(self.emb(ids)).mean(1))

    m = TextEncoder()
    pretrained = (torch.randn(500, 64) * 0.5).to(torch.bfloat16)
    m.emb.weight = nn.Parameter(pretrained)  # bf16 parameter inside a float32 model
    ids = torch.randint(0, 500, (8, 20))
    return dict(model=m, inputs=ids, target=_balanced(8, 3), loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["emb", "encoder"])


@case
def zca_whitening_buffer_from_numpy_float64():
    # A ZCA whitening matrix computed in numpy (float64) is registered as a buffer; x @ W turns the
    # activations float64 and the float32 head then crashes.
    _seed()
    rng = np.random.default_rng(4646)
    a = rng.standard_normal((16, 16))
    cov = a @ a.T / 16 + np.eye(16)
    evals, evecs = np.linalg.eigh(cov)
    w_np = evecs @ np.diag(1.0 / np.sqrt(evals)) @ evecs.T  # float64

    class Whiten(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("W", torch.from_numpy(w_np))

        def forward(self, x):
            return x @ self.W

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.whiten = Whiten()
            self.head = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))

        def forward(self, x):
            return self.head(self.whiten(x))

    x = torch.randn(32, 16)
    return dict(model=Net(), inputs=x, target=_balanced(32, 4), loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["whiten", "head"])


@case
def complex_stft_spectrogram_into_conv1d():
    # torch.stft(..., return_complex=True) output fed straight to Conv1d: forgot .abs() / magnitude.
    _seed()
    wav = torch.randn(6, 2048)
    spec = torch.stft(wav, n_fft=64, hop_length=32, window=torch.hann_window(64), return_complex=True)
    m = nn.Sequential(nn.Conv1d(33, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                      nn.Linear(32, 4))
    return dict(model=m, inputs=spec, expect=["dtype-mismatch"], where=["input", "0"])


@case
def one_hot_int64_categories_into_linear():
    # F.one_hot returns int64; the categorical encoding goes into a Linear without .float().
    _seed()
    cats = torch.randint(0, 12, (24,))
    x = F.one_hot(cats, 12)  # torch.int64
    m = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=x, target=torch.randn(24, 1), loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["input", "0"])


@case
def float_token_ids_from_dataframe_into_textcnn():
    # Token ids came out of a float32 tensor built from a dataframe; nn.Embedding needs integer ids.
    _seed()

    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(300, 32)
            self.conv = nn.Conv1d(32, 48, 3, padding=1)
            self.fc = nn.Linear(48, 2)

        def forward(self, ids):
            h = self.emb(ids).transpose(1, 2)
            h = F.relu(self.conv(h)).amax(-1)
            return self.fc(h)

    ids = torch.randint(0, 300, (16, 25)).float()
    return dict(model=TextCNN(), inputs={"ids": ids}, target=_balanced(16, 2),
                loss=nn.CrossEntropyLoss(), expect=["dtype-mismatch"], where=["input", "emb"])


@case
def lstm_initial_state_float64_from_numpy():
    # h0/c0 built with torch.from_numpy(np.zeros(...)) are float64 while the LSTM is float32.
    _seed()

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 32, batch_first=True)
            self.proj = nn.Linear(32, 1)

        def forward(self, x, state):
            h, _ = self.lstm(x, state)
            return self.proj(h[:, -1])

    x = torch.randn(10, 15, 6)
    h0 = torch.from_numpy(np.zeros((1, 10, 32)))
    c0 = torch.from_numpy(np.zeros((1, 10, 32)))
    return dict(model=Forecaster(), inputs=(x, (h0, c0)), target=torch.randn(10, 1), loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["input", "lstm"])


# ================================================================== buggy: device-mismatch

@case
def lstm_classifier_built_in_meta_context_run_directly():
    # Built inside `with torch.device("meta")` for a quick parameter count, then used on real data.
    _seed()

    class Clf(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(10, 32, batch_first=True)
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.fc(h.mean(1))

    with torch.device("meta"):
        m = Clf()
    x = torch.randn(8, 12, 10)
    return dict(model=m, inputs=x, target=_balanced(8, 3), loss=nn.CrossEntropyLoss(),
                expect=["device-mismatch"])


@case
def multitask_head_missed_by_partial_to_empty():
    # Meta-device construction; to_empty() was called on the backbone and one head, not on the other.
    _seed()

    class MultiTask(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.heads = nn.ModuleDict({"age": nn.Linear(64, 1), "gender": nn.Linear(64, 2)})

        def forward(self, x):
            h = self.backbone(x)
            return torch.cat([self.heads["age"](h), self.heads["gender"](h)], dim=-1)

    with torch.device("meta"):
        m = MultiTask()
    m.backbone.to_empty(device="cpu")
    m.heads["age"].to_empty(device="cpu")
    for mod in list(m.backbone) + [m.heads["age"]]:
        if hasattr(mod, "reset_parameters"):
            mod.reset_parameters()
    x = torch.randn(16, 20)
    return dict(model=m, inputs=x, expect=["device-mismatch"], where="heads.gender")


@case
def attention_pool_query_left_on_meta_after_assign_load():
    # Model built on meta and loaded with load_state_dict(assign=True, strict=False); the new
    # attention-pool query is not in the checkpoint, so it silently stays on the meta device.
    _seed()

    class AttnPool(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.query = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            self.key = nn.Linear(d, d)

        def forward(self, h):
            scores = (self.key(h) * self.query).sum(-1) / math.sqrt(h.shape[-1])
            w = scores.softmax(-1).unsqueeze(-1)
            return (w * h).sum(1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(16, 48), nn.GELU(), nn.Linear(48, 48))
            self.pool = AttnPool(48)
            self.out = nn.Linear(48, 4)

        def forward(self, x):
            return self.out(self.pool(self.enc(x)))

    ref = Net()
    ckpt = {k: v.clone() for k, v in ref.state_dict().items() if k != "pool.query"}
    with torch.device("meta"):
        m = Net()
    m.load_state_dict(ckpt, assign=True, strict=False)
    x = torch.randn(8, 10, 16)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["device-mismatch"], where="pool")


# ================================================================== buggy: nonfinite-created

@case
def fp16_clip_head_manual_exp_softmax_overflow():
    # Half-precision CLIP-style head: logit scale 100 then softmax written as exp/sum;
    # exp(>11) overflows float16 -> inf/inf = NaN.
    _seed()

    class ContrastiveHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.logit_scale = 100.0

        def forward(self, zi, zt):
            zi = zi / zi.norm(dim=-1, keepdim=True)
            zt = zt / zt.norm(dim=-1, keepdim=True)
            logits = self.logit_scale * zi @ zt.t()
            e = torch.exp(logits)
            return e / e.sum(-1, keepdim=True)

    class Clip(nn.Module):
        def __init__(self):
            super().__init__()
            self.img = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 64))
            self.txt = nn.Sequential(nn.Linear(24, 64), nn.GELU(), nn.Linear(64, 64))
            self.head = ContrastiveHead()

        def forward(self, img, txt):
            return self.head(self.img(img), self.txt(txt))

    m = Clip().half()
    img = torch.randn(16, 32).half()
    txt = torch.randn(16, 24).half()

    def clip_loss(probs, target):
        return F.nll_loss(torch.log(probs.float()), target)

    return dict(model=m, inputs=(img, txt), target=torch.arange(16), loss=clip_loss,
                expect=["nonfinite-created"], where="head")


@case
def fp16_keyword_spotter_log_of_sharpened_softmax():
    # float16 model computes log(softmax(logits / 0.01)): small probabilities underflow to 0 in
    # half precision and log(0) = -inf (F.log_softmax would have been stable).
    _seed()

    class SharpLogProbs(nn.Module):
        def __init__(self, temperature=0.01):
            super().__init__()
            self.t = temperature

        def forward(self, z):
            return torch.log(torch.softmax(z / self.t, dim=-1))

    m = nn.Sequential(nn.Conv1d(40, 64, 5), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                      nn.Linear(64, 12), SharpLogProbs()).half()
    x = torch.randn(24, 40, 50).half()
    return dict(model=m, inputs=x, target=_balanced(24, 12), loss=nn.NLLLoss(),
                expect=["nonfinite-created"], where="5")


@case
def fp16_revin_variance_by_moments_goes_negative():
    # RevIN-style instance norm in a .half() forecaster computes var = E[x^2] - E[x]^2; with prices
    # around 100 the float16 cancellation gives negative/zero variance -> sqrt NaN, x/0 inf.
    _seed()

    class RevIN(nn.Module):
        def forward(self, x):  # x: (B, T, V)
            mean = x.mean(1, keepdim=True)
            var = (x * x).mean(1, keepdim=True) - mean * mean
            return (x - mean) / torch.sqrt(var)

    class Forecaster(nn.Module):
        def __init__(self, T=96, H=24):
            super().__init__()
            self.revin = RevIN()
            self.temporal = nn.Linear(T, H)

        def forward(self, x):
            z = self.revin(x)
            return self.temporal(z.transpose(1, 2)).transpose(1, 2)

    prices = 100 + torch.cumsum(torch.randn(16, 96, 4) * 0.02, dim=1)
    m = Forecaster().half()
    return dict(model=m, inputs=prices.half(), expect=["nonfinite-created"], where="revin")


@case
def per_channel_standardise_with_dead_electrode():
    # In-model per-channel standardisation over time divides by std; a disconnected EEG electrode
    # (channel of exact zeros) gives 0/0 = NaN.
    _seed()

    class ChannelStandardise(nn.Module):
        def forward(self, x):
            return (x - x.mean(-1, keepdim=True)) / x.std(-1, keepdim=True)

    m = nn.Sequential(ChannelStandardise(), nn.Conv1d(8, 32, 7, padding=3), nn.ReLU(),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 2))
    x = torch.randn(12, 8, 256)
    x[:, 3] = 0.0  # dead electrode
    return dict(model=m, inputs=x, target=_balanced(12, 2), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-created"], where="0")


# ================================================================== buggy: nonfinite-input

@case
def log_mel_features_with_zero_padded_silence():
    # Log-mel computed as log(power) without an epsilon; zero-padded tail frames give -inf.
    _seed()
    power = torch.randn(8, 40, 120) ** 2
    power[:, :, 100:] = 0.0  # padding frames: exact digital silence
    x = torch.log(power)
    m = nn.Sequential(nn.Conv1d(40, 32, 5, padding=2), nn.ReLU(), nn.Conv1d(32, 32, 5, padding=2), nn.ReLU(),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 6))
    return dict(model=m, inputs=x, target=_balanced(8, 6), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-input"], where="input")


@case
def log_return_target_with_missing_prices_as_zero():
    # Target = log(next_price / price); missing next prices were stored as 0 -> log(0) = -inf.
    _seed()
    price = 50 + 5 * torch.rand(32, 1)
    nxt = price * (1 + 0.01 * torch.randn(32, 1))
    nxt[[3, 17, 25]] = 0.0  # missing values encoded as 0
    y = torch.log(nxt / price)
    m = nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 1))
    x = torch.randn(32, 10)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(), expect=["nonfinite-input"], where="target")


# ================================================================== buggy: shape-mismatch

@case
def view_as_real_fft_coeffs_into_flat_linear():
    # torch.view_as_real adds a trailing dim of 2: (B, 33, 2) goes into Linear(66) without flattening.
    _seed()
    sig = torch.randn(16, 64)
    coeffs = torch.fft.rfft(sig, norm="ortho")  # (16, 33) complex
    x = torch.view_as_real(coeffs)  # (16, 33, 2)
    m = nn.Sequential(nn.Linear(66, 32), nn.ReLU(), nn.Linear(32, 3))
    return dict(model=m, inputs=x, target=_balanced(16, 3), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["input", "0"])


@case
def key_padding_mask_passed_time_major():
    # key_padding_mask must be (B, S) but the collate function produced it as (S, B).
    _seed()

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(200, 32)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.out = nn.Linear(32, 2)

        def forward(self, tokens, pad_mask):
            h = self.emb(tokens)
            a, _ = self.attn(h, h, h, key_padding_mask=pad_mask)
            return self.out(a.mean(1))

    tokens = torch.randint(1, 200, (6, 11))
    lengths = torch.tensor([11, 9, 7, 11, 5, 8])
    pad = torch.arange(11)[None, :] >= lengths[:, None]  # (B, S)
    return dict(model=Encoder(), inputs={"tokens": tokens, "pad_mask": pad.t()},
                target=_balanced(6, 2), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["input", "attn"])


# ================================================================== healthy look-alikes

@case
def ok_embedding_bag_with_int64_offsets():
    # EmbeddingBag over flat int64 ids with int64 offsets: the standard bag-of-words setup.
    _seed()

    class BagClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(1000, 64, mode="mean")
            self.fc = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))

        def forward(self, ids, offsets):
            return self.fc(self.bag(ids, offsets))

    lengths = torch.randint(5, 15, (32,))
    ids = torch.randint(0, 1000, (int(lengths.sum()),))
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    m = BagClassifier()
    return dict(model=m, inputs=(ids, offsets), target=_balanced(32, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_bool_mask_multiplied_into_gru_states():
    # Masked mean pooling: a bool padding mask multiplied into float GRU outputs (promotes to float).
    _seed()

    class MaskedGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(16, 48, batch_first=True)
            self.head = nn.Linear(48, 3)

        def forward(self, x, mask):
            h, _ = self.gru(x)
            m = mask.unsqueeze(-1)  # bool
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1)
            return self.head(pooled)

    x = torch.randn(12, 20, 16)
    lengths = torch.randint(8, 21, (12,))
    mask = torch.arange(20)[None, :] < lengths[:, None]
    return dict(model=MaskedGRU(), inputs={"x": x, "mask": mask}, target=_balanced(12, 3),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_transformer_autocast_bf16_inside_forward():
    # Mixed precision on CPU: the encoder runs under torch.autocast(bfloat16), output cast back.
    _seed()

    class AmpEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(24, 64)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, batch_first=True, norm_first=True),
                num_layers=2, enable_nested_tensor=False)
            self.head = nn.Linear(64, 5)

        def forward(self, x):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                h = self.enc(self.inp(x))
            return self.head(h.float().mean(1))

    x = torch.randn(10, 16, 24)
    return dict(model=AmpEncoder(), inputs=x, target=_balanced(10, 5), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_channels_last_residual_cnn():
    # Model and batch in torch.channels_last memory format: a layout optimisation, not an NHWC bug.
    _seed()

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b1 = nn.BatchNorm2d(c)
            self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b2 = nn.BatchNorm2d(c)

        def forward(self, x):
            return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))

    m = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1, bias=False), nn.BatchNorm2d(24), nn.ReLU(),
                      Block(24), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, 10))
    m = m.to(memory_format=torch.channels_last)
    x = _smooth_images(16, 3, 32, 32).to(memory_format=torch.channels_last)
    return dict(model=m, inputs=x, target=_balanced(16, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), steps=15, expect=[])


@case
def ok_noncontiguous_strided_sensor_windows():
    # Input is a strided, transposed view (every other time step of a (B, T, C) buffer, as (B, C, T)).
    _seed()
    buf = _oscillations(8, 6, 200).transpose(1, 2).contiguous()  # stored as (B, T, C)
    x = buf[:, ::2].transpose(1, 2)  # (8, 6, 100), non-contiguous
    m = nn.Sequential(nn.Conv1d(6, 32, 5, padding=2), nn.GELU(), nn.Conv1d(32, 32, 5, padding=2), nn.GELU(),
                      nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(32, 1))
    return dict(model=m, inputs=x, target=torch.randn(8, 1), loss=nn.MSELoss(), expect=[])


@case
def ok_float64_buffer_only_for_activation_logging():
    # A float64 EMA buffer tracks activation norms for logging; it never enters the computation.
    _seed()

    class Logged(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(20, 64)
            self.l2 = nn.Linear(64, 64)
            self.out = nn.Linear(64, 4)
            self.register_buffer("act_norm_ema", torch.zeros((), dtype=torch.float64))
            self.register_buffer("n_seen", torch.zeros((), dtype=torch.float64))

        def forward(self, x):
            h = F.relu(self.l1(x))
            h = F.relu(self.l2(h))
            with torch.no_grad():
                self.act_norm_ema.mul_(0.99).add_(0.01 * h.norm(dim=1).mean().double())
                self.n_seen.add_(x.shape[0])
            return self.out(h)

    x = torch.randn(32, 20)
    return dict(model=Logged(), inputs=x, target=_balanced(32, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_half_mlp_with_layernorm_and_log_softmax():
    # Consistent float16 end to end on CPU (model and input), with the stable F.log_softmax.
    _seed()

    class HalfNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(32, 64)
            self.ln = nn.LayerNorm(64)
            self.fc2 = nn.Linear(64, 6)

        def forward(self, x):
            return F.log_softmax(self.fc2(F.gelu(self.ln(self.fc1(x)))), dim=-1)

    m = HalfNet().half()
    x = torch.randn(24, 32).half()
    return dict(model=m, inputs=x, target=_balanced(24, 6), loss=nn.NLLLoss(), expect=[])


@case
def ok_complex_spectrogram_magnitude_taken_in_model():
    # The model receives a complex STFT and takes log1p(|.|) itself before a normalising BatchNorm.
    _seed()

    class SpecNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(33)
            self.conv = nn.Conv1d(33, 32, 3, padding=1)
            self.fc = nn.Linear(32, 4)

        def forward(self, spec):
            mag = torch.log1p(spec.abs())
            h = F.relu(self.conv(self.bn(mag)))
            return self.fc(h.mean(-1))

    wav = torch.randn(16, 2048)
    spec = torch.stft(wav, n_fft=64, hop_length=32, window=torch.hann_window(64), return_complex=True)
    return dict(model=SpecNet(), inputs=spec, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_standardise_with_eps_and_silent_channel():
    # Per-channel standardisation with an epsilon: the all-zero channel stays exactly 0, no NaN.
    _seed()

    class SafeStandardise(nn.Module):
        def forward(self, x):
            return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-5)

    m = nn.Sequential(SafeStandardise(), nn.Conv1d(8, 32, 7, padding=3), nn.ReLU(),
                      nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(32, 2))
    x = _oscillations(12, 8, 256)
    x[:, 5] = 0.0
    return dict(model=m, inputs=x, target=_balanced(12, 2), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_int32_token_ids_with_bool_padding_mask():
    # nn.Embedding accepts int32 ids; a bool src_key_padding_mask of shape (B, S) is correct.
    _seed()

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(400, 48)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(48, 4, 96, dropout=0.0, batch_first=True),
                num_layers=2, enable_nested_tensor=False)
            self.cls = nn.Linear(48, 3)

        def forward(self, ids, pad):
            h = self.enc(self.emb(ids), src_key_padding_mask=pad)
            keep = (~pad).unsqueeze(-1).float()
            return self.cls((h * keep).sum(1) / keep.sum(1))

    ids = torch.randint(1, 400, (9, 14), dtype=torch.int32)
    lengths = torch.randint(6, 15, (9,))
    pad = torch.arange(14)[None, :] >= lengths[:, None]
    return dict(model=Tiny(), inputs=(ids, pad), target=_balanced(9, 3), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_meta_init_then_to_empty_and_reset():
    # Fast meta-device construction done right: to_empty() on the whole model, then reset_parameters().
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            h = F.max_pool2d(F.relu(self.conv(x)), 2)
            h = F.relu(self.conv2(h)).mean((2, 3))
            return self.fc(h)

    with torch.device("meta"):
        m = Net()
    m.to_empty(device="cpu")
    for mod in m.modules():
        if hasattr(mod, "reset_parameters"):
            mod.reset_parameters()
    x = _smooth_images(20, 1, 28, 28)
    return dict(model=m, inputs=x, target=_balanced(20, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def ok_float64_physics_surrogate_conv1d():
    # A float64 surrogate model for a PDE solver: model, field input and target all float64.
    _seed()
    m = nn.Sequential(nn.Conv1d(2, 32, 5, padding=2), nn.Tanh(), nn.Conv1d(32, 32, 5, padding=2), nn.Tanh(),
                      nn.Conv1d(32, 1, 5, padding=2)).double()
    xs = torch.linspace(0, 2 * math.pi, 64, dtype=torch.float64)
    phase = torch.rand(16, 1, 1, dtype=torch.float64) * 2 * math.pi
    u0 = torch.sin(xs + phase)
    coef = torch.randn(16, 1, 64, dtype=torch.float64)
    inp = torch.cat([u0, coef], dim=1)
    target = torch.sin(xs + phase + 0.1) * 0.9
    return dict(model=m, inputs=inp, target=target, loss=nn.MSELoss(), expect=[])
