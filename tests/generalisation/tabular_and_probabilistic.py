"""Blind batch (eighth session): written by a helper that never read the rules; kept as written, except ten_class_softmax_probs_mse_against_one_hot (a diagnosis nbdebug deliberately does not make; see NOTES.md)."""
import math
import torch, torch.nn as nn, torch.nn.functional as F
CASES = {}
def case(fn): CASES[fn.__name__] = fn; return fn
def _seed(s=6347): torch.manual_seed(s)


def _balanced_binary(x, w=None):
    # exactly half positives: threshold a linear score at its median
    if w is None:
        w = torch.randn(x.shape[1])
    s = x @ w
    return (s > s.median()).float()


def _balanced_classes(score, k):
    # k equally sized classes from quantiles of a score
    order = score.argsort()
    y = torch.empty(score.shape[0], dtype=torch.long)
    y[order] = torch.arange(score.shape[0]) * k // score.shape[0]
    return y


# ====================================================================== buggy
@case
def loan_default_income_dollars_next_to_zscores():
    # Bug: StandardScaler was fit on every column except "annual_income", left in raw dollars.
    _seed()
    m = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 8)
    x[:, 2] = 55000.0 + 18000.0 * torch.randn(64)  # annual income, unscaled
    y = _balanced_binary(torch.randn(64, 8)).unsqueeze(1)
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                expect=["unnormalized-input"], where="input")


@case
def store_ids_one_based_overflow_entity_embedding():
    # Bug: store ids run 1..12 but the embedding was sized with nunique() == 12, so id 12 is out of range.
    _seed()

    class SalesNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.embs = nn.ModuleDict({"store": nn.Embedding(12, 6), "dow": nn.Embedding(7, 3)})
            self.mlp = nn.Sequential(nn.Linear(6 + 3 + 5, 48), nn.ReLU(), nn.Linear(48, 1))

        def forward(self, store, dow, num):
            h = torch.cat([self.embs["store"](store), self.embs["dow"](dow), num], dim=1)
            return self.mlp(h)

    store = torch.randint(1, 13, (48,))
    store[0] = 12
    dow = torch.randint(0, 7, (48,))
    num = torch.randn(48, 5)
    return dict(model=SalesNet(), inputs=(store, dow, num), target=torch.randn(48, 1), loss=nn.MSELoss(),
                expect=["shape-mismatch"], where=["embs.store", "input"])


@case
def claim_counts_poisson_rate_space_raw_linear_output():
    # Bug: a Poisson GLM ported from sklearn: PoissonNLLLoss(log_input=False) expects positive rates,
    # but the model is a bare Linear whose outputs are often negative -> log(negative) = NaN in the loss.
    _seed()
    m = nn.Linear(10, 1)
    x = torch.randn(64, 10)
    rate = torch.exp(0.4 * x[:, :1] - 0.3 * x[:, 1:2])
    y = torch.poisson(rate)
    return dict(model=m, inputs=x, target=y, loss=nn.PoissonNLLLoss(log_input=False),
                expect=["nonfinite-created", "loss-mismatch"], where=["loss", ""])


@case
def poisson_log_input_true_after_softplus_rate_head():
    # Bug: the head already outputs a rate through Softplus, yet the loss is told log_input=True,
    # so it exponentiates the rate again (loss = exp(rate) - y * rate).
    _seed()
    m = nn.Sequential(nn.Linear(12, 48), nn.ReLU(), nn.Linear(48, 1), nn.Softplus())
    x = torch.randn(64, 12)
    y = torch.poisson(torch.exp(0.5 * x[:, :1] + 0.8))
    return dict(model=m, inputs=x, target=y, loss=nn.PoissonNLLLoss(log_input=True),
                expect=["loss-mismatch"], where=["loss", "3"])


