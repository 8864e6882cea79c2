"""Synapses, short-term and spike-timing plasticity, and a small recorded network, against their formulas.

Four panels, saved to ``examples/output/spiking_synapses.png``:

1. the response of ``Expon``, ``DualExpon`` and ``Alpha`` to one input spike, with the analytic
   kernels drawn on top, and the NMDA gating with its Mg2+-blocked current at -40 mV;
2. the efficacy of each spike of a regular 20 Hz train through ``STP`` (facilitating) and ``STD``
   (depressing), with the analytic fixed points as dashed lines;
3. the STDP window: the weight change of one pre/post pair against their time difference, with
   ``A_plus exp(-dt / tau_plus)`` and ``-A_minus exp(dt / tau_minus)``;
4. a raster of 400 LIF neurons driven by Poisson input through conductance-based synapses,
   recorded with ``brainstate.nn.run`` (spikes bit-packed, ``V`` every 10th step).

    python examples/spiking_synapses.py
"""

from __future__ import annotations

import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np

import brainstate

nn = brainstate.nn
OUTPUT = Path(__file__).resolve().parent / "output"
DT = 0.1


def unit_responses(n_steps: int = 600) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (simulated, analytic)}`` responses to one unit input at t = 0."""
    t = np.arange(n_steps) * DT
    dual = np.exp(-t / 10.0) - np.exp(-t / 1.0)
    models = {
        "Expon(tau=5)": (nn.Expon(1, tau=5.0), np.exp(-t / 5.0)),
        "DualExpon(10, 1)": (nn.DualExpon(1, tau_decay=10.0, tau_rise=1.0), dual / dual.max()),
        "Alpha(tau=4)": (nn.Alpha(1, tau=4.0), t / 4.0 * np.exp(-t / 4.0)),
    }
    x = jnp.zeros((n_steps, 1)).at[0].set(1.0)
    out = {}
    with brainstate.environ.context(dt=DT):
        for name, (syn, analytic) in models.items():
            nn.init_all_states(syn)
            g = brainstate.transform.jit(lambda s=syn: brainstate.transform.for_loop(s, x))()
            out[name] = (np.asarray(g)[:, 0], analytic)
    return out


def nmda_current(n_steps: int = 3000, v: float = -40.0) -> tuple[np.ndarray, np.ndarray]:
    """The NMDA gating after one spike, and its current through ``MgBlock`` at the potential ``v``."""
    syn, out = nn.NMDA(1), nn.MgBlock(E=0.0, cc_Mg=1.2)
    x = jnp.zeros((n_steps, 1)).at[0].set(1.0)
    with brainstate.environ.context(dt=DT):
        nn.init_all_states(syn)
        g = np.asarray(brainstate.transform.jit(lambda: brainstate.transform.for_loop(syn, x))())[:, 0]
    return g, np.asarray(out.update(g, v))


def train_efficacies(model, period_ms: float = 50.0, n_spikes: int = 40) -> np.ndarray:
    period = int(round(period_ms / DT))
    spikes = jnp.zeros(period * n_spikes).at[::period].set(1.0)
    with brainstate.environ.context(dt=DT):
        nn.init_all_states(model)
        eff = brainstate.transform.jit(
            lambda: brainstate.transform.for_loop(lambda s: model(s[None])[0], spikes))()
    return np.asarray(eff)[::period]


def stp_fixed_points(period_ms: float = 50.0) -> dict[str, float]:
    U, tau_f, tau_d = 0.1, 1000.0, 100.0
    ef, ed = math.exp(-period_ms / tau_f), math.exp(-period_ms / tau_d)
    u_minus = U * ef / (1 - (1 - U) * ef)
    u_plus = u_minus + U * (1 - u_minus)
    stp = u_plus * (1 - ed) / (1 - (1 - u_plus) * ed)
    U_d, tau = 0.4, 300.0
    e = math.exp(-period_ms / tau)
    return {"STP": stp, "STD": (1 - e) / (1 - (1 - U_d) * e)}


def stdp_window(deltas_ms: np.ndarray, A_plus: float = 0.01, A_minus: float = 0.012) -> np.ndarray:
    """The weight change of one pair, t_post - t_pre = delta, for each delta."""
    changes = []
    for delta in deltas_ms:
        steps = int(round(abs(delta) / DT))
        pre, post = np.zeros((steps + 3, 1)), np.zeros((steps + 3, 1))
        pre[1 if delta >= 0 else 1 + steps] = 1.0
        post[1 + steps if delta >= 0 else 1] = 1.0
        stdp = nn.STDP(1, 1, weight=0.5, A_plus=A_plus, A_minus=A_minus, tau_plus=20.0, tau_minus=20.0)
        with brainstate.environ.context(dt=DT):
            nn.init_all_states(stdp)
            w = brainstate.transform.for_loop(stdp, jnp.asarray(pre), jnp.asarray(post))
        changes.append(float(np.asarray(w)[-1, 0, 0]) - 0.5)
    return np.array(changes)


class PoissonDriven(nn.Module):
    """LIF neurons, each driven by its own Poisson source through an Expon synapse and a COBA output."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.source = nn.PoissonSpike(n, freqs=np.linspace(400.0, 1200.0, n))
        self.syn = nn.Expon(n, tau=5.0)
        self.out = nn.COBA(E=0.0)
        self.neuron = nn.LIF(n, tau=20.0, V_th=-50.0, V_reset=-60.0, V_rest=-60.0, V_initializer=-60.0,
                             spk_reset="hard")
        self.neuron.add_current_input("exc", lambda V: self.out.update(self.syn.g.value, V))

    def update(self) -> dict:
        self.syn(0.05 * self.source())                        # nS per input spike
        return {"spike": self.neuron(0.0)}


