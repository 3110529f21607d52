"""`Trace._repr_html_`: a static HTML table for notebooks without the widget (GitHub, nbviewer, nbval).

Every string that comes from the user's model (module names, class names, exception text, paths) is
passed through `html.escape`; nothing user-provided is ever markup.
"""
from __future__ import annotations

from html import escape

from .text import ICONS, grad_norm, header, io_cell, moments, nonfinite, rows_to_show
from .rules.helpers import pct
from .trace import Trace

STYLE = """
<style>
.nbd-report{font-family:var(--jp-content-font-family,system-ui,sans-serif);font-size:12px;
  color:var(--jp-content-font-color1,#222)}
.nbd-report table{border-collapse:collapse;margin:4px 0}
.nbd-report th,.nbd-report td{padding:2px 8px;text-align:left;border-bottom:1px solid
  var(--jp-border-color2,#e0e0e0);font-family:var(--jp-code-font-family,monospace);white-space:pre}
.nbd-report .nbd-error{color:var(--jp-error-color1,#c62828)}
.nbd-report .nbd-warning{color:var(--jp-warn-color1,#e65100)}
.nbd-report .nbd-info{color:var(--jp-info-color1,#1565c0)}
.nbd-report .nbd-flag td{background:var(--jp-warn-color3,#fff3e0)}
.nbd-report .nbd-fix{margin-left:1.5em;color:var(--jp-content-font-color2,#555)}
</style>
"""


def render_html(t: Trace) -> str:
    e = escape
    out = [STYLE, '<div class="nbd-report">', f"<div><b>{e(header(t))}</b></div>"]
    if t.error is not None:
        out.append(f'<div class="nbd-error">✗ {e(str(t.error))}</div>')
    flagged = {}
    for f in t.findings:
        if f.call is not None and f.severity != "info":
            flagged.setdefault(f.call, f)
    out.append("<table><thead><tr>" + "".join(
        f"<th>{h}</th>" for h in ("#", "module", "type", "in → out", "mean ± std", "zero", "nonfin", "‖grad‖", ""))
        + "</tr></thead><tbody>")
    for c in rows_to_show(t):
        f = flagged.get(c.index)
        badge = f'<span class="nbd-{e(f.severity)}">{ICONS.get(f.severity, "")} {e(f.rule)}</span>' if f else ""
        o = c.output
        name = ("&nbsp;&nbsp;" * min(c.depth, 8)) + e(c.name if c.name else "(root)")
        cells = [str(c.index), name, e(c.type) + (" ✗" if c.status == "raised" else ""), e(io_cell(c)),
                 e(moments(o)), pct(o.zero_frac) if o is not None and o.has_values else "–", e(nonfinite(o)),
                 e(grad_norm(c)), badge]
        cls = ' class="nbd-flag"' if f is not None or c.status == "raised" else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{v}</td>" for v in cells) + "</tr>")
    out.append("</tbody></table>")
    if t.findings:
        out.append("<div><b>findings</b> (most likely root cause first)</div><ul>")
        for f in t.findings:
            where = f.where if f.where else "(root)"
            out.append(f'<li><span class="nbd-{e(f.severity)}">{ICONS.get(f.severity, "")} {e(f.rule)} '
                       f'{e(f.cause)}</span> at <code>{e(where)}</code>: {e(f.message)}'
                       f'<div class="nbd-fix">fix: {e(f.fix)}</div></li>')
        out.append("</ul>")
    elif t.error is None:
        out.append("<div>no findings: nothing looks wrong in this pass</div>")
    for note in t.notes:
        out.append(f"<div class=\"nbd-info\">note: {e(note)}</div>")
    out.append("</div>")
    return "\n".join(out)
