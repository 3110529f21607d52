"""The acceptance zoo (../shared/zoo), when this checkout has it beside it."""
import pathlib
import subprocess
import sys

import pytest

ZOO = pathlib.Path(__file__).resolve().parents[2] / "shared" / "zoo" / "score.py"


@pytest.mark.skipif(not ZOO.exists(), reason="../shared/zoo/score.py is not beside this checkout")
def test_acceptance_zoo_passes():
    r = subprocess.run([sys.executable, str(ZOO)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
