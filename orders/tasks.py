import logging

from celery import shared_task

from orders import idempotency, services

logger = logging.getLogger(__name__)


@shared_task(name="orders.expire_orders")
def expire_orders() -> int:
    """Every minute: expire overdue unpaid orders and release their holds."""
    expired = services.orders_expire_overdue()
    if expired:
        logger.info("orders expired", extra={"count": expired})
    return expired


@shared_task(name="orders.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency.purge_expired()
