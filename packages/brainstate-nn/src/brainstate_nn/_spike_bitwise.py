"""``SpikeBitwise``: the element-wise logic of two spike trains, written as arithmetic.

For spikes ``x, y`` in ``{0, 1}`` the four operations are polynomials, so they stay differentiable
through surrogate spike functions (the residual connections of spiking ResNets, SEW-ResNet):

=========  =================  ==================
``op``     logic              value
=========  =================  ==================
``add``    (a count)          ``x + y``
``and``    ``x AND y``        ``x * y``
``iand``   ``(NOT x) AND y``  ``(1 - x) * y``
``or``     ``x OR y``         ``x + y - x * y``
=========  =================  ==================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, environ

from ._module import ElementWiseBlock

__all__ = ["SpikeBitwise"]

_OPS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
    "add": lambda x, y: x + y,
    "and": lambda x, y: x * y,
    "iand": lambda x, y: (1 - x) * y,
    "or": lambda x, y: x + y - x * y,
}


def _float(v: Any) -> jax.Array:
    v = jnp.asarray(v)
    return v.astype(environ.dftype()) if not jnp.issubdtype(v.dtype, jnp.inexact) else v


class SpikeBitwise(ElementWiseBlock):
    """``g(x, y)`` of two spike tensors, element by element: ``op`` is ``'add'``, ``'and'``, ``'iand'`` or ``'or'``.

    Boolean and integer spikes are turned into floats first (``x + y`` of booleans would be a
    logical OR in JAX); the shapes broadcast.

    Args:
        op: the operation (see the module notes).
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> x, y = jnp.array([0., 0., 1., 1.]), jnp.array([0., 1., 0., 1.])
        >>> [nn.SpikeBitwise(op)(x, y).tolist() for op in ('add', 'and', 'iand', 'or')]
        [[0.0, 1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]]
    """

    def __init__(self, op: str = "add", name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(op, str) or op not in _OPS:
            raise ConfigError(f"SpikeBitwise op must be one of {sorted(_OPS)}, got {op!r}. Fix: pass e.g. op='and'.")
        self.op = op

    def update(self, x: Any, y: Any) -> jax.Array:
        return _OPS[self.op](_float(x), _float(y))

    def extra_repr(self) -> str:
        return f"op={self.op!r}"
