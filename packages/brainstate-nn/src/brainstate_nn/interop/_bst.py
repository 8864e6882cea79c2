"""The brainstate side of every conversion: build a brainstate layer from plain arrays, read its arrays back.

This is the one place that knows where brainstate layers keep their weights (which State, which
dict key, which shape), so the framework modules only translate between layouts. Arrays are
exchanged in brainstate's layout: kernels ``(in, out)`` / ``(*kernel, in // groups, out)``,
biases and affine vectors ``(features,)``, LSTM weights with the gates in brainstate's order
``i, g, f, o``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import State

from .. import _init as init
from .._conv import Conv, Conv1d, Conv2d, Conv3d
from .._dropout import Dropout
from .._embedding import Embedding
from .._linear import Linear
from .._normalization import BatchNorm0d, BatchNorm1d, BatchNorm2d, BatchNorm3d, GroupNorm, LayerNorm, RMSNorm
from .._rnn import LSTMCell
from ._engine import Context
from ._errors import ConversionError

__all__ = [
    "new_linear", "linear_params", "new_embedding", "new_conv", "conv_params", "new_layernorm", "new_rmsnorm",
    "new_groupnorm", "norm_params", "new_batchnorm", "batchnorm_params", "new_dropout", "dropout_params",
    "new_lstm", "lstm_params", "to_std_gates", "from_std_gates", "computes", "CONV_TYPES", "BATCHNORM_TYPES",
    "check_options", "refuse_options", "flax_padding", "ints", "GRU_REASON", "NO_CELL_REASON",
]

CONV_TYPES = (Conv, Conv1d, Conv2d, Conv3d)
BATCHNORM_TYPES = (BatchNorm0d, BatchNorm1d, BatchNorm2d, BatchNorm3d)
_ZERO = init.ZeroInit()
_PROBE = jnp.linspace(-3.0, 3.0, 13)

GRU_REASON = ("GRUCell does not convert: brainstate's GRU is the Cho et al. (2014) form, which resets the hidden state "
              "before its matmul (W_h [x, r * h]); flax and equinox use the cuDNN form, which resets after it "
              "(r * (W_hn h + b_hn)). No transfer of weights makes the two compute the same thing.")
NO_CELL_REASON = ("{name} does not convert: flax and equinox have no cell with the same recurrence. "
                  "Fix: convert its sub-layers (e.g. cell.W) one by one.")


# Builders pass the weights themselves as the initialisers (drawing random weights only to overwrite
# them would compile a sampler per shape), then check every array with _put.


def _put(state: State, value: Any, what: str) -> None:
    """Write ``value`` into ``state`` after checking it has the state's structure and shapes."""
    old = jax.tree.structure(state.value), [jnp.shape(x) for x in jax.tree.leaves(state.value)]
    new = jax.tree.structure(value), [jnp.shape(x) for x in jax.tree.leaves(value)]
    if old != new:
        raise ConversionError(f"Cannot write {what}: the converted weights have shapes "
                              f"{jax.tree.map(jnp.shape, value)} but the brainstate layer expects "
                              f"{jax.tree.map(jnp.shape, state.value)}. Fix: check "
                              "that the source layer's weights match its own configuration.")
    state.value = value


def _size_for(ctx: Context, features: int, what: str) -> tuple[int, ...]:
    """The layer's input shape: the known one (its last axis must be ``features``), else ``(features,)``."""
    cur = ctx.cur_size
    if cur is None:
        return (features,)
    if cur[-1] != features:
        raise ConversionError(f"{what} takes {features} features on its last axis, but its input here has shape "
                              f"{cur} (from `sample_input` and the layers before it). Fix: pass a `sample_input` "
                              "whose last (channel) axis matches the model.")
    return cur


def computes(fn: Callable, ref: Callable) -> bool:
    """Whether ``fn`` is ``ref`` or computes the same values on a probe."""
    if fn is ref:
        return True
    try:
        return bool(np.allclose(np.asarray(fn(_PROBE)), np.asarray(ref(_PROBE)), rtol=1e-6, atol=1e-6))
    except Exception:  # not a function of one array
        return False


def _no_mask(layer: Any) -> None:
    if getattr(layer, "w_mask", None) is not None:
        raise ConversionError(f"{type(layer).__name__} has a w_mask, which the other framework's layer cannot hold. "
                              "Fix: fold it into the weight (layer.weight.value['weight'] * layer.w_mask) and drop the "
                              "mask before converting.")


def _only_keys(layer: Any, params: dict, allowed: set[str]) -> None:
    extra = set(params) - allowed
    if extra:
        raise ConversionError(f"{type(layer).__name__} has parameters {sorted(extra)} that the other framework's layer "
                              "does not have. Fix: register a LayerMapping for this layer type.")


