"""Staff members in a role, and a browser signed in as one, for admin tests."""

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from accounts.tests.factories import UserFactory


def roles_ready() -> None:
    call_command("setup_roles", verbosity=0)


def staff_in(role: str | None, **fields):
    """A member of staff in ``role`` (None: staff with no role)."""
    user = UserFactory(is_staff=True, **fields)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def browser_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def pay(order):
    """Pay ``order`` through the orders service, as a verified payment does."""
    from orders import services

    with transaction.atomic():
        locked = services.order_lock(order_id=order.pk)
        services.order_pay(order=locked, payment_id=0)
    order.refresh_from_db()
    return order
