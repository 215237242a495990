from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# What reading an order's page takes: the order with its items and history.
_READ_ORDERS = ["orders.view_order", "orders.view_orderitem", "orders.view_orderevent"]


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")
    # Staff role name → permissions this app grants it ("app_label.codename");
    # collected by ``manage.py setup_roles``.
    ROLE_PERMISSIONS: dict[str, list[str]] = {
        # Answers customers: reads orders and subscriptions, cancels unpaid
        # orders, writes notes, works the fulfilment queue, resends
        # notifications. Sees no sales figures and changes no money.
        "Support": [
            *_READ_ORDERS,
            "orders.view_subscription",
            "orders.cancel_order",
            "orders.add_note",
            "orders.resend_notification",
            "orders.fulfil_item",
        ],
        # Reads what a payment paid for, and the sales figures.
        "Finance": [*_READ_ORDERS, "orders.view_sales"],
    }
