"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5858): torch.manual_seed(s)


# Batch 58, theme: HEALTHY LOOK-ALIKES. Almost every case below looks unusual (exact zeros, -inf,
# -100 labels, zero-initialised layers, frozen parameters, float64, uint8, time-major batches...)
# but is a correct, standard setup that must produce no warning or error. Four cases at the end
# are the buggy twins of some of these patterns.


def _balanced(n, k):
    # n labels over k classes, as balanced as possible, shuffled
    return (torch.arange(n) % k)[torch.randperm(n)]


def _smooth_images(b, c, h, w):
    # images with per-sample spatial structure (low-res noise upsampled) plus fine noise, standardised
    low = torch.randn(b, c, max(h // 4, 1), max(w // 4, 1))
    x = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False) + 0.3 * torch.randn(b, c, h, w)
    x = x + torch.randn(b, c, 1, 1)  # per-image colour / brightness
    return (x - x.mean()) / x.std()


# ------------------------------------------------------------------ exact zeros by design
@case
def sparse_autoencoder_relu_code_l1_penalty():
    # Healthy: the ReLU code is meant to be sparse (L1 penalty in a custom loss); many exact zeros
    # per sample, but no unit is zero for the whole batch.
    _seed()

    class SAE(nn.Module):
        def __init__(self, d=64, h=128):
            super().__init__()
            self.enc = nn.Linear(d, h)
            self.act = nn.ReLU()
            self.dec = nn.Linear(h, d)

        def forward(self, x):
            code = self.act(self.enc(x))
            return self.dec(code), code

    def sae_loss(out, target):
        recon, code = out
        return F.mse_loss(recon, target) + 1e-3 * code.abs().sum(1).mean()

    x = torch.randn(64, 64)
    return dict(model=SAE(), inputs=x, target=x.clone(), loss=sae_loss, expect=[])


@case
def embedding_padding_idx_bigru_tagger_ignore_index():
    # Healthy: padded token classification. The Embedding's padding row is all zero and gets no
    # gradient (padding_idx=0), padded positions carry label -100 which CrossEntropyLoss ignores,
    # and the logits are returned as (B, tags, T) as CrossEntropyLoss wants for sequences.
    _seed()

    class Tagger(nn.Module):
        def __init__(self, vocab=100, d=32, tags=5):
            super().__init__()
            self.emb = nn.Embedding(vocab, d, padding_idx=0)
            self.gru = nn.GRU(d, 32, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(64, tags)

        def forward(self, tokens):
            h, _ = self.gru(self.emb(tokens))
            return self.fc(h).transpose(1, 2)

    B, T = 12, 20
    lengths = torch.tensor([20, 17, 15, 12, 20, 9, 14, 18, 11, 16, 20, 13])
    valid = torch.arange(T)[None, :] < lengths[:, None]
    tokens = torch.randint(1, 100, (B, T))
    tokens[~valid] = 0
    labels = torch.randint(0, 5, (B, T))
    labels[~valid] = -100
    return dict(model=Tagger(), inputs=tokens, target=labels, loss=nn.CrossEntropyLoss(), expect=[])


@case
def masked_lm_eighty_five_percent_labels_ignored():
    # Healthy: BERT-style masked language modelling. Only ~15% of positions have a label; all the
    # others are -100 (the default ignore_index), so the "label histogram" is dominated by -100.
    _seed()

    class TinyMLM(nn.Module):
        def __init__(self, vocab=40, d=32, max_len=20):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(max_len, d)
            layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.lm_head = nn.Linear(d, vocab)

        def forward(self, ids):
            pos = torch.arange(ids.shape[1], device=ids.device)
            return self.lm_head(self.encoder(self.tok(ids) + self.pos(pos)))

    MASK = 1
    ids = torch.randint(2, 40, (16, 20))
    labels = torch.full_like(ids, -100)
    sel = torch.rand(ids.shape) < 0.15
    sel[:, 0] = True  # at least one prediction per sequence
    labels[sel] = ids[sel]
    ids = ids.masked_fill(sel, MASK)

    def mlm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))

    return dict(model=TinyMLM(), inputs=ids, target=labels, loss=mlm_loss, expect=[])


