"""The widget's Python side: small state, the payload budget, details on demand, stepping, re-run."""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import nbdebug
from nbdebug import payload
from nbdebug.examples import SafeLogLayer, log_of_relu
from nbdebug.widget import DebugWidget

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 300_000  # bytes, for 2,000 calls (DESIGN: the widget payload)


def decode(summary_json: str) -> list:
    """The rows as the ES module reads them (full names rebuilt from the parent's name)."""
    raw = json.loads(summary_json)
    col = {c: i for i, c in enumerate(raw["cols"])}
    rows = []
    for r in raw["calls"]:
        name, parent = r[col["name"]], r[col["parent"]]
        if name.startswith(".") and parent >= 0:
            name = rows[parent]["name"] + name
        rows.append({"name": name, "type": raw["s"][r[col["type"]]], "parent": parent,
                     **{k: r[col[k]] for k in ("depth", "mean", "std", "zero", "nonfin", "grad", "params")}})
    return rows


def sent_messages(w):
    box = []
    w.send = lambda content, buffers=None: box.append(content)
    return box


@pytest.fixture
def nan_widget(untouched):
    kw = log_of_relu()
    with untouched(kw["model"]):
        w = nbdebug.debug(**kw)
    return w, kw


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention_projection = nn.Linear(4, 4)
        self.activation = nn.ReLU()
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        return self.norm(self.activation(self.attention_projection(x)))


class Deep(nn.Module):
    """~2,000 module calls with realistic qualified names (encoder_layers.123.attention_projection)."""

    def __init__(self, blocks=500):
        super().__init__()
        self.encoder_layers = nn.ModuleList([Block() for _ in range(blocks)])

    def forward(self, x):
        for b in self.encoder_layers:
            x = b(x)
        return x


@pytest.fixture(scope="module")
def deep_widget():
    torch.manual_seed(0)
    t = nbdebug.trace(Deep(), torch.randn(2, 4))
    return DebugWidget(t)


def test_state_is_the_summary_cursor_selection_filter(nan_widget):
    w, kw = nan_widget
    state = w.get_state()
    assert {"summary", "cursor", "selected", "filter", "status", "live"} <= set(state)
    assert (w.cursor, w.selected, w.filter, w.live) == (0, 0, "", True)
    rows = decode(w.summary)
    assert [r["name"] for r in rows] == [c.name for c in w.trace.calls]
    assert [r["type"] for r in rows] == ["Sequential", "Linear", "ReLU", "LogLayer", "Linear"]
    log = rows[3]
    assert log["nonfin"] > 0.3 and rows[4]["mean"] == "NaN"
    assert rows[2]["zero"] == pytest.approx(w.trace.calls[2].output.zero_frac, abs=1e-3)


def test_summary_is_strict_compact_json_without_histograms(nan_widget):
    w, _ = nan_widget
    # non-finite numbers are the strings "NaN"/"Inf": strict JSON, no bare NaN constant
    json.loads(w.summary, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert ", " not in w.summary.split('"calls"')[1][:200]  # compact separators
    assert '"hist"' not in w.summary and "hist_edges" not in w.summary


def test_payload_within_budget_for_2000_calls(deep_widget):
    w = deep_widget
    assert len(w.trace.calls) >= 2000
    size = len(w.summary.encode("utf-8"))
    assert size <= BUDGET, f"summary is {size} bytes for {len(w.trace.calls)} calls"
    state = {k: v for k, v in w.get_state().items() if k not in ("_esm", "_css")}
    assert len(json.dumps(state).encode("utf-8")) <= BUDGET
    rows = decode(w.summary)
    assert rows[-1]["name"] == w.trace.calls[-1].name == "encoder_layers.499.norm"


def test_details_on_demand_carry_histograms(nan_widget):
    w, _ = nan_widget
    box = sent_messages(w)
    w._on_message(w, {"kind": "details", "index": 2}, [])
    assert len(box) == 1 and box[0]["kind"] == "details" and box[0]["index"] == 2
    d = box[0]["data"]
    out = w.trace.calls[2].outputs[0]
    assert d["name"] == "1" and d["type"] == "ReLU"
    assert d["outputs"][0]["hist"] == out.hist
    assert d["outputs"][0]["lo"] == pytest.approx(out.hist_edges[0], rel=1e-5)
    assert d["outputs"][0]["hi"] == pytest.approx(out.hist_edges[-1], rel=1e-5)
    assert d["grads"][0]["nan"] == w.trace.calls[2].grads[0].nan > 0
    json.dumps(d, allow_nan=False)
    w._on_message(w, {"kind": "details", "index": 99}, [])
    assert box[1]["data"] is None
    w._on_message(w, {"kind": "nonsense"}, [])
    w._on_message(w, "not a dict", [])
    assert len(box) == 2


def test_stepping_moves_cursor_and_selection_within_bounds(nan_widget):
    w, _ = nan_widget
    n = len(w.trace.calls)
    assert w.step() == 1 and w.selected == 1
    assert w.step(10) == n - 1
    assert w.back() == n - 2
    assert w.start() == 0
    assert w.back() == 0
    assert w.end() == n - 1 == w.selected


def test_next_finding_with_a_findings_trace():
    from nbdebug.trace import Finding

    t = nbdebug.trace(*_tiny())
    t.findings = [Finding(rule="NBD999", cause="dead-relu", severity="warning", where="1", message="m"),
                  Finding(rule="NBD998", cause="constant-output", severity="info", where="", call=2)]
    w = DebugWidget(t)
    assert payload.finding_calls(t) == [2]   # where "1" resolves to the ReLU's call, index 2
    assert w.next_finding() == 2
    assert w.next_finding() == 2             # wraps around to the first
    summary = json.loads(w.summary)
    assert [f["call"] for f in summary["findings"]] == [2, 2]


def _tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1)), torch.randn(4, 3)


