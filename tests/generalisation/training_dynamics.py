"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=5637): torch.manual_seed(s)


# ------------------------------------------------------------------ helpers (data only)
def _clusters(n, d, k):
    """Balanced, learnable classification data: standardised features with a class-dependent shift."""
    y = torch.arange(n) % k
    centers = torch.randn(k, d)
    x = torch.randn(n, d) + 1.5 * centers[y]
    x = (x - x.mean(0)) / x.std(0)
    return x, y


def _token_data(n, t, vocab, k):
    """Token sequences whose label is decided by which marker token appears most."""
    y = torch.arange(n) % k
    tok = torch.randint(k, vocab, (n, t))
    for i in range(n):
        pos = torch.randperm(t)[: t // 3]
        tok[i, pos] = y[i]
    return tok, y


# ================================================================== BUGGY: learning rate far too high
@case
def sgd_lr_10_on_standardised_regression_mlp():
    # "loss goes to NaN after 3 steps": plain SGD with lr=10 on an MLP regressor.
    _seed()
    m = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.randn(64, 12)
    y = (x[:, :3].sum(1, keepdim=True) - 0.5 * x[:, 3:4]) / 1.8
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=10.0), steps=20,
                expect=["lr-too-high"])


@case
def adam_lr_2_tiny_transformer_intent_classifier():
    # Adam with lr=2 (meant 2e-4) on a small Transformer text classifier: the loss jumps around and rises.
    _seed()

    class IntentNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(60, 32)
            self.pos = nn.Parameter(torch.randn(1, 12, 32) * 0.02)
            layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
            self.enc = nn.TransformerEncoder(layer, 2)
            self.head = nn.Linear(32, 4)

        def forward(self, tok):
            h = self.enc(self.emb(tok) + self.pos)
            return self.head(h.mean(1))

    m = IntentNet()
    tok, y = _token_data(32, 12, 60, 4)
    return dict(model=m, inputs=tok, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=2.0), steps=20,
                expect=["lr-too-high"])


@case
def sgd_momentum_1p5_small_cnn():
    # SGD(momentum=1.5): momentum above 1 makes the velocity grow geometrically and the loss diverge.
    _seed()
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(32, 5))
    y = torch.arange(20) % 5
    x = torch.randn(20, 3, 16, 16) + 0.8 * torch.randn(5, 3, 1, 1)[y]
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=1.5), steps=25,
                expect=["lr-too-high"])


@case
def rmsprop_lr_1_lstm_sensor_regressor():
    # RMSprop(lr=1.0) on an LSTM regressor: every parameter moves by ~1 per step, loss explodes.
    _seed()

    class SensorLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 32, batch_first=True)
            self.out = nn.Linear(32, 2)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.out(h[:, -1])

    m = SensorLSTM()
    x = torch.randn(16, 20, 6)
    y = torch.stack([x[:, -5:, 0].mean(1), x[:, -5:, 1].mean(1)], 1) * 2
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.RMSprop(m.parameters(), lr=1.0), steps=20,
                expect=["lr-too-high"])


@case
def custom_loss_multiplied_by_1e6_sgd():
    # "Scaled the loss up so it would be readable": MSE * 1e6 with SGD lr=0.01 makes every step huge.
    _seed()

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(10, 48), nn.Tanh(), nn.Linear(48, 48), nn.Tanh())
            self.head = nn.Linear(48, 1)

        def forward(self, x):
            return self.head(self.body(x))

    def scaled_mse(out, target):
        return F.mse_loss(out, target) * 1e6

    m = Regressor()
    x = torch.randn(48, 10)
    y = torch.sin(x[:, :1]) + 0.5 * x[:, 1:2]
    return dict(model=m, inputs=x, target=y, loss=scaled_mse,
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01), steps=20,
                expect=["lr-too-high", "exploding-gradients"])


@case
def sum_reduction_mse_over_big_batch_sgd_lr_half():
    # MSELoss(reduction="sum") over 64 x 24 outputs: the gradient is ~1500x a mean loss, SGD lr=0.5 diverges.
    _seed()
    m = nn.Sequential(nn.Linear(24, 64), nn.GELU(), nn.Linear(64, 24))
    x = torch.randn(64, 24)
    y = torch.roll(x, 1, dims=1) * 0.8
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(reduction="sum"),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.5), steps=15,
                expect=["lr-too-high", "exploding-gradients"])


@case
def house_prices_unscaled_targets_sgd():
    # Features standardised but the target is the raw price (~300,000): SGD lr=0.01 blows up to NaN at once.
    _seed()
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 8)
    price = 300_000 + 80_000 * x[:, :1] + 30_000 * x[:, 1:2] + 10_000 * torch.randn(64, 1)
    return dict(model=m, inputs=x, target=price, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.01), steps=20,
                expect=["lr-too-high", "exploding-gradients", "wrong-target"])


