"""Every rule against its own examples, and the registry's invariants (the sqlfluff/pylint pattern)."""
import re

import pytest
import torch

import nbdebug
from nbdebug.rules import CAUSES, RULES, SHARED_CAUSES

SERIOUS = ("error", "warning")
CAUSES_MD_NAMES = set(CAUSES)


def _run(example):
    spec = dict(example())
    model, inputs = spec.pop("model"), spec.pop("inputs")
    return model, nbdebug.trace(model, inputs, **spec)


def _cases(kind):
    return [pytest.param(rule, ex, id=f"{rule.code}-{ex.__name__.strip('_')}")
            for rule in RULES for ex in getattr(rule, kind)]


@pytest.mark.parametrize("rule,example", _cases("bad"))
def test_rule_fires_on_its_bad_examples(rule, example, untouched):
    model, t = None, None
    spec = dict(example())
    model, inputs = spec.pop("model"), spec.pop("inputs")
    with untouched(model):
        t = nbdebug.trace(model, inputs, **spec)
    mine = [f for f in t.findings if f.rule == rule.code]
    assert mine, f"{rule.code} did not fire; findings: {[str(f) for f in t.findings]}"
    assert all(f.cause == rule.cause for f in mine)
    assert any(f.severity == rule.severity for f in mine)
    for f in mine:
        assert f.message and f.fix, f


@pytest.mark.parametrize("rule,example", _cases("good"))
def test_rule_is_silent_on_its_good_examples(rule, example, untouched):
    spec = dict(example())
    model, inputs = spec.pop("model"), spec.pop("inputs")
    with untouched(model):
        t = nbdebug.trace(model, inputs, **spec)
    loud = [str(f) for f in t.findings if f.rule == rule.code and f.severity in SERIOUS]
    assert not loud, loud


def test_registry_invariants():
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes)), "duplicate rule codes"
    for r in RULES:
        assert re.fullmatch(r"NBD\d{3}", r.code), r.code
        assert r.cause in CAUSES_MD_NAMES, (r.code, r.cause)
        assert r.severity in ("error", "warning", "info"), r.code
        assert len(r.title) > 5 and len(r.explanation) > 40 and len(r.fix) > 10, r.code
        assert r.bad and r.good, f"{r.code} needs at least one bad and one good example"
        assert r.needs in ("forward", "backward", "loss", "steps"), r.code
        assert r.thresholds, f"{r.code} must document its thresholds and where they come from"


def test_cause_vocabulary_matches_causes_md():
    import pathlib

    md = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "causes.md"
    if not md.exists():
        pytest.skip("../shared/causes.md not present in this checkout")
    names = set(re.findall(r"^\| `([a-z-]+)` \|", md.read_text(), flags=re.M))
    assert names == set(SHARED_CAUSES)
    extra = set(CAUSES) - names
    assert extra == {"exception"}, extra   # our one addition, documented in docs/causes.md