# -- Linear / Embedding -----------------------------------------------------------------------

def new_linear(weight: Any, bias: Any, ctx: Context) -> Linear:
    """A brainstate Linear holding ``weight`` ``(in, out)`` and ``bias`` ``(out,)`` or ``None``."""
    n_in, n_out = (int(d) for d in jnp.shape(weight))
    in_size = _size_for(ctx, n_in, "Linear")
    layer = Linear(in_size, in_size[:-1] + (n_out,), w_init=weight, b_init=None if bias is None else _ZERO)
    _put(layer.weight, {"weight": weight} if bias is None else {"weight": weight, "bias": bias}, "Linear weights")
    return layer


def linear_params(layer: Linear) -> tuple[jax.Array, jax.Array | None]:
    """``(weight (in, out), bias (out,) or None)`` of a brainstate Linear."""
    _no_mask(layer)
    params = layer.weight.value
    _only_keys(layer, params, {"weight", "bias"})
    return params["weight"], params.get("bias")


def new_embedding(table: Any, ctx: Context) -> Embedding:
    """A brainstate Embedding holding ``table`` ``(num_embeddings, embedding_size)``."""
    n, d = (int(s) for s in jnp.shape(table))
    layer = Embedding(n, d, embedding_init=table)
    ctx.cur_size = None if ctx.cur_size is None else ctx.cur_size + (d,)
    return layer


# -- Conv --------------------------------------------------------------------------------------

def new_conv(kernel: Any, bias: Any, ctx: Context, *, stride: Any, padding: Any, lhs_dilation: Any,
             rhs_dilation: Any, groups: int) -> Conv:
    """A brainstate Conv{n}d from a kernel ``(*kernel_size, in // groups, out)`` and a bias ``(out,)`` or ``None``."""
    shape = jnp.shape(kernel)
    nd = len(shape) - 2
    if nd not in (1, 2, 3):
        raise ConversionError(f"A convolution kernel of shape {shape} has {nd} spatial axes; brainstate has Conv1d, "
                              "Conv2d and Conv3d. Fix: convert 1-, 2- or 3-dimensional convolutions only.")
    what = f"Conv{nd}d"
    in_size = ctx.require_size(what, nd + 1)
    groups = int(groups)
    if in_size[-1] != shape[-2] * groups:
        raise ConversionError(f"The {what} kernel {shape} with groups={groups} takes {shape[-2] * groups} input "
                              f"channels, but its input here has shape {in_size} (channels last). Fix: pass a "
                              "`sample_input` whose last axis is the number of input channels.")
    cls = (Conv1d, Conv2d, Conv3d)[nd - 1]
    layer = cls(in_size, int(shape[-1]), tuple(int(k) for k in shape[:nd]), stride=stride, padding=padding,
                lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation, groups=groups, w_init=kernel,
                b_init=None if bias is None else _ZERO)
    params = {"weight": kernel}
    if bias is not None:
        params["bias"] = jnp.reshape(bias, jnp.shape(layer.weight.value["bias"]))
    _put(layer.weight, params, f"{what} weights")
    return layer


def conv_params(layer: Conv) -> dict[str, Any]:
    """The configuration and weights of a brainstate convolution, bias as ``(out,)``."""
    _no_mask(layer)
    params = layer.weight.value
    _only_keys(layer, params, {"weight", "bias"})
    bias = params.get("bias")
    return dict(kernel=params["weight"], bias=None if bias is None else jnp.reshape(bias, (layer.out_channels,)),
                in_channels=layer.in_channels, out_channels=layer.out_channels, kernel_size=tuple(layer.kernel_size),
                stride=tuple(layer.stride), padding=layer.padding, lhs_dilation=tuple(layer.lhs_dilation),
                rhs_dilation=tuple(layer.rhs_dilation), groups=layer.groups, nd=layer.num_spatial_dims)


# -- normalisation -----------------------------------------------------------------------------

def _affine(scale: Any, bias: Any) -> dict[str, Any]:
    return {k: v for k, v in (("scale", scale), ("bias", bias)) if v is not None}


def _fill_affine(layer: Any, scale: Any, bias: Any) -> None:
    params = _affine(scale, bias)
    if params:
        _put(layer.weight, params, f"{type(layer).__name__} scale/bias")


def norm_params(layer: Any) -> tuple[jax.Array | None, jax.Array | None]:
    """``(scale, bias)`` of a brainstate normalisation layer, each ``(features,)`` or ``None``."""
    if layer.weight is None:
        return None, None
    params = layer.weight.value
    _only_keys(layer, params, {"scale", "bias"})
    return params.get("scale"), params.get("bias")


