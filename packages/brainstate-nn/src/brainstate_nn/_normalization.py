"""Normalisation layers: LayerNorm, RMSNorm, GroupNorm and BatchNorm (channels last by default).

The keywords are upstream brainstate's: ``feature_axes`` / ``feature_axis`` (the axes of one example
that carry learnt parameters, counted in ``in_size``), ``reduction_axes`` (the axes of the input the
statistics are taken over), ``axis_name`` / ``axis_index_groups`` (average the statistics over a
``vmap``/``pmap`` axis too), ``use_fast_variance`` (``E[x^2] - E[x]^2`` in one pass; ``False``:
``E[(x - E[x])^2]``), ``dtype`` (of the result; the statistics are at least float32) and
``param_type`` (the State class of ``weight``). ``update(x, mask=None)``: statistics over the
entries where ``mask`` is true.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import BatchState, ConfigError, InputError, ParamState

from . import _init as init
from ._dropout import is_training
from ._module import Module
from ._utils import Size, as_size, make_param, variant_doc

__all__ = ["LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm0d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]

# Default initialisers: stateless, so one shared instance serves every layer.
_CONSTANT_10 = init.Constant(1.0)
_CONSTANT_00 = init.Constant(0.0)
_ZERO_INIT = init.ZeroInit()

Axes = int | Sequence[int]


def _tuple(axes: Axes) -> tuple[int, ...]:
    return (axes,) if isinstance(axes, int) else tuple(int(a) for a in axes)


def _groups(groups: Any, axis_name: Any, cls: str) -> tuple[tuple[int, ...], ...] | None:
    """``axis_index_groups`` checked: groups of lane indices that together cover ``0 .. n-1`` once."""
    if groups is None:
        return None
    groups = tuple(tuple(int(i) for i in g) for g in groups)
    flat = sorted(i for g in groups for i in g)
    if axis_name is None or not all(groups) or flat != list(range(len(flat))):
        raise ConfigError(f"{cls} axis_index_groups={groups!r} must split the indices 0..n-1 of the axis_name axis "
                          "into non-empty groups, each index once, and needs axis_name. Fix: e.g. "
                          "axis_name='batch', axis_index_groups=[[0, 1], [2, 3]] for a mapped axis of size 4.")
    return groups


def _group_mean(v: jax.Array, axis_name: Any, groups: tuple[tuple[int, ...], ...]) -> jax.Array:
    """The mean of ``v`` over the lanes of this lane's group (``pmean`` with groups, which ``vmap`` and
    ``shard_map`` lack): gather every lane's value, weight it by a constant lanes-by-lanes matrix."""
    n = sum(len(g) for g in groups)
    weights = np.zeros((n, n), np.float32)
    for g in groups:
        weights[np.ix_(g, g)] = 1.0 / len(g)
    gathered = jax.lax.all_gather(v, axis_name)
    if gathered.shape[0] != n:
        raise InputError(f"axis_index_groups cover {n} lanes but the axis {axis_name!r} has {gathered.shape[0]}. "
                         "Fix: give groups that split exactly the lanes of that axis.")
    row = jnp.asarray(weights, v.dtype)[jax.lax.axis_index(axis_name)]
    return jnp.tensordot(row, gathered, axes=1)


