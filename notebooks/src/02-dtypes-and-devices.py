# %% [markdown]
# # Dtypes and devices
#
# torch never converts silently between the input's dtype and the weights' dtype, or between
# devices: `Linear` multiplies float32 weights with float32 data on one device, full stop. The
# messages it raises (`Input type (unsigned char) and bias type (float) should be the same`,
# `mat1 and mat2 must have the same dtype`) say *what* clashed, not *where the wrong dtype came
# from* or what to do about it.
#
# The stories:
#
# 1. images as `uint8` pixels;
# 2. features from numpy or pandas, which are `float64`;
# 3. token ids that went through a float array, fed to an `Embedding`;
# 4. a model cast to half precision, fed float32 data;
# 5. a layer left on the `meta` device after lazy loading (the CPU-only cousin of "my model is on
#    the GPU and my data is not").

# %%
import numpy as np
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

# %% [markdown]
# ## 1. `uint8` pixels
#
# Images decoded with PIL or OpenCV and turned into a tensor with `torch.from_numpy` keep their
# `uint8` pixels, 0 to 255.

# %%
torch.manual_seed(0)
cnn = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(8, 4),
)
pixels = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 3, 16, 16), dtype=np.uint8))
labels = torch.tensor([0, 3, 1, 2])
print(pixels.dtype, pixels.shape)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug cnn pixels --target labels

# %%
t = nbdebug.trace(cnn, pixels, target=labels)
print(t)

# %% [markdown]
# **What it means.** The first layer to touch the input, conv `0`, computes in float32 and received
# integers, so the finding is at `input`. nbdebug also noticed that the values run 0..255 and
# suggests scaling, not just a cast: a network fed raw 0..255 floats trains poorly (see the
# `unnormalized-input` cause in `04-output-does-not-change`).
#
# **The fix:** `pixels.float() / 255` (then standardise), or `torchvision.transforms.ToTensor()`,
# which does both.

# %%
print(nbdebug.trace(cnn, pixels.float() / 255, target=labels))

# %% [markdown]
# ## 2. `float64` features from numpy or pandas
#
# numpy and pandas default to 64-bit floats, and `torch.from_numpy` keeps the dtype. PyTorch
# layers default to float32.

# %%
table = np.random.default_rng(1).normal(size=(32, 6))   # e.g. df.to_numpy()
prices = np.random.default_rng(2).normal(size=(32, 1))
X = torch.from_numpy(table)
y = torch.from_numpy(prices)

torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1))
print(X.dtype, y.dtype)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug mlp X --target y

# %%
t = nbdebug.trace(mlp, X, target=y)
print(t)

# %% [markdown]
# **What it means.** `mat1 and mat2 must have the same dtype, but got Double and Float`: the data is
# float64, the model float32. The "model dtype" nbdebug compares against is the dtype most of the
# parameters share, so when a single layer was cast by mistake it blames that layer instead.
#
# **The fix:** cast the data once, where it enters torch: `torch.from_numpy(table).float()`, or
# `torch.tensor(table, dtype=torch.float32)`. The target needs the same cast for `MSELoss`.

# %%
print(nbdebug.trace(mlp, X.float(), target=y.float()))

# %% [markdown]
# ## 3. Float token ids fed to an `Embedding`
#
# A bag-of-words sentiment model. The token ids came from a pandas column that had a missing value
# somewhere, so pandas stored the whole column as float.

# %%
class BagOfWords(nn.Module):
    def __init__(self, vocab=100, dim=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.classify = nn.Linear(dim, 2)

    def forward(self, ids):
        return self.classify(self.embed(ids).mean(dim=1))


torch.manual_seed(0)
bow = BagOfWords()
ids = torch.tensor(np.random.default_rng(3).integers(1, 100, (4, 7)).astype("float32"))
sentiment = torch.tensor([0, 1, 1, 0])
print(ids.dtype, ids[0])

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug bow ids --target sentiment

# %%
t = nbdebug.trace(bow, ids, target=sentiment)
print(t)

# %% [markdown]
# **What it means.** An `Embedding` is a lookup table, its input must be integer row numbers. The
# values are whole numbers (4..88 in this batch), so they are ids that lost their dtype, and the fix is a
# cast. (Had they been fractional, nbdebug would have said that continuous features belong in a
# `Linear` layer.)
#
# **The fix:** `ids.long()`, and keep ids int64 from the tokenizer on.

# %%
print(nbdebug.trace(bow, ids.long(), target=sentiment))

# %% [markdown]
# ## 4. A half-precision model fed float32 data
#
# To save memory someone called `model.half()`; the data loader still yields float32.

# %%
torch.manual_seed(0)
half_mlp = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 1)).half()
features = torch.randn(8, 6)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug half_mlp features

# %%
t = nbdebug.trace(half_mlp, features)
print(t)

# %% [markdown]
# **What it means.** The header says the model computes in `float16`, and the input is float32.
# Casting the data to half would make this run, but pure-fp16 training is fragile (gradients
# underflow, large activations overflow past 65504).
#
# **The fix:** keep the weights in float32 (`model.float()`) and, on a GPU, get the speed and
# memory savings from `torch.autocast(device_type="cuda", dtype=torch.float16)` with a
# `torch.amp.GradScaler`.

# %%
half_mlp.float()  # converts the module in place
print(nbdebug.trace(half_mlp, features))

# %% [markdown]
# ## 5. A layer left on the `meta` device
#
# Large models are often built on the `meta` device (shapes only, no memory) and filled in with
# `load_state_dict(..., assign=True)` or `to_empty()`. A layer that the checkpoint did not cover
# stays on `meta`: it has no values at all.

# %%
class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 16)
        self.head = nn.Linear(16, 3, device="meta")   # added later; the checkpoint lacks it

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


torch.manual_seed(0)
encoder = Encoder()
samples = torch.randn(4, 6)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug encoder samples

# %%
t = nbdebug.trace(encoder, samples)
print(t)

# %% [markdown]
# **What it means.** `body` ran on the CPU (row 1 has statistics); `head` has its parameters on
# `meta`, the only layer that does, so nbdebug blames the layer rather than the data.
#
# **The fix:** materialise the layer, then initialise or load it.

# %%
torch.manual_seed(1)
encoder.head.to_empty(device="cpu")
encoder.head.reset_parameters()
print(nbdebug.trace(encoder, samples))

# %% [markdown]
# ### The same story on a GPU
#
# This notebook runs on the CPU, but the GPU version of the bug is the most common device error of
# all: `model.to("cuda")` moves the parameters, not the data.
#
# ```python
# model = model.to("cuda")
# %nbdebug model x            # x is still on the CPU
# ```
#
# gives a `device-mismatch` finding at `input`: the input is on `cpu` but the model's parameters
# are on `cuda:0`, with the fix `x = x.to('cuda:0')`.
#
# The fix is one device variable used for both: `device = "cuda"; model.to(device); x = x.to(device)`.
#
# ## Takeaways
#
# * Cast where data enters torch: pixels `x.float() / 255`, numpy/pandas `.float()`, ids `.long()`.
# * Keep one dtype for the weights; use `torch.autocast` for mixed precision.
# * Move the model once and every batch to the same device.
