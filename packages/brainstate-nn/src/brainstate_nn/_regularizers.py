"""Regularisation penalties of :class:`~brainstate.nn.Param`: ``loss(value)`` added to a training loss.

Every regulariser is a :class:`~brainstate.nn.Module` with ``loss(value)`` (a scalar),
``sample_init(shape)`` (a random value the penalty favours) and ``reset_value()`` (the value it
favours most). With ``fit_hyper=True`` its hyperparameters are ``ParamState`` objects, so they are
trained along with the model; those that must be positive are used through ``relu(.) + eps``.
The probabilistic priors are in ``_priors.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, ParamState, State, environ

from ._module import Module

__all__ = [
    "Regularization",
    "ChainedReg",
    "L1Reg",
    "L2Reg",
    "ElasticNetReg",
    "HuberReg",
    "GroupLassoReg",
    "TotalVariationReg",
    "MaxNormReg",
    "EntropyReg",
    "OrthogonalReg",
    "SpectralNormReg",
]

_EPS = 1e-8


def as_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def hyper(value: Any, fit: bool) -> Any:
    """A hyperparameter: a float array, in a ``ParamState`` when it is fitted."""
    arr = jnp.asarray(value, dtype=environ.dftype())
    return ParamState(arr) if fit else arr


def get(x: Any) -> Any:
    return x.value if isinstance(x, State) else x


def positive(x: Any) -> jax.Array:
    """A hyperparameter that must be positive, read as ``relu(x) + eps`` (safe when it is trained)."""
    return jax.nn.relu(get(x)) + _EPS


def _randn(shape: tuple[int, ...]) -> jax.Array:
    import brainstate_random

    return brainstate_random.randn(*shape)


def _laplace(scale: Any, shape: tuple[int, ...]) -> jax.Array:
    import brainstate_random

    return scale * brainstate_random.laplace(size=shape)


class Regularization(Module):
    """Base class of the regularisers: override :meth:`loss` (and :meth:`sample_init`, :meth:`reset_value`).

    Args:
        fit_hyper: whether the hyperparameters are trainable ``ParamState`` objects.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> class SumReg(nn.Regularization):
        ...     def loss(self, value):
        ...         return jnp.sum(value)
        >>> float(SumReg().loss(jnp.ones(3))), SumReg().reset_value()
        (3.0, 0.0)
    """

    def __init__(self, fit_hyper: bool = False) -> None:
        super().__init__()
        self.fit_hyper = bool(fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        """The scalar penalty of ``value``."""
        raise NotImplementedError(f"{type(self).__name__} does not define loss. Fix: override `loss(self, value)`.")

    def update(self, value: Any) -> jax.Array:
        """``reg(value)`` is :meth:`loss`."""
        return self.loss(value)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        """A random value of ``shape`` favoured by the penalty (by default Gaussian noise)."""
        return _randn(as_shape(shape))

    def reset_value(self) -> Any:
        """The value the penalty favours most (by default ``0.0``)."""
        return 0.0


class ChainedReg(Regularization):
    """``weight * sum(r.loss(value) for r in regularizations)``; sampling and reset use the first one.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> reg = nn.ChainedReg(nn.L1Reg(1.0), nn.L2Reg(1.0), weight=0.5)
        >>> float(reg.loss(jnp.array([1.0, -2.0])))
        4.0
    """

    def __init__(self, *regularizations: Regularization, weight: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        for i, reg in enumerate(regularizations):
            if not isinstance(reg, Regularization):
                raise ConfigError(f"ChainedReg argument {i} is {reg!r}, not a Regularization. Fix: pass regularisers.")
        self.regularizations = list(regularizations)
        self.weight = hyper(weight, False)

    def loss(self, value: Any) -> jax.Array:
        total = jnp.zeros((), dtype=environ.dftype())
        for reg in self.regularizations:
            total = total + reg.loss(value)
        return self.weight * total

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        if not self.regularizations:
            return jnp.zeros(as_shape(shape), dtype=environ.dftype())
        return self.regularizations[0].sample_init(shape)

    def reset_value(self) -> Any:
        return self.regularizations[0].reset_value() if self.regularizations else 0.0


class L1Reg(Regularization):
    """``weight * sum(|x|)`` (the lasso; a Laplace prior up to constants).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.L1Reg(0.5).loss(jnp.array([1.0, -3.0])))
        2.0
    """

    def __init__(self, weight: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        return jax.nn.relu(get(self.weight)) * jnp.sum(jnp.abs(value))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return _laplace(1.0 / positive(self.weight), as_shape(shape))


class L2Reg(Regularization):
    """``weight * sum(x ** 2)`` (weight decay; a Gaussian prior up to constants).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.L2Reg(0.5).loss(jnp.array([1.0, -3.0])))
        5.0
    """

    def __init__(self, weight: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        return jax.nn.relu(get(self.weight)) * jnp.sum(jnp.square(value))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return _randn(as_shape(shape)) / jnp.sqrt(2.0 * positive(self.weight))


class ElasticNetReg(Regularization):
    """``alpha * l1_weight * sum|x| + (1 - alpha) * l2_weight * sum x**2`` (``alpha`` clipped to [0, 1]).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.ElasticNetReg(alpha=0.25).loss(jnp.array([2.0])))
        3.5
    """

    def __init__(
        self, l1_weight: float = 1.0, l2_weight: float = 1.0, alpha: float = 0.5, fit_hyper: bool = False
    ) -> None:
        super().__init__(fit_hyper)
        self.l1_weight = hyper(l1_weight, False)
        self.l2_weight = hyper(l2_weight, False)
        self.alpha = hyper(alpha, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        alpha = jnp.clip(get(self.alpha), 0.0, 1.0)
        l1 = self.l1_weight * jnp.sum(jnp.abs(value))
        l2 = self.l2_weight * jnp.sum(jnp.square(value))
        return alpha * l1 + (1.0 - alpha) * l2


class HuberReg(Regularization):
    """``weight * sum(huber_delta(x))``: quadratic ``x**2 / 2`` for ``|x| <= delta``, linear beyond.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.HuberReg(delta=1.0).loss(jnp.array([0.5, 3.0])))
        2.625
    """

    def __init__(self, weight: float = 1.0, delta: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.delta = hyper(delta, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        delta = positive(self.delta)
        a = jnp.abs(value)
        return self.weight * jnp.sum(jnp.where(a <= delta, 0.5 * jnp.square(value), delta * (a - 0.5 * delta)))


class GroupLassoReg(Regularization):
    """``weight * sum_g ||x_g||_2`` over consecutive groups of ``group_size`` entries of the
    flattened value (the last group is zero-padded); drives whole groups to zero.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.GroupLassoReg(group_size=2).loss(jnp.array([3.0, 4.0, 0.0, 0.0]))), 4)
        5.0
    """

    def __init__(self, weight: float = 1.0, group_size: int = 1, fit_hyper: bool = False) -> None:
        if not isinstance(group_size, int) or isinstance(group_size, bool) or group_size <= 0:
            raise ConfigError(f"GroupLassoReg got group_size={group_size!r}. Fix: pass a positive int.")
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.group_size = group_size

    def loss(self, value: Any) -> jax.Array:
        flat = jnp.ravel(value)
        flat = jnp.pad(flat, (0, -flat.shape[0] % self.group_size))
        groups = flat.reshape(-1, self.group_size)
        # sqrt(s + eps) keeps the gradient finite at an all-zero group.
        return self.weight * jnp.sum(jnp.sqrt(jnp.sum(jnp.square(groups), axis=1) + _EPS))


class TotalVariationReg(Regularization):
    """``weight * sum|diff(x)|`` of the flattened value: first differences (``order=1``, piecewise
    constant) or second differences (``order=2``, piecewise linear).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.TotalVariationReg().loss(jnp.array([0.0, 1.0, 3.0])))
        3.0
    """

    def __init__(self, weight: float = 1.0, order: int = 1, fit_hyper: bool = False) -> None:
        if order not in (1, 2):
            raise ConfigError(f"TotalVariationReg got order={order!r}. Fix: pass order=1 or order=2.")
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.order = order

    def loss(self, value: Any) -> jax.Array:
        return self.weight * jnp.sum(jnp.abs(jnp.diff(jnp.ravel(value), n=self.order)))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        steps = _randn(shape).ravel() / math.sqrt(max(math.prod(shape), 1))
        return jnp.cumsum(steps).reshape(shape)


class MaxNormReg(Regularization):
    """``weight * relu(||x||_2 - max_value) ** 2``: penalises only a norm above ``max_value``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.MaxNormReg(max_value=5.0).loss(jnp.array([3.0, 4.0]))) < 1e-6
        True
    """

    def __init__(self, weight: float = 1.0, max_value: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.max_value = hyper(max_value, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        norm = jnp.sqrt(jnp.sum(jnp.square(value)) + _EPS)
        return self.weight * jnp.square(jax.nn.relu(norm - positive(self.max_value)))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        x = _randn(as_shape(shape))
        return x * (0.5 * positive(self.max_value) / (jnp.linalg.norm(x) + _EPS))


class EntropyReg(Regularization):
    """The entropy ``H`` of ``softmax(flattened value)``: loss ``-weight * H`` with ``maximize=True``
    (favours spread-out values), ``+weight * H`` otherwise (favours one dominant entry).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.EntropyReg().loss(jnp.zeros(4))), 4)  # -log(4)
        -1.3863
    """

    def __init__(self, weight: float = 1.0, maximize: bool = True, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.maximize = bool(maximize)

    def loss(self, value: Any) -> jax.Array:
        log_p = jax.nn.log_softmax(jnp.ravel(value))
        entropy = -jnp.sum(jnp.exp(log_p) * log_p)
        return -self.weight * entropy if self.maximize else self.weight * entropy

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        return jnp.zeros(shape, dtype=environ.dftype()) if self.maximize else _randn(shape)


def _as_matrix(value: Any) -> jax.Array:
    """A 2-D view: a vector is a column, an array of rank > 2 keeps its first axis as rows."""
    value = jnp.asarray(value)
    if value.ndim == 1:
        return value[:, None]
    return value.reshape(value.shape[0], -1) if value.ndim > 2 else value


class OrthogonalReg(Regularization):
    """``weight * ||W^T W - I||_F ** 2``: favours orthonormal columns of the 2-D view ``W`` of the
    value (a vector is one column, rank > 2 is reshaped to ``(shape[0], -1)``, a scalar is ``|x|``).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.OrthogonalReg().loss(jnp.eye(3)))
        0.0
    """

    def __init__(self, weight: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)

    def loss(self, value: Any) -> jax.Array:
        if jnp.ndim(value) == 0:
            return self.weight * jnp.square(jnp.abs(value) - 1.0)
        w = _as_matrix(value)
        gram = w.T @ w
        return self.weight * jnp.sum(jnp.square(gram - jnp.eye(gram.shape[0], dtype=gram.dtype)))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        if len(shape) != 2:
            return 0.1 * _randn(shape)
        q, _ = jnp.linalg.qr(_randn(shape if shape[0] >= shape[1] else shape[::-1]))
        return q if shape[0] >= shape[1] else q.T


class SpectralNormReg(Regularization):
    """``weight * relu(sigma_max(W) - max_value) ** 2`` with ``sigma_max`` the largest singular
    value of the 2-D view of the value (computed exactly by SVD; ``n_power_iterations`` is accepted
    for upstream compatibility and unused).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.SpectralNormReg(max_value=1.0).loss(3.0 * jnp.eye(2))), 4)
        4.0
    """

    def __init__(
        self, weight: float = 1.0, max_value: float = 1.0, n_power_iterations: int = 1, fit_hyper: bool = False
    ) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.max_value = hyper(max_value, fit_hyper)
        self.n_power_iterations = n_power_iterations

    @staticmethod
    def _sigma(value: Any) -> jax.Array:
        if jnp.ndim(value) == 0:
            return jnp.abs(value)
        return jnp.linalg.svd(_as_matrix(value), compute_uv=False)[0]

    def loss(self, value: Any) -> jax.Array:
        return self.weight * jnp.square(jax.nn.relu(self._sigma(value) - positive(self.max_value)))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        x = _randn(as_shape(shape))
        return x * (positive(self.max_value) / (self._sigma(x) + _EPS))
