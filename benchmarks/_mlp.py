"""The MLP train step of scenarios 1, 2, 3 and 7, written three ways with identical numbers.

* plain JAX: ``jax.jit`` over a params dict with ``jax.value_and_grad`` (the reference);
* brainstate, one ParamState per array: ``brainstate_transform.jit`` of a step that calls
  ``brainstate_transform.grad(loss, grad_states=params)`` and does ``params[k].value -= lr * grads[k]``;
* brainstate with ``brainstate_nn.Linear`` layers (one ParamState holding ``{'weight', 'bias'}``
  per layer), when ``brainstate_nn`` is importable;
* Flax NNX and Equinox versions live in ``_anchors.py``.

All variants start from the same arrays, so their losses agree step for step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_transform as T
from brainstate_core import ParamState
from brainstate_core._node import Node

try:
    import brainstate_nn as nn
except ImportError:  # brainstate-nn not installed: the States-only rows still run
    nn = None

Base = nn.Module if nn is not None else Node


def mlp_arrays(seed: int, sizes: list[int]) -> dict[str, jax.Array]:
    """``{'w0': (in, out), 'b0': (out,), ...}`` with He-normal weights and zero biases.

    Drawn with NumPy: eager ``jax.random`` calls compile a kernel each the first time, which
    would make the ``--quick`` smoke runs slow for nothing.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"w{i}"] = jnp.asarray(rng.standard_normal((a, b), np.float32) * np.float32((2.0 / a) ** 0.5))
        params[f"b{i}"] = jnp.zeros((b,), jnp.float32)
    return params


def n_layers(params: dict) -> int:
    return sum(1 for k in params if k.startswith("w"))


# -- plain JAX ---------------------------------------------------------------------------------
def plain_forward(params: dict, x: jax.Array) -> jax.Array:
    n = n_layers(params)
    for i in range(n):
        x = x @ params[f"w{i}"] + params[f"b{i}"]
        if i < n - 1:
            x = jax.nn.relu(x)
    return x


def plain_loss(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((plain_forward(params, x) - y) ** 2)


def plain_step_fn(lr: float) -> Callable:
    """The hand-threaded pure step ``(params, x, y) -> (new params, loss)`` (not jitted)."""

    def step(params, x, y):
        loss, grads = jax.value_and_grad(plain_loss)(params, x, y)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss

    return step


def plain_step(lr: float) -> Callable:
    return jax.jit(plain_step_fn(lr))


# -- brainstate: one ParamState per array -----------------------------------------------------
class StateMLP(Base):
    """An MLP whose weights and biases are ParamStates (``self.w[i]``, ``self.b[i]``)."""

    def __init__(self, arrays: dict) -> None:
        n = n_layers(arrays)
        self.w = [ParamState(arrays[f"w{i}"]) for i in range(n)]
        self.b = [ParamState(arrays[f"b{i}"]) for i in range(n)]

    def __call__(self, x: jax.Array) -> jax.Array:
        n = len(self.w)
        for i in range(n):
            x = x @ self.w[i].value + self.b[i].value
            if i < n - 1:
                x = jax.nn.relu(x)
        return x


def nn_mlp(arrays: dict) -> Any:
    """The same MLP from ``brainstate_nn.Linear`` layers (``None`` if brainstate_nn is missing)."""
    if nn is None:
        return None
    layers: list = []
    n = n_layers(arrays)
    for i in range(n):
        w = arrays[f"w{i}"]
        layers.append(nn.Linear(w.shape[0], w.shape[1], w_init=w, b_init=arrays[f"b{i}"]))
        if i < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def params_of(model: Any) -> Any:
    """The model's ParamStates by path (``model.states(ParamState)``)."""
    from brainstate_core import graph

    return graph.states(model, ParamState)


def ours_step(model: Any, lr: float) -> tuple[Callable, Any]:
    """The brainstate train step ``step(x, y) -> loss`` (jitted) and the ParamStates it updates."""
    params = params_of(model)

    def loss_fn(x, y):
        return jnp.mean((model(x) - y) ** 2)

    def step(x, y):
        grads, loss = T.grad(loss_fn, grad_states=params, return_value=True)(x, y)
        for k in params:
            if isinstance(grads[k], dict):  # brainstate_nn.Linear keeps {'weight', 'bias'} in one state
                params[k].value = jax.tree.map(lambda p, g: p - lr * g, params[k].value, grads[k])
            else:
                params[k].value -= lr * grads[k]
        return loss

    return T.jit(step), params
