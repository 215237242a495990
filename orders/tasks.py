import logging

from celery import shared_task
from django.utils.translation import gettext as _

from orders import idempotency, notifications, services

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


RETRY = {
    "bind": True,
    "max_retries": 6,
    "default_retry_delay": 30,
    "ignore_result": True,
}


def _retry(task, exc):
    # 30 s, 60 s, 2 min … up to half an hour between tries.
    raise task.retry(exc=exc, countdown=min(1800, 30 * 2**task.request.retries))


@shared_task(name="orders.notify_order_paid", **RETRY)
def notify_order_paid(self, order_id: int) -> None:
    from orders.models import Order

    order = Order.objects.select_related("user").get(pk=order_id)
    link = notifications.order_link(order)
    try:
        notifications.send(
            user=order.user,
            template="order_paid",
            context={"order": order, "link": link},
            sms_text=_("Order %(number)s is paid. See it in the app: %(link)s")
            % {"number": order.number, "link": link},
        )
    except Exception as exc:
        _retry(self, exc)


@shared_task(name="orders.notify_item_activated", **RETRY)
def notify_item_activated(self, item_id: int) -> None:
    from orders.models import OrderItem

    item = OrderItem.objects.select_related("order__user").get(pk=item_id)
    link = notifications.order_link(item.order)
    try:
        notifications.send(
            user=item.order.user,
            template="item_activated",
            context={"item": item, "order": item.order, "link": link},
            sms_text=_("%(product)s is active. Details: %(link)s")
            % {"product": item.product_name, "link": link},
        )
    except Exception as exc:
        _retry(self, exc)


@shared_task(name="orders.notify_item_shipped", **RETRY)
def notify_item_shipped(self, item_id: int) -> None:
    from orders.models import OrderItem

    item = OrderItem.objects.select_related("order__user").get(pk=item_id)
    link = notifications.order_link(item.order)
    try:
        notifications.send(
            user=item.order.user,
            template="item_shipped",
            context={"item": item, "order": item.order, "link": link},
            sms_text=_("%(product)s has shipped, tracking %(tracking)s.")
            % {"product": item.product_name, "tracking": item.tracking_number},
        )
    except Exception as exc:
        _retry(self, exc)


@shared_task(name="orders.notify_refund", **RETRY)
def notify_refund(self, order_id: int) -> None:
    from orders.models import Order

    order = Order.objects.select_related("user").get(pk=order_id)
    link = notifications.order_link(order)
    try:
        notifications.send(
            user=order.user,
            template="refund",
            context={"order": order, "link": link},
            sms_text=_("Order %(number)s was refunded. Details: %(link)s")
            % {"number": order.number, "link": link},
        )
    except Exception as exc:
        _retry(self, exc)


@shared_task(name="orders.notify_renewal", **RETRY)
def notify_renewal(self, subscription_id: int) -> None:
    from orders.models import Subscription

    subscription = Subscription.objects.select_related("user").get(pk=subscription_id)
    try:
        notifications.send(
            user=subscription.user,
            template="renewal",
            context={"subscription": subscription},
            sms_text=_("Your %(service)s plan ends on %(date)s. Renew it in the app.")
            % {
                "service": subscription.service,
                "date": subscription.ends_at.date().isoformat(),
            },
        )
    except Exception as exc:
        _retry(self, exc)


@shared_task(name="orders.send_renewal_reminders")
def send_renewal_reminders() -> int:
    """Daily: remind customers whose plan ends within RENEWAL_REMINDER_DAYS."""
    return services.renewal_reminders_send()
