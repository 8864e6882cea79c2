"""The Orbax backend of :func:`brainstate.nn.save_checkpoint` / :func:`brainstate.nn.load_checkpoint`.

A checkpoint is a folder written by an ``orbax.checkpoint.Checkpointer`` with two items: ``meta``
(JSON: the same header and per-state records as the msgpack format, without the bytes) and
``arrays`` (the leaves, by ``s<state>``/``l<leaf>`` names). A leaf spread over several devices or
processes is saved as a ``jax.Array``, each shard by a process that holds it; any other leaf as a
NumPy array, written once (by the primary process). On restore the live model gives the target:
``jax.ShapeDtypeStruct(shape, dtype, sharding=value.sharding)`` for a value placed on devices, so
Orbax reads each device's slice straight into place, whatever mesh the checkpoint came from.

orbax-checkpoint is an optional dependency (the ``orbax`` extra of brainstate-nn), imported here only.
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError
from brainstate_transform import MissingDependencyError

from ._checkpoint import _FORMAT, _VERSION, _host_array, _is_key, _path_key, _placed, _spread

__all__: list[str] = []

_INSTALL = "pip install 'brainstate-nn[orbax]' (or pip install orbax-checkpoint)"


def _ocp() -> Any:
    try:
        import orbax.checkpoint as ocp
    except ImportError as err:
        raise MissingDependencyError(
            "Orbax checkpoints (backend='orbax', chosen automatically when a state spans several devices or "
            f"processes) need orbax-checkpoint, which is not installed. Fix: {_INSTALL}."
        ) from err
    return ocp


def _save_leaf(state_path: tuple, leaf: Any, i: int) -> tuple[Any, dict]:
    """What Orbax writes for one leaf (a sharded jax.Array or a NumPy array) and its JSON record."""
    record: dict = {}
    if _is_key(leaf):
        record["key_impl"] = str(jax.random.key_impl(leaf))
        leaf = jax.random.key_data(leaf)
    data = leaf if _spread(leaf) else _host_array(state_path, leaf, i)
    record.update(dtype=str(data.dtype), shape=list(data.shape))
    return data, record


def save(path: str, found: Any, metadata: dict) -> None:
    """Write the states ``found`` (path -> State) and ``metadata`` to the Orbax folder ``path``."""
    ocp = _ocp()
    try:
        json.dumps(metadata)
    except TypeError as err:
        raise ConfigError(f"The metadata of an Orbax checkpoint must be JSON-serialisable: {err}. Fix: store plain "
                          "numbers, strings, lists and dicts with string keys (or use backend='msgpack').") from None
    arrays: dict = {}
    entries = []
    for s, (state_path, state) in enumerate(found.items()):
        leaves, treedef = jax.tree.flatten(state.value)
        records = []
        for i, leaf in enumerate(leaves):
            data, record = _save_leaf(state_path, leaf, i)
            if data.size:  # Orbax cannot store empty arrays: their shape and dtype say everything
                record["item"] = [f"s{s}", f"l{i}"]
                arrays.setdefault(f"s{s}", {})[f"l{i}"] = data
            records.append(record)
        entries.append({"path": list(_path_key(state_path)), "type": type(state).__name__, "treedef": str(treedef),
                        "leaves": records})
    header = {"format": _FORMAT, "version": _VERSION, "backend": "orbax", "metadata": metadata, "states": entries}
    items = {"meta": ocp.args.JsonSave(header)}
    if arrays:
        items["arrays"] = ocp.args.PyTreeSave(arrays)
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        checkpointer.save(os.path.abspath(path), ocp.args.Composite(**items), force=True)


def read_header(path: str) -> Any:
    """The JSON header of the Orbax checkpoint at ``path`` (None where the folder has none)."""
    if not os.path.isdir(os.path.join(path, "meta")):
        return None
    ocp = _ocp()
    with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
        return checkpointer.restore(os.path.abspath(path), ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]


def _target(record: dict, current: Any) -> Any:
    """What Orbax restores one leaf as: onto the live value's sharding where it is placed, else NumPy."""
    if _is_key(current):
        current = jax.random.key_data(current)
    if _placed(current):
        return jax.ShapeDtypeStruct(tuple(record["shape"]), jnp.dtype(record["dtype"]), sharding=current.sharding)
    return np.empty(tuple(record["shape"]), jnp.dtype(record["dtype"]))


def restore(path: str, plan: list) -> list[list]:
    """The saved arrays of every state in ``plan`` (already checked against the live model), leaf by leaf."""
    ocp = _ocp()
    wanted: dict = {}
    for item in plan:
        for record, leaf in zip(item.records, item.leaves):
            if "item" in record:
                s, i = record["item"]
                wanted.setdefault(s, {})[i] = _target(record, leaf)
    loaded: dict = {}
    if wanted:
        with ocp.Checkpointer(ocp.CompositeCheckpointHandler()) as checkpointer:
            # partial: with strict=False the plan may skip saved states
            restore_args = ocp.checkpoint_utils.construct_restore_args(wanted)
            args = ocp.args.Composite(arrays=ocp.args.PyTreeRestore(wanted, restore_args, partial_restore=True))
            loaded = checkpointer.restore(os.path.abspath(path), args)["arrays"]
    out = []
    for item in plan:
        arrays = []
        for record in item.records:
            if "item" in record:
                s, i = record["item"]
                arrays.append(loaded[s][i])
            else:
                arrays.append(np.zeros(tuple(record["shape"]), jnp.dtype(record["dtype"])))
        out.append(arrays)
    return out
