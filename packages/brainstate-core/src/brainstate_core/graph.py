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
from ._graph_ops import MergeContext as MergeContext
from ._graph_ops import RefMap as RefMap
from ._graph_ops import SplitContext as SplitContext
from ._graph_ops import Static as Static
from ._graph_ops import flatten as flatten
from ._graph_ops import graphdef as graphdef
from ._graph_ops import iter_leaf as iter_leaf
from ._graph_ops import iter_node as iter_node
from ._graph_ops import merge_context as merge_context
from ._graph_ops import pop_states as pop_states
from ._graph_ops import split_context as split_context
from ._graph_ops import treefy_states as treefy_states
from ._graph_ops import unflatten as unflatten
from ._graph_registry import register_graph_node_type as register_graph_node_type
from ._graph_tree import NodeStates as NodeStates
from ._graph_tree import graph_to_tree as graph_to_tree
from ._graph_tree import tree_to_graph as tree_to_graph
from ._graphdef_parts import NodeEdge as NodeEdge
from ._graphdef_parts import NodeSpec as NodeSpec
from ._graphdef_parts import PytreeEdge as PytreeEdge
from ._graphdef_parts import StateEdge as StateEdge
from ._graphdef_parts import StateLeafEdge as StateLeafEdge
from ._graphdef_parts import StaticEdge as StaticEdge
from ._node import Node as Node
