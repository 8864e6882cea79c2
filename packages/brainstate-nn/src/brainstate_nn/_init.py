"""Parameter initialisers: callables ``(shape, dtype=None) -> array`` drawing from brainstate's random generator."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, environ
from brainstate_core.internal import is_tracer

__all__ = [
    "Initializer",
    "Constant",
    "ZeroInit",
    "Normal",
    "TruncatedNormal",
    "Uniform",
    "VarianceScaling",
    "KaimingNormal",
    "KaimingUniform",
    "XavierNormal",
    "XavierUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
    "param",
]

Shape = int | Sequence[int]
InitLike = Callable[..., Any] | jax.Array | np.ndarray | float | int | None

# The standard deviation of a standard normal truncated to [-2, 2]: dividing by it keeps the variance.
_TRUNC_STD = 0.87962566103423978


def _shape(shape: Shape) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _dtype(dtype: Any) -> Any:
    return environ.dftype() if dtype is None else dtype


class Initializer:
    """Base class of the initialisers: ``init(shape, dtype=None)`` returns a new array.

    Random initialisers draw from ``rng`` (a ``brainstate.random.RandomState``) when given, else
    from the default generator ``brainstate.random.DEFAULT`` at call time, so
    ``brainstate.random.seed(...)`` makes model construction reproducible. ``dtype=None`` means
    ``brainstate.environ.dftype()``.
    """

    def __init__(self, rng: Any = None) -> None:
        self.rng = rng

    def _generator(self) -> Any:
        if self.rng is not None:
            return self.rng
        import brainstate_random

        return brainstate_random.DEFAULT

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        raise NotImplementedError

    def _fields(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "rng"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._fields().items())})"


class Constant(Initializer):
    """Every element equals ``value``.

    Example:
        >>> from brainstate_nn import init
        >>> init.Constant(0.5)((2,))
        Array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, value: Any = 0.0) -> None:
        super().__init__()
        self.value = value

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        return jnp.full(_shape(shape), self.value, dtype=_dtype(dtype))


class ZeroInit(Constant):
    """All zeros.

    Example:
        >>> from brainstate_nn import init
        >>> init.ZeroInit()((2, 1)).tolist()
        [[0.0], [0.0]]
    """

    def __init__(self) -> None:
        super().__init__(0.0)

    def _fields(self) -> dict[str, Any]:
        return {}


class Normal(Initializer):
    """Normal samples with mean ``mean`` and standard deviation ``scale``.

    Example:
        >>> import brainstate_random as R
        >>> from brainstate_nn import init
        >>> init.Normal(scale=0.1, rng=R.RandomState(0))((3, 4)).shape
        (3, 4)
    """

    def __init__(self, mean: float = 0.0, scale: float = 1.0, rng: Any = None) -> None:
        super().__init__(rng)
        self.mean, self.scale = mean, scale

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        return self._generator().normal(self.mean, self.scale, size=_shape(shape), dtype=_dtype(dtype))


class TruncatedNormal(Initializer):
    """Normal samples with mean ``loc`` and deviation ``scale``, cut to ``[loc + lower*scale, loc + upper*scale]``.

    ``lower`` and ``upper`` count standard deviations.

    Example:
        >>> from brainstate_nn import init
        >>> x = init.TruncatedNormal(scale=0.1)((1000,))
        >>> bool((abs(x) <= 0.2).all())
        True
    """

    def __init__(self, loc: float = 0.0, scale: float = 1.0, lower: float = -2.0, upper: float = 2.0,
                 rng: Any = None) -> None:
        super().__init__(rng)
        if scale <= 0 or lower >= upper:
            raise ConfigError(f"TruncatedNormal needs scale > 0 and lower < upper, got scale={scale}, "
                              f"lower={lower}, upper={upper}. Fix: pass a positive scale and lower < upper.")
        self.loc, self.scale, self.lower, self.upper = loc, scale, lower, upper

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        lo, hi = self.loc + self.lower * self.scale, self.loc + self.upper * self.scale
        return self._generator().truncated_normal(lo, hi, size=_shape(shape), loc=self.loc, scale=self.scale,
                                                  dtype=_dtype(dtype))


