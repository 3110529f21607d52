# %% [markdown]
# # Losses and targets
#
# The model can be perfect and still not learn, because the loss receives something other than it
# expects. PyTorch's losses are strict about what they take but quiet about what they *mean*:
#
# | loss | expects as output | expects as target |
# |---|---|---|
# | `nn.CrossEntropyLoss` | raw logits `(N, C)` (it applies log-softmax itself) | class indices `0..C-1`, int64 |
# | `nn.NLLLoss` | log-probabilities `(N, C)` | class indices `0..C-1`, int64 |
# | `nn.BCEWithLogitsLoss` | raw logits (it applies a sigmoid itself) | 0/1 (or probabilities), float |
# | `nn.MSELoss` | values | values of the same shape, float |
#
# Give them something else and most of the time nothing crashes: the loss is just wrong. The
# stories:
#
# 1. a double softmax;
# 2. `NLLLoss` on raw logits;
# 3. wrong targets: 1-based labels, float labels, ratings fed to a binary loss;
# 4. class imbalance.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

torch.manual_seed(1)
x = torch.randn(64, 10)               # one batch of features
labels = torch.randint(0, 4, (64,))   # 4 classes

# %% [markdown]
# ## 1. A double softmax
#
# The classifier ends with `nn.Softmax` "so that it outputs probabilities", and is trained with
# `nn.CrossEntropyLoss`.

# %%
torch.manual_seed(0)
clf = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4), nn.Softmax(dim=1))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug clf x --target labels --loss nn.CrossEntropyLoss()

# %%
t = nbdebug.trace(clf, x, target=labels, loss=nn.CrossEntropyLoss())
print(t)

# %% [markdown]
# **What it means.** `CrossEntropyLoss` applies log-softmax to what it receives. Fed probabilities,
# it computes a softmax of a softmax: values in [0, 1] are squashed again, so even a perfect
# prediction (1.0 for the right class, 0.0 for the others) gives a loss well above zero, and the
# gradients are damped. The model trains slowly, and plateaus.
#
# **The fix:** drop the final softmax and return logits; apply `softmax` only when you need
# probabilities at prediction time.

# %%
torch.manual_seed(0)
clf = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))
print(nbdebug.trace(clf, x, target=labels, loss=nn.CrossEntropyLoss()))
probabilities = clf(x).softmax(dim=1)   # for prediction

# %% [markdown]
# ## 2. `NLLLoss` on raw logits
#
# The same classifier, now trained with `nn.NLLLoss` because a tutorial used it. The loss starts
# small, drops below zero during training, and keeps going down.

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug clf x --target labels --loss nn.NLLLoss()

# %%
t = nbdebug.trace(clf, x, target=labels, loss=nn.NLLLoss())
print(t)

# %% [markdown]
# **What it means.** `NLLLoss` does not compute any logarithm: it returns minus the output at the
# target class, averaged. That is a log-likelihood only if the outputs are log-probabilities.
# nbdebug checks exactly that: for log-probabilities, `logsumexp` over the classes is 0; here it is
# far from 0, so these are raw logits. On logits, the loss rewards making the target logit
# infinitely large: it falls forever, and accuracy does not follow.
#
# **The fix:** `nn.CrossEntropyLoss()` on logits, which is `log_softmax` followed by `NLLLoss`.

# %%
print(nbdebug.trace(clf, x, target=labels, loss=nn.CrossEntropyLoss()))

# %% [markdown]
# ## 3. Wrong targets
#
# ### 1-based labels
#
# The classes in the CSV are numbered 1 to 4.

# %%
labels_from_csv = labels + 1

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug clf x --target labels_from_csv --loss nn.CrossEntropyLoss()

# %%
t = nbdebug.trace(clf, x, target=labels_from_csv, loss=nn.CrossEntropyLoss())
print(t)

