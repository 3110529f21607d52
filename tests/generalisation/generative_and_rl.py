"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import copy
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6737): torch.manual_seed(s)


# ------------------------------------------------------------------ shared helpers (data only)
def _smooth_images(n, c=3, size=32, lo=4):
    # smooth random images in [-1, 1]: low-res noise upsampled, then tanh
    low = torch.randn(n, c, lo, lo)
    img = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    return torch.tanh(1.5 * img)


def _standardised_smooth(n, c=1, size=16):
    x = F.interpolate(torch.randn(n, c, 4, 4), size=(size, size), mode="bilinear", align_corners=False)
    return (x - x.mean()) / x.std()


def _binary_glyphs(n, d=64, n_proto=10, flip=0.1):
    protos = (torch.rand(n_proto, d) < 0.5).float()
    idx = torch.randint(0, n_proto, (n,))
    x = protos[idx]
    noise = (torch.rand(n, d) < flip).float()
    return (x + noise) % 2


def _linear_beta_alphabar(T=1000):
    betas = torch.linspace(1e-4, 0.02, T)
    return torch.cumprod(1 - betas, 0)


def _sinusoidal(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class _DCGANGenerator(nn.Module):
    def __init__(self, nz=32, ngf=32, out_act=None):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), out_act if out_act is not None else nn.Tanh())

    def forward(self, z):
        return self.net(z)


class _SharedTrunkAC(nn.Module):
    def __init__(self, obs=12, hidden=64, n_act=5):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(obs, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.policy_head = nn.Linear(hidden, n_act)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, obs):
        h = self.trunk(obs)
        return self.policy_head(h), self.value_head(h).squeeze(-1)


def _a2c_loss(actions):
    def loss(out, returns):
        logits, value = out
        logp_all = F.log_softmax(logits, dim=-1)
        logp = logp_all.gather(1, actions[:, None]).squeeze(1)
        adv = (returns - value).detach()
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
        return -(logp * adv).mean() + 0.5 * F.mse_loss(value, returns) - 0.01 * entropy
    return loss


# ================================================================== healthy
@case
def ok_dcgan_convtranspose_generator_bn_relu_tanh_batch16():
    _seed()
    m = _DCGANGenerator()
    z = torch.randn(16, 32, 1, 1)
    return dict(model=m, inputs=z, expect=[])


@case
def ok_dcgan_critic_normal_002_init_adam_beta05_real_vs_noise():
    # Canonical DCGAN discriminator: N(0, 0.02) conv init, BN (not on first layer), LeakyReLU(0.2),
    # a raw logit trained with BCEWithLogitsLoss, Adam(2e-4, betas=(0.5, 0.999)).
    _seed()

    class Disc(nn.Module):
        def __init__(self, ndf=16):
            super().__init__()
            self.main = nn.Sequential(
                nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False))

        def forward(self, x):
            return self.main(x).view(-1)

    def weights_init(mod):
        if isinstance(mod, nn.Conv2d):
            nn.init.normal_(mod.weight, 0.0, 0.02)
        elif isinstance(mod, nn.BatchNorm2d):
            nn.init.normal_(mod.weight, 1.0, 0.02)
            nn.init.zeros_(mod.bias)

    m = Disc()
    m.apply(weights_init)
    real = _smooth_images(8)
    fake = torch.rand(8, 3, 32, 32) * 2 - 1
    x = torch.cat([real, fake])
    y = torch.cat([torch.ones(8), torch.zeros(8)])
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999)), steps=15, expect=[])


@case
def ok_wgan_conv_critic_groupnorm_wasserstein_sign_targets():
    # WGAN critic: no BN (GroupNorm instead), LeakyReLU, unbounded linear score.
    # Loss = mean(critic(fake)) - mean(critic(real)), written with +1/-1 sign targets.
    # Biases are dropped where they cancel (before GroupNorm; the score's offset cancels in the difference).
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.GroupNorm(8, 64), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.GroupNorm(8, 128), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 1, bias=False))
    real = _smooth_images(12)
    fake = _smooth_images(12, lo=8)
    x = torch.cat([real, fake])
    sign = torch.cat([torch.ones(12), -torch.ones(12)])

    def wasserstein(out, s):
        return -(out.view(-1) * s).mean()

    return dict(model=m, inputs=x, target=sign, loss=wasserstein, expect=[])


