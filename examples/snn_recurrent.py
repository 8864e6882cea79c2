"""Accumulate evidence and remember it: a recurrent ALIF network against a LIF network, by BPTT and by e-prop.

The task (the cue-accumulation task of Bellec et al. 2020, shortened; generated here): a trial
shows ``n_cues`` cues of ``cue`` ms, ``gap`` ms apart, each on the left or the right (input
population 0 or 1 fires at 40% per 1-ms step), then ``delay`` ms of background noise only
(population 3, 2% per step), then a "go" signal (population 2) for the last ``recall`` steps,
when the network must report the side that had more cues. The loss is the cross-entropy of the
read-out at each recall step; a trial is correct when the read-out averaged over the recall
window picks the side.

The trial (7 cues over 140 ms and a 200-ms delay by default) is many membrane time constants
(20 ms) long: a LIF network has to count and hold the count in its recurrent activity, which
BPTT finds only in part; the adaptive thresholds of ALIF neurons (``tau_a`` = 500 ms) keep a
graded trace of how much each neuron fired. Three runs of :class:`brainstate.nn.SpikingRNN` of
the same size (20 inputs -> 64 recurrent neurons -> 2 leaky read-outs), with
:func:`brainstate.nn.make_train_step`:

* LIF network, ``mode='bptt'``;
* ALIF network, ``mode='bptt'``;
* ALIF network, ``mode='eprop'`` (online: eligibility traces and a learning signal from the
  read-out error through symmetric feedback; memory independent of the trial length).

With the defaults (600 iterations of 64 trials, Adam with a cosine-decayed learning rate) seed 0
reaches test accuracies of LIF BPTT 0.79, ALIF BPTT 0.93 and ALIF e-prop 0.91 in about 4.5 minutes
on two busy CPU cores (e-prop takes more than half of it: its traces are per synapse and trial).
Prints one JSON line and, where matplotlib is installed, saves
``examples/output/snn_recurrent_curve.png`` (test accuracy and loss over training) and
``examples/output/snn_recurrent_raster.png`` (one test trial of each network).

    python examples/snn_recurrent.py [--iterations 600] [--seed 0] [--fast]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import brainstate

nn = brainstate.nn
OUTPUT = Path(__file__).resolve().parent / "output"
DT = 1.0  # ms
TASK = ("n_cues", "cue", "gap", "delay", "recall")
DEFAULTS = dict(iterations=600, hidden=64, batch_size=64, n_cues=7, cue=10, gap=10, delay=200, recall=20, lr=2e-2,
                eval_every=50)
FAST = dict(iterations=150, hidden=48, batch_size=32, n_cues=7, cue=10, gap=5, delay=200, recall=10, lr=3e-2,
            eval_every=50)  # the test's configuration
GROUP = 5  # input neurons per population: left cue, right cue, go, noise
RATE, NOISE = 0.4, 0.02  # spike probability per step of a cue or go neuron when on, of a noise neuron
RUNS = (("lif_bptt", "LIF", "bptt"), ("alif_bptt", "ALIF", "bptt"), ("alif_eprop", "ALIF", "eprop"))


def make_trials(n: int, n_cues: int, cue: int, gap: int, delay: int, recall: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` trials: input spikes ``(T, n, 4 GROUP)`` (float32, time first) and labels ``(n,)`` (1: more right cues)."""
    per = cue + gap
    steps = n_cues * per + delay + recall
    sides = rng.integers(0, 2, (n, n_cues))
    labels = (2 * sides.sum(1) > n_cues).astype(np.int32)
    rates = np.zeros((steps, n, 4), np.float32)
    for c in range(n_cues):
        rates[c * per:c * per + cue, np.arange(n), sides[:, c]] = RATE
    rates[steps - recall:, :, 2] = RATE
    rates[:, :, 3] = NOISE
    spikes = rng.random((steps, n, 4, GROUP)) < rates[..., None]
    return spikes.reshape(steps, n, 4 * GROUP).astype(np.float32), labels


