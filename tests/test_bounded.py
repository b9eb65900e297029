"""The one bounded cache type (policyengine/bounded.py): at most `size` entries, the oldest 1/64
evicted together when full, reads as a plain dict."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from policyengine.bounded import BoundedCache


@given(st.integers(min_value=1, max_value=300), st.lists(st.integers(min_value=0, max_value=500), max_size=2000))
def test_never_holds_more_than_its_size_and_evicts_the_oldest(size: int, keys: list[int]) -> None:
    cache: BoundedCache[int, int] = BoundedCache(size)
    order: list[int] = []  # insertion order of the keys held (a model of the cache)
    for k in keys:
        evicted = cache.put(k, k * 2)
        if k not in order:
            if len(order) >= size:
                gone = order[: max(1, size // 64)]
                assert [e[0] for e in evicted] == gone and all(v == key * 2 for key, v in evicted)
                order = order[len(gone):]
            else:
                assert evicted == ()
            order.append(k)
        else:
            assert evicted == ()
        assert len(cache) <= size and list(cache) == order
        assert cache[k] == k * 2


def test_size_zero_keeps_nothing() -> None:
    cache: BoundedCache[str, int] = BoundedCache(0)
    assert cache.put("a", 1) == () and "a" not in cache and len(cache) == 0


def test_puts_under_a_lock_from_many_threads_stay_bounded() -> None:
    cache: BoundedCache[tuple[int, int], int] = BoundedCache(128)
    lock = threading.Lock()

    def work(t: int) -> None:
        for i in range(5000):
            with lock:
                cache.put((t, i), i)
            cache.get((t, i - 1))  # reads need no lock

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(cache) <= 128