# ------------------------------------------------------------------ probabilities and log-probabilities
@case
def gated_conv_lm_log_softmax_over_vocab_channel():
    # Healthy: gated convolutional LM (GLU, causal left padding). It returns log-probabilities of
    # shape (B, vocab, T): normalised over dim 1, which is the class dim NLLLoss expects for sequences.
    _seed()

    class GatedConvLM(nn.Module):
        def __init__(self, vocab=60, d=32, k=3):
            super().__init__()
            self.k = k
            self.emb = nn.Embedding(vocab, d)
            self.conv1 = nn.Conv1d(d, 2 * d, k)
            self.conv2 = nn.Conv1d(d, 2 * d, k)
            self.out = nn.Conv1d(d, vocab, 1)

        def forward(self, tokens):
            h = self.emb(tokens).transpose(1, 2)  # (B, d, T)
            h = F.glu(self.conv1(F.pad(h, (self.k - 1, 0))), dim=1)
            h = h + F.glu(self.conv2(F.pad(h, (self.k - 1, 0))), dim=1)
            return F.log_softmax(self.out(h), dim=1)

    seq = torch.randint(0, 60, (16, 25))
    return dict(model=GatedConvLM(), inputs=seq[:, :-1], target=seq[:, 1:], loss=nn.NLLLoss(), expect=[])


@case
def multilabel_sigmoid_probabilities_with_bce_loss():
    # Healthy: the model ends in Sigmoid and the loss is plain BCELoss on probabilities in (0, 1)
    # (not BCEWithLogitsLoss); multi-hot targets with ~40% positives.
    _seed()
    m = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 6), nn.Sigmoid())
    x = torch.randn(48, 12)
    w = torch.randn(12, 6)
    y = (x @ w / math.sqrt(12) > 0.3).float()
    return dict(model=m, inputs=x, target=y, loss=nn.BCELoss(), expect=[])


@case
def tiny_vit_label_smoothing_train_mode():
    # Healthy: small ViT (patch conv, zero cls token, 0.02 positional embedding, pre-norm encoder with
    # dropout, training mode) and CrossEntropyLoss with label_smoothing=0.1.
    _seed()

    class TinyViT(nn.Module):
        def __init__(self, d=32, classes=5):
            super().__init__()
            self.patch = nn.Conv2d(3, d, 4, stride=4)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
            self.pos_embed = nn.Parameter(torch.zeros(1, 17, d))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            layer = nn.TransformerEncoderLayer(d, 4, 64, dropout=0.1, batch_first=True, norm_first=True,
                                               activation="gelu")
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            p = self.patch(x).flatten(2).transpose(1, 2)
            t = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), p], 1) + self.pos_embed
            return self.head(self.norm(self.encoder(t))[:, 0])

    x = _smooth_images(20, 3, 16, 16)
    return dict(model=TinyViT().train(), inputs=x, target=_balanced(20, 5),
                loss=nn.CrossEntropyLoss(label_smoothing=0.1), expect=[])


@case
def mixup_soft_probability_targets_cross_entropy():
    # Healthy: mixup in the data pipeline; the targets are float class-probability rows (B, C),
    # which CrossEntropyLoss accepts since PyTorch 1.10.
    _seed()
    m = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    B = 32
    xa, xb = torch.randn(B, 20), torch.randn(B, 20)
    ya, yb = _balanced(B, 4), _balanced(B, 4)
    lam = torch.distributions.Beta(0.4, 0.4).sample((B, 1))
    x = lam * xa + (1 - lam) * xb
    x = x / x.std()
    target = lam * F.one_hot(ya, 4).float() + (1 - lam) * F.one_hot(yb, 4).float()
    return dict(model=m, inputs=x, target=target, loss=nn.CrossEntropyLoss(), expect=[])


