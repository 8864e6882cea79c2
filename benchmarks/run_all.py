"""Run every benchmark scenario, each in its own process, and summarise the targets.

    python benchmarks/run_all.py [--quick] [--only dispatch,hlo] [--out DIR] [--strict] [--no-plot]

Each script writes ``<out>/<scenario>.json`` and ``<out>/<scenario>.png``; this one adds
``<out>/summary.json`` and ``<out>/summary.md`` (every target with its value and PASS/FAIL).
A fresh process per scenario keeps one scenario's caches and memory out of the next one's numbers.
Exit status: 1 if a script crashed, or (with ``--strict``) if a target failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
SCENARIOS = {
    "dispatch": "bench_dispatch.py",
    "realistic": "bench_realistic.py",
    "first_call": "bench_first_call.py",
    "spiking": "bench_spiking.py",
    "spiking_vmap": "bench_spiking_vmap.py",
    "lif_network": "bench_lif_network.py",
    "coba_kit": "bench_coba.py",
    "build": "bench_build.py",
    "hlo": "bench_hlo.py",
    "memory": "bench_memory.py",
    "snn_step": "bench_snn_step.py",
    "snn_memory": "bench_snn_memory.py",
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run of every script")
    p.add_argument("--only", default="", help=f"comma-separated subset of {', '.join(SCENARIOS)}")
    p.add_argument("--out", type=Path, default=HERE / "results", help="results directory")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG charts")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")

    common = (["--quick"] if args.quick else []) + (["--no-plot"] if args.no_plot else []) + ["--out", str(args.out)]
    crashed, targets = [], []
    for name in names:
        start = time.perf_counter()
        print(f"\n######## {name}", flush=True)
        proc = subprocess.run([sys.executable, str(HERE / SCENARIOS[name]), *common], cwd=HERE)
        print(f"######## {name} took {time.perf_counter() - start:.1f} s", flush=True)
        result = args.out / f"{name}.json"
        if proc.returncode != 0 or not result.exists():
            crashed.append(name)
            continue
        for t in json.loads(result.read_text())["targets"]:
            targets.append({"scenario": name, **t})

    lines = ["| scenario | target | value | limit | result |", "|---|---|---|---|---|"]
    for t in targets:
        op = "<=" if t["at_most"] else ">="
        lines.append(f"| {t['scenario']} | {t['name']} | {t['value']:.3f} | {op} {t['limit']:g} | "
                     f"{'PASS' if t['passed'] else 'FAIL'} |")
    lines += [f"| {name} | (script crashed) | | | FAIL |" for name in crashed]
    summary = "\n".join(lines)
    print("\n" + summary)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.md").write_text(summary + "\n")
    (args.out / "summary.json").write_text(json.dumps({"targets": targets, "crashed": crashed}, indent=2))
    if crashed:
        return 1
    return 1 if args.strict and not all(t["passed"] for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
