"""``flax.nnx`` <-> brainstate: the built-in layer mappings and nnx's containers.

nnx keeps brainstate's layouts (kernels ``(in, out)`` and ``(*kernel, in // groups, out)``,
channels last), so weights move unchanged but for the LSTM, whose eight nnx Linears hold the
blocks of brainstate's one fused kernel. Exported layers are in evaluation mode (Dropout
``deterministic=True``, BatchNorm ``use_running_average=True``); ``model.train()`` switches them.
The module imports without flax; :func:`load` imports it.
"""

from __future__ import annotations

from collections.abc import Callable
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

nnx: Any = None  # the module flax.nnx, set by load()

__all__ = ["ADAPTER", "load"]


def _get(var: Any) -> Any:
    return var.get_value() if hasattr(var, "get_value") else var.value


def _opt(var: Any) -> Any:
    return None if var is None else _get(var)


def _rngs(ctx: Context) -> Any:
    if ctx.rngs is None:
        ctx.rngs = nnx.Rngs(ctx.next_key())
    return ctx.rngs


def _build(factory: Callable[[Any], Any], arrays: dict[str, Any]) -> Any:
    """The nnx layer ``factory(rngs)`` holding ``arrays`` (``{'kernel': w, 'hi.bias': b, ...}``).

    It is built abstractly (``nnx.eval_shape``): drawing initial weights only to replace them
    would compile a sampler per shape. Every array of the result must come from ``arrays``.
    """
    m = nnx.eval_shape(lambda: factory(nnx.Rngs(0)))
    for path, value in arrays.items():
        *parents, name = path.split(".")
        owner = m
        for p in parents:
            owner = getattr(owner, p)
        setattr(owner, name, (nnx.BatchStat if name in ("mean", "var") else nnx.Param)(value))
    if any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree.leaves(nnx.state(m))):
        raise InteropError(f"Internal error: the exported {type(m).__name__} has arrays the converter did not set. "
                           "Fix: report this with the layer's configuration.")
    return m


def _some(**arrays: Any) -> dict[str, Any]:
    return {k: v for k, v in arrays.items() if v is not None}


# -- layers ------------------------------------------------------------------------------------

def _linear_in(m: Any, ctx: Context) -> Linear:
    return B.new_linear(_get(m.kernel), _opt(m.bias), ctx)


def _linear_out(layer: Linear, ctx: Context) -> Any:
    w, b = B.linear_params(layer)
    return _build(lambda r: nnx.Linear(w.shape[0], w.shape[1], use_bias=b is not None, param_dtype=w.dtype, rngs=r),
                  _some(kernel=w, bias=b))


def _embed_in(m: Any, ctx: Context) -> Embedding:
    return B.new_embedding(_get(m.embedding), ctx)


def _embed_out(layer: Embedding, ctx: Context) -> Any:
    table = layer.weight.value
    return _build(lambda r: nnx.Embed(table.shape[0], table.shape[1], param_dtype=table.dtype, rngs=r),
                  {"embedding": table})


def _dtype(*arrays: Any) -> Any:
    return next((a.dtype for a in arrays if a is not None), jnp.float32)


# What nnx's LayerNorm / RMSNorm / GroupNorm cannot express: feature axes other than the last (GroupNorm: a
# channel axis other than the last, brainstate's reduction_axes), averaging over a named axis, and a result
# dtype: nnx's `dtype` rounds the input to it before the statistics, brainstate's only the result.
_NORM_ONLY = dict(feature_axes=(-1,), axis_name=None, axis_index_groups=None, dtype=None)
_NO_DTYPE = dict(dtype=(None,))


def _layernorm_in(m: Any, ctx: Context) -> LayerNorm:
    B.check_options(m, "nnx.LayerNorm", feature_axes=(-1, (-1,)), axis_name=(None,), axis_index_groups=(None,),
                    **_NO_DTYPE)
    return B.new_layernorm(int(m.num_features), _opt(m.scale), _opt(m.bias), m.epsilon, ctx, m.reduction_axes,
                           use_fast_variance=m.use_fast_variance)


