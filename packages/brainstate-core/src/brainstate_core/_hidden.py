"""Several hidden variables in one State: :class:`HiddenGroupState` and :class:`HiddenTreeState`.

Both keep one array whose last axis indexes the variables, so that an online-learning algorithm
(eligibility traces) sees every hidden variable of a neuron group as a single state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import ConfigError, StateShapeError
from ._state import HiddenState
from ._trace import peek

__all__ = ["HiddenGroupState", "HiddenTreeState"]


def _is_array(x: Any) -> bool:
    return isinstance(x, (np.ndarray, jax.Array)) or _is_quantity(x)


def _is_quantity(x: Any) -> bool:
    """A ``brainunit`` (``saiunit``) quantity, recognised without importing the optional package."""
    cls = type(x)
    return hasattr(cls, "mantissa") and hasattr(cls, "to_decimal") and hasattr(cls, "unit")


class HiddenGroupState(HiddenState):
    """Hidden variables of the same shape stacked on the last axis of one array.

    Variable ``i`` is ``value[..., i]``, also named ``str(i)``.

    Args:
        value: an array with at least two dimensions; the last one counts the variables.
        name: optional display name.
        **metadata: State metadata.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.HiddenGroupState(jnp.zeros((4, 2)))
        >>> s.varshape, s.num_state
        ((4,), 2)
        >>> s.set_value({1: jnp.ones(4)})
        >>> s.get_value('1')
        Array([1., 1., 1., 1.], dtype=float32)
    """

    def __init__(self, value: Any, name: str | None = None, **metadata: Any) -> None:
        if not _is_array(value):
            raise ConfigError(f"{type(self).__name__} takes an array; got {type(value).__name__}.")
        if np.ndim(value) < 2:
            raise ConfigError(
                f"{type(self).__name__} takes an array of at least 2 dimensions (the last one counts the hidden "
                f"variables); got shape {np.shape(value)}. Use HiddenState for a single variable."
            )
        self.name2index = {str(i): i for i in range(np.shape(value)[-1])}
        super().__init__(value, name, **metadata)

    @property
    def varshape(self) -> tuple[int, ...]:
        """The shape of each variable (the value's shape without the last axis)."""
        return tuple(np.shape(peek(self))[:-1])

    @property
    def num_state(self) -> int:
        """How many variables the state holds."""
        return int(np.shape(peek(self))[-1])

    def _index(self, item: int | str) -> int:
        if isinstance(item, str):
            if item not in self.name2index:
                raise ConfigError(f"{self!r} has no hidden variable named {item!r}; its names are {list(self.name2index)}.")
            return self.name2index[item]
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -self.num_state <= item < self.num_state:
                raise ConfigError(f"Hidden variable index {item} is out of range for {self!r} ({self.num_state} variables).")
            return int(item) % self.num_state
        raise ConfigError(f"A hidden variable is selected by an int or a str; got {type(item).__name__} {item!r}.")

    def get_value(self, item: int | str) -> Any:
        """The value of one variable (by index or name); a read of the state."""
        return self.value[..., self._index(item)]

    def set_value(self, val: Mapping[int | str, Any] | Sequence[Any]) -> None:
        """Write some variables: ``{index or name: value}``, or a sequence for the first ones; a write."""
        indices, values = self._collect(val)
        self.value = self.value.at[..., np.asarray(indices)].set(jnp.stack(values, axis=-1))

    def _collect(self, val: Mapping[int | str, Any] | Sequence[Any]) -> tuple[list[int], list[Any]]:
        if isinstance(val, (tuple, list)):
            val = dict(enumerate(val))
        if not isinstance(val, Mapping) or not val:
            raise ConfigError(f"set_value takes a non-empty dict {{index or name: value}} or sequence; got {val!r}.")
        indices, values = [], []
        for key, value in val.items():
            index = self._index(key)
            if tuple(np.shape(value)) != self.varshape:
                raise StateShapeError(
                    f"Hidden variable {key!r} of {self!r} (created at {self.source_info}) has shape {self.varshape}; "
                    f"got a value of shape {tuple(np.shape(value))}."
                )
            indices.append(index)
            values.append(self._magnitude(index, value))
        return indices, values

    def _magnitude(self, index: int, value: Any) -> Any:
        return value


class HiddenTreeState(HiddenGroupState):
    """Hidden variables given as a dict or sequence of same-shape arrays, kept as one stacked array.

    Each variable keeps its name (the dict key, or ``str(i)``) and, for ``brainunit`` quantities,
    its unit: :meth:`get_value` returns it with its unit, :meth:`set_value` converts to it, while
    :attr:`value` is the stacked unitless array (what transformations and learning rules see).

    Args:
        value: ``{name: array}`` or a sequence of arrays, all of one shape.
        name: optional display name.
        **metadata: State metadata.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> s = brainstate.HiddenTreeState({'v': jnp.zeros(3), 'i': jnp.ones(3)})
        >>> s.value.shape, s.name2index
        ((3, 2), {'v': 0, 'i': 1})
        >>> s.set_value({'v': jnp.full(3, 2.0)})
        >>> s.get_value('v')
        Array([2., 2., 2.], dtype=float32)
    """

    def __init__(self, value: Mapping[str, Any] | Sequence[Any], name: str | None = None, **metadata: Any) -> None:
        if isinstance(value, (tuple, list)):
            value = {str(i): v for i, v in enumerate(value)}
        if not isinstance(value, Mapping) or not value:
            raise ConfigError(f"HiddenTreeState takes a non-empty dict or sequence of arrays; got {type(value).__name__}.")
        shapes = {}
        for key, leaf in value.items():
            if not _is_array(leaf):
                raise ConfigError(f"HiddenTreeState takes arrays; variable {key!r} is {type(leaf).__name__}.")
            shapes[key] = tuple(np.shape(leaf))
        if len(set(shapes.values())) > 1:
            raise StateShapeError(f"The variables of a HiddenTreeState must have one shape; got {shapes}.")
        split = {k: _split_unit(v) for k, v in value.items()}
        self.name2unit = {k: unit for k, (_, unit) in split.items()}
        self.index2unit = dict(enumerate(self.name2unit.values()))
        self.index2name = dict(enumerate(value))
        stacked = jnp.stack([jnp.asarray(m) for m, _ in split.values()], axis=-1)
        super().__init__(stacked, name, **metadata)
        self.name2index = {k: i for i, k in enumerate(value)}

    def get_value(self, item: int | str) -> Any:
        """The value of one variable, with its unit if it had one."""
        index = self._index(item)
        value = self.value[..., index]
        unit = self.index2unit[index]
        return value if unit is None else value * unit

    def _magnitude(self, index: int, value: Any) -> Any:
        unit = self.index2unit[index]
        if unit is None:
            if _is_quantity(value):
                raise StateShapeError(f"Hidden variable {self.index2name[index]!r} of {self!r} is unitless; got {value!r}.")
            return value
        if not _is_quantity(value):
            raise StateShapeError(f"Hidden variable {self.index2name[index]!r} of {self!r} has unit {unit}; got a unitless value.")
        return value.to_decimal(unit)


def _split_unit(x: Any) -> tuple[Any, Any]:
    """``(magnitude, unit)``, with ``unit=None`` for plain arrays and dimensionless quantities."""
    if not _is_quantity(x):
        return x, None
    unit = x.unit
    if unit.is_unitless:
        return x.mantissa, None
    return x.to_decimal(unit), unit
