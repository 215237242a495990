"""Races on the real database: many buyers, few codes, one truth.

Each test runs threads with their own MariaDB connections against committed
data (``transaction=True``); SQLite cannot show these races.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.inventory import OutOfStock
from catalog.models import DigitalCode, Variant
from mithrapay.errors import ApplicationError
from orders import idempotency, services
from orders.models import ItemCode, Order, OrderEvent
from orders.tests.factories import VariantFactory, add_codes

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

ADDRESS = {
    "name": "Sara",
    "phone": "+989121234567",
    "line1": "No. 5",
    "city": "Tehran",
    "postal_code": "1234567890",
    "country": "IR",
}


def run_together(worker, arguments):
    """Run ``worker(arg)`` in one thread per argument, started together;
    returns each thread's result or exception, in order."""
    barrier = threading.Barrier(len(arguments))
    results = [None] * len(arguments)

    def run(index, argument):
        try:
            barrier.wait()
            results[index] = worker(argument)
        except BaseException as exc:  # recorded and asserted by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, argument))
        for index, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_hundred_buyers_for_ten_codes_get_exactly_ten_orders():
    variant = VariantFactory()
    add_codes(variant, 10)
    buyers = [UserFactory() for _ in range(100)]

    results = run_together(
        lambda user: services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 1}]
        ),
        buyers,
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 10, "OutOfStock": 90}, kinds
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held)) == 10
    assert DigitalCode.objects.filter(status="reserved").count() == 10
    assert DigitalCode.objects.filter(status="available").count() == 0
    assert Order.objects.count() == 10


def test_buyers_of_several_codes_never_share_one():
    variant = VariantFactory()
    add_codes(variant, 30)
    buyers = [UserFactory() for _ in range(20)]

    results = run_together(
        lambda user: services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 3}]
        ),
        buyers,
    )

    orders = [r for r in results if isinstance(r, Order)]
    assert all(isinstance(r, Order | OutOfStock) for r in results), results
    assert len(orders) == 10
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held)) == 30


def test_fifty_buyers_for_twenty_units_leave_stock_at_zero():
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=20)
    buyers = [UserFactory() for _ in range(50)]

    results = run_together(
        lambda user: services.order_create(
            user=user,
            lines=[{"variant": variant.pk, "quantity": 1}],
            shipping_address=ADDRESS,
        ),
        buyers,
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 20, "OutOfStock": 30}, kinds
    variant.refresh_from_db()
    assert variant.stock == 0


def test_one_customer_racing_checkouts_cannot_pass_the_unpaid_cap(settings):
    settings.MAX_PENDING_ORDERS = 3
    variant = VariantFactory()
    add_codes(variant, 20)
    customer = UserFactory()

    results = run_together(
        lambda _: services.order_create(
            user=customer, lines=[{"variant": variant.pk, "quantity": 1}]
        ),
        list(range(8)),
    )

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 3, "TooManyPendingOrders": 5}, kinds


def test_cancel_and_expiry_racing_on_one_order_release_it_once():
    variant = VariantFactory()
    add_codes(variant, 3)
    customer = UserFactory()
    order = services.order_create(
        user=customer, lines=[{"variant": variant.pk, "quantity": 2}]
    )
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    def act(which):
        if which == "cancel":
            return services.order_cancel(order=order, user=customer)
        return services.order_expire(order_id=order.pk)

    results = run_together(act, ["cancel", "expire", "expire", "cancel"])

    order.refresh_from_db()
    assert order.status in {Order.Status.CANCELLED, Order.Status.EXPIRED}
    terminal = OrderEvent.objects.filter(order=order, kind__in=["cancelled", "expired"])
    assert terminal.count() == 1
    assert DigitalCode.objects.filter(status="available").count() == 3
    assert ItemCode.objects.count() == 0
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert all(r.code == "invalid_transition" for r in losers)
    assert not [r for r in results if isinstance(r, Exception) and r not in losers]


def test_checkouts_and_an_expiry_run_together_stay_consistent():
    variant = VariantFactory()
    add_codes(variant, 10)
    customers = [UserFactory() for _ in range(5)]
    stale = [
        services.order_create(user=c, lines=[{"variant": variant.pk, "quantity": 1}])
        for c in customers
    ]
    Order.objects.filter(pk__in=[o.pk for o in stale]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    buyers = [UserFactory() for _ in range(8)]

    def act(who):
        if who is None:
            return services.orders_expire_overdue()
        return services.order_create(
            user=who, lines=[{"variant": variant.pk, "quantity": 1}]
        )

    results = run_together(act, [None, *buyers, None])

    assert not [
        r for r in results if isinstance(r, Exception) and not isinstance(r, OutOfStock)
    ]
    assert sum(r for r in results if isinstance(r, int)) == 5
    reserved = DigitalCode.objects.filter(status="reserved").count()
    live = ItemCode.objects.count()
    assert reserved == live
    assert reserved + DigitalCode.objects.filter(status="available").count() == 10
    held = list(ItemCode.objects.values_list("code_id", flat=True))
    assert len(held) == len(set(held))


def test_concurrent_duplicates_of_one_idempotency_key_claim_it_once():
    customer = UserFactory()
    payload = {"items": [{"variant": 1, "quantity": 1}]}

    def claim(_):
        try:
            return idempotency.claim(user=customer, key="double-click", payload=payload)
        except ApplicationError as exc:
            return exc.code

    results = run_together(claim, list(range(10)))

    claims = [r for r in results if not isinstance(r, str)]
    assert len(claims) == 1
    assert set(results) - set(claims) == {"request_in_progress"}