# ================================================================== BUGGY: learning rate far too low
@case
def sgd_lr_1e_9_bn_cnn_digits():
    # "My CNN learns nothing": SGD lr=1e-9 (typo for 1e-2), loss identical after 20 steps.
    _seed()
    m = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    y = torch.arange(40) % 10
    x = torch.randn(40, 1, 14, 14) + torch.randn(10, 1, 14, 14)[y]
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=1e-9, momentum=0.9), steps=20,
                expect=["lr-too-low"])


@case
def adam_lr_1e_9_gru_pos_tagger():
    # A GRU token tagger trained with Adam lr=1e-9: the weights move by 1e-9 per step.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(80, 32)
            self.gru = nn.GRU(32, 48, batch_first=True, bidirectional=True)
            self.tag = nn.Linear(96, 6)

        def forward(self, tok):
            h, _ = self.gru(self.emb(tok))
            return self.tag(h).transpose(1, 2)  # (N, C, T) for CrossEntropyLoss

    m = Tagger()
    tok = torch.randint(0, 80, (16, 15))
    tags = tok % 6
    return dict(model=m, inputs=tok, target=tags, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-9), steps=20,
                expect=["lr-too-low"])


@case
def adam_eps_10_conv1d_ecg_classifier():
    # Adam(eps=10) copied from a TF tip about eps=1.0: with small gradients every update is ~1e-7.
    _seed()
    m = nn.Sequential(nn.Conv1d(2, 16, 5, padding=2), nn.ReLU(), nn.Conv1d(16, 32, 5, padding=2), nn.ReLU(),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 3))
    y = torch.arange(30) % 3
    t = torch.linspace(0, 6.28, 64)
    x = torch.randn(30, 2, 64) * 0.7 + torch.stack([torch.sin((y + 1).float()[:, None] * t),
                                                    torch.cos((y + 1).float()[:, None] * t)], 1)
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3, eps=10.0), steps=20,
                expect=["lr-too-low"])


@case
def adam_on_targets_in_thousands_barely_moves():
    # Energy-consumption regression with raw kWh targets (~5,000): Adam lr=1e-3 moves the output by
    # ~0.01 per step, so the loss (~2.5e7) does not visibly move. Targets should be standardised.
    _seed()

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(14, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU())
            self.out = nn.Linear(64, 1)

        def forward(self, feats):
            return self.out(self.net(feats))

    m = Forecaster()
    x = torch.randn(64, 14)
    y = 5000 + 800 * x[:, :1] - 300 * x[:, 2:3]
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=["lr-too-low", "wrong-target"])


# ================================================================== BUGGY: optimizer does not see the parameters
@case
def adamw_groups_forget_layernorm_weights():
    # Decay / no-decay split by name: LayerNorm weights match neither condition and are left out of the optimizer.
    _seed()

    class PreLNBlockNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(20, 64)
            self.norm1 = nn.LayerNorm(64)
            self.ff = nn.Sequential(nn.Linear(64, 128), nn.GELU(), nn.Linear(128, 64))
            self.norm2 = nn.LayerNorm(64)
            self.head = nn.Linear(64, 5)

        def forward(self, x):
            h = self.inp(x)
            h = h + self.ff(self.norm1(h))
            return self.head(self.norm2(h))

    m = PreLNBlockNet()
    decay, no_decay = [], []
    for n, p in m.named_parameters():
        if n.endswith("weight") and "norm" not in n:
            decay.append(p)
        elif n.endswith("bias") and "norm" not in n:   # bug: norm biases AND norm weights fall through
            no_decay.append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    x, y = _clusters(40, 20, 5)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20,
                expect=["untrained-parameter"], where=["norm1", "norm2", "optimizer"])


@case
def optimizer_holds_previous_model_instance():
    # The model was re-instantiated after the optimizer was created: the optimizer updates the old copy.
    _seed()

    def make():
        return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))

    m = make()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    m = make()  # "reset the model before training" -- the optimizer still points at the first one
    x, y = _clusters(48, 10, 3)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20,
                expect=["untrained-parameter"])


@case
def autoencoder_optimizer_on_decoder_only():
    # Adam built on m.decoder.parameters() only; the encoder requires grad but is never updated.
    _seed()

    class AE(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 8))
            self.decoder = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 32))

        def forward(self, x):
            return self.decoder(self.encoder(x))

    m = AE()
    z = torch.randn(64, 6)
    x = z @ torch.randn(6, 32) / math.sqrt(6) + 0.1 * torch.randn(64, 32)
    return dict(model=m, inputs=x, target=x, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.decoder.parameters(), lr=1e-3), steps=20,
                expect=["untrained-parameter"], where=["encoder", "optimizer"])


