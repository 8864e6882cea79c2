"""Pooling, channels last: max / average / Lp pooling over windows, max unpooling, and adaptive pooling.

The pooled axes are the ``n`` spatial axes just before the channel axis (``channel_axis=-1``),
or the last ``n`` axes with ``channel_axis=None``; any axes before them are batch axes.
``in_size`` (optional) is the shape of one example without batch axes; it sets ``out_size``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, environ
from brainstate_core.internal import is_tracer

from ._conv import _padding
from ._module import Module
from ._utils import Size, as_size, as_tuple, variant_doc

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
]

IntOrSeq = int | Sequence[int]


class _Spatial(Module):
    # What the helpers below read and set: ``num_spatial_dims`` spatial axes, then an optional channel axis.
    num_spatial_dims: int
    channel_axis: int | None
    in_size: tuple[int, ...] | None
    out_size: tuple[int, ...] | None


def _spatial_axes(module: _Spatial, x: jax.Array) -> tuple[int, ...]:
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


def _lowest(dtype: np.dtype) -> np.ndarray:
    """The identity of ``max`` for ``dtype``: ``-inf`` for floats, the smallest integer for ints."""
    if jnp.issubdtype(dtype, jnp.inexact):
        return np.asarray(-np.inf, dtype)
    if jnp.issubdtype(dtype, jnp.bool_):
        return np.asarray(False)
    return np.asarray(jnp.iinfo(dtype).min, dtype)


def _example_sizes(module: _Spatial, in_size: Size | None, *extra: jax.ShapeDtypeStruct) -> None:
    """Set ``module.in_size`` (one example) and ``module.out_size`` (the shape ``update`` returns for it)."""
    module.in_size = module.out_size = None
    if in_size is None:
        return
    cls, n = type(module).__name__, module.num_spatial_dims
    size = as_size(in_size, f"{cls} in_size")
    need = n + (module.channel_axis is not None)
    if len(size) < need:
        raise ConfigError(f"{cls} in_size is the shape of one example with {n} spatial axes"
                          f"{'' if module.channel_axis is None else ' and a channel axis'}, got {in_size!r}. "
                          f"Fix: pass at least {need} sizes, without batch axes.")
    args = [jax.ShapeDtypeStruct(size, environ.dftype())] + [jax.ShapeDtypeStruct(size, e.dtype) for e in extra]
    out = jax.eval_shape(module.update, *args)
    module.in_size, module.out_size = size, tuple(out[0].shape if isinstance(out, tuple) else out.shape)


class _Pool(_Spatial):
    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = None,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        n, cls = self.num_spatial_dims, type(self).__name__
        self.kernel_size = as_tuple(kernel_size, n, f"{cls} kernel_size")
        self.stride = self.kernel_size if stride is None else as_tuple(stride, n, f"{cls} stride")
        self.padding = _padding(padding, n, cls)
        self.channel_axis = channel_axis

    def _layout(self, x: jax.Array) -> tuple[tuple[int, ...], tuple[int, ...], str | list]:
        """Window, strides and padding of ``reduce_window`` over every axis of ``x``."""
        axes = _spatial_axes(self, x)
        window, strides = [1] * jnp.ndim(x), [1] * jnp.ndim(x)
        pads: str | list = self.padding if isinstance(self.padding, str) else [(0, 0)] * jnp.ndim(x)
        for i, axis in enumerate(axes):
            window[axis], strides[axis] = self.kernel_size[i], self.stride[i]
            if not isinstance(pads, str):
                pads[axis] = self.padding[i]
        return tuple(window), tuple(strides), pads

    def _window(self, x: jax.Array, init: float | np.ndarray, op: Callable) -> jax.Array:
        window, strides, pads = self._layout(x)
        # A NumPy init value stays concrete under tracing, so JAX recognises the max / add monoid
        # and can differentiate the reduction.
        return jax.lax.reduce_window(x, np.asarray(init, x.dtype), op, window, strides, pads)

    def extra_repr(self) -> str:
        pad = self.padding if isinstance(self.padding, str) else list(self.padding)
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={pad!r}, "
                f"channel_axis={self.channel_axis}")


def _pick_max(a: tuple, b: tuple) -> tuple:
    """The (value, index) pair with the larger value; on a tie, the smaller index (the first in scan order)."""
    (av, ai), (bv, bi) = a, b
    take_b = (bv > av) | ((bv == av) & (bi < ai))
    return jnp.where(take_b, bv, av), jnp.where(take_b, bi, ai)


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _argmax(x: jax.Array, axes: tuple[int, ...], window: tuple[int, ...], strides: tuple[int, ...],
            pads: tuple[tuple[int, int], ...]) -> jax.Array:
    """For each window, the flat position (over ``axes``) of its maximum."""
    flat, plane = jnp.zeros(x.shape, jnp.int32), 1
    for axis in reversed(axes):
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        flat = flat + (jnp.arange(x.shape[axis], dtype=jnp.int32) * plane).reshape(shape)
        plane *= x.shape[axis]
    init = (_lowest(x.dtype), np.asarray(plane, np.int32))
    return jax.lax.reduce_window((x, flat), init, _pick_max, window, strides, pads)[1]


class _MaxPool(_Pool):
    """Maximum over windows of ``kernel_size`` moved by ``stride`` (default: ``kernel_size``). With
    ``return_indices=True`` it returns ``(pooled, indices)``: each maximum's flat position in the
    spatial plane of its (batch, channel) slice, as in PyTorch (the first one on a tie), which
    ``MaxUnpool`` takes.
    """

    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = None,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 return_indices: bool = False, name: str | None = None, in_size: Size | None = None) -> None:
        super().__init__(kernel_size, stride, padding, channel_axis, name)
        self.return_indices = bool(return_indices)
        _example_sizes(self, in_size)

    def update(self, x: jax.Array) -> jax.Array | tuple[jax.Array, jax.Array]:
        x = jnp.asarray(x)
        pooled = self._window(x, _lowest(x.dtype), jax.lax.max)
        return (pooled, self._argmax(x)) if self.return_indices else pooled

    def _argmax(self, x: jax.Array) -> jax.Array:
        """Where each maximum came from: its flat position in the spatial plane of its (batch, channel) slice."""
        window, strides, pads = self._layout(x)
        if isinstance(pads, str):
            pads = jax.lax.padtype_to_pads(x.shape, window, strides, pads)
        return _argmax(jax.lax.stop_gradient(x), _spatial_axes(self, x), window, strides,
                       tuple(tuple(p) for p in pads))

    def extra_repr(self) -> str:
        return super().extra_repr() + (", return_indices=True" if self.return_indices else "")


class _AvgPool(_Pool):
    """Mean over windows of ``kernel_size`` moved by ``stride``; with ``count_include_pad=False``
    padded entries are left out of the mean. The default stride is 1, upstream brainstate's
    (PyTorch's is the kernel size: pass ``stride=None`` for that, as in max pooling).
    """

    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = 1,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 name: str | None = None, in_size: Size | None = None, *, count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, channel_axis, name)
        self.count_include_pad = count_include_pad
        _example_sizes(self, in_size)

    def update(self, x: jax.Array) -> jax.Array:
        total = self._window(x, 0.0, jax.lax.add)
        if self.count_include_pad:
            return total / math.prod(self.kernel_size)
        return total / self._window(jnp.ones_like(x), 0.0, jax.lax.add)


class _LPPool(_Pool):
    """Power-sum pooling ``(sum over the window of |x|^p) ** (1/p)`` with ``p = norm_type``,
    PyTorch's formula (PyTorch raises ``x`` itself to ``p``: the same for ``x >= 0`` or even ``p``).
    Upstream brainstate also divides by ``window_size ** (1/p)`` (a power mean); this layer does
    not.
    """

    def __init__(self, norm_type: float, kernel_size: IntOrSeq, stride: IntOrSeq | None = None,
                 padding: str | int | Sequence = "VALID", channel_axis: int | None = -1,
                 name: str | None = None, in_size: Size | None = None) -> None:
        super().__init__(kernel_size, stride, padding, channel_axis, name)
        if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.number)) \
                or not (np.isfinite(norm_type) and norm_type > 0):
            raise ConfigError(f"{type(self).__name__} norm_type is the power p of (sum |x|^p)^(1/p) and must be a "
                              f"positive finite number, got {norm_type!r}. Fix: pass e.g. norm_type=2 "
                              "(use MaxPool for p = inf).")
        self.norm_type = float(norm_type)
        _example_sizes(self, in_size)

    def update(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        x = x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(environ.dftype())
        total = self._window(jnp.abs(x) ** self.norm_type, 0.0, jax.lax.add)
        positive = total > 0
        # Two ``where``s keep the gradient finite at 0, where t ** (1/p) has an infinite slope.
        return jnp.where(positive, jnp.where(positive, total, 1.0) ** (1.0 / self.norm_type), 0.0)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, {super().extra_repr()}"


@functools.partial(jax.jit, static_argnums=(2, 3))
def _scatter(x: jax.Array, indices: jax.Array, axes: tuple[int, ...], plane: tuple[int, ...]) -> jax.Array:
    """Zeros of spatial shape ``plane`` (at ``axes``) with ``x`` put at the flat positions ``indices``.

    One compiled program per shape, rather than one per eager operation.
    """
    others = [a for a in range(x.ndim) if a not in axes]
    order = others + list(axes)
    rows = math.prod(x.shape[a] for a in others)
    values = jnp.transpose(x, order).reshape(rows, -1)
    where = jnp.transpose(indices, order).reshape(rows, -1)
    out = jnp.zeros((rows, math.prod(plane)), x.dtype).at[jnp.arange(rows)[:, None], where].set(values, mode="drop")
    return jnp.transpose(out.reshape([x.shape[a] for a in others] + list(plane)), np.argsort(order).tolist())


class _MaxUnpool(_Spatial):
    """Inverse of max pooling: ``update(x, indices, output_size=None)`` puts each value of ``x`` at
    its position ``indices`` (from ``MaxPool(..., return_indices=True)``) in a zero array; the other
    entries stay 0. Indices outside the output raise when they are concrete and are dropped under
    tracing.
    """

    def __init__(self, kernel_size: IntOrSeq, stride: IntOrSeq | None = None, padding: IntOrSeq = 0,
                 channel_axis: int | None = -1, name: str | None = None, in_size: Size | None = None) -> None:
        super().__init__(name=name)
        n, cls = self.num_spatial_dims, type(self).__name__
        self.kernel_size = as_tuple(kernel_size, n, f"{cls} kernel_size")
        self.stride = self.kernel_size if stride is None else as_tuple(stride, n, f"{cls} stride")
        self.padding = as_tuple(padding, n, f"{cls} padding")
        if min(self.kernel_size + self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(f"{cls} needs kernel_size and stride >= 1 and padding >= 0, got kernel_size="
                              f"{self.kernel_size}, stride={self.stride}, padding={self.padding}. Fix: pass the "
                              "values given to the MaxPool whose output this layer inverts.")
        self.channel_axis = channel_axis
        _example_sizes(self, in_size, jax.ShapeDtypeStruct((), jnp.int32))

    def _output_plane(self, x: jax.Array, axes: tuple[int, ...], output_size: IntOrSeq | None) -> list[int]:
        cls, n = type(self).__name__, self.num_spatial_dims
        if output_size is None:
            sizes = [(x.shape[a] - 1) * s - 2 * p + k
                     for a, k, s, p in zip(axes, self.kernel_size, self.stride, self.padding)]
        elif isinstance(output_size, (int, np.integer)):
            sizes = [int(output_size)] * n
        else:
            given = [int(s) for s in output_size]
            if len(given) == x.ndim:
                others = [a for a in range(x.ndim) if a not in axes]
                if any(given[a] != x.shape[a] for a in others):
                    raise InputError(f"{cls} output_size {tuple(given)} changes a batch or channel size of the "
                                     f"input {x.shape}. Fix: change only the spatial sizes, or pass those alone.")
                given = [given[a] for a in axes]
            if len(given) != n:
                raise InputError(f"{cls} output_size must be an int, {n} spatial sizes or a full shape of "
                                 f"{x.ndim} sizes, got {output_size!r}. Fix: pass the spatial shape of the "
                                 "input given to MaxPool.")
            sizes = given
        if min(sizes) < 1:
            raise InputError(f"{cls} output size {tuple(sizes)} for an input of shape {x.shape} is empty. "
                             "Fix: pass output_size, the spatial shape of the input given to MaxPool.")
        return sizes

    def update(self, x: jax.Array, indices: jax.Array, output_size: IntOrSeq | None = None) -> jax.Array:
        """Scatter ``x`` to the positions ``indices`` of a zero array whose spatial shape is ``output_size``.

        ``output_size`` is an int, the spatial sizes, or the full output shape; the default is the
        size ``(in - 1) * stride - 2 * padding + kernel_size`` of each axis. Pass the spatial shape of
        the input given to MaxPool whenever that differs (an odd length pooled by 2, say): the
        indices are positions in that shape.
        """
        x, indices = jnp.asarray(x), jnp.asarray(indices)
        cls = type(self).__name__
        if indices.shape != x.shape or not jnp.issubdtype(indices.dtype, jnp.integer):
            raise InputError(f"{cls} needs integer indices of the shape of the values {x.shape}, got "
                             f"{indices.dtype} indices of shape {indices.shape}. Fix: pass both outputs of "
                             "MaxPool(..., return_indices=True).")
        axes = _spatial_axes(self, x)
        plane = self._output_plane(x, axes, output_size)
        size = math.prod(plane)
        if not is_tracer(indices) and indices.size:
            low, high = int(indices.min()), int(indices.max())
            if low < 0 or high >= size:
                raise InputError(f"{cls} got indices in [{low}, {high}], outside the output plane {tuple(plane)} "
                                 f"of {size} positions. Fix: pass output_size, the spatial shape of the input "
                                 "given to MaxPool.")
        return _scatter(x, indices, axes, tuple(plane))

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"channel_axis={self.channel_axis}")


def _adaptive_1d(x: jax.Array, axis: int, out: int, reduce: Callable) -> jax.Array:
    """Pool ``axis`` to ``out`` entries; entry ``i`` reduces ``[floor(i*n/out), ceil((i+1)*n/out))``."""
    n = x.shape[axis]
    pieces = []
    for i in range(out):
        start, stop = (i * n) // out, -((-(i + 1) * n) // out)
        pieces.append(reduce(jax.lax.slice_in_dim(x, start, stop, axis=axis), axis=axis, keepdims=True))
    return jnp.concatenate(pieces, axis=axis)


class _Adaptive(_Spatial):
    _reduce: Callable

    def __init__(self, target_size: IntOrSeq, channel_axis: int | None = -1, name: str | None = None,
                 in_size: Size | None = None) -> None:
        super().__init__(name=name)
        self.target_size = as_tuple(target_size, self.num_spatial_dims, f"{type(self).__name__} target_size")
        self.channel_axis = channel_axis
        _example_sizes(self, in_size)

    def update(self, x: jax.Array) -> jax.Array:
        for axis, out in zip(_spatial_axes(self, x), self.target_size):
            x = _adaptive_1d(x, axis, out, type(self)._reduce)
        return x

    def extra_repr(self) -> str:
        return f"target_size={self.target_size}, channel_axis={self.channel_axis}"


class _AdaptiveAvg(_Adaptive):
    """Mean pooling to the output size ``target_size``, whatever the input size: output entry ``i``
    of an axis of length ``n`` averages inputs ``floor(i*n/out)`` to ``ceil((i+1)*n/out)``.
    """

    _reduce = staticmethod(jnp.mean)


class _AdaptiveMax(_Adaptive):
    """Max pooling to the output size ``target_size`` (windows as in the adaptive average)."""

    _reduce = staticmethod(jnp.max)


@variant_doc
class MaxPool1d(_MaxPool):
    """Max pooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxPool1d(2)(jnp.ones((2, 8, 3))).shape
        (2, 4, 3)
    """

    num_spatial_dims = 1


@variant_doc
class MaxPool2d(_MaxPool):
    """Max pooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxPool2d(2)(jnp.ones((2, 8, 8, 3))).shape
        (2, 4, 4, 3)
    """

    num_spatial_dims = 2


@variant_doc
class MaxPool3d(_MaxPool):
    """Max pooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxPool3d(2)(jnp.ones((2, 8, 8, 8, 3))).shape
        (2, 4, 4, 4, 3)
    """

    num_spatial_dims = 3


@variant_doc
class AvgPool1d(_AvgPool):
    """Average pooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AvgPool1d(2)(jnp.ones((2, 8, 3))).shape, nn.AvgPool1d(2, stride=2)(jnp.ones((2, 8, 3))).shape
        ((2, 7, 3), (2, 4, 3))
    """

    num_spatial_dims = 1


@variant_doc
class AvgPool2d(_AvgPool):
    """Average pooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AvgPool2d(2, stride=2)(jnp.ones((2, 8, 8, 3))).shape
        (2, 4, 4, 3)
    """

    num_spatial_dims = 2


@variant_doc
class AvgPool3d(_AvgPool):
    """Average pooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AvgPool3d(2, stride=2)(jnp.ones((2, 8, 8, 8, 3))).shape
        (2, 4, 4, 4, 3)
    """

    num_spatial_dims = 3


@variant_doc
class LPPool1d(_LPPool):
    """Power-sum (LP) pooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.LPPool1d(2, 2)(jnp.ones((2, 8, 3))).shape
        (2, 4, 3)
    """

    num_spatial_dims = 1


@variant_doc
class LPPool2d(_LPPool):
    """Power-sum (LP) pooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.LPPool2d(2, 2)(jnp.ones((2, 8, 8, 3))).shape
        (2, 4, 4, 3)
    """

    num_spatial_dims = 2


@variant_doc
class LPPool3d(_LPPool):
    """Power-sum (LP) pooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.LPPool3d(2, 2)(jnp.ones((2, 8, 8, 8, 3))).shape
        (2, 4, 4, 4, 3)
    """

    num_spatial_dims = 3


@variant_doc
class MaxUnpool1d(_MaxUnpool):
    """Max unpooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxUnpool1d(2)(*nn.MaxPool1d(2, return_indices=True)(jnp.ones((2, 8, 3)))).shape
        (2, 8, 3)
    """

    num_spatial_dims = 1


@variant_doc
class MaxUnpool2d(_MaxUnpool):
    """Max unpooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(jnp.ones((2, 8, 8, 3)))).shape
        (2, 8, 8, 3)
    """

    num_spatial_dims = 2


@variant_doc
class MaxUnpool3d(_MaxUnpool):
    """Max unpooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.MaxUnpool3d(2)(*nn.MaxPool3d(2, return_indices=True)(jnp.ones((2, 8, 8, 8, 3)))).shape
        (2, 8, 8, 8, 3)
    """

    num_spatial_dims = 3


@variant_doc
class AdaptiveAvgPool1d(_AdaptiveAvg):
    """Adaptive average pooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveAvgPool1d(3)(jnp.ones((2, 8, 3))).shape
        (2, 3, 3)
    """

    num_spatial_dims = 1


@variant_doc
class AdaptiveAvgPool2d(_AdaptiveAvg):
    """Adaptive average pooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveAvgPool2d(3)(jnp.ones((2, 8, 8, 3))).shape
        (2, 3, 3, 3)
    """

    num_spatial_dims = 2


@variant_doc
class AdaptiveAvgPool3d(_AdaptiveAvg):
    """Adaptive average pooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveAvgPool3d(3)(jnp.ones((2, 8, 8, 8, 3))).shape
        (2, 3, 3, 3, 3)
    """

    num_spatial_dims = 3


@variant_doc
class AdaptiveMaxPool1d(_AdaptiveMax):
    """Adaptive max pooling over 1 spatial axis, channels last: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveMaxPool1d(3)(jnp.ones((2, 8, 3))).shape
        (2, 3, 3)
    """

    num_spatial_dims = 1


@variant_doc
class AdaptiveMaxPool2d(_AdaptiveMax):
    """Adaptive max pooling over 2 spatial axes, channels last: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveMaxPool2d(3)(jnp.ones((2, 8, 8, 3))).shape
        (2, 3, 3, 3)
    """

    num_spatial_dims = 2


@variant_doc
class AdaptiveMaxPool3d(_AdaptiveMax):
    """Adaptive max pooling over 3 spatial axes, channels last: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AdaptiveMaxPool3d(3)(jnp.ones((2, 8, 8, 8, 3))).shape
        (2, 3, 3, 3, 3)
    """

    num_spatial_dims = 3
