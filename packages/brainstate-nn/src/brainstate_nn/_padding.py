"""Padding layers, channels last: reflect, replicate, zero, constant and circular padding of spatial axes.

Inputs are ``(*batch, *spatial, channels)``: the ``n`` spatial axes are the ones just before the
last (channel) axis, and any axes before them are batch axes (none, one or several). Only the
spatial axes are padded.

``padding`` is given in axis order, as in upstream brainstate: an int pads every side; ``n`` ints
pad both sides of each spatial axis; ``2 * n`` ints are ``(before_1, after_1, before_2, after_2, ...)``
for the spatial axes from first to last. PyTorch's ``*Pad2d`` / ``*Pad3d`` list the LAST spatial
axis first (``(left, right, top, bottom)``), so a PyTorch tuple must be reordered pair-wise.
The modes are those of ``numpy.pad``: ``reflect`` (mirror without repeating the edge), ``edge``
(repeat the edge), ``constant`` and ``wrap`` (circular); pads wider than the input repeat the
pattern as ``numpy.pad`` does (PyTorch raises there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError

from ._module import Module
from ._utils import Size, as_size, variant_doc

__all__ = [
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
]

PadSpec = int | Sequence[int]


def _pairs(padding: PadSpec, n: int, what: str) -> tuple[tuple[int, int], ...]:
    """``padding`` as one ``(before, after)`` pair per spatial axis (see the module docstring)."""
    fix = f"Fix: pass one int, {n} ints (one per spatial axis) or {2 * n} ints (before, after per axis)."
    if isinstance(padding, (int, np.integer)):
        items = [int(padding)] * (2 * n)
    else:
        try:
            flat = list(padding)
        except TypeError:
            raise ConfigError(f"{what} padding must be an int or a sequence of ints, got {padding!r}. {fix}") from None
        if not all(isinstance(p, (int, np.integer)) for p in flat):
            raise ConfigError(f"{what} padding must be an int or a sequence of ints, got {padding!r}. {fix}")
        if len(flat) == n:
            items = [int(p) for p in flat for _ in range(2)]
        elif len(flat) == 2 * n:
            items = [int(p) for p in flat]
        else:
            raise ConfigError(f"{what} padding needs 1, {n} or {2 * n} ints, got {len(flat)}: {padding!r}. {fix}")
    if any(p < 0 for p in items):
        raise ConfigError(f"{what} padding must be >= 0, got {padding!r}. Fix: pass non-negative pad widths "
                          "(crop with slicing instead).")
    return tuple((items[2 * i], items[2 * i + 1]) for i in range(n))


class _Pad(Module):
    """Only the spatial axes (the ``num_spatial_dims`` axes before the channel axis) are padded, with
    ``numpy.pad``'s ``mode``. See the module ``brainstate_nn._padding`` for the forms of ``padding``
    (axis order, not PyTorch's reversed order). ``in_size`` (one example, without batch) sets
    ``out_size``.
    """

    num_spatial_dims: int
    mode: str

    def __init__(self, padding: PadSpec, in_size: Size | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        cls, n = type(self).__name__, self.num_spatial_dims
        self.padding = _pairs(padding, n, cls)
        self.in_size: tuple[int, ...] | None = None
        self.out_size: tuple[int, ...] | None = None
        if in_size is not None:
            size = as_size(in_size, f"{cls} in_size")
            if len(size) != n + 1:
                raise ConfigError(f"{cls} in_size is the shape of one example, (*{n} spatial, channels); got "
                                  f"{in_size!r}. Fix: pass {n + 1} sizes, without the batch axis.")
            self.in_size = size
            self.out_size = tuple(s + lo + hi for s, (lo, hi) in zip(size[:-1], self.padding)) + size[-1:]

    def _pad_kwargs(self) -> dict[str, Any]:
        return {}

    def update(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        n = self.num_spatial_dims
        if x.ndim < n + 1:
            raise InputError(f"{type(self).__name__} pads {n} spatial axes before a channel axis, got an input of "
                             f"shape {x.shape}. Fix: pass inputs (*batch, *{n} spatial, channels).")
        widths = [(0, 0)] * (x.ndim - n - 1) + list(self.padding) + [(0, 0)]
        return jnp.pad(x, widths, mode=self.mode, **self._pad_kwargs())

    def extra_repr(self) -> str:
        size = f", in_size={self.in_size}" if self.in_size is not None else ""
        return f"padding={self.padding}{size}"


class _ReflectionPad(_Pad):
    """Pads by mirroring the input at its border, without repeating the border element
    (``numpy.pad`` mode ``'reflect'``).
    """

    mode = "reflect"


class _ReplicationPad(_Pad):
    """Pads by repeating the border element (``numpy.pad`` mode ``'edge'``)."""

    mode = "edge"


class _CircularPad(_Pad):
    """Pads circularly: the input wraps around, as if periodic (``numpy.pad`` mode ``'wrap'``)."""

    mode = "wrap"


class _ConstantPad(_Pad):
    """Pads with the constant ``value`` (default 0)."""

    mode = "constant"

    def __init__(self, padding: PadSpec, value: float = 0.0, in_size: Size | None = None,
                 name: str | None = None) -> None:
        super().__init__(padding, in_size, name)
        self.value = value

    def _pad_kwargs(self) -> dict[str, Any]:
        return {"constant_values": self.value}

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, value={self.value}"


class _ZeroPad(_Pad):
    """Pads with zeros."""

    mode = "constant"


@variant_doc
class ReflectionPad1d(_ReflectionPad):
    """Reflection padding of 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReflectionPad1d(1)(jnp.ones((2, 4, 3))).shape
        (2, 6, 3)
    """

    num_spatial_dims = 1


@variant_doc
class ReflectionPad2d(_ReflectionPad):
    """Reflection padding of 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReflectionPad2d(1)(jnp.ones((2, 4, 4, 3))).shape
        (2, 6, 6, 3)
    """

    num_spatial_dims = 2


@variant_doc
class ReflectionPad3d(_ReflectionPad):
    """Reflection padding of 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReflectionPad3d(1)(jnp.ones((2, 4, 4, 4, 3))).shape
        (2, 6, 6, 6, 3)
    """

    num_spatial_dims = 3


@variant_doc
class ReplicationPad1d(_ReplicationPad):
    """Replication padding of 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReplicationPad1d(1)(jnp.ones((2, 4, 3))).shape
        (2, 6, 3)
    """

    num_spatial_dims = 1


@variant_doc
class ReplicationPad2d(_ReplicationPad):
    """Replication padding of 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReplicationPad2d(1)(jnp.ones((2, 4, 4, 3))).shape
        (2, 6, 6, 3)
    """

    num_spatial_dims = 2


@variant_doc
class ReplicationPad3d(_ReplicationPad):
    """Replication padding of 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ReplicationPad3d(1)(jnp.ones((2, 4, 4, 4, 3))).shape
        (2, 6, 6, 6, 3)
    """

    num_spatial_dims = 3


@variant_doc
class ZeroPad1d(_ZeroPad):
    """Zero padding of 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ZeroPad1d(1)(jnp.ones((2, 4, 3))).shape
        (2, 6, 3)
    """

    num_spatial_dims = 1


@variant_doc
class ZeroPad2d(_ZeroPad):
    """Zero padding of 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ZeroPad2d(1)(jnp.ones((2, 4, 4, 3))).shape
        (2, 6, 6, 3)
    """

    num_spatial_dims = 2


@variant_doc
class ZeroPad3d(_ZeroPad):
    """Zero padding of 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ZeroPad3d(1)(jnp.ones((2, 4, 4, 4, 3))).shape
        (2, 6, 6, 6, 3)
    """

    num_spatial_dims = 3


@variant_doc
class ConstantPad1d(_ConstantPad):
    """Constant padding of 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConstantPad1d(1, value=1.0)(jnp.ones((2, 4, 3))).shape
        (2, 6, 3)
    """

    num_spatial_dims = 1


@variant_doc
class ConstantPad2d(_ConstantPad):
    """Constant padding of 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConstantPad2d(1, value=1.0)(jnp.ones((2, 4, 4, 3))).shape
        (2, 6, 6, 3)
    """

    num_spatial_dims = 2


@variant_doc
class ConstantPad3d(_ConstantPad):
    """Constant padding of 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConstantPad3d(1, value=1.0)(jnp.ones((2, 4, 4, 4, 3))).shape
        (2, 6, 6, 6, 3)
    """

    num_spatial_dims = 3


@variant_doc
class CircularPad1d(_CircularPad):
    """Circular padding of 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.CircularPad1d(1)(jnp.ones((2, 4, 3))).shape
        (2, 6, 3)
    """

    num_spatial_dims = 1


@variant_doc
class CircularPad2d(_CircularPad):
    """Circular padding of 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.CircularPad2d(1)(jnp.ones((2, 4, 4, 3))).shape
        (2, 6, 6, 3)
    """

    num_spatial_dims = 2


@variant_doc
class CircularPad3d(_CircularPad):
    """Circular padding of 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.CircularPad3d(1)(jnp.ones((2, 4, 4, 4, 3))).shape
        (2, 6, 6, 6, 3)
    """

    num_spatial_dims = 3
