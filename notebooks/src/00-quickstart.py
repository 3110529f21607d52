# %% [markdown]
# # nbdebug in ten minutes
#
# You wrote a PyTorch model, ran it, and something is wrong: an exception from deep inside torch,
# a loss that is `nan`, an output that never changes. nbdebug runs the model **once** on the batch
# you give it, records every module call (shapes, dtypes, statistics, gradients), and names the most
# likely root cause with a concrete fix. It never changes your model.
#
# This notebook shows the whole loop on one small bug:
#
# 1. the story: a loss that is NaN from the first batch;
# 2. `%nbdebug model x`, the widget;
# 3. the same trace as text, and how to read a finding;
# 4. the fix, and the clean trace afterwards;
# 5. probing a few optimizer steps.
#
# The other notebooks in this folder each tell one family of failure stories.

# %%
import torch
import torch.nn as nn

import nbdebug

torch.set_num_threads(1)  # one thread: the same numbers on every run
# %load_ext nbdebug

# %% [markdown]
# ## The story: "my loss is NaN from the very first batch"
#
# A small classifier for 16-bin intensity spectra. Intensities span orders of magnitude, so its
# author log-compresses the hidden features before the last layer, a trick that works well on
# positive values.

# %%
class SpectrumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(16, 32)
        self.act = nn.ReLU()
        self.classify = nn.Linear(32, 4)

    def forward(self, x):
        h = self.act(self.encode(x))
        return self.classify(torch.log(h))  # log-compress the features


torch.manual_seed(0)
model = SpectrumNet()
x = torch.randn(64, 16)          # a batch of 64 spectra (standardised)
y = torch.randint(0, 4, (64,))   # their classes
loss = nn.CrossEntropyLoss()(model(x), y)
print(loss)

# %% [markdown]
# The loss is `nan`, and no exception says where it came from. Let nbdebug look.
#
# ## `%nbdebug`: the widget
#
# `%load_ext nbdebug` (above) registers the magic. Give it the model and the input, and optionally
# the target, the loss, an optimizer and a number of probe steps; every argument is a Python
# expression evaluated in the notebook. In JupyterLab the result is an interactive widget: a banner
# with the top finding, a toolbar to step through the calls one by one (or run to the next finding),
# the call table, the histograms of the selected call, the gradient norms by depth and, with
# `--steps`, the probe's loss curve. Where no widget can be shown (GitHub, a terminal, this
# notebook before you run it) you get the same table as HTML or text.
#
# (The `# NBVAL_IGNORE_OUTPUT` line is for the test suite, which re-runs these notebooks and
# compares every output except the live widget's: its id changes on every run.)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug model x --target y --loss cross_entropy

# %% [markdown]
# ## The same trace as text
#
# `nbdebug.trace` takes the same arguments and returns a `Trace`: plain data you can print, test
# against, or save. `print(t)` shows one row per module call, in execution order:

# %%
t = nbdebug.trace(model, x, target=y, loss="cross_entropy")
print(t)

# %% [markdown]
# How to read the table:
#
# * `in → out` are the shapes flowing through each call (`64×16 → 64×32`);
# * `mean ± std` and `zero` are statistics of the call's output, computed on the device;
# * `nonfin` is the share of NaN/±Inf values in the output: 0 % up to the ReLU, 100 % from
#   `classify` on;
# * `‖grad‖` is the norm of the gradient that reaches the call's output in the backward pass
#   (`NaN/Inf` everywhere here: one NaN in the loss poisons every gradient);
# * a badge (`⛔NBD140`) marks the call a finding points at. Here it is row 0, the model itself:
#   the `log` is not a module but a line in `SpectrumNet.forward`, between the `act` and `classify`
#   calls.
#
# Below the table are the findings, **most likely root cause first**. Each one is an object you can
# read field by field:

