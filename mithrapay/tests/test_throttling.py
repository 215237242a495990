"""The throttles' window counters on the real Redis."""

import threading

import pytest
from django.core.cache import cache

from mithrapay import throttling

pytestmark = pytest.mark.redis


def _redis():
    return cache.client.get_client(write=True)


def test_the_first_hit_creates_the_counter_with_the_window_as_its_expiry():
    first = throttling._increment("rl:test:a:0", timeout=61)
    second = throttling._increment("rl:test:a:0", timeout=61)

    assert (first, second) == (1, 2)
    assert 55 <= _redis().ttl(cache.make_and_validate_key("rl:test:a:0")) <= 61
    assert cache.get("rl:test:a:0") == 2


def test_a_later_hit_keeps_the_expiry_the_window_was_created_with():
    throttling._increment("rl:test:b:0", timeout=61)
    _redis().expire(cache.make_and_validate_key("rl:test:b:0"), 5)

    assert throttling._increment("rl:test:b:0", timeout=61) == 2
    assert _redis().ttl(cache.make_and_validate_key("rl:test:b:0")) <= 5


def test_a_server_that_forgot_the_script_still_counts():
    throttling._increment("rl:test:c:0", timeout=61)
    _redis().script_flush()

    assert throttling._increment("rl:test:c:0", timeout=61) == 2


def test_hits_from_many_threads_each_get_their_own_count():
    counts: list[int] = []
    barrier = threading.Barrier(20)

    def hit():
        barrier.wait()
        for _ in range(10):
            counts.append(throttling._increment("rl:test:d:0", timeout=61))

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(counts) == list(range(1, 201))
