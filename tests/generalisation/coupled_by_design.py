"""Blind batch 44 (seventh session): healthy setups whose rows interact or look odd by design (a
whole-graph GCN, GAT, SimCLR, CLIP, SimSiam, Set Transformer, Cox partial likelihood, ListNet,
distillation, Glow ActNorm, FNO with complex weights, a Gaussian policy, bf16 and float64 models), and
six subtle bugs in them, written by a helper that never read the rules. It found SimSiam's normalised
embedding, read by the predictor and the loss, taken for a missing nonlinearity.
"""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=4444): torch.manual_seed(s)


# =============================================================== shared helpers
def _balanced(n, k):
    return (torch.arange(n) % k)[torch.randperm(n)]


def _random_undirected_adj(n, p):
    a = (torch.rand(n, n) < p).float().triu(1)
    return a + a.t()


def _sym_norm_with_self_loops(a):
    a = a + torch.eye(a.shape[0])
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a * d[None, :]


# =============================================================== HEALTHY (24)
@case
def kipf_gcn_full_graph_node_labels():
    # Healthy: one graph, rows are NODES (they mix through A_hat by design), A_hat precomputed
    # with self-loops and symmetric normalisation, Kipf & Welling's Adam(0.01, wd 5e-4).
    _seed()
    n, f, c = 48, 32, 4

    class GraphConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(i, o)

        def forward(self, x, a_hat):
            return a_hat @ self.lin(x)

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = GraphConv(f, 64)
            self.drop = nn.Dropout(0.5)
            self.gc2 = GraphConv(64, c)

        def forward(self, x, a_hat):
            h = self.drop(F.relu(self.gc1(x, a_hat)))
            return self.gc2(h, a_hat)

    m = GCN()
    x = torch.randn(n, f)
    a_hat = _sym_norm_with_self_loops(_random_undirected_adj(n, 0.1))
    y = _balanced(n, c)
    opt = torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=5e-4)
    return dict(model=m, inputs=(x, a_hat), target=y, loss=nn.CrossEntropyLoss(),
                optimizer=opt, steps=20, expect=[])


@case
def dense_gat_masked_neighbour_softmax():
    # Healthy: GAT with dense masked attention; non-edges filled with -inf before a softmax over
    # each node's neighbours (every node has a self-loop so no row is fully masked).
    _seed()
    n, f, c = 40, 24, 3

    class DenseGATLayer(nn.Module):
        def __init__(self, i, o, heads, concat=True):
            super().__init__()
            self.h, self.o, self.concat = heads, o, concat
            self.W = nn.Linear(i, heads * o, bias=False)
            self.a_src = nn.Parameter(torch.empty(heads, o))
            self.a_dst = nn.Parameter(torch.empty(heads, o))
            nn.init.xavier_uniform_(self.a_src)
            nn.init.xavier_uniform_(self.a_dst)

        def forward(self, x, adj):
            h = self.W(x).view(-1, self.h, self.o)                     # (N, H, O)
            e_src = (h * self.a_src).sum(-1)                             # (N, H)
            e_dst = (h * self.a_dst).sum(-1)
            scores = F.leaky_relu(e_dst[:, None, :] + e_src[None, :, :], 0.2)   # (N_i, N_j, H)
            scores = scores.masked_fill(adj[:, :, None] == 0, float("-inf"))
            att = torch.softmax(scores, dim=1)                           # over neighbours j
            out = torch.einsum("ijh,jho->iho", att, h)
            return out.reshape(out.shape[0], -1) if self.concat else out.mean(1)

    class GAT(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = DenseGATLayer(f, 16, 4)
            self.l2 = DenseGATLayer(64, c, 1, concat=False)

        def forward(self, x, adj):
            return self.l2(F.elu(self.l1(x, adj)), adj)

    adj = _random_undirected_adj(n, 0.12) + torch.eye(n)
    x = torch.randn(n, f)
    return dict(model=GAT(), inputs=(x, adj), target=_balanced(n, c),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def simclr_two_views_nt_xent_by_hand():
    # Healthy: SimCLR, two augmented views as a tuple, NT-Xent over the 2N batch with the
    # self-similarity diagonal masked to -inf; rows interact in the loss by design.
    _seed()

    class SimCLR(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.projector = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32))

        def forward(self, v1, v2):
            return self.projector(self.encoder(v1)), self.projector(self.encoder(v2))

    def nt_xent(out, target=None, tau=0.5):
        z1, z2 = out
        n = z1.shape[0]
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        sim = z @ z.t() / tau
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, pos)

    x = torch.randn(16, 3, 16, 16)
    v1 = x + 0.1 * torch.randn_like(x)
    v2 = torch.flip(x, dims=[3]) + 0.1 * torch.randn_like(x)
    return dict(model=SimCLR(), inputs=(v1, v2), loss=nt_xent, expect=[])


