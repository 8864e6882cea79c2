"""Dropout while training (``brainstate.environ`` key ``fit``): element-wise, channel-wise, alpha and fixed-mask.

``prob`` is always the probability to KEEP an element (or a channel), as in upstream brainstate;
PyTorch's ``p`` is the probability to drop, so ``torch.nn.Dropout2d(p=0.1)`` is ``Dropout2d(prob=0.9)``.
Every layer here is the identity with ``fit=False`` and raises if ``fit`` is not set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, InputError, ShortTermState, StateUsageError, environ

from ._module import ElementWiseBlock, Module
from ._utils import Size, as_size, generator, variant_doc

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "DropoutFixed",
           "is_training"]

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


def _check_prob(module: Module, prob: float) -> float:
    if not 0.0 < prob <= 1.0:
        raise ConfigError(f"{type(module).__name__} prob is the probability to keep an element and must be in (0, 1], "
                          f"got {prob}. Fix: pass 1 - (drop rate), e.g. prob=0.9 to drop 10%.")
    return prob


def _keep(x: jax.Array, keep: jax.Array, prob: float) -> jax.Array:
    """``x / prob`` where ``keep``, 0 elsewhere."""
    return jnp.where(keep, x / prob, jnp.zeros((), x.dtype))


class Dropout(ElementWiseBlock):
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
        in_size: optional shape of one example (sets ``in_size`` and ``out_size``).

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

    def __init__(self, prob: float = 0.5, broadcast_dims: Sequence[int] = (), name: str | None = None, *,
                 rng: Any = None, in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size, name=name)
        self.prob = _check_prob(self, prob)
        self.broadcast_dims = tuple(broadcast_dims)
        self.rng = rng

    def update(self, x: jax.Array) -> jax.Array:
        if not is_training() or self.prob == 1.0:
            return x
        x = jnp.asarray(x)
        dims = {d % x.ndim for d in self.broadcast_dims}
        shape = tuple(1 if i in dims else n for i, n in enumerate(x.shape))
        return _keep(x, generator(self.rng).bernoulli(self.prob, size=shape), self.prob)

    def extra_repr(self) -> str:
        dims = f", broadcast_dims={self.broadcast_dims}" if self.broadcast_dims else ""
        return f"prob={self.prob}{dims}"


class _ChannelDropout(ElementWiseBlock):
    """While training, each channel of each example is kept with probability ``prob`` (and scaled by
    ``1 / prob``) or zeroed as a whole.

    Inputs are ``(*batch, *spatial, channels)`` with the channel axis ``channel_axis`` (default last,
    as in the other layers of this package; PyTorch puts channels first). Adjacent pixels of a
    feature map are strongly correlated, so dropping whole maps regularises better than
    element-wise dropout.

    Args:
        prob: probability of keeping a channel, in ``(0, 1]``.
        channel_axis: the channel axis.
        rng: the ``RandomState`` to draw from (default ``brainstate.random.DEFAULT``).
        name: optional display name.
        in_size: optional shape of one example (sets ``in_size`` and ``out_size``).
    """

    num_spatial_dims: int

    def __init__(self, prob: float = 0.5, channel_axis: int = -1, name: str | None = None, *, rng: Any = None,
                 in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size, name=name)
        self.prob = _check_prob(self, prob)
        self.channel_axis = channel_axis
        self.rng = rng

    def update(self, x: jax.Array) -> jax.Array:
        x = jnp.asarray(x)
        n, cls = self.num_spatial_dims, type(self).__name__
        if x.ndim < n + 1 or not -x.ndim <= self.channel_axis < x.ndim:
            raise InputError(f"{cls} drops channels of inputs (*batch, *{n} spatial, channels) with the channel axis "
                             f"{self.channel_axis}, got an input of shape {x.shape}. Fix: pass inputs with {n} spatial "
                             "axes and a channel axis (add a batch axis for one example if needed).")
        if not is_training() or self.prob == 1.0:
            return x
        channel = self.channel_axis % x.ndim
        spatial = [i for i in range(x.ndim) if i != channel][-n:]
        shape = tuple(1 if i in spatial else s for i, s in enumerate(x.shape))
        return _keep(x, generator(self.rng).bernoulli(self.prob, size=shape), self.prob)

    def extra_repr(self) -> str:
        return f"prob={self.prob}, channel_axis={self.channel_axis}"


@variant_doc
class Dropout1d(_ChannelDropout):
    """Channel dropout for 1 spatial axis: inputs ``(*batch, length, channels)``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(fit=True):
        ...     y = nn.Dropout1d(0.5)(jnp.ones((2, 4, 3)))
        >>> bool(((y == 0).all(axis=(1,)) | (y == 2).all(axis=(1,))).all())
        True
    """

    num_spatial_dims = 1


@variant_doc
class Dropout2d(_ChannelDropout):
    """Channel dropout for 2 spatial axes: inputs ``(*batch, height, width, channels)``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(fit=True):
        ...     y = nn.Dropout2d(0.5)(jnp.ones((2, 4, 4, 3)))
        >>> bool(((y == 0).all(axis=(1, 2)) | (y == 2).all(axis=(1, 2))).all())
        True
    """

    num_spatial_dims = 2


@variant_doc
class Dropout3d(_ChannelDropout):
    """Channel dropout for 3 spatial axes: inputs ``(*batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(fit=True):
        ...     y = nn.Dropout3d(0.5)(jnp.ones((2, 4, 4, 4, 3)))
        >>> bool(((y == 0).all(axis=(1, 2, 3)) | (y == 2).all(axis=(1, 2, 3))).all())
        True
    """

    num_spatial_dims = 3


# -scale * alpha of SELU: the value SELU saturates to for large negative inputs.
_SELU_SATURATION = -1.7580993408473766


def _alpha_dropout(x: jax.Array, keep: jax.Array, prob: float) -> jax.Array:
    """Set dropped entries to SELU's saturation value, then restore mean 0 / variance 1 with an affine map."""
    q = 1.0 - prob
    a = (prob * (1.0 + q * _SELU_SATURATION ** 2)) ** -0.5
    b = -a * q * _SELU_SATURATION
    return jnp.where(keep, x, jnp.asarray(_SELU_SATURATION, x.dtype)) * a + b


def _as_float(x: Any) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(environ.dftype())


class AlphaDropout(ElementWiseBlock):
    """Dropout for self-normalising networks (SELU): keeps the mean and variance of its input.

    While training each element is kept with probability ``prob``; a dropped element is set to SELU's
    negative saturation value ``-1.7581``, and then ``a * y + b`` (with ``a``, ``b`` fixed by ``prob``)
    maps an input of mean 0 and variance 1 back to mean 0 and variance 1 (Klambauer et al., 2017).
    The identity with ``fit=False``.

    Args:
        prob: probability of keeping an element, in ``(0, 1]``.
        rng: the ``RandomState`` to draw from (default ``brainstate.random.DEFAULT``).
        name: optional display name.
        in_size: optional shape of one example (sets ``in_size`` and ``out_size``).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, brainstate_random as br
        >>> x = br.RandomState(123).randn(100_000)
        >>> with bc.environ.context(fit=True):
        ...     y = nn.AlphaDropout(0.8)(x)
        >>> round(float(y.mean()), 1), round(float(y.std()), 1)
        (0.0, 1.0)
    """

    def __init__(self, prob: float = 0.5, name: str | None = None, *, rng: Any = None,
                 in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size, name=name)
        self.prob = _check_prob(self, prob)
        self.rng = rng

    def update(self, x: jax.Array) -> jax.Array:
        if not is_training() or self.prob == 1.0:
            return x
        x = _as_float(x)
        return _alpha_dropout(x, generator(self.rng).bernoulli(self.prob, size=x.shape), self.prob)

    def extra_repr(self) -> str:
        return f"prob={self.prob}"


class FeatureAlphaDropout(ElementWiseBlock):
    """:class:`AlphaDropout` of whole channels: one draw per (batch entry, channel), shared over the other axes.

    As in upstream brainstate, axis 0 is the batch axis and ``channel_axis`` (default last) the
    channel axis: inputs are ``(batch, *features, channels)``, at least 2-D (give one example a
    batch axis of 1). The identity with ``fit=False``.

    Args:
        prob: probability of keeping a channel, in ``(0, 1]``.
        channel_axis: the channel axis (not 0).
        rng: the ``RandomState`` to draw from (default ``brainstate.random.DEFAULT``).
        name: optional display name.
        in_size: optional shape of one example (sets ``in_size`` and ``out_size``).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(fit=True):
        ...     y = nn.FeatureAlphaDropout(0.5)(jnp.zeros((4, 10, 3)))
        >>> bool((y == y[:, :1]).all())  # constant along the feature axis
        True
    """

    def __init__(self, prob: float = 0.5, channel_axis: int = -1, name: str | None = None, *, rng: Any = None,
                 in_size: Size | None = None) -> None:
        super().__init__(in_size=in_size, name=name)
        self.prob = _check_prob(self, prob)
        self.channel_axis = channel_axis
        self.rng = rng

    def update(self, x: jax.Array) -> jax.Array:
        x = _as_float(x)
        if x.ndim < 2 or not -x.ndim <= self.channel_axis < x.ndim or self.channel_axis % x.ndim == 0:
            raise InputError(f"FeatureAlphaDropout needs inputs (batch, *features, channels) with the channel axis "
                             f"{self.channel_axis} other than the batch axis 0, got an input of shape {x.shape}. "
                             "Fix: add a batch axis, or pass another channel_axis.")
        if not is_training() or self.prob == 1.0:
            return x
        channel = self.channel_axis % x.ndim
        shape = tuple(s if i in (0, channel) else 1 for i, s in enumerate(x.shape))
        return _alpha_dropout(x, generator(self.rng).bernoulli(self.prob, size=shape), self.prob)

    def extra_repr(self) -> str:
        return f"prob={self.prob}, channel_axis={self.channel_axis}"


class DropoutFixed(ElementWiseBlock):
    """Dropout with one mask drawn in :meth:`init_state` and reused on every call (every time step).

    For recurrent and spiking models unrolled over time: the same units stay dropped for a whole
    sequence ("variational" dropout). ``init_state(batch_size)`` (via ``init_all_states``) draws
    the mask of shape ``([batch_size,] *in_size)``; ``reset_state`` draws a new one for the next
    sequence (upstream brainstate keeps the old mask until ``init_state`` is called again). Kept
    elements are scaled by ``1 / prob``. The identity with ``fit=False``.

    Args:
        in_size: the shape of one example.
        prob: probability of keeping an element, in ``(0, 1]``.
        rng: the ``RandomState`` to draw the mask from (default ``brainstate.random.DEFAULT``).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> drop = nn.init_all_states(nn.DropoutFixed(100, prob=0.5), 2)
        >>> with bc.environ.context(fit=True):
        ...     a, b = drop(jnp.ones((2, 100))), drop(jnp.ones((2, 100)))
        >>> bool((a == b).all()), sorted(set(a.ravel().tolist()))
        (True, [0.0, 2.0])
    """

    def __init__(self, in_size: Size, prob: float = 0.5, name: str | None = None, *, rng: Any = None) -> None:
        super().__init__(in_size=as_size(in_size, "DropoutFixed in_size"), name=name)
        self.prob = _check_prob(self, prob)
        self.rng = rng

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Draw the mask ``([batch_size,] *in_size)`` into the ShortTermState ``mask``."""
        shape = self.in_size if batch_size is None else (batch_size, *self.in_size)
        self.set_state("mask", generator(self.rng).bernoulli(self.prob, size=shape), ShortTermState)

    def reset_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Draw a new mask (for the next sequence)."""
        self.init_state(batch_size)

    def update(self, x: jax.Array) -> jax.Array:
        if not is_training() or self.prob == 1.0:
            return x
        mask = getattr(self, "mask", None)
        if mask is None:
            raise StateUsageError("DropoutFixed has no mask yet. Fix: call init_all_states(model[, batch_size]) "
                                  "(or layer.init_state()) before the first call in training mode.")
        x = jnp.asarray(x)
        if mask.value.shape != x.shape:
            raise InputError(f"DropoutFixed mask has shape {mask.value.shape} but the input has shape {x.shape}. "
                             "Fix: call init_all_states with the batch size of the input, or pass inputs of "
                             f"shape ([batch,] *{self.in_size}).")
        return _keep(x, mask.value, self.prob)

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, prob={self.prob}"