@case
def heteroscedastic_regressor_variance_head_unconstrained():
    # Bug: the noise model (variance linear in the features) has no softplus/exp, so GaussianNLLLoss
    # receives negative variances.
    _seed()

    class MeanVar(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.mean_head = nn.Linear(64, 1)
            self.var_head = nn.Linear(6, 1)

        def forward(self, x):
            return self.mean_head(self.trunk(x)), self.var_head(x)

    crit = nn.GaussianNLLLoss()

    def nll(out, y):
        mu, var = out
        return crit(mu, y, var)

    x = torch.randn(64, 6)
    y = (x[:, :1] + 0.5 * torch.randn(64, 1))
    return dict(model=MeanVar(), inputs=x, target=y, loss=nll,
                expect=["loss-mismatch", "nonfinite-created"], where=["var_head", "loss"])


@case
def churn_bce_with_svm_style_minus_one_labels():
    # Bug: labels kept in the SVM convention {-1, +1} and fed to BCEWithLogitsLoss (needs {0, 1}).
    _seed()
    m = nn.Sequential(nn.Linear(9, 64), nn.GELU(), nn.Linear(64, 1))
    x = torch.randn(64, 9)
    y = _balanced_binary(x) * 2 - 1  # -1 / +1
    return dict(model=m, inputs=x, target=y.unsqueeze(1), loss=nn.BCEWithLogitsLoss(),
                expect=["wrong-target"], where="target")




@case
def house_price_thousands_through_sigmoid_head():
    # Bug: sale price in $1000s (roughly 150..450) regressed through a final Sigmoid capped at 1.
    _seed()
    m = nn.Sequential(nn.Linear(11, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
    x = torch.randn(64, 11)
    y = 280.0 + 60.0 * (x[:, :1] + 0.3 * torch.randn(64, 1))
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20,
                expect=["loss-mismatch", "wrong-target", "saturated-activation"])


@case
def log_transformed_visit_counts_with_zero_rows():
    # Bug: target = log(visits) but many customers have 0 visits -> -inf targets (should be log1p).
    _seed()
    m = nn.Sequential(nn.Linear(7, 32), nn.SiLU(), nn.Linear(32, 1))
    x = torch.randn(64, 7)
    visits = torch.poisson(torch.exp(0.3 * x[:, :1]))
    visits[:4] = 0.0
    y = torch.log(visits)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                expect=["nonfinite-input"], where="target")


@case
def patient_table_missing_cholesterol_left_nan():
    # Bug: missing values in one lab column were never imputed; NaNs go straight into the network.
    _seed()
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 2))
    x = torch.randn(64, 10)
    missing = torch.rand(64) < 0.2
    missing[:3] = True
    x[missing, 4] = float("nan")
    y = _balanced_binary(torch.randn(64, 10)).long()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                expect=["nonfinite-input"], where="input")


@case
def numpy_float64_design_matrix_into_float32_regressor():
    # Bug: torch.from_numpy on a float64 numpy array (numpy's default) fed to a float32 model.
    _seed()
    import numpy as np
    rng = np.random.default_rng(6347)
    X = rng.normal(size=(48, 13)) * rng.uniform(1, 5, size=13) + rng.uniform(-3, 3, size=13)
    X = (X - X.mean(0)) / X.std(0)
    x = torch.from_numpy(X)  # dtype float64

    class Regressor(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 1))

        def forward(self, x):
            return self.net(x)

    y = torch.randn(48, 1)
    return dict(model=Regressor(), inputs=x, target=y, loss=nn.MSELoss(),
                expect=["dtype-mismatch"], where=["input", "net.0", "net"])


