# %% [markdown]
# # NaN and Inf
#
# "My loss is `nan`." One NaN anywhere spreads to every value computed from it: the activations
# after it, the loss, every gradient, and after one optimizer step, the weights. By the time you
# see it, it is everywhere, so the question is **where it was born**. nbdebug answers with the
# first module (and, inside a `forward`, the first torch operation and its source line) whose
# inputs were finite and whose output was not.
#
# The stories:
#
# 1. NaN already in the input;
# 2. NaN from a division and `-inf` from a `log`, fixed one after the other;
# 3. Inf from the initialisation;
# 4. NaN from a hand-written loss.

# %%
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

# %% [markdown]
# ## 1. NaN in the input
#
# Sensor readings with gaps: the CSV had empty cells, which pandas reads as NaN.

# %%
torch.manual_seed(0)
readings = torch.randn(16, 5)
readings[3, 2] = float("nan")     # two missing values
readings[9, 0] = float("nan")
status = torch.randint(0, 3, (16,))
sensor_net = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug sensor_net readings --target status

# %%
t = nbdebug.trace(sensor_net, readings, target=status)
print(t)

# %% [markdown]
# **What it means.** The `nonfin` column is 12 % from the very first layer: the two rows with a NaN
# poison their own outputs (2 of 16 samples), and the mean loss over the batch is NaN. The finding
# is at `input`, before any layer ran: nothing in the model needs to change.
#
# **The fix** belongs in the data pipeline: find the rows, then drop or impute them.

# %%
bad_rows = (~readings.isfinite()).any(dim=1).nonzero().flatten()
print("rows with missing values:", bad_rows.tolist())
clean = torch.nan_to_num(readings, nan=0.0)   # or impute with the column mean of the training set
print(nbdebug.trace(sensor_net, clean, target=status))

# %% [markdown]
# ## 2. NaN from a division, then `-inf` from a `log`
#
# A document classifier that turns word counts into log-frequencies inside the model. One document
# in the batch is empty.

# %%
class DocClassifier(nn.Module):
    def __init__(self, vocab=20, classes=3):
        super().__init__()
        self.classify = nn.Linear(vocab, classes)

    def features(self, counts):
        freq = counts / counts.sum(dim=1, keepdim=True)
        return torch.log(freq)

    def forward(self, counts):
        return self.classify(self.features(counts))


torch.manual_seed(1)
counts = torch.poisson(torch.full((8, 20), 1.5))
counts[5] = 0                     # an empty document
topics = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
torch.manual_seed(0)              # the same weights for the broken and the fixed models below
doc_net = DocClassifier()

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug doc_net counts --target topics

# %%
t = nbdebug.trace(doc_net, counts, target=topics)
print(t)

# %% [markdown]
# **What it means.** The model has a single module, `classify`, and its output is 100 % NaN. Its
# input was already broken, so nbdebug re-ran the forward watching every torch operation: the
# first one to turn finite values into NaN is `torch.div`, in `features`, quoted with its line.
# The empty document's row sum is 0, and 0 / 0 is NaN (20 values: one row of the vocabulary).
#
# **The fix:** never divide by a sum that can be zero.

# %%
class DocClassifierFixedDivision(DocClassifier):
    def features(self, counts):
        freq = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
        return torch.log(freq)


torch.manual_seed(0)
print(nbdebug.trace(DocClassifierFixedDivision(), counts, target=topics))

# %% [markdown]
# Still NaN, and now nbdebug points at the next line: `torch.log` of the words a document does not
# contain, whose frequency is exactly 0. `log(0) = -inf`, and the Linear layer mixes `-inf` and
# `+inf` terms into NaN. This is the usual rhythm with NaN: fix the first source, trace again,
# until the trace is clean.
#
# **The second fix:** smooth the frequencies before the log (or use `torch.log1p`).

# %%
class DocClassifierFixed(DocClassifier):
    def features(self, counts):
        freq = counts / counts.sum(dim=1, keepdim=True).clamp_min(1)
        return torch.log(freq + 1e-3)


torch.manual_seed(0)
print(nbdebug.trace(DocClassifierFixed(), counts, target=topics))

# %% [markdown]
# ## 3. Inf from the initialisation
#
# A CLIP-style contrastive head: image and text embeddings are projected, normalised, and compared
# with a learned temperature. The paper stores the temperature as a **log** (`logit_scale`, used as
# `logit_scale.exp()`), starting at `log(1 / 0.07)`. Here it was initialised with the scale itself.

