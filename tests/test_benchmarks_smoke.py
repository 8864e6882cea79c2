"""Smoke runs of benchmarks/: every scenario script runs with ``--quick`` and writes its results.

The numbers of a ``--quick`` run mean nothing (tiny sizes, one or two repeats); these tests only
check that each script runs end to end against the current packages, reports every target as
PASS or FAIL, and writes well-formed JSON (and the PNG chart, for one script). Whole suite: about
40 s on two busy cores.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
# scenario -> (script, number of targets, extra arguments)
SCRIPTS = {
    "dispatch": ("bench_dispatch.py", 2, []),
    "realistic": ("bench_realistic.py", 2, []),
    "first_call": ("bench_first_call.py", 2, []),
    "spiking": ("bench_spiking.py", 1, []),
    "spiking_vmap": ("bench_spiking_vmap.py", 1, ["--conn", "dense"]),  # the other connectivity form
    "build": ("bench_build.py", 2, []),
    "hlo": ("bench_hlo.py", 2, []),
    "memory": ("bench_memory.py", 3, []),
}


def run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BENCH, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("scenario", sorted(SCRIPTS))
def test_script_quick_run(scenario: str, tmp_path: Path) -> None:
    script, n_targets, extra = SCRIPTS[scenario]
    plot = scenario == "build"
    proc = run([script, "--quick", "--out", str(tmp_path), *extra] + ([] if plot else ["--no-plot"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "QUICK smoke run" in proc.stdout
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == n_targets, proc.stdout

    result = json.loads((tmp_path / f"{scenario}.json").read_text())
    assert result["scenario"] == scenario and result["quick"] is True
    assert result["machine"]["jax"]
    assert len(result["targets"]) == n_targets
    for target in result["targets"]:
        assert isinstance(target["passed"], bool) and target["value"] == target["value"]  # not NaN
    for section in result["sections"]:
        names = [row["name"] for row in section["rows"]]
        assert any(name.startswith("plain") for name in names), names
        assert any(name.startswith("brainstate") for name in names), names
        assert all(row["median_s"] > 0 for row in section["rows"])
    assert (tmp_path / f"{scenario}.png").exists() == plot
    if scenario.startswith("spiking"):  # both implementations produced the same spikes
        assert result["config"]["spikes_identical"] is True


def test_run_all_rejects_unknown_scenario() -> None:
    proc = run(["run_all.py", "--only", "dispatch,nonsense"])
    assert proc.returncode == 2
    assert re.search(r"unknown scenario\(s\) \['nonsense'\]", proc.stderr)


def test_run_all_writes_summary(tmp_path: Path) -> None:
    proc = run(["run_all.py", "--quick", "--no-plot", "--only", "hlo", "--out", str(tmp_path)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["crashed"] == [] and {t["scenario"] for t in summary["targets"]} == {"hlo"}
    assert "| hlo | train step: optimised HLO op count" in (tmp_path / "summary.md").read_text()
