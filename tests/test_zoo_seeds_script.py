"""scripts/zoo_seeds.py: a case whose bug shows for some seeds only is listed, a stable one is not."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = textwrap.dedent("""
    import torch
    import torch.nn as nn

    CASES = {}

    def case(fn):
        CASES[fn.__name__] = fn
        return fn

    def _seed(s=1):
        torch.manual_seed(s)

    @case
    def nan_for_even_seeds():
        _seed()
        x = torch.randn(8, 4)
        if torch.initial_seed() % 2 == 0:
            x[0, 0] = float("nan")
        return dict(model=nn.Linear(4, 2), inputs=x, expect=["nonfinite-input"])

    @case
    def ok_linear():
        _seed()
        return dict(model=nn.Linear(4, 2), inputs=torch.randn(8, 4), expect=[])
""")


def test_the_script_lists_the_case_that_flips_with_the_seed(tmp_path):
    path = tmp_path / "cases.py"
    path.write_text(CASES)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "zoo_seeds.py"), str(path), "--seeds", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "nan_for_even_seeds: 1 of 2" in done.stdout
    assert "seed 1: miss" in done.stdout
    assert "ok_linear" not in done.stdout
    assert "1 of 2 cases flip" in done.stdout
