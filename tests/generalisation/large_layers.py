"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5537): torch.manual_seed(s)


def _balanced(n, k):
    # balanced class labels 0..k-1, shuffled
    return torch.arange(n) % k


# ====================================================================== buggy cases

@case
def wide_1024_hidden_linear_normal_std_one():
    # bug: the 1024x1024 hidden layer is initialised with N(0, 1) (std*sqrt(fan_in) = 32) -> activations blow up
    _seed()
    m = nn.Sequential(nn.Linear(128, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
    nn.init.normal_(m[2].weight, mean=0.0, std=1.0)
    x = torch.randn(16, 128)
    return dict(model=m, inputs=x, target=_balanced(16, 10)[torch.randperm(16)], loss=nn.CrossEntropyLoss(),
                expect=["bad-init", "exploding-activations", "exploding-gradients"], where=["2"])


@case
def vgg_conv512_weights_zeroed_without_residual():
    # bug: the 256->512 conv is zero-initialised ("zero-init the last layer" trick copied without a residual):
    # every channel outputs 0, the ReLU after it is dead and the logits no longer depend on the image
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(64, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))
    nn.init.zeros_(m[6].weight)
    nn.init.zeros_(m[6].bias)
    x = torch.randn(8, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["bad-init", "constant-output", "dead-relu", "no-gradient", "vanishing-gradients"],
                where=["6", "7"])


@case
def token_projection_bias_minus4_inplace_relu_dead():
    # bug: bias of the 512->2048 projection set to -4 (copied from a highway-gate init); pre-activations have
    # std ~0.6, so the in-place ReLU after it never fires
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(512)
            self.fc = nn.Linear(512, 2048)
            self.act = nn.ReLU(inplace=True)
            self.out = nn.Linear(2048, 4)
            nn.init.constant_(self.fc.bias, -4.0)

        def forward(self, x):  # x: (batch, seq, 512)
            h = self.act(self.fc(self.ln(x)))
            return self.out(h.mean(1))

    x = torch.randn(8, 12, 512)
    return dict(model=Net(), inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["dead-relu", "constant-output", "no-gradient", "vanishing-gradients", "bad-init"],
                where=["fc", "act"])


@case
def vocab_2048_head_softmax_into_cross_entropy():
    # bug: the 2048-way head ends with Softmax and the loss is CrossEntropyLoss (softmax applied twice)
    _seed()
    m = nn.Sequential(nn.Linear(64, 512), nn.GELU(), nn.Linear(512, 2048), nn.Softmax(dim=-1))
    x = torch.randn(32, 64)
    y = torch.randperm(2048)[:32]
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=["double-softmax"])


@case
def binary_single_logit_head_trained_with_cross_entropy():
    # bug: one output logit + CrossEntropyLoss with float 0/1 targets: softmax over ONE class is always 1,
    # so the loss is identically 0 and nothing learns (should be BCEWithLogitsLoss)
    _seed()
    m = nn.Sequential(nn.Linear(1024, 1024), nn.ReLU(inplace=True), nn.Linear(1024, 1))
    x = torch.randn(16, 1024)
    y = (torch.arange(16) % 2).float().unsqueeze(1)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["loss-mismatch", "wrong-target", "no-gradient"])


@case
def large_projection_frozen_instead_of_stem():
    # bug: meant to freeze the small conv stem, but the loop freezes the 2048->1024 projection that should train
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                      nn.Conv2d(32, 128, 3, stride=2, padding=1), nn.BatchNorm2d(128), nn.ReLU())
            self.proj = nn.Linear(128 * 4 * 4, 1024)
            self.head = nn.Linear(1024, 10)

        def forward(self, x):
            h = F.adaptive_avg_pool2d(self.stem(x), 4).flatten(1)
            return self.head(F.relu(self.proj(h)))

    m = Net()
    for p in m.proj.parameters():  # should have been m.stem.parameters()
        p.requires_grad = False
    x = torch.randn(8, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
                expect=["no-gradient"], where=["proj"])