def _layernorm_out(layer: LayerNorm, ctx: Context) -> Any:
    B.refuse_options(layer, "flax.nnx.LayerNorm", **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    return _build(lambda r: nnx.LayerNorm(layer.features, epsilon=float(layer.epsilon), use_scale=scale is not None,
                                          use_bias=bias is not None, reduction_axes=layer.reduction_axes,
                                          use_fast_variance=layer.use_fast_variance,
                                          param_dtype=_dtype(scale, bias), rngs=r), _some(scale=scale, bias=bias))


def _rmsnorm_in(m: Any, ctx: Context) -> RMSNorm:
    B.check_options(m, "nnx.RMSNorm", reduction_axes=(-1, (-1,)), feature_axes=(-1, (-1,)), axis_name=(None,),
                  axis_index_groups=(None,), **_NO_DTYPE)
    return B.new_rmsnorm(int(m.num_features), _opt(m.scale), m.epsilon, ctx)


def _rmsnorm_out(layer: RMSNorm, ctx: Context) -> Any:
    B.refuse_options(layer, "flax.nnx.RMSNorm as converted", reduction_axes=(-1,), **_NORM_ONLY)
    scale, _ = B.norm_params(layer)
    return _build(lambda r: nnx.RMSNorm(layer.features, epsilon=float(layer.epsilon), use_scale=scale is not None,
                                        param_dtype=_dtype(scale), rngs=r), _some(scale=scale))


def _groupnorm_in(m: Any, ctx: Context) -> GroupNorm:
    B.check_options(m, "nnx.GroupNorm", reduction_axes=(None,), axis_name=(None,), axis_index_groups=(None,),
                    **_NO_DTYPE)
    channels = int(m.num_groups) * int(m.group_size)
    return B.new_groupnorm(channels, int(m.num_groups), _opt(m.scale), _opt(m.bias), m.epsilon, ctx,
                           use_fast_variance=m.use_fast_variance)


def _groupnorm_out(layer: GroupNorm, ctx: Context) -> Any:
    B.refuse_options(layer, "flax.nnx.GroupNorm as converted", reduction_axes=None, **_NORM_ONLY)
    scale, bias = B.norm_params(layer)
    return _build(lambda r: nnx.GroupNorm(layer.in_size[-1], num_groups=layer.num_groups, epsilon=float(layer.epsilon),
                                          use_scale=scale is not None, use_bias=bias is not None,
                                          use_fast_variance=layer.use_fast_variance,
                                          param_dtype=_dtype(scale, bias), rngs=r), _some(scale=scale, bias=bias))


def _batchnorm_in(m: Any, ctx: Context) -> Any:
    B.check_options(m, "nnx.BatchNorm", axis=(-1,), **_NO_DTYPE)
    return B.new_batchnorm(int(m.num_features), _opt(m.scale), _opt(m.bias), _get(m.mean), _get(m.var),
                           epsilon=m.epsilon, momentum=m.momentum, axis_name=m.axis_name, ctx=ctx,
                           axis_index_groups=m.axis_index_groups, use_fast_variance=m.use_fast_variance)


def _batchnorm_out(layer: Any, ctx: Context) -> Any:
    B.refuse_options(layer, "flax.nnx.BatchNorm", dtype=None)
    p = B.batchnorm_params(layer)
    return _build(lambda r: nnx.BatchNorm(p["features"], use_running_average=True, momentum=float(p["momentum"]),
                                          epsilon=float(p["epsilon"]), use_scale=p["scale"] is not None,
                                          use_bias=p["bias"] is not None, axis_name=p["axis_name"],
                                          axis_index_groups=p["axis_index_groups"],
                                          use_fast_variance=p["use_fast_variance"],
                                          param_dtype=_dtype(p["scale"], p["bias"], p["mean"]), rngs=r),
                  _some(scale=p["scale"], bias=p["bias"], mean=p["mean"], var=p["var"]))


def _dropout_in(m: Any, ctx: Context) -> Dropout:
    return B.new_dropout(m.rate, m.broadcast_dims)


def _dropout_out(layer: Dropout, ctx: Context) -> Any:
    rate, dims = B.dropout_params(layer)
    return nnx.Dropout(rate, broadcast_dims=dims, deterministic=True, rngs=_rngs(ctx))


def _conv_in(m: Any, ctx: Context) -> Conv:
    kernel = _get(m.kernel)
    nd = kernel.ndim - 2
    if getattr(m, "mask", None) is not None:
        raise ConversionError("nnx.Conv has a mask; brainstate's Conv holds masks as w_mask, which the converter "
                              "does not set. Fix: fold the mask into the kernel before converting.")
    return B.new_conv(kernel, _opt(m.bias), ctx, stride=B.ints(m.strides, nd),
                      padding=B.flax_padding(m.padding, nd, "nnx.Conv"), lhs_dilation=B.ints(m.input_dilation, nd),
                      rhs_dilation=B.ints(m.kernel_dilation, nd), groups=m.feature_group_count)


def _conv_out(layer: Conv, ctx: Context) -> Any:
    p = B.conv_params(layer)
    return _build(lambda r: nnx.Conv(p["in_channels"], p["out_channels"], p["kernel_size"], strides=p["stride"],
                                     padding=p["padding"], input_dilation=p["lhs_dilation"],
                                     kernel_dilation=p["rhs_dilation"], feature_group_count=p["groups"],
                                     use_bias=p["bias"] is not None, param_dtype=p["kernel"].dtype, rngs=r),
                  _some(kernel=p["kernel"], bias=p["bias"]))


_GATES = ("i", "f", "g", "o")  # the standard order (flax, equinox, PyTorch)


def _lstm_in(m: Any, ctx: Context) -> LSTMCell:
    if not (B.computes(m.gate_fn, jax.nn.sigmoid) and B.computes(m.activation_fn, jnp.tanh)):
        raise ConversionError("nnx.LSTMCell uses gate_fn/activation_fn other than sigmoid/tanh, which brainstate's "
                              "LSTMCell does not have. Fix: convert a cell with the default functions.")
    i_lin = {g: getattr(m, "if_" if g == "f" else f"i{g}") for g in _GATES}
    h_lin = {g: getattr(m, f"h{g}") for g in _GATES}
    w_in = jnp.concatenate([_get(i_lin[g].kernel) for g in _GATES], axis=-1)
    w_hid = jnp.concatenate([_get(h_lin[g].kernel) for g in _GATES], axis=-1)
    bias = sum(jnp.concatenate([_get(lin[g].bias) if lin[g].bias is not None else
                                jnp.zeros(_get(lin[g].kernel).shape[-1]) for g in _GATES]) for lin in (i_lin, h_lin))
    return B.new_lstm(B.from_std_gates(w_in), B.from_std_gates(w_hid), B.from_std_gates(bias))


def _lstm_out(layer: LSTMCell, ctx: Context) -> Any:
    w_in, w_hid, bias = (jnp.split(B.to_std_gates(a), 4, axis=-1) for a in B.lstm_params(layer))
    arrays = {}
    for k, g in enumerate(_GATES):
        arrays["if_.kernel" if g == "f" else f"i{g}.kernel"] = w_in[k]
        arrays[f"h{g}.kernel"], arrays[f"h{g}.bias"] = w_hid[k], bias[k]
    return _build(lambda r: nnx.LSTMCell(layer.num_in, layer.num_out, param_dtype=w_in[0].dtype, rngs=r), arrays)


# -- containers --------------------------------------------------------------------------------

class _NnxAdapter:
    name = "nnx"
    model_kind = "flax.nnx.Module"

    def is_model(self, obj: Any) -> bool:
        return isinstance(obj, nnx.Module)

    def layer_type(self, node: Any) -> type:
        return type(node)

    def is_sequential(self, node: Any) -> bool:
        return isinstance(node, nnx.Sequential) and _same_forward(type(node), nnx.Sequential)

    def children(self, node: Any) -> list:
        return list(node.layers)

    def has_child_modules(self, node: Any) -> bool:
        def holds(v: Any) -> bool:
            if isinstance(v, nnx.Module):
                return True
            if isinstance(v, (list, tuple)):
                return any(holds(x) for x in v)
            return isinstance(v, dict) and any(holds(x) for x in v.values())
        return any(holds(v) for v in vars(node).values())

    def as_function(self, node: Any) -> Any:
        return None if isinstance(node, nnx.Module) or not is_stateless_callable(node) else node

    def build_sequential(self, children: list) -> Any:
        return nnx.Sequential(*children)

    def wrap_function(self, fn: Any) -> Any:
        return fn


ADAPTER = _NnxAdapter()


def load() -> None:
    """Import the framework and register the built-in mappings (called once, by the first conversion)."""
    global nnx
    nnx = lazy_import("flax.nnx")
    for bst_type, foreign_type, to_bst, to_foreign in [
        (Linear, nnx.Linear, _linear_in, _linear_out),
        (Embedding, nnx.Embed, _embed_in, _embed_out),
        (LayerNorm, nnx.LayerNorm, _layernorm_in, _layernorm_out),
        (RMSNorm, nnx.RMSNorm, _rmsnorm_in, _rmsnorm_out),
        (GroupNorm, nnx.GroupNorm, _groupnorm_in, _groupnorm_out),
        (Dropout, nnx.Dropout, _dropout_in, _dropout_out),
        *[(t, nnx.Conv, _conv_in, _conv_out) for t in B.CONV_TYPES],
        *[(t, nnx.BatchNorm, _batchnorm_in, _batchnorm_out) for t in B.BATCHNORM_TYPES],
        (LSTMCell, nnx.LSTMCell, _lstm_in, _lstm_out),
    ]:
        register_builtin(bst_type, "nnx", foreign_type, to_bst, to_foreign)
    register_unsupported("nnx", B.GRU_REASON, foreign=(nnx.GRUCell,), bst=(GRUCell,))
    for cell in (VanillaRNNCell, MGUCell, URLSTMCell):
        register_unsupported("nnx", B.NO_CELL_REASON.format(name=cell.__name__), bst=(cell,))