@case
def wide_and_deep_ctr_deep_tower_detached():
    # Bug: the deep tower's output is .detach()-ed before the sum, so the deep part never trains.
    _seed()

    class WideDeep(nn.Module):
        def __init__(self, n_wide=24, n_deep=10):
            super().__init__()
            self.wide = nn.Linear(n_wide, 1)
            self.deep = nn.Sequential(nn.Linear(n_deep, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                      nn.Linear(32, 1))

        def forward(self, wide, deep):
            return self.wide(wide) + self.deep(deep).detach()

    wide = (torch.rand(64, 24) < 0.2).float()  # crossed one-hot features
    deep = torch.randn(64, 10)
    y = _balanced_binary(deep).unsqueeze(1)
    return dict(model=WideDeep(), inputs={"wide": wide, "deep": deep}, target=y,
                loss=nn.BCEWithLogitsLoss(), expect=["no-gradient"], where="deep")


@case
def multitask_churn_head_weight_integer_division_zero():
    # Bug: the churn-loss weight was written `1 // 2` (integer division -> 0), so churn_head gets zero gradient.
    _seed()

    class LtvChurn(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(14, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
            self.ltv_head = nn.Linear(64, 1)
            self.churn_head = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 1))

        def forward(self, x):
            h = self.trunk(x)
            return torch.cat([self.ltv_head(h), self.churn_head(h)], dim=1)

    churn_weight = 1 // 2  # meant 0.5

    def joint_loss(out, y):
        return F.mse_loss(out[:, 0], y[:, 0]) + churn_weight * F.binary_cross_entropy_with_logits(out[:, 1], y[:, 1])

    x = torch.randn(64, 14)
    y = torch.stack([x[:, 0] + 0.2 * torch.randn(64), _balanced_binary(x)], dim=1)
    return dict(model=LtvChurn(), inputs=x, target=y, loss=joint_loss,
                expect=["no-gradient"], where="churn_head")


@case
def sklearn_style_1d_target_vs_column_prediction_mse():
    # Bug: y kept 1-D (n,) as in scikit-learn while the model predicts (n, 1): MSELoss broadcasts to (n, n).
    _seed()
    m = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.randn(64, 8)
    y = x[:, 0] - 0.5 * x[:, 3] + 0.1 * torch.randn(64)  # shape (64,)
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                expect=["wrong-target", "shape-mismatch"], where=["target", "loss"])


@case
def mixture_density_log_softmax_weights_over_batch_axis():
    # Bug: mixture-weight log-softmax taken over dim=0 (the rows of the batch) instead of the components.
    _seed()

    class MDN(nn.Module):
        def __init__(self, k=5):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.pi = nn.Linear(64, k)
            self.mu = nn.Linear(64, k)
            self.log_sigma = nn.Linear(64, k)

        def forward(self, x):
            h = self.trunk(x)
            log_pi = F.log_softmax(self.pi(h), dim=0)
            return log_pi, self.mu(h), self.log_sigma(h).clamp(-5, 5)

    def mdn_nll(out, y):
        log_pi, mu, log_sigma = out
        z = (y - mu) / log_sigma.exp()
        log_n = -0.5 * z ** 2 - log_sigma - 0.5 * math.log(2 * math.pi)
        return -torch.logsumexp(log_pi + log_n, dim=1).mean()

    x = torch.randn(64, 4)
    y = torch.where(torch.rand(64, 1) < 0.5, x[:, :1] + 1.5, -x[:, :1] - 1.5) + 0.2 * torch.randn(64, 1)
    return dict(model=MDN(), inputs=x, target=y, loss=mdn_nll,
                expect=["softmax-wrong-dim", "batch-mixing"])


@case
def tabular_bn_resnet_scoring_single_customer_in_train_mode():
    # Bug: model left in train() mode while scoring one row: BatchNorm1d cannot use batch stats of 1 sample.
    _seed()

    class Block(nn.Module):
        def __init__(self, d):
            super().__init__()
            self.bn = nn.BatchNorm1d(d)
            self.fc1 = nn.Linear(d, 2 * d)
            self.fc2 = nn.Linear(2 * d, d)

        def forward(self, x):
            return x + self.fc2(F.relu(self.fc1(F.relu(self.bn(x)))))

    class TabResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(16, 32)
            self.blocks = nn.Sequential(Block(32), Block(32))
            self.out = nn.Linear(32, 1)

        def forward(self, x):
            return self.out(self.blocks(self.inp(x)))

    m = TabResNet()  # never called m.eval()
    return dict(model=m, inputs=torch.randn(1, 16), expect=["train-eval-mode"])


@case
def fraud_detection_batch_three_percent_positive():
    # Bug: raw transaction sample with ~3% fraud, no resampling or pos_weight: the negatives dominate.
    _seed()
    m = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))
    x = torch.randn(64, 12)
    y = torch.zeros(64, 1)
    y[[5, 41], 0] = 1.0  # 2 of 64
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                expect=["class-imbalance"], where="target")


# ====================================================================== healthy
@case
def ok_standardised_mlp_regressor_mse_adam():
    _seed()
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    x = torch.randn(64, 10)
    y = (torch.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3] + 0.1 * torch.randn(64, 1))
    y = (y - y.mean()) / y.std()
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=25, expect=[])


