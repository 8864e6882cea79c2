"""Immutable pytree containers: dataclasses registered with JAX (:func:`dataclass`,
:class:`PyTreeNode`, :func:`field`) and :class:`FrozenDict` with its helpers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Any, TypeVar, dataclass_transform, overload

import jax

__all__ = [
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
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MARK = "_brainstate_dataclass"


def field(pytree_node: bool = True, **kwargs: Any) -> Any:
    """A dataclass field for :func:`dataclass`; ``pytree_node=False`` makes it static metadata.

    A static field is not a leaf: JAX transformations see it as part of the tree structure, so
    it must be hashable, and a new value means a new compilation under ``jit``.

    Args:
        pytree_node: whether the field is a child of the pytree node (traced) or metadata.
        **kwargs: passed on to :func:`dataclasses.field` (``default``, ``default_factory``, ...).

    Raises:
        ValueError: ``metadata`` says ``pytree_node`` differently from the argument.

    Example:
        >>> from brainstate_core.util import dataclass, field
        >>> @dataclass
        ... class Scaled:
        ...     x: float
        ...     name: str = field(pytree_node=False, default='s')
        >>> import jax
        >>> jax.tree.leaves(Scaled(1.0))
        [1.0]
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    if metadata.get("pytree_node", pytree_node) != pytree_node:
        raise ValueError(
            f"field(pytree_node={pytree_node!r}) conflicts with metadata={{'pytree_node': {metadata['pytree_node']!r}}}."
        )
    metadata["pytree_node"] = pytree_node
    return dataclasses.field(metadata=metadata, **kwargs)


@overload
def dataclass(cls: type[T], /, **kwargs: Any) -> type[T]: ...
@overload
def dataclass(cls: None = None, /, **kwargs: Any) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,), frozen_default=True)
def dataclass(cls: type[T] | None = None, /, **kwargs: Any) -> Any:
    """Make ``cls`` a dataclass (frozen unless ``frozen=False``) and register it as a JAX pytree.

    Fields are children of the node unless declared with ``field(pytree_node=False)``; fields
    with ``init=False`` are not part of the pytree. The class gains ``replace(**changes)``,
    which returns a copy with some fields changed.

    Args:
        cls: the class; omit it to get a decorator taking ``kwargs`` (``@dataclass(eq=False)``).
        **kwargs: passed on to :func:`dataclasses.dataclass`.

    Returns:
        ``cls`` itself, converted and registered (applying it twice does nothing more).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from brainstate_core.util import dataclass
        >>> @dataclass
        ... class Pair:
        ...     a: jax.Array
        ...     b: jax.Array
        >>> p = jax.jit(lambda p: p.replace(a=p.a + p.b))(Pair(jnp.ones(2), jnp.ones(2)))
        >>> p.a
        Array([2., 2.], dtype=float32)
    """
    if cls is None:
        return lambda c: dataclass(c, **kwargs)
    if _MARK in cls.__dict__:
        return cls
    kwargs.setdefault("frozen", True)
    cls = dataclasses.dataclass(**kwargs)(cls)
    # pyright cannot see that dataclasses.dataclass made cls a dataclass
    fields = [f for f in dataclasses.fields(cls) if f.init]  # pyright: ignore[reportArgumentType]
    data = [f.name for f in fields if f.metadata.get("pytree_node", True)]
    meta = [f.name for f in fields if not f.metadata.get("pytree_node", True)]
    if "replace" not in cls.__dict__:
        cls.replace = _replace  # type: ignore[attr-defined]
    jax.tree_util.register_dataclass(cls, data_fields=data, meta_fields=meta)
    setattr(cls, _MARK, True)
    return cls


def _replace(self: T, **changes: Any) -> T:
    """A copy of this object with the given fields changed."""
    return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def is_dataclass(obj: Any) -> bool:
    """Whether ``obj`` (a class or an instance) was made by :func:`dataclass` or :class:`PyTreeNode`.

    Example:
        >>> import dataclasses
        >>> from brainstate_core.util import dataclass, is_dataclass
        >>> @dataclass
        ... class A:
        ...     x: int
        >>> @dataclasses.dataclass
        ... class B:
        ...     x: int
        >>> is_dataclass(A), is_dataclass(A(1)), is_dataclass(B)
        (True, True, False)
    """
    cls = obj if isinstance(obj, type) else type(obj)
    return dataclasses.is_dataclass(cls) and _MARK in cls.__dict__


