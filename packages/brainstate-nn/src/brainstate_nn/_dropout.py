"""``Dropout``: randomly zero elements while training (``brainstate.environ`` key ``fit``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, environ

from ._module import Module
from ._utils import generator

__all__ = ["Dropout", "is_training"]

_FIT_DESC = "whether the model is being trained (True) or evaluated (False); Dropout and BatchNorm read it"


def is_training() -> bool:
    """The ``fit`` environment value: True while training. Raises if it is not set.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(fit=True):
        ...     nn.is_training()
        True
    """
    return bool(environ.get(environ.FIT, desc=_FIT_DESC))


class Dropout(Module):
    """Keep each element with probability ``prob`` (scaled by ``1 / prob``) while training.

    ``prob`` is the probability to KEEP an element, as in upstream brainstate (PyTorch's ``p`` is
    the probability to drop: ``torch.nn.Dropout(p=0.1)`` is ``Dropout(prob=0.9)`` here). The
    layer is active when ``brainstate.environ`` has ``fit=True`` and is the identity with
    ``fit=False``; it raises if ``fit`` is not set, so that evaluation never drops by accident.
    Inside ``brainstate.transform.jit`` the ``fit`` value is part of the cache key.

    Args:
        prob: probability of keeping an element, in ``(0, 1]``.
        broadcast_dims: axes along which one mask is shared (e.g. ``(0,)`` for the same mask
            across the batch).
        rng: the ``RandomState`` to draw masks from (default ``brainstate.random.DEFAULT``).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> drop = nn.Dropout(0.5)
        >>> with bc.environ.context(fit=True):
        ...     y = drop(jnp.ones(1000))
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
        >>> with bc.environ.context(fit=False):
        ...     drop(jnp.ones(3))
        Array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, prob: float = 0.5, broadcast_dims: Sequence[int] = (), rng: Any = None,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        if not 0.0 < prob <= 1.0:
            raise ConfigError(f"{type(self).__name__} prob is the probability to keep an element and must be in (0, 1], "
                              f"got {prob}. Fix: pass 1 - (drop rate), e.g. prob=0.9 to drop 10%.")
        self.prob = prob
        self.broadcast_dims = tuple(broadcast_dims)
        self.rng = rng

    def update(self, x: jax.Array) -> jax.Array:
        if not is_training() or self.prob == 1.0:
            return x
        x = jnp.asarray(x)
        dims = {d % x.ndim for d in self.broadcast_dims}
        shape = tuple(1 if i in dims else n for i, n in enumerate(x.shape))
        keep = generator(self.rng).bernoulli(self.prob, size=shape)
        return jnp.where(keep, x / self.prob, jnp.zeros((), x.dtype))

    def extra_repr(self) -> str:
        dims = f", broadcast_dims={self.broadcast_dims}" if self.broadcast_dims else ""
        return f"prob={self.prob}{dims}"
