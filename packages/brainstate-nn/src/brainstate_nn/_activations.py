"""Activation functions (element-wise and along an axis), as plain functions of arrays.

Every function takes an array and returns an array of the same shape (``glu`` halves ``axis``);
the Module wrappers (``nn.ReLU()``, ``nn.Softmax(dim=-1)``, ...) live in ``_activation_modules``.

Example:
    >>> import jax.numpy as jnp
    >>> import brainstate_nn as nn
    >>> x = jnp.array([-2.0, 0.0, 2.0])
    >>> nn.relu(x), nn.hard_tanh(x)
    (Array([0., 0., 2.], dtype=float32), Array([-1.,  0.,  1.], dtype=float32))
    >>> nn.softmax(jnp.zeros(4)).tolist()
    [0.25, 0.25, 0.25, 0.25]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainstate_core import InputError

__all__ = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "mish",
    "softplus", "softsign", "sigmoid", "log_sigmoid", "tanh", "hard_tanh", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_shrink", "soft_shrink", "tanh_shrink", "prelu",
    "softmax", "log_softmax", "softmin", "glu", "identity",
]

Array = jax.Array


def relu(x: Array) -> Array:
    """``max(x, 0)``."""
    return jnp.maximum(x, 0)


def relu6(x: Array) -> Array:
    """``min(max(x, 0), 6)``."""
    return jnp.clip(x, 0, 6)


def leaky_relu(x: Array, negative_slope: float = 0.01) -> Array:
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""
    return jnp.where(x >= 0, x, negative_slope * x)


def prelu(x: Array, weight: Array) -> Array:
    """:func:`leaky_relu` with a learnable slope ``weight`` (broadcast against ``x``)."""
    return jnp.where(x >= 0, x, weight * x)


def elu(x: Array, alpha: float = 1.0) -> Array:
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0)))


def selu(x: Array) -> Array:
    """Self-normalising ELU: ``scale * elu(x, alpha)`` with the constants of Klambauer et al. (2017)."""
    return jax.nn.selu(x)


def celu(x: Array, alpha: float = 1.0) -> Array:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return jnp.maximum(x, 0) + jnp.minimum(0, alpha * jnp.expm1(jnp.minimum(x, 0) / alpha))


def gelu(x: Array, approximate: bool = False) -> Array:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate=True`` uses the tanh formula."""
    return jax.nn.gelu(x, approximate=approximate)


def silu(x: Array) -> Array:
    """``x * sigmoid(x)`` (also called swish)."""
    return x * jax.nn.sigmoid(x)


swish = silu


def mish(x: Array) -> Array:
    """``x * tanh(softplus(x))``."""
    return x * jnp.tanh(jax.nn.softplus(x))


def softplus(x: Array, beta: float = 1.0, threshold: float = 20.0) -> Array:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    bx = beta * x
    return jnp.where(bx > threshold, x, jax.nn.softplus(bx) / beta)


def softsign(x: Array) -> Array:
    """``x / (1 + |x|)``."""
    return x / (1 + jnp.abs(x))


def sigmoid(x: Array) -> Array:
    """``1 / (1 + exp(-x))``."""
    return jax.nn.sigmoid(x)


def log_sigmoid(x: Array) -> Array:
    """``log(sigmoid(x))``, computed stably."""
    return -jax.nn.softplus(-x)


def tanh(x: Array) -> Array:
    """The hyperbolic tangent."""
    return jnp.tanh(x)


def hard_tanh(x: Array, min_val: float = -1.0, max_val: float = 1.0) -> Array:
    """``x`` clipped to ``[min_val, max_val]``."""
    return jnp.clip(x, min_val, max_val)


def hard_sigmoid(x: Array) -> Array:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid."""
    return relu6(x + 3.0) / 6.0


def hard_silu(x: Array) -> Array:
    """``x * hard_sigmoid(x)`` (also called hard swish)."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_shrink(x: Array, lambd: float = 0.5) -> Array:
    """``x`` where ``|x| > lambd``, 0 elsewhere."""
    return jnp.where(jnp.abs(x) > lambd, x, 0)


def soft_shrink(x: Array, lambd: float = 0.5) -> Array:
    """``x`` moved ``lambd`` towards 0, and 0 where ``|x| <= lambd``."""
    return jnp.where(x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0))


def tanh_shrink(x: Array) -> Array:
    """``x - tanh(x)``."""
    return x - jnp.tanh(x)


def softmax(x: Array, axis: int = -1) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis`` (computed stably)."""
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x: Array, axis: int = -1) -> Array:
    """``x - logsumexp(x)`` along ``axis``."""
    return jax.nn.log_softmax(x, axis=axis)


def softmin(x: Array, axis: int = -1) -> Array:
    """``softmax(-x)`` along ``axis``."""
    return jax.nn.softmax(-x, axis=axis)


def glu(x: Array, axis: int = -1) -> Array:
    """Gated linear unit: split ``x`` in halves ``a, b`` along ``axis`` and return ``a * sigmoid(b)``."""
    if x.shape[axis] % 2:
        raise InputError(f"glu needs an even size along axis {axis}, got shape {x.shape}. "
                         "Fix: pass an input with an even size there, or choose another `axis`.")
    a, b = jnp.split(x, 2, axis=axis)
    return a * jax.nn.sigmoid(b)


def identity(x: Array) -> Array:
    """``x`` unchanged."""
    return x
