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
    "DeltaOrthogonal",
    "Identity",
    "calculate_init_gain",
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


class KaimingNormal(VarianceScaling):
    """He et al. (2015) normal: :class:`VarianceScaling` with ``scale=2.0``, ``mode='fan_in'``,
    ``distribution='truncated_normal'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.KaimingNormal()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 2.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


class KaimingUniform(VarianceScaling):
    """He et al. (2015) uniform: :class:`VarianceScaling` with ``scale=2.0``, ``mode='fan_in'``,
    ``distribution='uniform'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.KaimingUniform()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 2.0, mode: str = "fan_in", distribution: str = "uniform",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


class XavierNormal(VarianceScaling):
    """Glorot & Bengio (2010) normal: :class:`VarianceScaling` with ``scale=1.0``, ``mode='fan_avg'``,
    ``distribution='truncated_normal'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.XavierNormal()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_avg", distribution: str = "truncated_normal",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


class XavierUniform(VarianceScaling):
    """Glorot & Bengio (2010) uniform: :class:`VarianceScaling` with ``scale=1.0``, ``mode='fan_avg'``,
    ``distribution='uniform'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.XavierUniform()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_avg", distribution: str = "uniform",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


class LecunNormal(VarianceScaling):
    """LeCun (1998) normal: :class:`VarianceScaling` with ``scale=1.0``, ``mode='fan_in'``,
    ``distribution='truncated_normal'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.LecunNormal()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


class LecunUniform(VarianceScaling):
    """LeCun (1998) uniform: :class:`VarianceScaling` with ``scale=1.0``, ``mode='fan_in'``,
    ``distribution='uniform'`` by default.

    Example:
        >>> from brainstate_nn import init
        >>> init.LecunUniform()((4, 3)).shape
        (4, 3)
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "uniform",
                 in_axis: int = -2, out_axis: int = -1, rng: Any = None) -> None:
        super().__init__(scale, mode, distribution, in_axis, out_axis, rng)


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
        xp: Any = jnp if is_tracer(sample) else np  # the array module, chosen at run time
        q, r = xp.linalg.qr(sample)
        q = q * xp.sign(xp.diagonal(r))  # makes the decomposition unique, hence uniformly distributed
        if n_rows < n_cols:
            q = q.T
        q = q.reshape(tuple(s for i, s in enumerate(shape) if i != self.axis % len(shape)) + (n_cols,))
        return jnp.asarray(self.scale * xp.moveaxis(q, -1, self.axis), dtype=dtype)


class DeltaOrthogonal(Initializer):
    """A delta-orthogonal convolution kernel (Xiao et al., 2018): an orthogonal centre tap, zeros elsewhere.

    For a channels-last kernel of shape ``(*kernel_size, in_channels, out_channels)`` (1 to 3
    spatial axes), the tap at the spatial centre ``(k - 1) // 2`` of every axis is ``scale`` times
    an :class:`Orthogonal` matrix; every other tap is zero. At initialisation the convolution is
    then an orthogonal map of the channels at each position, which keeps the norm of the signal
    through very deep CNNs. It needs ``in_channels <= out_channels`` (the rows of the centre tap
    are orthonormal).

    Args:
        scale: the gain multiplied into the centre tap.
        axis: the axis of the centre tap handed to :class:`Orthogonal`.
        rng: the generator to draw from (default: ``brainstate.random.DEFAULT``).

    Example:
        >>> import jax.numpy as jnp
        >>> from brainstate_nn import init
        >>> w = init.DeltaOrthogonal()((3, 3, 4, 4))
        >>> bool(jnp.allclose(w[1, 1].T @ w[1, 1], jnp.eye(4), atol=1e-5)), float(jnp.abs(w[0]).sum())
        (True, 0.0)
    """

    def __init__(self, scale: float = 1.0, axis: int = -1, rng: Any = None) -> None:
        super().__init__(rng)
        if axis not in (-2, -1, 0, 1):
            raise ConfigError(f"DeltaOrthogonal axis is an axis of the 2-d centre tap, -2, -1, 0 or 1, got {axis!r}. "
                              "Fix: pass axis=-1 (the default).")
        self.scale, self.axis = scale, axis

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        shape, dtype = _shape(shape), _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ConfigError(f"DeltaOrthogonal needs a convolution kernel shape (*kernel_size, in_channels, "
                              f"out_channels) with 1 to 3 spatial axes, got {shape}. Fix: use it for Conv1d/2d/3d "
                              "kernels, and Orthogonal for weight matrices.")
        if shape[-2] > shape[-1]:
            raise ConfigError(f"DeltaOrthogonal needs in_channels <= out_channels, got the kernel shape {shape} "
                              f"({shape[-2]} > {shape[-1]}): the centre tap cannot have orthonormal rows. Fix: use "
                              "at least as many output as input channels, or another initialiser.")
        tap = Orthogonal(self.scale, self.axis, self.rng)(shape[-2:], dtype)
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        if is_tracer(tap):
            return jnp.zeros(shape, dtype).at[centre].set(tap)
        kernel = np.zeros(shape, tap.dtype)  # built on the host: no XLA compilation per shape
        kernel[centre] = np.asarray(tap)
        return jnp.asarray(kernel)


