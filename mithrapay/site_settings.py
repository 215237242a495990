"""Site settings staff change in the admin, as the rest of the code reads them.

The values live in django-constance (database backend, cached in Redis when
``REDIS_URL`` is set). Each process keeps a value it has read for
:data:`HELD_SECONDS`, so the requests that read the same settings again and
again (every checkout reads two) go to Redis about once a second instead of
every time: a save in the admin, the ``constance`` command or any other
process reaches every process within that time, without a restart, and the
process that saved it at once. Only :data:`PUBLIC_KEYS` ever reach customers.
"""

import time

from constance import config
from constance.signals import config_updated
from django import forms
from django.dispatch import receiver
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


HELD_SECONDS = 1.0

# key -> (time.monotonic() when read, value)
_held: dict[str, tuple[float, object]] = {}


def current(key: str):
    """The value of site setting ``key``, read again once the copy this
    process holds is :data:`HELD_SECONDS` old."""
    now = time.monotonic()
    held = _held.get(key)
    if held is not None and now - held[0] < HELD_SECONDS:
        return held[1]
    value = getattr(config, key)
    _held[key] = (now, value)
    return value


def forget_held() -> None:
    """Drop every held value, so the next read of each goes to the store."""
    _held.clear()


@receiver(config_updated)
def _forget_on_change(**kwargs):
    # A change made in this process is seen here at once.
    forget_held()


def public_settings() -> dict:
    """The settings customers may see, under the API's snake_case names."""
    return {
        "support_phone": current("SUPPORT_PHONE"),
        "support_email": current("SUPPORT_EMAIL"),
        "notice_banner": current("NOTICE_BANNER"),
        "maintenance": bool(current("MAINTENANCE_MODE")),
    }


def order_reservation_minutes() -> int:
    """Minutes an unpaid order holds its codes and stock."""
    return int(current("ORDER_RESERVATION_MINUTES"))


def renewal_reminder_days() -> int:
    """Days before a subscription ends that its owner is reminded."""
    return int(current("RENEWAL_REMINDER_DAYS"))
