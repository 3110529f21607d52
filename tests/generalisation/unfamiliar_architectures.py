"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5757): torch.manual_seed(s)


# Theme: triaging unfamiliar architectures (U-Net, ViT, MLP-Mixer, ConvNeXt, WaveNet, PointNet, GNN,
# Perceiver, VAE, Siamese, MoE, DETR, Conformer, FiLM, normalising flow), healthy and with one port bug.


def _smooth_images(n, c, h):
    # images with low-frequency structure (like natural images), standardised
    x = F.interpolate(torch.randn(n, c, 4, 4), size=(h, h), mode="bilinear", align_corners=False)
    x = x + 0.3 * torch.randn(n, c, h, h)
    return (x - x.mean()) / x.std()


def _balanced(n, k):
    # n labels, k classes, as even as possible, shuffled
    return (torch.arange(n) % k)[torch.randperm(n)]


# ------------------------------------------------------------------ shared building blocks
class _PatchEmbed(nn.Module):
    """ViT patch embedding with a CLS token and learned positions (timm-style)."""

    def __init__(self, cin, dim, patch, n_patches):
        super().__init__()
        self.proj = nn.Conv2d(cin, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, n_patches + 1, dim) * 0.02)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)  # (B, N, D)
        x = x + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        return torch.cat([cls, x], dim=1)


class _TinyViT(nn.Module):
    def __init__(self, embed_cls=_PatchEmbed, img=16, patch=4, dim=48, depth=2, heads=4, n_cls=4):
        super().__init__()
        self.embed = embed_cls(3, dim, patch, (img // patch) ** 2)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_cls)

    def forward(self, x):
        x = self.encoder(self.embed(x))
        return self.head(self.norm(x[:, 0]))  # classify from the CLS position


def _double_conv(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class _UNet(nn.Module):
    """Two-level U-Net, bilinear upsampling, skip connections concatenated on channels."""

    def __init__(self, cin=3, n_cls=3, c=16):
        super().__init__()
        self.enc1 = _double_conv(cin, c)
        self.enc2 = _double_conv(c, 2 * c)
        self.bottleneck = _double_conv(2 * c, 4 * c)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec2 = _double_conv(4 * c + 2 * c, 2 * c)
        self.dec1 = _double_conv(2 * c + c, c)
        self.out = nn.Conv2d(c, n_cls, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bottleneck(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], dim=1))
        return self.out(d1)


class _MixerBlock(nn.Module):
    def __init__(self, tokens, dim, token_hidden, channel_hidden, token_mlp=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = token_mlp if token_mlp is not None else nn.Sequential(
            nn.Linear(tokens, token_hidden), nn.GELU(),
            nn.Linear(token_hidden, tokens, bias=False))  # a per-token bias would be cancelled by the next LayerNorm
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, channel_hidden), nn.GELU(), nn.Linear(channel_hidden, dim))

    def forward(self, x):  # (B, T, C)
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class _TinyMixer(nn.Module):
    def __init__(self, img=16, patch=4, dim=32, depth=2, n_cls=4, forget_gelu=False):
        super().__init__()
        t = (img // patch) ** 2
        self.stem = nn.Conv2d(3, dim, patch, stride=patch)
        blocks = []
        for _ in range(depth):
            tm = nn.Sequential(nn.Linear(t, 32), nn.Linear(32, t, bias=False)) if forget_gelu else None
            blocks.append(_MixerBlock(t, dim, 32, 64, token_mlp=tm))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_cls)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x).mean(1))


