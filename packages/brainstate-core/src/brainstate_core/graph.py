"""The object graph: the States and Nodes of any object tree, by path, and filters to select them.

Example:
    >>> import brainstate_core as bc, jax.numpy as jnp
    >>> from brainstate_core import graph
    >>> model = {'encoder': [bc.ParamState(jnp.ones(3))], 'h': bc.HiddenState(jnp.zeros(3))}
    >>> graph.states(model, bc.ParamState)
    FlattedDict({('encoder', 0): ParamState(f32[3])})
"""

from ._filter import All as All
from ._filter import Any as Any
from ._filter import Everything as Everything
from ._filter import Filter as Filter
from ._filter import Not as Not
from ._filter import Nothing as Nothing
from ._filter import OfType as OfType
from ._filter import PathContains as PathContains
from ._filter import WithTag as WithTag
from ._filter import partition as partition
from ._filter import to_predicate as to_predicate
from ._graph import GraphDef as GraphDef
from ._graph import clone as clone
from ._graph import nodes as nodes
from ._graph import states as states
from ._graph import treefy_merge as treefy_merge
from ._graph import treefy_split as treefy_split
from ._graph import update_states as update_states
from ._node import Node as Node
