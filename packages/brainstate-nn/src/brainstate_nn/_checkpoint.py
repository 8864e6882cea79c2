"""Checkpoints: every State of an object tree saved by path to one msgpack file, and restored with checks.

The file is a msgpack map ``{'format', 'version', 'metadata', 'states'}``; each entry of
``states`` holds a state's path, its type name, the structure of its value and one record per
leaf: dtype, shape and raw bytes (for PRNG keys, the key data and the key implementation).
Writes are atomic: the file is written next to the target and moved over it with ``os.replace``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
import msgpack
import numpy as np

from brainstate_core import State, StateShapeError, graph

__all__ = ["save_checkpoint", "load_checkpoint"]

_FORMAT = "brainstate-checkpoint"
_VERSION = 1


def _key(component: Hashable) -> Any:
    """A msgpack-friendly form of one path component (str and int as they are)."""
    if isinstance(component, (str, int)) and not isinstance(component, bool):
        return component
    return f"<{type(component).__name__}>{component!r}"


def _path_key(path: tuple) -> tuple:
    return tuple(_key(k) for k in path)


def _is_key(leaf: Any) -> bool:
    return isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _encode_leaf(leaf: Any) -> dict:
    if _is_key(leaf):
        data = np.asarray(jax.random.key_data(leaf))
        return {"dtype": str(data.dtype), "shape": list(data.shape), "data": data.tobytes(),
                "key_impl": str(jax.random.key_impl(leaf))}
    arr = np.asarray(leaf)
    if arr.dtype == object:
        raise TypeError(f"Cannot save a leaf of type {type(leaf).__name__}: checkpoints hold arrays and numbers only.")
    return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": np.ascontiguousarray(arr).tobytes()}


def _describe(leaf: Any) -> tuple[tuple, str | None]:
    """``(shape, dtype name)`` of a leaf as the file records it (for keys: of the key data)."""
    if _is_key(leaf):
        leaf = jax.random.key_data(leaf)
    dtype = getattr(leaf, "dtype", None)
    return tuple(np.shape(leaf)), None if dtype is None else str(dtype)


def save_checkpoint(path: str | os.PathLike, target: Any, metadata: dict | None = None) -> None:
    """Save every State of ``target`` (a module, an optimiser, a dict of them ...) to the file ``path``.

    Args:
        path: the file to write; it is replaced atomically (never left half-written).
        target: any object tree; its States are found by path as ``graph.states`` finds them,
            random generators (``RandomState``) included.
        metadata: optional msgpack-serialisable dict stored alongside (an epoch, a config ...).

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
    entries = []
    for state_path, state in graph.states(target).items():
        leaves, treedef = jax.tree.flatten(state.value)
        entries.append({
            "path": list(_path_key(state_path)),
            "type": type(state).__name__,
            "treedef": str(treedef),
            "leaves": [_encode_leaf(leaf) for leaf in leaves],
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
    if not isinstance(content, dict) or content.get("format") != _FORMAT:
        raise StateShapeError(f"{path} is not a brainstate checkpoint (it has no '{_FORMAT}' header).")
    if content.get("version") != _VERSION:
        raise StateShapeError(f"{path} has checkpoint version {content.get('version')}; this brainstate reads "
                              f"version {_VERSION}.")
    return content


def _decode_leaf(record: dict, current: Any) -> Any:
    data = np.frombuffer(record["data"], dtype=jnp.dtype(record["dtype"])).reshape(record["shape"])
    if "key_impl" in record:
        return jax.random.wrap_key_data(jnp.asarray(data), impl=record["key_impl"])
    if getattr(current, "dtype", None) is None:  # a Python number: keep it one
        return data.item() if data.shape == () else data.copy()
    if isinstance(current, np.ndarray):
        return data.copy()
    return jnp.asarray(data)


def load_checkpoint(path: str | os.PathLike, target: Any, strict: bool = True) -> dict:
    """Restore the States of ``target`` from a file written by :func:`save_checkpoint`.

    Every state is checked before anything is written: its path must be in the file (and, with
    ``strict=True``, every path of the file must be a state of ``target``), and its value must
    have the saved structure, shapes and dtypes. If anything differs, one
    :class:`StateShapeError` lists every mismatch and ``target`` is left unchanged.

    Args:
        path: the checkpoint file.
        target: the object tree to restore into (built the same way as the saved one).
        strict: require the file and ``target`` to hold exactly the same paths; with ``False``,
            states missing from either side are skipped.

    Returns:
        The ``metadata`` dict saved with the checkpoint.
    """
    path = os.fspath(path)
    content = _read(path)
    saved = {tuple(entry["path"]): entry for entry in content["states"]}
    problems: list[str] = []
    writes: list[tuple[State, Any]] = []
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
        new_leaves, why = [], []
        for i, (leaf, record) in enumerate(zip(leaves, records)):
            shape, dtype = _describe(leaf)
            where = f" (leaf {i})" if len(leaves) > 1 else ""
            if tuple(record["shape"]) != shape:
                why.append(f"shape {tuple(record['shape'])} saved, {shape} expected{where}")
            elif dtype is not None and record["dtype"] != dtype:
                why.append(f"dtype {record['dtype']} saved, {dtype} expected{where}")
            elif _is_key(leaf) != ("key_impl" in record):
                why.append(f"a PRNG key and a plain array do not match{where}")
            else:
                new_leaves.append(_decode_leaf(record, leaf))
        if why:
            problems.append(f"  {state_path}: {type(state).__name__} created at {state.source_info}: " + "; ".join(why))
        else:
            writes.append((state, jax.tree.unflatten(treedef, new_leaves)))
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
    for state, value in writes:
        state.value = value
    return content["metadata"]