@case
def class_weighted_ce_mild_imbalance_dropout_half_adam():
    # Healthy: 4 classes at 35/25/25/15%, handled with inverse-frequency class weights; dropout 0.5
    # in training mode is intended (this is a training setup), Adam at 5e-3.
    _seed()
    counts = torch.tensor([28, 20, 20, 12])
    y = torch.cat([torch.full((int(c),), i) for i, c in enumerate(counts)])[torch.randperm(80)]
    centers = torch.randn(4, 16)
    x = torch.randn(80, 16) + centers[y]
    x = (x - x.mean(0)) / x.std(0)
    weight = counts.sum() / (4 * counts.float())
    m = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 64), nn.ReLU(),
                      nn.Dropout(0.5), nn.Linear(64, 4)).train()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(weight=weight),
                optimizer=torch.optim.Adam(m.parameters(), lr=5e-3), steps=20, expect=[])


# ------------------------------------------------------------------ frozen, zero-initialised, tiny-scaled
@case
def frozen_cnn_backbone_linear_probe_sgd():
    # Healthy: linear probing. The backbone is frozen on purpose (requires_grad=False, eval mode so its
    # BatchNorm statistics stay fixed); only the head is trained and only the head is in the optimizer.
    _seed()

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                nn.Conv2d(16, 32, 3, padding=1, stride=2), nn.BatchNorm2d(32), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(32, 4)

        def forward(self, x):
            return self.head(self.backbone(x))

    m = Probe()
    y = _balanced(40, 4)
    colour = torch.randn(4, 3, 1, 1)
    x = _smooth_images(40, 3, 16, 16) + 1.5 * colour[y]
    x = (x - x.mean()) / x.std()
    with torch.no_grad():  # stands in for pretraining: calibrate the backbone's BatchNorm statistics
        m.backbone.train()
        for _ in range(20):
            m.backbone(_smooth_images(40, 3, 16, 16))
    m.backbone.requires_grad_(False)
    m.backbone.eval()
    opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20, expect=[])