def test_rerun_traces_the_edited_model(nan_widget, untouched):
    w, kw = nan_widget
    model = kw["model"]
    assert any(c.output is not None and c.output.nonfinite for c in w.trace.calls)
    w.end()
    model[2] = SafeLogLayer()   # the user fixes the model in place
    with untouched(model):
        w._on_message(w, {"kind": "rerun"}, [])
    assert w.status == "" and w.cursor == 0
    assert not any(c.output is not None and c.output.nonfinite for c in w.trace.calls)
    assert decode(w.summary)[3]["type"] == "SafeLogLayer"


def test_rerun_failure_is_a_status_line_not_an_exception():
    t = nbdebug.trace(*_tiny())

    def source():
        raise NameError("name 'model' is not defined\nsecond line")

    w = DebugWidget(t, source=source)
    assert w.rerun() is False
    assert w.status.startswith("re-run failed: NameError") and "\n" not in w.status
    offline = DebugWidget(t)
    assert offline.live is False and offline.rerun() is False and "nbdebug.debug" in offline.status


def test_debug_misuse_raises_with_a_hint():
    with pytest.raises(TypeError, match="nn.Module"):
        nbdebug.debug("not a model", torch.randn(2))


def test_mimebundle_has_widget_view_and_text_fallbacks(nan_widget):
    w, _ = nan_widget
    data, _meta = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert data["text/plain"].startswith("nbdebug · Sequential")
    assert "<table>" in data["text/html"]


def test_details_numbers_are_json_safe_for_all_nan_tensors(nan_widget):
    w, _ = nan_widget
    d = w.details(4)
    out = d["outputs"][0]
    assert out["mean"] == "NaN" and "hist" not in out   # nothing finite to draw
    assert out["nan"] == w.trace.calls[4].outputs[0].nan


def test_num_rounds_and_encodes_non_finite():
    assert payload.num(math.nan) == "NaN" and payload.num(-math.inf) == "-Inf"
    assert payload.num(None) is None and payload.num(3) == 3 and payload.num(2.0) == 2
    assert payload.num(0.123456789) == 0.1235


def test_esm_and_css_load_from_static_in_a_wheel_and_js_in_a_checkout(tmp_path):
    assert "export default" in DebugWidget._esm and "render" in DebugWidget._esm
    assert ".nbd" in DebugWidget._css
    # the wheel maps js/ to nbdebug/static/ (pyproject force-include)
    text = (ROOT / "pyproject.toml").read_text()
    assert '"js/widget.js" = "nbdebug/static/widget.js"' in text
    assert '"js/widget.css" = "nbdebug/static/widget.css"' in text
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "widget.js").write_text("// installed copy")
    checkout = tmp_path / "js"
    checkout.mkdir()
    (checkout / "widget.js").write_text("// checkout copy")
    (checkout / "widget.css").write_text("/* checkout css */")
    roots = [tmp_path / "static", checkout]
    assert payload.static_text("widget.js", roots) == "// installed copy"
    assert payload.static_text("widget.css", roots) == "/* checkout css */"
    with pytest.raises(FileNotFoundError, match="reinstall"):
        payload.static_text("missing.js", roots)


def test_esm_inserts_user_strings_as_text_only():
    src = (ROOT / "js" / "widget.js").read_text()
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                      "new Function", "fetch(", "XMLHttpRequest", "import(", "https://"):
        assert forbidden not in src, forbidden
    assert "</" not in src  # safe to embed in the report without rewriting
