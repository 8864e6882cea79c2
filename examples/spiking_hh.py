"""A Hodgkin-Huxley spike train and the model's f-I curve (classic squid-axon parameters).

Left: the membrane potential and the gates m, h, n under a 10 uA/cm^2 step. Right: the number
of spikes in 200 ms for step currents 0-15 uA/cm^2, showing the single spike just above the
rheobase and the jump to repetitive firing near 6.3 uA/cm^2. The figure goes to
``examples/output/spiking_hh.png``.

    python examples/spiking_hh.py
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

import brainstate

OUTPUT = Path(__file__).resolve().parent / "output"
DT = 0.02


def spike_train(current: float = 10.0, duration: float = 100.0) -> dict[str, np.ndarray]:
    """V, m, h, n and the spikes of one neuron under a step starting at 10 ms."""
    steps = int(duration / DT)
    drive = jnp.where(jnp.arange(steps) * DT >= 10.0, current, 0.0)
    with brainstate.environ.context(dt=DT):
        hh = brainstate.nn.init_all_states(brainstate.nn.HH(1))

        def step(x):
            spike = hh(x)
            return {"V": hh.V.value, "m": hh.m.value, "h": hh.h.value, "n": hh.n.value, "spike": spike}

        out = brainstate.transform.jit(lambda: brainstate.transform.for_loop(step, drive))()
    return {k: np.asarray(v)[:, 0] for k, v in out.items()}


def f_i_curve(currents: np.ndarray, duration: float = 200.0) -> np.ndarray:
    """Spike counts in ``duration`` ms, one neuron per current."""
    with brainstate.environ.context(dt=DT):
        hh = brainstate.nn.init_all_states(brainstate.nn.HH(len(currents)))
        drive = jnp.asarray(currents, jnp.float32)
        spikes = brainstate.transform.jit(lambda: brainstate.transform.for_loop(
            lambda i: hh(drive), jnp.arange(int(duration / DT))))()
    return np.asarray(spikes).sum(axis=0)


def main(out_dir: Path = OUTPUT) -> dict[str, float]:
    """Simulate, plot, and return the spike peak, the rheobase and the onset of repetitive firing."""
    train = spike_train()
    currents = np.round(np.arange(0.0, 15.01, 0.25), 2)
    counts = f_i_curve(currents)
    result = {"peak_mV": float(train["V"].max()), "rheobase": float(currents[np.argmax(counts > 0)]),
              "repetitive": float(currents[np.argmax(counts >= 3)]), "spikes": int(train["spike"].sum())}

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(len(train["V"])) * DT
    fig, (ax_v, ax_g, ax_f) = plt.subplots(1, 3, figsize=(12, 3.5))
    ax_v.plot(t, train["V"], lw=0.8)
    ax_v.set(xlabel="time (ms)", ylabel="V (mV)", title=f"HH, 10 uA/cm^2: {result['spikes']} spikes")
    for gate in "mhn":
        ax_g.plot(t, train[gate], lw=0.8, label=gate)
    ax_g.set(xlabel="time (ms)", ylabel="gate", title="gating variables")
    ax_g.legend(frameon=False)
    ax_f.plot(currents, counts / 0.2, "o-", ms=3)
    ax_f.set(xlabel="I (uA/cm^2)", ylabel="rate (Hz)",
             title=f"rheobase {result['rheobase']}, repetitive from {result['repetitive']}")
    for ax in (ax_v, ax_g, ax_f):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / "spiking_hh.png", dpi=100)
    plt.close(fig)
    return result


if __name__ == "__main__":
    print(main())
