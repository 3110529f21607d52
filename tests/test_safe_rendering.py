"""User strings are data, never markup, in every view: module names, class names, exception text,
warnings, notes.

Each case builds a model whose strings carry `<img src=x onerror=...>` / `<script>` payloads and a
*benign twin* with the same structure and plain names. The HTML views must hold no tag or event
handler the twin does not have, and must show the payload as text.
"""
import collections
import importlib.util
import warnings

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings

import hostile
import nbdebug
from model_state import differences, snapshot
from hostile import IMG, PAYLOADS, SCRIPT
from nbdebug.trace import Trace

X = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
HAS_REPORT = importlib.util.find_spec("nbdebug.report") is not None


class Warns(nn.Module):
    def __init__(self, message):
        super().__init__()
        self.message = message

    def forward(self, x):
        warnings.warn(self.message)
        return x


def named_model(names, raise_message=None, warn_message=None, class_name=None):
    """Linear -> (a class called `class_name`, or Identity) -> Warns -> optional Raise, under `names`."""
    torch.manual_seed(0)
    m = nn.Sequential()
    m.add_module(names[0], nn.Linear(4, 4))
    cls = type(class_name, (nn.Module,), {"forward": lambda self, x: x}) if class_name else nn.Identity
    m.add_module(names[1], cls())
    m.add_module(names[2], Warns(warn_message or "plain warning"))
    if raise_message is not None:
        m.add_module(names[3], hostile.Raise(raise_message))
    return m


SAFE_NAMES = ["a", "b", "c", "d"]
CASES = {
    "module names": dict(names=[IMG, SCRIPT, PAYLOADS[2], PAYLOADS[3]], raise_message="plain"),
    "class name": dict(names=SAFE_NAMES, class_name=SCRIPT + IMG),
    "exception text": dict(names=SAFE_NAMES, raise_message=IMG + SCRIPT),
    "warning text": dict(names=SAFE_NAMES, warn_message=SCRIPT + IMG),
}


def build(case: dict, payload: bool) -> Trace:
    """The case's trace, or (payload=False) its benign twin: same structure, plain strings."""
    case = dict(case)
    if not payload:
        case = {k: ("plain" if isinstance(v, str) else v) for k, v in case.items()}
        case["names"] = SAFE_NAMES
    return checked_trace(named_model(**case), X)


def checked_trace(model, inputs, **kwargs) -> Trace:
    """nbdebug.trace, asserting the model comes back untouched (as the `traced` fixture does)."""
    before = snapshot(model)
    t = nbdebug.trace(model, inputs, **kwargs)
    assert differences(before, snapshot(model)) == []
    return t


def tag_counts(html: str) -> collections.Counter:
    return collections.Counter(hostile.audit(html).tags)


def assert_payloads_are_text(html: str, twin_html: str, shown: list):
    assert hostile.audit(html).handlers == []
    assert tag_counts(html) == tag_counts(twin_html), "a payload added or removed markup"
    text = "".join(hostile.audit(html).text)
    for s in shown:
        assert s in text, f"{s!r} is not shown as text"


def payloads_in(t: Trace) -> list:
    """The payload strings this trace carries, wherever they came from."""
    found = [c.name.split(".")[-1] for c in t.calls] + [c.type for c in t.calls]
    if t.error is not None:
        found.append(t.error.message)
    return [s for s in found if "<" in s]


@pytest.mark.parametrize("name", sorted(CASES))
def test_repr_html_shows_payloads_as_text(name):
    t = build(CASES[name], payload=True)
    twin = build(CASES[name], payload=False)
    html = t._repr_html_()
    assert hostile.live_markup(html) == []
    assert_payloads_are_text(html, twin._repr_html_(), payloads_in(t))


@pytest.mark.parametrize("name", sorted(CASES))
def test_text_repr_keeps_payloads_verbatim(name):
    """Plain text has no markup to escape: the user sees their own names exactly."""
    t = build(CASES[name], payload=True)
    text = repr(t)
    for s in payloads_in(t):
        assert s[:20] in text


