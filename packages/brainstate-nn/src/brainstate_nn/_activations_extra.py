"""More activation and normalisation functions of arrays: smooth and sparse ReLU-likes, ``rrelu``,
``logsumexp``, ``standardize`` and ``one_hot``.

Where ``jax.nn`` / ``jax.scipy`` has the same function with the same meaning these wrap it (with
upstream brainstate's signatures); ``rrelu`` draws from ``brainstate.random``.

Example:
    >>> import jax.numpy as jnp
    >>> import brainstate_nn as nn
    >>> nn.sparse_plus(jnp.array([-2.0, 0.0, 2.0]))
    Array([0.  , 0.25, 2.  ], dtype=float32)
    >>> nn.one_hot(jnp.array([0, 2]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special
import numpy as np

from brainstate_core import ConfigError, InputError, environ

from ._activations import softsign
from ._utils import generator

__all__ = ["squareplus", "soft_sign", "sparse_plus", "sparse_sigmoid", "rrelu", "logsumexp", "standardize",
           "one_hot"]

Array = jax.Array
Axis = int | Sequence[int] | None


def squareplus(x: Array, b: float = 4.0) -> Array:
    """``(x + sqrt(x^2 + b)) / 2``: a smooth ReLU with curvature set by ``b >= 0`` (So et al., 2021)."""
    return jax.nn.squareplus(x, b=b)


def soft_sign(x: Array) -> Array:
    """``x / (1 + |x|)``: upstream's spelling of :func:`softsign`."""
    return softsign(x)


def sparse_plus(x: Array) -> Array:
    """0 for ``x <= -1``, ``(x + 1)^2 / 4`` on ``(-1, 1)``, ``x`` for ``x >= 1``: a softplus reaching 0 exactly."""
    return jax.nn.sparse_plus(x)


def sparse_sigmoid(x: Array) -> Array:
    """0 for ``x <= -1``, ``(x + 1) / 2`` on ``(-1, 1)``, 1 for ``x >= 1``: the derivative of :func:`sparse_plus`."""
    return jax.nn.sparse_sigmoid(x)


def _check_slopes(owner: str, lower: float, upper: float) -> None:
    if not lower <= upper:
        raise ConfigError(f"{owner} needs lower <= upper, got lower={lower}, upper={upper}. "
                          "Fix: swap them (the negative slope is drawn from U(lower, upper)).")


def rrelu(x: Array, lower: float = 1.0 / 8, upper: float = 1.0 / 3, *, rng: Any = None) -> Array:
    """Randomised leaky ReLU: ``x`` for ``x >= 0``, ``a * x`` otherwise, with ``a ~ U(lower, upper)`` per element.

    Every call draws new slopes (from ``rng``, default ``brainstate.random.DEFAULT``). For the
    deterministic evaluation form use ``leaky_relu(x, (lower + upper) / 2)``, as :class:`RReLU`
    does with ``fit=False`` (Xu et al., 2015).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> y = nn.rrelu(-jnp.ones(1000))
        >>> bool(((y <= -1 / 8) & (y >= -1 / 3)).all()), nn.rrelu(jnp.array([2.0])).tolist()
        (True, [2.0])
    """
    _check_slopes("rrelu", lower, upper)
    x = jnp.asarray(x)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.inexact) else environ.dftype()
    slope = generator(rng).uniform(lower, upper, size=x.shape, dtype=dtype)
    return jnp.where(x >= 0, x.astype(dtype), slope * x)


def logsumexp(a: Array, axis: Axis = None, b: Array | None = None, keepdims: bool = False,
              return_sign: bool = False, where: Array | None = None) -> Array | tuple[Array, Array]:
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (``jax.scipy.special.logsumexp``).

    With ``return_sign=True`` (useful with negative weights ``b``) it returns ``(log|s|, sign(s))``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> float(nn.logsumexp(jnp.array([1000.0, 1000.0])))
        1000.693...
    """
    return jax.scipy.special.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign, where=where)


def standardize(x: Array, axis: Axis = -1, variance: Array | None = None, epsilon: float = 1e-5,
                where: Array | None = None, *, mean: Array | None = None) -> Array:
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis`` (``jax.nn.standardize``).

    ``mean`` and ``variance`` are computed from ``x`` unless given; ``where`` selects the entries
    that enter them.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.standardize(jnp.array([1.0, 2.0, 3.0]), epsilon=0.0).round(4)
        Array([-1.2247,  0.    ,  1.2247], dtype=float32)
    """
    return jax.nn.standardize(x, axis=axis, mean=mean, variance=variance, epsilon=epsilon, where=where)


def one_hot(x: Array, num_classes: int, *, dtype: Any = None, axis: int | Sequence[int] = -1) -> Array:
    """Encode integer class ids as one-hot vectors of length ``num_classes`` along the new axis ``axis``.

    Ids outside ``[0, num_classes)`` give all-zero vectors. ``dtype`` defaults to
    ``brainstate.environ.dftype()``. Unlike ``jax.nn.one_hot``, float ids raise (a float id
    like ``1.5`` would silently encode as zeros).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.one_hot(jnp.array([1, 5]), 3).tolist()  # 5 is out of range
        [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ConfigError(f"one_hot num_classes must be a positive int, got {num_classes!r}. "
                          "Fix: pass the number of classes, e.g. num_classes=10.")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise InputError(f"one_hot needs integer class ids, got an array of dtype {x.dtype}. "
                         "Fix: cast the ids with x.astype(jnp.int32).")
    return jax.nn.one_hot(x, int(num_classes), dtype=environ.dftype() if dtype is None else dtype, axis=axis)
