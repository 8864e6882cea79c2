"""Upstream brainstate's graph operations over our object graph (see ``_graph.py`` for what is searched).

``flatten`` / ``unflatten`` / ``graphdef`` split an object into a :class:`GraphDef` and a state
mapping and rebuild it; ``treefy_states`` and ``pop_states`` read and remove States;
``iter_leaf`` / ``iter_node`` walk the graph; ``split_context`` / ``merge_context`` split and
merge several objects that share States or sub-objects, so that the sharing survives.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Hashable, Iterator, Mapping, MutableMapping
from typing import Any, Generic, TypeVar, cast, overload

import jax

from ._errors import ConfigError, StateArgumentError, StateUsageError
from ._filter import FilterLike, partition
from ._flatted import FlattedDict, NestedDict, _values
from ._graph import (
    _DICT,
    _FLAT,
    _INFO,
    _LEAF,
    _OBJ,
    _REG,
    _SEQ,
    _STATE,
    GraphDef,
    _as_path,
    _children,
    _classify,
    _collect,
    _merge,
    _split,
)
from ._graph_registry import REGISTRY

__all__ = [
    "RefMap", "Static", "flatten", "unflatten", "graphdef", "treefy_states", "pop_states", "iter_leaf",
    "iter_node", "split_context", "merge_context", "SplitContext", "MergeContext",
]

Path = tuple[Hashable, ...]
A = TypeVar("A")
B = TypeVar("B")
_MAX_DEPTH = 2**31 - 1


class RefMap(MutableMapping[A, B]):
    """A mutable mapping keyed by object identity, so unhashable objects (and States) can be keys.

    Example:
        >>> from brainstate_core.graph import RefMap
        >>> a, b = [1], [1]
        >>> m = RefMap([(a, 'first')])
        >>> a in m, b in m, m[a]
        (True, False, 'first')
    """

    def __init__(self, mapping: Mapping[A, B] | Any = ()) -> None:
        self._entries: dict[int, tuple[A, B]] = {}
        self.update(mapping)

    def __getitem__(self, key: A) -> B:
        return self._entries[id(key)][1]

    def __setitem__(self, key: A, value: B) -> None:
        self._entries[id(key)] = (key, value)

    def __delitem__(self, key: A) -> None:
        del self._entries[id(key)]

    def __contains__(self, key: object) -> bool:
        return id(key) in self._entries

    def __iter__(self) -> Iterator[A]:
        return (key for key, _ in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return "RefMap({" + ", ".join(f"{k!r}: {v!r}" for k, v in self._entries.values()) + "})"


@dataclasses.dataclass(frozen=True)
class Static(Generic[A]):
    """A pytree node with no leaves whose ``value`` is static metadata (it must be hashable).

    Wrap a value in ``Static`` to pass it through JAX transformations as part of the tree
    structure rather than as a traced leaf.

    Example:
        >>> import jax
        >>> from brainstate_core.graph import Static
        >>> jax.tree.leaves([1.0, Static('relu')]), bool(jax.jit(lambda s: s.value == 'relu')(Static('relu')))
        ([1.0], True)
    """

    value: A


jax.tree_util.register_static(Static)


def _nest(pairs: list, what: str) -> NestedDict:
    if pairs and pairs[0][0] == ():
        raise StateArgumentError(
            f"graph.{what} takes an object that holds States, but got the State {pairs[0][1]!r} itself (created "
            f"at {pairs[0][1].source_info}), which has no path. Fix: pass a container, e.g. {{'state': state}}."
        )
    return FlattedDict(pairs).to_nest()


def _one_or_tuple(groups: list) -> Any:
    return groups[0] if len(groups) == 1 else tuple(groups)


def flatten(node: Any, /, *, treefy_state: bool = True) -> tuple[GraphDef, NestedDict]:
    """Split ``node`` into its :class:`GraphDef` and a :class:`NestedDict` of its States.

    Args:
        node: any object tree (not a bare State).
        treefy_state: ``True``: the mapping holds a :class:`TreefyState` per State (a pytree);
            ``False``: the State objects themselves.

    Returns:
        ``(graphdef, mapping)``; each State appears once (under its first path), however often it
        is shared. :func:`unflatten` rebuilds the object.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core import graph
        >>> w = bc.ParamState(jnp.ones(2))
        >>> graphdef, mapping = graph.flatten({'a': w, 'b': w})
        >>> mapping
        NestedDict({'a': TreefyState(ParamState, f32[2])})
        >>> twin = graph.unflatten(graphdef, mapping)
        >>> twin['a'] is twin['b'], twin['a'] is w
        (True, False)
    """
    graphdef_, found = _split(node)
    _nest(found[:1], "flatten")  # refuses a bare State before reading any value
    if treefy_state:
        found = [(path, state.to_state_ref()) for path, state in found]
    return graphdef_, _nest(found, "flatten")


def unflatten(graphdef: GraphDef, state_mapping: Mapping, /) -> Any:
    """Rebuild the object of ``graphdef`` from a state mapping: the inverse of :func:`flatten`.

    ``state_mapping`` is a :class:`NestedDict` or :class:`FlattedDict` whose leaves are
    :class:`TreefyState` objects or values (each becomes a fresh State of the type, name and
    metadata the graphdef recorded) or States (used as they are). Sharing of States and
    sub-objects is restored. Raises :class:`StateShapeError` for missing or unknown paths.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> graphdef, mapping = graph.flatten([bc.State(1.0)], treefy_state=False)
        >>> graph.unflatten(graphdef, mapping)[0] is mapping[0]
        True
    """
    return _merge(graphdef, (state_mapping,))


def graphdef(node: Any) -> GraphDef:
    """The :class:`GraphDef` of ``node`` (what :func:`flatten` returns first).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> graph.graphdef({'w': bc.ParamState(1.0)})
        GraphDef(dict, 1 states)
    """
    return _split(node)[0]


@overload
def treefy_states(node: Any, filter: FilterLike = ..., /) -> NestedDict: ...
@overload
def treefy_states(node: Any, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[NestedDict, ...]: ...
def treefy_states(node: Any, *filters: FilterLike) -> NestedDict | tuple[NestedDict, ...]:
    """The States of ``node`` as a :class:`NestedDict` of :class:`TreefyState` (a pytree).

    Filters work as in :func:`states`: with several, one mapping per filter is returned.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> model = {'w': bc.ParamState(1.0), 'h': bc.HiddenState(0.0)}
        >>> graph.treefy_states(model, bc.ParamState)
        NestedDict({'w': TreefyState(ParamState, 1.0)})
    """
    groups = partition(_collect(node, False), filters)
    return _one_or_tuple([_nest([(p, s.to_state_ref()) for p, s in g], "treefy_states") for g in groups])


def _visit(root: Any, on_child: Any) -> None:
    """Depth-first over every container once: ``on_child(parent, info, key, path, child, cinfo, level)``
    is called for every child, and returns whether to descend into it."""
    seen = {id(root)}

    def visit(obj: Any, info: tuple, path: Path, level: int) -> None:
        source, keys = _children(obj, info)
        flat = info[0] == _FLAT
        for key in keys:
            child = source[key]
            cinfo = _INFO.get(type(child)) or _classify(type(child))
            cpath = path + _as_path(key) if flat else path + (key,)
            clevel = level + 1 if cinfo[0] in (_OBJ, _REG) else level
            if on_child(obj, info, key, cpath, child, cinfo, clevel) and id(child) not in seen:
                seen.add(id(child))
                visit(child, cinfo, cpath, clevel)

    info = _INFO.get(type(root)) or _classify(type(root))
    if info[0] not in (_LEAF, _STATE):
        visit(root, info, (), 0)


@overload
def pop_states(node: Any, filter: FilterLike, /) -> NestedDict: ...
@overload
def pop_states(node: Any, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[NestedDict, ...]: ...
def pop_states(node: Any, *filters: FilterLike) -> NestedDict | tuple[NestedDict, ...]:
    """Remove the States matching ``filters`` from ``node`` and return them, one mapping per filter.

    Each State goes to the first filter it matches (``(path, state)`` under its first path) and is
    returned once however often it is shared; every reference to it in ``node`` is removed (dict
    entries deleted, attributes deleted). Nothing is removed if any reference sits in a list or
    tuple (removing it would shift or break the sequence).

    Raises:
        ConfigError: no filter is given.
        StateUsageError: a matching State is referenced from a list or tuple.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> model = {'w': bc.ParamState(1.0), 'h': bc.HiddenState(0.0)}
        >>> graph.pop_states(model, bc.HiddenState)
        NestedDict({'h': HiddenState(0.0)})
        >>> model
        {'w': ParamState(1.0)}
    """
    if not filters:
        raise ConfigError("graph.pop_states needs at least one filter, e.g. pop_states(model, brainstate.HiddenState).")
    groups = partition(_collect(node, False), filters)
    chosen = {id(s) for group in groups for _, s in group}
    where: list = []

    def on_child(parent: Any, info: tuple, key: Any, path: Path, child: Any, cinfo: tuple, level: int) -> bool:
        if id(child) in chosen:
            if info[0] == _SEQ:
                raise StateUsageError(
                    f"graph.pop_states cannot remove {child!r} (created at {child.source_info}) from the "
                    f"{type(parent).__name__} at {path[:-1]}: removing an item would shift or break the "
                    "sequence (nothing was removed). Fix: keep the state in a dict or an attribute, or read it "
                    "with graph.states instead."
                )
            where.append((parent, info[0], key))
        return cinfo[0] not in (_LEAF, _STATE)

    popped = [_nest(group, "pop_states") for group in groups]
    _visit(node, on_child)
    for parent, kind, key in where:
        if kind in (_DICT, _FLAT):
            del parent[key]
        elif kind == _REG:
            REGISTRY[type(parent)].pop_key(parent, key)
        else:
            delattr(parent, key)
    return _one_or_tuple(popped)


def _check_hierarchy(allowed_hierarchy: tuple[int, int]) -> tuple[int, int]:
    lo, hi = allowed_hierarchy
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
        raise ConfigError(f"allowed_hierarchy must be (low, high) with 0 <= low <= high; got {allowed_hierarchy!r}.")
    return lo, hi


def iter_leaf(node: Any, allowed_hierarchy: tuple[int, int] = (0, _MAX_DEPTH)) -> Iterator[tuple[Path, Any]]:
    """Yield ``(path, value)`` for every leaf of the graph: States, arrays, numbers, other objects.

    Containers are searched as in :func:`states` and each is visited once; a State reachable along
    several paths is yielded once, under its first path. ``allowed_hierarchy=(low, high)`` keeps
    the leaves lying under ``low`` to ``high`` searched objects (the depth grows by one per object
    searched through its attributes, not per list or dict).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> s = bc.State(1.0)
        >>> list(graph.iter_leaf({'a': s, 'b': [s, 2]}))
        [(('a',), State(1.0)), (('b', 1), 2)]
    """
    lo, hi = _check_hierarchy(allowed_hierarchy)
    out: list = []
    seen_states: set = set()

    def on_child(parent: Any, info: tuple, key: Any, path: Path, child: Any, cinfo: tuple, level: int) -> bool:
        kind = cinfo[0]
        if kind == _STATE or kind == _LEAF:
            if kind == _STATE:
                if id(child) in seen_states:
                    return False
                seen_states.add(id(child))
            if lo <= level <= hi:
                out.append((path, child))
            return False
        return level <= hi

    info = _INFO.get(type(node)) or _classify(type(node))
    if info[0] in (_LEAF, _STATE):
        out.append(((), node))
    else:
        _visit(node, on_child)
    yield from out


def iter_node(node: Any, allowed_hierarchy: tuple[int, int] = (0, _MAX_DEPTH)) -> Iterator[tuple[Path, Any]]:
    """Yield ``(path, node)`` for every :class:`Node` of the graph, children before their parents.

    Each Node is yielded once, under its first path; ``node`` itself (depth 0) comes last.
    ``allowed_hierarchy`` bounds the depth as in :func:`iter_leaf`.

    Example:
        >>> from brainstate_core import graph
        >>> class Cell(graph.Node):
        ...     pass
        >>> class Net(graph.Node):
        ...     def __init__(self):
        ...         self.cells = [Cell(), Cell()]
        >>> [path for path, _ in graph.iter_node(Net())]
        [('cells', 0), ('cells', 1), ()]
    """
    lo, hi = _check_hierarchy(allowed_hierarchy)
    info = _INFO.get(type(node)) or _classify(type(node))
    seen = {id(node)}

    def visit(obj: Any, info: tuple, path: Path, level: int) -> Iterator[tuple[Path, Any]]:
        source, keys = _children(obj, info)
        flat = info[0] == _FLAT
        for key in keys:
            child = source[key]
            cinfo = _INFO.get(type(child)) or _classify(type(child))
            clevel = level + 1 if cinfo[0] in (_OBJ, _REG) else level
            if cinfo[0] in (_LEAF, _STATE) or id(child) in seen or clevel > hi:
                continue
            seen.add(id(child))
            yield from visit(child, cinfo, path + _as_path(key) if flat else path + (key,), clevel)
        if info[0] in (_OBJ, _REG) and info[1] and level >= lo:
            yield path, obj

    if info[0] not in (_LEAF, _STATE):
        yield from visit(node, info, (), 0)


class SplitContext:
    """Splits several objects with one reference index (from :func:`split_context`)."""

    def __init__(self) -> None:
        self.ref_index: RefMap | None = RefMap()
        self._memo: dict = {}

    def treefy_split(self, node: Any, *filters: FilterLike) -> tuple:
        """Like ``graph.treefy_split``; States (and sub-objects) already split in this context are
        references, not owned again: their values are not in the returned mappings."""
        if self.ref_index is None:
            raise StateUsageError("This split_context has ended. Fix: split inside its `with` block.")
        graphdef_, found = _split(node, self._memo, self.ref_index)
        return (graphdef_, *_values(found, filters))


class MergeContext:
    """Merges graphdefs of one :func:`split_context`, restoring their sharing (from :func:`merge_context`)."""

    def __init__(self) -> None:
        self.index_ref: dict | None = {}
        self._memo: dict = {}

    def treefy_merge(self, graphdef: GraphDef, *values: Mapping) -> Any:
        """Like ``graph.treefy_merge``; States and sub-objects shared with graphdefs merged earlier in
        this context are the same objects."""
        if self.index_ref is None:
            raise StateUsageError("This merge_context has ended. Fix: merge inside its `with` block.")
        return _merge(graphdef, values, self._memo, self.index_ref)


@contextlib.contextmanager
def split_context() -> Iterator[tuple[SplitContext, RefMap]]:
    """Split several objects that share States or sub-objects: yields ``(ctx, ref_index)``.

    ``ctx.treefy_split`` works like ``graph.treefy_split``; ``ref_index`` maps every State split so
    far to its index in the context. Merge the graphdefs in the same order in a
    :func:`merge_context` to get objects that share exactly what the originals shared.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> w = bc.ParamState(1.0)
        >>> a, b = {'w': w}, {'w': w, 'b': bc.State(0.0)}
        >>> with graph.split_context() as (ctx, _):
        ...     (def_a, val_a), (def_b, val_b) = ctx.treefy_split(a), ctx.treefy_split(b)
        >>> list(val_b)  # w belongs to a
        [('b',)]
        >>> with graph.merge_context() as (ctx, _):
        ...     a2, b2 = ctx.treefy_merge(def_a, val_a), ctx.treefy_merge(def_b, val_b)
        >>> a2['w'] is b2['w'], a2['w'] is w
        (True, False)
    """
    ctx = SplitContext()
    try:
        yield ctx, cast(RefMap, ctx.ref_index)  # a new context's: not None
    finally:
        ctx.ref_index = None
        ctx._memo = {}


@contextlib.contextmanager
def merge_context() -> Iterator[tuple[MergeContext, dict]]:
    """Merge graphdefs made in one :func:`split_context`: yields ``(ctx, index_ref)``.

    ``ctx.treefy_merge`` works like ``graph.treefy_merge``; ``index_ref`` maps each State's index
    (as in the split context's ``ref_index``) to the State built for it. See
    :func:`split_context` for an example.

    Example:
        >>> from brainstate_core import graph
        >>> with graph.merge_context() as (ctx, index_ref):
        ...     pass
        >>> index_ref
        {}
    """
    ctx = MergeContext()
    try:
        yield ctx, cast(dict, ctx.index_ref)  # a new context's: not None
    finally:
        ctx.index_ref = None
        ctx._memo = {}
