# %% [markdown]
# # "My output does not change when the input changes"
#
# No exception, no NaN, and yet the model predicts the same thing for every sample, or the loss
# sits at the same value epoch after epoch. These bugs are silent, which makes them expensive:
# people tune learning rates for days before looking inside the network.
#
# What to look for is information that stops flowing: units that output zero for every sample
# (dead ReLUs), units pinned at their bounds (saturated sigmoid/tanh), layers that make every unit
# identical (constant initialisation), or updates too small to matter (a learning rate too low).
# The stories:
#
# 1. dead ReLUs from a negative bias;
# 2. saturated sigmoids from raw, unnormalised features;
# 3. a constant output from an all-zero initialisation;
# 4. a learning rate too low: the loss that does not move.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

torch.manual_seed(1)
x = torch.randn(64, 10)   # one batch of standardised features
y = torch.randn(64, 1)    # and regression targets, shared by the stories below

# %% [markdown]
# ## 1. Dead ReLUs
#
# Someone initialised the second hidden layer's bias to -3 "to make the representation sparse".

# %%
torch.manual_seed(0)
sparse_net = nn.Sequential(
    nn.Linear(10, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 1),
)
with torch.no_grad():
    sparse_net[2].bias.fill_(-3.0)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug sparse_net x --target y

# %%
t = nbdebug.trace(sparse_net, x, target=y)
print(t)

# %% [markdown]
# **What it means.** Read the `zero` column: the second ReLU (`3`) outputs zero for 100 % of its
# values. Every pre-activation it receives from Linear `2` is below zero (the bias of -3 outweighs
# anything the weights add), so each unit is dead: it outputs 0 and passes no gradient back, and
# the `‖grad‖` of everything before it is 0. The model's output is then just the last layer's
# bias, the same for all 64 samples, which is the second finding. nbdebug ranks it after the dead
# ReLUs because it is their consequence.
#
# **The fix:** a zero bias (PyTorch's default init is also fine), or `nn.LeakyReLU(0.01)` if
# sparsity matters.

# %%
with torch.no_grad():
    sparse_net[2].bias.zero_()
print(nbdebug.trace(sparse_net, x, target=y))

# %% [markdown]
# ## 2. Saturated sigmoids
#
# A house-price model fed raw features (living area in m², around 200 ± 40), with a sigmoid hidden
# layer.

# %%
torch.manual_seed(2)
areas = 200 + 40 * torch.randn(64, 4)   # four raw measurements per house
torch.manual_seed(0)
price_net = nn.Sequential(nn.Linear(4, 32), nn.Sigmoid(), nn.Linear(32, 1))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug price_net areas --target y

# %%
t = nbdebug.trace(price_net, areas, target=y)
print(t)

# %% [markdown]
# **What it means.** Two findings, root cause first. The input has a mean around 200 and a std
# around 40, far from the unit scale the default initialisation assumes, so the first Linear layer
# produces pre-activations with a std over 100. A sigmoid of 100 is 1.0 and a sigmoid of -100 is
# 0.0: nearly all (97 %) of the units sit at a bound, where the sigmoid's slope (its gradient) is practically zero. Small
# changes of the input do not change the output, and training barely moves the first layer.
#
# **The fix:** standardise the features with statistics from the training set (here, this batch).

# %%
mu, sd = areas.mean(dim=0), areas.std(dim=0)
print(nbdebug.trace(price_net, (areas - mu) / sd, target=y))

# %% [markdown]
# ## 3. A constant output
#
# "I initialised all weights to zero to be safe."

# %%
safe_net = nn.Sequential(
    nn.Linear(10, 32), nn.ReLU(),
    nn.Linear(32, 32), nn.ReLU(),
    nn.Linear(32, 1),
)
for layer in safe_net:
    if isinstance(layer, nn.Linear):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug safe_net x --target y

# %%
t = nbdebug.trace(safe_net, x, target=y)
for f in t.findings:
    print(f.severity, f.rule, f.cause, "at", repr(f.where))

# %% [markdown]
# **What it means.** Many findings, and the first one is the root cause: all rows of `0.weight`
# are identical (zero), so all 32 units compute the same function, here the constant 0, and every
# unit receives the same gradient, here zero: they can never become different. The dead ReLUs and
# the constant output below it are consequences. When a trace lists several findings, fix the
# first and trace again.

# %%
print(t.findings[0].message)
print("fix:", t.findings[0].fix)

# %% [markdown]
# **The fix:** let PyTorch initialise the weights (every built-in layer has `reset_parameters()`).

# %%
torch.manual_seed(0)
for layer in safe_net:
    if isinstance(layer, nn.Linear):
        layer.reset_parameters()
print(nbdebug.trace(safe_net, x, target=y))

# %% [markdown]
# ## 4. A learning rate too low
#
# The model is healthy, but during training the loss stays flat: "the predictions never change".
# One trace cannot see that; a **probe** can. With `--optimizer` and `--steps`, nbdebug trains a
# copy of the model for a few steps on this batch and measures how far the loss and the weights
# move (your model is not touched).

# %%
torch.manual_seed(0)
reg = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
slow = torch.optim.SGD(reg.parameters(), lr=1e-6)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug reg x --target y --optimizer slow --steps 10

# %%
t = nbdebug.trace(reg, x, target=y, optimizer=slow, steps=10)
print(t)
print("probe losses:", [round(s.loss, 4) for s in t.steps])

# %% [markdown]
# **What it means.** Over 10 steps the loss does not move in its first four decimals. The rule of
# thumb (CS231n) is that each step should change the weights by about 1e-3 of their norm; at
# `lr=1e-6` SGD changes them by less than 1e-6. The finding names a learning rate to try, and a way to find a
# good one: the learning-rate range test.
#
# **The fix:** a learning rate in SGD's usual range.

# %%
fast = torch.optim.SGD(reg.parameters(), lr=0.05)
t = nbdebug.trace(reg, x, target=y, optimizer=fast, steps=10)
print("probe losses:", [round(s.loss, 4) for s in t.steps])
print("findings:", [f.rule for f in t.findings])

# %% [markdown]
# ## Takeaways
#
# * Look at the `zero` column (dead ReLUs) and the spread of values (saturation, constant output).
# * Input scale is the most common root cause of saturation: standardise features.
# * Never initialise weights to a constant; PyTorch's defaults are sensible.
# * "The loss does not move" is a question for the probe: `--optimizer opt --steps 10`.
