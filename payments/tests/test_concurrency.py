"""Callback races on the real database, with real threads."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from orders import services as order_services
from orders.models import ItemCode, Order, OrderEvent
from orders.tests.factories import VariantFactory, add_codes
from orders.tests.test_concurrency import run_together
from payments import services
from payments.models import Payment
from payments.tests.helpers import pay_at_sandbox, start

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def paid_at_gateway():
    customer = UserFactory()
    variant = VariantFactory()
    add_codes(variant, 5)
    order = order_services.order_create(
        user=customer, lines=[{"variant": variant.pk, "quantity": 2}]
    )
    payment, _ = start(order, customer)
    return order, payment, pay_at_sandbox(payment)


def test_ten_concurrent_replays_of_one_callback_fulfil_once(paid_at_gateway):
    order, payment, data = paid_at_gateway

    results = run_together(
        lambda _: services.payment_callback(gateway_name="sandbox", data=data),
        list(range(10)),
    )

    assert Counter(getattr(r, "status", repr(r)) for r in results) == {"paid": 10}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert payment.status == Payment.Status.SUCCEEDED
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    held = ItemCode.objects.filter(item__order=order).values_list(
        "code__status", flat=True
    )
    assert sorted(held) == ["sold", "sold"]
    assert len([e for e in payment.exchanges if e["step"] == "verify"]) == 1


def test_two_paid_attempts_settling_together_pay_the_order_once(paid_at_gateway):
    order, _first, first_data = paid_at_gateway
    second, _ = start(order, order.user)
    second_data = pay_at_sandbox(second)

    results = run_together(
        lambda data: services.payment_callback(gateway_name="sandbox", data=data),
        [first_data, second_data],
    )

    assert sorted(r.status for r in results) == ["duplicate", "paid"]
    assert Payment.objects.filter(succeeded_for_order=order).count() == 1
    assert Payment.objects.filter(order=order, needs_refund=True).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1


def test_a_late_callback_racing_the_expiry_run_stays_consistent(paid_at_gateway):
    order, payment, data = paid_at_gateway
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    def act(which):
        if which == "expire":
            return order_services.orders_expire_overdue()
        return services.payment_callback(gateway_name="sandbox", data=data)

    results = run_together(act, ["callback", "expire"])

    assert not [r for r in results if isinstance(r, Exception)], results
    order.refresh_from_db()
    payment.refresh_from_db()
    # Whichever ran first, the paid order ends fulfilled with its own codes.
    assert order.status == Order.Status.FULFILLED
    assert payment.succeeded_for_order_id == order.pk
    statuses = ItemCode.objects.filter(item__order=order).values_list(
        "code__status", flat=True
    )
    assert sorted(statuses) == ["sold", "sold"]