@case
def rezero_residual_mlp_alpha_starts_at_zero_adam():
    # Healthy: ReZero. Every residual branch is scaled by a learnable alpha initialised to exactly 0,
    # so at step 0 the branches output nothing and their weights get zero gradient; alpha itself gets
    # a gradient and the branches wake up after the first update.
    _seed()

    class ReZeroBlock(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            self.alpha = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x + self.alpha * self.ff(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(10, 32)
            self.blocks = nn.ModuleList([ReZeroBlock(32) for _ in range(4)])
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            h = self.inp(x)
            for b in self.blocks:
                h = b(h)
            return self.head(h)

    m = Net()
    x = torch.randn(64, 10)
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def resnet_zero_init_last_bn_gamma_in_each_block():
    # Healthy: torchvision's zero_init_residual. The last BatchNorm of every residual branch has
    # gamma = 0, so each block starts as the identity (branch convs get zero gradient at step 0).
    _seed()

    class BasicBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)
            nn.init.zeros_(self.bn2.weight)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(x + out)

    class ResNetTiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.layer1 = nn.Sequential(BasicBlock(16), BasicBlock(16))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 10)
            for mod in self.modules():
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            return self.fc(self.pool(self.layer1(self.stem(x))).flatten(1))

    return dict(model=ResNetTiny().train(), inputs=_smooth_images(20, 3, 16, 16), target=_balanced(20, 10),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def layerscale_attention_blocks_gamma_1e_minus_5():
    # Healthy: CaiT-style LayerScale. Residual branches are multiplied by a per-channel gamma
    # initialised to 1e-5, so branch gradients are ~1e-5 times smaller at init by design.
    _seed()

    class LSBlock(nn.Module):
        def __init__(self, d, init=1e-5):
            super().__init__()
            self.norm1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.gamma1 = nn.Parameter(init * torch.ones(d))
            self.norm2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.gamma2 = nn.Parameter(init * torch.ones(d))

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.gamma1 * self.attn(h, h, h, need_weights=False)[0]
            return x + self.gamma2 * self.mlp(self.norm2(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(8, 32)
            self.blocks = nn.Sequential(*[LSBlock(32) for _ in range(4)])
            self.norm = nn.LayerNorm(32)
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.norm(self.blocks(self.inp(x))).mean(1))

    return dict(model=Net(), inputs=torch.randn(18, 10, 8), target=_balanced(18, 3),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ppo_actor_critic_orthogonal_init_policy_gain_001():
    # Healthy: the standard PPO initialisation: orthogonal weights (gain sqrt(2) hidden, 0.01 for the
    # policy head so the initial policy is near uniform, 1 for the value head), zero biases. The model
    # returns (logits, value) and a custom actor-critic loss uses both.
    _seed()

    class ActorCritic(nn.Module):
        def __init__(self, obs=8, actions=4, h=64):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(obs, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh())
            self.pi = nn.Linear(h, actions)
            self.v = nn.Linear(h, 1)
            for mod, gain in [(self.body[0], math.sqrt(2)), (self.body[2], math.sqrt(2)), (self.pi, 0.01), (self.v, 1.0)]:
                nn.init.orthogonal_(mod.weight, gain)
                nn.init.zeros_(mod.bias)

        def forward(self, obs):
            h = self.body(obs)
            return self.pi(h), self.v(h).squeeze(-1)

    def ppo_like_loss(out, target):
        logits, value = out
        actions, adv, returns = target
        logp = F.log_softmax(logits, -1)
        pg = -(logp.gather(1, actions[:, None]).squeeze(1) * adv).mean()
        entropy = -(logp.exp() * logp).sum(-1).mean()
        return pg + 0.5 * F.mse_loss(value, returns) - 0.01 * entropy

    B = 64
    adv = torch.randn(B)
    target = (_balanced(B, 4), (adv - adv.mean()) / adv.std(), torch.randn(B))
    return dict(model=ActorCritic(), inputs=torch.randn(B, 8), target=target, loss=ppo_like_loss, expect=[])


# ------------------------------------------------------------------ unusual parameterisations
@case
def tied_weight_autoencoder_decoder_uses_encoder_transpose():
    # Healthy: the decoder has no weight of its own; it reuses the encoder weight transposed.
    _seed()

    class TiedAE(nn.Module):
        def __init__(self, d=64, h=16):
            super().__init__()
            self.enc = nn.Linear(d, h)
            self.dec_bias = nn.Parameter(torch.zeros(d))

        def forward(self, x):
            h = torch.relu(self.enc(x))
            return F.linear(h, self.enc.weight.t(), self.dec_bias)

    x = torch.randn(32, 64)
    return dict(model=TiedAE(), inputs=x, target=x.clone(), loss=nn.MSELoss(), expect=[])


@case
def spectral_norm_discriminator_real_fake_bce():
    # Healthy: SN-GAN style discriminator, every Linear under spectral_norm parametrization,
    # LeakyReLU(0.2), half real / half fake labels with BCEWithLogitsLoss.
    _seed()
    sn = nn.utils.parametrizations.spectral_norm
    D = nn.Sequential(sn(nn.Linear(32, 64)), nn.LeakyReLU(0.2), sn(nn.Linear(64, 64)), nn.LeakyReLU(0.2),
                      sn(nn.Linear(64, 1)))
    x = torch.randn(32, 32)
    y = torch.cat([torch.ones(16, 1), torch.zeros(16, 1)])
    return dict(model=D, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def vq_codebook_straight_through_estimator():
    # Healthy: VQ-VAE bottleneck (l2-normalised codes, as in ViT-VQGAN). Nearest-code lookup (argmin) is
    # not differentiable, so the encoder
    # gets its gradient through the straight-through trick z_e + (z_q - z_e).detach(), and the codebook
    # through the codebook/commitment terms of the custom loss.
    _seed()

    class VQAE(nn.Module):
        def __init__(self, d=16, z=8, codes=32):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, z))
            self.codebook = nn.Embedding(codes, z)
            self.dec = nn.Sequential(nn.Linear(z, 32, bias=False), nn.ReLU(), nn.Linear(32, d))

        def forward(self, x):
            z_e = F.normalize(self.enc(x), dim=-1)
            codes = F.normalize(self.codebook.weight, dim=-1)
            idx = (z_e @ codes.t()).argmax(1)  # nearest code on the unit sphere
            z_q = codes[idx]
            z_st = z_e + (z_q - z_e).detach()
            return self.dec(z_st), z_e, z_q

    def vq_loss(out, target):
        recon, z_e, z_q = out
        return F.mse_loss(recon, target) + F.mse_loss(z_q, z_e.detach()) + 0.25 * F.mse_loss(z_e, z_q.detach())

    x = torch.randn(64, 16)
    return dict(model=VQAE(), inputs=x, target=x.clone(), loss=vq_loss, expect=[])


@case
def gumbel_softmax_hard_one_hot_bottleneck():
    # Healthy: discrete latent via F.gumbel_softmax(hard=True): the latent is exactly one-hot in the
    # forward pass (all 0/1) but gradients flow through the soft relaxation.
    _seed()

    class GumbelAE(nn.Module):
        def __init__(self, d=20, k=16):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, k))
            self.dec = nn.Sequential(nn.Linear(k, 64, bias=False), nn.ReLU(), nn.Linear(64, d))

        def forward(self, x):
            logits = self.enc(x)
            z = F.gumbel_softmax(logits, tau=1.0, hard=True)
            return self.dec(z), logits

    def gumbel_loss(out, target):
        recon, logits = out
        q = F.softmax(logits, -1)
        kl_uniform = (q * (q.clamp_min(1e-8).log() + math.log(q.shape[-1]))).sum(-1).mean()
        return F.mse_loss(recon, target) + 0.1 * kl_uniform

    x = torch.randn(48, 20)
    return dict(model=GumbelAE(), inputs=x, target=x.clone(), loss=gumbel_loss, expect=[])


