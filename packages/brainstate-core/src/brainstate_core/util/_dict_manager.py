""":class:`DictManager`: a ``dict`` of collected objects with selection by type, key and identity."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import jax

__all__ = ["DictManager"]


def _by(values: Iterable, by: str) -> Callable[[Any], bool]:
    """A membership test for ``values``: by identity (``by='id'``) or by equality (``by='value'``)."""
    if by == "id":
        ids = {id(v) for v in values}
        return lambda v: id(v) in ids
    if by == "value":
        pool = list(values)
        return lambda v: any(v is p or v == p for p in pool)
    raise ValueError(f"by must be 'id' or 'value', got {by!r}.")


class DictManager(dict):
    """A ``dict`` of collected objects (modules, states, ...) with helpers to select among them.

    Selections return new DictManagers of the same class; the ``*_`` and ``pop_*`` methods change
    the dict in place. It is a JAX pytree whose children are its values.

    Example:
        >>> from brainstate_core.util import DictManager
        >>> d = DictManager(a=1, b=2.0, c='text')
        >>> d.subset(int)
        DictManager({'a': 1})
        >>> ints, floats, rest = d.split(int, float)
        >>> rest
        DictManager({'c': 'text'})
        >>> d.subset(lambda v: isinstance(v, str)).to_dict()
        {'c': 'text'}
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def _new(self, items: Iterable[tuple[Hashable, Any]]) -> DictManager:
        new = type(self)()
        dict.update(new, items)
        return new

    # -- selection ------------------------------------------------------------------------------
    def subset(self, sep: type | tuple[type, ...] | Callable[[Any], bool]) -> DictManager:
        """The entries whose value is an instance of ``sep`` (a class or tuple), or satisfies it (a predicate)."""
        keep = sep if callable(sep) and not isinstance(sep, type) else (lambda v: isinstance(v, sep))
        return self._new((k, v) for k, v in self.items() if keep(v))

    def not_subset(self, sep: type | tuple[type, ...]) -> DictManager:
        """The entries whose value is not an instance of ``sep``."""
        return self._new((k, v) for k, v in self.items() if not isinstance(v, sep))

    def split(self, *types: type) -> tuple[DictManager, ...]:
        """One DictManager per type (each entry in the first it is an instance of), plus one of the rest."""
        groups = [type(self)() for _ in range(len(types) + 1)]
        for k, v in self.items():
            index = next((i for i, t in enumerate(types) if isinstance(v, t)), len(types))
            dict.__setitem__(groups[index], k, v)
        return tuple(groups)

    def filter_by_predicate(self, predicate: Callable[[Any, Any], bool]) -> DictManager:
        """The entries for which ``predicate(key, value)`` is true."""
        return self._new((k, v) for k, v in self.items() if predicate(k, v))

    def unique(self) -> DictManager:
        """The entries whose value (by identity) was not seen under an earlier key."""
        seen: set[int] = set()
        return self._new((k, v) for k, v in self.items() if not (id(v) in seen or seen.add(id(v))))

    def unique_(self) -> DictManager:
        """Remove, in place, the entries whose value (by identity) appears under an earlier key."""
        keep = self.unique()
        for k in [k for k in self if k not in keep]:
            del self[k]
        return self

    def difference_by_keys(self, keys: Iterable) -> DictManager:
        """The entries whose key is not in ``keys``."""
        drop = set(keys)
        return self._new((k, v) for k, v in self.items() if k not in drop)

    def intersection_by_keys(self, keys: Iterable) -> DictManager:
        """The entries whose key is in ``keys``."""
        keep = set(keys)
        return self._new((k, v) for k, v in self.items() if k in keep)

    def difference_by_values(self, values: Iterable, by: str = "id") -> DictManager:
        """The entries whose value is not among ``values`` (compared by identity or by equality)."""
        found = _by(values, by)
        return self._new((k, v) for k, v in self.items() if not found(v))

    def intersection_by_values(self, values: Iterable, by: str = "id") -> DictManager:
        """The entries whose value is among ``values`` (compared by identity or by equality)."""
        found = _by(values, by)
        return self._new((k, v) for k, v in self.items() if found(v))

    def map_values(self, func: Callable[[Any], Any]) -> DictManager:
        """The same keys with ``func(value)``."""
        return self._new((k, func(v)) for k, v in self.items())

    def map_keys(self, func: Callable[[Any], Hashable]) -> DictManager:
        """The same values under ``func(key)``; raises ``ValueError`` if two keys map to one."""
        new = type(self)()
        for k, v in self.items():
            key = func(k)
            if key in new:
                raise ValueError(f"map_keys maps two keys to {key!r}.")
            dict.__setitem__(new, key, v)
        return new

    # -- changes in place -----------------------------------------------------------------------
    def add_unique_key(self, key: Hashable, value: Any) -> None:
        """Add ``key: value``; raises ``ValueError`` if ``key`` already holds another object."""
        if key in self and self[key] is not value:
            raise ValueError(f"The key {key!r} already holds {self[key]!r}; cannot also register {value!r} under it.")
        self[key] = value

    def add_unique_value(self, key: Hashable, value: Any) -> bool:
        """Add ``key: value`` unless ``value`` (by identity) is already held; returns whether it was added.

        Raises:
            ValueError: ``key`` already holds another object.
        """
        if key in self and self[key] is not value:
            raise ValueError(f"The key {key!r} already holds {self[key]!r}; cannot also register {value!r} under it.")
        if any(v is value for v in self.values()):
            return False
        self[key] = value
        return True

    def assign(self, *dicts: Mapping, **kwargs: Any) -> None:
        """Update with each of ``dicts`` in turn, then with ``kwargs``."""
        for d in dicts:
            if not isinstance(d, Mapping):
                raise TypeError(f"assign takes mappings, got {type(d).__name__}.")
            self.update(d)
        self.update(kwargs)

    def pop_by_keys(self, keys: Iterable) -> None:
        """Remove the entries whose key is in ``keys``."""
        for k in set(keys) & set(self):
            del self[k]

    def pop_by_values(self, values: Iterable, by: str = "id") -> None:
        """Remove the entries whose value is among ``values`` (compared by identity or by equality)."""
        found = _by(values, by)
        for k in [k for k, v in self.items() if found(v)]:
            del self[k]

    # -- conversions ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A plain ``dict`` copy."""
        return dict(self)

    def __add__(self, other: Mapping) -> DictManager:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = self._new(self.items())
        new.update(other)
        return new

    __or__ = __add__

    def copy(self) -> DictManager:
        """A shallow copy (of the same class)."""
        return self._new(self.items())

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> DictManager:
        return self._new((copy.deepcopy(k, memo), copy.deepcopy(v, memo)) for k, v in self.items())


jax.tree_util.register_pytree_with_keys(
    DictManager,
    lambda d: ([(jax.tree_util.DictKey(k), v) for k, v in d.items()], tuple(d)),
    lambda keys, values: DictManager(zip(keys, values)),
    lambda d: (list(d.values()), tuple(d)),
)
