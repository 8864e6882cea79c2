"""The MLP train step of scenarios 1, 2, 3 and 7, written four ways with identical numbers.

* plain JAX: ``jax.jit`` over a params dict with ``jax.value_and_grad`` (the reference);
* brainstate, one ParamState per array: ``brainstate_transform.jit`` of a step that calls
  ``brainstate_transform.grad(loss, grad_states=params)`` and does ``params[k].value -= lr * grads[k]``;
* brainstate with ``brainstate_nn.Linear`` layers (one ParamState holding ``{'weight', 'bias'}``
  per layer), when ``brainstate_nn`` is importable;
* Equinox / Flax NNX, when importable (never installed for this; see ``anchor_steps``).

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


# -- anchors, when importable --------------------------------------------------------------------
def anchor_steps(arrays: dict, lr: float) -> dict[str, tuple[Callable, Any]]:
    """``{name: (step, state)}`` where ``step(state, x, y) -> (state, loss)``, for installed anchors.

    Each anchor's model is loaded with the same arrays. A failure to build one is reported as a
    string in place of the pair, so a newer anchor API never breaks the benchmark.
    """
    found: dict[str, Any] = {}
    try:
        import equinox as eqx
    except ImportError:
        eqx = None
    if eqx is not None:
        try:
            found["equinox"] = _equinox_step(eqx, arrays, lr)
        except Exception as err:  # noqa: BLE001 - reported, not fatal
            found["equinox"] = f"skipped: {type(err).__name__}: {err}"
    try:
        from flax import nnx
    except ImportError:
        nnx = None
    if nnx is not None:
        try:
            found["flax.nnx"] = _nnx_step(nnx, arrays, lr)
        except Exception as err:  # noqa: BLE001 - reported, not fatal
            found["flax.nnx"] = f"skipped: {type(err).__name__}: {err}"
    return found


def _equinox_step(eqx: Any, arrays: dict, lr: float) -> tuple[Callable, Any]:
    class EqxMLP(eqx.Module):
        ws: list
        bs: list

        def __call__(self, x):
            for i, (w, b) in enumerate(zip(self.ws, self.bs)):
                x = x @ w + b
                if i < len(self.ws) - 1:
                    x = jax.nn.relu(x)
            return x

    n = n_layers(arrays)
    model = EqxMLP([arrays[f"w{i}"] for i in range(n)], [arrays[f"b{i}"] for i in range(n)])

    @eqx.filter_jit
    def step(model, x, y):
        loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        return eqx.apply_updates(model, jax.tree.map(lambda g: -lr * g, grads)), loss

    return step, model


def _nnx_step(nnx: Any, arrays: dict, lr: float) -> tuple[Callable, Any]:
    n = n_layers(arrays)

    class NnxMLP(nnx.Module):
        def __init__(self):
            for i in range(n):
                setattr(self, f"w{i}", nnx.Param(arrays[f"w{i}"]))
                setattr(self, f"b{i}", nnx.Param(arrays[f"b{i}"]))

        def __call__(self, x):
            for i in range(n):
                x = x @ getattr(self, f"w{i}")[...] + getattr(self, f"b{i}")[...]
                if i < n - 1:
                    x = jax.nn.relu(x)
            return x

    model = NnxMLP()

    @nnx.jit
    def step(model, x, y):
        loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
        params = nnx.state(model, nnx.Param)
        nnx.update(model, jax.tree.map(lambda p, g: p - lr * g, params, grads))
        return model, loss

    return step, model
