# %% [markdown]
# # Shapes and `None`
#
# Most first bugs are about shapes: a tensor arrives at a layer with a shape the layer was not built
# for. torch then raises from deep inside a layer (`mat1 and mat2 shapes cannot be multiplied`),
# or, worse, nothing raises and the numbers are silently wrong. A close cousin is a `forward` that
# returns `None`.
#
# Five stories people bring to a workshop, each with the broken model, the `%nbdebug` call, what the
# diagnosis means, the fix and the clean trace:
#
# 1. "my network gives no output";
# 2. "the input becomes None inside the ConvNet";
# 3. a missing batch dimension;
# 4. channels-last images;
# 5. `Flatten` before a convolution;
# 6. an error none of the specific causes explains: an in-place op that breaks backward.
#
# The thread through all of them: nbdebug points at the **root cause** (the input, or the layer that
# misread it), not at the line where the exception finally fired.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

# %% [markdown]
# ## 1. "My network gives no output"
#
# A two-layer regressor. Calling it gives `None`, and the training loop later fails with
# `'NoneType' object has no attribute 'backward'` (or `... 'size'`).

# %%
class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(10, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        h = torch.relu(self.hidden(x))
        y = self.out(h)


torch.manual_seed(0)
reg = Regressor()
x = torch.randn(16, 10)
print(reg(x))

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug reg x

# %% [markdown]
# Without a target nbdebug drives the backward pass with a stand-in loss (a fixed random projection
# of the output), so even a bare `%nbdebug model x` checks gradients. The findings as text:

# %%
t = nbdebug.trace(reg, x)
for f in t.findings:
    print(f.severity, f.rule, f.cause, "at", repr(f.where))
    print("   ", f.message)
    print("    fix:", f.fix)

# %% [markdown]
# **What it means.** Both layers ran (in the widget's table, rows 1 and 2 have outputs), but the
# model itself, row 0, returned `None`: `forward` computes `y` and never returns it. Python
# functions without a `return` return `None`, and `nn.Module.__call__` passes that on without
# complaint.
#
# **The fix:** `return self.out(h)`.

# %%
class RegressorFixed(Regressor):
    def forward(self, x):
        h = torch.relu(self.hidden(x))
        return self.out(h)


torch.manual_seed(0)
print(nbdebug.trace(RegressorFixed(), x))

# %% [markdown]
# ## 2. "The input becomes None inside the ConvNet"
#
# A ConvNet built from a reusable block that optionally downsamples. The author's traceback ends in
# the top-level `forward`, far from the bug:

# %%
class Block(nn.Module):
    def __init__(self, c_in, c_out, downsample=True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.downsample = downsample

    def forward(self, x):
        x = torch.relu(self.conv(x))
        if self.downsample:
            return self.pool(x)


class ConvNet(nn.Module):
    block = Block

    def __init__(self):
        super().__init__()
        self.block1 = self.block(3, 8)
        self.block2 = self.block(8, 16, downsample=False)
        self.head = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = self.block1(x)
        x = self.block2(x)
        return self.head(x.flatten(1))


torch.manual_seed(0)
net = ConvNet()
images = torch.randn(4, 3, 16, 16)
try:
    net(images)
except AttributeError as e:
    print("AttributeError:", e)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug net images

# %%
t = nbdebug.trace(net, images)
print(t)

# %% [markdown]
# **What it means.** nbdebug never raises because your model does: it records the exception
# (`✗ AttributeError during forward`) and the calls up to it. `block1` returned a tensor, `block2`
# returned `None` (its conv ran, row 5), and the crash in `ConvNet.forward` is only the consequence.
# The `if` in `Block.forward` has no `else`: a block built with `downsample=False` falls off the
# end of the function.
#
# **The fix:** return on every path.

# %%
class BlockFixed(Block):
    def forward(self, x):
        x = torch.relu(self.conv(x))
        return self.pool(x) if self.downsample else x


class ConvNetFixed(ConvNet):
    block = BlockFixed


torch.manual_seed(0)
print(nbdebug.trace(ConvNetFixed(), images))

# %% [markdown]
# ## 3. A missing batch dimension
#
# "It works on my batch, but when I predict one image it crashes." One MNIST-sized digit taken out
# of a dataset has shape `(1, 28, 28)`: channel, height, width, and no batch dimension.

# %%
class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.head = nn.Linear(4 * 26 * 26, 10)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).flatten(1))


torch.manual_seed(0)
digits = DigitNet()
digit = torch.rand(1, 28, 28)   # dataset[i][0]: one image

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug digits digit

# %%
t = nbdebug.trace(digits, digit)
print(t)