@dataclass_transform(field_specifiers=(field,), frozen_default=True)
class PyTreeNode:
    """Base class form of :func:`dataclass`: every subclass is a frozen dataclass and a pytree.

    Class keyword arguments go to :func:`dataclasses.dataclass`
    (``class Box(PyTreeNode, frozen=False)``).

    Example:
        >>> import jax
        >>> from brainstate_core.util import PyTreeNode, field
        >>> class Linear(PyTreeNode):
        ...     w: float
        ...     b: float
        ...     act: str = field(pytree_node=False, default='relu')
        >>> jax.tree.map(lambda v: v * 10, Linear(1.0, 2.0))
        Linear(w=10.0, b=20.0, act='relu')
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__()
        dataclass(cls, **kwargs)

    def replace(self: T, **changes: Any) -> T:
        """A copy of this node with the given fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


class FrozenDict(Mapping[K, V]):
    """An immutable, hashable mapping and JAX pytree; nested dicts are frozen too.

    "Changes" return new FrozenDicts (:meth:`copy`, :meth:`pop`). As a pytree its children are
    its values in sorted key order (so two FrozenDicts with the same entries have the same tree
    structure whatever the order they were built in); keys that do not compare with each other
    are ordered by type name, then ``repr``.

    Example:
        >>> import jax
        >>> from brainstate_core.util import FrozenDict
        >>> d = FrozenDict({'b': 2, 'a': {'x': 1}})
        >>> d['a']
        FrozenDict({'x': 1})
        >>> jax.tree.leaves(d)
        [1, 2]
        >>> d['c'] = 3
        Traceback (most recent call last):
        ...
        TypeError: FrozenDict is immutable: use d.copy({key: value}) to get a changed copy.
    """

    __slots__ = ("_data", "_hash")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        data = dict(*args, **kwargs)
        self._data: dict = {k: _freeze_value(v) for k, v in data.items()}
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __setitem__(self, key: K, value: V) -> None:
        raise TypeError("FrozenDict is immutable: use d.copy({key: value}) to get a changed copy.")

    def __delitem__(self, key: K) -> None:
        raise TypeError("FrozenDict is immutable: use d.pop(key) to get a copy without the key.")

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._data.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenDict):
            return self._data == other._data
        if isinstance(other, dict):
            return self._data == other
        return NotImplemented

    def __reduce__(self) -> tuple:
        return type(self), (unfreeze(self),)

    def copy(self, add_or_replace: Mapping[K, V] | None = None) -> FrozenDict[K, V]:
        """A new FrozenDict with the entries of ``add_or_replace`` added or replacing old ones.

        Example:
            >>> from brainstate_core.util import FrozenDict
            >>> FrozenDict(a=1).copy({'b': 2})
            FrozenDict({'a': 1, 'b': 2})
        """
        return type(self)({**self._data, **(add_or_replace or {})})

    def pop(self, key: K) -> tuple[FrozenDict[K, V], V]:
        """``(a copy without key, the value at key)``; raises ``KeyError`` if ``key`` is absent.

        Example:
            >>> from brainstate_core.util import FrozenDict
            >>> FrozenDict(a=1, b=2).pop('a')
            (FrozenDict({'b': 2}), 1)
        """
        value = self._data[key]
        return type(self)({k: v for k, v in self._data.items() if k != key}), value

    def unfreeze(self) -> dict[K, V]:
        """A mutable ``dict`` copy, nested FrozenDicts turned into dicts (see :func:`unfreeze`)."""
        return unfreeze(self)

    def pretty_repr(self, indent: int = 2) -> str:
        """A multi-line repr, one entry per line (see :func:`pretty_repr`)."""
        return f"{type(self).__name__}({_pretty(self._data, indent, 0)})"


def _freeze_value(value: Any) -> Any:
    return FrozenDict(value) if isinstance(value, dict) else value


def _sorted_keys(keys: Any) -> list:
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__qualname__, repr(k)))


def _frozen_flatten_with_keys(d: FrozenDict) -> tuple[list, tuple]:
    keys = _sorted_keys(d._data)
    return [(jax.tree_util.DictKey(k), d._data[k]) for k in keys], tuple(keys)


def _frozen_flatten(d: FrozenDict) -> tuple[list, tuple]:
    keys = _sorted_keys(d._data)
    return [d._data[k] for k in keys], tuple(keys)


