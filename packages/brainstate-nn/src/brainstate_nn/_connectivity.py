"""Connectivity for spiking networks: event-driven dense and sparse layers, one-to-one, all-to-all.

Each layer maps the spikes (or any values) of ``in_size`` presynaptic sources to the summed input of
``out_size`` targets, ``y_j = sum_i x_i w_ij``, with trainable weights (``ParamState``), in pure JAX:

* :class:`EventLinear`: dense weights ``(n_pre, n_post)``; only the rows of the active sources
  are read, so the cost is proportional to the number of spikes, not to ``n_pre n_post``;
* :class:`SparseConn` (explicit synapses), :class:`EventFixedProb` (each ordered pair connected with
  probability ``prob``) and :class:`FixedNumConn` (a fixed out- or in-degree): the synapses of each
  source are stored as one padded row of target indices; a step touches the rows of the active
  sources only. Homogeneous (one scalar) or per-synapse weights; drawn from a NumPy seed, so a
  seed gives the same synapses on every machine;
* :class:`OneToOne` and :class:`AllToAll`.

**Event-driven.** The active sources (``x != 0``) are taken ``chunk`` at a time with ``lax.top_k``
and their rows are added, in a ``while_loop`` that stops after the last active one, so a step
costs O(n_pre) to find them plus O(spikes x synapses per source) to add them. The value of a source multiplies its row, so graded
inputs work too. Gradients (reverse mode) with respect to the weights and the input come from a
``custom_vjp`` whose backward pass is the dense (or per-synapse) product, O(synapses); under
``vmap`` the loop runs until the busiest lane is done.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, ParamState, State, environ

from . import _init as init
from ._module import Module
from ._utils import Size, as_size, make_param

__all__ = ["EventLinear", "SparseConn", "EventFixedProb", "FixedNumConn", "OneToOne", "AllToAll"]

_CHUNK = 16
_KAIMING = init.KaimingNormal()
_NORMAL = init.Normal()


# -- the event-driven kernels ------------------------------------------------------------------
def _event_loop(x: jax.Array, chunk: int, out: jax.Array, add: Any) -> jax.Array:
    """``add(acc, idx, vals)`` over the non-zero entries of ``x``, ``chunk`` of them per iteration.

    Each iteration takes the next ``chunk`` active sources with ``lax.top_k`` of the mask of those
    not done yet (on CPU several times cheaper than ``jnp.nonzero``); picks that are not active (or
    already done) get the value 0. The loop stops when every active source is done.
    """
    chunk = min(chunk, x.shape[0])
    dtype = out.dtype

    def cond(carry):
        return carry[0].any()

    def body(carry):
        left, acc = carry
        idx = jax.lax.top_k(left.astype(jnp.float32), chunk)[1]
        vals = jnp.where(left[idx], x[idx].astype(dtype), 0)
        return left.at[idx].set(False), add(acc, idx, vals)

    return jax.lax.while_loop(cond, body, (x != 0, out))[1]


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4))
def _sparse_event(x: jax.Array, weight: jax.Array, post: jax.Array, n_post: int, chunk: int) -> jax.Array:
    """``y[post[i, k]] += x[i] w[i, k]`` over the active ``i`` (``post == n_post`` marks padding)."""
    dtype = jnp.result_type(x.dtype, weight.dtype)
    per_synapse = weight.ndim == 2

    def add(acc, idx, vals):
        vals = vals[:, None] * (weight[idx] if per_synapse else weight)
        return acc.at[post[idx]].add(jnp.broadcast_to(vals, (idx.shape[0], post.shape[1])), mode="drop")

    return _event_loop(x, chunk, jnp.zeros(n_post, dtype), add)


def _sparse_fwd(x, weight, post, n_post, chunk):
    return _sparse_event(x, weight, post, n_post, chunk), (x, weight, post)


def _sparse_bwd(n_post, chunk, res, ct):
    x, weight, post = res
    ct_rows = jnp.concatenate([ct, jnp.zeros(1, ct.dtype)])[post]  # (n_pre, k); 0 on the padding
    w = weight if weight.ndim == 2 else jnp.broadcast_to(weight, post.shape) * (post < n_post)
    d_x = (ct_rows * w).sum(axis=1).astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact) else None
    d_w = x.astype(ct.dtype)[:, None] * ct_rows
    d_w = d_w if weight.ndim == 2 else d_w.sum().reshape(weight.shape)
    return d_x, d_w.astype(weight.dtype), None


_sparse_event.defvjp(_sparse_fwd, _sparse_bwd)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dense_event(x: jax.Array, weight: jax.Array, chunk: int) -> jax.Array:
    """``x @ weight`` reading only the rows of the non-zero ``x``."""
    dtype = jnp.result_type(x.dtype, weight.dtype)
    return _event_loop(x, chunk, jnp.zeros(weight.shape[1], dtype), lambda acc, idx, vals: acc + vals @ weight[idx])


def _dense_fwd(x, weight, chunk):
    return _dense_event(x, weight, chunk), (x, weight)


def _dense_bwd(chunk, res, ct):
    x, weight = res
    d_x = (weight @ ct).astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact) else None
    return d_x, jnp.outer(x.astype(ct.dtype), ct).astype(weight.dtype)


_dense_event.defvjp(_dense_fwd, _dense_bwd)


def _over_batch(fn: Any, x: jax.Array, n_in: int, owner: str) -> jax.Array:
    """Apply the 1-D ``fn`` to ``x`` of shape ``(..., n_in)``, mapping over the leading axes."""
    x = jnp.asarray(x)
    if x.ndim == 0 or x.shape[-1] != n_in:
        raise InputError(f"{owner} expects inputs of shape (..., {n_in}), got {x.shape}. Fix: pass the values of "
                         f"the {n_in} presynaptic sources on the last axis.")
    if x.dtype == jnp.bool_:
        x = x.astype(environ.dftype())
    for _ in range(x.ndim - 1):
        fn = jax.vmap(fn)
    return fn(x)


def _count(size: Size, what: str) -> int:
    try:
        return int(np.prod(as_size(size, what)))
    except TypeError:
        raise ConfigError(f"{what} must be a positive int or a tuple of positive ints, got {size!r}. "
                          "Fix: pass the number of neurons.") from None


def _weight(value: Any, shape: tuple[int, ...], owner: str) -> jax.Array:
    value = init.param(value, shape) if callable(value) else value
    value = jnp.asarray(value, dtype=environ.dftype())
    if value.ndim and value.shape != shape:
        raise ConfigError(f"{owner} weights have shape {value.shape}, expected a scalar or {shape}. Fix: pass one "
                          "weight for all synapses or one per synapse.")
    return value


def _state_class(param_type: Any, owner: str) -> type:
    if not (isinstance(param_type, type) and issubclass(param_type, State)):
        raise ConfigError(f"{owner} param_type must be a State class, got {param_type!r}. Fix: pass "
                          "brainstate.ParamState (trainable) or another State subclass.")
    return param_type


def _check_conn_init(conn_init: Any, owner: str) -> None:
    if conn_init not in ("vmap", "for_loop"):
        raise ConfigError(f"{owner} conn_init must be 'vmap' or 'for_loop', got {conn_init!r}. Fix: leave the "
                          "default (it has no effect here).")


def _rows_kept(rows: int, afferent_ratio: Any, seed: int | None, owner: str) -> np.ndarray:
    """Which of ``rows`` rows get synapses: each with probability ``afferent_ratio`` (seeded by ``[seed, 1]``)."""
    if isinstance(afferent_ratio, bool) or not 0.0 <= float(afferent_ratio) <= 1.0:
        raise ConfigError(f"{owner} afferent_ratio must be in [0, 1], got {afferent_ratio!r}. Fix: pass the "
                          "fraction of rows that get synapses.")
    if float(afferent_ratio) == 1.0:
        return np.ones(rows, bool)
    return np.random.default_rng(None if seed is None else [seed, 1]).random(rows) < float(afferent_ratio)


# -- dense -------------------------------------------------------------------------------------
class EventLinear(Module):
    """Dense weights ``(n_pre, n_post)`` applied to spikes, reading only the rows of the active sources.

    The same map as ``Linear(n_pre, n_post, b_init=None)`` (``x @ W``), at a cost proportional to the
    number of non-zero inputs; see the module notes.

    Args:
        in_size: the number of presynaptic sources.
        out_size: the number of targets.
        weight: an initialiser, an array ``(n_pre, n_post)`` or a scalar (the same weight everywhere).
        chunk: how many active sources are added per loop iteration.
        name: optional display name.
        float_as_event: treat every non-zero input as a spike of value 1 (upstream's meaning; its
            default is True). False (the default here): graded inputs scale their rows; the two
            agree on 0/1 and boolean spikes. With True no gradient flows to the input.
        block_size: upstream's GPU kernel block size; accepted (a positive int) and kept as an
            attribute, with no effect on the result here.
        param_type: the State class of the weight (``ParamState``: trainable).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> layer = nn.EventLinear(3, 2, weight=jnp.array([[1., 2.], [3., 4.], [5., 6.]]))
        >>> layer(jnp.array([True, False, True]))
        Array([6., 8.], dtype=float32)
        >>> nn.EventLinear(3, 2, weight=layer.weight.value, float_as_event=True)(jnp.array([0.5, 0.0, 2.0]))
        Array([6., 8.], dtype=float32)
    """

    def __init__(self, in_size: Size, out_size: Size, weight: Any = _KAIMING, chunk: int = _CHUNK,
                 name: str | None = None, *, float_as_event: bool = False, block_size: int = 64,
                 param_type: type[State] = ParamState) -> None:
        super().__init__(name=name)
        if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
            raise ConfigError(f"EventLinear chunk must be a positive int, got {chunk!r}. Fix: pass e.g. 16 (upstream's "
                              "fourth argument, float_as_event, is a keyword here: float_as_event=True).")
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ConfigError(f"EventLinear block_size must be a positive int, got {block_size!r}. Fix: leave the "
                              "default (it has no effect here).")
        param_type = _state_class(param_type, "EventLinear")
        self.in_size, self.out_size = as_size(in_size, "EventLinear in_size"), as_size(out_size, "EventLinear out_size")
        self.n_pre, self.n_post = _count(in_size, "EventLinear in_size"), _count(out_size, "EventLinear out_size")
        w = _weight(weight, (self.n_pre, self.n_post), "EventLinear")
        self.weight = param_type(jnp.broadcast_to(w, (self.n_pre, self.n_post)) + 0.0)
        self.chunk, self.block_size, self.float_as_event = int(chunk), int(block_size), bool(float_as_event)

    def update(self, x: Any) -> jax.Array:
        w = self.weight.value
        if self.float_as_event:
            x = jnp.asarray(x) != 0
        return _over_batch(lambda v: _dense_event(v, w, self.chunk), x, self.n_pre, "EventLinear")

    def extra_repr(self) -> str:
        return f"{self.n_pre} -> {self.n_post}"


# -- sparse ------------------------------------------------------------------------------------
class SparseConn(Module):
    """Explicit synapses ``pre[s] -> post[s]``, event-driven; the base of the random connectivities.

    The synapses of source ``i`` are kept as the row ``i`` of an ``(n_pre, max out-degree)`` table
    of target indices (sorted by ``(pre, post)``). A pair listed twice is two synapses.

    Args:
        in_size: the number of presynaptic sources.
        out_size: the number of targets.
        pre, post: the source and the target of each synapse.
        conn_weight: a scalar (homogeneous: one trainable weight), an array with one weight per
            synapse (in the order of ``(pre, post)`` sorted by source, then target) or an
            initialiser called with the shape ``(n_synapses,)``.
        chunk: how many active sources are added per loop iteration.
        name: optional display name.
        param_type: the State class of the weight (``ParamState``: trainable).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> conn = nn.SparseConn(3, 2, pre=[0, 0, 2], post=[0, 1, 1], conn_weight=[1.0, 2.0, 4.0])
        >>> conn(jnp.array([1.0, 1.0, 1.0])), conn.to_dense()
        (Array([1., 6.], dtype=float32), Array([[1., 2.],
               [0., 0.],
               [0., 4.]], dtype=float32))
    """

    def __init__(self, in_size: Size, out_size: Size, pre: Any, post: Any, conn_weight: Any = 1.0,
                 chunk: int = _CHUNK, name: str | None = None, *, param_type: type[State] = ParamState) -> None:
        super().__init__(name=name)
        owner = type(self).__name__
        param_type = _state_class(param_type, owner)
        self.in_size, self.out_size = as_size(in_size, f"{owner} in_size"), as_size(out_size, f"{owner} out_size")
        self.n_pre, self.n_post = _count(in_size, f"{owner} in_size"), _count(out_size, f"{owner} out_size")
        pre, post = np.asarray(pre, np.int64).ravel(), np.asarray(post, np.int64).ravel()
        if pre.shape != post.shape:
            raise ConfigError(f"{owner} pre and post have {pre.size} and {post.size} entries. Fix: give one source "
                              "and one target per synapse.")
        if pre.size and (pre.min() < 0 or pre.max() >= self.n_pre or post.min() < 0 or post.max() >= self.n_post):
            raise ConfigError(f"{owner} synapses must join sources in [0, {self.n_pre}) to targets in [0, "
                              f"{self.n_post}). Fix: check the indices (or the sizes).")
        order = np.lexsort((post, pre))
        self.pre, self.post = pre[order], post[order]
        degree = np.bincount(self.pre, minlength=self.n_pre)
        width = max(1, int(degree.max()) if self.pre.size else 1)
        starts = np.concatenate([[0], np.cumsum(degree)[:-1]])
        self._slot = np.arange(self.pre.size) - starts[self.pre]  # position of each synapse in its row
        table = np.full((self.n_pre, width), self.n_post, np.int32)
        table[self.pre, self._slot] = self.post
        self.indices = jnp.asarray(table)
        self.chunk = int(chunk)
        w = _weight(conn_weight, (self.pre.size,), owner)
        if w.ndim:
            padded = jnp.zeros((self.n_pre, width), w.dtype).at[self.pre, self._slot].set(w)
            self.weight = param_type(padded)
        else:
            self.weight = param_type(w)

    @property
    def n_synapses(self) -> int:
        """The number of synapses."""
        return int(self.pre.size)

    def synapse_weights(self) -> jax.Array:
        """The weight of each synapse, in the order of :attr:`pre` / :attr:`post`."""
        w = self.weight.value
        return w[self.pre, self._slot] if w.ndim else jnp.full(self.pre.size, w)

    def to_dense(self) -> jax.Array:
        """The ``(n_pre, n_post)`` weight matrix (repeated pairs summed)."""
        return jnp.zeros((self.n_pre, self.n_post), self.weight.value.dtype).at[self.pre, self.post].add(
            self.synapse_weights())

    def update(self, x: Any) -> jax.Array:
        w, post = self.weight.value, self.indices
        return _over_batch(lambda v: _sparse_event(v, w, post, self.n_post, self.chunk), x, self.n_pre,
                           type(self).__name__)

    def extra_repr(self) -> str:
        return f"{self.n_pre} -> {self.n_post}, {self.n_synapses} synapses"


def _no_self(owner: str, include_self: bool, n_pre: int, n_post: int) -> None:
    if not include_self and n_pre != n_post:
        raise ConfigError(f"{owner}(include_self=False) needs as many sources as targets (got {n_pre} and {n_post}): "
                          "source i and target i are the same neuron only in a projection onto itself. Fix: drop "
                          "include_self, or build the synapses yourself and pass them to SparseConn.")


class EventFixedProb(SparseConn):
    """Each ordered pair (source, target) connected independently with probability ``prob``.

    The synapses are drawn with ``numpy.random.default_rng(seed)`` (one Bernoulli draw per pair),
    so a seed gives the same network everywhere. Upstream brainstate's ``EventFixedProb`` gives
    every source the same number ``int(prob * n_post)`` of targets; that is :class:`FixedNumConn`
    here.

    Args:
        in_size, out_size: the numbers of sources and targets.
        prob: the connection probability, in ``[0, 1]``.
        conn_weight: a scalar, one weight per synapse, or an initialiser (see :class:`SparseConn`).
        include_self: allow the synapse ``i -> i`` (set False for no autapses; needs ``n_pre == n_post``).
        seed: the NumPy seed of the draw (None: fresh entropy).
        chunk: how many active sources are added per loop iteration.
        name: optional display name.
        afferent_ratio: the probability that a row (a source) gets its synapses at all; the
            others get none (drawn with the seed ``[seed, 1]``; upstream's draw is unseeded).
        conn_init: upstream's choice of how its JAX draw is parallelised (``'vmap'`` or
            ``'for_loop'``); checked, with no effect here, where the synapses are drawn in NumPy.
        param_type: the State class of the weight (``ParamState``: trainable).

    Example:
        >>> import brainstate_nn as nn
        >>> conn = nn.EventFixedProb(1000, 1000, 0.1, conn_weight=0.5, include_self=False, seed=1)
        >>> round(conn.n_synapses / 1e6, 2), bool((conn.pre != conn.post).all())
        (0.1, True)
    """

    def __init__(self, in_size: Size, out_size: Size, prob: float, conn_weight: Any = 1.0,
                 include_self: bool = True, seed: int | None = None, chunk: int = _CHUNK,
                 name: str | None = None, *, afferent_ratio: float = 1.0, conn_init: str = "vmap",
                 param_type: type[State] = ParamState) -> None:
        n_pre, n_post = _count(in_size, "EventFixedProb in_size"), _count(out_size, "EventFixedProb out_size")
        if not 0.0 <= float(prob) <= 1.0:
            raise ConfigError(f"EventFixedProb prob must be in [0, 1], got {prob!r}. Fix: pass a probability.")
        _no_self("EventFixedProb", include_self, n_pre, n_post)
        _check_conn_init(conn_init, "EventFixedProb")
        chosen = _rows_kept(n_pre, afferent_ratio, seed, "EventFixedProb")
        rng = np.random.default_rng(seed)
        pres, posts = [], []
        block = max(1, 2 ** 22 // max(n_post, 1))
        for start in range(0, n_pre, block):
            hit = rng.random((min(block, n_pre - start), n_post)) < prob
            if not include_self:
                rows = np.arange(hit.shape[0])
                keep = start + rows < n_post
                hit[rows[keep], start + rows[keep]] = False
            i, j = np.nonzero(hit)
            pres.append(i + start)
            posts.append(j)
        pre, post = np.concatenate(pres), np.concatenate(posts)
        keep = chosen[pre]
        super().__init__(in_size, out_size, pre[keep], post[keep], conn_weight, chunk, name, param_type=param_type)
        self.prob, self.include_self, self.seed = float(prob), include_self, seed
        self.afferent_ratio, self.pre_selected = float(afferent_ratio), chosen


class FixedNumConn(SparseConn):
    """A fixed number of synapses per source (``efferent_target='post'``) or per target (``'pre'``).

    Args:
        in_size, out_size: the numbers of sources and targets.
        conn_num: the number of synapses of each source (or target); a float in ``[0, 1]`` is a
            fraction of the other side's size (rounded down, as upstream).
        conn_weight: a scalar, one weight per synapse, or an initialiser (see :class:`SparseConn`).
        efferent_target: ``'post'``: each source has ``conn_num`` targets; ``'pre'``: each target
            has ``conn_num`` sources (a fixed in-degree).
        allow_multi_conn: allow the same pair twice (draws with replacement).
        include_self: allow the synapse ``i -> i`` (needs ``n_pre == n_post`` when False).
        seed: the NumPy seed of the draw.
        chunk: how many active sources are added per loop iteration.
        name: optional display name.
        afferent_ratio: the probability that a row (a source for ``'post'``, a target for ``'pre'``) gets its synapses at all; the
            others get none (drawn with the seed ``[seed, 1]``; upstream's draw is unseeded).
        conn_init: upstream's choice of how its JAX draw is parallelised (``'vmap'`` or
            ``'for_loop'``); checked, with no effect here, where the synapses are drawn in NumPy.
        param_type: the State class of the weight (``ParamState``: trainable).

    Example:
        >>> import brainstate_nn as nn, numpy as np
        >>> conn = nn.FixedNumConn(50, 40, 5, efferent_target='pre', seed=0)
        >>> np.bincount(conn.post, minlength=40).tolist() == [5] * 40
        True
    """

    def __init__(self, in_size: Size, out_size: Size, conn_num: int | float, conn_weight: Any = 1.0,
                 efferent_target: str = "post", allow_multi_conn: bool = False, include_self: bool = True,
                 seed: int | None = None, chunk: int = _CHUNK, name: str | None = None, *,
                 afferent_ratio: float = 1.0, conn_init: str = "vmap", param_type: type[State] = ParamState) -> None:
        owner = type(self).__name__
        n_pre, n_post = _count(in_size, f"{owner} in_size"), _count(out_size, f"{owner} out_size")
        if efferent_target not in ("post", "pre"):
            raise ConfigError(f"{owner} efferent_target must be 'post' or 'pre', got {efferent_target!r}. "
                              "Fix: 'post' fixes each source's out-degree, 'pre' each target's in-degree.")
        _no_self(owner, include_self, n_pre, n_post)
        _check_conn_init(conn_init, owner)
        rows, choices = (n_pre, n_post) if efferent_target == "post" else (n_post, n_pre)
        chosen = _rows_kept(rows, afferent_ratio, seed, owner)
        if isinstance(conn_num, float):
            if not 0.0 <= conn_num <= 1.0:
                raise ConfigError(f"FixedNumConn conn_num {conn_num} as a fraction must be in [0, 1]. Fix: pass an "
                                  "int (a count) or a fraction.")
            conn_num = int(choices * conn_num)
        available = choices - (0 if include_self else 1)
        if not isinstance(conn_num, (int, np.integer)) or conn_num < 0 or (
                not allow_multi_conn and conn_num > available):
            raise ConfigError(f"FixedNumConn conn_num must be an int in [0, {available}] without repeated pairs, "
                              f"got {conn_num!r}. Fix: lower it, or pass allow_multi_conn=True.")
        rng = np.random.default_rng(seed)
        if allow_multi_conn:
            other = rng.integers(0, available, (rows, conn_num))
        else:
            other = np.argsort(rng.random((rows, available)), axis=1)[:, :conn_num]
        if not include_self:  # skip the row's own index
            other = other + (other >= np.arange(rows)[:, None])
        own = np.repeat(np.arange(rows), conn_num)
        keep = chosen[own]
        own, other = own[keep], other.ravel()[keep]
        pre, post = (own, other) if efferent_target == "post" else (other, own)
        super().__init__(in_size, out_size, pre, post, conn_weight, chunk, name, param_type=param_type)
        self.conn_num, self.efferent_target = int(conn_num), efferent_target
        self.afferent_ratio, self.pre_selected = float(afferent_ratio), chosen


# -- one-to-one, all-to-all ------------------------------------------------------------------
class OneToOne(Module):
    """``y_i = w_i x_i (+ b_i)``: source ``i`` drives target ``i`` only.

    Args:
        in_size: the number (or shape) of sources and targets.
        w_init: the weights: a scalar (one shared weight), an array of shape ``in_size`` or an
            initialiser (upstream's default ``Normal()``).
        b_init: the bias (initialiser or array of shape ``in_size``), ``None`` for none.
        name: optional display name.
        param_type: the State class of ``weight``, which holds ``{'weight'[, 'bias']}``.
        sharding: layouts of the parameters over a device mesh, ``{name: spec}`` for the entries of
            ``weight`` (a name left out is replicated; see ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.OneToOne(3, 2.0)(jnp.array([1.0, 0.0, 1.0]))
        Array([2., 0., 2.], dtype=float32)
    """

    def __init__(self, in_size: Size, w_init: Any = _NORMAL, b_init: Any = None, name: str | None = None,
                 param_type: type = ParamState, sharding: Any = None) -> None:
        super().__init__(name=name)
        self.in_size = self.out_size = as_size(in_size, "OneToOne in_size")
        params = {"weight": _weight(w_init, self.in_size, "OneToOne")}
        if b_init is not None:
            params["bias"] = jnp.asarray(init.param(b_init, self.in_size), environ.dftype())
        self.weight = make_param(param_type, params, sharding, "OneToOne")

    def update(self, x: Any) -> jax.Array:
        params = self.weight.value
        y = jnp.asarray(x).astype(environ.dftype()) * params["weight"]
        return y + params["bias"] if "bias" in params else y


class AllToAll(Module):
    """Every source drives every target: ``y_j = sum_i w_ij x_i (+ b_j)`` (``w`` a scalar or ``(n_pre, n_post)``).

    The sources are the last axis of the input (``n_pre = in_size[-1]``) and the targets the last
    axis of the output (``n_post = out_size[-1]``); other axes of the two sizes must agree. With a
    scalar weight the cost is O(n_pre + n_post) (``w * sum(x)``).

    Args:
        in_size, out_size: the numbers (or shapes) of sources and targets.
        w_init: a scalar, a matrix ``(n_pre, n_post)`` or an initialiser (upstream's default ``KaimingNormal()``).
        b_init: the bias ``(n_post,)`` (initialiser or array), ``None`` for none.
        include_self: keep ``i -> i`` (set False to leave out autapses; needs ``n_pre == n_post``).
        name: optional display name.
        param_type: the State class of ``weight``, which holds ``{'weight'[, 'bias']}``.
        sharding: layouts of the parameters over a device mesh, ``{name: spec}`` for the entries of
            ``weight`` (a name left out is replicated; see ``brainstate.sharding``).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp
        >>> nn.AllToAll(3, 3, 1.0, include_self=False)(jnp.array([1.0, 0.0, 1.0]))
        Array([1., 2., 1.], dtype=float32)
    """

    def __init__(self, in_size: Size, out_size: Size, w_init: Any = _KAIMING, b_init: Any = None,
                 include_self: bool = True, name: str | None = None, param_type: type = ParamState,
                 sharding: Any = None) -> None:
        super().__init__(name=name)
        self.in_size, self.out_size = as_size(in_size, "AllToAll in_size"), as_size(out_size, "AllToAll out_size")
        if self.in_size[:-1] != self.out_size[:-1]:
            raise ConfigError(f"AllToAll connects the last axes of in_size {self.in_size} and out_size "
                              f"{self.out_size}; the other axes must agree. Fix: pass sizes that differ in the last "
                              "entry only (or plain counts).")
        self.n_pre, self.n_post = self.in_size[-1], self.out_size[-1]
        _no_self("AllToAll", include_self, self.n_pre, self.n_post)
        self.include_self = include_self
        params = {"weight": _weight(w_init, (self.n_pre, self.n_post), "AllToAll")}
        if b_init is not None:
            params["bias"] = jnp.asarray(init.param(b_init, (self.n_post,)), environ.dftype())
        self.weight = make_param(param_type, params, sharding, "AllToAll")

    def update(self, x: Any) -> jax.Array:
        x = jnp.asarray(x).astype(environ.dftype())
        params = self.weight.value
        w = params["weight"]
        if w.ndim == 0:
            total = x.sum(axis=-1, keepdims=True) * w
            y = jnp.broadcast_to(total, x.shape[:-1] + (self.n_post,))
            y = y if self.include_self else y - w * x
        else:
            if not self.include_self:
                w = w * (1.0 - jnp.eye(self.n_pre, dtype=w.dtype))
            y = x @ w
        return y + params["bias"] if "bias" in params else y
