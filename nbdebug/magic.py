"""`%nbdebug model inputs [--target T] [--loss L] [--optimizer O] [--steps N]`: the notebook entry point.

Every argument is a Python expression evaluated in the user's namespace; `--loss` may also be a short
name such as `cross_entropy`. A mistake in the line (a name that does not exist, a missing argument)
is a one-line UsageError that says what to pass, never a traceback. The magic returns the widget.
The widget's re-run evaluates the same expressions again, so it picks up a model the user redefined.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from IPython.core.error import UsageError

USAGE = "%nbdebug model inputs [--target y] [--loss cross_entropy|mse|bce_with_logits|<expr>] " \
        "[--optimizer opt] [--steps N]"
OPTIONS = ("target", "loss", "optimizer", "steps")
CLOSERS = {")": "(", "]": "[", "}": "{"}


@dataclass
class Line:
    """A parsed %nbdebug line: the source text of each expression, not yet evaluated."""

    model: str
    inputs: str
    options: dict = field(default_factory=dict)   # option name -> expression text


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str) -> UsageError:
    return UsageError(_one_line(f"%nbdebug: {message}"))


def split_words(line: str) -> list:
    """Split at top-level whitespace, keeping brackets and string literals whole."""
    words, cur, stack, quote = [], [], [], None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(line):
                cur.append(line[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch in "([{":
            stack.append(ch)
            cur.append(ch)
        elif ch in CLOSERS:
            if not stack or stack.pop() != CLOSERS[ch]:
                raise _fail(f"unbalanced {ch!r} in {line.strip()!r}; usage: {USAGE}")
            cur.append(ch)
        elif ch.isspace() and not stack:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if quote or stack:
        raise _fail(f"unclosed {'quote' if quote else repr(stack[-1])} in {line.strip()!r}; usage: {USAGE}")
    if cur:
        words.append("".join(cur))
    return words


def _is_option(word: str) -> bool:
    return word.startswith("--") and word[2:3].isalpha()


def parse(line: str) -> Line:
    """The model, inputs and options as expression text. Raises UsageError for a malformed line."""
    words = split_words(line)
    positional, options = [], {}
    i = 0
    while i < len(words):
        w = words[i]
        if not _is_option(w):
            positional.append(w)
            i += 1
            continue
        name, eq, value = w[2:].partition("=")
        name = name.replace("-", "_")
        if name not in OPTIONS:
            raise _fail(f"unknown option --{name}: the options are --target, --loss, --optimizer and --steps; "
                        f"usage: {USAGE}")
        if name in options:
            raise _fail(f"--{name} is given twice; usage: {USAGE}")
        parts = [value] if eq else []
        i += 1
        while i < len(words) and not _is_option(words[i]):
            parts.append(words[i])
            i += 1
        text = " ".join(p for p in parts if p)
        if not text:
            raise _fail(f"--{name} needs a value, e.g. --{name} {_EXAMPLES[name]}; usage: {USAGE}")
        options[name] = text
    if len(positional) < 2:
        got = "nothing" if not positional else f"only {positional[0]!r}"
        raise _fail(f"pass a model and its inputs (got {got}), e.g. %nbdebug model x; usage: {USAGE}")
    return Line(model=positional[0], inputs=" ".join(positional[1:]), options=options)


_EXAMPLES = {"target": "y", "loss": "cross_entropy", "optimizer": "opt", "steps": "20"}


def evaluate(expr: str, namespace: dict, what: str):
    """Evaluate one argument in the user's namespace; any failure is a one-line UsageError."""
    try:
        code = compile(expr, f"<%nbdebug {what}>", "eval")
    except SyntaxError as e:
        raise _fail(f"{what} {expr!r} is not a Python expression ({e.msg}); wrap an expression that "
                    f"contains spaces in parentheses; usage: {USAGE}") from None
    try:
        return eval(code, namespace)  # noqa: S307: the user's own expression, in the user's own kernel
    except NameError as e:
        raise _fail(f"{what} {expr!r}: {e}; define it in the notebook first, or pass another "
                    f"expression; usage: {USAGE}") from None
    except Exception as e:
        raise _fail(f"evaluating {what} {expr!r} raised {type(e).__name__}: {e}") from None


def _loss(expr: str, namespace: dict):
    """A loss expression, or a short name like cross_entropy when no such variable exists."""
    from .backward import LOSSES

    key = expr.strip().strip("'\"").lower().replace("-", "_")
    if expr.isidentifier() and expr not in namespace and not hasattr(builtins, expr):
        if key in LOSSES:
            return key
        raise _fail(f"unknown loss {expr!r}: pass one of {', '.join(sorted(LOSSES))}, or a loss "
                    f"function / nn.Module from the notebook (e.g. --loss nn.CrossEntropyLoss())")
    return evaluate(expr, namespace, "--loss")


def arguments(line: Line, namespace: dict) -> dict:
    """nbdebug.trace keyword arguments from a parsed line, evaluated in `namespace`."""
    import torch.nn as nn

    model = evaluate(line.model, namespace, "model")
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise _fail(f"model {line.model!r} is a class: pass an instance, e.g. %nbdebug {line.model}() x")
    if not isinstance(model, nn.Module):
        raise _fail(f"model {line.model!r} is a {type(model).__name__}, not a torch.nn.Module: pass the "
                    f"model first, then its inputs; usage: {USAGE}")
    kwargs = {"model": model, "inputs": evaluate(line.inputs, namespace, "inputs")}
    opts = line.options
    if "target" in opts:
        kwargs["target"] = evaluate(opts["target"], namespace, "--target")
    if "loss" in opts:
        kwargs["loss"] = _loss(opts["loss"], namespace)
    if "optimizer" in opts:
        kwargs["optimizer"] = evaluate(opts["optimizer"], namespace, "--optimizer")
    if "steps" in opts:
        steps = evaluate(opts["steps"], namespace, "--steps")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise _fail(f"--steps must be a whole number >= 0, not {steps!r}, e.g. --steps 20")
        kwargs["steps"] = steps
    return kwargs


def run(line: str, namespace: dict):
    """Parse, evaluate, trace; return the widget."""
    from .api import trace
    from .widget import DebugWidget

    parsed = parse(line)
    kwargs = arguments(parsed, namespace)
    try:
        t = trace(**kwargs)
    except (TypeError, ValueError) as e:  # nbdebug's own misuse errors (a broken model never raises)
        raise _fail(str(e)) from None
    return DebugWidget(t, source=lambda: arguments(parsed, namespace))


def load_ipython_extension(ipython) -> None:
    def nbdebug(line: str = ""):
        return run(line, ipython.user_ns)

    nbdebug.__doc__ = __doc__.split("\n\n")[0] + "\n\nUsage: " + USAGE + "\n\n" + (
        "Each argument is a Python expression evaluated in the notebook's namespace. `inputs` is a tensor,\n"
        "a tuple/list of positional arguments or a dict of keyword arguments. --loss takes a callable\n"
        "loss(output, target) or a short name (cross_entropy, mse, bce_with_logits, nll, ...). --optimizer\n"
        "takes an optimizer instance (only its class and hyperparameters are reused, on a copy) or a\n"
        "factory params -> Optimizer. --steps N runs N probe optimizer steps on a copy of the model.\n"
        "The model itself is never changed.")
    ipython.register_magic_function(nbdebug, "line", "nbdebug")
