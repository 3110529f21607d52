"""The benchmark script runs end to end at tiny sizes, so it cannot rot. No time is asserted."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
CASES = {"plain_fwd", "plain_fwd_bwd", "trace_loss", "trace_standin", "trace_fwd_only"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_every_model_has_every_case_and_ratio(smoke):
    result, _ = smoke
    assert set(result["models"]) == {"cnn", "transformer", "mlp", "calls"}
    for key, m in result["models"].items():
        assert CASES <= set(m["median_ms"]), key
        assert all(positive(m["median_ms"][c]) and positive(m["median_cpu_ms"][c]) for c in CASES), key
        for clock in ("ratio", "ratio_cpu"):
            for name in ("trace_loss/plain_fwd_bwd", "trace_standin/plain_fwd_bwd", "trace_fwd_only/plain_fwd"):
                assert positive(m[clock][name]), (key, clock, name)
        assert m["calls"] >= 3 and m["params"] > 0, key
        if sys.platform.startswith("linux"):  # page faults are counted where getrusage has them
            faults = m["median_minor_faults"]
            assert CASES <= set(faults) and all(isinstance(faults[c], int) and faults[c] >= 0 for c in CASES), key
        assert set(m["trace_stages_s"]) >= {"forward+backward", "rules"}, key


def test_many_calls_model_reports_payload_and_rules(smoke):
    result, _ = smoke
    calls = result["models"]["calls"]
    assert calls["calls"] == 200  # the smoke size of the 2,000-call model: exactly as many calls
    p = calls["payload_bytes"]
    assert p["to_json"] > 0
    assert p.get("widget_payload", 0) > 0, p
    assert positive(calls["rules"]["median_ms"]) and calls["rules"]["rules"] >= 1


def test_tiny_model_fixed_cost_is_measured(smoke):
    tiny = smoke[0]["tiny"]
    assert positive(tiny["fixed_cost_ms"]) and positive(tiny["fixed_cost_cpu_ms"])
    assert CASES <= set(tiny["median_ms"])


def test_memory_is_measured_in_fresh_processes(smoke):
    rss = smoke[0]["rss"]
    assert rss, "no model measured"
    for key, s in rss.items():
        for what in ("plain_fwd_bwd", "trace_loss"):
            assert "error" not in s[what], (key, s[what])
            assert s[what]["peak_rss_mb"] >= s[what]["base_rss_mb"] > 0, (key, what)
        assert positive(s["trace_loss/plain_fwd_bwd"]), key


def test_breakdown_names_the_parts_of_a_trace(smoke):
    breakdown = smoke[0]["breakdown"]
    assert breakdown, "no model broken down"
    for key, b in breakdown.items():
        assert "error" not in b, (key, b)
        assert positive(b["trace_loss_ms"][0]) and positive(b["plain_fwd_bwd_ms"][0]), key
        parts = b["parts_ms"]
        assert {"forward, with hooks and activation stats", "backward, with gradient stats",
                "checks after the transfer (mixing origin, NaN origin)", "rules"} <= set(parts), (key, sorted(parts))
        assert all(wall >= 0 and cpu >= 0 for wall, cpu in parts.values()), (key, parts)


def test_peers_are_measured_or_reported_missing(smoke):
    result, _ = smoke
    for name in ("torchinfo", "torchlens"):
        assert name in result["peers"]
    tl = result["torchlens"]
    if result["peers"]["torchlens"].startswith("unavailable"):
        assert "error" in tl  # reported, and the run went on
    else:
        assert tl["models"] and all("error" in m or positive(m["median_ms"]["torchlens"])
                                    for m in tl["models"].values()), tl
    if not result["peers"]["torchinfo"].startswith("unavailable"):
        assert all(positive(m["median_ms"].get("torchinfo")) for m in result["models"].values())


def test_report_is_printed_and_targets_are_left_to_full_sizes(smoke):
    result, stdout = smoke
    assert result["mode"] == "smoke" and result["targets"] == []
    assert "median ms per call" in stdout and "ratios" in stdout
    m = result["machine"]
    assert m["torch"] and m["cores"] and m["date"]


def test_json_is_strict(smoke):
    json.dumps(smoke[0], allow_nan=False)
