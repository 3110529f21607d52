"""Turn a live exception into plain data: its type, message and the user's own frames."""
from __future__ import annotations

import os
import traceback

import torch

from .trace import ErrorInfo, Frame

_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))
_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
MAX_FRAMES = 8
MAX_MESSAGE = 2000


# The built-in example models are "user code" for the purpose of pointing at source lines.
_EXAMPLES = os.path.join(_OWN_DIR, "examples.py")


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path == _EXAMPLES:
        return False
    return path.startswith(_TORCH_DIR) or path.startswith(_OWN_DIR) or "site-packages" + os.sep + "torch" in path


def user_frames(tb) -> list:
    frames = [f for f in traceback.extract_tb(tb) if not _is_library(f.filename)]
    return [Frame(file=f.filename, line=f.lineno or 0, function=f.name, code=(f.line or "")[:200])
            for f in frames[-MAX_FRAMES:]]


def _message(exc: BaseException) -> str:
    """str(exc), or a stand-in when the exception's own __str__/__repr__ is broken."""
    for render in (str, repr):
        try:
            text = render(exc).strip()
            if text:
                return text
        except Exception:
            pass
    return f"<{type(exc).__name__}: its message could not be rendered>"


def describe(exc: BaseException) -> str:
    """'Type: message' for notes, safe for exceptions whose __str__ raises."""
    return f"{type(exc).__name__}: {_message(exc)}"


def error_info(exc: BaseException, stage: str, call=None) -> ErrorInfo:
    message = _message(exc)
    info = ErrorInfo(type=type(exc).__name__, message=message[:MAX_MESSAGE], stage=stage,
                     call=None if call is None else call.index, where="" if call is None else call.name,
                     frames=user_frames(exc.__traceback__))
    try:  # drop the frames' locals (activations) now rather than at the next garbage collection
        traceback.clear_frames(exc.__traceback__)
    except Exception:
        pass
    return info


def misuse(message: str, exc_type=TypeError):
    """An error in how nbdebug itself was called: one line, saying what to pass instead."""
    err = exc_type(message)
    err.__suppress_context__ = True
    return err
