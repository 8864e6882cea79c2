"""``Embedding``: a lookup table from integer ids to vectors, with PyTorch's options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, InputError, ParamState
from brainstate_core.internal import is_tracer

from . import _init as init
from ._module import Module
from ._utils import Size, as_size, make_param

__all__ = ["Embedding"]

# Default initialisers: stateless, so one shared instance serves every layer.
_LECUN_UNIFORM = init.LecunUniform()


@functools.cache
def _lookup(padding_idx: int | None, scale_grad_by_freq: bool) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``table[ids]`` whose gradient skips ``padding_idx`` and (optionally) divides each row's by its count."""
    if padding_idx is None and not scale_grad_by_freq:
        return lambda table, ids: jnp.take(table, ids, axis=0)

    @jax.custom_vjp
    def take(table: jax.Array, ids: jax.Array) -> jax.Array:
        return jnp.take(table, ids, axis=0)

    def forward(table: jax.Array, ids: jax.Array) -> tuple[jax.Array, tuple]:
        return jnp.take(table, ids, axis=0), (ids, table.shape)

    def backward(saved: tuple, g: jax.Array) -> tuple[jax.Array, None]:
        ids, shape = saved
        flat = ids.reshape(-1)
        rows = g.reshape((flat.size,) + tuple(shape[1:]))
        factor = jnp.ones(flat.shape, g.dtype)
        if scale_grad_by_freq:
            factor = factor / jnp.zeros(shape[0], g.dtype).at[flat].add(1)[flat]
        if padding_idx is not None:
            factor = jnp.where(flat == padding_idx, 0, factor)
        rows = rows * factor.reshape(factor.shape + (1,) * (rows.ndim - 1))
        return jnp.zeros(shape, g.dtype).at[flat].add(rows), None

    take.defvjp(forward, backward)
    return take


class Embedding(Module):
    """Map integer ids in ``[0, num_embeddings)`` to rows of a learnable table.

    The options are PyTorch's ``nn.Embedding``'s, as in upstream brainstate.

    Args:
        num_embeddings: the number of ids.
        embedding_size: the shape of each vector (an int or a tuple).
        embedding_init: initialiser (or array) of the table, shape ``(num_embeddings, *embedding_size)``.
        padding_idx: an id whose row starts at zero and gets no gradient (a fixed padding vector).
        max_norm: rows looked up with a ``norm_type``-norm above ``max_norm`` are scaled to
            ``max_norm`` (``max_norm / (norm + 1e-7)``, PyTorch's formula); the output uses the scaled rows
            and the gradient passes as if unscaled. Eagerly the table keeps the scaled rows (PyTorch
            renormalises in place); inside compiled code only the output is affected.
        norm_type: the ``p`` of that norm.
        scale_grad_by_freq: divide each row's gradient by the number of times its id occurs in the batch.
        freeze: no gradient reaches the table.
        name: optional display name.
        param_type: the State class of ``weight`` (``ParamState``).
        in_size: optional shape of the ids of one example; ``out_size`` is ``(*in_size, *embedding_size)``
            (``embedding_size`` without it, as upstream).
        sharding: the table's layout over a device mesh: one spec, e.g. ``('vocab', 'embed')`` (see
            ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> emb = nn.Embedding(10, 4)
        >>> emb(jnp.array([[1, 2, 3]])).shape
        (1, 3, 4)
        >>> nn.Embedding(10, 4, padding_idx=0)(jnp.array([0])).tolist()
        [[0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, num_embeddings: int, embedding_size: Size, embedding_init: Any = _LECUN_UNIFORM,
                 padding_idx: int | None = None, max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, freeze: bool = False, name: str | None = None,
                 param_type: type = ParamState, in_size: Size | None = None, sharding: Any = None) -> None:
        super().__init__(name=name)
        self.num_embeddings = int(num_embeddings)
        self.embedding_size = as_size(embedding_size, "Embedding embedding_size")
        if padding_idx is not None and not 0 <= int(padding_idx) < self.num_embeddings:
            raise ConfigError(f"Embedding padding_idx={padding_idx} is not an id in [0, {self.num_embeddings}). "
                              "Fix: pass one of the ids, or None.")
        if max_norm is not None and not max_norm > 0:
            raise ConfigError(f"Embedding max_norm={max_norm} must be positive. Fix: pass a positive norm, or None.")
        self.padding_idx = None if padding_idx is None else int(padding_idx)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.freeze = bool(scale_grad_by_freq), bool(freeze)
        table = init.param(embedding_init, (self.num_embeddings, *self.embedding_size), allow_none=False)
        if self.padding_idx is not None:
            table = jnp.asarray(table).at[self.padding_idx].set(0)
        self.weight = make_param(param_type, table, sharding, "Embedding")
        self.in_size = None if in_size is None else as_size(in_size, "Embedding in_size")
        self.out_size = self.embedding_size if self.in_size is None else self.in_size + self.embedding_size

    @classmethod
    def from_pretrained(cls, embeddings: Any, padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, freeze: bool = True,
                        name: str | None = None, param_type: type = ParamState, sharding: Any = None) -> Embedding:
        """An embedding whose table is ``embeddings`` (at least 2-D: ids first), frozen by default.

        Example:
            >>> import brainstate_nn as nn, jax.numpy as jnp
            >>> nn.Embedding.from_pretrained(jnp.array([[1.0, 2.0], [3.0, 4.0]]))(jnp.array([1])).tolist()
            [[3.0, 4.0]]
        """
        table = jnp.asarray(embeddings)
        if table.ndim < 2:
            raise ConfigError(f"Embedding.from_pretrained needs a table of at least 2 dimensions (ids first), got "
                              f"shape {table.shape}. Fix: pass an array (num_embeddings, *embedding_size).")
        layer = cls(table.shape[0], table.shape[1:], table, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                    freeze, name, param_type, sharding=sharding)
        layer.weight.value = table  # padding_idx keeps its pretrained row, as in PyTorch
        return layer

    def _renorm(self, table: jax.Array, ids: jax.Array) -> jax.Array:
        """``table`` with the rows of ``ids`` scaled down to ``max_norm`` where their norm exceeds it."""
        used = jnp.zeros(table.shape[0], bool).at[ids.reshape(-1)].set(True)
        flat = table.reshape(table.shape[0], -1)
        norms = jnp.linalg.norm(flat, ord=self.norm_type, axis=1)
        scale = jnp.where(used & (norms > self.max_norm), self.max_norm / (norms + 1e-7), 1.0)
        return (flat * scale[:, None].astype(flat.dtype)).reshape(table.shape)

    def update(self, indices: Any) -> jax.Array:
        indices = jnp.asarray(indices)
        if not jnp.issubdtype(indices.dtype, jnp.integer):
            raise InputError(f"Embedding({self.extra_repr()}) expects integer ids, got dtype {indices.dtype}. "
                             "Fix: cast with .astype(int).")
        table = self.weight.value
        if self.max_norm is not None:
            scaled = self._renorm(jax.lax.stop_gradient(table), indices)
            if not is_tracer(scaled):
                self.weight.value = scaled
            table = table + jax.lax.stop_gradient(scaled - table)
        if self.freeze:
            table = jax.lax.stop_gradient(table)
        return _lookup(self.padding_idx, self.scale_grad_by_freq)(table, indices)

    def extra_repr(self) -> str:
        size = self.embedding_size[0] if len(self.embedding_size) == 1 else self.embedding_size
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"num_embeddings={self.num_embeddings}, embedding_size={size}{pad}"

