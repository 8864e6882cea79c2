"""``EventFixedNumConn``: upstream brainstate's fixed-degree event connectivity, with its signature.

Here every connectivity layer is event-driven (see :class:`~brainstate.nn.FixedNumConn`), so this is
``FixedNumConn`` with upstream's argument list and defaults: repeated pairs allowed by default
(``allow_multi_conn=True``), ``afferent_ratio`` (only that fraction of the rows get synapses) and
``param_type`` (the State class of the weight).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brainstate_core import ConfigError, ParamState, State

from ._connectivity import FixedNumConn, SparseConn, _count
from ._utils import Size

__all__ = ["EventFixedNumConn"]


class EventFixedNumConn(FixedNumConn):
    """A fixed number of synapses per source (``efferent_target='post'``) or per target (``'pre'``).

    Args:
        in_size, out_size: the numbers of sources and targets.
        conn_num: the number of synapses of each row (an int), or a fraction in ``[0, 1]`` of the
            other side's size (rounded down).
        conn_weight: a scalar, one weight per synapse (in the order of :attr:`pre` / :attr:`post`,
            sorted by source, then target) or an initialiser of that shape.
        efferent_target: ``'post'``: each source has ``conn_num`` targets; ``'pre'``: each target has
            ``conn_num`` sources. (Upstream rejects ``'pre'``; it works here.)
        afferent_ratio: the probability that a row (a source for ``'post'``, a target for ``'pre'``)
            gets its synapses at all; the others get none.
        allow_multi_conn: allow the same pair twice (draws with replacement).
        seed: the NumPy seed of the draws (the rows and the synapses).
        name: optional display name.
        conn_init: upstream's choice of how its JAX draw is parallelised (``'vmap'`` or
            ``'for_loop'``); it has no effect here, where the synapses are drawn in NumPy.
        param_type: the State class of the weight (``ParamState``: trainable).

    Example:
        >>> import brainstate_nn as nn, jax.numpy as jnp, numpy as np
        >>> conn = nn.EventFixedNumConn(100, 50, 4, conn_weight=0.5, afferent_ratio=0.5, seed=0)
        >>> rows = np.bincount(conn.pre, minlength=100)
        >>> sorted(set(rows.tolist())), bool(jnp.allclose(conn(jnp.ones(100)), jnp.ones(100) @ conn.to_dense()))
        ([0, 4], True)
    """

    def __init__(self, in_size: Size, out_size: Size, conn_num: int | float, conn_weight: Any,
                 efferent_target: str = "post", afferent_ratio: float = 1.0, allow_multi_conn: bool = True,
                 seed: int | None = None, name: str | None = None, conn_init: str = "vmap",
                 param_type: type[State] = ParamState) -> None:
        if conn_init not in ("vmap", "for_loop"):
            raise ConfigError(f"EventFixedNumConn conn_init must be 'vmap' or 'for_loop', got {conn_init!r}. Fix: "
                              "leave the default (it has no effect here).")
        if not (isinstance(param_type, type) and issubclass(param_type, State)):
            raise ConfigError(f"EventFixedNumConn param_type must be a State class, got {param_type!r}. Fix: pass "
                              "brainstate.ParamState (trainable) or another State subclass.")
        if isinstance(afferent_ratio, bool) or not 0.0 <= float(afferent_ratio) <= 1.0:
            raise ConfigError(f"EventFixedNumConn afferent_ratio must be in [0, 1], got {afferent_ratio!r}. Fix: "
                              "pass the fraction of rows that get synapses.")
        full = FixedNumConn(in_size, out_size, conn_num, 1.0, efferent_target=efferent_target,
                            allow_multi_conn=allow_multi_conn, seed=seed)
        rows = _count(in_size if efferent_target == "post" else out_size, "EventFixedNumConn size")
        chosen = np.random.default_rng(None if seed is None else [seed, 1]).random(rows) < float(afferent_ratio)
        keep = chosen[full.pre if efferent_target == "post" else full.post]
        SparseConn.__init__(self, in_size, out_size, full.pre[keep], full.post[keep], conn_weight, name=name)
        self.conn_num, self.efferent_target = full.conn_num, efferent_target
        self.afferent_ratio, self.allow_multi_conn, self.seed = float(afferent_ratio), allow_multi_conn, seed
        self.pre_selected = chosen
        if type(self.weight) is not param_type:
            self.weight = param_type(self.weight.value)
