"""Custom graph node types: how the object graph reads, rebuilds and edits objects of a registered type.

Most objects need no registration: the graph searches any object's ``__dict__`` and
``__slots__``. Register a type whose children live elsewhere (a C extension, a container keeping
items in a private structure) so that ``graph.states``, ``treefy_split`` / ``treefy_merge``,
``clone``, ``pop_states`` and the iterators see its children.
"""

from __future__ import annotations

import builtins
import copy
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

from ._errors import ConfigError

__all__ = ["register_graph_node_type"]


class NodeImpl(NamedTuple):
    """The functions that :func:`register_graph_node_type` was given for one type."""

    type: type
    flatten: Callable[[Any], tuple[Sequence[tuple[Hashable, Any]], Any]]
    set_key: Callable[[Any, Hashable, Any], None]
    pop_key: Callable[[Any, Hashable], Any]
    create_empty: Callable[[Any], Any]
    clear: Callable[[Any], None]

    def items(self, node: Any) -> tuple[list, Any]:
        """``([(key, child), ...], metadata)`` of ``node``."""
        items, metadata = self.flatten(node)
        return list(items), metadata


REGISTRY: dict[type, NodeImpl] = {}


def register_graph_node_type(
    type: type,  # noqa: A002 - upstream's name
    flatten: Callable[[Any], tuple[Sequence[tuple[Hashable, Any]], Any]],
    set_key: Callable[[Any, Hashable, Any], None],
    pop_key: Callable[[Any, Hashable], Any],
    create_empty: Callable[[Any], Any],
    clear: Callable[[Any], None],
) -> None:
    """Register a mutable type as a graph node (a :class:`Node`-like object with custom children).

    Args:
        type: the class (exactly this class; register subclasses separately).
        flatten: ``node -> (items, metadata)``: ``items`` are the ``(key, child)`` pairs in order,
            ``metadata`` a (preferably hashable) value that ``create_empty`` needs.
        set_key: ``(node, key, child) -> None``, sets one child.
        pop_key: ``(node, key) -> child``, removes one child (used by ``graph.pop_states``).
        create_empty: ``metadata -> node``, an empty node to fill with ``set_key``.
        clear: ``node -> None``, removes every child.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core import graph
        >>> class Bag:
        ...     def __init__(self):
        ...         self._items = {}
        >>> graph.register_graph_node_type(
        ...     Bag, flatten=lambda b: (sorted(b._items.items()), None),
        ...     set_key=lambda b, k, v: b._items.__setitem__(k, v), pop_key=lambda b, k: b._items.pop(k),
        ...     create_empty=lambda _: Bag(), clear=lambda b: b._items.clear())
        >>> bag = Bag(); bag._items['w'] = bc.ParamState(1.0)
        >>> graph.states(bag), graph.clone(bag)._items['w'] is bag._items['w']
        (FlattedDict({('w',): ParamState(1.0)}), False)
    """
    from ._graph import _INFO

    functions = {"flatten": flatten, "set_key": set_key, "pop_key": pop_key, "create_empty": create_empty,
                 "clear": clear}
    bad = [name for name, fn in functions.items() if not callable(fn)]
    if not isinstance(type, builtins.type) or bad:
        raise ConfigError(
            f"register_graph_node_type({type!r}, ...) needs a class and five functions; not callable: {bad}. "
            "Fix: pass flatten, set_key, pop_key, create_empty and clear as functions."
        )
    REGISTRY[type] = NodeImpl(type, flatten, set_key, pop_key, create_empty, clear)
    _INFO.pop(type, None)



def copy_graph(root: Any, memo: dict, registered: Sequence) -> Any:
    """``copy.deepcopy(root, memo)`` that rebuilds registered nodes with their own functions.

    ``registered`` holds ``(node, impl)`` for every registered node reachable from ``root``: each gets
    an empty shell in ``memo`` first (so sharing and cycles resolve), and is filled afterwards.
    """
    shells = []
    for node, impl in registered:
        if id(node) not in memo:
            items, metadata = impl.items(node)
            memo[id(node)] = shell = impl.create_empty(metadata)
            shells.append((shell, impl, items))
    out = copy.deepcopy(root, memo)
    for shell, impl, items in shells:
        for key, child in items:
            impl.set_key(shell, key, copy.deepcopy(child, memo))
    return out
