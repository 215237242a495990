"""Maintenance mode: staff pause the writes that change orders and accounts.

While ``MAINTENANCE_MODE`` (a site setting staff switch in the admin) is on,
the views that carry :class:`MaintenanceGate` refuse unsafe methods with 503
``maintenance``. Reads, login, OTP, token refresh, payment callbacks, the
sandbox page and the admin do not carry it and keep working. The switch is
read through :mod:`mithrapay.site_settings`, so it reaches every worker
within a second of the save.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from mithrapay import site_settings
from mithrapay.errors import ServiceUnavailable


class InMaintenance(ServiceUnavailable):
    code = "maintenance"
    default_message = _("The shop is under maintenance. Try again shortly.")


def maintenance_on() -> bool:
    return bool(site_settings.current("MAINTENANCE_MODE"))


class MaintenanceGate(BasePermission):
    """Let reads through; refuse writes with 503 while maintenance is on."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        if maintenance_on():
            raise InMaintenance()
        return True
