"""%nbdebug in a real JupyterLab 4, in Chromium: the table, stepping, the finding, no external request,
markup in a module name shown as text, details fetched from the kernel, and re-run after an edit."""
import ast

import pytest

import timing

pytestmark = pytest.mark.timeout(600)

HOSTILE = "<img src=x onerror=alert(1)>"  # (module names cannot contain dots)

MODEL = f"""
import torch, torch.nn as nn

class LogLayer(nn.Module):
    def forward(self, x):
        return torch.log(x)   # log(0) = -Inf for the zeros the ReLU outputs

torch.manual_seed(0)
model = nn.Sequential()
model.add_module("fc1", nn.Linear(4, 8))
model.add_module("act", nn.ReLU())
model.add_module("log", LogLayer())
model.add_module({HOSTILE!r}, nn.Identity())
model.add_module("head", nn.Linear(8, 3))
x = torch.randn(16, 4)
y = torch.randint(0, 3, (16,))
"""
CALLS = 6  # the Sequential and its five children
LOG_ROW = 3

KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.sessionContext;
  const k = ctx && ctx.session && ctx.session.kernel;
  return !!k && k.connectionStatus === "connected" && k.status === "idle";
}"""

KERNEL_EVAL = """async ([code, expr]) => {
  const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const reply = await k.requestExecute({code, user_expressions: expr ? {v: expr} : {},
                                        silent: false, store_history: false}).done;
  if (reply.content.status !== "ok") throw new Error(reply.content.ename + ": " + reply.content.evalue);
  if (!expr) return null;
  const r = reply.content.user_expressions.v;
  if (r.status !== "ok") throw new Error(r.ename + ": " + r.evalue);
  return r.data["text/plain"];
}"""


def open_and_run(page, lab, name, cells):
    page.goto(lab.notebook(name, cells))
    page.wait_for_function(KERNEL_IDLE, timeout=180_000, polling=500)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    error = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    page.wait_for_selector(f".nbd tbody tr.nbd-row, {error}", timeout=180_000)
    assert page.locator(error).count() == 0, page.locator(error).first.inner_text()
    page.wait_for_function(KERNEL_IDLE, timeout=180_000, polling=500)


def kernel(page, expr: str = "", code: str = ""):
    """Run `code`, then evaluate `expr` in the notebook's kernel; its value (read back from its repr)."""
    text = page.evaluate(KERNEL_EVAL, [code, expr])
    return None if text is None else ast.literal_eval(text)


def current(page) -> int:
    return int(page.get_attribute(".nbd tr.nbd-current", "data-index"))


def wait_cursor(page, value: int):
    page.wait_for_function(f"() => document.querySelector('.nbd tr.nbd-current')?.dataset.index === '{value}'",
                           timeout=10_000)