class _Norm(Module):
    """What the helpers below read: the parameters and the layout of the features."""

    weight: Any  # a ParamState {'scale', 'bias'} (or one of them), or None
    feature_axes: tuple[int, ...]  # negative: counted from the end of the input
    feature_shape: tuple[int, ...]  # the parameters' shape, from the first feature axis to the end
    epsilon: float
    dtype: Any
    use_fast_variance: bool
    axis_name: Any
    axis_index_groups: Any

    def _layout(self, in_size: Size, feature_axes: Axes) -> None:
        """Set ``in_size``, ``out_size``, ``feature_axes`` and ``feature_shape`` (checked)."""
        cls = type(self).__name__
        self.in_size = self.out_size = as_size(in_size, f"{cls} in_size")
        nd = len(self.in_size)
        given = _tuple(feature_axes)
        if not given or any(not -nd <= a < nd for a in given):
            raise ConfigError(f"{cls} feature axes {given} are not axes of one example of shape {self.in_size}. "
                              f"Fix: pass axes in [-{nd}, {nd}), e.g. -1 for channels last.")
        positive = sorted({a % nd for a in given})
        self.feature_axes = tuple(a - nd for a in positive)
        self.feature_shape = tuple(self.in_size[i] if i in positive else 1 for i in range(positive[0], nd))

    def _params(self, use_scale: bool, use_bias: bool, scale_init: Any, bias_init: Any, param_type: type,
                sharding: Any) -> None:
        params = {}
        if use_scale:
            params["scale"] = init.param(scale_init, self.feature_shape, allow_none=False)
        if use_bias:
            params["bias"] = init.param(bias_init, self.feature_shape, allow_none=False)
        if not params and sharding is not None:
            raise ConfigError(f"{type(self).__name__} has no scale and no bias, so sharding={sharding!r} has nothing to "
                              "lay out. Fix: drop sharding=, or learn a scale or a bias.")
        self.weight = make_param(param_type, params, sharding, type(self).__name__) if params else None

    def _check(self, x: jax.Array) -> None:
        shape = jnp.shape(x)
        ok = len(shape) >= -self.feature_axes[0] and all(shape[a] == self.in_size[a] for a in self.feature_axes)
        if not ok:
            cls = type(self).__name__
            if self.feature_axes == (-1,):
                raise InputError(f"{cls} normalises {self.in_size[-1]} features on the last axis (channels last), "
                                 f"got an input of shape {shape}. Fix: pass inputs whose last axis has "
                                 f"{self.in_size[-1]} features.")
            sizes = tuple(self.in_size[a] for a in self.feature_axes)
            raise InputError(f"{cls} has parameters for the feature axes {self.feature_axes} of sizes {sizes}, got an "
                             f"input of shape {shape}. Fix: pass inputs of example shape {self.in_size}.")

    def _moments(self, x: jax.Array, axes: tuple[int, ...], mask: Any, use_mean: bool = True) -> tuple[Any, Any]:
        """Mean and variance over ``axes`` (kept), averaged over ``axis_name`` too; at least float32."""
        x = x.astype(jnp.promote_types(self.dtype or x.dtype, jnp.float32))
        where = None if mask is None else jnp.broadcast_to(jnp.asarray(mask, bool), x.shape)

        def mean(*values: jax.Array) -> list[jax.Array]:
            out = [jnp.mean(v, axis=axes, keepdims=True, where=where) for v in values]
            if self.axis_index_groups is not None:
                out = [_group_mean(v, self.axis_name, self.axis_index_groups) for v in out]
            elif self.axis_name is not None:
                out = jax.lax.pmean(out, self.axis_name)
            return out

        if not use_mean:
            (mean_sq,) = mean(jnp.square(x))
            return None, mean_sq
        if self.use_fast_variance:
            mu, mean_sq = mean(x, jnp.square(x))
            return mu, jnp.maximum(mean_sq - jnp.square(mu), 0.0)
        (mu,) = mean(x)
        (var,) = mean(jnp.square(x - mu))
        return mu, var

    def _finish(self, x: jax.Array, mean: Any, var: Any) -> jax.Array:
        """``(x - mean) / sqrt(var + epsilon)``, then scale and shift; in ``dtype`` if given."""
        return self._affine((x if mean is None else x - mean) * jax.lax.rsqrt(var + self.epsilon))

    def _affine(self, y: jax.Array) -> jax.Array:
        if self.weight is not None:
            params = self.weight.value
            if "scale" in params:
                y = y * params["scale"]
            if "bias" in params:
                y = y + params["bias"]
        return y if self.dtype is None else y.astype(self.dtype)

    def _keywords(self, epsilon: float, dtype: Any, use_fast_variance: bool, axis_name: Any,
                  axis_index_groups: Any) -> None:
        self.epsilon, self.dtype, self.use_fast_variance = epsilon, dtype, bool(use_fast_variance)
        self.axis_name, self.axis_index_groups = axis_name, _groups(axis_index_groups, axis_name, type(self).__name__)


def _reduction(x: jax.Array, axes: tuple[int, ...]) -> tuple[int, ...]:
    nd = jnp.ndim(x)
    if any(not -nd <= a < nd for a in axes):
        raise InputError(f"reduction_axes {axes} are not axes of an input of shape {jnp.shape(x)}. Fix: pass axes "
                         f"in [-{nd}, {nd}) (negative axes count from the end and work with or without batch axes).")
    return tuple(sorted({a % nd for a in axes}))


