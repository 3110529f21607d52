"""nbdebug benchmark: the cost of a trace next to a plain forward/backward, torchinfo and TorchLens.

    python benchmarks/run.py                 # full sizes (the numbers in docs/benchmarks.md)
    python benchmarks/run.py --quick         # full sizes, fewer rounds
    python benchmarks/run.py --smoke         # tiny sizes, a few seconds (CI)
    python benchmarks/run.py --json out.json --device cuda

Method. Every timed case of one model runs once per round, in an order that changes each round, so
drift in machine load hits all cases alike. We report the median time of each case and the median of
its per-round ratio to the baseline of the same round (plain forward+backward for full traces, plain
forward for forward-only tools). Peak RSS is measured in fresh subprocesses, one per measurement.
TorchLens wraps every torch function for the rest of the process, so it runs in its own subprocess,
with its own interleaved plain-forward baseline, and never slows the main process's measurements.
A peer that is not installed or fails is reported as such; the run continues.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import torch  # noqa: E402

import models as bench_models  # noqa: E402

# Targets from DESIGN.md "Performance targets" and issue 6.
TARGETS = {
    "trace_vs_fwd_bwd": 1.5,        # full trace / plain forward+backward (aim 1.3)
    "trace_vs_fwd_bwd_aim": 1.3,
    "forward_only_vs_fwd": 1.2,     # backward=False trace / plain forward
    "tiny_fixed_ms": 5.0,
    "peak_rss_ratio": 1.15,
    "payload_bytes_2000": 300_000,
    "rules_ms_2000": 50.0,
}
HEADLINE = ("cnn", "transformer")   # the models the overhead targets are stated for

MODES = {
    # size: (rounds per model, rounds for peers, rss reps, tiny rounds, models)
    "full": dict(size="full", rounds=11, peer_rounds=3, rss_reps=2, tiny_rounds=60,
                 models=["cnn", "transformer", "mlp", "calls"], rss_models=["cnn", "transformer", "mlp", "calls"],
                 breakdown_models=["cnn", "transformer", "mlp", "calls"], breakdown_reps=5),
    "quick": dict(size="full", rounds=5, peer_rounds=2, rss_reps=1, tiny_rounds=30,
                  models=["cnn", "transformer", "mlp", "calls"], rss_models=["cnn", "transformer"],
                  breakdown_models=["cnn", "transformer"], breakdown_reps=3),
    # CI: every code path once, at tiny sizes, on one thread (threads only add scheduling noise there)
    "smoke": dict(size="smoke", rounds=1, peer_rounds=1, rss_reps=1, tiny_rounds=5, threads=1,
                  models=["cnn", "transformer", "mlp", "calls"], rss_models=["mlp"], rss_pairs=1,
                  peer_models=["mlp"], breakdown_models=["mlp"], breakdown_reps=1),
}
RSS_PAIRS = [("plain_fwd_bwd", "trace_loss"), ("plain_fwd", "trace_fwd_only")]


# ============================================================================ helpers
def sync(device: str):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str) -> tuple:
    """(wall seconds, CPU seconds of this process) for one call."""
    sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - start, time.process_time() - cpu


def minor_faults():
    """This process's minor page faults so far (None where `resource` has no such count). On this
    kind of box they explain most of the spread between runs: see docs/benchmarks.md."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except (ImportError, AttributeError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def interleave(cases: dict, rounds: int, device: str, seed: int = 0, setups: Optional[dict] = None,
               faults: Optional[dict] = None) -> tuple:
    """Run every case once per round, order shuffled each round; `setups[name]`, if any, runs just
    before that case, untimed. With `faults` (a dict), also record each call's minor page faults
    into it (name -> list).

    Returns (wall, cpu): name -> list of seconds, one per round."""
    setups = setups or {}
    rng = random.Random(seed)
    names = list(cases)
    for name in names:                       # warm-up: first-call costs are not what we measure
        cases[name]()
    wall = {n: [] for n in names}
    cpu = {n: [] for n in names}
    enabled = gc.isenabled()
    gc.disable()  # as timeit does: no collection lands inside a timed call; one per round instead
    try:
        for _ in range(rounds):
            gc.collect()
            order = names[:]
            rng.shuffle(order)
            for name in order:
                if name in setups:
                    setups[name]()
                before = minor_faults()
                w, c = timed(cases[name], device)
                wall[name].append(w)
                cpu[name].append(c)
                if faults is not None and before is not None:
                    faults.setdefault(name, []).append(minor_faults() - before)
    finally:
        if enabled:
            gc.enable()
    return wall, cpu


