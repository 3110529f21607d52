"""%nbdebug: parsing, evaluation in the user namespace, one-line UsageErrors, in IPython's own shell."""
import json

import pytest
import torch
import torch.nn as nn
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import nbdebug
from nbdebug.examples import SafeLogLayer
from nbdebug.magic import parse, split_words
from nbdebug.widget import DebugWidget

SETUP = """
import torch, torch.nn as nn
from nbdebug.examples import log_of_relu
kw = log_of_relu()
model, x, y = kw['model'], kw['inputs'], kw['target']
opt = torch.optim.SGD(model.parameters(), lr=0.1)
"""


@pytest.fixture(scope="module")
def shell():
    sh = InteractiveShell.instance()
    sh.extension_manager.load_extension("nbdebug")
    return sh


@pytest.fixture
def ns(shell):
    result = shell.run_cell(SETUP)
    assert result.success, result.error_in_exec
    return shell.user_ns


def magic_error(shell, line: str) -> str:
    """The UsageError a %nbdebug line raises, as the notebook shows it (one line)."""
    result = shell.run_cell(f"%nbdebug {line}")
    assert isinstance(result.error_in_exec, UsageError), (line, result.error_in_exec)
    text = str(result.error_in_exec)
    assert "\n" not in text and text.startswith("%nbdebug: ")
    return text


def test_extension_registers_the_line_magic(shell):
    assert "nbdebug" in shell.magics_manager.magics["line"]
    assert "--steps" in shell.magics_manager.magics["line"]["nbdebug"].__doc__


def test_magic_returns_the_widget_with_every_option_evaluated(shell, ns, untouched):
    with untouched(ns["model"]):
        w = shell.run_line_magic("nbdebug", "model x --target y --loss cross_entropy --optimizer opt --steps 2")
    assert isinstance(w, DebugWidget)
    t = w.trace
    assert t.loss.name == "CrossEntropyLoss" and len(t.steps) == 2
    assert t.target[0].shape == (8,)
    assert t.checks["optimizer"]["class"] == "SGD" and t.checks["optimizer"]["lr"] == 0.1


def test_cell_result_is_the_widget(shell, ns):
    result = shell.run_cell("%nbdebug model x")
    assert result.success and isinstance(result.result, DebugWidget)


def test_expressions_with_brackets_spaces_and_equals(shell, ns):
    w = shell.run_line_magic("nbdebug", "model x[:4] + 1 --target=y[:4] --loss nn.CrossEntropyLoss(reduction='sum')")
    assert w.trace.inputs[0].shape == (4, 4) and w.trace.loss.name == "CrossEntropyLoss"
    ns["two"] = nn.Bilinear(4, 4, 2)
    w = shell.run_line_magic("nbdebug", "two (x, x)")
    assert w.trace.calls[0].type == "Bilinear" and len(w.trace.inputs) == 2
    ns["kwnet"] = _KwNet()
    w = shell.run_line_magic("nbdebug", "kwnet {'a': x, 'b': x * 2}")
    assert w.trace.error is None and w.trace.outputs[0].shape == (8, 4)


class _KwNet(nn.Module):
    def forward(self, a, b):
        return a + b


def test_loss_short_name_unless_the_namespace_defines_it(shell, ns):
    assert shell.run_line_magic("nbdebug", "model x --target y --loss nll").trace.loss.name == "NLLLoss"
    ns["mse"] = nn.CrossEntropyLoss()   # a variable of the user's wins over the short name
    assert shell.run_line_magic("nbdebug", "model x --target y --loss mse").trace.loss.name == "CrossEntropyLoss"
    assert shell.run_line_magic("nbdebug", "model x --target y --loss 'cross_entropy'").trace.loss.name \
        == "CrossEntropyLoss"
    del ns["mse"]


@pytest.mark.parametrize("line, says", [
    ("", "pass a model and its inputs"),
    ("model", "got only 'model'"),
    ("modle x", "name 'modle' is not defined"),
    ("model xx", "name 'xx' is not defined"),
    ("model x --target yy", "name 'yy' is not defined"),
    ("model x --frobnicate 1", "unknown option --frobnicate"),
    ("model x --steps", "--steps needs a value"),
    ("model x --steps -2", "--steps must be a whole number"),
    ("model x --steps 1.5", "--steps must be a whole number"),
    ("model x --steps 1 --steps 2", "given twice"),
    ("model x --loss nonsense_loss", "unknown loss 'nonsense_loss'"),
    ("model x --target y --loss 'nonsense'", "unknown loss"),
    ("model (x", "unclosed '('"),
    ("model x)", "unbalanced ')'"),
    ("model x +", "not a Python expression"),
    ("x model", "not a torch.nn.Module"),
    ("nn.Linear x", "is a class: pass an instance"),
    ("model x[100, 100]", "raised IndexError"),
])
def test_bad_lines_are_one_line_usage_errors(shell, ns, line, says):
    assert says in magic_error(shell, line)


def test_a_broken_model_is_a_trace_not_an_error(shell, ns):
    ns["bad"] = nn.Linear(3, 2)
    w = shell.run_line_magic("nbdebug", "bad x")   # 4 features into Linear(3, 2)
    assert w.trace.error is not None and w.trace.error.type == "RuntimeError"


def test_rerun_re_evaluates_the_expressions(shell, ns):
    w = shell.run_line_magic("nbdebug", "model x --target y")
    assert w.trace.calls[3].type == "LogLayer"
    torch.manual_seed(0)
    ns["model"] = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), SafeLogLayer(), nn.Linear(8, 3))  # redefined
    assert w.rerun() and w.trace.calls[3].type == "SafeLogLayer"
    del ns["x"]
    assert not w.rerun() and "name 'x' is not defined" in w.status


def test_split_words_keeps_brackets_and_strings_whole():
    assert split_words("m  f(a, b)  {'k': [1, 2]} 's p' --loss=L") == ["m", "f(a, b)", "{'k': [1, 2]}", "'s p'",
                                                                     "--loss=L"]
    assert split_words("m 'a \\' b' x") == ["m", "'a \\' b'", "x"]


def test_parse_collects_options_and_joins_the_inputs_expression():
    p = parse("net x + 1 --target y --steps 2*5 --loss=mse")
    assert (p.model, p.inputs) == ("net", "x + 1")
    assert p.options == {"target": "y", "steps": "2*5", "loss": "mse"}
    assert parse("net x --optimizer torch.optim.Adam(net.parameters(), lr=1e-3)").options["optimizer"] \
        == "torch.optim.Adam(net.parameters(), lr=1e-3)"


def test_debug_and_magic_build_the_same_widget(shell, ns):
    a = nbdebug.debug(ns["model"], ns["x"], target=ns["y"])
    b = shell.run_line_magic("nbdebug", "model x --target y")
    sa, sb = json.loads(a.summary), json.loads(b.summary)
    assert sa["calls"] == sb["calls"] and sa["s"] == sb["s"] and sa["loss"] == sb["loss"]