def test_payloads_reach_every_place_they_are_shown():
    """The cases really exercise names, class names, exception text and warnings (guards the test)."""
    t = build(CASES["module names"], payload=True)
    assert {IMG, SCRIPT} <= {c.name for c in t.calls}
    t = build(CASES["class name"], payload=True)
    assert SCRIPT + IMG in [c.type for c in t.calls]
    t = build(CASES["exception text"], payload=True)
    assert t.error.message == IMG + SCRIPT
    t = build(CASES["warning text"], payload=True)
    assert any(SCRIPT in w for w in t.checks["warnings"])


def test_markup_class_name_is_escaped():
    m = nn.Sequential(type(SCRIPT, (nn.Module,), {"forward": lambda self, x: x})(), nn.Linear(4, 2))
    t = checked_trace(m, X)
    assert t.calls[1].type == SCRIPT
    html = t._repr_html_()
    assert hostile.live_markup(html) == [] and SCRIPT in "".join(hostile.audit(html).text)


def test_markup_root_class_name_in_the_header_is_escaped():
    root = type(IMG, (nn.Sequential,), {})(nn.Linear(4, 2))
    t = checked_trace(root, X)
    assert t.model == IMG
    html = t._repr_html_()
    assert hostile.live_markup(html) == [] and IMG in "".join(hostile.audit(html).text)


def test_notes_and_findings_are_escaped():
    """A probe that fails with a payload message puts it in a note; the note is shown as text."""

    def factory(params):
        raise ValueError(IMG)

    m = nn.Sequential(nn.Linear(4, 2))
    t = checked_trace(m, X, target=torch.randn(3, 2), steps=1, optimizer=factory)
    assert any(IMG in n for n in t.notes)
    html = t._repr_html_()
    assert hostile.live_markup(html) == [] and IMG in "".join(hostile.audit(html).text)


def test_reloaded_trace_renders_safely():
    t = build(CASES["module names"], payload=True)
    again = Trace.from_dict(t.to_dict())
    assert hostile.live_markup(again._repr_html_()) == []


# ---------------------------------------------------------------------- the offline report
needs_report = pytest.mark.skipif(not HAS_REPORT, reason="nbdebug/report.py is not written yet")


def script_closers(html: str) -> int:
    return html.lower().count("</script")


@needs_report
@pytest.mark.parametrize("name", sorted(CASES))
def test_report_has_no_live_markup(name):
    t = build(CASES[name], payload=True)
    twin = build(CASES[name], payload=False)
    html, twin_html = t.to_html(), twin.to_html()
    assert hostile.audit(html).handlers == []
    assert tag_counts(html) == tag_counts(twin_html)
    assert script_closers(html) == script_closers(twin_html), "a payload closes a script element"


@needs_report
def test_report_title_is_escaped():
    cls = type(SCRIPT, (nn.Module,), {"forward": lambda self, x: x})
    t = nbdebug.trace(cls(), X)
    html = t.to_html()
    assert tag_counts(html)["script"] == tag_counts(nbdebug.trace(nn.Identity(), X).to_html())["script"]


@needs_report
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=hostile.hostile_cases())
def test_report_of_hostile_models_has_no_live_markup(case):
    model, inputs, kwargs = hostile.build_case(case)
    html = checked_trace(model, inputs, **kwargs).to_html()
    a = hostile.audit(html)
    assert a.handlers == []
    assert not {"img", "svg", "iframe", "object", "embed"} & set(a.tags)
    assert collections.Counter(a.tags)["script"] == tag_counts(nbdebug.trace(nn.Identity(), X).to_html())["script"]


def test_widget_fallback_html_is_escaped():
    pytest.importorskip("anywidget")
    from nbdebug.widget import DebugWidget

    t = build(CASES["module names"], payload=True)
    bundle = DebugWidget(t)._repr_mimebundle_()
    if bundle is None:
        pytest.skip("no mime bundle outside a kernel")
    data, _ = bundle
    assert hostile.live_markup(data["text/html"]) == []


def test_terminal_control_characters_are_shown_as_escapes():
    """The text view goes to terminals: a name or message must not move the cursor or set the title."""

    def model(name, message):
        m = nn.Sequential()
        m.add_module(name, nn.Linear(4, 4))
        m.add_module("boom", hostile.Raise(message))
        return m

    text = repr(checked_trace(model("\x1b[31mred\x1b]0;title\x07", "\x1b[2J cleared"), X))
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31mred" in text and "\\x1b[2J cleared" in text
    plain = repr(checked_trace(model("red", "cleared"), X))
    assert len(text.splitlines()) == len(plain.splitlines())