# The normalisation builders take the keywords both sides can share (use_fast_variance; dtype, the dtype of the
# result); the framework modules refuse the options the other side cannot express (see refuse_options).

def new_layernorm(features: int, scale: Any, bias: Any, epsilon: float, ctx: Context,
                  reduction_axes: int | Sequence[int] = -1, *, use_fast_variance: bool = True,
                  dtype: Any = None) -> LayerNorm:
    layer = LayerNorm(_size_for(ctx, features, "LayerNorm"), epsilon=float(epsilon), use_scale=scale is not None,
                      use_bias=bias is not None, reduction_axes=reduction_axes,
                      use_fast_variance=bool(use_fast_variance), dtype=dtype)
    _fill_affine(layer, scale, bias)
    return layer


def new_rmsnorm(features: int, scale: Any, epsilon: float, ctx: Context, *, dtype: Any = None) -> RMSNorm:
    layer = RMSNorm(_size_for(ctx, features, "RMSNorm"), epsilon=float(epsilon), use_scale=scale is not None,
                    dtype=dtype)
    _fill_affine(layer, scale, None)
    return layer


def new_groupnorm(channels: int, num_groups: int, scale: Any, bias: Any, epsilon: float, ctx: Context, *,
                  use_fast_variance: bool = True, dtype: Any = None) -> GroupNorm:
    layer = GroupNorm(_size_for(ctx, channels, "GroupNorm"), num_groups=int(num_groups), epsilon=float(epsilon),
                      use_scale=scale is not None, use_bias=bias is not None,
                      use_fast_variance=bool(use_fast_variance), dtype=dtype)
    _fill_affine(layer, scale, bias)
    return layer


def new_batchnorm(features: int, scale: Any, bias: Any, mean: Any, var: Any, *, epsilon: float, momentum: float,
                  axis_name: Any, ctx: Context, axis_index_groups: Any = None, use_fast_variance: bool = True,
                  dtype: Any = None) -> Any:
    """A brainstate BatchNorm{n}d (n from the input shape) with the given affine and running statistics."""
    in_size = ctx.require_size("BatchNorm")
    nd = len(in_size) - 1
    if nd > 3:
        raise ConversionError(f"A batch norm on inputs of shape {in_size} needs BatchNorm{nd}d, which brainstate does "
                              "not have (0d to 3d). Fix: convert inputs of at most 3 spatial axes.")
    in_size = _size_for(ctx, features, f"BatchNorm{nd}d")
    layer = BATCHNORM_TYPES[nd](in_size, momentum=float(momentum), epsilon=float(epsilon),
                                affine=scale is not None or bias is not None, axis_name=axis_name,
                                axis_index_groups=axis_index_groups, use_fast_variance=bool(use_fast_variance),
                                dtype=dtype)
    if scale is not None or bias is not None:
        # a bias-only (or scale-only) layer keeps exactly its one parameter
        assert layer.weight is not None  # affine=True made one
        layer.weight = type(layer.weight)(_affine(scale, bias))
        _fill_affine(layer, scale, bias)
    _put(layer.running_mean, jnp.reshape(mean, jnp.shape(layer.running_mean.value)), "BatchNorm running mean")
    _put(layer.running_var, jnp.reshape(var, jnp.shape(layer.running_var.value)), "BatchNorm running variance")
    return layer


def batchnorm_params(layer: Any) -> dict[str, Any]:
    """The configuration, affine parameters and running statistics ``(features,)`` of a brainstate BatchNorm."""
    if not layer.track_running_stats:
        raise ConversionError(f"{type(layer).__name__}(track_running_stats=False) always normalises with the batch "
                              "statistics; the other framework's batch norm keeps running statistics. Fix: convert a "
                              "batch norm built with track_running_stats=True.")
    refuse_options(layer, "flax's BatchNorm as converted (channels last)", feature_axes=(-1,))
    scale, bias = norm_params(layer)
    n = layer.features
    return dict(features=n, scale=scale, bias=bias, mean=jnp.reshape(layer.running_mean.value, (n,)),
                var=jnp.reshape(layer.running_var.value, (n,)), epsilon=layer.epsilon, momentum=layer.momentum,
                axis_name=layer.axis_name, axis_index_groups=layer.axis_index_groups,
                use_fast_variance=layer.use_fast_variance, dtype=layer.dtype)


# -- Dropout -----------------------------------------------------------------------------------

def new_dropout(rate: float, broadcast_dims: Sequence[int] = ()) -> Dropout:
    """A brainstate Dropout dropping a fraction ``rate`` (brainstate's ``prob`` is the fraction kept)."""
    return Dropout(1.0 - float(rate), broadcast_dims=tuple(broadcast_dims))


