"""``MultiHeadAttention`` and the scaled dot-product attention it computes."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError

from . import _init as init
from ._dropout import Dropout
from ._linear import Linear
from ._module import Module

__all__ = ["MultiHeadAttention", "dot_product_attention"]

# Default initialisers: stateless, so one shared instance serves every layer.
_XAVIER_UNIFORM = init.XavierUniform()
_ZERO_INIT = init.ZeroInit()


def dot_product_attention(query: jax.Array, key: jax.Array, value: jax.Array,
                          mask: jax.Array | None = None) -> jax.Array:
    """``softmax(q k^T / sqrt(d) + masked) v`` for inputs ``(..., length, heads, head_dim)``.

    Args:
        query: ``(..., Lq, H, D)``.
        key: ``(..., Lk, H, D)``.
        value: ``(..., Lk, H, Dv)``.
        mask: boolean, broadcastable to ``(..., H, Lq, Lk)``; False entries are not attended to.

    Returns:
        ``(..., Lq, H, Dv)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> q = k = v = jnp.ones((2, 5, 4, 8))
        >>> nn.dot_product_attention(q, k, v).shape
        (2, 5, 4, 8)
    """
    return jnp.einsum("...hqk,...khd->...qhd", _attention_weights(query, key, mask), value)


def _attention_weights(query: jax.Array, key: jax.Array, mask: jax.Array | None) -> jax.Array:
    """``softmax(q k^T / sqrt(d))`` with masked scores set to the lowest float: ``(..., H, Lq, Lk)``."""
    scores = jnp.einsum("...qhd,...khd->...hqk", query, key) / math.sqrt(query.shape[-1])
    if mask is not None:
        scores = jnp.where(mask, scores, jnp.finfo(scores.dtype).min)
    return jax.nn.softmax(scores, axis=-1)


class MultiHeadAttention(Module):
    """Multi-head attention (Vaswani et al., 2017) over sequences ``(..., length, features)``.

    ``query``, ``key`` and ``value`` are projected to ``num_heads`` heads of
    ``qkv_features // num_heads`` features each, attended with :func:`dot_product_attention`,
    and the heads are projected to ``out_features``.

    Args:
        in_features: features of the inputs.
        num_heads: number of heads; must divide ``qkv_features``.
        qkv_features: total features of the projected queries, keys and values (default ``in_features``).
        out_features: output features (default ``in_features``).
        use_bias: biases in the projections.
        dropout_prob: probability of KEEPING an attention weight while training (see :class:`Dropout`);
            1.0 (the default) disables dropout.
        w_init, b_init: initialisers of the projections.
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> mha = nn.MultiHeadAttention(16, num_heads=4)
        >>> x = jnp.ones((2, 7, 16))
        >>> mha(x).shape, mha(x, mask=nn.MultiHeadAttention.causal_mask(7)).shape
        ((2, 7, 16), (2, 7, 16))
    """

    def __init__(self, in_features: int, num_heads: int, qkv_features: int | None = None,
                 out_features: int | None = None, use_bias: bool = True, dropout_prob: float = 1.0,
                 w_init: Any = _XAVIER_UNIFORM, b_init: Any = _ZERO_INIT, name: str | None = None) -> None:
        super().__init__(name=name)
        qkv_features = in_features if qkv_features is None else qkv_features
        out_features = in_features if out_features is None else out_features
        if num_heads <= 0 or qkv_features % num_heads:
            raise ConfigError(f"MultiHeadAttention num_heads={num_heads} must divide qkv_features={qkv_features}. "
                              "Fix: pass a positive num_heads that divides qkv_features.")
        self.in_features, self.num_heads = in_features, num_heads
        self.qkv_features, self.out_features = qkv_features, out_features
        self.head_dim = qkv_features // num_heads
        bias = b_init if use_bias else None
        self.query = Linear(in_features, qkv_features, w_init=w_init, b_init=bias)
        self.key = Linear(in_features, qkv_features, w_init=w_init, b_init=bias)
        self.value = Linear(in_features, qkv_features, w_init=w_init, b_init=bias)
        self.out = Linear(qkv_features, out_features, w_init=w_init, b_init=bias)
        self.dropout = Dropout(dropout_prob) if dropout_prob < 1.0 else None

    @staticmethod
    def causal_mask(length: int) -> jax.Array:
        """A ``(length, length)`` boolean mask letting position ``i`` attend to positions ``<= i``."""
        return jnp.tril(jnp.ones((length, length), dtype=bool))

    def update(self, query: jax.Array, key: jax.Array | None = None, value: jax.Array | None = None,
               mask: jax.Array | None = None) -> jax.Array:
        key = query if key is None else key
        value = key if value is None else value

        def heads(x: jax.Array) -> jax.Array:
            return x.reshape(x.shape[:-1] + (self.num_heads, self.head_dim))

        q, k, v = heads(self.query(query)), heads(self.key(key)), heads(self.value(value))
        weights = _attention_weights(q, k, mask)
        if self.dropout is not None:
            weights = self.dropout(weights)
        out = jnp.einsum("...hqk,...khd->...qhd", weights, v)
        return self.out(out.reshape(out.shape[:-2] + (self.qkv_features,)))

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, num_heads={self.num_heads}, qkv_features={self.qkv_features}, "
                f"out_features={self.out_features}")
