"""Utilities: the path-keyed dictionaries that the object graph returns.

Example:
    >>> from brainstate_core.util import FlattedDict
    >>> FlattedDict({('a', 'b'): 1, ('a', 'c'): 2}).to_nest()
    NestedDict({'a': NestedDict({'b': 1, 'c': 2})})
"""

from ._flatted import FlattedDict as FlattedDict
from ._flatted import NestedDict as NestedDict