def dropout_params(layer: Dropout) -> tuple[float, tuple[int, ...]]:
    """``(rate dropped, broadcast_dims)`` of a brainstate Dropout."""
    return 1.0 - float(layer.prob), tuple(layer.broadcast_dims)


# -- LSTM --------------------------------------------------------------------------------------

def to_std_gates(x: Any) -> Any:
    """Reorder the four gate blocks of the last axis from brainstate's ``i, g, f, o`` to ``i, f, g, o``."""
    i, g, f, o = jnp.split(x, 4, axis=-1)
    return jnp.concatenate([i, f, g, o], axis=-1)


from_std_gates = to_std_gates  # swapping the middle blocks is its own inverse


def new_lstm(w_in: Any, w_hidden: Any, bias: Any) -> LSTMCell:
    """A brainstate LSTMCell from ``w_in`` ``(in, 4h)``, ``w_hidden`` ``(h, 4h)`` and ``bias`` ``(4h,)``.

    The gate blocks are in brainstate's order ``i, g, f, o``.
    """
    n_in, n_out = int(jnp.shape(w_in)[0]), int(jnp.shape(w_hidden)[0])
    weight = jnp.concatenate([w_in, w_hidden], axis=0)
    layer = LSTMCell(n_in, n_out, w_init=weight)
    _put(layer.W.weight, {"weight": weight, "bias": bias}, "LSTMCell weights")
    return layer


def lstm_params(layer: LSTMCell) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(w_in (in, 4h), w_hidden (h, 4h), bias (4h,))`` of a brainstate LSTMCell, gates in order i, g, f, o."""
    if not computes(layer.activation, jnp.tanh):
        raise ConversionError(f"LSTMCell(num_in={layer.num_in}, num_out={layer.num_out}) uses the activation "
                              f"{layer.activation!r}; the other framework's LSTM cell uses tanh. Fix: convert an "
                              "LSTMCell with activation='tanh'.")
    weight, bias = linear_params(layer.W)
    if bias is None:
        bias = jnp.zeros(weight.shape[-1], weight.dtype)
    return weight[:layer.num_in], weight[layer.num_in:], bias


# -- shared by the framework modules ------------------------------------------------------------

def check_options(m: Any, what: str, **expected: Any) -> None:
    """Raise :class:`ConversionError` when an option of ``m`` has a value brainstate's layer cannot reproduce."""
    for attr, allowed in expected.items():
        value = getattr(m, attr, allowed[0])
        if value not in allowed:
            raise ConversionError(f"{what} has {attr}={value!r}; the brainstate layer supports only {attr} in "
                                  f"{list(allowed)}. Fix: convert a layer with the default {attr}.")


def refuse_options(layer: Any, target: str, **defaults: Any) -> None:
    """Raise :class:`ConversionError` when an option of the brainstate ``layer`` differs from the value ``target``
    (the other framework's layer, in words) always computes with."""
    for attr, default in defaults.items():
        value = getattr(layer, attr)
        if value != default:
            name = type(layer).__name__
            raise ConversionError(f"{name}({attr}={value!r}) does not convert to {target}, which cannot express it: "
                                  f"the converted layer would compute something else. Fix: convert a {name} built "
                                  f"with {attr}={default!r}, or register a LayerMapping for this layer.")


def flax_padding(padding: Any, nd: int, what: str) -> Any:
    """Flax's padding forms as brainstate's: 'SAME' / 'VALID' / 'SAME_LOWER', or one (low, high) pair per axis."""
    if isinstance(padding, str):
        if padding.upper() in ("SAME", "VALID", "SAME_LOWER"):
            return padding.upper()
        raise ConversionError(f"{what} has padding={padding!r}; brainstate's convolutions pad with zeros only "
                              "('SAME', 'VALID', 'SAME_LOWER' or explicit sizes). Fix: pad the input explicitly "
                              "(brainstate.nn.ReflectionPad2d, CircularPad2d, ...) and convert a convolution with "
                              "padding='VALID'.")
    if isinstance(padding, int):
        return ((padding, padding),) * nd
    pads = [(p, p) if isinstance(p, int) else tuple(p) for p in padding]
    if len(pads) == 1:
        pads = pads * nd
    return tuple((int(lo), int(hi)) for lo, hi in pads)


def ints(value: Any, nd: int) -> tuple[int, ...]:
    """An option given as ``None`` (meaning 1), an int, or one int per axis, as ``nd`` ints."""
    if value is None:
        return (1,) * nd
    return (int(value),) * nd if isinstance(value, int) else tuple(int(v) for v in value)
