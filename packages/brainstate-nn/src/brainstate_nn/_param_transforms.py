"""Constraint transforms of :class:`~brainstate.nn.Param`: the base class and the elementwise bijections.

A transform maps an unconstrained value ``x`` (what the optimiser trains) to a constrained value
``y = forward(x)`` (what the model uses); ``inverse`` maps back. ``log_abs_det_jacobian(x, y)`` is
``log |det d forward / d x|`` with the last axis as the event axis: elementwise transforms sum their
elementwise log-derivatives over the last axis (a scalar input gives a scalar). Composite, vector
and non-bijective transforms are in ``_param_transforms_struct.py``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError
from brainstate_core.internal import is_tracer

__all__ = [
    "Transform",
    "IdentityT",
    "SigmoidT",
    "SoftplusT",
    "NegSoftplusT",
    "LogT",
    "ExpT",
    "TanhT",
    "SoftsignT",
    "AffineT",
    "PositiveT",
    "NegativeT",
    "ScaledSigmoidT",
    "PowerT",
]

_LOG2 = float(np.log(2.0))


def _event_sum(a: jax.Array) -> jax.Array:
    """Sum over the last (event) axis; a scalar stays a scalar."""
    return jnp.sum(a, axis=-1) if jnp.ndim(a) > 0 else jnp.asarray(a)


def _softplus_inv(y: Any) -> jax.Array:
    """The inverse of softplus on ``y > 0``, stable for small and large ``y``."""
    y = jnp.asarray(y)
    return y + jnp.log(-jnp.expm1(-y))


def _check_interval(name: str, lower: Any, upper: Any) -> None:
    if is_tracer(lower) or is_tracer(upper):
        return
    if not np.all(np.asarray(lower) < np.asarray(upper)):
        raise ConfigError(
            f"{name} got lower={lower!r}, upper={upper!r}: the interval is empty. Fix: pass lower < upper."
        )


class Transform:
    """Base class of the constraint transforms: ``forward`` (unconstrained to constrained), ``inverse``.

    Subclasses override :meth:`forward` and :meth:`inverse`, and :meth:`log_abs_det_jacobian`
    where the map is a bijection with a tractable Jacobian. Calling a transform calls ``forward``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> class Double(nn.Transform):
        ...     def forward(self, x):
        ...         return 2 * x
        ...     def inverse(self, y):
        ...         return y / 2
        >>> Double()(jnp.array(1.5)), Double().inverse(3.0)
        (Array(3., dtype=float32, weak_type=True), 1.5)
    """

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return ()

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" if k else repr(v) for k, v in self._repr_items())
        return f"{type(self).__name__}({items})"

    def __call__(self, x: Any) -> jax.Array:
        return self.forward(x)

    def forward(self, x: Any) -> jax.Array:
        """The constrained value of the unconstrained ``x``."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward. Fix: override `forward(self, x)`.")

    def inverse(self, y: Any) -> jax.Array:
        """The unconstrained value whose ``forward`` is ``y``."""
        raise NotImplementedError(f"{type(self).__name__} does not define inverse. Fix: override `inverse(self, y)`.")

    def log_abs_det_jacobian(self, x: Any, y: Any) -> jax.Array:
        """``log |det J|`` of ``forward`` at ``x`` (``y = forward(x)``), summed over the last axis."""
        raise NotImplementedError(
            f"{type(self).__name__} has no log-det-Jacobian (it is not a bijection with a tractable Jacobian). "
            "Fix: override `log_abs_det_jacobian(self, x, y)` in a subclass."
        )


class _ElementwiseT(Transform):
    """An elementwise bijection: subclasses give ``_log_abs_grad(x)``, ``log |forward'(x)|``."""

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: Any, y: Any) -> jax.Array:
        x = jnp.asarray(x)
        return _event_sum(jnp.broadcast_to(self._log_abs_grad(x), jnp.shape(x)))


class IdentityT(_ElementwiseT):
    """``y = x`` (no constraint).

    Example:
        >>> import brainstate_nn as nn
        >>> nn.IdentityT()(2.0)
        2.0
    """

    def forward(self, x: Any) -> Any:
        return x

    def inverse(self, y: Any) -> Any:
        return y

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jnp.zeros_like(x, dtype=jnp.result_type(x, jnp.float32))


