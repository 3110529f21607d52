"""Blind batch 39 (seventh session): faithful small versions of modern architectures with their real
initialisation tricks (ConvNeXt layer scale, torchvision fan-out init, zero-initialised diffusion UNet
convs, frozen batch norm, RetinaNet prior bias, ...), written by a helper that never read the rules, to
hunt false alarms; and eight subtle bugs inside the same designs. It found four false alarms (NBD201,
NBD202/NBD240, NBD291) and a misplaced NBD210. Same format as cases.py, with its shared building blocks.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=3939): torch.manual_seed(s)

from torch.utils.checkpoint import checkpoint
from torch.nn.utils.parametrizations import weight_norm, spectral_norm


def _balanced(n, k):
    return (torch.arange(n) % k)[torch.randperm(n)]


# ====================================================================== shared building blocks
# ---- ConvNeXt
class LayerNorm2d(nn.LayerNorm):
    """Channels-first LayerNorm as in ConvNeXt (normalise over C via a channels-last permute)."""
    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, layer_scale_init=1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init * torch.ones(dim))

    def forward(self, x):
        shortcut = x
        x = self.dwconv(x).permute(0, 2, 3, 1)          # N, H, W, C
        x = self.pwconv2(self.act(self.pwconv1(self.norm(x))))
        x = self.gamma * x
        return shortcut + x.permute(0, 3, 1, 2)


class TinyConvNeXt(nn.Module):
    def __init__(self, dim=32, depth=2, n_classes=4, layer_scale_init=1e-6):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dim, 4, stride=4), LayerNorm2d(dim, eps=1e-6))
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim, layer_scale_init) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, n_classes)
        for m in self.modules():                      # ConvNeXt's own init
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(self.norm(x.mean((-2, -1))))


# ---- EfficientNet MBConv
class SqueezeExcite(nn.Module):
    def __init__(self, ch, squeeze_ch):
        super().__init__()
        self.fc1 = nn.Conv2d(ch, squeeze_ch, 1)
        self.act = nn.SiLU()
        self.fc2 = nn.Conv2d(squeeze_ch, ch, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))


class SqueezeExciteSoftmax(SqueezeExcite):
    def __init__(self, ch, squeeze_ch):
        super().__init__(ch, squeeze_ch)
        # BUG: gates "normalised" with a softmax over dim 0 of the (B, C, 1, 1) squeeze -- the batch axis
        self.gate = nn.Softmax(dim=0)


class MBConv(nn.Module):
    def __init__(self, cin, cout, expand, stride, se_cls=SqueezeExcite):
        super().__init__()
        hid = cin * expand
        self.expand = nn.Sequential(nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.SiLU())
        self.dw = nn.Sequential(nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
                                nn.BatchNorm2d(hid), nn.SiLU())
        self.se = se_cls(hid, max(1, cin // 4))
        self.project = nn.Sequential(nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))  # linear bottleneck
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        h = self.project(self.se(self.dw(self.expand(x))))
        return x + h if self.use_res else h


class TinyEfficientNet(nn.Module):
    def __init__(self, n_classes=4, se_cls=SqueezeExcite):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU())
        self.blocks = nn.Sequential(MBConv(16, 16, 4, 1, se_cls), MBConv(16, 24, 4, 2, se_cls))
        self.head = nn.Sequential(nn.Conv2d(24, 64, 1, bias=False), nn.BatchNorm2d(64), nn.SiLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, n_classes))
        for m in self.modules():                      # torchvision EfficientNet init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                r = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


# ---- Swin window attention
def window_partition(x, ws):
    B, H, W, C = x.shape
    x = x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, C)


def window_reverse(windows, ws, B, H, W):
    C = windows.shape[-1]
    x = windows.view(B, H // ws, W // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H, W, C)


def window_reverse_window_major(windows, ws, B, H, W):
    # BUG: assumes the window index is the outer axis and the batch the inner one, but
    # window_partition put the batch outermost -> windows of different images get stitched together
    C = windows.shape[-1]
    x = windows.view(H // ws, W // ws, B, ws, ws, C).permute(2, 0, 3, 1, 4, 5)
    return x.reshape(B, H, W, C)


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.rel_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        nn.init.trunc_normal_(self.rel_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer("rel_index", rel[..., 0] * (2 * ws - 1) + rel[..., 1], persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        Bw, N, C = x.shape
        q, k, v = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.rel_bias_table[self.rel_index.view(-1)].view(N, N, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(Bw // nW, nW, self.heads, N, N) + mask[None, :, None]
            attn = attn.view(Bw, self.heads, N, N)
        attn = attn.softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(Bw, N, C))


class SwinBlock(nn.Module):
    def __init__(self, dim, res, heads, ws, shift, reverse_fn=window_reverse):
        super().__init__()
        self.res, self.ws, self.shift, self.reverse_fn = res, ws, shift, reverse_fn
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        if shift:
            H, W = res
            img = torch.zeros(1, H, W, 1)
            cnt = 0
            for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img[:, hs, wsl, :] = cnt
                    cnt += 1
            mw = window_partition(img, ws).squeeze(-1)
            am = mw.unsqueeze(1) - mw.unsqueeze(2)
            self.register_buffer("attn_mask", am.masked_fill(am != 0, -100.0), persistent=False)
        else:
            self.attn_mask = None

    def forward(self, x):
        B, L, C = x.shape
        H, W = self.res
        shortcut = x
        x = self.norm1(x).view(B, H, W, C)
        if self.shift:
            x = torch.roll(x, (-self.shift, -self.shift), dims=(1, 2))
        win = self.attn(window_partition(x, self.ws), self.attn_mask)
        x = self.reverse_fn(win, self.ws, B, H, W)
        if self.shift:
            x = torch.roll(x, (self.shift, self.shift), dims=(1, 2))
        x = shortcut + x.reshape(B, L, C)
        return x + self.mlp(self.norm2(x))


class TinySwin(nn.Module):
    def __init__(self, dim=32, n_classes=4, reverse_fn=window_reverse):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, 4, 4)
        self.patch_norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList([SwinBlock(dim, (8, 8), 2, 4, 0, reverse_fn),
                                     SwinBlock(dim, (8, 8), 2, 4, 2, reverse_fn)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_norm(self.patch_embed(x).flatten(2).transpose(1, 2))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x).mean(1))


# ---- causal conv / TCN
class CausalConv1d(nn.Conv1d):
    def __init__(self, cin, cout, k, dilation=1):
        super().__init__(cin, cout, k, dilation=dilation)
        self.left = (k - 1) * dilation

    def forward(self, x):
        return super().forward(F.pad(x, (self.left, 0)))


class TemporalBlock(nn.Module):
    def __init__(self, cin, cout, dilation, k=3, use_weight_norm=True):
        super().__init__()
        wn = weight_norm if use_weight_norm else (lambda m: m)
        self.conv1 = wn(CausalConv1d(cin, cout, k, dilation))
        self.conv2 = wn(CausalConv1d(cout, cout, k, dilation))
        self.drop = nn.Dropout(0.1)
        self.downsample = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.drop(F.relu(self.conv1(x)))
        h = self.drop(F.relu(self.conv2(h)))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(h + res)


class TCNQuantileForecaster(nn.Module):
    def __init__(self, use_weight_norm=True, n_quantiles=3):
        super().__init__()
        self.blocks = nn.Sequential(TemporalBlock(1, 32, 1, use_weight_norm=use_weight_norm),
                                    TemporalBlock(32, 32, 2, use_weight_norm=use_weight_norm),
                                    TemporalBlock(32, 32, 4, use_weight_norm=use_weight_norm))
        self.head = nn.Linear(32, n_quantiles)

    def forward(self, x):
        return self.head(self.blocks(x)[:, :, -1])


def _series(B=32, T=48):
    t = torch.arange(T + 1).float()
    phase = torch.rand(B, 1) * 2 * math.pi
    freq = 0.15 + 0.1 * torch.rand(B, 1)
    s = torch.sin(freq * t + phase) + 0.1 * torch.randn(B, T + 1)
    s = (s - s.mean()) / s.std()
    return s[:, None, :T], s[:, T:T + 1]


def pinball_loss(pred, y, quantiles=(0.1, 0.5, 0.9)):
    q = torch.tensor(quantiles, device=pred.device)
    e = y - pred                                            # (B, 1) - (B, Q)
    return torch.maximum(q * e, (q - 1) * e).mean()


# ---- Conformer
class ConformerConvModule(nn.Module):
    def __init__(self, d, k=15, glu_dim=1):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.glu = nn.GLU(dim=glu_dim)
        self.dw = nn.Conv1d(d, d, k, padding=k // 2, groups=d)
        self.bn = nn.BatchNorm1d(d)
        self.act = nn.SiLU()
        self.pw2 = nn.Conv1d(d, d, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):                                      # (B, T, d)
        h = self.glu(self.pw1(self.ln(x).transpose(1, 2)))
        h = self.act(self.bn(self.dw(h)))
        return self.drop(self.pw2(h)).transpose(1, 2)


def _ffn_module(d):
    return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.SiLU(), nn.Dropout(0.1),
                         nn.Linear(4 * d, d), nn.Dropout(0.1))


class ConformerBlock(nn.Module):
    def __init__(self, d, heads, glu_dim=1):
        super().__init__()
        self.ff1 = _ffn_module(d)
        self.mhsa_ln = nn.LayerNorm(d)
        self.mhsa = nn.MultiheadAttention(d, heads, dropout=0.1, batch_first=True)
        self.mhsa_drop = nn.Dropout(0.1)
        self.conv_module = ConformerConvModule(d, glu_dim=glu_dim)
        self.ff2 = _ffn_module(d)
        self.final_ln = nn.LayerNorm(d)

    def forward(self, x):
        x = x + 0.5 * self.ff1(x)                                 # macaron half-step FFN
        h = self.mhsa_ln(x)
        x = x + self.mhsa_drop(self.mhsa(h, h, h, need_weights=False)[0])
        x = x + self.conv_module(x)
        x = x + 0.5 * self.ff2(x)
        return self.final_ln(x)


class ConformerKeywordSpotter(nn.Module):
    def __init__(self, n_mels=80, d=64, n_classes=6, glu_dim=1):
        super().__init__()
        self.input_proj = nn.Linear(n_mels, d)
        self.block = ConformerBlock(d, 4, glu_dim)
        self.head = nn.Linear(d, n_classes)

    def forward(self, x):
        return self.head(self.block(self.input_proj(x)).mean(1))


# ---- DeepFM
class DeepFM(nn.Module):
    def __init__(self, field_dims=(100, 50, 20, 1000, 10, 300), n_dense=4, k=8):
        super().__init__()
        self.register_buffer("offsets", torch.tensor((0, *field_dims[:-1])).cumsum(0), persistent=False)
        n = sum(field_dims)
        self.embedding = nn.Embedding(n, k)
        self.first_order = nn.Embedding(n, 1)
        self.dense_linear = nn.Linear(n_dense, 1)
        self.deep = nn.Sequential(nn.Linear(len(field_dims) * k + n_dense, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))
        nn.init.normal_(self.embedding.weight, std=1e-4)     # DeepCTR default init_std
        nn.init.normal_(self.first_order.weight, std=1e-4)

    def forward(self, cat, dense):
        idx = cat + self.offsets
        e = self.embedding(idx)                              # (B, F, k)
        fm1 = self.first_order(idx).sum((1, 2)) + self.dense_linear(dense).squeeze(-1)
        fm2 = 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)
        deep = self.deep(torch.cat([e.flatten(1), dense], 1)).squeeze(-1)
        return fm1 + fm2 + deep


def _ctr_categoricals(B, field_dims=(100, 50, 20, 1000, 10, 300)):
    return torch.stack([torch.randint(0, d, (B,)) for d in field_dims], 1)


# ====================================================================== healthy cases
@case
def ok_convnext_tiny_layer_scale_1e6_trunc_normal():
    # Faithful ConvNeXt: patchify stem, depthwise 7x7, channels-last LayerNorm, GELU,
    # layer-scale gamma = 1e-6, trunc_normal(std=0.02) init.
    _seed()
    m = TinyConvNeXt()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_efficientnet_mbconv_se_fan_out_init_adam():
    # MBConv (expand -> depthwise -> squeeze-excite -> linear projection) with torchvision's init:
    # kaiming fan_out for convs, uniform(+-1/sqrt(out)) for the classifier.
    _seed()
    m = TinyEfficientNet()
    x = torch.randn(16, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_swin_shifted_window_relative_position_bias():
    # Two Swin blocks (regular + shifted windows with the -100 attention mask), relative
    # position bias table, trunc_normal(0.02) linears.
    _seed()
    m = TinySwin()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_wavenet_gated_dilated_next_sample_classes():
    # WaveNet: causal dilated convs, tanh(f)*sigmoid(g) gates, residual + skip 1x1 convs,
    # categorical next-sample prediction over quantisation bins (teacher forcing).
    _seed()
    Q = 64

    class ResidualLayer(nn.Module):
        def __init__(self, ch, skip_ch, dilation, last=False):
            super().__init__()
            self.dilated = CausalConv1d(ch, 2 * ch, 2, dilation)
            self.res = None if last else nn.Conv1d(ch, ch, 1)      # last layer only feeds the skips
            self.skip = nn.Conv1d(ch, skip_ch, 1)

        def forward(self, x):
            f, g = self.dilated(x).chunk(2, 1)
            z = torch.tanh(f) * torch.sigmoid(g)
            return (x if self.res is None else x + self.res(z)), self.skip(z)

    class WaveNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.causal = CausalConv1d(1, 32, 2)
            dil = (1, 2, 4, 8, 1, 2, 4, 8)
            self.layers = nn.ModuleList([ResidualLayer(32, 64, d, last=i == len(dil) - 1) for i, d in enumerate(dil)])
            self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(64, 64, 1), nn.ReLU(), nn.Conv1d(64, Q, 1))

        def forward(self, x):
            h = self.causal(x)
            skips = 0
            for layer in self.layers:
                h, s = layer(h)
                skips = skips + s
            return self.out(skips)                              # (B, Q, T)

    classes = torch.randint(0, Q, (4, 129))
    x = (classes[:, None, :-1].float() + 0.5) / Q * 2 - 1      # dequantised previous samples in [-1, 1]
    y = classes[:, 1:]
    return dict(model=WaveNet(), inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_nerf_positional_encoding_volume_render():
    # NeRF: sin/cos positional encoding up to 2^9, 4x128 MLP with a skip concat, softplus density,
    # linear feature layer + view-direction branch, sigmoid colour, alpha compositing along rays.
    _seed()

    def posenc(x, L):
        xb = x[..., None] * (2.0 ** torch.arange(L, dtype=x.dtype))
        return torch.cat([x, torch.sin(xb).flatten(-2), torch.cos(xb).flatten(-2)], -1)

    class TinyNeRF(nn.Module):
        def __init__(self, n_samples=16):
            super().__init__()
            self.n_samples = n_samples
            self.pts = nn.ModuleList([nn.Linear(63, 128), nn.Linear(128, 128),
                                      nn.Linear(128 + 63, 128), nn.Linear(128, 128)])
            self.sigma = nn.Linear(128, 1)
            self.feature = nn.Linear(128, 128)
            self.rgb = nn.Sequential(nn.Linear(128 + 27, 64), nn.ReLU(), nn.Linear(64, 3), nn.Sigmoid())

        def forward(self, rays_o, rays_d):
            t = torch.linspace(2.0, 6.0, self.n_samples)
            pts = rays_o[:, None, :] + rays_d[:, None, :] * t[None, :, None]       # (B, S, 3)
            enc = posenc(pts, 10)
            h = enc
            for i, layer in enumerate(self.pts):
                if i == 2:
                    h = torch.cat([h, enc], -1)
                h = F.relu(layer(h))
            sigma = F.softplus(self.sigma(h) - 1.0).squeeze(-1)       # mip-NeRF's shifted softplus density
            dirs = posenc(rays_d, 4)[:, None, :].expand(-1, self.n_samples, -1)
            rgb = self.rgb(torch.cat([self.feature(h), dirs], -1))
            delta = torch.cat([t[1:] - t[:-1], torch.tensor([1e10])])
            alpha = 1 - torch.exp(-sigma * delta)
            trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha + 1e-10], -1), -1)[:, :-1]
            return ((alpha * trans)[..., None] * rgb).sum(1)

    B = 32
    rays_o = 4.0 * F.normalize(torch.randn(B, 3), dim=-1)
    rays_d = F.normalize(-rays_o / 4.0 + 0.3 * torch.randn(B, 3), dim=-1)
    return dict(model=TinyNeRF(), inputs=(rays_o, rays_d), target=torch.rand(B, 3), loss=nn.MSELoss(), expect=[])


@case
def ok_adm_unet_zero_module_timestep_embedding():
    # Improved-DDPM/ADM style epsilon predictor: sinusoidal timestep embedding, GroupNorm+SiLU
    # ResBlocks whose last conv is zero_module()'d, and a zero-initialised output conv (as in ADM).
    _seed()

    def timestep_embedding(t, dim, max_period=10000):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], -1)

    def zero_module(mod):
        for p in mod.parameters():
            p.detach().zero_()
        return mod

    class ResBlock(nn.Module):
        def __init__(self, cin, cout, temb):
            super().__init__()
            self.in_layers = nn.Sequential(nn.GroupNorm(8, cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
            self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(temb, cout))
            self.out_layers = nn.Sequential(nn.GroupNorm(8, cout), nn.SiLU(), nn.Dropout(0.1),
                                            zero_module(nn.Conv2d(cout, cout, 3, padding=1)))
            self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

        def forward(self, x, emb):
            h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
            return self.skip(x) + self.out_layers(h)

    class TinyADM(nn.Module):
        def __init__(self):
            super().__init__()
            self.time_embed = nn.Sequential(nn.Linear(32, 128), nn.SiLU(), nn.Linear(128, 128))
            self.conv_in = nn.Conv2d(3, 32, 3, padding=1)
            self.down_block = ResBlock(32, 32, 128)
            self.downsample = nn.Conv2d(32, 32, 3, 2, 1)
            self.mid_block = ResBlock(32, 64, 128)
            self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
            self.up_block = ResBlock(96, 32, 128)
            self.out = nn.Sequential(nn.GroupNorm(8, 32), nn.SiLU(), zero_module(nn.Conv2d(32, 3, 3, padding=1)))

        def forward(self, x, timesteps):
            emb = self.time_embed(timestep_embedding(timesteps, 32))
            h1 = self.down_block(self.conv_in(x), emb)
            h = self.mid_block(self.downsample(h1), emb)
            h = self.up_block(torch.cat([self.upsample(h), h1], 1), emb)
            return self.out(h)

    B = 8
    betas = torch.linspace(1e-4, 0.02, 1000)
    abar = torch.cumprod(1 - betas, 0)
    t = torch.randint(0, 1000, (B,))
    x0 = torch.rand(B, 3, 16, 16) * 2 - 1
    noise = torch.randn_like(x0)
    xt = abar[t].sqrt()[:, None, None, None] * x0 + (1 - abar[t]).sqrt()[:, None, None, None] * noise
    return dict(model=TinyADM(), inputs={"x": xt, "timesteps": t}, target=noise, loss="mse", expect=[])


@case
def ok_realnvp_coupling_exp_tanh_zero_init_nll():
    # RealNVP affine couplings: scale = exp(tanh(s)), s/t nets with a zero-initialised last layer
    # so each coupling starts as the identity; loss is the exact negative log-likelihood.
    _seed()

    class AffineCoupling(nn.Module):
        def __init__(self, dim, mask, hidden=64):
            super().__init__()
            self.register_buffer("mask", mask)
            self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * dim))
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

        def forward(self, x):
            xm = x * self.mask
            s, t = self.net(xm).chunk(2, -1)
            s = torch.tanh(s) * (1 - self.mask)
            y = xm + (1 - self.mask) * (x * torch.exp(s) + t)
            return y, s.sum(-1)

    class RealNVP(nn.Module):
        def __init__(self, dim=8, n=4):
            super().__init__()
            even = (torch.arange(dim) % 2).float()
            self.couplings = nn.ModuleList([AffineCoupling(dim, even if i % 2 == 0 else 1 - even)
                                            for i in range(n)])

        def forward(self, x):
            logdet = torch.zeros(x.shape[0])
            for c in self.couplings:
                x, ld = c(x)
                logdet = logdet + ld
            return x, logdet

    def flow_nll(out, target=None):
        z, logdet = out
        logp = -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
        return -(logp + logdet).mean()

    centers = torch.randn(2, 8) * 1.5
    x = centers[torch.randint(0, 2, (64,))] + 0.5 * torch.randn(64, 8)
    x = (x - x.mean(0)) / x.std(0)
    return dict(model=RealNVP(), inputs=x, loss=flow_nll, expect=[])


@case
def ok_mixture_density_network_logsumexp_adam():
    # Bishop's inverse-sine problem: multimodal y|x, MDN with K=5 Gaussians, log-sum-exp NLL.
    _seed()

    class MDN(nn.Module):
        def __init__(self, K=5):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.pi = nn.Linear(64, K)
            self.mu = nn.Linear(64, K)
            self.log_sigma = nn.Linear(64, K)

        def forward(self, x):
            h = self.body(x)
            return self.pi(h), self.mu(h), self.log_sigma(h)

    def mdn_nll(out, y):
        logit_pi, mu, log_sigma = out
        log_pi = F.log_softmax(logit_pi, -1)
        z = (y - mu) * torch.exp(-log_sigma)
        log_prob = -0.5 * z ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)
        return -torch.logsumexp(log_pi + log_prob, -1).mean()

    yy = torch.rand(64, 1)
    xx = yy + 0.3 * torch.sin(2 * math.pi * yy) + 0.05 * torch.randn(64, 1)
    x = (xx - xx.mean()) / xx.std()
    y = (yy - yy.mean()) / yy.std()
    m = MDN()
    return dict(model=m, inputs=x, target=y, loss=mdn_nll,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def ok_pointnet_tnet_identity_init_maxpool():
    # PointNet: T-Net whose last FC has zero weights and identity bias, shared per-point MLP
    # (Conv1d k=1), symmetric max-pool over points, BN + dropout classifier.
    _seed()

    class TNet(nn.Module):
        def __init__(self, k=3):
            super().__init__()
            self.k = k
            self.point_mlp = nn.Sequential(nn.Conv1d(k, 32, 1), nn.BatchNorm1d(32), nn.ReLU(),
                                           nn.Conv1d(32, 64, 1), nn.BatchNorm1d(64), nn.ReLU())
            self.fc = nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, k * k))
            nn.init.zeros_(self.fc[-1].weight)
            with torch.no_grad():
                self.fc[-1].bias.copy_(torch.eye(k).flatten())

        def forward(self, x):
            return self.fc(self.point_mlp(x).max(2).values).view(-1, self.k, self.k)

    class PointNet(nn.Module):
        def __init__(self, n_classes=4):
            super().__init__()
            self.tnet = TNet()
            self.feat = nn.Sequential(nn.Conv1d(3, 64, 1), nn.BatchNorm1d(64), nn.ReLU(),
                                      nn.Conv1d(64, 128, 1), nn.BatchNorm1d(128), nn.ReLU())
            self.head = nn.Sequential(nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.3),
                                      nn.Linear(64, n_classes))

        def forward(self, pts):                                   # (B, 3, N)
            T = self.tnet(pts)
            pts = torch.bmm(pts.transpose(1, 2), T).transpose(1, 2)
            return self.head(self.feat(pts).max(2).values)

    pts = torch.randn(16, 128, 3) * torch.tensor([1.0, 0.6, 0.3])
    pts = pts - pts.mean(1, keepdim=True)
    pts = pts / pts.norm(dim=-1).amax(1)[:, None, None]          # each cloud in the unit sphere
    m = PointNet()
    return dict(model=m, inputs=pts.transpose(1, 2).contiguous(), target=_balanced(16, 4),
                loss=nn.CrossEntropyLoss(), optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=[])


@case
def ok_deepfm_categorical_ids_dense_standardised():
    # DeepFM CTR model: one offset embedding table for 6 categorical fields (raw ids up to 999),
    # FM first + second order terms, deep MLP; DeepCTR's embedding init_std=1e-4; standardised dense.
    _seed()
    B = 64
    inputs = {"cat": _ctr_categoricals(B), "dense": torch.randn(B, 4)}
    y = _balanced(B, 2).float()
    return dict(model=DeepFM(), inputs=inputs, target=y, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def ok_ctc_conv_bigru_speech_recogniser():
    # CTC acoustic model: strided Conv1d front end, BiGRU, log_softmax over 20 symbols (blank=0);
    # label sequences only use 1..19 because 0 is the blank.
    _seed()

    class CTCModel(nn.Module):
        def __init__(self, n_mels=40, n_symbols=20):
            super().__init__()
            self.frontend = nn.Sequential(nn.Conv1d(n_mels, 64, 3, stride=2, padding=1), nn.GELU())
            self.rnn = nn.GRU(64, 64, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(128, n_symbols)

        def forward(self, feats):                                   # (B, T, n_mels)
            h = self.frontend(feats.transpose(1, 2)).transpose(1, 2)
            h, _ = self.rnn(h)
            return F.log_softmax(self.fc(h), dim=-1)              # (B, T', C)

    def ctc(log_probs, targets):
        B, T, _ = log_probs.shape
        return F.ctc_loss(log_probs.transpose(0, 1), targets,
                          input_lengths=torch.full((B,), T, dtype=torch.long),
                          target_lengths=torch.full((B,), targets.shape[1], dtype=torch.long),
                          blank=0, zero_infinity=True)

    feats = torch.randn(8, 60, 40)
    targets = torch.randint(1, 20, (8, 8))
    return dict(model=CTCModel(), inputs=feats, target=targets, loss=ctc, expect=[])


@case
def ok_triplet_margin_embedding_net_adam():
    # Metric learning: shared CNN encoder applied to anchor/positive/negative, L2-normalised
    # embeddings (over the feature dim), F.triplet_margin_loss.
    _seed()

    class TripletNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                         nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32),
                                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 32))

        def forward(self, anchor, positive, negative):
            return tuple(F.normalize(self.encoder(z), dim=1) for z in (anchor, positive, negative))

    def triplet(out, target=None):
        return F.triplet_margin_loss(out[0], out[1], out[2], margin=0.5)

    a = torch.randn(16, 1, 28, 28)
    p = torch.flip(a, dims=[3]) + 0.5 * torch.randn_like(a)          # augmented view of the anchor
    n = torch.randn(16, 1, 28, 28)
    m = TripletNet()
    return dict(model=m, inputs=(a, p, n), loss=triplet,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_retinanet_head_prior_bias_hand_focal_loss():
    # RetinaNet classification subnet: convs init N(0, 0.01), logits bias = -log((1-pi)/pi) with
    # pi = 0.01 so every anchor starts at p=0.01; sigmoid focal loss written by hand, normalised by
    # the number of positive anchors (foreground is rare by design).
    _seed()

    class RetinaClsHead(nn.Module):
        def __init__(self, A=3, K=4, prior=0.01):
            super().__init__()
            self.A, self.K = A, K
            self.backbone = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
                                          nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU())
            self.cls_tower = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
                                           nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())
            self.cls_logits = nn.Conv2d(64, A * K, 3, padding=1)
            for layer in [*self.cls_tower, self.cls_logits]:
                if isinstance(layer, nn.Conv2d):
                    nn.init.normal_(layer.weight, std=0.01)
                    nn.init.zeros_(layer.bias)
            nn.init.constant_(self.cls_logits.bias, -math.log((1 - prior) / prior))

        def forward(self, x):
            o = self.cls_logits(self.cls_tower(self.backbone(x)))   # (B, A*K, H, W)
            B, _, H, W = o.shape
            return o.view(B, self.A, self.K, H, W).permute(0, 3, 4, 1, 2).reshape(B, H * W * self.A, self.K)

    def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
        p = torch.sigmoid(logits)
        ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        a_t = alpha * targets + (1 - alpha) * (1 - targets)
        return (a_t * ce * (1 - p_t) ** gamma).sum() / targets.sum().clamp(min=1.0)

    B = 4
    x = torch.randn(B, 3, 32, 32)
    n_anchors = 8 * 8 * 3
    target = torch.zeros(B, n_anchors, 4)
    for b in range(B):
        pos = torch.randperm(n_anchors)[:12]                       # ~6% foreground anchors
        target[b, pos, torch.arange(12) % 4] = 1.0
    return dict(model=RetinaClsHead(), inputs=x, target=target, loss=sigmoid_focal_loss, expect=[])


@case
def ok_embeddingbag_text_head_bias_log_class_prior():
    # Text classifier whose output bias is initialised to log(class prior) (a standard trick for
    # skewed-but-not-degenerate label distributions); the batch follows that prior 40/30/20/10.
    _seed()
    prior = torch.tensor([0.4, 0.3, 0.2, 0.1])

    class BagClassifier(nn.Module):
        def __init__(self, vocab=500, d=32):
            super().__init__()
            self.emb = nn.EmbeddingBag(vocab, d, mode="mean")
            self.mlp = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 4))
            with torch.no_grad():
                self.mlp[-1].bias.copy_(prior.log())

        def forward(self, ids, offsets):
            return self.mlp(self.emb(ids, offsets))

    B = 40
    lengths = torch.randint(5, 15, (B,))
    ids = torch.randint(0, 500, (int(lengths.sum()),))
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    y = torch.cat([torch.full((int(p * B),), i) for i, p in enumerate(prior.tolist())])[torch.randperm(B)]
    m = BagClassifier()
    return dict(model=m, inputs=(ids, offsets), target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=5e-3), steps=20, expect=[])


@case
def ok_tcn_weight_norm_quantile_pinball_adam():
    # Bai et al. style TCN (weight_norm causal dilated convs, residual) predicting the 10/50/90%
    # quantiles of the next value, trained with the pinball loss.
    _seed()
    x, y = _series()
    m = TCNQuantileForecaster()
    return dict(model=m, inputs=x, target=y, loss=pinball_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=2e-3), steps=20, expect=[])


@case
def ok_bottleneck_resnet_zero_gamma_sgd_momentum():
    # ResNet bottlenecks with torchvision's zero_init_residual: the last BN gamma of each residual
    # branch is 0, so every block starts as (projected) identity. SGD + momentum + weight decay.
    _seed()

    class Bottleneck(nn.Module):
        def __init__(self, cin, width, stride=1):
            super().__init__()
            cout = width * 4
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            idt = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + idt)

    class TinyResNet(nn.Module):
        def __init__(self, n_classes=4):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
            self.layer1 = nn.Sequential(Bottleneck(16, 8), Bottleneck(32, 8))
            self.layer2 = nn.Sequential(Bottleneck(32, 16, 2), Bottleneck(64, 16))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, n_classes)
            for mod in self.modules():
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            for mod in self.modules():
                if isinstance(mod, Bottleneck):
                    nn.init.zeros_(mod.bn3.weight)

        def forward(self, x):
            return self.fc(self.pool(self.layer2(self.layer1(self.stem(x)))).flatten(1))

    m = TinyResNet()
    x = torch.randn(16, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4),
                steps=20, expect=[])


@case
def ok_llama_rmsnorm_rope_swiglu_tied_lm_adamw():
    # LLaMA-style decoder: RMSNorm, rotary embeddings, SDPA with is_causal=True, SwiGLU MLP,
    # output projection tied to the token embedding, GPT-2 scaled init of residual projections.
    _seed()
    V, D, H, L = 128, 64, 4, 2

    class RMSNorm(nn.Module):
        def __init__(self, d, eps=1e-6):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    def rotate_half(x):
        x1, x2 = x.chunk(2, -1)
        return torch.cat([-x2, x1], -1)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(D, D, bias=False) for _ in range(4))

        def forward(self, x, cos, sin):
            B, T, _ = x.shape
            q, k, v = (w(x).view(B, T, H, D // H).transpose(1, 2) for w in (self.wq, self.wk, self.wv))
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.wo(o.transpose(1, 2).reshape(B, T, D))

    class SwiGLU(nn.Module):
        def __init__(self, hidden=128):
            super().__init__()
            self.w1 = nn.Linear(D, hidden, bias=False)
            self.w3 = nn.Linear(D, hidden, bias=False)
            self.w2 = nn.Linear(hidden, D, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.attn = RMSNorm(D), Attention()
            self.ffn_norm, self.ffn = RMSNorm(D), SwiGLU()

        def forward(self, x, cos, sin):
            x = x + self.attn(self.attn_norm(x), cos, sin)
            return x + self.ffn(self.ffn_norm(x))

    class TinyLlama(nn.Module):
        def __init__(self, max_len=64):
            super().__init__()
            self.tok_emb = nn.Embedding(V, D)
            self.layers = nn.ModuleList([Block() for _ in range(L)])
            self.norm = RMSNorm(D)
            hd = D // H
            inv_freq = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
            freqs = torch.outer(torch.arange(max_len).float(), inv_freq)
            emb = torch.cat([freqs, freqs], -1)
            self.register_buffer("cos", emb.cos(), persistent=False)
            self.register_buffer("sin", emb.sin(), persistent=False)
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * L) if name.endswith(("wo.weight", "w2.weight")) else 0.02
                    nn.init.normal_(p, std=std)

        def forward(self, ids):
            T = ids.shape[1]
            h = self.tok_emb(ids)
            for layer in self.layers:
                h = layer(h, self.cos[:T], self.sin[:T])
            return F.linear(self.norm(h), self.tok_emb.weight)     # tied head

    def lm_loss(logits, tgt):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1))

    B, T = 8, 32
    start = torch.randint(0, V, (B, 1))
    step = torch.randint(1, 5, (B, 1))
    seq = (start + step * torch.arange(T + 1)) % V             # learnable arithmetic sequences
    m = TinyLlama()
    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:], loss=lm_loss,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.1), steps=20, expect=[])


@case
def ok_vit_blocks_activation_checkpoint_non_reentrant():
    # ViT encoder whose blocks are wrapped in torch.utils.checkpoint (use_reentrant=False) while
    # training, to save memory; cls token + learned positional embedding, pre-norm GELU blocks.
    _seed()

    class CheckpointedViT(nn.Module):
        def __init__(self, d=64, depth=3, n_classes=4):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, d, 4, 4)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
            self.pos_embed = nn.Parameter(torch.zeros(1, 17, d))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.trunc_normal_(self.cls_token, std=0.02)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.1, activation="gelu", batch_first=True,
                                           norm_first=True) for _ in range(depth)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, n_classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
            for blk in self.blocks:
                if self.training and torch.is_grad_enabled():
                    x = checkpoint(blk, x, use_reentrant=False)
                else:
                    x = blk(x)
            return self.head(self.norm(x[:, 0]))

    x = torch.randn(8, 3, 16, 16)
    return dict(model=CheckpointedViT(), inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_segmentation_backbone_frozen_batchnorm_batch_of_two():
    # Detection/segmentation fine-tuning with batch size 2: the backbone's BatchNorm layers keep
    # their (pretrained) running statistics -- they stay in eval mode and their affine parameters are
    # frozen even when the model is in train mode; the optimizer only gets trainable parameters.
    _seed()

    def conv_bn(cin, cout, stride):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class FrozenBNSegNet(nn.Module):
        def __init__(self, n_classes=3):
            super().__init__()
            self.backbone = nn.Sequential(conv_bn(3, 16, 2), conv_bn(16, 32, 2), conv_bn(32, 32, 1))
            self.classifier = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, n_classes, 1))
            self.bn_frozen = False

        def freeze_bn(self):
            self.bn_frozen = True
            for mod in self.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.eval()
                    for p in mod.parameters():
                        p.requires_grad_(False)
            return self

        def train(self, mode=True):
            super().train(mode)
            if self.bn_frozen:
                for mod in self.modules():
                    if isinstance(mod, nn.BatchNorm2d):
                        mod.eval()
            return self

        def forward(self, x):
            logits = self.classifier(self.backbone(x))
            return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)

    m = FrozenBNSegNet()
    with torch.no_grad():                                   # stand-in for loading pretrained statistics
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.momentum = None
        for _ in range(5):
            m.backbone(torch.randn(16, 3, 32, 32))
    m.freeze_bn()
    m.train()
    x = torch.randn(2, 3, 32, 32)
    y = F.avg_pool2d(x, 9, stride=1, padding=4).argmax(1)    # smooth regions derived from the image
    params = [p for p in m.parameters() if p.requires_grad]
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(params, lr=0.01, momentum=0.9), steps=20, expect=[])


@case
def ok_sngan_projection_discriminator_hinge():
    # SNGAN projection discriminator: spectral_norm parametrizations on every conv/linear and the
    # class embedding, LeakyReLU(0.1), sum pooling, projection term <embed(y), h>, hinge loss with
    # +1 (real) / -1 (fake) targets. Images in [-1, 1] as produced by a tanh generator.
    _seed()

    class ProjectionDiscriminator(nn.Module):
        def __init__(self, n_classes=5):
            super().__init__()
            self.body = nn.Sequential(
                spectral_norm(nn.Conv2d(3, 32, 3, 1, 1)), nn.LeakyReLU(0.1),
                spectral_norm(nn.Conv2d(32, 64, 4, 2, 1)), nn.LeakyReLU(0.1),
                spectral_norm(nn.Conv2d(64, 64, 4, 2, 1)), nn.LeakyReLU(0.1))
            self.linear = spectral_norm(nn.Linear(64, 1))
            self.embed = spectral_norm(nn.Embedding(n_classes, 64))

        def forward(self, x, y):
            h = self.body(x).sum((2, 3))
            return self.linear(h).squeeze(1) + (self.embed(y) * h).sum(1)

    def hinge(out, t):
        return F.relu(1.0 - t * out).mean()

    B = 16
    x = torch.rand(B, 3, 16, 16) * 2 - 1
    labels = _balanced(B, 5)
    t = torch.cat([torch.ones(B // 2), -torch.ones(B // 2)])
    return dict(model=ProjectionDiscriminator(), inputs=(x, labels), target=t, loss=hinge, expect=[])


@case
def ok_hydranet_dict_outputs_dict_targets_adam():
    # Multi-task face model returning a dict (age regression, smiling logit, 5-way emotion) and a
    # loss that consumes the dict of outputs and a dict of targets.
    _seed()

    class HydraNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                       nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                       nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.heads = nn.ModuleDict({"age": nn.Linear(32, 1), "smiling": nn.Linear(32, 1),
                                        "emotion": nn.Linear(32, 5)})

        def forward(self, x):
            f = self.trunk(x)
            return {"age": self.heads["age"](f), "smiling": self.heads["smiling"](f).squeeze(1),
                    "emotion": self.heads["emotion"](f)}

    def multitask_loss(out, tgt):
        return (F.mse_loss(out["age"], tgt["age"])
                + F.binary_cross_entropy_with_logits(out["smiling"], tgt["smiling"])
                + F.cross_entropy(out["emotion"], tgt["emotion"]))

    B = 20
    x = torch.randn(B, 3, 24, 24)
    tgt = {"age": torch.randn(B, 1), "smiling": _balanced(B, 2).float(), "emotion": _balanced(B, 5)}
    m = HydraNet()
    return dict(model=m, inputs=x, target=tgt, loss=multitask_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_conformer_block_keyword_spotter():
    # Conformer block: macaron half-step FFNs, MHSA, conv module (pointwise -> GLU over channels ->
    # depthwise k=15 -> BatchNorm -> SiLU -> pointwise), final LayerNorm; mean-pooled keyword head.
    _seed()
    x = torch.randn(12, 40, 80)                                  # standardised log-mel frames
    return dict(model=ConformerKeywordSpotter(), inputs=x, target=_balanced(12, 6),
                loss=nn.CrossEntropyLoss(), expect=[])


# ====================================================================== buggy cases
@case
def nanogpt_causal_mask_comparison_inverted():
    # BUG: masked_fill(bias == 1) instead of (bias == 0): each token sees only the future and the
    # last position has every key masked -> softmax over all -inf -> NaN.
    _seed()
    V, D, H, T = 96, 64, 4, 24

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(D, 3 * D)
            self.c_proj = nn.Linear(D, D)
            self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T), persistent=False)

        def forward(self, x):
            B, L, C = x.shape
            q, k, v = self.c_attn(x).split(D, 2)
            q, k, v = (z.view(B, L, H, C // H).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
            att = att.masked_fill(self.bias[:, :, :L, :L] == 1, float("-inf"))   # BUG: should be == 0
            att = F.softmax(att, dim=-1)
            return self.c_proj((att @ v).transpose(1, 2).reshape(B, L, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(D), CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(D)
            self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.GELU(), nn.Linear(4 * D, D))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(T, D)
            self.h = nn.ModuleList([Block() for _ in range(2)])
            self.ln_f = nn.LayerNorm(D)
            for mod in self.modules():
                if isinstance(mod, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(mod.weight, std=0.02)

        def forward(self, ids):
            x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
            for blk in self.h:
                x = blk(x)
            return F.linear(self.ln_f(x), self.wte.weight)

    def lm_loss(logits, tgt):
        return F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))

    seq = torch.randint(0, V, (8, T + 1))
    return dict(model=GPT(), inputs=seq[:, :-1], target=seq[:, 1:], loss=lm_loss,
                expect=["nonfinite-created"], where=["h.0.attn", "h.0"])


@case
def swin_window_reverse_swaps_batch_and_window_axes():
    # BUG: window_reverse reads the windows as (nH, nW, B, ...) although window_partition stacked
    # them batch-major -> every image is rebuilt from windows of other images.
    _seed()
    m = TinySwin(reverse_fn=window_reverse_window_major)
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["batch-mixing"], where="blocks")


@case
def convnext_layer_scale_typo_1e6():
    # BUG: layer_scale_init_value typed as 1e6 instead of 1e-6: each residual branch is multiplied
    # by a million, the residual stream blows up by six orders of magnitude per block.
    _seed()
    m = TinyConvNeXt(layer_scale_init=1e6)
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(8, 4), loss=nn.CrossEntropyLoss(),
                expect=["exploding-activations", "bad-init"], where="blocks")


@case
def reentrant_checkpoint_on_raw_input_blocks():
    # BUG: checkpoint(..., use_reentrant=True) on blocks whose input is the raw data tensor (no
    # requires_grad): the checkpointed output is detached from the block parameters -> the whole
    # residual trunk gets no gradient, only the head trains.
    _seed()

    class ResMLPBlock(nn.Module):
        def __init__(self, d=32):
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            return x + self.mlp(self.norm(x))

    class CkptResMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([ResMLPBlock() for _ in range(3)])
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            for blk in self.blocks:
                x = checkpoint(blk, x, use_reentrant=True)
            return self.head(x)

    x = torch.randn(24, 32)
    return dict(model=CkptResMLP(), inputs=x, target=_balanced(24, 3), loss=nn.CrossEntropyLoss(),
                expect=["no-gradient"], where="blocks")


@case
def mbconv_squeeze_excite_softmax_over_batch():
    # BUG: the SE gate is nn.Softmax(dim=0) on a (B, C, 1, 1) tensor: gates are normalised across the
    # images of the batch instead of being a per-channel sigmoid.
    _seed()
    m = TinyEfficientNet(se_cls=SqueezeExciteSoftmax)
    x = torch.randn(16, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(16, 4), loss=nn.CrossEntropyLoss(),
                expect=["softmax-wrong-dim", "batch-mixing"], where=["blocks.0.se", "blocks.1.se"])


@case
def deepfm_dense_features_raw_price_and_counts():
    # BUG: dense CTR features fed raw: price in cents, impression counts, account age in seconds
    # -- never log-transformed or standardised.
    _seed()
    B = 64
    dense = torch.stack([torch.randint(100, 500_000, (B,)).float(),        # price in cents
                         torch.randint(0, 100_000, (B,)).float(),          # impressions
                         torch.rand(B) * 3e7,                              # account age (s)
                         torch.randint(18, 80, (B,)).float()], 1)          # age (years)
    inputs = {"cat": _ctr_categoricals(B), "dense": dense}
    return dict(model=DeepFM(), inputs=inputs, target=_balanced(B, 2).float(), loss=nn.BCEWithLogitsLoss(),
                expect=["unnormalized-input"], where="input")


@case
def tcn_weight_norm_applied_after_optimizer():
    # BUG: weight_norm parametrizations are added after the optimizer was built: the conv weights
    # the optimizer holds are gone from the model, the new g/v parameters are not in the optimizer.
    _seed()
    x, y = _series()
    m = TCNQuantileForecaster(use_weight_norm=False)
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    for blk in m.blocks:
        weight_norm(blk.conv1)
        weight_norm(blk.conv2)
    return dict(model=m, inputs=x, target=y, loss=pinball_loss, optimizer=opt, steps=20,
                expect=["untrained-parameter"], where=["blocks", "optimizer"])


@case
def conformer_glu_over_time_axis():
    # BUG: GLU(dim=-1) in the conv module halves the time axis instead of the 2*d channels from the
    # pointwise conv -> the depthwise conv receives 128 channels where it expects 64.
    _seed()
    x = torch.randn(12, 40, 80)
    return dict(model=ConformerKeywordSpotter(glu_dim=-1), inputs=x, target=_balanced(12, 6),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where="block.conv_module")
