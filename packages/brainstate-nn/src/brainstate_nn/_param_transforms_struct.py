"""Composite, vector-valued and non-bijective constraint transforms of :class:`~brainstate.nn.Param`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError

from ._param_transforms import Transform, _check_interval, _ElementwiseT, _event_sum, _softplus_inv

__all__ = [
    "ChainT",
    "MaskedT",
    "ClipT",
    "ReluT",
    "OrderedT",
    "SimplexT",
    "UnitVectorT",
]


class ChainT(Transform):
    """Apply transforms in order: ``forward`` is ``t_n(...t_1(x))``, ``inverse`` the reverse.

    Example:
        >>> import brainstate_nn as nn
        >>> t = nn.ChainT(nn.SoftplusT(0.0), nn.AffineT(2.0, 1.0))
        >>> round(float(t(0.0)), 4), round(float(t.inverse(t(0.7))), 4)
        (2.3863, 0.7)
    """

    def __init__(self, *transforms: Transform) -> None:
        for i, t in enumerate(transforms):
            if not isinstance(t, Transform):
                raise ConfigError(f"ChainT argument {i} is {t!r}, not a Transform. Fix: pass brainstate.nn transforms.")
        self.transforms = tuple(transforms)

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return tuple(("", t) for t in self.transforms)

    def forward(self, x: Any) -> jax.Array:
        for t in self.transforms:
            x = t.forward(x)
        return x

    def inverse(self, y: Any) -> jax.Array:
        for t in reversed(self.transforms):
            y = t.inverse(y)
        return y

    def log_abs_det_jacobian(self, x: Any, y: Any) -> jax.Array:
        total = jnp.zeros(())
        for t in self.transforms:
            nxt = t.forward(x)
            total = total + t.log_abs_det_jacobian(x, nxt)
            x = nxt
        return total


class MaskedT(Transform):
    """Apply ``transform`` where ``mask`` is true, the identity elsewhere.

    Masked-out entries are fed ``safe_value`` before the inner transform (then discarded), so an
    inner map undefined there (``log`` of a negative, say) yields no NaN, in values or gradients.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> t = nn.MaskedT(jnp.array([True, False]), nn.PositiveT())
        >>> t(jnp.array([0.0, -3.0]))
        Array([ 1., -3.], dtype=float32)
    """

    def __init__(self, mask: Any, transform: Transform, safe_value: Any = 1.0) -> None:
        if not isinstance(transform, Transform):
            raise ConfigError(f"MaskedT got transform={transform!r}, not a Transform. Fix: pass a brainstate.nn transform.")
        self.mask = jnp.asarray(mask, dtype=bool)
        self.transform = transform
        self.safe_value = safe_value

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("mask", self.mask), ("transform", self.transform))

    def forward(self, x: Any) -> jax.Array:
        safe = jnp.where(self.mask, x, self.safe_value)
        return jnp.where(self.mask, self.transform.forward(safe), x)

    def inverse(self, y: Any) -> jax.Array:
        safe = jnp.where(self.mask, y, self.safe_value)
        return jnp.where(self.mask, self.transform.inverse(safe), y)

    def log_abs_det_jacobian(self, x: Any, y: Any) -> jax.Array:
        if not isinstance(self.transform, _ElementwiseT):
            return super().log_abs_det_jacobian(x, y)
        x = jnp.asarray(x)
        safe = jnp.where(self.mask, x, self.safe_value)
        grad = jnp.broadcast_to(self.transform._log_abs_grad(safe), jnp.shape(safe))
        return _event_sum(jnp.where(self.mask, grad, 0.0))


class ClipT(Transform):
    """``y = clip(x, lower, upper)``; ``inverse`` clips too. Not a bijection (no log-det-Jacobian),
    and the gradient is zero outside the bounds: prefer :class:`SigmoidT` for training.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.ClipT(0.0, 1.0)(3.0))
        1.0
    """

    def __init__(self, lower: Any, upper: Any) -> None:
        _check_interval("ClipT", lower, upper)
        self.lower = lower
        self.upper = upper

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lower", self.lower), ("upper", self.upper))

    def forward(self, x: Any) -> jax.Array:
        return jnp.clip(x, self.lower, self.upper)

    def inverse(self, y: Any) -> jax.Array:
        return jnp.clip(y, self.lower, self.upper)


class ReluT(Transform):
    """``y = relu(x) + lower_bound``; ``inverse(y) = relu(y - lower_bound)``. Not a bijection: every
    ``x <= 0`` maps to ``lower_bound`` (with zero gradient); prefer :class:`SoftplusT` for training.

    Example:
        >>> import brainstate_nn as nn
        >>> float(nn.ReluT(0.5)(-2.0))
        0.5
    """

    def __init__(self, lower_bound: float = 0.0) -> None:
        self.lower_bound = lower_bound

    def _repr_items(self) -> tuple[tuple[str, Any], ...]:
        return (("lower_bound", self.lower_bound),)

    def forward(self, x: Any) -> jax.Array:
        return jax.nn.relu(x) + self.lower_bound

    def inverse(self, y: Any) -> jax.Array:
        return jax.nn.relu(jnp.asarray(y) - self.lower_bound)


class OrderedT(Transform):
    """Increasing vectors along the last axis: ``y_0 = x_0``, ``y_k = y_{k-1} + softplus(x_k)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> y = nn.OrderedT()(jnp.array([0.0, -1.0, 2.0]))
        >>> bool(jnp.all(jnp.diff(y) > 0))
        True
    """

    def forward(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        head = x[..., :1]
        return jnp.concatenate([head, head + jnp.cumsum(jax.nn.softplus(x[..., 1:]), axis=-1)], axis=-1)

    def inverse(self, y: Any) -> jax.Array:
        y = jnp.asarray(y)
        return jnp.concatenate([y[..., :1], _softplus_inv(jnp.diff(y, axis=-1))], axis=-1)

    def log_abs_det_jacobian(self, x: Any, y: Any) -> jax.Array:
        # The Jacobian is lower triangular with diagonal (1, sigmoid(x_1), ..., sigmoid(x_n)).
        return jnp.sum(jax.nn.log_sigmoid(jnp.asarray(x)[..., 1:]), axis=-1)


class SimplexT(Transform):
    """Stick-breaking map from ``R^(K-1)`` onto the open probability simplex in ``R^K`` (last axis).

    ``z_k = sigmoid(x_k)``, ``y_k = z_k * prod_{j<k}(1 - z_j)``, and the last entry takes what is left.
    Not square, so it has no log-det-Jacobian.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> y = nn.SimplexT()(jnp.zeros(2))
        >>> y, float(y.sum())
        (Array([0.5 , 0.25, 0.25], dtype=float32), 1.0)
    """

    def forward(self, x: Any) -> jax.Array:
        z = jax.nn.sigmoid(jnp.asarray(x))
        rest = jnp.cumprod(1.0 - z, axis=-1)
        before = jnp.concatenate([jnp.ones_like(z[..., :1]), rest[..., :-1]], axis=-1)
        return jnp.concatenate([z * before, rest[..., -1:]], axis=-1)

    def inverse(self, y: Any) -> jax.Array:
        y = jnp.asarray(y)
        head = y[..., :-1]
        remaining = 1.0 - jnp.cumsum(head, axis=-1) + head
        eps = jnp.finfo(y.dtype).eps
        return jax.scipy.special.logit(jnp.clip(head / remaining, eps, 1.0 - eps))


class UnitVectorT(Transform):
    """``y = x / |x|`` along the last axis; ``inverse`` returns ``y`` (already a unit vector, and a
    point of the preimage). Not a bijection, so no log-det-Jacobian.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> nn.UnitVectorT()(jnp.array([3.0, 4.0]))
        Array([0.6, 0.8], dtype=float32)
    """

    def forward(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        sq = jnp.sum(x * x, axis=-1, keepdims=True)
        # A zero vector has no direction: it maps to zero, with a finite gradient.
        safe = jnp.where(sq > 0, sq, 1.0)
        return jnp.where(sq > 0, x * jax.lax.rsqrt(safe), 0.0)

    def inverse(self, y: Any) -> jax.Array:
        return jnp.asarray(y)