class _IntervalT(_ElementwiseT):
    """Base of the maps onto the open interval ``(lower, upper)``."""

    def __init__(self, lower: Any, upper: Any) -> None:
        _check_interval(type(self).__name__, lower, upper)
        self.lower = lower
        self.upper = upper
        self.width = jnp.asarray(upper) - jnp.asarray(lower)

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lower", self.lower), ("upper", self.upper))

    def _unit(self, y: Any) -> jax.Array:
        """``y`` rescaled to (0, 1)."""
        return (jnp.asarray(y) - self.lower) / self.width


class SigmoidT(_IntervalT):
    """``y = lower + (upper - lower) * sigmoid(x)``: onto the open interval ``(lower, upper)``.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.SigmoidT(0.0, 2.0)
        >>> float(t(0.0)), round(float(t.inverse(1.5)), 4)
        (1.0, 1.0986)
    """

    def forward(self, x: Any) -> jax.Array:
        return self.lower + self.width * jax.nn.sigmoid(x)

    def inverse(self, y: Any) -> jax.Array:
        return jax.scipy.special.logit(self._unit(y))

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jnp.log(self.width) + jax.nn.log_sigmoid(x) + jax.nn.log_sigmoid(-x)


class ScaledSigmoidT(_IntervalT):
    """``y = lower + (upper - lower) * sigmoid(beta * x)``: :class:`SigmoidT` with slope ``beta > 0``.

    Example:
        >>> import brainstate_nn as nn
        >>> round(float(nn.ScaledSigmoidT(0.0, 1.0, beta=2.0)(1.0)), 4)
        0.8808
    """

    def __init__(self, lower: Any, upper: Any, beta: float = 1.0) -> None:
        if not (np.isfinite(beta) and beta > 0):
            raise ConfigError(f"ScaledSigmoidT got beta={beta!r}. Fix: pass a positive finite slope.")
        super().__init__(lower, upper)
        self.beta = beta

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (*super()._repr_items(), ("beta", self.beta))

    def forward(self, x: Any) -> jax.Array:
        return self.lower + self.width * jax.nn.sigmoid(self.beta * jnp.asarray(x))

    def inverse(self, y: Any) -> jax.Array:
        return jax.scipy.special.logit(self._unit(y)) / self.beta

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        bx = self.beta * x
        return jnp.log(self.width * self.beta) + jax.nn.log_sigmoid(bx) + jax.nn.log_sigmoid(-bx)


class TanhT(_IntervalT):
    """``y = lower + (upper - lower) * (tanh(x) + 1) / 2``: onto ``(lower, upper)``.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.TanhT(-1.0, 3.0)(0.0))
        1.0
    """

    def forward(self, x: Any) -> jax.Array:
        return self.lower + self.width * (jnp.tanh(x) + 1.0) / 2.0

    def inverse(self, y: Any) -> jax.Array:
        return jnp.arctanh(2.0 * self._unit(y) - 1.0)

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        # log(1 - tanh(x)^2) = 2 * (log 2 - x - softplus(-2x)), stable for large |x|.
        return jnp.log(self.width / 2.0) + 2.0 * (_LOG2 - x - jax.nn.softplus(-2.0 * x))


class SoftsignT(_IntervalT):
    """``y = lower + (upper - lower) * (x / (1 + |x|) + 1) / 2``: onto ``(lower, upper)``, with
    polynomial rather than exponential tails.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.SoftsignT(0.0, 1.0)(1.0))
        0.75
    """

    def forward(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return self.lower + self.width * (x / (1.0 + jnp.abs(x)) + 1.0) / 2.0

    def inverse(self, y: Any) -> jax.Array:
        z = 2.0 * self._unit(y) - 1.0
        return z / (1.0 - jnp.abs(z))

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jnp.log(self.width / 2.0) - 2.0 * jnp.log1p(jnp.abs(x))


class SoftplusT(_ElementwiseT):
    """``y = softplus(x) + lower``: onto ``(lower, inf)``.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.SoftplusT(1.0)
        >>> round(float(t(0.0)), 4), round(float(t.inverse(t(0.3))), 4)
        (1.6931, 0.3)
    """

    def __init__(self, lower: Any = 0.0) -> None:
        self.lower = lower

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lower", self.lower),)

    def forward(self, x: Any) -> jax.Array:
        return jax.nn.softplus(x) + self.lower

    def inverse(self, y: Any) -> jax.Array:
        return _softplus_inv(jnp.asarray(y) - self.lower)

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jax.nn.log_sigmoid(x)


class NegSoftplusT(_ElementwiseT):
    """``y = upper - softplus(-x)``: onto ``(-inf, upper)``.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.NegSoftplusT(1.0)
        >>> round(float(t(0.0)), 4), round(float(t.inverse(t(-0.4))), 4)
        (0.3069, -0.4)
    """

    def __init__(self, upper: Any = 0.0) -> None:
        self.upper = upper

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("upper", self.upper),)

    def forward(self, x: Any) -> jax.Array:
        return self.upper - jax.nn.softplus(-jnp.asarray(x))

    def inverse(self, y: Any) -> jax.Array:
        return -_softplus_inv(self.upper - jnp.asarray(y))

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jax.nn.log_sigmoid(-x)


