"""Plain-dictionary helpers: :class:`DotDict` (attribute access) and the functions that merge,
flatten and unflatten nested ``dict`` trees with string keys.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jax

__all__ = ["DotDict", "merge_dicts", "flatten_dict", "unflatten_dict"]


class DotDict(dict):
    """A ``dict`` whose keys also read and write as attributes; nested dicts become DotDicts.

    Dicts found as values, directly or inside lists and tuples, are converted on insertion, so
    ``cfg.model.width`` works all the way down. A key named like a ``dict`` method (``items``,
    ``keys``, ...) is reachable only by indexing. A DotDict is a JAX pytree whose children are
    its values.

    Example:
        >>> from brainstate_core.util import DotDict
        >>> cfg = DotDict({'model': {'width': 64}, 'lr': 0.1})
        >>> cfg.model.width
        64
        >>> cfg.seed = 0
        >>> cfg['seed'], cfg.to_dict()
        (0, {'model': {'width': 64}, 'lr': 0.1, 'seed': 0})
        >>> cfg.missing
        Traceback (most recent call last):
        ...
        AttributeError: DotDict has no key 'missing'
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.update(*args, **kwargs)

    @classmethod
    def _convert(cls, value: Any) -> Any:
        if isinstance(value, dict) and not isinstance(value, cls):
            return cls(value)
        if isinstance(value, list):
            return [cls._convert(v) for v in value]
        if type(value) is tuple:
            return tuple(cls._convert(v) for v in value)
        return value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, self._convert(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if hasattr(type(self), name):
            raise AttributeError(
                f"Cannot set {name!r} as an attribute: it is a method of {type(self).__name__}. "
                f"Use item assignment, d[{name!r}] = ..."
            )
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r}") from None

    def __dir__(self) -> list[str]:
        return [*dir(type(self)), *(k for k in self if isinstance(k, str))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Insert the entries of a mapping (or of ``(key, value)`` pairs) and of ``kwargs``.

        Unlike ``dict.update``, a dict value merges into an existing dict value instead of
        replacing it (as :func:`merge_dicts` does).
        """
        if len(args) > 1:
            raise TypeError(f"update takes at most one positional argument, got {len(args)}")
        for key, value in dict(*args, **kwargs).items():
            old = self.get(key)
            if isinstance(old, DotDict) and isinstance(value, Mapping):
                old.update(value)
            else:
                self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> DotDict:
        """A shallow copy (a DotDict sharing the nested DotDicts)."""
        new = type(self)()
        dict.update(new, self)
        return new

    def deepcopy(self) -> DotDict:
        """A deep copy, the same as ``copy.deepcopy(self)``."""
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict) -> DotDict:
        new = type(self)()
        memo[id(self)] = new
        for key, value in self.items():
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def __reduce__(self) -> tuple:
        return type(self), (dict(self),)

    def to_dict(self) -> dict:
        """A plain ``dict`` (nested DotDicts, also inside lists and tuples, converted too)."""
        return {k: _plain(v) for k, v in self.items()}

    def __or__(self, other: Any) -> DotDict:
        if not isinstance(other, Mapping):
            return NotImplemented
        new = type(self)(self.to_dict())  # new nested levels, so the merge leaves self unchanged
        new.update(other)
        return new

    def __ior__(self, other: Any) -> DotDict:
        if not isinstance(other, Mapping):
            return NotImplemented
        self.update(other)
        return self


def _plain(value: Any) -> Any:
    if isinstance(value, DotDict):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value) is tuple:
        return tuple(_plain(v) for v in value)
    return value


jax.tree_util.register_pytree_with_keys(
    DotDict,
    lambda d: ([(jax.tree_util.DictKey(k), v) for k, v in d.items()], tuple(d)),
    lambda keys, values: DotDict(zip(keys, values)),
    lambda d: (list(d.values()), tuple(d)),
)


def merge_dicts(*dicts: Mapping, recursive: bool = True) -> dict:
    """Merge ``dicts`` left to right into a new ``dict``; later values win.

    Args:
        *dicts: the mappings to merge; none is modified.
        recursive: merge two mapping values found under the same key instead of replacing the
            first with the second.

    Returns:
        A new ``dict`` (nested merged levels are new dicts too).

    Raises:
        TypeError: an argument is not a mapping.

    Example:
        >>> from brainstate_core.util import merge_dicts
        >>> merge_dicts({'a': 1, 'opt': {'lr': 0.1, 'wd': 0}}, {'opt': {'lr': 0.01}})
        {'a': 1, 'opt': {'lr': 0.01, 'wd': 0}}
        >>> merge_dicts({'opt': {'lr': 0.1, 'wd': 0}}, {'opt': {'lr': 0.01}}, recursive=False)
        {'opt': {'lr': 0.01}}
    """
    out: dict = {}
    for i, d in enumerate(dicts):
        if not isinstance(d, Mapping):
            raise TypeError(f"merge_dicts merges mappings; argument {i} is a {type(d).__name__}.")
        for key, value in d.items():
            old = out.get(key)
            if recursive and isinstance(old, Mapping) and isinstance(value, Mapping):
                out[key] = merge_dicts(old, value)
            else:
                out[key] = value
    return out


def flatten_dict(d: Mapping, parent_key: str = "", sep: str = ".") -> dict:
    """Flatten nested dicts into one level whose keys are the joined paths (``'opt.lr'``).

    An empty nested dict is kept as the value ``{}``, so :func:`unflatten_dict` restores it.

    Args:
        d: the nested dict; nested levels need string keys.
        parent_key: a prefix for every key.
        sep: the separator placed between the keys of a path.

    Returns:
        A new one-level ``dict``.

    Raises:
        TypeError: ``d`` is not a mapping, or a nested level has a non-string key.
        ValueError: two paths join to the same key (``{'a.b': 1, 'a': {'b': 2}}``).

    Example:
        >>> from brainstate_core.util import flatten_dict
        >>> flatten_dict({'a': 1, 'opt': {'lr': 0.1, 'betas': {}}})
        {'a': 1, 'opt.lr': 0.1, 'opt.betas': {}}
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"flatten_dict needs a mapping, got {type(d).__name__}.")
    out: dict = {}

    def visit(prefix: str, node: Mapping) -> None:
        for key, value in node.items():
            if prefix and not isinstance(key, str):
                raise TypeError(f"flatten_dict joins string keys; {prefix!r} has the key {key!r}.")
            full = f"{prefix}{sep}{key}" if prefix else key
            if isinstance(value, Mapping) and value:
                visit(full, value)
                continue
            if full in out:
                raise ValueError(f"flatten_dict: two paths join to the key {full!r}; use another sep.")
            out[full] = {} if isinstance(value, Mapping) else value

    visit(parent_key, d)
    return out


