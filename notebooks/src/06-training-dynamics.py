# %% [markdown]
# # Training dynamics
#
# The forward pass runs and the loss is finite, but training goes badly: the loss explodes or
# crawls, the first layers never learn, some weights never change, or the model learns something
# that depends on the batch it happens to be in. These problems live in the gradients and in the
# optimizer steps, so nbdebug looks there:
#
# * the **backward pass** of every trace gives gradient norms per layer (the `‖grad‖` column);
# * a **probe** (`--optimizer opt --steps N`) trains a copy of the model for N steps on your batch
#   and records the loss and the size of each update relative to the weights;
# * a **batch-mixing check** asks whether one sample's output depends on another sample's input.
#
# The stories:
#
# 1. a learning rate too high, and a sweep that finds too low and too high;
# 2. vanishing gradients in a deep sigmoid network;
# 3. exploding gradients in a recurrent network;
# 4. frozen parameters;
# 5. samples of a batch mixed by a `view`.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

torch.manual_seed(1)
x = torch.randn(64, 10)                # one batch of features
y = torch.randn(64, 1)                 # regression targets
classes = torch.randint(0, 3, (64,))   # class labels

# %% [markdown]
# ## 1. A learning rate too high
#
# Adam with `lr=1.0`: a learning rate that makes sense for some SGD setups, but is a thousand times
# Adam's usual one.

# %%
torch.manual_seed(0)
reg = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.Adam(reg.parameters(), lr=1.0)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug reg x --target y --optimizer opt --steps 10

# %%
t = nbdebug.trace(reg, x, target=y, optimizer=opt, steps=10)
print(t)
print("probe losses:", [round(s.loss, 1) for s in t.steps])

# %% [markdown]
# **What it means.** The trace itself is healthy (the table has no badge): the problem only shows
# when the optimizer steps. On one batch a sane learning rate makes the loss fall almost
# monotonically; here it jumps by three orders of magnitude after the first steps, because each
# step moves the weights by several times their own size (healthy is about 1e-3 of it). In the
# widget, the probe's loss curve shows the same thing.
#
# **The fix:** Adam's usual range, 1e-4 to 1e-2.

# %%
opt = torch.optim.Adam(reg.parameters(), lr=1e-3)
t = nbdebug.trace(reg, x, target=y, optimizer=opt, steps=10)
print("probe losses:", [round(s.loss, 3) for s in t.steps])
print("findings:", [f.rule for f in t.findings])

# %% [markdown]
# ### A learning-rate sweep
#
# Because a probe is cheap, you can run one per candidate learning rate. Too low, sane, too high:

# %%
for lr in (1e-6, 1e-2, 1.0):
    t = nbdebug.trace(reg, x, target=y, optimizer=torch.optim.SGD(reg.parameters(), lr=lr), steps=10)
    verdict = ", ".join(f"{f.rule} {f.cause}" for f in t.findings) or "no findings"
    print(f"SGD lr={lr:g}: loss {t.steps[0].loss:.3g} -> {t.steps[-1].loss:.3g}; {verdict}")

# %% [markdown]
# ## 2. Vanishing gradients
#
# A deep fully connected network with sigmoid activations, the textbook architecture of the 1990s.

# %%
def deep_mlp(activation, depth=12):
    layers = [nn.Linear(10, 32), activation()]
    for _ in range(depth):
        layers += [nn.Linear(32, 32), activation()]
    return nn.Sequential(*layers, nn.Linear(32, 3))


torch.manual_seed(0)
deep_sigmoid = deep_mlp(nn.Sigmoid)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug deep_sigmoid x --target classes

# %%
t = nbdebug.trace(deep_sigmoid, x, target=classes)
print(t)

# %% [markdown]
# **What it means.** Read the `‖grad‖` column from the bottom up: the gradient shrinks by a factor
# of about 4 to 8 at every layer, from 0.1 at the output to about 1e-12 at the first layer. A
# sigmoid's slope is at most 0.25, so every sigmoid multiplies the gradient by a quarter or less.
# The first layers receive essentially no signal and stay at their initial values, and the output
# hardly depends on the input (the second finding).
#
# **The fix:** ReLU activations with the initialisation designed for them (Kaiming/He), or
# normalisation layers and residual connections for very deep networks.

# %%
torch.manual_seed(0)
deep_relu = deep_mlp(nn.ReLU)
for layer in deep_relu:
    if isinstance(layer, nn.Linear):
        nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
t = nbdebug.trace(deep_relu, x, target=classes)
print("gradient norm at the first and the last layer:",
      f"{t.calls[1].grads[0].norm:.2g}", f"{t.calls[-1].grads[0].norm:.2g}")
print("findings:", [f.rule for f in t.findings])

# %% [markdown]
# ## 3. Exploding gradients
#
# A ReLU recurrent network over sequences of 40 steps, with the recurrent matrix initialised to a
# scaled identity (the "IRNN" trick), but with a scale of 1.3 instead of 1.