_COMMON_ARGS = """
        epsilon: added to the variance.
        axis_name: a ``vmap``/``pmap`` axis name: average the statistics over it as well.
        axis_index_groups: groups of that axis's indices to average within (``jax.lax.pmean``).
        use_fast_variance: the variance as ``E[x^2] - E[x]^2`` (one pass); ``False``: two passes.
        dtype: the dtype of the result (default: that of the computation, at least float32).
        param_type: the State class of ``weight`` (``ParamState``).
        sharding: layouts of the parameters over a device mesh, ``{'scale': spec, 'bias': spec}`` (a
            name left out is replicated; see ``brainstate.sharding``)."""


class LayerNorm(_Norm):
    __doc__ = """Normalise each example over ``reduction_axes`` (default the last), then scale and shift.

    ``y = (x - mean) / sqrt(var + epsilon) * scale + bias``; ``scale`` and ``bias`` have the shape
    of the ``feature_axes`` of one example (default: one entry per feature of the last axis). Works
    the same in training and evaluation.

    Args:
        in_size: the feature count, or the shape of one example.
        reduction_axes: axes of the input to normalise over (negative: from the end).
        feature_axes: axes of one example (of ``in_size``) that ``scale`` and ``bias`` span.
        use_bias, use_scale: learn ``bias`` (init 0) / ``scale`` (init 1).
        bias_init, scale_init: their initialisers.""" + _COMMON_ARGS + """
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> y = nn.LayerNorm(4)(jnp.array([[1.0, 2.0, 3.0, 4.0]]))
        >>> round(float(y.mean()), 5), round(float(y.std()), 3)
        (0.0, 1.0)
    """

    def __init__(self, in_size: Size, reduction_axes: Axes = -1, feature_axes: Axes = -1, *,
                 epsilon: float = 1e-6, use_bias: bool = True, use_scale: bool = True, bias_init: Any = _ZERO_INIT,
                 scale_init: Any = _CONSTANT_10, axis_name: Any = None, axis_index_groups: Any = None,
                 use_fast_variance: bool = True, dtype: Any = None, param_type: type = ParamState,
                 name: str | None = None, sharding: Any = None) -> None:
        super().__init__(name=name)
        self._layout(in_size, feature_axes)
        self.features = self.in_size[-1]
        self.reduction_axes = _tuple(reduction_axes)
        self._keywords(epsilon, dtype, use_fast_variance, axis_name, axis_index_groups)
        self._params(use_scale, use_bias, scale_init, bias_init, param_type, sharding)

    def update(self, x: jax.Array, *, mask: Any = None) -> jax.Array:
        self._check(x)
        mean, var = self._moments(x, _reduction(x, self.reduction_axes), mask)
        return self._finish(x, mean, var)

    def extra_repr(self) -> str:
        return f"features={self.features}, epsilon={self.epsilon}"


class RMSNorm(_Norm):
    __doc__ = """Divide each example by the root mean square over ``reduction_axes`` (default the last), then scale.

    ``y = x / sqrt(mean(x**2) + epsilon) * scale`` (Zhang & Sennrich, 2019).

    Args:
        in_size: the feature count, or the shape of one example.
        use_scale: learn ``scale`` (init 1).
        scale_init: its initialiser.
        reduction_axes: axes of the input to take the mean square over.
        feature_axes: axes of one example that ``scale`` spans.""" + _COMMON_ARGS + """
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> [round(v, 3) for v in nn.RMSNorm(2)(jnp.array([3.0, 4.0])).tolist()]
        [0.849, 1.131]
    """

    def __init__(self, in_size: Size, *, epsilon: float = 1e-6, dtype: Any = None, use_scale: bool = True,
                 scale_init: Any = _CONSTANT_10, reduction_axes: Axes = -1, feature_axes: Axes = -1,
                 axis_name: Any = None, axis_index_groups: Any = None, use_fast_variance: bool = True,
                 param_type: type = ParamState, name: str | None = None, sharding: Any = None) -> None:
        super().__init__(name=name)
        self._layout(in_size, feature_axes)
        self.features = self.in_size[-1]
        self.reduction_axes = _tuple(reduction_axes)
        self._keywords(epsilon, dtype, use_fast_variance, axis_name, axis_index_groups)
        self._params(use_scale, False, scale_init, None, param_type, sharding)

    def update(self, x: jax.Array, *, mask: Any = None) -> jax.Array:
        self._check(x)
        _, mean_sq = self._moments(x, _reduction(x, self.reduction_axes), mask, use_mean=False)
        return self._finish(x, None, mean_sq)

    def extra_repr(self) -> str:
        return f"features={self.features}, epsilon={self.epsilon}"


