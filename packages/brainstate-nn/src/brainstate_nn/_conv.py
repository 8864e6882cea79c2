"""Convolutions: ``Conv`` / ``ConvTranspose`` once, and thin 1d/2d/3d subclasses.

Inputs are ``(batch, *spatial, channels)`` or, without batch, ``(*spatial, channels)``, as in
upstream brainstate (and TensorFlow/Flax); ``channel_first=True`` takes ``(batch, channels,
*spatial)`` (PyTorch's layout) instead. The kernel has shape
``(*kernel_size, in_channels // groups, out_channels)`` (transposed: ``(*kernel_size, in_channels,
out_channels // groups)``) in both layouts, and the bias ``(out_channels,)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, InputError, ParamState

from . import _init as init
from ._linear_variants import weight_standardization
from ._module import Module
from ._utils import Size, as_mask, as_size, as_tuple, make_param

__all__ = ["Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d", "ConvTranspose2d",
           "ConvTranspose3d", "ScaledWSConv", "ScaledWSConv1d", "ScaledWSConv2d", "ScaledWSConv3d"]

# Default initialisers: stateless, so one shared instance serves every layer.
_XAVIER_NORMAL = init.XavierNormal()

Padding = str | int | Sequence[int] | Sequence[tuple[int, int]]


def _padding(padding: Padding, n: int, what: str) -> str | tuple[tuple[int, int], ...]:
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID", "SAME_LOWER"):
            raise ConfigError(f"{what} padding must be 'SAME', 'VALID', 'SAME_LOWER', ints or (low, high) pairs, "
                              f"got {padding!r}. Fix: pass one of these.")
        return padding.upper()
    if isinstance(padding, int):
        return ((padding, padding),) * n
    items: list[Any] = list(padding)
    if n == 1 and len(items) == 2 and all(isinstance(p, int) for p in items):
        items = [tuple(items)]  # one spatial axis: two ints are its (low, high) pair
    if len(items) == 1 and n > 1:
        items = items * n
    if len(items) != n:
        raise ConfigError(f"{what} padding needs {n} entries (one per spatial axis), got {padding!r}. "
                          f"Fix: pass one int, one (low, high) pair, or {n} of them.")
    return tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in items)


def _dimension_numbers(n: int, channel_first: bool) -> jax.lax.ConvDimensionNumbers:
    """Input/output ``(N, *spatial, C)`` (or ``(N, C, *spatial)``) and kernel ``(*spatial, I, O)``."""
    spatial = tuple(range(2, n + 2)) if channel_first else tuple(range(1, n + 1))
    image = (0, 1) + spatial if channel_first else (0, n + 1) + spatial
    return jax.lax.ConvDimensionNumbers(lhs_spec=image, rhs_spec=(n + 1, n) + tuple(range(n)), out_spec=image)


def _transpose_pads(kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Padding of the stride-dilated input that gives a transposed convolution's output size.

    ``'SAME'``: ``in * stride``; ``'VALID'``: ``in * stride + max(kernel - stride, 0)`` (the sizes of
    ``jax.lax.conv_transpose``). ``kernel`` is the dilated kernel size.
    """
    if padding == "SAME":
        total = kernel + stride - 2
        low = kernel - 1 if stride > kernel - 1 else -(-total // 2)
    else:
        total = kernel + stride - 2 + max(kernel - stride, 0)
        low = kernel - 1
    return low, total - low


class _ConvBase(Module):
    num_spatial_dims: int  # fixed by the 1d/2d/3d subclasses; else len(in_size) - 1
    lhs_dilation: tuple[int, ...]
    _transpose: bool = False

    def __init__(self, in_size: Size, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int], padding: Padding, lhs_dilation: int | Sequence[int],
                 rhs_dilation: int | Sequence[int], groups: int, w_init: Any, b_init: Any, w_mask: Any,
                 channel_first: bool, name: str | None, param_type: type, sharding: Any) -> None:
        super().__init__(name=name)
        cls = type(self).__name__
        self.in_size = as_size(in_size, f"{cls} in_size")
        self.channel_first = bool(channel_first)
        n = self.num_spatial_dims = getattr(self, "num_spatial_dims", len(self.in_size) - 1)
        if n < 1 or len(self.in_size) != n + 1:
            layout = f"(channels, *{n} spatial)" if channel_first else f"(*{n} spatial, channels)"
            raise ConfigError(f"{cls} in_size is the shape of one example, {layout}; got {in_size!r}. "
                              "Fix: pass the input shape without the batch axis.")
        in_channels = self.in_size[0] if channel_first else self.in_size[-1]
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ConfigError(f"{cls} groups={groups} must divide in_channels={in_channels} and "
                              f"out_channels={out_channels}. Fix: pass a positive groups that divides both.")
        self.in_channels, self.out_channels, self.groups = in_channels, int(out_channels), groups
        self.kernel_size = as_tuple(kernel_size, n, f"{cls} kernel_size")
        self.stride = as_tuple(stride, n, f"{cls} stride")
        self.rhs_dilation = as_tuple(rhs_dilation, n, f"{cls} rhs_dilation")
        self.padding = _padding(padding, n, cls)
        if self._transpose and self.padding == "SAME_LOWER":
            raise ConfigError(f"{cls} padding must be 'SAME', 'VALID', ints or (low, high) pairs, got 'SAME_LOWER'. "
                              "Fix: pass padding='SAME'.")
        self.lhs_dilation = as_tuple(lhs_dilation, n, f"{cls} lhs_dilation")
        self.dimension_numbers = _dimension_numbers(n, self.channel_first)
        if self._transpose:
            kernel_shape = self.kernel_size + (in_channels, self.out_channels // groups)
        else:
            kernel_shape = self.kernel_size + (in_channels // groups, self.out_channels)
        params = {"weight": init.param(w_init, kernel_shape, allow_none=False)}
        if b_init is not None:
            params["bias"] = init.param(b_init, (self.out_channels,))
        self.weight = make_param(param_type, self._extra_params(params), sharding, cls)
        self.w_mask = as_mask(w_mask, kernel_shape, cls)
        self.out_size = jax.eval_shape(self._conv, jax.ShapeDtypeStruct((1,) + self.in_size, jnp.float32),
                                       jax.ShapeDtypeStruct(kernel_shape, jnp.float32)).shape[1:]

    def _conv(self, x: jax.Array, kernel: jax.Array) -> jax.Array:
        raise NotImplementedError

    def _extra_params(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        """The parameter dict, with any entries a subclass adds."""
        return params

    def _kernel(self, params: dict[str, jax.Array]) -> jax.Array:
        """The kernel the convolution uses (before the mask): the raw weight here."""
        return params["weight"]

    def update(self, x: jax.Array) -> jax.Array:
        shape = jnp.shape(x)
        n = self.num_spatial_dims
        unbatched = len(shape) == n + 1
        channels = (shape[-n - 1] if self.channel_first else shape[-1]) if len(shape) in (n + 1, n + 2) else None
        if channels != self.in_channels:
            layout = (f"(batch, {self.in_channels} channels, *{n} spatial) or ({self.in_channels} channels, *{n} "
                      "spatial) (channel_first=True)" if self.channel_first else
                      f"(batch, *{n} spatial, {self.in_channels} channels) or (*{n} spatial, {self.in_channels} "
                      "channels) (channels last)")
            raise InputError(f"{type(self).__name__} expects inputs {layout}, got shape {shape}. Fix: pass inputs of "
                             "that layout (or build the layer with the other channel_first).")
        params = self.weight.value
        kernel = self._kernel(params)
        if self.w_mask is not None:
            kernel = kernel * self.w_mask
        y = self._conv(x[None] if unbatched else x, kernel)
        if "bias" in params:
            bias = params["bias"]
            y = y + (bias.reshape(bias.shape + (1,) * n) if self.channel_first else bias)
        return y[0] if unbatched else y

    def extra_repr(self) -> str:
        pad = self.padding if isinstance(self.padding, str) else list(self.padding)
        groups = f", groups={self.groups}" if self.groups != 1 else ""
        first = ", channel_first=True" if self.channel_first else ""
        return (f"in_size={self.in_size}, out_channels={self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={pad!r}{groups}{first}")


class Conv(_ConvBase):
    """N-dimensional convolution (cross-correlation), channels last (or first).

    Args:
        in_size: the shape of one example, ``(*spatial, in_channels)`` (``channel_first``:
            ``(in_channels, *spatial)``).
        out_channels: the number of output channels.
        kernel_size: an int or one int per spatial axis.
        stride: the step between windows.
        padding: ``'SAME'`` (output size ``ceil(in / stride)``), ``'VALID'``, an int, one int per
            axis, or one ``(low, high)`` pair per axis (for one spatial axis, two ints are that pair).
        lhs_dilation: input dilation (fractionally strided convolution).
        rhs_dilation: kernel dilation (atrous convolution).
        groups: split the channels into groups convolved separately (``in_channels`` for depthwise).
        w_init: kernel initialiser; the kernel has shape ``(*kernel_size, in_channels // groups, out_channels)``.
        b_init: bias initialiser, ``None`` for no bias (the default, as in upstream brainstate).
        w_mask: optional array broadcastable to the kernel, multiplied into it.
        channel_first: inputs ``(batch, channels, *spatial)`` (PyTorch's layout) instead of channels last.
        name: optional display name.
        param_type: the State class of ``weight`` (``ParamState``; e.g. a ``ParamState`` subclass).
        sharding: layouts of the parameters over a device mesh, ``{'weight': spec, 'bias': spec}`` (a
            name left out is replicated); a spec is a tuple of mesh or logical axis names, a
            ``PartitionSpec`` or a ``NamedSharding`` (see ``brainstate.sharding``).

    The number of spatial axes is ``len(in_size) - 1``; ``Conv1d``/``Conv2d``/``Conv3d`` fix it.
    The output shape of one example is ``self.out_size``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.Conv((6, 6, 2), 4, kernel_size=3, b_init=nn.init.ZeroInit())(jnp.ones((6, 6, 2))).shape
        (6, 6, 4)
        >>> nn.Conv((2, 6, 6), 4, kernel_size=3, channel_first=True).out_size
        (4, 6, 6)
    """

    def __init__(self, in_size: Size, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: Padding = "SAME",
                 lhs_dilation: int | Sequence[int] = 1, rhs_dilation: int | Sequence[int] = 1,
                 groups: int = 1, w_init: Any = _XAVIER_NORMAL, b_init: Any = None, w_mask: Any = None,
                 channel_first: bool = False, name: str | None = None, param_type: type = ParamState,
                 sharding: Any = None) -> None:
        super().__init__(in_size, out_channels, kernel_size, stride, padding, lhs_dilation, rhs_dilation, groups,
                         w_init, b_init, w_mask, channel_first, name, param_type, sharding)

    def _conv(self, x: jax.Array, kernel: jax.Array) -> jax.Array:
        padding = self.padding
        if isinstance(padding, str) and any(d != 1 for d in self.lhs_dilation):
            # XLA takes string padding only without input dilation: resolve it on the dilated shapes.
            n = self.num_spatial_dims
            sizes = x.shape[2:] if self.channel_first else x.shape[1:n + 1]
            dilated_in = [(s - 1) * d + 1 for s, d in zip(sizes, self.lhs_dilation)]
            dilated_k = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:n], self.rhs_dilation)]
            padding = jax.lax.padtype_to_pads(dilated_in, dilated_k, self.stride, padding)
        return jax.lax.conv_general_dilated(
            x, kernel, window_strides=self.stride, padding=padding, lhs_dilation=self.lhs_dilation,
            rhs_dilation=self.rhs_dilation, dimension_numbers=self.dimension_numbers,
            feature_group_count=self.groups,
        )


