"""Pooling, channels last: max / average pooling over windows, and adaptive pooling to a fixed size.

The pooled axes are the ``n`` spatial axes just before the channel axis (``channel_axis=-1``),
or the last ``n`` axes with ``channel_axis=None``; any axes before them are batch axes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import InputError

from ._conv import _padding
from ._module import Module
from ._utils import as_tuple

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
]

IntOrSeq = int | Sequence[int]


def _spatial_axes(module: Module, x: jax.Array) -> tuple[int, ...]:
    n, ndim = module.num_spatial_dims, jnp.ndim(x)
    if module.channel_axis is None:
        axes = list(range(ndim))
    else:
        channel = module.channel_axis % ndim if ndim else 0
        axes = [i for i in range(ndim) if i != channel]
    if len(axes) < n:
        where = "" if module.channel_axis is None else f" plus a channel axis ({module.channel_axis})"
        raise InputError(f"{type(module).__name__} pools {n} spatial axes{where}, got an input of shape "
                         f"{jnp.shape(x)}. Fix: pass inputs with {n} spatial axes{where}.")
    return tuple(axes[-n:])


class _Pool(Module):
    num_spatial_dims: int

    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = None,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        n, cls = self.num_spatial_dims, type(self).__name__
        self.kernel_size = as_tuple(kernel_size, n, f"{cls} kernel_size")
        self.stride = self.kernel_size if stride is None else as_tuple(stride, n, f"{cls} stride")
        self.padding = _padding(padding, n, cls)
        self.channel_axis = channel_axis

    def _window(self, x: jax.Array, init: float, op: Callable) -> jax.Array:
        axes = _spatial_axes(self, x)
        window, strides = [1] * jnp.ndim(x), [1] * jnp.ndim(x)
        pads: str | list = self.padding if isinstance(self.padding, str) else [(0, 0)] * jnp.ndim(x)
        for i, axis in enumerate(axes):
            window[axis], strides[axis] = self.kernel_size[i], self.stride[i]
            if not isinstance(pads, str):
                pads[axis] = self.padding[i]
        # A NumPy init value stays concrete under tracing, so JAX recognises the max / add monoid
        # and can differentiate the reduction.
        return jax.lax.reduce_window(x, np.asarray(init, x.dtype), op, tuple(window), tuple(strides), pads)

    def extra_repr(self) -> str:
        pad = self.padding if isinstance(self.padding, str) else list(self.padding)
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={pad!r}, channel_axis={self.channel_axis}"


class _MaxPool(_Pool):
    def update(self, x: jax.Array) -> jax.Array:
        return self._window(x, -jnp.inf, jax.lax.max)


class _AvgPool(_Pool):
    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = None,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 count_include_pad: bool = True, name: str | None = None) -> None:
        super().__init__(kernel_size, stride, padding, channel_axis, name)
        self.count_include_pad = count_include_pad

    def update(self, x: jax.Array) -> jax.Array:
        total = self._window(x, 0.0, jax.lax.add)
        if self.count_include_pad:
            return total / math.prod(self.kernel_size)
        return total / self._window(jnp.ones_like(x), 0.0, jax.lax.add)


def _adaptive_1d(x: jax.Array, axis: int, out: int, reduce: Callable) -> jax.Array:
    """Pool ``axis`` to ``out`` entries; entry ``i`` reduces ``[floor(i*n/out), ceil((i+1)*n/out))``."""
    n = x.shape[axis]
    pieces = []
    for i in range(out):
        start, stop = (i * n) // out, -((-(i + 1) * n) // out)
        pieces.append(reduce(jax.lax.slice_in_dim(x, start, stop, axis=axis), axis=axis, keepdims=True))
    return jnp.concatenate(pieces, axis=axis)


class _Adaptive(Module):
    num_spatial_dims: int
    _reduce: Callable

    def __init__(self, target_size: IntOrSeq, channel_axis: int | None = -1, name: str | None = None) -> None:
        super().__init__(name=name)
        self.target_size = as_tuple(target_size, self.num_spatial_dims, f"{type(self).__name__} target_size")
        self.channel_axis = channel_axis

    def update(self, x: jax.Array) -> jax.Array:
        for axis, out in zip(_spatial_axes(self, x), self.target_size):
            x = _adaptive_1d(x, axis, out, type(self)._reduce)
        return x

    def extra_repr(self) -> str:
        return f"target_size={self.target_size}, channel_axis={self.channel_axis}"


class _AdaptiveAvg(_Adaptive):
    _reduce = staticmethod(jnp.mean)


class _AdaptiveMax(_Adaptive):
    _reduce = staticmethod(jnp.max)


_DOCS = {
    _MaxPool: ("Maximum over windows of ``kernel_size`` moved by ``stride`` (default: ``kernel_size``).",
               "nn.{name}(2)(jnp.ones({shape})).shape", "{half}"),
    _AvgPool: ("Mean over windows of ``kernel_size`` moved by ``stride`` (default: ``kernel_size``); with "
               "``count_include_pad=False`` padded entries are left out of the mean.",
               "nn.{name}(2)(jnp.ones({shape})).shape", "{half}"),
    _AdaptiveAvg: ("Mean pooling to the output size ``target_size``, whatever the input size: output entry "
                   "``i`` of an axis of length ``n`` averages inputs ``floor(i*n/out)`` to ``ceil((i+1)*n/out)``.",
                   "nn.{name}(3)(jnp.ones({shape})).shape", "{three}"),
    _AdaptiveMax: ("Max pooling to the output size ``target_size`` (windows as in the adaptive average).",
                   "nn.{name}(3)(jnp.ones({shape})).shape", "{three}"),
}


def _variant(base: type, prefix: str, n: int) -> type:
    name = f"{prefix}{n}d"
    summary, call, result = _DOCS[base]
    shape = (2,) + (8,) * n + (3,)
    half = (2,) + (4,) * n + (3,)
    three = (2,) + (3,) * n + (3,)
    doc = (f"{summary}\n\n    {n} spatial axes, channels last: inputs ``(batch, *spatial, channels)``.\n\n"
           f"    Example:\n        >>> import brainstate_nn as nn, jax.numpy as jnp\n"
           f"        >>> {call.format(name=name, shape=shape)}\n        {result.format(half=half, three=three)}\n")
    cls = type(name, (base,), {"num_spatial_dims": n, "__doc__": doc, "__module__": __name__})
    cls.__qualname__ = name
    return cls


MaxPool1d, MaxPool2d, MaxPool3d = (_variant(_MaxPool, "MaxPool", n) for n in (1, 2, 3))
AvgPool1d, AvgPool2d, AvgPool3d = (_variant(_AvgPool, "AvgPool", n) for n in (1, 2, 3))
AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool3d = (_variant(_AdaptiveAvg, "AdaptiveAvgPool", n)
                                                           for n in (1, 2, 3))
AdaptiveMaxPool1d, AdaptiveMaxPool2d, AdaptiveMaxPool3d = (_variant(_AdaptiveMax, "AdaptiveMaxPool", n)
                                                           for n in (1, 2, 3))