def paired_ratio(times: dict, case: str, base: str):
    """Median over rounds of case/base measured in the same round."""
    if case not in times or base not in times:
        return None
    return median([a / b for a, b in zip(times[case], times[base]) if b > 0])


def ms(x):
    return None if x is None else round(x * 1e3, 3)


def machine_info(device: str) -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform(), "device": device,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if hasattr(os, "getloadavg"):
        info["load_before"] = [round(v, 2) for v in os.getloadavg()]
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def peer_versions() -> dict:
    out = {}
    for name in ("torchinfo", "torchlens"):
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "installed")
        except Exception as e:
            out[name] = f"unavailable: {type(e).__name__}: {e}"[:200]
    return out


# ============================================================================ the cases
def plain_cases(w, device: str) -> dict:
    model, x, y, loss = w.model, w.x, w.target, w.loss

    def fwd():
        with torch.no_grad():
            model(x)

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        loss(model(x), y).backward()

    return {"plain_fwd": fwd, "plain_fwd_bwd": fwd_bwd}


def nbdebug_cases(w) -> dict:
    import nbdebug

    model, x, y, loss = w.model, w.x, w.target, w.loss
    return {
        "trace_loss": lambda: nbdebug.trace(model, x, target=y, loss=loss),
        "trace_standin": lambda: nbdebug.trace(model, x),
        "trace_fwd_only": lambda: nbdebug.trace(model, x, backward=False),
        # the same trace on a model whose .grad was cleared (untimed) first: the plain step frees
        # .grad before its forward, a trace must keep the user's, and that memory shows here
        "trace_no_grad": lambda: nbdebug.trace(model, x, target=y, loss=loss),
    }


def nbdebug_setups(w) -> dict:
    return {"trace_no_grad": lambda: w.model.zero_grad(set_to_none=True)}


def torchinfo_cases(w, notes: list) -> dict:
    try:
        import torchinfo
    except Exception as e:
        notes.append(f"torchinfo unavailable: {type(e).__name__}: {e}")
        return {}
    model, x = w.model, w.x

    def summary():
        torchinfo.summary(model, input_data=x, verbose=0, depth=100)

    try:
        summary()
    except Exception as e:
        notes.append(f"torchinfo failed on {w.name}: {type(e).__name__}: {e}"[:300])
        return {}
    return {"torchinfo": summary}


# ============================================================================ per model
def bench_model(key: str, cfg: dict, device: str, peers: bool = True) -> dict:
    import nbdebug

    w = bench_models.build(key, cfg["size"], device)
    notes: list = []
    cases = {}
    cases.update(plain_cases(w, device))
    cases.update(nbdebug_cases(w))
    if peers:
        cases.update(torchinfo_cases(w, notes))
    faults: dict = {}
    wall, cpu = interleave(cases, cfg["rounds"], device, setups=nbdebug_setups(w), faults=faults)
    t = nbdebug.trace(w.model, w.x, target=w.target, loss=w.loss)
    res = {
        "model": w.name,
        "description": w.description,
        "params": sum(p.numel() for p in w.model.parameters()),
        "calls": len(t.calls),
        "rounds": cfg["rounds"],
        "median_ms": {n: ms(median(v)) for n, v in wall.items()},
        "median_cpu_ms": {n: ms(median(v)) for n, v in cpu.items()},
        "ratio": ratios(wall),
        "ratio_cpu": ratios(cpu),
        "median_minor_faults": {n: int(median(v)) for n, v in faults.items()},
        "trace_stages_s": t.meta.get("timings", {}),
        "payload_bytes": payload_size(t),
        "findings": [f"{f.rule} {f.cause}" for f in t.findings],
        "notes": notes,
    }
    if device.startswith("cuda"):
        res["cuda"] = cuda_extras(w)
    if key == "calls":
        res["rules"] = rules_time(t, cfg["rounds"] * 3)
    del t, w
    gc.collect()
    return res