@case
def stochastic_depth_per_sample_drop_path_train_mode():
    # Healthy: stochastic depth (drop path, per-sample "row" mode) in training mode; each sample's
    # residual branch is kept or dropped independently, so no sample depends on another.
    _seed()

    class DropPath(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            if not self.training or self.p == 0:
                return x
            keep = (torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device) >= self.p).to(x.dtype)
            return x * keep / (1 - self.p)

    class Block(nn.Module):
        def __init__(self, c, p):
            super().__init__()
            self.branch = nn.Sequential(nn.Conv1d(c, c, 5, padding=2), nn.GroupNorm(4, c), nn.GELU(),
                                        nn.Conv1d(c, c, 5, padding=2))
            self.drop_path = DropPath(p)

        def forward(self, x):
            return x + self.drop_path(self.branch(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv1d(2, 32, 3, padding=1)
            self.blocks = nn.Sequential(*[Block(32, p) for p in (0.05, 0.1, 0.15, 0.2)])
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)).mean(-1))

    return dict(model=Net().train(), inputs=torch.randn(24, 2, 64), target=_balanced(24, 3),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def integer_and_bool_buffers_select_and_permute_features():
    # Healthy: a long permutation buffer, a bool feature-mask buffer and a long step counter live in the
    # model next to float parameters; they are indices/flags, not inputs to a float layer.
    _seed()

    class Selector(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("perm", torch.randperm(24))
            keep = torch.zeros(24, dtype=torch.bool)
            keep[:16] = True
            self.register_buffer("keep", keep)
            self.register_buffer("calls", torch.zeros((), dtype=torch.long))
            self.mlp = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3))

        def forward(self, x):
            self.calls += 1
            return self.mlp(x[:, self.perm][:, self.keep])

    return dict(model=Selector(), inputs=torch.randn(30, 24), target=_balanced(30, 3),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def byol_online_network_and_frozen_ema_target():
    # Healthy: BYOL. The target network is an EMA copy with requires_grad=False, run under no_grad;
    # only the online encoder/predictor train and only they are in the optimizer.
    _seed()
    import copy

    class BYOL(nn.Module):
        def __init__(self, d=32, h=64, z=16):
            super().__init__()
            # Linear layers followed by BatchNorm carry no bias (BN would cancel it)
            self.online = nn.Sequential(nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(),
                                        nn.Linear(h, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(),
                                        nn.Linear(h, z, bias=False))
            self.predictor = nn.Sequential(nn.Linear(z, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(),
                                           nn.Linear(h, z))
            self.target_net = copy.deepcopy(self.online)
            self.target_net.requires_grad_(False)

        def forward(self, v1, v2):
            p1 = self.predictor(self.online(v1))
            with torch.no_grad():
                t2 = self.target_net(v2)
            return p1, t2

    def byol_loss(out, target=None):
        p, t = out
        return (2 - 2 * F.cosine_similarity(p, t, dim=-1)).mean()

    m = BYOL()
    x = torch.randn(32, 32)
    v1, v2 = x + 0.1 * torch.randn_like(x), x + 0.1 * torch.randn_like(x)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=3e-3)
    return dict(model=m, inputs=(v1, v2), loss=byol_loss, optimizer=opt, steps=15, expect=[])


@case
def cosine_prototype_classifier_temperature_007():
    # Healthy: cosine classifier: features and class prototypes are L2-normalised and the cosine
    # logits divided by temperature 0.07. The raw prototypes are randn (scale is irrelevant after
    # normalisation).
    _seed()

    class CosineNet(nn.Module):
        def __init__(self, d=24, f=64, classes=5, tau=0.07):
            super().__init__()
            self.backbone = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, f))
            self.prototypes = nn.Parameter(torch.randn(classes, f))
            self.tau = tau

        def forward(self, x):
            f = F.normalize(self.backbone(x), dim=-1)
            return f @ F.normalize(self.prototypes, dim=-1).t() / self.tau

    return dict(model=CosineNet(), inputs=torch.randn(40, 24), target=_balanced(40, 5),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def simclr_infonce_similarity_matrix_in_loss():
    # Healthy: contrastive InfoNCE. The model embeds each view independently; samples only interact in
    # the LOSS through the (B, B) similarity matrix, whose positives are on the diagonal (target arange).
    _seed()

    class Siamese(nn.Module):
        def __init__(self, d=32, z=32):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.projector = nn.Sequential(nn.Linear(64, 64, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
                                           nn.Linear(64, z))

        def forward(self, v1, v2):
            return (F.normalize(self.projector(self.encoder(v1)), dim=-1),
                    F.normalize(self.projector(self.encoder(v2)), dim=-1))

    def info_nce(out, target):
        z1, z2 = out
        logits = z1 @ z2.t() / 0.1
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))

    B = 32
    x = torch.randn(B, 32)
    v1, v2 = x + 0.2 * torch.randn_like(x), x + 0.2 * torch.randn_like(x)
    return dict(model=Siamese(), inputs=(v1, v2), target=torch.arange(B), loss=info_nce, expect=[])


