"""A thread-safe, size-bounded cache that evicts the least recently used entry."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["BoundedCache"]


class BoundedCache:
    """A least-recently-used cache holding at most ``maxsize`` entries; safe to share between threads.

    Reading an entry (:meth:`get`) makes it the most recently used; adding one to a full cache
    (:meth:`set`) first evicts the least recently used. An entry is written once: :meth:`set`
    refuses an existing key (use :meth:`replace`), so a cached result is never overwritten by
    accident.

    Args:
        maxsize: the most entries kept; 0 keeps none.

    Raises:
        TypeError: ``maxsize`` is not an int.
        ValueError: ``maxsize`` is negative.

    Example:
        >>> from brainstate_core.util import BoundedCache
        >>> cache = BoundedCache(maxsize=2)
        >>> cache.set('a', 1); cache.set('b', 2)
        >>> cache.get('a')          # 'a' is now the most recently used
        1
        >>> cache.set('c', 3)       # evicts 'b'
        >>> cache.keys()
        ['a', 'c']
        >>> cache.get_stats()
        {'size': 2, 'maxsize': 2, 'hits': 1, 'misses': 0, 'hit_rate': 100.0}
    """

    def __init__(self, maxsize: int = 128) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"BoundedCache(maxsize=...) needs an int, got {type(maxsize).__name__}.")
        if maxsize < 0:
            raise ValueError(f"BoundedCache(maxsize=...) must be >= 0, got {maxsize}.")
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._maxsize = maxsize
        self._lock = threading.RLock()
        self._hits = 0
        self._misses = 0

    @property
    def maxsize(self) -> int:
        """The most entries the cache keeps."""
        return self._maxsize

    def get(self, key: Hashable, default: Any = None, raise_on_miss: bool = False, error_context: str = "Item") -> Any:
        """The value cached under ``key`` (now the most recently used), or ``default``.

        Args:
            key: the key to look up.
            default: returned when ``key`` is not cached.
            raise_on_miss: raise instead of returning ``default``.
            error_context: what is cached, named in the error (``"Function"``, ...).

        Raises:
            KeyError: ``raise_on_miss`` is set and ``key`` is not cached; the message lists the
                cached keys.
        """
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self._hits += 1
                return self._data[key]
            self._misses += 1
            if raise_on_miss:
                raise KeyError(
                    f"{error_context} is not cached under the key {key!r}; cached keys: {list(self._data)!r}."
                )
            return default

    def set(self, key: Hashable, value: Any) -> None:
        """Cache ``value`` under the new ``key``, evicting the least recently used entry if full.

        Raises:
            ValueError: ``key`` is already cached (use :meth:`replace` to overwrite it).
        """
        with self._lock:
            if key in self._data:
                raise ValueError(
                    f"The key {key!r} is already cached; use replace() to overwrite it, or pop() it first."
                )
            if self._maxsize == 0:
                return
            while len(self._data) >= self._maxsize:
                self._data.popitem(last=False)
            self._data[key] = value

    def replace(self, key: Hashable, value: Any) -> None:
        """Overwrite the value cached under ``key`` and make it the most recently used.

        Raises:
            KeyError: ``key`` is not cached (use :meth:`set` to add it).
        """
        with self._lock:
            if key not in self._data:
                raise KeyError(f"The key {key!r} is not cached, so it cannot be replaced; use set() to add it.")
            self._data[key] = value
            self._data.move_to_end(key)

    def pop(self, key: Hashable, default: Any = None) -> Any:
        """Remove ``key`` and return its value, or ``default`` if it is not cached."""
        with self._lock:
            return self._data.pop(key, default)

    def clear(self) -> None:
        """Remove every entry and reset the hit and miss counts."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = 0

    def keys(self) -> list:
        """The cached keys, least recently used first."""
        with self._lock:
            return list(self._data)

    def get_stats(self) -> dict[str, Any]:
        """``size``, ``maxsize``, ``hits``, ``misses`` and ``hit_rate`` (a percentage) of :meth:`get`."""
        with self._lock:
            total = self._hits + self._misses
            return {
                "size": len(self._data),
                "maxsize": self._maxsize,
                "hits": self._hits,
                "misses": self._misses,
                "hit_rate": 100.0 * self._hits / total if total else 0.0,
            }

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def __repr__(self) -> str:
        return f"BoundedCache(maxsize={self._maxsize}, size={len(self)})"
