"""Step and render times measured in the page with performance.now(), for docs/benchmarks.md.

Tests never assert a time: they check that each measurement happened (a step really moved the
cursor) and record the numbers. With NBDEBUG_TIMINGS_OUT=path set, they are merged into that JSON
file:

    NBDEBUG_TIMINGS_OUT=browser.json python -m pytest tests/browser -k "times or magic"
"""
from __future__ import annotations

import json
import os
from pathlib import Path

# Steps `n` times with the step button and returns, per step, the time from the click to the
# redraw (the cursor row moved: the view redraws in a microtask) and to the next animation frame
# (layout and paint included).
STEP_TIMES = """async (n) => {
  const step = document.querySelector('.nbd-step');
  const current = () => document.querySelector('.nbd tr.nbd-current')?.dataset.index;
  const redraw = [], frame = [];
  for (let k = 0; k < n; k++) {
    const before = current();
    const t0 = performance.now();
    step.click();
    for (let spin = 0; current() === before && spin < 100000; spin++) await Promise.resolve();
    if (current() === before) break;   // the end, or a step that did nothing: the caller sees the cursor
    const t1 = performance.now();
    await new Promise((r) => requestAnimationFrame(() => r()));
    redraw.push(t1 - t0);
    frame.push(performance.now() - t0);
  }
  return { redraw, frame, cursor: Number(current()) };
}"""

RENDER_TIME = "() => performance.getEntriesByName('nbd-render').map((e) => e.duration)"


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None


def record(where: str, numbers: dict) -> dict:
    """Merge `numbers` under `where` into $NBDEBUG_TIMINGS_OUT (if set); returns them."""
    out = os.environ.get("NBDEBUG_TIMINGS_OUT")
    if out:
        path = Path(out)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[where] = numbers
        path.write_text(json.dumps(data, indent=1))
    print(where, numbers)
    return numbers