class Uniform(Initializer):
    """Uniform samples in ``[min_val, max_val)``.

    Example:
        >>> from brainstate_nn import init
        >>> x = init.Uniform(-1.0, 1.0)((100,))
        >>> bool((x >= -1).all() and (x < 1).all())
        True
    """

    def __init__(self, min_val: float = 0.0, max_val: float = 1.0, rng: Any = None) -> None:
        super().__init__(rng)
        self.min_val, self.max_val = min_val, max_val

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        return self._generator().uniform(self.min_val, self.max_val, size=_shape(shape), dtype=_dtype(dtype))


def _fans(shape: tuple[int, ...], in_axis: int, out_axis: int) -> tuple[int, int]:
    if len(shape) < 2:
        n = shape[0] if shape else 1
        return n, n
    receptive = math.prod(shape) // (shape[in_axis] * shape[out_axis])
    return shape[in_axis] * receptive, shape[out_axis] * receptive


class VarianceScaling(Initializer):
    """Samples whose variance is ``scale / n``, where ``n`` is the fan-in, fan-out or their mean.

    The fans are read from ``shape[in_axis]`` and ``shape[out_axis]`` times the product of the
    other axes (the receptive field of a channels-last convolution kernel).

    Args:
        scale: the variance numerator (2.0 for ReLU networks, 1.0 for tanh/linear).
        mode: ``'fan_in'``, ``'fan_out'`` or ``'fan_avg'``.
        distribution: ``'truncated_normal'`` (cut at two deviations, rescaled to keep the
            variance), ``'normal'`` or ``'uniform'``.
        in_axis, out_axis: the input and output axes of the weight.
        rng: the generator to draw from (default: ``brainstate.random.DEFAULT``).

    Example:
        >>> from brainstate_nn import init
        >>> w = init.VarianceScaling(2.0, 'fan_in', 'normal')((2000, 100))
        >>> round(float(w.var() * 2000), 1)
        2.0
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")

    def __init__(self, scale: float, mode: str = "fan_in", distribution: str = "truncated_normal",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(rng)
        if mode not in self._MODES:
            raise ConfigError(f"{type(self).__name__} mode must be one of {self._MODES}, got {mode!r}. "
                              "Fix: pass one of these modes.")
        if distribution not in self._DISTRIBUTIONS:
            raise ConfigError(f"{type(self).__name__} distribution must be one of {self._DISTRIBUTIONS}, got "
                              f"{distribution!r}. Fix: pass one of these distributions.")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.in_axis, self.out_axis = in_axis, out_axis

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        shape, dtype = _shape(shape), _dtype(dtype)
        fan_in, fan_out = _fans(shape, self.in_axis, self.out_axis)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        std = math.sqrt(self.scale / max(n, 1))
        rng = self._generator()
        if self.distribution == "normal":
            return rng.normal(0.0, std, size=shape, dtype=dtype)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            return rng.uniform(-limit, limit, size=shape, dtype=dtype)
        std /= _TRUNC_STD
        return rng.truncated_normal(-2.0 * std, 2.0 * std, size=shape, scale=std, dtype=dtype)


def _variance_preset(name: str, scale: float, mode: str, distribution: str, note: str) -> type:
    def __init__(self, scale: float = scale, mode: str = mode, distribution: str = distribution,
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, in_axis, out_axis, rng)

    doc = (f"{note}: :class:`VarianceScaling` with ``scale={scale}``, ``mode={mode!r}``, "
           f"``distribution={distribution!r}``.\n\n    Example:\n"
           f"        >>> from brainstate_nn import init\n"
           f"        >>> init.{name}()((4, 3)).shape\n        (4, 3)\n")
    cls = type(name, (VarianceScaling,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})
    cls.__qualname__ = name
    return cls


KaimingNormal = _variance_preset("KaimingNormal", 2.0, "fan_in", "truncated_normal", "He et al. (2015) normal")
KaimingUniform = _variance_preset("KaimingUniform", 2.0, "fan_in", "uniform", "He et al. (2015) uniform")
XavierNormal = _variance_preset("XavierNormal", 1.0, "fan_avg", "truncated_normal", "Glorot & Bengio (2010) normal")
XavierUniform = _variance_preset("XavierUniform", 1.0, "fan_avg", "uniform", "Glorot & Bengio (2010) uniform")
LecunNormal = _variance_preset("LecunNormal", 1.0, "fan_in", "truncated_normal", "LeCun (1998) normal")
LecunUniform = _variance_preset("LecunUniform", 1.0, "fan_in", "uniform", "LeCun (1998) uniform")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``scale``, from the QR decomposition of a normal sample.

    The matrix has ``shape[axis]`` columns and the product of the other axes as rows; if there
    are fewer rows than columns, the rows are orthonormal instead.

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_nn import init
        >>> q = init.Orthogonal()((4, 4))
        >>> bool(jnp.allclose(q.T @ q, jnp.eye(4), atol=1e-5))
        True
    """

    def __init__(self, scale: float = 1.0, axis: int = -1, rng: Any = None) -> None:
        super().__init__(rng)
        self.scale, self.axis = scale, axis

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        shape, dtype = _shape(shape), _dtype(dtype)
        if len(shape) < 2:
            raise ConfigError(f"Orthogonal needs a shape of at least 2 dimensions, got {shape}. Fix: use it for "
                              "weight matrices only, and another initialiser (e.g. ZeroInit) for vectors.")
        n_cols = shape[self.axis]
        n_rows = math.prod(shape) // n_cols
        big, small = max(n_rows, n_cols), min(n_rows, n_cols)
        sample = self._generator().normal(size=(big, small), dtype=dtype)
        # Concrete samples are decomposed by NumPy on the host: no XLA compilation per shape.
        xp = jnp if is_tracer(sample) else np
        q, r = xp.linalg.qr(sample)
        q = q * xp.sign(xp.diagonal(r))  # makes the decomposition unique, hence uniformly distributed
        if n_rows < n_cols:
            q = q.T
        q = q.reshape(tuple(s for i, s in enumerate(shape) if i != self.axis % len(shape)) + (n_cols,))
        return jnp.asarray(self.scale * xp.moveaxis(q, -1, self.axis), dtype=dtype)


