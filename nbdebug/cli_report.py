"""`python -m nbdebug report module:factory -o report.html`: nbdebug outside notebooks.

The factory is a function with no arguments that returns the model and its inputs, and optionally a
target, a loss and an optimizer: either a tuple `(model, inputs[, target[, loss[, optimizer]]])` or a
dict with those keys (and `steps`). `module` is an importable dotted name or a path to a .py file.
The findings go to the terminal; the self-contained report to the -o file. Progress goes to stderr.
"""
from __future__ import annotations

import importlib
import importlib.util
import pathlib
import sys
import time

KEYS = ("model", "inputs", "target", "loss", "optimizer")


class CliError(Exception):
    """A usage problem, reported as one line."""


def load_factory(spec: str):
    if ":" not in spec:
        raise CliError(f"expected module:factory (e.g. mypkg.models:make or path/to/file.py:make), got {spec!r}")
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = pathlib.Path(where)
        if not path.exists():
            raise CliError(f"no such file: {where}")
        mod_spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(mod_spec)
        sys.path.insert(0, str(path.resolve().parent))
        mod_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise CliError(f"cannot import {where!r}: {e}") from None
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        raise CliError(f"{where!r} has no callable {name!r}")
    return factory


def normalise(made) -> dict:
    """The factory's result as nbdebug.trace keyword arguments."""
    if isinstance(made, dict):
        unknown = set(made) - set(KEYS) - {"steps"}
        if unknown:
            raise CliError(f"the factory returned unknown keys {sorted(unknown)}; use {', '.join(KEYS)}, steps")
        if "model" not in made or "inputs" not in made:
            raise CliError("the factory's dict needs at least 'model' and 'inputs'")
        return dict(made)
    if isinstance(made, (tuple, list)) and 2 <= len(made) <= len(KEYS):
        return dict(zip(KEYS, made))
    raise CliError("the factory must return (model, inputs[, target[, loss[, optimizer]]]) or a dict with "
                   "those keys")


class Progress:
    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.n, self.t0 = total, quiet, 0, time.perf_counter()

    def step(self, what: str):
        self.n += 1
        if not self.quiet:
            print(f"[{self.n}/{self.total}] {what} ({time.perf_counter() - self.t0:.1f}s)", file=sys.stderr,
                  flush=True)


def run(args) -> int:
    import nbdebug

    progress = Progress(4 if args.output else 3, args.quiet)
    try:
        progress.step(f"building the model with {args.factory}")
        factory = load_factory(args.factory)
        try:
            made = factory()
        except Exception as e:
            raise CliError(f"the factory {args.factory} raised {type(e).__name__}: {e}") from None
        kwargs = normalise(made)
        if args.steps is not None:
            kwargs["steps"] = args.steps
        model, inputs = kwargs.pop("model"), kwargs.pop("inputs")
        steps = kwargs.get("steps", 0)
        progress.step("tracing one forward and backward pass" + (f", then {steps} probe steps" if steps else ""))
        try:
            t = nbdebug.trace(model, inputs, backward=not args.no_backward, **kwargs)
        except (TypeError, ValueError) as e:  # nbdebug's own misuse errors: one line each
            raise CliError(str(e)) from None
    except CliError as e:
        print(f"nbdebug report: {e}", file=sys.stderr)
        return 2
    progress.step("diagnosis")
    print(t)
    if args.output:
        t.to_html(args.output)
        progress.step(f"report written to {args.output}")
    if args.fail_on:
        levels = ("error",) if args.fail_on == "error" else ("error", "warning")
        if any(f.severity in levels for f in t.findings):
            return 1
    return 0


def add_parser(sub):
    p = sub.add_parser("report", help="trace model:factory, print the diagnosis, write an offline HTML report")
    p.add_argument("factory", help="module:function returning (model, inputs[, target[, loss[, optimizer]]])")
    p.add_argument("-o", "--output", metavar="PATH", help="write the self-contained HTML report here")
    p.add_argument("--steps", type=int, help="probe this many optimizer steps on a copy of the model")
    p.add_argument("--no-backward", action="store_true", help="forward pass only")
    p.add_argument("--fail-on", choices=("error", "warning"), help="exit 1 when a finding this severe exists")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(run=run)
    return p