def network(n: int = 400, steps: int = 5000):
    brainstate.random.seed(0)
    with brainstate.environ.context(dt=DT):
        net = nn.init_all_states(PoissonDriven(n))
        return nn.run(lambda i: net.update(), steps, record={"V": net.neuron.V}, spikes=["spike"], every=10)


def main(out_dir: Path = OUTPUT, steps: int = 5000) -> dict[str, float]:
    """Draw the four panels; return the largest errors against the formulas and the network's statistics."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.arange(600) * DT
    responses = unit_responses()
    g_nmda, i_nmda = nmda_current()
    fixed = stp_fixed_points()
    eff = {"STP": train_efficacies(nn.STP(1, U=0.1, tau_f=1000.0, tau_d=100.0)),
           "STD": train_efficacies(nn.STD(1, tau=300.0, U=0.4))}
    deltas = np.linspace(-60.0, 60.0, 25)
    window = stdp_window(deltas)
    analytic_window = np.where(deltas > 0, 0.01 * np.exp(-deltas / 20.0),
                               np.where(deltas < 0, -0.012 * np.exp(deltas / 20.0), 0.0))
    rec = network(steps=steps)

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0, 0]
    for name, (sim, analytic) in responses.items():
        ax.plot(t, sim, label=name)
        ax.plot(t, analytic, "k:", linewidth=1)
    ax.plot(np.arange(600) * DT, g_nmda[:600] / g_nmda.max(), label="NMDA g (normalised)")
    ax.set(xlabel="Time after the spike (ms)", ylabel="g", title="Unit responses (dotted: analytic)")
    ax.legend(fontsize="small")
    ax = axes[0, 1]
    for (name, values), color in zip(eff.items(), ("tab:blue", "tab:red")):
        ax.plot(values, "o-", color=color, markersize=3, label=f"{name} (20 Hz train)")
        ax.axhline(fixed[name], color=color, linestyle="--", linewidth=1)
    ax.set(xlabel="Spike number", ylabel="Efficacy", title="Short-term plasticity (dashed: fixed point)")
    ax.legend(fontsize="small")
    ax = axes[1, 0]
    ax.plot(deltas, analytic_window, "k-", linewidth=1, label="exponential window")
    ax.plot(deltas, window, "o", color="tab:green", markersize=4, label="STDP, one pair")
    ax.set(xlabel="t_post - t_pre (ms)", ylabel="Weight change", title="STDP window")
    ax.legend(fontsize="small")
    nn.raster_plot(rec["spike"], ax=axes[1, 1], title="400 LIF neurons, Poisson-driven COBA synapses")
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / "spiking_synapses.png", dpi=90)
    plt.close(fig)

    rates = nn.mean_firing_rate(rec["spike"])
    return {
        "kernel_error": max(float(np.abs(sim - analytic).max()) for sim, analytic in responses.values()),
        "stp_error": max(abs(float(eff[k][-1]) - fixed[k]) / fixed[k] for k in fixed),
        "stdp_error": float(np.abs(window - analytic_window).max()),
        "nmda_current_peak_pA": float(i_nmda.max()),
        "rate_low_hz": float(rates[:40].mean()),
        "rate_high_hz": float(rates[-40:].mean()),
        "cv_isi": float(np.nanmean(nn.cv_isi(rec["spike"]))),
    }


if __name__ == "__main__":
    for key, value in main().items():
        print(f"{key}: {value:.4g}")