@case
def clip_image_text_towers_logit_matrix():
    # Healthy: CLIP-style towers, learnable logit scale, (N, N) logit matrix, symmetric CE with
    # targets arange(N). Output row i depends on every caption in the batch by design.
    _seed()
    vocab, n = 200, 16

    class CLIPLike(nn.Module):
        def __init__(self):
            super().__init__()
            self.image_tower = nn.Sequential(
                nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.GELU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.GELU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 48))
            self.tok = nn.Embedding(vocab, 32)
            self.text_rnn = nn.GRU(32, 48, batch_first=True)
            self.text_proj = nn.Linear(48, 48)
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

        def forward(self, images, tokens):
            img = F.normalize(self.image_tower(images), dim=-1)
            _, h = self.text_rnn(self.tok(tokens))
            txt = F.normalize(self.text_proj(h[-1]), dim=-1)
            return self.logit_scale.exp() * img @ txt.t()

    def clip_loss(logits, target):
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))

    inputs = dict(images=torch.randn(n, 3, 32, 32), tokens=torch.randint(0, vocab, (n, 12)))
    return dict(model=CLIPLike(), inputs=inputs, target=torch.arange(n), loss=clip_loss, expect=[])


@case
def simsiam_batchnorm_projector_stopgrad_in_loss():
    # Healthy: SimSiam; projector/predictor with BatchNorm in train mode (batch 32), stop-gradient
    # applied to the target branch inside the loss (every parameter still gets a gradient).
    _seed()

    class SimSiam(nn.Module):
        def __init__(self, d_in=32, d=64):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(d_in, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU())
            self.projector = nn.Sequential(nn.Linear(128, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(),
                                           nn.Linear(d, d, bias=False), nn.BatchNorm1d(d, affine=False))
            self.predictor = nn.Sequential(nn.Linear(d, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                                           nn.Linear(16, d))

        def forward(self, x1, x2):
            z1, z2 = self.projector(self.encoder(x1)), self.projector(self.encoder(x2))
            return self.predictor(z1), self.predictor(z2), z1, z2

    def simsiam_loss(out, target=None):
        p1, p2, z1, z2 = out
        return -0.5 * (F.cosine_similarity(p1, z2.detach(), dim=-1).mean()
                       + F.cosine_similarity(p2, z1.detach(), dim=-1).mean())

    x = torch.randn(32, 32)
    views = (x + 0.2 * torch.randn_like(x), x * (1 + 0.1 * torch.randn_like(x)))
    return dict(model=SimSiam(), inputs=views, loss=simsiam_loss, expect=[])


@case
def set_transformer_sab_pma_pooling():
    # Healthy: Set Transformer over (batch, set, features): self-attention among the elements of
    # each set, pooling by multihead attention with a learned seed vector.
    _seed()
    b, s, f, d, c = 16, 12, 8, 64, 4

    class MAB(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, d))

        def forward(self, q, kv):
            h = self.ln1(q + self.attn(q, kv, kv, need_weights=False)[0])
            return self.ln2(h + self.ff(h))

    class SetTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(f, d)
            self.sab1, self.sab2, self.pma = MAB(), MAB(), MAB()
            self.seed_vec = nn.Parameter(torch.empty(1, 1, d))
            nn.init.xavier_uniform_(self.seed_vec)
            self.head = nn.Linear(d, c)

        def forward(self, x):
            h = self.embed(x)
            h = self.sab1(h, h)
            h = self.sab2(h, h)
            pooled = self.pma(self.seed_vec.expand(x.shape[0], -1, -1), h)
            return self.head(pooled.squeeze(1))

    return dict(model=SetTransformer(), inputs=torch.randn(b, s, f), target=_balanced(b, c),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def deepsets_padded_sets_with_bool_mask():
    # Healthy: DeepSets over variable-size sets padded with zeros; a bool mask (keyword input)
    # removes the padding from the masked mean; regression target standardised.
    _seed()
    b, s, f = 24, 10, 6

    class DeepSets(nn.Module):
        def __init__(self):
            super().__init__()
            self.phi = nn.Sequential(nn.Linear(f, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.rho = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, x, mask):
            h = self.phi(x) * mask[..., None]
            pooled = h.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)
            return self.rho(pooled)

    lengths = torch.randint(4, s + 1, (b,))
    mask = torch.arange(s)[None, :] < lengths[:, None]
    x = torch.randn(b, s, f) * mask[..., None]
    y = (x.sum((1, 2)) / lengths)[:, None]
    y = (y - y.mean()) / y.std()
    return dict(model=DeepSets(), inputs=dict(x=x, mask=mask), target=y, loss=nn.MSELoss(), expect=[])


@case
def cox_ph_partial_likelihood_risk_sets():
    # Healthy: Cox proportional hazards; risk sets span the batch in a hand-written partial
    # likelihood (sorted by time, logcumsumexp). Target columns: (time, event).
    _seed()
    n, f = 64, 12
    x = torch.randn(n, f)
    beta = torch.randn(f) * 0.5
    time = torch.distributions.Exponential(torch.exp(x @ beta).clamp(1e-2, 1e2)).sample()
    event = (torch.rand(n) < 0.7).float()
    target = torch.stack([time, event], 1)

    m = nn.Sequential(nn.Linear(f, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(),
                      nn.Linear(32, 1, bias=False))  # partial likelihood is shift-invariant

    def cox_loss(risk, target):
        t, e = target[:, 0], target[:, 1]
        order = torch.argsort(t, descending=True)
        r, e = risk.squeeze(-1)[order], e[order]
        log_risk_set = torch.logcumsumexp(r, dim=0)
        return -((r - log_risk_set) * e).sum() / e.sum().clamp_min(1.0)

    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    return dict(model=m, inputs=x, target=target, loss=cox_loss, optimizer=opt, steps=20, expect=[])


@case
def listnet_softmax_over_items_of_query():
    # Healthy: learning-to-rank, inputs (queries, items, features); ListNet cross-entropy
    # between softmax(relevance) and log_softmax(scores) over the items of each query.
    _seed()
    q, l, f = 16, 10, 20
    x = torch.randn(q, l, f)
    w = torch.randn(f)
    rel = torch.bucketize(x @ w, torch.tensor([-3.0, -1.0, 1.0, 3.0])).float()   # grades 0..4

    class Scorer(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(f, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                     nn.Linear(32, 1, bias=False))

        def forward(self, items):
            return self.mlp(items).squeeze(-1)           # (Q, L)

    def listnet(scores, rel):
        return -(F.softmax(rel, dim=1) * F.log_softmax(scores, dim=1)).sum(1).mean()

    m = Scorer()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    return dict(model=m, inputs=x, target=rel, loss=listnet, optimizer=opt, steps=20, expect=[])


@case
def distillation_frozen_teacher_temperature_kl():
    # Healthy: knowledge distillation; the teacher is frozen (requires_grad=False) and pinned to
    # eval mode by an overridden train(); loss = T^2 * KL(student/T || teacher/T) + CE.
    _seed()
    f, c = 32, 8

    class Distiller(nn.Module):
        def __init__(self):
            super().__init__()
            self.teacher = nn.Sequential(nn.Linear(f, 128), nn.ReLU(), nn.Dropout(0.2),
                                         nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, c))
            self.student = nn.Sequential(nn.Linear(f, 32), nn.ReLU(), nn.Linear(32, c))
            for p in self.teacher.parameters():
                p.requires_grad_(False)
            self.teacher.eval()

        def train(self, mode=True):
            super().train(mode)
            self.teacher.eval()
            return self

        def forward(self, x):
            with torch.no_grad():
                t = self.teacher(x)
            return self.student(x), t

    def kd_loss(out, y, T=4.0, alpha=0.7):
        s, t = out
        kl = F.kl_div(F.log_softmax(s / T, -1), F.log_softmax(t / T, -1), log_target=True,
                      reduction="batchmean") * T * T
        return alpha * kl + (1 - alpha) * F.cross_entropy(s, y)

    m = Distiller()
    opt = torch.optim.Adam(m.student.parameters(), lr=3e-3)
    return dict(model=m, inputs=torch.randn(48, f), target=_balanced(48, c), loss=kd_loss,
                optimizer=opt, steps=20, expect=[])


@case
def glow_actnorm_data_dependent_init_flow():
    # Healthy: Glow-style flow; ActNorm initialises its bias/scale from the first batch
    # (under no_grad), then invertible 1x1 conv and an affine coupling; NLL with log-det.
    _seed()
    c, hw = 4, 8

    class ActNorm(nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.loc = nn.Parameter(torch.zeros(1, ch, 1, 1))
            self.log_scale = nn.Parameter(torch.zeros(1, ch, 1, 1))
            self.register_buffer("initialized", torch.tensor(False))

        def forward(self, x):
            if not bool(self.initialized):
                with torch.no_grad():
                    self.loc.copy_(-x.mean((0, 2, 3), keepdim=True))
                    self.log_scale.copy_(-torch.log(x.std((0, 2, 3), keepdim=True) + 1e-6))
                    self.initialized.fill_(True)
            y = (x + self.loc) * torch.exp(self.log_scale)
            return y, x.shape[2] * x.shape[3] * self.log_scale.sum()

    class InvConv1x1(nn.Module):
        def __init__(self, ch):
            super().__init__()
            w, _ = torch.linalg.qr(torch.randn(ch, ch))
            self.weight = nn.Parameter(w)

        def forward(self, x):
            y = F.conv2d(x, self.weight[:, :, None, None])
            return y, x.shape[2] * x.shape[3] * torch.slogdet(self.weight)[1]

    class AffineCoupling(nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(ch // 2, 32, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(32, 32, 1), nn.ReLU(), nn.Conv2d(32, ch, 3, padding=1))

        def forward(self, x):
            xa, xb = x.chunk(2, 1)
            log_s, t = self.net(xa).chunk(2, 1)
            log_s = torch.tanh(log_s)
            return torch.cat([xa, xb * torch.exp(log_s) + t], 1), log_s.flatten(1).sum(1)

    class FlowStep(nn.Module):
        def __init__(self, ch):
            super().__init__()
            self.actnorm, self.invconv, self.coupling = ActNorm(ch), InvConv1x1(ch), AffineCoupling(ch)

        def forward(self, x):
            x, ld1 = self.actnorm(x)
            x, ld2 = self.invconv(x)
            x, ld3 = self.coupling(x)
            return x, ld1 + ld2 + ld3

    class Glow(nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = nn.ModuleList([FlowStep(c) for _ in range(3)])

        def forward(self, x):
            logdet = torch.zeros(x.shape[0])
            for st in self.steps:
                x, ld = st(x)
                logdet = logdet + ld
            return x, logdet

    def flow_nll(out, target=None):
        z, logdet = out
        d = z[0].numel()
        log_pz = (-0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)
        return -(log_pz + logdet).mean() / d

    return dict(model=Glow(), inputs=torch.randn(16, c, hw, hw), loss=flow_nll, expect=[])


@case
def fno1d_rfft_complex_spectral_weights():
    # Healthy: Fourier Neural Operator; spectral conv multiplies the lowest rfft modes by complex
    # (cfloat) weights and irfft's back, in parallel with a pointwise Conv1d; GELU in between.
    _seed()
    b, n, width, modes = 16, 64, 24, 12

    class SpectralConv1d(nn.Module):
        def __init__(self, cin, cout, modes):
            super().__init__()
            self.modes = modes
            self.weight = nn.Parameter(torch.randn(cin, cout, modes, dtype=torch.cfloat) / math.sqrt(cin))

        def forward(self, x):                               # x: (B, C, N) real
            x_ft = torch.fft.rfft(x, norm="ortho")
            out_ft = torch.zeros(x.shape[0], self.weight.shape[1], x_ft.shape[-1], dtype=x_ft.dtype)
            out_ft[:, :, :self.modes] = torch.einsum("bim,iom->bom", x_ft[:, :, :self.modes], self.weight)
            return torch.fft.irfft(out_ft, n=x.shape[-1], norm="ortho")

    class FourierLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.spectral = SpectralConv1d(width, width, modes)
            self.pointwise = nn.Conv1d(width, width, 1)

        def forward(self, x):
            return F.gelu(self.spectral(x) + self.pointwise(x))

    class FNO1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.lift = nn.Linear(2, width)
            self.layers = nn.ModuleList([FourierLayer() for _ in range(3)])
            self.proj = nn.Sequential(nn.Linear(width, 64), nn.GELU(), nn.Linear(64, 1))

        def forward(self, a):                               # a: (B, N, 1)
            grid = torch.linspace(-1, 1, a.shape[1]).expand(a.shape[0], -1)[..., None]
            h = self.lift(torch.cat([a, grid], -1)).permute(0, 2, 1)
            for layer in self.layers:
                h = layer(h)
            return self.proj(h.permute(0, 2, 1))

    # smooth random input functions; target: their (standardised) running integral
    t = torch.linspace(0, 2 * math.pi, n)
    coef = torch.randn(b, 4)
    a = sum(coef[:, k:k + 1] * torch.sin((k + 1) * t)[None] for k in range(4))
    u = torch.cumsum(a, 1) * (t[1] - t[0])
    a = (a / a.std())[..., None]
    u = ((u - u.mean()) / u.std())[..., None]
    return dict(model=FNO1d(), inputs=a, target=u, loss=nn.MSELoss(), expect=[])


@case
def gaussian_policy_state_independent_log_std():
    # Healthy: REINFORCE with a Gaussian policy; log_std is a state-independent nn.Parameter,
    # so the second output is identical for every state by design. Target: (action, advantage).
    _seed()
    obs_dim, act_dim, b = 8, 2, 64

    class GaussianPolicy(nn.Module):
        def __init__(self):
            super().__init__()
            self.mu = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                                    nn.Linear(64, act_dim))
            self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))

        def forward(self, obs):
            mu = self.mu(obs)
            return mu, self.log_std.expand_as(mu)

    def reinforce(out, target):
        mu, log_std = out
        act, adv = target[:, :act_dim], target[:, act_dim]
        logp = torch.distributions.Normal(mu, log_std.exp()).log_prob(act).sum(-1)
        return -(logp * adv).mean()

    obs = torch.randn(b, obs_dim)
    act = 0.6 * torch.randn(b, act_dim)
    adv = torch.randn(b)
    adv = (adv - adv.mean()) / adv.std()
    return dict(model=GaussianPolicy(), inputs=obs, target=torch.cat([act, adv[:, None]], 1),
                loss=reinforce, expect=[])


@case
def recsys_user_item_towers_in_batch_softmax():
    # Healthy: two-tower recommender; every user is scored against every item of the batch
    # (in-batch negatives), logits (N, N) / temperature, CE with targets arange(N).
    _seed()
    n_users, n_items, n = 500, 1000, 32

    class TwoTower(nn.Module):
        def __init__(self):
            super().__init__()
            self.user_emb = nn.Embedding(n_users, 32)
            self.item_emb = nn.Embedding(n_items, 32)
            self.user_tower = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32))
            self.item_tower = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32))

        def forward(self, user_ids, item_ids):
            u = F.normalize(self.user_tower(self.user_emb(user_ids)), dim=-1)
            v = F.normalize(self.item_tower(self.item_emb(item_ids)), dim=-1)
            return u @ v.t() / 0.1

    inputs = dict(user_ids=torch.randperm(n_users)[:n], item_ids=torch.randperm(n_items)[:n])
    m = TwoTower()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    return dict(model=m, inputs=inputs, target=torch.arange(n), loss=nn.CrossEntropyLoss(),
                optimizer=opt, steps=20, expect=[])


