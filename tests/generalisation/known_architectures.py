"""Blind batch 43 (seventh session): small faithful versions of well-known architectures (VGG-bn,
MobileNetV3, DenseNet, Inception, nn.Transformer, GPT-2, BERT, wav2vec2, YOLO head, SN-GAN, TabNet,
CapsNet, hypernetworks, neural ODE, PixelCNN, switch MoE, ...), the models people triage without knowing
them, written by a helper that never read the rules; and six subtle bugs in the same models. It found
the linear bottleneck and an idle last expert flagged, spectral-norm layers not seen as layers,
nn.LeakyReLU(True), a sparsemax over the batch hidden behind a batch norm, h[0] for h[:, 0], and a
Hugging Face attention mask passed as key_padding_mask. Same format as cases.py.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=4343): torch.manual_seed(s)


def _balanced(n, k):
    return (torch.arange(n) % k)[torch.randperm(n)]


def _smooth_images(b, c, h, w, k=5):
    # spatially correlated images, standardised per channel (like ImageNet-normalised photos)
    x = F.avg_pool2d(torch.randn(b, c, h + k - 1, w + k - 1), k, stride=1)
    x = x + 0.3 * torch.randn(b, c, h, w)
    return (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)


# ====================================================================== shared building blocks
# ---------------------------------------------------------------- VGG (vgg11_bn-ish, CIFAR size)
class _VGGMini(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [16, 16, "M", 32, 32, "M", 64, 64, "M"]
        layers, c = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))  # identity at 32x32, like (7, 7) at 224x224
        self.classifier = nn.Sequential(
            nn.Linear(64 * 16, 128), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(128, 128), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(128, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


# ---------------------------------------------------------------- BERT-style encoder
class _BertMini(nn.Module):
    def __init__(self, vocab=100, d=64, max_len=32, n_cls=2, cls_from_first_sample=False):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_len, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.emb_norm = nn.LayerNorm(d, eps=1e-12)
        self.emb_drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, 0.1, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.pooler = nn.Sequential(nn.Linear(d, d), nn.Tanh())
        self.cls_drop = nn.Dropout(0.1)
        self.classifier = nn.Linear(d, n_cls)
        self.cls_from_first_sample = cls_from_first_sample
        for m in self.modules():  # BERT init: N(0, 0.02), zero bias, zero padding row
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
                if m.padding_idx is not None:
                    with torch.no_grad():
                        m.weight[m.padding_idx].zero_()

    def forward(self, input_ids, token_type_ids, attention_mask):
        pos = torch.arange(input_ids.size(1), device=input_ids.device)
        h = self.word_embeddings(input_ids) + self.position_embeddings(pos)[None] \
            + self.token_type_embeddings(token_type_ids)
        h = self.emb_drop(self.emb_norm(h))
        h = self.encoder(h, src_key_padding_mask=attention_mask == 0)
        if self.cls_from_first_sample:
            cls = h[0]  # BUG: meant h[:, 0] (the [CLS] token); h is batch-first
        else:
            cls = h[:, 0]
        return self.classifier(self.cls_drop(self.pooler(cls)))


def _bert_batch(b=16, t=12, vocab=100):
    ids = torch.randint(5, vocab, (b, t))
    ids[:, 0] = 1  # [CLS]
    lengths = torch.randint(t - 4, t + 1, (b,))
    lengths[0] = t
    sep1 = lengths // 2
    tt = torch.zeros(b, t, dtype=torch.long)
    mask = torch.zeros(b, t, dtype=torch.long)
    for i in range(b):
        L = int(lengths[i])
        ids[i, int(sep1[i])] = 2  # [SEP] between segments
        ids[i, L - 1] = 2
        ids[i, L:] = 0  # [PAD]
        tt[i, int(sep1[i]) + 1:L] = 1
        mask[i, :L] = 1
    return dict(input_ids=ids, token_type_ids=tt, attention_mask=mask)


# ---------------------------------------------------------------- nn.Transformer seq2seq
class _Seq2SeqTransformer(nn.Module):
    def __init__(self, src_vocab=40, tgt_vocab=40, d=32, max_len=32, pad=0):
        super().__init__()
        self.d = d
        self.src_tok = nn.Embedding(src_vocab, d, padding_idx=pad)
        self.tgt_tok = nn.Embedding(tgt_vocab, d, padding_idx=pad)
        for e in (self.src_tok, self.tgt_tok):  # "Attention is all you need": N(0, d^-1/2), then * sqrt(d)
            nn.init.normal_(e.weight, std=d ** -0.5)
            with torch.no_grad():
                e.weight[pad].zero_()
        pe = torch.zeros(max_len, d)
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe, persistent=False)
        self.drop = nn.Dropout(0.1)
        self.transformer = nn.Transformer(d, 4, 2, 2, 64, dropout=0.1, batch_first=True)
        self.generator = nn.Linear(d, tgt_vocab)

    def embed(self, emb, ids):
        return self.drop(emb(ids) * math.sqrt(self.d) + self.pe[: ids.size(1)])

    def forward(self, src, tgt_in, src_key_padding_mask, tgt_key_padding_mask):
        T = tgt_in.size(1)
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool, device=src.device), 1)
        out = self.transformer(self.embed(self.src_tok, src), self.embed(self.tgt_tok, tgt_in),
                               tgt_mask=causal, src_key_padding_mask=src_key_padding_mask,
                               tgt_key_padding_mask=tgt_key_padding_mask,
                               memory_key_padding_mask=src_key_padding_mask)
        return self.generator(out)


def _seq2seq_batch(b=8, s=10, t=9, vocab=40):
    src = torch.randint(3, vocab, (b, s))
    tgt = torch.randint(3, vocab, (b, t + 1))
    tgt[:, 0] = 1  # <bos>
    src_len = torch.randint(s - 3, s + 1, (b,))
    src_len[0] = s
    tgt_len = torch.randint(t - 2, t + 2, (b,))
    tgt_len[0] = t + 1
    for i in range(b):
        src[i, int(src_len[i]):] = 0
        tgt[i, int(tgt_len[i]) - 1] = 2  # <eos>
        tgt[i, int(tgt_len[i]):] = 0
    tgt_in, tgt_out = tgt[:, :-1].clone(), tgt[:, 1:].clone()
    return src, tgt_in, tgt_out


def _seq2seq_ce(out, y):
    return F.cross_entropy(out.transpose(1, 2), y, ignore_index=0)


# ---------------------------------------------------------------- TabNet-like
def _sparsemax(z, dim=-1):
    # Martins & Astudillo (2016): Euclidean projection onto the simplex; exact zeros by design
    zs, _ = torch.sort(z, dim=dim, descending=True)
    shape = [1] * z.dim()
    shape[dim] = -1
    k = torch.arange(1, z.size(dim) + 1, device=z.device, dtype=z.dtype).view(shape)
    cssv = zs.cumsum(dim) - 1
    support = (k * zs > cssv)
    k_z = support.sum(dim=dim, keepdim=True)
    tau = cssv.gather(dim, k_z - 1) / k_z.to(z.dtype)
    return torch.clamp(z - tau, min=0)


class _Sparsemax(nn.Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, z):
        return _sparsemax(z, self.dim)


class _GLULayer(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.fc = nn.Linear(i, 2 * o, bias=False)
        self.bn = nn.BatchNorm1d(2 * o, momentum=0.02)

    def forward(self, x):
        return F.glu(self.bn(self.fc(x)), dim=-1)


class _FeatTransformer(nn.Module):
    def __init__(self, shared, i, o):
        super().__init__()
        self.shared = shared  # shared across decision steps (registered once more here: same objects)
        self.spec = nn.ModuleList([_GLULayer(o, o), _GLULayer(o, o)])

    def forward(self, x):
        x = self.shared[0](x)
        x = (x + self.shared[1](x)) * math.sqrt(0.5)
        for layer in self.spec:
            x = (x + layer(x)) * math.sqrt(0.5)
        return x


class _AttentiveTransformer(nn.Module):
    def __init__(self, n_a, n_feat, sparsemax_dim=-1):
        super().__init__()
        self.fc = nn.Linear(n_a, n_feat, bias=False)
        self.bn = nn.BatchNorm1d(n_feat, momentum=0.02)
        self.selector = _Sparsemax(sparsemax_dim)

    def forward(self, a, prior):
        return self.selector(self.bn(self.fc(a)) * prior)


class _TabNetMini(nn.Module):
    def __init__(self, n_feat=16, n_cls=3, n_d=8, n_a=8, n_steps=3, gamma=1.3, sparsemax_dim=-1):
        super().__init__()
        self.n_d, self.n_steps, self.gamma = n_d, n_steps, gamma
        self.initial_bn = nn.BatchNorm1d(n_feat, momentum=0.01)
        shared = nn.ModuleList([_GLULayer(n_feat, n_d + n_a), _GLULayer(n_d + n_a, n_d + n_a)])
        self.initial_splitter = _FeatTransformer(shared, n_feat, n_d + n_a)
        self.feat = nn.ModuleList([_FeatTransformer(shared, n_feat, n_d + n_a) for _ in range(n_steps)])
        self.att = nn.ModuleList([_AttentiveTransformer(n_a, n_feat, sparsemax_dim) for _ in range(n_steps)])
        self.final_mapping = nn.Linear(n_d, n_cls)

    def forward(self, x):
        x = self.initial_bn(x)
        prior = torch.ones_like(x)
        a = self.initial_splitter(x)[:, self.n_d:]
        agg, m_loss = 0.0, 0.0
        for step in range(self.n_steps):
            M = self.att[step](a, prior)
            m_loss = m_loss + torch.mean(torch.sum(-M * torch.log(M + 1e-15), dim=1)) / self.n_steps
            prior = prior * (self.gamma - M)
            out = self.feat[step](M * x)
            agg = agg + F.relu(out[:, :self.n_d])
            a = out[:, self.n_d:]
        return self.final_mapping(agg), m_loss


def _tabnet_loss(out, y):
    logits, m_loss = out
    return F.cross_entropy(logits, y) + 1e-3 * m_loss


def _tabular_3class(n=64, f=16):
    x = torch.randn(n, f)
    score = x[:, 0] + 0.8 * x[:, 3] - 0.6 * x[:, 7]
    q = torch.quantile(score, torch.tensor([1 / 3, 2 / 3]))
    y = (score > q[0]).long() + (score > q[1]).long()
    return x, y


# ---------------------------------------------------------------- hypernetwork
class _TaskHyperNet(nn.Module):
    """A task-conditioned hypernetwork: an MLP maps a task code to the weights of the main net's
    middle layer (per sample), which is then applied with einsum."""

    def __init__(self, n_tasks=4, code=8, d_in=20, d=32, n_cls=5, detach_generated=False):
        super().__init__()
        self.d = d
        self.encoder = nn.Sequential(nn.Linear(d_in, d), nn.ReLU())
        self.task_emb = nn.Embedding(n_tasks, code)
        self.hyper = nn.Sequential(nn.Linear(code, 64), nn.ReLU(), nn.Linear(64, d * d + d))
        self.head = nn.Linear(d, n_cls)
        self.detach_generated = detach_generated

    def forward(self, x, task):
        params = self.hyper(self.task_emb(task))
        if self.detach_generated:
            params = params.data  # BUG: left over from a "don't backprop through the generator" experiment
        W = params[:, : self.d * self.d].view(-1, self.d, self.d) / math.sqrt(self.d)
        b = params[:, self.d * self.d:] * 0.1
        h = self.encoder(x)
        h = F.relu(torch.einsum("boi,bi->bo", W, h) + b)
        return self.head(h)


# ---------------------------------------------------------------- SN-GAN discriminator
def _sngan_discriminator(leaky):
    sn = nn.utils.parametrizations.spectral_norm
    return nn.Sequential(
        sn(nn.Conv2d(3, 32, 4, 2, 1)), leaky(),
        sn(nn.Conv2d(32, 64, 4, 2, 1)), leaky(),
        sn(nn.Conv2d(64, 128, 4, 2, 1)), leaky(),
        sn(nn.Conv2d(128, 1, 4, 1, 0)), nn.Flatten(0))


def _real_and_fake_batch(n=8):
    real = torch.tanh(1.5 * _smooth_images(n, 3, 32, 32))  # images scaled to [-1, 1]
    fake = torch.tanh(torch.randn(n, 3, 32, 32))  # generator output (tanh)
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    return x, y


# ====================================================================== healthy cases
@case
def ok_vgg11_bn_mini_dropout_classifier_train_ce():
    _seed()
    m = _VGGMini(10).train()
    x = _smooth_images(32, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(32, 10), loss=nn.CrossEntropyLoss(), expect=[])


class _SqueezeExcite(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(squeeze, c, 1)
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x):
        s = self.scale_activation(self.fc2(self.relu(self.fc1(self.avgpool(x)))))
        return x * s


class _MBv3Block(nn.Module):
    def __init__(self, cin, exp, cout, k, use_se, act, stride):
        super().__init__()
        self.use_res = stride == 1 and cin == cout
        layers = []
        if exp != cin:
            layers += [nn.Conv2d(cin, exp, 1, bias=False), nn.BatchNorm2d(exp, eps=0.001, momentum=0.01), act()]
        layers += [nn.Conv2d(exp, exp, k, stride, k // 2, groups=exp, bias=False),
                   nn.BatchNorm2d(exp, eps=0.001, momentum=0.01), act()]
        if use_se:
            layers.append(_SqueezeExcite(exp, max(8, (exp // 4 + 4) // 8 * 8)))
        # linear bottleneck: projection without activation (by design)
        layers += [nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=0.001, momentum=0.01)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return x + y if self.use_res else y


@case
def ok_mobilenetv3_small_bneck_hardswish_se_train():
    _seed()
    RE, HS = nn.ReLU, nn.Hardswish

    class MobileNetV3Mini(nn.Module):
        def __init__(self, n_cls=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16, eps=0.001, momentum=0.01), HS()),
                _MBv3Block(16, 16, 16, 3, True, RE, 2),
                _MBv3Block(16, 72, 24, 3, False, RE, 2),
                _MBv3Block(24, 88, 24, 3, False, RE, 1),
                _MBv3Block(24, 96, 40, 5, True, HS, 2),
                _MBv3Block(40, 120, 40, 5, True, HS, 1),
                nn.Sequential(nn.Conv2d(40, 96, 1, bias=False), nn.BatchNorm2d(96, eps=0.001, momentum=0.01), HS()))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Linear(96, 128), HS(), nn.Dropout(0.2), nn.Linear(128, n_cls))
            for mod in self.modules():  # torchvision init for the convs
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight, mode="fan_out")
                    if mod.bias is not None:
                        nn.init.zeros_(mod.bias)

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    m = MobileNetV3Mini().train()
    x = _smooth_images(16, 3, 64, 64)
    return dict(model=m, inputs=x, target=_balanced(16, 10), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_densenet_bc_dense_blocks_concat_growth12_train():
    _seed()

    class DenseLayer(nn.Module):
        def __init__(self, cin, growth, bn_size=4):
            super().__init__()
            self.norm1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(cin, bn_size * growth, 1, bias=False)
            self.norm2, self.relu2 = nn.BatchNorm2d(bn_size * growth), nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

        def forward(self, features):
            x = torch.cat(features, 1)
            return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))

    class DenseBlock(nn.ModuleDict):
        def __init__(self, n, cin, growth):
            super().__init__()
            for i in range(n):
                self.add_module(f"denselayer{i + 1}", DenseLayer(cin + i * growth, growth))

        def forward(self, init):
            features = [init]
            for layer in self.values():
                features.append(layer(features))
            return torch.cat(features, 1)

    def transition(cin, cout):
        return nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, 1, bias=False),
                             nn.AvgPool2d(2))

    class DenseNetMini(nn.Module):
        def __init__(self, g=12, n_cls=10):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 2 * g, 3, padding=1, bias=False),
                DenseBlock(4, 2 * g, g), transition(6 * g, 3 * g),
                DenseBlock(4, 3 * g, g), transition(7 * g, 3 * g),
                DenseBlock(4, 3 * g, g), nn.BatchNorm2d(7 * g), nn.ReLU(inplace=True))
            self.classifier = nn.Linear(7 * g, n_cls)
            for mod in self.modules():
                if isinstance(mod, nn.Conv2d):
                    nn.init.kaiming_normal_(mod.weight)
                elif isinstance(mod, nn.Linear):
                    nn.init.zeros_(mod.bias)

        def forward(self, x):
            f = F.adaptive_avg_pool2d(self.features(x), 1)
            return self.classifier(torch.flatten(f, 1))

    m = DenseNetMini().train()
    x = _smooth_images(24, 3, 32, 32)
    return dict(model=m, inputs=x, target=_balanced(24, 10), loss=nn.CrossEntropyLoss(), expect=[])


class _BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class _InceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = _BasicConv2d(cin, 16, kernel_size=1)
        self.branch5x5_1 = _BasicConv2d(cin, 12, kernel_size=1)
        self.branch5x5_2 = _BasicConv2d(12, 16, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = _BasicConv2d(cin, 16, kernel_size=1)
        self.branch3x3dbl_2 = _BasicConv2d(16, 24, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = _BasicConv2d(24, 24, kernel_size=3, padding=1)
        self.branch_pool = _BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        return torch.cat([b1, b5, b3, bp], 1)


@case
def ok_inception_a_modules_parallel_branches_eval_inference():
    _seed()

    class InceptionMini(nn.Module):
        def __init__(self, n_cls=10):
            super().__init__()
            self.Conv2d_1a_3x3 = _BasicConv2d(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = _BasicConv2d(32, 32, kernel_size=3)
            self.Mixed_5b = _InceptionA(32, 8)   # -> 64 channels
            self.Mixed_5c = _InceptionA(64, 16)  # -> 72 channels
            self.dropout = nn.Dropout(0.5)
            self.fc = nn.Linear(72, n_cls)
            for mod in self.modules():  # torchvision Inception3 init
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(mod.weight, mean=0.0, std=0.1, a=-2, b=2)

        def forward(self, x):
            x = self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x))
            x = F.max_pool2d(x, 3, stride=2)
            x = self.Mixed_5c(self.Mixed_5b(x))
            x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            return self.fc(self.dropout(x))

    m = InceptionMini()
    with torch.no_grad():  # "trained" running statistics, as after training
        m.train()
        for _ in range(20):
            m(_smooth_images(16, 3, 48, 48))
    m.eval()
    return dict(model=m, inputs=_smooth_images(8, 3, 48, 48), expect=[])


@case
def ok_nn_transformer_seq2seq_src_tgt_masks_tuple_inputs():
    _seed()
    m = _Seq2SeqTransformer().train()
    src, tgt_in, tgt_out = _seq2seq_batch()
    inputs = (src, tgt_in, src == 0, tgt_in == 0)
    return dict(model=m, inputs=inputs, target=tgt_out, loss=_seq2seq_ce, expect=[])


@case
def ok_gpt2_block_stack_tied_lm_head_sdpa_causal_adamw_steps():
    _seed()

    class CausalSelfAttention(nn.Module):
        def __init__(self, d, nh):
            super().__init__()
            self.nh = nh
            self.c_attn = nn.Linear(d, 3 * d)
            self.c_proj = nn.Linear(d, d)
            self.resid_dropout = nn.Dropout(0.1)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.1 if self.training else 0.0, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.resid_dropout(self.c_proj(y))

    class MLP(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.c_fc, self.gelu = nn.Linear(d, 4 * d), nn.GELU(approximate="tanh")
            self.c_proj, self.dropout = nn.Linear(4 * d, d), nn.Dropout(0.1)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self, d, nh):
            super().__init__()
            self.ln_1, self.attn = nn.LayerNorm(d), CausalSelfAttention(d, nh)
            self.ln_2, self.mlp = nn.LayerNorm(d), MLP(d)

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, vocab=64, block_size=32, d=64, nh=4, n_layer=4):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab, d), wpe=nn.Embedding(block_size, d), drop=nn.Dropout(0.1),
                h=nn.ModuleList([Block(d, nh) for _ in range(n_layer)]), ln_f=nn.LayerNorm(d)))
            self.lm_head = nn.Linear(d, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
            for mod in self.modules():
                if isinstance(mod, nn.Linear):
                    nn.init.normal_(mod.weight, 0.0, 0.02)
                    if mod.bias is not None:
                        nn.init.zeros_(mod.bias)
                elif isinstance(mod, nn.Embedding):
                    nn.init.normal_(mod.weight, 0.0, 0.02)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))

        def forward(self, idx):
            pos = torch.arange(idx.size(1), device=idx.device)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))

    m = GPT().train()
    tokens = torch.randint(0, 64, (8, 17))
    x, y = tokens[:, :-1], tokens[:, 1:]

    def lm_loss(logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))

    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=6e-4, betas=(0.9, 0.95))
    return dict(model=m, inputs=x, target=y, loss=lm_loss, optimizer=opt, steps=20, expect=[])


@case
def ok_bert_encoder_token_type_position_cls_pooler_train():
    _seed()
    m = _BertMini().train()
    batch = _bert_batch()
    return dict(model=m, inputs=batch, target=_balanced(16, 2), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_wav2vec2_conv_feature_encoder_groupnorm_gelu_eval():
    _seed()

    class ConvLayer(nn.Module):
        def __init__(self, cin, cout, k, s, group_norm=False):
            super().__init__()
            self.conv = nn.Conv1d(cin, cout, k, s, bias=False)
            self.layer_norm = nn.GroupNorm(cout, cout, affine=True) if group_norm else None
            self.activation = nn.GELU()
            nn.init.kaiming_normal_(self.conv.weight)

        def forward(self, x):
            x = self.conv(x)
            if self.layer_norm is not None:
                x = self.layer_norm(x)
            return self.activation(x)

    class Wav2Vec2FeatureEncoder(nn.Module):
        def __init__(self, c=64, d=96):
            super().__init__()
            spec = [(1, 10, 5, True), (c, 3, 2, False), (c, 3, 2, False), (c, 3, 2, False), (c, 3, 2, False),
                    (c, 2, 2, False), (c, 2, 2, False)]
            self.conv_layers = nn.ModuleList([ConvLayer(cin, c, k, s, gn) for cin, k, s, gn in spec])
            self.layer_norm = nn.LayerNorm(c)
            self.projection = nn.Linear(c, d)
            self.dropout = nn.Dropout(0.1)

        def forward(self, input_values):  # (batch, samples): raw waveform, like the HF model
            x = input_values[:, None]
            for conv in self.conv_layers:
                x = conv(x)
            x = self.layer_norm(x.transpose(1, 2))
            return self.dropout(self.projection(x))

    t = torch.arange(8000) / 16000.0
    f0 = 100 + 300 * torch.rand(4, 1)
    wav = torch.sin(2 * math.pi * f0 * t) + 0.5 * torch.sin(2 * math.pi * 3.1 * f0 * t) + 0.3 * torch.randn(4, 8000)
    wav = (wav - wav.mean(1, keepdim=True)) / (wav.std(1, keepdim=True) + 1e-7)  # feature extractor normalisation
    return dict(model=Wav2Vec2FeatureEncoder().eval(), inputs=wav, expect=[])


@case
def ok_yolo_detect_head_raw_logits_bce_objectness_train():
    _seed()

    class Conv(nn.Module):
        def __init__(self, cin, cout, k=1, s=1):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, k, s, k // 2, bias=False)
            self.bn = nn.BatchNorm2d(cout, eps=0.001, momentum=0.03)
            self.act = nn.SiLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Bottleneck(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.cv1, self.cv2 = Conv(c, c, 1), Conv(c, c, 3)

        def forward(self, x):
            return x + self.cv2(self.cv1(x))

    class Detect(nn.Module):
        def __init__(self, nc, cin, stride, img=64, na=3):
            super().__init__()
            self.nc, self.no, self.na, self.stride = nc, nc + 5, na, stride
            self.m = nn.Conv2d(cin, na * self.no, 1)
            with torch.no_grad():  # YOLOv5 prior bias init
                b = self.m.bias.view(na, -1)
                b[:, 4] += math.log(8 / (img / stride) ** 2)
                b[:, 5:] += math.log(0.6 / (nc - 0.99))
            self.register_buffer("anchors", torch.tensor([[1.25, 1.625], [2.0, 3.75], [4.125, 2.875]]))

        def forward(self, x):
            B, _, H, W = x.shape
            p = self.m(x).view(B, self.na, self.no, H, W).permute(0, 1, 3, 4, 2).contiguous()
            if self.training:
                return p  # raw logits: the loss applies the sigmoid (BCE-with-logits)
            y = p.sigmoid()
            gy, gx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
            grid = torch.stack((gx, gy), -1).view(1, 1, H, W, 2).float()
            xy = (y[..., :2] * 2 - 0.5 + grid) * self.stride
            wh = (y[..., 2:4] * 2) ** 2 * self.anchors.view(1, self.na, 1, 1, 2) * self.stride
            return torch.cat((xy, wh, y[..., 4:]), -1).view(B, -1, self.no)

    class TinyYolo(nn.Module):
        def __init__(self, nc=4):
            super().__init__()
            self.backbone = nn.Sequential(Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), Bottleneck(32), Conv(32, 64, 3, 2),
                                          Bottleneck(64))
            self.detect = Detect(nc, 64, stride=8)

        def forward(self, x):
            return self.detect(self.backbone(x))

    m = TinyYolo().train()
    x = _smooth_images(8, 3, 64, 64)
    B, na, H, W, nc = 8, 3, 8, 8, 4
    t = torch.zeros(B, na, H, W, 5 + nc)
    pos = torch.rand(B, na, H, W) < 0.1
    pos[:, 0, 3, 3] = True
    n = int(pos.sum())
    t[..., 4][pos] = 1.0
    t[..., :2][pos] = torch.rand(n, 2)  # cell offsets in [0, 1]
    t[..., 2:4][pos] = torch.rand(n, 2)  # (sqrt(wh/anchor)/2) in [0, 1] as in YOLOv5's wh parameterisation
    t[..., 5:][pos] = F.one_hot(torch.randint(0, nc, (n,)), nc).float()

    def yolo_loss(p, t):
        obj = t[..., 4]
        pos = obj > 0
        lbox = F.mse_loss(p[..., :4][pos].sigmoid(), t[..., :4][pos])
        lobj = F.binary_cross_entropy_with_logits(p[..., 4], obj)
        lcls = F.binary_cross_entropy_with_logits(p[..., 5:][pos], t[..., 5:][pos])
        return 0.05 * lbox + 1.0 * lobj + 0.5 * lcls

    return dict(model=m, inputs=x, target=t, loss=yolo_loss, expect=[])


@case
def ok_sngan_patch_discriminator_leaky_relu_real_fake_bce():
    _seed()
    m = _sngan_discriminator(lambda: nn.LeakyReLU(0.2, inplace=True)).train()
    x, y = _real_and_fake_batch(8)
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def ok_tabnet_attentive_transformer_handwritten_sparsemax_train():
    _seed()
    m = _TabNetMini().train()
    x, y = _tabular_3class(64, 16)
    return dict(model=m, inputs=x, target=y, loss=_tabnet_loss, expect=[])


@case
def ok_capsnet_squash_dynamic_routing_margin_loss():
    _seed()

    def squash(s, dim=-1):
        n2 = (s ** 2).sum(dim, keepdim=True)
        return n2 / (1 + n2) * s / torch.sqrt(n2 + 1e-8)

    class CapsNetMini(nn.Module):
        def __init__(self, n_cls=10, routing_iters=3):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 64, 5)
            self.primary = nn.Conv2d(64, 8 * 8, 5, stride=2)  # 8 capsule types x 8 dims
            self.n_prim, self.iters = 8 * 4 * 4, routing_iters
            self.W = nn.Parameter(torch.randn(1, self.n_prim, n_cls, 16, 8) / math.sqrt(8))  # fan-in of an 8-d capsule

        def forward(self, x):
            B = x.size(0)
            h = F.relu(self.conv1(x))
            u = self.primary(h).view(B, 8, 8, 4, 4).permute(0, 1, 3, 4, 2).reshape(B, self.n_prim, 8)
            u = squash(u)
            u_hat = (self.W @ u[:, :, None, :, None]).squeeze(-1)  # (B, n_prim, n_cls, 16)
            b = torch.zeros(B, self.n_prim, u_hat.size(2), device=x.device)
            for i in range(self.iters):
                c = F.softmax(b, dim=2)  # coupling coefficients over parent capsules
                if i < self.iters - 1:  # routing-by-agreement on detached predictions (standard trick)
                    v = squash((c[..., None] * u_hat.detach()).sum(1))
                    b = b + (u_hat.detach() * v[:, None]).sum(-1)
                else:
                    v = squash((c[..., None] * u_hat).sum(1))
            return v.norm(dim=-1)  # capsule lengths = class presence

    def margin_loss(lengths, y):
        T = F.one_hot(y, lengths.size(1)).float()
        L = T * F.relu(0.9 - lengths) ** 2 + 0.5 * (1 - T) * F.relu(lengths - 0.1) ** 2
        return L.sum(1).mean()

    m = CapsNetMini().train()
    x = _smooth_images(20, 1, 16, 16, k=3)
    return dict(model=m, inputs=x, target=_balanced(20, 10), loss=margin_loss, expect=[])


@case
def ok_task_conditioned_hypernetwork_generates_layer_weights():
    _seed()
    m = _TaskHyperNet().train()
    x = torch.randn(32, 20)
    task = torch.arange(32) % 4
    y = (x[:, :5] * (1 + task[:, None])).argmax(1)
    return dict(model=m, inputs=(x, task), target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_neural_ode_fixed_step_euler_20_evaluations_adam_steps():
    _seed()

    class ODEFunc(nn.Module):
        def __init__(self, d=32):
            super().__init__()
            self.fc1, self.act, self.fc2 = nn.Linear(d + 1, 64), nn.Tanh(), nn.Linear(64, d)

        def forward(self, t, h):
            tt = torch.full_like(h[:, :1], t)
            return self.fc2(self.act(self.fc1(torch.cat([h, tt], 1))))

    class ODEBlock(nn.Module):
        def __init__(self, func, n_steps=20, t1=1.0):
            super().__init__()
            self.func, self.n_steps, self.t1 = func, n_steps, t1

        def forward(self, h):
            dt = self.t1 / self.n_steps
            for i in range(self.n_steps):  # explicit Euler, same vector field each step
                h = h + dt * self.func(i * dt, h)
            return h

    class ODENet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(10, 32)
            self.ode = ODEBlock(ODEFunc(32))
            self.norm = nn.LayerNorm(32)
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.norm(self.ode(self.encoder(x))))

    m = ODENet()
    x, y = _tabular_3class(48, 10)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_siamese_conv1d_encoder_cosine_similarity_contrastive():
    _seed()

    class SiameseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv1d(2, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
                nn.Conv1d(32, 64, 5, padding=2), nn.BatchNorm1d(64), nn.ReLU(),
                nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32))  # BN-neck

        def forward(self, a, b):
            return F.cosine_similarity(self.encoder(a), self.encoder(b), dim=1)

    def contrastive_cosine(cos, same):
        return (same * (1 - cos) ** 2 + (1 - same) * F.relu(cos - 0.3) ** 2).mean()

    m = SiameseNet().train()
    a = torch.randn(16, 2, 50)
    same = torch.tensor([1.0, 0.0] * 8)
    b = torch.where(same[:, None, None] > 0, a + 0.3 * torch.randn_like(a), torch.randn(16, 2, 50))
    return dict(model=m, inputs=(a, b), target=same, loss=contrastive_cosine, expect=[])


@case
def ok_bilstm_crf_tagger_log_potentials_forward_algorithm_nll():
    _seed()

    class BiLSTMCRF(nn.Module):
        def __init__(self, vocab=40, emb=32, hidden=32, n_tags=5):
            super().__init__()
            self.embedding = nn.Embedding(vocab, emb)
            self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
            self.hidden2tag = nn.Linear(2 * hidden, n_tags)
            self.transitions = nn.Parameter(torch.empty(n_tags, n_tags).uniform_(-0.1, 0.1))
            self.start_transitions = nn.Parameter(torch.empty(n_tags).uniform_(-0.1, 0.1))

        def forward(self, tokens):
            em = self.hidden2tag(self.lstm(self.embedding(tokens))[0])  # (B, N, K) emission scores
            # linear-chain CRF log-potentials (B, N-1, K, K), as torch-struct's LinearChainCRF expects
            pot = self.transitions[None, None] + em[:, 1:, None, :]
            first = (self.start_transitions + em[:, 0])[:, :, None]
            return torch.cat([pot[:, :1] + first[:, None], pot[:, 1:]], 1)

    def crf_nll(pot, tags):
        B, N1, K, _ = pot.shape
        alpha = torch.zeros(B, K)
        for t in range(N1):
            alpha = torch.logsumexp(alpha[:, :, None] + pot[:, t], dim=1)
        log_z = torch.logsumexp(alpha, 1)
        bidx = torch.arange(B)[:, None]
        tidx = torch.arange(N1)[None]
        gold = pot[bidx, tidx, tags[:, :-1], tags[:, 1:]].sum(1)
        return (log_z - gold).mean()

    m = BiLSTMCRF().train()
    tokens = torch.randint(0, 40, (8, 12))
    tags = tokens % 5
    return dict(model=m, inputs=tokens, target=tags, loss=crf_nll, expect=[])


@case
def ok_pixelcnn_masked_conv_type_a_b_mask_buffer_train():
    _seed()

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kw):
            super().__init__(*args, **kw)
            _, _, kh, kw_ = self.weight.shape
            mask = torch.ones_like(self.weight)
            mask[:, :, kh // 2, kw_ // 2 + (mask_type == "B"):] = 0
            mask[:, :, kh // 2 + 1:] = 0
            self.register_buffer("mask", mask)  # masked weights stay zero (never see the future)

        def forward(self, x):
            return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)

    class ResidualMasked(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(c, c // 2, 1), MaskedConv2d("B", c // 2, c // 2, 3, padding=1)
            self.conv3 = nn.Conv2d(c // 2, c, 1)

        def forward(self, x):
            return x + self.conv3(F.relu(self.conv2(F.relu(self.conv1(F.relu(x))))))

    K = 8
    m = nn.Sequential(MaskedConv2d("A", 1, 64, 7, padding=3), ResidualMasked(64), ResidualMasked(64),
                      nn.ReLU(), nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, K, 1)).train()
    field = F.avg_pool2d(torch.randn(8, 1, 14, 14), 3, stride=1)  # (8, 1, 12, 12) smooth images
    ranks = field.flatten().argsort().argsort().view_as(field)
    levels = (ranks * K // ranks.numel())  # quantised into K equally-filled intensity levels
    x = levels.float() / (K - 1) * 2 - 1
    return dict(model=m, inputs=x, target=levels[:, 0], loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_switch_moe_top1_routing_some_experts_idle_train():
    _seed()

    class SwitchFFN(nn.Module):
        def __init__(self, d=32, n_experts=16, hidden=64):
            super().__init__()
            self.router = nn.Linear(d, n_experts, bias=False)
            self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))
                                          for _ in range(n_experts)])

        def forward(self, x):
            flat = x.reshape(-1, x.size(-1))  # tokens are routed independently
            probs = F.softmax(self.router(flat), dim=-1)
            gate, idx = probs.max(-1)  # top-1 (Switch Transformer); idle experts get no tokens
            out = torch.zeros_like(flat)
            for e, expert in enumerate(self.experts):
                sel = idx == e
                if sel.any():
                    out[sel] = gate[sel, None] * expert(flat[sel])
            return out.view_as(x)

    class MoEClassifier(nn.Module):
        def __init__(self, vocab=30, d=32):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.norm1, self.moe, self.norm2 = nn.LayerNorm(d), SwitchFFN(d), nn.LayerNorm(d)
            self.head = nn.Linear(d, 2)

        def forward(self, tokens):
            h = self.embed(tokens)
            h = h + self.moe(self.norm1(h))
            return self.head(self.norm2(h).mean(1))

    m = MoEClassifier().train()
    tokens = torch.randint(0, 30, (4, 3))
    return dict(model=m, inputs=tokens, target=torch.tensor([0, 1, 1, 0]), loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_googlenet_style_aux_classifier_tuple_output_train():
    _seed()

    def cbr(cin, cout, s=1):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, s, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class InceptionAux(nn.Module):
        def __init__(self, cin, n_cls):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(cin, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
            self.fc1, self.fc2 = nn.Linear(32 * 4 * 4, 128), nn.Linear(128, n_cls)
            self.dropout = nn.Dropout(0.7)

        def forward(self, x):
            x = self.conv(F.adaptive_avg_pool2d(x, 4))
            x = F.relu(self.fc1(torch.flatten(x, 1)), inplace=True)
            return self.fc2(self.dropout(x))

    class NetWithAux(nn.Module):
        def __init__(self, n_cls=10):
            super().__init__()
            self.stem = cbr(3, 16)
            self.stage1 = nn.Sequential(cbr(16, 32, 2), cbr(32, 32))
            self.aux1 = InceptionAux(32, n_cls)
            self.stage2 = nn.Sequential(cbr(32, 64, 2), cbr(64, 64))
            self.dropout = nn.Dropout(0.4)
            self.fc = nn.Linear(64, n_cls)

        def forward(self, x):
            x = self.stage1(self.stem(x))
            aux = self.aux1(x) if self.training else None
            x = torch.flatten(F.adaptive_avg_pool2d(self.stage2(x), 1), 1)
            out = self.fc(self.dropout(x))
            return (out, aux) if self.training else out

    def loss_with_aux(out, y):
        main, aux = out
        return F.cross_entropy(main, y) + 0.3 * F.cross_entropy(aux, y)

    m = NetWithAux().train()
    return dict(model=m, inputs=_smooth_images(20, 3, 32, 32), target=_balanced(20, 10), loss=loss_with_aux,
                expect=[])


@case
def ok_elman_rnn_one_linear_reused_16_timesteps_adam_steps():
    _seed()

    class UnrolledRNN(nn.Module):
        def __init__(self, d_in=8, hidden=48):
            super().__init__()
            self.hidden = hidden
            self.inp = nn.Linear(d_in, hidden)
            self.rec = nn.Linear(hidden, hidden, bias=False)  # the same weights at every time step
            self.head = nn.Linear(hidden, 1)

        def forward(self, x):
            h = x.new_zeros(x.size(0), self.hidden)
            for t in range(x.size(1)):
                h = torch.tanh(self.inp(x[:, t]) + self.rec(h))
            return self.head(h)

    m = UnrolledRNN()
    x = torch.randn(32, 16, 8)
    y = x[:, -4:, 0].sum(1, keepdim=True) / 2 + 0.5 * x[:, -1, 1:2]
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_vit_droppath_linear_decay_cls_token_train():
    _seed()

    class DropPath(nn.Module):  # timm: per-sample stochastic depth
        def __init__(self, p):
            super().__init__()
            self.p = p

        def forward(self, x):
            if self.p == 0.0 or not self.training:
                return x
            keep = 1 - self.p
            mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
            return x * mask / keep

    class Block(nn.Module):
        def __init__(self, d, nh, dp):
            super().__init__()
            self.norm1, self.attn = nn.LayerNorm(d), nn.MultiheadAttention(d, nh, batch_first=True)
            self.norm2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.drop_path = DropPath(dp)

        def forward(self, x):
            h = self.norm1(x)
            x = x + self.drop_path(self.attn(h, h, h, need_weights=False)[0])
            return x + self.drop_path(self.mlp(self.norm2(x)))

    class ViT(nn.Module):
        def __init__(self, d=64, depth=4, n_cls=10, drop_path_rate=0.2):
            super().__init__()
            self.patch_embed = nn.Conv2d(3, d, 4, 4)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
            self.pos_embed = nn.Parameter(torch.zeros(1, 17, d))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
            nn.init.normal_(self.cls_token, std=1e-6)
            dpr = [r.item() for r in torch.linspace(0, drop_path_rate, depth)]
            self.blocks = nn.Sequential(*[Block(d, 4, dpr[i]) for i in range(depth)])
            self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, n_cls)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls_token.expand(x.size(0), -1, -1), x], 1) + self.pos_embed
            return self.head(self.norm(self.blocks(x))[:, 0])

    m = ViT().train()
    return dict(model=m, inputs=_smooth_images(24, 3, 16, 16, k=3), target=_balanced(24, 10),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_tied_weight_autoencoder_transposed_decoder_adam_steps():
    _seed()

    class TiedAutoencoder(nn.Module):
        def __init__(self, d=64, h=32):
            super().__init__()
            self.encoder = nn.Linear(d, h)
            self.dec_bias = nn.Parameter(torch.zeros(d))  # the decoder owns only its bias

        def forward(self, x):
            h = F.relu(self.encoder(x))
            return F.linear(h, self.encoder.weight.t(), self.dec_bias)  # decoder reuses W^T

    m = TiedAutoencoder()
    latent = torch.randn(48, 8)
    x = latent @ torch.randn(8, 64) + 0.1 * torch.randn(48, 64)
    x = (x - x.mean(0)) / x.std(0)
    return dict(model=m, inputs=x, target=x.clone(), loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_perceiver_learned_latents_cross_attention_eval():
    _seed()

    class PerceiverMini(nn.Module):
        def __init__(self, c_in=6, d=64, n_latents=16, n_cls=10):
            super().__init__()
            self.latents = nn.Parameter(torch.empty(n_latents, d))
            nn.init.trunc_normal_(self.latents, std=0.02)
            self.input_proj = nn.Linear(c_in, d)
            self.norm_q, self.norm_kv = nn.LayerNorm(d), nn.LayerNorm(d)
            self.cross_attn = nn.MultiheadAttention(d, 1, batch_first=True)
            self.cross_mlp = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            layer = nn.TransformerEncoderLayer(d, 4, 2 * d, 0.1, activation="gelu", batch_first=True, norm_first=True)
            self.latent_transformer = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, n_cls))

        def forward(self, x):
            kv = self.norm_kv(self.input_proj(x))
            q = self.latents.expand(x.size(0), -1, -1)  # the same learned queries for every sample
            z = q + self.cross_attn(self.norm_q(q), kv, kv, need_weights=False)[0]
            z = z + self.cross_mlp(z)
            z = self.latent_transformer(z)
            return self.head(z.mean(1))

    pts = torch.randn(8, 50, 3)
    feats = torch.cat([pts, torch.sin(math.pi * pts)], -1)  # coordinates + Fourier features
    feats = (feats - feats.mean((0, 1))) / feats.std((0, 1))
    return dict(model=PerceiverMini().eval(), inputs=feats, expect=[])


@case
def ok_dcn_v2_cross_network_dict_inputs_bce_adam_steps():
    _seed()

    class DCNv2(nn.Module):
        def __init__(self, n_dense=5, cards=(10, 7, 12), emb=8, n_cross=3):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(c, emb) for c in cards])
            d0 = n_dense + emb * len(cards)
            self.cross = nn.ModuleList([nn.Linear(d0, d0) for _ in range(n_cross)])
            self.deep = nn.Sequential(nn.Linear(d0, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.head = nn.Linear(d0 + 64, 1)

        def forward(self, dense, sparse):
            x0 = torch.cat([dense] + [e(sparse[:, i]) for i, e in enumerate(self.embs)], 1)
            x = x0
            for layer in self.cross:
                x = x0 * layer(x) + x  # x_{l+1} = x0 * (W x_l + b) + x_l
            return self.head(torch.cat([x, self.deep(x0)], 1))

    m = DCNv2()
    dense = torch.randn(64, 5)
    sparse = torch.stack([torch.randint(0, c, (64,)) for c in (10, 7, 12)], 1)
    score = dense[:, 0] - dense[:, 2] + 0.5 * (sparse[:, 0] % 2).float()
    y = (score > score.median()).float().unsqueeze(1)
    return dict(model=m, inputs=dict(dense=dense, sparse=sparse), target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


# ====================================================================== buggy cases
@case
def bert_cls_pooling_takes_first_sample_not_first_token():
    # BUG: cls = h[0] on a batch-first encoder output: the 12 "pooled" rows are the 12 tokens of sample 0
    # (batch 12 == sequence length 12, so the shapes still line up with the labels).
    _seed()
    m = _BertMini(cls_from_first_sample=True).train()
    batch = _bert_batch(b=12, t=12)
    return dict(model=m, inputs=batch, target=_balanced(12, 2), loss=nn.CrossEntropyLoss(),
                expect=["batch-mixing", "shape-mismatch"])


@case
def sngan_discriminator_leaky_relu_true_means_slope_one():
    # BUG: nn.LeakyReLU(True) (copied from nn.ReLU(True)) sets negative_slope=1.0: every activation is identity
    _seed()
    m = _sngan_discriminator(lambda: nn.LeakyReLU(True)).train()
    x, y = _real_and_fake_batch(8)
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(), expect=["missing-nonlinearity"])


@case
def tabnet_sparsemax_feature_mask_normalised_over_batch():
    # BUG: the attentive transformer's sparsemax runs over dim 0 (samples) instead of the feature axis
    _seed()
    m = _TabNetMini(sparsemax_dim=0).train()
    x, y = _tabular_3class(64, 16)
    return dict(model=m, inputs=x, target=y, loss=_tabnet_loss, expect=["softmax-wrong-dim", "batch-mixing"])


@case
def hypernetwork_generated_weights_read_through_data():
    # BUG: params = self.hyper(...).data cuts the graph: the hypernetwork and task codes never get a gradient
    _seed()
    m = _TaskHyperNet(detach_generated=True).train()
    x = torch.randn(32, 20)
    task = torch.arange(32) % 4
    y = (x[:, :5] * (1 + task[:, None])).argmax(1)
    return dict(model=m, inputs=(x, task), target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=["no-gradient"], where=["hyper", "task_emb"])


@case
def seq2seq_hf_style_attention_mask_passed_as_key_padding_mask():
    # BUG: key_padding_mask wants True at PAD positions; passing (src != PAD) masks every real token:
    # attention only ever reads PAD slots, so the source tokens never reach the output (zero gradient for
    # the source embedding; fully masked rows, on older PyTorch versions, turn into NaN).
    _seed()
    m = _Seq2SeqTransformer().train()
    src, tgt_in, tgt_out = _seq2seq_batch()
    inputs = (src, tgt_in, src != 0, tgt_in != 0)
    return dict(model=m, inputs=inputs, target=tgt_out, loss=_seq2seq_ce,
                expect=["no-gradient", "nonfinite-created"])


@case
def vgg_bn_dropout_predicting_one_photo_still_in_train_mode():
    # BUG: inference on a single image without model.eval(): Dropout active, BatchNorm uses this image's stats
    _seed()
    m = _VGGMini(10)
    return dict(model=m, inputs=_smooth_images(2, 3, 32, 32)[:1], expect=["train-eval-mode"])
