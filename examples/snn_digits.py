"""Classify scikit-learn's 8x8 digits with a spiking network trained by surrogate gradients.

Each image is encoded as spike trains over ``--steps`` steps of 1 ms: rate coding (every pixel
fires in each step with the probability of its intensity, :class:`brainstate.nn.BernoulliEncoder`)
or latency coding (one spike per pixel, earlier for a brighter one,
:class:`brainstate.nn.LatencyEncoder`). The network is feed-forward: 64 inputs -> ``Linear`` ->
a layer of ``LIF`` neurons whose spike function has a sigmoid surrogate gradient -> a
``LeakyRateReadout`` of 10 leaky integrators. ``brainstate.transform.for_loop`` runs the steps,
``brainstate.transform.grad`` differentiates through them (back-propagation through time) and
``brainstate.transform.jit`` compiles the whole training step. The loss is the cross-entropy of
the read-out averaged over time (``brainstate.nn.ce_mean_membrane_loss``) plus a small
``firing_rate_penalty`` that keeps the hidden layer between silence and saturation.

With the defaults (rate coding, 25 steps, 256 LIF neurons, 40 epochs; under a minute on a CPU)
it reaches about 98% test accuracy (98.1% for seeds 0, 1 and 2); latency coding, about 95%. Prints one
JSON line and, where matplotlib is installed, saves ``examples/output/snn_digits_raster.png``
(the spikes of one test digit) and ``examples/output/snn_digits_curve.png``.

    python examples/snn_digits.py [--epochs 40] [--seed 0] [--coding rate|latency] [--fast]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import optax
from _digits import load_digits_split, plot_curve

import brainstate

nn = brainstate.nn
OUTPUT = Path(__file__).resolve().parent / "output"
DT = 1.0  # ms
DEFAULTS = dict(epochs=40, n_steps=25, hidden=256, batch_size=64, coding="rate")
FAST = dict(epochs=3, n_steps=15, hidden=64, lr=1e-2, batch_size=64, coding="rate")  # the test's configuration
# Per coding: the default learning rate, the fraction of input spikes kept by the dropout while
# training, and the weight of an input spike (a latency code has one spike per pixel, not ~T x).
CODINGS = {"rate": dict(lr=2e-3, keep_prob=0.8, input_gain=1.0),
           "latency": dict(lr=5e-3, keep_prob=1.0, input_gain=3.0)}


class SNN(nn.Module):
    """64 input spike trains -> dropout -> Linear -> LIF (surrogate gradient) -> leaky read-out of 10 classes."""

    def __init__(self, hidden: int = 256, tau: float = 5.0, tau_out: float = 20.0, keep_prob: float = 0.8,
                 input_gain: float = 1.0):
        super().__init__()
        self.input_gain = input_gain
        self.dropout = nn.Dropout(keep_prob)  # drops input spikes while training (environ fit=True)
        self.fc = nn.Linear(64, hidden)
        self.lif = nn.LIF(hidden, tau=tau, V_th=1.0, spk_fun=brainstate.surrogate.Sigmoid(alpha=4.0))
        self.readout = nn.LeakyRateReadout(hidden, 10, tau=tau_out)

    def update(self, x_t):
        """One step: input spikes (batch, 64) -> (read-out (batch, 10), hidden spikes (batch, hidden))."""
        spikes = self.lif(self.fc(self.dropout(self.input_gain * x_t)))
        return self.readout(spikes), spikes


def make_encoder(coding: str):
    """Intensities in [0, 1] -> spike trains (steps, ...)."""
    if coding == "rate":
        return nn.BernoulliEncoder()
    if coding == "latency":
        return nn.LatencyEncoder(method="linear", normalize=True, clip=True, threshold=0.05)
    raise ValueError(f"unknown coding {coding!r}: use 'rate' or 'latency'")


def simulate(model: SNN, spikes):
    """Run the network from rest over spike trains (steps, batch, 64): read-outs and hidden spikes, time first."""
    nn.reset_all_states(model, batch_size=spikes.shape[1])
    return brainstate.transform.for_loop(model, spikes)


def main(epochs: int = 40, n_steps: int = 25, hidden: int = 256, lr: float | None = None, batch_size: int = 64,
         coding: str = "rate", seed: int = 0, rate_weight: float = 1.0, out_dir: Path = OUTPUT,
         progress: bool = True) -> dict:
    """Train; return the final numbers (test accuracy, losses, firing rate, wall time)."""
    start = time.perf_counter()
    brainstate.random.seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split(seed=seed)
    encoder = make_encoder(coding)
    settings = CODINGS[coding]
    lr = settings["lr"] if lr is None else lr
    model = SNN(hidden, keep_prob=settings["keep_prob"], input_gain=settings["input_gain"])
    n_batches = len(x_train) // batch_size
    schedule = optax.cosine_decay_schedule(lr, max(epochs * n_batches, 1), alpha=0.05)
    optimizer = nn.optim.Adam(schedule, params=model.states(brainstate.ParamState))
    params = optimizer.param_states

    def loss_fn(x, y):
        out, spikes = simulate(model, encoder(x, n_steps))
        task = nn.ce_mean_membrane_loss(out, y)
        return task + rate_weight * nn.firing_rate_penalty(spikes, low=0.01, high=0.3), task

    @brainstate.transform.jit
    def train_step(x, y):
        grads, task = brainstate.transform.grad(loss_fn, grad_states=params, has_aux=True)(x, y)
        optimizer.update(grads)
        return task

    @brainstate.transform.jit
    def evaluate(x, y):
        out, spikes = simulate(model, encoder(x, n_steps))
        return nn.accuracy_rate(out, y), spikes.mean()

    history: dict[str, list] = {"loss": [], "test_acc": []}
    order_rng = np.random.default_rng(seed)
    with brainstate.environ.context(dt=DT):
        nn.init_all_states(model, batch_size=batch_size)
        for epoch in range(epochs):
            order = order_rng.permutation(len(x_train))[: n_batches * batch_size].reshape(n_batches, batch_size)
            with brainstate.environ.context(fit=True):
                losses = [train_step(x_train[idx], y_train[idx]) for idx in order]
            with brainstate.environ.context(fit=False):
                acc, rate = (float(v) for v in evaluate(x_test, y_test))
            history["loss"].append(float(jnp.mean(jnp.stack(losses))))
            history["test_acc"].append(acc)
            if progress:
                print(f"epoch {epoch + 1:3d}  loss {history['loss'][-1]:.4f}  test accuracy {acc:.4f}", flush=True)
        with brainstate.environ.context(fit=False):
            train_acc = float(evaluate(x_train, y_train)[0])
            example = encoder(x_test[:1], n_steps)
            out, spikes = brainstate.transform.jit(lambda s: simulate(model, s))(example)
    result = {"example": "snn_digits", "coding": coding, "seed": seed, "epochs": epochs, "steps": n_steps,
              "hidden": hidden, "lr": lr, "test_acc": round(history["test_acc"][-1], 4), "train_acc": round(train_acc, 4),
              "loss": round(history["loss"][-1], 4), "hidden_rate": round(rate, 4),
              "wall_s": round(time.perf_counter() - start, 1)}
    plot(history, np.asarray(example[:, 0]), np.asarray(spikes[:, 0]), np.asarray(out[:, 0]), int(y_test[0]),
         Path(out_dir))
    return result


def plot(history: dict, inputs: np.ndarray, spikes: np.ndarray, out: np.ndarray, label: int, out_dir: Path) -> None:
    """The raster of one test digit (input and hidden spikes, read-out traces) and the learning curve, as PNGs."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    plot_curve(history, out_dir / "snn_digits_curve.png", title="snn_digits")
    ts = np.arange(len(inputs)) * DT
    fig, (ax_in, ax_hid, ax_out) = plt.subplots(3, 1, figsize=(6, 7), sharex=True)
    nn.raster_plot(inputs, ts=ts, ax=ax_in, xlabel="", ylabel="input pixel", title=f"test digit (label {label})")
    nn.raster_plot(spikes, ts=ts, ax=ax_hid, xlabel="", ylabel="hidden LIF neuron")
    for k in range(out.shape[-1]):
        ax_out.plot(ts, out[:, k], lw=2.0 if k == label else 0.8, label=str(k))
    ax_out.set(xlabel="time (ms)", ylabel="read-out")
    ax_out.legend(ncol=5, fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out_dir / "snn_digits_raster.png", dpi=100)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> dict:
    """The configuration from the command line: ``DEFAULTS`` (or ``FAST`` with ``--fast``) with the flags given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--steps", dest="n_steps", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--coding", choices=["rate", "latency"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=OUTPUT)
    parser.add_argument("--fast", action="store_true", help="the small configuration of the test (a few seconds)")
    args = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    return {**(FAST if args.pop("fast") else DEFAULTS), **args}


if __name__ == "__main__":
    print(json.dumps(main(**parse_args())))