# ------------------------------------------------------------------ normalisation, ranges, dtypes
@case
def conv3d_segmentation_groupnorm_batch_of_two():
    # Healthy: volumetric segmentation with batch size 2 uses GroupNorm, which does not depend on the
    # batch size (unlike BatchNorm), in training mode with a per-voxel CrossEntropyLoss.
    _seed()
    m = nn.Sequential(
        nn.Conv3d(1, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.ReLU(),
        nn.Conv3d(16, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.ReLU(),
        nn.Conv3d(16, 3, 1)).train()
    x = torch.randn(2, 1, 16, 16, 16)
    y = torch.randint(0, 3, (2, 16, 16, 16))
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def tanh_bounded_regression_targets_inside_range_adam():
    # Healthy: the output is bounded by tanh and every target lies in (-0.8, 0.8), well inside the range.
    _seed()
    m = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1), nn.Tanh())
    x = torch.randn(64, 6)
    y = 0.8 * torch.tanh(x @ torch.randn(6, 1) / math.sqrt(6))
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-2), steps=20, expect=[])


@case
def uint8_images_converted_and_normalised_in_forward():
    # Healthy: the model receives raw uint8 images (0..255) and converts and normalises them itself
    # (float, /255, ImageNet mean/std buffers) before the first convolution.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
            self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
            self.fc = nn.Linear(32, 10)

        def forward(self, img):
            x = (img.float().div(255.0) - self.mean) / self.std
            return self.fc(self.features(x).flatten(1))

    img = (torch.sigmoid(1.5 * _smooth_images(12, 3, 32, 32)) * 255).round().to(torch.uint8)
    return dict(model=Net().eval(), inputs=img, expect=[])


