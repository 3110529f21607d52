"""nbval reads `--nbval-sanitize-with` relative to the current directory; the path in pyproject.toml
is relative to the project, so resolve it there and `pytest` works from any directory."""
from pathlib import Path


def pytest_configure(config):
    path = getattr(config.option, "nbval_sanitize_with", None)
    if path and not Path(path).is_absolute() and config.inipath is not None:
        resolved = config.inipath.parent / path
        if resolved.exists():
            config.option.nbval_sanitize_with = str(resolved)