@case
def wide_mlp_sgd_lr_ten():
    # bug: SGD with lr=10 on a net with 1024-wide layers; a few steps make the loss explode / go NaN
    _seed()
    m = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 8))
    x = torch.randn(32, 256)
    y = _balanced(32, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=10.0, momentum=0.9), steps=20,
                expect=["lr-too-high"])


@case
def padded_token_features_l2_normalised_without_eps():
    # bug: padding tokens embed to exact zero rows (padding_idx) and the bias-free 1024x1024 projection keeps
    # them zero; the hand-written L2 normalisation divides 0 by 0 -> NaN
    _seed()

    class L2Norm(nn.Module):
        def forward(self, x):
            return x / x.norm(dim=-1, keepdim=True)  # no eps

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(2000, 1024, padding_idx=0)
            self.proj = nn.Linear(1024, 1024, bias=False)
            self.l2norm = L2Norm()
            self.cls = nn.Linear(1024, 3)

        def forward(self, tokens):
            h = self.l2norm(self.proj(self.emb(tokens)))  # (batch, seq, 1024)
            return self.cls(h.mean(1))

    tokens = torch.randint(1, 2000, (8, 20))
    for i in range(8):
        tokens[i, 12 + (i % 6):] = 0  # right padding
    return dict(model=Net(), inputs=tokens, target=_balanced(8, 3), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-created"], where=["l2norm"])


@case
def seq_first_gru_fed_by_view_not_transpose():
    # bug: (batch, seq, feat) turned into the GRU's (seq, batch, feat) with .view instead of .transpose(0, 1):
    # time steps of different samples get interleaved
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(512, 2048)
            self.gru = nn.GRU(2048, 64)  # seq-first
            self.fc = nn.Linear(64, 3)

        def forward(self, x):  # x: (batch, seq, 512)
            b, t, _ = x.shape
            h = F.relu(self.proj(x))
            h = h.view(t, b, -1)
            out, _ = self.gru(h)
            return self.fc(out[-1])

    x = torch.randn(6, 10, 512)
    return dict(model=Net(), inputs=x, target=_balanced(6, 3), loss=nn.CrossEntropyLoss(),
                expect=["batch-mixing"])


@case
def power_spectrogram_straight_into_conv1d_1024():
    # bug: raw power-spectrogram magnitudes (0 .. 1e4) fed to the 128->1024 Conv1d, no log / standardisation
    _seed()
    m = nn.Sequential(nn.Conv1d(128, 1024, 9, padding=4), nn.ReLU(inplace=True),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(1024, 6))
    x = torch.rand(8, 128, 32) ** 2 * 1e4
    return dict(model=m, inputs=x, target=_balanced(8, 6), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"])


@case
def tanh_hidden_1024_init_std_half():
    # bug: N(0, 0.5) init copied from a tiny-layer tutorial; with 1024 inputs the pre-activations have
    # std ~16 and the tanh is pinned at +-1
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(1024, 1024)
            self.act = nn.Tanh()
            self.out = nn.Linear(1024, 1)
            nn.init.normal_(self.hidden.weight, std=0.5)

        def forward(self, x):
            return self.out(self.act(self.hidden(x)))

    x = torch.randn(16, 1024)
    return dict(model=Net(), inputs=x, target=torch.randn(16, 1), loss=nn.MSELoss(),
                expect=["saturated-activation", "bad-init", "vanishing-gradients"], where=["hidden", "act"])


@case
def vgg_classifier_in_features_for_three_pools():
    # bug: classifier's in_features assumes three 2x poolings (512*2*2) but the feature stack only pools twice
    # (16x16 -> 4x4, i.e. 512*4*4 features) -> matmul shape error
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 128, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                nn.Conv2d(128, 512, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(nn.Linear(512 * 2 * 2, 1024), nn.ReLU(inplace=True),
                                            nn.Dropout(0.5), nn.Linear(1024, 10))

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    x = torch.randn(4, 3, 16, 16)
    return dict(model=Net(), inputs=x, target=_balanced(4, 4), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["classifier.0", "input"])


@case
def float64_sentence_embeddings_into_wide_encoder():
    # bug: features computed in float64 (numpy pipeline) and fed to a float32 model
    _seed()
    m = nn.Sequential(nn.Linear(768, 2048), nn.GELU(), nn.Linear(2048, 2))
    x = torch.randn(8, 768, dtype=torch.float64)
    return dict(model=m, inputs=x, target=_balanced(8, 2), loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["input", "0"])


@case
def two_1024_linears_back_to_back_no_activation():
    # bug: forgot the activation between the two 1024x1024 layers; they collapse into a single linear map
    _seed()
    m = nn.Sequential(nn.Linear(64, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.Linear(1024, 1024), nn.ReLU(),
                      nn.Linear(1024, 5))
    x = torch.randn(20, 64)
    return dict(model=m, inputs=x, target=_balanced(20, 5), loss=nn.CrossEntropyLoss(),
                expect=["missing-nonlinearity"], where=["2", "3"])


@case
def twin_towers_kept_in_plain_python_dict():
    # bug: the two 1024x1024 towers live in a plain dict, so they are not registered and Adam never updates them
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(32, 1024)
            self.towers = {"user": nn.Linear(1024, 1024), "item": nn.Linear(1024, 1024)}  # should be nn.ModuleDict
            self.head = nn.Linear(2048, 2)

        def forward(self, x):
            h = F.relu(self.stem(x))
            u = F.relu(self.towers["user"](h))
            v = F.relu(self.towers["item"](h))
            return self.head(torch.cat([u, v], dim=-1))

    m = Net()
    x = torch.randn(16, 32)
    return dict(model=m, inputs=x, target=_balanced(16, 2), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-4), steps=10,
                expect=["untrained-parameter"])


@case
def attention_pooling_softmax_over_batch_axis_wide_projection():
    # bug: attention-pooling weights normalised over dim 0 (the batch) instead of dim 1 (the sequence)
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(1024, 1024)
            self.score = nn.Linear(1024, 1)
            self.pool_softmax = nn.Softmax(dim=0)
            self.cls = nn.Linear(1024, 3)

        def forward(self, x):  # x: (batch, seq, 1024)
            h = torch.tanh(self.enc(x))
            w = self.pool_softmax(self.score(h))  # (batch, seq, 1)
            return self.cls((w * h).sum(1))

    x = torch.randn(8, 12, 1024)
    return dict(model=Net(), inputs=x, target=_balanced(8, 3), loss=nn.CrossEntropyLoss(),
                expect=["softmax-wrong-dim", "batch-mixing"], where=["pool_softmax"])


# ====================================================================== healthy cases

@case
def ok_vgg_style_stack_to_512_channels_train_ce():
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(64, 256, 3, padding=1), nn.BatchNorm2d(256), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(256, 512, 3, padding=1), nn.BatchNorm2d(512), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))
    x = torch.randn(8, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_wide_mlp_head_inplace_relu_adam_steps():
    _seed()
    m = nn.Sequential(nn.Linear(256, 1024), nn.ReLU(inplace=True), nn.Linear(1024, 1024), nn.ReLU(inplace=True),
                      nn.Linear(1024, 10))
    x = torch.randn(40, 256)
    y = _balanced(40, 10)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-4), steps=20, expect=[])


