"""``EventFixedNumConn``: upstream brainstate's fixed-degree event connectivity, with its signature.

Here every connectivity layer is event-driven (see :class:`~brainstate.nn.FixedNumConn`), so this is
``FixedNumConn`` with upstream's argument list and defaults: ``conn_weight`` required, positional
``afferent_ratio`` and repeated pairs allowed by default (``allow_multi_conn=True``).
"""

from __future__ import annotations

from typing import Any

from brainstate_core import ParamState, State

from ._connectivity import FixedNumConn
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
        super().__init__(in_size, out_size, conn_num, conn_weight, efferent_target=efferent_target,
                         allow_multi_conn=allow_multi_conn, seed=seed, name=name, afferent_ratio=afferent_ratio,
                         conn_init=conn_init, param_type=param_type)
        self.allow_multi_conn, self.seed = allow_multi_conn, seed