def recall_mask(n_cues: int, cue: int, gap: int, delay: int, recall: int) -> np.ndarray:
    """1.0 at the recall steps, shape ``(T,)``."""
    return np.concatenate([np.zeros(n_cues * (cue + gap) + delay), np.ones(recall)]).astype(np.float32)


def make_loss(mask: np.ndarray):
    """Cross-entropy at the recall steps, as a mean over all steps (so that e-prop can score each step alone)."""
    scale = 1.0 / float(mask.mean())

    def loss_fn(ys, targets):
        labels, m = targets
        ce = -jnp.take_along_axis(jax.nn.log_softmax(ys, axis=-1), labels[..., None], axis=-1)[..., 0]
        return scale * jnp.mean(m * ce)

    return loss_fn


def build(kind: str, hidden: int, seed: int) -> nn.SpikingRNN:
    """The network: 20 inputs -> ``hidden`` recurrent LIF or ALIF neurons -> 2 leaky read-outs."""
    brainstate.random.seed(seed)
    if kind == "LIF":
        neuron = nn.LIF(hidden, tau=20.0, V_th=1.0)
    else:
        neuron = nn.ALIF(hidden, tau=20.0, tau_a=500.0, beta=0.1, V_th=1.0)
    # input weights five times LeCun's, so that a cue drives many neurons to the threshold from the start
    return nn.SpikingRNN(4 * GROUP, hidden, 2, neuron=neuron, tau_out=20.0, w_in_init=nn.init.LecunNormal(scale=25.0))


def simulate(model: nn.SpikingRNN, xs):
    """Read-outs and recurrent spikes over trials ``xs`` (T, batch, inputs), from rest."""
    nn.reset_all_states(model, batch_size=xs.shape[1])
    return brainstate.transform.for_loop(lambda x: (model(x), model.neuron.get_spike()), xs)


def accuracy(ys, labels, mask) -> jax.Array:
    """The fraction of trials whose read-out averaged over the recall steps picks the label."""
    score = jnp.einsum("t,tbk->bk", jnp.asarray(mask), ys)
    return jnp.mean(jnp.argmax(score, axis=-1) == labels)


def train(kind: str, mode: str, cfg: dict, seed: int, test: tuple, progress: bool) -> dict:
    """Train one network; its history (iteration, test accuracy, training loss, firing rate) and the model."""
    task = {k: cfg[k] for k in TASK}
    mask = recall_mask(**task)
    model = build(kind, cfg["hidden"], seed)
    schedule = optax.cosine_decay_schedule(cfg["lr"], cfg["iterations"], alpha=0.1)
    optimizer = nn.optim.Adam(schedule, params=model.weights())
    step = nn.make_train_step(model, make_loss(mask), optimizer, mode=mode)

    @brainstate.transform.jit
    def evaluate(xs, labels):
        ys, spikes = simulate(model, xs)
        return accuracy(ys, labels, mask), spikes.mean()

    rng = np.random.default_rng(seed + 1)  # the same training trials for every run
    history: dict[str, list] = {"iteration": [], "test_acc": [], "loss": [], "rate": []}
    losses = []
    for it in range(1, cfg["iterations"] + 1):
        xs, labels = make_trials(cfg["batch_size"], **task, rng=rng)
        shape = (len(mask), len(labels))
        losses.append(float(step(xs, (np.broadcast_to(labels, shape), np.broadcast_to(mask[:, None], shape)))))
        if it % cfg["eval_every"] == 0 or it == cfg["iterations"]:
            acc, rate = (float(v) for v in evaluate(*test))
            for key, value in zip(history, (it, acc, float(np.mean(losses)), rate)):
                history[key].append(value)
            losses = []
            if progress:
                print(f"{kind:4s} {mode:5s} iteration {it:4d}  loss {history['loss'][-1]:.4f}  test accuracy "
                      f"{acc:.3f}  firing rate {rate:.3f}", flush=True)
    history["model"] = model
    return history


