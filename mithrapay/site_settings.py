"""Site settings staff change in the admin, as the rest of the code reads them.

The values live in django-constance (database backend, cached in Redis when
``REDIS_URL`` is set), so an admin save is seen by every process on its next
read, without a restart. Only :data:`PUBLIC_KEYS` ever reach customers.
"""

from constance import config
from django import forms
from phonenumber_field.formfields import PhoneNumberField

# What GET /settings/public shows. ORDER_RESERVATION_MINUTES and
# RENEWAL_REMINDER_DAYS stay private: every order already carries its own
# expires_at, so no customer screen needs the setting, and publishing it
# would tell a stock-hoarding script how long a reservation blocks stock
# before it places a single order.
PUBLIC_KEYS = ("SUPPORT_PHONE", "SUPPORT_EMAIL", "NOTICE_BANNER", "MAINTENANCE_MODE")


class PhoneField(PhoneNumberField):
    """A phone number in the admin, stored as E.164 text ("" when empty)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 20}))
        super().__init__(*args, **kwargs)

    def clean(self, value):
        number = super().clean(value)
        return number.as_e164 if number else ""


def public_settings() -> dict:
    """The settings customers may see, under the API's snake_case names."""
    return {
        "support_phone": config.SUPPORT_PHONE,
        "support_email": config.SUPPORT_EMAIL,
        "notice_banner": config.NOTICE_BANNER,
        "maintenance": bool(config.MAINTENANCE_MODE),
    }


def order_reservation_minutes() -> int:
    """Minutes an unpaid order holds its codes and stock."""
    return int(config.ORDER_RESERVATION_MINUTES)


def renewal_reminder_days() -> int:
    """Days before a subscription ends that its owner is reminded."""
    return int(config.RENEWAL_REMINDER_DAYS)
