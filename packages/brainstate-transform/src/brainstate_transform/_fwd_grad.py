"""Forward-mode gradient estimates (``fwd_grad``) and ``GradientTransform``, a grad over any ``jax`` transform."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError

from ._autograd import _COMMON_ARGS, GradFunction, _make
from ._differentiated import _substitute

__all__ = ["fwd_grad", "GradientTransform"]


def _draw_key(key: Any) -> jax.Array:
    """A PRNG key from ``key``: a seed, a key, or a generator with ``split_key()`` (advanced on each call)."""
    if hasattr(key, "split_key"):
        return key.split_key()
    if isinstance(key, (int, np.integer)) or (hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jnp.integer)
                                              and jnp.ndim(key) == 0):
        return jax.random.PRNGKey(key)
    return key


def _directional(fun: Callable, argnums: Sequence[int], has_aux: bool, tangent_size: int | None = None,
                 drct_der_clip: float | None = None, key: Any = None) -> Callable:
    """``fun``'s gradient estimated as ``E[v (J v)]`` over random normal tangents ``v`` (forward mode)."""

    def transformed(*args: Any) -> tuple[tuple, Any]:
        params = tuple(args[i] for i in argnums)
        leaves, tree = jax.tree.flatten(params)
        for x in leaves:
            if not jnp.issubdtype(jnp.result_type(x), jnp.inexact):
                raise InputError(f"fwd_grad differentiates floating values only, but got one of dtype "
                                 f"{jnp.result_type(x)}. Fix: cast it to a float dtype.")
        shape = () if tangent_size is None else (tangent_size,)
        keys = jax.random.split(_draw_key(key), max(len(leaves), 1))
        tangents = tree.unflatten([jax.random.normal(k, shape + jnp.shape(x), jnp.result_type(x))
                                   for k, x in zip(keys, leaves)])

        def along(t: tuple) -> tuple[Any, Any]:
            _, slope, aux = jax.jvp(lambda *p: fun(*_substitute(args, argnums, p)), params, t, has_aux=True)
            if jnp.ndim(slope) != 0:
                raise InputError(f"fwd_grad needs a scalar function, but it returned shape {jnp.shape(slope)}. "
                                 "Fix: reduce it to a scalar, or use jacfwd.")
            return slope, aux

        if tangent_size is None:
            slope, aux = along(tangents)
        else:  # the primal output does not depend on the tangent: one value for every direction
            slope, aux = jax.vmap(along, out_axes=(0, None))(tangents)
        if drct_der_clip is not None:
            slope = jnp.clip(slope, -drct_der_clip, drct_der_clip)
        if tangent_size is None:
            grads = jax.tree.map(lambda v: v * slope, tangents)
        else:
            grads = jax.tree.map(lambda v: jnp.mean(v * slope.reshape((-1,) + (1,) * (v.ndim - 1)), axis=0), tangents)
        return grads, aux

    return transformed


class _FwdGradFunction(GradFunction):
    _name = "fwd_grad"
    _transform = staticmethod(_directional)

    def __init__(self, fun: Callable, *args: Any, key: Any = None, tangent_size: int | None = None, **kwargs: Any):
        if key is None:
            raise ConfigError(
                "fwd_grad draws random tangents and needs key=: a seed, a PRNG key (the same directions on every "
                "call), or a generator such as brainstate.random.DEFAULT (fresh directions on every call)."
            )
        if tangent_size is not None and (not isinstance(tangent_size, int) or tangent_size < 1):
            raise ConfigError(f"fwd_grad: tangent_size must be a positive int or None, got {tangent_size!r}.")
        super().__init__(fun, *args, key=key, tangent_size=tangent_size, **kwargs)


fwd_grad = _make(_FwdGradFunction, """Forward-mode estimate of the gradient of a scalar function (no backward pass).

    The estimate is ``v * (J v)`` for a random normal tangent ``v`` (unbiased: its mean is the
    gradient), averaged over ``tangent_size`` tangents when given. It costs one forward pass per
    tangent and no memory for a backward pass. Results are arranged as for :func:`grad`.
""" + _COMMON_ARGS.replace("\n\n    Writes", """
        key: a seed or PRNG key (the same tangents on every call), or a State with ``split_key()``
            such as ``brainstate.random.DEFAULT`` (fresh tangents on every call). Required.
        tangent_size: average over this many tangents (``None``: one).
        drct_der_clip: clip each directional derivative ``J v`` to ``[-drct_der_clip, drct_der_clip]``.

    Writes""") + """
    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
        >>> g = brainstate.transform.fwd_grad(lambda: jnp.sum(w.value ** 2), grad_states=w, key=0, tangent_size=20000)
        >>> bool(jnp.allclose(g(), 2 * w.value, atol=0.1))
        True
""", ("grad_states", "argnums", "return_value", "has_aux", "tangent_size", "drct_der_clip", "key"))


class GradientTransform(GradFunction):
    """A derivative of a stateful function by any ``jax``-style transform (the base of :func:`grad` and friends).

    ``transform(fun, argnums=..., has_aux=True, **transform_params)`` must return a function of the
    same arguments giving ``(derivatives, aux)`` with one derivative per position in ``argnums``, as
    ``jax.grad``, ``jax.jacrev`` and ``jax.jacfwd`` do. The grad states, arguments, results and state
    rules are those of :func:`grad`.

    Args:
        target: the function.
        transform: the ``jax`` transform (``jax.grad``, ``jax.jacrev`` ...).
        grad_states, argnums, return_value, has_aux, check_states, debug_nan: as for :func:`grad`.
        transform_params: keyword options of ``transform`` (checked against its signature).

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> w = brainstate.ParamState(jnp.array([1.0, 2.0]))
        >>> g = brainstate.transform.GradientTransform(lambda x: w.value * x, jax.jacrev, grad_states=w)
        >>> g(3.0)
        Array([[3., 0.],
               [0., 3.]], dtype=float32)
    """

    _name = "GradientTransform"

    def __init__(self, target: Callable, transform: Callable, grad_states: Any = None,
                 argnums: int | Sequence[int] | None = None, return_value: bool = False, has_aux: bool = False,
                 transform_params: dict[str, Any] | None = None, check_states: bool = True,
                 debug_nan: bool = False) -> None:
        self._transform = transform
        super().__init__(target, grad_states, argnums, has_aux, return_value, check_states, debug_nan,
                         **(transform_params or {}))
