"""``Desc``: a deferred constructor, so that two projections can ask for "the same" synapse.

``Expon.desc(100, tau=5.0)`` records the class and its arguments without building anything. A
projection builds the module from it (``desc()``) the first time it meets the description on a
target, and reuses that module when another projection to the same target brings an equal
description (:attr:`Desc.identifier`: the class and the arguments, arrays compared by identity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Desc"]


def _key(value: Any) -> Any:
    if isinstance(value, (int, float, str, bool, type(None), complex)):
        return value
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _key(v)) for k, v in value.items())))
    if isinstance(value, np.generic):
        return value.item()
    return ("id", id(value))


class Desc:
    """The class ``cls`` and the arguments to build it with; calling it builds a new instance.

    Args:
        cls: the class to build.
        *args: its positional arguments.
        **kwargs: its keyword arguments.

    Example:
        >>> import brainstate_nn as nn
        >>> d = nn.Expon.desc(3, tau=5.0)
        >>> d.identifier == nn.Expon.desc(3, tau=5.0).identifier, d.identifier == nn.Expon.desc(3).identifier
        (True, False)
        >>> d().tau
        5.0
    """

    def __init__(self, cls: type, *args: Any, **kwargs: Any) -> None:
        self.cls, self.args, self.kwargs = cls, args, kwargs

    @property
    def identifier(self) -> tuple:
        """A hashable key: equal for descriptions that build equal modules."""
        return (self.cls, _key(self.args), _key(self.kwargs))

    def __call__(self) -> Any:
        return self.cls(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        items = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls.__name__}.desc({', '.join(items)})"
