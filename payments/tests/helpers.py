from django.contrib.auth.models import Permission

from accounts.tests.factories import UserFactory
from payments import services
from payments.gateways.sandbox import sandbox_decide

BASE_URL = "http://testserver/"


def start(order, user, gateway="sandbox"):
    return services.payment_start(
        order=order, user=user, gateway_name=gateway, base_url=BASE_URL
    )


def pay_at_sandbox(payment, *, pay=True):
    sandbox_decide(authority=payment.authority, pay=pay)
    return {"Authority": payment.authority, "Status": "OK" if pay else "NOK"}


def finance_user():
    """Staff with the refund permission (a fresh instance, so the permission
    cache sees it)."""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="refund_payment"))
    return type(staff).objects.get(pk=staff.pk)
