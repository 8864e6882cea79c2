"""Checkpoints: every State of an object tree saved by path, and restored with checks.

Two formats hold the same content. The default, one msgpack file, is a map ``{'format', 'version',
'metadata', 'states'}``; each entry of ``states`` holds a state's path, its type name, the structure
of its value and one record per leaf: dtype, shape and raw bytes (for PRNG keys, the key data and the
key implementation). Its writes are atomic: the file is written next to the target and moved over it
with ``os.replace``. The Orbax format (``_checkpoint_orbax``, the ``orbax`` extra) is a folder; it is
chosen when a state's value spans several devices or processes, where one process cannot hold the
whole array.

Restoring builds the target from the live model: every value is checked against the saved shape and
dtype, then laid out as the value it replaces is (its sharding, for an array placed on devices), so a
checkpoint saved on one mesh loads onto another mesh or onto one device.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Hashable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import msgpack
import numpy as np

from brainstate_core import BrainStateError, ConfigError, State, StateShapeError, graph

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointNotFoundError"]

_FORMAT = "brainstate-checkpoint"
_VERSION = 1
_BACKENDS = ("auto", "msgpack", "orbax")


class CheckpointNotFoundError(BrainStateError, FileNotFoundError):
    """:func:`~brainstate.nn.load_checkpoint` was given a path where no checkpoint exists.

    It is also a ``FileNotFoundError``, so code written for ``open`` keeps working.

    Example:
        >>> import brainstate
        >>> brainstate.nn.load_checkpoint('no/such/checkpoint', {})
        Traceback (most recent call last):
        ...
        brainstate.nn.CheckpointNotFoundError: There is no checkpoint at no/such/checkpoint ...
    """


def _key(component: Hashable) -> Any:
    """A msgpack- and JSON-friendly form of one path component (str and int as they are)."""
    if isinstance(component, (str, int)) and not isinstance(component, bool):
        return component
    return f"<{type(component).__name__}>{component!r}"


def _path_key(path: tuple) -> tuple:
    return tuple(_key(k) for k in path)


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _spread(leaf: Any) -> bool:
    """Whether ``leaf`` is an array laid out over several devices or processes (one host cannot read it whole)."""
    return isinstance(leaf, jax.Array) and (not leaf.is_fully_addressable or len(leaf.sharding.device_set) > 1)


def _placed(leaf: Any) -> bool:
    """Whether a live array has a layout a restored value must keep: sharded, or committed to a device."""
    return isinstance(leaf, jax.Array) and (leaf.committed or _spread(leaf))


def _describe(leaf: Any) -> tuple[tuple, str | None]:
    """``(shape, dtype name)`` of a leaf as the file records it (for keys: of the key data)."""
    if _is_key(leaf):
        leaf = jax.random.key_data(leaf)
    dtype = getattr(leaf, "dtype", None)
    return tuple(np.shape(leaf)), None if dtype is None else str(dtype)


def _backend(backend: str) -> str:
    if backend not in _BACKENDS:
        raise ConfigError(f"Unknown checkpoint backend {backend!r}. Fix: pass one of {', '.join(map(repr, _BACKENDS))}.")
    return backend


def _host_array(state_path: tuple, leaf: Any, i: int) -> np.ndarray:
    """The whole value of one leaf as a NumPy array, for the msgpack file."""
    if _spread(leaf) and not leaf.is_fully_addressable:
        raise ConfigError(
            f"Cannot save the state at {state_path} (leaf {i}) to a msgpack file: its value is spread over "
            f"{len(leaf.sharding.device_set)} devices of several processes ({leaf.sharding}), and no process "
            "holds all of it. Fix: pass backend='orbax' or backend='auto' (pip install 'brainstate-nn[orbax]')."
        )
    arr = np.asarray(leaf)
    if arr.dtype == object:
        raise TypeError(f"Cannot save a leaf of type {type(leaf).__name__}: checkpoints hold arrays and numbers only.")
    return arr


def _encode_leaf(state_path: tuple, leaf: Any, i: int) -> dict:
    if _is_key(leaf):
        data = _host_array(state_path, jax.random.key_data(leaf), i)
        return {"dtype": str(data.dtype), "shape": list(data.shape), "data": data.tobytes(),
                "key_impl": str(jax.random.key_impl(leaf))}
    arr = _host_array(state_path, leaf, i)
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": np.ascontiguousarray(arr).tobytes()}


def save_checkpoint(path: str | os.PathLike, target: Any, metadata: dict | None = None, *,
                    backend: str = "auto") -> None:
    """Save every State of ``target`` (a module, an optimiser, a dict of them ...) to ``path``.

    Args:
        path: where to write; an existing checkpoint there is replaced. msgpack writes one file
            atomically (never left half-written); Orbax writes a folder (into a temporary folder
            first, renamed when complete).
        target: any object tree; its States are found by path as ``graph.states`` finds them,
            random generators (``RandomState``) included.
        metadata: optional dict stored alongside (an epoch, a config ...): msgpack-serialisable, or
            JSON-serialisable for Orbax.
        backend: ``'msgpack'`` (one file), ``'orbax'`` (a folder; needs the ``orbax`` extra:
            ``pip install 'brainstate-nn[orbax]'``) or ``'auto'``: Orbax when some state's value spans
            several devices or processes (a ``jax.Array`` whose sharding has more than one device, or
            that is not fully addressable), msgpack otherwise. With several processes
            (``jax.distributed``), every process calls this with the same ``path``, on a file system
            they share; Orbax writes each array's shards from the processes that hold them.

    Example:
        >>> import os, tempfile, brainstate_nn as nn, jax.numpy as jnp
        >>> model = nn.Linear(2, 2)
        >>> file = os.path.join(tempfile.mkdtemp(), 'model.msgpack')
        >>> nn.save_checkpoint(file, model, metadata={'epoch': 3})
        >>> model.weight.value = {'weight': jnp.zeros((2, 2)), 'bias': jnp.ones(2)}
        >>> nn.load_checkpoint(file, model)
        {'epoch': 3}
        >>> bool(model.weight.value['bias'].any())
        False
    """
    found = graph.states(target)
    if _backend(backend) == "auto":
        spread = any(_spread(leaf) for state in found.values() for leaf in jax.tree.leaves(state.value))
        backend = "orbax" if spread else "msgpack"
    if backend == "orbax":
        from . import _checkpoint_orbax

        _checkpoint_orbax.save(os.fspath(path), found, metadata or {})
        return
    entries = []
    for state_path, state in found.items():
        leaves, treedef = jax.tree.flatten(state.value)
        entries.append({
            "path": list(_path_key(state_path)),
            "type": type(state).__name__,
            "treedef": str(treedef),
            "leaves": [_encode_leaf(state_path, leaf, i) for i, leaf in enumerate(leaves)],
        })
    payload = msgpack.packb({"format": _FORMAT, "version": _VERSION, "metadata": metadata or {}, "states": entries},
                            use_bin_type=True)
    assert payload is not None  # packb without a stream returns the bytes
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path: str) -> dict:
    with open(path, "rb") as f:
        try:
            content = msgpack.unpackb(f.read(), raw=False, use_list=True, strict_map_key=False)
        except Exception as err:
            raise StateShapeError(f"{path} is not a brainstate checkpoint (msgpack could not read it: {err}).") from None
    return _check_header(path, content)


def _check_header(path: str, content: Any) -> dict:
    if not isinstance(content, dict) or content.get("format") != _FORMAT:
        raise StateShapeError(f"{path} is not a brainstate checkpoint (it has no '{_FORMAT}' header).")
    if content.get("version") != _VERSION:
        raise StateShapeError(f"{path} has checkpoint version {content.get('version')}; this brainstate reads "
                              f"version {_VERSION}.")
    return content


class _Restore(NamedTuple):
    """One state to restore: the State, the structure of its value, its live leaves and their saved records."""

    state: State
    treedef: Any
    leaves: list
    records: list


def _plan(path: str, content: dict, target: Any, strict: bool) -> list[_Restore]:
    """Match the saved entries with the States of ``target``; one error lists every mismatch."""
    saved = {tuple(entry["path"]): entry for entry in content["states"]}
    problems: list[str] = []
    plan: list[_Restore] = []
    found = graph.states(target)
    for state_path, state in found.items():
        entry = saved.get(_path_key(state_path))
        if entry is None:
            if strict:
                problems.append(f"  {state_path}: {state!r} (created at {state.source_info}) is not in the checkpoint")
            continue
        leaves, treedef = jax.tree.flatten(state.value)
        records = entry["leaves"]
        if len(records) != len(leaves) or entry["treedef"] != str(treedef):
            problems.append(f"  {state_path}: structure {entry['treedef']} saved, {treedef} expected")
            continue
        why = []
        for i, (leaf, record) in enumerate(zip(leaves, records)):
            shape, dtype = _describe(leaf)
            where = f" (leaf {i})" if len(leaves) > 1 else ""
            if tuple(record["shape"]) != shape:
                why.append(f"shape {tuple(record['shape'])} saved, {shape} expected{where}")
            elif dtype is not None and record["dtype"] != dtype:
                why.append(f"dtype {record['dtype']} saved, {dtype} expected{where}")
            elif _is_key(leaf) != ("key_impl" in record):
                why.append(f"a PRNG key and a plain array do not match{where}")
        if why:
            problems.append(f"  {state_path}: {type(state).__name__} created at {state.source_info}: " + "; ".join(why))
        else:
            plan.append(_Restore(state, treedef, leaves, records))
    if strict:
        known = {_path_key(p) for p in found}
        problems += [f"  {p}: saved in the checkpoint, but {type(target).__name__} has no state there"
                     for p in saved if p not in known]
    if problems:
        raise StateShapeError(
            f"Cannot restore {path} into {type(target).__name__} (nothing was restored):\n" + "\n".join(problems)
            + "\nFix: build the model with the same configuration as the saved one"
            + (", or pass strict=False to skip states missing on either side." if strict else ".")
        )
    return plan


def _like(data: Any, current: Any) -> Any:
    """The loaded array ``data`` laid out as the live array ``current`` is."""
    if isinstance(data, jax.Array):  # restored by Orbax onto current's sharding already
        return data
    if _placed(current):
        return jax.device_put(data, current.sharding)
    return jnp.asarray(data)


def _finish_leaf(data: Any, record: dict, current: Any) -> Any:
    """The value that replaces the live leaf ``current``, of the same kind: key, number, NumPy or JAX array."""
    if "key_impl" in record:
        return jax.random.wrap_key_data(_like(data, jax.random.key_data(current)), impl=record["key_impl"])
    if getattr(current, "dtype", None) is None:  # a Python number: keep it one
        data = np.asarray(data)
        return data.item() if data.shape == () else data.copy()
    if isinstance(current, np.ndarray):
        return np.array(data)
    return _like(data, current)


def _decode(record: dict) -> np.ndarray:
    return np.frombuffer(record["data"], dtype=jnp.dtype(record["dtype"])).reshape(record["shape"])


def load_checkpoint(path: str | os.PathLike, target: Any, strict: bool = True, *, backend: str = "auto") -> dict:
    """Restore the States of ``target`` from a checkpoint written by :func:`save_checkpoint`.

    Every state is checked before anything is written: its path must be in the checkpoint (and, with
    ``strict=True``, every saved path must be a state of ``target``), and its value must have the
    saved structure, shapes and dtypes. If anything differs, one :class:`StateShapeError` lists
    every mismatch and ``target`` is left unchanged.

    The live values of ``target`` say where the restored ones go: an array placed on devices (a
    ``jax.Array`` with a multi-device sharding, or committed to a device) gets a value with the same
    sharding, whatever layout it was saved from. A checkpoint saved on a ``(4, 2)`` mesh thus
    restores onto a model placed on an ``(8,)`` mesh, or onto one device; place the model first
    (for example with ``jax.device_put`` of each state's value), then load.

    Args:
        path: the checkpoint: a msgpack file or an Orbax folder.
        target: the object tree to restore into (built the same way as the saved one).
        strict: require the checkpoint and ``target`` to hold exactly the same paths; with ``False``,
            states missing from either side are skipped.
        backend: ``'auto'`` (a folder is read with Orbax, a file with msgpack), ``'msgpack'`` or
            ``'orbax'``. With several processes, every process calls this with the same ``path``.

    Returns:
        The ``metadata`` dict saved with the checkpoint.

    Raises:
        CheckpointNotFoundError: nothing exists at ``path``.
        StateShapeError: ``path`` is not a brainstate checkpoint, or does not match ``target``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise CheckpointNotFoundError(
            f"There is no checkpoint at {path} (no such file or folder; the working directory is {os.getcwd()}). "
            "Fix: pass the path given to brainstate.nn.save_checkpoint, and check that it is visible to this process."
        )
    folder = os.path.isdir(path)
    if _backend(backend) == "auto":
        backend = "orbax" if folder else "msgpack"
    elif folder != (backend == "orbax"):
        kind, other = ("a folder", "orbax") if folder else ("a file", "msgpack")
        raise StateShapeError(f"{path} is {kind}, not a {backend} checkpoint. Fix: load it with backend='{other}' "
                              "or backend='auto'.")
    if backend == "orbax":
        from . import _checkpoint_orbax

        content = _check_header(path, _checkpoint_orbax.read_header(path))
        plan = _plan(path, content, target, strict)
        loaded = _checkpoint_orbax.restore(path, plan)
    else:
        content = _read(path)
        plan = _plan(path, content, target, strict)
        loaded = [[_decode(record) for record in item.records] for item in plan]
    writes = []
    for item, arrays in zip(plan, loaded):
        new = [_finish_leaf(data, record, leaf) for data, record, leaf in zip(arrays, item.records, item.leaves)]
        writes.append((item.state, jax.tree.unflatten(item.treedef, new)))
    for state, value in writes:
        state.value = value
    return content["metadata"]