@case
def unit_interval_images_first_layer_batchnorm_batch_32():
    # Healthy: images in [0, 1] (ToTensor output, not standardised) go straight into a BatchNorm2d,
    # which standardises them; training mode with batch 32 and a loss.
    _seed()
    m = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 8)).train()
    x = torch.sigmoid(1.5 * _smooth_images(32, 3, 16, 16))
    return dict(model=m, inputs=x, target=_balanced(32, 8), loss=nn.CrossEntropyLoss(), expect=[])


@case
def deep_prenorm_residual_mlp_forty_blocks():
    # Healthy: 40 pre-LayerNorm residual blocks; depth is large but the residual stream stays well scaled.
    _seed()

    class PreLNBlock(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, 2 * d)
            self.fc2 = nn.Linear(2 * d, d)

        def forward(self, x):
            return x + self.fc2(F.gelu(self.fc1(self.norm(x))))

    class DeepResMLP(nn.Module):
        def __init__(self, depth=40, d=64):
            super().__init__()
            self.inp = nn.Linear(16, d)
            self.blocks = nn.ModuleList([PreLNBlock(d) for _ in range(depth)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, 1)

        def forward(self, x):
            h = self.inp(x)
            for b in self.blocks:
                h = b(h)
            return self.head(self.norm(h))

    x = torch.randn(32, 16)
    y = x[:, :4].sum(1, keepdim=True) / 2
    return dict(model=DeepResMLP(), inputs=x, target=y, loss=nn.MSELoss(), expect=[])


@case
def float64_model_with_float64_data_sgd():
    # Healthy: everything is float64 on purpose (model, inputs and targets agree); no dtype conflict.
    _seed()
    m = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)).double()
    x = torch.randn(50, 5, dtype=torch.float64)
    y = (x[:, :1] * x[:, 1:2] + torch.sin(x[:, 2:3])).double()
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20, expect=[])


