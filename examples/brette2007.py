"""The COBA and CUBA benchmark networks of Brette et al. (2007), built from the spiking kit.

4,000 leaky integrate-and-fire cells (3,200 excitatory, 800 inhibitory); every ordered pair of
distinct cells is connected with probability 0.02; C = 200 pF, g_L = 10 nS, V_th = -50 mV,
V_reset = -60 mV, a refractory period of 5 ms, a synaptic delay of 0.1 ms, dt = 0.1 ms.

* ``coba`` (benchmark 1): E_L = -60 mV; exponential conductances (tau_e = 5 ms, tau_i = 10 ms,
  E_e = 0 mV, E_i = -80 mV) that jump by 6 nS (E) and 67 nS (I); V0 uniform in [-60, -50) mV; the
  first 50 E cells receive 300 Hz Poisson spikes through their E synapse during (1, 51] ms.
* ``cuba`` (benchmark 2): E_L = -49 mV; exponential currents (5 ms, 10 ms) that jump by +16.2 pA
  (E) and -90 pA (I); the same V0; no input.

The network is one ``LIFRef`` population, two ``AlignPostProj`` (from the E and from the I cells,
``EventFixedProb``-drawn synapses) and, for COBA, the input through a third projection that shares
the E synapse. :func:`draw` makes everything random for a seed (synapses, V0, input spikes) once, so
that the same network can be loaded into Brian2 (``benchmarks/brette2007_brian2.py``).

    python examples/brette2007.py --model coba --seed 1 [--duration 1000] [--n 4000] [--conn event|dense]

prints one JSON line (the rates of E and I from the spikes in 100-1000 ms, the mean CV of ISI of
the cells with >= 5 spikes there, the wall time) and saves ``examples/output/brette2007_<model>.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import brainstate

nn = brainstate.nn
OUTPUT = Path(__file__).resolve().parent / "output"

DT = 0.1  # ms
C, G_L, V_TH, V_RESET, T_REF, DELAY = 200.0, 10.0, -50.0, -60.0, 5.0, 0.1  # pF, nS, mV, mV, ms, ms
TAU_E, TAU_I = 5.0, 10.0
MODELS = {
    "coba": {"E_L": -60.0, "w_e": 6.0, "w_i": 67.0, "E_e": 0.0, "E_i": -80.0, "input": True},  # nS
    "cuba": {"E_L": -49.0, "w_e": 16.2, "w_i": -90.0, "input": False},  # pA
}
N_INPUT, INPUT_RATE, INPUT_WINDOW = 50, 300.0, (1.0, 51.0)  # cells, Hz, ms: (start, stop]
WINDOW = (100.0, 1000.0)


def draw(seed: int, n: int = 4000, p: float = 0.02, duration: float = 1000.0) -> dict:
    """Everything random about one network: synapses, V0 and the input spike trains (NumPy, from ``seed``)."""
    conn = nn.EventFixedProb(n, n, p, include_self=False, seed=seed)
    rng = np.random.default_rng([seed, 1])
    v0 = rng.uniform(V_RESET, V_TH, n)
    steps = np.arange(int(round(INPUT_WINDOW[0] / DT)) + 1, int(round(min(INPUT_WINDOW[1], duration) / DT)) + 1)
    fired = rng.random((steps.size, N_INPUT)) < INPUT_RATE * DT / 1000.0
    step, source = np.nonzero(fired)
    return {"n": n, "n_e": int(0.8 * n), "pre": conn.pre, "post": conn.post, "v0": v0,
            "input_step": steps[step], "input_source": source}


def _comm(n_pre: int, n: int, pre: np.ndarray, post: np.ndarray, w: float, conn: str):
    if conn == "event":
        return nn.SparseConn(n_pre, n, pre, post, conn_weight=w)
    dense = np.zeros((n_pre, n), np.float32)
    np.add.at(dense, (pre, post), w)
    return nn.Linear(n_pre, n, w_init=dense, b_init=None)


class Brette2007(nn.Module):
    """The network of one model (``'coba'`` or ``'cuba'``) on the synapses of ``data`` (see :func:`draw`)."""

    def __init__(self, model: str, data: dict, conn: str = "event") -> None:
        super().__init__()
        m = MODELS[model]
        n, n_e = data["n"], data["n_e"]
        self.n_e = n_e
        self.N = nn.LIFRef(n, R=1.0 / G_L, tau=C / G_L, tau_ref=T_REF - DT, V_th=V_TH, V_reset=V_RESET,
                           V_rest=m["E_L"], V_initializer=np.asarray(data["v0"], np.float32), spk_reset="hard")
        pre, post = data["pre"], data["post"]
        from_e = pre < n_e
        syn_e, syn_i = nn.Expon.desc(n, tau=TAU_E), nn.Expon.desc(n, tau=TAU_I)
        if model == "coba":
            out_e, out_i = nn.COBA.desc(E=m["E_e"]), nn.COBA.desc(E=m["E_i"])
        else:
            out_e = out_i = nn.CUBA.desc()
        self.E = nn.AlignPostProj(comm=_comm(n_e, n, pre[from_e], post[from_e], m["w_e"], conn),
                                  syn=syn_e, out=out_e, post=self.N, delay=DELAY)
        self.I = nn.AlignPostProj(comm=_comm(n - n_e, n, pre[~from_e] - n_e, post[~from_e], m["w_i"], conn),
                                  syn=syn_i, out=out_i, post=self.N, delay=DELAY)
        self.source = None
        if m["input"]:
            self.source = nn.SpikeTime(N_INPUT, data["input_source"], data["input_step"] * DT)
            # A source called in this step is one step "earlier" than a neuron's spike (read in the
            # next step), so its delay of one dt is Brian2's delay 0: the spike of time t enters g at t.
            self.X = nn.AlignPostProj(comm=nn.SparseConn(N_INPUT, n, np.arange(N_INPUT), np.arange(N_INPUT),
                                                         conn_weight=m["w_e"]),
                                      syn=syn_e, out=out_e, post=self.N, delay=DT)

    def update(self):
        spike = self.N.spike  # the spikes of the previous step
        self.E(spike[: self.n_e])
        self.I(spike[self.n_e:])
        if self.source is not None:
            self.X(self.source())
        return self.N()


def simulate(model: str, data: dict, duration: float, conn: str = "event") -> tuple[nn.SpikeRecord, float]:
    """Run the network for ``duration`` ms; returns the spikes of every step and the wall time (s, with compilation)."""
    with brainstate.environ.context(dt=DT):
        net = nn.init_all_states(Brette2007(model, data, conn))
        start = time.perf_counter()
        rec = nn.run(lambda i: {"spike": net.update()}, int(round(duration / DT)), spikes=["spike"])
        spikes = rec["spike"]
        np.asarray(spikes.packed)
    return spikes, time.perf_counter() - start


def summarize(spikes, n_e: int, window: tuple[float, float] = WINDOW) -> dict:
    """Rates (Hz) and mean CV of ISI of E and I in ``window``, and their pairwise correlations."""
    n = int(np.prod(spikes.shape))
    stats = nn.population_stats(spikes, {"E": slice(0, n_e), "I": slice(n_e, n)}, window=window, n_pairs=500)
    return {f"{k}_{pop}": round(v[k], 4) if np.isfinite(v[k]) else None for pop, v in stats.items()
            for k in ("rate", "cv", "corr")}


def plot(spikes, n_e: int, path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = int(np.prod(spikes.shape))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, height_ratios=(3, 1))
    shown = np.r_[0:min(400, n_e), n_e:min(n, n_e + 100)]
    part = nn.select_spikes(spikes, shown)
    nn.raster_plot(part, ax=top, markersize=1.0, title=title)
    top.axhline(min(400, n_e) - 0.5, color="r", lw=0.5)
    nn.rate_plot(nn.select_spikes(spikes, slice(0, n_e)), width=5.0, ax=bottom, label="E")
    nn.rate_plot(nn.select_spikes(spikes, slice(n_e, n)), width=5.0, ax=bottom, label="I")
    bottom.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), default="coba")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=1000.0, help="ms")
    p.add_argument("--n", type=int, default=4000, help="number of cells (p = 0.02 * 4000 / n keeps the in-degree)")
    p.add_argument("--conn", choices=["event", "dense"], default="event")
    p.add_argument("--out", type=Path, default=OUTPUT)
    args = p.parse_args(argv)
    data = draw(args.seed, args.n, min(1.0, 0.02 * 4000 / args.n), args.duration)
    spikes, wall = simulate(args.model, data, args.duration, args.conn)
    window = (min(WINDOW[0], args.duration / 2), min(WINDOW[1], args.duration))
    result = {"model": args.model, "seed": args.seed, **summarize(spikes, data["n_e"], window), "wall_s": round(wall, 3)}
    plot(spikes, data["n_e"], args.out / f"brette2007_{args.model}.png",
         f"Brette et al. 2007, {args.model.upper()}, seed {args.seed}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