# %%
class ContrastiveHead(nn.Module):
    def __init__(self, logit_scale=100.0):
        super().__init__()
        self.image_proj = nn.Linear(32, 16)
        self.text_proj = nn.Linear(24, 16)
        self.logit_scale = nn.Parameter(torch.tensor(logit_scale))

    def forward(self, images, texts):
        a = F.normalize(self.image_proj(images), dim=1)
        b = F.normalize(self.text_proj(texts), dim=1)
        return self.logit_scale.exp() * a @ b.T   # (images, texts) similarity logits


torch.manual_seed(1)
images, texts = torch.randn(8, 32), torch.randn(8, 24)
pairs = torch.arange(8)           # image i belongs with text i
torch.manual_seed(0)
head = ContrastiveHead()

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug head (images, texts) --target pairs

# %%
t = nbdebug.trace(head, (images, texts), target=pairs)
print(t)

# %% [markdown]
# **What it means.** Both projections are healthy (rows 1 and 2). `torch.exp` of the parameter
# (`its input reaches 100`) overflows: float32 stops at about 3.4e38, which is `exp(88.7)`. Inf
# times the similarities gives ±Inf and NaN logits. nbdebug's generic advice is to clamp the
# exponent; the root cause here is the value the parameter starts from.
#
# **The fix:** initialise the log of the scale, and clamp it during training as CLIP does
# (`logit_scale.clamp(max=math.log(100))`).

# %%
torch.manual_seed(0)
head_fixed = ContrastiveHead(logit_scale=math.log(1 / 0.07))
t = nbdebug.trace(head_fixed, (images, texts), target=pairs)
print(t)

# %% [markdown]
# Clean, apart from an `ℹ` (info) finding: the output compares every sample with every other, so
# samples interact by design and nbdebug's batch-mixing check says so instead of raising an error.
# Info findings explain; they do not ask you to change anything.
#
# ## 4. NaN from the loss
#
# A regressor that predicts a mean and a variance, trained with a hand-written Gaussian negative
# log-likelihood. The variance head uses a ReLU to keep it non-negative.

# %%
class MeanVariance(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
        self.mean = nn.Linear(32, 1)
        self.var = nn.Linear(32, 1)

    def forward(self, x):
        h = self.body(x)
        return torch.cat([self.mean(h), torch.relu(self.var(h))], dim=1)


def gaussian_nll(out, y):
    mu, var = out[:, :1], out[:, 1:]
    return (torch.log(var) + (y - mu) ** 2 / var).mean()


torch.manual_seed(1)
x, y = torch.randn(32, 8), torch.randn(32, 1)
torch.manual_seed(0)
mv = MeanVariance()

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug mv x --target y --loss gaussian_nll

# %%
t = nbdebug.trace(mv, x, target=y, loss=gaussian_nll)
print(t)

# %% [markdown]
# **What it means.** The model's output is finite (`nonfin` is 0 % in every row) and yet the loss
# is NaN, so the finding is at `loss`: `torch.log` in `gaussian_nll` received the exact zeros that
# the ReLU variance head produces for some samples (3 of the 32 here). (A `--loss` argument is any
# callable `loss(output, target)`, so nbdebug follows the NaN into your own loss code.)
#
# **The fix:** make the variance strictly positive with `softplus` plus a floor, and use torch's
# own `F.gaussian_nll_loss`, which clamps the variance too.

# %%
class MeanVarianceFixed(MeanVariance):
    def forward(self, x):
        h = self.body(x)
        return torch.cat([self.mean(h), F.softplus(self.var(h)) + 1e-6], dim=1)


def gaussian_nll_fixed(out, y):
    return F.gaussian_nll_loss(out[:, :1], y, out[:, 1:])


torch.manual_seed(0)
print(nbdebug.trace(MeanVarianceFixed(), x, target=y, loss=gaussian_nll_fixed))

# %% [markdown]
# ## Takeaways
#
# * NaN in the **input**: fix the data, not the model.
# * NaN **created** inside: nbdebug names the operation and the line; the usual suspects are
#   `log`/`sqrt` of zero, division by a sum or norm that can be zero, and `exp` of large values.
# * Fix, re-trace, repeat: a model can hold more than one source of NaN.
# * The loss is code too: `--loss` takes your own function and nbdebug traces into it.
