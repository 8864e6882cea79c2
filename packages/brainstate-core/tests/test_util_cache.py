"""Tests of BoundedCache: least-recently-used eviction, write-once entries, thread safety."""

import threading

import pytest

from brainstate_core.util import BoundedCache


def filled(n: int, maxsize: int) -> BoundedCache:
    cache = BoundedCache(maxsize=maxsize)
    for i in range(n):
        cache.set(i, str(i))
    return cache


@pytest.mark.parametrize("maxsize, n, kept", [(3, 5, [2, 3, 4]), (1, 3, [2]), (4, 2, [0, 1]), (0, 3, [])])
def test_oldest_entries_are_evicted(maxsize, n, kept):
    cache = filled(n, maxsize)
    assert cache.keys() == kept and len(cache) == len(kept)
    assert all(k in cache for k in kept) and all(k not in cache for k in range(n) if k not in kept)


def test_reading_an_entry_protects_it_from_eviction():
    cache = filled(3, 3)
    assert cache.get(0) == "0"  # 0 is now the most recently used
    cache.set(3, "3")
    assert cache.keys() == [2, 0, 3]


def test_replace_refreshes_and_set_refuses_an_existing_key():
    cache = filled(2, 2)
    with pytest.raises(ValueError, match=r"The key 0 is already cached; use replace\(\)"):
        cache.set(0, "again")
    cache.replace(0, "new")
    assert cache.get(0) == "new" and cache.keys() == [1, 0]
    with pytest.raises(KeyError, match=r"The key 9 is not cached, so it cannot be replaced"):
        cache.replace(9, "x")


def test_get_default_raise_on_miss_pop_and_stats():
    cache = filled(2, 4)
    assert cache.get("nope", default=-1) == -1
    with pytest.raises(KeyError, match=r"Function is not cached under the key 'x'; cached keys: \[0, 1\]\."):
        cache.get("x", raise_on_miss=True, error_context="Function")
    cache.get(1)
    assert cache.get_stats() == {"size": 2, "maxsize": 4, "hits": 1, "misses": 2, "hit_rate": pytest.approx(100 / 3)}
    assert cache.pop(1) == "1" and cache.pop(1) is None and cache.pop(1, "gone") == "gone"
    cache.clear()
    assert len(cache) == 0 and cache.get_stats()["hits"] == 0


@pytest.mark.parametrize(
    "bad, error, message",
    [(1.5, TypeError, "needs an int"), (True, TypeError, "needs an int"), (-1, ValueError, ">= 0")],
)
def test_bad_maxsize(bad, error, message):
    with pytest.raises(error, match=message):
        BoundedCache(bad)


def test_concurrent_writers_never_exceed_maxsize():
    cache = BoundedCache(maxsize=16)

    def work(offset: int) -> None:
        for i in range(200):
            cache.set((offset, i), i)
            cache.get((offset, i - 1))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 16 and len(set(cache.keys())) == 16
