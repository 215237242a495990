"""Limits whose slot is taken before the work they guard.

A limit that is checked first and counted after the attempt lets every
attempt already in flight through: thirty wrong passwords sent at once all
pass a check that only the tenth of them would fail. Here an attempt first
takes its slot with one atomic increment (``INCR`` on Redis, a locked
increment in the in-process cache) on a fixed window, and the number the
increment answers says whether the slot is within the limit; however many
attempts arrive together, at most ``limit`` of them get a slot. An attempt
that turns out not to count (a successful sign-in, or one refused by another
limit) gives its slot back.

The counters are those of :mod:`mithrapay.throttling` (same keys and rates
from ``settings.THROTTLE_RATES``), so either module reads the other's counts.
"""

import contextlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

from mithrapay import throttling
from mithrapay.throttling import RateLimited


@dataclass(frozen=True)
class Slot:
    key: str
    count: int
    limit: int
    retry_after: int

    @property
    def granted(self) -> bool:
        return self.count <= self.limit


def _increment(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add() and incr(): the window is starting
        # again.
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)


def take(scope: str, ident: str) -> Slot:
    """Count one attempt for ``ident`` in ``scope``; see :attr:`Slot.granted`."""
    limit, seconds = throttling.rate_for(scope)
    now = time.time()
    start = int(now // seconds) * seconds
    key = f"rl:{scope}:{ident}:{start}"
    count = _increment(key, timeout=seconds + 1)
    return Slot(
        key=key,
        count=count,
        limit=limit,
        retry_after=math.ceil(start + seconds - now),
    )


def release(*slots: Slot) -> None:
    """Give slots back: the attempts they counted do not count after all."""
    for slot in slots:
        # A key already gone means its window ended, and its count with it.
        with contextlib.suppress(ValueError):
            cache.decr(slot.key)


def take_all(*limits: tuple[str, str]) -> list[Slot]:
    """A slot in each ``(scope, ident)``, or :class:`RateLimited` with none.

    Limits are taken in the order given; the first refusal gives back every
    slot taken so far (its own included), so an attempt refused by one limit
    leaves no count in the others.
    """
    slots: list[Slot] = []
    for scope, ident in limits:
        slot = take(scope, ident)
        slots.append(slot)
        if not slot.granted:
            release(*slots)
            raise RateLimited(retry_after=slot.retry_after)
    return slots