class ExpT(_ElementwiseT):
    """``y = lower + exp(x)``: onto ``(lower, inf)``; the stored value is ``log(y - lower)``.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.ExpT(1.0)
        >>> float(t(0.0)), float(t.inverse(2.0))
        (2.0, 0.0)
    """

    def __init__(self, lower: Any = 0.0) -> None:
        self.lower = lower

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lower", self.lower),)

    def forward(self, x: Any) -> jax.Array:
        return self.lower + jnp.exp(x)

    def inverse(self, y: Any) -> jax.Array:
        return jnp.log(jnp.asarray(y) - self.lower)

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return x


class LogT(ExpT):
    """The log parametrisation of ``(lower, inf)``: the stored value is ``log(y - lower)``,
    ``y = lower + exp(x)`` (the same map as :class:`ExpT`, named after what is stored).

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.LogT(0.0).inverse(1.0))
        0.0
    """


class PositiveT(ExpT):
    """``y = exp(x)``: onto ``(0, inf)``.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.PositiveT()(0.0))
        1.0
    """

    def __init__(self) -> None:
        super().__init__(0.0)

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return ()


class NegativeT(NegSoftplusT):
    """``y = -softplus(-x)``: onto ``(-inf, 0)``.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.NegativeT()(100.0)) <= 0.0
        True
    """

    def __init__(self) -> None:
        super().__init__(0.0)

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return ()


class AffineT(_ElementwiseT):
    """``y = scale * x + shift`` (``scale`` nonzero).

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.AffineT(2.0, 1.0)
        >>> float(t(1.0)), float(t.inverse(5.0))
        (3.0, 2.0)
    """

    def __init__(self, scale: Any, shift: Any) -> None:
        if not is_tracer(scale) and np.any(np.asarray(scale) == 0):
            raise ConfigError(f"AffineT got scale={scale!r}: a zero scale is not invertible. Fix: pass a nonzero scale.")
        self.a = scale
        self.b = shift

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("scale", self.a), ("shift", self.b))

    def forward(self, x: Any) -> jax.Array:
        return self.a * jnp.asarray(x) + self.b

    def inverse(self, y: Any) -> jax.Array:
        return (jnp.asarray(y) - self.b) / self.a

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return jnp.log(jnp.abs(jnp.asarray(self.a, dtype=jnp.result_type(x, jnp.float32))))


class PowerT(_ElementwiseT):
    """The Box-Cox map ``y = (x ** lmbda - 1) / lmbda`` (``log x`` for ``lmbda = 0``), on ``x > 0``.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.PowerT(0.5)
        >>> float(t(4.0)), float(t.inverse(2.0))
        (2.0, 4.0)
    """

    def __init__(self, lmbda: float = 0.5) -> None:
        self.lmbda = lmbda

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lmbda", self.lmbda),)

    def forward(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if abs(self.lmbda) < 1e-10:
            return jnp.log(x)
        return (jnp.power(x, self.lmbda) - 1.0) / self.lmbda

    def inverse(self, y: Any) -> jax.Array:
        y = jnp.asarray(y)
        if abs(self.lmbda) < 1e-10:
            return jnp.exp(y)
        return jnp.power(self.lmbda * y + 1.0, 1.0 / self.lmbda)

    def _log_abs_grad(self, x: jax.Array) -> jax.Array:
        return (self.lmbda - 1.0) * jnp.log(x)
