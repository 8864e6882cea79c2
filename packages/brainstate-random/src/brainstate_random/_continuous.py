"""Uniform, normal and gamma-family samplers (methods of ``RandomState``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._common import (
    NONNEG,
    POSITIVE,
    Size,
    float_dtype,
    kernel,
    masked,
    normalize_size,
    out_shape,
    require,
    require_all,
    sampler_doc,
)

__all__ = ["ContinuousSamplers"]


@kernel("shape", "dtype")
def _uniform(key, low, high, *, shape, dtype):
    return masked(jax.random.uniform(key, shape, dtype, low, high), low <= high)


@kernel("shape", "dtype")
def _normal(key, loc, scale, *, shape, dtype):
    return masked(loc + scale * jax.random.normal(key, shape, dtype), scale >= 0).astype(dtype)


@kernel("shape", "dtype")
def _truncated_normal(key, lower, upper, loc, scale, *, shape, dtype):
    z = jax.random.truncated_normal(key, (lower - loc) / scale, (upper - loc) / scale, shape, dtype)
    out = jnp.clip(loc + scale * z, lower, upper)
    return masked(out, (scale > 0) & (lower < upper)).astype(dtype)


@kernel("shape", "dtype")
def _exponential(key, scale, *, shape, dtype):
    return masked(scale * jax.random.exponential(key, shape, dtype), scale >= 0).astype(dtype)


@kernel("shape", "dtype")
def _gamma(key, a, scale, *, shape, dtype):
    return masked(scale * jax.random.gamma(key, a, shape, dtype), (a > 0) & (scale >= 0)).astype(dtype)


@kernel("shape", "dtype")
def _beta(key, a, b, *, shape, dtype):
    return masked(jax.random.beta(key, a, b, shape, dtype), (a > 0) & (b > 0))


@kernel("shape", "dtype")
def _chisquare(key, df, *, shape, dtype):
    return masked(jax.random.chisquare(key, df, shape, dtype), df > 0)


def _noncentral_chisquare_body(key, df, nonc, shape, dtype):
    # A noncentral chi-square is a chi-square with a Poisson(nonc / 2) number of extra degree pairs.
    k_pois, k_chi = jax.random.split(key)
    extra = jax.random.poisson(k_pois, nonc / 2, shape)
    return jax.random.chisquare(k_chi, df + 2 * extra, shape, dtype)


@kernel("shape", "dtype")
def _noncentral_chisquare(key, df, nonc, *, shape, dtype):
    return masked(_noncentral_chisquare_body(key, df, nonc, shape, dtype), (df > 0) & (nonc >= 0))


@kernel("shape", "dtype")
def _f(key, dfnum, dfden, *, shape, dtype):
    return masked(jax.random.f(key, dfnum, dfden, shape, dtype), (dfnum > 0) & (dfden > 0))


@kernel("shape", "dtype")
def _noncentral_f(key, dfnum, dfden, nonc, *, shape, dtype):
    k_num, k_den = jax.random.split(key)
    num = _noncentral_chisquare_body(k_num, dfnum, nonc, shape, dtype) / dfnum
    den = jax.random.chisquare(k_den, dfden, shape, dtype) / dfden
    return masked(num / den, (dfnum > 0) & (dfden > 0) & (nonc >= 0)).astype(dtype)


@kernel("shape", "dtype")
def _standard_t(key, df, *, shape, dtype):
    return masked(jax.random.t(key, df, shape, dtype), df > 0)


def _like_float(input: Any, dtype: Any) -> Any:
    if dtype is None and jnp.issubdtype(jnp.result_type(input), jnp.floating):
        return jnp.result_type(input)
    return dtype


class ContinuousSamplers:
    """Uniform, normal, exponential and gamma-family samplers."""

    __slots__ = ()
    _draw: Callable[..., jax.Array]

    @sampler_doc
    def rand(self, *dn: int, key: Any = None, dtype: Any = None) -> jax.Array:
        """Uniform samples in ``[0, 1)`` of shape ``dn`` (NumPy's ``rand(d0, d1, ...)``).

        Args:
            *dn: the dimensions of the result; none gives a scalar.
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> rng = brainstate.random.RandomState(0)
            >>> x = rng.rand(2, 3)
            >>> x.shape, bool(((x >= 0) & (x < 1)).all())
            ((2, 3), True)
        """
        shape = normalize_size("rand", dn)
        return self._draw(_uniform, key, 0.0, 1.0, shape=shape, dtype=float_dtype("rand", dtype))

    @sampler_doc
    def randn(self, *dn: int, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard normal samples of shape ``dn`` (NumPy's ``randn(d0, d1, ...)``).

        Args:
            *dn: the dimensions of the result; none gives a scalar.
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).randn(32, 3).shape
            (32, 3)
        """
        shape = normalize_size("randn", dn)
        return self._draw(_normal, key, 0.0, 1.0, shape=shape, dtype=float_dtype("randn", dtype))

    @sampler_doc
    def random(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Uniform samples in ``[0, 1)``; ``random_sample``, ``ranf`` and ``sample`` are aliases.

        Args:
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).random((2, 2)).shape
            (2, 2)
        """
        shape = out_shape("random", size)
        return self._draw(_uniform, key, 0.0, 1.0, shape=shape, dtype=float_dtype("random", dtype))

    random_sample = ranf = sample = random

    @sampler_doc
    def uniform(self, low: Any = 0.0, high: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Uniform samples in ``[low, high)``.

        Args:
            low: lower bound (array-like, broadcast).
            high: upper bound, ``>= low``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).uniform(-1.0, [1.0, 2.0], size=(5, 2))
            >>> x.shape, bool((x < 2).all())
            ((5, 2), True)
        """
        require_all("uniform", lambda low, high: low <= high, "low <= high", low=low, high=high)
        shape = out_shape("uniform", size, low, high)
        return self._draw(_uniform, key, low, high, shape=shape, dtype=float_dtype("uniform", dtype))

    @sampler_doc
    def normal(self, loc: Any = 0.0, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Normal (Gaussian) samples with mean ``loc`` and standard deviation ``scale``.

        Args:
            loc: mean.
            scale: standard deviation, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).normal(5.0, [1.0, 2.0, 3.0]).shape
            (3,)
        """
        require("normal", "scale", scale, NONNEG)
        shape = out_shape("normal", size, loc, scale)
        return self._draw(_normal, key, loc, scale, shape=shape, dtype=float_dtype("normal", dtype))

    @sampler_doc
    def standard_normal(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard normal samples (mean 0, standard deviation 1).

        Args:
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).standard_normal(4).shape
            (4,)
        """
        shape = out_shape("standard_normal", size)
        return self._draw(_normal, key, 0.0, 1.0, shape=shape, dtype=float_dtype("standard_normal", dtype))

    @sampler_doc
    def truncated_normal(
        self, lower: Any, upper: Any, size: Size = None, loc: Any = 0.0, scale: Any = 1.0, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Normal samples with mean ``loc`` and deviation ``scale``, restricted to ``[lower, upper]``.

        The bounds are on the output's scale (not standardised). No per-call compilation or
        host round trip happens: the bounds are checked in Python when they are concrete.

        Args:
            lower: lower bound.
            upper: upper bound, ``> lower``.
            {size}
            loc: mean of the untruncated normal.
            scale: standard deviation of the untruncated normal, ``> 0``.
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).truncated_normal(-1.0, 1.0, size=100)
            >>> bool((abs(x) <= 1).all())
            True
        """
        require("truncated_normal", "scale", scale, POSITIVE)
        require_all("truncated_normal", lambda lower, upper: lower < upper, "lower < upper", lower=lower, upper=upper)
        shape = out_shape("truncated_normal", size, lower, upper, loc, scale)
        dt = float_dtype("truncated_normal", dtype)
        return self._draw(_truncated_normal, key, lower, upper, loc, scale, shape=shape, dtype=dt)

    @sampler_doc
    def exponential(self, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Exponential samples with mean ``scale`` (rate ``1 / scale``).

        Args:
            scale: the mean, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).exponential(2.0, size=10) >= 0).all())
            True
        """
        require("exponential", "scale", scale, NONNEG)
        shape = out_shape("exponential", size, scale)
        return self._draw(_exponential, key, scale, shape=shape, dtype=float_dtype("exponential", dtype))

    @sampler_doc
    def standard_exponential(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Exponential samples with mean 1.

        Args:
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).standard_exponential((2, 2)).shape
            (2, 2)
        """
        shape = out_shape("standard_exponential", size)
        return self._draw(_exponential, key, 1.0, shape=shape, dtype=float_dtype("standard_exponential", dtype))

    @sampler_doc
    def gamma(self, shape: Any, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Gamma samples with shape ``shape`` (k) and scale ``scale`` (theta): mean ``k * theta``.

        Args:
            shape: shape parameter, ``> 0``.
            scale: scale parameter, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).gamma([1.0, 2.0], 3.0, size=(4, 2)).shape
            (4, 2)
        """
        require("gamma", "shape", shape, POSITIVE)
        require("gamma", "scale", scale, NONNEG)
        out = out_shape("gamma", size, shape, scale)
        return self._draw(_gamma, key, shape, scale, shape=out, dtype=float_dtype("gamma", dtype))

    @sampler_doc
    def standard_gamma(self, shape: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Gamma samples with shape ``shape`` and scale 1.

        Args:
            shape: shape parameter, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).standard_gamma(0.5, size=3).shape
            (3,)
        """
        require("standard_gamma", "shape", shape, POSITIVE)
        out = out_shape("standard_gamma", size, shape)
        return self._draw(_gamma, key, shape, 1.0, shape=out, dtype=float_dtype("standard_gamma", dtype))

    @sampler_doc
    def beta(self, a: Any, b: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Beta samples in ``[0, 1]`` with parameters ``a`` (alpha) and ``b`` (beta).

        Args:
            a: alpha, ``> 0``.
            b: beta, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).beta(2.0, 5.0, size=3).shape
            (3,)
        """
        require("beta", "a", a, POSITIVE)
        require("beta", "b", b, POSITIVE)
        shape = out_shape("beta", size, a, b)
        return self._draw(_beta, key, a, b, shape=shape, dtype=float_dtype("beta", dtype))

    @sampler_doc
    def chisquare(self, df: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Chi-square samples with ``df`` degrees of freedom.

        Args:
            df: degrees of freedom, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).chisquare(3.0, size=2).shape
            (2,)
        """
        require("chisquare", "df", df, POSITIVE)
        shape = out_shape("chisquare", size, df)
        return self._draw(_chisquare, key, df, shape=shape, dtype=float_dtype("chisquare", dtype))

    @sampler_doc
    def noncentral_chisquare(self, df: Any, nonc: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Noncentral chi-square samples.

        Args:
            df: degrees of freedom, ``> 0``.
            nonc: non-centrality, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).noncentral_chisquare(3.0, 2.0, size=2).shape
            (2,)
        """
        require("noncentral_chisquare", "df", df, POSITIVE)
        require("noncentral_chisquare", "nonc", nonc, NONNEG)
        shape = out_shape("noncentral_chisquare", size, df, nonc)
        return self._draw(_noncentral_chisquare, key, df, nonc, shape=shape, dtype=float_dtype("noncentral_chisquare", dtype))

    @sampler_doc
    def f(self, dfnum: Any, dfden: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """F (Fisher-Snedecor) samples.

        Args:
            dfnum: numerator degrees of freedom, ``> 0``.
            dfden: denominator degrees of freedom, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).f(5.0, 10.0, size=2).shape
            (2,)
        """
        require("f", "dfnum", dfnum, POSITIVE)
        require("f", "dfden", dfden, POSITIVE)
        shape = out_shape("f", size, dfnum, dfden)
        return self._draw(_f, key, dfnum, dfden, shape=shape, dtype=float_dtype("f", dtype))

    @sampler_doc
    def noncentral_f(
        self, dfnum: Any, dfden: Any, nonc: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Noncentral F samples.

        Args:
            dfnum: numerator degrees of freedom, ``> 0``.
            dfden: denominator degrees of freedom, ``> 0``.
            nonc: non-centrality, ``>= 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).noncentral_f(3.0, 20.0, 3.0, size=2).shape
            (2,)
        """
        require("noncentral_f", "dfnum", dfnum, POSITIVE)
        require("noncentral_f", "dfden", dfden, POSITIVE)
        require("noncentral_f", "nonc", nonc, NONNEG)
        shape = out_shape("noncentral_f", size, dfnum, dfden, nonc)
        return self._draw(_noncentral_f, key, dfnum, dfden, nonc, shape=shape, dtype=float_dtype("noncentral_f", dtype))

    @sampler_doc
    def standard_t(self, df: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Student's t samples with ``df`` degrees of freedom; ``t`` is an alias.

        Args:
            df: degrees of freedom, ``> 0``.
            {size}
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).standard_t(4.0, size=2).shape
            (2,)
        """
        require("standard_t", "df", df, POSITIVE)
        shape = out_shape("standard_t", size, df)
        return self._draw(_standard_t, key, df, shape=shape, dtype=float_dtype("standard_t", dtype))

    t = standard_t

    @sampler_doc
    def rand_like(self, input: Any, dtype: Any = None, key: Any = None) -> jax.Array:
        """Uniform samples in ``[0, 1)`` with the shape (and floating dtype) of ``input``.

        Args:
            input: an array (or anything with a shape) giving the shape.
            dtype: dtype of the result; ``None`` keeps ``input``'s dtype if floating, else the default float.
            {key}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.random.RandomState(0).rand_like(jnp.zeros((2, 3))).shape
            (2, 3)
        """
        dt = float_dtype("rand_like", _like_float(input, dtype))
        return self._draw(_uniform, key, 0.0, 1.0, shape=tuple(np.shape(input)), dtype=dt)

    @sampler_doc
    def randn_like(self, input: Any, dtype: Any = None, key: Any = None) -> jax.Array:
        """Standard normal samples with the shape (and floating dtype) of ``input``.

        Args:
            input: an array (or anything with a shape) giving the shape.
            dtype: dtype of the result; ``None`` keeps ``input``'s dtype if floating, else the default float.
            {key}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.random.RandomState(0).randn_like(jnp.zeros(4)).shape
            (4,)
        """
        dt = float_dtype("randn_like", _like_float(input, dtype))
        return self._draw(_normal, key, 0.0, 1.0, shape=tuple(np.shape(input)), dtype=dt)