@case
def ok_conditional_mlp_generator_label_embedding_concat_tanh():
    _seed()

    class CondGen(nn.Module):
        def __init__(self, nz=32, n_cls=10, emb=16, out=64):
            super().__init__()
            self.label_emb = nn.Embedding(n_cls, emb)
            self.net = nn.Sequential(
                nn.Linear(nz + emb, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.2),
                nn.Linear(128, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.2),
                nn.Linear(128, out), nn.Tanh())

        def forward(self, z, labels):
            return self.net(torch.cat([z, self.label_emb(labels)], dim=1)).view(-1, 1, 8, 8)

    z = torch.randn(40, 32)
    labels = torch.arange(40) % 10
    return dict(model=CondGen(), inputs=(z, labels), expect=[])


@case
def ok_projection_discriminator_dict_inputs_class_embedding_bce():
    # cGAN projection discriminator (Miyato & Koyama): logit = psi(h) + <embed(y), h>.
    _seed()

    class ProjD(nn.Module):
        def __init__(self, in_dim=64, n_cls=10, h=128):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(in_dim, h), nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2))
            self.psi = nn.Linear(h, 1)
            self.embed = nn.Embedding(n_cls, h)
            nn.init.xavier_uniform_(self.embed.weight)

        def forward(self, x, y):
            h = self.body(x)
            return self.psi(h).squeeze(1) + (self.embed(y) * h).sum(1)

    real = torch.randn(16, 64) * 0.5 + torch.linspace(-1, 1, 64)
    real = (real - real.mean()) / real.std()
    fake = torch.randn(16, 64)
    x = torch.cat([real, fake])
    y = torch.arange(32) % 10
    target = torch.cat([torch.ones(16), torch.zeros(16)])
    return dict(model=ProjD(), inputs={"x": x, "y": y}, target=target, loss=nn.BCEWithLogitsLoss(), expect=[])


