"""The command line: `python -m nbdebug demo` and `python -m nbdebug report module:factory`."""
import subprocess
import sys
import textwrap

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nbdebug", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_demo_prints_the_trace_and_its_findings():
    r = run("demo")
    assert r.returncode == 0, r.stderr
    assert "nbdebug · Sequential" in r.stdout
    assert "LogLayer" in r.stdout
    # the finding names the op and the line of the example's source where NaN/Inf is born
    assert "nonfinite-created at 2" in r.stdout and "examples.py:" in r.stdout and "torch.log" in r.stdout


def test_demo_unknown_example_is_a_usage_error():
    r = run("demo", "no_such_example")
    assert r.returncode == 2 and "choose one of" in r.stderr


@pytest.fixture
def factory_file(tmp_path):
    f = tmp_path / "factory.py"
    f.write_text(textwrap.dedent("""
        import torch, torch.nn as nn
        def make():
            torch.manual_seed(0)
            return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), torch.randn(16, 4), \\
                torch.randint(0, 3, (16,)), nn.CrossEntropyLoss()
        def as_dict():
            m = nn.Linear(3, 1)
            return {"model": m, "inputs": torch.randn(8, 3), "target": torch.randn(8, 1), "loss": "mse",
                    "optimizer": torch.optim.SGD(m.parameters(), lr=0.1), "steps": 3}
        def broken():
            raise RuntimeError("cannot build")
        def wrong():
            return 42
    """))
    return f


def test_report_prints_findings_and_progress(factory_file):
    r = run("report", f"{factory_file}:make")
    assert r.returncode == 0, r.stderr
    assert "nbdebug · Sequential" in r.stdout and "CrossEntropyLoss" in r.stdout
    assert "[1/3] building the model" in r.stderr and "[2/3] tracing" in r.stderr


def test_report_accepts_a_dict_factory_with_steps(factory_file):
    r = run("report", f"{factory_file}:as_dict", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


@pytest.mark.parametrize("spec,needle", [
    ("no_colon", "expected module:factory"),
    ("no_such_module_xyz:make", "cannot import"),
    ("FILE:missing", "has no callable 'missing'"),
    ("FILE:broken", "raised RuntimeError: cannot build"),
    ("FILE:wrong", "the factory must return"),
])
def test_report_usage_errors_are_one_line(factory_file, spec, needle):
    r = run("report", spec.replace("FILE", str(factory_file)), "-q")
    assert r.returncode == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_report_fail_on_error(tmp_path):
    f = tmp_path / "nan.py"
    f.write_text("import torch, torch.nn as nn\n"
                 "def make():\n"
                 "    x = torch.randn(4, 3); x[0, 0] = float('nan')\n"
                 "    return nn.Linear(3, 1), x\n")
    r = run("report", f"{f}:make", "-q", "--fail-on", "error")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "nonfinite-input" in r.stdout


def test_report_writes_the_offline_html(factory_file, tmp_path):
    out = tmp_path / "report.html"
    r = run("report", f"{factory_file}:make", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "[4/4] report written to" in r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "Sequential" in html and "<script" in html
