"""Vector-valued samplers and sampling from a population (methods of ``RandomState``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._common import (
    INTEGER_NONNEG,
    POSITIVE,
    PROB,
    RandomParameterError,
    Size,
    float_dtype,
    int_dtype,
    is_tracer,
    kernel,
    masked,
    normalize_size,
    out_shape,
    require,
    sampler_doc,
)

__all__ = ["MultivariateSamplers"]


def _sum_tolerance(dtype: Any) -> float:
    """How far from 1 a probability vector may sum (NumPy's rule: the square root of the float eps)."""
    return math.sqrt(np.finfo(dtype if np.issubdtype(dtype, np.floating) else np.float64).eps)


def _check_probabilities(sampler: str, name: str, p: Any) -> None:
    """``p`` (probabilities along the last axis) must lie in [0, 1] and sum to 1."""
    require(sampler, name, p, PROB)
    if is_tracer(p):
        return
    total = np.sum(np.asarray(p, np.float64), axis=-1)
    if not np.all(np.abs(total - 1) <= _sum_tolerance(np.asarray(p).dtype)):
        raise RandomParameterError(
            f"{sampler}(): the probabilities `{name}` must sum to 1 along their last axis, got sums {total}. "
            f"Fix: normalise them, e.g. {name} / {name}.sum(-1, keepdims=True)."
        )


def _batch(shape: tuple[int, ...]) -> jax.ShapeDtypeStruct:
    """A stand-in with only a shape, to take part in :func:`out_shape`'s broadcasting."""
    return jax.ShapeDtypeStruct(shape, jnp.float32)


def _core_dims(sampler: str, name: str, value: Any, ndim: int) -> tuple[int, ...]:
    shape = np.shape(value)
    if len(shape) < ndim:
        raise RandomParameterError(
            f"{sampler}(): `{name}` must have at least {ndim} dimension(s), got shape {shape}. "
            f"Fix: pass {'a vector' if ndim == 1 else 'a matrix'} (with optional leading batch dimensions)."
        )
    return shape


@kernel("shape", "dtype")
def _multinomial(key, n, pvals, *, shape, dtype):
    # One binomial per category, each conditioned on the trials and probability mass left over.
    fdt = jax.dtypes.canonicalize_dtype(float)
    total = jnp.sum(pvals, -1, keepdims=True)
    p = jnp.broadcast_to(pvals / total, shape).astype(fdt)
    batch = shape[:-1]

    def step(carry, xs):
        left, mass = carry
        sub, p_i = xs
        prob = jnp.clip(p_i / jnp.maximum(mass, jnp.finfo(fdt).tiny), 0, 1)
        count = jax.random.binomial(sub, left, prob, batch, fdt)
        return (left - count, mass - p_i), count

    init = (jnp.broadcast_to(jnp.asarray(n, fdt), batch), jnp.ones(batch, fdt))
    keys = jax.random.split(key, shape[-1] - 1)
    (rest, _), counts = jax.lax.scan(step, init, (keys, jnp.moveaxis(p[..., :-1], -1, 0)))
    counts = jnp.concatenate([jnp.moveaxis(counts, 0, -1), rest[..., None]], axis=-1)
    valid = INTEGER_NONNEG.test(jnp.asarray(n))[..., None] & jnp.all(PROB.test(pvals), -1, keepdims=True)
    valid = valid & (jnp.abs(total - 1) <= _sum_tolerance(pvals.dtype))
    return masked(jnp.round(counts).astype(dtype), valid)


@kernel("shape", "axis", "dtype")
def _categorical(key, logits, *, shape, axis, dtype):
    return jax.random.categorical(key, logits, axis, shape).astype(dtype)


@kernel("shape", "dtype")
def _dirichlet(key, alpha, *, shape, dtype):
    return masked(jax.random.dirichlet(key, alpha, shape, dtype), jnp.all(alpha > 0, -1, keepdims=True))


@kernel("shape", "dtype", "method")
def _multivariate_normal(key, mean, cov, *, shape, dtype, method):
    return jax.random.multivariate_normal(key, mean, cov, shape, dtype, method)


@kernel("n", "shape", "dtype")
def _orthogonal(key, *, n, shape, dtype):
    return jax.random.orthogonal(key, n, shape, dtype)


@kernel("n", "shape", "replace", "axis")
def _choice(key, a, p, *, n, shape, replace, axis):
    return jax.random.choice(key, n if a is None else a, shape, replace, p, axis)


@kernel("n", "axis", "independent")
def _permutation(key, x, *, n, axis, independent):
    return jax.random.permutation(key, n if x is None else x, axis, independent)


def _static_int(sampler: str, name: str, value: Any) -> int | None:
    """``value`` as a Python int if it is an integer scalar, ``None`` if it is an array to sample from."""
    if isinstance(value, (bool, np.bool_)):
        raise RandomParameterError(f"{sampler}(): `{name}` must be an int or an array, got {value!r}.")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if np.ndim(value) == 0:
        if is_tracer(value):
            raise RandomParameterError(
                f"{sampler}(): an integer `{name}` sets the output shape, so it must be static, got a traced "
                f"value. Fix: pass a Python int (mark it static under jit), or pass an array to sample from."
            )
        raise RandomParameterError(f"{sampler}(): `{name}` must be an int or an array of at least 1 dimension, got {value!r}.")
    return None


class MultivariateSamplers:
    """Multinomial, categorical, Dirichlet, multivariate normal, orthogonal, choice and permutations."""

    __slots__ = ()
    _draw: Callable[..., jax.Array]

    @sampler_doc
    def multinomial(self, n: Any, pvals: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Multinomial samples: counts over ``k`` categories in ``n`` trials; the last axis has length ``k``.

        Args:
            n: number of trials, a non-negative integer (broadcast over the batch).
            pvals: category probabilities, shape ``(..., k)``, in ``[0, 1]`` and summing to 1.
            size: batch shape of the result (the result has shape ``size + (k,)``); ``None`` broadcasts the parameters.
            {key}
            {int_dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).multinomial(20, [0.2, 0.3, 0.5], size=4)
            >>> x.shape, x.sum(-1).tolist()
            ((4, 3), [20, 20, 20, 20])
        """
        pshape = _core_dims("multinomial", "pvals", pvals, 1)
        require("multinomial", "n", n, INTEGER_NONNEG)
        _check_probabilities("multinomial", "pvals", pvals)
        batch = out_shape("multinomial", size, n, _batch(pshape[:-1]))
        return self._draw(_multinomial, key, n, pvals, shape=batch + pshape[-1:], dtype=int_dtype("multinomial", dtype))

    @sampler_doc
    def categorical(self, logits: Any, axis: int = -1, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Category indices drawn with probabilities ``softmax(logits)`` along ``axis``.

        Args:
            logits: unnormalised log-probabilities.
            axis: the axis of ``logits`` that indexes the categories.
            size: shape of the result; ``None`` gives ``logits``' shape without ``axis``.
            {key}
            {int_dtype}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.random.RandomState(0).categorical(jnp.zeros((2, 5)), size=(3, 2)).shape
            (3, 2)
        """
        shape = _core_dims("categorical", "logits", logits, 1)
        axis = axis % len(shape)
        batch = out_shape("categorical", size, _batch(shape[:axis] + shape[axis + 1:]))
        return self._draw(_categorical, key, logits, shape=batch, axis=axis, dtype=int_dtype("categorical", dtype))

    @sampler_doc
    def dirichlet(self, alpha: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Dirichlet samples: probability vectors along the last axis.

        Args:
            alpha: concentrations, shape ``(..., k)``, all ``> 0``.
            size: batch shape (the result has shape ``size + (k,)``); ``None`` gives ``alpha``'s batch shape.
            {key}
            {dtype}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).dirichlet([1.0, 2.0, 3.0], size=2)
            >>> x.shape, bool(abs(x.sum(-1) - 1).max() < 1e-5)
            ((2, 3), True)
        """
        shape = _core_dims("dirichlet", "alpha", alpha, 1)
        require("dirichlet", "alpha", alpha, POSITIVE)
        batch = out_shape("dirichlet", size, _batch(shape[:-1]))
        return self._draw(_dirichlet, key, alpha, shape=batch, dtype=float_dtype("dirichlet", dtype))

    @sampler_doc
    def multivariate_normal(
        self, mean: Any, cov: Any, size: Size = None, method: str = "cholesky", check_valid: str = "raise",
        tol: float = 1e-6, key: Any = None, dtype: Any = None,
    ) -> jax.Array:
        """Multivariate normal samples.

        ``method="cholesky"`` needs a positive definite ``cov``; use ``"eigh"`` or ``"svd"`` for a
        singular one. Under ``jit`` (traced ``cov``) nothing is checked, and an invalid covariance
        with ``"cholesky"`` gives NaN.

        Args:
            mean: mean vector, shape ``(..., n)``.
            cov: covariance matrix, shape ``(..., n, n)``, symmetric positive semi-definite.
            size: batch shape (the result has shape ``size + (n,)``); ``None`` broadcasts the parameters.
            method: factorisation of ``cov``: ``"cholesky"``, ``"eigh"`` or ``"svd"``.
            check_valid: ``"raise"`` to check a concrete ``cov`` is symmetric PSD, ``"ignore"`` to skip.
            tol: relative tolerance of the symmetry and PSD checks.
            {key}
            {dtype}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> brainstate.random.RandomState(0).multivariate_normal(jnp.zeros(2), jnp.eye(2), size=5).shape
            (5, 2)
        """
        mshape = _core_dims("multivariate_normal", "mean", mean, 1)
        cshape = _core_dims("multivariate_normal", "cov", cov, 2)
        if cshape[-2:] != mshape[-1:] * 2:
            raise RandomParameterError(
                f"multivariate_normal(): `cov` must have shape (..., {mshape[-1]}, {mshape[-1]}) to match `mean` of "
                f"shape {mshape}, got {cshape}. Fix: pass an n x n covariance for an n-vector mean."
            )
        if method not in ("cholesky", "eigh", "svd"):
            raise RandomParameterError(f"multivariate_normal(): method must be 'cholesky', 'eigh' or 'svd', got {method!r}.")
        if check_valid not in ("raise", "ignore"):
            raise RandomParameterError(f"multivariate_normal(): check_valid must be 'raise' or 'ignore', got {check_valid!r}.")
        if check_valid == "raise" and not is_tracer(cov):
            c = np.asarray(cov, np.float64)
            scale = max(np.abs(c).max(initial=0.0), 1e-300)
            if not np.allclose(c, np.swapaxes(c, -1, -2), atol=tol * scale, rtol=0):
                raise RandomParameterError(
                    "multivariate_normal(): `cov` is not symmetric. Fix: pass (cov + cov.T) / 2, or check_valid='ignore'."
                )
            if np.linalg.eigvalsh(c).min(initial=0.0) < -tol * scale:
                raise RandomParameterError(
                    "multivariate_normal(): `cov` is not positive semi-definite (it has a negative eigenvalue). "
                    "Fix: pass a valid covariance matrix, or check_valid='ignore'."
                )
        batch = out_shape("multivariate_normal", size, _batch(mshape[:-1]), _batch(cshape[:-2]))
        dt = float_dtype("multivariate_normal", dtype)
        return self._draw(_multivariate_normal, key, mean, cov, shape=batch, dtype=dt, method=method)

    @sampler_doc
    def orthogonal(self, n: int, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Random ``n x n`` orthogonal matrices, uniform under the Haar measure.

        Args:
            n: the matrix size, a positive int.
            size: batch shape (the result has shape ``size + (n, n)``).
            {key}
            {dtype}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> q = brainstate.random.RandomState(0).orthogonal(3)
            >>> bool(jnp.allclose(q @ q.T, jnp.eye(3), atol=1e-5))
            True
        """
        m = _static_int("orthogonal", "n", n)
        if m is None or m < 1:
            raise RandomParameterError(f"orthogonal(): `n` must be a positive int, got {n!r}. Fix: pass n >= 1.")
        shape = normalize_size("orthogonal", size) or ()
        return self._draw(_orthogonal, key, n=m, shape=shape, dtype=float_dtype("orthogonal", dtype))

    @sampler_doc
    def choice(
        self, a: Any, size: Size = None, replace: bool = True, p: Any = None, axis: int = 0, key: Any = None
    ) -> jax.Array:
        """Random samples from ``a`` (or from ``arange(a)`` if ``a`` is an int), along ``axis``.

        Args:
            a: an int ``n`` (sample from ``0 .. n-1``, must be static) or an array to sample from.
            size: number/shape of samples; ``None`` draws one.
            replace: whether an item may be drawn more than once.
            p: probabilities of the items, a vector in ``[0, 1]`` summing to 1; ``None`` is uniform.
            axis: the axis of ``a`` to sample along.
            {key}

        Example:
            >>> import brainstate
            >>> x = brainstate.random.RandomState(0).choice(10, size=5, replace=False)
            >>> len(set(x.tolist()))
            5
        """
        n = _static_int("choice", "a", a)
        if n is None:
            shape = np.shape(a)
            axis = axis % len(shape)
            population = shape[axis]
        else:
            population = n
        if population < 1 and size != 0:
            raise RandomParameterError(f"choice(): cannot sample from an empty population (a={a!r}). Fix: pass a non-empty `a`.")
        shape_out = normalize_size("choice", size) or ()
        if p is not None:
            if np.shape(p) != (population,):
                raise RandomParameterError(
                    f"choice(): `p` must be a vector of length {population} (the population size), got shape {np.shape(p)}."
                )
            _check_probabilities("choice", "p", p)
        count = math.prod(shape_out)
        if not replace:
            if count > population:
                raise RandomParameterError(
                    f"choice(): cannot take {count} samples without replacement from a population of {population}. "
                    "Fix: pass replace=True or a smaller size."
                )
            if p is not None and not is_tracer(p) and np.count_nonzero(np.asarray(p)) < count:
                raise RandomParameterError(
                    f"choice(): `p` has fewer non-zero entries than the {count} samples requested without replacement. "
                    "Fix: pass replace=True or a smaller size."
                )
        return self._draw(_choice, key, None if n is not None else a, p, n=n, shape=shape_out, replace=bool(replace), axis=axis)

    @sampler_doc
    def permutation(self, x: Any, axis: int = 0, independent: bool = False, key: Any = None) -> jax.Array:
        """A random permutation of ``arange(x)`` (int ``x``) or of ``x``'s entries along ``axis``.

        Args:
            x: an int (static) or an array of at least one dimension.
            axis: the axis to permute.
            independent: permute each slice along ``axis`` independently.
            {key}

        Example:
            >>> import brainstate
            >>> sorted(brainstate.random.RandomState(0).permutation(5).tolist())
            [0, 1, 2, 3, 4]
        """
        n = _static_int("permutation", "x", x)
        if n is not None and n < 0:
            raise RandomParameterError(f"permutation(): `x` must be >= 0, got {n}.")
        if n is None:
            axis = axis % np.ndim(x)
        return self._draw(_permutation, key, None if n is not None else x, n=n, axis=axis, independent=bool(independent))

    @sampler_doc
    def shuffle(self, x: Any, axis: int = 0, key: Any = None) -> jax.Array:
        """``x`` with its entries along ``axis`` in random order.

        JAX arrays are immutable, so the shuffled array is returned (NumPy shuffles in place).

        Args:
            x: an array of at least one dimension.
            axis: the axis to shuffle.
            {key}

        Example:
            >>> import brainstate, jax.numpy as jnp
            >>> sorted(brainstate.random.RandomState(0).shuffle(jnp.arange(4)).tolist())
            [0, 1, 2, 3]
        """
        if np.ndim(x) == 0:
            raise RandomParameterError(f"shuffle(): `x` must be an array of at least 1 dimension, got {x!r}.")
        return self._draw(_permutation, key, x, n=None, axis=axis % np.ndim(x), independent=False)
