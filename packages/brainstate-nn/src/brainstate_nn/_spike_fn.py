"""Spike functions: a Heaviside step forward, a smooth surrogate derivative backward.

A neuron emits ``spk_fun(v_scaled)`` where ``v_scaled`` is zero at the threshold, so a spike is
``1.0`` exactly when ``v_scaled >= 0``. The forward value is the step; the derivative used by
``grad`` is the surrogate's ``surrogate_grad(v_scaled)`` (Neftci, Mostafa & Zenke 2019). This is the
seed of ``brainstate.surrogate``: new surrogates subclass :class:`Surrogate` and implement
:meth:`Surrogate.surrogate_grad` only.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, environ

__all__ = ["Surrogate", "ReluGrad", "heaviside"]


def _float(x: Any) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(environ.dftype())


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _spike(x: jax.Array, surrogate: Surrogate) -> jax.Array:
    return (x >= 0).astype(x.dtype)


@_spike.defjvp
def _spike_jvp(surrogate: Surrogate, primals: tuple, tangents: tuple) -> tuple:
    (x,), (dx,) = primals, tangents
    return _spike(x, surrogate), surrogate.surrogate_grad(x) * dx


class Surrogate:
    """Base class of the spike functions: ``fn(x)`` is ``1.0 where x >= 0 else 0.0``.

    Subclasses define :meth:`surrogate_grad`, the derivative that ``grad`` uses in place of the
    step's (zero almost everywhere) derivative.
    """

    def __call__(self, x: Any) -> jax.Array:
        return _spike(_float(x), self)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        """The pseudo-derivative of the step at ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must implement surrogate_grad(x).")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class ReluGrad(Surrogate):
    """Heaviside step with a triangular surrogate: ``d/dx = alpha * max(width - |x|, 0)``.

    The default spike function of the neurons (as upstream brainstate's LIF family).

    Args:
        alpha: height scale of the triangle.
        width: half width of the triangle, in units of ``x``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from brainstate_nn.surrogate import ReluGrad
        >>> fn = ReluGrad()
        >>> fn(jnp.array([-0.5, 0.0, 0.5]))
        Array([0., 1., 1.], dtype=float32)
        >>> float(jax.grad(lambda x: fn(x))(0.5))
        0.15
    """

    def __init__(self, alpha: float = 0.3, width: float = 1.0) -> None:
        if not width > 0:
            raise ConfigError(f"ReluGrad width must be > 0, got {width!r}. Fix: pass e.g. width=1.0.")
        self.alpha = float(alpha)
        self.width = float(width)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha * jnp.maximum(self.width - jnp.abs(x), 0.0)


def heaviside(x: Any) -> jax.Array:
    """The step ``1.0 where x >= 0`` with the default surrogate gradient (:class:`ReluGrad`).

    Example:
        >>> from brainstate_nn.surrogate import heaviside
        >>> heaviside([-1.0, 2.0])
        Array([0., 1.], dtype=float32)
    """
    return _DEFAULT(x)


_DEFAULT = ReluGrad()
