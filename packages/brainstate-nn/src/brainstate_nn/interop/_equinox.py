"""``equinox`` <-> brainstate: the built-in layer mappings and equinox's containers.

Equinox lays weights out as PyTorch does: Linear ``(out, in)``, convolution kernels
``(out, in // groups, *kernel)`` with channels-first, unbatched inputs ``(channels, *spatial)``;
brainstate is channels last. So kernels are transposed on the way, and a converted convolution
computes the same numbers on the transposed input. Equinox layers work on one example (map them
over a batch with ``jax.vmap``); brainstate's take a batch. Equinox modules are immutable, so
weights are placed with ``eqx.tree_at``. The module imports without equinox; :func:`load` imports it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from .._conv import Conv
from .._dropout import Dropout
from .._embedding import Embedding
from .._linear import Linear
from .._normalization import GroupNorm, LayerNorm, RMSNorm
from .._rnn import GRUCell, LSTMCell, MGUCell, URLSTMCell, VanillaRNNCell
from . import _bst as B
from ._engine import Context, is_stateless_callable
from ._errors import ConversionError, InteropError
from ._registry import _same_forward, lazy_import, register_builtin, register_unsupported

eqx: Any = None  # the module equinox, set by load()

__all__ = ["ADAPTER", "load"]

_BN_REASON = ("BatchNorm does not convert to or from equinox: equinox keeps the running statistics outside the model, "
              "in an `eqx.nn.State` threaded through every call under a named vmap axis, which a model-to-model "
              "conversion cannot express. Fix: convert the rest of the model and rebuild the batch norm by hand.")


def _set(module: Any, **arrays: Any) -> Any:
    """``module`` with the named array fields replaced (equinox modules are immutable)."""
    names = list(arrays)
    return eqx.tree_at(lambda m: [getattr(m, n) for n in names], module, [arrays[n] for n in names])


def _build(cls: type, *args: Any, arrays: dict[str, Any], **kwargs: Any) -> Any:
    """``cls(*args, **kwargs)`` holding ``arrays``, built abstractly (no initial weights are drawn)."""
    m = _set(eqx.filter_eval_shape(cls, *args, **kwargs), **arrays)
    if any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(m)):
        raise InteropError(f"Internal error: the exported {cls.__name__} has arrays the converter did not set. "
                           "Fix: report this with the layer's configuration.")
    return m


def _key(ctx: Context) -> Any:
    return jax.random.key(0) if ctx.key is None else ctx.next_key()


def _one_axis(m: Any, what: str) -> int:
    shape = m.shape if isinstance(m.shape, tuple) else (m.shape,)
    if len(shape) != 1:
        raise ConversionError(f"eqx.nn.{what}(shape={m.shape}) normalises over {len(shape)} axes with a weight of that "
                              f"shape; brainstate's {what} has one weight per feature of the last axis. Fix: convert "
                              f"an eqx.nn.{what} over one axis.")
    return int(shape[0])


# -- layers ------------------------------------------------------------------------------------

def _linear_in(m: Any, ctx: Context) -> Linear:
    if m.in_features == "scalar" or m.out_features == "scalar":
        raise ConversionError("eqx.nn.Linear with 'scalar' features maps scalars, which brainstate's Linear (a matrix "
                              "over the last axis) does not. Fix: use in_features=1 / out_features=1.")
    return B.new_linear(jnp.transpose(m.weight), m.bias, ctx)


def _linear_out(layer: Linear, ctx: Context) -> Any:
    w, b = B.linear_params(layer)
    arrays = {"weight": jnp.transpose(w), **({} if b is None else {"bias": b})}
    return _build(eqx.nn.Linear, int(w.shape[0]), int(w.shape[1]), use_bias=b is not None, dtype=w.dtype,
                  key=_key(ctx), arrays=arrays)


def _embed_in(m: Any, ctx: Context) -> Embedding:
    return B.new_embedding(m.weight, ctx)


def _embed_out(layer: Embedding, ctx: Context) -> Any:
    table = layer.weight.value
    return eqx.nn.Embedding(weight=table)


# What equinox's LayerNorm / RMSNorm / GroupNorm cannot express: feature axes other than the last (the converted
# layer's weight is one vector over the features), averaging over a named axis, and a result dtype. Equinox
# takes the variance in two passes (jnp.var): imported layers do too (use_fast_variance=False); exports accept
# either form, the one-pass one only rounding differently.
_NORM_ONLY = dict(feature_axes=(-1,), axis_name=None, axis_index_groups=None, dtype=None)


def _layernorm_in(m: Any, ctx: Context) -> LayerNorm:
    return B.new_layernorm(_one_axis(m, "LayerNorm"), m.weight, m.bias, m.eps, ctx, use_fast_variance=False)


def _layernorm_out(layer: LayerNorm, ctx: Context) -> Any:
    if layer.reduction_axes != (-1,):
        raise ConversionError(f"LayerNorm(reduction_axes={layer.reduction_axes}) normalises over several axes; "
                              "eqx.nn.LayerNorm over one axis has one weight per feature. Fix: convert a LayerNorm "
                              "with the default reduction_axes=-1.")
    B.refuse_options(layer, "eqx.nn.LayerNorm", **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    m = eqx.nn.LayerNorm(layer.features, eps=float(layer.epsilon), use_weight=scale is not None,
                         use_bias=bias is not None)
    return _set(m, **{k: v for k, v in (("weight", scale), ("bias", bias)) if v is not None})


def _rmsnorm_in(m: Any, ctx: Context) -> RMSNorm:
    features = _one_axis(m, "RMSNorm")
    if m.bias is not None and bool(jnp.any(m.bias != 0)):
        raise ConversionError("eqx.nn.RMSNorm has a non-zero bias; brainstate's RMSNorm has no bias, so the converted "
                              "layer would compute something else. Fix: convert an RMSNorm with use_bias=False (or a "
                              "zero bias), or add the bias with a separate layer.")
    return B.new_rmsnorm(features, m.weight, m.eps, ctx)


def _rmsnorm_out(layer: RMSNorm, ctx: Context) -> Any:
    B.refuse_options(layer, "eqx.nn.RMSNorm", reduction_axes=(-1,), **_NORM_ONLY)
    scale, _ = B.norm_params(layer)
    m = eqx.nn.RMSNorm(layer.features, eps=float(layer.epsilon), use_weight=scale is not None, use_bias=False)
    return m if scale is None else _set(m, weight=scale)


def _groupnorm_in(m: Any, ctx: Context) -> GroupNorm:
    return B.new_groupnorm(int(m.channels), int(m.groups), m.weight, m.bias, m.eps, ctx, use_fast_variance=False)


def _groupnorm_out(layer: GroupNorm, ctx: Context) -> Any:
    B.refuse_options(layer, "eqx.nn.GroupNorm", reduction_axes=None, **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    if (scale is None) != (bias is None):
        raise ConversionError("GroupNorm with only one of use_scale / use_bias has no equinox counterpart "
                              "(eqx.nn.GroupNorm learns both or neither). Fix: convert a GroupNorm with both or none.")
    m = eqx.nn.GroupNorm(layer.num_groups, layer.in_size[-1], eps=float(layer.epsilon),
                         channelwise_affine=scale is not None)
    return m if scale is None else _set(m, weight=scale, bias=bias)


def _dropout_in(m: Any, ctx: Context) -> Dropout:
    return B.new_dropout(m.p)


def _dropout_out(layer: Dropout, ctx: Context) -> Any:
    rate, dims = B.dropout_params(layer)
    if dims:
        raise ConversionError(f"Dropout(broadcast_dims={dims}) shares masks along axes; eqx.nn.Dropout draws every "
                              "element independently. Fix: convert a Dropout without broadcast_dims.")
    return eqx.nn.Dropout(rate, inference=True)


def _kernel_to_eqx(nd: int) -> tuple[int, ...]:
    """The axis order taking a brainstate kernel ``(*k, in, out)`` to equinox's ``(out, in, *k)``."""
    return (nd + 1, nd) + tuple(range(nd))


