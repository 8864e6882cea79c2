"""Utilities: path-keyed dictionaries, filters, pretty reprs, immutable pytree containers, dict
helpers and a bounded cache.

- :class:`FlattedDict` / :class:`NestedDict`: what the object graph returns;
  :func:`flat_mapping` / :func:`nest_mapping` convert between them and any nested mapping.
- :mod:`brainstate_core.util.filter`: the graph filters (``WithTag``, ``OfType``, ...), also
  re-exported here.
- Pretty reprs: :class:`PrettyRepr`, :class:`PrettyObject`, :class:`PrettyList`,
  :class:`PrettyDict`, :class:`PrettyMapping`, ...
- Pytree containers: :func:`dataclass`, :class:`PyTreeNode`, :func:`field`,
  :class:`FrozenDict`, :func:`freeze`, :func:`unfreeze`.
- Dict helpers: :class:`DotDict`, :class:`DictManager`, :func:`merge_dicts`, :func:`flatten_dict`,
  :func:`unflatten_dict`; and :class:`BoundedCache`, :func:`split_total`,
  :func:`get_unique_name`, :func:`clear_buffer_memory`.

Example:
    >>> from brainstate_core.util import FlattedDict
    >>> FlattedDict({('a', 'b'): 1, ('a', 'c'): 2}).to_nest()
    NestedDict({'a': NestedDict({'b': 1, 'c': 2})})
"""

from .._flatted import FlattedDict as FlattedDict
from .._flatted import NestedDict as NestedDict
from ..internal import set_public_home as _set_public_home
from . import filter as filter  # noqa: A004 - upstream's public submodule name
from . import struct as struct
from ._cache import BoundedCache as BoundedCache
from ._dict_manager import DictManager as DictManager
from ._dicts import DotDict as DotDict
from ._dicts import flatten_dict as flatten_dict
from ._dicts import merge_dicts as merge_dicts
from ._dicts import unflatten_dict as unflatten_dict
from ._misc import StateJaxTracer as StateJaxTracer
from ._misc import clear_buffer_memory as clear_buffer_memory
from ._misc import get_unique_name as get_unique_name
from ._misc import is_instance_eval as is_instance_eval
from ._misc import not_instance_eval as not_instance_eval
from ._misc import split_total as split_total
from ._pretty_repr import MappingReprMixin as MappingReprMixin
from ._pretty_repr import PrettyAttr as PrettyAttr
from ._pretty_repr import PrettyMapping as PrettyMapping
from ._pretty_repr import PrettyRepr as PrettyRepr
from ._pretty_repr import PrettyType as PrettyType
from ._pretty_repr import yield_unique_pretty_repr_items as yield_unique_pretty_repr_items
from ._pretty_tree import PrettyDict as PrettyDict
from ._pretty_tree import PrettyList as PrettyList
from ._pretty_tree import PrettyObject as PrettyObject
from ._pretty_tree import flat_mapping as flat_mapping
from ._pretty_tree import nest_mapping as nest_mapping
from ._repr_layout import ReprOptions as ReprOptions
from ._repr_layout import ReprSummary as ReprSummary
from ._repr_layout import format_array_like as format_array_like
from ._repr_layout import format_bytes as format_bytes
from ._repr_layout import get_repr_options as get_repr_options
from ._repr_layout import pretty_format as pretty_format
from ._repr_layout import pretty_repr_object as pretty_repr_object
from ._repr_layout import repr_options as repr_options
from ._repr_layout import set_repr_options as set_repr_options
from .filter import All as All
from .filter import Any as Any
from .filter import Everything as Everything
from .filter import Not as Not
from .filter import Nothing as Nothing
from .filter import OfType as OfType
from .filter import PathContains as PathContains
from .filter import WithTag as WithTag
from .filter import to_predicate as to_predicate
from .struct import FrozenDict as FrozenDict
from .struct import PyTreeNode as PyTreeNode
from .struct import copy as copy
from .struct import dataclass as dataclass
from .struct import field as field
from .struct import freeze as freeze
from .struct import is_dataclass as is_dataclass
from .struct import pop as pop
from .struct import pretty_repr as pretty_repr
from .struct import unfreeze as unfreeze

__all__ = [
    "filter",
    "struct",
    # path-keyed dictionaries
    "FlattedDict",
    "NestedDict",
    "flat_mapping",
    "nest_mapping",
    # filters
    "to_predicate",
    "WithTag",
    "PathContains",
    "OfType",
    "Any",
    "All",
    "Nothing",
    "Not",
    "Everything",
    # pretty reprs
    "PrettyType",
    "PrettyAttr",
    "PrettyRepr",
    "PrettyMapping",
    "MappingReprMixin",
    "yield_unique_pretty_repr_items",
    "pretty_repr_object",
    "pretty_format",
    "ReprOptions",
    "ReprSummary",
    "get_repr_options",
    "set_repr_options",
    "repr_options",
    "format_array_like",
    "format_bytes",
    "PrettyObject",
    "PrettyList",
    "PrettyDict",
    # pytree containers
    "field",
    "dataclass",
    "is_dataclass",
    "PyTreeNode",
    "FrozenDict",
    "freeze",
    "unfreeze",
    "copy",
    "pop",
    "pretty_repr",
    # helpers
    "DotDict",
    "DictManager",
    "merge_dicts",
    "flatten_dict",
    "unflatten_dict",
    "BoundedCache",
    "split_total",
    "get_unique_name",
    "is_instance_eval",
    "not_instance_eval",
    "clear_buffer_memory",
    "StateJaxTracer",
]

# Show the public home in reprs, tracebacks and docs (``brainstate_core.util.X``, not ``..._struct.X``).
_set_public_home(globals(), __name__)
del _set_public_home
