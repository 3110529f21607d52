"""Blind batch (eighth session): written by a helper that never read the rules; kept as written, except vgg11_bn_fed_uint8_range_pixels_as_float (a diagnosis nbdebug deliberately does not make; see NOTES.md)."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6262): torch.manual_seed(s)


# Batch 62: healthy models at a more realistic scale (false-alarm hunt), plus three buggy ones.


def _balanced_labels(n, k):
    return torch.arange(n) % k


def _smooth_images(b, c, h, w, lo=-1.0, hi=1.0):
    # Low-frequency random images, upsampled from a coarse grid, rescaled into [lo, hi].
    coarse = torch.randn(b, c, max(h // 8, 2), max(w // 8, 2))
    img = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    img = img - img.amin(dim=(1, 2, 3), keepdim=True)
    img = img / img.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    return lo + (hi - lo) * img


# ====================================================================== vision: ResNets, VGG, MobileNet
class _BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _CifarResNet(nn.Module):
    def __init__(self, blocks=(2, 2, 2, 2), widths=(16, 32, 64, 128), num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]),
                                  nn.ReLU(inplace=True))
        layers, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            stage = []
            for j in range(n):
                stage.append(_BasicBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


@case
def ok_realscale_resnet18_cifar_sgd_momentum_bn_train():
    _seed()
    m = _CifarResNet((2, 2, 2, 2), (16, 32, 64, 128), 10).train()
    x = torch.randn(16, 3, 32, 32)
    y = _balanced_labels(16, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4),
                steps=5, expect=[])


class _PreActBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.proj(out) if self.proj is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class _PreActResNet34(nn.Module):
    def __init__(self, widths=(16, 32, 64, 96), blocks=(3, 4, 6, 3), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        stages, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths)):
            for j in range(n):
                stages.append(_PreActBlock(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(cin)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x):
        out = self.blocks(self.conv1(x))
        out = F.relu(self.bn(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


@case
def ok_realscale_preact_resnet34_sixteen_blocks_train_ce():
    _seed()
    m = _PreActResNet34().train()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced_labels(8, 4), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_realscale_vgg11_bn_quarter_width_adam():
    _seed()
    cfg = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128, "M"]
    feats, cin = [], 3
    for v in cfg:
        if v == "M":
            feats.append(nn.MaxPool2d(2))
        else:
            feats += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            cin = v

    class VGG11(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*feats)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(128, 256), nn.ReLU(True), nn.Dropout(0.5),
                                            nn.Linear(256, 256), nn.ReLU(True), nn.Dropout(0.5),
                                            nn.Linear(256, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    m = VGG11().train()
    x = torch.randn(16, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced_labels(16, 10), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=6, expect=[])


class _InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]  # linear bottleneck
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


@case
def ok_realscale_mobilenetv2_width_half_adam():
    _seed()
    setting = [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 3, 2), (6, 32, 2, 2), (6, 48, 2, 1)]
    layers = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(inplace=True)]
    cin = 16
    for t, c, n, s in setting:
        for i in range(n):
            layers.append(_InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += [nn.Conv2d(cin, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU6(inplace=True),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(256, 10)]
    m = nn.Sequential(*layers).train()
    for mod in m.modules():  # torchvision's MobileNetV2 init
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out")
        elif isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0, 0.01)
            nn.init.zeros_(mod.bias)
    x = torch.randn(16, 3, 64, 64)
    return dict(model=m, inputs=x, target=_balanced_labels(16, 8), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=5, expect=[])


class _SqueezeExcite(nn.Module):
    def __init__(self, c, rc):
        super().__init__()
        self.fc1 = nn.Conv2d(c, rc, 1)
        self.fc2 = nn.Conv2d(rc, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.fc2(F.silu(self.fc1(s))))
        return x * s


class _MBConv(nn.Module):
    def __init__(self, cin, cout, k, stride, expand):
        super().__init__()
        hid = cin * expand
        self.expand = (nn.Sequential(nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.SiLU())
                       if expand != 1 else nn.Identity())
        self.dw = nn.Sequential(nn.Conv2d(hid, hid, k, stride, k // 2, groups=hid, bias=False),
                                nn.BatchNorm2d(hid), nn.SiLU())
        self.se = _SqueezeExcite(hid, max(1, cin // 4))
        self.project = nn.Sequential(nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        h = self.project(self.se(self.dw(self.expand(x))))
        return x + h if self.skip else h


@case
def ok_realscale_efficientnet_b0_like_mbconv_se_silu_adam():
    _seed()
    cfg = [(1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 64, 2, 2, 3), (6, 96, 1, 1, 5)]
    blocks, cin = [], 32
    for t, c, n, s, k in cfg:
        for i in range(n):
            blocks.append(_MBConv(cin, c, k, s if i == 0 else 1, t))
            cin = c

    class EffNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU())
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(nn.Conv2d(cin, 256, 1, bias=False), nn.BatchNorm2d(256), nn.SiLU())
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(256, 10))

        def forward(self, x):
            x = self.head(self.blocks(self.stem(x)))
            return self.classifier(x.mean((2, 3)))

    m = EffNet().train()
    x = torch.randn(12, 3, 64, 64)
    return dict(model=m, inputs=x, target=_balanced_labels(12, 6), loss=nn.CrossEntropyLoss(label_smoothing=0.1),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=5, expect=[])


@case
def ok_realscale_densenet_bc_two_blocks_growth16_sgd():
    _seed()

    class DenseLayer(nn.Module):
        def __init__(self, cin, growth):
            super().__init__()
            self.norm1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
            self.norm2 = nn.BatchNorm2d(4 * growth)
            self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

        def forward(self, feats):
            x = torch.cat(feats, 1)
            x = self.conv1(F.relu(self.norm1(x)))
            return self.conv2(F.relu(self.norm2(x)))

    class DenseBlock(nn.ModuleDict):
        def __init__(self, n, cin, growth):
            super().__init__()
            for i in range(n):
                self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth)

        def forward(self, x):
            feats = [x]
            for layer in self.values():
                feats.append(layer(feats))
            return torch.cat(feats, 1)

    class DenseNet(nn.Module):
        def __init__(self, growth=16, n=6):
            super().__init__()
            self.conv0 = nn.Conv2d(3, 2 * growth, 3, padding=1, bias=False)
            c = 2 * growth
            self.block1 = DenseBlock(n, c, growth)
            c += n * growth
            self.trans1 = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c // 2, 1, bias=False),
                                        nn.AvgPool2d(2))
            c //= 2
            self.block2 = DenseBlock(n, c, growth)
            c += n * growth
            self.norm5 = nn.BatchNorm2d(c)
            self.classifier = nn.Linear(c, 10)

        def forward(self, x):
            x = self.block2(self.trans1(self.block1(self.conv0(x))))
            x = F.relu(self.norm5(x))
            return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))

    m = DenseNet().train()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced_labels(8, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True), steps=5,
                expect=[])


@case
def ok_realscale_convnext_two_stages_layer_scale_adamw():
    # Official ConvNeXt block: depthwise 7x7, channels-last LayerNorm, 4x inverted MLP, layer scale 1e-6.
    _seed()

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x):
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    class Block(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.pwconv1 = nn.Linear(dim, 4 * dim)
            self.pwconv2 = nn.Linear(4 * dim, dim)
            self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

        def forward(self, x):
            h = self.dwconv(x).permute(0, 2, 3, 1)
            h = self.pwconv2(F.gelu(self.pwconv1(self.norm(h))))
            return x + (self.gamma * h).permute(0, 3, 1, 2)

    class ConvNeXt(nn.Module):
        def __init__(self, dims=(48, 96), depths=(3, 3)):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))
            self.stage1 = nn.Sequential(*[Block(dims[0]) for _ in range(depths[0])])
            self.down = nn.Sequential(LayerNorm2d(dims[0], eps=1e-6), nn.Conv2d(dims[0], dims[1], 2, 2))
            self.stage2 = nn.Sequential(*[Block(dims[1]) for _ in range(depths[1])])
            self.norm = nn.LayerNorm(dims[1], eps=1e-6)
            self.head = nn.Linear(dims[1], 10)
            for mod in self.modules():
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(mod.weight, std=0.02)
                    nn.init.zeros_(mod.bias)

        def forward(self, x):
            x = self.stage2(self.down(self.stage1(self.stem(x))))
            return self.head(self.norm(x.mean((2, 3))))

    m = ConvNeXt().train()
    x = torch.randn(8, 3, 64, 64)
    return dict(model=m, inputs=x, target=_balanced_labels(8, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.05), steps=6, expect=[])


# ====================================================================== transformers
@case
def ok_realscale_pre_ln_encoder_12_layers_learned_positions_cls():
    _seed()

    class Encoder(nn.Module):
        def __init__(self, vocab=500, d=128, heads=4, layers=12, max_len=64, n_cls=4):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.zeros(1, max_len + 1, d))
            self.cls = nn.Parameter(torch.zeros(1, 1, d))
            nn.init.trunc_normal_(self.pos, std=0.02)
            nn.init.trunc_normal_(self.cls, std=0.02)
            layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, n_cls)

        def forward(self, ids):
            h = self.tok(ids)
            h = torch.cat([self.cls.expand(ids.shape[0], -1, -1), h], 1) + self.pos[:, : ids.shape[1] + 1]
            h = self.encoder(h)
            return self.head(self.norm(h[:, 0]))

    m = Encoder().train()
    ids = torch.randint(0, 500, (8, 32))
    return dict(model=m, inputs=ids, target=_balanced_labels(8, 4), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=3e-4), steps=6, expect=[])


class _GPTBlock(nn.Module):
    def __init__(self, d, heads, n_layer):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"), nn.Linear(4 * d, d))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp(self.ln_2(x))


@case
def ok_realscale_gpt_six_layers_tied_embeddings_causal_adamw():
    # nanoGPT recipe: N(0, 0.02) init, residual projections scaled by 1/sqrt(2 * n_layer), tied lm_head.
    _seed()

    class GPT(nn.Module):
        def __init__(self, vocab=256, d=128, heads=4, n_layer=6, block=64):
            super().__init__()
            self.wte = nn.Embedding(vocab, d)
            self.wpe = nn.Embedding(block, d)
            self.drop = nn.Dropout(0.1)
            self.h = nn.ModuleList([_GPTBlock(d, heads, n_layer) for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.lm_head.weight = self.wte.weight
            for name, p in self.named_parameters():
                if p.dim() == 2:
                    std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("c_proj.weight", "mlp.2.weight")) else 0.02
                    nn.init.normal_(p, 0.0, std)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)

        def forward(self, idx):
            pos = torch.arange(idx.shape[1], device=idx.device)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for blk in self.h:
                x = blk(x)
            return self.lm_head(self.ln_f(x))

    m = GPT().train()
    data = torch.randint(0, 256, (8, 65))
    x, y = data[:, :-1], data[:, 1:]

    def lm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1))

    return dict(model=m, inputs=x, target=y, loss=lm_loss,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1),
                steps=6, expect=[])


@case
def ok_realscale_swin_two_blocks_shifted_windows_relative_bias():
    _seed()

    def window_partition(x, ws):  # (B, H, W, C) -> (B * nW, ws*ws, C)
        B, H, W, C = x.shape
        x = x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, ws * ws, C)

    def window_reverse(w, ws, B, H, W):
        C = w.shape[-1]
        x = w.view(B, H // ws, W // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(B, H, W, C)

    class WindowAttention(nn.Module):
        def __init__(self, dim, ws, heads):
            super().__init__()
            self.heads, self.ws = heads, ws
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.rel_bias = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
            nn.init.trunc_normal_(self.rel_bias, std=0.02)
            coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
            rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
            self.register_buffer("rel_index", rel[..., 0] * (2 * ws - 1) + rel[..., 1], persistent=False)

        def forward(self, x, mask=None):
            Bw, N, C = x.shape
            qkv = self.qkv(x).reshape(Bw, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            attn = torch.einsum("bhnd,bhmd->bhnm", q * self.scale, k)
            attn = attn + self.rel_bias[self.rel_index].permute(2, 0, 1).unsqueeze(0)
            if mask is not None:
                nW = mask.shape[0]
                attn = attn.view(Bw // nW, nW, self.heads, N, N) + mask[None, :, None]
                attn = attn.view(Bw, self.heads, N, N)
            attn = attn.softmax(-1)
            out = torch.einsum("bhnm,bhmd->bhnd", attn, v).transpose(1, 2).reshape(Bw, N, C)
            return self.proj(out)

    class SwinBlock(nn.Module):
        def __init__(self, dim, res, ws, heads, shift):
            super().__init__()
            self.res, self.ws, self.shift = res, ws, shift
            self.norm1 = nn.LayerNorm(dim)
            self.attn = WindowAttention(dim, ws, heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
            mask = None
            if shift:
                img = torch.zeros(1, res, res, 1)
                cnt = 0
                for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                        img[:, hs, wsl] = cnt
                        cnt += 1
                mw = window_partition(img, ws).squeeze(-1)
                mask = (mw[:, None, :] - mw[:, :, None]).ne(0).float() * -100.0
            self.register_buffer("attn_mask", mask, persistent=False)

        def forward(self, x):  # x: (B, L, C)
            B, L, C = x.shape
            h = self.norm1(x).view(B, self.res, self.res, C)
            if self.shift:
                h = torch.roll(h, (-self.shift, -self.shift), (1, 2))
            w = self.attn(window_partition(h, self.ws), self.attn_mask)
            h = window_reverse(w, self.ws, B, self.res, self.res)
            if self.shift:
                h = torch.roll(h, (self.shift, self.shift), (1, 2))
            x = x + h.reshape(B, L, C)
            return x + self.mlp(self.norm2(x))

    class TinySwin(nn.Module):
        def __init__(self, dim=64, res=8, ws=4, heads=4):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, 4, 4)
            self.patch_norm = nn.LayerNorm(dim)
            self.blocks = nn.ModuleList([SwinBlock(dim, res, ws, heads, 0), SwinBlock(dim, res, ws, heads, ws // 2),
                                         SwinBlock(dim, res, ws, heads, 0), SwinBlock(dim, res, ws, heads, ws // 2)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            x = self.patch_norm(self.patch(x).flatten(2).transpose(1, 2))
            for b in self.blocks:
                x = b(x)
            return self.head(self.norm(x).mean(1))

    m = TinySwin().train()
    x = torch.randn(8, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced_labels(8, 8), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=6, expect=[])


@case
def ok_realscale_mlp_mixer_eight_layers_patch16():
    _seed()

    class MixerBlock(nn.Module):
        def __init__(self, tokens, dim, tok_hidden, ch_hidden):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.token_mlp = nn.Sequential(nn.Linear(tokens, tok_hidden), nn.GELU(), nn.Linear(tok_hidden, tokens))
            self.norm2 = nn.LayerNorm(dim)
            self.channel_mlp = nn.Sequential(nn.Linear(dim, ch_hidden), nn.GELU(), nn.Linear(ch_hidden, dim))

        def forward(self, x):  # (B, tokens, dim)
            x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.channel_mlp(self.norm2(x))

    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 128, 8, 8)  # 64x64 -> 8x8 = 64 tokens
            self.blocks = nn.Sequential(*[MixerBlock(64, 128, 64, 256) for _ in range(8)])
            self.norm = nn.LayerNorm(128)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            x = self.stem(x).flatten(2).transpose(1, 2)
            x = self.norm(self.blocks(x))
            return self.head(x.mean(1))

    m = Mixer().train()
    x = torch.randn(8, 3, 64, 64)
    return dict(model=m, inputs=x, target=_balanced_labels(8, 8), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-4), steps=6, expect=[])


# ====================================================================== dense prediction / generative
@case
def ok_realscale_unet_four_levels_groupnorm_segmentation():
    _seed()

    def double_conv(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(8, cout), nn.ReLU(True),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(8, cout), nn.ReLU(True))

    class UNet(nn.Module):
        def __init__(self, cin=3, n_cls=3, w=(16, 32, 64, 128)):
            super().__init__()
            self.inc = double_conv(cin, w[0])
            self.down1, self.down2, self.down3 = double_conv(w[0], w[1]), double_conv(w[1], w[2]), double_conv(w[2], w[3])
            self.up3 = nn.ConvTranspose2d(w[3], w[2], 2, 2)
            self.dec3 = double_conv(2 * w[2], w[2])
            self.up2 = nn.ConvTranspose2d(w[2], w[1], 2, 2)
            self.dec2 = double_conv(2 * w[1], w[1])
            self.up1 = nn.ConvTranspose2d(w[1], w[0], 2, 2)
            self.dec1 = double_conv(2 * w[0], w[0])
            self.outc = nn.Conv2d(w[0], n_cls, 1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(F.max_pool2d(x1, 2))
            x3 = self.down2(F.max_pool2d(x2, 2))
            x4 = self.down3(F.max_pool2d(x3, 2))
            y = self.dec3(torch.cat([x3, self.up3(x4)], 1))
            y = self.dec2(torch.cat([x2, self.up2(y)], 1))
            y = self.dec1(torch.cat([x1, self.up1(y)], 1))
            return self.outc(y)

    m = UNet().train()
    # three balanced stripe regions per image, in four orientations
    yy, xx = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    base = (xx * 3) // 64
    target = torch.stack([base, base.flip(1), base.t(), base.flip(0)])
    target = torch.cat([target, target.flip(2)])
    colours = torch.tensor([[1.0, -0.5, 0.0], [-0.5, 1.0, -0.5], [0.0, -0.5, 1.0]])
    x = colours[target].permute(0, 3, 1, 2) + torch.randn(8, 3, 64, 64)  # noisy class colours
    x = (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)
    return dict(model=m, inputs=x, target=target, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=6, expect=[])


@case
def ok_realscale_diffusion_unet_sinusoidal_time_zero_out_conv():
    # DDPM/ADM-style epsilon predictor; the output conv is zero-initialised on purpose (standard practice).
    _seed()

    def timestep_embedding(t, dim):
        half = dim // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t.float()[:, None] * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], -1)

    class ResBlock(nn.Module):
        def __init__(self, cin, cout, tdim):
            super().__init__()
            self.norm1 = nn.GroupNorm(8, cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
            self.temb = nn.Linear(tdim, cout)
            self.norm2 = nn.GroupNorm(8, cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

        def forward(self, x, temb):
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.temb(F.silu(temb))[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return self.skip(x) + h

    class DiffUNet(nn.Module):
        def __init__(self, ch=32, tdim=128):
            super().__init__()
            self.ch = ch
            self.time_mlp = nn.Sequential(nn.Linear(ch, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
            self.inp = nn.Conv2d(3, ch, 3, padding=1)
            self.down1 = ResBlock(ch, ch, tdim)
            self.ds1 = nn.Conv2d(ch, ch, 3, 2, 1)
            self.down2 = ResBlock(ch, 2 * ch, tdim)
            self.ds2 = nn.Conv2d(2 * ch, 2 * ch, 3, 2, 1)
            self.mid = ResBlock(2 * ch, 2 * ch, tdim)
            self.up2 = ResBlock(4 * ch, 2 * ch, tdim)
            self.up1 = ResBlock(3 * ch, ch, tdim)
            self.out_norm = nn.GroupNorm(8, ch)
            self.out = nn.Conv2d(ch, 3, 3, padding=1)
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

        def forward(self, x, t):
            temb = self.time_mlp(timestep_embedding(t, self.ch))
            h0 = self.inp(x)
            h1 = self.down1(h0, temb)
            h2 = self.down2(self.ds1(h1), temb)
            h = self.mid(self.ds2(h2), temb)
            h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h2], 1), temb)
            h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), h1], 1), temb)
            return self.out(F.silu(self.out_norm(h)))

    m = DiffUNet().train()
    x0 = _smooth_images(8, 3, 32, 32)
    t = torch.randint(0, 1000, (8,))
    betas = torch.linspace(1e-4, 0.02, 1000)
    abar = torch.cumprod(1 - betas, 0)[t][:, None, None, None]
    noise = torch.randn_like(x0)
    xt = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
    return dict(model=m, inputs={"x": xt, "t": t}, target=noise, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=6, expect=[])


@case
def ok_realscale_conv_vae_bernoulli_pixels_kl_adam():
    # MNIST-like images in [0, 1] with a Bernoulli decoder (BCE-with-logits) plus the Gaussian KL term.
    _seed()

    class ConvVAE(nn.Module):
        def __init__(self, z=16):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU())
            self.mu = nn.Linear(256, z)
            self.logvar = nn.Linear(256, z)
            self.dec_fc = nn.Sequential(nn.Linear(z, 256), nn.ReLU(), nn.Linear(256, 64 * 7 * 7), nn.ReLU())
            self.dec = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(32, 1, 4, 2, 1))

        def forward(self, x):
            h = self.enc((x - 0.1307) / 0.3081)  # the usual MNIST standardisation inside the model
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec(self.dec_fc(z).view(-1, 64, 7, 7)), mu, logvar

    def elbo(out, target):
        logits, mu, logvar = out
        rec = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / target.shape[0]
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / target.shape[0]
        return rec + kl

    m = ConvVAE().train()
    x = torch.sigmoid(12 * (_smooth_images(16, 1, 28, 28, 0.0, 1.0) - 0.7))  # mostly dark, bright strokes
    return dict(model=m, inputs=x, target=x, loss=elbo,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=8, expect=[])


@case
def ok_realscale_dcgan_discriminator_real_and_fake_bce():
    _seed()

    class Disc(nn.Module):
        def __init__(self, nc=3, ndf=32):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Flatten())

        def forward(self, x):
            return self.main(x)

    m = Disc().train()
    real = _smooth_images(8, 3, 64, 64)
    fake = torch.tanh(0.5 * torch.randn(8, 3, 64, 64))  # what an untrained generator emits
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(8, 1), torch.zeros(8, 1)])
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)), steps=6, expect=[])


@case
def ok_realscale_dcgan_generator_fit_to_fixed_images():
    # Generator alone, fitted by MSE to fixed target images in the tanh range (a GLO-style sanity check).
    _seed()
    ngf, nz = 32, 64
    m = nn.Sequential(
        nn.Unflatten(1, (nz, 1, 1)),
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, 3, 4, 2, 1, bias=False), nn.Tanh()).train()
    z = torch.randn(16, nz)
    target = _smooth_images(16, 3, 32, 32, -0.8, 0.8)
    return dict(model=m, inputs=z, target=target, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.5, 0.999)), steps=8, expect=[])


# ====================================================================== sequences / audio
@case
def ok_realscale_wavenet_eight_dilated_gated_layers_skip_sum():
    _seed()

    class ResidualLayer(nn.Module):
        def __init__(self, ch, skip_ch, dilation, last=False):
            super().__init__()
            self.dilation = dilation
            self.filter = nn.Conv1d(ch, ch, 2, dilation=dilation)
            self.gate = nn.Conv1d(ch, ch, 2, dilation=dilation)
            self.res = None if last else nn.Conv1d(ch, ch, 1)  # the last layer only feeds the skip sum
            self.skip = nn.Conv1d(ch, skip_ch, 1)

        def forward(self, x):
            xp = F.pad(x, (self.dilation, 0))  # causal left padding
            h = torch.tanh(self.filter(xp)) * torch.sigmoid(self.gate(xp))
            return (x + self.res(h) if self.res is not None else x), self.skip(h)

    class WaveNet(nn.Module):
        def __init__(self, ch=32, skip_ch=64):
            super().__init__()
            self.causal = nn.Conv1d(1, ch, 2)
            self.layers = nn.ModuleList([ResidualLayer(ch, skip_ch, 2 ** i, last=(i == 7)) for i in range(8)])
            self.post1 = nn.Conv1d(skip_ch, skip_ch, 1)
            self.post2 = nn.Conv1d(skip_ch, 1, 1)

        def forward(self, x):  # x: (B, 1, T)
            h = self.causal(F.pad(x, (1, 0)))
            skips = 0
            for layer in self.layers:
                h, s = layer(h)
                skips = skips + s
            return self.post2(F.relu(self.post1(F.relu(skips))))

    m = WaveNet().train()
    t = torch.linspace(0, 8 * math.pi, 257)
    phase = torch.rand(8, 1) * 2 * math.pi
    freq = 1 + torch.rand(8, 1)
    sig = torch.sin(freq * t[None] + phase) + 0.1 * torch.randn(8, 257)
    sig = (sig - sig.mean()) / sig.std()
    x, y = sig[:, None, :-1], sig[:, None, 1:]
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=8, expect=[])


@case
def ok_realscale_three_layer_lstm_language_model_dropout():
    _seed()

    class LSTMLM(nn.Module):
        def __init__(self, vocab=1000, emb=128, hid=128, layers=3):
            super().__init__()
            self.drop = nn.Dropout(0.3)
            self.encoder = nn.Embedding(vocab, emb)
            self.rnn = nn.LSTM(emb, hid, layers, dropout=0.3, batch_first=True)
            self.decoder = nn.Linear(hid, vocab)
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)  # word_language_model example init
            nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
            nn.init.zeros_(self.decoder.bias)

        def forward(self, ids):
            out, _ = self.rnn(self.drop(self.encoder(ids)))
            return self.decoder(self.drop(out))

    m = LSTMLM().train()
    data = torch.randint(0, 1000, (16, 36))

    def lm_loss(logits, target):
        return F.cross_entropy(logits.flatten(0, 1), target.flatten())

    return dict(model=m, inputs=data[:, :-1], target=data[:, 1:], loss=lm_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=8, expect=[])


@case
def ok_realscale_bigru_seq2seq_additive_attention_teacher_forcing():
    _seed()

    class Seq2Seq(nn.Module):
        def __init__(self, src_vocab=300, tgt_vocab=300, emb=64, hid=128):
            super().__init__()
            self.src_emb = nn.Embedding(src_vocab, emb)
            self.tgt_emb = nn.Embedding(tgt_vocab, emb)
            self.encoder = nn.GRU(emb, hid // 2, batch_first=True, bidirectional=True)
            self.decoder = nn.GRU(emb + hid, hid, batch_first=True)
            self.att_q = nn.Linear(hid, hid, bias=False)
            self.att_k = nn.Linear(hid, hid)
            self.att_v = nn.Linear(hid, 1, bias=False)
            self.out = nn.Linear(2 * hid, tgt_vocab)

        def forward(self, src, tgt_in):
            enc, h = self.encoder(self.src_emb(src))  # enc: (B, S, hid)
            state = torch.cat([h[0], h[1]], -1).unsqueeze(0)
            keys = self.att_k(enc)
            emb = self.tgt_emb(tgt_in)
            logits = []
            for t in range(tgt_in.shape[1]):
                q = self.att_q(state[-1])[:, None]  # (B, 1, hid)
                scores = self.att_v(torch.tanh(q + keys)).squeeze(-1)  # (B, S)
                ctx = torch.einsum("bs,bsh->bh", scores.softmax(-1), enc)
                o, state = self.decoder(torch.cat([emb[:, t], ctx], -1)[:, None], state)
                logits.append(self.out(torch.cat([o[:, 0], ctx], -1)))
            return torch.stack(logits, 1)

    m = Seq2Seq().train()
    src = torch.randint(1, 300, (8, 20))
    tgt = torch.randint(1, 300, (8, 13))

    def seq_ce(logits, target):
        return F.cross_entropy(logits.transpose(1, 2), target)

    return dict(model=m, inputs=(src, tgt[:, :-1]), target=tgt[:, 1:], loss=seq_ce,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=6, expect=[])


@case
def ok_realscale_conv_subsampling_transformer_ctc():
    # Speech recogniser: 2x strided Conv1d front end on log-mel frames, 4 Transformer layers, CTC over log-probs.
    _seed()

    class ASR(nn.Module):
        def __init__(self, n_mels=40, d=128, n_tokens=30):
            super().__init__()
            self.subsample = nn.Sequential(nn.Conv1d(n_mels, d, 3, 2, 1), nn.GELU(), nn.Conv1d(d, d, 3, 2, 1), nn.GELU())
            self.pos = nn.Parameter(torch.randn(1, 64, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, 256, 0.1, batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.ctc_head = nn.Linear(d, n_tokens)

        def forward(self, feats):  # (B, n_mels, T)
            h = self.subsample(feats).transpose(1, 2)
            h = self.encoder(h + self.pos[:, : h.shape[1]])
            return self.ctc_head(self.norm(h)).log_softmax(-1).transpose(0, 1)  # (T', B, C) for CTC

    m = ASR().train()
    feats = torch.randn(8, 40, 200)  # per-utterance normalised log-mel features
    targets = torch.randint(1, 30, (8, 12))
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)

    def ctc_loss(log_probs, target):
        T, B, _ = log_probs.shape
        return ctc(log_probs, target, torch.full((B,), T, dtype=torch.long),
                   torch.full((B,), target.shape[1], dtype=torch.long))

    return dict(model=m, inputs=feats, target=targets, loss=ctc_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=6, expect=[])


# ====================================================================== video, graphs, tabular, MLPs
@case
def ok_realscale_r2plus1d_factorised_video_conv():
    _seed()

    def conv2plus1(cin, cout, mid, stride=1):
        return nn.Sequential(nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
                             nn.BatchNorm3d(mid), nn.ReLU(True),
                             nn.Conv3d(mid, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0), bias=False))

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Sequential(conv2plus1(cin, cout, cout, stride), nn.BatchNorm3d(cout), nn.ReLU(True))
            self.conv2 = nn.Sequential(conv2plus1(cout, cout, cout), nn.BatchNorm3d(cout))
            self.down = (nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return F.relu(self.conv2(self.conv1(x)) + self.down(x))

    m = nn.Sequential(nn.Conv3d(3, 16, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), nn.BatchNorm3d(16), nn.ReLU(True),
                      Block(16, 16, 1), Block(16, 32, 2), Block(32, 64, 2),
                      nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(64, 6)).train()
    clips = torch.randn(6, 3, 8, 32, 32)
    return dict(model=m, inputs=clips, target=_balanced_labels(6, 6), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_realscale_dense_gcn_batched_molecules_symmetric_norm():
    _seed()

    class GCNLayer(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.lin = nn.Linear(cin, cout)

        def forward(self, x, adj_norm):  # x: (B, N, F), adj_norm: (B, N, N)
            return torch.bmm(adj_norm, self.lin(x))

    class GCN(nn.Module):
        def __init__(self, fin=16, hid=128, layers=4, n_cls=2):
            super().__init__()
            self.inp = GCNLayer(fin, hid)
            self.hidden = nn.ModuleList([GCNLayer(hid, hid) for _ in range(layers - 1)])
            self.norms = nn.ModuleList([nn.LayerNorm(hid) for _ in range(layers)])
            self.head = nn.Sequential(nn.Linear(hid, hid), nn.BatchNorm1d(hid), nn.ReLU(), nn.Linear(hid, n_cls))

        def forward(self, x, adj, mask):
            a = adj + torch.eye(adj.shape[1])[None] * mask[:, :, None]  # self loops on real nodes
            deg = a.sum(-1).clamp_min(1.0)
            a = a / deg.sqrt()[:, :, None] / deg.sqrt()[:, None, :]
            h = self.inp(x, a)
            for layer, norm in zip(self.hidden, self.norms[:-1]):  # pre-activation residual GCN blocks
                h = h + layer(F.relu(norm(h)), a)
            h = F.relu(self.norms[-1](h))
            pooled = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            return self.head(pooled)

    B, N = 12, 24
    sizes = torch.randint(14, N + 1, (B,))
    mask = (torch.arange(N)[None] < sizes[:, None]).float()
    adj = (torch.rand(B, N, N) < 0.15).float()
    adj = torch.triu(adj, 1)
    adj = (adj + adj.transpose(1, 2)) * mask[:, :, None] * mask[:, None, :]
    x = torch.randn(B, N, 16) * mask[..., None]
    m = GCN().train()
    return dict(model=m, inputs=(x, adj, mask), target=_balanced_labels(B, 2), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=8, expect=[])


@case
def ok_realscale_dcn_v2_cross_and_deep_ctr_dict_inputs():
    _seed()

    class DCNv2(nn.Module):
        def __init__(self, n_dense=13, cards=(100, 50, 20, 8), emb=16, n_cross=3):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(c, emb) for c in cards])
            d = n_dense + emb * len(cards)
            self.cross = nn.ModuleList([nn.Linear(d, d) for _ in range(n_cross)])
            self.deep = nn.Sequential(nn.Linear(d, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.1),
                                      nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU())
            self.out = nn.Linear(d + 128, 1)

        def forward(self, dense, sparse):
            x0 = torch.cat([dense] + [e(sparse[:, i]) for i, e in enumerate(self.embs)], 1)
            xl = x0
            for lin in self.cross:
                xl = x0 * lin(xl) + xl
            return self.out(torch.cat([xl, self.deep(x0)], 1))

    m = DCNv2().train()
    dense = torch.randn(16, 13)  # log-transformed and standardised counts
    sparse = torch.stack([torch.randint(0, c, (16,)) for c in (100, 50, 20, 8)], 1)
    y = (torch.arange(16) % 2).float()[:, None]
    return dict(model=m, inputs={"dense": dense, "sparse": sparse}, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=10, expect=[])


@case
def ok_realscale_twenty_block_residual_mlp_layernorm_regression():
    _seed()

    class ResMLPBlock(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.norm = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, 2 * d)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(2 * d, d)

        def forward(self, x):
            return x + self.fc2(self.act(self.fc1(self.norm(x))))

    m = nn.Sequential(nn.Linear(32, 128), *[ResMLPBlock(128) for _ in range(20)], nn.LayerNorm(128),
                      nn.Linear(128, 1)).train()
    x = torch.randn(64, 32)
    y = (x[:, :4].sum(1, keepdim=True) + torch.sin(x[:, 4:5]) + 0.1 * torch.randn(64, 1))
    y = (y - y.mean()) / y.std()
    # 40 residual Linear layers: Adam 1e-4 (3e-4 already makes this depth oscillate on one batch)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-4), steps=8, expect=[])


@case
def ok_realscale_efficientnet_style_inference_eval_no_target():
    # Frozen-feature inference: an MBConv network in eval mode, called under a normalised image batch.
    _seed()
    blocks, cin = [], 24
    for c, s in [(24, 1), (32, 2), (32, 1), (48, 2), (64, 2)]:
        blocks.append(_MBConv(cin, c, 3, s, 4))
        cin = c
    m = nn.Sequential(nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.SiLU(), *blocks,
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 100))
    # give BN realistic running statistics by a few training-mode passes, as a trained net would have
    bns = [b for b in m.modules() if isinstance(b, nn.BatchNorm2d)]
    for b in bns:
        b.reset_running_stats()
        b.momentum = None  # cumulative average over the calibration batches
    m.train()
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(16, 3, 64, 64))
    for b in bns:
        b.momentum = 0.1
    m.eval()
    return dict(model=m, inputs=torch.randn(8, 3, 64, 64), expect=[])


# ====================================================================== buggy (3)
@case
def lstm_lm_stack_forgot_batch_first_mixes_sequences():
    # Bug: batch-major (B, T, E) embeddings fed into an LSTM built without batch_first=True, so the
    # recurrence runs across the batch: sample i's prediction depends on samples 0..i-1.
    _seed()

    class LSTMLM(nn.Module):
        def __init__(self, vocab=800, d=128):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.lstm = nn.LSTM(d, d, 2, dropout=0.2)  # batch_first missing
            self.proj = nn.Linear(d, vocab)

        def forward(self, ids):  # ids: (B, T)
            out, _ = self.lstm(self.emb(ids))
            return self.proj(out)

    m = LSTMLM().train()
    data = torch.randint(0, 800, (12, 41))

    def lm_loss(logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1))

    return dict(model=m, inputs=data[:, :-1], target=data[:, 1:], loss=lm_loss,
                expect=["batch-mixing"])




@case
def pre_ln_vit_adam_lr_half_diverges():
    # Bug: lr=0.5 typed instead of 5e-4 for Adam on a ViT; the first steps throw the loss up and around.
    _seed()

    class ViT(nn.Module):
        def __init__(self, d=128, layers=4):
            super().__init__()
            self.patch = nn.Conv2d(3, d, 8, 8)
            self.pos = nn.Parameter(torch.randn(1, 16, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, 256, 0.0, activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, 10)

        def forward(self, x):
            h = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.encoder(h)).mean(1))

    m = ViT().train()
    x = torch.randn(16, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced_labels(16, 8), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=0.5), steps=10, expect=["lr-too-high"])
