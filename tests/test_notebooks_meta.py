"""The teaching notebooks in notebooks/: stored as built, executed, without widget state, and tested
by nbval in strict mode.

nbval itself (run by plain `pytest`, see pyproject.toml) re-executes the notebooks and compares the
outputs; these tests check what nbval does not: that there are enough notebooks, that they match
their sources in notebooks/src/, that the files carry no widget state, that only the live widget's
output escapes comparison, and that the pytest configuration really runs nbval strictly.
"""
from __future__ import annotations

import ast
import configparser
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    tomllib = None

from nbval.plugin import find_comment_markers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "scripts" / "build_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path):
    return nbformat.read(str(path), as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _ignores_output(cell) -> bool:
    return dict(find_comment_markers(cell.source)).get("check") is False


def _sanitizers() -> list:
    cfg = configparser.ConfigParser()
    cfg.read(SANITIZE, encoding="utf-8")
    return [(cfg[s]["regex"], cfg[s]["replace"]) for s in cfg.sections()]


def _sanitize(text: str) -> str:
    for regex, replace in _sanitizers():
        text = re.sub(regex, replace, text)
    return text


def test_at_least_six_notebooks_starting_with_the_quickstart():
    names = [p.name for p in PATHS]
    assert len(names) >= 6, names
    assert names[0] == "00-quickstart.ipynb"


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    sources = {p.stem for p in (NOTEBOOKS / "src").glob("*.py")}
    assert sources == {p.stem for p in PATHS}


@pytest.mark.parametrize("path", sorted((NOTEBOOKS / "src").glob("*.py")), ids=lambda p: p.stem)
def test_sources_are_valid_python(path):
    """Magics are commented out (`# %nbdebug m x`), as jupytext writes them, so tools can parse sources."""
    ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_matches_its_source(path):
    """The stored cells are what scripts/build_notebooks.py makes from notebooks/src/<name>.py."""
    builder = _load_builder()
    built = builder.build(builder.parse_source((NOTEBOOKS / "src" / f"{path.stem}.py").read_text(encoding="utf-8")))
    stored = _read(path)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built.cells], (
        f"{path.name} is stale: run `.venv/bin/python scripts/build_notebooks.py {path.stem[:2]}`")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_no_widget_state_or_widget_code_in_the_file(path):
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert "widgets" not in nb["metadata"]
    for forbidden in ("_esm", "_css", "application/vnd.jupyter.widget-state+json", WIDGET_VIEW):
        assert forbidden not in text, f"{path.name} contains {forbidden!r}"
    nbformat.validate(_read(path))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_executed_in_order_with_outputs(path):
    cells = _code_cells(_read(path))
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), "not executed top to bottom"
    assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
    printed = [c for c in cells if "print(" in c.source]
    assert printed and all(c.outputs for c in printed), "a cell that prints has no stored output"


def _calls_the_magic(cell) -> bool:
    return any(line.startswith("%nbdebug ") for line in cell.source.splitlines())


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_uses_the_magic_and_stores_the_widget_fallback(path):
    """A stored notebook has no widget state, so a widget cell keeps the trace's HTML and text instead."""
    cells = _code_cells(_read(path))
    assert any(line.strip() == "%load_ext nbdebug" for c in cells for line in c.source.splitlines())
    magic = [c for c in cells if _calls_the_magic(c)]
    assert magic, f"{path.name} never calls %nbdebug"
    for cell in magic:
        shown = [o["data"] for o in cell.outputs if "data" in o]
        assert len(shown) == 1, cell.source
        assert WIDGET_VIEW not in shown[0], "a view reference without state only says 'model not found'"
        assert shown[0]["text/plain"].startswith("nbdebug · ") and "<" in shown[0]["text/html"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_only_the_live_widget_escapes_output_comparison(path):
    """Strict mode: every output is compared except the widget's (its model id changes each run)."""
    for cell in _code_cells(_read(path)):
        assert _ignores_output(cell) == _calls_the_magic(cell), cell.source[:80]
        assert "NBVAL_SKIP" not in cell.source and "NBVAL_RAISES_EXCEPTION" not in cell.source


def test_the_notebooks_show_every_cause():
    """docs/notebooks.md promises a story for each of the 26 causes; the printed findings prove it."""
    from nbdebug.rules.base import CAUSES

    shown = set()
    for path in PATHS:
        for cell in _code_cells(_read(path)):
            for out in cell.outputs:
                text = out.get("text", "") + out.get("data", {}).get("text/plain", "")
                shown.update(re.findall(r"\bNBD\d+ ([a-z-]+) at ", text))
    assert not set(CAUSES) - shown, f"no notebook shows {sorted(set(CAUSES) - shown)}"


@pytest.mark.skipif(tomllib is None, reason="needs tomllib (Python 3.11+)")
def test_plain_pytest_runs_the_notebooks_with_nbval_strictly():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    assert "notebooks" in options["testpaths"] and "tests" in options["testpaths"]
    addopts = options["addopts"].split()
    assert "--nbval" in addopts and "--nbval-lax" not in addopts
    assert addopts[addopts.index("--nbval-sanitize-with") + 1] == "notebooks/sanitize.cfg"


def test_sanitizers_hide_kernel_file_names_and_float_digits_only():
    cell_a = "torch.log in Net (/tmp/ipykernel_4242/4205099548.py:10 `return torch.log(h)`) made 37 ±Inf"
    cell_b = "torch.log in Net (/tmp/ipykernel_77/1358986128.py:10 `return torch.log(h)`) made 37 ±Inf"
    assert _sanitize(cell_a) == _sanitize(cell_b)
    assert _sanitize(cell_a) != _sanitize(cell_a.replace(":10", ":11")), "line numbers must still be compared"
    assert _sanitize(cell_a) != _sanitize(cell_a.replace("37", "38"))
    table = "1  0  Linear  64×10 → 64×32  0.067 ± 0.62  0 %  0 %  1.63e+07  1234567  torch 2.13.0"
    assert _sanitize(table) == "1  0  Linear  64×10 → 64×32  <float> ± <float>  0 %  0 %  <float>  1234567  torch 2.13.0"
    # floats may differ in the last digit across CPUs; integers (shapes, counts) may not
    assert _sanitize(table) == _sanitize(table.replace("0.067", "0.068").replace("1.63e+07", "1.64e+07"))
    assert _sanitize(table) != _sanitize(table.replace("64×32", "64×31"))


def test_nbval_fails_on_a_changed_output_and_tolerates_sanitized_ones(tmp_path):
    """End to end through the project's pytest configuration: a wrong stored output fails."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    stale = nbformat.v4.new_code_cell("print(6 * 7)")
    stale.outputs = [nbformat.v4.new_output("stream", name="stdout", text="41\n")]
    kernel_file = nbformat.v4.new_code_cell(textwrap.dedent("""\
        import os
        print(f"/tmp/ipykernel_{os.getpid()}/{os.getpid() * 7919 + 1000000}.py:3")"""))
    kernel_file.outputs = [nbformat.v4.new_output("stream", name="stdout", text="/tmp/ipykernel_1/2345678.py:3\n")]
    nb.cells = [stale, kernel_file]
    for count, cell in enumerate(nb.cells, 1):
        cell.execution_count = count   # nbval only compares cells that were run when stored
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, str(path))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", "-q", "-rA", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    summary = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert any(line.startswith("FAILED") and "Cell 0" in line for line in summary), result.stdout[-3000:]
    assert "outputs differ" in result.stdout, result.stdout[-3000:]
    assert any(line.startswith("PASSED") and "Cell 1" in line for line in summary), result.stdout[-3000:]
