"""``HiData``: an immutable, named, nested container of values (a JAX pytree)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any

import jax
import numpy as np

__all__ = ["HiData"]


def _short(value: Any) -> str:
    """An array as ``f32[2,3]``; anything else by its repr, cut to 60 characters."""
    if isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) > 0:
        dtype = np.dtype(value.dtype)
        kind = "bool" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize * 8}"
        return f"{kind}[{','.join(map(str, value.shape))}]"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@jax.tree_util.register_pytree_with_keys_class
class HiData(Mapping):
    """Named, nested data (the states of composed dynamics, a configuration ...): a read-only
    mapping with attribute access, and a JAX pytree whose leaves are the children (the ``name`` is
    static), so it passes through ``jit``, ``vmap`` and ``jax.tree.map``.

    Args:
        children: a dict of the children (optional).
        name: an optional name, shown in the repr.
        **kwargs: more children.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> import brainstate_nn as nn
        >>> d = nn.HiData(name='neuron', v=jnp.zeros(3), spike=nn.HiData(count=jnp.ones(3)))
        >>> d.v.shape, d['spike'].count.shape, len(d)
        ((3,), (3,), 2)
        >>> jax.tree.map(lambda x: x + 1, d).to_dict()['spike']['count']
        Array([2., 2., 2.], dtype=float32)
        >>> d.replace(v=1.0)
        HiData(name='neuron', v=1.0, spike=HiData(name=None, count=f32[3]))
    """

    __slots__ = ("children", "name")

    def __init__(self, children: Mapping[str, Any] | None = None, name: str | None = None, **kwargs: Any) -> None:
        merged = dict(children or {})
        merged.update(kwargs)
        object.__setattr__(self, "children", merged)
        object.__setattr__(self, "name", name)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"HiData is immutable; use .replace({key}=...) to get a changed copy.")

    # -- mapping -----------------------------------------------------------------------------
    def __getattr__(self, key: str) -> Any:
        try:
            return object.__getattribute__(self, "children")[key]
        except KeyError:
            raise AttributeError(f"HiData {self.name!r} has no child {key!r}; it has {list(self.children)}.") from None

    def __getitem__(self, key: str) -> Any:
        return self.children[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)

    def keys(self) -> KeysView[str]:
        return self.children.keys()

    def values(self) -> ValuesView[Any]:
        return self.children.values()

    def items(self) -> ItemsView[str, Any]:
        return self.children.items()

    # -- copies ------------------------------------------------------------------------------
    def replace(self, **updates: Any) -> HiData:
        """A copy with the children ``updates`` set (added or replaced)."""
        return type(self)({**self.children, **updates}, name=self.name)

    def add(self, *others: Mapping[str, Any], **updates: Any) -> HiData:
        """A copy with the children of each mapping in ``others``, then ``updates``, merged in."""
        children = dict(self.children)
        for other in others:
            if not isinstance(other, Mapping):
                raise TypeError(f"HiData.add takes mappings (HiData or dict), not {type(other).__name__}.")
            children.update(other)
        children.update(updates)
        return type(self)(children, name=self.name)

    def pop(self, *keys: str) -> HiData:
        """A copy without the children ``keys``."""
        return type(self)({k: v for k, v in self.children.items() if k not in keys}, name=self.name)

    def clone(self) -> HiData:
        """A copy whose children are cloned where they can be (``child.clone()``)."""
        return type(self)(
            {k: v.clone() if hasattr(v, "clone") else v for k, v in self.children.items()}, name=self.name
        )

    def to_dict(self) -> dict[str, Any]:
        """Nested plain dicts."""
        return {k: v.to_dict() if isinstance(v, HiData) else v for k, v in self.children.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str | None = None) -> HiData:
        """The inverse of :meth:`to_dict` (nested dicts become nested ``HiData``)."""
        return cls({k: cls.from_dict(v) if isinstance(v, Mapping) else v for k, v in d.items()}, name=name)

    @property
    def state_size(self) -> int:
        """The number of leaf children that are not ``None``, counted through nested ``HiData``."""
        return sum(v.state_size if isinstance(v, HiData) else 1 for v in self.children.values() if v is not None)

    # -- display and pytree ------------------------------------------------------------------
    def __repr__(self) -> str:
        parts = [f"name={self.name!r}"] + [f"{k}={v!r}" if isinstance(v, HiData) else f"{k}={_short(v)}"
                                             for k, v in self.children.items()]
        return f"HiData({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:  # identity, as object (defining __eq__ would remove it)
        return object.__hash__(self)

    def __reduce__(self) -> tuple:
        return type(self), (self.children, self.name)

    def tree_flatten_with_keys(self) -> tuple[list, tuple]:
        keys = tuple(self.children)
        return [(jax.tree_util.DictKey(k), self.children[k]) for k in keys], (keys, self.name)

    @classmethod
    def tree_unflatten(cls, aux: tuple, leaves: list) -> HiData:
        keys, name = aux
        return cls(dict(zip(keys, leaves, strict=True)), name=name)