@case
def causal_self_attention_neg_inf_mask_buffer():
    # Healthy: decoder-only attention with an additive causal mask buffer full of -inf above the
    # diagonal. Every row keeps at least its own position, so softmax is finite everywhere.
    _seed()

    class CausalAttn(nn.Module):
        def __init__(self, d, T):
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

        def forward(self, x):
            T = x.shape[1]
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]) + self.mask[:T, :T]
            return self.proj(att.softmax(-1) @ v)

    class TinyGPT(nn.Module):
        def __init__(self, vocab=50, d=32, T=16):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(0.02 * torch.randn(1, T, d))
            self.ln1 = nn.LayerNorm(d)
            self.attn = CausalAttn(d, T)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab)

        def forward(self, idx):
            x = self.tok(idx) + self.pos[:, :idx.shape[1]]
            x = x + self.attn(self.ln1(x))
            x = x + self.mlp(self.ln2(x))
            return self.lm_head(self.ln_f(x))

    def lm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))

    seq = torch.randint(0, 50, (8, 17))
    return dict(model=TinyGPT(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lm_loss, expect=[])


@case
def ctc_time_major_bilstm_blank_zero():
    # Healthy: speech-style CTC. Input and output are TIME-major (T, N, C) as nn.LSTM (batch_first=False)
    # and F.ctc_loss expect; the batch is dim 1. Targets are 1..9 because 0 is the CTC blank.
    _seed()

    class CTCNet(nn.Module):
        def __init__(self, feats=16, h=32, classes=10):
            super().__init__()
            self.lstm = nn.LSTM(feats, h, bidirectional=True)
            self.fc = nn.Linear(2 * h, classes)

        def forward(self, x):  # x: (T, N, feats)
            out, _ = self.lstm(x)
            return F.log_softmax(self.fc(out), dim=-1)  # (T, N, classes)

    T, N, S = 30, 4, 8

    def ctc(log_probs, targets):  # every utterance uses all T frames and all S target symbols
        return F.ctc_loss(log_probs, targets,
                          torch.full((log_probs.shape[1],), log_probs.shape[0], dtype=torch.long),
                          torch.full((targets.shape[0],), targets.shape[1], dtype=torch.long), blank=0)

    return dict(model=CTCNet(), inputs=torch.randn(T, N, 16), target=torch.randint(1, 10, (N, S)),
                loss=ctc, expect=[])


# ------------------------------------------------------------------ buggy twins (one clear bug each)
@case
def masked_lm_unmasked_positions_labelled_minus_one():
    # BUG: unmasked positions are labelled -1, but CrossEntropyLoss ignores -100: label -1 is out of range.
    _seed()

    class GRUMLM(nn.Module):
        def __init__(self, vocab=30, d=32):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.gru = nn.GRU(d, 32, batch_first=True, bidirectional=True)
            self.out = nn.Linear(64, vocab)

        def forward(self, ids):
            return self.out(self.gru(self.emb(ids))[0]).transpose(1, 2)  # (B, vocab, T)

    ids = torch.randint(2, 30, (12, 18))
    labels = torch.full_like(ids, -1)
    sel = torch.rand(ids.shape) < 0.15
    sel[:, 0] = True
    labels[sel] = ids[sel]
    ids = ids.masked_fill(sel, 1)
    return dict(model=GRUMLM(), inputs=ids, target=labels, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where=["target", "loss"])


@case
def round_bottleneck_blocks_encoder_gradient():
    # BUG: torch.round in the bottleneck without the straight-through trick: its gradient is zero,
    # so the encoder never receives any gradient.
    _seed()

    class QuantAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(16, 8)
            self.dec = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 16))

        def forward(self, x):
            z = torch.tanh(self.enc(x))
            zq = torch.round(z * 4) / 4  # should be z + (torch.round(z * 4) / 4 - z).detach()
            return self.dec(zq)

    x = torch.randn(32, 16)
    return dict(model=QuantAE(), inputs=x, target=x.clone(), loss=nn.MSELoss(),
                expect=["no-gradient"], where="enc")


@case
def bce_loss_on_raw_logits_no_sigmoid():
    # BUG: nn.BCELoss expects probabilities, but the model ends in a Linear (no Sigmoid): raw logits.
    _seed()
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(40, 10)
    y = (x[:, :1] + x[:, 1:2] > 0).float()
    return dict(model=m, inputs=x, target=y, loss=nn.BCELoss(), expect=["loss-mismatch"], where=["loss", "2"])


@case
def attention_pooling_softmax_over_batch_axis():
    # BUG: attention-pooling weights are normalised with softmax(dim=0), over the BATCH instead of
    # over the time steps (dim=1), so every sample's pooled vector depends on the other samples.
    _seed()

    class AttnPool(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.score = nn.Linear(d, 1)

        def forward(self, h):  # h: (B, T, d)
            w = torch.softmax(self.score(h), dim=0)
            return (w * h).sum(1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 32, batch_first=True)
            self.pool = AttnPool(32)
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            return self.fc(self.pool(self.gru(x)[0]))

    return dict(model=Net(), inputs=torch.randn(16, 12, 8), target=_balanced(16, 3),
                loss=nn.CrossEntropyLoss(), expect=["softmax-wrong-dim", "batch-mixing"])
