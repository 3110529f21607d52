"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6547): torch.manual_seed(s)


# ====================================================================== shapes and types

@case
def v4_conv1d_single_recording_without_batch_dim():
    # Bug: one 2-channel ECG recording passed as (C, L) instead of (1, C, L); Conv1d silently reads it
    # as unbatched, the flatten then folds the channel axis into "batch" and the head crashes.
    _seed()

    class ECGNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(2, 16, 5)
            self.act = nn.ReLU()
            self.head = nn.Linear(16 * 96, 4)

        def forward(self, x):
            h = self.act(self.conv(x))
            return self.head(torch.flatten(h, 1))

    return dict(model=ECGNet(), inputs=torch.randn(2, 100), expect=["shape-mismatch"],
                where=["input", "conv"])


@case
def v4_flatten_inside_feature_block_before_conv1d():
    # Bug: the feature block flattens the (B, C, L) sequence before its Conv1d.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Flatten(), nn.Conv1d(3, 16, 3), nn.ReLU())
            self.pool = nn.AdaptiveAvgPool1d(1)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            h = self.pool(self.features(x)).squeeze(-1)
            return self.fc(h)

    return dict(model=Net(), inputs=torch.randn(8, 3, 64), expect=["shape-mismatch"], where=["features"])


@case
def v4_sensor_windows_channels_last_into_conv1d():
    # Bug: IMU windows stored as (batch, time, channels) fed to Conv1d that wants (batch, channels, time).
    _seed()

    class HAR(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Conv1d(6, 32, 5, padding=2), nn.ReLU(),
                                         nn.Conv1d(32, 32, 5, padding=2), nn.ReLU())
            self.cls = nn.Linear(32, 6)

        def forward(self, x):
            return self.cls(self.encoder(x).mean(-1))

    x = torch.randn(16, 128, 6)
    return dict(model=HAR(), inputs=x, target=torch.randint(0, 6, (16,)), loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch"], where=["input", "encoder.0"])


@case
def v4_int64_count_features_into_mlp():
    # Bug: tabular count features loaded as int64 and fed straight to a float32 Linear.
    _seed()

    class Tabular(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 2))

        def forward(self, x):
            return self.net(x)

    x = torch.randint(0, 20, (24, 12))
    return dict(model=Tabular(), inputs=x, expect=["dtype-mismatch"], where=["input", "net.0"])


@case
def v4_float64_sequence_into_float32_gru():
    # Bug: a float64 (numpy default) batch is passed to a float32 GRU.
    _seed()

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(5, 24, batch_first=True)
            self.out = nn.Linear(24, 1)

        def forward(self, x):
            h, _ = self.gru(x)
            return self.out(h[:, -1])

    x = torch.randn(10, 15, 5, dtype=torch.float64)
    return dict(model=Forecaster(), inputs=x, target=torch.randn(10, 1, dtype=torch.float64),
                loss=nn.MSELoss(), expect=["dtype-mismatch"], where=["input", "gru"])


@case
def v4_cnn_head_left_on_meta_device():
    # Bug: the classifier head was materialised on the meta device while the backbone is on the CPU.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            return self.head(self.backbone(x))

    m = Net()
    m.head.to("meta")
    return dict(model=m, inputs=torch.randn(4, 3, 16, 16), expect=["device-mismatch"], where="head")


@case
def v4_residual_block_forgets_return_in_plain_branch():
    # Bug: the residual MLP block only returns in its skip branch; the plain branch falls off the end.
    _seed()

    class Block(nn.Module):
        def __init__(self, d, use_skip):
            super().__init__()
            self.use_skip = use_skip
            self.body = nn.Sequential(nn.Linear(d, d), nn.GELU())

        def forward(self, x):
            if self.use_skip:
                return x + self.body(x)
            self.body(x)  # missing `return`

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(10, 32)
            self.blocks = nn.ModuleList([Block(32, True), Block(32, False), Block(32, True)])
            self.out = nn.Linear(32, 3)

        def forward(self, x):
            h = self.inp(x)
            for b in self.blocks:
                h = b(h)
            return self.out(h)

    return dict(model=Net(), inputs=torch.randn(12, 10), expect=["none-output"], where="blocks.1")


