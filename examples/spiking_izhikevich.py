"""The firing patterns of Izhikevich (2003), Fig. 2: seven cell types, one population, one run.

The seven ``(a, b, c, d)`` of the paper (RS, IB, CH, FS, LTS, TC, RZ) are per-neuron parameters
of a single ``Izhikevich`` population, started at rest. The drive follows the paper's protocols:
a step of I = 10 for the cortical types, a small step (I = 1) and a release from
hyperpolarisation (I = -10 then 0) for TC's tonic and burst modes, and a brief subthreshold pulse
for RZ's damped oscillation. The figure goes to ``examples/output/spiking_izhikevich.png``.

    python examples/spiking_izhikevich.py
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

import brainstate

OUTPUT = Path(__file__).resolve().parent / "output"
TYPES = {"RS": (0.02, 0.2, -65, 8), "IB": (0.02, 0.2, -55, 4), "CH": (0.02, 0.2, -50, 2),
         "FS": (0.1, 0.2, -65, 2), "LTS": (0.02, 0.25, -65, 2), "TC": (0.02, 0.25, -65, 0.05),
         "RZ": (0.1, 0.26, -65, 2)}
DT, DURATION = 0.1, 300.0


def protocols(steps: int) -> tuple[list[str], np.ndarray]:
    """The traces to show and their input currents, ``(steps, n)``."""
    labels, columns = [], []
    for name in TYPES:
        current = np.zeros(steps, np.float32)
        if name == "TC":
            labels += ["TC (I = 1)", "TC (rebound)"]
            tonic = current.copy()
            tonic[200:] = 1.0
            current[200:1200] = -10.0
            columns += [tonic, current]
            continue
        if name == "RZ":
            labels += ["RZ (I = 10)", "RZ (2 ms pulse)"]
            pulse = current.copy()
            pulse[200:220] = 1.0
            current[200:] = 10.0
            columns += [current, pulse]
            continue
        current[200:] = 10.0
        labels.append(name)
        columns.append(current)
    return labels, np.stack(columns, axis=1)


def simulate() -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(labels, V (steps, n), spikes (steps, n))``."""
    steps = int(DURATION / DT)
    labels, current = protocols(steps)
    params = [TYPES[label.split()[0]] for label in labels]
    a, b, c, d = (np.array([p[i] for p in params], np.float32) for i in range(4))
    rest = (-(5 - b) - np.sqrt((5 - b) ** 2 - 4 * 0.04 * 140)) / 0.08   # the resting state, u = b V
    with brainstate.environ.context(dt=DT):
        neurons = brainstate.nn.init_all_states(
            brainstate.nn.Izhikevich(len(labels), a=a, b=b, c=c, d=d, V_initializer=rest))
        run = brainstate.transform.jit(lambda x: brainstate.transform.for_loop(
            lambda xi: (neurons(xi), neurons.V.value), x))
        spikes, v = run(jnp.asarray(current))
    return labels, np.asarray(v), np.asarray(spikes)


def main(out_dir: Path = OUTPUT) -> dict[str, int]:
    """Simulate, plot, and return the spike count of every trace."""
    labels, v, spikes = simulate()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(v.shape[0]) * DT
    fig, axes = plt.subplots(3, 3, figsize=(10, 6.5), sharex=True, sharey=True)
    for ax, k in zip(axes.flat, range(len(labels))):
        ax.plot(t, v[:, k], lw=0.8)
        ax.set_title(f"{labels[k]}: {int(spikes[:, k].sum())} spikes", fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("time (ms)")
    for ax in axes[:, 0]:
        ax.set_ylabel("V (mV)")
    fig.suptitle("Izhikevich (2003) firing patterns")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / "spiking_izhikevich.png", dpi=100)
    plt.close(fig)
    return {label: int(spikes[:, k].sum()) for k, label in enumerate(labels)}


if __name__ == "__main__":
    for label, count in main().items():
        print(f"{label:>16}: {count} spikes")
