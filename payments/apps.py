from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")
    ROLE_PERMISSIONS: dict[str, list[str]] = {
        "Finance": ["payments.view_payment", "payments.refund_payment"],
        "Support": ["payments.view_payment"],
    }