class _LayerNorm2d(nn.Module):
    """ConvNeXt's channels_first LayerNorm: normalise each pixel over its channels."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class _ConvNeXtBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)  # channels-last
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)

    def forward(self, x):
        y = self.dwconv(x).permute(0, 2, 3, 1)  # NCHW -> NHWC
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class _TinyConvNeXt(nn.Module):
    def __init__(self, norm2d=_LayerNorm2d, n_cls=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 4, stride=4), norm2d(32))
        self.stage1 = nn.Sequential(_ConvNeXtBlock(32), _ConvNeXtBlock(32))
        self.downsample = nn.Sequential(norm2d(32), nn.Conv2d(32, 64, 2, stride=2))
        self.stage2 = nn.Sequential(_ConvNeXtBlock(64))
        self.head_norm = nn.LayerNorm(64)
        self.head = nn.Linear(64, n_cls)

    def forward(self, x):
        x = self.stage2(self.downsample(self.stage1(self.stem(x))))
        return self.head(self.head_norm(x.mean((2, 3))))


class _WaveBlock(nn.Module):
    """Gated dilated causal conv (WaveNet): left-pad by (k-1)*d, so output t only sees inputs <= t."""

    def __init__(self, cin, c, skip, dilation, residual=True, last=False, k=2):
        super().__init__()
        self.left = (k - 1) * dilation
        self.filt = nn.Conv1d(cin, c, k, dilation=dilation)
        self.gate = nn.Conv1d(cin, c, k, dilation=dilation)
        self.res = None if last else nn.Conv1d(c, c, 1)  # the last block only feeds the skip path
        self.skip = nn.Conv1d(c, skip, 1)
        self.residual = residual

    def forward(self, x):
        h = F.pad(x, (self.left, 0))
        z = torch.tanh(self.filt(h)) * torch.sigmoid(self.gate(h))
        if self.res is None:
            return None, self.skip(z)
        out = self.res(z)
        if self.residual:
            out = out + x
        return out, self.skip(z)


class _TinyWaveNet(nn.Module):
    def __init__(self, c=24, skip=32, dilations=(1, 2, 4, 8, 1, 2, 4, 8)):
        super().__init__()
        n = len(dilations)
        self.blocks = nn.ModuleList([_WaveBlock(1 if i == 0 else c, c, skip, d, residual=i > 0, last=i == n - 1)
                                     for i, d in enumerate(dilations)])
        self.post = nn.Sequential(nn.GELU(), nn.Conv1d(skip, skip, 1), nn.GELU(), nn.Conv1d(skip, 1, 1))

    def forward(self, x):  # (B, 1, L)
        total = 0
        for blk in self.blocks:
            x, s = blk(x)
            total = total + s
        return self.post(total)


class _MPLayer(nn.Module):
    """Message passing on a fixed graph shared by the batch: x (B, N, d), edge_index (2, E)."""

    def __init__(self, d):
        super().__init__()
        self.msg = nn.Linear(2 * d, d)
        self.upd = nn.Linear(2 * d, d)

    def forward(self, h, edge_index):
        src, dst = edge_index
        m = F.relu(self.msg(torch.cat([h[:, dst], h[:, src]], dim=-1)))  # (B, E, d)
        agg = torch.zeros_like(h).index_add_(1, dst, m)
        deg = torch.zeros(h.shape[1]).index_add_(0, dst, torch.ones(dst.numel())).clamp(min=1)
        agg = agg / deg[None, :, None]
        return h + F.relu(self.upd(torch.cat([h, agg], dim=-1)))


class _DenseGCNLayer(nn.Module):
    """GCN on padded dense adjacency: D^-1/2 A D^-1/2 H W."""

    def __init__(self, din, dout):
        super().__init__()
        self.lin = nn.Linear(din, dout)

    def forward(self, h, adj):
        deg = adj.sum(-1)
        dinv = deg.pow(-0.5)
        norm = dinv[..., :, None] * adj * dinv[..., None, :]
        return norm @ self.lin(h)


class _VAE(nn.Module):
    def __init__(self, d=48, h=64, z=8):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, h), nn.ReLU())
        self.mu = nn.Linear(h, z)
        self.logvar = nn.Linear(h, z)
        self.dec = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, d))

    def forward(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec(z), mu, logvar


def _vae_data(n=32, d=48, k=6):
    # low-rank data, standardised per feature
    x = torch.randn(n, k) @ torch.randn(k, d) + 0.1 * torch.randn(n, d)
    return (x - x.mean(0)) / x.std(0)


class _PairEncoder(nn.Module):
    def __init__(self, emb=32):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Flatten())
        self.proj = nn.Linear(32 * 4 * 4, emb)

    def forward(self, x):  # (B, 1, 16, 16)
        return F.normalize(self.proj(self.features(x)), dim=1)  # unit-length embedding per sample


class _Top1MoE(nn.Module):
    """Switch-style top-1 routing: each token goes to its argmax expert, scaled by the gate probability."""

    def __init__(self, d=32, n_exp=4, hidden=64, gate_dim=-1):
        super().__init__()
        self.router = nn.Linear(d, n_exp)
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, d))
                                      for _ in range(n_exp)])
        self.gate_dim = gate_dim

    def forward(self, x):
        flat = x.reshape(-1, x.shape[-1])  # (B*T, d)
        probs = F.softmax(self.router(flat), dim=self.gate_dim)
        gate, idx = probs.max(dim=-1)
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            sel = idx == e
            if sel.any():
                out[sel] = gate[sel, None] * expert(flat[sel])
        return out.view_as(x)


class _MoENet(nn.Module):
    def __init__(self, gate_dim=-1, n_cls=4):
        super().__init__()
        self.inp = nn.Linear(12, 32)
        self.norm = nn.LayerNorm(32)
        self.moe = _Top1MoE(32, 4, 64, gate_dim)
        self.out_norm = nn.LayerNorm(32)
        self.head = nn.Linear(32, n_cls)

    def forward(self, x):  # (B, T, 12)
        h = self.inp(x)
        h = h + self.moe(self.norm(h))
        return self.head(self.out_norm(h).mean(1))


class _DETRDecoderLayer(nn.Module):
    """DETR decoder layer: learned query positions are added to the attention queries (and keys)."""

    def __init__(self, d, heads, ff):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ffn = nn.Sequential(nn.Linear(d, ff), nn.ReLU(), nn.Linear(ff, d))
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

    def forward(self, tgt, memory, query_pos, pos):
        q = tgt + query_pos
        tgt = self.norm1(tgt + self.self_attn(q, q, tgt, need_weights=False)[0])
        tgt = self.norm2(tgt + self.cross_attn(tgt + query_pos, memory + pos, memory, need_weights=False)[0])
        return self.norm3(tgt + self.ffn(tgt))


class _TinyDETR(nn.Module):
    def __init__(self, n_cls=5, n_queries=6, d=32):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
                                      nn.ReLU())
        self.input_proj = nn.Conv2d(32, d, 1)
        self.pos = nn.Parameter(torch.randn(1, 64, d) * 0.02)  # 8x8 feature map
        self.query_pos = nn.Embedding(n_queries, d)  # two-part learned queries (Deformable-DETR style):
        self.query_tgt = nn.Embedding(n_queries, d)  # position part and content part
        self.decoder = nn.ModuleList([_DETRDecoderLayer(d, 4, 64) for _ in range(2)])
        self.decoder_norm = nn.LayerNorm(d)
        self.class_head = nn.Linear(d, n_cls + 1)  # + "no object"
        self.box_head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, img):
        mem = self.input_proj(self.backbone(img)).flatten(2).transpose(1, 2)  # (B, 64, d)
        qp = self.query_pos.weight.unsqueeze(0).expand(img.shape[0], -1, -1)
        h = self.query_tgt.weight.unsqueeze(0).expand(img.shape[0], -1, -1)
        for layer in self.decoder:
            h = layer(h, mem, qp, self.pos)
        h = self.decoder_norm(h)
        return self.class_head(h), self.box_head(h).sigmoid()


def _detr_loss(no_object):
    def loss(out, target):
        logits, boxes = out
        labels, gt_boxes = target
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        obj = labels != no_object
        return ce + 5.0 * F.l1_loss(boxes[obj], gt_boxes[obj])
    return loss


class _ConvModule(nn.Module):
    def __init__(self, d, k=7):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.glu = nn.GLU(dim=1)
        self.dw = nn.Conv1d(d, d, k, padding=k // 2, groups=d, bias=False)
        self.bn = nn.BatchNorm1d(d)
        self.act = nn.SiLU()
        self.pw2 = nn.Conv1d(d, d, 1)

    def forward(self, x):  # (B, T, d)
        y = self.norm(x).transpose(1, 2)  # -> (B, d, T) for Conv1d
        y = self.pw2(self.act(self.bn(self.dw(self.glu(self.pw1(y))))))
        return y.transpose(1, 2)


def _ffn(d):
    return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Linear(4 * d, d))


class _ConformerBlock(nn.Module):
    def __init__(self, d=32, heads=4, conv_module=_ConvModule):
        super().__init__()
        self.ff1 = _ffn(d)
        self.attn_norm = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.conv_module = conv_module(d)
        self.ff2 = _ffn(d)
        self.final_norm = nn.LayerNorm(d)

    def forward(self, x):
        x = x + 0.5 * self.ff1(x)
        h = self.attn_norm(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.conv_module(x)
        x = x + 0.5 * self.ff2(x)
        return self.final_norm(x)


class _KeywordSpotter(nn.Module):
    def __init__(self, n_mels=20, d=32, n_cls=4, conv_module=_ConvModule):
        super().__init__()
        self.inp = nn.Linear(n_mels, d)
        self.block = _ConformerBlock(d, 4, conv_module)
        self.head = nn.Linear(d, n_cls)

    def forward(self, x):  # (B, T, n_mels)
        return self.head(self.block(self.inp(x)).mean(1))


class _FiLMBlock(nn.Module):
    def __init__(self, c, cond_dim):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c, affine=False)
        self.film = nn.Linear(cond_dim, 2 * c)

    def forward(self, x, cond):
        gamma, beta = self.film(cond).chunk(2, dim=-1)
        h = self.bn(self.conv(x))
        h = (1 + gamma[:, :, None, None]) * h + beta[:, :, None, None]
        return x + F.relu(h)


class _FiLMNet(nn.Module):
    def __init__(self, cond_dim=8, c=16, n_cls=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU())
        self.blocks = nn.ModuleList([_FiLMBlock(c, cond_dim), _FiLMBlock(c, cond_dim)])
        self.head = nn.Linear(c, n_cls)

    def forward(self, x, cond):
        h = self.stem(x)
        for blk in self.blocks:
            h = blk(h, cond)
        return self.head(h.mean((2, 3)))


class _AffineCoupling(nn.Module):
    """RealNVP affine coupling: y2 = x2 * exp(tanh(s(x1))) + t(x1)."""

    def __init__(self, d, hidden, flip):
        super().__init__()
        self.flip = flip
        self.net = nn.Sequential(nn.Linear(d // 2, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, d))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=-1)
        if self.flip:
            x1, x2 = x2, x1
        s, t = self.net(x1).chunk(2, dim=-1)
        s = torch.tanh(s)
        y2 = x2 * torch.exp(s) + t
        y = torch.cat([y2, x1], -1) if self.flip else torch.cat([x1, y2], -1)
        return y, s.sum(-1)


class _RealNVP(nn.Module):
    def __init__(self, d=8, hidden=32, n=4):
        super().__init__()
        self.couplings = nn.ModuleList([_AffineCoupling(d, hidden, flip=i % 2 == 1) for i in range(n)])

    def forward(self, x):
        logdet = torch.zeros(x.shape[0])
        for c in self.couplings:
            x, ld = c(x)
            logdet = logdet + ld
        return x, logdet


def _flow_nll(out, target=None):
    z, logdet = out
    log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)
    return -(log_pz + logdet).mean()


# ================================================================== ViT
@case
def ok_vit_patch_embed_cls_token_classifier_train():
    _seed()
    m = _TinyViT()
    return dict(model=m, inputs=torch.randn(16, 3, 16, 16), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def vit_port_cls_token_built_but_never_concatenated():
    # Bug: the CLS token (plus its position) is computed but never prepended; x[:, 0] is just the first
    # patch, and cls_token never receives a gradient.
    _seed()

    class ForgetfulPatchEmbed(_PatchEmbed):
        def forward(self, x):
            x = self.proj(x).flatten(2).transpose(1, 2)
            x = x + self.pos_embed[:, 1:]
            cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)  # noqa: F841
            return x  # should be torch.cat([cls, x], dim=1)

    m = _TinyViT(embed_cls=ForgetfulPatchEmbed)
    return dict(model=m, inputs=torch.randn(16, 3, 16, 16), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), expect=["no-gradient"], where=["embed"])


# ================================================================== U-Net
@case
def ok_unet_bilinear_up_concat_skips_pixel_ce():
    _seed()
    m = _UNet()
    return dict(model=m, inputs=torch.randn(4, 3, 32, 32), target=torch.randint(0, 3, (4, 32, 32)),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def unet_port_skip_cat_without_dim_argument():
    # Bug: torch.cat([up, skip]) defaults to dim=0, stacking the skip onto the batch instead of the
    # channels; the decoder conv then receives half the channels it was built for.
    _seed()

    class UNetTransposed(nn.Module):
        def __init__(self, c=16, n_cls=3):
            super().__init__()
            self.enc1 = _double_conv(3, c)
            self.enc2 = _double_conv(c, 2 * c)
            self.pool = nn.MaxPool2d(2)
            self.up = nn.ConvTranspose2d(2 * c, c, 2, stride=2)
            self.dec1 = _double_conv(2 * c, c)
            self.out = nn.Conv2d(c, n_cls, 1)

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(self.pool(e1))
            d1 = self.dec1(torch.cat([self.up(e2), e1]))  # should be dim=1
            return self.out(d1)

    m = UNetTransposed()
    return dict(model=m, inputs=torch.randn(4, 3, 32, 32), target=torch.randint(0, 3, (4, 32, 32)),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"])


@case
def unet_batchnorm_trained_on_one_tile_at_a_time():
    # Bug: the BatchNorm U-Net is trained with batch size 1 (one large tile per step), in train mode.
    _seed()
    m = _UNet().train()
    return dict(model=m, inputs=torch.randn(1, 3, 32, 32), target=torch.randint(0, 3, (1, 32, 32)),
                loss=nn.CrossEntropyLoss(), expect=["train-eval-mode"])


# ================================================================== MLP-Mixer
@case
def ok_mlp_mixer_token_and_channel_mixing_adamw():
    _seed()
    m = _TinyMixer()
    return dict(model=m, inputs=torch.randn(32, 3, 16, 16), target=_balanced(32, 4),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.AdamW(m.parameters(), lr=2e-3),
                steps=20, expect=[])


@case
def mlp_mixer_token_mlp_missing_gelu():
    # Bug: the token-mixing MLP was written as Linear -> Linear (GELU forgotten), so it is one linear map.
    _seed()
    m = _TinyMixer(forget_gelu=True)
    return dict(model=m, inputs=torch.randn(32, 3, 16, 16), target=_balanced(32, 4),
                loss=nn.CrossEntropyLoss(), expect=["missing-nonlinearity"],
                where=["blocks.0.token_mlp", "blocks.1.token_mlp"])


@case
def mlp_mixer_adam_lr_one_instead_of_1e3():
    # Bug: Adam with lr=1.0 (meant 1e-3): the loss on one batch blows up instead of going down.
    _seed()
    m = _TinyMixer()
    return dict(model=m, inputs=torch.randn(32, 3, 16, 16), target=_balanced(32, 4),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.Adam(m.parameters(), lr=1.0),
                steps=20, expect=["lr-too-high"])


# ================================================================== ConvNeXt
@case
def ok_convnext_depthwise_channels_last_layernorm_blocks():
    _seed()
    m = _TinyConvNeXt()
    return dict(model=m, inputs=torch.randn(8, 3, 32, 32), target=_balanced(8, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def convnext_channels_first_layernorm_averages_over_batch():
    # Bug: the hand-written channels_first LayerNorm takes mean/var over dim 0 (the batch) instead of
    # dim 1 (channels), so every image is normalised with the other images' statistics.
    _seed()

    class BatchAxisLayerNorm2d(_LayerNorm2d):
        def forward(self, x):
            u = x.mean(0, keepdim=True)
            s = (x - u).pow(2).mean(0, keepdim=True)
            x = (x - u) / torch.sqrt(s + self.eps)
            return self.weight[:, None, None] * x + self.bias[:, None, None]

    m = _TinyConvNeXt(norm2d=BatchAxisLayerNorm2d)
    return dict(model=m, inputs=torch.randn(8, 3, 32, 32), target=_balanced(8, 4),
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing"], where=["stem", "downsample"])


# ================================================================== WaveNet
@case
def ok_wavenet_gated_dilated_causal_next_sample_regression():
    _seed()
    t = torch.arange(65).float()
    freq = 0.05 + 0.25 * torch.rand(8, 1)
    phase = 2 * math.pi * torch.rand(8, 1)
    sig = torch.sin(freq * t + phase) + 0.1 * torch.randn(8, 65)
    sig = (sig / sig.std()).unsqueeze(1)  # (8, 1, 65)
    m = _TinyWaveNet()
    return dict(model=m, inputs=sig[..., :-1], target=sig[..., 1:], loss=nn.MSELoss(), expect=[])


@case
def wavenet_causal_padding_on_both_sides_not_chomped():
    # Bug: Conv1d(padding=(k-1)*d) pads both ends and the extra right-hand samples are never trimmed
    # (no Chomp1d), so the output is longer than the residual input.
    _seed()

    class SymPadBlock(nn.Module):
        def __init__(self, c, d):
            super().__init__()
            self.filt = nn.Conv1d(c, c, 2, dilation=d, padding=d)
            self.gate = nn.Conv1d(c, c, 2, dilation=d, padding=d)
            self.res = nn.Conv1d(c, c, 1)

        def forward(self, x):
            z = torch.tanh(self.filt(x)) * torch.sigmoid(self.gate(x))
            return x + self.res(z)

    class Net(nn.Module):
        def __init__(self, c=16):
            super().__init__()
            self.start = nn.Conv1d(1, c, 1)
            self.blocks = nn.Sequential(*[SymPadBlock(c, d) for d in (1, 2, 4, 8)])
            self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(c, 1, 1))

        def forward(self, x):
            return self.out(self.blocks(self.start(x)))

    x = torch.randn(8, 1, 65)
    return dict(model=Net(), inputs=x[..., :-1], target=x[..., 1:], loss=nn.MSELoss(),
                expect=["shape-mismatch"], where=["blocks.0"])


# ================================================================== PointNet
@case
def ok_pointnet_shared_mlp_maxpool_over_points():
    _seed()

    class PointNetCls(nn.Module):
        def __init__(self, n_cls=4):
            super().__init__()
            self.mlp = nn.Sequential(nn.Conv1d(3, 32, 1, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
                                     nn.Conv1d(32, 64, 1, bias=False), nn.BatchNorm1d(64), nn.ReLU(),
                                     nn.Conv1d(64, 128, 1, bias=False), nn.BatchNorm1d(128), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(128, 64), nn.GELU(), nn.Linear(64, n_cls))

        def forward(self, pts):  # (B, N, 3)
            f = self.mlp(pts.transpose(1, 2))  # (B, 128, N)
            return self.head(f.max(dim=2).values)  # symmetric pooling over the points

    pts = torch.randn(16, 128, 3)
    pts = pts / pts.norm(dim=-1).max(dim=1).values[:, None, None]  # unit sphere per cloud
    return dict(model=PointNetCls(), inputs=pts, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def pointnet_segmentation_global_feature_max_over_batch():
    # Bug: the global feature is max-pooled over dim 0 (the clouds in the batch) instead of dim 2 (the
    # points), then expanded back, so each cloud's per-point labels depend on the other clouds.
    _seed()

    class SegEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.local = nn.Sequential(nn.Conv1d(3, 32, 1), nn.ReLU(), nn.Conv1d(32, 64, 1), nn.ReLU())
            self.glob = nn.Sequential(nn.Conv1d(64, 128, 1), nn.ReLU())

        def forward(self, pts):  # (B, N, 3)
            loc = self.local(pts.transpose(1, 2))  # (B, 64, N)
            g = self.glob(loc).max(dim=0, keepdim=True).values  # should be dim=2 -> (B, 128, 1)
            g = g.expand(pts.shape[0], -1, pts.shape[1])
            return torch.cat([loc, g], dim=1)

    class PointNetSeg(nn.Module):
        def __init__(self, n_parts=4):
            super().__init__()
            self.encoder = SegEncoder()
            self.seg_head = nn.Sequential(nn.Conv1d(192, 64, 1), nn.ReLU(), nn.Conv1d(64, n_parts, 1))

        def forward(self, pts):
            return self.seg_head(self.encoder(pts))  # (B, parts, N)

    pts = torch.randn(8, 64, 3) * 0.5
    return dict(model=PointNetSeg(), inputs=pts, target=torch.randint(0, 4, (8, 64)),
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing"], where=["encoder"])


# ================================================================== GNN
@case
def ok_message_passing_index_add_fixed_sensor_graph_adam():
    _seed()

    class MPNN(nn.Module):
        def __init__(self, din=6, d=32):
            super().__init__()
            self.inp = nn.Linear(din, d)
            self.layers = nn.ModuleList([_MPLayer(d), _MPLayer(d)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, 1)

        def forward(self, x, edge_index):
            h = F.relu(self.inp(x))
            for layer in self.layers:
                h = layer(h, edge_index)
            return self.head(self.norm(h).mean(1))  # one value per graph snapshot

    n = 12
    ring = torch.arange(n)
    src = torch.cat([ring, (ring + 1) % n, ring, (ring + 5) % n])
    dst = torch.cat([(ring + 1) % n, ring, (ring + 5) % n, ring])
    edge_index = torch.stack([src, dst])
    x = torch.randn(16, n, 6)
    y = x[..., 0].mean(1, keepdim=True) * 3 + 0.1 * torch.randn(16, 1)
    m = MPNN()
    return dict(model=m, inputs=(x, edge_index), target=(y - y.mean()) / y.std(), loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def gcn_padded_graphs_zero_degree_normalisation():
    # Bug: graphs are zero-padded to 10 nodes and the GCN normalisation deg**-0.5 has no self-loops,
    # so padded nodes have degree 0 -> inf, and inf * 0 in D^-1/2 A D^-1/2 gives NaN.
    _seed()

    class GCN(nn.Module):
        def __init__(self, din=5, d=32, n_cls=3):
            super().__init__()
            self.convs = nn.ModuleList([_DenseGCNLayer(din, d), _DenseGCNLayer(d, d)])
            self.head = nn.Linear(d, n_cls)

        def forward(self, x, adj):
            h = F.relu(self.convs[0](x, adj))
            h = F.relu(self.convs[1](h, adj))
            return self.head(h.mean(1))

    n_max, sizes = 10, [10, 7, 8, 6, 9, 10, 5, 8, 7, 9, 6, 10]
    x = torch.zeros(len(sizes), n_max, 5)
    adj = torch.zeros(len(sizes), n_max, n_max)
    for b, n in enumerate(sizes):
        x[b, :n] = torch.randn(n, 5)
        a = (torch.rand(n, n) < 0.4).float()
        a = torch.triu(a, 1)
        a = a + a.T
        idx = torch.arange(n)
        a[idx, (idx + 1) % n] = 1.0  # ring so real nodes are connected
        a[(idx + 1) % n, idx] = 1.0
        adj[b, :n, :n] = a
    return dict(model=GCN(), inputs=(x, adj), target=_balanced(len(sizes), 3), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-created"], where=["convs.0"])


# ================================================================== Perceiver
class _Perceiver(nn.Module):
    def __init__(self, din=16, n_lat=8, d=32, n_cls=4):
        super().__init__()
        self.latents = nn.Parameter(torch.randn(n_lat, d) * 0.02)
        self._build(din, d, n_cls)

    def _build(self, din, d, n_cls):
        self.in_norm = nn.LayerNorm(din)
        self.lat_norm = nn.LayerNorm(d)
        self.cross = nn.MultiheadAttention(d, 1, kdim=din, vdim=din, batch_first=True)
        self.cross_ff = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.latent_block = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, activation="gelu",
                                                       batch_first=True, norm_first=True)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_cls)

    def forward(self, x):  # (B, M, din) byte array
        lat = self.latents.unsqueeze(0).expand(x.shape[0], -1, -1)
        kv = self.in_norm(x)
        lat = lat + self.cross(self.lat_norm(lat), kv, kv, need_weights=False)[0]
        lat = lat + self.cross_ff(lat)
        lat = self.latent_block(lat)
        return self.head(self.norm(lat.mean(1)))


@case
def ok_perceiver_learned_latents_cross_attend_to_inputs():
    _seed()
    return dict(model=_Perceiver(), inputs=torch.randn(16, 40, 16), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def perceiver_latent_array_plain_tensor_not_parameter():
    # Bug: the learned latent array is a plain tensor with requires_grad=True, not an nn.Parameter,
    # so it is invisible to model.parameters() and the optimizer never updates it.
    _seed()

    class PlainLatentPerceiver(_Perceiver):
        def __init__(self, din=16, n_lat=8, d=32, n_cls=4):
            nn.Module.__init__(self)
            self.latents = torch.randn(n_lat, d, requires_grad=True)  # should be nn.Parameter
            self._build(din, d, n_cls)

    m = PlainLatentPerceiver()
    return dict(model=m, inputs=torch.randn(16, 40, 16), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.Adam(m.parameters(), lr=1e-3),
                steps=10, expect=["untrained-parameter"])


# ================================================================== VAE
@case
def ok_vae_reparameterised_gaussian_elbo_adam():
    _seed()
    m = _VAE()

    def elbo(out, x):
        recon, mu, logvar = out
        rec = F.mse_loss(recon, x, reduction="sum") / x.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        return rec + kl

    x = _vae_data()
    return dict(model=m, inputs=x, target=x, loss=elbo,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def vae_sigma_head_fed_to_log_in_kl():
    # Bug: the encoder's second head is a raw Linear read as sigma, and the KL term takes log(sigma);
    # half of the sigmas are negative, so the loss is NaN.
    _seed()

    class SigmaVAE(_VAE):
        def forward(self, x):
            h = self.enc(x)
            mu, sigma = self.mu(h), self.logvar(h)  # no exp/softplus: sigma can be negative
            z = mu + sigma * torch.randn_like(mu)
            return self.dec(z), mu, sigma

    def elbo(out, x):
        recon, mu, sigma = out
        rec = F.mse_loss(recon, x, reduction="sum") / x.shape[0]
        kl = torch.sum(-torch.log(sigma) + 0.5 * (sigma.pow(2) + mu.pow(2)) - 0.5) / x.shape[0]
        return rec + kl

    x = _vae_data()
    return dict(model=SigmaVAE(), inputs=x, target=x, loss=elbo, expect=["nonfinite-created"],
                where=["loss"])


# ================================================================== Siamese
class _Siamese(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, a, b):
        ea, eb = self.encoder(a), self.encoder(b)  # shared weights
        return 5.0 * (ea * eb).sum(1, keepdim=True)  # scaled cosine similarity as a logit


@case
def ok_siamese_shared_cnn_cosine_pair_verifier():
    _seed()
    a, b = _smooth_images(16, 1, 16), _smooth_images(16, 1, 16)
    return dict(model=_Siamese(_PairEncoder()), inputs=(a, b), target=_balanced(16, 2).float()[:, None],
                loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def siamese_embedding_l2_normalised_over_batch_axis():
    # Bug: embeddings are divided by their norm over dim 0 (across the batch) instead of dim 1, so each
    # pair's similarity depends on the other pairs in the batch.
    _seed()

    class BatchNormalisedEncoder(_PairEncoder):
        def forward(self, x):
            e = self.proj(self.features(x))
            return e / e.norm(dim=0, keepdim=True)

    a, b = _smooth_images(16, 1, 16), _smooth_images(16, 1, 16)
    return dict(model=_Siamese(BatchNormalisedEncoder()), inputs=(a, b),
                target=_balanced(16, 2).float()[:, None], loss=nn.BCEWithLogitsLoss(),
                expect=["batch-mixing"], where=["encoder"])


# ================================================================== Mixture of experts
@case
def ok_switch_moe_top1_token_routing():
    _seed()
    return dict(model=_MoENet(), inputs=torch.randn(8, 16, 12), target=_balanced(8, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def tabular_top1_moe_router_softmax_over_batch():
    # Bug: the router's softmax is taken over dim 0 (the samples of the batch) instead of dim -1 (the
    # experts), so each sample's gate value depends on every other sample in the batch.
    _seed()

    class TabularMoE(nn.Module):
        def __init__(self, n_cls=4):
            super().__init__()
            self.inp = nn.Linear(12, 32)
            self.moe = _Top1MoE(32, 4, 64, gate_dim=0)  # F.softmax(router(x), dim=0) inside
            self.head = nn.Linear(32, n_cls)

        def forward(self, x):  # (B, 12)
            h = F.gelu(self.inp(x))
            return self.head(self.moe(h))

    return dict(model=TabularMoE(), inputs=torch.randn(16, 12), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), expect=["softmax-wrong-dim", "batch-mixing"], where=["moe"])


# ================================================================== DETR
@case
def ok_detr_learned_queries_fixed_assignment_loss():
    _seed()
    n_cls, q = 5, 6
    labels = torch.stack([torch.randperm(q) for _ in range(8)])  # 0..4 objects, 5 = no-object, balanced
    boxes = torch.rand(8, q, 4)
    return dict(model=_TinyDETR(n_cls, q), inputs=_smooth_images(8, 3, 32), target=(labels, boxes),
                loss=_detr_loss(no_object=n_cls), expect=[])


@case
def detr_no_object_label_one_past_the_logits():
    # Bug: unmatched queries are labelled num_classes + 1 = 6, but the class head has num_classes + 1 = 6
    # logits (indices 0..5): "no object" must be index 5.
    _seed()
    n_cls, q = 5, 6
    no_obj = n_cls + 1
    labels = torch.stack([torch.randperm(q) for _ in range(8)])
    labels[labels == n_cls] = no_obj
    boxes = torch.rand(8, q, 4)
    return dict(model=_TinyDETR(n_cls, q), inputs=_smooth_images(8, 3, 32), target=(labels, boxes),
                loss=_detr_loss(no_object=no_obj), expect=["wrong-target"], where=["target", "loss"])


# ================================================================== Conformer
@case
def ok_conformer_block_keyword_classifier_macaron_ffn():
    _seed()
    return dict(model=_KeywordSpotter(), inputs=torch.randn(8, 25, 20), target=_balanced(8, 4),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def conformer_conv_module_forgets_time_channel_transpose():
    # Bug: the convolution module feeds the (B, T, d) LayerNorm output straight into Conv1d, which wants
    # (B, d, T): the pointwise conv reads the 25 time steps as channels.
    _seed()

    class NoTransposeConvModule(_ConvModule):
        def forward(self, x):
            y = self.norm(x)  # missing .transpose(1, 2)
            y = self.pw2(self.act(self.bn(self.dw(self.glu(self.pw1(y))))))
            return y

    m = _KeywordSpotter(conv_module=NoTransposeConvModule)
    return dict(model=m, inputs=torch.randn(8, 25, 20), target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["block.conv_module"])


# ================================================================== FiLM
@case
def ok_film_conditioned_residual_cnn_dict_inputs():
    _seed()
    inputs = {"x": torch.randn(16, 3, 16, 16), "cond": torch.randn(16, 8)}
    return dict(model=_FiLMNet(), inputs=inputs, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def film_generator_given_int64_condition_column():
    # Bug: the conditioning value (a noise level 0..3 read from a dataframe) arrives as int64 and goes
    # straight into the FiLM generator's nn.Linear.
    _seed()
    inputs = {"x": torch.randn(16, 3, 16, 16), "cond": torch.randint(0, 4, (16, 1))}
    return dict(model=_FiLMNet(cond_dim=1), inputs=inputs, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["input", "blocks.0.film", "blocks.0"])


# ================================================================== normalising flow
@case
def ok_realnvp_affine_coupling_tanh_scale_nll_adam():
    _seed()
    z = torch.randn(64, 8)
    mix = torch.randn(8, 8) / math.sqrt(8)
    x = torch.tanh(z @ mix) + 0.3 * z  # non-Gaussian but standardised below
    x = (x - x.mean(0)) / x.std(0)
    m = _RealNVP()
    return dict(model=m, inputs=x, loss=_flow_nll, optimizer=torch.optim.Adam(m.parameters(), lr=3e-3),
                steps=20, expect=[])


@case
def realnvp_trained_on_raw_unstandardised_sensor_readings():
    # Bug: the flow is fit to raw sensor columns (temperatures in K, pressures in Pa, ...) never
    # standardised; the coupling nets receive values in the thousands and tanh(s) pins at +-1.
    _seed()
    scale = torch.tensor([300.0, 1.0e5, 50.0, 2.0e3, 800.0, 1.2e4, 60.0, 5.0e2])
    x = scale * (1.0 + 0.1 * torch.randn(64, 8))
    m = _RealNVP()
    return dict(model=m, inputs=x, loss=_flow_nll, expect=["unnormalized-input", "saturated-activation"])