def ratios(times: dict) -> dict:
    pairs = [("trace_loss", "plain_fwd_bwd"), ("trace_standin", "plain_fwd_bwd"), ("trace_no_grad", "plain_fwd_bwd"),
             ("trace_fwd_only", "plain_fwd"), ("torchinfo", "plain_fwd"), ("trace_loss", "torchinfo")]
    out = {}
    for case, base in pairs:
        r = paired_ratio(times, case, base)
        out[f"{case}/{base}"] = None if r is None else round(r, 3)
    return out


def payload_size(t) -> dict:
    """Bytes the widget receives. Uses the widget's own payload function once it exists."""
    out = {"to_json": len(t.to_json().encode())}
    try:
        from nbdebug.payload import summary_json  # what the widget's state and the report carry
    except Exception as e:
        out["widget_payload_error"] = f"nbdebug.payload unavailable: {type(e).__name__}: {e}"[:200]
        return out
    try:
        out["widget_payload"] = len(summary_json(t).encode())
        out["widget_payload_fn"] = "nbdebug.payload.summary_json"
    except Exception as e:
        out["widget_payload_error"] = f"summary_json: {type(e).__name__}: {e}"[:200]
    return out


def rules_time(t, reps: int) -> dict:
    from nbdebug.rules import RULES, diagnose

    times = []
    for _ in range(max(reps, 3)):
        gc.collect()
        start = time.perf_counter()
        diagnose(t)
        times.append(time.perf_counter() - start)
    return {"median_ms": ms(median(times)), "rules": len(RULES), "calls": len(t.calls)}


def tiny_fixed_cost(cfg: dict, device: str) -> dict:
    w = bench_models.build("tiny", "full", device)
    cases = plain_cases(w, device)
    cases.update(nbdebug_cases(w))
    wall, cpu = interleave(cases, cfg["tiny_rounds"], device)
    med = {n: median(v) for n, v in wall.items()}
    import nbdebug

    t = nbdebug.trace(w.model, w.x, target=w.target, loss=w.loss)
    return {"median_ms": {n: ms(v) for n, v in med.items()},
            "median_cpu_ms": {n: ms(median(v)) for n, v in cpu.items()},
            "fixed_cost_ms": ms(med["trace_loss"]),
            "fixed_cost_cpu_ms": ms(median(cpu["trace_loss"])),
            "excess_over_plain_ms": ms(med["trace_loss"] - med["plain_fwd_bwd"]),
            "trace_stages_s": t.meta.get("timings", {}),
            "rounds": cfg["tiny_rounds"]}


def cuda_extras(w) -> dict:
    """Peak device memory of plain vs traced, and the host syncs one trace makes."""
    import nbdebug

    out = {}

    def peak(fn):
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return base, torch.cuda.max_memory_allocated()

    plain = plain_cases(w, "cuda")
    runs = {"plain_fwd": plain["plain_fwd"], "plain_fwd_bwd": plain["plain_fwd_bwd"]}
    runs.update(nbdebug_cases(w))
    for name, fn in runs.items():
        w.model.zero_grad(set_to_none=True)
        base, top = peak(fn)
        out[f"{name}_peak_bytes"] = top
        out[f"{name}_extra_bytes"] = top - base
    for name in ("trace_loss", "trace_standin", "trace_fwd_only"):
        out[f"{name}_syncs"] = count_syncs(runs[name])
    return out


