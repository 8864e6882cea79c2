"""Graph <-> pytree: replace the graph objects inside a pytree by :class:`NodeStates`, and back.

The result of :func:`graph_to_tree` is a plain pytree of arrays that raw JAX transformations
accept; :func:`tree_to_graph` (inside or outside the transformation) rebuilds the objects with
the sharing they had, since all of them are split in one ``split_context`` and merged in one
``merge_context``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import jax

from ._errors import StateUsageError
from ._flatted import FlattedDict
from ._graph import _INFO, _OBJ, _REG, _STATE, GraphDef, _classify, _collect
from ._graph_ops import MergeContext, SplitContext, merge_context, split_context

__all__ = ["NodeStates", "graph_to_tree", "tree_to_graph"]


class NodeStates:
    """A pytree standing for one graph object: its :class:`GraphDef` (static) and state mappings.

    Attributes:
        states: the state mappings (the pytree children).
        metadata: static, hashable extra data.

    Example:
        >>> import jax, brainstate_core as bc
        >>> from brainstate_core import graph
        >>> ns = graph.NodeStates.from_split(*graph.treefy_split({'w': bc.ParamState(1.0)}))
        >>> jax.tree.leaves(ns), ns.graphdef
        ([1.0], GraphDef(dict, 1 states))
    """

    __slots__ = ("_graphdef", "states", "metadata")

    def __init__(self, graphdef: GraphDef | None, states: tuple, metadata: Any = None) -> None:
        self._graphdef = graphdef
        self.states = tuple(states)
        self.metadata = metadata

    @property
    def graphdef(self) -> GraphDef:
        """The structure; raises :class:`StateUsageError` if this NodeStates was made without one."""
        if self._graphdef is None:
            raise StateUsageError(
                "This NodeStates carries state mappings only (from_states/from_prefixes), no GraphDef. "
                "Fix: build it with NodeStates.from_split(graphdef, *states)."
            )
        return self._graphdef

    @property
    def state(self) -> Any:
        """The one state mapping; raises :class:`StateUsageError` if there are several."""
        if len(self.states) != 1:
            raise StateUsageError(
                f"NodeStates.state needs exactly one state mapping, but this one has {len(self.states)}. "
                "Fix: read NodeStates.states."
            )
        return self.states[0]

    @classmethod
    def from_split(cls, graphdef: GraphDef, state: Any, /, *states: Any, metadata: Any = None) -> NodeStates:
        """From the result of ``graph.treefy_split``."""
        return cls(graphdef, (state, *states), metadata)

    @classmethod
    def from_states(cls, state: Any, /, *states: Any) -> NodeStates:
        """State mappings without a GraphDef."""
        return cls(None, (state, *states))

    @classmethod
    def from_prefixes(cls, prefixes: Any, /, *, metadata: Any = None) -> NodeStates:
        """Prefixes (one per state mapping) without a GraphDef, as transformations' axis specs use."""
        return cls(None, tuple(prefixes), metadata)

    def __repr__(self) -> str:
        return f"NodeStates({self._graphdef!r}, {len(self.states)} state mappings)"


jax.tree_util.register_pytree_with_keys(
    NodeStates,
    lambda n: ([(jax.tree_util.GetAttrKey("states"), n.states)], (n._graphdef, n.metadata)),
    lambda aux, children: NodeStates(aux[0], next(iter(children)), aux[1]),
    lambda n: ([n.states], (n._graphdef, n.metadata)),
)


def _is_graph_leaf(x: Any) -> bool:
    """A State, a registered graph node, or an object searched through its attributes (a Node, a
    plain user object) that is not a pytree."""
    kind = (_INFO.get(type(x)) or _classify(type(x)))[0]
    return kind == _STATE or kind == _REG or (kind == _OBJ and not _is_pytree_node(x))


def _is_pytree_node(x: Any) -> bool:
    return not jax.tree_util.treedef_is_leaf(jax.tree.structure(x, is_leaf=lambda y: y is not x))


def _plain_key(entry: Any) -> Hashable:
    for attr in ("key", "idx", "name"):
        if hasattr(entry, attr):
            return getattr(entry, attr)
    return str(entry)


def _default_split(ctx: SplitContext, path: tuple, leaf: Any) -> NodeStates:
    return NodeStates.from_split(*ctx.treefy_split(leaf))