@case
def alibi_causal_lm_minus_inf_mask():
    # Healthy: decoder-only Transformer with ALiBi distance biases instead of positional
    # embeddings; future positions masked with -inf; next-token CE over (B*T, V).
    _seed()
    vocab, d, heads, b, t = 50, 64, 4, 8, 16

    def alibi_bias(h, t):
        slopes = torch.tensor([2 ** (-8 * (i + 1) / h) for i in range(h)])
        pos = torch.arange(t)
        dist = (pos[:, None] - pos[None, :]).float()            # i - j
        bias = -slopes[:, None, None] * dist[None]
        return bias.masked_fill(dist[None] < 0, float("-inf"))  # (H, T, T)

    class AlibiAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)
            self.register_buffer("bias", alibi_bias(heads, t), persistent=False)

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self.qkv(x).view(B, T, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            att = q @ k.transpose(-1, -2) / math.sqrt(d // heads) + self.bias[:, :T, :T]
            y = torch.softmax(att, dim=-1) @ v
            return self.out(y.transpose(1, 2).reshape(B, T, d))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.attn = AlibiAttention()
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class AlibiLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.blocks = nn.Sequential(Block(), Block())
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, idx):
            return self.head(self.ln_f(self.blocks(self.tok(idx))))

    def lm_loss(logits, y):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    seq = torch.randint(0, vocab, (b, t + 1))
    m = AlibiLM()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    return dict(model=m, inputs=seq[:, :-1], target=seq[:, 1:], loss=lm_loss, optimizer=opt,
                steps=15, expect=[])


@case
def energy_model_margin_pos_neg_pairs():
    # Healthy: energy-based model E(x, y) scored on a positive and a negative y for every x;
    # hinge loss pushes E(pos) below E(neg) by a margin. No target.
    _seed()
    b, fx, fy = 32, 16, 8

    class EnergyNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(fx + fy, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(),
                                     nn.Linear(64, 1, bias=False))  # a bias cancels in E_pos - E_neg

        def forward(self, x, y_pos, y_neg):
            e_pos = self.net(torch.cat([x, y_pos], -1)).squeeze(-1)
            e_neg = self.net(torch.cat([x, y_neg], -1)).squeeze(-1)
            return e_pos, e_neg

    def margin_loss(out, target=None, margin=1.0):
        e_pos, e_neg = out
        return F.relu(margin + e_pos - e_neg).mean()

    x = torch.randn(b, fx)
    proj = torch.randn(fx, fy) / math.sqrt(fx)
    y_pos = x @ proj + 0.1 * torch.randn(b, fy)
    y_neg = y_pos[torch.roll(torch.arange(b), 1)]
    m = EnergyNet()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    return dict(model=m, inputs=(x, y_pos, y_neg), loss=margin_loss, optimizer=opt, steps=20, expect=[])


@case
def mdn_mixture_density_logsumexp_nll():
    # Healthy: mixture density network; mixing logits, means and log-scales per component,
    # NLL via logsumexp over components (log_softmax over the component axis).
    _seed()
    b, fx, k, dy = 64, 4, 5, 2

    class MDN(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(fx, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.pi = nn.Linear(64, k)
            self.mu = nn.Linear(64, k * dy)
            self.log_sigma = nn.Linear(64, k * dy)

        def forward(self, x):
            h = self.trunk(x)
            return (self.pi(h), self.mu(h).view(-1, k, dy),
                    self.log_sigma(h).view(-1, k, dy).clamp(-7.0, 7.0))

    def mdn_nll(out, y):
        logit_pi, mu, log_sigma = out
        comp = torch.distributions.Normal(mu, log_sigma.exp()).log_prob(y[:, None, :]).sum(-1)
        return -torch.logsumexp(F.log_softmax(logit_pi, -1) + comp, dim=-1).mean()

    x = torch.randn(b, fx)
    branch = (torch.rand(b, 1) < 0.5).float() * 2 - 1
    y = torch.cat([torch.sin(x[:, :1]) * branch, x[:, 1:2] * 0.5], 1) + 0.1 * torch.randn(b, dy)
    return dict(model=MDN(), inputs=x, target=y, loss=mdn_nll, expect=[])


@case
def nbeats_generic_blocks_backcast_residual():
    # Healthy: N-BEATS generic stack; each block's head emits backcast+forecast, the backcast is
    # subtracted from the block input (doubly residual) and forecasts are summed.
    _seed()
    b, lookback, horizon = 32, 24, 8

    class NBeatsBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(lookback, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                                    nn.Linear(64, 64), nn.ReLU())
            self.head = nn.Linear(64, lookback + horizon)

        def forward(self, x):
            theta = self.head(self.fc(x))
            return theta[:, :lookback], theta[:, lookback:]

    class NBeats(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([NBeatsBlock() for _ in range(3)])

        def forward(self, x):
            forecast = 0
            for blk in self.blocks:
                back, fore = blk(x)
                x = x - back
                forecast = forecast + fore
            return forecast

    t = torch.arange(lookback + horizon).float()
    freq = 0.2 + 0.3 * torch.rand(b, 1)
    phase = 2 * math.pi * torch.rand(b, 1)
    series = torch.sin(freq * t + phase) + 0.1 * torch.randn(b, lookback + horizon)
    m = NBeats()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    return dict(model=m, inputs=series[:, :lookback], target=series[:, lookback:], loss=nn.MSELoss(),
                optimizer=opt, steps=20, expect=[])


@case
def bf16_eval_conv1d_keyword_spotter():
    # Healthy: whole model cast to bfloat16, eval mode, bfloat16 input (fine on CPU for inference).
    _seed()
    m = nn.Sequential(
        nn.Conv1d(16, 32, 5, padding=2, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
        nn.Conv1d(32, 32, 5, padding=2, groups=4, bias=False), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 6)).to(torch.bfloat16).eval()
    return dict(model=m, inputs=torch.randn(12, 16, 50).to(torch.bfloat16), expect=[])


@case
def float64_surrogate_potential_energy_mlp():
    # Healthy: scientific surrogate model kept in float64 end to end (model, input, target).
    _seed()
    f = 10
    m = nn.Sequential(nn.Linear(f, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1)).double()
    x = torch.randn(48, f, dtype=torch.float64)
    y = (x[:, :3] ** 2).sum(1, keepdim=True) - x[:, 3:4] * x[:, 4:5]
    y = (y - y.mean()) / y.std()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(), optimizer=opt, steps=20, expect=[])


@case
def attention_mil_single_bag_softmax_over_instances():
    # Healthy: attention-based multiple-instance learning (Ilse et al.); the input is ONE bag whose
    # rows are instances, the gated attention softmax runs over dim 0 (the instances) by design,
    # and the output is one bag-level prediction.
    _seed()
    n_inst, f = 20, 32

    class GatedAttentionMIL(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Linear(f, 64), nn.ReLU())
            self.att_v = nn.Linear(64, 32)
            self.att_u = nn.Linear(64, 32)
            self.att_w = nn.Linear(32, 1, bias=False)
            self.classifier = nn.Linear(64, 2)

        def forward(self, bag):                                 # (instances, F)
            h = self.features(bag)
            a = self.att_w(torch.tanh(self.att_v(h)) * torch.sigmoid(self.att_u(h)))   # (n, 1)
            a = torch.softmax(a, dim=0)
            z = (a * h).sum(0, keepdim=True)                    # (1, 64)
            return self.classifier(z)

    return dict(model=GatedAttentionMIL(), inputs=torch.randn(n_inst, f), target=torch.tensor([1]),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def gin_disjoint_graph_batch_with_index_vectors():
    # Healthy: graph classification on a mini-batch of graphs stored as one disjoint union: node
    # features plus integer edge_index and batch-assignment vectors; sum aggregation via
    # index_add_, mean readout per graph, so output rows are graphs, not input rows.
    _seed()
    f, d, c, n_graphs = 16, 64, 2, 8

    class GINLayer(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.eps = nn.Parameter(torch.zeros(1))
            self.mlp = nn.Sequential(nn.Linear(i, o, bias=False), nn.BatchNorm1d(o), nn.ReLU(), nn.Linear(o, o), nn.ReLU())

        def forward(self, x, edge_index):
            src, dst = edge_index
            agg = torch.zeros_like(x).index_add_(0, dst, x[src])
            return self.mlp((1 + self.eps) * x + agg)

    class GIN(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = GINLayer(f, d), GINLayer(d, d)
            self.head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, c))

        def forward(self, x, edge_index, batch):
            h = self.l2(self.l1(x, edge_index), edge_index)
            n_g = int(batch.max()) + 1
            pooled = torch.zeros(n_g, h.shape[1]).index_add_(0, batch, h)
            pooled = pooled / torch.bincount(batch, minlength=n_g).clamp_min(1)[:, None].float()
            return self.head(pooled)

    xs, edges, batch, offset = [], [], [], 0
    for g in range(n_graphs):
        nn_ = int(torch.randint(8, 13, (1,)))
        a = _random_undirected_adj(nn_, 0.3)
        ring = torch.arange(nn_)
        a[ring, (ring + 1) % nn_] = 1.0
        a[(ring + 1) % nn_, ring] = 1.0
        src, dst = a.nonzero(as_tuple=True)
        edges.append(torch.stack([src, dst]) + offset)
        xs.append(torch.randn(nn_, f))
        batch.append(torch.full((nn_,), g, dtype=torch.long))
        offset += nn_
    inputs = dict(x=torch.cat(xs), edge_index=torch.cat(edges, 1), batch=torch.cat(batch))
    return dict(model=GIN(), inputs=inputs, target=_balanced(n_graphs, c),
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def cls_token_encoder_bool_key_padding_mask():
    # Healthy: text classifier with a learned [CLS] token, padded token ids (padding_idx=0) and
    # a bool key-padding mask passed as a keyword input.
    _seed()
    vocab, d, b, t, c = 100, 64, 12, 20, 3

    class ClsEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, d, padding_idx=0)
            self.pos = nn.Parameter(torch.randn(1, t + 1, d) * 0.02)
            self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
            layer = nn.TransformerEncoderLayer(d, 4, 128, dropout=0.1, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(d, c)

        def forward(self, tokens, padding_mask):
            h = torch.cat([self.cls.expand(tokens.shape[0], -1, -1), self.tok(tokens)], 1) + self.pos
            mask = torch.cat([torch.zeros(tokens.shape[0], 1, dtype=torch.bool), padding_mask], 1)
            h = self.encoder(h, src_key_padding_mask=mask)
            return self.head(h[:, 0])

    lengths = torch.randint(6, t + 1, (b,))
    padding_mask = torch.arange(t)[None, :] >= lengths[:, None]
    tokens = torch.randint(1, vocab, (b, t)).masked_fill(padding_mask, 0)
    return dict(model=ClsEncoder(), inputs=dict(tokens=tokens, padding_mask=padding_mask),
                target=_balanced(b, c), loss=nn.CrossEntropyLoss(), expect=[])


@case
def dgcnn_edgeconv_knn_within_each_cloud():
    # Healthy: DGCNN EdgeConv; a k-NN graph is built inside forward among the points of each
    # cloud (B, N, 3), edge features [x_i, x_j - x_i], max over neighbours, global max pool.
    _seed()
    b, n, k, c = 8, 32, 8, 4

    def knn_gather(x, k):
        with torch.no_grad():
            idx = torch.cdist(x, x).topk(k, dim=-1, largest=False).indices      # (B, N, k)
        nbrs = torch.gather(x[:, None].expand(-1, x.shape[1], -1, -1), 2,
                            idx[..., None].expand(-1, -1, -1, x.shape[-1]))    # (B, N, k, F)
        return nbrs

    class EdgeConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(2 * i, o), nn.LayerNorm(o), nn.LeakyReLU(0.2))

        def forward(self, x):
            nbrs = knn_gather(x, k)
            ctr = x[:, :, None].expand_as(nbrs)
            return self.mlp(torch.cat([ctr, nbrs - ctr], -1)).amax(2)

    class DGCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.ec1, self.ec2 = EdgeConv(3, 32), EdgeConv(32, 64)
            self.head = nn.Sequential(nn.Linear(96, 64), nn.ReLU(), nn.Linear(64, c))

        def forward(self, pts):
            h1 = self.ec1(pts)
            h2 = self.ec2(h1)
            return self.head(torch.cat([h1, h2], -1).amax(1))

    return dict(model=DGCNN(), inputs=torch.randn(b, n, 3), target=_balanced(b, c),
                loss=nn.CrossEntropyLoss(), expect=[])


# =============================================================== BUGGY (6)
@case
def gcn_symnorm_forgot_self_loops_isolated_nodes():
    # BUG: D^-1/2 A D^-1/2 computed inside the layer without adding self-loops; isolated nodes
    # have degree 0 -> deg**-0.5 = inf -> 0 * inf = NaN rows, from a perfectly finite adjacency.
    _seed()
    n, f, c = 40, 16, 4

    class NormGraphConv(nn.Module):
        def __init__(self, i, o):
            super().__init__()
            self.lin = nn.Linear(i, o)

        def forward(self, x, adj):
            d = adj.sum(1).pow(-0.5)
            a_hat = d[:, None] * adj * d[None, :]
            return a_hat @ self.lin(x)

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = NormGraphConv(f, 32)
            self.gc2 = NormGraphConv(32, c)

        def forward(self, x, adj):
            return self.gc2(F.relu(self.gc1(x, adj)), adj)

    adj = _random_undirected_adj(n, 0.15)
    adj[:3] = 0.0
    adj[:, :3] = 0.0            # three isolated nodes (e.g. papers without citations)
    return dict(model=GCN(), inputs=(torch.randn(n, f), adj), target=_balanced(n, c),
                loss=nn.CrossEntropyLoss(), expect=["nonfinite-created"], where=["gc1"])


@case
def listnet_scorer_softmax_over_queries():
    # BUG: the ranking head's Softmax normalises over dim=0 (the queries of the batch) instead of
    # over the items of each query (dim=1).
    _seed()
    q, l, f = 16, 10, 20

    class ListwiseRanker(nn.Module):
        def __init__(self):
            super().__init__()
            self.scorer = nn.Sequential(nn.Linear(f, 64), nn.ReLU(), nn.Linear(64, 1, bias=False), nn.Flatten(1))
            self.to_prob = nn.Softmax(dim=0)

        def forward(self, items):
            scores = self.scorer(items.reshape(-1, f)).view(items.shape[0], items.shape[1])
            return self.to_prob(scores)

    def listnet_on_probs(p, rel):
        return -(F.softmax(rel, dim=1) * torch.log(p + 1e-9)).sum(1).mean()

    x = torch.randn(q, l, f)
    rel = torch.randint(0, 5, (q, l)).float()
    return dict(model=ListwiseRanker(), inputs=x, target=rel, loss=listnet_on_probs,
                expect=["softmax-wrong-dim"], where=["to_prob"])


@case
def set_encoder_reshape_instead_of_transpose_for_mha():
    # BUG: (batch, set, feat) is turned into the (set, batch, feat) layout that a
    # batch_first=False MultiheadAttention wants with reshape() instead of transpose(0, 1),
    # so elements of different sets are attended together.
    _seed()
    b, s, f, d, c = 8, 12, 6, 32, 4

    class SetBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, 4)            # batch_first=False
            self.ln = nn.LayerNorm(d)

        def forward(self, h):                                   # h: (B, S, D)
            B, S, D = h.shape
            t = h.reshape(S, B, D)
            t = self.attn(t, t, t, need_weights=False)[0]
            return self.ln(h + t.reshape(B, S, D))

    class SetClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(f, d)
            self.enc = SetBlock()
            self.head = nn.Linear(d, c)

        def forward(self, x):
            return self.head(self.enc(self.embed(x)).mean(1))

    return dict(model=SetClassifier(), inputs=torch.randn(b, s, f), target=_balanced(b, c),
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing"], where=["enc"])


@case
def gaussian_policy_log_std_plain_tensor_attribute():
    # BUG: log_std is a plain tensor with requires_grad=True instead of nn.Parameter: it is not in
    # model.parameters(), so the optimizer never updates the exploration noise.
    _seed()
    obs_dim, act_dim, b = 8, 2, 64

    class GaussianPolicy(nn.Module):
        def __init__(self):
            super().__init__()
            self.mu = nn.Sequential(nn.Linear(obs_dim, 64), nn.Tanh(), nn.Linear(64, act_dim))
            self.log_std = torch.zeros(act_dim, requires_grad=True)

        def forward(self, obs):
            mu = self.mu(obs)
            return mu, self.log_std.expand_as(mu)

    def reinforce(out, target):
        mu, log_std = out
        act, adv = target[:, :act_dim], target[:, act_dim]
        logp = torch.distributions.Normal(mu, log_std.exp()).log_prob(act).sum(-1)
        return -(logp * adv).mean()

    m = GaussianPolicy()
    adv = torch.randn(b)
    target = torch.cat([torch.randn(b, act_dim), ((adv - adv.mean()) / adv.std())[:, None]], 1)
    opt = torch.optim.Adam(m.parameters(), lr=3e-4)
    return dict(model=m, inputs=torch.randn(b, obs_dim), target=target, loss=reinforce,
                optimizer=opt, steps=10, expect=["untrained-parameter"], where=[""])


@case
def simsiam_stopgrad_placed_inside_forward():
    # BUG: the stop-gradient meant for the target branch of the loss is applied to z inside
    # forward, before the predictor, so the encoder and projector never receive a gradient.
    _seed()

    class SimSiam(nn.Module):
        def __init__(self, d_in=32, d=64):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(d_in, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU())
            self.projector = nn.Sequential(nn.Linear(128, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(),
                                           nn.Linear(d, d, bias=False), nn.BatchNorm1d(d, affine=False))
            self.predictor = nn.Sequential(nn.Linear(d, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                                           nn.Linear(16, d))

        def forward(self, x1, x2):
            z1 = self.projector(self.encoder(x1)).detach()
            z2 = self.projector(self.encoder(x2)).detach()
            return self.predictor(z1), self.predictor(z2), z1, z2

    def simsiam_loss(out, target=None):
        p1, p2, z1, z2 = out
        return -0.5 * (F.cosine_similarity(p1, z2, dim=-1).mean() + F.cosine_similarity(p2, z1, dim=-1).mean())

    x = torch.randn(32, 32)
    views = (x + 0.2 * torch.randn_like(x), x * (1 + 0.1 * torch.randn_like(x)))
    return dict(model=SimSiam(), inputs=views, loss=simsiam_loss,
                expect=["no-gradient"], where=["encoder", "projector"])


@case
def fno_spectral_weights_created_complex128():
    # BUG: the spectral weights were created with dtype=torch.cdouble while the rest of the model
    # (and rfft of the float32 input, complex64) is single precision: the einsum fails.
    _seed()
    b, n, width, modes = 8, 64, 16, 8

    class SpectralConv1d(nn.Module):
        def __init__(self, cin, cout, modes):
            super().__init__()
            self.modes = modes
            self.weight = nn.Parameter(torch.randn(cin, cout, modes, dtype=torch.cdouble) / math.sqrt(cin))

        def forward(self, x):
            x_ft = torch.fft.rfft(x, norm="ortho")
            out_ft = torch.zeros(x.shape[0], self.weight.shape[1], x_ft.shape[-1], dtype=x_ft.dtype)
            out_ft[:, :, :self.modes] = torch.einsum("bim,iom->bom", x_ft[:, :, :self.modes], self.weight)
            return torch.fft.irfft(out_ft, n=x.shape[-1], norm="ortho")

    class FNO1d(nn.Module):
        def __init__(self):
            super().__init__()
            self.lift = nn.Conv1d(1, width, 1)
            self.spectral = SpectralConv1d(width, width, modes)
            self.pointwise = nn.Conv1d(width, width, 1)
            self.proj = nn.Conv1d(width, 1, 1)

        def forward(self, a):                                   # (B, 1, N)
            h = self.lift(a)
            h = F.gelu(self.spectral(h) + self.pointwise(h))
            return self.proj(h)

    a = torch.randn(b, 1, n)
    return dict(model=FNO1d(), inputs=a, target=torch.randn(b, 1, n), loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["spectral"])