@case
def ok_tiny_lm_input_output_embeddings_tied():
    _seed()

    class TinyLM(nn.Module):
        def __init__(self, vocab=4096, d=256):
            super().__init__()
            self.d = d
            self.emb = nn.Embedding(vocab, d)
            nn.init.normal_(self.emb.weight, std=0.02)  # GPT-2 style init
            self.pos = nn.Parameter(0.02 * torch.randn(1, 32, d))
            self.block = nn.TransformerEncoderLayer(d, 4, 512, dropout=0.0, batch_first=True, norm_first=True)
            self.norm = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.lm_head.weight = self.emb.weight  # tied on purpose

        def forward(self, tokens):
            t = tokens.shape[1]
            h = self.emb(tokens) + self.pos[:, :t]
            mask = nn.Transformer.generate_square_subsequent_mask(t)
            h = self.block(h, src_mask=mask, is_causal=True)
            return self.lm_head(self.norm(h))

    seq = torch.randint(0, 4096, (4, 17))
    V = 4096

    def lm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, V), target.reshape(-1))

    return dict(model=TinyLM(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lm_loss, expect=[])


@case
def ok_resnet_1x1_bottleneck_2048_channels():
    _seed()

    class Bottleneck(nn.Module):
        def __init__(self, c=2048, mid=512):
            super().__init__()
            self.reduce = nn.Conv2d(c, mid, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(mid)
            self.conv = nn.Conv2d(mid, mid, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(mid)
            self.expand = nn.Conv2d(mid, c, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(c)

        def forward(self, x):
            h = F.relu(self.bn1(self.reduce(x)), inplace=True)
            h = F.relu(self.bn2(self.conv(h)), inplace=True)
            return F.relu(x + self.bn3(self.expand(h)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Bottleneck()
            self.fc = nn.Linear(2048, 10)

        def forward(self, x):
            return self.fc(F.adaptive_avg_pool2d(self.block(x), 1).flatten(1))

    x = torch.randn(4, 2048, 4, 4)
    return dict(model=Net(), inputs=x, target=_balanced(4, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_prenorm_mlp_blocks_checkpoint_nonreentrant():
    from torch.utils.checkpoint import checkpoint
    _seed()

    class MLPBlock(nn.Module):
        def __init__(self, d=512, hidden=2048):
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, hidden)
            self.fc2 = nn.Linear(hidden, d)

        def forward(self, x):
            return x + self.fc2(F.gelu(self.fc1(self.norm(x))))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([MLPBlock() for _ in range(2)])
            self.norm = nn.LayerNorm(512)
            self.head = nn.Linear(512, 6)

        def forward(self, x):  # (batch, seq, 512)
            for blk in self.blocks:
                x = checkpoint(blk, x, use_reentrant=False)
            return self.head(self.norm(x).mean(1))

    x = torch.randn(6, 16, 512)
    return dict(model=Net(), inputs=x, target=_balanced(6, 6), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_saliency_map_cnn_input_requires_grad():
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 512, 4, padding=1), nn.BatchNorm2d(512), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 5)).eval()
    x = torch.randn(6, 3, 16, 16).requires_grad_(True)
    return dict(model=m, inputs=x, target=torch.tensor([0, 1, 2, 3, 4, 0]), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_shared_1024_layer_applied_twice_residual():
    _seed()

    class Refiner(nn.Module):
        # the same 1024x1024 layer refines the representation twice (weight sharing on purpose)
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(48, 1024)
            self.norm1 = nn.LayerNorm(1024)
            self.norm2 = nn.LayerNorm(1024)
            self.shared = nn.Linear(1024, 1024)
            self.out = nn.Linear(1024, 1)

        def forward(self, x):
            h = self.inp(x)
            h = h + F.gelu(self.shared(self.norm1(h)))
            h = h + F.gelu(self.shared(self.norm2(h)))
            return self.out(h)

    x = torch.randn(24, 48)
    y = x[:, :4].sum(1, keepdim=True) / 2.0
    return dict(model=Refiner(), inputs=x, target=y, loss=nn.MSELoss(), expect=[])


@case
def ok_bias_free_2048_first_layer_with_batchnorm():
    _seed()
    m = nn.Sequential(nn.Linear(2048, 1024, bias=False), nn.BatchNorm1d(1024), nn.ReLU(inplace=True),
                      nn.Linear(1024, 5))
    x = torch.randn(20, 2048)
    return dict(model=m, inputs=x, target=_balanced(20, 5), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_custom_loss_with_l2_penalty_sgd_steps():
    _seed()
    m = nn.Sequential(nn.Linear(128, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 4))
    big = m[2]

    def ce_plus_l2(out, target):
        return F.cross_entropy(out, target) + 1e-4 * big.weight.pow(2).sum()

    x = torch.randn(32, 128)
    y = x[:, :4].argmax(1)
    return dict(model=m, inputs=x, target=y, loss=ce_plus_l2,
                optimizer=torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9), steps=15, expect=[])


@case
def ok_text_cnn_conv1d_512_to_1024():
    _seed()

    class TextCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(1000, 512)
            self.conv = nn.Conv1d(512, 1024, 3, padding=1)
            self.act = nn.ReLU(inplace=True)
            self.fc = nn.Linear(1024, 2)

        def forward(self, tokens):  # (batch, seq)
            h = self.emb(tokens).transpose(1, 2)  # (batch, 512, seq)
            h = self.act(self.conv(h))
            return self.fc(h.amax(dim=2))

    tokens = torch.randint(0, 1000, (8, 32))
    return dict(model=TextCNN(), inputs=tokens, target=_balanced(8, 2), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_video_clip_conv3d_256_channels():
    _seed()
    m = nn.Sequential(
        nn.Conv3d(3, 64, 3, padding=1), nn.BatchNorm3d(64), nn.ReLU(inplace=True), nn.MaxPool3d(2),
        nn.Conv3d(64, 256, 3, padding=1), nn.BatchNorm3d(256), nn.ReLU(inplace=True),
        nn.Conv3d(256, 256, 3, padding=1), nn.BatchNorm3d(256), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(256, 5))
    x = torch.randn(4, 3, 4, 8, 8)
    return dict(model=m, inputs=x, target=torch.tensor([0, 1, 2, 3]), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_masked_mha_block_with_2048_ffn_kwargs():
    _seed()

    class Encoder(nn.Module):
        def __init__(self, d=512):
            super().__init__()
            self.norm1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 8, batch_first=True)
            self.norm2 = nn.LayerNorm(d)
            self.ff_in = nn.Linear(d, 2048)
            self.ff_out = nn.Linear(2048, d)
            self.norm3 = nn.LayerNorm(d)
            self.head = nn.Linear(d, 4)

        def forward(self, x, pad_mask):  # x: (batch, seq, d); pad_mask True at padding
            h = self.norm1(x)
            x = x + self.attn(h, h, h, key_padding_mask=pad_mask, need_weights=False)[0]
            x = x + self.ff_out(F.gelu(self.ff_in(self.norm2(x))))
            keep = (~pad_mask).unsqueeze(-1).float()
            pooled = (self.norm3(x) * keep).sum(1) / keep.sum(1)
            return self.head(pooled)

    x = torch.randn(8, 16, 512)
    pad = torch.zeros(8, 16, dtype=torch.bool)
    for i in range(8):
        pad[i, 10 + (i % 6):] = True
    return dict(model=Encoder(), inputs={"x": x, "pad_mask": pad}, target=_balanced(8, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_wide_denoising_autoencoder_adam_steps():
    _seed()

    class AE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(784, 1536), nn.GELU(), nn.Linear(1536, 64), nn.GELU())
            self.dec = nn.Sequential(nn.Linear(64, 1536), nn.GELU(), nn.Linear(1536, 784))

        def forward(self, x):
            return self.dec(self.enc(x))

    m = AE()
    clean = torch.randn(16, 784)
    noisy = clean + 0.1 * torch.randn(16, 784)
    return dict(model=m, inputs=noisy, target=clean, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-4), steps=20, expect=[])


@case
def ok_frame_features_1024_projection_then_gru():
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(1024, 1024)
            self.act = nn.ReLU(inplace=True)
            self.gru = nn.GRU(1024, 64, batch_first=True)
            self.fc = nn.Linear(64, 3)

        def forward(self, x):  # (batch, seq, 1024)
            h = self.act(self.proj(x))
            out, _ = self.gru(h)
            return self.fc(out[:, -1])

    x = torch.randn(6, 12, 1024)
    return dict(model=Net(), inputs=x, target=_balanced(6, 3), loss=nn.CrossEntropyLoss(), expect=[])
