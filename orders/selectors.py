"""Reads of the orders app. A customer only ever sees their own rows."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from catalog import inventory
from orders.models import ItemCode, Order, OrderItem, Subscription

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
    if ref.isdigit() and len(ref) <= 18:
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