@case
def ok_bernoulli_mlp_vae_sigmoid_decoder_bce_sum_kl_adam():
    _seed()

    class VAE(nn.Module):
        def __init__(self, d=64, h=128, zdim=8):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(d, h), nn.ReLU())
            self.fc_mu = nn.Linear(h, zdim)
            self.fc_logvar = nn.Linear(h, zdim)
            self.dec = nn.Sequential(nn.Linear(zdim, h), nn.ReLU(), nn.Linear(h, d), nn.Sigmoid())

        def forward(self, x):
            h = self.enc(x)
            mu, logvar = self.fc_mu(h), self.fc_logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar

    def elbo(out, x):
        recon, mu, logvar = out
        bce = F.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / x.shape[0]
        return bce + kld

    m = VAE()
    x = _binary_glyphs(48)
    return dict(model=m, inputs=x, target=x, loss=elbo,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_conv_beta_vae_gaussian_mse_beta4_silu():
    _seed()

    class BetaVAE(nn.Module):
        def __init__(self, zdim=6, beta=4.0):
            super().__init__()
            self.beta = beta
            self.enc = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.SiLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.SiLU(),
                                     nn.Flatten())
            self.to_stats = nn.Linear(32 * 4 * 4, 2 * zdim)
            self.from_z = nn.Linear(zdim, 32 * 4 * 4)
            self.dec = nn.Sequential(nn.SiLU(), nn.Unflatten(1, (32, 4, 4)),
                                     nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.SiLU(),
                                     nn.ConvTranspose2d(16, 1, 4, 2, 1))

        def forward(self, x):
            mu, logvar = self.to_stats(self.enc(x)).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            return self.dec(self.from_z(z)), mu, logvar

    m = BetaVAE()

    def beta_elbo(out, x):
        recon, mu, logvar = out
        rec = F.mse_loss(recon, x, reduction="sum") / x.shape[0]
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1).mean()
        return rec + m.beta * kl

    x = _standardised_smooth(24)
    return dict(model=m, inputs=x, target=x, loss=beta_elbo,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_vqvae_conv_codebook_kmeans_style_init_straight_through():
    _seed()

    class VQVAE(nn.Module):
        def __init__(self, K=32, D=8, beta=0.25):
            super().__init__()
            self.beta = beta
            self.encoder = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, D, 3, 1, 1))
            self.codebook = nn.Embedding(K, D)
            self.decoder = nn.Sequential(nn.Conv2d(D, 32, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))

        def quantize(self, z_e):
            B, D, H, W = z_e.shape
            flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)
            d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.weight.t()
                 + self.codebook.weight.pow(2).sum(1)[None])
            idx = d.argmin(1)
            z_q = self.codebook(idx).view(B, H, W, D).permute(0, 3, 1, 2)
            return z_q

        def forward(self, x):
            z_e = self.encoder(x)
            z_q = self.quantize(z_e)
            vq_loss = F.mse_loss(z_q, z_e.detach()) + self.beta * F.mse_loss(z_e, z_q.detach())
            z_st = z_e + (z_q - z_e).detach()  # straight-through estimator
            return self.decoder(z_st), vq_loss

    m = VQVAE()
    x = _standardised_smooth(16)
    with torch.no_grad():  # data-dependent codebook init from encoder outputs (k-means++-style seeding)
        ze = m.encoder(x).permute(0, 2, 3, 1).reshape(-1, 8)
        m.codebook.weight.copy_(ze[torch.randperm(ze.shape[0])[:32]])

    def vq_objective(out, target):
        recon, vq_loss = out
        return F.mse_loss(recon, target) + vq_loss

    return dict(model=m, inputs=x, target=x, loss=vq_objective, expect=[])


