"""Shared machinery of the samplers: keys, sizes, dtypes, parameter checks, compiled kernels, docs.

Every sampler follows the same recipe. In Python it checks its parameters when they are concrete
(raising :class:`RandomParameterError`), works out the output shape as NumPy does, and then calls
one *kernel*: a module-level ``jax.jit`` function that splits the generator's key and draws in a
single dispatch. Kernels are compiled once per static signature (shape, dtype, ...), never per
call. Inside a kernel, entries whose parameters are invalid are replaced by NaN (float samplers)
or -1 (count samplers): that is what a traced, uncheckable parameter produces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import core

from brainstate_core import RandomParameterError

__all__ = [
    "RandomParameterError",
    "Constraint",
    "POSITIVE",
    "NONNEG",
    "PROB",
    "HALF_OPEN_PROB",
    "INTEGER_NONNEG",
    "require",
    "require_all",
    "is_tracer",
    "normalize_size",
    "out_shape",
    "float_dtype",
    "int_dtype",
    "as_raw_key",
    "check_key",
    "seed_to_key",
    "Kernel",
    "kernel",
    "masked",
    "rejection",
    "sampler_doc",
]

Size = int | Sequence[int] | None


def is_tracer(*values: Any) -> bool:
    """Whether any of ``values`` is a JAX tracer (a parameter that cannot be checked in Python)."""
    return any(isinstance(v, core.Tracer) for v in values)


# -- parameter constraints -------------------------------------------------------------------
class Constraint(NamedTuple):
    """A condition on a parameter: ``test`` works on NumPy and JAX arrays alike."""

    test: Callable[[Any], Any]
    text: str


POSITIVE = Constraint(lambda a: a > 0, "> 0")
NONNEG = Constraint(lambda a: a >= 0, ">= 0")
PROB = Constraint(lambda a: (a >= 0) & (a <= 1), "in [0, 1]")
HALF_OPEN_PROB = Constraint(lambda a: (a > 0) & (a <= 1), "in (0, 1]")
INTEGER_NONNEG = Constraint(lambda a: (a >= 0) & (a % 1 == 0), "a non-negative integer")


def _describe(arr: np.ndarray) -> str:
    if arr.size <= 6:
        return np.array2string(arr, separator=", ") if arr.ndim else repr(arr.item())
    return f"an array of shape {arr.shape} with min {arr.min()!r} and max {arr.max()!r}"


def require(sampler: str, name: str, value: Any, constraint: Constraint) -> None:
    """Raise :class:`RandomParameterError` if the concrete ``value`` breaks ``constraint`` anywhere.

    Tracers are skipped: their values are unknown until run time, where the kernel masks them.
    """
    if isinstance(value, (float, int)):  # the common case, kept cheap: no array is built
        if constraint.test(value):
            return
    elif isinstance(value, core.Tracer):
        return
    arr = np.asarray(value)
    if not np.all(constraint.test(arr)):
        raise RandomParameterError(
            f"{sampler}(): `{name}` must be {constraint.text}, got {_describe(arr)}. "
            f"Fix: pass {name} {constraint.text}."
        )


def require_all(sampler: str, condition: Callable[..., Any], text: str, **values: Any) -> None:
    """Like :func:`require` for a condition relating several parameters, e.g. ``low <= high``."""
    if is_tracer(*values.values()):
        return
    arrays = {k: np.asarray(v) for k, v in values.items()}
    try:
        ok = np.all(condition(**arrays))
    except ValueError:  # shapes that do not broadcast: out_shape() reports them
        return
    if not ok:
        got = ", ".join(f"{k}={_describe(a)}" for k, a in arrays.items())
        raise RandomParameterError(f"{sampler}(): {text}; got {got}. Fix: pass parameters with {text}.")


# -- sizes, shapes and dtypes ------------------------------------------------------------------
def _as_dim(sampler: str, d: Any) -> int:
    if isinstance(d, core.Tracer):
        raise RandomParameterError(
            f"{sampler}(): the size must be static, got a traced value {d}. Fix: pass Python ints "
            "(mark the argument static, e.g. with static_argnums, if it comes through jit)."
        )
    integral = isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))
    if isinstance(d, (np.ndarray, jax.Array)):
        integral = d.ndim == 0 and jnp.issubdtype(d.dtype, jnp.integer)
    if not integral:
        raise RandomParameterError(f"{sampler}(): size entries must be integers, got {d!r}. Fix: pass ints.")
    n = int(d)
    if n < 0:
        raise RandomParameterError(f"{sampler}(): size entries must be >= 0, got {n}. Fix: pass a non-negative size.")
    return n


def normalize_size(sampler: str, size: Size) -> tuple[int, ...] | None:
    """``None`` stays ``None``; an int becomes ``(n,)``; a sequence becomes a tuple of ints."""
    if size is None:
        return None
    if isinstance(size, (tuple, list)):
        return tuple(_as_dim(sampler, d) for d in size)
    if isinstance(size, (np.ndarray, jax.Array)) and getattr(size, "ndim", 0) == 1:
        return tuple(_as_dim(sampler, d) for d in np.asarray(size))
    return (_as_dim(sampler, size),)


def out_shape(sampler: str, size: Size, *params: Any, core_shape: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The batch shape of a draw, as NumPy computes it.

    With ``size=None`` it is the broadcast shape of the parameters; otherwise ``size``, which the
    parameters must broadcast to.
    """
    try:
        scalars = all(isinstance(p, (float, int)) for p in params)
        pshape = () if scalars else np.broadcast_shapes(*(np.shape(p) for p in params))
    except ValueError:
        shapes = ", ".join(str(np.shape(p)) for p in params)
        raise RandomParameterError(
            f"{sampler}(): the parameters have shapes {shapes}, which do not broadcast together. "
            "Fix: give parameters with NumPy-broadcastable shapes."
        ) from None
    shape = normalize_size(sampler, size)
    if shape is None or not pshape:
        return pshape if shape is None else shape
    try:
        ok = np.broadcast_shapes(shape, pshape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise RandomParameterError(
            f"{sampler}(): parameters of shape {pshape} cannot be broadcast to size={shape}. "
            "Fix: pass a size whose trailing dimensions match the parameters, or size=None."
        )
    return shape


@lru_cache(maxsize=128)
def _canonical(dtype: Any, kind: type, x64: bool) -> np.dtype | None:
    """``dtype`` made canonical (``None`` -> the default of ``kind``), or ``None`` if it is not of ``kind``.

    ``x64`` (JAX's 64-bit mode) is unused here but part of the cache key: the answer depends on it.
    """
    dt = jax.dtypes.canonicalize_dtype({jnp.floating: float, jnp.integer: int}[kind] if dtype is None else dtype)
    return dt if jnp.issubdtype(dt, kind) else None


def _x64() -> bool:
    return bool(jax.config.jax_enable_x64)  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag


def float_dtype(sampler: str, dtype: Any) -> np.dtype:
    """The canonical floating dtype (JAX's default float for ``None``)."""
    dt = _canonical(dtype, jnp.floating, _x64())
    if dt is None:
        raise RandomParameterError(f"{sampler}(): dtype must be a floating dtype, got {dtype!r}. Fix: pass e.g. jnp.float32.")
    return dt


def int_dtype(sampler: str, dtype: Any) -> np.dtype:
    """The canonical integer dtype (JAX's default int for ``None``)."""
    dt = _canonical(dtype, jnp.integer, _x64())
    if dt is None:
        raise RandomParameterError(f"{sampler}(): dtype must be an integer dtype, got {dtype!r}. Fix: pass e.g. jnp.int32.")
    return dt


# -- keys --------------------------------------------------------------------------------------
@cache
def _raw_key_shape() -> tuple[int, ...]:
    return jax.eval_shape(lambda: jax.random.PRNGKey(0)).shape


def _is_typed_key(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def check_key(key: Any, where: str) -> Any:
    """Return ``key`` if it is a single PRNG key (typed, or raw ``uint32``) or an integer seed (made
    into a key, as ``jax.random.PRNGKey(seed)`` does), else raise."""
    if _is_typed_key(key):
        if key.shape == ():
            return key
    elif getattr(key, "dtype", None) == jnp.uint32 and tuple(key.shape) == _raw_key_shape():
        return key
    elif _is_integer_seed(key):
        return seed_to_key(key, where)
    raise RandomParameterError(
        f"{where}: expected one PRNG key (jax.random.key(n), or a raw uint32 key of shape {_raw_key_shape()} "
        f"from jax.random.PRNGKey(n)) or an integer seed, got {_key_summary(key)}. Fix: pass a single key, "
        "e.g. jax.random.key(0), or an int."
    )


def _is_integer_seed(x: Any) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, np.integer)):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and getattr(x, "size", None) == 1 and jnp.issubdtype(dtype, jnp.integer)


