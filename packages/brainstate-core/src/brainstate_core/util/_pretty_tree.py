"""Pretty containers (:class:`PrettyObject`, :class:`PrettyList`, :class:`PrettyDict`) and the
conversions between nested mappings and path-keyed ones (:func:`flat_mapping`, :func:`nest_mapping`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any

import jax

from .._flatted import FlattedDict, NestedDict
from ._pretty_repr import PrettyAttr, PrettyRepr, PrettyType, shown, yield_unique_pretty_repr_items

__all__ = ["PrettyObject", "PrettyList", "PrettyDict", "flat_mapping", "nest_mapping"]

Path = tuple[Hashable, ...]


class PrettyObject(PrettyRepr):
    """Base class whose repr lists the public instance attributes (one per line when too wide).

    Override :meth:`__pretty_repr_item__` to rename or hide attributes. A reference cycle shows
    as ``Type(...)``.

    Example:
        >>> from brainstate_core.util import PrettyObject
        >>> class Sigmoid(PrettyObject):
        ...     def __init__(self, alpha):
        ...         self.alpha = alpha
        ...         self._cache = None
        >>> Sigmoid(4.0)
        Sigmoid(alpha=4.0)
    """

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield from yield_unique_pretty_repr_items(self, repr_attr=_object_attrs)

    def __pretty_repr_item__(self, key: str, value: Any) -> tuple[str, Any] | None:
        """The ``(key, value)`` to show for the attribute ``key``, or None to hide it.

        The default shows public attributes as they are and hides those starting with ``_``.
        """
        return None if key.startswith("_") else (key, value)


def _object_attrs(node: PrettyObject) -> Iterator[PrettyAttr]:
    for key, value in vars(node).items():
        item = node.__pretty_repr_item__(key, value)
        if item is not None:
            yield PrettyAttr(item[0], shown(item[1]))


class PrettyList(list, PrettyRepr):
    """A ``list`` with a pretty repr (broken one element per line when too wide); a JAX pytree.

    Example:
        >>> import jax
        >>> from brainstate_core.util import PrettyList, repr_options
        >>> doubled = jax.tree.map(lambda x: x * 2, PrettyList([1, 2]))
        >>> type(doubled).__name__, doubled
        ('PrettyList', [2, 4])
        >>> with repr_options(width=4):
        ...     doubled
        [
          2,
          4,
        ]
    """

    __slots__ = ()
    __repr__ = PrettyRepr.__repr__

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType("", start="[", end="]", value_sep="")
        for value in self:
            yield PrettyAttr("", shown(value))


class PrettyDict(dict, PrettyRepr):
    """A ``dict`` with a pretty repr, whose string keys also read as attributes.

    It is a JAX pytree whose children are its values, in insertion order.

    Example:
        >>> from brainstate_core.util import PrettyDict, repr_options
        >>> d = PrettyDict({'lr': 0.1, 'layers': [64, 32]})
        >>> d.lr
        0.1
        >>> with repr_options(width=24):
        ...     d
        PrettyDict{
          'lr': 0.1,
          'layers': [64, 32],
        }
    """

    __slots__ = ()
    __repr__ = PrettyRepr.__repr__

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key or attribute {key!r}") from None

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type(self), start="{", end="}", value_sep=": ")
        for key, value in self.items():
            yield PrettyAttr(repr(key), shown(value))

    def to_dict(self) -> dict:
        """A plain ``dict`` copy, nested PrettyDicts converted too."""
        return {k: v.to_dict() if isinstance(v, PrettyDict) else v for k, v in self.items()}


jax.tree_util.register_pytree_with_keys(
    PrettyList,
    lambda xs: ([(jax.tree_util.SequenceKey(i), x) for i, x in enumerate(xs)], None),
    lambda _, children: PrettyList(children),
    lambda xs: (list(xs), None),
)
jax.tree_util.register_pytree_with_keys(
    PrettyDict,
    lambda d: ([(jax.tree_util.DictKey(k), v) for k, v in d.items()], tuple(d)),
    lambda keys, values: PrettyDict(zip(keys, values)),
    lambda d: (list(d.values()), tuple(d)),
)


def flat_mapping(
    xs: Mapping,
    /,
    *,
    is_leaf: Callable[[Path, Mapping], bool] | None = None,
    sep: str | None = None,
) -> FlattedDict:
    """Flatten a nested mapping into a :class:`FlattedDict` of ``path -> leaf``.

    Every mapping is a level (a :class:`NestedDict`, a ``dict``, a
    :class:`~brainstate_core.util.FrozenDict`, ...); empty mappings vanish.

    Args:
        xs: the nested mapping.
        is_leaf: ``(path, mapping) -> bool``; a mapping for which it returns True is kept whole.
        sep: if given, paths are joined into strings with it (every key must then be a string).

    Returns:
        ``path -> value`` in depth-first order.

    Raises:
        TypeError: ``xs`` is not a mapping, or ``sep`` is given and a key is not a string.

    Example:
        >>> from brainstate_core.util import flat_mapping
        >>> flat_mapping({'enc': {'w': 1, 'b': 2}, 'step': 0})
        FlattedDict({('enc', 'w'): 1, ('enc', 'b'): 2, ('step',): 0})
        >>> flat_mapping({'enc': {'w': 1}}, sep='/')
        FlattedDict({'enc/w': 1})
    """
    if not isinstance(xs, Mapping):
        raise TypeError(f"flat_mapping needs a mapping, got {type(xs).__name__}.")
    out = FlattedDict()

    def visit(prefix: Path, node: Any) -> None:
        if not isinstance(node, Mapping) or (prefix and is_leaf is not None and is_leaf(prefix, node)):
            out[_join(prefix, sep)] = node
            return
        for key, value in node.items():
            visit(prefix + (key,), value)

    visit((), xs)
    return out


def _join(path: Path, sep: str | None) -> Path | str:
    if sep is None:
        return path
    bad = [k for k in path if not isinstance(k, str)]
    if bad:
        raise TypeError(f"flat_mapping(sep={sep!r}) joins string keys only; path {path} has the key {bad[0]!r}.")
    return sep.join(str(k) for k in path)  # all str (checked above)


def nest_mapping(xs: Mapping, /, *, sep: str | None = None) -> NestedDict:
    """The inverse of :func:`flat_mapping`: a :class:`NestedDict` built from ``path -> value``.

    Args:
        xs: a mapping from tuple paths (or, with ``sep``, from strings) to values.
        sep: split string keys on it into paths.

    Returns:
        A NestedDict whose inner levels are NestedDicts.

    Raises:
        TypeError: ``xs`` is not a mapping.
        ValueError: a path is empty, or one path is a prefix of another.

    Example:
        >>> from brainstate_core.util import nest_mapping
        >>> nest_mapping({('enc', 'w'): 1, ('step',): 0})
        NestedDict({'enc': NestedDict({'w': 1}), 'step': 0})
        >>> nest_mapping({'enc/w': 1}, sep='/')
        NestedDict({'enc': NestedDict({'w': 1})})
    """
    if not isinstance(xs, Mapping):
        raise TypeError(f"nest_mapping needs a mapping, got {type(xs).__name__}.")
    if sep is None:
        flat = FlattedDict((tuple(k) if isinstance(k, tuple) else (k,), v) for k, v in xs.items())
    else:
        flat = FlattedDict((tuple(k.split(sep)), v) for k, v in xs.items())
    return flat.to_nest()