@case
def ok_ddpm_eps_prediction_resblock_groupnorm_int_timesteps_adam():
    # DDPM noise-prediction net: integer timesteps -> sinusoidal embedding -> MLP, added per channel
    # inside a GroupNorm/SiLU residual block; MSE between predicted and true noise.
    _seed()

    class ResBlock(nn.Module):
        def __init__(self, ch, tdim):
            super().__init__()
            self.norm1 = nn.GroupNorm(8, ch)
            self.conv1 = nn.Conv2d(ch, ch, 3, padding=1)
            self.temb_proj = nn.Linear(tdim, ch)
            self.norm2 = nn.GroupNorm(8, ch)
            self.conv2 = nn.Conv2d(ch, ch, 3, padding=1)

        def forward(self, x, temb):
            h = self.conv1(F.silu(self.norm1(x)))
            h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
            h = self.conv2(F.silu(self.norm2(h)))
            return x + h

    class EpsNet(nn.Module):
        def __init__(self, ch=32, tdim=64):
            super().__init__()
            self.time_mlp = nn.Sequential(nn.Linear(32, tdim), nn.SiLU(), nn.Linear(tdim, tdim))
            self.conv_in = nn.Conv2d(1, ch, 3, padding=1)
            self.blocks = nn.ModuleList([ResBlock(ch, tdim), ResBlock(ch, tdim)])
            self.norm_out = nn.GroupNorm(8, ch)
            self.conv_out = nn.Conv2d(ch, 1, 3, padding=1)

        def forward(self, x_t, t):
            temb = self.time_mlp(_sinusoidal(t, 32))
            h = self.conv_in(x_t)
            for b in self.blocks:
                h = b(h, temb)
            return self.conv_out(F.silu(self.norm_out(h)))

    m = EpsNet()
    x0 = _standardised_smooth(16)
    t = torch.randint(0, 1000, (16,))
    ab = _linear_beta_alphabar()[t][:, None, None, None]
    eps = torch.randn_like(x0)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    return dict(model=m, inputs={"x_t": x_t, "t": t}, target=eps, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_split_coupling_flow_tanh_logscale_swap_halves_nll_adam():
    _seed()

    class Coupling(nn.Module):
        def __init__(self, dim=8, hidden=64):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(dim // 2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, dim))

        def forward(self, x):
            x1, x2 = x.chunk(2, dim=1)
            log_s, shift = self.net(x1).chunk(2, dim=1)
            log_s = torch.tanh(log_s)
            y2 = x2 * log_s.exp() + shift
            return torch.cat([y2, x1], dim=1), log_s.sum(1)  # swap halves for the next coupling

    class Flow(nn.Module):
        def __init__(self, n=4):
            super().__init__()
            self.couplings = nn.ModuleList([Coupling() for _ in range(n)])

        def forward(self, x):
            logdet = torch.zeros(x.shape[0])
            for c in self.couplings:
                x, ld = c(x)
                logdet = logdet + ld
            return x, logdet

    def nll(out, _target):
        z, logdet = out
        logp = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi) + logdet
        return -logp.mean() / z.shape[1]

    m = Flow()
    A = torch.randn(8, 8) / math.sqrt(8)
    x = torch.randn(64, 8) @ A + 0.3 * torch.randn(64, 8) ** 2
    x = (x - x.mean(0)) / x.std(0)
    return dict(model=m, inputs=x, target=x, loss=nll,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_pixelcnn_masked_conv_a_then_b_16_levels_per_pixel_ce():
    _seed()

    class MaskedConv2d(nn.Conv2d):
        def __init__(self, mask_type, *args, **kw):
            super().__init__(*args, **kw)
            self.register_buffer("mask", torch.ones_like(self.weight))
            _, _, kh, kw_ = self.weight.shape
            self.mask[:, :, kh // 2, kw_ // 2 + (mask_type == "B"):] = 0
            self.mask[:, :, kh // 2 + 1:] = 0

        def forward(self, x):
            return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding)

    m = nn.Sequential(
        MaskedConv2d("A", 1, 32, 7, padding=3, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        MaskedConv2d("B", 32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        MaskedConv2d("B", 32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 16, 1))
    levels = torch.randint(0, 16, (8, 16, 16))
    x = (levels.float() / 15.0 * 2 - 1).unsqueeze(1)
    return dict(model=m, inputs=x, target=levels, loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_reinforce_policy_log_softmax_sampled_actions_standardised_returns():
    _seed()

    class Policy(nn.Module):
        def __init__(self, obs=8, n_act=4):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(obs, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, n_act))

        def forward(self, obs):
            return F.log_softmax(self.body(obs), dim=-1)

    m = Policy()
    obs = torch.randn(64, 8)
    with torch.no_grad():
        actions = torch.multinomial(m(obs).exp(), 1).squeeze(1)
    returns = torch.randn(64) * 3 + 10
    adv = (returns - returns.mean()) / (returns.std() + 1e-8)

    def reinforce(logp, a):
        return -(logp.gather(1, a[:, None]).squeeze(1) * adv).mean()

    return dict(model=m, inputs=obs, target=actions, loss=reinforce, expect=[])


@case
def ok_a2c_shared_tanh_trunk_policy_and_value_heads_entropy_bonus():
    _seed()
    m = _SharedTrunkAC()
    obs = torch.randn(48, 12)
    actions = torch.arange(48) % 5
    returns = torch.randn(48)
    return dict(model=m, inputs=obs, target=returns, loss=_a2c_loss(actions), expect=[])


@case
def ok_dqn_qnet_huber_to_frozen_target_net_td_adam():
    _seed()
    q = nn.Sequential(nn.Linear(6, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 3))
    target_net = copy.deepcopy(q)
    obs, next_obs = torch.randn(64, 6), torch.randn(64, 6)
    actions = torch.arange(64) % 3
    rewards = torch.randint(-1, 2, (64,)).float()
    done = (torch.rand(64) < 0.1).float()
    with torch.no_grad():
        td_target = rewards + 0.99 * (1 - done) * target_net(next_obs).max(1).values

    def td_huber(qvals, y):
        return F.smooth_l1_loss(qvals.gather(1, actions[:, None]).squeeze(1), y)

    return dict(model=q, inputs=obs, target=td_target, loss=td_huber,
                optimizer=torch.optim.Adam(q.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_ppo_clipped_surrogate_exp_logp_minus_old_logp():
    _seed()
    m = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 3))
    old = copy.deepcopy(m)
    with torch.no_grad():
        for p in old.parameters():
            p.add_(0.02 * torch.randn_like(p))
    obs = torch.randn(60, 8)
    actions = torch.arange(60) % 3
    with torch.no_grad():
        old_logp = F.log_softmax(old(obs), -1).gather(1, actions[:, None]).squeeze(1)
    adv = torch.randn(60)
    adv = (adv - adv.mean()) / adv.std()

    def ppo_loss(logits, a):
        logp_all = F.log_softmax(logits, -1)
        logp = logp_all.gather(1, a[:, None]).squeeze(1)
        ratio = torch.exp(logp - old_logp)
        surr = torch.min(ratio * adv, torch.clamp(ratio, 0.8, 1.2) * adv)
        entropy = -(logp_all.exp() * logp_all).sum(-1).mean()
        return -surr.mean() - 0.01 * entropy

    return dict(model=m, inputs=obs, target=actions, loss=ppo_loss, expect=[])


# ================================================================== buggy
@case
def pix2pix_generator_ends_in_relu_for_minus_one_one_targets():
    # Bug: the image-to-image generator ends in ReLU, but target images live in [-1, 1]:
    # it can never produce the negative half of the pixel range (should be Tanh).
    _seed()

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2),
                                      nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2))
            self.up = nn.Sequential(nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
                                    nn.ConvTranspose2d(32, 3, 4, 2, 1), nn.ReLU())

        def forward(self, x):
            return self.up(self.down(x))

    src = _smooth_images(12)
    tgt = _smooth_images(12)
    return dict(model=Gen(), inputs=src, target=tgt, loss=nn.L1Loss(),
                expect=["loss-mismatch", "wrong-target", "dead-relu"])


@case
def dcgan_discriminator_sigmoid_head_into_bce_with_logits():
    # Bug: the discriminator already ends in Sigmoid and the loss is BCEWithLogitsLoss (sigmoid twice).
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 1, 8, 1, 0), nn.Flatten(), nn.Sigmoid())
    x = torch.cat([_smooth_images(16), torch.rand(16, 3, 32, 32) * 2 - 1])
    y = torch.cat([torch.ones(16, 1), torch.zeros(16, 1)])
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                expect=["double-softmax", "loss-mismatch"], where=["7", "loss"])


