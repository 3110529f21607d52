"""`trace.figure(kind)` (plotly, to explore) and `trace.plot(kind)` (matplotlib, static images).

Kinds, for both:
  "histograms"  the activation histogram of each layer's output (a slider picks the layer in plotly)
  "gradients"   the gradient norm of each trainable parameter, input side to output side (log scale)
  "loss"        the probe's loss per optimizer step (trace with steps=N)

plotly and matplotlib are imported only when a figure is asked for. matplotlib figures are built
without pyplot (no global state, no GUI backend), so they work under Agg, in CI and in nbval.
"""
from __future__ import annotations

import math
from typing import Optional

from .trace import TensorStats, Trace

KINDS = {
    "histograms": "histograms", "histogram": "histograms", "hist": "histograms", "activations": "histograms",
    "gradients": "gradients", "gradient": "gradients", "grad": "gradients", "grads": "gradients",
    "grad_norms": "gradients",
    "loss": "loss", "loss_curve": "loss", "steps": "loss",
}
MAX_LAYERS = 48


def kind_of(kind: str) -> str:
    key = str(kind).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in KINDS:
        raise ValueError(f"unknown figure kind {kind!r}: pass 'histograms', 'gradients' or 'loss'")
    return KINDS[key]


# ------------------------------------------------------------------ the data both libraries draw
def layer_histograms(t: Trace, calls=None, max_layers: int = MAX_LAYERS) -> list:
    """[(label, centres, counts, width, note)] for each selected call's first output with values."""
    chosen = _select_calls(t, calls, max_layers)
    out = []
    for c in chosen:
        s: Optional[TensorStats] = c.output
        if s is None or not s.hist or len(s.hist_edges) != len(s.hist) + 1:
            continue
        edges = s.hist_edges
        centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
        width = (edges[-1] - edges[0]) / len(s.hist) if len(s.hist) else 1.0
        note = f"{s.nonfinite} non-finite values not shown" if s.nonfinite else ""
        out.append((f"{c.index} · {c.name or '(root)'} ({c.type})", centres, list(s.hist), width or 1.0, note))
    return out


def _select_calls(t: Trace, calls, max_layers: int) -> list:
    if calls is None:
        parents = {c.parent for c in t.calls if c.parent is not None}
        leaves = [c for c in t.calls if c.index not in parents]
        picked = leaves or list(t.calls)
        if len(picked) > max_layers:
            step = len(picked) / max_layers
            picked = [picked[int(i * step)] for i in range(max_layers)]
        return picked
    picked = []
    for key in calls:
        if isinstance(key, int):
            if 0 <= key < len(t.calls):
                picked.append(t.calls[key])
        else:
            picked.extend(c for c in t.calls if c.name == key)
    return picked


def grad_norms(t: Trace) -> list:
    """[(parameter name, gradient norm or None)] for trainable parameters, in model order."""
    return [(p.name, p.grad_norm) for p in t.params if p.requires_grad]


def loss_curve(t: Trace) -> list:
    return [(s.step, s.loss) for s in t.steps]


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


# ------------------------------------------------------------------ plotly
def figure(t: Trace, kind: str = "gradients", **kwargs):
    """A plotly graph_objects.Figure of the trace (zoom, hover, keep)."""
    import plotly.graph_objects as go

    kind = kind_of(kind)
    fig = go.Figure()
    title = f"{_text(t.model)}: "
    if kind == "histograms":
        layers = layer_histograms(t, kwargs.get("calls"), kwargs.get("max_layers", MAX_LAYERS))
        # plotly reads a few HTML tags in its labels: user names are escaped
        layers = [(_text(label), *rest) for label, *rest in layers]
        for i, (label, centres, counts, width, note) in enumerate(layers):
            fig.add_trace(go.Bar(x=centres, y=counts, width=width, name=label, visible=i == 0,
                                 hovertemplate="%{x:.3g}: %{y}<extra>" + label + "</extra>"))
        if layers:
            steps = []
            for i, (label, *_rest, note) in enumerate(layers):
                steps.append({"method": "update", "label": str(i),
                              "args": [{"visible": [j == i for j in range(len(layers))]},
                                       {"title": {"text": f"{title}output histogram of {label}"
                                                  + (f" ({note})" if note else "")}}]})
            fig.update_layout(sliders=[{"active": 0, "steps": steps, "currentvalue": {"prefix": "layer "}}])
            first = layers[0]
            fig.update_layout(title=f"{title}output histogram of {first[0]}" + (f" ({first[4]})" if first[4] else ""))
        else:
            _empty(fig, "no histograms: no layer output with finite values")
        fig.update_layout(xaxis_title="value", yaxis_title="count", bargap=0.02, showlegend=False)
    elif kind == "gradients":
        rows = grad_norms(t)
        names = [_text(n) for n, _ in rows]
        finite = [v if _finite(v) and v > 0 else None for _, v in rows]
        fig.add_trace(go.Bar(x=names, y=finite, name="‖grad‖", marker_color="#1976d2"))
        bad = [_text(n) for n, v in rows if v is not None and not math.isfinite(v)]
        if bad:
            top = max([v for v in finite if v is not None] or [1.0])
            fig.add_trace(go.Scatter(x=bad, y=[top] * len(bad), mode="markers", name="NaN/Inf",
                                     marker={"color": "#c62828", "symbol": "x", "size": 10}))
        if not rows or all(v is None for _, v in rows):
            _empty(fig, "no parameter gradients: trace with backward (the default) and trainable parameters")
        fig.update_layout(title=f"{title}gradient norm by depth", xaxis_title="parameter (input → output)",
                          yaxis_title="‖grad‖", yaxis_type="log")
    else:
        rows = loss_curve(t)
        fig.add_trace(go.Scatter(x=[s for s, _ in rows], y=[v if _finite(v) else None for _, v in rows],
                                 mode="lines+markers", name="loss"))
        if not rows:
            _empty(fig, "no probe steps: trace with steps=N (or %nbdebug ... --steps N)")
        elif not any(_finite(v) for _, v in rows):
            _empty(fig, "the loss is NaN/Inf at every step")
        fig.update_layout(title=f"{title}probe loss by step", xaxis_title="step", yaxis_title="loss")
    return fig


