"""The surrogate-gradient family of upstream brainstate: a Heaviside step forward, each with its own
pseudo-derivative backward.

Every class here is a :class:`~brainstate_nn._spike_fn.Surrogate`: ``fn(x)`` is ``1.0`` where
``x >= 0`` and ``0.0`` elsewhere (upstream's forward for all of them, S2NN and LogTailedRelu
included), and ``jax.grad`` sees :meth:`surrogate_grad` instead of the step's zero derivative.
Parameters are plain Python numbers, checked on construction; an invalid one raises
:class:`brainstate_core.ConfigError`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError

from ._spike_fn import Surrogate

__all__ = [
    "Sigmoid", "PiecewiseQuadratic", "PiecewiseExp", "SoftSign", "Arctan", "NonzeroSignLog", "ERF",
    "PiecewiseLeakyRelu", "SquarewaveFourierSeries", "S2NN", "QPseudoSpike", "LeakyRelu",
    "LogTailedRelu", "GaussianGrad", "MultiGaussianGrad", "InvSquareGrad", "SlayerGrad",
]

_SQRT_2PI = math.sqrt(2 * math.pi)


def _real(owner: str, name: str, value: Any, example: float, *, gt: float | None = None) -> float:
    """``value`` as a float: a finite real number, and ``> gt`` where ``gt`` is given."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (gt is None or float(value) > gt):
        return float(value)
    need = "a finite real number" if gt is None else f"a finite number > {gt:g}"
    raise ConfigError(f"{owner} {name} must be {need}, got {value!r}. Fix: pass e.g. {name}={example!r}.")


def _gaussian(x: jax.Array, mu: float, sigma: float) -> jax.Array:
    return jnp.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (_SQRT_2PI * sigma)


