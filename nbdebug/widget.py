"""The stepping widget: an anywidget whose view is the hand-written ES module in js/widget.js.

State is small: the trace summary as compact JSON (payload.py), the cursor, the selection and the
name filter. The big things, a call's histograms and full statistics, are sent when the view asks
for them (a custom message {"kind": "details", "index": i}). {"kind": "rerun"} traces again, from the
same source, after the user edited the model.
"""
from __future__ import annotations

from typing import Callable, Optional

import anywidget
import traitlets

from . import payload
from .trace import Trace

MAX_STATUS = 300


class DebugWidget(anywidget.AnyWidget):
    _esm = payload.static_text("widget.js")
    _css = payload.static_text("widget.css")

    summary = traitlets.Unicode("{}").tag(sync=True)   # payload.summary_json(trace)
    cursor = traitlets.Int(0).tag(sync=True)           # the last call reached by stepping
    selected = traitlets.Int(0).tag(sync=True)         # the call shown in the detail pane
    filter = traitlets.Unicode("").tag(sync=True)      # module name/type filter
    status = traitlets.Unicode("").tag(sync=True)      # "" | "running" | why a re-run failed
    live = traitlets.Bool(True).tag(sync=True)         # re-run possible (a source to trace again)

    def __init__(self, trace: Trace, source: Optional[Callable[[], dict]] = None, **kwargs):
        super().__init__(**kwargs)
        self._source = source
        self.live = source is not None
        self._trace: Optional[Trace] = None
        self.trace = trace
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ the trace shown
    @property
    def trace(self) -> Trace:
        return self._trace

    @trace.setter
    def trace(self, t: Trace) -> None:
        self._trace = t
        with self.hold_sync():
            self.summary = payload.summary_json(t)
            self.cursor = 0
            self.selected = 0

    def details(self, index: int) -> Optional[dict]:
        """What the detail pane shows for one call (histograms, full stats)."""
        return payload.details(self._trace, index)

    # ------------------------------------------------------------------ stepping, as the toolbar does it
    def go(self, index: int) -> int:
        n = len(self._trace.calls)
        if n:
            index = max(0, min(n - 1, int(index)))
            with self.hold_sync():
                self.cursor = index
                self.selected = index
        return self.cursor

    def start(self) -> int:
        return self.go(0)

    def step(self, n: int = 1) -> int:
        return self.go(self.cursor + n)

    def back(self, n: int = 1) -> int:
        return self.go(self.cursor - n)

    def end(self) -> int:
        return self.go(len(self._trace.calls) - 1)

    def next_finding(self) -> int:
        """Run to the next call with a finding (wrapping around to the first)."""
        spots = payload.finding_calls(self._trace)
        if not spots:
            return self.cursor
        after = [i for i in spots if i > self.cursor]
        return self.go(after[0] if after else spots[0])

    def rerun(self) -> bool:
        """Trace again from the same source (the model object, or the magic's expressions re-evaluated)."""
        if self._source is None:
            self.status = "re-run needs the model: create the widget with nbdebug.debug(model, inputs)"
            return False
        from .api import trace

        self.status = "running"
        try:
            t = trace(**self._source())
        except Exception as e:  # a re-run that cannot start says why in the widget, never in a traceback
            self.status = _one_line(f"re-run failed: {type(e).__name__}: {e}")
            return False
        self.trace = t
        self.status = ""
        return True

    # ------------------------------------------------------------------ messages from the view
    def _on_message(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "details":
            index = content.get("index")
            if isinstance(index, int):
                self.send({"kind": "details", "index": index, "data": self.details(index)})
        elif kind == "rerun":
            self.rerun()

    # ------------------------------------------------------------------ fallbacks without a widget frontend
    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None or self._trace is None:
            return bundle
        data, metadata = bundle
        data = dict(data)
        data["text/plain"] = repr(self._trace)
        data["text/html"] = self._trace._repr_html_()
        return data, metadata


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_STATUS else text[: MAX_STATUS - 1] + "…"


def debug(model, inputs, **kwargs) -> DebugWidget:
    """Trace `model` on `inputs` (same keyword arguments as nbdebug.trace) and return the widget."""
    from .api import trace

    t = trace(model, inputs, **kwargs)
    return DebugWidget(t, source=lambda: dict(model=model, inputs=inputs, **kwargs))
