"""Shared parts of the digits examples: the data, a training loop with checkpoint/resume, the learning curve.

``mlp_digits.py`` and ``cnn_digits.py`` build a model and call :func:`fit`; everything else
(batching, the jitted training step, evaluation, checkpoints, the plot) lives here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import brainstate

OUTPUT = Path(__file__).resolve().parent / "output"


def load_digits_split(test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8x8 digits, scaled to [0, 1]: ``(x_train, y_train, x_test, y_test)``, x of shape (N, 64)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int32)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return x_train, y_train, x_test, y_test


def fit(model: brainstate.nn.Module, optimizer: Any, data: tuple[np.ndarray, ...], *, name: str, epochs: int,
        batch_size: int = 64, seed: int = 0, out_dir: Path = OUTPUT, resume: bool = True,
        progress: bool = True) -> dict[str, list]:
    """Train ``model`` with ``optimizer`` on ``data``, checkpointing every epoch to ``out_dir/<name>.msgpack``.

    With ``resume=True`` an existing checkpoint is loaded first (model, optimiser, the shuffling
    generator and the default generator), and training continues from the epoch after the saved one, giving the
    same result as an uninterrupted run. Returns the history ``{'loss', 'test_acc'}`` per epoch
    and writes the learning curve to ``out_dir/<name>_curve.png``.
    """
    x_train, y_train, x_test, y_test = data
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = out_dir / f"{name}.msgpack"
    shuffle = brainstate.random.RandomState(seed)
    params = optimizer.param_states

    def loss_fn(x, y):
        return optax.softmax_cross_entropy_with_integer_labels(model(x), y).mean()

    @brainstate.transform.jit
    def train_step(x, y):
        grads, loss = brainstate.transform.grad(loss_fn, grad_states=params, return_value=True)(x, y)
        optimizer.update(grads)
        return loss

    @brainstate.transform.jit
    def accuracy(x, y):
        return jnp.mean(jnp.argmax(model(x), axis=-1) == y)

    # Everything a resumed run needs to continue exactly: the default generator drives dropout.
    target = {"model": model, "optimizer": optimizer, "shuffle": shuffle, "dropout_rng": brainstate.random.DEFAULT}
    history: dict[str, list] = {"loss": [], "test_acc": []}
    if resume and checkpoint.exists():
        history = brainstate.nn.load_checkpoint(checkpoint, target)["history"]
    n_batches = len(x_train) // batch_size
    bar = tqdm(range(len(history["loss"]), epochs), total=epochs, initial=len(history["loss"]), desc=name,
               disable=not progress)
    for _ in bar:
        order = np.asarray(shuffle.permutation(len(x_train)))
        with brainstate.environ.context(fit=True):
            losses = [train_step(x_train[idx], y_train[idx])
                      for idx in order[: n_batches * batch_size].reshape(n_batches, batch_size)]
        with brainstate.environ.context(fit=False):
            acc = float(accuracy(x_test, y_test))
        history["loss"].append(float(jnp.mean(jnp.stack(losses))))
        history["test_acc"].append(acc)
        brainstate.nn.save_checkpoint(checkpoint, target, metadata={"history": history})
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}", test_acc=f"{acc:.4f}")
    plot_curve(history, out_dir / f"{name}_curve.png", title=name)
    return history


def plot_curve(history: dict[str, list], file: Path, title: str) -> None:
    """Training loss and test accuracy per epoch, side by side, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, history["loss"])
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title=f"{title}: loss")
    ax_acc.plot(epochs, history["test_acc"], color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy", title=f"{title}: accuracy")
    ax_acc.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)


def parse_args(description: str, epochs: int, lr: float) -> dict[str, Any]:
    """The command line shared by the digits examples."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=OUTPUT)
    parser.add_argument("--no-resume", dest="resume", action="store_false", help="ignore an existing checkpoint")
    return vars(parser.parse_args())
