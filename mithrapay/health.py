"""Readiness checks of the parts the shop cannot work without."""

import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 0.9


def _check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # The check runs in a thread of its own; its connection must not linger.
        connection.close()


def _check_cache() -> None:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was written")
    cache.delete(key)


CHECKS = {"database": _check_database, "cache": _check_cache}


def database_backend() -> str:
    return connections["default"].vendor


def cache_backend() -> str:
    backend = settings.CACHES["default"]["BACKEND"]
    return "redis" if "redis" in backend.lower() else "locmem"


def run_checks(timeout: float = CHECK_TIMEOUT_SECONDS) -> dict[str, str]:
    """Run every check at once; each answers ``ok``, ``error`` or ``timeout``.

    Each check runs in a daemon thread, so a part that hangs (a database that
    accepts the connection and never answers) costs the caller ``timeout``
    seconds at most instead of the part's own socket timeout.
    """
    results: dict[str, str] = {}
    threads = {}
    for name, check in CHECKS.items():

        def run(name=name, check=check):
            try:
                check()
            except Exception:
                logger.warning(
                    "readiness check failed", extra={"part": name}, exc_info=True
                )
                results[name] = "error"
            else:
                results[name] = "ok"

        thread = threading.Thread(target=run, name=f"health-{name}", daemon=True)
        thread.start()
        threads[name] = thread

    deadline = time.monotonic() + timeout
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            logger.warning("readiness check timed out", extra={"part": name})
            results.setdefault(name, "timeout")
    return {name: results.get(name, "timeout") for name in CHECKS}