# ====================================================================== numbers

@case
def v4_missing_value_nan_in_static_branch_tuple_input():
    # Bug: a missing CSV value became NaN in the static features of a (sequence, static) tuple input.
    _seed()

    class Hybrid(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 16, batch_first=True)
            self.static = nn.Linear(3, 16)
            self.head = nn.Linear(32, 1)

        def forward(self, seq, stat):
            h = self.rnn(seq)[0][:, -1]
            return self.head(torch.cat([h, torch.relu(self.static(stat))], -1))

    seq = torch.randn(8, 10, 4)
    stat = torch.randn(8, 3)
    stat[5, 2] = float("nan")
    return dict(model=Hybrid(), inputs=(seq, stat), target=torch.randn(8, 1), loss=nn.MSELoss(),
                expect=["nonfinite-input"], where=["input"])


@case
def v4_per_channel_standardise_constant_channel():
    # Bug: per-channel standardisation of a batch whose alpha channel is constant: 0/0 = NaN in the input.
    _seed()
    raw = torch.rand(6, 4, 16, 16)
    raw[:, 3] = 1.0  # fully opaque alpha channel
    mean = raw.mean(dim=(0, 2, 3), keepdim=True)
    std = raw.std(dim=(0, 2, 3), keepdim=True)
    x = (raw - mean) / std
    m = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 3))
    return dict(model=m, inputs=x, target=torch.randint(0, 3, (6,)), loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-input"], where=["input"])


@case
def v4_sqrt_compression_of_signed_conv_features():
    # Bug: a "power compression" module takes sqrt of conv features that are half negative -> NaN.
    _seed()

    class SqrtCompress(nn.Module):
        def forward(self, x):
            return torch.sqrt(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), SqrtCompress(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(8, 2)

        def forward(self, x):
            return self.fc(self.body(x))

    return dict(model=Net(), inputs=torch.randn(8, 1, 12, 12), expect=["nonfinite-created"],
                where="body.1")


@case
def v4_relative_error_loss_with_zero_counts():
    # Bug: a MAPE-style loss divides by the target, and some count targets are exactly 0 -> Inf.
    _seed()

    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 16, 3, padding=1)
            self.fc = nn.Linear(16, 1)

        def forward(self, x):
            return self.fc(F.relu(self.conv(x)).mean(-1))

    def relative_error(output, target):
        return ((output - target) / target).abs().mean()

    target = torch.randint(1, 6, (16, 1)).float()
    target[::4] = 0.0  # days with zero visits
    return dict(model=Counter(), inputs=torch.randn(16, 3, 20), target=target, loss=relative_error,
                expect=["nonfinite-created"], where=["loss"])


@case
def v4_cnn_weights_normal_std_10():
    # Bug: a custom init loop sets every conv/linear weight to N(0, 10): activations blow up layer by layer.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 16, 3, padding=1)
            self.c2 = nn.Conv2d(16, 32, 3, padding=1)
            self.c3 = nn.Conv2d(32, 32, 3, padding=1)
            self.fc = nn.Linear(32, 10)
            for mod in self.modules():
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    nn.init.normal_(mod.weight, 0.0, 10.0)
                    nn.init.zeros_(mod.bias)

        def forward(self, x):
            x = F.relu(self.c1(x))
            x = F.relu(self.c2(x))
            x = F.relu(self.c3(x))
            return self.fc(x.mean((2, 3)))

    return dict(model=Net(), inputs=torch.randn(4, 3, 16, 16), expect=["bad-init", "exploding-activations"])


@case
def v4_deep_conv1d_stack_with_sigmoids():
    # Bug: nine Conv1d layers each followed by a sigmoid: gradients vanish towards the input.
    _seed()

    class DeepSig(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv1d(2, 32, 3, padding=1)
            self.convs = nn.ModuleList([nn.Conv1d(32, 32, 3, padding=1) for _ in range(8)])
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            h = torch.sigmoid(self.stem(x))
            for c in self.convs:
                h = torch.sigmoid(c(h))
            return self.head(h.mean(-1))

    return dict(model=DeepSig(), inputs=torch.randn(16, 2, 32), target=torch.randn(16, 1), loss=nn.MSELoss(),
                expect=["vanishing-gradients", "constant-output"])


@case
def v4_raw_mnist_pixels_into_mlp():
    # Bug: flattened 0..255 grayscale pixels fed to an MLP without scaling or standardisation.
    _seed()

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x.view(x.size(0), -1))))

    x = torch.randint(0, 256, (32, 1, 28, 28)).float()
    return dict(model=MLP(), inputs=x, target=torch.randint(0, 10, (32,)), loss=nn.CrossEntropyLoss(),
                expect=["unnormalized-input"])


