"""Module wrappers of the activation functions: ``nn.ReLU()``, ``nn.LeakyReLU(0.2)``, ``nn.Softmax(dim=-1)`` ...

Each wrapper is a small class whose ``__init__`` names its hyper-parameters; it stores them as
attributes and calls the matching function of ``_activations`` in :meth:`update`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from brainstate_core import InputError, ParamState, environ

from . import _activations as F
from ._activations_extra import _check_slopes, rrelu
from ._dropout import is_training
from ._module import ElementWiseBlock
from ._utils import Size

__all__ = [
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Swish", "Mish", "Softplus",
    "Softsign", "Sigmoid", "LogSigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "HardSiLU",
    "Hardshrink", "Softshrink", "Tanhshrink", "Softmax", "LogSoftmax", "Softmin", "GLU", "Threshold",
    "PReLU", "RReLU", "Softmax2d", "Identity",
]


class _Activation(ElementWiseBlock):
    """A module applying one activation function with fixed hyper-parameters.

    A subclass names the function in ``_function`` and stores each argument of its ``__init__`` as an
    attribute of the same name; :meth:`update` passes them to the function (``_keywords`` renames
    those the function calls otherwise, e.g. ``dim`` -> ``axis``), and the repr shows them. The
    keyword ``in_size`` (the shape of one example, optional) sets ``in_size`` and ``out_size``.
    """

    _function: ClassVar[Callable[..., jax.Array]]
    _keywords: ClassVar[dict[str, str]] = {}
    _hyper: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._hyper = tuple(p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "in_size"))

    def __init__(self, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)

    def _arguments(self) -> dict[str, Any]:
        return {self._keywords.get(attr, attr): getattr(self, attr) for attr in self._hyper}

    def update(self, x: jax.Array) -> jax.Array:
        return type(self)._function(x, **self._arguments())

    def extra_repr(self) -> str:
        return ", ".join(f"{attr}={getattr(self, attr)!r}" for attr in self._hyper)


class _AlongAxis(_Activation):
    """An activation along one axis, ``dim`` (the function's ``axis``; ``None`` means the last), as in PyTorch."""

    _keywords = {"dim": "axis"}

    def __init__(self, dim: int | None = None, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.dim = dim

    def _arguments(self) -> dict[str, Any]:
        return {"axis": -1 if self.dim is None else self.dim}


class _Shrink(_Activation):
    """A shrinkage activation with threshold ``lambd``."""

    def __init__(self, lambd: float = 0.5, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.lambd = lambd


class _WithAlpha(_Activation):
    """An exponential-linear activation with scale ``alpha``."""

    def __init__(self, alpha: float = 1.0, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.alpha = alpha


class ReLU(_Activation):
    """Module form of :func:`brainstate.nn.relu`: ``max(x, 0)``."""

    _function = staticmethod(F.relu)


class ReLU6(_Activation):
    """Module form of :func:`brainstate.nn.relu6`: ``min(max(x, 0), 6)``."""

    _function = staticmethod(F.relu6)


class LeakyReLU(_Activation):
    """Module form of :func:`brainstate.nn.leaky_relu`: ``x`` for ``x >= 0``, ``negative_slope * x`` otherwise."""

    _function = staticmethod(F.leaky_relu)

    def __init__(self, negative_slope: float = 0.01, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.negative_slope = negative_slope


class ELU(_WithAlpha):
    """Module form of :func:`brainstate.nn.elu`: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    _function = staticmethod(F.elu)


class SELU(_Activation):
    """Module form of :func:`brainstate.nn.selu`, the self-normalising ELU."""

    _function = staticmethod(F.selu)


class CELU(_WithAlpha):
    """Module form of :func:`brainstate.nn.celu`: ``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""

    _function = staticmethod(F.celu)


class GELU(_Activation):
    """Module form of :func:`brainstate.nn.gelu`: ``x * Phi(x)``; ``approximate=True`` uses the tanh formula."""

    _function = staticmethod(F.gelu)

    def __init__(self, approximate: bool = False, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.approximate = approximate


class SiLU(_Activation):
    """Module form of :func:`brainstate.nn.silu`: ``x * sigmoid(x)`` (also called swish)."""

    _function = staticmethod(F.silu)


Swish = SiLU


class Mish(_Activation):
    """Module form of :func:`brainstate.nn.mish`: ``x * tanh(softplus(x))``."""

    _function = staticmethod(F.mish)


class Softplus(_Activation):
    """Module form of :func:`brainstate.nn.softplus`: ``log(1 + exp(beta * x)) / beta``, linear above ``threshold``."""

    _function = staticmethod(F.softplus)

    def __init__(self, beta: float = 1.0, threshold: float = 20.0, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.beta, self.threshold = beta, threshold


class Softsign(_Activation):
    """Module form of :func:`brainstate.nn.softsign`: ``x / (1 + |x|)``."""

    _function = staticmethod(F.softsign)


class Sigmoid(_Activation):
    """Module form of :func:`brainstate.nn.sigmoid`: ``1 / (1 + exp(-x))``."""

    _function = staticmethod(F.sigmoid)


class LogSigmoid(_Activation):
    """Module form of :func:`brainstate.nn.log_sigmoid`: ``log(sigmoid(x))``, computed stably."""

    _function = staticmethod(F.log_sigmoid)


class Tanh(_Activation):
    """Module form of :func:`brainstate.nn.tanh`, the hyperbolic tangent."""

    _function = staticmethod(F.tanh)


class Hardtanh(_Activation):
    """Module form of :func:`brainstate.nn.hard_tanh`: ``x`` clipped to ``[min_val, max_val]``."""

    _function = staticmethod(F.hard_tanh)

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.min_val, self.max_val = min_val, max_val


class Hardsigmoid(_Activation):
    """Module form of :func:`brainstate.nn.hard_sigmoid`: ``relu6(x + 3) / 6``."""

    _function = staticmethod(F.hard_sigmoid)


class Hardswish(_Activation):
    """Module form of :func:`brainstate.nn.hard_swish`: ``x * hard_sigmoid(x)``."""

    _function = staticmethod(F.hard_swish)


HardSiLU = Hardswish


class Hardshrink(_Shrink):
    """Module form of :func:`brainstate.nn.hard_shrink`: ``x`` where ``|x| > lambd``, 0 elsewhere."""

    _function = staticmethod(F.hard_shrink)


class Softshrink(_Shrink):
    """Module form of :func:`brainstate.nn.soft_shrink`: ``x`` moved ``lambd`` towards 0, 0 where ``|x| <= lambd``."""

    _function = staticmethod(F.soft_shrink)


class Tanhshrink(_Activation):
    """Module form of :func:`brainstate.nn.tanh_shrink`: ``x - tanh(x)``."""

    _function = staticmethod(F.tanh_shrink)


class Softmax(_AlongAxis):
    """Module form of :func:`brainstate.nn.softmax`: ``exp(x) / sum(exp(x))`` along ``dim``."""

    _function = staticmethod(F.softmax)


class LogSoftmax(_AlongAxis):
    """Module form of :func:`brainstate.nn.log_softmax`: ``x - logsumexp(x)`` along ``dim``."""

    _function = staticmethod(F.log_softmax)


class Softmin(_AlongAxis):
    """Module form of :func:`brainstate.nn.softmin`: ``softmax(-x)`` along ``dim``."""

    _function = staticmethod(F.softmin)


class GLU(_AlongAxis):
    """Module form of :func:`brainstate.nn.glu`: halves ``a, b`` of ``x`` along ``dim`` give ``a * sigmoid(b)``.

    It halves the size of axis ``dim``, so ``out_size`` is ``in_size`` with that axis halved.
    """

    _function = staticmethod(F.glu)

    def __init__(self, dim: int = -1, *, in_size: Size | None = None) -> None:
        super().__init__(dim, in_size=in_size)
        if self.in_size is not None:
            out = list(self.in_size)
            out[dim] //= 2
            self.out_size = tuple(out)


def _threshold(x: jax.Array, threshold: float, value: float) -> jax.Array:
    return jnp.where(x > threshold, x, value)


class Threshold(_Activation):
    """``x`` where ``x > threshold``, ``value`` elsewhere, as PyTorch's ``Threshold``."""

    _function = staticmethod(_threshold)

    def __init__(self, threshold: float = 0.0, value: float = 0.0, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.threshold, self.value = threshold, value


class PReLU(ElementWiseBlock):
    """Leaky ReLU with a learnable negative slope (one per channel, or one shared).

    Args:
        num_parameters: number of slopes: 1 (shared) or the channel count (the last axis).
        init: initial slope.
        dtype: the slopes' dtype (default: ``brainstate.environ``'s float type).
        in_size: optional shape of one example (sets ``in_size`` and ``out_size``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.PReLU(init=0.1)(jnp.array([-1.0, 2.0]))
        Array([-0.1,  2. ], dtype=float32)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None, *,
                 in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.num_parameters = num_parameters
        self.weight = ParamState(jnp.full((num_parameters,), init, dtype or environ.dftype()))

    def update(self, x: jax.Array) -> jax.Array:
        return F.prelu(x, self.weight.value)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(ElementWiseBlock):
    """Randomised leaky ReLU: while training the negative slope of each element is drawn from ``U(lower, upper)``.

    With ``fit=True`` it is :func:`rrelu` (new slopes on every call); with ``fit=False`` it is the
    deterministic ``leaky_relu(x, (lower + upper) / 2)``, as in PyTorch (upstream brainstate draws
    random slopes in evaluation too, which makes inference non-deterministic). Like
    :class:`Dropout`, it raises if ``brainstate.environ`` has no ``fit``.

    Args:
        lower: lower bound of the slope.
        upper: upper bound of the slope.
        rng: the ``RandomState`` to draw from (default ``brainstate.random.DEFAULT``).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(fit=False):
        ...     nn.RReLU(0.1, 0.3)(jnp.array([-1.0, 2.0]))
        Array([-0.2,  2. ], dtype=float32)
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, rng: Any = None, *,
                 in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        _check_slopes("RReLU", lower, upper)
        self.lower, self.upper, self.rng = lower, upper, rng

    def update(self, x: jax.Array) -> jax.Array:
        if is_training():
            return rrelu(x, self.lower, self.upper, rng=self.rng)
        return F.leaky_relu(x, (self.lower + self.upper) / 2)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class Softmax2d(ElementWiseBlock):
    """Softmax over the channels at each spatial position of 2-D feature maps.

    Inputs are ``(height, width, channels)`` or ``(batch, height, width, channels)``, channels last
    as in the convolutions and poolings of this package. PyTorch and upstream brainstate take
    channels-first maps and use axis -3; pass ``channel_axis=-3`` for that layout.

    Args:
        channel_axis: the channel axis.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> y = nn.Softmax2d()(jnp.ones((2, 4, 4, 5)))
        >>> y.shape, float(y[0, 0, 0].sum())
        ((2, 4, 4, 5), 1.0)
    """

    def __init__(self, channel_axis: int = -1, *, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size)
        self.channel_axis = channel_axis

    def update(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        if x.ndim not in (3, 4) or not -x.ndim <= self.channel_axis < x.ndim:
            raise InputError(f"Softmax2d needs 3-D or 4-D inputs ([batch,] height, width, channels) with the channel "
                             f"axis {self.channel_axis}, got an input of shape {x.shape}. Fix: use Softmax(dim=...) "
                             "for other shapes.")
        return F.softmax(x, axis=self.channel_axis)

    def extra_repr(self) -> str:
        return f"channel_axis={self.channel_axis}"


class Identity(ElementWiseBlock):
    """Returns its input unchanged.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.Identity()(3.0)
        3.0
    """

    def update(self, x: Any) -> Any:
        return x
