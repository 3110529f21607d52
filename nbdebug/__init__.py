"""nbdebug: step through a PyTorch model in Jupyter, and get told why it fails.

    t = nbdebug.trace(model, x, target=y, loss="cross_entropy")
    t.findings[0]          # the most likely root cause, with a concrete fix
    nbdebug.debug(model, x)  # the widget
    %load_ext nbdebug      # then: %nbdebug model x --target y
"""
from .api import trace
from .trace import Call, Finding, TensorStats, Trace

__version__ = "0.1.0"


def debug(model, inputs, **kwargs):
    """Trace `model` on `inputs` (same arguments as `trace`) and return the stepping widget."""
    from .widget import debug as _debug

    return _debug(model, inputs, **kwargs)


def load_ipython_extension(ipython):
    from .magic import load_ipython_extension as _load

    _load(ipython)


__all__ = ["trace", "debug", "load_ipython_extension", "Trace", "Call", "Finding", "TensorStats", "__version__"]
