"""Several processes: global batches from per-process data, and global values gathered to every process.

JAX runs one program in every process (SPMD, "multi-controller"). Each process starts with
:func:`jax.distributed.initialize`, before any other JAX call::

    import jax
    jax.distributed.initialize(
        coordinator_address="10.0.0.1:8476",  # process 0's host and a free port, the same in every process
        num_processes=2,
        process_id=0,                          # 0 .. num_processes - 1: this process's rank
    )

(On Cloud TPU, SLURM or Open MPI the arguments are found from the environment: ``initialize()``.)
From then on ``jax.devices()`` lists the devices of every process and ``jax.local_devices()`` this
process's own; a :class:`~jax.sharding.Mesh` over ``jax.devices()`` spans them all, and a
``jax.Array`` laid out on it is *global*: each process holds only the shards of its devices. On CPU
the processes exchange data with gloo (JAX's default CPU collectives from jax 0.5.1).

Every process then runs the same script: it builds the same model from the same seed, places its
states on the global mesh (``brainstate.sharding.place``, or ``jax.device_put`` with a
``NamedSharding``), turns its own part of each batch into the global batch with :func:`global_batch`,
and calls the same jitted training step; JAX inserts the communication. :func:`gather` brings a
global result back whole to every process (to print or plot it). ``brainstate.nn.save_checkpoint``
is called by every process with the same path, on a file system they share: it saves global arrays
with Orbax, each shard written by a process that holds it.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._errors import ShardingError

__all__ = ["global_batch", "gather"]


def _batch_mesh(mesh: Mesh | None, axis: str | tuple[str, ...]) -> Mesh:
    """``mesh``, else the mesh in use, else a 1-D mesh over every device of every process named ``axis``."""
    if mesh is None:
        from .sharding import get_mesh

        mesh = get_mesh()
        if not isinstance(mesh, Mesh):  # none in use (or only an abstract one, inside a trace)
            if not isinstance(axis, str):
                raise ShardingError(f"global_batch got the mesh axes {axis} and no mesh. Fix: pass mesh=, or use "
                                    "one with brainstate.sharding.use_mesh(mesh).")
            mesh = Mesh(np.asarray(jax.devices()), (axis,))
    names = (axis,) if isinstance(axis, str) else tuple(axis)
    missing = [n for n in names if n not in mesh.axis_names]
    if missing:
        raise ShardingError(f"global_batch splits the batch over the mesh axis {missing[0]!r}, but the mesh has the "
                            f"axes {mesh.axis_names}. Fix: pass axis= one of them, or a mesh with that axis.")
    return mesh


def global_batch(local_data: Any, mesh: Mesh | None = None, axis: str | tuple[str, ...] = "data") -> Any:
    """The global batch, split over the mesh axis ``axis``, of which ``local_data`` is this process's part.

    Every process calls it with its own rows (its slice of the global batch along the first axis;
    the other axes whole); the result is one global ``jax.Array`` per leaf, laid out with
    ``NamedSharding(mesh, P(axis))``, whose rows are those of process 0, then process 1, ... (for
    the usual meshes, whose devices are ordered by process). Nothing is copied between processes:
    each device receives its rows from the process that owns it. With one process this is
    ``jax.device_put(local_data, NamedSharding(mesh, P(axis)))``.

    This is ``jax.make_array_from_process_local_data`` applied to every leaf.

    Args:
        local_data: a pytree of arrays (NumPy or JAX); every leaf has the batch as its first axis,
            and its local size must divide evenly over this process's devices along ``axis``.
        mesh: the mesh to lay the batch out on; by default the mesh in use
            (``brainstate.sharding.use_mesh``), else a 1-D mesh over all devices (of every
            process) whose one axis is named ``axis``.
        axis: the mesh axis (or a tuple of mesh axes) the batch axis is split over.

    Returns:
        The same pytree of global ``jax.Array`` s.

    Raises:
        ShardingError: ``axis`` is not an axis of ``mesh``, or a leaf is a scalar (it has no batch axis).

    Example:
        >>> import jax, numpy as np
        >>> from brainstate_core import _multiprocess as mp
        >>> x = np.arange(8.0 * jax.device_count()).reshape(-1, 2)  # this process's rows
        >>> batch = mp.global_batch({'x': x})
        >>> batch['x'].shape == (4 * jax.device_count(), 2), batch['x'].sharding.spec == jax.P('data')
        (True, True)
    """
    mesh = _batch_mesh(mesh, axis)
    sharding = NamedSharding(mesh, PartitionSpec(axis))

    def one(path: Any, leaf: Any) -> jax.Array:
        if np.ndim(leaf) == 0:
            raise ShardingError(f"global_batch got a scalar at {jax.tree_util.keystr(path) or 'the root'}: every leaf "
                                "needs a batch axis (the first) to split. Fix: pass arrays of shape (rows, ...).")
        return jax.make_array_from_process_local_data(sharding, leaf)

    return jax.tree_util.tree_map_with_path(one, local_data)


def gather(tree: Any) -> Any:
    """The whole value of every array of ``tree``, as NumPy arrays, in every process.

    A global ``jax.Array`` whose shards live in several processes is assembled by an all-gather
    (``jax.experimental.multihost_utils.process_allgather(x, tiled=True)``): every process must call
    ``gather`` at the same point, with the same structure. Any other leaf (an array this process
    holds whole, a number) is converted with ``np.asarray``, without communication.

    Args:
        tree: a pytree of arrays, e.g. the values of a model's states
            (``{p: s.value for p, s in model.states().items()}``) or a jitted step's result.

    Returns:
        The same pytree with NumPy arrays holding the global values.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from brainstate_core import _multiprocess as mp
        >>> batch = mp.global_batch(jnp.ones((jax.device_count(), 3)) / jax.device_count())
        >>> mp.gather({'total': batch.sum(0)})['total']
        array([1., 1., 1.], dtype=float32)
    """
    from jax.experimental import multihost_utils

    def one(leaf: Any) -> np.ndarray:
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return np.asarray(multihost_utils.process_allgather(leaf, tiled=True))
        return np.asarray(leaf)

    return jax.tree.map(one, tree)