@case
def ok_entity_embeddings_concat_numeric_bce():
    _seed()

    class EntityEmbNet(nn.Module):
        def __init__(self, cards=(20, 7, 12), dims=(8, 4, 6), n_num=5):
            super().__init__()
            self.embs = nn.ModuleList([nn.Embedding(c, d) for c, d in zip(cards, dims)])
            self.mlp = nn.Sequential(nn.Linear(sum(dims) + n_num, 64), nn.ReLU(), nn.Dropout(0.1),
                                     nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, cats, nums):
            e = [emb(cats[:, i]) for i, emb in enumerate(self.embs)]
            return self.mlp(torch.cat(e + [nums], dim=1))

    cats = torch.stack([torch.randint(0, 20, (64,)), torch.randint(0, 7, (64,)), torch.randint(0, 12, (64,))], 1)
    nums = torch.randn(64, 5)
    y = _balanced_binary(nums).unsqueeze(1)
    m = EntityEmbNet()
    return dict(model=m, inputs={"cats": cats, "nums": nums}, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_poisson_regression_log_rate_head():
    _seed()
    m = nn.Sequential(nn.Linear(8, 48), nn.ReLU(), nn.Linear(48, 1))  # outputs log-rate
    x = torch.randn(64, 8)
    y = torch.poisson(torch.exp(0.5 * x[:, :1] - 0.3 * x[:, 1:2] + 0.5))
    return dict(model=m, inputs=x, target=y, loss=nn.PoissonNLLLoss(log_input=True),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_heteroscedastic_softplus_variance_gaussian_nll():
    _seed()

    class HeteroReg(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(6, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU())
            self.head = nn.Linear(64, 2)

        def forward(self, x):
            mu, s = self.head(self.trunk(x)).chunk(2, dim=1)
            return mu, F.softplus(s) + 1e-4

    crit = nn.GaussianNLLLoss()

    def nll(out, y):
        return crit(out[0], y, out[1])

    x = torch.randn(64, 6)
    y = x[:, :1] + (0.3 + 0.3 * x[:, 1:2].abs()) * torch.randn(64, 1)
    m = HeteroReg()
    return dict(model=m, inputs=x, target=y, loss=nll,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_two_head_price_and_churn_weighted_sum():
    _seed()

    class TwoHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 48), nn.ReLU())
            self.heads = nn.ModuleDict({"price": nn.Linear(48, 1), "churn": nn.Linear(48, 1)})

        def forward(self, x):
            h = self.shared(x)
            return torch.cat([self.heads["price"](h), self.heads["churn"](h)], dim=1)

    def joint(out, y):
        return F.mse_loss(out[:, 0], y[:, 0]) + 0.5 * F.binary_cross_entropy_with_logits(out[:, 1], y[:, 1])

    x = torch.randn(64, 12)
    price = x[:, 0] - x[:, 2] + 0.2 * torch.randn(64)
    price = (price - price.mean()) / price.std()
    y = torch.stack([price, _balanced_binary(x)], dim=1)
    m = TwoHead()
    return dict(model=m, inputs=x, target=y, loss=joint,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_tabular_resnet_batchnorm_three_class():
    _seed()

    class ResBlock(nn.Module):
        def __init__(self, d, h):
            super().__init__()
            self.norm = nn.BatchNorm1d(d)
            self.lin1 = nn.Linear(d, h)
            self.lin2 = nn.Linear(h, d)
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            z = self.lin1(self.norm(x))
            z = self.lin2(self.drop(F.relu(z)))
            return x + z

    class TabularResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(15, 48)
            self.blocks = nn.ModuleList([ResBlock(48, 96) for _ in range(3)])
            self.head_norm = nn.BatchNorm1d(48)
            self.head = nn.Linear(48, 3)

        def forward(self, x):
            h = self.stem(x)
            for b in self.blocks:
                h = b(h)
            return self.head(F.relu(self.head_norm(h)))

    x = torch.randn(64, 15)
    y = _balanced_classes(x @ torch.randn(15), 3)
    m = TabularResNet()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4), steps=20, expect=[])


@case
def ok_deep_and_cross_v1_parameter_list_bce():
    _seed()

    class DCN(nn.Module):
        def __init__(self, d=16, n_cross=3):
            super().__init__()
            b = 1.0 / math.sqrt(d)
            self.cross_w = nn.ParameterList([nn.Parameter(torch.empty(d).uniform_(-b, b)) for _ in range(n_cross)])
            self.cross_b = nn.ParameterList([nn.Parameter(torch.zeros(d)) for _ in range(n_cross)])
            self.deep = nn.Sequential(nn.Linear(d, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.out = nn.Linear(d + 32, 1)

        def forward(self, x0):
            xl = x0
            for w, b in zip(self.cross_w, self.cross_b):
                xl = x0 * (xl @ w).unsqueeze(1) + b + xl
            return self.out(torch.cat([xl, self.deep(x0)], dim=1))

    x = torch.randn(64, 16)
    y = _balanced_binary(x * x.roll(1, dims=1)).unsqueeze(1)
    m = DCN()
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_mixture_density_net_log_softmax_components():
    _seed()

    class MDN(nn.Module):
        def __init__(self, k=4):
            super().__init__()
            self.trunk = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh())
            self.params = nn.Linear(64, 3 * k)

        def forward(self, x):
            logits, mu, log_sigma = self.params(self.trunk(x)).chunk(3, dim=-1)
            return F.log_softmax(logits, dim=-1), mu, log_sigma.clamp(-5.0, 3.0)

    def mdn_nll(out, y):
        log_pi, mu, log_sigma = out
        z = (y - mu) * torch.exp(-log_sigma)
        comp = -0.5 * z.pow(2) - log_sigma - 0.5 * math.log(2 * math.pi)
        return -torch.logsumexp(log_pi + comp, dim=-1).mean()

    x = torch.randn(64, 3)
    branch = torch.where(torch.rand(64, 1) < 0.5, 1.0, -1.0)
    y = branch * (1.0 + 0.5 * x[:, :1]) + 0.1 * torch.randn(64, 1)
    m = MDN()
    return dict(model=m, inputs=x, target=y, loss=mdn_nll,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_ordinal_credit_grade_cumulative_logits():
    _seed()

    class CumulativeLogit(nn.Module):
        def __init__(self, n_in=9, k=5):
            super().__init__()
            self.score = nn.Sequential(nn.Linear(n_in, 64), nn.ReLU(), nn.Linear(64, 1))
            self.first_cut = nn.Parameter(torch.tensor([-1.5]))
            self.gaps = nn.Parameter(torch.zeros(k - 2))

        def forward(self, x):
            cuts = torch.cat([self.first_cut, self.first_cut + torch.cumsum(F.softplus(self.gaps) + 0.3, 0)])
            return self.score(x) - cuts  # logit of P(grade > k), shape (N, K-1)

    x = torch.randn(60, 9)
    grade = _balanced_classes(x @ torch.randn(9), 5)
    y = (grade.unsqueeze(1) > torch.arange(4).unsqueeze(0)).float()  # cumulative binary targets
    m = CumulativeLogit()
    return dict(model=m, inputs=x, target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=2e-3), steps=20, expect=[])


@case
def ok_cox_partial_likelihood_survival_mlp():
    # Rows interact only inside the loss (risk sets), never inside the model.
    _seed()
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))

    def cox_ph_loss(risk, y):
        time, event = y[:, 0], y[:, 1]
        order = torch.argsort(time, descending=True)
        r = risk.squeeze(1)[order]
        e = event[order]
        log_risk_set = torch.logcumsumexp(r, dim=0)
        return -((r - log_risk_set) * e).sum() / e.sum().clamp_min(1.0)

    x = torch.randn(64, 10)
    hazard = torch.exp(0.7 * x[:, 0] - 0.5 * x[:, 1])
    time = torch.distributions.Exponential(hazard).sample()
    time = (time - time.mean()) / time.std()
    event = (torch.rand(64) < 0.7).float()
    y = torch.stack([time, event], dim=1)
    return dict(model=m, inputs=x, target=y, loss=cox_ph_loss,
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_ft_transformer_feature_tokens_cls():
    _seed()

    class FTTransformer(nn.Module):
        def __init__(self, n_feat=8, d=32, n_cls=4):
            super().__init__()
            b = 1.0 / math.sqrt(d)
            self.tok_w = nn.Parameter(torch.empty(n_feat, d).uniform_(-b, b))
            self.tok_b = nn.Parameter(torch.empty(n_feat, d).uniform_(-b, b))
            self.cls = nn.Parameter(torch.empty(1, 1, d).uniform_(-b, b))
            self.encoder = nn.TransformerEncoderLayer(d, nhead=4, dim_feedforward=64, dropout=0.0,
                                                      batch_first=True)
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, n_cls)

        def forward(self, x):
            tokens = torch.einsum("nf,fd->nfd", x, self.tok_w) + self.tok_b
            tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1)
            h = self.encoder(tokens)
            return self.head(F.relu(self.norm(h[:, 0])))

    x = torch.randn(32, 8)
    y = _balanced_classes(x[:, 0] + x[:, 1] * x[:, 2], 4)
    m = FTTransformer()
    return dict(model=m, inputs=x, target=y, loss=nn.CrossEntropyLoss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=12, expect=[])


