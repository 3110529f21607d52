"""Blind batch (eighth session): written by a helper that never read the rules; kept as written."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6637): torch.manual_seed(s)


# =========================================================== raising: None from a module
@case
def resblock_identity_branch_forgets_return():
    # Bug: the residual block only returns in its downsample branch; the identity branch
    # computes `out` and falls off the end, so block1 yields None and block2 crashes on it.
    _seed()

    class Block(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.down is not None:
                return F.relu(out + self.down(x))
            out = F.relu(out + x)  # missing `return out`

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.block1 = Block(16, 16)
            self.block2 = Block(16, 32, stride=2)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.block2(self.block1(self.stem(x)))
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    return dict(model=Net(), inputs=torch.randn(8, 3, 16, 16), target=torch.arange(8) % 10,
                loss=nn.CrossEntropyLoss(), expect=["none-output"], where="block1")


@case
def eval_path_returns_nothing():
    # Bug: forward only returns in training mode; the inference branch computes probabilities
    # but never returns them, so the model in eval() outputs None and the loss crashes.
    _seed()

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Linear(48, 48), nn.ReLU())
            self.out = nn.Linear(48, 4)

        def forward(self, x):
            logits = self.out(self.body(x))
            if self.training:
                return logits
            probs = logits.softmax(-1)  # forgot `return probs`

    m = Classifier().eval()
    return dict(model=m, inputs=torch.randn(16, 12), target=torch.arange(16) % 4,
                loss=nn.CrossEntropyLoss(), expect=["none-output"], where="")


# =========================================================== raising: shapes
@case
def cnn_head_in_features_sized_for_one_pool():
    # Bug: the classifier's in_features was computed as if only one MaxPool ran (32*16*16),
    # but two pools shrink 32x32 to 8x8, so the Linear gets 2048 features instead of 8192.
    _seed()
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 16 * 16, 64), nn.ReLU(), nn.Linear(64, 10))
    return dict(model=m, inputs=torch.randn(8, 3, 32, 32), target=torch.arange(8) % 10,
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where="7")


@case
def single_rgb_image_into_custom_cnn():
    # Bug: one image (3, 32, 32) passed without unsqueeze(0); the convs silently treat it as
    # unbatched and torch.flatten(x, 1) then hands fc 32 rows of 256 instead of 1 row of 2048.
    _seed()

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.fc = nn.Linear(32 * 8 * 8, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc(torch.flatten(x, 1))

    return dict(model=SmallCNN(), inputs=torch.randn(3, 32, 32), expect=["shape-mismatch"],
                where=["input", "conv1"])


@case
def univariate_series_missing_feature_axis_lstm():
    # Bug: a univariate series batch of shape (batch, time) = (16, 50) fed to LSTM(input_size=1,
    # batch_first=True); the trailing feature axis (unsqueeze(-1)) is missing.
    _seed()

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 32, batch_first=True)
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    x = torch.randn(16, 50)
    return dict(model=Forecaster(), inputs=x, target=torch.randn(16, 1), loss=nn.MSELoss(),
                expect=["shape-mismatch"], where=["input", "lstm"])


@case
def token_ids_exceed_embedding_vocab():
    # Bug: the Embedding was sized for a 1000-token vocabulary but the tokenizer emits ids up to
    # 1499, so the lookup raises "index out of range in self".
    _seed()

    class BagOfEmbeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(1000, 32)
            self.fc = nn.Linear(32, 3)

        def forward(self, ids):
            return self.fc(self.emb(ids).mean(1))

    ids = torch.randint(0, 1500, (12, 20))
    ids[0, 0] = 1499
    return dict(model=BagOfEmbeddings(), inputs=ids, target=torch.arange(12) % 3,
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["input", "emb"])


@case
def conv1d_sensor_data_time_major_channels_last():
    # Bug: accelerometer windows stored as (batch, time, channels) = (8, 100, 12) fed straight
    # into Conv1d(12, ...), which wants (batch, channels, time); needs x.transpose(1, 2).
    _seed()
    m = nn.Sequential(nn.Conv1d(12, 32, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                      nn.Flatten(), nn.Linear(32, 6))
    return dict(model=m, inputs=torch.randn(8, 100, 12), target=torch.arange(8) % 6,
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where=["input", "0"])


@case
def inception_branches_disagree_on_stride():
    # Bug: the 3x3 branch uses stride 2 while the 1x1 branch keeps full resolution, so the
    # torch.cat over channels gets 16x16 and 8x8 feature maps and raises.
    _seed()

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Sequential(nn.Conv2d(8, 16, 1), nn.ReLU())
            self.b3 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU())
            self.head = nn.Linear(32, 5)

        def forward(self, x):
            h = torch.cat([self.b1(x), self.b3(x)], dim=1)
            return self.head(h.mean((2, 3)))

    return dict(model=Mixed(), inputs=torch.randn(4, 8, 16, 16), target=torch.tensor([0, 1, 2, 3]),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"])


@case
def attention_scores_matmul_without_transpose():
    # Bug: self-attention computes q @ k instead of q @ k.transpose(-2, -1); with seq_len 10 and
    # dim 16 the batched matmul of (B,10,16) by (B,10,16) raises.
    _seed()

    class SelfAttention(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.q = nn.Linear(d, d)
            self.k = nn.Linear(d, d)
            self.v = nn.Linear(d, d)

        def forward(self, x):
            q, k, v = self.q(x), self.k(x), self.v(x)
            att = (q @ k) / math.sqrt(q.size(-1))  # should be k.transpose(-2, -1)
            return att.softmax(-1) @ v

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = SelfAttention(16)
            self.mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 2))

        def forward(self, x):
            return self.mlp((x + self.attn(x)).mean(1))

    return dict(model=Net(), inputs=torch.randn(6, 10, 16), target=torch.arange(6) % 2,
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where="attn")


@case
def flatten_with_view_after_transpose():
    # Bug: the custom flatten transposes (B, C, L) -> (B, L, C) and then calls .view(B, -1) on the
    # non-contiguous result; view raises and the fix is .reshape (or .contiguous().view).
    _seed()

    class TimeFlatten(nn.Module):
        def forward(self, x):
            x = x.transpose(1, 2)
            return x.view(x.size(0), -1)

    m = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.ReLU(), TimeFlatten(), nn.Linear(8 * 24, 3))
    return dict(model=m, inputs=torch.randn(10, 4, 24), target=torch.tensor([0, 1, 2] * 3 + [0]),
                loss=nn.CrossEntropyLoss(), expect=["shape-mismatch"], where="2")


@case
def lstm_initial_state_built_for_batch_one():
    # Bug: forward builds (h0, c0) with a hard-coded batch size of 1 (copied from an inference
    # script), so the LSTM rejects them for a batch of 8.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 24, batch_first=True)
            self.fc = nn.Linear(24, 1)

        def forward(self, x):
            h0 = torch.zeros(1, 1, 24)
            c0 = torch.zeros(1, 1, 24)
            out, _ = self.lstm(x, (h0, c0))
            return self.fc(out[:, -1])

    return dict(model=Tagger(), inputs=torch.randn(8, 15, 6), target=torch.randn(8, 1),
                loss=nn.MSELoss(), expect=["shape-mismatch"])


@case
def padding_mask_built_seq_by_batch():
    # Bug: the padding mask is built as (seq, batch) = (10, 4) while the batch_first attention
    # expects key_padding_mask of shape (batch, seq) = (4, 10).
    _seed()

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
            self.ff = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))

        def forward(self, x, pad_mask):
            h, _ = self.attn(x, x, x, key_padding_mask=pad_mask)
            return self.ff((x + h).mean(1))

    x = torch.randn(4, 10, 16)
    lengths = torch.tensor([10, 8, 6, 9])
    pad_mask = (torch.arange(10)[None, :] >= lengths[:, None]).T  # wrong: transposed
    return dict(model=Encoder(), inputs={"x": x, "pad_mask": pad_mask},
                expect=["shape-mismatch"], where=["input", "attn"])


@case
def batchnorm1d_after_linear_on_sequence():
    # Bug: a per-token MLP applies BatchNorm1d(32) to (batch, seq, 32) activations; BatchNorm1d
    # treats dim 1 (seq = 20) as channels and raises on running_mean size.
    _seed()
    m = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 1))
    return dict(model=m, inputs=torch.randn(8, 20, 16), target=torch.randn(8, 20, 1), loss=nn.MSELoss(),
                expect=["shape-mismatch"], where=["1", "input"])


# =========================================================== raising: dtypes
@case
def float_token_ids_from_zero_padded_buffer():
    # Bug: sequences were padded into torch.zeros(...) (float32 by default), so the ids reach the
    # Embedding as floats; it needs long/int indices.
    _seed()

    class TextGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(300, 32, padding_idx=0)
            self.gru = nn.GRU(32, 48, batch_first=True)
            self.fc = nn.Linear(48, 4)

        def forward(self, ids):
            _, h = self.gru(self.emb(ids))
            return self.fc(h[-1])

    seqs = [torch.randint(1, 300, (n,)) for n in (12, 7, 9, 12, 5, 10, 8, 11)]
    ids = torch.zeros(8, 12)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    return dict(model=TextGRU(), inputs=ids, target=torch.arange(8) % 4, loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["input", "emb"])


@case
def ordinal_survey_answers_as_int64():
    # Bug: survey answers (1..5 Likert codes) loaded as an int64 tensor and fed to a float32 MLP.
    _seed()
    m = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randint(1, 6, (24, 10))
    return dict(model=m, inputs=x, target=torch.rand(24, 1), loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["input", "0"])


@case
def float64_signal_from_numpy_into_conv1d():
    # Bug: the ECG windows come from torch.from_numpy on a float64 array; the Conv1d weights are
    # float32, so the first convolution raises.
    _seed()
    m = nn.Sequential(nn.Conv1d(2, 16, 7, padding=3), nn.ReLU(), nn.MaxPool1d(2),
                      nn.Conv1d(16, 16, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1),
                      nn.Flatten(), nn.Linear(16, 2))
    x = torch.randn(8, 2, 128, dtype=torch.float64)
    return dict(model=m, inputs=x, target=torch.arange(8) % 2, loss=nn.CrossEntropyLoss(),
                expect=["dtype-mismatch"], where=["input", "0"])


@case
def half_precision_batch_into_float_gru_on_cpu():
    # Bug: features were cast with .half() to save memory, but the GRU model stays float32 on CPU.
    _seed()

    class SeqRegressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 32, batch_first=True)
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            y, _ = self.gru(x)
            return self.out(y[:, -1])

    x = torch.randn(10, 16, 8).half()
    return dict(model=SeqRegressor(), inputs=x, target=torch.randn(10, 1), loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["input", "gru"])


@case
def ternary_weight_parameter_stored_as_int():
    # Bug: a "ternary" layer keeps its weight as an integer tensor (randint, frozen Parameter);
    # F.linear with float32 activations and an int64 weight raises.
    _seed()

    class TernaryLinear(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.weight = nn.Parameter(torch.randint(-1, 2, (cout, cin)), requires_grad=False)
            self.bias = nn.Parameter(torch.zeros(cout))

        def forward(self, x):
            return F.linear(x, self.weight, self.bias)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(8, 32)
            self.tern = TernaryLinear(32, 32)
            self.out = nn.Linear(32, 3)

        def forward(self, x):
            return self.out(F.relu(self.tern(F.relu(self.inp(x)))))

    return dict(model=Net(), inputs=torch.randn(12, 8), target=torch.arange(12) % 3,
                loss=nn.CrossEntropyLoss(), expect=["dtype-mismatch"], where="tern")


# =========================================================== raising: devices
@case
def head_left_on_meta_device_after_lazy_init():
    # Bug: the classification head was built under `with torch.device("meta")` for fast init and
    # never materialised (to_empty / load_state_dict), so its weights live on 'meta'.
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(4), nn.Flatten())
            with torch.device("meta"):
                self.head = nn.Linear(8 * 16, 10)

        def forward(self, x):
            return self.head(self.backbone(x))

    return dict(model=Net(), inputs=torch.randn(6, 1, 28, 28), target=torch.arange(6),
                loss=nn.CrossEntropyLoss(), expect=["device-mismatch"], where="head")


# =========================================================== raising: gradients
@case
def custom_loss_rebuilt_from_item():
    # Bug: the custom loss converts its value to a Python float with .item() and wraps it in a
    # new tensor, cutting the graph; loss.backward() raises "does not require grad".
    _seed()
    m = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Linear(32, 1))

    def rmse_loss(output, target):
        value = torch.sqrt(F.mse_loss(output, target)).item()
        return torch.tensor(value)

    x = torch.randn(20, 5)
    return dict(model=m, inputs=x, target=x[:, :1] - x[:, 1:2], loss=rmse_loss,
                expect=["no-gradient"], where="loss")


@case
def activation_sent_through_numpy_clip():
    # Bug: forward clips the hidden activation with numpy (h.numpy()), which raises because h
    # requires grad; the usual "fix" (.detach().numpy()) would silently cut enc off the graph.
    import numpy as np
    _seed()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(6, 16)
            self.dec = nn.Linear(16, 1)

        def forward(self, x):
            h = self.enc(x)
            h = torch.from_numpy(np.clip(h.numpy(), 0.0, 6.0))
            return self.dec(h)

    return dict(model=Net(), inputs=torch.randn(8, 6), target=torch.randn(8, 1), loss=nn.MSELoss(),
                expect=["no-gradient"], where=["enc", ""])


# =========================================================== raising: losses and targets
@case
def ce_labels_with_trailing_singleton_dim():
    # Bug: labels read from a CSV column keep shape (N, 1); CrossEntropyLoss wants (N,) class
    # indices and raises "multi-target not supported".
    _seed()
    m = nn.Sequential(nn.Linear(7, 32), nn.ReLU(), nn.Linear(32, 3))
    y = (torch.arange(30) % 3).unsqueeze(1)
    return dict(model=m, inputs=torch.randn(30, 7), target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target"], where="target")


@case
def segmentation_mask_saved_as_0_255_with_bce():
    # Bug: binary masks loaded as 0/255 image values and passed to BCELoss without dividing by 255;
    # BCELoss raises because targets must lie in [0, 1].
    _seed()
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 1, 1), nn.Sigmoid())
    mask = (torch.rand(4, 1, 16, 16) > 0.5).float() * 255
    return dict(model=m, inputs=torch.randn(4, 3, 16, 16), target=mask, loss=nn.BCELoss(),
                expect=["wrong-target"], where="target")


@case
def bce_without_sigmoid_on_multilabel_head():
    # Bug: a 5-tag multi-label head outputs raw Linear logits (no Sigmoid) into BCELoss, which
    # expects probabilities and raises on inputs outside [0, 1]; BCEWithLogitsLoss was meant.
    _seed()
    m = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Linear(32, 5))
    x = torch.randn(64, 9)
    y = (x[:, :5] > 0).float()
    return dict(model=m, inputs=x, target=y, loss=nn.BCELoss(), expect=["loss-mismatch"])


# =========================================================== healthy look-alikes
@case
def ok_conv1d_transpose_then_reshape_flatten():
    # Healthy twin of the .view bug: transpose followed by reshape (copies when needed).
    _seed()

    class TimeFlatten(nn.Module):
        def forward(self, x):
            x = x.transpose(1, 2)
            return x.reshape(x.size(0), -1)

    m = nn.Sequential(nn.Conv1d(4, 8, 3, padding=1), nn.ReLU(), TimeFlatten(), nn.Linear(8 * 24, 3))
    return dict(model=m, inputs=torch.randn(24, 4, 24), target=torch.arange(24) % 3,
                loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_gated_mlp_with_safe_inplace_relu():
    # Healthy: ReLU(inplace=True) right after a Linear and an out-of-place gate multiply;
    # nothing needed for backward is overwritten.
    _seed()

    class GatedMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(10, 64)
            self.act = nn.ReLU(inplace=True)
            self.gate = nn.Linear(10, 64)
            self.fc2 = nn.Linear(64, 1)

        def forward(self, x):
            h = self.act(self.fc1(x))
            h = h * torch.sigmoid(self.gate(x))
            return self.fc2(h)

    x = torch.randn(32, 10)
    return dict(model=GatedMLP(), inputs=x, target=x[:, :2].sum(1, keepdim=True), loss=nn.MSELoss(),
                expect=[])


@case
def ok_embedding_gru_with_long_ids_in_range():
    # Healthy twin of the embedding bugs: long ids all < num_embeddings.
    _seed()

    class TextGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(200, 32)
            self.gru = nn.GRU(32, 64, batch_first=True)
            self.fc = nn.Linear(64, 5)

        def forward(self, ids):
            _, h = self.gru(self.emb(ids))
            return self.fc(h[-1])

    ids = torch.randint(0, 200, (20, 12))
    return dict(model=TextGRU(), inputs=ids, target=torch.arange(20) % 5, loss=nn.CrossEntropyLoss(),
                expect=[])


@case
def ok_custom_loss_logs_item_but_returns_tensor():
    # Healthy twin of the .item() bug: .item() only feeds a log; the returned loss keeps its graph.
    _seed()
    m = nn.Sequential(nn.Linear(5, 32), nn.Tanh(), nn.Linear(32, 1))
    history = []

    def rmse_loss(output, target):
        loss = torch.sqrt(F.mse_loss(output, target) + 1e-8)
        history.append(loss.item())
        return loss

    x = torch.randn(20, 5)
    return dict(model=m, inputs=x, target=x[:, :1] - x[:, 1:2], loss=rmse_loss, expect=[])


@case
def ok_lstm_state_sized_from_input_batch():
    # Healthy twin of the hard-coded h0 bug: the initial state takes its batch size from x.
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 24, batch_first=True)
            self.fc = nn.Linear(24, 1)

        def forward(self, x):
            h0 = x.new_zeros(1, x.size(0), 24)
            c0 = x.new_zeros(1, x.size(0), 24)
            out, _ = self.lstm(x, (h0, c0))
            return self.fc(out[:, -1])

    x = torch.randn(16, 15, 6)
    return dict(model=Tagger(), inputs=x, target=x[:, -1, :1], loss=nn.MSELoss(), expect=[])


@case
def ok_inception_branches_same_resolution_eval():
    # Healthy twin of the cat bug: every branch keeps 16x16, so the channel concat fits.
    _seed()

    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.ReLU())
            self.b3 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
            self.b5 = nn.Sequential(nn.Conv2d(8, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU())
            self.head = nn.Linear(40, 5)

        def forward(self, x):
            h = torch.cat([self.b1(x), self.b3(x), self.b5(x)], dim=1)
            return self.head(h.mean((2, 3)))

    return dict(model=Mixed().eval(), inputs=torch.randn(10, 8, 16, 16), expect=[])
