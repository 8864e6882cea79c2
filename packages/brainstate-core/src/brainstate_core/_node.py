"""``Node``: the base class of objects that own States (``brainstate.nn.Module`` extends it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, overload

if TYPE_CHECKING:
    from ._filter import FilterLike
    from ._flatted import FlattedDict

__all__ = ["Node"]


class Node:
    """An object of the object graph: its attributes are searched for States.

    Any object with a ``__dict__`` (or ``__slots__``) is searched by ``graph.states``; deriving
    from ``Node`` adds the :meth:`states` and :meth:`nodes` shortcuts, makes the object show up in
    ``graph.nodes``, and lets the class hide attributes from the search with ``_graph_skip``.
    ``Node`` needs no ``__init__``: subclasses need not call ``super().__init__()``.

    Attributes:
        _graph_skip: names of attributes that the graph functions do not search (read once per
            class). Use it for back-references (a parent, a cache) whose States belong elsewhere.

    Example:
        >>> import brainstate_core as bc, jax.numpy as jnp
        >>> from brainstate_core._node import Node
        >>> class Linear(Node):
        ...     def __init__(self, n):
        ...         self.weight = bc.ParamState(jnp.ones((n, n)))
        ...         self.bias = bc.ParamState(jnp.zeros(n))
        >>> class MLP(Node):
        ...     def __init__(self):
        ...         self.layers = [Linear(2), Linear(2)]
        >>> for path, state in MLP().states().items():
        ...     print(path, state)
        ('layers', 0, 'bias') ParamState(f32[2])
        ('layers', 0, 'weight') ParamState(f32[2,2])
        ('layers', 1, 'bias') ParamState(f32[2])
        ('layers', 1, 'weight') ParamState(f32[2,2])
        >>> list(MLP().nodes(Linear))
        [('layers', 0), ('layers', 1)]
    """

    __slots__ = ()
    _graph_skip: ClassVar[tuple[str, ...]] = ()

    @overload
    def states(self, filter: FilterLike = ..., /) -> FlattedDict: ...
    @overload
    def states(self, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[FlattedDict, ...]: ...
    def states(self, *filters: FilterLike) -> FlattedDict | tuple[FlattedDict, ...]:
        """The States reachable from this object, by path; see ``brainstate.graph.states``."""
        from ._graph import states

        return states(self, *filters)

    @overload
    def nodes(self, filter: FilterLike = ..., /) -> FlattedDict: ...
    @overload
    def nodes(self, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[FlattedDict, ...]: ...
    def nodes(self, *filters: FilterLike) -> FlattedDict | tuple[FlattedDict, ...]:
        """The Nodes reachable from this object (itself under ``()``); see ``brainstate.graph.nodes``."""
        from ._graph import nodes

        return nodes(self, *filters)
