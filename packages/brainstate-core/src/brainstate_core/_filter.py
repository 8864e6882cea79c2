"""Filters: which entries of an object graph (States, Nodes, values) a query selects.

A filter is anything :func:`to_predicate` understands:

- a class, matching instances of it (``ParamState``);
- a string, matching objects whose ``tag`` equals it (``'hidden'``);
- ``...`` (Ellipsis), matching everything (used last, for "the rest");
- a tuple or list of filters, matching if any of them matches;
- a predicate ``(path, value) -> bool`` where ``path`` is the tuple path of the entry;
- a filter object: :class:`OfType`, :class:`WithTag`, :class:`PathContains`, :class:`Any`,
  :class:`All`, :class:`Not`, :class:`Everything`, :class:`Nothing`.

Filter objects compare and hash by what they select, so they can be part of a cache key.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Iterable, Sequence
from types import EllipsisType
from typing import Any as AnyType
from typing import Union

from ._errors import FilterError

__all__ = [
    "Filter",
    "OfType",
    "WithTag",
    "PathContains",
    "Any",
    "All",
    "Not",
    "Everything",
    "Nothing",
    "to_predicate",
    "partition",
]

Path = tuple[Hashable, ...]
Predicate = Callable[[Path, AnyType], bool]
FilterLike = Union[type, str, EllipsisType, Sequence, Predicate, "Filter"]


class Filter(abc.ABC):
    """Base class of the filter objects: a predicate ``(path, value) -> bool`` with a readable repr.

    Subclasses implement :meth:`__call__` and :meth:`_fields`; equality and hashing follow the fields.
    """

    __slots__ = ()

    @abc.abstractmethod
    def __call__(self, path: Path, value: AnyType) -> bool:
        """Whether the entry ``value`` found at ``path`` is selected."""

    @abc.abstractmethod
    def _fields(self) -> tuple:
        """The values that define what this filter selects (used by ``==``, ``hash`` and ``repr``)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        args = ", ".join(getattr(f, "__qualname__", None) or repr(f) for f in self._fields())
        return f"{type(self).__name__}({args})"


class OfType(Filter):
    """Selects instances of ``type_`` (subclasses included).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import OfType
        >>> f = OfType(bc.LongTermState)
        >>> f((), bc.ParamState(1.0)), f((), bc.State(1.0))
        (True, False)
    """

    __slots__ = ("type",)

    def __init__(self, type_: type) -> None:
        if not isinstance(type_, type):
            raise FilterError(f"OfType needs a class, got {type_!r}.")
        self.type = type_

    def __call__(self, path: Path, value: AnyType) -> bool:
        return isinstance(value, self.type)

    def _fields(self) -> tuple:
        return (self.type,)


class WithTag(Filter):
    """Selects objects that have the tag ``tag``: ``State(x, tag='hidden')``, or one given it by
    ``add_tag`` (objects without ``has_tag``: their ``tag`` attribute equals ``tag``).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import WithTag
        >>> s = bc.State(0.0, tag='hidden'); s.add_tag('fast')
        >>> WithTag('hidden')((), s), WithTag('fast')((), s), WithTag('slow')((), s)
        (True, True, False)
    """

    __slots__ = ("tag",)

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __call__(self, path: Path, value: AnyType) -> bool:
        has_tag = getattr(value, "has_tag", None)
        if callable(has_tag):
            return bool(has_tag(self.tag))
        return getattr(value, "tag", None) == self.tag

    def _fields(self) -> tuple:
        return (self.tag,)


class PathContains(Filter):
    """Selects entries whose path contains ``key`` as one of its components.

    Example:
        >>> from brainstate_core.graph import PathContains
        >>> PathContains('bias')(('layers', 0, 'bias'), None), PathContains(0)(('layers', 1), None)
        (True, False)
    """

    __slots__ = ("key",)

    def __init__(self, key: Hashable) -> None:
        self.key = key

    def __call__(self, path: Path, value: AnyType) -> bool:
        return self.key in path

    def _fields(self) -> tuple:
        return (self.key,)


class Any(Filter):
    """Selects an entry if at least one of ``filters`` does (no filters: selects nothing).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import Any
        >>> Any(bc.ParamState, 'hidden')((), bc.State(0.0, tag='hidden'))
        True
    """

    __slots__ = ("filters",)

    def __init__(self, *filters: FilterLike) -> None:
        self.filters = tuple(to_predicate(f) for f in filters)

    def __call__(self, path: Path, value: AnyType) -> bool:
        return any(f(path, value) for f in self.filters)

    def _fields(self) -> tuple:
        return self.filters


class All(Filter):
    """Selects an entry if every one of ``filters`` does (no filters: selects everything).

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import All
        >>> All(bc.ParamState, 'fast')((), bc.ParamState(0.0, tag='slow'))
        False
    """

    __slots__ = ("filters",)

    def __init__(self, *filters: FilterLike) -> None:
        self.filters = tuple(to_predicate(f) for f in filters)

    def __call__(self, path: Path, value: AnyType) -> bool:
        return all(f(path, value) for f in self.filters)

    def _fields(self) -> tuple:
        return self.filters


