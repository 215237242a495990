"""Retrying a transaction that lost a lock conflict on MariaDB.

InnoDB breaks a deadlock (error 1213) by rolling back one of the
transactions, and gives up waiting for a row lock after
``innodb_lock_wait_timeout`` (error 1205). Either is safe to retry from the
start; a second loss answers 409 ``lock_conflict`` or 503 ``lock_timeout``
instead of a 500.
"""

import functools
import logging
import time

from django.db import OperationalError
from django.utils.translation import gettext_lazy as _

from mithrapay.errors import Conflict, ServiceUnavailable

logger = logging.getLogger(__name__)

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205


class LockConflict(Conflict):
    code = "lock_conflict"
    default_message = _("Another request changed the same data. Try again.")


class LockTimeout(ServiceUnavailable):
    code = "lock_timeout"
    default_message = _("The shop is busy. Try again shortly.")


def _mysql_error_code(exc: OperationalError) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def retry_on_lock_conflict(func):
    """Run ``func`` (which opens its own transaction) again once after a
    deadlock or lock-wait timeout; a second loss becomes a clean error."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in (1, 2):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                code = _mysql_error_code(exc)
                if code not in (DEADLOCK, LOCK_WAIT_TIMEOUT):
                    raise
                if attempt == 2:
                    logger.warning(
                        "lock conflict persisted",
                        extra={"operation": func.__qualname__, "mysql_error": code},
                    )
                    raise (
                        LockConflict() if code == DEADLOCK else LockTimeout()
                    ) from exc
                logger.info(
                    "lock conflict, retrying",
                    extra={"operation": func.__qualname__, "mysql_error": code},
                )
                time.sleep(0.02)
        raise AssertionError("unreachable")

    return wrapper
