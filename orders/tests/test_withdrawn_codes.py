"""Paying an order some of whose reserved codes staff voided meanwhile (a
leaked supplier batch): a voided code is never sold or shown."""

from http import HTTPStatus

import pytest
from django.core import mail

from catalog import inventory
from catalog.models import DigitalCode
from orders.models import ItemCode, Order, OrderEvent
from orders.tests.factories import VariantFactory, add_codes
from payments import services as payment_services
from payments.gateways.sandbox import sandbox_decide
from payments.models import Payment

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet_sms(settings):
    settings.SMS_BACKEND = "locmem"


def order_holding(customer_client, variant, quantity) -> Order:
    response = customer_client.post(
        "/orders/",
        {"items": [{"variant": variant.pk, "quantity": quantity}]},
        format="json",
    )
    assert response.status_code == HTTPStatus.CREATED
    return Order.objects.get(pk=response.json()["id"])


def held(order) -> list[int]:
    return list(
        ItemCode.objects.filter(item__order=order).values_list("code_id", flat=True)
    )


def void(code_id: int) -> None:
    DigitalCode.objects.filter(pk=code_id).update(status=DigitalCode.Status.VOID)


def pay_through_the_callback(order, user):
    payment, _ = payment_services.payment_start(
        order=order, user=user, gateway_name="sandbox", base_url="http://testserver/"
    )
    sandbox_decide(authority=payment.authority, pay=True)
    outcome = payment_services.payment_callback(
        gateway_name="sandbox", data={"Authority": payment.authority, "Status": "OK"}
    )
    return outcome, Payment.objects.get(pk=payment.pk)


def test_a_paid_order_gets_a_fresh_code_for_a_voided_one(
    customer_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 3)
    order = order_holding(customer_client, variant, 2)
    leaked, kept = held(order)
    void(leaked)

    with django_capture_on_commit_callbacks(execute=True):
        outcome, payment = pay_through_the_callback(order, user)
    shown = customer_client.get(f"/orders/{order.number}").json()

    assert outcome.status == "paid"
    assert not payment.needs_refund
    delivered = held(order)
    assert len(delivered) == 2
    assert leaked not in delivered
    assert kept in delivered
    plaintext = inventory.codes_plaintext(code_ids=delivered)
    assert sorted(code["code"] for code in shown["items"][0]["codes"]) == sorted(
        code["code"] for code in plaintext.values()
    )
    assert DigitalCode.objects.get(pk=leaked).status == DigitalCode.Status.VOID


def test_a_voided_code_with_no_replacement_is_refunded_honestly(
    customer_client, user, settings, django_capture_on_commit_callbacks
):
    settings.MANAGERS = [("Finance", "finance@example.com")]
    variant = VariantFactory()
    add_codes(variant, 2)
    order = order_holding(customer_client, variant, 2)
    leaked, kept = held(order)
    void(leaked)

    with django_capture_on_commit_callbacks(execute=True):
        outcome, payment = pay_through_the_callback(order, user)
    shown = customer_client.get(f"/orders/{order.number}").json()

    order.refresh_from_db()
    assert outcome.status == "unavailable"
    assert payment.needs_refund
    assert payment.succeeded_for_order_id is None
    assert order.status == Order.Status.CANCELLED
    assert OrderEvent.objects.filter(order=order, kind="cancelled").exists()
    assert OrderEvent.objects.filter(
        order=order, kind="payment", data__needs_refund=True
    ).exists()
    assert any("needs a refund" in message.subject for message in mail.outbox)
    assert shown["items"][0]["codes"] == []
    assert not DigitalCode.objects.filter(status=DigitalCode.Status.SOLD).exists()
    assert DigitalCode.objects.get(pk=kept).status == DigitalCode.Status.AVAILABLE


def test_a_late_payment_never_takes_back_a_code_voided_after_its_release(
    customer_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 3)
    order = order_holding(customer_client, variant, 2)
    payment, _ = payment_services.payment_start(
        order=order, user=user, gateway_name="sandbox", base_url="http://testserver/"
    )
    leaked, _kept = held(order)
    customer_client.post(f"/orders/{order.number}/cancel")
    void(leaked)
    sandbox_decide(authority=payment.authority, pay=True)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = payment_services.payment_callback(
            gateway_name="sandbox",
            data={"Authority": payment.authority, "Status": "OK"},
        )

    assert outcome.status == "paid"
    delivered = held(order)
    assert len(delivered) == 2
    assert leaked not in delivered
    assert DigitalCode.objects.get(pk=leaked).status == DigitalCode.Status.VOID
