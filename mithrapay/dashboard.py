"""The back office's front page: what each member of staff needs at a glance.

Each part is shown only to staff holding the permission it needs, and each
costs one aggregate query (no loop over orders): sales of today and of this
month, orders by status and a daily chart (``orders.view_sales``), the
fulfilment queue (``orders.fulfil_item``), variants under their low-stock
threshold (``catalog.view_variant``).
"""

from django.conf import settings
from django.utils import timezone

from catalog import selectors as catalog_selectors
from orders import selectors as order_selectors
from orders.models import Order

LOW_STOCK_LISTED = 20


def dashboard_for(user, *, now=None) -> dict:
    now = now or timezone.now()
    board: dict = {"currency": settings.SHOP_CURRENCY}
    if user.has_perm("orders.view_sales"):
        board["sales"] = order_selectors.sales_summary(now=now)
        board["chart"] = [
            {
                "day": row["day"].isoformat(),
                "total": str(row["total"]),
                "count": row["count"],
            }
            for row in order_selectors.daily_sales(
                days=settings.DASHBOARD_CHART_DAYS, now=now
            )
        ]
    if user.has_perm("orders.view_order"):
        labels = dict(Order.Status.choices)
        board["statuses"] = [
            {"status": status, "label": labels[status], "count": count}
            for status, count in order_selectors.orders_by_status().items()
        ]
    if user.has_perm("orders.fulfil_item"):
        queue = order_selectors.fulfilment_queue_summary()
        board["queue"] = {
            "length": queue.length,
            "oldest_paid_at": queue.oldest_paid_at,
            "oldest_age": queue.oldest_age(now),
        }
    if user.has_perm("catalog.view_variant"):
        board["low_stock"] = list(
            catalog_selectors.variants_low_stock()[:LOW_STOCK_LISTED]
        )
    return board