# %% [markdown]
# **What it means.** The exception fires at `head` (`mat1 and mat2 shapes cannot be multiplied
# (4x676 and 2704x10)`), but the finding is reported at `input`. `nn.Conv2d` accepts an
# *unbatched* `(C, H, W)` image as well as a `(N, C, H, W)` batch, so it read the digit as one image
# and returned `(4, 26, 26)`, without a batch dim. `flatten(1)` then took the 4 conv channels for 4
# samples. The row for `conv` carries the badge: it is the layer that misread the input.
#
# **The fix:** add the batch dimension, `digit.unsqueeze(0)`, shape `(1, 1, 28, 28)`.

# %%
print(nbdebug.trace(digits, digit.unsqueeze(0)))

# %% [markdown]
# ## 4. Channels-last images
#
# Images loaded with PIL, numpy, OpenCV or TensorFlow are `(H, W, C)`; a batch of them is
# `(N, H, W, C)`. PyTorch convolutions read `(N, C, H, W)`.

# %%
torch.manual_seed(0)
classifier = nn.Sequential(
    nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(8, 5),
)
photos = torch.rand(4, 32, 32, 3)   # four RGB photos as numpy stores them

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug classifier photos

# %%
t = nbdebug.trace(classifier, photos)
print(t)

# %% [markdown]
# **What it means.** torch's message, `expected input[4, 32, 32, 3] to have 3 channels, but got 32
# channels instead`, is accurate but does not say why. nbdebug sees that the last dimension of the
# input equals the conv's `in_channels` (3) and names the layout: channels-last.
#
# **The fix:** `photos.permute(0, 3, 1, 2)` (or `torchvision.transforms.ToTensor()` when loading).

# %%
print(nbdebug.trace(classifier, photos.permute(0, 3, 1, 2)))

# %% [markdown]
# ## 5. `Flatten` before a convolution
#
# A model converted from an MLP: the `nn.Flatten()` that MLPs start with was kept in front of the
# new convolution.

# %%
torch.manual_seed(0)
cnn = nn.Sequential(
    nn.Flatten(),
    nn.Conv2d(1, 8, 3), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(8, 10),
)
batch = torch.rand(4, 1, 28, 28)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug cnn batch

# %%
t = nbdebug.trace(cnn, batch)
print(t)

# %% [markdown]
# **What it means.** The conv raised (`Expected 3D (unbatched) or 4D (batched) input to conv2d, but
# got input of size: [4, 784]`), but the finding is at the `Flatten`, module `0`, which destroyed
# the channel and spatial layout one call earlier. nbdebug reports where to change the code.
#
# **The fix:** flatten only after the last convolution or pooling layer.

# %%
torch.manual_seed(0)
cnn_fixed = nn.Sequential(
    nn.Conv2d(1, 8, 3), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    nn.Linear(8, 10),
)
print(nbdebug.trace(cnn_fixed, batch))

# %% [markdown]
# ## 6. An error no specific cause explains
#
# Not every failure is about shapes, dtypes or devices. A classic: the forward runs, and
# `loss.backward()` raises `one of the variables needed for gradient computation has been modified
# by an inplace operation`. The traceback points into autograd, not at your code.

# %%
class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = nn.Linear(10, 10)
        self.out = nn.Linear(10, 2)

    def forward(self, x):
        g = torch.sigmoid(self.gate(x))
        g += 0.1  # a small floor on the gate, written in place
        return self.out(g * x)


torch.manual_seed(0)
gate = Gate()
x = torch.randn(8, 10)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug gate x

# %%
t = nbdebug.trace(gate, x)
for f in t.findings:
    print(f.severity, f.rule, f.cause, "at", repr(f.where))
    print("   ", f.message)
    print("    fix:", f.fix)

# %% [markdown]
# **What it means.** When none of the specific causes matches, nbdebug still ends a failed trace
# with a finding of cause `exception`: what raised, at which stage, your line when there is one,
# and a fix for the frequent messages. Here the forward ran, and the backward found that
# `sigmoid`'s output, which its gradient needs, had been changed by `+=`. A backward error carries
# no line of your code, so nbdebug replays the pass under `torch.autograd.detect_anomaly` (what
# torch's own hint asks you to do) and names the forward line whose gradient failed: the
# `torch.sigmoid` line of `Gate.forward`. The `+=` right after it is the line to change.
#
# **The fix:** write it out of place.

# %%
class GateFixed(Gate):
    def forward(self, x):
        g = torch.sigmoid(self.gate(x)) + 0.1
        return self.out(g * x)


torch.manual_seed(0)
print(nbdebug.trace(GateFixed(), x))

# %% [markdown]
# ## Takeaways
#
# * A crash site is rarely the bug: read the finding's `where` (here `input` twice, and the
#   `Flatten`) rather than the last line of the traceback.
# * Conv, RNN and attention layers accept unbatched input, so a missing batch dimension can pass
#   silently through them. nbdebug also warns when that happens without a crash.
# * Every `forward` path must end in `return`.
