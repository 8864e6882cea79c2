"""Smoke runs of benchmarks/: every scenario script runs with ``--quick`` and writes its results.

The numbers of a ``--quick`` run mean nothing (tiny sizes, one or two repeats); these tests only
check that each script runs end to end against the current packages, reports every target as
PASS or FAIL, and writes well-formed JSON (and the PNG chart, for one script). Where Flax and Equinox
are installed (the ``bench`` session installs them, the test sessions do not), the scenarios that
compare against them must show their rows; where they are not, a note instead. Whole suite: about
50 s on two busy cores.
"""

from __future__ import annotations

import importlib.util
import json
import os
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
    "lif_network": ("bench_lif_network.py", 1, []),
    "build": ("bench_build.py", 2, []),
    "hlo": ("bench_hlo.py", 2, []),
    "memory": ("bench_memory.py", 3, []),
    "coba_kit": ("bench_coba.py", 2, []),
    "snn_step": ("bench_snn_step.py", 2, []),
}
# the scenarios with Flax NNX and Equinox rows in every table, when those are importable
ANCHORED = {"dispatch", "realistic", "first_call", "build"}
ANCHORS = ("flax", "equinox")


def run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BENCH, capture_output=True, text=True, timeout=120, env=env)


def check_anchor_rows(result: dict, stdout: str, installed: dict[str, bool]) -> None:
    """Each installed library has a row in every table; each missing one a note instead."""
    for lib, present in installed.items():
        for section in result["sections"]:
            names = [row["name"] for row in section["rows"]]
            assert any(name.startswith(lib) for name in names) == present, (lib, section["title"], names)
        assert (f"{lib} not importable" in stdout) != present, stdout


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
        if not section["title"].startswith("event-driven vs dense"):  # that one compares two of ours
            assert any(name.startswith("plain") for name in names), names
        assert any(name.startswith("brainstate") for name in names), names
        assert all(row["median_s"] > 0 for row in section["rows"])
    assert (tmp_path / f"{scenario}.png").exists() == plot
    if scenario.startswith("spiking"):  # both implementations produced the same spikes
        assert result["config"]["spikes_identical"] is True
    if scenario in ANCHORED:
        check_anchor_rows(result, proc.stdout, {lib: importlib.util.find_spec(lib) is not None for lib in ANCHORS})


def test_anchor_rows_skipped_when_not_importable(tmp_path: Path) -> None:
    """With ``flax`` and ``equinox`` shadowed by packages that fail to import, the rows go and notes say why."""
    for lib in ANCHORS:
        (tmp_path / "shadow" / lib).mkdir(parents=True)
        (tmp_path / "shadow" / lib / "__init__.py").write_text(f"raise ImportError('{lib} hidden by the test')\n")
    paths = [str(tmp_path / "shadow"), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = run(["bench_build.py", "--quick", "--no-plot", "--out", str(tmp_path)], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "build.json").read_text())
    check_anchor_rows(result, proc.stdout, dict.fromkeys(ANCHORS, False))
    assert "flax hidden by the test" in proc.stdout


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