def _text(s: str) -> str:
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _empty(fig, message: str) -> None:
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)


# ------------------------------------------------------------------ matplotlib
def plot(t: Trace, kind: str = "gradients", **kwargs):
    """A matplotlib Figure (no pyplot): stable static images for docs, nbval and GitHub."""
    from matplotlib.figure import Figure

    kind = kind_of(kind)
    _register_png_formatter(Figure)
    if kind == "histograms":
        layers = layer_histograms(t, kwargs.get("calls"), kwargs.get("max_layers", 12))
        cols = min(4, max(1, len(layers)))
        rows = max(1, math.ceil(len(layers) / cols))
        fig = Figure(figsize=kwargs.get("figsize", (3.2 * cols, 2.2 * rows)), layout="constrained")
        if not layers:
            ax = fig.add_subplot()
            _empty_ax(ax, "no histograms: no layer output with finite values")
        for i, (label, centres, counts, width, note) in enumerate(layers):
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.bar(centres, counts, width=width, color="#1976d2")
            ax.set_title(label if len(label) < 40 else label[:39] + "…", fontsize=8)
            ax.tick_params(labelsize=7)
            if note:
                ax.text(0.98, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=6,
                        color="#c62828")
        fig.suptitle(f"{t.model}: output histograms", fontsize=10)
        return fig
    fig = Figure(figsize=kwargs.get("figsize", (7, 3.2)), layout="constrained")
    ax = fig.add_subplot()
    if kind == "gradients":
        rows = grad_norms(t)
        xs = list(range(len(rows)))
        ys = [v if _finite(v) and v > 0 else math.nan for _, v in rows]
        if any(not math.isnan(y) for y in ys):
            ax.bar(xs, ys, color="#1976d2")
            ax.set_yscale("log")
        bad = [i for i, (_, v) in enumerate(rows) if v is not None and not math.isfinite(v)]
        if bad:
            ax.scatter(bad, [max([y for y in ys if not math.isnan(y)] or [1.0])] * len(bad), color="#c62828",
                       marker="x", label="NaN/Inf", zorder=3)
            ax.legend(fontsize=7)
        if not rows or all(v is None for _, v in rows):
            _empty_ax(ax, "no parameter gradients")
        ax.set_xticks(xs, [n for n, _ in rows] if len(rows) <= 24 else [""] * len(rows), rotation=60,
                      ha="right", fontsize=6)
        ax.set_ylabel("‖grad‖")
        ax.set_title(f"{t.model}: gradient norm by depth", fontsize=10)
    else:
        rows = loss_curve(t)
        ax.plot([s for s, _ in rows], [v if _finite(v) else math.nan for _, v in rows], marker="o", ms=3)
        if not rows:
            _empty_ax(ax, "no probe steps: trace with steps=N")
        elif not any(_finite(v) for _, v in rows):
            _empty_ax(ax, "the loss is NaN/Inf at every step")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(f"{t.model}: probe loss by step", fontsize=10)
    return fig


def _empty_ax(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#666666")


def _register_png_formatter(figure_class) -> None:
    """Let IPython show a pyplot-free Figure returned from a cell (pyplot's inline backend would)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    png = ip.display_formatter.formatters.get("image/png")
    if png is None or _known(png, figure_class):
        return
    png.for_type(figure_class, _figure_png)


def _known(formatter, cls) -> bool:
    try:
        formatter.lookup_by_type(cls)
        return True
    except KeyError:
        return False


def _figure_png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