class Sigmoid(Surrogate):
    """Step with the derivative of a sigmoid: ``d/dx = alpha * s * (1 - s)``, ``s = sigmoid(alpha * x)``.

    Args:
        alpha: steepness (> 0); the peak of the derivative, at ``x = 0``, is ``alpha / 4``.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import Sigmoid
        >>> fn = Sigmoid(alpha=4.0)
        >>> float(fn(0.0)), float(jax.grad(fn)(0.0))
        (1.0, 1.0)
    """

    def __init__(self, alpha: float = 4.0) -> None:
        self.alpha = _real("Sigmoid", "alpha", alpha, 4.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        s = jax.nn.sigmoid(self.alpha * x)
        return self.alpha * s * (1 - s)


class PiecewiseQuadratic(Surrogate):
    """Step with a triangular derivative: ``alpha - alpha**2 * |x|`` for ``|x| <= 1/alpha``, else 0.

    This is upstream's documented derivative (that of its piecewise-quadratic primitive); upstream's
    code computed ``alpha - (alpha * x)**2`` instead (see docs/migration.md).

    Args:
        alpha: inverse half width (> 0); the peak at ``x = 0`` is ``alpha``.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import PiecewiseQuadratic
        >>> fn = PiecewiseQuadratic(alpha=1.0)
        >>> float(fn(-0.5)), float(jax.grad(fn)(-0.5))
        (0.0, 0.5)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("PiecewiseQuadratic", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        a = self.alpha
        return jnp.where(jnp.abs(x) <= 1 / a, a - a * a * jnp.abs(x), 0.0)


class PiecewiseExp(Surrogate):
    """Step with a Laplace-shaped derivative: ``d/dx = alpha / 2 * exp(-alpha * |x|)``.

    Args:
        alpha: decay rate (> 0); the derivative integrates to 1.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import PiecewiseExp
        >>> fn = PiecewiseExp(alpha=2.0)
        >>> float(fn(0.0)), float(jax.grad(fn)(0.0))
        (1.0, 1.0)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("PiecewiseExp", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha / 2 * jnp.exp(-self.alpha * jnp.abs(x))


class SoftSign(Surrogate):
    """Step with the derivative of a soft sign: ``d/dx = alpha / 2 / (1 + alpha * |x|)**2``.

    Args:
        alpha: steepness (> 0); the derivative integrates to 1.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import SoftSign
        >>> fn = SoftSign(alpha=1.0)
        >>> float(fn(1.0)), float(jax.grad(fn)(1.0))
        (1.0, 0.125)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("SoftSign", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha / 2 / (1 + self.alpha * jnp.abs(x)) ** 2


class Arctan(Surrogate):
    """Step with the derivative of an arctangent: ``d/dx = alpha / 2 / (1 + (pi / 2 * alpha * x)**2)``.

    Args:
        alpha: steepness (> 0); the peak at ``x = 0`` is ``alpha / 2``.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import Arctan
        >>> fn = Arctan(alpha=2.0)
        >>> float(fn(0.0)), float(jax.grad(fn)(0.0))
        (1.0, 1.0)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("Arctan", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha / 2 / (1 + (math.pi / 2 * self.alpha * x) ** 2)


class NonzeroSignLog(Surrogate):
    """Step with the derivative of ``sign(x) * log(1 + alpha * |x|)``: ``d/dx = 1 / (1/alpha + |x|)``.

    The derivative does not decay to an integrable tail; it peaks at ``alpha`` at ``x = 0``.

    Args:
        alpha: peak of the derivative (> 0).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import NonzeroSignLog
        >>> fn = NonzeroSignLog(alpha=1.0)
        >>> float(fn(-1.0)), float(jax.grad(fn)(-1.0))
        (0.0, 0.5)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("NonzeroSignLog", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return 1 / (1 / self.alpha + jnp.abs(x))


class ERF(Surrogate):
    """Step with the derivative of ``(1 + erf(alpha * x)) / 2``: ``alpha / sqrt(pi) * exp(-(alpha * x)**2)``.

    Args:
        alpha: steepness (> 0); the derivative integrates to 1.

    Example:
        >>> import jax, math
        >>> from brainstate_nn.surrogate import ERF
        >>> fn = ERF(alpha=1.0)
        >>> float(fn(0.0)), round(float(jax.grad(fn)(0.0)) * math.sqrt(math.pi), 5)
        (1.0, 1.0)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("ERF", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha / math.sqrt(math.pi) * jnp.exp(-((self.alpha * x) ** 2))


class PiecewiseLeakyRelu(Surrogate):
    """Step with a box derivative on a leaky floor: ``1/w`` for ``|x| <= w``, ``c`` elsewhere.

    Upstream's documented derivative; it is twice the slope of upstream's own primitive on
    ``|x| <= w`` (see docs/migration.md).

    Args:
        c: the derivative outside the box (finite).
        w: half width of the box (> 0).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import PiecewiseLeakyRelu
        >>> fn = PiecewiseLeakyRelu(c=0.01, w=0.5)
        >>> float(jax.grad(fn)(0.25)), float(jax.grad(fn)(2.0))
        (2.0, 0.01)
    """

    def __init__(self, c: float = 0.01, w: float = 1.0) -> None:
        self.c = _real("PiecewiseLeakyRelu", "c", c, 0.01)
        self.w = _real("PiecewiseLeakyRelu", "w", w, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return jnp.where(jnp.abs(x) <= self.w, 1 / self.w, self.c)


class SquarewaveFourierSeries(Surrogate):
    """Step with the derivative of a truncated Fourier series of a square wave of period ``t_period``.

    ``d/dx = 4 / t_period * sum(cos((2i - 1) * w * x) for i in 1 .. n - 1)``, ``w = 2 pi / t_period``:
    as upstream, ``n`` counts one more than the number of harmonics kept.

    Args:
        n: number of harmonics plus one (an integer >= 2).
        t_period: period of the square wave (> 0).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import SquarewaveFourierSeries
        >>> fn = SquarewaveFourierSeries(n=2, t_period=8.0)
        >>> float(fn(0.0)), float(jax.grad(fn)(0.0))
        (1.0, 0.5)
    """

    def __init__(self, n: int = 2, t_period: float = 8.0) -> None:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
            raise ConfigError(
                f"SquarewaveFourierSeries n must be an integer >= 2, got {n!r}. Fix: pass e.g. n=2."
            )
        self.n = int(n)
        self.t_period = _real("SquarewaveFourierSeries", "t_period", t_period, 8.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        w = 2 * math.pi / self.t_period
        total = sum(jnp.cos((2 * i - 1) * w * x) for i in range(1, self.n))
        return jnp.asarray(4 / self.t_period * total)


class S2NN(Surrogate):
    """Step with the S2NN derivative: sigmoid's ``alpha * s * (1 - s)`` for ``x < 0``, ``beta / (x + 1)`` else.

    The forward value is the step, as upstream's (its smooth primitive, a sigmoid joined to
    ``beta * log(x + 1 + epsilon) + 1/2``, is not used forward). ``epsilon`` only enters that
    primitive; it is kept for upstream's signature.

    Args:
        alpha: steepness of the sigmoid side (> 0).
        beta: scale of the logarithmic side (finite).
        epsilon: offset inside upstream's logarithm (> 0).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import S2NN
        >>> fn = S2NN()
        >>> float(fn(1.0)), float(jax.grad(fn)(1.0))
        (1.0, 0.5)
    """

    def __init__(self, alpha: float = 4.0, beta: float = 1.0, epsilon: float = 1e-8) -> None:
        self.alpha = _real("S2NN", "alpha", alpha, 4.0, gt=0)
        self.beta = _real("S2NN", "beta", beta, 1.0)
        self.epsilon = _real("S2NN", "epsilon", epsilon, 1e-8, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        s = jax.nn.sigmoid(self.alpha * x)
        right = self.beta / (jnp.maximum(x, 0.0) + 1)
        return jnp.where(x < 0, self.alpha * s * (1 - s), right)


class QPseudoSpike(Surrogate):
    """Step with the q-PseudoSpike derivative: ``(1 + 2 * |x| / (alpha - 1)) ** -alpha``.

    Herranz-Celotti & Rouat (2022); ``alpha`` sets the tail fatness. This is upstream's documented
    formula; upstream's code used ``alpha + 1`` in the denominator (see docs/migration.md).

    Args:
        alpha: tail exponent (> 1); the peak at ``x = 0`` is 1.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import QPseudoSpike
        >>> fn = QPseudoSpike(alpha=2.0)
        >>> float(fn(0.5)), float(jax.grad(fn)(0.5))
        (1.0, 0.25)
    """

    def __init__(self, alpha: float = 2.0) -> None:
        self.alpha = _real("QPseudoSpike", "alpha", alpha, 2.0, gt=1)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return (1 + 2 * jnp.abs(x) / (self.alpha - 1)) ** -self.alpha


class LeakyRelu(Surrogate):
    """Step with a two-level derivative: ``alpha`` for ``x < 0``, ``beta`` for ``x >= 0``.

    Args:
        alpha: the derivative left of zero (finite).
        beta: the derivative at and right of zero (finite).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import LeakyRelu
        >>> fn = LeakyRelu(alpha=0.1, beta=1.0)
        >>> float(jax.grad(fn)(-2.0)), float(jax.grad(fn)(2.0))
        (0.1, 1.0)
    """

    def __init__(self, alpha: float = 0.1, beta: float = 1.0) -> None:
        self.alpha = _real("LeakyRelu", "alpha", alpha, 0.1)
        self.beta = _real("LeakyRelu", "beta", beta, 1.0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return jnp.where(x < 0, self.alpha, self.beta)


class LogTailedRelu(Surrogate):
    """Step with the log-tailed ReLU derivative: ``alpha`` for ``x <= 0``, 1 on ``(0, 1]``, ``1/x`` above.

    The forward value is the step, as upstream's (not the log-tailed ReLU itself).

    Args:
        alpha: the derivative at and left of zero (finite).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import LogTailedRelu
        >>> fn = LogTailedRelu(alpha=0.0)
        >>> float(fn(4.0)), float(jax.grad(fn)(4.0))
        (1.0, 0.25)
    """

    def __init__(self, alpha: float = 0.0) -> None:
        self.alpha = _real("LogTailedRelu", "alpha", alpha, 0.0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        tail = 1 / jnp.maximum(x, 1.0)
        return jnp.where(x > 0, tail, self.alpha)


class GaussianGrad(Surrogate):
    """Step with a Gaussian derivative: ``alpha * exp(-x**2 / (2 sigma**2)) / (sqrt(2 pi) * sigma)``.

    Upstream's documented ``alpha * gaussian(x, 0, sigma)``; upstream's code put ``sigma**2`` in the
    numerator of the exponent (see docs/migration.md).

    Args:
        sigma: standard deviation (> 0).
        alpha: scale (finite); the derivative integrates to ``alpha``.

    Example:
        >>> import jax, math
        >>> from brainstate_nn.surrogate import GaussianGrad
        >>> fn = GaussianGrad(sigma=1.0, alpha=1.0)
        >>> round(float(jax.grad(fn)(0.0)) * math.sqrt(2 * math.pi), 5)
        1.0
    """

    def __init__(self, sigma: float = 0.5, alpha: float = 0.5) -> None:
        self.sigma = _real("GaussianGrad", "sigma", sigma, 0.5, gt=0)
        self.alpha = _real("GaussianGrad", "alpha", alpha, 0.5)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return self.alpha * _gaussian(x, 0.0, self.sigma)


class MultiGaussianGrad(Surrogate):
    """Step with a Gaussian peak minus two wide side Gaussians (Yin et al. 2021).

    ``d/dx = scale * ((1 + h) * N(x; 0, sigma) - h * N(x; sigma, s * sigma) - h * N(x; -sigma, s * sigma))``
    where ``N(x; mu, sd)`` is the normal density; the derivative is negative in the tails.

    Args:
        h: weight of the side Gaussians (finite).
        s: width ratio of the side Gaussians to the centre one (> 0).
        sigma: standard deviation of the centre Gaussian (> 0).
        scale: overall scale (finite).

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import MultiGaussianGrad
        >>> fn = MultiGaussianGrad(h=0.0, sigma=0.5, scale=1.0)
        >>> round(float(jax.grad(fn)(0.0)), 5)
        0.79788
    """

    def __init__(self, h: float = 0.15, s: float = 6.0, sigma: float = 0.5, scale: float = 0.5) -> None:
        self.h = _real("MultiGaussianGrad", "h", h, 0.15)
        self.s = _real("MultiGaussianGrad", "s", s, 6.0, gt=0)
        self.sigma = _real("MultiGaussianGrad", "sigma", sigma, 0.5, gt=0)
        self.scale = _real("MultiGaussianGrad", "scale", scale, 0.5)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        wide = self.s * self.sigma
        centre = (1 + self.h) * _gaussian(x, 0.0, self.sigma)
        sides = self.h * (_gaussian(x, self.sigma, wide) + _gaussian(x, -self.sigma, wide))
        return self.scale * (centre - sides)


class InvSquareGrad(Surrogate):
    """Step with an inverse-square derivative: ``d/dx = 1 / (alpha * |x| + 1)**2``.

    Args:
        alpha: sharpness (> 0); the peak at ``x = 0`` is 1, the integral ``2 / alpha``.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import InvSquareGrad
        >>> fn = InvSquareGrad(alpha=1.0)
        >>> float(fn(1.0)), float(jax.grad(fn)(1.0))
        (1.0, 0.25)
    """

    def __init__(self, alpha: float = 100.0) -> None:
        self.alpha = _real("InvSquareGrad", "alpha", alpha, 100.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return 1 / (self.alpha * jnp.abs(x) + 1) ** 2


class SlayerGrad(Surrogate):
    """Step with the SLAYER derivative (Shrestha & Orchard 2018): ``d/dx = exp(-alpha * |x|)``.

    Args:
        alpha: decay rate (> 0); the peak at ``x = 0`` is 1.

    Example:
        >>> import jax
        >>> from brainstate_nn.surrogate import SlayerGrad
        >>> fn = SlayerGrad(alpha=1.0)
        >>> float(fn(0.0)), float(jax.grad(fn)(0.0))
        (1.0, 1.0)
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _real("SlayerGrad", "alpha", alpha, 1.0, gt=0)

    def surrogate_grad(self, x: jax.Array) -> jax.Array:
        return jnp.exp(-self.alpha * jnp.abs(x))