@case
def tabular_vae_reparam_takes_sqrt_of_logvar_head():
    # Bug: the head predicts log-variance, but reparameterisation uses sqrt(logvar) as the std:
    # negative log-variances give NaN (should be exp(0.5 * logvar)).
    _seed()

    class SensorVAE(nn.Module):
        def __init__(self, d=20, h=64, zdim=6):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(d, h), nn.GELU(), nn.Linear(h, h), nn.GELU())
            self.fc_mu = nn.Linear(h, zdim)
            self.fc_logvar = nn.Linear(h, zdim)
            self.dec = nn.Sequential(nn.Linear(zdim, h), nn.GELU(), nn.Linear(h, d))

        def forward(self, x):
            h = self.enc(x)
            mu, logvar = self.fc_mu(h), self.fc_logvar(h)
            std = torch.sqrt(logvar)
            z = mu + std * torch.randn_like(std)
            return self.dec(z), mu, logvar

    def elbo(out, x):
        recon, mu, logvar = out
        return F.mse_loss(recon, x) - 0.5 * torch.mean(1 + logvar - mu ** 2 - logvar.exp())

    x = torch.randn(32, 20)
    return dict(model=SensorVAE(), inputs=x, target=x, loss=elbo, expect=["nonfinite-created"])


@case
def sequence_vae_latent_repeat_then_view_scrambles_batch():
    # Bug: z (B, Z) is tiled over time with z.repeat(T, 1).view(B, T, Z), which interleaves
    # other samples' latents into each sequence (should be z.unsqueeze(1).expand(B, T, Z)).
    _seed()

    class SeqVAE(nn.Module):
        def __init__(self, f=4, h=64, zdim=16):
            super().__init__()
            self.encoder = nn.GRU(f, h, batch_first=True)
            self.fc_mu = nn.Linear(h, zdim)
            self.fc_logvar = nn.Linear(h, zdim)
            self.dec_in = nn.Linear(zdim, h)
            self.decoder = nn.GRU(h, h, batch_first=True)
            self.out = nn.Linear(h, f)

        def forward(self, x):
            B, T, _ = x.shape
            _, hN = self.encoder(x)
            mu, logvar = self.fc_mu(hN[-1]), self.fc_logvar(hN[-1])
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            zs = z.repeat(T, 1).view(B, T, -1)
            y, _ = self.decoder(torch.tanh(self.dec_in(zs)))
            return self.out(y), mu, logvar

    def elbo(out, x):
        recon, mu, logvar = out
        return F.mse_loss(recon, x) - 0.5 * torch.mean(1 + logvar - mu ** 2 - logvar.exp())

    x = torch.randn(8, 12, 4)
    return dict(model=SeqVAE(), inputs=x, target=x, loss=elbo, expect=["batch-mixing"])