def unflatten_dict(d: Mapping, sep: str = ".") -> dict:
    """The inverse of :func:`flatten_dict`: split each key on ``sep`` into a path of nested dicts.

    Args:
        d: a one-level mapping with string keys.
        sep: the separator to split keys on.

    Returns:
        A new nested ``dict``.

    Raises:
        TypeError: ``d`` is not a mapping, or a key is not a string.
        ValueError: a key has an empty part (``'a..b'``), or one key is a prefix of another
            whose value is not a dict (``{'a': 1, 'a.b': 2}``).

    Example:
        >>> from brainstate_core.util import flatten_dict, unflatten_dict
        >>> nested = {'a': 1, 'opt': {'lr': 0.1, 'betas': {}}}
        >>> unflatten_dict(flatten_dict(nested)) == nested
        True
    """
    if not isinstance(d, Mapping):
        raise TypeError(f"unflatten_dict needs a mapping, got {type(d).__name__}.")
    out: dict = {}
    for key, value in d.items():
        if not isinstance(key, str):
            raise TypeError(f"unflatten_dict splits string keys; got the key {key!r}.")
        parts = key.split(sep)
        if "" in parts:
            raise ValueError(f"unflatten_dict: the key {key!r} has an empty part between separators {sep!r}.")
        node = out
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(
                    f"unflatten_dict: {sep.join(parts[: i + 1])!r} holds a value, so {key!r} cannot nest in it."
                )
        last = parts[-1]
        if isinstance(node.get(last), dict) and node[last] and not (isinstance(value, Mapping) and not value):
            raise ValueError(f"unflatten_dict: {key!r} holds a value and also nested keys.")
        if last not in node or not isinstance(node[last], dict):
            node[last] = dict(value) if isinstance(value, Mapping) else value
    return out
