"""Classify noisy sine waves by their frequency with a GRU unrolled by ``brainstate.transform.for_loop``.

Each sequence is ``sin(2 pi f t + phase)`` plus noise, with ``f`` one of three frequencies; the
GRU reads it one step at a time and a linear read-out of its last hidden state gives the class.
The hidden state is a ``HiddenState`` created by ``brainstate.nn.init_all_states(model,
batch_size)``; calling it again with another batch size resizes the same State objects, and the
jitted functions retrace for the new shape.

    python examples/gru_sequence.py --epochs 15
"""

from __future__ import annotations

import argparse

import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

import brainstate

nn = brainstate.nn
FREQUENCIES = (1.0, 2.0, 3.0)


def make_data(n: int, length: int = 40, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, labels)``: xs of shape (length, n, 1) (time first), labels in {0, 1, 2}."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(FREQUENCIES), n)
    t = np.linspace(0.0, 1.0, length)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n)
    xs = np.sin(2 * np.pi * np.asarray(FREQUENCIES)[labels] * t + phase) + noise * rng.normal(size=(length, n))
    return xs[..., None].astype(np.float32), labels.astype(np.int32)


class SequenceClassifier(nn.Module):
    """A GRU over the time axis, then a linear read-out of the last hidden state."""

    def __init__(self, hidden: int = 32, classes: int = len(FREQUENCIES)):
        super().__init__()
        self.cell = nn.GRUCell(1, hidden)
        self.readout = nn.Linear(hidden, classes)

    def update(self, xs):
        nn.reset_all_states(self, batch_size=xs.shape[1])  # start every sequence from h = 0
        hs = brainstate.transform.for_loop(self.cell, xs)  # (time, batch, hidden)
        return self.readout(hs[-1])


def main(epochs: int = 15, batch_size: int = 50, lr: float = 1e-2, hidden: int = 32, n_train: int = 1000,
         n_test: int = 300, seed: int = 0, progress: bool = True) -> float:
    """Train and return the test accuracy."""
    brainstate.random.seed(seed)
    x_train, y_train = make_data(n_train, seed=seed)
    x_test, y_test = make_data(n_test, seed=seed + 1)
    model = SequenceClassifier(hidden)
    optimizer = nn.optim.Adam(lr, params=model.states(brainstate.ParamState))

    def loss_fn(xs, ys):
        return optax.softmax_cross_entropy_with_integer_labels(model(xs), ys).mean()

    @brainstate.transform.jit
    def train_step(xs, ys):
        grads, loss = brainstate.transform.grad(loss_fn, grad_states=optimizer.param_states, return_value=True)(xs, ys)
        optimizer.update(grads)
        return loss

    @brainstate.transform.jit
    def accuracy(xs, ys):
        return jnp.mean(jnp.argmax(model(xs), axis=-1) == ys)

    bar = tqdm(range(epochs), desc="gru_sequence", disable=not progress)
    order_rng = np.random.default_rng(seed)
    for _ in bar:
        nn.init_all_states(model, batch_size=batch_size)
        order = order_rng.permutation(n_train)
        losses = [float(train_step(x_train[:, idx], y_train[idx]))
                  for idx in order[: n_train // batch_size * batch_size].reshape(-1, batch_size)]
        nn.init_all_states(model, batch_size=n_test)  # the same HiddenState, resized for the test set
        acc = float(accuracy(x_test, y_test))
        bar.set_postfix(loss=f"{np.mean(losses):.4f}", test_acc=f"{acc:.3f}")
    return acc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(SequenceClassifier(args.hidden))
    print(f"test accuracy: {main(epochs=args.epochs, hidden=args.hidden, lr=args.lr, seed=args.seed):.4f}")