class GroupNorm(_Norm):
    __doc__ = """Split the channels (``feature_axis``, default last) into groups and normalise each group of each example.

    The statistics of a group are taken over the example's other axes (``in_size`` tells which
    leading axes are batch axes; ``reduction_axes``, axes of the input, chooses others) and the
    group's channels. ``num_groups=1`` normalises whole examples; ``num_groups=channels`` is
    instance normalisation.

    Args:
        in_size: the shape of one example, ``(*spatial, channels)``.
        feature_axis: the channel axis of one example.
        num_groups: number of groups (must divide the channels), or ``None`` with ``group_size``.
        group_size: channels per group, instead of ``num_groups``.
        use_bias, use_scale, bias_init, scale_init: as in :class:`LayerNorm`.
        reduction_axes: axes of the input to take the statistics over besides the group's channels
            (default: the example's axes other than the channel axis).""" + _COMMON_ARGS + """
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> gn = nn.GroupNorm((5, 6), num_groups=3)
        >>> gn(jnp.arange(60.0).reshape(2, 5, 6)).shape
        (2, 5, 6)
    """

    def __init__(self, in_size: Size, feature_axis: int = -1, num_groups: int | None = 32,
                 group_size: int | None = None, *, epsilon: float = 1e-6, dtype: Any = None, use_bias: bool = True,
                 use_scale: bool = True, bias_init: Any = _ZERO_INIT, scale_init: Any = _CONSTANT_10,
                 reduction_axes: Axes | None = None, axis_name: Any = None, axis_index_groups: Any = None,
                 use_fast_variance: bool = True, param_type: type = ParamState, name: str | None = None,
                 sharding: Any = None) -> None:
        super().__init__(name=name)
        if not isinstance(feature_axis, int):
            raise ConfigError(f"GroupNorm has one channel axis, got feature_axis={feature_axis!r}. "
                              "Fix: pass one int, e.g. feature_axis=-1.")
        self._layout(in_size, feature_axis)
        channels = self.in_size[feature_axis]
        if (num_groups is None) == (group_size is None):
            raise ConfigError(f"GroupNorm(in_size={self.in_size}) needs exactly one of num_groups and group_size, got "
                              f"num_groups={num_groups}, group_size={group_size}. Fix: pass one and set the other to None.")
        if num_groups is None:
            assert group_size is not None  # exactly one of the two is None (checked above)
            if group_size <= 0 or channels % group_size:
                raise ConfigError(f"GroupNorm group_size={group_size} does not divide the {channels} channels. "
                                  "Fix: pass a group_size that divides the channel count.")
            num_groups = channels // group_size
        assert num_groups is not None  # given, or computed from group_size above
        if num_groups <= 0 or channels % num_groups:
            raise ConfigError(f"GroupNorm num_groups={num_groups} does not divide the {channels} channels. "
                              "Fix: pass a positive num_groups that divides the channel count.")
        self.num_groups, self.group_size = num_groups, channels // num_groups
        self.reduction_axes = None if reduction_axes is None else _tuple(reduction_axes)
        self._keywords(epsilon, dtype, use_fast_variance, axis_name, axis_index_groups)
        self._params(use_scale, use_bias, scale_init, bias_init, param_type, sharding)

    def update(self, x: jax.Array, *, mask: Any = None) -> jax.Array:
        shape = jnp.shape(x)
        n = len(self.in_size)
        if shape[len(shape) - n:] != self.in_size:
            raise InputError(f"GroupNorm(in_size={self.in_size}) got an input of shape {shape}. "
                             f"Fix: pass inputs whose trailing axes are {self.in_size}.")
        channel = len(shape) + self.feature_axes[0]
        if self.reduction_axes is None:
            others = [a for a in range(len(shape) - n, len(shape)) if a != channel]
        else:
            others = [a for a in _reduction(x, self.reduction_axes) if a != channel]
        # Split the channel axis c into (groups, group_size) at c: axes after it move one place on.
        grouped_shape = shape[:channel] + (self.num_groups, self.group_size) + shape[channel + 1:]
        axes = tuple(a + (a > channel) for a in others) + (channel + 1,)
        grouped = jnp.reshape(x, grouped_shape)
        m = None if mask is None else jnp.reshape(jnp.broadcast_to(jnp.asarray(mask, bool), shape), grouped_shape)
        mean, var = self._moments(grouped, axes, m)
        y = (grouped - mean) * jax.lax.rsqrt(var + self.epsilon)
        return self._affine(jnp.reshape(y, shape))

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, num_groups={self.num_groups}"