def count_syncs(fn) -> dict:
    """Host syncs and device-to-host copies in one call, from the profiler's CUDA runtime events."""
    try:
        from torch.profiler import ProfilerActivity, profile

        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            fn()
        names = [e.name for e in prof.events()]
        return {"stream_or_device_syncs": sum(n in ("cudaStreamSynchronize", "cudaDeviceSynchronize",
                                                    "cudaEventSynchronize") for n in names),
                "memcpy_dtoh": sum("DtoH" in n or "Device -> Pageable" in n or "Device -> Pinned" in n
                                   for n in names)}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:200]}


# ============================================================================ subprocess workers
def worker_rss(key: str, size: str, what: str, device: str) -> dict:
    """One fresh process: build the model, run `what` once, report the peak RSS."""
    w = bench_models.build(key, size, device)
    import nbdebug
    import nbdebug.rules  # noqa: F401  imported on first use; its code is not the trace's working memory

    model, x, y, loss = w.model, w.x, w.target, w.loss
    runs = {
        "plain_fwd": lambda: plain_cases(w, device)["plain_fwd"](),
        "plain_fwd_bwd": lambda: plain_cases(w, device)["plain_fwd_bwd"](),
        "trace_loss": lambda: nbdebug.trace(model, x, target=y, loss=loss),
        "trace_fwd_only": lambda: nbdebug.trace(model, x, backward=False),
    }
    gc.collect()
    reset = reset_peak_rss()  # else the peak of `import torch` hides a small model's
    base = rss_now()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    runs[what]()
    sync(device)
    out = {"base_rss": base, "peak_rss": rss_peak(), "peak_since": "setup" if reset else "process start"}
    if device.startswith("cuda"):
        out["cuda_max_allocated"] = torch.cuda.max_memory_allocated()
    return out


