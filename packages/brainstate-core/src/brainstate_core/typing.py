"""Type aliases for annotating code built on brainstate: arrays, shapes, pytrees, filters, seeds.

They are annotations: none of them changes what a function accepts at run time.

Example:
    >>> import jax.numpy as jnp
    >>> from brainstate_core.typing import ArrayLike, Shape
    >>> def zeros(shape: Shape, fill: ArrayLike = 0.0):
    ...     return jnp.full(shape, fill)
    >>> zeros((2,)).shape
    (2,)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from types import EllipsisType
from typing import Annotated, Any, Protocol, TypeVar, runtime_checkable

import jax
import numpy as np

from ._filter import Filter as _FilterObject

__all__ = [
    "PathParts",
    "Predicate",
    "Filter",
    "FilterLiteral",
    "Array",
    "ArrayLike",
    "Shape",
    "Size",
    "Axes",
    "DType",
    "DTypeLike",
    "SupportsDType",
    "PyTree",
    "SeedOrKey",
    "Key",
    "Missing",
    "K",
    "_T",
    "_Annotation",
]

K = TypeVar("K", bound="Key")
_T = TypeVar("_T")
_Annotation = TypeVar("_Annotation")


@runtime_checkable
class Key(Hashable, Protocol):
    """A key of a path: hashable and ordered (``str``, ``int``, ...).

    Example:
        >>> from brainstate_core.typing import Key
        >>> isinstance('w', Key), isinstance(0, Key), isinstance([0], Key)
        (True, True, False)
    """

    def __lt__(self, other: Any, /) -> bool: ...


PathParts = tuple[Key, ...]
"""A path from a root object to an entry of its graph, e.g. ``('layers', 0, 'weight')``."""

Predicate = Callable[[PathParts, Any], bool]
"""A filter function ``(path, value) -> bool``."""

FilterLiteral = type | str | EllipsisType | Predicate | _FilterObject
"""One filter: a class, a tag string, ``...``, a predicate, or a filter object (``WithTag``, ...)."""

Filter = FilterLiteral | tuple["Filter", ...] | list["Filter"]
"""A filter or a tuple / list of filters (matching if any matches), as ``graph.states`` takes."""


class Array:
    """``jax.Array`` annotated with a shape description: ``Array['batch, features']``.

    The subscript is documentation (kept as ``typing.Annotated`` metadata); nothing is checked.

    Example:
        >>> import typing
        >>> from brainstate_core.typing import Array
        >>> hint = Array['m, n']
        >>> typing.get_args(hint)[1]
        'm, n'
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Array:
        raise TypeError("brainstate.typing.Array is an annotation; create arrays with jax.numpy.")

    def __class_getitem__(cls, shape: Any) -> Any:
        return Annotated[jax.Array, shape]


class _PyTreeMeta(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("brainstate.typing.PyTree is an annotation and cannot be instantiated.")

    def __getitem__(cls, item: Any) -> type:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise TypeError(
                    "PyTree[...] takes a leaf type, PyTree[int], or a leaf type and a structure name, "
                    f"PyTree[int, 'T']; got {len(item)} arguments."
                )
            leaf, structure = item
            structure = _check_structure(structure)
        else:
            leaf, structure = item, None
        if not isinstance(leaf, Hashable):
            raise TypeError(f"The leaf type in PyTree[leaf] must be hashable, got a {type(leaf).__name__}.")
        return _pytree_class(leaf, structure)


def _check_structure(structure: Any) -> str:
    if not isinstance(structure, str):
        raise TypeError(f"The structure in PyTree[leaf, structure] must be a string such as 'T', got {structure!r}.")
    pieces = structure.split()
    names = [p for p in pieces if p != "..."]
    ends = (0, len(pieces) - 1)
    if not names or any(not p.isidentifier() for p in names):
        raise ValueError(
            "The structure in PyTree[leaf, structure] is one or more identifiers separated by spaces "
            f"('T', 'S T'), optionally with a leading or trailing '...'; got {structure!r}."
        )
    if pieces.count("...") > 1 or any(p == "..." and i not in ends for i, p in enumerate(pieces)):
        raise ValueError(
            f"'...' may appear once, first or last, in the structure of PyTree[leaf, structure]; got {structure!r}."
        )
    return " ".join(pieces)


@functools.cache
def _pytree_class(leaf: Any, structure: str | None) -> type:
    leaf_name = getattr(leaf, "__name__", None) or repr(leaf)
    name = f"PyTree[{leaf_name}]" if structure is None else f"PyTree[{leaf_name}, {structure!r}]"
    cls = _PyTreeMeta(name, (PyTree,), {"leaftype": leaf, "structure": structure})
    cls.__module__ = PyTree.__module__
    return cls


class PyTree(metaclass=_PyTreeMeta):
    """A pytree, optionally of a given leaf type and named structure: ``PyTree[jax.Array, 'T']``.

    ``PyTree`` alone means any pytree (every Python value is one). ``PyTree[leaf]`` says every
    leaf is a ``leaf``; a structure name marks pytrees that share one structure. Subscripts are
    cached, so equal subscripts give the same class, with ``leaftype`` and ``structure`` attributes.

    Example:
        >>> import jax
        >>> from brainstate_core.typing import PyTree
        >>> T = PyTree[jax.Array, 'T']
        >>> T is PyTree[jax.Array, 'T'], T.leaftype is jax.Array, T.structure
        (True, True, 'T')
        >>> PyTree[int, 'not-valid']
        Traceback (most recent call last):
        ...
        ValueError: The structure in PyTree[leaf, structure] is one or more identifiers ...
    """

    leaftype: Any = Any
    structure: str | None = None


Size = int | Sequence[int] | np.integer | Sequence[np.integer]
"""A size: an int, or a sequence of ints for several dimensions."""

Shape = Sequence[int]
"""An array shape, such as ``(3, 4)``."""

Axes = int | Sequence[int]
"""One axis or several."""

ArrayLike = jax.Array | np.ndarray | np.bool_ | np.number | bool | int | float | complex
"""What converts to a JAX array without ambiguity: arrays and scalars (no lists, no strings)."""

DType = np.dtype
"""A NumPy dtype."""


@runtime_checkable
class SupportsDType(Protocol):
    """Anything with a ``dtype`` attribute (arrays, ``jax.ShapeDtypeStruct``, ...).

    Example:
        >>> import numpy as np
        >>> from brainstate_core.typing import SupportsDType
        >>> isinstance(np.zeros(2), SupportsDType), isinstance(2.0, SupportsDType)
        (True, False)
    """

    @property
    def dtype(self) -> DType: ...


DTypeLike = str | type[Any] | np.dtype | SupportsDType
"""What names a dtype: ``'float32'``, ``jnp.float32``, ``np.dtype('int8')``, or an array's dtype."""

SeedOrKey = int | jax.Array | np.ndarray
"""An int seed or a PRNG key."""


class Missing:
    """A marker for "no value given", where ``None`` is a meaningful value.

    Example:
        >>> from brainstate_core.typing import Missing
        >>> def f(x=Missing):
        ...     return 'not given' if x is Missing else x
        >>> f(), f(None)
        ('not given', None)
    """
