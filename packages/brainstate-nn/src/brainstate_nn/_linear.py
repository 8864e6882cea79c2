"""``Linear``: the affine map ``x @ W + b`` over the last axis."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import InputError, ParamState
from brainstate_core.internal import peek

from . import _init as init
from ._module import Module
from ._utils import Size, as_mask, as_size, make_param

__all__ = ["Linear"]

# Default initialisers: stateless, so one shared instance serves every layer.
_KAIMING_NORMAL = init.KaimingNormal()
_ZERO_INIT = init.ZeroInit()


class Linear(Module):
    """``y = x @ W + b`` over the last axis of ``x`` (any leading axes are kept).

    The parameters live in ONE ParamState, ``self.weight``, whose value is the dict
    ``{'weight': W, 'bias': b}`` (``{'weight': W}`` without bias), as in upstream brainstate.

    Args:
        in_size: input features (an int, or a shape whose last entry is the feature count).
        out_size: output features (int or shape, as ``in_size``).
        w_init: initialiser (or array) of ``W``, of shape ``(in_features, out_features)``.
        b_init: initialiser (or array) of ``b``; ``None`` for no bias.
        w_mask: optional 0/1 array broadcastable to ``W``: ``W * w_mask`` is used, so masked
            connections stay absent (their gradient is zero).
        name: optional display name.
        param_type: the State class of the parameters.
        sharding: layouts of the parameters over a device mesh: ``{'weight': spec, 'bias': spec}``,
            a name left out is replicated. A spec is a tuple of mesh or logical axis names (one per
            leading axis), a ``PartitionSpec`` or a ``NamedSharding``; see ``brainstate.sharding``.
            No mesh is needed to build the layer.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> layer = nn.Linear(3, 4)
        >>> layer(jnp.ones((2, 3))).shape
        (2, 4)
        >>> layer.weight
        ParamState({'weight': f32[3,4], 'bias': f32[4]})
        >>> nn.Linear(3, 4, sharding={'weight': (None, 'model')}).weight.metadata['sharding']
        {'weight': (None, 'model'), 'bias': None}
    """

    def __init__(
        self,
        in_size: Size,
        out_size: Size,
        w_init: Any = _KAIMING_NORMAL,
        b_init: Any = _ZERO_INIT,
        w_mask: Any | None = None,
        name: str | None = None,
        param_type: type = ParamState,
        sharding: Any = None,
    ) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "Linear in_size")
        self.out_size = as_size(out_size, "Linear out_size")
        shape = (self.in_size[-1], self.out_size[-1])
        params = {"weight": init.param(w_init, shape, allow_none=False)}
        if b_init is not None:
            params["bias"] = init.param(b_init, shape[1:])
        self.weight = make_param(param_type, params, sharding, "Linear")
        self.w_mask = as_mask(w_mask, shape, "Linear")

    def update(self, x: jax.Array) -> jax.Array:
        if jnp.shape(x)[-1:] != self.in_size[-1:]:
            raise InputError(
                f"Linear({self.in_size[-1]} -> {self.out_size[-1]}) got an input of shape {jnp.shape(x)}: its last "
                f"axis must have {self.in_size[-1]} features. Fix: pass inputs of shape (..., {self.in_size[-1]}), "
                "or build the layer with the input's feature count."
            )
        params = self.weight.value
        w = params["weight"]
        if self.w_mask is not None:
            w = w * self.w_mask
        y = x @ w
        if "bias" in params:
            y = y + params["bias"]
        return y

    def extra_repr(self) -> str:
        bias = "bias" in peek(self.weight)
        mask = ", w_mask=True" if self.w_mask is not None else ""
        return f"in_size={self.in_size}, out_size={self.out_size}, bias={bias}{mask}"
