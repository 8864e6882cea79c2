"""Path-keyed dictionaries: :class:`FlattedDict` (``path -> value``) and :class:`NestedDict`.

A path is a tuple of keys leading from a root object to an entry: attribute names, list and
tuple indices (ints) and dict keys, e.g. ``('layers', 0, 'weight')``. Both dictionaries are JAX
pytree nodes whose children are their values in insertion order, so a ``FlattedDict`` of arrays
(gradients, a snapshot of state values) passes through ``jax.jit``, ``jax.tree.map`` and friends
and comes back as a ``FlattedDict``. A ``FlattedDict`` of States is not a pytree of arrays: States
refuse to be flattened; use :meth:`FlattedDict.to_dict_values` first.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, overload

import jax
import numpy as np

from ._errors import StateShapeError
from ._filter import FilterLike, partition
from ._state import State
from ._trace import peek

__all__ = ["FlattedDict", "NestedDict"]

Path = tuple[Hashable, ...]


class FlattedDict(dict):
    """A ``dict`` from tuple paths to values (States or arrays), as returned by ``graph.states``.

    Example:
        >>> import brainstate_core as bc, jax, jax.numpy as jnp
        >>> from brainstate_core.util import FlattedDict
        >>> states = FlattedDict({('w',): bc.ParamState(jnp.ones(2)), ('h',): bc.State(jnp.zeros(2))})
        >>> values = states.to_dict_values()
        >>> jax.tree.map(lambda v: v + 1, values)
        FlattedDict({('w',): Array([2., 2.], dtype=float32), ('h',): Array([1., 1.], dtype=float32)})
        >>> states.to_nest()
        NestedDict({'w': ParamState(f32[2]), 'h': State(f32[2])})
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def copy(self) -> FlattedDict:
        """A shallow copy (a ``FlattedDict``, not a plain ``dict``)."""
        return type(self)(self)

    def __or__(self, other: Mapping) -> FlattedDict:
        """Merge: the entries of ``self``, then those of ``other`` (a NestedDict is flattened first)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        new = type(self)(self)
        new.update(_as_flat(other))
        return new

    def __ror__(self, other: Mapping) -> FlattedDict:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = FlattedDict(_as_flat(other))
        new.update(self)
        return new

    def __sub__(self, other: Mapping) -> FlattedDict:
        """The entries of ``self`` whose path is not in ``other`` (a NestedDict is flattened first)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        other = _as_flat(other)
        return type(self)((k, v) for k, v in self.items() if k not in other)

    @staticmethod
    def merge(*mappings: Mapping) -> FlattedDict:
        """One ``FlattedDict`` with the entries of every mapping in turn (later ones win): the
        inverse of :meth:`split`. NestedDicts are flattened first.

        Example:
            >>> from brainstate_core.util import FlattedDict, NestedDict
            >>> FlattedDict.merge(FlattedDict({('a',): 1}), NestedDict({'b': NestedDict({'c': 2})}))
            FlattedDict({('a',): 1, ('b', 'c'): 2})
        """
        out = FlattedDict()
        for mapping in mappings:
            out.update(_as_flat(mapping))
        return out

    def to_flat(self) -> FlattedDict:
        """A copy (the mapping is flat already): lets code take either kind of mapping."""
        return self.copy()

    @classmethod
    def from_nest(cls, nested: Mapping) -> FlattedDict:
        """The flat form of a :class:`NestedDict` (or of a nested plain ``dict``, whose inner
        ``dict`` levels count as nesting too).

        Example:
            >>> from brainstate_core.util import FlattedDict
            >>> FlattedDict.from_nest({'a': {'b': 1}, 'c': 2})
            FlattedDict({('a', 'b'): 1, ('c',): 2})
        """
        return cls(NestedDict._flat_items(nested, dict if type(nested) is dict else NestedDict))

    def to_dict(self) -> dict:
        """The entries as a plain ``dict``."""
        return dict(self)

    # -- selection --------------------------------------------------------------------------
    @overload
    def split(self, filter: FilterLike = ..., /) -> FlattedDict: ...
    @overload
    def split(self, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[FlattedDict, ...]: ...
    def split(self, *filters: FilterLike) -> FlattedDict | tuple[FlattedDict, ...]:
        """One ``FlattedDict`` per filter, each entry going to the first filter it matches.

        Entries matching no filter are dropped; end with ``...`` to keep them. With one filter
        (or none) a single ``FlattedDict`` is returned, as with ``graph.states``.

        Example:
            >>> import brainstate_core as bc
            >>> from brainstate_core.util import FlattedDict
            >>> d = FlattedDict({('a',): bc.ParamState(1.0), ('b',): bc.State(2.0)})
            >>> d.split(bc.ParamState, ...)
            (FlattedDict({('a',): ParamState(1.0)}), FlattedDict({('b',): State(2.0)}))
        """
        groups = [FlattedDict(g) for g in partition(self.items(), filters)]
        return groups[0] if len(groups) == 1 else tuple(groups)

    def filter(self, *filters: FilterLike) -> FlattedDict:
        """The entries matching at least one of ``filters`` (no filters: a copy)."""
        if not filters:
            return self.copy()
        return FlattedDict(partition(self.items(), (tuple(filters),))[0])

    def subset(self, *prefixes: Path | Hashable) -> FlattedDict:
        """The entries whose path starts with one of ``prefixes`` (a non-tuple ``k`` means ``(k,)``).

        Example:
            >>> from brainstate_core.util import FlattedDict
            >>> d = FlattedDict({('enc', 'w'): 1, ('dec', 'w'): 2, ('dec', 'b'): 3})
            >>> d.subset('dec')
            FlattedDict({('dec', 'w'): 2, ('dec', 'b'): 3})
        """
        pre = [p if isinstance(p, tuple) else (p,) for p in prefixes]
        return FlattedDict((k, v) for k, v in self.items() if any(k[: len(p)] == p for p in pre))

    # -- conversion ---------------------------------------------------------------------------
    def to_nest(self) -> NestedDict:
        """The same entries as a nested :class:`NestedDict`, one level per path component.

        Raises:
            ValueError: a path is empty, or is a prefix of another path.
        """
        root = NestedDict()
        for path, value in self.items():
            if not path:
                raise ValueError("The empty path () cannot be nested: it is the root itself.")
            node = root
            for key in path[:-1]:
                child = node.setdefault(key, NestedDict())
                if not isinstance(child, NestedDict):
                    raise ValueError(f"Path {path} passes through {path[: path.index(key) + 1]}, which holds a value.")
                node = child
            if path[-1] in node:
                raise ValueError(f"Path {path} is a prefix of another path; it cannot hold a value and children.")
            node[path[-1]] = value
        return root

    def to_dict_values(self) -> FlattedDict:
        """``path -> state.value`` for every State (other values are kept as they are).

        Reading goes through ``State.value``, so inside a transformation the reads are recorded.
        """
        return FlattedDict((k, v.value if isinstance(v, State) else v) for k, v in self.items())

    def assign_values(self, values: Mapping, *, strict: bool = True) -> None:
        """Write ``values`` (``path -> value``, or a :class:`NestedDict`) into the States of ``self``.

        Every value is checked first: its path must be one of ``self``'s, and its pytree structure,
        shapes and dtypes must match the state's current value. With ``strict=True`` every state
        must also receive a value. If anything is wrong, one :class:`StateShapeError` lists every
        problem and nothing is assigned.

        Example:
            >>> import brainstate_core as bc, jax.numpy as jnp
            >>> from brainstate_core.util import FlattedDict
            >>> d = FlattedDict({('w',): bc.ParamState(jnp.zeros(2))})
            >>> d.assign_values({('w',): jnp.ones(2)})
            >>> d[('w',)].value
            Array([1., 1.], dtype=float32)
            >>> d.assign_values({('w',): jnp.ones(3), ('v',): 0.0})
            Traceback (most recent call last):
            ...
            brainstate.StateShapeError: Cannot assign values to the states (nothing was assigned):
              ('w',): ParamState(f32[2]) created at ...: shape (3,) given, (2,) expected
              ('v',): unknown path, there is no state at this path
            ...
        """
        values = _as_flat(values)
        problems = []
        for path, value in values.items():
            state = self.get(path, _MISSING)
            if state is _MISSING:
                problems.append((path, "unknown path, there is no state at this path"))
            elif not isinstance(state, State):
                raise TypeError(
                    f"assign_values writes into States, but the entry at {path} is {type(state).__name__}. "
                    "Call it on a FlattedDict of States, such as graph.states(obj)."
                )
            else:
                problem = _mismatch(state, value)
                if problem:
                    problems.append((path, f"{state!r} created at {state.source_info}: {problem}"))
        if strict:
            problems.extend((p, "missing, no value was given for this state") for p in self if p not in values)
        if problems:
            raise StateShapeError(_report(problems, strict))
        for path, value in values.items():
            self[path].value = value


class NestedDict(dict):
    """A nested ``dict`` keyed by path components; inner levels are NestedDicts too.

    Only NestedDict levels count as nesting, so a state value that is itself a plain ``dict``
    stays one value in :meth:`to_flat`.

    Example:
        >>> from brainstate_core.util import NestedDict
        >>> NestedDict({'layers': NestedDict({0: NestedDict({'w': 1, 'b': 2})})}).to_flat()
        FlattedDict({('layers', 0, 'w'): 1, ('layers', 0, 'b'): 2})
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def copy(self) -> NestedDict:
        return type(self)(self)

    def to_flat(self) -> FlattedDict:
        """The inverse of :meth:`FlattedDict.to_nest`: ``path -> value`` in depth-first order."""
        return FlattedDict(self._flat_items(self, NestedDict))

    @staticmethod
    def _flat_items(nested: Mapping, level: type) -> list:
        out: list = []

        def visit(prefix: Path, node: Mapping) -> None:
            for key, value in node.items():
                if isinstance(value, level):
                    visit(prefix + (key,), value)
                else:
                    out.append((prefix + (key,), value))

        visit((), nested)
        return out

    @classmethod
    def from_flat(cls, flat: Mapping | Iterable[tuple[Path, Any]]) -> NestedDict:
        """The nested form of a ``path -> value`` mapping (see :meth:`FlattedDict.to_nest`).

        Example:
            >>> from brainstate_core.util import NestedDict
            >>> NestedDict.from_flat({('a', 'b'): 1, ('c',): 2})
            NestedDict({'a': NestedDict({'b': 1}), 'c': 2})
        """
        return FlattedDict(flat).to_nest()

    @staticmethod
    def merge(*mappings: Mapping) -> NestedDict:
        """One ``NestedDict`` with the entries of every mapping in turn (later ones win).

        Example:
            >>> from brainstate_core.util import FlattedDict, NestedDict
            >>> NestedDict.merge(NestedDict({'a': 1}), FlattedDict({('b', 'c'): 2}))
            NestedDict({'a': 1, 'b': NestedDict({'c': 2})})
        """
        return FlattedDict.merge(*mappings).to_nest()

    def __or__(self, other: Mapping) -> NestedDict:
        if not isinstance(other, Mapping):
            return NotImplemented
        return NestedDict.merge(self, other)

    def __sub__(self, other: Mapping) -> NestedDict:
        """The entries whose path is not in ``other``."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return (self.to_flat() - other).to_nest()

    @overload
    def split(self, filter: FilterLike = ..., /) -> NestedDict: ...
    @overload
    def split(self, first: FilterLike, second: FilterLike, /, *rest: FilterLike) -> tuple[NestedDict, ...]: ...
    def split(self, *filters: FilterLike) -> NestedDict | tuple[NestedDict, ...]:
        """As :meth:`FlattedDict.split`, by path, giving NestedDicts.

        Example:
            >>> import brainstate_core as bc
            >>> from brainstate_core.util import NestedDict
            >>> NestedDict({'w': bc.ParamState(1.0), 'h': bc.State(0.0)}).split(bc.ParamState, ...)
            (NestedDict({'w': ParamState(1.0)}), NestedDict({'h': State(0.0)}))
        """
        groups = self.to_flat().split(*filters)
        return groups.to_nest() if isinstance(groups, FlattedDict) else tuple(g.to_nest() for g in groups)

    def filter(self, *filters: FilterLike) -> NestedDict:
        """The entries matching at least one of ``filters`` (see :meth:`FlattedDict.filter`)."""
        return self.to_flat().filter(*filters).to_nest()

    def to_dict(self) -> dict:
        """The same nesting with plain ``dict`` levels."""
        return {k: v.to_dict() if isinstance(v, NestedDict) else v for k, v in self.items()}

    to_pure_dict = to_dict


_MISSING = object()


def _as_flat(values: Mapping) -> Mapping:
    return values.to_flat() if isinstance(values, NestedDict) else values


def _values(found: list, filters: tuple) -> list[FlattedDict]:
    """One ``FlattedDict`` ``path -> state.value`` per filter, from ``(path, state)`` pairs."""
    return [FlattedDict((p, s.value) for p, s in group) for group in partition(found, filters)]


def _mismatch(state: State, value: Any) -> str:
    """Why ``value`` cannot replace the value of ``state`` (empty string if it can)."""
    if isinstance(value, State):
        return f"got the State {value!r}; pass its `.value`"
    old_leaves, old_def = jax.tree.flatten(peek(state))
    new_leaves, new_def = jax.tree.flatten(value)
    if old_def != new_def:
        return f"pytree structure {new_def} given, {old_def} expected"
    problems = []
    for i, (old, new) in enumerate(zip(old_leaves, new_leaves)):
        where = f" (leaf {i})" if len(old_leaves) > 1 else ""
        if np.shape(old) != np.shape(new):
            problems.append(f"shape {np.shape(new)} given, {np.shape(old)} expected{where}")
        old_dtype, new_dtype = getattr(old, "dtype", None), getattr(new, "dtype", None)
        if old_dtype is not None and new_dtype is not None and old_dtype != new_dtype:
            problems.append(f"dtype {new_dtype} given, {old_dtype} expected{where}")
    return "; ".join(problems)


def _report(problems: Iterable[tuple[Path, str]], strict: bool) -> str:
    lines = [f"  {path}: {why}" for path, why in problems]
    hint = "Fix: pass one value per state path, shaped like the state's current value"
    if strict:
        hint += " (use strict=False to assign only some of the states)"
    return "Cannot assign values to the states (nothing was assigned):\n" + "\n".join(lines) + "\n" + hint + "."


def _flatten_with_keys(d: dict) -> tuple[list, tuple]:
    return [(jax.tree_util.DictKey(k), v) for k, v in d.items()], tuple(d)


def _flatten(d: dict) -> tuple[list, tuple]:
    return list(d.values()), tuple(d)


for _cls in (FlattedDict, NestedDict):
    jax.tree_util.register_pytree_with_keys(
        _cls, _flatten_with_keys, lambda keys, values, _cls=_cls: _cls(zip(keys, values)), _flatten
    )
