"""Misuse of nbdebug's own API raises at once, with one line that says what to pass instead.

This is the only time nbdebug raises: a broken *model* becomes a finding, a wrong *call* of
nbdebug is an error. Every message is a single line, starts with `nbdebug.trace:`, names the
argument, and carries the fix. The model is not touched before the error.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

import nbdebug

X = torch.randn(3, 4)
Y = torch.randn(3, 2)


def model():
    torch.manual_seed(0)
    return nn.Linear(4, 2)


# (call, exception type, substrings the message must contain: the argument and the fix)
MISUSES = {
    "model is a class": (lambda m: nbdebug.trace(nn.Linear, X), TypeError, ["model", "pass an instance"]),
    "model is a function": (lambda m: nbdebug.trace(lambda x: x, X), TypeError, ["model", "wrap it in an nn.Module"]),
    "model is None": (lambda m: nbdebug.trace(None, X), TypeError, ["model must be a torch.nn.Module", "NoneType"]),
    "arguments swapped": (lambda m: nbdebug.trace(X, m), TypeError, ["swapped", "nbdebug.trace(model, inputs)"]),
    "inputs is None": (lambda m: nbdebug.trace(m, None), ValueError, ["inputs", "pass a tensor"]),
    "steps < 0": (lambda m: nbdebug.trace(m, X, steps=-1), ValueError, ["steps", ">= 0", "steps=20"]),
    "steps is a float": (lambda m: nbdebug.trace(m, X, steps=1.5), ValueError, ["steps", "whole number"]),
    "steps is a string": (lambda m: nbdebug.trace(m, X, steps="3"), ValueError, ["steps", "whole number"]),
    "steps is a bool": (lambda m: nbdebug.trace(m, X, steps=True), ValueError, ["steps", "whole number"]),
    "unknown loss name": (lambda m: nbdebug.trace(m, X, target=Y, loss="crossentropy"), ValueError,
                          ["unknown loss 'crossentropy'", "did you mean 'cross_entropy'", "callable"]),
    "loss is a number": (lambda m: nbdebug.trace(m, X, target=Y, loss=3), TypeError,
                         ["loss must be a callable", "'cross_entropy'"]),
    "loss is a class": (lambda m: nbdebug.trace(m, X, target=Y, loss=nn.MSELoss), TypeError,
                        ["loss is the class MSELoss", "loss=MSELoss()"]),
    "named loss without target": (lambda m: nbdebug.trace(m, X, loss="mse"), ValueError,
                                  ["loss='mse' needs a target", "pass target=y"]),
    "loss module without target": (lambda m: nbdebug.trace(m, X, loss=nn.CrossEntropyLoss()), ValueError,
                                   ["loss=CrossEntropyLoss() needs a target"]),
    "optimizer is a name": (lambda m: nbdebug.trace(m, X, target=Y, steps=2, optimizer="adam"), TypeError,
                            ["optimizer must be a torch.optim.Optimizer", "factory", "not str"]),
    "optimizer is a number": (lambda m: nbdebug.trace(m, X, target=Y, steps=2, optimizer=0.1), TypeError,
                              ["optimizer", "lambda p: torch.optim.SGD(p, lr=0.1)", "not float"]),
    "backward is a string": (lambda m: nbdebug.trace(m, X, backward="no"), TypeError, ["backward must be True or False"]),
    "max_calls is 0": (lambda m: nbdebug.trace(m, X, max_calls=0), ValueError, ["max_calls", "positive int"]),
    "bins is 1": (lambda m: nbdebug.trace(m, X, bins=1), ValueError, ["bins", "between 2 and 512"]),
}


@pytest.mark.parametrize("name", sorted(MISUSES))
def test_misuse_is_one_line_naming_the_fix(name, untouched):
    call, exc_type, needles = MISUSES[name]
    m = model()
    with untouched(m):
        with pytest.raises(exc_type) as info:
            call(m)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith("nbdebug.trace: "), message
    for needle in needles:
        assert needle in message, (needle, message)
    assert info.value.__suppress_context__ or info.value.__context__ is None  # no chained noise


def test_optimizer_is_checked_even_without_steps():
    """The optimizer is read for its parameter groups on every trace, so a wrong one is caught at once."""
    with pytest.raises(TypeError, match="optimizer must be"):
        nbdebug.trace(model(), X, optimizer="sgd")


@pytest.mark.parametrize("steps", [np.int64(2), np.int32(1), 0])
def test_integer_like_steps_are_accepted(steps, traced):
    t = traced(model(), X, target=Y, steps=steps)
    assert len(t.steps) == int(steps)


@pytest.mark.parametrize("optimizer", [
    torch.optim.SGD,                                   # the class itself is a factory params -> Optimizer
    lambda p: torch.optim.Adam(p, lr=1e-2),
])
def test_optimizer_factories_are_accepted(optimizer, traced):
    t = traced(model(), X, target=Y, steps=2, optimizer=optimizer)
    assert len(t.steps) == 2


def test_optimizer_instance_is_reused_by_class_and_hyperparameters(traced):
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)
    state_before = opt.state_dict()
    t = traced(m, X, target=Y, steps=2, optimizer=opt)
    assert len(t.steps) == 2 and "SGD" in t.checks["probe"]["optimizer"]
    assert opt.state_dict() == state_before  # the user's optimizer is not stepped


def test_a_broken_model_is_not_misuse(traced):
    """The same call shape with a model that raises: no exception, the error is in the trace."""

    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    t = traced(Broken(), X, target=Y, steps=2)
    assert t.error is not None and t.error.message == "boom"


def test_a_custom_loss_without_target_is_allowed(traced):
    """A callable loss may need no target (e.g. an energy on the output): nbdebug passes None."""
    t = traced(model(), X, loss=lambda out, target: out.pow(2).mean())
    assert t.error is None and t.loss.value > 0 and not t.loss.stand_in


def test_a_loss_that_raises_is_not_misuse(traced):
    def loss(out, target):
        raise ValueError("bad loss")

    t = traced(model(), X, target=Y, loss=loss)
    assert t.error.stage == "loss" and t.error.message == "bad loss"


def test_debug_validates_like_trace():
    pytest.importorskip("anywidget")
    with pytest.raises(TypeError, match="pass an instance"):
        nbdebug.debug(nn.Linear, X)
