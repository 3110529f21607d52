"""The CI entry point must at least parse: a syntax error in .ci/run fails CI in 0 s, before any test."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_ci_entry_point_parses():
    script = ROOT / ".ci" / "run"
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_ci_entry_point_ends_with_the_readme_test_command():
    lines = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip()]
    assert lines[-1] == "make test"
    assert "make test" in (ROOT / "README.md").read_text()