class ConvTranspose(_ConvBase):
    """N-dimensional transposed convolution (the gradient of :class:`Conv` with respect to its input).

    Each input position ``i`` adds ``x[i] @ W[a]`` to output position ``i * stride + a`` (kernel
    offset ``a``, before padding), as PyTorch's ``ConvTranspose`` and upstream brainstate do. With
    ``padding='SAME'`` the output is ``in * stride`` long on each spatial axis, with ``'VALID'``
    ``in * stride + max(kernel - stride, 0)`` (dilated kernel size), as ``jax.lax.conv_transpose``;
    explicit pads apply to the stride-dilated input. With ``groups``, input channel group ``g``
    drives output channel group ``g`` only. Arguments as in :class:`Conv` (no ``lhs_dilation``);
    the kernel has shape ``(*kernel_size, in_channels, out_channels // groups)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> up = nn.ConvTranspose((4, 4, 6), 4, kernel_size=2, stride=2, groups=2)
        >>> up(jnp.ones((4, 4, 6))).shape, up.weight.value['weight'].shape
        ((8, 8, 4), (2, 2, 6, 2))
    """

    _transpose = True

    def __init__(self, in_size: Size, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: Padding = "SAME",
                 rhs_dilation: int | Sequence[int] = 1, groups: int = 1, w_init: Any = _XAVIER_NORMAL,
                 b_init: Any = None, w_mask: Any = None, channel_first: bool = False, name: str | None = None,
                 param_type: type = ParamState, sharding: Any = None) -> None:
        # lhs_dilation=1: the stride is the input dilation of a transposed convolution.
        super().__init__(in_size, out_channels, kernel_size, stride, padding, 1, rhs_dilation, groups, w_init,
                         b_init, w_mask, channel_first, name, param_type, sharding)

    def _conv(self, x: jax.Array, kernel: jax.Array) -> jax.Array:
        n, g = self.num_spatial_dims, self.groups
        # Flip the spatial axes and regroup (*k, I, O/g) -> (*k, I/g, O): group j's outputs read its inputs.
        k = jnp.flip(kernel, axis=tuple(range(n)))
        k = k.reshape(k.shape[:n] + (g, k.shape[n] // g, k.shape[n + 1]))
        k = jnp.moveaxis(k, n, n + 1).reshape(k.shape[:n] + (k.shape[n + 1], g * k.shape[n + 2]))
        if isinstance(self.padding, str):
            pads: Any = [_transpose_pads((kk - 1) * d + 1, s, self.padding)
                         for kk, s, d in zip(self.kernel_size, self.stride, self.rhs_dilation)]
        else:
            pads = self.padding
        return jax.lax.conv_general_dilated(
            x, k, window_strides=(1,) * n, padding=pads, lhs_dilation=self.stride, rhs_dilation=self.rhs_dilation,
            dimension_numbers=self.dimension_numbers, feature_group_count=g,
        )


class ScaledWSConv(Conv):
    """:class:`Conv` whose kernel is standardised on every call, times a learnable per-output-channel gain.

    The kernel used is ``weight_standardization(W, eps, gain)`` over all axes but the output one
    (times ``w_mask`` if given): zero mean and variance ``1 / fan_in`` per output channel, with
    ``fan_in = prod(kernel_size) * in_channels // groups``, before the gain. ``self.weight`` holds
    ``{'weight', 'gain'}`` (plus ``'bias'``); ``gain`` starts at one, with shape
    ``(1, ..., 1, out_channels)``. Arguments as in :class:`Conv`, plus:

    Args:
        ws_gain: learn a gain per output channel (``False``: no ``'gain'`` entry).
        eps: the floor of the variance in :func:`weight_standardization`.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> conv = nn.ScaledWSConv((6, 6, 2), 4, kernel_size=3)
        >>> conv(jnp.ones((6, 6, 2))).shape, conv.weight.value['gain'].shape
        ((6, 6, 4), (1, 1, 1, 4))
    """

    def __init__(self, in_size: Size, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: Padding = "SAME",
                 lhs_dilation: int | Sequence[int] = 1, rhs_dilation: int | Sequence[int] = 1,
                 groups: int = 1, ws_gain: bool = True, eps: float = 1e-4, w_init: Any = _XAVIER_NORMAL,
                 b_init: Any = None, w_mask: Any = None, channel_first: bool = False, name: str | None = None,
                 param_type: type = ParamState, sharding: Any = None) -> None:
        self.ws_gain, self.eps = bool(ws_gain), eps
        super().__init__(in_size, out_channels, kernel_size, stride, padding, lhs_dilation, rhs_dilation, groups,
                         w_init, b_init, w_mask, channel_first, name, param_type, sharding)

    def _extra_params(self, params: dict[str, jax.Array]) -> dict[str, jax.Array]:
        if self.ws_gain:
            shape = (1,) * (self.num_spatial_dims + 1) + (self.out_channels,)
            params["gain"] = jnp.ones(shape, params["weight"].dtype)
        return params

    def _kernel(self, params: dict[str, jax.Array]) -> jax.Array:
        return weight_standardization(params["weight"], self.eps, params.get("gain"))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, ws_gain={self.ws_gain}, eps={self.eps}"


class Conv1d(Conv):
    """1-d :class:`Conv`: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> conv = nn.Conv1d((10, 3), out_channels=4, kernel_size=3)
        >>> conv(jnp.ones((2, 10, 3))).shape, conv.out_size
        ((2, 10, 4), (10, 4))
    """

    num_spatial_dims = 1


class Conv2d(Conv):
    """2-d :class:`Conv`: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> conv = nn.Conv2d((8, 8, 1), out_channels=6, kernel_size=3, stride=2, padding='VALID')
        >>> conv(jnp.ones((5, 8, 8, 1))).shape
        (5, 3, 3, 6)
    """

    num_spatial_dims = 2


class Conv3d(Conv):
    """3-d :class:`Conv`: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.Conv3d((4, 4, 4, 2), 3, kernel_size=(1, 2, 3))(jnp.ones((4, 4, 4, 2))).shape
        (4, 4, 4, 3)
    """

    num_spatial_dims = 3


class ConvTranspose1d(ConvTranspose):
    """1-d :class:`ConvTranspose`: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConvTranspose1d((5, 3), 2, kernel_size=3, stride=2)(jnp.ones((1, 5, 3))).shape
        (1, 10, 2)
    """

    num_spatial_dims = 1


class ConvTranspose2d(ConvTranspose):
    """2-d :class:`ConvTranspose`: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConvTranspose2d((4, 4, 3), 2, kernel_size=2, stride=2)(jnp.ones((1, 4, 4, 3))).shape
        (1, 8, 8, 2)
    """

    num_spatial_dims = 2


class ConvTranspose3d(ConvTranspose):
    """3-d :class:`ConvTranspose`: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ConvTranspose3d((2, 2, 2, 1), 1, kernel_size=2, stride=2).out_size
        (4, 4, 4, 1)
    """

    num_spatial_dims = 3


class ScaledWSConv1d(ScaledWSConv):
    """1-d :class:`ScaledWSConv`: inputs ``(batch, length, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ScaledWSConv1d((10, 3), 4, kernel_size=3)(jnp.ones((2, 10, 3))).shape
        (2, 10, 4)
    """

    num_spatial_dims = 1


class ScaledWSConv2d(ScaledWSConv):
    """2-d :class:`ScaledWSConv`: inputs ``(batch, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ScaledWSConv2d((8, 8, 2), 4, kernel_size=3, ws_gain=False)(jnp.ones((8, 8, 2))).shape
        (8, 8, 4)
    """

    num_spatial_dims = 2


class ScaledWSConv3d(ScaledWSConv):
    """3-d :class:`ScaledWSConv`: inputs ``(batch, depth, height, width, channels)``.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.ScaledWSConv3d((4, 4, 4, 1), 2, kernel_size=2).out_size
        (4, 4, 4, 2)
    """

    num_spatial_dims = 3