# %%
class SequenceRegressor(nn.Module):
    def __init__(self, recurrent_scale=None):
        super().__init__()
        self.rnn = nn.RNN(4, 32, batch_first=True, nonlinearity="relu" if recurrent_scale else "tanh")
        self.head = nn.Linear(32, 1)
        if recurrent_scale:
            with torch.no_grad():
                self.rnn.weight_hh_l0.copy_(recurrent_scale * torch.eye(32))

    def forward(self, seq):
        out, _ = self.rnn(seq)
        return self.head(out[:, -1])


torch.manual_seed(2)
sequences, values = torch.randn(16, 40, 4), torch.randn(16, 1)
torch.manual_seed(0)
irnn = SequenceRegressor(recurrent_scale=1.3)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug irnn sequences --target values

# %%
t = nbdebug.trace(irnn, sequences, target=values)
print(t)

# %% [markdown]
# **What it means.** Each of the 40 steps multiplies the hidden state by up to 1.3 (the ReLU keeps
# the positive part), and 1.3⁴⁰ is about 36,000. The activations grow by three orders of magnitude
# inside the RNN (first finding), the loss is in the tens of millions, and the gradient of the
# recurrent weight is in the billions: one optimizer step would throw the weights far away.
#
# **The fix:** a contractive recurrence. PyTorch's default init with `tanh` (or a GRU/LSTM) keeps
# the state bounded; add gradient clipping (`torch.nn.utils.clip_grad_norm_(model.parameters(),
# 1.0)`) for long sequences.

# %%
torch.manual_seed(0)
print(nbdebug.trace(SequenceRegressor(), sequences, target=values))

# %% [markdown]
# ## 4. Frozen parameters
#
# A notebook cell from an earlier fine-tuning experiment froze everything; a later cell unfroze the
# head's weight for a new run, and the optimizer was built from what was trainable.

# %%
class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        return self.head(self.backbone(x))


torch.manual_seed(0)
clf = Classifier()
for p in clf.parameters():          # left over from the fine-tuning experiment
    p.requires_grad = False
clf.head.weight.requires_grad = True
opt = torch.optim.Adam([p for p in clf.parameters() if p.requires_grad], lr=1e-3)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug clf x --target classes --optimizer opt

# %%
t = nbdebug.trace(clf, x, target=classes, optimizer=opt)
print(t)

# %% [markdown]
# **What it means.** Only 1 of 6 parameter tensors can learn. Freezing is often deliberate (a
# pretrained backbone, fine-tuning the head), so nbdebug judges the *pattern*: a frozen prefix of
# whole modules is fine-tuning and gets an info note, but a layer that trains its weight and not
# its bias, with a frozen backbone in front, is an accident. The `‖grad‖` column shows the same: no
# gradient reaches the backbone.
#
# **The fix:** unfreeze, then build the optimizer over all parameters.

# %%
clf.requires_grad_(True)
opt = torch.optim.Adam(clf.parameters(), lr=1e-3)
print(nbdebug.trace(clf, x, target=classes, optimizer=opt))

# %% [markdown]
# ## 5. Batch mixing
#
# A sequence classifier: the data is `(batch, time, features)`, and `nn.LSTM` (without
# `batch_first=True`) wants `(time, batch, features)`. The author "reshaped" with `view`.

# %%
class SequenceClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)
        self.head = nn.Linear(16, 2)

    def to_time_first(self, seq):
        return seq.view(seq.size(1), seq.size(0), seq.size(2))   # the bug: view is not transpose

    def forward(self, seq):
        out, _ = self.lstm(self.to_time_first(seq))
        return self.head(out[-1])


torch.manual_seed(3)
tokens, sentiment = torch.randn(6, 12, 8), torch.randint(0, 2, (6,))
torch.manual_seed(0)
seq_clf = SequenceClassifier()

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug seq_clf tokens --target sentiment

# %%
t = nbdebug.trace(seq_clf, tokens, target=sentiment)
print(t)

# %% [markdown]
# **What it means.** The shapes fit, so nothing crashes, and the model even trains a little. But
# `view` only reinterprets memory: the "time step" `t` of "sample" `b` is made of pieces of several
# real samples. nbdebug checks this with the backprop test from Karpathy's *A Recipe for Training
# Neural Networks*: make the loss depend on sample 0 only, and see which inputs get a gradient.
# Here other samples' inputs get a gradient as large as sample 0's own. The mixing happens in the
# model's own `forward` (row 0), between its sub-module calls, where the `view` is.
#
# **The fix:** `transpose` (or `permute`) reorders dimensions; better still,
# `nn.LSTM(8, 16, batch_first=True)` and no reshaping at all.

# %%
class SequenceClassifierFixed(SequenceClassifier):
    def to_time_first(self, seq):
        return seq.transpose(0, 1)


torch.manual_seed(0)
print(nbdebug.trace(SequenceClassifierFixed(), tokens, target=sentiment))

# %% [markdown]
# ## Takeaways
#
# * Probe before you train: `--optimizer opt --steps 10` costs seconds and catches learning rates
#   off by orders of magnitude in either direction.
# * Read `‖grad‖` bottom-up: steady shrinking is vanishing, steady growth (or huge norms) is
#   exploding.
# * Frozen parameters are fine when they are a prefix of whole modules; anything else is suspect.
# * `view`/`reshape` never reorder dimensions: use `transpose`/`permute`, or `batch_first=True`.
