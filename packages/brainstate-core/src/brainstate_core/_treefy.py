"""State descriptions that are JAX pytrees (:class:`TreefyState`) and dicts of States (:class:`StateDictManager`)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

import jax

from ._errors import StateArgumentError
from ._filter import FilterLike
from ._flatted import FlattedDict
from ._state import State, format_value

__all__ = ["TreefyState", "StateDictManager"]


class TreefyState:
    """A State's type, value, name and metadata as a JAX pytree whose one child is the value.

    Unlike a :class:`State`, it can be passed through ``jax.jit`` and ``jax.tree.map``; the type,
    name and metadata are static (part of the tree structure, so they must be hashable to be used
    as a ``jax.jit`` argument). :meth:`State.to_state_ref` makes one, :meth:`to_state` makes a new
    State from it, :meth:`State.update_from_ref` writes it back into a State.

    Args:
        type: the State class described.
        value: the value.
        name: the state's name.
        **metadata: the state's metadata.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> ref = brainstate.ParamState(jnp.ones(2), name='w', unit='mV').to_state_ref()
        >>> doubled = jax.jit(lambda r: jax.tree.map(lambda x: 2 * x, r))(ref)
        >>> doubled.value, doubled.unit
        (Array([2., 2.], dtype=float32), 'mV')
        >>> doubled.to_state()
        ParamState(f32[2], name='w')
    """

    __slots__ = ("type", "value", "name", "metadata")

    def __init__(self, type: type[State], value: Any, name: str | None = None, **metadata: Any) -> None:
        if not (isinstance(type, builtins.type) and issubclass(type, State)):
            raise StateArgumentError(f"TreefyState describes a State class; got {type!r}.")
        self.type = type
        self.value = value
        self.name = name
        self.metadata = metadata

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            try:
                metadata = object.__getattribute__(self, "metadata")
            except AttributeError:
                metadata = {}
            if name in metadata:
                return metadata[name]
        raise AttributeError(f"'TreefyState' object has no attribute or metadata key {name!r}")

    def get_metadata(self) -> dict[str, Any]:
        """The name and the metadata, as one dict."""
        return {"name": self.name, **self.metadata}

    def replace(self, value: Any) -> TreefyState:
        """The same description with another value."""
        return TreefyState(self.type, value, self.name, **self.metadata)

    def copy(self) -> TreefyState:
        """A copy (new containers, same leaves)."""
        return jax.tree.map(lambda x: x, self)

    def to_state(self) -> State:
        """A new State of :attr:`type` with this value, name and metadata (its constructor is not called)."""
        state = self.type.__new__(self.type)
        State.__init__(state, self.value, self.name, **self.metadata)
        return state

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.get_metadata().items() if v is not None)
        return f"TreefyState({self.type.__name__}, {format_value(self.value)}{extra})"



def _flatten_with_keys(ref: TreefyState) -> tuple[tuple, tuple]:
    return ((jax.tree_util.GetAttrKey("value"), ref.value),), (ref.type, ref.name, tuple(ref.metadata.items()))


def _flatten(ref: TreefyState) -> tuple[tuple, tuple]:
    return (ref.value,), (ref.type, ref.name, tuple(ref.metadata.items()))


def _unflatten(aux: tuple, children: Iterable[Any]) -> TreefyState:
    cls, name, metadata = aux
    (value,) = children
    return TreefyState(cls, value, name, **dict(metadata))


jax.tree_util.register_pytree_with_keys(TreefyState, _flatten_with_keys, _unflatten, flatten_func=_flatten)


class StateDictManager(FlattedDict):
    """A dict whose values are States, keyed by anything (paths, names): upstream's state collection.

    It has every :class:`~brainstate.util.FlattedDict` method (``split``, ``filter``,
    ``to_dict_values``, checked ``assign_values``) and refuses values that are not States.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> d = brainstate.StateDictManager(w=brainstate.ParamState(jnp.ones(2)), h=brainstate.HiddenState(jnp.zeros(2)))
        >>> params, rest = d.split_values(brainstate.ParamState)
        >>> list(params), list(rest)
        (['w'], ['h'])
        >>> d.assign_values({'h': jnp.ones(2)})
        >>> d.collect_values()['h']
        Array([1., 1.], dtype=float32)
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            self._check(key, value)

    def _check(self, key: Any, value: Any) -> None:
        if not isinstance(value, State):
            raise StateArgumentError(f"A StateDictManager holds States; the entry {key!r} is {type(value).__name__}.")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check(key, value)
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def assign_values(self, *values: Mapping, strict: bool = False) -> None:
        """Write the values of one or more dicts ``{key: value}`` into the States (checked, all or nothing).

        Unlike upstream, every value is checked against its state (path, structure, shape, dtype)
        before anything is written; see ``FlattedDict.assign_values``. ``strict=True`` also requires
        a value for every state.
        """
        merged: dict = {}
        for part in values:
            merged.update(part)
        super().assign_values(merged, strict=strict)

    def collect_values(self) -> FlattedDict:
        """``{key: state.value}`` for every state."""
        return self.to_dict_values()

    def split_values(self, *filters: FilterLike) -> tuple[FlattedDict, ...]:
        """The values split by ``filters``, plus one dict for the states matching none."""
        groups = self.split(*filters, ...)
        groups = groups if isinstance(groups, tuple) else (groups,)
        return tuple(FlattedDict((k, s.value) for k, s in g.items()) for g in groups)
