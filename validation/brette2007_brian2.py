"""Brette et al. (2007) COBA and CUBA: the spiking kit against Brian2 on the same networks.

For every seed, ``examples/brette2007.py``'s :func:`draw` makes the synapses, V0 and the input
spikes once; both simulators load them. Brian2 runs with the same time-step conventions as the
kit (``docs/spiking.md``, "Networks"): exponential Euler for every variable, the threshold
``v >= V_th`` checked after the state update, ``refractory = 5 ms`` (49 frozen steps after the
spike step, the kit's ``tau_ref = 5 ms - dt``), the recurrent synapses with ``delay = 0.1 ms``
and the input synapses with ``delay = 0`` (the kit's input projection has delay ``dt``: its source
is read in the same step). Checked over the seeds: the mean rates of E and I agree within 5%, the
mean CVs of ISI within 5%, and both simulators are asynchronous irregular (mean CV of ISI > 0.4,
mean pairwise correlation of the 5 ms spike counts < 0.05). Also printed: the first time at which
the two spike rasters differ (float32 against float64 arithmetic on a chaotic network).

    python validation/brette2007_brian2.py [--seeds 10] [--duration 1000] [--models coba,cuba] [--out DIR]

Prints a table, writes ``<out>/brette2007_brian2.json``; exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("brette2007", ROOT / "examples" / "brette2007.py")
kit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kit)

TOLERANCE = 0.05


def run_brian(model: str, data: dict, duration: float) -> tuple[np.ndarray, float]:
    """The network of ``data`` in Brian2: returns dense spikes ``(steps, n)`` and the wall time (s)."""
    import brian2 as b

    b.start_scope()
    b.defaultclock.dt = kit.DT * b.ms
    m = kit.MODELS[model]
    ns = {"C": kit.C * b.pF, "g_L": kit.G_L * b.nS, "E_L": m["E_L"] * b.mV, "V_th": kit.V_TH * b.mV,
          "V_reset": kit.V_RESET * b.mV, "tau_e": kit.TAU_E * b.ms, "tau_i": kit.TAU_I * b.ms}
    if model == "coba":
        unit, w_unit = "siemens", b.nS
        ns.update(E_e=m["E_e"] * b.mV, E_i=m["E_i"] * b.mV)
        eqs = """dv/dt = (g_L * (E_L - v) + ge * (E_e - v) + gi * (E_i - v)) / C : volt (unless refractory)
                 dge/dt = -ge / tau_e : siemens
                 dgi/dt = -gi / tau_i : siemens"""
    else:
        unit, w_unit = "amp", b.pA
        eqs = """dv/dt = (g_L * (E_L - v) + ge + gi) / C : volt (unless refractory)
                 dge/dt = -ge / tau_e : amp
                 dgi/dt = -gi / tau_i : amp"""
    del unit
    n, n_e = data["n"], data["n_e"]
    P = b.NeuronGroup(n, eqs, threshold="v >= V_th", reset="v = V_reset", refractory=kit.T_REF * b.ms,
                      method="exponential_euler", namespace=ns)
    P.v = data["v0"] * b.mV
    pre, post = data["pre"], data["post"]
    from_e = pre < n_e
    ce = b.Synapses(P[:n_e], P, on_pre="ge_post += w_e", namespace={"w_e": m["w_e"] * w_unit}, delay=kit.DELAY * b.ms)
    ce.connect(i=pre[from_e], j=post[from_e])
    ci = b.Synapses(P[n_e:], P, on_pre="gi_post += w_i", namespace={"w_i": m["w_i"] * w_unit}, delay=kit.DELAY * b.ms)
    ci.connect(i=pre[~from_e] - n_e, j=post[~from_e])
    objects = [P, ce, ci]
    if m["input"]:
        gen = b.SpikeGeneratorGroup(kit.N_INPUT, data["input_source"], data["input_step"] * kit.DT * b.ms)
        cx = b.Synapses(gen, P, on_pre="ge_post += w_e", namespace={"w_e": m["w_e"] * w_unit})
        cx.connect(j="i")
        objects += [gen, cx]
    mon = b.SpikeMonitor(P)
    net = b.Network(*objects, mon)
    start = time.perf_counter()
    net.run(duration * b.ms)
    wall = time.perf_counter() - start
    steps = np.round(np.asarray(mon.t / b.ms) / kit.DT).astype(int)
    dense = np.zeros((int(round(duration / kit.DT)), n), bool)
    dense[steps, np.asarray(mon.i)] = True
    return dense, wall


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--duration", type=float, default=1000.0)
    p.add_argument("--models", default="coba,cuba")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    nn = kit.nn
    rows, failed = {}, []
    for model in args.models.split(","):
        kit_stats, brian_stats, walls = [], [], []
        for seed in range(1, args.seeds + 1):
            data = kit.draw(seed, duration=args.duration)
            spikes, wall_kit = kit.simulate(model, data, args.duration)
            dense, wall_brian = run_brian(model, data, args.duration)
            kit_stats.append(kit.summarize(spikes, data["n_e"]))
            brian_stats.append(kit.summarize(nn.SpikeRecord.from_dense(dense, dt=kit.DT), data["n_e"]))
            walls.append((wall_kit, wall_brian))
            differ = np.flatnonzero((spikes.to_dense() != dense).any(axis=1))
            same_ms = float(differ[0] * kit.DT) if differ.size else args.duration
            print(json.dumps({"model": model, "seed": seed, "kit": kit_stats[-1], "brian2": brian_stats[-1],
                              "identical_until_ms": same_ms, "wall_kit_s": round(wall_kit, 2),
                              "wall_brian2_s": round(wall_brian, 2)}), flush=True)
        mean_kit = {k: float(np.mean([s[k] for s in kit_stats])) for k in kit_stats[0]}
        mean_brian = {k: float(np.mean([s[k] for s in brian_stats])) for k in brian_stats[0]}
        checks = {}
        for key in ("rate_E", "rate_I", "cv_E", "cv_I"):
            rel = abs(mean_kit[key] - mean_brian[key]) / abs(mean_brian[key])
            checks[key] = {"kit": mean_kit[key], "brian2": mean_brian[key], "rel_diff": rel, "ok": rel <= TOLERANCE}
        for name, stats in (("kit", mean_kit), ("brian2", mean_brian)):
            ai = min(stats["cv_E"], stats["cv_I"]) > 0.4 and max(stats["corr_E"], stats["corr_I"]) < 0.05
            checks[f"asynchronous_irregular_{name}"] = {"cv": [stats["cv_E"], stats["cv_I"]],
                                                        "corr": [stats["corr_E"], stats["corr_I"]], "ok": ai}
        wall = np.mean(walls, axis=0)
        rows[model] = {"seeds": args.seeds, "checks": checks, "wall_kit_s": float(wall[0]),
                       "wall_brian2_s": float(wall[1]), "wall_ratio_brian2_over_kit": float(wall[1] / wall[0])}
        print(f"\n{model.upper()} over {args.seeds} seeds ({args.duration:g} ms):")
        print("| quantity | kit | Brian2 | rel. diff | ok |\n|---|---|---|---|---|")
        for key, c in checks.items():
            if "rel_diff" in c:
                print(f"| {key} | {c['kit']:.3f} | {c['brian2']:.3f} | {100 * c['rel_diff']:.1f}% | {c['ok']} |")
            else:
                print(f"| {key} | CV {np.round(c['cv'], 3).tolist()} | corr {np.round(c['corr'], 4).tolist()} | | {c['ok']} |")
            if not c["ok"]:
                failed.append(f"{model}:{key}")
        print(f"wall time per run (compilation included): kit {wall[0]:.2f} s, Brian2 {wall[1]:.2f} s "
              f"(Brian2 / kit = {wall[1] / wall[0]:.2f})", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "brette2007_brian2.json").write_text(json.dumps({"models": rows, "failed": failed}, indent=2))
    print("FAILED: " + ", ".join(failed) if failed else "all checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