# %% [markdown]
# **What it means.** torch says `Target 4 is out of bounds`, which sounds like one bad sample.
# nbdebug looks at all the labels: they run 1..4 while the output has 4 classes, indexed 0..3. So
# the labels are 1-based: every one of them points at the wrong class, not only the 4s. (On a GPU
# the same error is a device-side assert that poisons the CUDA context until you restart.)
#
# **The fix:** `labels_from_csv - 1`.

# %%
print(nbdebug.trace(clf, x, target=labels_from_csv - 1, loss=nn.CrossEntropyLoss()))

# %% [markdown]
# ### Float labels, and ratings fed to a binary loss
#
# Two more of the same family, shown as findings only. Labels stored as floats (they came from a
# float column):

# %%
t = nbdebug.trace(clf, x, target=labels.float(), loss=nn.CrossEntropyLoss())
for f in t.findings:
    print(f.severity, f.rule, f.cause, "at", repr(f.where))
    print("   ", f.message)
    print("    fix:", f.fix)

# %% [markdown]
# `CrossEntropyLoss` also accepts float targets, but as class *probabilities* of shape `(N, C)`;
# a float vector of labels is neither, and torch raises. The fix is `labels.long()`.
#
# Star ratings 0..5 trained with a binary loss, because "it is one output per sample":

# %%
torch.manual_seed(0)
rater = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
torch.manual_seed(2)
stars = torch.randint(0, 6, (64, 1)).float()
t = nbdebug.trace(rater, x, target=stars, loss=nn.BCEWithLogitsLoss())
for f in t.findings:
    print(f.severity, f.rule, f.cause, "at", repr(f.where))
    print("   ", f.message)
    print("    fix:", f.fix)

# %% [markdown]
# Nothing crashes here: `BCEWithLogitsLoss` computes *something* for targets above 1 (the loss can
# even go negative). nbdebug sees a six-valued integer target and says what it is: a 6-class
# problem, with a concrete head and loss for it. (A regression with `MSELoss` is the other option
# if the order of the stars matters.)
#
# ## 4. Class imbalance
#
# A fraud detector. About 9 % of the transactions in the data set are frauds, and the data loader
# shuffles, so each batch has roughly the same mix.

# %%
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

torch.manual_seed(3)
transactions = torch.randn(640, 10)
is_fraud = (torch.rand(640) < 0.09).long()
dataset = TensorDataset(transactions, is_fraud)
loader = DataLoader(dataset, batch_size=64, shuffle=True)
xb, yb = next(iter(loader))

torch.manual_seed(0)
detector = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug detector xb --target yb

# %%
t = nbdebug.trace(detector, xb, target=yb)
print(t)

# %% [markdown]
# **What it means.** A model that always answers "legitimate" is right most of the time, and the
# unweighted cross-entropy pulls it there: most of the gradient comes from the majority class.
# It is a warning, not an error: imbalance is a property of the data, and sometimes deliberate.
#
# **The fix:** either weight the loss by inverse class frequency, computed on the whole training
# set as the finding shows, or rebalance the batches with a `WeightedRandomSampler`, which draws
# each sample with a probability inversely proportional to its class's frequency. Either way, judge
# the model by per-class recall or F1 rather than accuracy. nbdebug's check looks at the labels of
# the batch you give it, so it is the sampler that makes the warning go away:

# %%
class_counts = torch.bincount(is_fraud, minlength=2).float()
sample_weight = (1.0 / class_counts)[is_fraud]
sampler = WeightedRandomSampler(sample_weight, num_samples=len(dataset))
balanced = DataLoader(dataset, batch_size=64, sampler=sampler)

torch.manual_seed(4)
xb, yb = next(iter(balanced))
print("labels in the batch:", torch.bincount(yb, minlength=2).tolist())
print(nbdebug.trace(detector, xb, target=yb))

# ## Takeaways
#
# * `CrossEntropyLoss` and `BCEWithLogitsLoss` want raw logits: no softmax or sigmoid at the end.
# * `NLLLoss` wants log-probabilities: `log_softmax` first, or use `CrossEntropyLoss`.
# * Class labels are int64 in `0..C-1`; binary targets are 0/1 floats.
# * Check the label histogram before training on it.