def _conv_in(m: Any, ctx: Context) -> Conv:
    if m.padding_mode != "ZEROS":
        raise ConversionError(f"eqx.nn.Conv has padding_mode={m.padding_mode!r}; brainstate's convolutions pad with "
                              "zeros. Fix: pad the input explicitly (brainstate.nn.ReflectionPad2d, CircularPad2d, "
                              "...) and convert a convolution with padding=0.")
    nd = m.num_spatial_dims
    perm = _kernel_to_eqx(nd)
    kernel = jnp.transpose(m.weight, tuple(perm.index(i) for i in range(nd + 2)))
    bias = None if m.bias is None else jnp.reshape(m.bias, (-1,))
    padding = m.padding if isinstance(m.padding, str) else tuple(tuple(p) for p in m.padding)
    return B.new_conv(kernel, bias, ctx, stride=B.ints(m.stride, nd), padding=B.flax_padding(padding, nd, "eqx Conv"),
                      lhs_dilation=1, rhs_dilation=B.ints(m.dilation, nd), groups=m.groups)


def _conv_out(layer: Conv, ctx: Context) -> Any:
    p = B.conv_params(layer)
    nd = p["nd"]
    if any(d != 1 for d in p["lhs_dilation"]):
        raise ConversionError(f"Conv{nd}d(lhs_dilation={p['lhs_dilation']}) dilates its input; equinox's convolutions "
                              "do not. Fix: use eqx.nn.ConvTranspose by hand, or convert a Conv with lhs_dilation=1.")
    cls = {1: eqx.nn.Conv1d, 2: eqx.nn.Conv2d, 3: eqx.nn.Conv3d}[nd]
    arrays = {"weight": jnp.transpose(p["kernel"], _kernel_to_eqx(nd))}
    if p["bias"] is not None:
        arrays["bias"] = jnp.reshape(p["bias"], (-1,) + (1,) * nd)
    return _build(cls, p["in_channels"], p["out_channels"], p["kernel_size"], stride=p["stride"],
                  padding=p["padding"], dilation=p["rhs_dilation"], groups=p["groups"],
                  use_bias=p["bias"] is not None, dtype=p["kernel"].dtype, key=_key(ctx), arrays=arrays)


