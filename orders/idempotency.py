"""``Idempotency-Key`` for order creation.

The first request with a key claims it by inserting a row (the unique
``(user, SHA-256 of the key)`` pair makes the claim atomic across processes
and compares keys exactly), runs, and stores its answer; a placed order's
answer is stored in the order's own transaction. A repeat with the same body
gets that answer again; a repeat with another body is refused (422), and a
repeat while the first is still running is told so (409).

A claim never completed within ``IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS`` (longer
than any request may run: gunicorn kills a worker after 30 seconds) belongs
to a request that died, and the next repeat takes it over instead of waiting
for the key to expire. Should an order name such a claim (placed by a
caller of ``order_create`` that stored no answer), the repeat gets that
order back rather than placing a second.
"""

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mithrapay.errors import ApplicationError, Conflict
from mithrapay.statements import (
    TEXT_SENTINEL,
    Statement,
    id_sentinels,
    insert_all,
    saved_as,
)
from orders.models import IdempotencyKey, Order

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255


class KeyReused(ApplicationError):
    status = 422
    code = "idempotency_key_reused"
    default_message = _("This Idempotency-Key was used with a different request.")


class RequestInProgress(Conflict):
    code = "request_in_progress"
    default_message = _("A request with this Idempotency-Key is still being processed.")


class KeyInvalid(ApplicationError):
    code = "idempotency_key_invalid"
    default_message = _(
        "The Idempotency-Key header must be 1 to 255 printable characters."
    )


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict


@dataclass(frozen=True)
class Recovered:
    """A stale claim whose request placed ``order`` and died before storing
    its answer; the caller renders the order and completes ``record``."""

    record: IdempotencyKey
    order: Order


def fingerprint(payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _claim_timeout() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS)


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise KeyInvalid()
    return key


def _statement_savepoint():
    """Around the claim's one INSERT: nothing outside a transaction, where
    the INSERT commits (or fails) by itself; a savepoint inside a caller's
    transaction, so a duplicate key does not break it."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def claim(*, user, key: str, payload) -> IdempotencyKey | Replay | Recovered:
    """Claim ``key`` for this request, or return the first request's answer.

    Runs in its own short transaction, committed before the order is made, so
    a concurrent duplicate sees the claim at once.
    """
    digest = fingerprint(payload)
    hashed_key = key_digest(key)
    now = timezone.now()
    for _attempt in range(2):
        try:
            record = IdempotencyKey(
                user=user,
                key=key,
                key_digest=hashed_key,
                fingerprint=digest,
                expires_at=now + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS),
            )
            with _statement_savepoint():
                insert_all([record])
            return record
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(
                user=user, key_digest=hashed_key
            ).first()
            if existing is None:
                continue  # released between our insert and our read
            if existing.expires_at <= now:
                release(existing)
                continue
            if existing.fingerprint != digest:
                raise KeyReused() from None
            if not existing.completed:
                if existing.created_at > now - _claim_timeout():
                    raise RequestInProgress() from None
                placed = Order.objects.filter(idempotency_key=existing).first()
                if placed is not None:
                    logger.warning(
                        "stale idempotency claim answered with its order",
                        extra={"user_id": user.pk, "order_id": placed.pk},
                    )
                    return Recovered(record=existing, order=placed)
                # Deleted by id, then claimed again by insert: of two
                # repeats taking over at once, the unique pair lets one win
                # and the other finds a fresh claim (409).
                logger.warning(
                    "stale idempotency claim taken over",
                    extra={"user_id": user.pk, "claim_id": existing.pk},
                )
                release(existing)
                continue
            return Replay(status=existing.response_status, body=existing.response_body)
    raise RequestInProgress()


def complete(record: IdempotencyKey, *, status: int, body) -> None:
    using = router.db_for_write(IdempotencyKey)
    record_id, status_sentinel = id_sentinels(2)
    # In the order's transaction it goes with the COMMIT.
    _completing_statement(using).run_later(
        using,
        swap={
            record_id: record.pk,
            status_sentinel: status,
            saved_as(IdempotencyKey, "response_body", TEXT_SENTINEL, using): saved_as(
                IdempotencyKey, "response_body", body, using
            ),
        },
    )


@lru_cache(maxsize=4)
def _completing_statement(using: str) -> Statement:
    """Store a claim's answer: sentinel id, status and body."""
    record_id, status_sentinel = id_sentinels(2)
    return Statement.updating(
        IdempotencyKey.objects.filter(pk=record_id),
        {
            "completed": True,
            "response_status": status_sentinel,
            "response_body": TEXT_SENTINEL,
        },
        using,
    )


def release(record: IdempotencyKey) -> None:
    """Forget the claim so the client can retry (the request failed in a way
    that says nothing about the order, such as a lock timeout)."""
    IdempotencyKey.objects.filter(pk=record.pk).delete()


def purge_expired(*, now=None) -> int:
    deleted, _by_model = IdempotencyKey.objects.filter(
        expires_at__lte=now or timezone.now()
    ).delete()
    return deleted
