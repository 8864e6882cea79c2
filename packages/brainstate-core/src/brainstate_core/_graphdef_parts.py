"""The parts of a :class:`GraphDef`, as upstream names them: a root edge and one NodeSpec per node.

A GraphDef keeps a structural template of the object (see ``_graph.py``); ``graphdef.root`` and
``graphdef.node_specs`` describe that template with these frozen records, for code that inspects
a graph's structure. Graph nodes (Nodes, plain searched objects, registered types) are listed once
in ``node_specs`` and referenced by index, so sharing and cycles show as equal indices; lists,
tuples and dicts are described inline, once per occurrence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

from ._graph import _FLAT, _INFO, _LEAF, _OBJ, _REG, _STATE, _as_path, _children, _classify
from ._graph_registry import REGISTRY

__all__ = ["NodeEdge", "StateEdge", "StateLeafEdge", "PytreeEdge", "StaticEdge", "NodeSpec"]

Path = tuple[Hashable, ...]


@dataclasses.dataclass(frozen=True)
class NodeEdge:
    """A reference to the graph node ``node_specs[index]``; every reference to a node has its index.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> class Cell(graph.Node):
        ...     def __init__(self):
        ...         self.w = bc.ParamState(1.0)
        ...         self.size = 3
        >>> gd = graph.graphdef([Cell()])
        >>> gd.root.fields[0][1]
        NodeEdge(index=0)
    """

    index: int


@dataclasses.dataclass(frozen=True)
class StateEdge:
    """A State: its index (as in ``split_context``'s ``ref_index``), ``path`` in the state mapping
    on its first occurrence (``None`` on later ones and on States another split owns), its type.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> class Cell(graph.Node):
        ...     def __init__(self):
        ...         self.w = bc.ParamState(1.0)
        ...         self.size = 3
        >>> gd = graph.graphdef([Cell()])
        >>> edge = dict(gd.node_specs[0].fields)['w']
        >>> type(edge).__name__, edge.path, edge.type.__name__
        ('StateEdge', (0, 'w'), 'ParamState')
    """

    index: int
    path: Path | None
    type: type


@dataclasses.dataclass(frozen=True)
class StateLeafEdge:
    """A ``TreefyState`` held by the object, at ``path``.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> graph.graphdef([bc.TreefyState(bc.State, 1.0)]).root.fields[0][1]
        StateLeafEdge(path=(0,))
    """

    path: Path


@dataclasses.dataclass(frozen=True)
class PytreeEdge:
    """A list, tuple or dict described inline: its type (``metadata``) and ``(key, edge)`` fields.

    Example:
        >>> from brainstate_core import graph
        >>> graph.graphdef({'a': 1}).root
        PytreeEdge(metadata=<class 'dict'>, fields=(('a', StaticEdge(value=1)),))
    """

    metadata: Any
    fields: tuple


@dataclasses.dataclass(frozen=True)
class StaticEdge:
    """Any other leaf (a number, a string, an array, a function), carried as it is.

    Example:
        >>> from brainstate_core import graph
        >>> graph.graphdef(['x']).root.fields[0][1]
        StaticEdge(value='x')
    """

    value: Any


@dataclasses.dataclass(frozen=True)
class NodeSpec:
    """One graph node: its type, index, metadata (``(type,)``, or a registered type's flatten
    metadata) and its ``(key, edge)`` fields in key order.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> class Cell(graph.Node):
        ...     def __init__(self):
        ...         self.w = bc.ParamState(1.0)
        ...         self.size = 3
        >>> gd = graph.graphdef([Cell()])
        >>> gd.root
        PytreeEdge(metadata=<class 'list'>, fields=((0, NodeEdge(index=0)),))
        >>> [(key, type(e).__name__) for key, e in gd.node_specs[0].fields]
        [('size', 'StaticEdge'), ('w', 'StateEdge')]
        >>> gd.node_specs[0].fields[1][1].path
        (0, 'w')
    """

    type: type
    index: int
    metadata: Any
    fields: tuple


def describe(template: Any, states: tuple, indices: tuple, refs: tuple) -> tuple[Any, tuple[NodeSpec, ...]]:
    """``(root_edge, node_specs)`` of a GraphDef's template (its owned and referenced State templates)."""
    from ._treefy import TreefyState

    state_index = {id(t): i for t, i in zip(states, indices)}
    state_index.update((id(t), i) for i, t in refs)
    unseen = {id(t) for t in states}
    node_index: dict[int, int] = {}
    specs: list[Any] = []  # NodeSpecs, each reserved (None) before its children are described

    def edge(obj: Any, path: Path) -> Any:
        info = _INFO.get(type(obj)) or _classify(type(obj))
        kind = info[0]
        if kind == _STATE:
            first = id(obj) in unseen
            unseen.discard(id(obj))
            return StateEdge(state_index[id(obj)], path if first else None, type(obj))
        if isinstance(obj, TreefyState):
            return StateLeafEdge(path)
        if kind == _LEAF:
            return StaticEdge(obj)
        if kind in (_OBJ, _REG):
            index = node_index.get(id(obj))
            if index is not None:
                return NodeEdge(index)
            node_index[id(obj)] = index = len(node_index)
            specs.append(None)  # reserved: children get later indices
            metadata = REGISTRY[type(obj)].flatten(obj)[1] if kind == _REG else (type(obj),)
            specs[index] = NodeSpec(type(obj), index, metadata, fields(obj, info, path))
            return NodeEdge(index)
        return PytreeEdge(type(obj), fields(obj, info, path))

    def fields(obj: Any, info: tuple, path: Path) -> tuple:
        source, keys = _children(obj, info)
        flat = info[0] == _FLAT
        return tuple((key, edge(source[key], path + _as_path(key) if flat else path + (key,))) for key in keys)

    root = edge(template, ())
    return root, tuple(specs)