@case
def ok_log1p_count_target_huber_silu_mlp():
    _seed()
    m = nn.Sequential(nn.Linear(9, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1))
    x = torch.randn(64, 9)
    counts = torch.poisson(torch.exp(0.6 * x[:, :1]))
    y = torch.log1p(counts)
    y = (y - y.mean()) / y.std()
    return dict(model=m, inputs=x, target=y, loss=nn.SmoothL1Loss(),
                optimizer=torch.optim.AdamW(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_neural_additive_model_per_feature_nets():
    _seed()

    class NAM(nn.Module):
        def __init__(self, n_feat=6, h=32):
            super().__init__()
            self.feature_nets = nn.ModuleList([
                nn.Sequential(nn.Linear(1, h), nn.GELU(), nn.Linear(h, h // 2), nn.GELU(), nn.Linear(h // 2, 1))
                for _ in range(n_feat)])
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            parts = [net(x[:, i:i + 1]) for i, net in enumerate(self.feature_nets)]
            return torch.cat(parts, dim=1).sum(dim=1, keepdim=True) + self.bias

    x = torch.randn(64, 6)
    y = torch.tanh(x[:, :1]) + 0.5 * x[:, 1:2] ** 2 - 0.5 + 0.1 * torch.randn(64, 1)
    y = (y - y.mean()) / y.std()
    m = NAM()
    return dict(model=m, inputs=x, target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])


@case
def ok_gru_transaction_history_churn():
    _seed()

    class ChurnGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 32, batch_first=True)
            self.static = nn.Linear(4, 16)
            self.head = nn.Sequential(nn.Linear(32 + 16, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, history, static):
            _, h = self.gru(history)
            return self.head(torch.cat([h[-1], F.relu(self.static(static))], dim=1))

    history = torch.randn(40, 12, 6)  # 12 monthly standardised aggregates
    static = torch.randn(40, 4)
    y = _balanced_binary(history.mean(1)).unsqueeze(1)
    m = ChurnGRU()
    return dict(model=m, inputs=(history, static), target=y, loss=nn.BCEWithLogitsLoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=15, expect=[])


@case
def ok_neumf_user_item_ratings_regression():
    _seed()

    class NeuMF(nn.Module):
        def __init__(self, n_users=50, n_items=40, d=8):
            super().__init__()
            self.gmf_u = nn.Embedding(n_users, d)
            self.gmf_i = nn.Embedding(n_items, d)
            self.mlp_u = nn.Embedding(n_users, d)
            self.mlp_i = nn.Embedding(n_items, d)
            self.mlp = nn.Sequential(nn.Linear(2 * d, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU())
            self.out = nn.Linear(d + 16, 1)

        def forward(self, users, items):
            gmf = self.gmf_u(users) * self.gmf_i(items)
            deep = self.mlp(torch.cat([self.mlp_u(users), self.mlp_i(items)], dim=1))
            return self.out(torch.cat([gmf, deep], dim=1)).squeeze(1)

    users = torch.randint(0, 50, (64,))
    items = torch.randint(0, 40, (64,))
    ratings = torch.randint(1, 6, (64,)).float()
    y = (ratings - ratings.mean()) / ratings.std()  # centred, scaled star ratings
    m = NeuMF()
    return dict(model=m, inputs=(users, items), target=y, loss=nn.MSELoss(),
                optimizer=torch.optim.Adam(m.parameters(), lr=1e-3), steps=20, expect=[])
