"""Module wrappers of the activation functions: ``nn.ReLU()``, ``nn.LeakyReLU(0.2)``, ``nn.Softmax(dim=-1)`` ...

Each wrapper stores its hyper-parameters as attributes and calls the matching function of
``_activations`` in :meth:`update`. The classes are generated from one table, so their
docstrings are generated too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ParamState

from . import _activations as F
from ._module import Module

__all__ = [
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Swish", "Mish", "Softplus",
    "Softsign", "Sigmoid", "LogSigmoid", "Tanh", "Hardtanh", "Hardsigmoid", "Hardswish", "HardSiLU",
    "Hardshrink", "Softshrink", "Tanhshrink", "Softmax", "LogSoftmax", "Softmin", "GLU", "Threshold",
    "PReLU", "Identity",
]


class _Activation(Module):
    """A module applying one activation function with fixed hyper-parameters."""

    _function: Callable[..., Any]
    # (attribute name, keyword of the function, default)
    _params: tuple[tuple[str, str, Any], ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        names = [p[0] for p in self._params]
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} arguments ({', '.join(names)}), "
                            f"got {len(args)}.")
        given = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__} got an unexpected argument {key!r}; it takes {names}.")
            if key in given:
                raise TypeError(f"{type(self).__name__} got {key!r} twice.")
            given[key] = value
        for attr, _, default in self._params:
            setattr(self, attr, given.get(attr, default))

    def update(self, x: jax.Array) -> jax.Array:
        return type(self)._function(x, **{kw: getattr(self, attr) for attr, kw, _ in self._params})

    def extra_repr(self) -> str:
        return ", ".join(f"{attr}={getattr(self, attr)!r}" for attr, _, _ in self._params)


def _make(name: str, function: Callable[..., Any], *params: tuple[str, str, Any]) -> type:
    signature = ", ".join(f"{attr}={default!r}" for attr, _, default in params)
    doc = (f"Module form of :func:`brainstate.nn.{function.__name__}`: {function.__doc__.strip()}\n\n"
           f"    Signature: ``{name}({signature})``.\n")
    cls = type(name, (_Activation,), {
        "__doc__": doc,
        "__module__": __name__,
        "_function": staticmethod(function),
        "_params": params,
    })
    cls.__qualname__ = name
    cls.__signature__ = inspect.Signature(
        [inspect.Parameter(attr, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d) for attr, _, d in params]
    )
    return cls


ReLU = _make("ReLU", F.relu)
ReLU6 = _make("ReLU6", F.relu6)
LeakyReLU = _make("LeakyReLU", F.leaky_relu, ("negative_slope", "negative_slope", 0.01))
ELU = _make("ELU", F.elu, ("alpha", "alpha", 1.0))
SELU = _make("SELU", F.selu)
CELU = _make("CELU", F.celu, ("alpha", "alpha", 1.0))
GELU = _make("GELU", F.gelu, ("approximate", "approximate", False))
SiLU = _make("SiLU", F.silu)
Swish = SiLU
Mish = _make("Mish", F.mish)
Softplus = _make("Softplus", F.softplus, ("beta", "beta", 1.0), ("threshold", "threshold", 20.0))
Softsign = _make("Softsign", F.softsign)
Sigmoid = _make("Sigmoid", F.sigmoid)
LogSigmoid = _make("LogSigmoid", F.log_sigmoid)
Tanh = _make("Tanh", F.tanh)
Hardtanh = _make("Hardtanh", F.hard_tanh, ("min_val", "min_val", -1.0), ("max_val", "max_val", 1.0))
Hardsigmoid = _make("Hardsigmoid", F.hard_sigmoid)
Hardswish = _make("Hardswish", F.hard_swish)
HardSiLU = Hardswish
Hardshrink = _make("Hardshrink", F.hard_shrink, ("lambd", "lambd", 0.5))
Softshrink = _make("Softshrink", F.soft_shrink, ("lambd", "lambd", 0.5))
Tanhshrink = _make("Tanhshrink", F.tanh_shrink)
Softmax = _make("Softmax", F.softmax, ("dim", "axis", -1))
LogSoftmax = _make("LogSoftmax", F.log_softmax, ("dim", "axis", -1))
Softmin = _make("Softmin", F.softmin, ("dim", "axis", -1))
GLU = _make("GLU", F.glu, ("dim", "axis", -1))


def _threshold(x: jax.Array, threshold: float, value: float) -> jax.Array:
    """``x`` where ``x > threshold``, ``value`` elsewhere."""
    return jnp.where(x > threshold, x, value)


Threshold = _make("Threshold", _threshold, ("threshold", "threshold", 0.0), ("value", "value", 0.0))


class PReLU(Module):
    """Leaky ReLU with a learnable negative slope (one per channel, or one shared).

    Args:
        num_parameters: number of slopes: 1 (shared) or the channel count (the last axis).
        init: initial slope.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.PReLU(init=0.1)(jnp.array([-1.0, 2.0]))
        Array([-0.1,  2. ], dtype=float32)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = ParamState(jnp.full((num_parameters,), init))

    def update(self, x: jax.Array) -> jax.Array:
        return F.prelu(x, self.weight.value)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Identity(Module):
    """Returns its input unchanged.

    Example:
        >>> import brainstate_nn as nn
        >>> nn.Identity()(3.0)
        3.0
    """

    def update(self, x: Any) -> Any:
        return x
