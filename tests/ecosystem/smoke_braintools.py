"""Smoke program: braintools, built on upstream brainstate, runs on this brainstate.

Run by ``nox -s ecosystem`` (with braintools installed without letting pip replace brainstate).
Trains a small ``brainstate.nn`` regression model with ``braintools.optim.Adam`` on its
``ParamState`` values, through ``brainstate.transform.grad`` inside ``brainstate.transform.jit``, with
a ``braintools.metric`` loss; checks that the loss falls, that the optimiser counted its steps and
that the metrics agree with the same formulas written in jax.numpy.

Exit codes: 0 passed; 1 a check failed (traceback); ``_missing.MISSING_NAMES`` / ``INCOMPATIBLE``:
importing braintools fails on this brainstate, with the missing names printed (see _missing.py).
Not collected by pytest (see conftest.py here).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from _missing import report_and_exit  # noqa: E402

import brainstate  # noqa: E402

try:
    import braintools
except (ImportError, AttributeError) as error:
    report_and_exit("braintools", error)


def train_with_adam(steps: int = 60) -> None:
    brainstate.random.seed(0)
    x = brainstate.random.randn(128, 4)
    w_true = jnp.array([[1.0], [-2.0], [0.5], [3.0]])
    y = x @ w_true + 0.5

    model = brainstate.nn.Sequential(brainstate.nn.Linear(4, 16), brainstate.nn.ReLU(), brainstate.nn.Linear(16, 1))
    weights = model.states(brainstate.ParamState)
    assert len(weights) >= 2, f"two Linear layers, fewer ParamStates: {weights}"
    optimizer = braintools.optim.Adam(lr=1e-2)
    optimizer.register_trainable_weights(weights)

    def loss_fn():
        return braintools.metric.squared_error(model(x), y).mean()

    @brainstate.transform.jit
    def train_step():
        grads, loss = brainstate.transform.grad(loss_fn, weights, return_value=True)()
        optimizer.update(grads)
        return loss

    before = [np.asarray(leaf) for leaf in jax.tree.leaves([state.value for state in weights.values()])]
    losses = [float(train_step()) for _ in range(steps)]
    print(f"braintools.optim.Adam: loss {losses[0]:.4f} -> {losses[-1]:.4f} in {steps} jitted steps")
    assert all(np.isfinite(losses)), losses
    assert losses[-1] < 0.2 * losses[0], f"the loss must fall by 5x: {losses[0]} -> {losses[-1]}"
    assert int(optimizer.step_count.value) == steps, f"Adam counted {optimizer.step_count.value} steps, not {steps}"
    after = jax.tree.leaves([state.value for state in weights.values()])
    unchanged = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if np.allclose(b, np.asarray(a))]
    assert not unchanged, f"every parameter array must have been updated; arrays {unchanged} of {len(after)} were not"
    # The updates were written back to the model's states: an eager call sees the trained model.
    assert float(loss_fn()) < 0.2 * losses[0], (float(loss_fn()), losses[0])


def metrics_on_a_model() -> None:
    brainstate.random.seed(1)
    model = brainstate.nn.Linear(3, 5)
    x = brainstate.random.randn(8, 3)
    labels = jnp.arange(8) % 5
    logits = brainstate.transform.jit(model)(x)

    got = braintools.metric.softmax_cross_entropy_with_integer_labels(logits, labels)
    log_p = logits - jnp.log(jnp.sum(jnp.exp(logits), axis=-1, keepdims=True))
    want = -jnp.take_along_axis(log_p, labels[:, None], axis=-1)[:, 0]
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)

    target = jnp.ones_like(logits)
    np.testing.assert_allclose(np.asarray(braintools.metric.squared_error(logits, target)),
                               np.asarray((logits - target) ** 2), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(braintools.metric.absolute_error(logits, target, reduction="mean")),
                               np.asarray(jnp.abs(logits - target).mean()), rtol=1e-6)
    print(f"braintools.metric: softmax_cross_entropy_with_integer_labels, squared_error, absolute_error agree "
          f"on a brainstate.nn.Linear's output (mean CE {float(got.mean()):.4f})")


if __name__ == "__main__":
    print(f"brainstate {brainstate.__version__} from {Path(brainstate.__file__).parent}, "
          f"braintools {braintools.__version__}")
    train_with_adam()
    metrics_on_a_model()
    print("braintools: OK")
