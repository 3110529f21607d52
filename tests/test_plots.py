"""trace.figure (plotly) and trace.plot (matplotlib, no pyplot): the three kinds, and the empty cases."""
import io
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug.examples import log_of_relu, log_of_relu_fixed


@pytest.fixture(scope="module")
def healthy():
    return nbdebug.trace(**log_of_relu_fixed(), steps=4)


@pytest.fixture(scope="module")
def nan():
    return nbdebug.trace(**log_of_relu())


def test_plotly_histograms_one_bar_per_leaf_layer_with_a_slider(healthy):
    import plotly.graph_objects as go

    fig = healthy.figure("histograms")
    assert isinstance(fig, go.Figure)
    leaves = [c for c in healthy.calls if c.index != 0]
    assert len(fig.data) == len(leaves) == 4
    assert [b.visible for b in fig.data] == [True, False, False, False]
    assert list(fig.data[1].y) == leaves[1].output.hist
    assert len(fig.layout.sliders[0].steps) == 4
    only = healthy.figure("hist", calls=["1"])
    assert len(only.data) == 1 and "ReLU" in only.data[0].name


def test_plotly_gradients_by_depth_log_scale(healthy, nan):
    fig = healthy.figure("gradients")
    assert fig.layout.yaxis.type == "log"
    names = [p.name for p in healthy.params if p.requires_grad]
    assert list(fig.data[0].x) == names
    assert list(fig.data[0].y) == pytest.approx([p.grad_norm for p in healthy.params])
    bad = nan.figure("gradients")
    assert [d.name for d in bad.data] == ["‖grad‖", "NaN/Inf"] and len(bad.data[1].x) == 4


def test_plotly_loss_curve_and_empty_cases(healthy, nan):
    fig = healthy.figure("loss")
    assert list(fig.data[0].x) == [0, 1, 2, 3]
    assert list(fig.data[0].y) == pytest.approx([s.loss for s in healthy.steps])
    empty = nan.figure("loss")
    assert "no probe steps" in empty.layout.annotations[0].text
    forward_only = nbdebug.trace(nn.Linear(2, 2), torch.randn(3, 2), backward=False)
    assert "no parameter gradients" in forward_only.figure("gradients").layout.annotations[0].text


def test_unknown_kind_says_what_to_pass(healthy):
    with pytest.raises(ValueError, match="'histograms', 'gradients' or 'loss'"):
        healthy.figure("pie")
    with pytest.raises(ValueError, match="'histograms', 'gradients' or 'loss'"):
        healthy.plot("pie")


def test_plotly_labels_escape_user_names():
    m = nn.Sequential()
    m.add_module("<b>x</b>", nn.Linear(2, 2))
    t = nbdebug.trace(m, torch.randn(3, 2))
    fig = t.figure("histograms")
    assert "<b>" not in fig.data[0].name and "&lt;b&gt;" in fig.data[0].name
    assert "<b>" not in str(t.figure("gradients").data[0].x)


@pytest.mark.parametrize("kind", ["histograms", "gradients", "loss"])
def test_matplotlib_figures_render_to_png(healthy, nan, kind):
    from matplotlib.figure import Figure

    for t in (healthy, nan):
        fig = t.plot(kind)
        assert isinstance(fig, Figure) and fig.axes
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:4] == b"\x89PNG"


def test_matplotlib_gradients_mark_non_finite_norms(nan):
    fig = nan.plot("gradients")
    ax = fig.axes[0]
    assert ax.get_legend() is not None and ax.get_legend().get_texts()[0].get_text() == "NaN/Inf"
    assert [t.get_text() for t in ax.get_xticklabels()] == [p.name for p in nan.params]


def test_matplotlib_needs_no_pyplot_or_display():
    code = ("import sys, torch, nbdebug\n"
            "t = nbdebug.trace(torch.nn.Linear(2, 2), torch.randn(3, 2))\n"
            "for k in ('histograms', 'gradients', 'loss'): t.plot(k).savefig(__import__('io').BytesIO())\n"
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
            "assert 'plotly' not in sys.modules, 'plotly imported without a figure'\n")
    env = {"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_ipython_shows_a_returned_figure_as_png(nan):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    fig = nan.plot("loss")
    data, _ = shell.display_formatter.format(fig)
    assert data["image/png"][:4] == b"\x89PNG"
