"""Location-scale, extreme-value and other named univariate samplers (methods of ``RandomState``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ._common import (
    NONNEG,
    POSITIVE,
    Size,
    float_dtype,
    kernel,
    masked,
    out_shape,
    rejection,
    require,
    require_all,
    sampler_doc,
)

__all__ = ["UnivariateSamplers"]

_STANDARD = {
    "cauchy": jax.random.cauchy,
    "laplace": jax.random.laplace,
    "logistic": jax.random.logistic,
    "gumbel": jax.random.gumbel,
}


@kernel("shape", "dtype", "family")
def _loc_scale(key, loc, scale, *, shape, dtype, family):
    return masked(loc + scale * _STANDARD[family](key, shape, dtype), scale >= 0).astype(dtype)


@kernel("shape", "dtype")
def _lognormal(key, mean, sigma, *, shape, dtype):
    return masked(jnp.exp(mean + sigma * jax.random.normal(key, shape, dtype)), sigma >= 0).astype(dtype)


@kernel("shape", "dtype")
def _loggamma(key, a, *, shape, dtype):
    return masked(jax.random.loggamma(key, a, shape, dtype), a > 0)


_EXP_TRANSFORMS = {
    "pareto": lambda e, a: jnp.expm1(e / a),  # Lomax (Pareto II), as in NumPy
    "power": lambda e, a: jnp.exp(-e / a),  # P(X <= x) = x**a on [0, 1]
    "weibull": lambda e, a: e ** (1 / a),
    "rayleigh": lambda e, scale: scale * jnp.sqrt(2 * e),
}


@kernel("shape", "dtype", "family")
def _from_exponential(key, a, scale, *, shape, dtype, family):
    """Samplers that transform a standard exponential draw ``e``; all need ``a > 0`` and ``scale >= 0``."""
    e = jax.random.exponential(key, shape, dtype)
    return masked(scale * _EXP_TRANSFORMS[family](e, a), (a > 0) & (scale >= 0)).astype(dtype)


@kernel("shape", "dtype")
def _triangular(key, left, mode, right, *, shape, dtype):
    valid = (left <= mode) & (mode <= right) & (left < right)
    return masked(jax.random.triangular(key, left, mode, right, shape, dtype), valid)


@kernel("shape", "dtype")
def _maxwell(key, *, shape, dtype):
    return jax.random.maxwell(key, shape, dtype)


@kernel("shape", "dtype")
def _wald(key, mean, scale, *, shape, dtype):
    # Michael-Schucany-Haas; x = mean + mean/(2 scale) * (y - sqrt(4 scale y + y^2)) rewritten without cancellation.
    k_norm, k_unif = jax.random.split(key)
    mean, scale = jnp.asarray(mean, dtype), jnp.asarray(scale, dtype)
    y = mean * jax.random.normal(k_norm, shape, dtype) ** 2
    t = 4 * scale / jnp.where(y > 0, y, 1)
    x = jnp.where(y > 0, mean * t / (1 + jnp.sqrt(1 + t)) ** 2, mean)
    u = jax.random.uniform(k_unif, shape, dtype)
    out = jnp.where(u <= mean / (mean + x), x, mean * mean / x)
    return masked(out, (mean > 0) & (scale > 0))


@kernel("shape", "dtype")
def _vonmises(key, mu, kappa, *, shape, dtype):
    # Best & Fisher (1979) rejection sampler, with a wrapped normal for very concentrated kappa.
    k_rej, k_sign, k_flat, k_norm = jax.random.split(key, 4)
    kappa = jnp.broadcast_to(jnp.asarray(kappa, dtype), shape)
    flat = kappa < 1e-8
    sharp = kappa > (1e6 if jnp.dtype(dtype).itemsize >= 8 else 1e4)
    k = jnp.where(flat | sharp, 1.0, kappa)
    r = 1 + jnp.sqrt(1 + 4 * k * k)
    rho = 2 * k / (r + jnp.sqrt(2 * r))
    s = (1 + rho * rho) / (2 * rho)

    def propose(sub):
        k_u, k_v = jax.random.split(sub)
        z = jnp.cos(math.pi * jax.random.uniform(k_u, shape, dtype))
        w = (1 + s * z) / (s + z)
        y = k * (s - w)
        v = jax.random.uniform(k_v, shape, dtype, minval=jnp.finfo(dtype).tiny)
        return w, (y * (2 - y) - v >= 0) | (jnp.log(y / v) + 1 - y >= 0)

    w, accepted = rejection(k_rej, propose, flat | sharp | ~(kappa >= 0), shape, dtype)
    sign = jnp.where(jax.random.uniform(k_sign, shape, dtype) < 0.5, -1, 1)
    theta = sign * jnp.arccos(jnp.clip(w, -1, 1))
    theta = jnp.where(flat, math.pi * (2 * jax.random.uniform(k_flat, shape, dtype) - 1), theta)
    theta = jnp.where(sharp, jax.random.normal(k_norm, shape, dtype) / jnp.sqrt(kappa), theta)
    out = jnp.mod(mu + theta + math.pi, 2 * math.pi) - math.pi
    return masked(out.astype(dtype), (kappa >= 0) & (accepted | flat | sharp))


class UnivariateSamplers:
    """Cauchy, Laplace, logistic, Gumbel, lognormal, Pareto, Weibull, von Mises, Wald, ... samplers."""

    __slots__ = ()
    _draw: Callable[..., jax.Array]

    def _loc_scale_draw(self, family: str, loc: Any, scale: Any, size: Size, key: Any, dtype: Any) -> jax.Array:
        require(family, "scale", scale, NONNEG)
        shape = out_shape(family, size, loc, scale)
        return self._draw(_loc_scale, key, loc, scale, shape=shape, dtype=float_dtype(family, dtype), family=family)

    def _exp_draw(self, family: str, a: Any, scale: Any, size: Size, key: Any, dtype: Any) -> jax.Array:
        shape = out_shape(family, size, a, scale)
        return self._draw(_from_exponential, key, a, scale, shape=shape, dtype=float_dtype(family, dtype), family=family)

    @sampler_doc
    def standard_cauchy(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard Cauchy (Lorentz) samples: location 0, scale 1.

        Args:
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).standard_cauchy(3).shape
            (3,)
        """
        return self._loc_scale_draw("cauchy", 0.0, 1.0, size, key, dtype)

    @sampler_doc
    def cauchy(self, loc: Any = 0.0, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Cauchy samples with location ``loc`` and scale ``scale`` (``>= 0``).

        Args:
            loc: location (the median).
            scale: half width at half maximum, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).cauchy(1.0, 2.0, size=3).shape
            (3,)
        """
        return self._loc_scale_draw("cauchy", loc, scale, size, key, dtype)

    @sampler_doc
    def laplace(self, loc: Any = 0.0, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Laplace (double exponential) samples.

        Args:
            loc: location (the mean).
            scale: exponential decay, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).laplace(0.0, 2.0, size=3).shape
            (3,)
        """
        return self._loc_scale_draw("laplace", loc, scale, size, key, dtype)

    @sampler_doc
    def logistic(self, loc: Any = 0.0, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Logistic samples.

        Args:
            loc: location (the mean).
            scale: scale, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).logistic(size=(2, 2)).shape
            (2, 2)
        """
        return self._loc_scale_draw("logistic", loc, scale, size, key, dtype)

    @sampler_doc
    def gumbel(self, loc: Any = 0.0, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Gumbel (maximum extreme value) samples.

        Args:
            loc: location of the mode.
            scale: scale, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).gumbel(size=3).shape
            (3,)
        """
        return self._loc_scale_draw("gumbel", loc, scale, size, key, dtype)

    @sampler_doc
    def lognormal(self, mean: Any = 0.0, sigma: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Log-normal samples: ``exp(normal(mean, sigma))``.

        Args:
            mean: mean of the underlying normal.
            sigma: standard deviation of the underlying normal, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).lognormal(size=5) > 0).all())
            True
        """
        require("lognormal", "sigma", sigma, NONNEG)
        shape = out_shape("lognormal", size, mean, sigma)
        return self._draw(_lognormal, key, mean, sigma, shape=shape, dtype=float_dtype("lognormal", dtype))

    @sampler_doc
    def loggamma(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Samples of ``log(X)`` for ``X ~ Gamma(a, 1)``, accurate for small ``a``.

        Args:
            a: gamma shape, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).loggamma(0.5, size=3).shape
            (3,)
        """
        require("loggamma", "a", a, POSITIVE)
        shape = out_shape("loggamma", size, a)
        return self._draw(_loggamma, key, a, shape=shape, dtype=float_dtype("loggamma", dtype))

    @sampler_doc
    def pareto(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Pareto II (Lomax) samples, as NumPy draws them: add 1 for the classical Pareto with ``x_m = 1``.

        Args:
            a: shape, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).pareto(3.0, size=5) >= 0).all())
            True
        """
        require("pareto", "a", a, POSITIVE)
        return self._exp_draw("pareto", a, 1.0, size, key, dtype)

    @sampler_doc
    def power(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Samples in ``[0, 1]`` with density ``a * x**(a - 1)``.

        Args:
            a: exponent, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).power(5.0, size=3).shape
            (3,)
        """
        require("power", "a", a, POSITIVE)
        return self._exp_draw("power", a, 1.0, size, key, dtype)

    @sampler_doc
    def weibull(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Weibull samples with shape ``a`` and scale 1.

        Args:
            a: shape, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).weibull(1.5, size=3).shape
            (3,)
        """
        require("weibull", "a", a, POSITIVE)
        return self._exp_draw("weibull", a, 1.0, size, key, dtype)

    @sampler_doc
    def weibull_min(self, a: Any, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Weibull samples with shape ``a`` and scale ``scale`` (SciPy's ``weibull_min(a, scale=scale)``).

        Args:
            a: shape (concentration), ``> 0``.
            scale: scale, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).weibull_min(2.0, 3.0, size=3).shape
            (3,)
        """
        require("weibull_min", "a", a, POSITIVE)
        require("weibull_min", "scale", scale, NONNEG)
        return self._exp_draw("weibull", a, scale, size, key, dtype)

    @sampler_doc
    def rayleigh(self, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Rayleigh samples.

        Args:
            scale: mode of the distribution, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).rayleigh(2.0, size=3).shape
            (3,)
        """
        require("rayleigh", "scale", scale, NONNEG)
        return self._exp_draw("rayleigh", 1.0, scale, size, key, dtype)

    @sampler_doc
    def triangular(self, left: Any, mode: Any, right: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Triangular samples on ``[left, right]`` with peak at ``mode``.

        Args:
            left: lower limit.
            mode: peak, ``left <= mode <= right``.
            right: upper limit, ``> left``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).triangular(0.0, 1.0, 3.0, size=10)
            >>> bool(((x >= 0) & (x <= 3)).all())
            True
        """
        require_all("triangular", lambda left, mode, right: (left <= mode) & (mode <= right) & (left < right),
                    "left <= mode <= right and left < right", left=left, mode=mode, right=right)
        shape = out_shape("triangular", size, left, mode, right)
        return self._draw(_triangular, key, left, mode, right, shape=shape, dtype=float_dtype("triangular", dtype))

    @sampler_doc
    def vonmises(self, mu: Any, kappa: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Von Mises (circular normal) samples in ``[-pi, pi)``.

        Args:
            mu: mode (angle in radians).
            kappa: concentration, ``>= 0`` (0 gives the uniform distribution on the circle).
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).vonmises(0.0, 4.0, size=10)
            >>> bool((abs(x) <= 3.1416).all())
            True
        """
        require("vonmises", "kappa", kappa, NONNEG)
        shape = out_shape("vonmises", size, mu, kappa)
        return self._draw(_vonmises, key, mu, kappa, shape=shape, dtype=float_dtype("vonmises", dtype))

    @sampler_doc
    def wald(self, mean: Any, scale: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Wald (inverse Gaussian) samples.

        Args:
            mean: the mean, ``> 0``.
            scale: the shape parameter lambda, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).wald(1.0, 2.0, size=5) > 0).all())
            True
        """
        require("wald", "mean", mean, POSITIVE)
        require("wald", "scale", scale, POSITIVE)
        shape = out_shape("wald", size, mean, scale)
        return self._draw(_wald, key, mean, scale, shape=shape, dtype=float_dtype("wald", dtype))

    @sampler_doc
    def maxwell(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Samples of the Maxwell-Boltzmann speed distribution with scale 1 (the norm of a 3-D standard normal).

        Args:
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).maxwell(3).shape
            (3,)
        """
        shape = out_shape("maxwell", size)
        return self._draw(_maxwell, key, shape=shape, dtype=float_dtype("maxwell", dtype))
