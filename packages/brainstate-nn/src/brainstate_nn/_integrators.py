"""One-step ODE and SDE integrators over ``environ`` ``dt``.

Every function takes the derivative ``fn(x, *args, **kwargs) -> dx/dt`` and the current value
``x`` (an array or a pytree of arrays), and returns ``x`` one step of ``dt`` later; ``args`` and
``kwargs`` are held fixed over the step. ``dt`` is ``brainstate.environ`` ``dt`` in ms.

* :func:`exp_euler_step` -- exponential Euler: for an element-wise ``fn`` it linearises ``fn``
  around ``x`` (``dx/dt ~ f + J (x' - x)``, with ``J`` the diagonal of the Jacobian) and integrates
  the linear ODE exactly, ``x' = x + f * (exp(J dt) - 1) / J``. It is exact for linear ODEs (leaky
  membranes, exponential synapses) and stable for any ``dt``. With a diffusion term it is the
  Euler--Maruyama scheme: ``x' = exp_euler(x) + g(x) sqrt(dt) N(0, 1)``.
* :func:`euler_step`, :func:`rk2_step` (explicit midpoint) and :func:`rk4_step` (classic
  Runge--Kutta), of orders 1, 2 and 4; these accept any ``fn``, not only element-wise ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError

from ._dynamics import get_dt

__all__ = ["exp_euler_step", "euler_step", "rk2_step", "rk4_step"]


def _axpy(a: Any, x: Any, y: Any) -> Any:
    """``y + a * x`` over pytrees."""
    return jax.tree.map(lambda xi, yi: yi + a * xi, x, y)


def _phi(j: jax.Array, dt: float) -> jax.Array:
    """``(exp(j dt) - 1) / j``, equal to ``dt`` in the limit ``j -> 0`` (with finite gradients there)."""
    small = jnp.abs(j * dt) < 1e-6
    safe = jnp.where(small, 1.0, j)
    return jnp.where(small, dt * (1.0 + 0.5 * j * dt), jnp.expm1(safe * dt) / safe)


def exp_euler_step(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One exponential-Euler step of ``dx/dt = fn(x, *args, **kwargs)`` (element-wise ``fn``).

    Called as ``exp_euler_step(drift, x, *args)`` for an ODE, or
    ``exp_euler_step(drift, diffusion, x, *args)`` for the SDE ``dx = drift dt + diffusion dW``
    (Euler--Maruyama; the noise draws from the default ``brainstate.random`` generator).

    Args:
        fn: the drift ``fn(x, *args, **kwargs)``, element-wise in ``x`` (the Jacobian is taken
            to be diagonal, as for any model written with per-neuron arithmetic).
        *args: ``x`` (an array), then the other arguments of ``fn``; for an SDE the diffusion
            function comes first.
        **kwargs: keyword arguments of ``fn`` (and of the diffusion).

    Returns:
        ``x`` one ``dt`` later.

    Example:
        >>> import math, brainstate_core as bc
        >>> from brainstate_nn import exp_euler_step
        >>> with bc.environ.context(dt=0.5):    # dx/dt = -x / 2 is solved exactly
        ...     x = exp_euler_step(lambda x: -x / 2.0, 1.0)
        >>> bool(abs(float(x) - math.exp(-0.25)) < 1e-6)
        True
    """
    diffusion: Callable[..., Any] | None = None
    if args and callable(args[0]):
        diffusion, args = args[0], args[1:]
    if not args:
        raise ConfigError("exp_euler_step needs the state: exp_euler_step(fn, x, *args). Fix: pass x after fn.")
    x, rest = args[0], args[1:]
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    dt = get_dt()
    drift, jac = jax.jvp(lambda v: fn(v, *rest, **kwargs), (x,), (jnp.ones_like(x),))
    out = x + _phi(jac, dt) * drift
    if diffusion is not None:
        import brainstate_random

        g = diffusion(x, *rest, **kwargs)
        noise = brainstate_random.randn(*jnp.shape(out)).astype(out.dtype)
        out = out + g * jnp.sqrt(dt) * noise
    return out


def euler_step(fn: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> Any:
    """One forward-Euler step: ``x + dt * fn(x, ...)`` (order 1).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_nn import euler_step
        >>> with bc.environ.context(dt=0.1):
        ...     float(euler_step(lambda x: -x, 1.0))
        0.9
    """
    dt = get_dt()
    return _axpy(dt, fn(x, *args, **kwargs), x)


def rk2_step(fn: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> Any:
    """One explicit-midpoint step (order 2): ``x + dt * fn(x + dt/2 * fn(x))``.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_nn import rk2_step
        >>> with bc.environ.context(dt=0.1):
        ...     round(float(rk2_step(lambda x: -x, 1.0)), 6)
        0.905
    """
    dt = get_dt()
    k1 = fn(x, *args, **kwargs)
    k2 = fn(_axpy(dt / 2, k1, x), *args, **kwargs)
    return _axpy(dt, k2, x)


def rk4_step(fn: Callable[..., Any], x: Any, *args: Any, **kwargs: Any) -> Any:
    """One classic fourth-order Runge--Kutta step.

    Example:
        >>> import math, brainstate_core as bc
        >>> from brainstate_nn import rk4_step
        >>> with bc.environ.context(dt=0.1):
        ...     x = rk4_step(lambda x: -x, 1.0)
        >>> bool(abs(float(x) - math.exp(-0.1)) < 1e-6)
        True
    """
    dt = get_dt()
    k1 = fn(x, *args, **kwargs)
    k2 = fn(_axpy(dt / 2, k1, x), *args, **kwargs)
    k3 = fn(_axpy(dt / 2, k2, x), *args, **kwargs)
    k4 = fn(_axpy(dt, k3, x), *args, **kwargs)
    incr = jax.tree.map(lambda a, b, c, d: (a + 2 * b + 2 * c + d) / 6, k1, k2, k3, k4)
    return _axpy(dt, incr, x)
