"""Variants of :class:`Linear` from upstream brainstate, and two small helpers of its ``nn`` namespace.

``ScaledWSLinear`` (weight standardisation), ``SignedWLinear`` (fixed signs), ``SparseLinear``
(a fixed sparsity pattern) and ``LoRA`` (a low-rank adapter); ``weight_standardization``,
shared with ``ScaledWSConv``; ``clip_grad_norm``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, ParamState, environ
from brainstate_core.internal import peek

from . import _init as init
from ._module import Module
from ._utils import Size, as_mask, as_size, make_param

__all__ = ["weight_standardization", "ScaledWSLinear", "SignedWLinear", "SparseLinear", "LoRA",
           "clip_grad_norm"]

# Default initialisers: stateless, so one shared instance serves every layer.
_KAIMING_NORMAL = init.KaimingNormal()
_LECUN_NORMAL = init.LecunNormal()
_ZERO_INIT = init.ZeroInit()


def _check_features(owner: str, x: Any, n: int) -> None:
    if jnp.shape(x)[-1:] != (n,):
        raise InputError(f"{owner} got an input of shape {jnp.shape(x)}: its last axis must have {n} features. "
                         f"Fix: pass inputs of shape (..., {n}), or build the layer with the input's feature count.")


def weight_standardization(w: Any, eps: float = 1e-4, gain: Any = None, out_axis: int = -1) -> jax.Array:
    """Scaled weight standardisation (Qiao et al., 2019; Brock et al., 2021), per output unit.

    For every index of ``out_axis``, the weights over all other axes (the ``fan_in`` of them) are
    shifted to zero mean and divided by ``sqrt(max(fan_in * var, eps))``: each output's weights
    then have zero mean and variance ``1 / fan_in`` (unit sum of squares), so a layer fed with
    unit-variance inputs gives unit-variance outputs. ``gain`` (broadcast against ``w``, one
    entry per output) multiplies the result.

    Args:
        w: the weight, at least 2-d.
        eps: the floor of ``fan_in * var``, which keeps constant weights finite.
        gain: optional scale, broadcastable to ``w``.
        out_axis: the output axis (the last for ``Linear`` and channels-last convolution kernels).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> w = nn.weight_standardization(jnp.arange(6.0).reshape(3, 2))
        >>> w.mean(axis=0).round(6).tolist(), (w.var(axis=0) * 3).round(4).tolist()
        ([0.0, 0.0], [1.0, 1.0])
    """
    w = jnp.asarray(w)
    if w.ndim < 2 or not -w.ndim <= out_axis < w.ndim:
        raise InputError(f"weight_standardization needs a weight of at least 2 dimensions and an out_axis inside "
                         f"it, got the shape {w.shape} and out_axis={out_axis}. Fix: pass a weight matrix or kernel.")
    axes = tuple(i for i in range(w.ndim) if i != out_axis % w.ndim)
    fan_in = math.prod(w.shape[i] for i in axes)
    mean = jnp.mean(w, axis=axes, keepdims=True)
    var = jnp.var(w, axis=axes, keepdims=True)
    scale = jax.lax.rsqrt(jnp.maximum(var * fan_in, eps))
    if gain is not None:
        scale = scale * gain
    return (w - mean) * scale


class ScaledWSLinear(Module):
    """:class:`Linear` whose weight is standardised on every call, times a learnable per-output gain.

    The weight used is ``weight_standardization(W, eps, gain)`` (times ``w_mask`` if given): zero
    mean and variance ``1 / in_features`` for every output before the gain. The parameters live in
    ``self.weight``, the dict ``{'weight', 'bias', 'gain'}`` (without ``'bias'`` when ``b_init`` is
    None, without ``'gain'`` when ``ws_gain`` is False); ``gain`` starts at one, with shape
    ``(1, out_features)``.

    Args:
        in_size, out_size: features in and out (int or shape; the last entry counts).
        w_init: initialiser of the raw weight ``(in_features, out_features)``.
        b_init: initialiser of the bias; ``None`` for no bias.
        w_mask: optional array broadcastable to the weight, multiplied in after standardisation.
            (Upstream reshapes the mask to ``(in_features, 1)``, which rejects a full mask.)
        ws_gain: learn a gain per output.
        eps: the floor of the variance in :func:`weight_standardization`.
        name: optional display name.
        param_type: the State class of the parameters.
        sharding: layouts of the parameters over a device mesh, ``{name: spec}`` for the entries of
            ``weight`` (a name left out is replicated; see ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> layer = nn.ScaledWSLinear(3, 4)
        >>> layer(jnp.ones((2, 3))).shape, sorted(layer.weight.value)
        ((2, 4), ['bias', 'gain', 'weight'])
    """

    def __init__(self, in_size: Size, out_size: Size, w_init: Any = _KAIMING_NORMAL, b_init: Any = _ZERO_INIT,
                 w_mask: Any = None, ws_gain: bool = True, eps: float = 1e-4, name: str | None = None,
                 param_type: type = ParamState, sharding: Any = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "ScaledWSLinear in_size")
        self.out_size = as_size(out_size, "ScaledWSLinear out_size")
        shape = (self.in_size[-1], self.out_size[-1])
        params = {"weight": init.param(w_init, shape, allow_none=False)}
        if b_init is not None:
            params["bias"] = init.param(b_init, shape[1:])
        if ws_gain:
            params["gain"] = jnp.ones((1, shape[1]), params["weight"].dtype)
        self.weight = make_param(param_type, params, sharding, "ScaledWSLinear")
        self.w_mask = as_mask(w_mask, shape, "ScaledWSLinear")
        self.eps = eps

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(f"ScaledWSLinear({self.in_size[-1]} -> {self.out_size[-1]})", x, self.in_size[-1])
        params = self.weight.value
        w = weight_standardization(params["weight"], self.eps, params.get("gain"))
        if self.w_mask is not None:
            w = w * self.w_mask
        y = x @ w
        return y + params["bias"] if "bias" in params else y

    def extra_repr(self) -> str:
        params = peek(self.weight)
        return (f"in_size={self.in_size}, out_size={self.out_size}, bias={'bias' in params}, "
                f"ws_gain={'gain' in params}, eps={self.eps}")


class SignedWLinear(Module):
    """A linear map (no bias) with fixed signs and trainable magnitudes: ``y = x @ (|W| * w_sign)``.

    ``self.weight`` holds ``W``, of shape ``(in_features, out_features)``; only its absolute value
    is used, so the sign of every connection is ``w_sign``'s (all positive when ``w_sign`` is None),
    as for excitatory and inhibitory synapses (Dale's law).

    Args:
        in_size, out_size: features in and out (int or shape; the last entry counts).
        w_init: initialiser of ``W``.
        w_sign: optional array broadcastable to the weight, typically of +1 / -1 entries (a vector
            of length ``in_features`` broadcast as ``w_sign[:, None]`` makes every input neuron
            excitatory or inhibitory).
        name: optional display name.
        param_type: the State class of the parameter.
        sharding: the parameter's layout over a device mesh: one spec (see ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> layer = nn.SignedWLinear(2, 3, w_sign=jnp.array([[1.0], [-1.0]]))
        >>> bool((layer(jnp.array([0.0, 1.0])) <= 0).all())
        True
    """

    def __init__(self, in_size: Size, out_size: Size, w_init: Any = _KAIMING_NORMAL, w_sign: Any = None,
                 name: str | None = None, param_type: type = ParamState, sharding: Any = None) -> None:
        super().__init__(name=name)
        self.in_size = as_size(in_size, "SignedWLinear in_size")
        self.out_size = as_size(out_size, "SignedWLinear out_size")
        shape = (self.in_size[-1], self.out_size[-1])
        if w_sign is not None:
            w_sign = jnp.asarray(w_sign)
            try:
                ok = jnp.broadcast_shapes(w_sign.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ConfigError(f"SignedWLinear w_sign of shape {w_sign.shape} does not broadcast to the weight "
                                  f"shape {shape}. Fix: pass signs of the weight's shape, or (in_features, 1) for "
                                  "one sign per input.")
        self.w_sign = w_sign
        self.weight = make_param(param_type, init.param(w_init, shape, allow_none=False), sharding, "SignedWLinear")

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(f"SignedWLinear({self.in_size[-1]} -> {self.out_size[-1]})", x, self.in_size[-1])
        w = jnp.abs(self.weight.value)
        return x @ (w if self.w_sign is None else w * self.w_sign)

    def extra_repr(self) -> str:
        return f"in_size={self.in_size}, out_size={self.out_size}, w_sign={self.w_sign is not None}"


def _coo(spar_mat: Any) -> tuple[np.ndarray, np.ndarray, Any, tuple[int, int]]:
    """``(rows, cols, values, shape)`` of a BCOO matrix, a SciPy sparse matrix or a dense 2-d array."""
    from jax.experimental import sparse

    if isinstance(spar_mat, sparse.BCOO):
        if spar_mat.ndim != 2 or spar_mat.n_batch or spar_mat.n_dense:
            raise ConfigError(f"SparseLinear needs a 2-d BCOO matrix without batch or dense axes, got "
                              f"n_batch={spar_mat.n_batch}, n_dense={spar_mat.n_dense}, shape={spar_mat.shape}. "
                              "Fix: pass a plain (n_in, n_out) BCOO matrix.")
        idx = np.asarray(spar_mat.indices)
        rows, cols, values = idx[:, 0], idx[:, 1], jnp.asarray(spar_mat.data)
        shape = (int(spar_mat.shape[0]), int(spar_mat.shape[1]))
        keep = (rows < shape[0]) & (cols < shape[1])  # BCOO pads with out-of-range indices
        return rows[keep], cols[keep], values[np.flatnonzero(keep)], shape
    if hasattr(spar_mat, "tocoo"):
        coo = spar_mat.tocoo()
        if len(coo.shape) != 2:
            raise ConfigError(f"SparseLinear needs a 2-d (n_in, n_out) matrix, got the shape {coo.shape}. "
                              "Fix: pass a 2-d sparse matrix.")
        return np.asarray(coo.row), np.asarray(coo.col), jnp.asarray(coo.data), tuple(coo.shape)
    dense = np.asarray(spar_mat)
    if dense.ndim != 2:
        raise ConfigError(f"SparseLinear needs a 2-d (n_in, n_out) matrix, got an array of shape {dense.shape}. "
                          "Fix: pass a jax.experimental.sparse.BCOO, a SciPy sparse matrix or a 2-d array.")
    rows, cols = np.nonzero(dense)
    return rows, cols, jnp.asarray(dense[rows, cols]), dense.shape


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{what} must be a positive int, got {value!r}. Fix: pass an int >= 1.")
    return int(value)


class SparseLinear(Module):
    """``y = x @ M + b`` for a sparse ``(n_in, n_out)`` matrix ``M`` whose pattern is fixed and whose values train.

    Only the stored entries of ``M`` are parameters: ``self.weight`` is the dict ``{'weight': values}``
    (plus ``'bias'``), one value per entry, in the order of :attr:`rows` / :attr:`cols`. The product
    is a gather of the inputs and a segment sum over the outputs, pure JAX, differentiable in the
    values and the input; repeated entries add up.

    Args:
        spar_mat: the matrix: a ``jax.experimental.sparse.BCOO``, a SciPy sparse matrix (anything
            with ``tocoo()``), or a dense 2-d array whose non-zero entries form the pattern. Its
            values are the initial weights. (Upstream takes a ``brainunit.sparse`` matrix.)
        b_init: initialiser of the bias ``(n_out,)``; ``None`` (the default) for no bias.
        in_size: the input shape; its last entry must be ``n_in`` (default ``(n_in,)``).
        name: optional display name.
        param_type: the State class of the parameters.
        sharding: layouts of the parameters over a device mesh, ``{name: spec}`` for the entries of
            ``weight`` (a name left out is replicated; see ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> layer = nn.SparseLinear(jnp.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]))
        >>> layer(jnp.ones((4, 3))).shape, layer.weight.value['weight'].tolist()
        ((4, 2), [1.0, 2.0, 3.0])
    """

    def __init__(self, spar_mat: Any, b_init: Any = None, in_size: Size | None = None, name: str | None = None,
                 param_type: type = ParamState, sharding: Any = None) -> None:
        super().__init__(name=name)
        rows, cols, values, (n_in, n_out) = _coo(spar_mat)
        if not jnp.issubdtype(values.dtype, jnp.inexact):  # a 0/1 integer pattern: train float values
            values = values.astype(environ.dftype())
        self.rows, self.cols = rows.astype(np.int32), cols.astype(np.int32)
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.in_size = (self.n_in,) if in_size is None else as_size(in_size, "SparseLinear in_size")
        if self.in_size[-1] != self.n_in:
            raise ConfigError(f"SparseLinear in_size={self.in_size} must end with the matrix's {self.n_in} rows. "
                              "Fix: pass an in_size whose last entry is spar_mat.shape[0], or leave it out.")
        self.out_size = self.in_size[:-1] + (self.n_out,)
        params = {"weight": values}
        if b_init is not None:
            params["bias"] = init.param(b_init, (self.n_out,))
        self.weight = make_param(param_type, params, sharding, "SparseLinear")

    def to_dense(self) -> jax.Array:
        """The ``(n_in, n_out)`` matrix with the current values (repeated entries summed)."""
        w = self.weight.value["weight"]
        return jnp.zeros((self.n_in, self.n_out), w.dtype).at[self.rows, self.cols].add(w)

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(f"SparseLinear({self.n_in} -> {self.n_out})", x, self.n_in)
        params = self.weight.value
        terms = jnp.moveaxis(jnp.asarray(x)[..., self.rows] * params["weight"], -1, 0)  # (nnz, ...)
        y = jnp.moveaxis(jax.ops.segment_sum(terms, self.cols, num_segments=self.n_out), 0, -1)
        return y + params["bias"] if "bias" in params else y

    def extra_repr(self) -> str:
        return f"{self.n_in} -> {self.n_out}, {self.rows.size} entries, bias={'bias' in peek(self.weight)}"


class LoRA(Module):
    """Low-rank adapter (Hu et al., 2021): ``y = base_module(x) + (alpha / lora_rank) * x @ A @ B``.

    ``A`` is ``(in_features, lora_rank)`` and ``B`` is ``(lora_rank, out_features)``, held in
    ``self.weight`` as ``{'lora_a': A, 'lora_b': B}``; without ``base_module`` the output is the
    low-rank term alone. Train only the adapter with ``grad_states=lora.weight``.

    Two differences from upstream brainstate, both following the LoRA paper: ``B`` starts at zero
    (``lora_b_init``), so wrapping a module leaves its output unchanged until training moves ``B``
    (upstream draws ``B`` from ``kernel_init`` too: pass ``lora_b_init=nn.init.LecunNormal()`` to
    get that); and the optional ``alpha`` scales the update by ``alpha / lora_rank`` (``None``, the
    default, means a scale of 1, as upstream).

    Args:
        in_features, lora_rank, out_features: the sizes.
        base_module: optional callable whose output the update is added to.
        kernel_init: initialiser of ``A``.
        lora_b_init: initialiser of ``B``.
        alpha: the scale numerator, or ``None`` for no scaling.
        param_type: the State class of the parameters.
        sharding: layouts of the parameters over a device mesh, ``{name: spec}`` for the entries of
            ``weight`` (a name left out is replicated; see ``brainstate.sharding``).
        in_size: the input shape (its last entry must be ``in_features``; default ``(in_features,)``).
        name: optional display name.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> base = nn.Linear(4, 3)
        >>> lora = nn.LoRA(4, 2, 3, base_module=base, alpha=4.0)
        >>> x = jnp.ones((5, 4))
        >>> bool(jnp.allclose(lora(x), base(x))), lora.weight.value['lora_a'].shape
        (True, (4, 2))
    """

    def __init__(self, in_features: int, lora_rank: int, out_features: int, *, base_module: Any = None,
                 kernel_init: Any = _LECUN_NORMAL, lora_b_init: Any = _ZERO_INIT, alpha: float | None = None,
                 param_type: type = ParamState, in_size: Size | None = None, name: str | None = None,
                 sharding: Any = None) -> None:
        super().__init__(name=name)
        self.in_features = _positive_int(in_features, "LoRA in_features")
        self.lora_rank = _positive_int(lora_rank, "LoRA lora_rank")
        self.out_features = _positive_int(out_features, "LoRA out_features")
        if base_module is not None and not callable(base_module):
            raise ConfigError(f"LoRA base_module must be callable (a module or a function), got {base_module!r}. "
                              "Fix: pass the layer to adapt, or None for a standalone low-rank layer.")
        self.in_size = (self.in_features,) if in_size is None else as_size(in_size, "LoRA in_size")
        if self.in_size[-1] != self.in_features:
            raise ConfigError(f"LoRA in_size={self.in_size} must end with in_features={self.in_features}. "
                              "Fix: make the two agree, or leave in_size out.")
        self.out_size = self.in_size[:-1] + (self.out_features,)
        self.base_module = base_module
        self.alpha = alpha
        self.scaling = 1.0 if alpha is None else float(alpha) / self.lora_rank
        self.weight = make_param(param_type, {
            "lora_a": init.param(kernel_init, (self.in_features, self.lora_rank), allow_none=False),
            "lora_b": init.param(lora_b_init, (self.lora_rank, self.out_features), allow_none=False),
        }, sharding, "LoRA")

    def update(self, x: jax.Array) -> jax.Array:
        _check_features(f"LoRA({self.in_features} -> {self.out_features}, rank {self.lora_rank})", x,
                        self.in_features)
        params = self.weight.value
        y = (x @ params["lora_a"]) @ params["lora_b"]
        if self.scaling != 1.0:
            y = y * self.scaling
        return y if self.base_module is None else self.base_module(x) + y

    def extra_repr(self) -> str:
        alpha = f", alpha={self.alpha}" if self.alpha is not None else ""
        return f"in_features={self.in_features}, lora_rank={self.lora_rank}, out_features={self.out_features}{alpha}"


def _inexact(g: Any) -> bool:
    return bool(jnp.issubdtype(jnp.result_type(g), jnp.inexact))


def _norm_order(norm_type: Any) -> float:
    if norm_type is None:
        return 2.0
    if isinstance(norm_type, str) and norm_type in ("inf", "-inf"):
        return float(norm_type)
    if isinstance(norm_type, (int, float, np.integer, np.floating)) and not isinstance(norm_type, bool):
        p = float(norm_type)
        if p >= 1 or p == -math.inf:
            return p
    raise ConfigError(f"clip_grad_norm norm_type must be a number >= 1, 'inf' or '-inf', got {norm_type!r}. "
                      "Fix: pass 2 (the default), 1, 'inf', or another p >= 1.")


def clip_grad_norm(grad: Any, max_norm: float | jax.Array, norm_type: int | float | str | None = 2.0,
                   return_norm: bool = False) -> Any:
    """Scale a gradient pytree so that its global ``norm_type``-norm is at most ``max_norm``.

    The norm is taken over all leaves together, as if they were one flat vector: the p-norm for a
    number ``p >= 1`` (``None`` means 2), the largest absolute entry for ``'inf'`` and the smallest for
    ``'-inf'``. Every leaf is multiplied by ``min(1, max_norm / (norm + 1e-6))``, so the direction is
    kept. Works under ``jit`` (``max_norm`` may be traced). :func:`brainstate.nn.optim.clip_grad_norm`
    is the L2 shorthand that always returns the norm.

    Args:
        grad: any pytree of arrays.
        max_norm: the largest norm allowed.
        norm_type: the order of the norm.
        return_norm: also return the norm before clipping.

    Returns:
        The clipped pytree, or ``(clipped, norm)`` when ``return_norm`` is true.

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> g, norm = nn.clip_grad_norm({'w': jnp.array([3.0, 4.0]), 'b': jnp.array([12.0])}, 6.5, return_norm=True)
        >>> float(norm), g['w'].round(3).tolist()
        (13.0, [1.5, 2.0])
    """
    p = _norm_order(norm_type)
    leaves = [jnp.asarray(g) for g in jax.tree.leaves(grad)]
    if not leaves:
        return (grad, jnp.zeros(())) if return_norm else grad
    dtype = jnp.result_type(*[g for g in leaves if _inexact(g)], jnp.float32)
    mags = [jnp.abs(g).astype(dtype) for g in leaves if g.size]
    if not mags:
        norm = jnp.zeros((), dtype)
    elif p == math.inf:
        norm = jnp.max(jnp.stack([jnp.max(m) for m in mags]))
    elif p == -math.inf:
        norm = jnp.min(jnp.stack([jnp.min(m) for m in mags]))
    else:
        norm = sum(jnp.sum(m ** p) for m in mags) ** (1.0 / p)
    factor = jnp.minimum(1.0, max_norm / (norm + 1e-6))
    clipped = jax.tree.map(lambda g: g * (factor.astype(jnp.result_type(g)) if _inexact(g) else factor), grad)
    return (clipped, norm) if return_norm else clipped