@case
def v4_tanh_on_raw_house_features():
    # Bug: square footage / year built / lot size in raw units go into a tanh layer, which saturates.
    _seed()

    class Pricer(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 32)
            self.act = nn.Tanh()
            self.fc2 = nn.Linear(32, 1)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    n = 40
    sqft = 1500 + 500 * torch.randn(n, 1)
    year = 1950 + 70 * torch.rand(n, 1)
    lot = 8000 + 3000 * torch.randn(n, 1)
    x = torch.cat([sqft, year, lot], 1)
    return dict(model=Pricer(), inputs=x, target=torch.randn(n, 1), loss=nn.MSELoss(),
                expect=["saturated-activation", "unnormalized-input"])


@case
def v4_conv_bias_minus_ten_kills_most_channels():
    # Bug: a bias "init trick" set 14 of 16 conv biases to -10, so those ReLU channels never fire.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.act1 = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, 4)
            with torch.no_grad():
                self.conv1.bias[:14] = -10.0

        def forward(self, x):
            return self.fc(self.pool(self.act1(self.conv1(x))).flatten(1))

    return dict(model=Net(), inputs=torch.randn(16, 3, 12, 12), target=torch.randint(0, 4, (16,)),
                loss=nn.CrossEntropyLoss(), expect=["dead-relu"], where=["conv1", "act1"])


@case
def v4_gru_regressor_relu_head_stuck_at_zero():
    # Bug: a ReLU on the regression head (to keep predictions positive) with a negative bias clamps
    # every prediction to 0: the output does not change with the input.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 16, batch_first=True)
            self.head = nn.Sequential(nn.Linear(16, 1), nn.ReLU())
            nn.init.constant_(self.head[0].bias, -6.0)

        def forward(self, x):
            return self.head(self.gru(x)[0][:, -1])

    return dict(model=Net(), inputs=torch.randn(20, 8, 3), expect=["constant-output", "dead-relu"])


@case
def v4_relu_rnncell_loop_large_recurrent_init():
    # Bug: a hand-unrolled ReLU RNNCell with recurrent weights N(0, 0.4) (spectral radius ~2.3) over 30 steps.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.RNNCell(4, 32, nonlinearity="relu")
            nn.init.normal_(self.cell.weight_hh, std=0.4)
            self.fc = nn.Linear(32, 1)

        def forward(self, x):  # x: (batch, time, feat)
            h = x.new_zeros(x.size(0), 32)
            for t in range(x.size(1)):
                h = self.cell(x[:, t], h)
            return self.fc(h)

    return dict(model=Net(), inputs=torch.randn(4, 30, 4), target=torch.randn(4, 1), loss=nn.MSELoss(),
                expect=["exploding-gradients", "exploding-activations", "bad-init"])


# ====================================================================== losses and targets

@case
def v4_cnn_forward_returns_softmax_to_cross_entropy():
    # Bug: forward returns F.softmax probabilities, then F.cross_entropy applies log-softmax again.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 16, 3, padding=1)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            h = F.relu(self.conv(x)).mean((2, 3))
            return F.softmax(self.fc(h), dim=1)

    return dict(model=Net(), inputs=torch.randn(20, 1, 10, 10), target=torch.arange(20) % 5,
                loss=lambda out, t: F.cross_entropy(out, t), expect=["double-softmax"])