def _status(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_now() -> int:
    return _status("VmRSS")


def reset_peak_rss() -> bool:
    """Linux: restart the peak-RSS (VmHWM) count from the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_peak() -> int:
    peak = _status("VmHWM")
    if peak:
        return peak
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


# Parts of a trace timed by wrapping them (in a worker process, so the wrappers never touch the timed
# runs). They nest: the stats of activations and gradients are inside forward and backward.
PARTS = [
    ("nbdebug.api", "_Tracer", "_forward", "forward, with hooks and activation stats"),
    ("nbdebug.api", "_Tracer", "_backward", "backward, with gradient stats"),
    ("nbdebug.stats", "StatsBatch", "add", "stats: every tensor queued (nested above)"),
    ("nbdebug.stats", "StatsBatch", "finish", "stats: finish (results to Python)"),
    ("nbdebug.api", "_Tracer", "_record_params", "parameter stats"),
    ("nbdebug.api", "_Tracer", "_queue_checks", "batch-mixing experiment (skipped when the model is "
     "per-sample by construction)"),
    ("nbdebug.api", "_Tracer", "_checks", "checks after the transfer (mixing origin, NaN origin)"),
    ("nbdebug.guard", "ModelGuard", "__enter__", "guard: snapshot of the model"),
    ("nbdebug.guard", "ModelGuard", "__exit__", "guard: restore"),
    ("nbdebug.api", "_Tracer", "_diagnose", "rules"),
]


def worker_breakdown(key: str, size: str, reps: int, device: str) -> dict:
    """Where the time of one full trace goes, next to a plain forward+backward (wall and CPU ms)."""
    import importlib

    import nbdebug

    spent: dict = {}

    def wrap(owner, attr, label):
        fn = getattr(owner, attr)

        def timed_part(*a, **k):
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                acc = spent.setdefault(label, [0.0, 0.0])
                acc[0] += time.perf_counter() - w0
                acc[1] += time.process_time() - c0
        setattr(owner, attr, timed_part)

    for module, cls, attr, label in PARTS:
        try:
            mod = importlib.import_module(module)
            wrap(getattr(mod, cls) if cls else mod, attr, label)
        except (ImportError, AttributeError):
            continue  # the code moved on; the breakdown says less, the benchmark still runs
    w = bench_models.build(key, size, device)
    cases = plain_cases(w, device)
    cases["trace_loss"] = lambda: nbdebug.trace(w.model, w.x, target=w.target, loss=w.loss)
    cases["trace_loss"]()  # first use imports the rules: not a per-trace cost
    spent.clear()
    wall, cpu = interleave(cases, reps, device)
    n = reps + 1  # interleave's warm-up trace was timed by the wrappers too
    return {"model": w.name, "reps": reps,
            "plain_fwd_bwd_ms": [ms(median(wall["plain_fwd_bwd"])), ms(median(cpu["plain_fwd_bwd"]))],
            "trace_loss_ms": [ms(median(wall["trace_loss"])), ms(median(cpu["trace_loss"]))],
            "parts_ms": {label: [ms(v[0] / n), ms(v[1] / n)] for label, v in spent.items()}}


def worker_torchlens(keys: list, size: str, rounds: int, device: str) -> dict:
    """TorchLens' full trace (every activation saved) vs a plain forward, interleaved in one process."""
    try:
        import torchlens as tl
    except Exception as e:
        return {"error": f"torchlens unavailable: {type(e).__name__}: {e}"[:300]}
    out = {"version": getattr(tl, "__version__", "?"), "models": {}}
    for key in keys:
        w = bench_models.build(key, size, device)
        model, x = w.model, w.x

        def fwd():
            with torch.no_grad():
                model(x)

        log_fn = getattr(tl, "trace", None) or tl.log_forward_pass  # older releases: log_forward_pass

        def full_trace():  # the default: every layer's activation saved
            tr = log_fn(model, x)
            del tr

        try:
            wall, cpu = interleave({"plain_fwd": fwd, "torchlens": full_trace}, rounds, device)
        except Exception as e:
            out["models"][w.name] = {"error": f"{type(e).__name__}: {e}"[:300]}
            continue
        r, rc = paired_ratio(wall, "torchlens", "plain_fwd"), paired_ratio(cpu, "torchlens", "plain_fwd")
        out["models"][w.name] = {"median_ms": {n: ms(median(v)) for n, v in wall.items()},
                                 "median_cpu_ms": {n: ms(median(v)) for n, v in cpu.items()},
                                 "ratio": {"torchlens/plain_fwd": None if r is None else round(r, 3)},
                                 "ratio_cpu": {"torchlens/plain_fwd": None if rc is None else round(rc, 3)},
                                 "rounds": rounds}
        del w
        gc.collect()
    return out


def spawn(args: list, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve())] + args
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["exit %d" % proc.returncode])[-1][:300]}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "no JSON from worker: " + proc.stdout[-200:]}


