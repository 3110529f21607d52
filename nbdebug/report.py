"""`trace.to_html(path)`: the widget itself as one offline HTML file.

The file holds the trace (the widget's summary plus every call's details) as JSON, the same ES module
the notebook runs, and a small model shim that gives the module what it uses of an anywidget model
(get, set, save_changes, on, off, send) over the embedded data. The module is imported from a Blob
URL. Nothing is fetched: a Content-Security-Policy forbids every network request, so the report
opens from file:// with no kernel and no network, and stepping still works.

Every user string is data: inside the embedded JSON `</` is written `<\\/` (so a module named
`</script>` cannot end the script element), the page title is HTML-escaped, and the ES module
inserts strings as text.
"""
from __future__ import annotations

import datetime
import re
from html import escape
from pathlib import Path
from typing import Optional, Union

from . import payload
from .trace import Trace

_TAG_OPEN = re.compile(r"<(?=[A-Za-z!?])")
CSP = ("default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'")

PAGE_CSS = """
html, body { margin: 0; background: #ffffff; }
body { padding: 12px 16px; }
.nbd-page-head { font: 12px system-ui, sans-serif; color: #666666; margin-bottom: 6px; }
.nbd-page-error { font: 13px system-ui, sans-serif; color: #c62828; }
@media (prefers-color-scheme: dark) {
  html, body { background: #1e1e1e; }
  .nbd-page-head { color: #a8a8a8; }
}
"""

# The model shim: what js/widget.js uses of an anywidget model, over the embedded data.
SHIM = """
const data = JSON.parse(document.getElementById("nbd-data").textContent);
const state = { summary: data.summary, cursor: 0, selected: 0, filter: "", status: "", live: false };
const handlers = new Map();
function emit(event, ...args) {
  for (const fn of (handlers.get(event) || []).slice()) fn(...args);
}
const model = {
  get(key) { return state[key]; },
  set(key, value) {
    if (state[key] === value) return;
    state[key] = value;
    emit("change:" + key, model, value);
  },
  save_changes() {},
  on(event, fn) {
    for (const name of String(event).split(/\\s+/)) {
      if (!handlers.has(name)) handlers.set(name, []);
      handlers.get(name).push(fn);
    }
  },
  off(event, fn) {
    const list = handlers.get(event) || [];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  },
  send(msg) {
    // the kernel's answers, from the recorded trace
    if (msg && msg.kind === "details") {
      const reply = { kind: "details", index: msg.index, data: data.details[msg.index] ?? null };
      setTimeout(() => emit("msg:custom", reply, []), 0);
    }
  },
};
const app = document.getElementById("nbd-app");
try {
  const url = URL.createObjectURL(new Blob([data.esm], { type: "text/javascript" }));
  const mod = await import(url);
  URL.revokeObjectURL(url);
  const widget = mod.default;
  if (widget.initialize) await widget.initialize({ model });
  await widget.render({ model, el: app });
  app.dataset.ready = "true";
} catch (err) {
  const box = document.createElement("div");
  box.className = "nbd-page-error";
  box.textContent = "nbdebug report could not start: " + err;
  app.appendChild(box);
}
"""


def embed_json(obj) -> str:
    """JSON that is safe inside a <script> element: `</` is written `<\\/`, and every other `<` that
    could open a tag or a comment (`<img`, `<!--`) is written `\\u003c`; JSON.parse reads both back."""
    text = payload.dumps(obj).replace("</", "<\\/")
    return _TAG_OPEN.sub(r"\\u003c", text)


def report_data(t: Trace) -> dict:
    return {"summary": payload.summary(t), "details": [payload.details(t, i) for i in range(len(t.calls))],
            "esm": payload.static_text("widget.js")}


def build_report(t: Trace) -> str:
    css = payload.static_text("widget.css")
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"nbdebug report · {t.model}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        "<style>" + (PAGE_CSS + css).replace("</", "<\\/") + "</style>",
        "</head><body>",
        f'<div class="nbd-page-head">{escape(title)} · written {escape(when)} · offline: no kernel, '
        "no network</div>",
        '<div id="nbd-app" class="nbd-standalone"></div>',
        "<noscript>" + t._repr_html_().replace("</noscript", "&lt;/noscript") + "</noscript>",
        '<script type="application/json" id="nbd-data">' + embed_json(report_data(t)) + "</script>",
        '<script type="module">' + SHIM + "</script>",
        "</body></html>",
    ])


def write_report(t: Trace, path: Optional[Union[str, Path]] = None) -> str:
    """Return the report's HTML; also write it to `path` when one is given."""
    text = build_report(t)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
