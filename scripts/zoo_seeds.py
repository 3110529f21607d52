"""Score a zoo of cases under several seeds: which cases flip (miss, lose first place, false alarm)?

A zoo's cases seed their models and data through a module-level `_seed` function; this replaces it
with one that seeds 1..N in turn and scores every case the way ../shared/zoo/score.py does (a serious
finding with an expected cause, at the expected `where`; healthy cases: no serious finding), plus
whether the first serious finding names an expected cause. Hidden cases "of the same kinds" differ
from ours in exactly such details, so a rule that only holds for one seed is a rule to revisit.

    python scripts/zoo_seeds.py tests/generalisation/cases.py --seeds 8
    python scripts/zoo_seeds.py ../shared/zoo/cases.py

Not a test: some cases only show their bug for some seeds (an overflow that needs a large enough
random score), and a few thresholds sit near a seed's value by nature. Read the list, then decide.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nbdebug  # noqa: E402

SERIOUS = {"warning", "error"}


def _load(path: str):
    spec = importlib.util.spec_from_file_location("zoo_cases", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # inspect finds the cases' classes through sys.modules
    spec.loader.exec_module(mod)
    return mod


def _verdict(spec: dict, findings: list) -> str:
    serious = [f for f in findings if f.severity in SERIOUS]
    expect, where = spec["expect"], spec.get("where")
    wheres = [where] if isinstance(where, str) else where
    if not expect:
        return "false alarm" if serious else ""

    def at(f):
        w = f.where or ""
        return wheres is None or any(w == p or w.startswith(p + ".") for p in wheres)

    if not any(f.cause in expect and at(f) for f in serious):
        return "miss"
    return "" if serious[0].cause in expect else "not first"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", help="a cases.py with CASES and _seed")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args()
    mod = _load(args.cases)
    flips = collections.defaultdict(list)
    for seed in range(1, args.seeds + 1):
        mod._seed = lambda *a, _s=seed: torch.manual_seed(_s)
        for name, make in mod.CASES.items():
            if args.k not in name:
                continue
            spec = make()
            options = {k: spec[k] for k in ("target", "loss", "optimizer", "steps") if k in spec}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trace = nbdebug.trace(spec["model"], spec["inputs"], **options)
            verdict = _verdict(spec, trace.findings)
            if verdict:
                found = [f"{f.cause}@{f.where!r}" for f in trace.findings if f.severity in SERIOUS][:3]
                flips[name].append(f"seed {seed}: {verdict} ({', '.join(found) or 'nothing'})")
    for name, lines in sorted(flips.items(), key=lambda kv: -len(kv[1])):
        print(f"{name}: {len(lines)} of {args.seeds}")
        for line in lines[:3]:
            print(f"    {line}")
    print(f"{len(flips)} of {len(mod.CASES)} cases flip under some seed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