class Identity(Initializer):
    """The identity matrix times ``value`` (Le et al., 2015: ReLU recurrent nets started at the identity).

    A rectangular shape ``(n, m)`` gives ``value`` on the main diagonal and zeros elsewhere. Unlike
    upstream brainstate, which returns an ``(n, n)`` matrix for the shape ``(n,)``, the shape
    must have two dimensions, so the result always has the requested shape.

    Args:
        value: the diagonal value (the gain).

    Example:
        >>> from brainstate_nn import init
        >>> init.Identity(2.0)((2, 3)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, value: float = 1.0) -> None:
        super().__init__()
        self.value = value

    def __call__(self, shape: Shape, dtype: Any = None) -> jax.Array:
        shape = _shape(shape)
        if len(shape) != 2:
            raise ConfigError(f"Identity needs a 2-d weight shape (n_in, n_out), got {shape}. Fix: use it for "
                              "weight matrices only (e.g. the recurrent weight of an RNN cell).")
        return jnp.asarray(np.eye(*shape) * self.value, dtype=_dtype(dtype))


_LINEAR_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d", "sigmoid")


def calculate_init_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain (scale of the weight deviation) for a layer followed by ``nonlinearity``.

    The table is PyTorch's ``torch.nn.init.calculate_gain``: 1 for ``'linear'``, ``'identity'``,
    the ``'conv{1,2,3}d'`` and ``'conv_transpose{1,2,3}d'`` layers and ``'sigmoid'``; 5/3 for
    ``'tanh'``; sqrt(2) for ``'relu'``; sqrt(2 / (1 + slope**2)) for ``'leaky_relu'`` with the
    negative slope ``param`` (default 0.01); 3/4 for ``'selu'``. For self-normalising SELU networks
    use ``'linear'`` instead (the 3/4 trades the fixed point for steadier gradients).

    Args:
        nonlinearity: the name of the activation function.
        param: the negative slope of ``'leaky_relu'``; ignored by the others.

    Example:
        >>> from brainstate_nn import init
        >>> round(init.calculate_init_gain('relu'), 4), init.calculate_init_gain('tanh')
        (1.4142, 1.6666666666666667)
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 0.75
    if nonlinearity == "leaky_relu":
        if param is None:
            param = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float, np.integer, np.floating)):
            raise ConfigError(f"calculate_init_gain('leaky_relu') takes a number as the negative slope, got "
                              f"{param!r}. Fix: pass param=<slope> (e.g. 0.2), or None for 0.01.")
        return math.sqrt(2.0 / (1.0 + float(param) ** 2))
    raise ConfigError(f"calculate_init_gain does not know the nonlinearity {nonlinearity!r}. Fix: pass one of "
                      f"{_LINEAR_GAIN + ('tanh', 'relu', 'leaky_relu', 'selu')}.")


def param(initializer: InitLike, sizes: Shape, batch_size: int | None = None, allow_none: bool = True,
          allow_scalar: bool = False) -> Any:
    """Make a parameter or state value of shape ``sizes`` (with a leading ``batch_size`` axis if given).

    Args:
        initializer: an initialiser (any callable ``(shape, dtype=None)``), an array or scalar
            (broadcast to the shape), or ``None``.
        sizes: the shape without the batch axis.
        batch_size: prepend this axis if not ``None``.
        allow_none: return ``None`` for ``initializer=None``; otherwise that is an error.
        allow_scalar: return a Python or NumPy scalar (or 0-d array) as it is, unbroadcast, as
            upstream's default does (here the default is ``False``: layers get full-shaped parameters).

    Example:
        >>> from brainstate_nn import init
        >>> init.param(init.ZeroInit(), 3, batch_size=2).shape, init.param(1.5, (2,)).tolist()
        ((2, 3), [1.5, 1.5])
        >>> init.param(1.5, (2,), allow_scalar=True)
        1.5
    """
    if allow_scalar and initializer is not None and not callable(initializer) and jnp.ndim(initializer) == 0:
        return initializer
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