@case
def v4_gru_text_classifier_raw_logits_to_nll():
    # Bug: the GRU classifier returns raw logits but the loss is F.nll_loss (expects log-probabilities).
    _seed()

    class TextClf(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(200, 32)
            self.gru = nn.GRU(32, 32, batch_first=True)
            self.fc = nn.Linear(32, 4)

        def forward(self, ids):
            return self.fc(self.gru(self.emb(ids))[1][-1])

    def loss(out, t):
        return F.nll_loss(out, t)

    return dict(model=TextClf(), inputs=torch.randint(0, 200, (24, 12)), target=torch.arange(24) % 4,
                loss=loss, expect=["loss-mismatch"])


@case
def v4_sigmoid_cnn_with_bce_on_class_indices():
    # Bug: a 4-class image problem trained as binary: one sigmoid unit + BCELoss with targets 0..3.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 1)
            self.out = nn.Sigmoid()

        def forward(self, x):
            return self.out(self.fc(F.relu(self.conv(x)).mean((2, 3))))

    target = (torch.arange(16) % 4).float().unsqueeze(1)
    return dict(model=Net(), inputs=torch.randn(16, 3, 8, 8), target=target, loss=nn.BCELoss(),
                expect=["wrong-target", "loss-mismatch"])


@case
def v4_token_tagger_float_labels_cross_entropy():
    # Bug: per-token labels stored as float, given to CrossEntropyLoss over (B, C, L) logits.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.enc = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, dropout=0.0)
            self.cls = nn.Linear(16, 5)

        def forward(self, ids):
            return self.cls(self.enc(self.emb(ids))).transpose(1, 2)  # (B, C, L)

    target = (torch.arange(6 * 9).view(6, 9) % 5).float()
    return dict(model=Tagger(), inputs=torch.randint(0, 50, (6, 9)), target=target,
                loss=nn.CrossEntropyLoss(), expect=["wrong-target"], where=["target"])


@case
def v4_binary_bce_batch_almost_all_negative():
    # Bug: a binary batch with 2 positives out of 64 (97% one class) and no weighting or resampling.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 16, 3, padding=1)
            self.fc = nn.Linear(16, 1)

        def forward(self, x):
            return self.fc(F.relu(self.conv(x)).mean(-1))

    target = torch.zeros(64, 1)
    target[[7, 40]] = 1.0
    return dict(model=Net(), inputs=torch.randn(64, 4, 16), target=target, loss=nn.BCEWithLogitsLoss(),
                expect=["class-imbalance"])


# ====================================================================== training dynamics

@case
def v4_sgd_momentum_lr_50_on_conv_classifier():
    # Bug: SGD with lr=50 (meant 0.05): the loss jumps up / turns NaN within a few steps.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 16, 5, padding=2)
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            return self.fc(F.relu(self.conv(x)).amax(-1))

    m = Net()
    x = torch.randn(48, 3, 24)
    y = x.mean(-1).argmax(1) % 4
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=50.0, momentum=0.9), steps=15,
                expect=["lr-too-high"])


@case
def v4_sgd_lr_1e_minus_6_on_mlp_classifier():
    # Bug: plain SGD with lr=1e-6: twenty steps leave loss and weights practically unchanged.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.Linear(8, 32)
            self.l2 = nn.Linear(32, 3)

        def forward(self, x):
            return self.l2(F.relu(self.l1(x)))

    m = Net()
    x = torch.randn(60, 8)
    y = x[:, :3].argmax(1)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=1e-6), steps=20, expect=["lr-too-low"])