def bench_rss(cfg: dict, device: str) -> dict:
    """Peak RSS, plain vs traced, each in a fresh process (two at a time: memory does not mind)."""
    from concurrent.futures import ThreadPoolExecutor

    out = {}
    pairs = RSS_PAIRS[:cfg.get("rss_pairs", len(RSS_PAIRS))]
    jobs = [(key, what) for key in cfg["rss_models"] for _ in range(cfg["rss_reps"])
            for pair in pairs for what in pair]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda job: spawn(["--worker", "rss", "--model", job[0], "--what", job[1],
                                                "--size", cfg["size"], "--device", device]
                                               + cfg["thread_args"], timeout=600), jobs))
    for key in cfg["rss_models"]:
        res: dict = {}
        for (k, what), r in zip(jobs, done):
            if k == key:
                res.setdefault(what, []).append(r)
        summary: dict = {}
        for what, rs in res.items():
            good = [r for r in rs if "error" not in r]
            if not good:
                summary[what] = {"error": rs[0].get("error")}
                continue
            summary[what] = {"peak_rss_mb": round(median([r["peak_rss"] for r in good]) / 2**20, 1),
                             "base_rss_mb": round(median([r["base_rss"] for r in good]) / 2**20, 1)}
            if "cuda_max_allocated" in good[0]:
                summary[what]["cuda_max_allocated_mb"] = round(
                    median([r["cuda_max_allocated"] for r in good]) / 2**20, 1)
        for plain, traced in pairs:
            a, b = summary.get(plain, {}), summary.get(traced, {})
            if "peak_rss_mb" in a and "peak_rss_mb" in b:
                summary[f"{traced}/{plain}"] = round(b["peak_rss_mb"] / a["peak_rss_mb"], 3)
                work = a["peak_rss_mb"] - a["base_rss_mb"]
                if work > 0:
                    extra = (b["peak_rss_mb"] - b["base_rss_mb"]) - work
                    summary[f"{traced}_extra_vs_{plain}_working_set"] = round(extra / work, 3)
        out[key] = summary
    return out


# ============================================================================ report
def check_targets(result: dict) -> list:
    """(what, value, target, met) for every stated target we measured."""
    rows = []
    models = result["models"]
    for key in HEADLINE:
        m = models.get(key)
        if not m:
            continue
        for suffix, clock in (("", "wall"), ("_cpu", "CPU")):
            r = m[f"ratio{suffix}"].get("trace_loss/plain_fwd_bwd")
            if r is not None:
                rows.append((f"{key}: full trace / plain fwd+bwd ({clock})", r, TARGETS["trace_vs_fwd_bwd"],
                             r <= TARGETS["trace_vs_fwd_bwd"]))
            r = m[f"ratio{suffix}"].get("trace_fwd_only/plain_fwd")
            if r is not None:
                rows.append((f"{key}: forward-only trace / plain fwd ({clock})", r,
                             TARGETS["forward_only_vs_fwd"], r <= TARGETS["forward_only_vs_fwd"]))
    tiny = result.get("tiny", {})
    if tiny.get("fixed_cost_ms") is not None:
        rows.append(("tiny model: trace (ms)", tiny["fixed_cost_ms"], TARGETS["tiny_fixed_ms"],
                     tiny["fixed_cost_ms"] <= TARGETS["tiny_fixed_ms"]))
    for key, s in result.get("rss", {}).items():
        r = s.get("trace_loss/plain_fwd_bwd")
        if r is not None:
            rows.append((f"{key}: peak RSS traced / plain", r, TARGETS["peak_rss_ratio"],
                         r <= TARGETS["peak_rss_ratio"]))
    calls = models.get("calls")
    if calls:
        p = calls["payload_bytes"]
        size = p.get("widget_payload", p["to_json"])
        rows.append((f"payload bytes, {calls['calls']} calls", size, TARGETS["payload_bytes_2000"],
                     size <= TARGETS["payload_bytes_2000"]))
        if calls.get("rules"):
            r = calls["rules"]["median_ms"]
            rows.append((f"rules (ms), {calls['calls']} calls", r, TARGETS["rules_ms_2000"],
                         r < TARGETS["rules_ms_2000"]))
    return [{"what": a, "value": b, "target": c, "met": bool(d)} for a, b, c, d in rows]


def fmt(v, unit=""):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}{unit}" if abs(v) < 100 else f"{v:.0f}{unit}"
    return f"{v}{unit}"


