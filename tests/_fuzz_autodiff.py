"""The differentiating blocks of the fuzzer: ``grad``, ``jacrev``, ``jacfwd`` and ``hessian``.

A differentiating block (a :class:`Block` of ``tests/_fuzz_programs.py`` whose ``kind`` is in
:data:`KINDS`) differentiates its body with respect to one state (``param``, passed as
``grad_states``), the input ``x`` (``argnums=0``) or both, as its ``mode`` says (``"states"``,
``"args"``, ``"both"``; ``hessian`` takes one or the other). ``grad`` and ``hessian`` differentiate
the scalar ``sum(tanh(body(x)))``, the jacobians the vector ``tanh(body(x))``. Then

* the state takes a step ``p - lr * d``, with ``d`` its derivative brought to the state's shape (a
  jacobian's output axis contracted with :data:`W`; a Hessian block summed over its second state's
  axes);
* ``x`` becomes ``tanh(x + 0.1 * value + 0.1 * dx)`` (``grad``, ``hessian``) or
  ``tanh(value + 0.1 * dx)`` (jacobians), ``dx`` the derivative with respect to ``x`` brought to
  ``x``'s shape the same way (absent: 0).

Both interpreters get the body already interpreted (``run``: ``x -> x`` over real States, or
``run(env, x) -> (env, x)`` over a dict of state values), so this module needs nothing from
``_fuzz_programs``. The brainstate version uses ``brainstate.transform.<kind>``; the pure version
``jax.<kind>`` on a function of the state's value, written independently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import brainstate

KINDS = ("grad", "jacrev", "jacfwd", "hessian")
MODES = {"grad": ("states", "args", "both"), "jacrev": ("states", "args", "both"),
         "jacfwd": ("states", "args", "both"), "hessian": ("states", "args")}
W = jnp.asarray([1.0, 0.5, -0.5], jnp.float32)  # contracts the output axis (length 3) of a jacobian
_JAX = {"grad": jax.grad, "jacrev": jax.jacrev, "jacfwd": jax.jacfwd, "hessian": jax.hessian}


def _mode(op: Any) -> str:
    return op.mode or "states"


def _scalar(op: Any) -> bool:
    return op.kind in ("grad", "hessian")


def _hessian_to_shape(p: Any, h: Any) -> Any:
    """``h[i][j]`` (shape ``leaf_i + leaf_j``) summed over ``j`` and its axes: one array per leaf of ``p``."""
    treedef = jax.tree.structure(p)
    rows = []
    for leaf, row in zip(treedef.flatten_up_to(p), treedef.flatten_up_to(h)):
        nd = jnp.ndim(leaf)
        rows.append(sum(jnp.sum(block, axis=tuple(range(nd, jnp.ndim(block)))) for block in treedef.flatten_up_to(row)))
    return treedef.unflatten(rows)


def _step(op: Any, p: Any, d: Any) -> Any:
    if op.kind in ("jacrev", "jacfwd"):
        d = jax.tree.map(lambda j: jnp.tensordot(W, j, axes=1), d)
    elif op.kind == "hessian":
        d = _hessian_to_shape(p, d)
    return jax.tree.map(lambda a, b: a - op.lr * b, p, d)


def _output(op: Any, x: jax.Array, value: jax.Array, dx: Any) -> jax.Array:
    if dx is None:
        shift = 0.0
    elif op.kind == "grad":
        shift = dx
    elif op.kind == "hessian":
        shift = dx @ W
    else:  # a jacobian: (output, input)
        shift = W @ dx
    if _scalar(op):
        return jnp.tanh(x + 0.1 * value + 0.1 * shift)
    return jnp.tanh(value + 0.1 * shift)


def _split(op: Any, d: Any) -> tuple[Any, Any]:
    """(derivative of the state or None, derivative of x or None)."""
    mode = _mode(op)
    if mode == "both":
        return d
    return (d, None) if mode == "states" else (None, d)


# -- brainstate ---------------------------------------------------------------------------------------
def build(op: Any, states: dict, run: Callable[[jax.Array], jax.Array]) -> Callable:
    """The block with ``brainstate.transform.<kind>``; ``run`` is its body over the real States."""
    param, mode = states[op.param], _mode(op)
    fn = (lambda v: jnp.sum(jnp.tanh(run(v)))) if _scalar(op) else (lambda v: jnp.tanh(run(v)))
    options: dict[str, Any] = {}
    if mode in ("states", "both"):
        options["grad_states"] = param
    if mode in ("args", "both"):
        options["argnums"] = 0
    derivative = getattr(brainstate.transform, op.kind)(fn, return_value=True, check_states=False, **options)

    def differentiated(x):
        d, value = derivative(x)
        d_state, dx = _split(op, d)
        if d_state is not None:
            param.value = _step(op, param.value, d_state)
        return _output(op, x, value, dx)

    return differentiated


# -- pure JAX -------------------------------------------------------------------------------------------
def pure(op: Any, env: dict, x: jax.Array, run: Callable[[dict, jax.Array], tuple[dict, jax.Array]]) -> tuple[dict, jax.Array]:
    """The block with ``jax.<kind>`` on a function of the state's value; ``run(env, x)`` is its body."""

    def f(p, v):
        e, y = run({**env, op.param: p}, v)
        out = jnp.sum(jnp.tanh(y)) if _scalar(op) else jnp.tanh(y)
        return out, (e, out)

    argnums = {"states": 0, "args": 1, "both": (0, 1)}[_mode(op)]
    d, (env, value) = _JAX[op.kind](f, argnums=argnums, has_aux=True)(env[op.param], x)
    d_state, dx = _split(op, d)
    if d_state is not None:
        env = {**env, op.param: _step(op, env[op.param], d_state)}
    return env, _output(op, x, value, dx)
