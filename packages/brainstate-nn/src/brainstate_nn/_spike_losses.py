"""Losses and metrics for training spiking classifiers on recordings shaped ``(T, batch, classes)``.

The output layer's spikes (or membrane potentials) are stacked over the ``T`` steps of a
``for_loop``, time first; ``labels`` are integer classes of shape ``(batch,)``. The losses are
differentiable in their input, so the surrogate gradient of the spike function carries them back
through time:

* :func:`ce_count_loss`: softmax cross-entropy of the spike counts (snnTorch's ``ce_count_loss``);
* :func:`ce_mean_membrane_loss` / :func:`ce_max_membrane_loss`: cross-entropy of the membrane
  potential averaged, or maximised, over time (for non-spiking read-outs);
* :func:`mse_count_loss`: squared error between the counts and target rates (snnTorch's
  ``mse_count_loss``);
* :func:`firing_rate_penalty`: keeps firing rates inside ``[low, high]``;
* :func:`accuracy_rate`: the fraction of samples whose most active output is the label.

Every loss is averaged over the batch (and the classes, for the squared error).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError
from brainstate_core.internal import is_tracer

__all__ = [
    "ce_count_loss",
    "ce_mean_membrane_loss",
    "ce_max_membrane_loss",
    "mse_count_loss",
    "firing_rate_penalty",
    "accuracy_rate",
]


def _sequence(x: Any, labels: Any, owner: str, what: str) -> tuple[jax.Array, jax.Array]:
    """``x`` as a float ``(T, batch, classes)`` array and ``labels`` as ints of shape ``(batch,)``, validated."""
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise InputError(f"{owner} expects {what} of shape (T, batch, classes), got shape {x.shape}. "
                         "Fix: stack the per-step outputs of the loop, time first.")
    x = x.astype(jnp.result_type(float)) if not jnp.issubdtype(x.dtype, jnp.floating) else x
    labels = jnp.asarray(labels)
    if labels.shape != x.shape[1:2] or not jnp.issubdtype(labels.dtype, jnp.integer):
        raise InputError(f"{owner} expects integer labels of shape ({x.shape[1]},) for a batch of {x.shape[1]}, "
                         f"got {labels.dtype} labels of shape {labels.shape}. Fix: pass the class index of each "
                         "sample (not one-hot).")
    if not is_tracer(labels) and labels.size:
        values = np.asarray(labels)
        if values.min() < 0 or values.max() >= x.shape[2]:
            raise InputError(f"{owner} labels must be in [0, {x.shape[2]}) for {x.shape[2]} classes, got values in "
                             f"[{values.min()}, {values.max()}]. Fix: pass class indices of the output layer.")
    return x, labels


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(log_p, labels[:, None], axis=-1).mean()


def ce_count_loss(spikes: Any, labels: Any) -> jax.Array:
    """Softmax cross-entropy of the spike counts ``spikes.sum(0)``, averaged over the batch.

    Args:
        spikes: output spikes, shape ``(T, batch, classes)``.
        labels: integer classes, shape ``(batch,)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> spikes = jnp.zeros((4, 1, 2)).at[:, 0, 1].set(1.0)   # class 1 fires 4 times
        >>> round(float(nn.ce_count_loss(spikes, jnp.array([1]))), 4)   # log(1 + e^-4)
        0.0181
    """
    spikes, labels = _sequence(spikes, labels, "ce_count_loss", "spikes")
    return _cross_entropy(spikes.sum(axis=0), labels)


def ce_mean_membrane_loss(mem: Any, labels: Any) -> jax.Array:
    """Softmax cross-entropy of the membrane potential averaged over time, ``mem.mean(0)``.

    Args:
        mem: output membrane potentials (or any per-step scores), shape ``(T, batch, classes)``.
        labels: integer classes, shape ``(batch,)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> mem = jnp.array([[[0.0, 2.0]], [[0.0, 0.0]]])   # mean scores [0, 1]
        >>> round(float(nn.ce_mean_membrane_loss(mem, jnp.array([1]))), 4)   # log(1 + e^-1)
        0.3133
    """
    mem, labels = _sequence(mem, labels, "ce_mean_membrane_loss", "membrane potentials")
    return _cross_entropy(mem.mean(axis=0), labels)


def ce_max_membrane_loss(mem: Any, labels: Any) -> jax.Array:
    """Softmax cross-entropy of the largest membrane potential over time, ``mem.max(0)``.

    The gradient reaches only the step where each output peaked.

    Args:
        mem: output membrane potentials, shape ``(T, batch, classes)``.
        labels: integer classes, shape ``(batch,)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> mem = jnp.array([[[0.0, 2.0]], [[1.0, 0.0]]])   # peaks [1, 2]
        >>> round(float(nn.ce_max_membrane_loss(mem, jnp.array([1]))), 4)   # log(1 + e^-1)
        0.3133
    """
    mem, labels = _sequence(mem, labels, "ce_max_membrane_loss", "membrane potentials")
    return _cross_entropy(mem.max(axis=0), labels)


def mse_count_loss(spikes: Any, labels: Any, correct_rate: float = 1.0, incorrect_rate: float = 0.0) -> jax.Array:
    """Squared error between the spike counts and target counts, as snnTorch's ``mse_count_loss``.

    The label's output should fire in ``correct_rate`` of the ``T`` steps and every other output in
    ``incorrect_rate`` of them: with counts ``c = spikes.sum(0)`` and targets ``r T``, the loss is
    ``mean((c - r T)^2) / T`` over the batch and the classes.

    Args:
        spikes: output spikes, shape ``(T, batch, classes)``.
        labels: integer classes, shape ``(batch,)``.
        correct_rate: the target fraction of steps with a spike for the label's output, in [0, 1].
        incorrect_rate: the same for the other outputs, in [0, 1].

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> spikes = jnp.zeros((10, 1, 2)).at[:8, 0, 0].set(1.0)   # counts [8, 0]
        >>> float(nn.mse_count_loss(spikes, jnp.array([0]), correct_rate=0.8, incorrect_rate=0.1))
        0.05
    """
    for name, rate in (("correct_rate", correct_rate), ("incorrect_rate", incorrect_rate)):
        if not 0.0 <= float(rate) <= 1.0:
            raise ConfigError(f"mse_count_loss {name} must be a fraction of steps in [0, 1], got {rate!r}. "
                              "Fix: pass e.g. correct_rate=0.8, incorrect_rate=0.2.")
    spikes, labels = _sequence(spikes, labels, "mse_count_loss", "spikes")
    n_steps, _, n_classes = spikes.shape
    target = jnp.where(jax.nn.one_hot(labels, n_classes, dtype=bool), correct_rate, incorrect_rate) * n_steps
    return jnp.mean((spikes.sum(axis=0) - target) ** 2) / n_steps


def firing_rate_penalty(spikes: Any, low: float = 0.0, high: float = 1.0, per_neuron: bool = True) -> jax.Array:
    """A squared hinge on firing rates outside ``[low, high]``: zero inside the band.

    The rate is the fraction of steps with a spike (multiply by ``1000 / dt`` for Hz), taken over
    time and the batch. With ``per_neuron=True`` every neuron (the last axis) has its own rate and
    the penalties ``relu(low - r)^2 + relu(r - high)^2`` are averaged over the neurons; with
    ``per_neuron=False`` the one rate of the whole population is penalised. Add it, weighted, to
    the task loss to keep a layer from falling silent (``low``) or saturating (``high``).

    Args:
        spikes: spikes of shape ``(T, ..., neurons)``, time first.
        low: the lowest rate without penalty, in [0, 1].
        high: the highest rate without penalty, in [low, 1].
        per_neuron: penalise each neuron's rate (True) or the population's (False).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> spikes = jnp.zeros((10, 1, 2)).at[:, 0, 1].set(1.0)   # rates [0, 1]
        >>> round(float(nn.firing_rate_penalty(spikes, low=0.1, high=0.5)), 4)   # (0.1^2 + 0.5^2) / 2
        0.13
    """
    if not 0.0 <= float(low) <= float(high) <= 1.0:
        raise ConfigError(f"firing_rate_penalty needs 0 <= low <= high <= 1 (spikes per step), got low={low!r}, "
                          f"high={high!r}. Fix: pass a band of rates, e.g. low=0.01, high=0.5.")
    spikes = jnp.asarray(spikes)
    if spikes.ndim < 2:
        raise InputError(f"firing_rate_penalty expects spikes of shape (T, ..., neurons), got shape {spikes.shape}. "
                         "Fix: stack the per-step spikes of the loop, time first.")
    spikes = spikes.astype(jnp.result_type(float)) if not jnp.issubdtype(spikes.dtype, jnp.floating) else spikes
    rate = spikes.reshape(-1, spikes.shape[-1]).mean(axis=0) if per_neuron else spikes.mean()
    return jnp.mean(jax.nn.relu(low - rate) ** 2 + jax.nn.relu(rate - high) ** 2)


def accuracy_rate(spikes: Any, labels: Any) -> jax.Array:
    """The fraction of samples whose output with the most spikes is the label (snnTorch's ``accuracy_rate``).

    Ties go to the lowest class index, so a silent output layer predicts class 0.

    Args:
        spikes: output spikes (or scores), shape ``(T, batch, classes)``.
        labels: integer classes, shape ``(batch,)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> spikes = jnp.zeros((3, 2, 2)).at[:, 0, 1].set(1.0).at[:, 1, 1].set(1.0)
        >>> float(nn.accuracy_rate(spikes, jnp.array([1, 0])))
        0.5
    """
    spikes, labels = _sequence(spikes, labels, "accuracy_rate", "spikes")
    return jnp.mean(jnp.argmax(spikes.sum(axis=0), axis=-1) == labels)