class Not(Filter):
    """Selects exactly the entries that ``filter`` does not.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import Not
        >>> Not(bc.ParamState)((), bc.State(0.0))
        True
    """

    __slots__ = ("filter",)

    def __init__(self, filter: FilterLike) -> None:  # noqa: A002 - mirrors the class name
        self.filter = to_predicate(filter)

    def __call__(self, path: Path, value: AnyType) -> bool:
        return not self.filter(path, value)

    def _fields(self) -> tuple:
        return (self.filter,)


class Everything(Filter):
    """Selects every entry; ``...`` means the same.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import Everything
        >>> Everything()(('any', 'path'), bc.State(0.0))
        True
    """

    __slots__ = ()

    def __call__(self, path: Path, value: AnyType) -> bool:
        return True

    def _fields(self) -> tuple:
        return ()


class Nothing(Filter):
    """Selects no entry.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import Nothing
        >>> Nothing()(('any', 'path'), bc.State(0.0))
        False
    """

    __slots__ = ()

    def __call__(self, path: Path, value: AnyType) -> bool:
        return False

    def _fields(self) -> tuple:
        return ()


_FILTER_HELP = (
    "A filter is a class (matches its instances), a tag string, `...` (matches the rest), a tuple of "
    "filters (matches if any does), a predicate `(path, value) -> bool`, or a filter object such as "
    "OfType, WithTag, PathContains, Any, All, Not, Everything or Nothing."
)


def to_predicate(filter: FilterLike) -> Predicate:  # noqa: A002 - the natural name
    """Turn any accepted filter into a predicate ``(path, value) -> bool``.

    Args:
        filter: a class, a tag string, ``...``, a tuple or list of filters, a predicate, or a
            :class:`Filter` object.

    Returns:
        A :class:`Filter` object, or the predicate itself when a plain callable was given.

    Raises:
        FilterError: ``filter`` is none of the accepted kinds.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import to_predicate
        >>> to_predicate(bc.ParamState), to_predicate('hidden'), to_predicate(...)
        (OfType(ParamState), WithTag('hidden'), Everything())
        >>> to_predicate((bc.ParamState, 'hidden'))
        Any(OfType(ParamState), WithTag('hidden'))
    """
    if isinstance(filter, Filter):
        return filter
    if isinstance(filter, type):
        return OfType(filter)
    if isinstance(filter, str):
        return WithTag(filter)
    if filter is Ellipsis:
        return Everything()
    if isinstance(filter, (tuple, list)):
        return Any(*filter)
    if callable(filter):
        return filter
    raise FilterError(f"Cannot use {filter!r} (of type {type(filter).__name__}) as a filter. {_FILTER_HELP}")


def _compile(filters: Sequence[FilterLike]) -> list[Predicate]:
    for i, f in enumerate(filters[:-1]):
        if f is Ellipsis or isinstance(f, Everything):
            raise FilterError(
                f"`{f!r}` is filter {i + 1} of {len(filters)}, but it matches everything not matched "
                "before it, so the filters after it would never match. Fix: put `...` last."
            )
    return [to_predicate(f) for f in filters]


def partition(items: Iterable[tuple[Path, AnyType]], filters: Sequence[FilterLike]) -> list[list]:
    """Split ``(path, value)`` pairs into one list per filter; each pair goes to the first filter
    it matches, and pairs matching none are dropped. No filters: one list with every pair.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_core.graph import partition
        >>> pairs = [(('a',), bc.ParamState(1.0)), (('b',), bc.State(2.0))]
        >>> [[p for p, _ in group] for group in partition(pairs, (bc.ParamState, ...))]
        [[('a',)], [('b',)]]
    """
    if not filters:
        return [list(items)]
    preds = _compile(filters)
    if len(preds) == 1:
        pred = preds[0]
        if type(pred) is OfType:  # the common case (`states(model, ParamState)`), without a call per entry
            cls = pred.type
            return [[item for item in items if isinstance(item[1], cls)]]
        if type(pred) is Everything:
            return [list(items)]
        return [[item for item in items if pred(item[0], item[1])]]
    groups: list[list] = [[] for _ in preds]
    # Class filters become direct isinstance checks (Everything: isinstance(x, object)).
    checks = []
    for pred, group in zip(preds, groups):
        if type(pred) is OfType:
            checks.append((pred.type, True, group))
        elif type(pred) is Everything:
            checks.append((object, True, group))
        else:
            checks.append((pred, False, group))
    for item in items:
        path, value = item
        for check, is_class, group in checks:
            if isinstance(value, check) if is_class else check(path, value):
                group.append(item)
                break
    return groups
