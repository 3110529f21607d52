"""Property-based: on hostile models and inputs, nbdebug.trace never raises, never changes the model,
tells the truth about what failed, and produces strict JSON and markup-free HTML.

Budget: NBDEBUG_HOSTILE_EXAMPLES (default 120 per property, derandomized so CI is reproducible).
A longer, randomised local run: NBDEBUG_HOSTILE_EXAMPLES=2000 NBDEBUG_HOSTILE_RANDOM=1 pytest tests/test_hostile.py
"""
import copy
import json
import os

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
import nbdebug
from conftest import differences, snapshot
from nbdebug.rules.base import CAUSES
from nbdebug.structure import map_tensors, tensors
from nbdebug.trace import Trace

EXAMPLES = int(os.environ.get("NBDEBUG_HOSTILE_EXAMPLES", "120"))
RANDOM = os.environ.get("NBDEBUG_HOSTILE_RANDOM", "") not in ("", "0")
HOSTILE = settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SPECIAL_WHERE = {"input", "target", "loss", "optimizer"}


def plain_forward(model, inputs, grad: bool):
    """What the user's own call does, on a copy: (output, None) or (None, exception)."""
    twin = copy.deepcopy(model)
    fresh = map_tensors(inputs, lambda t: t.detach().clone())
    args, kwargs = nbdebug.api.split_inputs(fresh)
    try:
        with torch.random.fork_rng(devices=[]), torch.set_grad_enabled(grad):
            return twin(*args, **kwargs), None
    except Exception as e:
        return None, e


def check_trace(t, model, kwargs, reference):
    assert isinstance(t, Trace)
    out, raised = reference
    # nbdebug neither invents a forward failure nor hides one
    forward_failed = t.error is not None and t.error.stage == "forward"
    assert forward_failed == (raised is not None), (t.error, raised)
    if raised is not None:
        assert t.error.type == type(raised).__name__
    else:
        assert [s.shape for s in t.outputs] == [tuple(v.shape) for _, v in tensors(out)]
    if t.error is not None:
        text = repr(t)
        assert t.error.type in text and t.error.stage in text
        if t.error.call is not None:
            failing = t.calls[t.error.call]
            assert failing.status in ("raised", "running") and failing.name == t.error.where
    # the record is well formed and bounded
    assert [c.index for c in t.calls] == list(range(len(t.calls)))
    assert all(c.parent is None or c.parent < c.index for c in t.calls)
    assert sum(c.status == "ok" for c in t.calls) <= kwargs["max_calls"]
    if t.checks.get("calls_not_recorded"):
        assert any("not recorded one by one" in n for n in t.notes)
    assert not [n for n in t.notes if "nbdebug internal" in n]
    # findings use the public vocabulary and point at real places
    names = {n for n, _ in model.named_modules()} | {c.name for c in t.calls} | SPECIAL_WHERE
    for f in t.findings:
        assert f.cause in CAUSES and f.severity in ("error", "warning", "info"), f
        assert f.where in names, f
        assert f.message and (f.call is None or 0 <= f.call < len(t.calls)), f
    # strict JSON that reloads to the same data
    text = t.to_json()
    data = json.loads(text)
    assert Trace.from_dict(data).to_dict() == data
    repr(Trace.from_dict(data))
    # HTML: user strings are data, never markup
    html = t._repr_html_()
    assert hostile.live_markup(html) == []
    shown = "".join(hostile.audit(html).text)
    for c in t.calls:
        assert c.name in shown or len(t.calls) > 60


@HOSTILE
@given(case=st.one_of(hostile.hostile_cases(), hostile.hostile_cases(tame=True)))
def test_hostile_models_never_break_nbdebug(case):
    model, inputs, kwargs = hostile.build_case(case)
    reference = plain_forward(model, inputs, kwargs["backward"])
    user_inputs = map_tensors(inputs, lambda t: t.clone())
    before = snapshot(model)
    t = nbdebug.trace(model, inputs, **kwargs)
    assert differences(before, snapshot(model)) == []
    # the user's input tensors are not changed either (forward ran on private copies)
    for (_, a), (_, b) in zip(tensors(inputs), tensors(user_inputs)):
        assert a.dtype == b.dtype and torch.equal(a.nan_to_num() if a.is_floating_point() else a,
                                                  b.nan_to_num() if b.is_floating_point() else b)
    check_trace(t, model, kwargs, reference)


@HOSTILE
@given(case=hostile.hostile_cases())
def test_second_trace_sees_the_same_model(case):
    """Tracing twice gives the same record: the first trace left nothing behind."""
    model, inputs, kwargs = hostile.build_case(case)
    kwargs.update(steps=0, optimizer=None)
    first = nbdebug.trace(model, inputs, **kwargs).to_dict()
    second = nbdebug.trace(model, inputs, **kwargs).to_dict()
    for d in (first, second):
        d.pop("meta", None)
        d["checks"].pop("warnings", None)
    assert first == second


@pytest.mark.parametrize("kind", sorted(hostile.PALETTE))
def test_every_palette_layer_alone(kind, traced):
    """Each hostile layer on its own, with a target and probe steps: deterministic coverage of the palette."""
    model = hostile.build_model((0, [(kind, 4, 4, 1)], [0, 0], "train", "float32", []))
    x = torch.randn(3, 4)
    t = traced(model, x, target=torch.randn(3, 4), steps=1)
    check_trace(t, model, {"max_calls": 5000}, plain_forward(model, x, True))