jax.tree_util.register_pytree_with_keys(
    FrozenDict, _frozen_flatten_with_keys, lambda keys, values: FrozenDict(zip(keys, values)), _frozen_flatten
)


def freeze(x: Mapping[K, V]) -> FrozenDict[K, V]:
    """``x`` as a :class:`FrozenDict` (returned as is if it already is one).

    Example:
        >>> from brainstate_core.util import freeze, unfreeze
        >>> params = {'w': 1, 'opt': {'lr': 0.1}}
        >>> unfreeze(freeze(params)) == params
        True
    """
    return x if isinstance(x, FrozenDict) else FrozenDict(x)


def unfreeze(x: Any) -> Any:
    """A mutable copy of ``x``: FrozenDicts and dicts become new dicts, at every level.

    Anything else is returned as is.

    Example:
        >>> from brainstate_core.util import FrozenDict, unfreeze
        >>> unfreeze(FrozenDict({'opt': {'lr': 0.1}}))
        {'opt': {'lr': 0.1}}
    """
    if isinstance(x, FrozenDict):
        return {k: unfreeze(v) for k, v in x._data.items()}
    if isinstance(x, dict):
        return {k: unfreeze(v) for k, v in x.items()}
    return x


@overload
def copy(x: FrozenDict[K, V], add_or_replace: Mapping[K, V] | None = None) -> FrozenDict[K, V]: ...
@overload
def copy(x: dict[K, V], add_or_replace: Mapping[K, V] | None = None) -> dict[K, V]: ...


def copy(x: Any, add_or_replace: Mapping | None = None) -> Any:
    """A shallow copy of a FrozenDict or dict, of the same kind, with ``add_or_replace`` applied.

    Raises:
        TypeError: ``x`` is neither a FrozenDict nor a dict.

    Example:
        >>> from brainstate_core.util import FrozenDict, copy
        >>> copy({'a': 1}, {'b': 2}), copy(FrozenDict(a=1), {'a': 3})
        ({'a': 1, 'b': 2}, FrozenDict({'a': 3}))
    """
    if isinstance(x, FrozenDict):
        return x.copy(add_or_replace)
    if isinstance(x, dict):
        return {**x, **(add_or_replace or {})}
    raise TypeError(f"copy works on a FrozenDict or a dict, got {type(x).__name__}.")


@overload
def pop(x: FrozenDict[K, V], key: K) -> tuple[FrozenDict[K, V], V]: ...
@overload
def pop(x: dict[K, V], key: K) -> tuple[dict[K, V], V]: ...


def pop(x: Any, key: Any) -> tuple[Any, Any]:
    """``(a copy of x without key, the value at key)``; ``x`` itself is not changed.

    Raises:
        KeyError: ``key`` is not in ``x``.
        TypeError: ``x`` is neither a FrozenDict nor a dict.

    Example:
        >>> from brainstate_core.util import pop
        >>> d = {'a': 1, 'b': 2}
        >>> pop(d, 'a'), d
        (({'b': 2}, 1), {'a': 1, 'b': 2})
    """
    if isinstance(x, FrozenDict):
        return x.pop(key)
    if isinstance(x, dict):
        value = x[key]
        return {k: v for k, v in x.items() if k != key}, value
    raise TypeError(f"pop works on a FrozenDict or a dict, got {type(x).__name__}.")


def _pretty(value: Any, indent: int, level: int) -> str:
    if not isinstance(value, (dict, FrozenDict)):
        return repr(value)
    items = value._data.items() if isinstance(value, FrozenDict) else value.items()
    if not items:
        return "{}"
    pad = " " * (indent * (level + 1))
    lines = [f"{pad}{k!r}: {_pretty(v, indent, level + 1)}," for k, v in items]
    return "{\n" + "\n".join(lines) + "\n" + " " * (indent * level) + "}"


def pretty_repr(x: Any, indent: int = 2) -> str:
    """A multi-line repr of a dict or FrozenDict (nested levels indented); ``repr(x)`` otherwise.

    Example:
        >>> from brainstate_core.util import FrozenDict, pretty_repr
        >>> print(pretty_repr(FrozenDict({'opt': {'lr': 0.1}, 'seed': 0})))
        FrozenDict({
          'opt': {
            'lr': 0.1,
          },
          'seed': 0,
        })
    """
    if isinstance(x, FrozenDict):
        return x.pretty_repr(indent)
    return _pretty(x, indent, 0)
