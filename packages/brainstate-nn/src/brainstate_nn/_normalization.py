"""Normalisation layers: LayerNorm, RMSNorm, GroupNorm and BatchNorm (channels last)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import BatchState, ConfigError, InputError, ParamState

from . import _init as init
from ._dropout import is_training
from ._module import Module
from ._utils import Size, as_size, variant_doc

__all__ = ["LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm0d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]

# Default initialisers: stateless, so one shared instance serves every layer.
_CONSTANT_10 = init.Constant(1.0)
_ZERO_INIT = init.ZeroInit()


class _Affine(Module):
    # The normalisation layers: ``weight`` is a ParamState ``{'scale', 'bias'}`` (or one of them), or None.
    weight: ParamState | None


def _affine(module: _Affine, features: int, use_scale: bool, use_bias: bool, scale_init: Any, bias_init: Any) -> None:
    """Create ``module.weight``: a ParamState ``{'scale': (features,), 'bias': (features,)}`` (or a part)."""
    params = {}
    if use_scale:
        params["scale"] = init.param(scale_init, (features,), allow_none=False)
    if use_bias:
        params["bias"] = init.param(bias_init, (features,), allow_none=False)
    module.weight = ParamState(params) if params else None


def _apply_affine(module: _Affine, y: jax.Array) -> jax.Array:
    if module.weight is None:
        return y
    params = module.weight.value
    if "scale" in params:
        y = y * params["scale"]
    if "bias" in params:
        y = y + params["bias"]
    return y


def _check_features(module: Module, x: jax.Array, features: int) -> None:
    if jnp.shape(x)[-1:] != (features,):
        raise InputError(
            f"{type(module).__name__} normalises {features} features on the last axis (channels last), got an "
            f"input of shape {jnp.shape(x)}. Fix: pass inputs whose last axis has {features} features."
        )


class LayerNorm(_Affine):
    """Normalise each example over its last axis (or ``reduction_axes``), then scale and shift.

    ``y = (x - mean) / sqrt(var + epsilon) * scale + bias``; ``scale`` and ``bias`` have one entry
    per feature (the last axis). Works the same in training and evaluation.

    Args:
        in_size: the feature count, or the shape of one example (its last entry is used).
        epsilon: added to the variance.
        use_scale, use_bias: learn ``scale`` (init 1) / ``bias`` (init 0).
        reduction_axes: axes to normalise over (default: the last axis).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> y = nn.LayerNorm(4)(jnp.array([[1.0, 2.0, 3.0, 4.0]]))
        >>> round(float(y.mean()), 5), round(float(y.std()), 3)
        (0.0, 1.0)
    """

    def __init__(self, in_size: Size, epsilon: float = 1e-5, use_scale: bool = True, use_bias: bool = True,
                 reduction_axes: int | Sequence[int] = -1, scale_init: Any = _CONSTANT_10,
                 bias_init: Any = _ZERO_INIT, name: str | None = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "LayerNorm in_size")
        self.features = self.in_size[-1]
        self.epsilon = epsilon
        self.reduction_axes = (reduction_axes,) if isinstance(reduction_axes, int) else tuple(reduction_axes)
        _affine(self, self.features, use_scale, use_bias, scale_init, bias_init)

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(self, x, self.features)
        mean = jnp.mean(x, axis=self.reduction_axes, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=self.reduction_axes, keepdims=True)
        return _apply_affine(self, (x - mean) * jax.lax.rsqrt(var + self.epsilon))

    def extra_repr(self) -> str:
        return f"features={self.features}, epsilon={self.epsilon}"


class RMSNorm(_Affine):
    """Divide each example by the root mean square of its last axis, then scale.

    ``y = x / sqrt(mean(x**2) + epsilon) * scale`` (Zhang & Sennrich, 2019).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> [round(v, 3) for v in nn.RMSNorm(2)(jnp.array([3.0, 4.0])).tolist()]
        [0.849, 1.131]
    """

    def __init__(self, in_size: Size, epsilon: float = 1e-6, use_scale: bool = True,
                 scale_init: Any = _CONSTANT_10, name: str | None = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "RMSNorm in_size")
        self.features = self.in_size[-1]
        self.epsilon = epsilon
        _affine(self, self.features, use_scale, False, scale_init, None)

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(self, x, self.features)
        ms = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
        return _apply_affine(self, x * jax.lax.rsqrt(ms + self.epsilon))

    def extra_repr(self) -> str:
        return f"features={self.features}, epsilon={self.epsilon}"


class GroupNorm(_Affine):
    """Split the channels (last axis) into groups and normalise each group of each example.

    The statistics of a group are taken over the example's spatial axes and the group's
    channels; ``in_size`` (the shape of one example, channels last) tells which leading axes
    are batch axes. ``num_groups=1`` normalises whole examples; ``num_groups=channels`` is
    instance normalisation.

    Args:
        in_size: shape of one example, ``(*spatial, channels)``.
        num_groups: number of groups (must divide the channels), or ``None`` with ``group_size``.
        group_size: channels per group, instead of ``num_groups``.
        epsilon, use_scale, use_bias, scale_init, bias_init: as in :class:`LayerNorm`.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> gn = nn.GroupNorm((5, 6), num_groups=3)
        >>> gn(jnp.arange(60.0).reshape(2, 5, 6)).shape
        (2, 5, 6)
    """

    def __init__(self, in_size: Size, num_groups: int | None = 32, group_size: int | None = None,
                 epsilon: float = 1e-5, use_scale: bool = True, use_bias: bool = True,
                 scale_init: Any = _CONSTANT_10, bias_init: Any = _ZERO_INIT,
                 name: str | None = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "GroupNorm in_size")
        channels = self.in_size[-1]
        if (num_groups is None) == (group_size is None):
            raise ConfigError(f"GroupNorm(in_size={self.in_size}) needs exactly one of num_groups and group_size, got "
                              f"num_groups={num_groups}, group_size={group_size}. Fix: pass one and set the other to None.")
        if num_groups is None:
            assert group_size is not None  # exactly one of the two is None (checked above)
            if channels % group_size:
                raise ConfigError(f"GroupNorm group_size={group_size} does not divide the {channels} channels. "
                                  "Fix: pass a group_size that divides the channel count.")
            num_groups = channels // group_size
        if num_groups <= 0 or channels % num_groups:
            raise ConfigError(f"GroupNorm num_groups={num_groups} does not divide the {channels} channels. "
                              "Fix: pass a positive num_groups that divides the channel count.")
        self.num_groups, self.epsilon = num_groups, epsilon
        _affine(self, channels, use_scale, use_bias, scale_init, bias_init)

    def update(self, x: jax.Array) -> jax.Array:
        shape = jnp.shape(x)
        n = len(self.in_size)
        if shape[len(shape) - n:] != self.in_size:
            raise InputError(f"GroupNorm(in_size={self.in_size}) got an input of shape {shape}. "
                             f"Fix: pass inputs whose trailing axes are {self.in_size}.")
        grouped = x.reshape(shape[:-1] + (self.num_groups, shape[-1] // self.num_groups))
        axes = tuple(range(len(shape) - n, len(shape) - 1)) + (len(shape),)
        mean = jnp.mean(grouped, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(grouped - mean), axis=axes, keepdims=True)
        y = ((grouped - mean) * jax.lax.rsqrt(var + self.epsilon)).reshape(shape)
        return _apply_affine(self, y)

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, num_groups={self.num_groups}"


class _BatchNorm(_Affine):
    """While training (``brainstate.environ`` ``fit=True``) each channel is normalised with the
    mean and (biased) variance of the batch, and the running statistics (BatchStates
    ``running_mean`` / ``running_var``) move towards them: ``running = momentum * running +
    (1 - momentum) * batch``. In evaluation (``fit=False``) the running statistics are used.
    Then ``y = x_hat * scale + bias`` with the ParamState ``weight = {'scale', 'bias'}``.

    Args:
        in_size: ``(*spatial, channels)`` of one example, or ``(channels,)``.
        momentum: weight of the old running statistics.
        epsilon: added to the variance.
        affine: learn ``scale`` and ``bias``.
        track_running_stats: keep running statistics; without them batch statistics are always used.
        axis_name: the vmap/pmap axis to average the statistics over (for batch-agnostic code).
    """

    num_spatial_dims: int

    def __init__(self, in_size: Size, momentum: float = 0.99, epsilon: float = 1e-5, affine: bool = True,
                 track_running_stats: bool = True, scale_init: Any = _CONSTANT_10,
                 bias_init: Any = _ZERO_INIT, axis_name: str | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, f"{type(self).__name__} in_size")
        if len(self.in_size) not in (1, self.num_spatial_dims + 1):
            raise ConfigError(f"{type(self).__name__} expects in_size=(*{self.num_spatial_dims} spatial, channels) "
                              f"or (channels,), got {self.in_size}. Fix: pass the shape of one example without "
                              "the batch axis, or just the channel count.")
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"{type(self).__name__} momentum must be in [0, 1], got {momentum}. "
                              "Fix: pass a momentum such as 0.99.")
        self.features = self.in_size[-1]
        self.momentum, self.epsilon, self.axis_name = momentum, epsilon, axis_name
        self.track_running_stats = track_running_stats
        if track_running_stats:
            self.running_mean = BatchState(jnp.zeros(self.features))
            self.running_var = BatchState(jnp.ones(self.features))
        _affine(self, self.features, affine, affine, scale_init, bias_init)

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(self, x, self.features)
        expected = self.num_spatial_dims + 2
        ndim = jnp.ndim(x)
        if ndim != expected and not (self.axis_name is not None and ndim == expected - 1):
            raise InputError(f"{type(self).__name__} expects inputs (batch, *{self.num_spatial_dims} spatial, channels) "
                             f"of {expected} dimensions, got shape {jnp.shape(x)}. Fix: pass a batch with "
                             f"{expected} dimensions (add a batch axis with x[None]).")
        axes = tuple(range(ndim - 1))
        if is_training() or not self.track_running_stats:
            mean = jnp.mean(x, axis=axes)
            mean_sq = jnp.mean(jnp.square(x), axis=axes)
            if self.axis_name is not None:
                mean, mean_sq = jax.lax.pmean((mean, mean_sq), self.axis_name)
            var = jnp.maximum(mean_sq - jnp.square(mean), 0.0)
            if self.track_running_stats and is_training():
                m = self.momentum
                self.running_mean.value = m * self.running_mean.value + (1 - m) * mean
                self.running_var.value = m * self.running_var.value + (1 - m) * var
        else:
            mean, var = self.running_mean.value, self.running_var.value
        return _apply_affine(self, (x - mean) * jax.lax.rsqrt(var + self.epsilon))

    def extra_repr(self) -> str:
        return f"features={self.features}, momentum={self.momentum}, epsilon={self.epsilon}"


@variant_doc
class BatchNorm0d(_BatchNorm):
    """Batch normalisation of inputs ``(batch, channels)`` (channels last).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> bn = nn.BatchNorm0d((3,))
        >>> with bc.environ.context(fit=True):
        ...     y = bn(jnp.arange(12.0).reshape(4, 3))
        >>> y.shape, bn.running_mean.value.shape
        ((4, 3), (3,))
    """

    num_spatial_dims = 0


@variant_doc
class BatchNorm1d(_BatchNorm):
    """Batch normalisation of inputs ``(batch, length, channels)`` (channels last).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> bn = nn.BatchNorm1d((5, 3))
        >>> with bc.environ.context(fit=True):
        ...     y = bn(jnp.arange(60.0).reshape(4, 5, 3))
        >>> y.shape, bn.running_mean.value.shape
        ((4, 5, 3), (3,))
    """

    num_spatial_dims = 1


@variant_doc
class BatchNorm2d(_BatchNorm):
    """Batch normalisation of inputs ``(batch, height, width, channels)`` (channels last).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> bn = nn.BatchNorm2d((5, 5, 3))
        >>> with bc.environ.context(fit=True):
        ...     y = bn(jnp.arange(150.0).reshape(2, 5, 5, 3))
        >>> y.shape, bn.running_mean.value.shape
        ((2, 5, 5, 3), (3,))
    """

    num_spatial_dims = 2


@variant_doc
class BatchNorm3d(_BatchNorm):
    """Batch normalisation of inputs ``(batch, depth, height, width, channels)`` (channels last).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> bn = nn.BatchNorm3d((2, 2, 2, 3))
        >>> with bc.environ.context(fit=True):
        ...     y = bn(jnp.arange(48.0).reshape(2, 2, 2, 2, 3))
        >>> y.shape, bn.running_mean.value.shape
        ((2, 2, 2, 2, 3), (3,))
    """

    num_spatial_dims = 3