@case
def conv_vae_decoder_without_sigmoid_into_binary_cross_entropy():
    # Bug: the decoder's last ConvTranspose2d emits raw logits, yet the loss is F.binary_cross_entropy
    # (probabilities expected): raises "all elements of input should be between 0 and 1".
    _seed()

    class ConvVAE(nn.Module):
        def __init__(self, zdim=8):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
                                     nn.Flatten(), nn.Linear(32 * 4 * 4, 2 * zdim))
            self.dec = nn.Sequential(nn.Linear(zdim, 32 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (32, 4, 4)),
                                     nn.ConvTranspose2d(32, 16, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(16, 1, 4, 2, 1))

        def forward(self, x):
            mu, logvar = self.enc(x).chunk(2, 1)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
            return self.dec(z), mu, logvar

    def elbo(out, x):
        recon, mu, logvar = out
        bce = F.binary_cross_entropy(recon, x, reduction="sum") / x.shape[0]
        return bce - 0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / x.shape[0]

    x = (torch.rand(16, 1, 16, 16) < 0.4).float()
    return dict(model=ConvVAE(), inputs=x, target=x, loss=elbo, expect=["loss-mismatch"])


@case
def reinforce_policy_probabilities_normalised_over_batch():
    # Bug: softmax over dim=0 (the batch of states) instead of over the actions.
    _seed()

    class Policy(nn.Module):
        def __init__(self, obs=10, n_act=6):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(obs, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, n_act))

        def forward(self, obs):
            return F.softmax(self.net(obs), dim=0)

    obs = torch.randn(32, 10)
    actions = torch.arange(32) % 6
    adv = torch.randn(32)

    def reinforce(probs, a):
        return -(torch.log(probs.gather(1, a[:, None]).squeeze(1)) * adv).mean()

    return dict(model=Policy(), inputs=obs, target=actions, loss=reinforce,
                expect=["softmax-wrong-dim", "batch-mixing"])