def main(iterations: int = 600, hidden: int = 64, batch_size: int = 64, n_cues: int = 7, cue: int = 10, gap: int = 10,
         delay: int = 200, recall: int = 20, lr: float = 2e-2, eval_every: int = 50, seed: int = 0,
         n_test: int = 512, out_dir: Path = OUTPUT, progress: bool = True) -> dict:
    """Train the three networks; return their final test accuracies and firing rates, the configuration and
    the wall time."""
    start = time.perf_counter()
    cfg = dict(iterations=iterations, hidden=hidden, batch_size=batch_size, n_cues=n_cues, cue=cue, gap=gap,
               delay=delay, recall=recall, lr=lr, eval_every=eval_every)
    task = {k: cfg[k] for k in TASK}
    test = make_trials(n_test, **task, rng=np.random.default_rng(10_000 + seed))
    histories = {}
    with brainstate.environ.context(dt=DT):
        for name, kind, mode in RUNS:
            histories[name] = train(kind, mode, cfg, seed, test, progress)
        example = test[0][:, :1]
        traces = {name: [np.asarray(a[:, 0]) for a in brainstate.transform.jit(
            lambda xs, m=h["model"]: simulate(m, xs))(example)] for name, h in histories.items()}
    steps = len(recall_mask(**task))
    result = {"example": "snn_recurrent", "seed": seed, **cfg, "steps": steps,
              **{f"{name}_acc": round(h["test_acc"][-1], 4) for name, h in histories.items()},
              **{f"{name}_rate": round(h["rate"][-1], 4) for name, h in histories.items()},
              "wall_s": round(time.perf_counter() - start, 1)}
    plot(histories, np.asarray(example[:, 0]), traces, int(test[1][0]), steps - recall, Path(out_dir))
    return result


def plot(histories: dict, inputs: np.ndarray, traces: dict, label: int, recall_start: int, out_dir: Path) -> None:
    """The learning curves of the three runs and a raster of one test trial per network, as PNGs."""
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, h in histories.items():
        ax_acc.plot(h["iteration"], h["test_acc"], marker="o", ms=3, label=name.replace("_", " "))
        ax_loss.plot(h["iteration"], h["loss"], label=name.replace("_", " "))
    ax_acc.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax_acc.set(xlabel="iteration", ylabel="test accuracy", ylim=(0.3, 1.02), title="evidence accumulation: accuracy")
    ax_loss.set(xlabel="iteration", ylabel="training loss", yscale="log", title="loss")
    ax_acc.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out_dir / "snn_recurrent_curve.png", dpi=100)
    plt.close(fig)

    ts = np.arange(len(inputs)) * DT
    fig, axes = plt.subplots(1 + 2 * len(traces), 1, figsize=(7, 2.0 + 2.2 * len(traces)), sharex=True)
    nn.raster_plot(inputs, ts=ts, ax=axes[0], xlabel="", ylabel="input", title=f"test trial, more cues on the {'right' if label else 'left'}")
    for i, (name, (ys, spikes)) in enumerate(traces.items()):
        nn.raster_plot(spikes, ts=ts, ax=axes[1 + 2 * i], xlabel="", ylabel=f"{name.replace('_', ' ')}\nneuron")
        for k in range(ys.shape[-1]):
            axes[2 + 2 * i].plot(ts, ys[:, k], lw=2.0 if k == label else 0.8, label=("left", "right")[k])
        axes[2 + 2 * i].axvspan(recall_start * DT, ts[-1], color="gold", alpha=0.2)
        axes[2 + 2 * i].set(ylabel="read-out")
    axes[2].legend(ncol=2, fontsize=7, frameon=False)
    axes[-1].set(xlabel="time (ms)")
    fig.tight_layout()
    fig.savefig(out_dir / "snn_recurrent_raster.png", dpi=100)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> dict:
    """The configuration from the command line: ``DEFAULTS`` (or ``FAST`` with ``--fast``) with the flags given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--n-cues", type=int)
    parser.add_argument("--delay", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=OUTPUT)
    parser.add_argument("--fast", action="store_true", help="the small configuration of the test")
    args = {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not None}
    return {**(FAST if args.pop("fast") else DEFAULTS), **args}


if __name__ == "__main__":
    print(json.dumps(main(**parse_args())))
