"""``brainstate.util.filter``: the filters that select entries of an object graph.

The same objects as in :mod:`brainstate_core.graph`; see there for what counts as a filter.

Example:
    >>> import brainstate_core as bc
    >>> from brainstate_core.util.filter import All, Not, WithTag
    >>> f = All(bc.ParamState, Not(WithTag('frozen')))
    >>> f((), bc.ParamState(1.0)), f((), bc.ParamState(1.0, tag='frozen'))
    (True, False)
"""

from .._filter import All as All
from .._filter import Any as Any
from .._filter import Everything as Everything
from .._filter import Filter as Filter
from .._filter import Not as Not
from .._filter import Nothing as Nothing
from .._filter import OfType as OfType
from .._filter import PathContains as PathContains
from .._filter import WithTag as WithTag
from .._filter import to_predicate as to_predicate

__all__ = ["to_predicate", "WithTag", "PathContains", "OfType", "Any", "All", "Nothing", "Not", "Everything", "Filter"]
