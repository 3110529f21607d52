# %% [markdown]
# # Silent bugs: registration, modes and axes
#
# The bugs in this notebook raise nothing, or raise only far from where they were made. The model
# trains, the loss goes down a little, and the result is just worse than it should be. They are
# mistakes of *structure*, not of numbers:
#
# 1. layers kept in a plain Python list, which the optimizer never sees;
# 2. a layer replaced after the optimizer was built;
# 3. the wrong train/eval mode: dropout at inference, and BatchNorm on a single sample;
# 4. a softmax over the batch instead of over the classes;
# 5. two linear layers with no activation between them.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

torch.manual_seed(1)
x = torch.randn(64, 10)                # one batch of features
classes = torch.randint(0, 3, (64,))   # and their labels

# %% [markdown]
# ## 1. Layers in a Python list
#
# A configurable-depth MLP. The hidden layers are built in a loop and kept in a list.

# %%
class DeepMLP(nn.Module):
    def __init__(self, depth=3):
        super().__init__()
        self.hidden = [nn.Linear(10 if i == 0 else 32, 32) for i in range(depth)]
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.head(x)


torch.manual_seed(0)
mlp = DeepMLP()
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
print("parameter tensors the optimizer sees:", len(list(mlp.parameters())))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug mlp x --target classes --optimizer opt

# %%
t = nbdebug.trace(mlp, x, target=classes, optimizer=opt)
print(t)

# %% [markdown]
# **What it means.** `nn.Module` finds sub-modules through its attributes; a plain `list` is
# opaque to it. So `mlp.parameters()` holds only the head's two tensors: the optimizer never
# updates the hidden layers, `model.to("cuda")` would not move them, and `state_dict()` would not
# save them. nbdebug's forward hooks see the three Linear layers run anyway (rows 1-3), compare
# with the registered parameters, and report the difference.
#
# **The fix:** `nn.ModuleList`, then rebuild the optimizer.

# %%
class DeepMLPFixed(DeepMLP):
    def __init__(self, depth=3):
        super().__init__(depth)
        self.hidden = nn.ModuleList(self.hidden)


torch.manual_seed(0)
mlp = DeepMLPFixed()
opt = torch.optim.Adam(mlp.parameters(), lr=1e-3)
print("parameter tensors the optimizer sees:", len(list(mlp.parameters())))
print(nbdebug.trace(mlp, x, target=classes, optimizer=opt))

# %% [markdown]
# ## 2. A layer replaced after the optimizer was built
#
# Transfer learning: the notebook builds the model and its optimizer, then a later cell swaps in a
# new head for the new task.

# %%
torch.manual_seed(0)
transfer = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 5))
opt = torch.optim.Adam(transfer.parameters(), lr=1e-3)
transfer[2] = nn.Linear(32, 3)   # the new task has 3 classes

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug transfer x --target classes --optimizer opt

# %%
t = nbdebug.trace(transfer, x, target=classes, optimizer=opt)
print(t)

# %% [markdown]
# **What it means.** The optimizer holds references to the tensors that existed when it was built,
# including the old head's. The new head is registered with the model (so it gets gradients) but
# the optimizer has never heard of it, so it stays at its random initialisation, and the old
# head's parameters are stepped for nothing. Passing `--optimizer` is what lets nbdebug check this.
#
# **The fix:** build the optimizer after the model is complete.

# %%
opt = torch.optim.Adam(transfer.parameters(), lr=1e-3)
print(nbdebug.trace(transfer, x, target=classes, optimizer=opt))

# %% [markdown]
# ## 3. Train/eval mode
#
# ### "My predictions change every time I run the cell"

# %%
torch.manual_seed(0)
predictor = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
new_samples = x[:4]
with torch.no_grad():
    print(predictor(new_samples).argmax(dim=1).tolist())
    print(predictor(new_samples).argmax(dim=1).tolist())

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug predictor new_samples

# %%
t = nbdebug.trace(predictor, new_samples)
print(t)

# %% [markdown]
# **What it means.** A fresh module is in training mode, where dropout zeroes a random half of its
# units on every call (the `zero` column jumps at the `Dropout` row). Without a target, a loss or an
# optimizer, this trace looks like inference, so nbdebug reports dropout in training mode as the
# reason for the varying output. (When you trace a training step, pass the target: then training
# mode is what you want and nbdebug says nothing.)
#
# **The fix:** `model.eval()` before predicting, `model.train()` before training again.

# %%
predictor.eval()
print(nbdebug.trace(predictor, new_samples))

# %% [markdown]
# ### "Training works, predicting one sample crashes"
#
# The other face of the same mistake: BatchNorm in training mode computes statistics over the
# batch, and one sample has none.

# %%
torch.manual_seed(0)
bn_net = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
one_sample = x[:1]

# %%
t = nbdebug.trace(bn_net, one_sample)
print(t)

# %% [markdown]
# **The fix:** `bn_net.eval()` for inference, so BatchNorm uses its running statistics; when
# training, `DataLoader(..., drop_last=True)` avoids a last batch of one sample.

# %%
bn_net.eval()
print(nbdebug.trace(bn_net, one_sample))

# %% [markdown]
# ## 4. A softmax over the batch
#
# `nn.LogSoftmax(dim=0)` was meant to normalise over the classes. For a `(batch, classes)` output,
# dimension 0 is the batch.

# %%
torch.manual_seed(0)
log_clf = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3), nn.LogSoftmax(dim=0))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug log_clf x --target classes --loss nn.NLLLoss()

# %%
t = nbdebug.trace(log_clf, x, target=classes, loss=nn.NLLLoss())
print(t)

# %% [markdown]
# **What it means.** Each *column* of the output now sums to 1 (in probability space) across the
# 64 samples, so a sample's score depends on which other samples share its batch, and predictions
# change with the batch size. The second finding is the consequence: seen per sample, these are not
# log-probabilities over the classes, so `NLLLoss` gets the wrong kind of input. nbdebug lists the
# root cause first; fixing it fixes both.
#
# **The fix:** `dim=1` (or `dim=-1`, the last dimension, which is the class dimension for every
# output shape).

# %%
log_clf[3] = nn.LogSoftmax(dim=1)
print(nbdebug.trace(log_clf, x, target=classes, loss=nn.NLLLoss()))

# %% [markdown]
# ## 5. A missing non-linearity
#
# An activation was lost while editing a `Sequential`.

# %%
torch.manual_seed(0)
edited = nn.Sequential(nn.Linear(10, 64), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug edited x --target classes

# %%
t = nbdebug.trace(edited, x, target=classes)
print(t)

# %% [markdown]
# **What it means.** Two linear maps in a row are one linear map: `W2 (W1 x + b1) + b2` is
# `W x + b`. The network has the parameters of two layers and the expressive power of one.
#
# **The fix:** the activation between them.

# %%
torch.manual_seed(0)
edited = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
print(nbdebug.trace(edited, x, target=classes))

# %% [markdown]
# ## Takeaways
#
# * Keep sub-modules in attributes, `nn.ModuleList` or `nn.ModuleDict`, never in plain lists or
#   dicts; build the optimizer last.
# * `model.eval()` for inference, `model.train()` for training; pass the target when tracing a
#   training step so nbdebug knows which one you mean.
# * Normalise over the class dimension: `dim=-1`.
# * Every linear layer but the last wants an activation after it.
