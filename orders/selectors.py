"""Reads of the orders app. A customer only ever sees their own rows."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from catalog import inventory
from orders.models import FulfilmentItem, ItemCode, Order, OrderItem, Subscription

SHOWS_CODES = {
    Order.Status.PAID,
    Order.Status.PARTIALLY_FULFILLED,
    Order.Status.FULFILLED,
}


def order_list(*, user) -> QuerySet[Order]:
    return (
        Order.objects.filter(user=user)
        .prefetch_related(Prefetch("items", queryset=OrderItem.objects.order_by("id")))
        .order_by("-created_at", "-id")
    )


def order_get(*, user, ref: str) -> Order:
    """The customer's order by id or by number; 404 for anyone else's, so
    an order's existence is never disclosed."""
    orders = order_list(user=user)
    if ref.isascii() and ref.isdigit() and len(ref) <= 18:
        lookup = {"pk": int(ref)}
    else:
        lookup = {"number": ref.upper()[:16]}
    try:
        return orders.get(**lookup)
    except Order.DoesNotExist:
        raise Http404 from None


def order_codes(*, order: Order) -> dict[int, list[dict]]:
    """The owner's codes of a paid order, by item id; empty before payment."""
    if order.status not in SHOWS_CODES:
        return {}
    links = list(
        ItemCode.objects.filter(item__order=order)
        .order_by("id")
        .values_list("item_id", "code_id")
    )
    if not links:
        return {}
    plaintext = inventory.codes_plaintext(code_ids=[code_id for _, code_id in links])
    codes: dict[int, list[dict]] = {}
    for item_id, code_id in links:
        if code_id in plaintext:
            codes.setdefault(item_id, []).append(plaintext[code_id])
    return codes


def subscription_list(*, user) -> QuerySet[Subscription]:
    return Subscription.objects.filter(user=user).order_by("-ends_at", "-id")


# --- The back office ---------------------------------------------------------------

# Orders that count as sales: paid, and not refunded since.
SOLD = (Order.Status.PAID, Order.Status.PARTIALLY_FULFILLED, Order.Status.FULFILLED)
QUEUED_FULFILMENTS = ("manual", "shipment")


def fulfilment_queue() -> QuerySet[FulfilmentItem]:
    """Manual and shipment items of paid orders waiting for staff, the
    longest-waiting first."""
    return (
        FulfilmentItem.objects.filter(
            status=OrderItem.Status.AWAITING, fulfilment__in=QUEUED_FULFILMENTS
        )
        .select_related("order", "order__user")
        .order_by("order__paid_at", "id")
    )


def other_orders(*, order: Order, limit: int = 10) -> list[Order]:
    """The customer's latest other orders, for the order's page."""
    return list(
        Order.objects.filter(user_id=order.user_id)
        .exclude(pk=order.pk)
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class Sales:
    count: int
    total: Decimal


@dataclass(frozen=True)
class SalesSummary:
    today: Sales
    month: Sales


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def sales_summary(*, now: datetime | None = None) -> SalesSummary:
    """Paid, unrefunded orders of today and of this month, by the day in the
    shop's ``TIME_ZONE``; one aggregate query over the paid-time index."""
    today = timezone.localdate(now or timezone.now())
    today_start = _local_midnight(today)
    month_start = _local_midnight(today.replace(day=1))
    is_today = Q(paid_at__gte=today_start)
    figures = Order.objects.filter(
        paid_at__gte=min(today_start, month_start), status__in=SOLD
    ).aggregate(
        month_count=Count("id"),
        month_total=Sum("total"),
        today_count=Count("id", filter=is_today),
        today_total=Sum("total", filter=is_today),
    )
    zero = settings.MONEY_ZERO
    return SalesSummary(
        today=Sales(figures["today_count"], figures["today_total"] or zero),
        month=Sales(figures["month_count"], figures["month_total"] or zero),
    )


def orders_by_status() -> dict[str, int]:
    """Every status with its number of orders (zero included), in the
    order the state machine runs."""
    counts = dict(
        Order.objects.order_by()
        .values_list("status")
        .annotate(count=Count("id"))
        .values_list("status", "count")
    )
    return {status: counts.get(status, 0) for status in Order.Status.values}


@dataclass(frozen=True)
class QueueSummary:
    length: int
    oldest_paid_at: datetime | None

    def oldest_age(self, now: datetime | None = None) -> timedelta | None:
        if self.oldest_paid_at is None:
            return None
        return (now or timezone.now()) - self.oldest_paid_at


def fulfilment_queue_summary() -> QueueSummary:
    figures = OrderItem.objects.filter(
        status=OrderItem.Status.AWAITING, fulfilment__in=QUEUED_FULFILMENTS
    ).aggregate(length=Count("id"), oldest=Min("order__paid_at"))
    return QueueSummary(length=figures["length"], oldest_paid_at=figures["oldest"])


def daily_sales(*, days: int, now: datetime | None = None) -> list[dict]:
    """``days`` rows of ``{day, count, total}`` ending today (shop time
    zone), days without sales included as zero; one grouped query."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    rows = (
        Order.objects.filter(paid_at__gte=_local_midnight(first), status__in=SOLD)
        .annotate(day=TruncDate("paid_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("day")
        .annotate(count=Count("id"), total=Sum("total"))
        .values_list("day", "count", "total")
    )
    by_day = {day: (count, total) for day, count, total in rows}
    series = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        count, total = by_day.get(day, (0, settings.MONEY_ZERO))
        series.append({"day": day, "count": count, "total": total})
    return series
