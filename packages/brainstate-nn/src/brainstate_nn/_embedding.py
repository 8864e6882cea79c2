"""``Embedding``: a lookup table from integer ids to vectors."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import InputError, ParamState

from . import _init as init
from ._module import Module

__all__ = ["Embedding"]

# Default initialisers: stateless, so one shared instance serves every layer.
_LECUN_UNIFORM = init.LecunUniform()


class Embedding(Module):
    """Map integer ids in ``[0, num_embeddings)`` to rows of a learnable table.

    Args:
        num_embeddings: the number of ids.
        embedding_size: the length of each vector.
        embedding_init: initialiser (or array) of the table, shape ``(num_embeddings, embedding_size)``.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> emb = nn.Embedding(10, 4)
        >>> emb(jnp.array([[1, 2, 3]])).shape
        (1, 3, 4)
    """

    def __init__(self, num_embeddings: int, embedding_size: int, embedding_init: Any = _LECUN_UNIFORM,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.num_embeddings, self.embedding_size = int(num_embeddings), int(embedding_size)
        self.weight = ParamState(init.param(embedding_init, (self.num_embeddings, self.embedding_size),
                                            allow_none=False))

    def update(self, indices: Any) -> jax.Array:
        indices = jnp.asarray(indices)
        if not jnp.issubdtype(indices.dtype, jnp.integer):
            raise InputError(f"Embedding(num_embeddings={self.num_embeddings}, embedding_size={self.embedding_size}) "
                             f"expects integer ids, got dtype {indices.dtype}. Fix: cast with .astype(int).")
        return jnp.take(self.weight.value, indices, axis=0)

    def extra_repr(self) -> str:
        return f"num_embeddings={self.num_embeddings}, embedding_size={self.embedding_size}"