class _BatchNorm(_Norm):
    """While training (``brainstate.environ`` ``fit=True``) each feature (channel) is normalised with
    the mean and (biased) variance over the batch and the other axes, and the running statistics
    (``mean_type`` States, default ``BatchState``: ``running_mean`` / ``running_var``) move towards
    them: ``running = momentum * running + (1 - momentum) * batch``. In evaluation (``fit=False``)
    the running statistics are used. Then ``y = x_hat * scale + bias`` with the ``weight`` State
    ``{'scale', 'bias'}``. Inputs need a batch axis (unless ``axis_name`` maps over it).

    Args:
        in_size: ``(*spatial, channels)`` of one example, or ``(channels,)``.
        feature_axis: the channel axis (or axes) of one example, default the last.
        track_running_stats: keep running statistics; without them batch statistics are always used.
        epsilon: added to the variance.
        momentum: weight of the old running statistics.
        affine: learn ``scale`` and ``bias``.
        bias_initializer, scale_initializer: their initialisers (upstream's names).
        axis_name, axis_index_groups, use_fast_variance, dtype, param_type, sharding: as in :class:`LayerNorm`
            (the running statistics are replicated unless declared with ``brainstate.sharding.declare``).
        name: optional display name.
        mean_type: the State class of the running statistics.
    """

    num_spatial_dims: int

    def __init__(self, in_size: Size, feature_axis: Axes = -1, *, track_running_stats: bool = True,
                 epsilon: float = 1e-5, momentum: float = 0.99, affine: bool = True,
                 bias_initializer: Any = _CONSTANT_00, scale_initializer: Any = _CONSTANT_10, axis_name: Any = None,
                 axis_index_groups: Any = None, use_fast_variance: bool = True, name: str | None = None,
                 dtype: Any = None, param_type: type = ParamState, mean_type: type = BatchState,
                 sharding: Any = None) -> None:
        super().__init__(name=name)
        cls = type(self).__name__
        size = as_size(in_size, f"{cls} in_size")
        if len(size) not in (1, self.num_spatial_dims + 1):
            raise ConfigError(f"{cls} expects in_size=(*{self.num_spatial_dims} spatial, channels) or (channels,), "
                              f"got {size}. Fix: pass the shape of one example without the batch axis, or just the "
                              "channel count.")
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"{cls} momentum must be in [0, 1], got {momentum}. Fix: pass a momentum such as 0.99.")
        self._layout(size, feature_axis)
        self.features = self.in_size[-1]
        self.momentum, self.track_running_stats = momentum, track_running_stats
        self._keywords(epsilon, dtype, use_fast_variance, axis_name, axis_index_groups)
        if track_running_stats:
            self.running_mean = mean_type(jnp.zeros(self.feature_shape))
            self.running_var = mean_type(jnp.ones(self.feature_shape))
        self._params(affine, affine, scale_initializer, bias_initializer, param_type, sharding)

    def update(self, x: jax.Array, *, mask: Any = None) -> jax.Array:
        self._check(x)
        expected = self.num_spatial_dims + 2
        ndim = jnp.ndim(x)
        if ndim != expected and not (self.axis_name is not None and ndim == expected - 1):
            raise InputError(f"{type(self).__name__} expects inputs (batch, *{self.num_spatial_dims} spatial, channels) "
                             f"of {expected} dimensions, got shape {jnp.shape(x)}. Fix: pass a batch with "
                             f"{expected} dimensions (add a batch axis with x[None]).")
        features = {ndim + a for a in self.feature_axes}
        axes = tuple(a for a in range(ndim) if a not in features)
        if is_training() or not self.track_running_stats:
            mean, var = self._moments(x, axes, mask)
            if self.track_running_stats and is_training():
                m, shape = self.momentum, self.feature_shape
                self.running_mean.value = m * self.running_mean.value + (1 - m) * mean.reshape(shape)
                self.running_var.value = m * self.running_var.value + (1 - m) * var.reshape(shape)
        else:
            mean, var = self.running_mean.value, self.running_var.value
        return self._finish(x, mean, var)

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