@case
def actor_critic_value_output_detached_in_forward():
    # Bug: meant to stop the critic's gradient into the trunk (h.detach()), but detached the value
    # itself, so value_head never receives a gradient.
    _seed()

    class AC(nn.Module):
        def __init__(self, obs=12, hidden=64, n_act=5):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(obs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            self.policy_head = nn.Linear(hidden, n_act)
            self.value_head = nn.Linear(hidden, 1)

        def forward(self, obs):
            h = self.trunk(obs)
            return self.policy_head(h), self.value_head(h).detach().squeeze(-1)

    obs = torch.randn(48, 12)
    actions = torch.arange(48) % 5
    returns = torch.randn(48)
    return dict(model=AC(), inputs=obs, target=returns, loss=_a2c_loss(actions),
                expect=["no-gradient"], where="value_head")


@case
def dqn_logged_actions_one_based_gather_out_of_range():
    # Bug: the replay buffer stores actions as 1..4 (env's 1-based ids) while the Q-net has
    # 4 outputs indexed 0..3: gather goes out of range for action 4.
    _seed()
    q = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
    obs = torch.randn(32, 8)
    actions = torch.arange(32) % 4 + 1
    td_target = torch.randn(32)

    def q_loss(qvals, a):
        return F.mse_loss(qvals.gather(1, a[:, None]).squeeze(1), td_target)

    return dict(model=q, inputs=obs, target=actions, loss=q_loss, expect=["wrong-target"], where="target")


@case
def critic_regresses_raw_episode_returns_in_thousands():
    # Bug: the value network regresses undiscounted episode returns (~1000-5000) with MSE,
    # no return normalisation: outputs start near 0 and Adam(1e-3) barely moves the loss.
    _seed()
    v = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    obs = torch.randn(64, 8)
    returns = 3000 + 1000 * torch.tanh(obs[:, :1] + obs[:, 1:2])
    return dict(model=v, inputs=obs, target=returns, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(v.parameters(), lr=1e-3), steps=20,
                expect=["lr-too-low", "wrong-target", "loss-mismatch", "exploding-gradients"])


@case
def wgan_critic_init_normal_std_one_instead_of_002():
    # Bug: the DCGAN-style init helper used normal_(w, 0.0, 1.0) instead of std 0.02;
    # with no normalisation in the critic, scores explode layer over layer.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 1))
    for mod in m.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(mod.weight, 0.0, 1.0)
            nn.init.zeros_(mod.bias)
    x = torch.cat([_smooth_images(12), _smooth_images(12, lo=8)])
    sign = torch.cat([torch.ones(12), -torch.ones(12)])

    def wasserstein(out, s):
        return -(out.view(-1) * s).mean()

    return dict(model=m, inputs=x, target=sign, loss=wasserstein,
                expect=["bad-init", "exploding-activations", "exploding-gradients"])


@case
def toy_diffusion_mlp_raw_float_timestep_concatenated():
    # Bug: the diffusion timestep (0..999) is fed as a raw float feature next to unit-scale x_t
    # (no sinusoidal embedding / no scaling to [0, 1]).
    _seed()

    class ToyEps(nn.Module):
        def __init__(self, d=16, h=128):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(d + 1, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(), nn.Linear(h, d))

        def forward(self, x_t, t):
            return self.net(torch.cat([x_t, t], dim=1))

    x0 = torch.randn(64, 16)
    t = torch.randint(0, 1000, (64,))
    ab = _linear_beta_alphabar()[t][:, None]
    eps = torch.randn_like(x0)
    x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    return dict(model=ToyEps(), inputs={"x_t": x_t, "t": t[:, None].float()}, target=eps, loss=nn.MSELoss(),
                expect=["unnormalized-input"], where="input")


@case
def affine_coupling_logdet_logs_raw_linear_scale():
    # Bug: the coupling predicts the scale with a plain Linear (can be negative) and takes
    # log(scale) for the log-determinant -> NaN (should predict log_s and use exp(log_s)).
    _seed()

    class Coupling(nn.Module):
        def __init__(self, dim=8, hidden=64):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(dim // 2, hidden), nn.ReLU(), nn.Linear(hidden, dim))

        def forward(self, x):
            x1, x2 = x.chunk(2, dim=1)
            scale, shift = self.net(x1).chunk(2, dim=1)
            y2 = x2 * scale + shift
            return torch.cat([y2, x1], dim=1), torch.log(scale).sum(1)

    class Flow(nn.Module):
        def __init__(self):
            super().__init__()
            self.couplings = nn.ModuleList([Coupling() for _ in range(3)])

        def forward(self, x):
            logdet = torch.zeros(x.shape[0])
            for c in self.couplings:
                x, ld = c(x)
                logdet = logdet + ld
            return x, logdet

    def nll(out, _t):
        z, logdet = out
        return (0.5 * (z ** 2).sum(1) - logdet).mean()

    x = torch.randn(32, 8)
    return dict(model=Flow(), inputs=x, target=x, loss=nll,
                expect=["nonfinite-created"], where="couplings.0")


@case
def ppo_actor_softmax_layer_then_log_softmax_as_logits():
    # Bug: the actor ends in nn.Softmax, and the PPO loss treats its output as logits
    # (log_softmax again, like Categorical(logits=probs)): softmax applied twice.
    _seed()
    m = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 4), nn.Softmax(dim=-1))
    obs = torch.randn(64, 8)
    actions = torch.arange(64) % 4
    old_logp = torch.full((64,), -math.log(4.0))
    adv = torch.randn(64)

    def ppo_loss(out, a):
        logp = F.log_softmax(out, -1).gather(1, a[:, None]).squeeze(1)
        ratio = torch.exp(logp - old_logp)
        return -torch.min(ratio * adv, torch.clamp(ratio, 0.8, 1.2) * adv).mean()

    return dict(model=m, inputs=obs, target=actions, loss=ppo_loss, expect=["double-softmax"])