@case
def v4_freshly_initialised_gru_encoder_frozen():
    # Bug: meant to freeze the (pretrained) embedding, but froze the freshly initialised GRU encoder.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(100, 16)
            self.encoder = nn.GRU(16, 32, batch_first=True)
            self.head = nn.Linear(32, 3)

        def forward(self, ids):
            out, _ = self.encoder(self.emb(ids))
            return self.head(out.mean(1))

    m = Net()
    m.encoder.requires_grad_(False)
    return dict(model=m, inputs=torch.randint(0, 100, (12, 10)), target=torch.arange(12) % 3,
                loss=nn.CrossEntropyLoss(), expect=["no-gradient"], where="encoder")


@case
def v4_backbone_run_under_no_grad_in_forward():
    # Bug: forward wraps the (untrained) conv backbone in torch.no_grad(), so it never gets gradients.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                          nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
            self.classifier = nn.Linear(16, 4)

        def forward(self, x):
            with torch.no_grad():
                feats = self.backbone(x).flatten(1)
            return self.classifier(feats)

    return dict(model=Net(), inputs=torch.randn(8, 3, 16, 16), target=torch.arange(8) % 4,
                loss=nn.CrossEntropyLoss(), expect=["no-gradient"], where="backbone")


@case
def v4_lstm_without_batch_first_on_batch_major_input():
    # Bug: LSTM built without batch_first=True but fed (batch, time, feat): it recurs over the batch axis.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16)  # expects (time, batch, feat)
            self.fc = nn.Linear(16, 3)

        def forward(self, x):  # x: (batch, time, feat)
            out, _ = self.lstm(x)
            return self.fc(out[:, -1])

    return dict(model=Net(), inputs=torch.randn(6, 12, 8), target=torch.arange(6) % 3,
                loss=nn.CrossEntropyLoss(), expect=["batch-mixing"])


@case
def v4_single_image_through_bn1d_head_in_train_mode():
    # Bug: predicting on one image without model.eval(): the BatchNorm1d head sees a single sample.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.ModuleDict({"fc": nn.Linear(16, 16), "bn": nn.BatchNorm1d(16), "out": nn.Linear(16, 2)})

        def forward(self, x):
            h = self.backbone(x)
            h = F.relu(self.head["bn"](self.head["fc"](h)))
            return self.head["out"](h)

    m = Net().train()
    return dict(model=m, inputs=torch.randn(1, 3, 16, 16), expect=["train-eval-mode"], where="head.bn")


@case
def v4_cnn_logsoftmax_over_batch_dim():
    # Bug: nn.LogSoftmax(dim=0) normalises over the batch instead of the classes.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3, padding=1)
            self.fc = nn.Linear(8, 4)
            self.logp = nn.LogSoftmax(dim=0)

        def forward(self, x):
            return self.logp(self.fc(F.relu(self.conv(x)).mean((2, 3))))

    return dict(model=Net(), inputs=torch.randn(10, 1, 8, 8), target=torch.arange(10) % 4,
                loss=nn.NLLLoss(), expect=["softmax-wrong-dim", "batch-mixing"])


@case
def v4_conv_branches_in_plain_dict():
    # Bug: branch convs kept in a plain Python dict (should be nn.ModuleDict): invisible to parameters().
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.branches = {"k3": nn.Conv2d(3, 8, 3, padding=1), "k5": nn.Conv2d(3, 8, 5, padding=2)}
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            hs = [F.relu(conv(x)).mean((2, 3)) for conv in self.branches.values()]
            return self.fc(torch.cat(hs, 1))

    return dict(model=Net(), inputs=torch.randn(10, 3, 12, 12), target=torch.arange(10) % 5,
                loss=nn.CrossEntropyLoss(), expect=["untrained-parameter"])


@case
def v4_two_convs_back_to_back_without_activation():
    # Bug: conv1 feeds conv2 directly, no activation between them: they collapse into one linear conv.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(4, 32, 3, padding=1)
            self.conv2 = nn.Conv1d(32, 32, 3, padding=1)
            self.fc = nn.Linear(32, 3)

        def forward(self, x):
            h = self.conv2(self.conv1(x))
            return self.fc(F.relu(h).mean(-1))

    return dict(model=Net(), inputs=torch.randn(16, 4, 40), target=torch.arange(16) % 3,
                loss=nn.CrossEntropyLoss(), expect=["missing-nonlinearity"], where=["conv1", "conv2"])


