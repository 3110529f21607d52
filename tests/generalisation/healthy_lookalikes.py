"""Blind batch 54 (seventh session): 26 healthy setups a naive debugger might flag (focal loss with 1%
positives, class weights and pos_weight on imbalanced labels, Huber and pinball losses, temperature
scaling, 24 pre-LN residual blocks, packed sequences, CTC, hashed embeddings, a 2-unit bottleneck),
written by a helper that never read the rules. All stayed silent. Same format as cases.py.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from torch.nn.utils.rnn import pack_padded_sequence
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5454): torch.manual_seed(s)


@case
def label_smoothing_ce_gelu_mlp_training():
    # Healthy: CrossEntropyLoss(label_smoothing=0.1) on a GELU MLP, Adam 1e-3 for 20 steps.
    _seed()
    m = nn.Sequential(nn.Linear(20, 64), nn.GELU(), nn.Linear(64, 64), nn.GELU(), nn.Linear(64, 5))
    x = torch.randn(64, 20); y = torch.randint(0, 5, (64,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(label_smoothing=0.1),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


class _AnchorHead(nn.Module):
    def __init__(self, c=32, anchors=9, prior=0.01):
        super().__init__()
        self.tower = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(8, c), nn.ReLU(),
                                   nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(8, c), nn.ReLU())
        self.cls = nn.Conv2d(c, anchors, 3, padding=1)
        nn.init.constant_(self.cls.bias, -math.log((1 - prior) / prior))  # RetinaNet prior init
    def forward(self, feat):
        return self.cls(self.tower(feat)).flatten(1)  # (N, anchors*H*W) binary logits


def _focal_loss(logits, target, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    a_t = alpha * target + (1 - alpha) * (1 - target)
    return (a_t * (1 - p_t) ** gamma * ce).sum() / target.sum().clamp(min=1)


@case
def retinanet_focal_loss_one_percent_positive_anchors():
    # Healthy: ~1% positive anchors; imbalance handled by focal loss (alpha, gamma) + prior bias init.
    _seed()
    m = _AnchorHead()
    x = torch.randn(8, 32, 8, 8)
    y = (torch.rand(8, 9 * 8 * 8) < 0.01).float()
    y[:, 0] = 1.0  # at least one positive per image
    return dict(model=m, inputs=x, target=y, loss=_focal_loss,
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9), steps=15, expect=[])


@case
def class_weighted_ce_on_long_tail_labels():
    # Healthy: imbalanced labels (70/20/7/3 %) with inverse-frequency class weights in CE.
    _seed()
    m = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
    x = torch.randn(64, 16)
    probs = torch.tensor([0.70, 0.20, 0.07, 0.03])
    y = torch.multinomial(probs, 64, replacement=True)
    y[:4] = torch.arange(4)
    w = 1.0 / probs; w = w / w.sum() * 4
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(weight=w),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def bce_pos_weight_sparse_multilabel_tagger():
    # Healthy: 12 tags each positive ~8% of the time, BCEWithLogits with pos_weight = neg/pos.
    _seed()
    m = nn.Sequential(nn.Linear(32, 96), nn.SiLU(), nn.Dropout(0.1), nn.Linear(96, 12))
    x = torch.randn(48, 32)
    y = (torch.rand(48, 12) < 0.08).float()
    pos_weight = torch.full((12,), 0.92 / 0.08)
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(pos_weight=pos_weight),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def huber_regression_with_outlier_targets():
    # Healthy: regression targets with a few gross outliers; Huber loss is the robust choice.
    _seed()
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.randn(64, 10)
    y = x[:, :3].sum(1, keepdim=True) + 0.1 * torch.randn(64, 1)
    y[::16] += 15.0  # 4 outliers
    return dict(model=m, inputs=x, target=y, loss=nn.HuberLoss(delta=1.0),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


def _pinball(pred, target, qs=(0.1, 0.5, 0.9)):
    q = torch.tensor(qs, device=pred.device)
    err = target - pred  # (N,1) broadcast against (N,3)
    return torch.maximum(q * err, (q - 1) * err).mean()


@case
def quantile_regression_three_quantiles_pinball():
    # Healthy: a head predicting the 10/50/90 % quantiles trained with the pinball loss.
    _seed()
    m = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3))
    x = torch.randn(64, 8)
    y = x[:, :1] * 0.7 + 0.5 * torch.randn(64, 1)
    return dict(model=m, inputs=x, target=y, loss=_pinball,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


class _EncoderFinalNorm(nn.Module):
    def __init__(self, vocab=100, d=64, classes=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, 16, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 128, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.final_norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)
    def forward(self, ids):
        h = self.enc(self.emb(ids) + self.pos[:, :ids.shape[1]])
        return self.head(self.final_norm(h).mean(1))


@case
def prenorm_encoder_final_layernorm_before_head():
    # Healthy: pre-LN transformer with the usual final LayerNorm right before the classifier.
    _seed()
    m = _EncoderFinalNorm()
    ids = torch.randint(0, 100, (16, 16)); y = torch.randint(0, 6, (16,))
    return dict(model=m, inputs=ids, target=y, loss=nn.CrossEntropyLoss(), expect=[])


class _TempScaled(nn.Module):
    def __init__(self, T=2.0):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(24, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.fc = nn.Linear(64, 10)
        self.register_buffer("temperature", torch.tensor(T))
    def forward(self, x):
        return self.fc(self.body(x)) / self.temperature


@case
def temperature_scaled_logits_for_calibration():
    # Healthy: logits divided by a fixed temperature T=2 (calibration) before CE.
    _seed()
    m = _TempScaled()
    x = torch.randn(32, 24); y = torch.randint(0, 10, (32,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


class _PreLNBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, 2 * d); self.fc2 = nn.Linear(2 * d, d)
    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(self.norm(x))))


class _DeepResMLP(nn.Module):
    def __init__(self, d_in=16, d=48, n=24, out=3):
        super().__init__()
        self.stem = nn.Linear(d_in, d)
        self.blocks = nn.ModuleList([_PreLNBlock(d) for _ in range(n)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, out)
    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h))


@case
def residual_mlp_24_prenorm_blocks():
    # Healthy: 24 pre-LayerNorm residual blocks; the residual stream grows gently (~sqrt depth), normal.
    _seed()
    m = _DeepResMLP()
    x = torch.randn(32, 16); y = torch.randint(0, 3, (32,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


class _CTCModel(nn.Module):
    def __init__(self, feats=20, hid=48, vocab=12):
        super().__init__()
        self.conv = nn.Conv1d(feats, hid, 5, padding=2)
        self.lstm = nn.LSTM(hid, hid, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(2 * hid)
        self.out = nn.Linear(2 * hid, vocab)  # index 0 = blank
    def forward(self, x):  # x: (N, T, feats)
        h = F.gelu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        h, _ = self.lstm(h)
        return self.out(self.norm(h)).log_softmax(-1)  # (N, T, vocab)


def _ctc_loss(logp, target):
    N, T, _ = logp.shape
    in_len = torch.full((N,), T, dtype=torch.long)
    tgt_len = torch.full((N,), target.shape[1], dtype=torch.long)
    return F.ctc_loss(logp.transpose(0, 1), target, in_len, tgt_len, blank=0, zero_infinity=True)


@case
def ctc_conv_bilstm_speech_recogniser():
    # Healthy: log-softmax over vocab (incl. blank) fed to CTC, T=40 frames, 8-token labels.
    _seed()
    m = _CTCModel()
    x = torch.randn(8, 40, 20); y = torch.randint(1, 12, (8, 8))
    return dict(model=m, inputs=x, target=y, loss=_ctc_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


_PRIOR = torch.tensor([0.5, 0.25, 0.12, 0.08, 0.05])


def _logit_adjusted_ce(logits, target, tau=1.0):
    return F.cross_entropy(logits + tau * _PRIOR.log().to(logits.device), target)


@case
def logit_adjusted_ce_long_tailed():
    # Healthy: logit-adjusted CE (Menon et al.) adds tau*log(prior) to logits inside the loss.
    _seed()
    m = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 5))
    x = torch.randn(64, 12)
    y = torch.multinomial(_PRIOR, 64, replacement=True); y[:5] = torch.arange(5)
    return dict(model=m, inputs=x, target=y, loss=_logit_adjusted_ce,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def one_hot_categorical_features_mlp():
    # Healthy: 4 categorical columns one-hot encoded (sparse 0/1 inputs, mean ~0.1) into an MLP.
    _seed()
    cats = torch.randint(0, 8, (48, 4))
    x = F.one_hot(cats, 8).flatten(1).float()  # (48, 32)
    y = torch.randint(0, 2, (48,)).float().unsqueeze(1)
    m = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-2), steps=20, expect=[])


class _HashedIdModel(nn.Module):
    def __init__(self, buckets=2 ** 16, d=16):
        super().__init__()
        self.emb = nn.Embedding(buckets, d)
        self.mlp = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 1))
    def forward(self, ids):
        return self.mlp(self.emb(ids).mean(1))


@case
def hashed_id_embedding_65536_buckets():
    # Healthy: hashing trick, 2**16 buckets; a batch touches a few hundred rows, others get zero grad.
    _seed()
    m = _HashedIdModel()
    ids = torch.randint(0, 2 ** 16, (32, 10))
    y = torch.randn(32, 1)
    return dict(model=m, inputs=ids, target=y, loss=nn.MSELoss(), expect=[])


@case
def dropout_half_training_mode_with_target():
    # Healthy: Dropout(0.5) in train mode during a training step is exactly what it is for.
    _seed()
    m = nn.Sequential(nn.Linear(30, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 4))
    m.train()
    x = torch.randn(64, 30); y = torch.randint(0, 4, (64,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


class _CkptNet(nn.Module):
    def __init__(self, d=64, n=4):
        super().__init__()
        self.blocks = nn.ModuleList(
            [nn.Sequential(nn.LayerNorm(d), nn.Linear(d, d), nn.GELU(), nn.Linear(d, d)) for _ in range(n)])
        self.head = nn.Linear(d, 3)
    def forward(self, x):
        for b in self.blocks:
            x = x + checkpoint(b, x, use_reentrant=False)
        return self.head(x)


@case
def gradient_checkpointed_residual_blocks():
    # Healthy: activation checkpointing (non-reentrant) around each residual block.
    _seed()
    m = _CkptNet()
    x = torch.randn(16, 64); y = torch.randint(0, 3, (16,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def log_softmax_output_with_nllloss():
    # Healthy: model ends in LogSoftmax(dim=1), paired with NLLLoss (== CE on logits).
    _seed()
    m = nn.Sequential(nn.Conv1d(4, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(),
                      nn.Linear(16, 7), nn.LogSoftmax(dim=1))
    x = torch.randn(32, 4, 50); y = torch.randint(0, 7, (32,))
    return dict(model=m, inputs=x, target=y, loss=nn.NLLLoss(), expect=[])


class _PackedGRU(nn.Module):
    def __init__(self, f=10, h=32, c=3):
        super().__init__()
        self.gru = nn.GRU(f, h, batch_first=True)
        self.fc = nn.Linear(h, c)
    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        return self.fc(h_n[-1])


@case
def gru_with_pack_padded_sequence():
    # Healthy: variable-length sequences zero-padded and packed; lengths passed as int64 CPU tensor.
    _seed()
    m = _PackedGRU()
    lengths = torch.randint(3, 21, (16,))
    x = torch.randn(16, 20, 10)
    mask = torch.arange(20)[None, :] < lengths[:, None]
    x = x * mask.unsqueeze(-1)
    y = torch.randint(0, 3, (16,))
    return dict(model=m, inputs=(x, lengths), target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def int32_targets_cast_to_long_in_loss():
    # Healthy: labels stored as int32 (from numpy) but the loss callable casts them with .long().
    _seed()
    m = nn.Sequential(nn.Linear(16, 48), nn.ReLU(), nn.Linear(48, 6))
    x = torch.randn(32, 16)
    y = torch.randint(0, 6, (32,), dtype=torch.int32)
    return dict(model=m, inputs=x, target=y, loss=lambda out, t: F.cross_entropy(out, t.long()), expect=[])


@case
def sigmoid_bounded_regression_unit_interval_targets():
    # Healthy: targets in [0, 1] (e.g. a ratio), model ends in Sigmoid, trained with MSE.
    _seed()
    m = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1), nn.Sigmoid())
    x = torch.randn(64, 8)
    y = torch.sigmoid(x[:, :2].sum(1, keepdim=True))
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def cnn_images_scaled_to_minus_one_one():
    # Healthy: images normalised to [-1, 1] ((x/255 - 0.5) / 0.5), small CNN classifier.
    _seed()
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                      nn.Flatten(), nn.Linear(32, 10))
    raw = torch.randint(0, 256, (16, 3, 16, 16)).float()
    x = (raw / 255 - 0.5) / 0.5
    y = torch.randint(0, 10, (16,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def pointwise_1x1_conv_per_pixel_mlp():
    # Healthy: a network of 1x1 convs only (a per-pixel MLP) for per-pixel segmentation.
    _seed()
    m = nn.Sequential(nn.Conv2d(6, 32, 1), nn.ReLU(), nn.Conv2d(32, 32, 1), nn.ReLU(), nn.Conv2d(32, 4, 1))
    x = torch.randn(8, 6, 12, 12)
    y = torch.einsum("nchw,ck->nkhw", x, torch.randn(6, 4)).argmax(1)  # per-pixel labels from features
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=15, expect=[])


class _TinyAE(nn.Module):
    def __init__(self, d=24):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, 64), nn.GELU(), nn.Linear(64, 2))
        self.decoder = nn.Sequential(nn.Linear(2, 64), nn.GELU(), nn.Linear(64, d))
    def forward(self, x):
        return self.decoder(self.encoder(x))


@case
def autoencoder_with_two_unit_linear_bottleneck():
    # Healthy: autoencoder with a 2-d linear latent code (for plotting); reconstruction MSE.
    _seed()
    m = _TinyAE()
    z = torch.randn(64, 2)
    x = torch.tanh(z @ torch.randn(2, 24)) + 0.05 * torch.randn(64, 24)
    x = (x - x.mean(0)) / x.std(0)
    return dict(model=m, inputs=x, target=x.clone(), loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


class _TinyGPT(nn.Module):
    def __init__(self, vocab=50, d=64, T=16):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(T, d)
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab)
        self.register_buffer("causal", nn.Transformer.generate_square_subsequent_mask(T))
    def forward(self, idx):
        T = idx.shape[1]
        h = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        h = self.blocks(h, mask=self.causal[:T, :T], is_causal=True)
        return self.lm_head(self.ln_f(h))


@case
def adam_3e4_tiny_causal_transformer_30_steps():
    # Healthy: tiny GPT-style LM, Adam lr 3e-4 for 30 steps on next-token prediction.
    _seed()
    m = _TinyGPT()
    seq = torch.randint(0, 50, (16, 17))
    x, y = seq[:, :-1], seq[:, 1:]
    loss = lambda out, t: F.cross_entropy(out.reshape(-1, out.shape[-1]), t.reshape(-1))
    return dict(model=m, inputs=x, target=y, loss=loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-4), steps=30, expect=[])


@case
def sgd_momentum_lr01_batchnorm_cnn_15_steps():
    # Healthy: SGD lr 0.1, momentum 0.9 on a BatchNorm CNN: the classic ResNet recipe.
    _seed()
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    x = torch.randn(32, 3, 16, 16); y = torch.randint(0, 10, (32,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4),
                steps=15, expect=[])


class _MaskedPoolAttn(nn.Module):
    def __init__(self, vocab=60, d=48, c=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, d, padding_idx=0)
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.cls = nn.Linear(d, c)
    def forward(self, tokens, pad_mask):
        h = self.emb(tokens)
        a, _ = self.attn(h, h, h, key_padding_mask=pad_mask)
        h = self.norm(h + a)
        keep = (~pad_mask).unsqueeze(-1).float()
        return self.cls((h * keep).sum(1) / keep.sum(1))


@case
def mha_key_padding_mask_masked_mean_pool_dict_inputs():
    # Healthy: padded token batches with a bool key_padding_mask and masked mean pooling.
    _seed()
    m = _MaskedPoolAttn()
    lengths = torch.randint(4, 13, (16,))
    pad = torch.arange(12)[None, :] >= lengths[:, None]
    tokens = torch.randint(1, 60, (16, 12)).masked_fill(pad, 0)
    y = torch.randint(0, 4, (16,))
    return dict(model=m, inputs=dict(tokens=tokens, pad_mask=pad), target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=20, expect=[])


class _Video3D(nn.Module):
    def __init__(self, c=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv3d(3, 16, 3, padding=1, bias=False), nn.BatchNorm3d(16), nn.ReLU())
        self.body = nn.Sequential(nn.Conv3d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm3d(32), nn.ReLU())
        self.fc = nn.Linear(32, c)
    def forward(self, clip):
        h = self.body(self.stem(clip))
        return self.fc(torch.einsum("nctHW->nc", h) / h[0, 0].numel())


@case
def conv3d_video_clip_classifier_einsum_pool():
    # Healthy: small 3D-conv video classifier (N, C, T, H, W) with an einsum global average pool.
    _seed()
    m = _Video3D()
    x = torch.randn(8, 3, 4, 16, 16); y = torch.randint(0, 5, (8,))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])