@case
def actor_critic_value_head_replaced_after_adam_built():
    # Bug: the value head is re-created ("reset the critic") after the optimizer was built,
    # so the new head's parameters are not in any optimizer param group.
    _seed()
    m = _SharedTrunkAC()
    opt = torch.optim.Adam(m.parameters(), lr=3e-4)
    m.value_head = nn.Linear(64, 1)
    obs = torch.randn(48, 12)
    actions = torch.arange(48) % 5
    returns = torch.randn(48)
    return dict(model=m, inputs=obs, target=returns, loss=_a2c_loss(actions), optimizer=opt, steps=10,
                expect=["untrained-parameter"], where="value_head")


@case
def dcgan_generator_noise_missing_spatial_dims():
    # Bug: z sampled as (B, nz) while the ConvTranspose2d stem needs (B, nz, 1, 1).
    _seed()
    m = _DCGANGenerator()
    return dict(model=m, inputs=torch.randn(16, 32), expect=["shape-mismatch"], where=["input", "net.0"])


@case
def dqn_qnet_huber_adam_lr_one():
    # Bug: Adam lr=1.0 (meant 1e-3) on the Q-network: the TD loss blows up within a few steps.
    _seed()
    q = nn.Sequential(nn.Linear(6, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 3))
    obs = torch.randn(64, 6)
    actions = torch.arange(64) % 3
    td_target = torch.randint(-1, 2, (64,)).float() + 0.5 * torch.randn(64)

    def td_huber(qvals, y):
        return F.smooth_l1_loss(qvals.gather(1, actions[:, None]).squeeze(1), y)

    return dict(model=q, inputs=obs, target=td_target, loss=td_huber,
                optimizer=torch.optim.Adam(q.parameters(), lr=1.0), steps=20, expect=["lr-too-high"])


@case
def dcgan_generator_single_sample_in_train_mode_batchnorm():
    # Bug: sampling one image from the trained generator without G.eval(): every BatchNorm
    # normalises with the statistics of this single sample instead of the running averages.
    _seed()
    m = _DCGANGenerator().train()
    return dict(model=m, inputs=torch.randn(1, 32, 1, 1), expect=["train-eval-mode"])
