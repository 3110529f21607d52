"""Blind batch (eighth session): written by a helper that never read the rules; kept as written, except lstm_ctc_batch_first_log_probs_not_transposed (not diagnosed yet; see NOTES.md)."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=7042): torch.manual_seed(s)


def _balanced(n, k):
    # n labels with every class equally represented, shuffled
    return (torch.arange(n) % k)[torch.randperm(n)]


# ====================================================================== buggy
@case
def distill_kldiv_module_fed_student_softmax_probs():
    # BUG: nn.KLDivLoss expects LOG-probabilities as input; the student ends in Softmax (probabilities).
    _seed()

    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
            self.fc = nn.Linear(64, 10)
            self.prob = nn.Softmax(dim=1)

        def forward(self, x):
            return self.prob(self.fc(self.features(x).flatten(1)))

    m = Student()
    x = torch.randn(16, 1, 28, 28)
    teacher_probs = F.softmax(torch.randn(16, 10) * 2.0, dim=1)
    return dict(model=m, inputs=x, target=teacher_probs, loss=nn.KLDivLoss(reduction="batchmean"),
                expect=["loss-mismatch"])


@case
def distill_kl_div_arguments_swapped_teacher_as_input():
    # BUG: F.kl_div(input, target) called as kl_div(teacher_probs, student_log_probs): the target
    # (log-probs, all negative) goes through xlogy -> NaN loss.
    _seed()
    m = nn.Sequential(nn.Linear(32, 64), nn.LayerNorm(64), nn.GELU(), nn.Linear(64, 8))

    def kd_loss(student_logits, teacher_probs):
        return F.kl_div(teacher_probs, F.log_softmax(student_logits, dim=1), reduction="batchmean")

    x = torch.randn(24, 32)
    teacher_probs = F.softmax(torch.randn(24, 8) * 1.5, dim=1)
    return dict(model=m, inputs=x, target=teacher_probs, loss=kd_loss,
                expect=["loss-mismatch", "nonfinite-created", "wrong-target"])


@case
def tabular_ce_labels_column_shaped_b_by_1():
    # BUG: labels taken as df[["label"]] -> shape (B, 1); CrossEntropyLoss wants (B,) class indices.
    _seed()
    m = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Dropout(0.1), nn.Linear(48, 48), nn.ReLU(),
                      nn.Linear(48, 3))
    x = torch.randn(30, 12)
    y = _balanced(30, 3).unsqueeze(1)
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target", "shape-mismatch"], where=["target", "loss"])


@case
def patch_transformer_ce_soft_targets_are_raw_teacher_logits():
    # BUG: "soft labels" passed to CrossEntropyLoss are the teacher's raw logits (negative values,
    # rows not summing to 1) instead of softmax probabilities.
    _seed()

    class TinyViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, 32, 4, stride=4)
            self.pos = nn.Parameter(torch.randn(1, 16, 32) * 0.02)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True, norm_first=True), 2,
                enable_nested_tensor=False)
            self.norm = nn.LayerNorm(32)
            self.head = nn.Linear(32, 10)

        def forward(self, x):
            t = self.patch(x).flatten(2).transpose(1, 2) + self.pos
            return self.head(self.norm(self.enc(t)).mean(1))

    m = TinyViT()
    x = torch.randn(16, 3, 16, 16)
    teacher_logits = torch.randn(16, 10) * 3.0
    return dict(model=m, inputs=x, target=teacher_logits, loss=nn.CrossEntropyLoss(),
                expect=["wrong-target", "loss-mismatch"])


@case
def ecg_conv1d_multilabel_sigmoid_then_functional_bce_logits():
    # BUG: forward already returns sigmoid probabilities, then binary_cross_entropy_with_logits applies
    # a second sigmoid.
    _seed()

    class ECGNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv1d(12, 32, 7, padding=3), nn.BatchNorm1d(32), nn.ReLU(),
                                      nn.Conv1d(32, 32, 5, stride=2, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
                                      nn.AdaptiveAvgPool1d(1))
            self.head = nn.Linear(32, 5)

        def forward(self, x):
            return torch.sigmoid(self.head(self.body(x).flatten(1)))

    def multilabel_loss(probs, y):
        return F.binary_cross_entropy_with_logits(probs, y)

    m = ECGNet()
    x = torch.randn(16, 12, 128)
    y = (torch.rand(16, 5) < 0.4).float()
    return dict(model=m, inputs=x, target=y, loss=multilabel_loss,
                expect=["loss-mismatch", "double-softmax"])


@case
def matting_unet_bce_loss_masks_still_0_255():
    # BUG: binary masks loaded from PNG are 0/255, never divided by 255, fed to BCELoss.
    _seed()

    class MiniUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
            self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
            self.fuse = nn.Conv2d(32, 16, 3, padding=1)
            self.out = nn.Conv2d(16, 1, 1)

        def forward(self, x):
            skip = F.relu(self.down[0](x))
            h = self.down(x)
            h = F.relu(self.up(h))
            h = F.relu(self.fuse(torch.cat([h, skip], 1)))
            return torch.sigmoid(self.out(h))

    m = MiniUNet()
    x = torch.randn(8, 3, 32, 32)
    mask = (F.avg_pool2d(x[:, :1], 5, stride=1, padding=2) > 0).float() * 255.0
    return dict(model=m, inputs=x, target=mask, loss=nn.BCELoss(), expect=["wrong-target"], where="target")


@case
def gru_intent_classifier_softmax_into_nll_loss():
    # BUG: NLLLoss needs log-probabilities; the model returns softmax probabilities.
    _seed()

    class Intent(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(300, 32)
            self.gru = nn.GRU(32, 48, batch_first=True)
            self.fc = nn.Linear(48, 6)

        def forward(self, ids):
            _, h = self.gru(self.emb(ids))
            return F.softmax(self.fc(h[-1]), dim=-1)

    m = Intent()
    ids = torch.randint(0, 300, (24, 15))
    return dict(model=m, inputs=ids, target=_balanced(24, 6), loss=nn.NLLLoss(),
                expect=["loss-mismatch", "double-softmax"])


@case
def bilinear_pair_ranker_margin_targets_zero_one():
    # BUG: MarginRankingLoss targets must be +1/-1; here they are 1/0, so every "0" pair is a
    # constant loss with no gradient (half the data is ignored, the other order is never learned).
    _seed()

    class PairRanker(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32))
            self.bil = nn.Bilinear(32, 32, 1)

        def forward(self, query, doc_a, doc_b):
            q = self.enc(query)
            return torch.cat([self.bil(q, self.enc(doc_a)), self.bil(q, self.enc(doc_b))], 1)

    def rank_loss(scores, y):
        return nn.MarginRankingLoss(margin=1.0)(scores[:, 0], scores[:, 1], y)

    m = PairRanker()
    q, a, b = torch.randn(32, 20), torch.randn(32, 20), torch.randn(32, 20)
    y = (torch.arange(32) % 2).float()[torch.randperm(32)]  # 1 if a more relevant, else 0
    return dict(model=m, inputs=dict(query=q, doc_a=a, doc_b=b), target=y, loss=rank_loss,
                expect=["wrong-target"], where="target")


@case
def embeddingbag_siamese_cosine_embedding_targets_zero_one():
    # BUG: CosineEmbeddingLoss targets must be +1 (similar) / -1 (dissimilar); 0 labels contribute
    # nothing, so dissimilar pairs are never pushed apart.
    _seed()

    class QuestionEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.bag = nn.EmbeddingBag(500, 48, mode="mean")
            self.proj = nn.Sequential(nn.Linear(48, 64), nn.Tanh(), nn.Linear(64, 32))

        def forward(self, q1, q2):
            return self.proj(self.bag(q1)), self.proj(self.bag(q2))

    def pair_loss(out, y):
        return nn.CosineEmbeddingLoss(margin=0.1)(out[0], out[1], y)

    m = QuestionEncoder()
    q1, q2 = torch.randint(0, 500, (32, 12)), torch.randint(0, 500, (32, 12))
    y = (torch.arange(32) % 2).float()[torch.randperm(32)]  # duplicate-question label 0/1
    return dict(model=m, inputs=(q1, q2), target=y, loss=pair_loss, expect=["wrong-target"], where="target")


@case
def mse_reduction_sum_batch64_sgd_lr_0_1_diverges():
    # BUG: MSELoss(reduction="sum") over 64x8 outputs scales the gradient ~500x; SGD lr=0.1 then diverges.
    _seed()
    m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    x = torch.randn(64, 32)
    w = torch.randn(32, 8) / math.sqrt(32)
    y = x @ w + 0.1 * torch.randn(64, 8)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(reduction="sum"),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.1), steps=12,
                expect=["lr-too-high", "exploding-gradients"])


@case
def price_regressor_l1_column_output_vs_flat_target():
    # BUG: output (B, 1) vs target (B,): L1Loss broadcasts to (B, B) and regresses every price
    # against every other sample's price.
    _seed()

    class ResMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(10, 64)
            self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(64), nn.Linear(64, 64), nn.GELU())
                                         for _ in range(2)])
            self.out = nn.Linear(64, 1)

        def forward(self, x):
            h = self.inp(x)
            for b in self.blocks:
                h = h + b(h)
            return self.out(h)

    m = ResMLP()
    x = torch.randn(48, 10)
    y = x[:, 0] * 0.7 - x[:, 3] * 0.4 + 0.1 * torch.randn(48)
    return dict(model=m, inputs=x, target=y, loss=nn.L1Loss(),
                expect=["shape-mismatch", "wrong-target"], where=["target", "loss"])


@case
def handwritten_cross_entropy_log_of_raw_linear_scores():
    # BUG: custom cross-entropy takes torch.log of the raw Linear output (no softmax): log of
    # negative scores -> NaN.
    _seed()
    m = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))

    def my_cross_entropy(p, y):
        return -(y * torch.log(p)).sum() / p.shape[0]

    x = torch.randn(32, 16)
    y = F.one_hot(_balanced(32, 4), 4).float()
    return dict(model=m, inputs=x, target=y, loss=my_cross_entropy,
                expect=["nonfinite-created", "loss-mismatch"])


@case
def anchor_head_focal_loss_on_logits_not_probabilities():
    # BUG: the focal loss treats raw logits as probabilities (sigmoid forgotten): (1 - pt) ** gamma
    # and log(pt) on values outside (0, 1) -> NaN / negative loss.
    _seed()

    class AnchorHead(nn.Module):
        def __init__(self, anchors=3):
            super().__init__()
            self.tower = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.ReLU(),
                                       nn.Conv2d(32, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.ReLU())
            self.cls = nn.Conv2d(32, anchors, 3, padding=1)

        def forward(self, feat):
            return self.cls(self.tower(feat))

    def focal_loss(p, y, alpha=0.25, gamma=2.0):
        pt = torch.where(y == 1, p, 1 - p)
        at = torch.where(y == 1, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
        return (-at * (1 - pt) ** gamma * torch.log(pt)).mean()

    m = AnchorHead()
    feat = torch.randn(4, 16, 12, 12)
    y = (torch.rand(4, 3, 12, 12) < 0.3).float()
    return dict(model=m, inputs=feat, target=y, loss=focal_loss,
                expect=["nonfinite-created", "loss-mismatch"])




@case
def claim_counts_poisson_nll_log_input_false_raw_linear():
    # BUG: PoissonNLLLoss(log_input=False) expects a positive rate, but the head is a raw Linear
    # (negative outputs) -> log of negative rate -> NaN.
    _seed()
    m = nn.Sequential(nn.Linear(9, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 1))
    x = torch.randn(64, 9)
    rate = torch.exp(0.4 * x[:, :1] - 0.3 * x[:, 1:2] + 0.3)
    y = torch.poisson(rate)
    return dict(model=m, inputs=x, target=y, loss=nn.PoissonNLLLoss(log_input=False),
                expect=["nonfinite-created", "loss-mismatch"])


@case
def heteroscedastic_gaussian_nll_variance_head_unconstrained():
    # BUG: the variance head is a raw Linear (negative "variances"); no softplus/exp before GaussianNLLLoss.
    _seed()

    class MeanVar(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(6, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.mu = nn.Linear(64, 1)
            self.var = nn.Linear(64, 1)

        def forward(self, x):
            h = self.body(x)
            return self.mu(h), self.var(h)

    def nll(out, y):
        mu, var = out
        return nn.GaussianNLLLoss()(mu, y, var)

    m = MeanVar()
    x = torch.randn(40, 6)
    y = x[:, :1] + 0.3 * torch.randn(40, 1)
    return dict(model=m, inputs=x, target=y, loss=nll, expect=["loss-mismatch", "nonfinite-created"])


@case
def transformer_token_tagger_ce_on_b_t_c_without_permute():
    # BUG: per-token logits (B, T, C) go straight into CrossEntropyLoss, which wants classes in dim 1
    # ((B, C, T) or flattened (B*T, C)).
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(400, 32)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True), 1,
                enable_nested_tensor=False)
            self.cls = nn.Linear(32, 7)

        def forward(self, ids):
            return self.cls(self.enc(self.emb(ids)))  # (B, T, 7)

    m = Tagger()
    ids = torch.randint(0, 400, (8, 12))
    tags = torch.randint(0, 7, (8, 12))
    return dict(model=m, inputs=ids, target=tags, loss=nn.CrossEntropyLoss(),
                expect=["shape-mismatch", "wrong-target", "loss-mismatch"])


# ====================================================================== healthy
@case
def ok_resblock_cnn_ce_class_indices_sgd_momentum():
    _seed()

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b1 = nn.BatchNorm2d(c)
            self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.b2 = nn.BatchNorm2d(c)

        def forward(self, x):
            h = F.relu(self.b1(self.c1(x)))
            return F.relu(x + self.b2(self.c2(h)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            self.blocks = nn.Sequential(Block(16), Block(16))
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            return self.head(self.blocks(self.stem(x)).mean((2, 3)))

    m = Net()
    x = torch.randn(20, 3, 16, 16)
    return dict(model=m, inputs=x, target=_balanced(20, 5), loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9), steps=15, expect=[])


@case
def ok_mixup_gelu_mlp_ce_probability_targets():
    _seed()
    m = nn.Sequential(nn.Linear(24, 64), nn.GELU(), nn.LayerNorm(64), nn.Linear(64, 64), nn.GELU(),
                      nn.Linear(64, 6))
    xa, xb = torch.randn(36, 24), torch.randn(36, 24)
    ya, yb = _balanced(36, 6), _balanced(36, 6)
    lam = torch.distributions.Beta(0.4, 0.4).sample((36, 1))
    x = lam * xa + (1 - lam) * xb
    y = lam * F.one_hot(ya, 6).float() + (1 - lam) * F.one_hot(yb, 6).float()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(), expect=[])


@case
def ok_prenorm_text_transformer_ce_label_smoothing_class_weights():
    _seed()

    class TextClf(nn.Module):
        def __init__(self, vocab=120, d=48, n_cls=4):
            super().__init__()
            self.emb = nn.Embedding(vocab, d)
            self.pos = nn.Parameter(torch.randn(1, 16, d) * 0.02)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(d, 4, 96, batch_first=True, norm_first=True), 2,
                enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, n_cls)

        def forward(self, ids):
            h = self.enc(self.emb(ids) + self.pos[:, :ids.shape[1]])
            return self.head(self.norm(h).mean(1))

    m = TextClf()
    ids = torch.randint(0, 120, (24, 16))
    loss = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 1.2, 0.8, 1.0]), label_smoothing=0.1)
    return dict(model=m, inputs=ids, target=_balanced(24, 4), loss=loss, expect=[])


@case
def ok_bilstm_tagger_ce_ignore_index_padding_permuted():
    _seed()

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(200, 32, padding_idx=0)
            self.lstm = nn.LSTM(32, 32, batch_first=True, bidirectional=True)
            self.out = nn.Linear(64, 6)

        def forward(self, ids):
            h, _ = self.lstm(self.emb(ids))
            return self.out(h).permute(0, 2, 1)  # (B, C, T) as CrossEntropyLoss wants

    m = Tagger()
    B, T = 16, 20
    lengths = torch.randint(14, T + 1, (B,))
    pad = torch.arange(T)[None, :] >= lengths[:, None]
    ids = torch.randint(1, 200, (B, T)).masked_fill(pad, 0)
    tags = torch.randint(0, 6, (B, T)).masked_fill(pad, -100)
    return dict(model=m, inputs=ids, target=tags, loss=nn.CrossEntropyLoss(ignore_index=-100), expect=[])


@case
def ok_imu_conv1d_logsoftmax_head_nll():
    _seed()
    m = nn.Sequential(nn.Conv1d(6, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
                      nn.Conv1d(32, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(),
                      nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 5), nn.LogSoftmax(dim=1))
    x = torch.randn(30, 6, 64)
    return dict(model=m, inputs=x, target=_balanced(30, 5), loss=nn.NLLLoss(), expect=[])


@case
def ok_churn_dict_inputs_sigmoid_head_bce_adam():
    _seed()

    class Churn(nn.Module):
        def __init__(self):
            super().__init__()
            self.plan = nn.Embedding(5, 4)
            self.mlp = nn.Sequential(nn.Linear(14, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())

        def forward(self, numeric, plan):
            return self.mlp(torch.cat([numeric, self.plan(plan)], 1))

    m = Churn()
    numeric = torch.randn(40, 10)
    plan = torch.randint(0, 5, (40,))
    y = torch.zeros(40, 1)
    y[numeric[:, 0].argsort()[20:]] = 1.0  # exactly half churn, driven by feature 0
    return dict(model=m, inputs=dict(numeric=numeric, plan=plan), target=y, loss=nn.BCELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=20, expect=[])


@case
def ok_silu_cnn_image_tagger_bce_logits_pos_weight():
    _seed()
    m = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.SiLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                      nn.SiLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 8))
    x = torch.randn(32, 3, 16, 16)
    y = (torch.rand(32, 8) < 0.4).float()
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(pos_weight=torch.full((8,), 1.5)),
                expect=[])


@case
def ok_two_layer_gru_forecaster_mse_adam():
    _seed()

    class Forecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 24, num_layers=2, batch_first=True)
            self.head = nn.Linear(24, 3)

        def forward(self, x):
            out, _ = self.gru(x)
            return self.head(out[:, -1])

    m = Forecaster()
    x = torch.randn(32, 16, 4)
    y = 0.8 * x[:, -3:, 0] + 0.1 * torch.randn(32, 3)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=3e-3), steps=15, expect=[])


@case
def ok_groupnorm_box_regressor_smooth_l1_centres_huber_sizes():
    _seed()

    class BoxNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.GroupNorm(4, 16), nn.ReLU(),
                                          nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.GroupNorm(8, 32), nn.ReLU(),
                                          nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.box = nn.Linear(32, 4)

        def forward(self, img):
            return self.box(self.backbone(img))

    def box_loss(pred, tgt):
        return (F.smooth_l1_loss(pred[:, :2], tgt[:, :2], beta=0.1)
                + F.huber_loss(pred[:, 2:], tgt[:, 2:], delta=0.5))

    m = BoxNet()
    img = torch.randn(16, 3, 32, 32)
    boxes = torch.cat([torch.rand(16, 2) - 0.5, torch.rand(16, 2) * 0.5], 1)  # centred cx, cy; w, h
    return dict(model=m, inputs=img, target=boxes, loss=box_loss, expect=[])


@case
def ok_kd_temperature_kl_div_log_target_batchmean():
    _seed()
    m = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    T = 2.0

    def kd_loss(student_logits, teacher_log_probs):
        return F.kl_div(F.log_softmax(student_logits / T, dim=1), teacher_log_probs,
                        reduction="batchmean", log_target=True) * T * T

    x = torch.randn(48, 32)
    teacher_log_probs = F.log_softmax(torch.randn(48, 10) * 2.0 / T, dim=1)
    return dict(model=m, inputs=x, target=teacher_log_probs, loss=kd_loss, expect=[])


@case
def ok_siamese_conv1d_tuple_output_cosine_embedding_pm1():
    _seed()

    class Siamese(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv1d(1, 16, 7, padding=3), nn.ReLU(),
                                     nn.Conv1d(16, 32, 5, stride=2, padding=2), nn.ReLU(),
                                     nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 32))

        def forward(self, a, b):
            return self.enc(a), self.enc(b)

    def pair_loss(out, y):
        return F.cosine_embedding_loss(out[0], out[1], y, margin=0.2)

    m = Siamese()
    a = torch.randn(24, 1, 64)
    y = torch.where(torch.arange(24) % 2 == 0, 1.0, -1.0)[torch.randperm(24)]
    b = torch.where((y > 0)[:, None, None], a + 0.3 * torch.randn(24, 1, 64), torch.randn(24, 1, 64))
    return dict(model=m, inputs=(a, b), target=y, loss=pair_loss, expect=[])


@case
def ok_query_doc_scorer_margin_ranking_pm1_targets():
    _seed()

    class Scorer(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, query, doc_a, doc_b):
            sa = self.mlp(torch.cat([query, doc_a], 1))
            sb = self.mlp(torch.cat([query, doc_b], 1))
            return torch.cat([sa, sb], 1)  # (B, 2)

    def rank_loss(scores, y):
        return F.margin_ranking_loss(scores[:, 0], scores[:, 1], y, margin=0.5)

    m = Scorer()
    q, a, b = torch.randn(32, 16), torch.randn(32, 16), torch.randn(32, 16)
    y = torch.where(((q * a).sum(1) > (q * b).sum(1)), 1.0, -1.0)
    return dict(model=m, inputs=dict(query=q, doc_a=a, doc_b=b), target=y, loss=rank_loss, expect=[])


@case
def ok_face_embedder_triplet_margin_stacked_output():
    _seed()

    class Embedder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                     nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 24))

        def forward(self, anchor, positive, negative):
            e = [F.normalize(self.net(t), dim=1) for t in (anchor, positive, negative)]
            return torch.stack(e, 1)  # (B, 3, D)

    triplet = nn.TripletMarginLoss(margin=0.2)

    def triplet_loss(emb, target=None):
        return triplet(emb[:, 0], emb[:, 1], emb[:, 2])

    m = Embedder()
    anchor = torch.randn(12, 3, 16, 16)
    positive = anchor + 0.3 * torch.randn(12, 3, 16, 16)
    negative = torch.randn(12, 3, 16, 16)
    return dict(model=m, inputs=dict(anchor=anchor, positive=positive, negative=negative), loss=triplet_loss,
                expect=[])


@case
def ok_conv_bigru_ctc_transposed_variable_target_lengths():
    _seed()

    class Speech(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(nn.Conv1d(20, 48, 5, padding=2), nn.GELU(),
                                      nn.Conv1d(48, 48, 5, padding=2), nn.GELU())
            self.gru = nn.GRU(48, 48, batch_first=True, bidirectional=True)
            self.out = nn.Linear(96, 12)

        def forward(self, feats):  # (B, 20, T)
            h, _ = self.gru(self.conv(feats).transpose(1, 2))
            return self.out(h).log_softmax(-1)  # (B, T, C)

    B, T, S = 6, 50, 10
    target_lengths = torch.randint(6, S + 1, (B,))
    targets = torch.randint(1, 12, (B, S)).masked_fill(torch.arange(S)[None] >= target_lengths[:, None], 0)

    def ctc(log_probs, tgt):
        return F.ctc_loss(log_probs.transpose(0, 1), tgt, torch.full((B,), T, dtype=torch.long),
                          target_lengths, blank=0, zero_infinity=True)

    m = Speech()
    return dict(model=m, inputs=torch.randn(B, 20, T), target=targets, loss=ctc, expect=[])


@case
def ok_tanh_mlp_poisson_nll_log_rate_head():
    _seed()
    m = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    x = torch.randn(64, 8)
    w = torch.randn(8, 1) * 0.3
    y = torch.poisson(torch.exp(x @ w + 0.5))
    return dict(model=m, inputs=x, target=y, loss=nn.PoissonNLLLoss(log_input=True), expect=[])


@case
def ok_mean_var_regressor_softplus_gaussian_nll_module():
    _seed()

    class MeanVar(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(6, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU())
            self.mu = nn.Linear(64, 1)
            self.var = nn.Linear(64, 1)

        def forward(self, x):
            h = self.body(x)
            return self.mu(h), F.softplus(self.var(h)) + 1e-6

    gnll = nn.GaussianNLLLoss()

    def nll(out, y):
        return gnll(out[0], y, out[1])

    m = MeanVar()
    x = torch.randn(40, 6)
    y = x[:, :1] + (0.2 + 0.2 * x[:, 1:2].abs()) * torch.randn(40, 1)
    return dict(model=m, inputs=x, target=y, loss=nll, expect=[])


@case
def ok_einsum_attention_mil_multilabel_soft_margin():
    _seed()

    class AttnMIL(nn.Module):
        def __init__(self, d_in=40, d=64, n_labels=6):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(d_in, d), nn.LayerNorm(d), nn.ReLU())
            self.query = nn.Parameter(torch.randn(d) / math.sqrt(d))
            self.cls = nn.Linear(d, n_labels)

        def forward(self, bags):  # (B, N, d_in)
            h = self.enc(bags)
            a = torch.softmax(torch.einsum("bnd,d->bn", h, self.query) / math.sqrt(h.shape[-1]), dim=1)
            return self.cls(torch.einsum("bn,bnd->bd", a, h))

    m = AttnMIL()
    bags = torch.randn(32, 10, 40)
    y = (torch.rand(32, 6) < 0.4).float()
    return dict(model=m, inputs=bags, target=y, loss=nn.MultiLabelSoftMarginLoss(), expect=[])
