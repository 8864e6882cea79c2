"""Pretty reprs: an object describes itself as a header and a list of attributes, and the
layout engine (:func:`~brainstate_core.util.pretty_format`) prints them on one line when they fit
in the line width and one attribute per line, nested reprs indented, when they do not.

An object opts in by subclassing :class:`PrettyRepr` and writing ``__pretty_repr__``, a generator
that yields one :class:`PrettyType` (the header: type name and brackets) and then one
:class:`PrettyAttr` per attribute. :func:`yield_unique_pretty_repr_items` does the common case
(public instance attributes); the layout shows a reference cycle as ``Type(...)``.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

__all__ = [
    "PrettyType",
    "PrettyAttr",
    "PrettyRepr",
    "PrettyMapping",
    "MappingReprMixin",
    "yield_unique_pretty_repr_items",
]

K = TypeVar("K")
V = TypeVar("V")


@dataclasses.dataclass
class PrettyType:
    """The header of a pretty repr: what precedes, separates and closes the attributes.

    Args:
        type: the name shown before ``start`` (a class shows its ``__name__``).
        start: the opening bracket.
        end: the closing bracket.
        value_sep: what goes between an attribute's key and its value.
        elem_indent: the indentation of each attribute line.
        empty_repr: what goes between the brackets when there are no attributes.

    Example:
        >>> from brainstate_core.util import PrettyType
        >>> PrettyType('Point', start='{', end='}').value_sep
        '='
    """

    type: str | type
    start: str = "("
    end: str = ")"
    value_sep: str = "="
    elem_indent: str = "  "
    empty_repr: str = ""


@dataclasses.dataclass
class PrettyAttr:
    """One attribute line of a pretty repr: ``key``, the header's separator, then ``value``.

    Args:
        key: the attribute name (or a key's repr).
        value: a string, shown as is, or any other object, laid out by ``pretty_format`` (arrays as
            ``f32[3]``, containers and nested pretty objects broken over lines when too wide).
        start: text placed before the key.
        end: text placed after the value.

    Example:
        >>> from brainstate_core.util import PrettyAttr
        >>> PrettyAttr('size', 3)
        PrettyAttr(key='size', value=3, start='', end='')
    """

    key: str
    value: Any
    start: str = ""
    end: str = ""


def shown(value: Any) -> Any:
    """``value`` as a :class:`PrettyAttr` value: a string is shown verbatim, so give its repr."""
    return repr(value) if isinstance(value, str) else value


class PrettyRepr(abc.ABC):
    """Base class of objects whose ``repr`` is built from :meth:`__pretty_repr__`.

    Example:
        >>> from brainstate_core.util import PrettyAttr, PrettyRepr, PrettyType
        >>> class Point(PrettyRepr):
        ...     def __pretty_repr__(self):
        ...         yield PrettyType('Point')
        ...         yield PrettyAttr('x', 1)
        ...         yield PrettyAttr('y', 2)
        >>> Point()
        Point(x=1, y=2)
    """

    __slots__ = ()

    @abc.abstractmethod
    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        """Yield one :class:`PrettyType`, then one :class:`PrettyAttr` per attribute."""

    def __repr__(self) -> str:
        from ._repr_layout import pretty_format  # the layout engine imports this module

        return pretty_format(self)


class MappingReprMixin(Mapping[K, V]):
    """Gives a :class:`~collections.abc.Mapping` a ``__pretty_repr__`` listing ``key: value`` lines.

    It only supplies ``__pretty_repr__``; combine it with :class:`PrettyRepr` to use it as the repr.

    Example:
        >>> from brainstate_core.util import MappingReprMixin, PrettyRepr
        >>> class Table(MappingReprMixin, PrettyRepr):
        ...     def __init__(self, **entries):
        ...         self._entries = entries
        ...     def __getitem__(self, key):
        ...         return self._entries[key]
        ...     def __iter__(self):
        ...         return iter(self._entries)
        ...     def __len__(self):
        ...         return len(self._entries)
        >>> Table(a=1)
        {'a': 1}
    """

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type="", start="{", end="}", value_sep=": ")
        for key, value in self.items():
            yield PrettyAttr(repr(key), shown(value))


@dataclasses.dataclass(repr=False)
class PrettyMapping(PrettyRepr):
    """A pretty view of ``mapping``: ``type_name{`` then one ``key: value`` line per entry, then ``}``.

    Args:
        mapping: the mapping to show.
        type_name: the name shown before the opening brace.

    Example:
        >>> from brainstate_core.util import PrettyMapping, repr_options
        >>> with repr_options(width=30):
        ...     PrettyMapping({'lr': 0.1, 'decay': {'rate': 0.9}}, type_name='Opt')
        Opt{
          'lr': 0.1,
          'decay': {'rate': 0.9},
        }
    """

    mapping: Mapping
    type_name: str = ""

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type=self.type_name, start="{", end="}", value_sep=": ")
        for key, value in self.mapping.items():
            yield PrettyAttr(repr(key), shown(value))


def _type_header(node: Any) -> Iterator[PrettyType]:
    yield PrettyType(type=type(node))


def _public_attrs(node: Any) -> Iterator[PrettyAttr]:
    for name, value in vars(node).items():
        if not name.startswith("_"):
            yield PrettyAttr(name, shown(value))


def yield_unique_pretty_repr_items(
    node: Any,
    repr_object: Callable[[Any], Iterator[PrettyType]] | None = None,
    repr_attr: Callable[[Any], Iterator[PrettyAttr]] | None = None,
) -> Iterator[PrettyType | PrettyAttr]:
    """The pretty-repr items of ``node``: a header, then its attributes.

    The layout shows an object met again inside itself (a reference cycle) as ``Type(...)``, so a
    ``__pretty_repr__`` built on this function is safe on cyclic objects.

    Args:
        node: the object to describe.
        repr_object: yields the header (default: ``PrettyType(type(node))``).
        repr_attr: yields the attributes (default: the public entries of ``vars(node)``).

    Example:
        >>> from brainstate_core.util import PrettyRepr, yield_unique_pretty_repr_items
        >>> class Node(PrettyRepr):
        ...     def __init__(self):
        ...         self.me = self
        ...     def __pretty_repr__(self):
        ...         yield from yield_unique_pretty_repr_items(self)
        >>> Node()
        Node(me=Node(...))
    """
    yield from (repr_object or _type_header)(node)
    yield from (repr_attr or _public_attrs)(node)