# ====================================================================== healthy

@case
def v4_ok_residual_bn_cnn_classifier_train_mode():
    _seed()

    class ResBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x):
            h = F.relu(self.bn1(self.conv1(x)))
            return F.relu(x + self.bn2(self.conv2(h)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.blocks = nn.Sequential(ResBlock(16), ResBlock(16))
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            return self.fc(self.blocks(self.stem(x)).mean((2, 3)))

    x = 0.8 * torch.randn(16, 3, 16, 16) + 0.6 * torch.randn(16, 3, 1, 1)  # per-image colour cast
    y = torch.randperm(16) % 4
    return dict(model=Net().train(), inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def v4_ok_conv1d_bn_audio_net_eval():
    _seed()
    m = nn.Sequential(
        nn.Conv1d(1, 16, 9, stride=2, padding=4), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(16, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(32, 8),
    ).eval()
    t = torch.linspace(0, 1, 256)
    freq = torch.randint(3, 40, (8, 1, 1)).float()
    amp = 0.5 + torch.rand(8, 1, 1)
    x = amp * torch.sin(2 * math.pi * freq * t + 6.28 * torch.rand(8, 1, 1)) + 0.3 * torch.randn(8, 1, 256)
    x = (x - x.mean()) / x.std()
    return dict(model=m, inputs=x, expect=[])


@case
def v4_ok_gru_seq_regressor_sgd_steps():
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 24, batch_first=True)
            self.fc = nn.Linear(24, 1)

        def forward(self, x):
            out, _ = self.gru(x)
            return self.fc(out[:, -1])

    m = Net()
    x = torch.randn(32, 12, 4)
    y = x[:, -2:, :1].mean(1)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.5), steps=20, expect=[])


@case
def v4_ok_tiny_causal_lm_eval():
    _seed()

    class TinyLM(nn.Module):
        def __init__(self, vocab=64, d=32, L=12):
            super().__init__()
            self.tok = nn.Embedding(vocab, d)
            self.pos = nn.Embedding(L, d)
            self.ln1 = nn.LayerNorm(d)
            self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
            self.ln2 = nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
            self.lnf = nn.LayerNorm(d)
            self.lm_head = nn.Linear(d, vocab)

        def forward(self, ids):
            L = ids.size(1)
            h = self.tok(ids) + self.pos(torch.arange(L, device=ids.device))
            mask = torch.triu(torch.ones(L, L, dtype=torch.bool, device=ids.device), 1)
            a = self.ln1(h)
            h = h + self.attn(a, a, a, attn_mask=mask, need_weights=False)[0]
            h = h + self.mlp(self.ln2(h))
            return self.lm_head(self.lnf(h))

    return dict(model=TinyLM().eval(), inputs=torch.randint(0, 64, (4, 12)), expect=[])


@case
def v4_ok_silu_mlp_regression_adamw_steps():
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(3, 32)
            self.fc2 = nn.Linear(32, 32)
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            return self.out(F.silu(self.fc2(F.silu(self.fc1(x)))))

    m = Net()
    x = torch.randn(128, 3)
    y = (0.8 * x[:, :1] - 0.5 * x[:, 1:2] + 0.3 * torch.sin(x[:, 2:3]))
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def v4_ok_image_plus_tabular_tuple_inputs():
    _seed()

    class MultiModal(nn.Module):
        def __init__(self):
            super().__init__()
            self.img = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.tab = nn.Sequential(nn.Linear(5, 16), nn.ReLU())
            self.head = nn.Linear(32, 3)

        def forward(self, image, meta):
            return self.head(torch.cat([self.img(image), self.tab(meta)], dim=1))

    return dict(model=MultiModal(), inputs=(torch.randn(16, 3, 16, 16), torch.randn(16, 5)), expect=[])