def _key_summary(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of dtype {x.dtype} and shape {tuple(x.shape)}"
    return repr(x)


def as_raw_key(key: Any, where: str) -> jax.Array:
    """A raw ``uint32`` key from a typed or raw key (leading batch dimensions are kept)."""
    if _is_typed_key(key):
        return jax.random.key_data(key)
    if getattr(key, "dtype", None) == jnp.uint32 and tuple(key.shape[-1:]) == _raw_key_shape()[-1:]:
        return jnp.asarray(key)
    raise RandomParameterError(
        f"{where}: expected an integer seed or a PRNG key, got {_key_summary(key)}. "
        "Fix: pass an int, jax.random.key(n) or jax.random.PRNGKey(n)."
    )


SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1
"""The integer seeds accepted: those ``jax.random.PRNGKey`` accepts (64-bit signed)."""


def seed_to_key(seed_or_key: Any, where: str) -> jax.Array | np.ndarray:
    """A raw key from an integer seed (any 64-bit signed int, or a traced integer scalar) or a key.

    An integer gives the key ``jax.random.PRNGKey(seed)`` gives: with 64-bit mode off JAX keeps the
    seed's low 32 bits, with it on the high word too.
    """
    if isinstance(seed_or_key, (bool, np.bool_)):
        raise RandomParameterError(f"{where}: a seed must be an integer, got {seed_or_key!r}. Fix: pass an int.")
    if isinstance(seed_or_key, (int, np.integer)):
        seed = int(seed_or_key)
        if not SEED_MIN <= seed <= SEED_MAX:
            raise RandomParameterError(
                f"{where}: a seed must fit in a 64-bit signed integer (-2**63 <= seed < 2**63), got {seed}. "
                "Fix: reduce it, e.g. seed % 2**63."
            )
        impl = jax.config.jax_default_prng_impl  # pyright: ignore[reportAttributeAccessIssue]  # run-time jax flag
        if impl == "threefry2x32":
            # What jax.random.PRNGKey(seed) gives for this impl, built with NumPy: making a generator
            # (the default one, at import) must not start the JAX backend.
            high = (seed >> 32) & 0xFFFFFFFF if _x64() else 0
            return np.array([high, seed & 0xFFFFFFFF], dtype=np.uint32)
        with jax.ensure_compile_time_eval():  # a concrete key even when called inside a trace
            return jax.random.PRNGKey(seed)
    if _is_integer_seed(seed_or_key) and not _is_typed_key(seed_or_key):
        if not isinstance(seed_or_key, core.Tracer):
            return seed_to_key(int(np.asarray(seed_or_key).reshape(())), where)
        return jax.random.PRNGKey(jnp.reshape(seed_or_key, ()))
    return as_raw_key(seed_or_key, where)


# -- kernels -----------------------------------------------------------------------------------
class Kernel(NamedTuple):
    """A sampler body compiled twice: ``split(state_key, ...) -> (new_state_key, sample)`` and
    ``keyed(key, ...) -> sample`` (for an explicit ``key=``)."""

    split: Callable[..., Any]
    keyed: Callable[..., Any]


def kernel(*static: str) -> Callable[[Callable[..., Any]], Kernel]:
    """Compile a sampler body ``body(key, *params, **static)`` into a :class:`Kernel`.

    ``static`` names the keyword arguments that select a compiled program (shape, dtype, ...).
    """

    def wrap(body: Callable[..., Any]) -> Kernel:
        def split_then_draw(key, *args, **kwargs):
            keys = jax.random.split(key)
            return keys[0], body(keys[1], *args, **kwargs)

        split_then_draw.__name__ = f"{body.__name__}_split"
        return Kernel(jax.jit(split_then_draw, static_argnames=static), jax.jit(body, static_argnames=static))

    return wrap


def masked(sample: jax.Array, valid: Any) -> jax.Array:
    """``sample`` with NaN (floats) or -1 (integers) where ``valid`` is False."""
    fill = jnp.nan if jnp.issubdtype(sample.dtype, jnp.inexact) else -1
    return jnp.where(valid, sample, jnp.asarray(fill, sample.dtype))


def rejection(key: jax.Array, propose: Callable[[jax.Array], tuple[Any, Any]], skip: Any, shape: tuple[int, ...],
              dtype: Any, max_rounds: int = 1000) -> tuple[jax.Array, jax.Array]:
    """Rejection sampling: redraw ``propose(key) -> (candidates, accepted)`` until all are accepted.

    Entries where ``skip`` is True need no sample (they are filled in elsewhere). Returns the
    samples and a mask of the entries that were accepted within ``max_rounds`` rounds (and not skipped).
    """

    def not_done(carry):
        return (carry[3] < max_rounds) & ~jnp.all(carry[2])

    def step(carry):
        key, value, done, rounds = carry
        key, sub = jax.random.split(key)
        candidate, accepted = propose(sub)
        value = jnp.where(done, value, candidate.astype(dtype))
        return key, value, done | accepted, rounds + 1

    skip = jnp.broadcast_to(skip, shape)
    init = (key, jnp.zeros(shape, dtype), skip, jnp.asarray(0))
    _, value, done, _ = jax.lax.while_loop(not_done, step, init)
    return value, done & ~skip


# -- shared docstring fragments ----------------------------------------------------------------
_DOC_ARGS = {
    "{size}": "size: output shape, an int or a tuple of ints; ``None`` (default) gives the broadcast shape of the parameters.",
    "{dtype}": "dtype: floating dtype of the result; ``None`` gives JAX's default float.",
    "{int_dtype}": "dtype: integer dtype of the result; ``None`` gives JAX's default int.",
    "{key}": "key: a PRNG key (typed or raw) to draw with; when given, the generator's own key is neither used nor advanced.",
}


def sampler_doc(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Fill the shared argument descriptions (``{size}``, ``{dtype}``, ``{key}``) into a sampler's docstring."""
    doc = fn.__doc__ or ""
    for marker, text in _DOC_ARGS.items():
        doc = doc.replace(marker, text)
    fn.__doc__ = doc
    return fn
