"""Build the teaching notebooks in notebooks/ from their readable sources in notebooks/src/.

    .venv/bin/python scripts/build_notebooks.py              # every notebook
    .venv/bin/python scripts/build_notebooks.py 03 05        # those whose name contains 03 or 05
    .venv/bin/python scripts/build_notebooks.py --no-execute # structure only, no outputs

A source is a Python file in the "percent" format (jupytext reads it too): a line `# %%` starts a
code cell, `# %% [markdown]` a markdown cell whose lines are comments (`# text`), and IPython magics
are commented out as jupytext does (`# %nbdebug model x`), so the source stays valid Python. Review
and edit the source; this script turns it into a notebook, executes it in a fresh kernel so the stored outputs are
exactly what nbval compares against (`make test`), and saves it without widget state: no
`metadata.widgets`, so no copy of the widget's ES module (`_esm`) or CSS lands in the file. Without
its state a stored widget view could only say "model not found", so the view reference is dropped
too and the trace's own HTML and text fallbacks show instead (on GitHub, and in JupyterLab until the
cell is run again, which brings the live widget back).

Re-run it after changing a source, and whenever nbval reports that a notebook's output changed
because a rule's wording or numbers changed on purpose (then re-read the prose next to it).
Cell ids are numbered, the metadata is fixed and no widget model id is stored, so re-building an
unchanged source gives an unchanged file.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
CELL_MARK = re.compile(r"^# %%(?P<rest>.*)$")
MAGIC = re.compile(r"^# (?P<magic>%[A-Za-z_]\w*(\s.*)?)$")   # `# %nbdebug m x`, not `# %%` or prose
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE = {"name": "python", "pygments_lexer": "ipython3"}
CELL_TIMEOUT_S = 300


def parse_source(text: str) -> list:
    """(kind, source) pairs from a percent-format file; `kind` is "code" or "markdown"."""
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(_uncomment(line) for line in body.split("\n"))
        else:
            body = "\n".join(_magic(line) for line in body.split("\n"))
        if body.strip():
            cells.append((kind, body))

    for line in text.split("\n"):
        m = CELL_MARK.match(line)
        if m:
            flush()
            kind, lines = ("markdown" if "[markdown]" in m.group("rest") else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def _magic(line: str) -> str:
    m = MAGIC.match(line)
    return m.group("magic") if m else line


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.strip() == "#":
        return ""
    raise ValueError(f"a markdown line must be a comment ('# ...'): {line!r}")


def build(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNEL), "language_info": dict(LANGUAGE)}
    for i, (kind, body) in enumerate(cells):
        new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = new(body)
        cell.id = f"cell-{i:02d}"   # stable ids: rebuilding an unchanged source changes nothing
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode) -> None:
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", record_timing=False,
                            store_widget_state=False, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def strip_widgets(nb: nbformat.NotebookNode) -> None:
    """Drop every copy of the widget's state and code, and the view references that would need them."""
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNEL)
    nb.metadata["language_info"] = dict(LANGUAGE)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            for key in [k for k in out.get("data", {}) if "widget-state" in k or k == WIDGET_VIEW]:
                del out["data"][key]


def check(nb: nbformat.NotebookNode, name: str) -> None:
    nbformat.validate(nb)
    text = json.dumps(nb)
    for forbidden in ("_esm", "_css", "widget-state", WIDGET_VIEW):
        if forbidden in text:
            raise SystemExit(f"{name}: {forbidden!r} found in the notebook after stripping widget state")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        raise SystemExit(f"{name}: a cell raised {errors[0].get('ename')}: {errors[0].get('evalue')}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("only", nargs="*", help="build only the notebooks whose name contains one of these")
    ap.add_argument("--no-execute", action="store_true", help="write the cells without running them")
    args = ap.parse_args(argv)
    sources = sorted(SOURCES.glob("*.py"))
    if args.only:
        sources = [s for s in sources if any(o in s.stem for o in args.only)]
    if not sources:
        print("no notebook sources matched", file=sys.stderr)
        return 1
    for src in sources:
        target = NOTEBOOKS / f"{src.stem}.ipynb"
        print(f"{src.relative_to(ROOT)} -> {target.relative_to(ROOT)}", flush=True)
        nb = build(parse_source(src.read_text(encoding="utf-8")))
        if not args.no_execute:
            execute(nb)
        strip_widgets(nb)
        check(nb, target.name)
        with open(target, "w", encoding="utf-8", newline="\n") as fh:
            nbformat.write(nb, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