def print_report(result: dict) -> None:
    p = print
    info = result["machine"]
    p(f"\nnbdebug benchmark · {result['mode']} · {info['date']} · {info['cpu']} · "
      f"{info['cores']} cores, {info['torch_threads']} torch threads · torch {info['torch']} · {info['device']}"
      f" · load {info.get('load_before')} -> {info.get('load_after')}")
    cols = ["plain_fwd", "plain_fwd_bwd", "trace_loss", "trace_standin", "trace_no_grad", "trace_fwd_only",
            "torchinfo", "torchlens"]
    rcols = ["trace_loss/plain_fwd_bwd", "trace_standin/plain_fwd_bwd", "trace_no_grad/plain_fwd_bwd",
             "trace_fwd_only/plain_fwd",
             "torchinfo/plain_fwd", "torchlens/plain_fwd"]
    tl_models = result.get("torchlens", {}).get("models", {})
    for clock, suffix in (("wall", ""), ("process CPU", "_cpu")):
        p(f"\nmedian ms per call ({clock} time)")
        p(f"{'model':<12} {'calls':>6} " + " ".join(f"{c:>14}" for c in cols))
        for key, m in result["models"].items():
            row = dict(m[f"median{suffix}_ms"])
            row["torchlens"] = tl_models.get(m["model"], {}).get(f"median{suffix}_ms", {}).get("torchlens")
            p(f"{m['model']:<12} {m['calls']:>6} " + " ".join(f"{fmt(row.get(c)):>14}" for c in cols))
        p(f"\nratios ({clock} time; median of per-round ratios)")
        p(f"{'model':<12} " + " ".join(f"{c:>28}" for c in rcols))
        for key, m in result["models"].items():
            row = dict(m[f"ratio{suffix}"])
            row["torchlens/plain_fwd"] = tl_models.get(m["model"], {}).get(f"ratio{suffix}", {}).get(
                "torchlens/plain_fwd")
            p(f"{m['model']:<12} " + " ".join(f"{fmt(row.get(c), '×'):>28}" for c in rcols))
    if any(m.get("median_minor_faults") for m in result["models"].values()):
        p("\nminor page faults per call (median; the C allocator handing memory back and faulting it in)")
        p(f"{'model':<12} " + " ".join(f"{c:>14}" for c in cols[:-1]))
        for key, m in result["models"].items():
            row = m.get("median_minor_faults", {})
            p(f"{m['model']:<12} " + " ".join(f"{fmt(row.get(c)):>14}" for c in cols[:-1]))
    if "torchlens" in result and "error" in result["torchlens"]:
        p(f"\ntorchlens: {result['torchlens']['error']}")
    for key, m in result["models"].items():
        for n in m.get("notes", []):
            p(f"note: {n}")
    if result.get("rss"):
        p("\npeak RSS in fresh processes (MB)")
        for key, s in result["rss"].items():
            p(f"  {key}: " + ", ".join(f"{k} {v.get('peak_rss_mb', v.get('error'))}" if isinstance(v, dict)
                                        else f"{k} {v}" for k, v in s.items()))
    for key, b in result.get("breakdown", {}).items():
        if "error" in b:
            p(f"\nwhere the time goes ({key}): {b['error']}")
            continue
        p(f"\nwhere the time goes: {b['model']}, ms per trace (wall / CPU); parts nest")
        p(f"  {'plain forward+backward':<44} {fmt(b['plain_fwd_bwd_ms'][0]):>9} {fmt(b['plain_fwd_bwd_ms'][1]):>9}")
        p(f"  {'nbdebug.trace with the loss':<44} {fmt(b['trace_loss_ms'][0]):>9} {fmt(b['trace_loss_ms'][1]):>9}")
        for label, (wv, cv) in b["parts_ms"].items():
            p(f"    {label:<42} {fmt(wv):>9} {fmt(cv):>9}")
    tiny = result.get("tiny")
    if tiny:
        p(f"\ntiny model: trace {fmt(tiny['fixed_cost_ms'])} ms wall, {fmt(tiny['fixed_cost_cpu_ms'])} ms CPU "
          f"(plain fwd+bwd {fmt(tiny['median_ms']['plain_fwd_bwd'])} ms)")
    calls = result["models"].get("calls")
    if calls:
        p(f"payload ({calls['calls']} calls): {calls['payload_bytes']}; rules: {calls.get('rules')}")
    p("\ntargets" + ("" if result["targets"] else ": stated for the full sizes (not this smoke run)"))
    for row in result["targets"]:
        mark = "ok  " if row["met"] else "MISS"
        p(f"  {mark} {row['what']}: {fmt(row['value'])} (target {fmt(row['target'])})")