# %%
f = t.findings[0]
print("rule:    ", f.rule)       # NBDxxx, documented in docs/rules.md
print("cause:   ", f.cause)      # one of 26 causes (docs/causes.md)
print("severity:", f.severity)   # error, warning or info
print("where:   ", repr(f.where))  # a module name as model.named_modules() spells it ("" is the model itself)
print()
print(f.message)
print()
print("fix:", f.fix)

# %% [markdown]
# The diagnosis: `torch.log` in the model's own `forward` (the line is quoted) received exact zeros
# (the ReLU outputs 0 for every negative pre-activation, about half of them) and turned them into
# `-inf`; the last Linear layer multiplies them by weights of both signs and adds `+inf` to `-inf`,
# which is NaN, and the loss is NaN.
# The inputs were finite, which is why the cause is `nonfinite-created` and not `nonfinite-input`.
#
# `f.explanation` holds the longer background, and `f.evidence` the numbers the rule used.

# %%
print(f.explanation)

# %% [markdown]
# ## The fix, and the clean trace
#
# `log1p(h) = log(1 + h)` compresses large values just as well and is finite at zero.

# %%
class SpectrumNetFixed(SpectrumNet):
    def forward(self, x):
        h = self.act(self.encode(x))
        return self.classify(torch.log1p(h))


torch.manual_seed(0)
fixed = SpectrumNetFixed()
print(nbdebug.trace(fixed, x, target=y, loss="cross_entropy"))

# %% [markdown]
# No findings, no NaN, and every layer now has a finite gradient.
#
# ## nbdebug changes nothing in your model
#
# The trace runs under a guard that restores parameters, buffers, gradients, `requires_grad` flags,
# the train/eval mode and the random number generators. Probe steps (below) run on a copy.

# %%
before = {k: v.clone() for k, v in fixed.state_dict().items()}
t = nbdebug.trace(fixed, x, target=y, loss="cross_entropy")
print(all(torch.equal(before[k], v) for k, v in fixed.state_dict().items()))
print(fixed.training, fixed.encode.weight.grad)

# %% [markdown]
# ## Probing a few optimizer steps
#
# Pass an optimizer and `--steps N`: nbdebug trains a **copy** of the model for N steps on this one
# batch and watches the loss and the size of each update. On one batch a healthy setup makes the
# loss fall steadily. The widget draws the loss curve; in Python it is in `t.steps`.

# %%
opt = torch.optim.Adam(fixed.parameters(), lr=1e-2)

# %%
# NBVAL_IGNORE_OUTPUT
# %nbdebug fixed x --target y --loss cross_entropy --optimizer opt --steps 10

# %%
t = nbdebug.trace(fixed, x, target=y, loss="cross_entropy", optimizer=opt, steps=10)
print("probe losses:", [round(s.loss, 3) for s in t.steps])
print("findings:", [f.rule for f in t.findings])

# %% [markdown]
# The loss falls from step to step and nothing is flagged. With a learning rate far too high or
# too low, the probe says so (see `06-training-dynamics`).
#
# ## Where next
#
# | notebook | stories |
# |---|---|
# | `01-shapes-and-none` | "my network gives no output", None inside a ConvNet, a missing batch dimension, channels-last images, Flatten before Conv |
# | `02-dtypes-and-devices` | uint8 pixels, float64 from numpy, float token ids, a half-precision model, a layer left on the `meta` device |
# | `03-nan-and-inf` | NaN in the input, from `log` and division, from the initialisation, from the loss |
# | `04-output-does-not-change` | dead ReLUs, saturated sigmoids, a constant output, a learning rate too low |
# | `05-losses-and-targets` | double softmax, NLL on logits, wrong targets, class imbalance |
# | `06-training-dynamics` | learning rate too high or too low, vanishing and exploding gradients, frozen parameters, batch mixing |
# | `07-silent-bugs` | layers kept in a Python list, train/eval mode, softmax over the batch, a missing non-linearity |
#
# To share a diagnosis with someone who has no kernel, write the offline report:
# `t.to_html("report.html")` is one self-contained file that opens in any browser.
