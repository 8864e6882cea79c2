"""Integer-valued samplers (methods of ``RandomState``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._common import (
    HALF_OPEN_PROB,
    INTEGER_NONNEG,
    NONNEG,
    POSITIVE,
    PROB,
    Constraint,
    Size,
    int_dtype,
    kernel,
    masked,
    out_shape,
    rejection,
    require,
    require_all,
    sampler_doc,
)

__all__ = ["DiscreteSamplers"]

_LOGSERIES_P = Constraint(lambda a: (a >= 0) & (a < 1), "in [0, 1)")
_ZIPF_A = Constraint(lambda a: a > 1, "> 1")


def _float() -> Any:
    return jax.dtypes.canonicalize_dtype(float)


@kernel("shape", "dtype")
def _randint(key, low, high, *, shape, dtype):
    return jax.random.randint(key, shape, low, high, dtype)


@kernel("shape")
def _bernoulli(key, p, *, shape):
    return jax.random.bernoulli(key, p, shape)


@kernel("shape", "dtype")
def _binomial(key, n, p, *, shape, dtype):
    count = jnp.round(jax.random.binomial(key, n, p, shape, _float()))
    return masked(count.astype(dtype), INTEGER_NONNEG.test(n) & PROB.test(p))


@kernel("shape", "dtype")
def _poisson(key, lam, *, shape, dtype):
    return masked(jax.random.poisson(key, lam, shape, dtype), lam >= 0)


@kernel("shape", "dtype")
def _geometric(key, p, *, shape, dtype):
    return masked(jax.random.geometric(key, p, shape, dtype), HALF_OPEN_PROB.test(p))


@kernel("shape", "dtype")
def _negative_binomial(key, n, p, *, shape, dtype):
    # Gamma-Poisson mixture: the number of failures before the n-th success.
    k_gamma, k_pois = jax.random.split(key)
    rate = jax.random.gamma(k_gamma, n, shape, _float()) * (1 - p) / p
    return masked(jax.random.poisson(k_pois, rate, shape, dtype), (n > 0) & HALF_OPEN_PROB.test(p))


@kernel("shape", "dtype")
def _hypergeometric(key, ngood, nbad, nsample, *, shape, dtype):
    # Draw the smaller of the sample and its complement one item at a time, without replacement.
    idt = jax.dtypes.canonicalize_dtype(int)  # count in the default int, whatever the output dtype
    good = jnp.broadcast_to(jnp.asarray(ngood, idt), shape)
    total = good + jnp.asarray(nbad, idt)
    n = jnp.broadcast_to(jnp.asarray(nsample, idt), shape)
    flip = 2 * n > total
    m = jnp.where(flip, total - n, n)

    def step(i, carry):
        good_left, total_left, count = carry
        active = i < m
        pick = active & (jax.random.randint(jax.random.fold_in(key, i), shape, 0, jnp.maximum(total_left, 1), idt) < good_left)
        return good_left - pick, total_left - active, count + pick

    rounds = jnp.max(m, initial=0)
    _, _, count = jax.lax.fori_loop(0, rounds, step, (good, total, jnp.zeros(shape, idt)))
    out = jnp.where(flip, good - count, count).astype(dtype)
    valid = INTEGER_NONNEG.test(ngood) & INTEGER_NONNEG.test(nbad) & INTEGER_NONNEG.test(nsample) & (n <= total)
    return masked(out, valid)


@kernel("shape", "dtype")
def _logseries(key, p, *, shape, dtype):
    # Kemp's second accelerated generator (as in NumPy); no rejection step is needed.
    k_v, k_u = jax.random.split(key)
    fdt = _float()
    p = jnp.asarray(p, fdt)
    v = 1 - jax.random.uniform(k_v, shape, fdt)  # in (0, 1]
    u = jax.random.uniform(k_u, shape, fdt)
    q = -jnp.expm1(jnp.log1p(-p) * u)
    long_tail = jnp.floor(1 + jnp.log(v) / jnp.log(q))
    out = jnp.where(v >= p, 1, jnp.where(v <= q * q, jnp.maximum(long_tail, 1), jnp.where(v >= q, 1, 2)))
    return masked(out.astype(dtype), _LOGSERIES_P.test(p))


@kernel("shape", "dtype")
def _zipf(key, a, *, shape, dtype):
    # Devroye's rejection sampler (as in NumPy).
    fdt = _float()
    a = jnp.broadcast_to(jnp.asarray(a, fdt), shape)
    am1 = jnp.where(a > 1, a - 1, 1)
    b = 2**am1
    limit = float(jnp.iinfo(dtype).max) + 1

    def propose(sub):
        k_u, k_v = jax.random.split(sub)
        u = 1 - jax.random.uniform(k_u, shape, fdt)
        v = jax.random.uniform(k_v, shape, fdt)
        x = jnp.floor(u ** (-1 / am1))
        t = (1 + 1 / x) ** am1
        return x, (x >= 1) & (x < limit) & (v * x * (t - 1) / (b - 1) <= t / b)

    x, accepted = rejection(key, propose, ~(a > 1), shape, fdt)
    return masked(jnp.where(accepted, x, 0).astype(dtype), accepted)


def _as_int_bounds(sampler: str, low: Any, high: Any, dtype: Any) -> None:
    require_all(sampler, lambda low, high: low < high, "low < high", low=low, high=high)
    info = np.iinfo(dtype)
    require_all(sampler, lambda low, high: (low >= info.min) & (high - 1 <= info.max),
                f"the range within {np.dtype(dtype).name} ([{info.min}, {info.max}])", low=low, high=high)


class DiscreteSamplers:
    """Integer-valued samplers: randint, bernoulli, binomial, poisson, geometric, ..."""

    __slots__ = ()
    _draw: Callable[..., jax.Array]

    @sampler_doc
    def randint(self, low: Any, high: Any = None, size: Size = None, dtype: Any = None, key: Any = None) -> jax.Array:
        """Integers drawn uniformly from ``[low, high)``; with ``high=None``, from ``[0, low)``.

        Under ``jit`` (traced bounds), ``low >= high`` cannot be checked and gives ``low``.

        Args:
            low: lowest integer (or the exclusive upper bound if ``high`` is ``None``).
            high: exclusive upper bound, ``> low``.
            {size}
            {int_dtype}
            {key}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).randint(3, 7, size=20)
            >>> bool(((x >= 3) & (x < 7)).all())
            True
        """
        if high is None:
            low, high = 0, low
        dt = int_dtype("randint", dtype)
        _as_int_bounds("randint", low, high, dt)
        shape = out_shape("randint", size, low, high)
        return self._draw(_randint, key, low, high, shape=shape, dtype=dt)

    @sampler_doc
    def random_integers(self, low: Any, high: Any = None, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Integers drawn uniformly from the closed interval ``[low, high]``; with ``high=None``, from ``[1, low]``.

        Args:
            low: lowest integer (or the inclusive upper bound if ``high`` is ``None``).
            high: inclusive upper bound, ``>= low``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).random_integers(6, size=50)
            >>> int(x.min()) >= 1 and int(x.max()) <= 6
            True
        """
        if high is None:
            low, high = 1, low
        high = (np.asarray(high) if isinstance(high, (list, tuple)) else high) + 1
        return self.randint(low, high, size=size, dtype=dtype, key=key)

    @sampler_doc
    def randint_like(self, input: Any, low: Any = 0, high: Any = None, dtype: Any = None, key: Any = None) -> jax.Array:
        """Integers in ``[low, high)`` (or ``[0, low)``) with the shape of ``input``.

        Args:
            input: an array (or anything with a shape) giving the shape.
            low: lowest integer (or the exclusive upper bound if ``high`` is ``None``).
            high: exclusive upper bound.
            dtype: integer dtype; ``None`` keeps ``input``'s dtype if it is an integer dtype.
            {key}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.random.RandomState(0).randint_like(jnp.zeros((2, 3)), 10).shape
            (2, 3)
        """
        if dtype is None and jnp.issubdtype(jnp.result_type(input), jnp.integer):
            dtype = jnp.result_type(input)
        return self.randint(low, high, size=tuple(np.shape(input)), dtype=dtype, key=key)

    @sampler_doc
    def bernoulli(self, p: Any = 0.5, size: Size = None, key: Any = None) -> jax.Array:
        """Boolean samples that are True with probability ``p``.

        Under ``jit`` (traced ``p``), a ``p`` outside ``[0, 1]`` acts as clipped to it.

        Args:
            p: probability of True, in ``[0, 1]``.
            {size}
            {key}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).bernoulli(0.3, size=4).dtype
            dtype('bool')
        """
        require("bernoulli", "p", p, PROB)
        return self._draw(_bernoulli, key, p, shape=out_shape("bernoulli", size, p))

    @sampler_doc
    def binomial(self, n: Any, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Binomial samples: successes in ``n`` trials of probability ``p``.

        Args:
            n: number of trials, a non-negative integer.
            p: success probability, in ``[0, 1]``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).binomial(10, 0.5, size=5)
            >>> bool(((x >= 0) & (x <= 10)).all())
            True
        """
        require("binomial", "n", n, INTEGER_NONNEG)
        require("binomial", "p", p, PROB)
        shape = out_shape("binomial", size, n, p)
        return self._draw(_binomial, key, n, p, shape=shape, dtype=int_dtype("binomial", dtype))

    @sampler_doc
    def poisson(self, lam: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Poisson samples with rate ``lam``.

        Args:
            lam: expected count, ``>= 0``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> brainstate.random.RandomState(0).poisson([1.0, 5.0]).shape
            (2,)
        """
        require("poisson", "lam", lam, NONNEG)
        shape = out_shape("poisson", size, lam)
        return self._draw(_poisson, key, lam, shape=shape, dtype=int_dtype("poisson", dtype))

    @sampler_doc
    def geometric(self, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Geometric samples: the number of trials up to and including the first success (``>= 1``).

        Args:
            p: success probability, in ``(0, 1]``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).geometric(0.3, size=5) >= 1).all())
            True
        """
        require("geometric", "p", p, HALF_OPEN_PROB)
        shape = out_shape("geometric", size, p)
        return self._draw(_geometric, key, p, shape=shape, dtype=int_dtype("geometric", dtype))

    @sampler_doc
    def hypergeometric(
        self, ngood: Any, nbad: Any, nsample: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Hypergeometric samples: good items among ``nsample`` drawn without replacement.

        The work grows with ``min(nsample, ngood + nbad - nsample)``.

        Args:
            ngood: number of good items, a non-negative integer.
            nbad: number of bad items, a non-negative integer.
            nsample: items drawn, an integer in ``[0, ngood + nbad]``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).hypergeometric(5, 10, 6, size=8)
            >>> bool(((x >= 0) & (x <= 5)).all())
            True
        """
        for name, value in (("ngood", ngood), ("nbad", nbad), ("nsample", nsample)):
            require("hypergeometric", name, value, INTEGER_NONNEG)
        require_all("hypergeometric", lambda ngood, nbad, nsample: nsample <= ngood + nbad,
                    "nsample <= ngood + nbad", ngood=ngood, nbad=nbad, nsample=nsample)
        shape = out_shape("hypergeometric", size, ngood, nbad, nsample)
        return self._draw(_hypergeometric, key, ngood, nbad, nsample, shape=shape, dtype=int_dtype("hypergeometric", dtype))

    @sampler_doc
    def negative_binomial(self, n: Any, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Negative binomial samples: failures before the ``n``-th success (``n`` may be real).

        Args:
            n: number of successes, ``> 0``.
            p: success probability, in ``(0, 1]``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).negative_binomial(3, 0.5, size=5) >= 0).all())
            True
        """
        require("negative_binomial", "n", n, POSITIVE)
        require("negative_binomial", "p", p, HALF_OPEN_PROB)
        shape = out_shape("negative_binomial", size, n, p)
        return self._draw(_negative_binomial, key, n, p, shape=shape, dtype=int_dtype("negative_binomial", dtype))

    @sampler_doc
    def logseries(self, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Logarithmic series samples (``>= 1``).

        Args:
            p: shape parameter, in ``[0, 1)``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).logseries(0.6, size=5) >= 1).all())
            True
        """
        require("logseries", "p", p, _LOGSERIES_P)
        shape = out_shape("logseries", size, p)
        return self._draw(_logseries, key, p, shape=shape, dtype=int_dtype("logseries", dtype))

    @sampler_doc
    def zipf(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Zipf (zeta) samples (``>= 1``): ``P(k) = k**-a / zeta(a)``.

        Args:
            a: exponent, ``> 1``.
            {size}
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> bool((brainstate.random.RandomState(0).zipf(2.0, size=5) >= 1).all())
            True
        """
        require("zipf", "a", a, _ZIPF_A)
        shape = out_shape("zipf", size, a)
        return self._draw(_zipf, key, a, shape=shape, dtype=int_dtype("zipf", dtype))