def _lstm_in(m: Any, ctx: Context) -> LSTMCell:
    bias = m.bias if m.bias is not None else jnp.zeros(m.weight_ih.shape[0], m.weight_ih.dtype)
    return B.new_lstm(B.from_std_gates(jnp.transpose(m.weight_ih)), B.from_std_gates(jnp.transpose(m.weight_hh)),
                      B.from_std_gates(bias))


def _lstm_out(layer: LSTMCell, ctx: Context) -> Any:
    w_in, w_hid, bias = (B.to_std_gates(a) for a in B.lstm_params(layer))
    return _build(eqx.nn.LSTMCell, layer.num_in, layer.num_out, use_bias=True, dtype=w_in.dtype, key=_key(ctx),
                  arrays=dict(weight_ih=jnp.transpose(w_in), weight_hh=jnp.transpose(w_hid), bias=bias))


# -- containers --------------------------------------------------------------------------------

def _holds_module(v: Any) -> bool:
    if isinstance(v, eqx.Module):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_module(x) for x in v)
    return isinstance(v, dict) and any(_holds_module(x) for x in v.values())


class _EquinoxAdapter:
    name = "equinox"
    model_kind = "equinox.Module"

    def is_model(self, obj: Any) -> bool:
        return isinstance(obj, eqx.Module)

    def layer_type(self, node: Any) -> type:
        return type(node)

    def is_sequential(self, node: Any) -> bool:
        return isinstance(node, eqx.nn.Sequential) and _same_forward(type(node), eqx.nn.Sequential)

    def children(self, node: Any) -> list:
        return list(node.layers)

    def has_child_modules(self, node: Any) -> bool:
        if not dataclasses.is_dataclass(node):
            return False
        return any(_holds_module(getattr(node, f.name, None)) for f in dataclasses.fields(node))

    def as_function(self, node: Any) -> Any:
        if isinstance(node, eqx.nn.Lambda) and type(node) is eqx.nn.Lambda:
            node = node.fn
        return None if isinstance(node, eqx.Module) or not is_stateless_callable(node) else node

    def build_sequential(self, children: list) -> Any:
        return eqx.nn.Sequential(children)

    def wrap_function(self, fn: Any) -> Any:
        return eqx.nn.Lambda(fn)


ADAPTER = _EquinoxAdapter()


def load() -> None:
    """Import the framework and register the built-in mappings (called once, by the first conversion)."""
    global eqx
    eqx = lazy_import("equinox")
    for bst_type, foreign_type, to_bst, to_foreign in [
        (Linear, eqx.nn.Linear, _linear_in, _linear_out),
        (Embedding, eqx.nn.Embedding, _embed_in, _embed_out),
        (LayerNorm, eqx.nn.LayerNorm, _layernorm_in, _layernorm_out),
        (RMSNorm, eqx.nn.RMSNorm, _rmsnorm_in, _rmsnorm_out),
        (GroupNorm, eqx.nn.GroupNorm, _groupnorm_in, _groupnorm_out),
        (Dropout, eqx.nn.Dropout, _dropout_in, _dropout_out),
        *[(t, eqx.nn.Conv, _conv_in, _conv_out) for t in B.CONV_TYPES],
        (LSTMCell, eqx.nn.LSTMCell, _lstm_in, _lstm_out),
    ]:
        register_builtin(bst_type, "equinox", foreign_type, to_bst, to_foreign)
    register_unsupported("equinox", _BN_REASON, foreign=(eqx.nn.BatchNorm,), bst=B.BATCHNORM_TYPES)
    register_unsupported("equinox", B.GRU_REASON, foreign=(eqx.nn.GRUCell,), bst=(GRUCell,))
    for cell in (VanillaRNNCell, MGUCell, URLSTMCell):
        register_unsupported("equinox", B.NO_CELL_REASON.format(name=cell.__name__), bst=(cell,))
