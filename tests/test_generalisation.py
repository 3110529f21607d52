"""The generalisation zoo (tests/generalisation/*.py), scored with the acceptance zoo's semantics.

Self-contained on purpose (CI may not have ../shared): per case,
  buggy    a finding of severity warning/error names an expected cause, and sits at the expected
           module (or inside it) when the case gives `where`;
  healthy  no finding of severity warning or error;
  every    nbdebug raised nothing and left the model as it was (tests/conftest.py snapshot).
A last test checks the zoo's own shape: every cause of the vocabulary has at least two buggy cases
and there are at least twenty healthy ones.
"""
import importlib.util
import pathlib
import warnings

import pytest

from model_state import differences, snapshot

import nbdebug
from nbdebug.rules.base import SHARED_CAUSES

SERIOUS = {"warning", "error"}
CASES_DIR = pathlib.Path(__file__).resolve().parent / "generalisation"


def _load_cases() -> dict:
    """Every case of every file in tests/generalisation (cases.py, and batches that bring their own
    building blocks, such as modern_architectures.py); a name may appear once."""
    cases: dict = {}
    for path in sorted(CASES_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"generalisation_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        clash = set(cases) & set(mod.CASES)
        assert not clash, f"{path.name} repeats case names: {sorted(clash)}"
        cases.update(mod.CASES)
    return cases


CASES = _load_cases()


def _matches(finding, expect, where) -> bool:
    if finding.severity not in SERIOUS or finding.cause not in expect:
        return False
    if where is None:
        return True
    w = finding.where or ""
    return any(w == p or w.startswith(p + ".") for p in ([where] if isinstance(where, str) else where))


def _describe(findings) -> str:
    return ", ".join(f"{f.cause}@{f.where!r} ({f.rule}, {f.severity})" for f in findings) or "nothing"


@pytest.mark.parametrize("name", list(CASES))
def test_case(name):
    spec = CASES[name]()
    model, expect, where = spec["model"], spec["expect"], spec.get("where")
    options = {k: spec[k] for k in ("target", "loss", "optimizer", "steps") if k in spec}
    before = snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace = nbdebug.trace(model, spec["inputs"], **options)  # must not raise for a broken model
    changed = differences(before, snapshot(model))
    assert not changed, f"nbdebug changed the model: {changed}"
    serious = [f for f in trace.findings if f.severity in SERIOUS]
    if not expect:
        assert not serious, f"false alarm on a healthy setup: {_describe(serious)}"
        return
    want = "|".join(expect) + (f" at {where}" if where is not None else "")
    assert any(_matches(f, expect, where) for f in serious), f"wanted {want}; got {_describe(serious)}"


def test_zoo_covers_every_cause_and_enough_healthy_cases():
    counts = {c: 0 for c in SHARED_CAUSES}  # the shared vocabulary; "exception" is our fallback
    healthy = 0
    for build in CASES.values():
        expect = build()["expect"]
        healthy += not expect
        for cause in expect:
            assert cause in counts, f"unknown cause {cause!r}"
        if expect:  # a case counts for its primary (first-named) cause
            counts[expect[0]] += 1
    thin = {c: n for c, n in counts.items() if n < 2}
    assert not thin, f"causes with fewer than two buggy cases: {thin}"
    assert healthy >= 20, healthy