# ============================================================================ main
def log(text: str, started: float) -> None:
    print(f"[bench {time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="full sizes, fewer rounds")
    mode.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--models", help="comma-separated subset of: " + ",".join(bench_models.BUILDERS))
    ap.add_argument("--rounds", type=int, help="override the rounds per model")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own choice)")
    ap.add_argument("--no-peers", action="store_true", help="skip torchinfo and TorchLens")
    ap.add_argument("--no-rss", action="store_true", help="skip the fresh-process memory runs")
    ap.add_argument("--no-breakdown", action="store_true", help="skip the where-the-time-goes runs")
    # internal: subprocess workers
    ap.add_argument("--worker", choices=["rss", "torchlens", "breakdown"], help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--what", help=argparse.SUPPRESS)
    ap.add_argument("--size", default="full", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if args.threads is None and args.smoke:
        args.threads = MODES["smoke"]["threads"]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker == "rss":
        print(json.dumps(worker_rss(args.model, args.size, args.what, args.device)))
        return 0
    if args.worker == "torchlens":
        print(json.dumps(worker_torchlens(args.model.split(","), args.size, args.rounds or 1, args.device)))
        return 0
    if args.worker == "breakdown":
        print(json.dumps(worker_breakdown(args.model, args.size, args.rounds or 3, args.device)))
        return 0
    name = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = dict(MODES[name])
    if args.models:
        cfg["models"] = [m for m in args.models.split(",") if m in bench_models.BUILDERS and m != "tiny"]
        cfg["rss_models"] = [m for m in cfg["rss_models"] if m in cfg["models"]] or cfg["models"][:1]
    if args.rounds:
        cfg["rounds"] = args.rounds
    cfg["thread_args"] = ["--threads", str(args.threads)] if args.threads else []
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available here; run with --device cpu", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = {"mode": name, "machine": machine_info(device), "peers": peer_versions(), "targets": [],
              "models": {}}
    for key in cfg["models"]:
        log(f"{key} ...", started)
        result["models"][key] = bench_model(key, cfg, device, peers=not args.no_peers)
    log("tiny model ...", started)
    result["tiny"] = tiny_fixed_cost(cfg, device)
    if not args.no_peers:
        log("torchlens (own process) ...", started)
        peer_models = [m for m in cfg.get("peer_models", cfg["models"]) if m in cfg["models"]] or cfg["models"]
        result["torchlens"] = spawn(["--worker", "torchlens", "--model", ",".join(peer_models),
                                     "--size", cfg["size"], "--rounds", str(cfg["peer_rounds"]),
                                     "--device", device] + cfg["thread_args"], timeout=1800)
    if not args.no_breakdown:
        result["breakdown"] = {}
        for key in [m for m in cfg.get("breakdown_models", []) if m in cfg["models"]]:
            log(f"where the time goes: {key} (own process) ...", started)
            result["breakdown"][key] = spawn(["--worker", "breakdown", "--model", key, "--size", cfg["size"],
                                              "--rounds", str(cfg["breakdown_reps"]), "--device", device]
                                             + cfg["thread_args"], timeout=1800)
    if not args.no_rss:
        log("peak RSS (fresh processes) ...", started)
        result["rss"] = bench_rss(cfg, device)
    # the targets are stated for the full sizes; smoke sizes only prove the script runs
    result["targets"] = check_targets(result) if cfg["size"] == "full" else []
    if hasattr(os, "getloadavg"):
        result["machine"]["load_after"] = [round(v, 2) for v in os.getloadavg()]
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