@case
def finetune_backbone_param_group_lr_zero():
    # Discriminative fine-tuning with lr=base_lr * backbone_mult where backbone_mult was left at 0.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                                          nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32),
                                          nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.classifier = nn.Linear(32, 4)

        def forward(self, x):
            return self.classifier(self.backbone(x))

    m = Net()
    base_lr, backbone_mult = 1e-3, 0
    opt = torch.optim.Adam([{"params": m.backbone.parameters(), "lr": base_lr * backbone_mult},
                            {"params": m.classifier.parameters(), "lr": base_lr}])
    y = torch.arange(24) % 4
    x = torch.randn(24, 3, 16, 16) + 0.7 * torch.randn(4, 3, 16, 16)[y]
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20,
                expect=["untrained-parameter", "lr-too-low"], where=["backbone", "optimizer"])


# ================================================================== BUGGY: no gradient reaches the parameters
@case
def lstm_features_detached_for_truncated_bptt():
    # Meant to detach the carried hidden state (truncated BPTT) but detached the LSTM output instead:
    # the LSTM and the embedding never get a gradient, only the head trains.
    _seed()

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 24)
            self.lstm = nn.LSTM(24, 48, batch_first=True)
            self.head = nn.Linear(48, 50)

        def forward(self, tok):
            out, (h, c) = self.lstm(self.emb(tok))
            out = out.detach()  # bug: should be (h.detach(), c.detach()) carried to the next chunk
            return self.head(out).reshape(-1, 50)

    m = LM()
    tok = torch.randint(0, 50, (8, 17))
    return dict(model=m, inputs=tok[:, :-1], target=tok[:, 1:].reshape(-1), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=["no-gradient"], where=["lstm", "emb"])


@case
def loss_rebuilt_from_item_value():
    # "loss.backward() runs but nothing changes": the loss is rebuilt as a fresh leaf from .item().
    _seed()
    m = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 3))

    def my_loss(out, target):
        value = F.cross_entropy(out, target).item()
        return torch.tensor(value, requires_grad=True)  # disconnected from the model

    x, y = _clusters(32, 12, 3)
    return dict(model=m, inputs=x, target=y, loss=my_loss,
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=20,
                expect=["no-gradient"])


@case
def rounded_sigmoid_predictions_zero_gradient():
    # Churn model returns torch.round(sigmoid(logit)) so the outputs "look like labels": round has zero
    # gradient everywhere, the loss stays constant.
    _seed()

    class Churn(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, x):
            return torch.round(torch.sigmoid(self.net(x)))

    m = Churn()
    x = torch.randn(64, 9)
    y = (x[:, :1] + x[:, 1:2] > 0).float()
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=["no-gradient"])


# ================================================================== HEALTHY
@case
def ok_tiny_transformer_classifier_adam_1e3():
    _seed()

    class TinyTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(60, 32)
            self.pos = nn.Parameter(torch.randn(1, 12, 32) * 0.02)
            layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=True, norm_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(32)
            self.head = nn.Linear(32, 4)

        def forward(self, tok):
            h = self.norm(self.enc(self.emb(tok) + self.pos))
            return self.head(h.mean(1))

    m = TinyTransformer()
    tok, y = _token_data(32, 12, 60, 4)
    return dict(model=m, inputs=tok, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_bn_cnn_sgd_momentum_lr_0p05():
    _seed()

    class Block(nn.Module):
        def __init__(self, c_in, c_out):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(c_out)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)))

    m = nn.Sequential(Block(3, 16), nn.MaxPool2d(2), Block(16, 32), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(32, 5))
    y = torch.arange(40) % 5
    x = torch.randn(40, 3, 16, 16) + 0.8 * torch.randn(5, 3, 16, 16)[y] + 0.5 * torch.randn(5, 3, 1, 1)[y]
    x = (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), steps=20, expect=[])


@case
def ok_adamw_groups_exclude_norms_and_biases():
    _seed()

    class ResMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(20, 64)
            self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(64), nn.Linear(64, 128), nn.GELU(),
                                                       nn.Linear(128, 64)) for _ in range(2)])
            self.norm = nn.LayerNorm(64)
            self.head = nn.Linear(64, 5)

        def forward(self, x):
            h = self.stem(x)
            for b in self.blocks:
                h = h + b(h)
            return self.head(self.norm(h))

    m = ResMLP()
    decay, no_decay = [], []
    for n, p in m.named_parameters():
        (no_decay if p.ndim < 2 else decay).append(p)  # biases and LayerNorm params: no decay
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    x, y = _clusters(40, 20, 5)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20, expect=[])


