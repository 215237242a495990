"""Rate limits kept as atomic counters in the cache.

DRF's own throttles read a history list, append to it and write it back, so
two requests that arrive together can both pass. Here every hit is one atomic
increment (``INCR`` on Redis, a locked increment in the in-process cache) on a
fixed window, so a limit holds however many processes share the counter.

Only named scopes are limited; a scope's rate comes from
``settings.THROTTLE_RATES`` (each one an environment variable).

Where a limit guards work (checking a password), the attempt counts first
and learns from the increment's answer whether it is within the limit
(:func:`consume_all`); checking first and counting after would let every
attempt already in flight through. An attempt that turns out not to count
(a successful sign-in) gives its count back (:func:`give_back`).
"""

import contextlib
import functools
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework.throttling import BaseThrottle

from mithrapay.environment import parse_rate
from mithrapay.errors import ApplicationError


class RateLimited(ApplicationError):
    status = 429
    code = "throttled"
    default_message = _("Too many requests. Try again later.")

    def __init__(self, *, retry_after: int, code: str | None = None, message=None):
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


@dataclass(frozen=True)
class Window:
    key: str
    count: int
    limit: int
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def _window_key(scope: str, ident: str, seconds: int, now: float) -> tuple[str, int]:
    start = int(now // seconds) * seconds
    return f"rl:{scope}:{ident}:{start}", start + seconds


def rate_for(scope: str) -> tuple[int, int]:
    return parse_rate(settings.THROTTLE_RATES[scope])


def hit(scope: str, ident: str) -> Window:
    """Count one event for ``ident`` in ``scope`` and return the window."""
    limit, seconds = rate_for(scope)
    now = time.time()
    key, ends = _window_key(scope, ident, seconds, now)
    count = _increment(key, timeout=seconds + 1)
    return Window(key=key, count=count, limit=limit, retry_after=math.ceil(ends - now))


# Redis: add one to a window's counter and, when that created it, give it its
# expiry, in one atomic script call (one command to send and one reply to
# read, where a MULTI of SET NX and INCR is four of each).
_INCREMENT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


@functools.cache
def _increment_script(client):
    """The registered script for one Redis client (``EVALSHA``, loaded again
    by redis-py if the server has forgotten it)."""
    return client.register_script(_INCREMENT_SCRIPT)


def _increment(key: str, *, timeout: int) -> int:
    """Add one to the window's counter, creating it with ``timeout``."""
    if hasattr(cache, "client"):
        # django-redis keeps integers as plain numbers, so ``cache.get``
        # reads the counter back.
        client = cache.client.get_client(write=True)
        redis_key = cache.make_and_validate_key(key)
        return int(_increment_script(client)(keys=[redis_key], args=[timeout]))
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add() and incr(); start the window again.
        cache.add(key, 1, timeout=timeout)
        return 1


def peek(scope: str, ident: str) -> Window:
    """The window's state without counting an event."""
    limit, seconds = rate_for(scope)
    now = time.time()
    key, ends = _window_key(scope, ident, seconds, now)
    count = cache.get(key) or 0
    return Window(key=key, count=count, limit=limit, retry_after=math.ceil(ends - now))


def consume(scope: str, ident: str, *, code: str | None = None) -> None:
    """Count one event and raise :class:`RateLimited` past the limit."""
    window = hit(scope, ident)
    if window.exceeded:
        raise RateLimited(retry_after=window.retry_after, code=code)


def consume_all(*limits: tuple[str, str]) -> list[Window]:
    """Count one event in each ``(scope, ident)``, or raise
    :class:`RateLimited` having counted none: the first limit exceeded gives
    back every count taken so far, its own included."""
    windows: list[Window] = []
    for scope, ident in limits:
        window = hit(scope, ident)
        windows.append(window)
        if window.exceeded:
            give_back(*windows)
            raise RateLimited(retry_after=window.retry_after)
    return windows


def give_back(*windows: Window) -> None:
    """Uncount the events these windows counted."""
    for window in windows:
        # A key already gone means its window ended, and its count with it.
        with contextlib.suppress(ValueError):
            cache.decr(window.key)


def ensure_below(scope: str, ident: str, *, code: str | None = None) -> None:
    """Raise :class:`RateLimited` if the limit is already reached."""
    window = peek(scope, ident)
    if window.count >= window.limit:
        raise RateLimited(retry_after=window.retry_after, code=code)


@functools.cache
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network) for network in trusted)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address) -> bool:
    return any(address in network for network in _networks(settings.TRUSTED_PROXIES))


def client_ip(request) -> str:
    """The client's address, the one every per-IP limit counts.

    ``X-Forwarded-For`` is believed only when the connection comes from a
    proxy in ``TRUSTED_PROXIES``; then the client is the right-most address
    in it that is not a trusted proxy, since everything left of that was
    written by the client itself and proves nothing. A header from anyone
    else is ignored, so a client cannot pick its own identity.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    current = _address(peer)
    if current is None or not _is_trusted(current):
        return peer
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # Garbage where a proxy would have written an address: the last
            # trusted hop is as far as the chain can be followed.
            break
        current = address
        if not _is_trusted(address):
            break
    return str(current)


class ScopedThrottle(BaseThrottle):
    """Limit a view by its ``throttle_scope``: per user, or per IP if anonymous.

    Views without a ``throttle_scope`` are not limited.
    """

    def allow_request(self, request, view):
        scope = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{client_ip(request)}"
        window = hit(scope, ident)
        self._retry_after = window.retry_after
        return not window.exceeded

    def wait(self):
        return getattr(self, "_retry_after", None)