def graph_to_tree(
    tree: Any,
    /,
    *,
    split_fn: Callable[[SplitContext, tuple, Any], Any] = _default_split,
    map_non_graph_nodes: bool = False,
) -> tuple[Any, FlattedDict]:
    """Replace every graph object in ``tree`` by a :class:`NodeStates`: a pure pytree of arrays.

    Graph objects are States and objects searched through their attributes (``Node`` instances,
    plain user objects) that are not themselves pytrees. All of them are split in one
    ``split_context``, so a State shared by two of them is carried once and
    :func:`tree_to_graph` restores the sharing.

    Args:
        tree: a pytree whose leaves may be graph objects.
        split_fn: called as ``split_fn(ctx, keypath, leaf)`` for each graph object; the default
            returns ``NodeStates.from_split(*ctx.treefy_split(leaf))``.
        map_non_graph_nodes: also pass the other leaves through ``split_fn``.

    Returns:
        ``(pure_tree, states)``: ``states`` maps ``(leaf path..., state path...)`` to every State
        found, each once.

    Example:
        >>> import jax, brainstate_core as bc
        >>> from brainstate_core import graph
        >>> w = bc.ParamState(2.0)
        >>> pure, found = graph.graph_to_tree([{'w': w}, {'w': w}])
        >>> list(found)  # the shared State is carried once
        [(0, 'w')]
        >>> def f(tree):
        ...     a, b = graph.tree_to_graph(tree)
        ...     a['w'].value = a['w'].value * 3
        ...     return b['w'].value
        >>> jax.jit(f)(pure)
        Array(6., dtype=float32, weak_type=True)
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_graph_leaf)
    found = FlattedDict()
    out = []
    with split_context() as (ctx, ref_index):
        for keypath, leaf in leaves:
            path = tuple(_plain_key(k) for k in keypath)
            if _is_graph_leaf(leaf):
                before = len(ref_index)
                result = split_fn(ctx, keypath, leaf)
                new = list(ref_index)[before:]
                if new:
                    ids = {id(s) for s in new}
                    found.update((path + p, s) for p, s in _collect(leaf, False) if id(s) in ids)
                out.append(result)
            else:
                out.append(split_fn(ctx, keypath, leaf) if map_non_graph_nodes else leaf)
    return jax.tree.unflatten(treedef, out), found


def _default_merge(ctx: MergeContext, path: tuple, leaf: Any) -> Any:
    if not isinstance(leaf, NodeStates):
        raise StateUsageError(
            f"tree_to_graph expected a NodeStates at {jax.tree_util.keystr(path)}, got {type(leaf).__name__}. "
            "Fix: pass the tree that graph_to_tree returned, or give is_node_leaf= that matches your leaves."
        )
    return ctx.treefy_merge(leaf.graphdef, *leaf.states)


def _is_node_states(x: Any) -> bool:
    return isinstance(x, NodeStates)


def tree_to_graph(
    tree: Any,
    /,
    *,
    merge_fn: Callable[[MergeContext, tuple, Any], Any] = _default_merge,
    is_node_leaf: Callable[[Any], bool] = _is_node_states,
    is_leaf: Callable[[Any], bool] = _is_node_states,
    map_non_graph_nodes: bool = False,
) -> Any:
    """The inverse of :func:`graph_to_tree`: rebuild every :class:`NodeStates` of ``tree``.

    All are merged in one ``merge_context``, in leaf order, so objects that shared States or
    sub-objects share the new ones. Inside a raw JAX transformation the new States belong to
    that trace and may hold its tracers.

    Args:
        tree: a pytree from :func:`graph_to_tree` (possibly transformed).
        merge_fn: called as ``merge_fn(ctx, keypath, leaf)`` for each node leaf.
        is_node_leaf: which leaves are merged.
        is_leaf: where flattening ``tree`` stops.
        map_non_graph_nodes: also pass the other leaves through ``merge_fn``.

    Example:
        >>> import jax, jax.numpy as jnp, brainstate_core as bc
        >>> from brainstate_core import graph
        >>> pure, _ = graph.graph_to_tree({'w': bc.ParamState(jnp.ones(2))})
        >>> jax.vmap(lambda t: graph.tree_to_graph(t)['w'].value.sum(), in_axes=None, axis_size=3)(pure)
        Array([2., 2., 2.], dtype=float32)
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_leaf)
    out = []
    with merge_context() as (ctx, _):
        for keypath, leaf in leaves:
            if is_node_leaf(leaf) or map_non_graph_nodes:
                leaf = merge_fn(ctx, keypath, leaf)
            out.append(leaf)
    return jax.tree.unflatten(treedef, out)
