"""Prior regularisers: ``loss(x) = weight * -sum(log p(x_i))`` for a named distribution ``p``.

Each loss is the exact negative log-density, normalising constants included (so with ``weight=1``
it matches ``-scipy.stats.<dist>.logpdf(x).sum()``), except where a class says otherwise
(:class:`UniformReg` and :class:`HorseshoeReg`). A value outside a distribution's support is
clamped to the support's edge (the loss stays finite and differentiable rather than ``inf``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from ._regularizers import Regularization, as_shape, get, hyper, positive

__all__ = [
    "GaussianReg",
    "StudentTReg",
    "CauchyReg",
    "UniformReg",
    "LogNormalReg",
    "ExponentialReg",
    "GammaReg",
    "BetaReg",
    "HorseshoeReg",
    "InverseGammaReg",
    "LogUniformReg",
    "SpikeAndSlabReg",
    "DirichletReg",
]

_EPS = 1e-8
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _random() -> Any:
    import brainstate_random

    return brainstate_random


def _pos(value: Any) -> jax.Array:
    """``value`` clamped into ``(0, inf)``."""
    return jnp.maximum(value, _EPS)


def _normal_nll(x: Any, scale: Any) -> jax.Array:
    """Elementwise ``-log N(x; 0, scale)``."""
    return 0.5 * jnp.square(x / scale) + jnp.log(scale) + _HALF_LOG_2PI


class GaussianReg(Regularization):
    """Normal prior ``N(mean, std)``: ``weight * sum(0.5 * prec * (x - mean)**2 - 0.5 * log(prec) + log(2 pi) / 2)``
    with ``prec = 1 / std**2`` (``mean`` and ``precision`` are fitted with ``fit_hyper``).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.GaussianReg(0.0, 1.0).loss(jnp.zeros(1))), 4)  # log(2 pi) / 2
        0.9189
    """

    def __init__(self, mean: Any, std: Any, weight: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        std = jnp.asarray(std)
        self.mean = hyper(mean, fit_hyper)
        self.precision = hyper(1.0 / jnp.square(std), fit_hyper)
        self.weight = hyper(weight, False)

    def loss(self, value: Any) -> jax.Array:
        prec = positive(self.precision)
        value = jnp.asarray(value)
        nll = 0.5 * prec * jnp.square(value - get(self.mean)) - 0.5 * jnp.log(prec) + _HALF_LOG_2PI
        return self.weight * jnp.sum(jnp.broadcast_to(nll, jnp.broadcast_shapes(value.shape, jnp.shape(nll))))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return get(self.mean) + _random().randn(*as_shape(shape)) / jnp.sqrt(positive(self.precision))

    def reset_value(self) -> Any:
        return get(self.mean)


class StudentTReg(Regularization):
    """Student-t prior with ``df`` degrees of freedom and ``scale`` (location 0): heavy tails.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.StudentTReg(df=3.0).loss(jnp.zeros(1))), 4)
        1.0009
    """

    def __init__(self, weight: float = 1.0, df: float = 3.0, scale: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.df = hyper(df, fit_hyper)
        self.scale = hyper(scale, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        df, scale = positive(self.df), positive(self.scale)
        z2 = jnp.square(jnp.asarray(value) / scale)
        log_norm = jnp.log(scale) + gammaln(df / 2) + 0.5 * jnp.log(df * math.pi) - gammaln((df + 1) / 2)
        return self.weight * jnp.sum(0.5 * (df + 1) * jnp.log1p(z2 / df) + log_norm)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        df = positive(self.df)
        chi2 = 2.0 * _random().gamma(df / 2, size=shape)
        return positive(self.scale) * _random().randn(*shape) * jnp.sqrt(df / chi2)


class CauchyReg(Regularization):
    """Cauchy prior with ``scale`` (location 0): ``weight * sum(log(pi * scale) + log(1 + (x/scale)**2))``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.CauchyReg().loss(jnp.zeros(1))), 4)  # log(pi)
        1.1447
    """

    def __init__(self, weight: float = 1.0, scale: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.scale = hyper(scale, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        scale = positive(self.scale)
        z2 = jnp.square(jnp.asarray(value) / scale)
        return self.weight * jnp.sum(jnp.log1p(z2) + jnp.log(math.pi * scale))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        u = _random().rand(*as_shape(shape))
        return positive(self.scale) * jnp.tan(math.pi * (u - 0.5))


class UniformReg(Regularization):
    """A soft box constraint, not a log-density: ``weight * sum(relu(lower - x)**2 + relu(x - upper)**2)``
    (zero inside ``[lower, upper]``; the true uniform log-density would be infinite outside).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.UniformReg(lower=0.0, upper=1.0).loss(jnp.array([0.5, 3.0])))
        4.0
    """

    def __init__(self, weight: float = 1.0, lower: float = -1.0, upper: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.lower = hyper(lower, fit_hyper)
        self.upper = hyper(upper, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        below = jnp.square(jax.nn.relu(get(self.lower) - value))
        above = jnp.square(jax.nn.relu(value - get(self.upper)))
        return self.weight * jnp.sum(below + above)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        lower, upper = get(self.lower), get(self.upper)
        return lower + (upper - lower) * _random().rand(*as_shape(shape))

    def reset_value(self) -> Any:
        return (get(self.lower) + get(self.upper)) / 2.0


class LogNormalReg(Regularization):
    """Log-normal prior: ``log x ~ N(mu, sigma)``, for positive values.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.LogNormalReg().loss(jnp.ones(1))), 4)
        0.9189
    """

    def __init__(self, weight: float = 1.0, mu: float = 0.0, sigma: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.mu = hyper(mu, fit_hyper)
        self.sigma = hyper(sigma, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        log_x = jnp.log(_pos(value))
        return self.weight * jnp.sum(_normal_nll(log_x - get(self.mu), positive(self.sigma)) + log_x)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return jnp.exp(get(self.mu) + positive(self.sigma) * _random().randn(*as_shape(shape)))

    def reset_value(self) -> Any:
        return jnp.exp(get(self.mu))


class ExponentialReg(Regularization):
    """Exponential prior with ``rate``: ``weight * sum(rate * x - log(rate))`` on ``x >= 0``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.ExponentialReg(rate=1.0).loss(jnp.array([2.0])))
        2.0
    """

    def __init__(self, weight: float = 1.0, rate: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.rate = hyper(rate, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        rate = positive(self.rate)
        return self.weight * jnp.sum(rate * jax.nn.relu(value) - jnp.log(rate))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return _random().exponential(size=as_shape(shape)) / positive(self.rate)


class _ShapeScaleReg(Regularization):
    """Base of the priors with a shape ``alpha`` and a rate or scale ``beta``."""

    def __init__(self, weight: float = 1.0, alpha: float = 2.0, beta: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.alpha = hyper(alpha, fit_hyper)
        self.beta = hyper(beta, fit_hyper)


class GammaReg(_ShapeScaleReg):
    """Gamma prior with shape ``alpha`` and rate ``beta``, for positive values.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.GammaReg(alpha=1.0, beta=1.0).loss(jnp.array([2.0])))
        2.0
    """

    def loss(self, value: Any) -> jax.Array:
        alpha, beta = positive(self.alpha), positive(self.beta)
        x = _pos(value)
        return self.weight * jnp.sum(-(alpha - 1) * jnp.log(x) + beta * x - alpha * jnp.log(beta) + gammaln(alpha))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return _random().gamma(positive(self.alpha), size=as_shape(shape)) / positive(self.beta)

    def reset_value(self) -> Any:
        """The mode ``(alpha - 1) / beta`` (clamped to ``eps`` for ``alpha <= 1``)."""
        return jnp.maximum((positive(self.alpha) - 1) / positive(self.beta), _EPS)


class BetaReg(Regularization):
    """Beta prior ``Beta(a, b)`` on ``(0, 1)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.BetaReg(a=2.0, b=2.0).loss(jnp.array([0.5]))), 4)
        -0.4055
    """

    def __init__(self, weight: float = 1.0, a: float = 2.0, b: float = 2.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.a = hyper(a, fit_hyper)
        self.b = hyper(b, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        a, b = positive(self.a), positive(self.b)
        value = jnp.asarray(value)
        eps = jnp.finfo(jnp.result_type(value, jnp.float32)).eps  # 1 - 1e-8 would round to 1 in float32
        x = jnp.clip(value, eps, 1.0 - eps)
        log_beta = gammaln(a) + gammaln(b) - gammaln(a + b)
        return self.weight * jnp.sum(-(a - 1) * jnp.log(x) - (b - 1) * jnp.log1p(-x) + log_beta)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return _random().beta(positive(self.a), positive(self.b), size=as_shape(shape))

    def reset_value(self) -> Any:
        """The mode ``(a - 1) / (a + b - 2)``, clipped to [0, 1]."""
        a, b = positive(self.a), positive(self.b)
        return jnp.clip((a - 1) / (a + b - 2 + _EPS), 0.0, 1.0)


class HorseshoeReg(Regularization):
    """The usual closed-form stand-in for the horseshoe prior with global scale ``tau`` (whose exact
    marginal has no closed form): ``weight * sum(log(1 + (x/tau)**2) + log(tau))``, unnormalised.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.HorseshoeReg(tau=1.0).loss(jnp.zeros(3)))
        0.0
    """

    def __init__(self, weight: float = 1.0, tau: float = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.tau = hyper(tau, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        tau = positive(self.tau)
        return self.weight * jnp.sum(jnp.log1p(jnp.square(jnp.asarray(value) / tau)) + jnp.log(tau))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        local = jnp.abs(jnp.tan(math.pi * (_random().rand(*shape) - 0.5)))
        return positive(self.tau) * local * _random().randn(*shape)


class InverseGammaReg(_ShapeScaleReg):
    """Inverse-gamma prior with shape ``alpha`` and scale ``beta``, for positive values (variances).

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> float(nn.InverseGammaReg(alpha=1.0, beta=1.0).loss(jnp.array([1.0])))
        1.0
    """

    def loss(self, value: Any) -> jax.Array:
        alpha, beta = positive(self.alpha), positive(self.beta)
        x = _pos(value)
        return self.weight * jnp.sum((alpha + 1) * jnp.log(x) + beta / x - alpha * jnp.log(beta) + gammaln(alpha))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        return positive(self.beta) / _pos(_random().gamma(positive(self.alpha), size=as_shape(shape)))

    def reset_value(self) -> Any:
        """The mode ``beta / (alpha + 1)``."""
        return positive(self.beta) / (positive(self.alpha) + 1)


class LogUniformReg(Regularization):
    """Log-uniform (reciprocal) prior on ``[lower, upper]``: ``weight * sum(log x + log(log(upper / lower)))``,
    with ``x`` clamped into the interval.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.LogUniformReg(lower=1.0, upper=2.718281828459045).loss(jnp.array([1.0]))), 4)
        0.0
    """

    def __init__(self, weight: float = 1.0, lower: float = 1e-3, upper: float = 1e3, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.lower = hyper(lower, fit_hyper)
        self.upper = hyper(upper, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        lower, upper = positive(self.lower), positive(self.upper)
        x = jnp.clip(value, lower, upper)
        return self.weight * jnp.sum(jnp.log(x) + jnp.log(jnp.log(upper / lower)))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        lo, hi = jnp.log(positive(self.lower)), jnp.log(positive(self.upper))
        return jnp.exp(lo + (hi - lo) * _random().rand(*as_shape(shape)))

    def reset_value(self) -> Any:
        """The geometric midpoint ``sqrt(lower * upper)``."""
        return jnp.sqrt(positive(self.lower) * positive(self.upper))


class SpikeAndSlabReg(Regularization):
    """Spike-and-slab prior: the mixture ``pi * N(0, spike_scale) + (1 - pi) * N(0, slab_scale)``.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> reg = nn.SpikeAndSlabReg()
        >>> bool(reg.loss(jnp.zeros(1)) < reg.loss(jnp.ones(1)))
        True
    """

    def __init__(
        self,
        weight: float = 1.0,
        spike_scale: float = 0.01,
        slab_scale: float = 1.0,
        pi: float = 0.5,
        fit_hyper: bool = False,
    ) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.spike_scale = hyper(spike_scale, fit_hyper)
        self.slab_scale = hyper(slab_scale, fit_hyper)
        self.pi = hyper(pi, fit_hyper)

    def _pi(self) -> jax.Array:
        return jnp.clip(get(self.pi), _EPS, 1.0 - _EPS)

    def loss(self, value: Any) -> jax.Array:
        pi = self._pi()
        spike = jnp.log(pi) - _normal_nll(value, positive(self.spike_scale))
        slab = jnp.log1p(-pi) - _normal_nll(value, positive(self.slab_scale))
        return self.weight * jnp.sum(-jnp.logaddexp(spike, slab))

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        shape = as_shape(shape)
        spike = _random().rand(*shape) < self._pi()
        scale = jnp.where(spike, positive(self.spike_scale), positive(self.slab_scale))
        return scale * _random().randn(*shape)


class DirichletReg(Regularization):
    """Dirichlet prior ``Dir(alpha)`` on ``p = softmax(flattened value)`` (the value holds logits):
    ``weight * -log Dir(p; alpha)``, normalised over the simplex.

    Example:
        >>> import jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> round(float(nn.DirichletReg(alpha=1.0).loss(jnp.zeros(3))), 4)  # -log(2!)
        -0.6931
    """

    def __init__(self, weight: float = 1.0, alpha: Any = 1.0, fit_hyper: bool = False) -> None:
        super().__init__(fit_hyper)
        self.weight = hyper(weight, False)
        self.alpha = hyper(alpha, fit_hyper)

    def loss(self, value: Any) -> jax.Array:
        log_p = jax.nn.log_softmax(jnp.ravel(value))
        alpha = jnp.broadcast_to(positive(self.alpha), log_p.shape)
        log_norm = jnp.sum(gammaln(alpha)) - gammaln(jnp.sum(alpha))
        return self.weight * (-jnp.sum((alpha - 1) * log_p) + log_norm)

    def sample_init(self, shape: int | Sequence[int]) -> jax.Array:
        g = _random().gamma(positive(self.alpha), size=as_shape(shape))
        return jnp.log(_pos(g / jnp.sum(g)))
