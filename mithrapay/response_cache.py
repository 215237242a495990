"""Whole public responses kept in the cache, and served before DRF runs.

A read-only viewset opts in with a ``response_cache`` class attribute (a
:class:`ResponseCache`) and answers its cached actions through
:meth:`ResponseCache.serve`. A response is kept as DRF rendered it: status,
the headers the view set (``Content-Type``, ``Allow``…) and the body bytes.

Two ways to a stored response:

* :class:`PublicReadMiddleware` answers an anonymous, plain ``GET`` (no
  ``Authorization`` header; ``Accept`` absent, ``*/*`` or
  ``application/json``) from the cache before DRF's dispatch: no request
  wrapping, authentication, negotiation or rendering. The middleware sits
  last, so every other middleware (locale, security headers, request id)
  treats the answer exactly as it treats the view's.
* Any other request (a customer's token, another ``Accept``) goes through
  DRF, which authenticates it as usual (a bad token is still a 401) and
  then gets the same stored response from :meth:`ResponseCache.serve`.

An entry is valid while its namespace's version (bumped after every write
the public reads show) is the one it was built under, and until its
``fresh_until`` time (the blog's next scheduled post) has come. Only 200
answers rendered as plain ``application/json`` are stored; a cache outage
serves from the database.
"""

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from rest_framework.response import Response

logger = logging.getLogger(__name__)

JSON = "application/json"
# Accept headers for which DRF renders plain JSON. A header present but
# empty is not one of them: DRF answers it 406.
PLAIN_ACCEPT = frozenset({None, "*/*", JSON})


class Entry(NamedTuple):
    version: int
    fresh_until: float | None
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


# --- Namespace versions ---------------------------------------------------------


def new_version() -> int:
    return time.time_ns() // 1000


def version(key: str) -> int:
    """The current version under ``key``; created on first use, or after an
    eviction, from the clock, so no earlier version comes back."""
    current = cache.get(key)
    if current is None:
        cache.add(key, new_version(), timeout=None)
        current = cache.get(key)
    return current


def bump(key: str) -> None:
    """Make every response stored under ``key``'s version stale, once the
    current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _bump_now(key))


def _bump_now(key: str) -> None:
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, new_version(), timeout=None)
    except Exception:
        logger.warning("response cache version not bumped", extra={"key": key})


# --- The cache of one kind of response -------------------------------------------


@dataclass(frozen=True)
class ResponseCache:
    """``namespace`` names the keys; ``version_key`` holds the version;
    ``seconds`` bounds an entry's life; ``fresh_until`` (optional) gives the
    time at which every entry built now goes stale."""

    namespace: str
    version_key: str
    actions: frozenset[str]
    seconds: Callable[[], int]
    fresh_until: Callable[[], datetime | None] = field(default=lambda: None)

    def key(self, request) -> str:
        fingerprint = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()
        return f"{self.namespace}:response:{get_language() or ''}:{fingerprint}"

    def lookup(self, request) -> tuple[str, int | None, Entry | None]:
        """(key, current version or None, a valid entry or None), in one
        round trip to the cache."""
        key = self.key(request)
        found = cache.get_many([self.version_key, key])
        current, entry = found.get(self.version_key), found.get(key)
        if entry is None or current is None or entry.version != current:
            return key, current, None
        if entry.fresh_until is not None and entry.fresh_until <= _now():
            return key, current, None
        return key, current, entry

    def serve(self, request, build: Callable[[], Response]):
        """The response of ``request`` from the cache, else ``build()``'s,
        stored once DRF has rendered it."""
        if not settings.RESPONSE_CACHE_ENABLED:
            return build()
        try:
            key, current, entry = self.lookup(request)
            if entry is None:
                current = current if current is not None else version(self.version_key)
                fresh_until = self.fresh_until()
        except Exception:
            logger.warning("response cache unavailable", exc_info=True)
            return build()
        if entry is not None:
            return _replay(entry, request)

        response = build()
        if response.status_code == 200:
            response.add_post_render_callback(
                lambda rendered: self._store(rendered, key, current, fresh_until)
            )
        return response

    def _store(self, response, key: str, current: int, fresh_until) -> None:
        if response.accepted_media_type != JSON:
            return
        until = fresh_until.timestamp() if fresh_until is not None else None
        seconds = self.seconds()
        if until is not None:
            seconds = min(seconds, math.ceil(until - _now()))
            if seconds <= 0:
                return
        entry = Entry(
            version=current,
            fresh_until=until,
            status=response.status_code,
            headers=tuple(response.headers.items()),
            body=response.content,
        )
        try:
            cache.set(key, entry, timeout=seconds)
        except Exception:
            logger.warning("response not cached", exc_info=True)


def _now() -> float:
    # timezone.now(), not time.time(): the same clock the queries use.
    return timezone.now().timestamp()


def _replay(entry: Entry, request):
    """The stored response for a request that went through DRF: the stored
    bytes when DRF chose plain JSON, else the data re-rendered for the
    media type it chose (``application/json; indent=2``, say)."""
    if getattr(request, "accepted_media_type", JSON) == JSON:
        return as_http_response(entry)
    return Response(json.loads(entry.body), status=entry.status)


def as_http_response(entry: Entry) -> HttpResponse:
    return HttpResponse(entry.body, status=entry.status, headers=dict(entry.headers))


# --- Before DRF ----------------------------------------------------------------


def policy_for(view_func) -> ResponseCache | None:
    """The response cache of the viewset action a URL resolved to, if any."""
    policy = getattr(getattr(view_func, "cls", None), "response_cache", None)
    actions = getattr(view_func, "actions", None)
    if policy is None or not actions or actions.get("get") not in policy.actions:
        return None
    return policy


def is_plain_public_read(request) -> bool:
    return (
        request.method == "GET"
        and "HTTP_AUTHORIZATION" not in request.META
        and request.META.get("HTTP_ACCEPT") in PLAIN_ACCEPT
    )


class PublicReadMiddleware:
    """Answer a plain anonymous GET from the response cache before DRF.

    Placed last in ``MIDDLEWARE``: the URL is resolved and every other
    middleware has run, and will run on the way out, as for the view.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.RESPONSE_CACHE_ENABLED or not is_plain_public_read(request):
            return None
        policy = policy_for(view_func)
        if policy is None:
            return None
        try:
            _key, _current, entry = policy.lookup(request)
        except Exception:
            logger.warning("response cache unavailable", exc_info=True)
            return None
        return None if entry is None else as_http_response(entry)
