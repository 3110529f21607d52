"""Wrap a few of torch's Python entry points while traces run, shared between concurrent traces.

The softmax watch (forward) and the loss watch (the user's loss) need to see calls that no module
hook sees. Each wraps its entry points with `Wrapped(targets, make)`: the first trace to start
installs the wrappers, the last to end puts the originals back, so traces running in two threads at
once cannot leave a wrapper behind. Each wrapper hands every call to the watches active now; a watch
ignores calls from other threads itself.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

_MISSING = object()


class Wrapped:
    def __init__(self, targets, make):
        """targets: (owner, attribute name, tag); make(original, tag, watches) -> the wrapper, which
        must call `original` and then tell each watch in `watches` (a list it may read, not keep)."""
        self.targets = tuple(targets)
        self.make = make
        self.watches: list = []     # the watches of the traces running now
        self._saved: list = []      # (owner, name, the owner's own attribute or _MISSING) while installed
        self._lock = threading.Lock()

    @contextmanager
    def active(self, watch):
        with self._lock:
            if not self.watches:
                for owner, name, tag in self.targets:
                    self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
                    wrapper = self.make(getattr(owner, name), tag, self.watches)
                    wrapper.__wrapped__ = getattr(owner, name)
                    setattr(owner, name, wrapper)
            self.watches.append(watch)
        try:
            yield watch
        finally:
            with self._lock:
                self.watches.remove(watch)
                if not self.watches:
                    while self._saved:
                        owner, name, own = self._saved.pop()
                        if own is _MISSING:
                            delattr(owner, name)
                        else:
                            setattr(owner, name, own)
