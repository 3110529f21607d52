"""Shared test fixtures: the non-interference check every traced model goes through."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


from model_state import differences, snapshot  # noqa: E402,F401  (re-exported for old imports)


@pytest.fixture
def untouched():
    """`with untouched(model): ...` fails the test if the block changed anything about the model."""
    from contextlib import contextmanager

    @contextmanager
    def check(model):
        before = snapshot(model)
        yield
        diff = differences(before, snapshot(model))
        assert not diff, f"nbdebug changed the model: {diff}"

    return check


@pytest.fixture
def traced(untouched):
    """trace(model, inputs, **kw) that also asserts non-interference."""
    import nbdebug

    def run(model, inputs, **kwargs):
        with untouched(model):
            return nbdebug.trace(model, inputs, **kwargs)

    return run
