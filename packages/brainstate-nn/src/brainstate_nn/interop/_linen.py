"""``flax.linen`` <-> brainstate: the built-in layer mappings and linen's containers.

A linen model is a pair: a module describing the computation and the variables
(``{'params': ..., 'batch_stats': ...}``) it is applied to. The walk handles :class:`LinenLayer`
pairs; a ``linen.Sequential`` keeps the variables of its ``i``-th layer under ``layers_{i}``.
Layouts are brainstate's (kernels ``(in, out)``, channels last). The module imports without flax;
:func:`load` imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

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
from ._errors import ConversionError, MissingShapeError
from ._registry import _same_forward, lazy_import, register_builtin, register_unsupported

linen: Any = None  # the module flax.linen, set by load()
flax_core: Any = None  # the module flax.core, set by load()

__all__ = ["ADAPTER", "load", "LinenLayer", "as_variables"]


class LinenLayer(NamedTuple):
    """A linen module and the slice of the variables that belongs to it."""

    module: Any
    variables: dict


def as_variables(variables: Any, what: str) -> dict:
    """``variables`` as a plain nested dict, checked to be what ``module.init`` returns."""
    if not isinstance(variables, Mapping):
        raise ConversionError(f"{what} expects the variables of the module (the dict `module.init(key, x)` returns), "
                              f"got {type(variables).__name__}. Fix: pass `module.init(key, x)`.")
    variables = flax_core.unfreeze(variables)
    if variables and not ({"params", "batch_stats"} & set(variables)):
        raise ConversionError(f"{what} got a dict with the keys {sorted(variables)[:4]}, which has no 'params' entry: "
                              "it looks like the parameters alone. Fix: pass the whole variables, "
                              "{'params': params} (plus 'batch_stats' for batch norms).")
    return variables


def _params(node: LinenLayer) -> dict:
    return node.variables.get("params", {})


def _features(ctx: Context, what: str, *arrays: Any) -> int:
    for a in arrays:
        if a is not None:
            return int(jnp.shape(a)[-1])
    if ctx.cur_size is None:
        raise MissingShapeError(f"linen.{what} without scale and bias does not record its feature count. Fix: pass "
                                "`sample_input=` (one unbatched example or its shape) to from_linen.")
    return ctx.cur_size[-1]


def _affine(scale: Any, bias: Any) -> dict:
    return {k: v for k, v in (("scale", scale), ("bias", bias)) if v is not None}


def _pair(module: Any, params: dict, **collections: Any) -> LinenLayer:
    variables = {"params": params} if params else {}
    variables.update({k: v for k, v in collections.items() if v})
    return LinenLayer(module, variables)


# -- layers ------------------------------------------------------------------------------------

def _dense_in(node: LinenLayer, ctx: Context) -> Linear:
    p = _params(node)
    return B.new_linear(p["kernel"], p.get("bias"), ctx)


def _dense_out(layer: Linear, ctx: Context) -> LinenLayer:
    w, b = B.linear_params(layer)
    module = linen.Dense(features=int(w.shape[1]), use_bias=b is not None, param_dtype=w.dtype)
    return _pair(module, {"kernel": w, **({} if b is None else {"bias": b})})


def _embed_in(node: LinenLayer, ctx: Context) -> Embedding:
    return B.new_embedding(_params(node)["embedding"], ctx)


def _embed_out(layer: Embedding, ctx: Context) -> LinenLayer:
    table = layer.weight.value
    module = linen.Embed(num_embeddings=int(table.shape[0]), features=int(table.shape[1]), param_dtype=table.dtype)
    return _pair(module, {"embedding": table})


# What linen's LayerNorm / RMSNorm / GroupNorm cannot express: feature axes other than the last (GroupNorm: a
# channel axis other than the last, brainstate's reduction_axes), and averaging over a named axis. Imports
# refuse half-precision statistics (force_float32_reductions=False): brainstate's are at least float32.
_NORM_ONLY = dict(feature_axes=(-1,), axis_name=None, axis_index_groups=None)
_F32 = dict(force_float32_reductions=(True,))


def _layernorm_in(node: LinenLayer, ctx: Context) -> LayerNorm:
    m, p = node.module, _params(node)
    B.check_options(m, "linen.LayerNorm", feature_axes=(-1, (-1,)), axis_name=(None,), axis_index_groups=(None,),
                    **_F32)
    scale, bias = p.get("scale"), p.get("bias")
    return B.new_layernorm(_features(ctx, "LayerNorm", scale, bias), scale, bias, m.epsilon, ctx, m.reduction_axes,
                           use_fast_variance=m.use_fast_variance, dtype=m.dtype)


def _layernorm_out(layer: LayerNorm, ctx: Context) -> LinenLayer:
    B.refuse_options(layer, "flax.linen.LayerNorm", **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    module = linen.LayerNorm(epsilon=float(layer.epsilon), use_scale=scale is not None, use_bias=bias is not None,
                             reduction_axes=layer.reduction_axes, use_fast_variance=layer.use_fast_variance,
                             dtype=layer.dtype)
    return _pair(module, _affine(scale, bias))


def _rmsnorm_in(node: LinenLayer, ctx: Context) -> RMSNorm:
    m, scale = node.module, _params(node).get("scale")
    B.check_options(m, "linen.RMSNorm", reduction_axes=(-1, (-1,)), feature_axes=(-1, (-1,)), axis_name=(None,),
                    axis_index_groups=(None,), **_F32)
    return B.new_rmsnorm(_features(ctx, "RMSNorm", scale), scale, m.epsilon, ctx, dtype=m.dtype)


def _rmsnorm_out(layer: RMSNorm, ctx: Context) -> LinenLayer:
    B.refuse_options(layer, "flax.linen.RMSNorm as converted", reduction_axes=(-1,), **_NORM_ONLY)
    scale, _ = B.norm_params(layer)
    module = linen.RMSNorm(epsilon=float(layer.epsilon), use_scale=scale is not None, dtype=layer.dtype)
    return _pair(module, _affine(scale, None))


def _groupnorm_in(node: LinenLayer, ctx: Context) -> GroupNorm:
    m, p = node.module, _params(node)
    B.check_options(m, "linen.GroupNorm", reduction_axes=(None,), axis_name=(None,), axis_index_groups=(None,),
                    **_F32)
    scale, bias = p.get("scale"), p.get("bias")
    channels = _features(ctx, "GroupNorm", scale, bias)
    groups = m.num_groups if m.num_groups is not None else channels // int(m.group_size)
    return B.new_groupnorm(channels, int(groups), scale, bias, m.epsilon, ctx, use_fast_variance=m.use_fast_variance,
                           dtype=m.dtype)


def _groupnorm_out(layer: GroupNorm, ctx: Context) -> LinenLayer:
    B.refuse_options(layer, "flax.linen.GroupNorm as converted", reduction_axes=None, **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    module = linen.GroupNorm(num_groups=layer.num_groups, epsilon=float(layer.epsilon), use_scale=scale is not None,
                             use_bias=bias is not None, use_fast_variance=layer.use_fast_variance, dtype=layer.dtype)
    return _pair(module, _affine(scale, bias))


def _batchnorm_in(node: LinenLayer, ctx: Context) -> Any:
    m, p = node.module, _params(node)
    B.check_options(m, "linen.BatchNorm", axis=(-1,), **_F32)
    stats = node.variables.get("batch_stats")
    if not stats:
        raise ConversionError("linen.BatchNorm has no 'batch_stats' in the variables given. Fix: pass all the "
                              "variables `module.init` returned, not just variables['params'].")
    return B.new_batchnorm(int(stats["mean"].shape[-1]), p.get("scale"), p.get("bias"), stats["mean"], stats["var"],
                           epsilon=m.epsilon, momentum=m.momentum, axis_name=m.axis_name, ctx=ctx,
                           axis_index_groups=m.axis_index_groups, use_fast_variance=m.use_fast_variance,
                           dtype=m.dtype)


def _batchnorm_out(layer: Any, ctx: Context) -> LinenLayer:
    p = B.batchnorm_params(layer)
    module = linen.BatchNorm(use_running_average=True, momentum=float(p["momentum"]), epsilon=float(p["epsilon"]),
                             use_scale=p["scale"] is not None, use_bias=p["bias"] is not None,
                             axis_name=p["axis_name"], axis_index_groups=p["axis_index_groups"],
                             use_fast_variance=p["use_fast_variance"], dtype=p["dtype"])
    return _pair(module, _affine(p["scale"], p["bias"]), batch_stats={"mean": p["mean"], "var": p["var"]})


def _dropout_in(node: LinenLayer, ctx: Context) -> Dropout:
    return B.new_dropout(node.module.rate, node.module.broadcast_dims)


def _dropout_out(layer: Dropout, ctx: Context) -> LinenLayer:
    rate, dims = B.dropout_params(layer)
    return _pair(linen.Dropout(rate=rate, broadcast_dims=dims, deterministic=True), {})


def _conv_in(node: LinenLayer, ctx: Context) -> Conv:
    m, p = node.module, _params(node)
    kernel = p["kernel"]
    nd = kernel.ndim - 2
    if m.mask is not None:
        raise ConversionError("linen.Conv has a mask, which the converter does not carry over. "
                              "Fix: fold the mask into the kernel before converting.")
    return B.new_conv(kernel, p.get("bias"), ctx, stride=B.ints(m.strides, nd),
                      padding=B.flax_padding(m.padding, nd, "linen.Conv"), lhs_dilation=B.ints(m.input_dilation, nd),
                      rhs_dilation=B.ints(m.kernel_dilation, nd), groups=m.feature_group_count)


def _conv_out(layer: Conv, ctx: Context) -> LinenLayer:
    p = B.conv_params(layer)
    module = linen.Conv(features=p["out_channels"], kernel_size=p["kernel_size"], strides=p["stride"],
                        padding=p["padding"], input_dilation=p["lhs_dilation"], kernel_dilation=p["rhs_dilation"],
                        feature_group_count=p["groups"], use_bias=p["bias"] is not None,
                        param_dtype=p["kernel"].dtype)
    return _pair(module, {"kernel": p["kernel"], **({} if p["bias"] is None else {"bias": p["bias"]})})


_GATES = ("i", "f", "g", "o")


def _lstm_in(node: LinenLayer, ctx: Context) -> LSTMCell:
    m, p = node.module, _params(node)
    if not (B.computes(m.gate_fn, jax.nn.sigmoid) and B.computes(m.activation_fn, jnp.tanh)):
        raise ConversionError("linen.LSTMCell uses gate_fn/activation_fn other than sigmoid/tanh, which brainstate's "
                              "LSTMCell does not have. Fix: convert a cell with the default functions.")
    w_in = jnp.concatenate([p[f"i{g}"]["kernel"] for g in _GATES], axis=-1)
    w_hid = jnp.concatenate([p[f"h{g}"]["kernel"] for g in _GATES], axis=-1)
    bias = jnp.concatenate([p[f"h{g}"]["bias"] for g in _GATES], axis=-1)
    return B.new_lstm(B.from_std_gates(w_in), B.from_std_gates(w_hid), B.from_std_gates(bias))


def _lstm_out(layer: LSTMCell, ctx: Context) -> LinenLayer:
    w_in, w_hid, bias = (jnp.split(B.to_std_gates(a), 4, axis=-1) for a in B.lstm_params(layer))
    params = {}
    for k, g in enumerate(_GATES):
        params[f"i{g}"] = {"kernel": w_in[k]}
        params[f"h{g}"] = {"kernel": w_hid[k], "bias": bias[k]}
    return _pair(linen.LSTMCell(features=layer.num_out, param_dtype=w_in[0].dtype), params)


# -- containers --------------------------------------------------------------------------------

class _LinenAdapter:
    name = "linen"
    model_kind = "flax.linen.Module"

    def is_model(self, obj: Any) -> bool:
        return isinstance(obj, linen.Module)

    def layer_type(self, node: LinenLayer) -> type:
        return type(node.module)

    def is_sequential(self, node: LinenLayer) -> bool:
        return isinstance(node.module, linen.Sequential) and _same_forward(type(node.module), linen.Sequential)

    def children(self, node: LinenLayer) -> list:
        out = []
        for i, layer in enumerate(node.module.layers):
            key = f"layers_{i}"
            out.append(LinenLayer(layer, {c: tree[key] for c, tree in node.variables.items() if key in tree}))
        return out

    def has_child_modules(self, node: LinenLayer) -> bool:
        return any(isinstance(v, Mapping) for v in _params(node).values())

    def as_function(self, node: LinenLayer) -> Any:
        fn = node.module
        if isinstance(fn, linen.Module) or node.variables or not is_stateless_callable(fn):
            return None
        return fn

    def build_sequential(self, children: list) -> LinenLayer:
        children = [LinenLayer(*c) for c in children]
        variables: dict = {}
        for i, child in enumerate(children):
            for collection, tree in child.variables.items():
                variables.setdefault(collection, {})[f"layers_{i}"] = tree
        return LinenLayer(linen.Sequential([c.module for c in children]), variables)

    def wrap_function(self, fn: Any) -> LinenLayer:
        return LinenLayer(fn, {})


ADAPTER = _LinenAdapter()


def load() -> None:
    """Import the framework and register the built-in mappings (called once, by the first conversion)."""
    global linen, flax_core
    linen = lazy_import("flax.linen")
    flax_core = lazy_import("flax.core")
    for bst_type, foreign_type, to_bst, to_foreign in [
        (Linear, linen.Dense, _dense_in, _dense_out),
        (Embedding, linen.Embed, _embed_in, _embed_out),
        (LayerNorm, linen.LayerNorm, _layernorm_in, _layernorm_out),
        (RMSNorm, linen.RMSNorm, _rmsnorm_in, _rmsnorm_out),
        (GroupNorm, linen.GroupNorm, _groupnorm_in, _groupnorm_out),
        (Dropout, linen.Dropout, _dropout_in, _dropout_out),
        *[(t, linen.Conv, _conv_in, _conv_out) for t in B.CONV_TYPES],
        *[(t, linen.BatchNorm, _batchnorm_in, _batchnorm_out) for t in B.BATCHNORM_TYPES],
        (LSTMCell, linen.LSTMCell, _lstm_in, _lstm_out),
    ]:
        register_builtin(bst_type, "linen", foreign_type, to_bst, to_foreign)
    register_unsupported("linen", B.GRU_REASON, foreign=(linen.GRUCell,), bst=(GRUCell,))
    for cell in (VanillaRNNCell, MGUCell, URLSTMCell):
        register_unsupported("linen", B.NO_CELL_REASON.format(name=cell.__name__), bst=(cell,))
