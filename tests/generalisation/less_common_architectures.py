"""Blind batch 51 (seventh session): small faithful versions of less common architectures (ResNeXt,
SKNet, HRNet, FPN, DETR, T5, ALBERT, DLRM, Tacotron attention, WaveRNN, VQ-VAE, dueling DQN, PPO,
TabTransformer, attention U-Net, MobileViT, linear attention, RBF networks), written by a helper that
never read the rules, and five subtle bugs in them. It found the loss watch raising KeyError inside a
loss that calls F.smooth_l1_loss, and NBD290 told a custom loss reads only the first output.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5151): torch.manual_seed(s)


def _balanced(n, k):
    # every class equally often, shuffled
    return (torch.arange(n) % k)[torch.randperm(n)]


def _smooth_images(b, c, h, w, base=4, noise=0.3):
    # low-frequency "natural-ish" images, standardised to mean 0 / std 1
    x = F.interpolate(torch.randn(b, c, base, base), size=(h, w), mode="bilinear", align_corners=False)
    x = x + noise * torch.randn(b, c, h, w)
    return (x - x.mean()) / x.std()


# ====================================================================== shared building blocks
class _SKConv(nn.Module):
    """Selective-kernel unit (SKNet): M branches with growing receptive field, fused by a
    softmax over the branch axis."""

    def __init__(self, c, M=2, G=8, r=16, L=32):
        super().__init__()
        d = max(c // r, L)
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Conv2d(c, c, 3, padding=1 + i, dilation=1 + i, groups=G, bias=False),
                          nn.BatchNorm2d(c), nn.ReLU(inplace=True))
            for i in range(M)])
        self.fc = nn.Sequential(nn.Conv2d(c, d, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU(inplace=True))
        self.fcs = nn.ModuleList([nn.Conv2d(d, c, 1) for _ in range(M)])

    def attention(self, a):
        return F.softmax(a, dim=1)  # (B, M, C, 1, 1): normalise over the M branches

    def forward(self, x):
        feats = torch.stack([b(x) for b in self.branches], dim=1)  # B, M, C, H, W
        s = feats.sum(1).mean((2, 3), keepdim=True)
        z = self.fc(s)
        a = torch.stack([fc(z) for fc in self.fcs], dim=1)
        return (feats * self.attention(a)).sum(1)


class _SKNet(nn.Module):
    def __init__(self, sk_cls=_SKConv, n_classes=8):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.reduce = nn.Sequential(nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.sk = sk_cls(64)
        self.expand = nn.Sequential(nn.Conv2d(64, 64, 1, bias=False), nn.BatchNorm2d(64))
        self.shortcut = nn.Sequential(nn.Conv2d(32, 64, 1, bias=False), nn.BatchNorm2d(64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x):
        x = self.stem(x)
        y = self.expand(self.sk(self.reduce(x)))
        y = F.relu(y + self.shortcut(x))
        return self.fc(self.pool(y).flatten(1))


class _T5RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class _T5Attention(nn.Module):
    def __init__(self, d, h, dk, has_rel_bias, num_buckets=32, max_distance=64):
        super().__init__()
        self.h, self.dk = h, dk
        self.num_buckets, self.max_distance = num_buckets, max_distance
        self.q = nn.Linear(d, h * dk, bias=False)
        self.k = nn.Linear(d, h * dk, bias=False)
        self.v = nn.Linear(d, h * dk, bias=False)
        self.o = nn.Linear(h * dk, d, bias=False)
        self.relative_attention_bias = nn.Embedding(num_buckets, h) if has_rel_bias else None
        self.drop = nn.Dropout(0.1)

    def _bucket(self, rel):
        # T5's bidirectional relative-position bucketing
        nb = self.num_buckets // 2
        ret = (rel > 0).long() * nb
        n = rel.abs()
        max_exact = nb // 2
        is_small = n < max_exact
        large = max_exact + (torch.log(n.float().clamp(min=1) / max_exact)
                             / math.log(self.max_distance / max_exact) * (nb - max_exact)).long()
        large = large.clamp(max=nb - 1)
        return ret + torch.where(is_small, n, large)

    def compute_bias(self, T, device):
        pos = torch.arange(T, device=device)
        rel = pos[None, :] - pos[:, None]
        values = self.relative_attention_bias(self._bucket(rel))  # T, T, h
        return values.permute(2, 0, 1).unsqueeze(0)  # 1, h, T, T

    def forward(self, x, position_bias=None, mask_bias=None):
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.h, self.dk).transpose(1, 2)
        k = self.k(x).view(B, T, self.h, self.dk).transpose(1, 2)
        v = self.v(x).view(B, T, self.h, self.dk).transpose(1, 2)
        scores = q @ k.transpose(-1, -2)  # T5: no 1/sqrt(d) scaling (folded into the q init)
        if position_bias is None:
            position_bias = self.compute_bias(T, x.device)
            if mask_bias is not None:
                position_bias = position_bias + mask_bias
        attn = self.drop(F.softmax(scores + position_bias, dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(B, T, self.h * self.dk)
        return self.o(out), position_bias


class _T5Block(nn.Module):
    def __init__(self, d, h, dk, dff, has_rel_bias, norm_cls):
        super().__init__()
        self.attn_norm = norm_cls(d)
        self.attn = _T5Attention(d, h, dk, has_rel_bias)
        self.ff_norm = norm_cls(d)
        self.wi = nn.Linear(d, dff, bias=False)
        self.wo = nn.Linear(dff, d, bias=False)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, position_bias, mask_bias):
        a, position_bias = self.attn(self.attn_norm(x), position_bias, mask_bias)
        x = x + self.drop(a)
        x = x + self.drop(self.wo(self.drop(F.relu(self.wi(self.ff_norm(x))))))
        return x, position_bias


class _T5Encoder(nn.Module):
    def __init__(self, V=100, d=64, h=4, dk=16, dff=128, n_layers=2, norm_cls=_T5RMSNorm, padding_idx=None):
        super().__init__()
        self.d = d
        self.shared = nn.Embedding(V, d, padding_idx=padding_idx)
        self.blocks = nn.ModuleList([_T5Block(d, h, dk, dff, i == 0, norm_cls) for i in range(n_layers)])
        self.final_norm = norm_cls(d)
        self.drop = nn.Dropout(0.1)

    def t5_init(self, factor=1.0):
        # the initialisation of T5PreTrainedModel._init_weights
        d, dff = self.d, self.blocks[0].wi.out_features
        a0 = self.blocks[0].attn
        h, dk = a0.h, a0.dk
        nn.init.normal_(self.shared.weight, 0.0, factor * 1.0)
        for b in self.blocks:
            nn.init.normal_(b.wi.weight, 0.0, factor * d ** -0.5)
            nn.init.normal_(b.wo.weight, 0.0, factor * dff ** -0.5)
            nn.init.normal_(b.attn.q.weight, 0.0, factor * (d * dk) ** -0.5)
            nn.init.normal_(b.attn.k.weight, 0.0, factor * d ** -0.5)
            nn.init.normal_(b.attn.v.weight, 0.0, factor * d ** -0.5)
            nn.init.normal_(b.attn.o.weight, 0.0, factor * (h * dk) ** -0.5)
            if b.attn.relative_attention_bias is not None:
                nn.init.normal_(b.attn.relative_attention_bias.weight, 0.0, factor * d ** -0.5)
        return self

    def forward(self, input_ids, attention_mask):
        x = self.drop(self.shared(input_ids))
        mask_bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        pb = None
        for b in self.blocks:
            x, pb = b(x, pb, mask_bias)
        x = self.drop(self.final_norm(x))
        # tied LM head, rescaled as in T5
        return (x * self.d ** -0.5) @ self.shared.weight.t()


def _t5_batch(B=8, T=16, V=100, pad_id=0):
    lengths = torch.randint(10, T + 1, (B,))
    lengths[0], lengths[-1] = T, 10
    attn = (torch.arange(T)[None, :] < lengths[:, None]).long()
    ids = torch.randint(3, V, (B, T))
    ids = torch.where(attn.bool(), ids, torch.full_like(ids, pad_id))
    labels = ids.clone()
    corrupt = (torch.rand(B, T) < 0.3) & attn.bool()
    labels[~corrupt] = -100            # only corrupted positions are scored
    ids = torch.where(corrupt, torch.full_like(ids, 2), ids)  # 2 = sentinel/mask id
    return ids, attn, labels


class _VQVAE(nn.Module):
    def __init__(self, K=32, D=16, beta=0.25):
        super().__init__()
        self.beta = beta
        self.encoder = nn.Sequential(nn.Conv2d(3, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
                                     nn.Conv2d(32, D, 1))
        self.codebook = nn.Embedding(K, D)
        self.decoder = nn.Sequential(nn.ConvTranspose2d(D, 32, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(32, 3, 4, 2, 1))
        for mod in self.modules():
            if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                nn.init.zeros_(mod.bias)

    @torch.no_grad()
    def init_codebook_from_data(self, x):
        # data-dependent codebook init (random encoder outputs), as in Jukebox / SoundStream
        z = self.encoder(x).permute(0, 2, 3, 1).reshape(-1, self.codebook.embedding_dim)
        self.codebook.weight.copy_(z[torch.randperm(z.shape[0])[: self.codebook.num_embeddings]])
        return self

    def nearest(self, z):
        B, D, H, W = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, D)
        d2 = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.weight.t() \
            + self.codebook.weight.pow(2).sum(1)[None]
        idx = d2.argmin(1)
        return self.codebook(idx).view(B, H, W, D).permute(0, 3, 1, 2)

    def quantize(self, z):
        q = self.nearest(z)
        codebook_loss = F.mse_loss(q, z.detach())
        commitment_loss = F.mse_loss(z, q.detach())
        z_q = z + (q - z).detach()  # straight-through estimator
        return z_q, codebook_loss + self.beta * commitment_loss

    def forward(self, x):
        z = self.encoder(x)
        z_q, vq_loss = self.quantize(z)
        return self.decoder(z_q), vq_loss


def _vq_loss(out, target):
    recon, vq_loss = out
    return F.mse_loss(recon, target) + vq_loss


class _DLRM(nn.Module):
    def __init__(self, n_dense=13, table_sizes=(50, 30, 20), d=16, tables_in_list=False):
        super().__init__()
        self.bot = nn.Sequential(nn.Linear(n_dense, 64), nn.ReLU(), nn.Linear(64, d), nn.ReLU())
        tables = [nn.EmbeddingBag(n, d, mode="sum") for n in table_sizes]
        for t, n in zip(tables, table_sizes):
            nn.init.uniform_(t.weight, -math.sqrt(1 / n), math.sqrt(1 / n))  # DLRM's table init
        self.emb = tables if tables_in_list else nn.ModuleList(tables)
        nf = 1 + len(table_sizes)
        self.top = nn.Sequential(nn.Linear(d + nf * (nf - 1) // 2, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                 nn.Linear(32, 1))
        for mod in self.modules():
            if isinstance(mod, nn.Linear):  # DLRM's MLP init
                m_, n_ = mod.out_features, mod.in_features
                nn.init.normal_(mod.weight, 0.0, math.sqrt(2 / (m_ + n_)))
                nn.init.normal_(mod.bias, 0.0, math.sqrt(1 / m_))

    def forward(self, dense, sparse):
        x = self.bot(dense)
        ly = [t(sparse[:, i:i + 1]) for i, t in enumerate(self.emb)]
        T = torch.stack([x] + ly, dim=1)  # B, F, d
        Z = torch.bmm(T, T.transpose(1, 2))
        li, lj = torch.tril_indices(T.shape[1], T.shape[1], offset=-1)
        return self.top(torch.cat([x, Z[:, li, lj]], dim=1)).squeeze(1)


def _dlrm_batch(B=64, table_sizes=(50, 30, 20)):
    dense = torch.randn(B, 13)  # log-transformed + standardised counts
    sparse = torch.stack([torch.randint(0, n, (B,)) for n in table_sizes], 1)
    score = dense[:, 0] + dense[:, 1] - dense[:, 2] + (sparse[:, 0] % 2).float() - 0.5
    y = (score > score.median()).float()  # balanced clicks / non-clicks
    return dense, sparse, y


class _DuelingHead(nn.Module):
    def __init__(self, d, A):
        super().__init__()
        self.value = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 1))
        self.adv = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, A))

    def forward(self, h):
        v, a = self.value(h), self.adv(h)
        return v + a - a.mean(dim=1, keepdim=True)


class _DuelingDQN(nn.Module):
    def __init__(self, obs=8, A=4, head_cls=_DuelingHead):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = head_cls(64, A)

    def forward(self, x):
        return self.head(self.trunk(x))


def _dqn_setup(m, B=32, obs=8, A=4):
    import copy
    target_net = copy.deepcopy(m).eval()
    s, s2 = torch.randn(B, obs), torch.randn(B, obs)
    actions = _balanced(B, A)
    reward = torch.randn(B).clamp(-1, 1)
    done = (torch.rand(B) < 0.1).float()
    with torch.no_grad():  # double-DQN target from a frozen target network
        a_star = m(s2).argmax(1, keepdim=True)
        td_target = reward + 0.99 * (1 - done) * target_net(s2).gather(1, a_star).squeeze(1)

    def td_loss(q, y):
        return F.smooth_l1_loss(q.gather(1, actions[:, None]).squeeze(1), y)

    return s, td_target, td_loss


# ====================================================================== healthy cases
@case
def ok_resnext_grouped_bottleneck_classifier_sgd():
    _seed()

    class Bottleneck(nn.Module):
        # ResNeXt bottleneck, shrunk: cardinality 8 x width 4
        def __init__(self, cin, cout, stride, card=8, width=4):
            super().__init__()
            d = card * width
            self.conv1 = nn.Conv2d(cin, d, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(d)
            self.conv2 = nn.Conv2d(d, d, 3, stride, 1, groups=card, bias=False)
            self.bn2 = nn.BatchNorm2d(d)
            self.conv3 = nn.Conv2d(d, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return F.relu(out + (x if self.down is None else self.down(x)))

    class ResNeXtTiny(nn.Module):
        def __init__(self, n_classes=8):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
            self.layer1 = Bottleneck(32, 64, 1)
            self.layer2 = Bottleneck(64, 128, 2)
            self.fc = nn.Linear(128, n_classes)
            for mod in self.modules():  # torchvision ResNet init
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(mod, nn.BatchNorm2d):
                    nn.init.ones_(mod.weight)
                    nn.init.zeros_(mod.bias)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    m = ResNeXtTiny()
    x = _smooth_images(24, 3, 16, 16)
    y = _balanced(24, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4),
                steps=15, expect=[])


@case
def ok_sknet_selective_kernel_branch_softmax_train():
    # softmax over the *branch* axis (dim=1 of B, M, C, 1, 1) is SKNet's design, not a wrong dim
    _seed()
    m = _SKNet()
    x = _smooth_images(16, 3, 16, 16)
    y = _balanced(16, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_hrnet_two_resolution_exchange_unit_segmentation():
    _seed()

    def cbr(cin, cout, stride=1):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class BasicBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
            self.c2, self.b2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x):
            return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))

    class HRNetTiny(nn.Module):
        def __init__(self, n_classes=3):
            super().__init__()
            self.stem = cbr(3, 16)
            self.branch_hi = BasicBlock(16)
            self.transition = cbr(16, 32, stride=2)
            self.branch_lo = BasicBlock(32)
            # fusion: low->high by 1x1 conv + BN + upsample, high->low by strided 3x3 conv + BN
            self.lo_to_hi = nn.Sequential(nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16))
            self.hi_to_lo = nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32))
            self.head = nn.Sequential(nn.Conv2d(48, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(inplace=True),
                                      nn.Conv2d(48, n_classes, 1))

        def forward(self, x):
            x = self.stem(x)
            hi = self.branch_hi(x)
            lo = self.branch_lo(self.transition(x))
            hi2 = F.relu(hi + F.interpolate(self.lo_to_hi(lo), size=hi.shape[-2:], mode="nearest"))
            lo2 = F.relu(lo + self.hi_to_lo(hi))
            feat = torch.cat([hi2, F.interpolate(lo2, size=hi2.shape[-2:], mode="bilinear", align_corners=False)], 1)
            return self.head(feat)

    m = HRNetTiny()
    fields = F.interpolate(torch.randn(8, 3, 4, 4), size=(24, 24), mode="bilinear", align_corners=False)
    y = fields.argmax(1)  # 3 roughly equal-sized regions per image
    x = fields + 0.3 * torch.randn(8, 3, 24, 24)
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_fpn_neck_top_down_pyramid_eval():
    # FPN laterals and 3x3 output convs carry no activation, by design (Lin et al. 2017)
    _seed()

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            def cbr(cin, cout, s):
                return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))
            self.c2 = nn.Sequential(cbr(3, 16, 2), cbr(16, 16, 1))
            self.c3 = nn.Sequential(cbr(16, 32, 2), cbr(32, 32, 1))
            self.c4 = nn.Sequential(cbr(32, 64, 2), cbr(64, 64, 1))

        def forward(self, x):
            c2 = self.c2(x)
            c3 = self.c3(c2)
            return c2, c3, self.c4(c3)

    class FPN(nn.Module):
        def __init__(self, in_channels=(16, 32, 64), out=32):
            super().__init__()
            self.lateral = nn.ModuleList([nn.Conv2d(c, out, 1) for c in in_channels])
            self.output = nn.ModuleList([nn.Conv2d(out, out, 3, padding=1) for _ in in_channels])
            for mod in self.modules():  # torchvision FeaturePyramidNetwork init
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_uniform_(mod.weight, a=1)
                    nn.init.zeros_(mod.bias)

        def forward(self, feats):
            lat = [l(f) for l, f in zip(self.lateral, feats)]
            p = [lat[-1]]
            for l in reversed(lat[:-1]):
                p.insert(0, l + F.interpolate(p[0], size=l.shape[-2:], mode="nearest"))
            return tuple(o(t) for o, t in zip(self.output, p))

    class Detector(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = Backbone()
            self.fpn = FPN()

        def forward(self, x):
            return self.fpn(self.backbone(x))

    m = Detector().eval()
    return dict(model=m, inputs=_smooth_images(4, 3, 64, 64, base=8), expect=[])


@case
def ok_detr_learned_queries_fixed_matching_loss():
    _seed()

    class TinyDETR(nn.Module):
        # modelled on the minimal "DETRdemo" of the DETR authors
        def __init__(self, num_classes=4, hidden=64, nheads=4, n_q=16):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                          nn.Conv2d(32, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
            self.conv = nn.Conv2d(64, hidden, 1)
            self.transformer = nn.Transformer(hidden, nheads, 1, 2, dim_feedforward=128, dropout=0.1)
            self.linear_class = nn.Linear(hidden, num_classes + 1)
            self.linear_bbox = nn.Linear(hidden, 4)
            self.query_pos = nn.Parameter(torch.rand(n_q, hidden))
            self.row_embed = nn.Parameter(torch.rand(16, hidden // 2))
            self.col_embed = nn.Parameter(torch.rand(16, hidden // 2))

        def forward(self, x):
            h = self.conv(self.backbone(x))
            B, _, H, W = h.shape
            pos = torch.cat([self.col_embed[:W].unsqueeze(0).repeat(H, 1, 1),
                             self.row_embed[:H].unsqueeze(1).repeat(1, W, 1)], dim=-1).flatten(0, 1).unsqueeze(1)
            src = pos + h.flatten(2).permute(2, 0, 1)  # (HW, B, hidden), sequence-first
            tgt = self.query_pos.unsqueeze(1).repeat(1, B, 1)
            hs = self.transformer(src, tgt).transpose(0, 1)  # B, Q, hidden
            return self.linear_class(hs), self.linear_bbox(hs).sigmoid()

    m = TinyDETR()
    B, Q = 4, 16
    x = _smooth_images(B, 3, 32, 32)
    n_obj = torch.tensor([3, 5, 2, 4])
    matched = (torch.arange(Q)[None, :] < n_obj[:, None]).float()
    labels = torch.where(matched.bool(), _balanced(B * Q, 4).view(B, Q), torch.full((B, Q), 4))
    boxes = torch.cat([0.2 + 0.6 * torch.rand(B, Q, 2), 0.1 + 0.3 * torch.rand(B, Q, 2)], -1) * matched[..., None]
    class_w = torch.ones(5)
    class_w[-1] = 0.1  # DETR's eos_coef for "no object"

    def set_loss(out, tgt_boxes):
        # Hungarian-free: query i is matched to ground-truth object i
        logits, pred = out
        ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), weight=class_w)
        l1 = (F.l1_loss(pred, tgt_boxes, reduction="none").sum(-1) * matched).sum() / matched.sum()
        return ce + 5.0 * l1

    return dict(model=m, inputs=x, target=boxes, loss=set_loss, expect=[])


@case
def ok_t5_relative_bias_rmsnorm_span_corruption_train():
    _seed()
    m = _T5Encoder().t5_init()
    ids, attn, labels = _t5_batch()

    def lm_loss(logits, y):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))  # ignore_index=-100

    return dict(model=m, inputs={"input_ids": ids, "attention_mask": attn}, target=labels, loss=lm_loss,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_albert_factorised_embedding_shared_layer_mlm():
    _seed()

    class AlbertTiny(nn.Module):
        def __init__(self, V=120, E=32, H=128, heads=4, n_layers=4, T=16):
            super().__init__()
            self.n_layers = n_layers
            self.word = nn.Embedding(V, E)
            self.pos = nn.Embedding(T, E)
            self.tok_type = nn.Embedding(2, E)
            self.emb_norm = nn.LayerNorm(E)
            self.proj = nn.Linear(E, H)  # factorised embedding: V x 32, then 32 -> 128
            # ONE layer, applied n_layers times (cross-layer parameter sharing)
            self.shared = nn.TransformerEncoderLayer(H, heads, 256, dropout=0.0, activation="gelu", batch_first=True)
            self.mlm_dense = nn.Linear(H, E)
            self.mlm_norm = nn.LayerNorm(E)
            self.mlm_bias = nn.Parameter(torch.zeros(V))
            self.apply(self._init)

        @staticmethod
        def _init(mod):  # BERT/ALBERT init, initializer_range = 0.02
            if isinstance(mod, nn.Linear):
                nn.init.normal_(mod.weight, 0.0, 0.02)
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
            elif isinstance(mod, nn.Embedding):
                nn.init.normal_(mod.weight, 0.0, 0.02)

        def forward(self, input_ids, token_type_ids):
            pos = torch.arange(input_ids.shape[1], device=input_ids.device)
            e = self.emb_norm(self.word(input_ids) + self.pos(pos)[None] + self.tok_type(token_type_ids))
            h = self.proj(e)
            for _ in range(self.n_layers):
                h = self.shared(h)
            m_ = self.mlm_norm(F.gelu(self.mlm_dense(h)))
            return m_ @ self.word.weight.t() + self.mlm_bias  # decoder tied to the word embedding

    m = AlbertTiny()
    B, T, V = 16, 16, 120
    ids = torch.randint(5, V, (B, T))
    tt = (torch.arange(T)[None, :] >= 8).long().expand(B, T).contiguous()
    labels = ids.clone()
    masked = torch.rand(B, T) < 0.15
    masked[:, 3] = True
    labels[~masked] = -100
    ids = torch.where(masked, torch.full_like(ids, 4), ids)  # 4 = [MASK]

    def mlm_loss(logits, y):
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100)

    return dict(model=m, inputs={"input_ids": ids, "token_type_ids": tt}, target=labels, loss=mlm_loss,
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01), steps=15, expect=[])


@case
def ok_dlrm_pairwise_dot_interaction_ctr():
    _seed()
    m = _DLRM()
    dense, sparse, y = _dlrm_batch()
    return dict(model=m, inputs={"dense": dense, "sparse": sparse}, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20, expect=[])


@case
def ok_tacotron_location_sensitive_attention_step():
    # Tacotron 2 attention: location conv -> location dense with no activation between (as in the
    # original), padded frames masked with -inf before the softmax over time.
    _seed()

    class LocationSensitiveAttention(nn.Module):
        def __init__(self, rnn_dim=64, emb_dim=64, att_dim=64, n_filters=16, kernel=31):
            super().__init__()
            self.query_layer = nn.Linear(rnn_dim, att_dim, bias=False)
            self.memory_layer = nn.Linear(emb_dim, att_dim, bias=False)
            self.v = nn.Linear(att_dim, 1, bias=False)
            self.location_conv = nn.Conv1d(2, n_filters, kernel, padding=(kernel - 1) // 2, bias=False)
            self.location_dense = nn.Linear(n_filters, att_dim, bias=False)
            g = nn.init.calculate_gain("tanh")
            for l in (self.query_layer, self.memory_layer, self.location_dense):
                nn.init.xavier_uniform_(l.weight, gain=g)
            nn.init.xavier_uniform_(self.v.weight)
            nn.init.xavier_uniform_(self.location_conv.weight)
            self.score_mask_value = -float("inf")

        def forward(self, query, memory, attention_weights_cat, mask):
            pm = self.memory_layer(memory)
            pq = self.query_layer(query.unsqueeze(1))
            pl = self.location_dense(self.location_conv(attention_weights_cat).transpose(1, 2))
            energies = self.v(torch.tanh(pq + pl + pm)).squeeze(-1)
            energies = energies.masked_fill(mask, self.score_mask_value)
            w = F.softmax(energies, dim=1)
            context = torch.bmm(w.unsqueeze(1), memory).squeeze(1)
            return context, w

    m = LocationSensitiveAttention().eval()
    B, T = 8, 40
    lengths = torch.randint(25, T + 1, (B,))
    lengths[0] = T
    mask = torch.arange(T)[None, :] >= lengths[:, None]  # True on padding, as in Tacotron 2
    memory = torch.tanh(torch.randn(B, T, 64)) * (~mask)[..., None]  # BiLSTM encoder outputs
    query = torch.tanh(torch.randn(B, 64))  # attention-RNN hidden state
    t = torch.arange(T).float()[None, :]
    centre = lengths[:, None].float() * torch.rand(B, 1) * 0.6 + 2
    prev = torch.softmax(-(t - centre) ** 2 / 8.0, dim=1).masked_fill(mask, 0.0)
    cum = torch.sigmoid(2.0 * (centre - t)).masked_fill(mask, 0.0)
    return dict(model=m, inputs=(query, memory, torch.stack([prev, cum], 1), mask), expect=[])


@case
def ok_wavernn_gru_dual_softmax_coarse_fine():
    _seed()

    class WaveRNNish(nn.Module):
        # 16-bit samples split into coarse (high 8 bits) and fine (low 8 bits), one softmax each
        def __init__(self, h=64, n_mels=8):
            super().__init__()
            self.I_coarse, self.I_fine = nn.Linear(2 + n_mels, h), nn.Linear(3 + n_mels, h)
            self.coarse_rnn = nn.GRU(h, h, batch_first=True)  # sees c_{t-1}, f_{t-1}
            self.fine_rnn = nn.GRU(h, h, batch_first=True)    # additionally sees c_t
            self.O1, self.O2 = nn.Linear(h, h), nn.Linear(h, 256)
            self.O3, self.O4 = nn.Linear(h, h), nn.Linear(h, 256)

        def forward(self, x, mels):
            ic = self.I_coarse(torch.cat([x[..., :2], mels], -1))
            if_ = self.I_fine(torch.cat([x, mels], -1))
            hc = self.coarse_rnn(ic)[0] + ic  # residual around the GRU, as in fatchord's WaveRNN
            hf = self.fine_rnn(if_)[0] + if_
            return self.O2(F.relu(self.O1(hc))), self.O4(F.relu(self.O3(hf)))

    m = WaveRNNish()
    B, T = 8, 32
    t = torch.arange(T + 1).float()[None, :]
    freq = 0.05 + 0.25 * torch.rand(B, 1)
    wave = 0.8 * torch.sin(freq * t + 6.28 * torch.rand(B, 1)) + 0.05 * torch.randn(B, T + 1)
    s = ((wave.clamp(-1, 1) + 1) / 2 * 65535).round().long()
    c, f = s // 256, s % 256
    scale = lambda v: v.float() / 127.5 - 1.0
    x = torch.stack([scale(c[:, :-1]), scale(f[:, :-1]), scale(c[:, 1:])], -1)
    y = torch.stack([c[:, 1:], f[:, 1:]], -1)
    # standardised log-mel conditioning, upsampled from 4 frames to the sample rate
    mels = F.interpolate(torch.randn(B, 8, 4), size=T, mode="linear", align_corners=False).transpose(1, 2)
    mels = (mels - mels.mean()) / mels.std()

    def dual_ce(out, tgt):
        cl, fl = out
        return F.cross_entropy(cl.reshape(-1, 256), tgt[..., 0].reshape(-1)) + \
            F.cross_entropy(fl.reshape(-1, 256), tgt[..., 1].reshape(-1))

    return dict(model=m, inputs=(x, mels), target=y, loss=dual_ce,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def ok_vqvae_straight_through_codebook_commitment():
    _seed()
    x = _smooth_images(8, 3, 16, 16)
    m = _VQVAE().init_codebook_from_data(x)
    return dict(model=m, inputs=x, target=x, loss=_vq_loss, expect=[])


@case
def ok_dueling_double_dqn_td_huber_loss():
    _seed()
    m = _DuelingDQN()
    s, td_target, td_loss = _dqn_setup(m)
    return dict(model=m, inputs=s, target=td_target, loss=td_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=5e-4), steps=20, expect=[])


@case
def ok_ppo_shared_trunk_actor_critic_clipped_loss():
    _seed()

    def layer_init(layer, std=math.sqrt(2), bias_const=0.0):  # CleanRL's PPO init
        nn.init.orthogonal_(layer.weight, std)
        nn.init.constant_(layer.bias, bias_const)
        return layer

    class ActorCritic(nn.Module):
        def __init__(self, obs=8, n_actions=4):
            super().__init__()
            self.trunk = nn.Sequential(layer_init(nn.Linear(obs, 64)), nn.Tanh(),
                                       layer_init(nn.Linear(64, 64)), nn.Tanh())
            self.actor = layer_init(nn.Linear(64, n_actions), std=0.01)
            self.critic = layer_init(nn.Linear(64, 1), std=1.0)

        def forward(self, x):
            h = self.trunk(x)
            return self.actor(h), self.critic(h).squeeze(-1)

    m = ActorCritic()
    obs = torch.randn(64, 8)
    with torch.no_grad():
        logits, values = m(obs)
        dist = torch.distributions.Categorical(logits=logits)
        actions = dist.sample()
        old_logp = dist.log_prob(actions)
    returns = 0.8 * obs[:, 0] - 0.5 * obs[:, 1] + 0.1 * torch.randn(64)
    adv = returns - values
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)

    def ppo_loss(out, ret):
        logits, value = out
        d = torch.distributions.Categorical(logits=logits)
        ratio = (d.log_prob(actions) - old_logp).exp()
        pg = torch.max(-adv * ratio, -adv * ratio.clamp(0.8, 1.2)).mean()
        v_loss = 0.5 * ((value - ret) ** 2).mean()
        return pg + 0.5 * v_loss - 0.01 * d.entropy().mean()

    return dict(model=m, inputs=obs, target=returns, loss=ppo_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=2.5e-4, eps=1e-5), steps=20, expect=[])


@case
def ok_informer_style_timeseries_transformer_forecast():
    _seed()

    class TokenEmbedding(nn.Module):
        def __init__(self, c_in, d):
            super().__init__()
            self.conv = nn.Conv1d(c_in, d, 3, padding=1, padding_mode="circular", bias=False)
            nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")

        def forward(self, x):
            return self.conv(x.transpose(1, 2)).transpose(1, 2)

    class TSTransformer(nn.Module):
        def __init__(self, c_in=3, d=32, pred_len=12, max_len=128):
            super().__init__()
            self.pred_len = pred_len
            self.value_emb = TokenEmbedding(c_in, d)
            pe = torch.zeros(max_len, d)
            pos = torch.arange(max_len).float()[:, None]
            div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
            pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * div), torch.cos(pos * div)
            self.register_buffer("pe", pe)
            self.drop = nn.Dropout(0.05)
            layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.05, activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(d))
            self.projection = nn.Linear(d, c_in)

        def forward(self, x_hist):
            # Informer-style: history followed by a zero placeholder for the horizon
            B, L, C = x_hist.shape
            x = torch.cat([x_hist, x_hist.new_zeros(B, self.pred_len, C)], 1)
            h = self.drop(self.value_emb(x) + self.pe[: x.shape[1]][None])
            return self.projection(self.encoder(h)[:, -self.pred_len:])

    m = TSTransformer()
    B, L, H = 16, 48, 12
    t = torch.arange(L + H).float()[None, :, None]
    period = torch.tensor([12.0, 24.0, 7.0])[None, None, :]
    series = torch.sin(2 * math.pi * t / period + 6.28 * torch.rand(B, 1, 3)) + 0.1 * torch.randn(B, L + H, 3)
    series = (series - series[:, :L].mean((0, 1))) / series[:, :L].std((0, 1))  # StandardScaler on train part
    return dict(model=m, inputs=series[:, :L], target=series[:, L:], loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_tabtransformer_column_embeddings_mlp():
    _seed()

    class TabTransformer(nn.Module):
        def __init__(self, cards=(5, 7, 3, 10), n_cont=3, d=32, n_classes=2):
            super().__init__()
            self.register_buffer("offsets", torch.tensor([0] + list(cards[:-1])).cumsum(0))
            self.cat_emb = nn.Embedding(sum(cards), d)         # one table, per-column offsets
            self.col_emb = nn.Parameter(torch.randn(len(cards), d) * 0.02)  # column identity
            layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.1, batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.cont_norm = nn.LayerNorm(n_cont)
            self.mlp = nn.Sequential(nn.Linear(len(cards) * d + n_cont, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                     nn.Linear(32, n_classes))

        def forward(self, x_categ, x_cont):
            tok = self.cat_emb(x_categ + self.offsets) + self.col_emb
            ctx = self.transformer(tok).flatten(1)
            return self.mlp(torch.cat([ctx, self.cont_norm(x_cont)], 1))

    m = TabTransformer()
    B = 64
    cards = (5, 7, 3, 10)
    x_categ = torch.stack([torch.randint(0, c, (B,)) for c in cards], 1)
    x_cont = torch.randn(B, 3)
    score = (x_categ[:, 0] % 2).float() + 0.5 * x_cont[:, 0] - 0.3 * (x_categ[:, 2] == 1).float()
    y = (score > score.median()).long()
    return dict(model=m, inputs={"x_categ": x_categ, "x_cont": x_cont}, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_attention_gated_unet_binary_segmentation():
    _seed()

    def conv_block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class AttentionGate(nn.Module):
        def __init__(self, f_g, f_l, f_int):
            super().__init__()
            self.W_g = nn.Sequential(nn.Conv2d(f_g, f_int, 1), nn.BatchNorm2d(f_int))
            self.W_x = nn.Sequential(nn.Conv2d(f_l, f_int, 1), nn.BatchNorm2d(f_int))
            self.psi = nn.Sequential(nn.Conv2d(f_int, 1, 1), nn.BatchNorm2d(1), nn.Sigmoid())

        def forward(self, g, x):
            return x * self.psi(F.relu(self.W_g(g) + self.W_x(x)))

    class UpConv(nn.Sequential):
        def __init__(self, cin, cout):
            super().__init__(nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class AttUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2, self.bott = conv_block(3, 16), conv_block(16, 32), conv_block(32, 64)
            self.up2, self.att2, self.dec2 = UpConv(64, 32), AttentionGate(32, 32, 16), conv_block(64, 32)
            self.up1, self.att1, self.dec1 = UpConv(32, 16), AttentionGate(16, 16, 8), conv_block(32, 16)
            self.out = nn.Conv2d(16, 1, 1)

        def forward(self, x):
            e1 = self.enc1(x)
            e2 = self.enc2(F.max_pool2d(e1, 2))
            b = self.bott(F.max_pool2d(e2, 2))
            d2 = self.up2(b)
            d2 = self.dec2(torch.cat([self.att2(d2, e2), d2], 1))
            d1 = self.up1(d2)
            d1 = self.dec1(torch.cat([self.att1(d1, e1), d1], 1))
            return self.out(d1)

    m = AttUNet()
    field = F.interpolate(torch.randn(8, 1, 4, 4), size=(32, 32), mode="bilinear", align_corners=False)
    mask = (field > 0).float()
    x = torch.cat([field, field.abs(), torch.zeros_like(field)], 1) + 0.3 * torch.randn(8, 3, 32, 32)
    x = (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)
    return dict(model=m, inputs=x, target=mask, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_se_resnet_reduction16_narrow_channels():
    # reduction 16 on 32 / 64 channels gives 2 / 4 hidden units in the excitation MLP
    _seed()

    class SEModule(nn.Module):
        def __init__(self, c, r=16):
            super().__init__()
            self.fc1 = nn.Conv2d(c, c // r, 1)
            self.fc2 = nn.Conv2d(c // r, c, 1)

        def forward(self, x):
            s = x.mean((2, 3), keepdim=True)
            return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))

    class SEBasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.se = SEModule(cout)
            self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.se(self.bn2(self.conv2(out)))
            return F.relu(out + self.shortcut(x))

    class SEResNetTiny(nn.Module):
        def __init__(self, n_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
            self.layer1 = SEBasicBlock(32, 32)
            self.layer2 = SEBasicBlock(32, 64, 2)
            self.fc = nn.Linear(64, n_classes)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    m = SEResNetTiny()
    x = _smooth_images(30, 3, 16, 16, base=2)
    y = _balanced(30, 10)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True), steps=15, expect=[])


@case
def ok_xception_separable_conv_blocks_eval():
    # SeparableConv2d = depthwise conv directly followed by pointwise conv, no activation between:
    # that is Xception's design, not a collapsed pair of linear maps (depthwise is spatial-only).
    _seed()

    class SeparableConv2d(nn.Sequential):
        def __init__(self, cin, cout):
            super().__init__(nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
                             nn.Conv2d(cin, cout, 1, bias=False))

    class XBlock(nn.Module):
        def __init__(self, cin, cout, reps, stride, start_with_relu=True):
            super().__init__()
            layers = []
            for i in range(reps):
                layers += [nn.ReLU(), SeparableConv2d(cin if i == 0 else cout, cout), nn.BatchNorm2d(cout)]
            if not start_with_relu:
                layers = layers[1:]
            if stride != 1:
                layers.append(nn.MaxPool2d(3, stride, 1))
            self.rep = nn.Sequential(*layers)
            self.skip = None
            if cin != cout or stride != 1:
                self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return self.rep(x) + (x if self.skip is None else self.skip(x))

    class XceptionTiny(nn.Module):
        def __init__(self, n_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
            self.entry = XBlock(32, 64, 2, 2, start_with_relu=False)
            self.middle = XBlock(64, 64, 3, 1)
            self.exit = nn.Sequential(SeparableConv2d(64, 128), nn.BatchNorm2d(128), nn.ReLU())
            self.fc = nn.Linear(128, n_classes)
            for mod in self.modules():  # timm / Cadene Xception init
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.exit(self.middle(self.entry(self.stem(x))))
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    m = XceptionTiny().eval()
    return dict(model=m, inputs=_smooth_images(8, 3, 32, 32, base=2), expect=[])


@case
def ok_mobilevit_block_unfold_attention_fold():
    _seed()

    class MobileViTBlock(nn.Module):
        def __init__(self, c=32, d=48, depth=2, patch=2, heads=4):
            super().__init__()
            self.p = patch
            self.local = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.SiLU())
            self.to_d = nn.Conv2d(c, d, 1, bias=False)
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, dropout=0.0, activation=F.silu,
                                               batch_first=True, norm_first=True)
            self.transformer = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.to_c = nn.Sequential(nn.Conv2d(d, c, 1, bias=False), nn.BatchNorm2d(c), nn.SiLU())
            self.fuse = nn.Sequential(nn.Conv2d(2 * c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.SiLU())

        def forward(self, x):
            y = self.to_d(self.local(x))
            B, D, H, W = y.shape
            p = self.p
            # unfold into (B * p * p) sequences of (H/p * W/p) patches, batch kept separate
            y = y.reshape(B, D, H // p, p, W // p, p).permute(0, 3, 5, 2, 4, 1).reshape(B * p * p, -1, D)
            y = self.norm(self.transformer(y))
            y = y.reshape(B, p, p, H // p, W // p, D).permute(0, 5, 3, 1, 4, 2).reshape(B, D, H, W)
            return self.fuse(torch.cat([x, self.to_c(y)], 1))

    class MobileViTTiny(nn.Module):
        def __init__(self, n_classes=5):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU(),
                                      nn.Conv2d(16, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.SiLU())
            self.mvit = MobileViTBlock()
            self.fc = nn.Linear(32, n_classes)

        def forward(self, x):
            return self.fc(F.adaptive_avg_pool2d(self.mvit(self.stem(x)), 1).flatten(1))

    m = MobileViTTiny()
    x = _smooth_images(20, 3, 32, 32)
    y = _balanced(20, 5)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(label_smoothing=0.1),
                optimizer=torch.optim.AdamW(m.parameters(), lr=2e-3, weight_decay=0.01), steps=15, expect=[])


class _EluLinearAttention(nn.Module):
    """Linear attention with the elu(x)+1 feature map (Katharopoulos et al.)."""

    def __init__(self, d, h, causal=False):
        super().__init__()
        self.h, self.causal = h, causal
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.h, D // self.h).unbind(2)
        q, k = F.elu(q) + 1, F.elu(k) + 1
        if self.causal:
            kv = torch.einsum("bnhd,bnhe->bnhde", k, v).cumsum(1)
            z = 1.0 / (torch.einsum("bnhd,bnhd->bnh", q, k.cumsum(1)) + 1e-6)
            o = torch.einsum("bnhd,bnhde,bnh->bnhe", q, kv, z)
        else:
            kv = torch.einsum("bnhd,bnhe->bhde", k, v)
            z = 1.0 / (torch.einsum("bnhd,bhd->bnh", q, k.sum(1)) + 1e-6)
            o = torch.einsum("bnhd,bhde,bnh->bnhe", q, kv, z)
        return self.out(o.reshape(B, N, D))


class _LinearAttnBlock(nn.Module):
    def __init__(self, d, h, causal):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = _EluLinearAttention(d, h, causal)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.ff(self.ln2(x))


@case
def ok_linear_attention_elu_feature_map_classifier():
    _seed()

    class LinearTransformer(nn.Module):
        def __init__(self, V=200, d=64, h=4, T=32, n_classes=3):
            super().__init__()
            self.tok = nn.Embedding(V, d)
            self.pos = nn.Parameter(torch.zeros(1, T, d))
            nn.init.trunc_normal_(self.pos, std=0.02)
            self.blocks = nn.ModuleList([_LinearAttnBlock(d, h, causal=False) for _ in range(2)])
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, n_classes)

        def forward(self, ids):
            x = self.tok(ids) + self.pos[:, : ids.shape[1]]
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln(x).mean(1))

    m = LinearTransformer()
    y = _balanced(24, 3)
    ids = torch.randint(3, 200, (24, 32))
    ids[:, :4] = y[:, None]  # class-revealing prefix tokens 0/1/2
    return dict(model=m, inputs=ids, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_causal_linear_attention_lm_prefix_sums():
    _seed()

    class CausalLinearLM(nn.Module):
        def __init__(self, V=64, d=64, h=4, T=32):
            super().__init__()
            self.tok = nn.Embedding(V, d)
            nn.init.normal_(self.tok.weight, std=0.02)
            self.pos = nn.Embedding(T, d)
            nn.init.normal_(self.pos.weight, std=0.02)
            self.blocks = nn.ModuleList([_LinearAttnBlock(d, h, causal=True) for _ in range(2)])
            self.ln = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, V, bias=False)

        def forward(self, ids):
            x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))[None]
            for b in self.blocks:
                x = b(x)
            return self.lm_head(self.ln(x))

    m = CausalLinearLM()
    seq = torch.randint(0, 64, (8, 33))

    def next_token_loss(logits, y):
        return F.cross_entropy(logits.flatten(0, 1), y.flatten())

    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:], loss=next_token_loss, expect=[])


@case
def ok_weightnorm_glu_gated_cnn_text_classifier():
    _seed()

    class GatedConvBlock(nn.Module):
        def __init__(self, d, k=3):
            super().__init__()
            conv = nn.Conv1d(d, 2 * d, k, padding=k // 2)
            nn.init.normal_(conv.weight, 0.0, math.sqrt(4 * (1 - 0.2) / (k * d)))  # fairseq fconv init
            nn.init.zeros_(conv.bias)
            self.conv = nn.utils.parametrizations.weight_norm(conv)

        def forward(self, x):
            return x + F.glu(self.conv(x), dim=1)  # gated linear unit over channels

    class GCNNClassifier(nn.Module):
        def __init__(self, V=200, d=64, n_classes=4):
            super().__init__()
            self.emb = nn.Embedding(V, d, padding_idx=0)
            nn.init.normal_(self.emb.weight, 0.0, 0.1)  # fairseq fconv init
            with torch.no_grad():
                self.emb.weight[0].zero_()
            self.blocks = nn.Sequential(*[GatedConvBlock(d) for _ in range(3)])
            self.drop = nn.Dropout(0.2)
            self.fc = nn.Linear(d, n_classes)

        def forward(self, ids):
            h = self.blocks(self.emb(ids).transpose(1, 2))
            return self.fc(self.drop(h.max(dim=2).values))

    m = GCNNClassifier()
    B, T = 32, 24
    y = _balanced(B, 4)
    ids = torch.randint(5, 200, (B, T))
    ids[torch.arange(B), torch.randint(0, 12, (B,))] = y + 1  # one class keyword per sentence
    lengths = torch.randint(14, T + 1, (B,))
    ids = ids.masked_fill(torch.arange(T)[None, :] >= lengths[:, None], 0)  # right padding
    return dict(model=m, inputs=ids, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_rbf_network_gaussian_kernels_regression():
    _seed()

    class RBFNet(nn.Module):
        def __init__(self, centers, sigma):
            super().__init__()
            self.centers = nn.Parameter(centers.clone())
            self.log_sigma = nn.Parameter(torch.full((centers.shape[0],), math.log(sigma)))
            self.out = nn.Linear(centers.shape[0], 1)

        def forward(self, x):
            d2 = (x[:, None, :] - self.centers[None]).pow(2).sum(-1)  # B, K
            phi = torch.exp(-d2 / (2 * torch.exp(2 * self.log_sigma)))
            return self.out(phi)

    x = torch.randn(64, 2)
    y = (torch.sin(1.5 * x[:, 0]) * torch.cos(x[:, 1]))[:, None]
    centers = x[torch.randperm(64)[:16]]
    sigma = torch.cdist(centers, centers).median().item()  # median heuristic for the width
    m = RBFNet(centers, sigma)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def ok_mc_dropout_heteroscedastic_regressor_training():
    # dropout stays on because this IS a training step (with target); MC sampling happens later
    _seed()

    class MCDropoutNet(nn.Module):
        def __init__(self, d_in=6, h=64, p=0.1):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(d_in, h), nn.ReLU(), nn.Dropout(p),
                                     nn.Linear(h, h), nn.ReLU(), nn.Dropout(p), nn.Linear(h, 2))

        def forward(self, x):
            mean, log_var = self.net(x).unbind(-1)
            return torch.stack([mean, log_var.clamp(-6, 6)], -1)

    def gaussian_nll(out, y):
        return F.gaussian_nll_loss(out[:, 0], y, out[:, 1].exp())

    m = MCDropoutNet()
    x = torch.randn(64, 6)
    y = x[:, 0] - 0.5 * x[:, 1] ** 2 + 0.3 * x[:, 2] + 0.1 * (1 + x[:, 3].abs()) * torch.randn(64)
    return dict(model=m, inputs=x, target=y, loss=gaussian_nll,
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3, weight_decay=1e-4), steps=20, expect=[])


@case
def ok_resnext3d_video_clip_grouped_conv3d_eval():
    _seed()

    class Bottleneck3d(nn.Module):
        def __init__(self, cin, cout, stride, card=8):
            super().__init__()
            d = cout // 2
            self.conv1, self.bn1 = nn.Conv3d(cin, d, 1, bias=False), nn.BatchNorm3d(d)
            self.conv2, self.bn2 = nn.Conv3d(d, d, 3, stride, 1, groups=card, bias=False), nn.BatchNorm3d(d)
            self.conv3, self.bn3 = nn.Conv3d(d, cout, 1, bias=False), nn.BatchNorm3d(cout)
            self.down = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            return F.relu(self.bn3(self.conv3(out)) + self.down(x))

    class ResNeXt3DTiny(nn.Module):
        def __init__(self, n_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv3d(3, 32, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False),
                                      nn.BatchNorm3d(32), nn.ReLU(inplace=True), nn.MaxPool3d(3, 2, 1))
            self.layer1 = Bottleneck3d(32, 64, 1)
            self.layer2 = Bottleneck3d(64, 128, 2)
            self.fc = nn.Linear(128, n_classes)
            for mod in self.modules():
                if isinstance(mod, nn.Conv3d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(F.adaptive_avg_pool3d(x, 1).flatten(1))

    m = ResNeXt3DTiny().eval()
    clip = F.interpolate(torch.randn(4, 3, 2, 2, 2), size=(8, 32, 32), mode="trilinear", align_corners=False)
    clip = clip + 0.3 * torch.randn_like(clip)
    clip = (clip - clip.mean()) / clip.std()
    return dict(model=m, inputs=clip, expect=[])


# ====================================================================== buggy cases
@case
def sknet_branch_attention_softmax_over_batch():
    # BUG: the branch-attention softmax is taken over dim 0 (the batch) instead of dim 1 (branches).
    _seed()

    class SKConvBuggy(_SKConv):
        def attention(self, a):
            return F.softmax(a, dim=0)

    m = _SKNet(sk_cls=SKConvBuggy)
    x = _smooth_images(16, 3, 16, 16)
    y = _balanced(16, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["softmax-wrong-dim", "batch-mixing"], where=["sk"])


@case
def dueling_dqn_advantage_mean_over_whole_batch():
    # BUG: a.mean() without dim averages the advantages over the whole batch, so each sample's Q
    # values depend on the other states in the batch.
    _seed()

    class DuelingHeadBuggy(_DuelingHead):
        def forward(self, h):
            v, a = self.value(h), self.adv(h)
            return v + a - a.mean()

    m = _DuelingDQN(head_cls=DuelingHeadBuggy)
    s, td_target, td_loss = _dqn_setup(m, B=16)
    return dict(model=m, inputs=s, target=td_target, loss=td_loss,
                expect=["batch-mixing"], where=["head"])


@case
def dlrm_embedding_tables_in_python_list():
    # BUG: the embedding tables are kept in a plain Python list, so m.parameters() (and the
    # optimizer) never see them; the categorical features never learn.
    _seed()
    m = _DLRM(tables_in_list=True)
    dense, sparse, y = _dlrm_batch()
    return dict(model=m, inputs={"dense": dense, "sparse": sparse}, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20, expect=["untrained-parameter"])


@case
def t5_rmsnorm_without_eps_on_zero_padding_embeddings():
    # BUG: hand-written RMSNorm without eps; padding tokens embed to exact zero vectors
    # (padding_idx=0), so x * rsqrt(mean(x^2)) = 0 * inf = NaN in the first norm.
    _seed()

    class RMSNormNoEps(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(d))

        def forward(self, x):
            return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True))

    m = _T5Encoder(norm_cls=RMSNormNoEps, padding_idx=0)
    ids, attn, labels = _t5_batch(pad_id=0)

    def lm_loss(logits, y):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    return dict(model=m, inputs={"input_ids": ids, "attention_mask": attn}, target=labels, loss=lm_loss,
                expect=["nonfinite-created"], where=["blocks.0.attn_norm"])


@case
def vqvae_decoder_fed_codes_without_straight_through():
    # BUG: the decoder gets the raw codebook vectors (no z + (q - z).detach() straight-through) and the
    # commitment term was dropped, so no gradient ever reaches the encoder.
    _seed()

    class VQVAEBuggy(_VQVAE):
        def quantize(self, z):
            q = self.nearest(z)
            return q, F.mse_loss(q, z.detach())

    x = _smooth_images(8, 3, 16, 16)
    m = VQVAEBuggy().init_codebook_from_data(x)
    return dict(model=m, inputs=x, target=x, loss=_vq_loss, expect=["no-gradient"], where=["encoder"])
