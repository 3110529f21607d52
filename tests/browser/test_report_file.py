"""The offline report in Chromium from file://: module names visible, stepping works from the embedded
trace, markup stays text, and not one network request."""
import pytest
import torch
import torch.nn as nn

import nbdebug
import timing

pytestmark = pytest.mark.timeout(300)

HOSTILE = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"


class LogLayer(nn.Module):
    def forward(self, x):
        return torch.log(x)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("encoder", nn.Sequential(nn.Linear(4, 8), nn.ReLU()))
    model.add_module("log", LogLayer())
    model.add_module(HOSTILE, nn.Identity())
    model.add_module(SCRIPT, nn.Identity())
    model.add_module("head", nn.Linear(8, 3))
    t = nbdebug.trace(model, torch.randn(16, 4), target=torch.randint(0, 3, (16,)), steps=3)
    path = tmp_path_factory.mktemp("report") / "report.html"
    t.to_html(path)
    return t, path


def test_report_opens_offline_and_steps(report, recorded_page):
    t, path = report
    page, rec = recorded_page
    page.goto(path.as_uri())
    page.wait_for_selector("#nbd-app[data-ready='true'] .nbd tbody tr.nbd-row", timeout=30_000)
    rows = page.locator(".nbd tbody tr.nbd-row")
    assert rows.count() == len(t.calls)

    # module names, the markup ones included, are visible as text
    table = page.inner_text(".nbd-table")
    for name in ("encoder", "encoder.0", "log", "head", HOSTILE, SCRIPT):
        assert name in table, name
    assert page.locator("img").count() == 0 and rec.dialogs == []

    # stepping works from the embedded trace, details included
    pos = page.inner_text(".nbd-pos")
    page.click(".nbd-step")
    page.wait_for_function("() => document.querySelector('.nbd tr.nbd-current')?.dataset.index === '1'")
    assert page.inner_text(".nbd-pos") != pos
    page.click(".nbd-end")
    last = len(t.calls) - 1
    page.wait_for_function(f"() => document.querySelector('.nbd tr.nbd-current')?.dataset.index === '{last}'")
    assert "NaN" in page.inner_text(".nbd-table")
    rows.nth(2).click()   # encoder.0, a Linear with finite values
    page.wait_for_selector(".nbd-detail .nbd-hist svg rect", timeout=10_000)
    assert "encoder.0 (Linear)" in page.inner_text(".nbd-detail-title")
    assert page.locator(".nbd-rerun").is_disabled()   # no kernel behind a report

    # the finding or where NaN is born
    top = t.findings[0].cause if t.findings else "NaN"
    assert top in page.inner_text(".nbd-banner")

    # zero network requests: only the file itself and the module's blob URL
    assert rec.external == [], rec.external
    assert not [line for line in rec.log if "pageerror" in line or "Content Security Policy" in line], rec.log


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.proj(x))


def test_large_model_collapses_and_filters(tmp_path, recorded_page):
    torch.manual_seed(0)
    model = nn.Sequential(*[Block() for _ in range(150)], nn.Linear(4, 2))   # 452 calls
    t = nbdebug.trace(model, torch.randn(2, 4))
    path = tmp_path / "big.html"
    t.to_html(path)
    page, rec = recorded_page
    page.goto(path.as_uri())
    page.wait_for_selector("#nbd-app[data-ready='true'] .nbd tbody tr.nbd-row", timeout=30_000)
    visible = page.locator(".nbd tbody tr.nbd-row:not(.nbd-hidden)")
    # nested subtrees start collapsed: the root and its 151 children
    assert page.locator(".nbd tbody tr.nbd-row").count() == len(t.calls) == 452
    assert visible.count() == 152
    # stepping into a collapsed block opens it
    page.click(".nbd-step")
    page.click(".nbd-step")
    page.wait_for_function("() => document.querySelector('.nbd tr.nbd-current')?.dataset.index === '2'")
    assert visible.count() == 154
    assert page.locator(".nbd tr.nbd-current td.nbd-c-module").inner_text().strip().endswith("0.proj")
    # the toggle collapses it again
    page.locator(".nbd tbody tr.nbd-row").nth(1).locator(".nbd-toggle").click()
    assert visible.count() == 152
    # the filter shows matches and their ancestors
    page.fill(".nbd-filter", "140.proj")
    assert [visible.nth(i).get_attribute("data-index") for i in range(visible.count())] == ["0", "421", "422"]
    page.fill(".nbd-filter", "")
    assert visible.count() == 152
    assert rec.external == []


def test_step_and_render_times_on_a_2000_call_report(tmp_path, recorded_page):
    torch.manual_seed(0)
    model = nn.Sequential(*[Block() for _ in range(666)], nn.Linear(4, 2))   # 1 + 666 * 3 + 1 calls
    t = nbdebug.trace(model, torch.randn(2, 4))
    assert len(t.calls) == 2000
    path = tmp_path / "calls2000.html"
    t.to_html(path)
    page, rec = recorded_page
    page.goto(path.as_uri())
    page.wait_for_selector("#nbd-app[data-ready='true'] .nbd tbody tr.nbd-row", timeout=60_000)
    render = page.evaluate(timing.RENDER_TIME)
    steps = page.evaluate(timing.STEP_TIMES, 20)
    assert len(render) == 1 and render[0] > 0
    assert steps["cursor"] == 20 and len(steps["redraw"]) == 20   # every step moved the cursor
    assert page.locator(".nbd tr.nbd-current td.nbd-c-module").inner_text().strip().endswith("6.proj")
    timing.record("offline report, 2,000 calls", {
        "render_ms": round(render[0], 1),
        "step_redraw_ms_median": round(timing.median(steps["redraw"]), 2),
        "step_next_frame_ms_median": round(timing.median(steps["frame"]), 2),
        "report_bytes": path.stat().st_size,
    })
    assert rec.external == []