def test_nbdebug_magic_steps_through_a_nan_model(lab, recorded_page):
    page, rec = recorded_page
    open_and_run(page, lab, "nan_model.ipynb", ["%load_ext nbdebug", MODEL, "%nbdebug model x --target y"])
    rows = page.locator(".nbd tbody tr.nbd-row")

    # the table: one row per recorded call
    assert kernel(page, "len(_.trace.calls)") == CALLS
    assert rows.count() == CALLS
    types = [rows.nth(i).locator("td.nbd-c-type").inner_text().strip() for i in range(CALLS)]
    assert types == ["Sequential", "Linear", "ReLU", "LogLayer", "Identity", "Linear"]

    # the finding (or, before any rule names it, where NaN is born) is in the banner
    top = kernel(page, "_.trace.findings[0].cause if _.trace.findings else 'NaN'")
    assert top in page.inner_text(".nbd-banner")

    # stepping: the view changes and the kernel's cursor follows
    assert current(page) == 0
    assert "nbd-pending" in rows.nth(1).get_attribute("class")
    before = page.inner_text(".nbd-pos")
    page.click(".nbd-step")
    wait_cursor(page, 1)
    assert page.inner_text(".nbd-pos") != before
    assert "nbd-pending" not in rows.nth(1).get_attribute("class")
    assert rows.nth(1).locator("td.nbd-c-io").inner_text().strip() == "16×4 → 16×8"
    page.wait_for_function(KERNEL_IDLE, timeout=30_000)
    assert kernel(page, "(_.cursor, _.selected)") == (1, 1)
    page.click(".nbd-back")
    wait_cursor(page, 0)

    # keyboard shortcuts on the focused widget (and not the notebook's: j would select the next cell)
    active = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
    cell = page.evaluate(active)
    page.focus(".nbd")
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    wait_cursor(page, 2)
    assert page.evaluate(active) == cell
    page.keyboard.press("End")
    wait_cursor(page, CALLS - 1)
    assert "NaN" in rows.nth(LOG_ROW).locator("td.nbd-c-nonfinite").inner_text()
    assert "NaN" in rows.nth(CALLS - 1).locator("td.nbd-c-moments").inner_text()
    flagged = kernel(page, "__import__('nbdebug').payload.summary(_.trace)['findings'][0]['call'] "
                           "if _.trace.findings else None")
    if flagged is not None:   # the top finding's badge sits on its row
        assert top in rows.nth(flagged).locator("td.nbd-c-finding").inner_text()
    page.keyboard.press("Home")
    wait_cursor(page, 0)

    # next finding stops on a flagged row (a finding's call, or the first NaN)
    page.click(".nbd-next")
    page.wait_for_function("() => document.querySelector('.nbd tr.nbd-current')?.dataset.index !== '0'",
                           timeout=10_000)
    stop = current(page)
    spots = kernel(page, "__import__('nbdebug').payload.finding_calls(_.trace)")
    assert stop == (next((i for i in spots if i > 0), spots[0]) if spots else LOG_ROW)

    # the detail pane: the histograms come from the kernel on demand
    rows.nth(1).click()
    page.wait_for_selector(".nbd-detail .nbd-hist svg rect", timeout=20_000)
    assert "fc1 (Linear)" in page.inner_text(".nbd-detail-title")

    # markup in a module name is text: visible as typed, no element, no dialog
    assert HOSTILE in page.inner_text(".nbd-table")
    assert page.locator(".nbd img").count() == 0 and page.locator("img[src='x']").count() == 0
    assert rec.dialogs == []

    # step and render times, in the page (recorded for docs/benchmarks.md, never asserted)
    render = page.evaluate(timing.RENDER_TIME)
    page.keyboard.press("Home")
    wait_cursor(page, 0)
    steps = page.evaluate(timing.STEP_TIMES, CALLS - 1)
    assert render and all(r > 0 for r in render)
    assert steps["cursor"] == CALLS - 1 and len(steps["redraw"]) == CALLS - 1
    timing.record("JupyterLab widget, %d calls" % CALLS, {
        "render_ms": round(render[-1], 1),
        "step_redraw_ms_median": round(timing.median(steps["redraw"]), 2),
        "step_next_frame_ms_median": round(timing.median(steps["frame"]), 2),
    })

    # nothing left localhost
    assert rec.external == [], rec.external


def test_rerun_traces_the_edited_model(lab, recorded_page):
    page, rec = recorded_page
    open_and_run(page, lab, "rerun.ipynb", ["%load_ext nbdebug", MODEL, "%nbdebug model x --target y"])
    rows = page.locator(".nbd tbody tr.nbd-row")
    assert rows.nth(LOG_ROW).locator("td.nbd-c-type").inner_text().strip() == "LogLayer"
    kernel(page, code="class SafeLog(nn.Module):\n"
                      "    def forward(self, x):\n"
                      "        return torch.log(x.clamp_min(1e-6))\n"
                      "model.log = SafeLog()\n")
    page.click(".nbd-rerun")
    page.wait_for_function(
        f"() => document.querySelectorAll('.nbd tbody tr.nbd-row')[{LOG_ROW}]?.querySelector('.nbd-c-type')"
        ".textContent.trim()"
        " === 'SafeLog'", timeout=60_000)
    page.click(".nbd-end")
    wait_cursor(page, CALLS - 1)
    assert "NaN" not in page.inner_text(".nbd-table")
    assert rec.external == [], rec.external
