"""The f-I curve of a leaky integrate-and-fire neuron with a refractory period, simulated and analytic.

One ``LIFRef`` population, one neuron per input current, runs 500 ms inside ``for_loop`` under
``jit``; each rate is compared with ``1 / (t_ref + tau ln((V_inf - V_reset) / (V_inf - V_th)))``.
The figure goes to ``examples/output/spiking_fi_curve.png``.

    python examples/spiking_fi_curve.py
"""

from __future__ import annotations

from pathlib import Path

import jax.numpy as jnp
import numpy as np

import brainstate

OUTPUT = Path(__file__).resolve().parent / "output"
TAU, T_REF, V_REST, V_TH = 10.0, 2.0, -65.0, -50.0   # ms, ms, mV, mV


def analytic_rate(current: np.ndarray, r: float = 1.0) -> np.ndarray:
    """Firing rate (Hz) for a constant current (pA, with R in GOhm): 0 below threshold."""
    v_inf = V_REST + r * current
    with np.errstate(divide="ignore", invalid="ignore"):
        period = T_REF + TAU * np.log((v_inf - V_REST) / (v_inf - V_TH))
    return np.where(v_inf > V_TH, 1000.0 / period, 0.0)


def simulate(currents: np.ndarray, duration: float = 500.0, dt: float = 0.01) -> np.ndarray:
    """Simulated rate (Hz) per current: the inverse of the mean inter-spike interval."""
    with brainstate.environ.context(dt=dt):
        lif = brainstate.nn.init_all_states(brainstate.nn.LIFRef(
            len(currents), tau=TAU, tau_ref=T_REF, V_th=V_TH, V_reset=V_REST, V_rest=V_REST,
            V_initializer=V_REST, spk_reset="hard"))
        drive = jnp.asarray(currents, jnp.float32)
        steps = int(round(duration / dt))
        spikes = brainstate.transform.jit(
            lambda: brainstate.transform.for_loop(lambda i: lif(drive), jnp.arange(steps)))()
    rates = []
    for column in np.asarray(spikes).T:
        times = np.nonzero(column)[0] * dt
        rates.append(1000.0 / np.diff(times).mean() if len(times) > 1 else 0.0)
    return np.array(rates)


def main(out_dir: Path = OUTPUT, n_currents: int = 40) -> float:
    """Simulate, plot, and return the largest relative error against the analytic curve (supra-threshold)."""
    currents = np.linspace(0.0, 60.0, n_currents)
    simulated, analytic = simulate(currents), analytic_rate(currents)
    firing = analytic > 0
    error = float(np.max(np.abs(simulated[firing] - analytic[firing]) / analytic[firing]))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fine = np.linspace(0.0, 60.0, 400)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(fine, analytic_rate(fine), color="k", lw=1, label="analytic")
    ax.plot(currents, simulated, "o", ms=4, color="tab:red", label="LIFRef, dt = 0.01 ms")
    ax.set(xlabel="input current (pA, R = 1 GOhm)", ylabel="firing rate (Hz)",
           title=f"LIF f-I curve (max rel. error {100 * error:.2f}%)")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / "spiking_fi_curve.png", dpi=100)
    plt.close(fig)
    return error


if __name__ == "__main__":
    print(f"largest relative error against the analytic f-I curve: {100 * main():.3f}%")