def param(initializer: InitLike, sizes: Shape, batch_size: int | None = None, allow_none: bool = True) -> Any:
    """Make a parameter or state value of shape ``sizes`` (with a leading ``batch_size`` axis if given).

    Args:
        initializer: an initialiser (any callable ``(shape, dtype=None)``), an array or scalar
            (broadcast to the shape), or ``None``.
        sizes: the shape without the batch axis.
        batch_size: prepend this axis if not ``None``.
        allow_none: return ``None`` for ``initializer=None``; otherwise that is an error.

    Example:
        >>> from brainstate_nn import init
        >>> init.param(init.ZeroInit(), 3, batch_size=2).shape, init.param(1.5, (2,)).tolist()
        ((2, 3), [1.5, 1.5])
    """
    shape = _shape(sizes)
    if batch_size is not None:
        shape = (int(batch_size),) + shape
    if initializer is None:
        if allow_none:
            return None
        raise ConfigError(f"An initialiser is required for a parameter of shape {shape}, got None. "
                          "Fix: pass an initialiser or an array.")
    if callable(initializer):
        return initializer(shape)
    value = jnp.asarray(initializer)
    try:
        return jnp.broadcast_to(value, shape)
    except ValueError:
        raise ConfigError(
            f"The given value of shape {value.shape} cannot be broadcast to the parameter shape {shape}. "
            "Fix: pass an array of that shape (without the batch axis), or an initialiser."
        ) from None