@case
def ok_gru_sentiment_adam_3e4():
    _seed()

    class Sentiment(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(101, 32, padding_idx=0)
            self.gru = nn.GRU(32, 64, batch_first=True)
            self.fc = nn.Linear(64, 2)

        def forward(self, tok):
            _, h = self.gru(self.emb(tok))
            return self.fc(h[-1])

    m = Sentiment()
    tok, y = _token_data(32, 14, 100, 2)
    tok = tok + 1  # id 0 is reserved for padding
    return dict(model=m, inputs=tok, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-4), steps=25, expect=[])


@case
def ok_rmsprop_lstm_sequence_regressor():
    _seed()

    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 32, batch_first=True, num_layers=2)
            self.fc = nn.Linear(32, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    m = Seq()
    x = torch.randn(32, 15, 4)
    y = x[:, -3:, 0].mean(1, keepdim=True) * 1.5
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.RMSprop(m.parameters(), lr=3e-4), steps=20, expect=[])


@case
def ok_conv_autoencoder_mse_adam():
    _seed()

    class ConvAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
            self.dec = nn.Sequential(nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
                                     nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1))

        def forward(self, x):
            return self.dec(self.enc(x))

    m = ConvAE()
    base = F.avg_pool2d(torch.randn(16, 1, 16, 16), 3, 1, 1)  # smooth images
    x = (base - base.mean()) / base.std()
    return dict(model=m, inputs=x, target=x, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_ncf_embeddings_mlp_adam():
    _seed()

    class NCF(nn.Module):
        def __init__(self):
            super().__init__()
            self.tables = nn.ModuleDict({"user": nn.Embedding(50, 16), "item": nn.Embedding(40, 16)})
            self.mlp = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, user, item):
            h = torch.cat([self.tables["user"](user), self.tables["item"](item)], -1)
            return self.mlp(h).squeeze(-1)

    m = NCF()
    u = torch.randint(0, 50, (64,))
    i = torch.randint(0, 40, (64,))
    r = torch.randn(64)
    return dict(model=m, inputs={"user": u, "item": i}, target=r, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_resnet_block_sgd_nesterov():
    _seed()

    class ResBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b1 = nn.BatchNorm2d(c)
            self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b2 = nn.BatchNorm2d(c)

        def forward(self, x):
            return F.relu(x + self.b2(self.c2(F.relu(self.b1(self.c1(x))))))

    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                      ResBlock(16), ResBlock(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4))
    y = torch.arange(32) % 4
    x = torch.randn(32, 3, 12, 12) + 0.8 * torch.randn(4, 3, 12, 12)[y] + 0.5 * torch.randn(4, 3, 1, 1)[y]
    x = (x - x.mean((0, 2, 3), keepdim=True)) / x.std((0, 2, 3), keepdim=True)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, nesterov=True,
                                          weight_decay=5e-4), steps=20, expect=[])


@case
def ok_discriminative_lr_conv1d_encoder_and_head():
    _seed()

    class KeywordSpotter(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv1d(8, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
                                         nn.Conv1d(32, 32, 5, padding=2, dilation=1), nn.BatchNorm1d(32),
                                         nn.ReLU())
            self.head = nn.Linear(32, 3)

        def forward(self, x):
            return self.head(self.encoder(x).mean(-1))

    m = KeywordSpotter()
    opt = torch.optim.Adam([{"params": m.encoder.parameters(), "lr": 5e-4},
                            {"params": m.head.parameters(), "lr": 2e-3}])
    y = torch.arange(30) % 3
    x = torch.randn(30, 8, 40) + 0.8 * torch.randn(3, 8, 1)[y]
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), optimizer=opt, steps=20, expect=[])


@case
def ok_multilabel_bce_adagrad_mlp():
    _seed()
    m = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 6))
    x = torch.randn(48, 16)
    w = torch.randn(16, 6)
    y = ((x @ w) > 0).float()  # each label ~50% positive
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adagrad(m.parameters(), lr=0.01), steps=20, expect=[])


@case
def ok_cross_attention_query_pooling_adamw():
    _seed()

    class AttnPool(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(10, 32)
            self.query = nn.Parameter(torch.randn(1, 1, 32) * 0.02)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.norm = nn.LayerNorm(32)
            self.out = nn.Linear(32, 3)

        def forward(self, x):
            h = self.proj(x)
            q = self.query.expand(x.shape[0], -1, -1)
            pooled, _ = self.attn(q, h, h)
            return self.out(self.norm(pooled.squeeze(1)))

    m = AttnPool()
    y = torch.arange(36) % 3
    x = torch.randn(36, 9, 10) + torch.randn(3, 1, 10)[y]
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01), steps=20, expect=[])
