"""The compact text view of a Trace: what `repr`, `print` and consoles without widgets show."""
from __future__ import annotations

import re

from .rules.helpers import fmt, pct
from .trace import Call, TensorStats, Trace

MAX_ROWS = 60
ICONS = {"error": "⛔", "warning": "⚠", "info": "ℹ"}


def shape_of(stats: list) -> str:
    if not stats:
        return "–"
    s = stats[0]
    text = s.shape_str()
    return text + (f" +{len(stats) - 1}" if len(stats) > 1 else "")


def io_cell(c: Call) -> str:
    out = shape_of(c.outputs) if c.outputs else ("None" if c.output_kind == "None" else
                                                  ("✗" if c.status != "ok" else c.output_kind or "–"))
    return f"{shape_of(c.inputs)} → {out}"


def moments(s: TensorStats) -> str:
    if s is None or not s.has_values:
        return "–"
    return f"{fmt(s.mean, 2)} ± {fmt(s.std, 2)}"


def nonfinite(s: TensorStats) -> str:
    if s is None or not s.numel:
        return "–"
    return pct(s.nonfinite / s.numel) if s.nonfinite else "0 %"


def grad_norm(c: Call) -> str:
    g = next((g for g in c.grads if g is not None), None)
    if g is None or not g.has_values:
        return "–"
    if g.nonfinite:
        return "NaN/Inf"
    return fmt(g.norm)


def rows_to_show(t: Trace) -> list:
    flagged = {f.call for f in t.findings if f.call is not None}
    if t.error is not None and t.error.call is not None:
        flagged.add(t.error.call)
    if len(t.calls) <= MAX_ROWS:
        return list(t.calls)
    head = t.calls[: MAX_ROWS // 2]
    tail = t.calls[-MAX_ROWS // 4:]
    keep = {c.index for c in head} | {c.index for c in tail} | flagged
    return [c for c in t.calls if c.index in keep]


def header(t: Trace) -> str:
    parts = [f"nbdebug · {t.model}", f"{len(t.calls)} calls"]
    if t.device:
        parts.append(t.device)
    if t.dtype:
        parts.append(t.dtype)
    parts.append("train" if t.training else "eval")
    if t.loss is not None:
        parts.append(f"loss: {t.loss.name}" + (f" = {fmt(t.loss.value)}" if t.loss.value is not None else ""))
    return " · ".join(parts)


def render_text(t: Trace) -> str:
    lines = [header(t)]
    if t.error is not None:
        lines.append(f"✗ {t.error}")
    cols = ["#", "module", "type", "in → out", "mean ± std", "zero", "nonfin", "‖grad‖", ""]
    badges = {}
    for f in t.findings:
        if f.call is not None and f.severity != "info":
            badges.setdefault(f.call, ICONS.get(f.severity, "") + f.rule)
    rows = []
    last = -1
    for c in rows_to_show(t):
        if c.index != last + 1 and rows:
            rows.append(["…", f"({c.index - last - 1} calls)", "", "", "", "", "", "", ""])
        last = c.index
        out = c.output
        name = ("  " * min(c.depth, 8)) + (c.name if c.name else "(root)")
        status = {"raised": " ✗", "running": " …"}.get(c.status, "")
        rows.append([str(c.index), name[:40], c.type[:20] + status, io_cell(c)[:34], moments(out),
                     pct(out.zero_frac) if out is not None and out.has_values else "–", nonfinite(out),
                     grad_norm(c), badges.get(c.index, "")])
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    fmt_row = lambda r: "  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    lines.append(fmt_row(cols))
    lines.extend(fmt_row(r) for r in rows)
    if t.findings:
        lines.append("")
        lines.append("findings (most likely root cause first):")
        for f in t.findings:
            where = f.where if f.where else "(root)"
            lines.append(f" {ICONS.get(f.severity, '')} {f.rule} {f.cause} at {where}: {f.message}")
            if f.fix:
                lines.append(f"    fix: {f.fix}")
    elif t.error is None:
        lines.append("")
        lines.append("no findings: nothing looks wrong in this pass")
    for note in t.notes:
        lines.append(f"note: {note}")
    return _printable("\n".join(lines))


# C0/C1 control characters other than newline and tab: a module named "\x1b]0;...\x07" must not
# drive the user's terminal. They are shown as escapes instead.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
