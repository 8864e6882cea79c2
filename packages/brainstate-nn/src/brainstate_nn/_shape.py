"""``Flatten`` and ``Unflatten``: reshape a range of axes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from brainstate_core import InputError

from ._module import Module
from ._utils import Size, as_size

__all__ = ["Flatten", "Unflatten"]


def _out_size(module: Module, in_size: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The shape ``module`` gives one example of shape ``in_size`` (None if that is None)."""
    if in_size is None:
        return None
    return tuple(jax.eval_shape(module.update, jax.ShapeDtypeStruct(in_size, jnp.float32)).shape)


class Flatten(Module):
    """Merge the axes ``start_axis`` to ``end_axis`` (inclusive) into one.

    With ``in_size`` (the shape of one example, without batch axes) the axes count from the
    first non-batch axis, so the same layer works on single examples and on batches.

    Args:
        start_axis: first axis to merge.
        end_axis: last axis to merge.
        in_size: optional shape of one example.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.Flatten(start_axis=1)(jnp.zeros((2, 3, 4))).shape
        (2, 12)
        >>> f = nn.Flatten(in_size=(3, 4))
        >>> f(jnp.zeros((3, 4))).shape, f(jnp.zeros((5, 3, 4))).shape
        ((12,), (5, 12))
    """

    def __init__(self, start_axis: int = 0, end_axis: int = -1, in_size: Size | None = None) -> None:
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis
        self.in_size = None if in_size is None else as_size(in_size, "Flatten in_size")
        self.out_size = _out_size(self, self.in_size)

    def update(self, x: jax.Array) -> jax.Array:
        shape = jnp.shape(x)
        offset = 0
        if self.in_size is not None:
            offset = len(shape) - len(self.in_size)
            if offset < 0 or shape[offset:] != self.in_size:
                raise InputError(f"Flatten(in_size={self.in_size}) got an input of shape {shape}. "
                                 f"Fix: pass inputs whose trailing axes are {self.in_size}.")
        n = len(shape) - offset
        start = offset + self.start_axis % n
        end = offset + self.end_axis % n
        if start > end:
            raise InputError(f"Flatten start_axis={self.start_axis} comes after end_axis={self.end_axis} for shape "
                             f"{shape}. Fix: pass inputs with enough axes, or build Flatten with start_axis <= end_axis.")
        return jnp.reshape(x, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def extra_repr(self) -> str:
        size = f", in_size={self.in_size}" if self.in_size is not None else ""
        return f"start_axis={self.start_axis}, end_axis={self.end_axis}{size}"


class Unflatten(Module):
    """Split axis ``axis`` into the shape ``sizes`` (the inverse of :class:`Flatten`).

    Args:
        axis: the axis to split (of the input; negative axes count from the end).
        sizes: the shape it becomes.
        name: optional display name.
        in_size: optional shape of one example; ``out_size`` is then the shape it becomes.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.Unflatten(-1, (3, 4))(jnp.zeros((2, 12))).shape
        (2, 3, 4)
        >>> nn.Unflatten(-1, (3, 4), in_size=(5, 12)).out_size
        (5, 3, 4)
    """

    def __init__(self, axis: int, sizes: Sequence[int], name: str | None = None, in_size: Size | None = None) -> None:
        super().__init__(name=name)
        self.axis = axis
        self.sizes = as_size(sizes, "Unflatten sizes")
        self.in_size = None if in_size is None else as_size(in_size, "Unflatten in_size")
        self.out_size = _out_size(self, self.in_size)

    def update(self, x: jax.Array) -> jax.Array:
        shape = jnp.shape(x)
        axis = self.axis % len(shape)
        if shape[axis] != math.prod(self.sizes):
            raise InputError(f"Unflatten cannot split axis {self.axis} of size {shape[axis]} into {self.sizes}. "
                             f"Fix: pass inputs whose axis {self.axis} has size {math.prod(self.sizes)}.")
        return jnp.reshape(x, shape[:axis] + self.sizes + shape[axis + 1:])

    def extra_repr(self) -> str:
        return f"axis={self.axis}, sizes={self.sizes}"
