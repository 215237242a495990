import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts import sms
from accounts.tests.factories import UserFactory
from catalog.models import DigitalCode, Product, Variant
from orders import services as order_services
from orders.models import ItemCode, Order, OrderEvent, Subscription
from orders.tests.factories import ProductFactory, VariantFactory, add_codes
from payments import services
from payments.models import Payment, SandboxTransaction
from payments.tests.helpers import finance_user, pay_at_sandbox, start

pytestmark = pytest.mark.django_db


def codes_of(order):
    return list(
        ItemCode.objects.filter(item__order=order).values_list("code_id", flat=True)
    )


def test_start_opens_an_attempt_for_the_order_total(order, user):
    payment, redirect_url = start(order, user)

    assert payment.status == Payment.Status.INITIATED
    assert payment.amount == order.total
    assert payment.authority.startswith("SBX")
    assert redirect_url == f"http://testserver/payments/sandbox/{payment.authority}"


def test_start_refuses_an_unknown_gateway(order, user):
    with pytest.raises(services.UnknownGateway) as caught:
        start(order, user, gateway="paypal")

    assert caught.value.code == "unknown_gateway"
    assert Payment.objects.count() == 0


def test_start_refuses_an_expired_or_cancelled_order(order, user):
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(services.OrderNotPayable):
        start(order, user)
    order_services.order_cancel(order=order, user=user)
    with pytest.raises(services.OrderNotPayable):
        start(order, user)


def test_paid_callback_pays_and_fulfils_codes(order, user):
    payment, _ = start(order, user)

    outcome = services.payment_callback(
        gateway_name="sandbox", data=pay_at_sandbox(payment)
    )

    assert outcome.status == "paid"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.succeeded_for_order_id == order.pk
    assert payment.reference_id
    assert set(
        DigitalCode.objects.filter(id__in=codes_of(order)).values_list(
            "status", flat=True
        )
    ) == {"sold"}
    assert [e["step"] for e in payment.exchanges] == ["start", "verify"]


def test_cancelled_at_the_gateway_leaves_the_order_unpaid(order, user):
    payment, _ = start(order, user)

    outcome = services.payment_callback(
        gateway_name="sandbox", data=pay_at_sandbox(payment, pay=False)
    )

    assert outcome.status == "cancelled"
    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CANCELLED
    assert order.status == Order.Status.PENDING_PAYMENT
    assert DigitalCode.objects.filter(status="sold").count() == 0


def test_another_attempt_can_pay_after_a_cancelled_one(order, user):
    cancelled, _ = start(order, user)
    services.payment_callback(
        gateway_name="sandbox", data=pay_at_sandbox(cancelled, pay=False)
    )
    retry, _ = start(order, user)

    outcome = services.payment_callback(
        gateway_name="sandbox", data=pay_at_sandbox(retry)
    )

    order.refresh_from_db()
    assert outcome.status == "paid"
    assert order.status == Order.Status.FULFILLED
    assert Payment.objects.get(pk=cancelled.pk).status == Payment.Status.CANCELLED


def test_a_status_ok_callback_is_not_trusted_without_the_gateway(order, user):
    payment, _ = start(order, user)

    outcome = services.payment_callback(
        gateway_name="sandbox", data={"Authority": payment.authority, "Status": "OK"}
    )

    assert outcome.status == "pending"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_a_tampered_amount_leaves_the_order_unpaid(order, user):
    payment, _ = start(order, user)
    SandboxTransaction.objects.filter(authority=payment.authority).update(amount=1)
    data = pay_at_sandbox(payment)

    outcome = services.payment_callback(gateway_name="sandbox", data=data)

    assert outcome.status == "failed"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.exchanges[-1]["code"] == -50
    assert order.status == Order.Status.PENDING_PAYMENT


@pytest.mark.parametrize("authority", ["SBXNOPE", "", "x" * 500])
def test_callback_for_an_unknown_authority_changes_nothing(order, user, authority):
    start(order, user)

    outcome = services.payment_callback(
        gateway_name="sandbox", data={"Authority": authority}
    )

    assert outcome.status == "unknown"
    assert Payment.objects.get().status == Payment.Status.INITIATED


def test_a_replayed_callback_fulfils_once(order, user):
    payment, _ = start(order, user)
    data = pay_at_sandbox(payment)

    first = services.payment_callback(gateway_name="sandbox", data=data)
    second = services.payment_callback(gateway_name="sandbox", data=data)

    assert first.status == second.status == "paid"
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert OrderEvent.objects.filter(order=order, kind="fulfilled").count() == 1


def test_a_second_paid_attempt_is_marked_for_refund_and_staff_are_alerted(
    order, user, settings, django_capture_on_commit_callbacks
):
    settings.MANAGERS = [("Finance", "finance@example.com")]
    first, _ = start(order, user)
    second, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(first))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.payment_callback(
            gateway_name="sandbox", data=pay_at_sandbox(second)
        )

    second.refresh_from_db()
    assert outcome.status == "duplicate"
    assert second.status == Payment.Status.SUCCEEDED
    assert second.needs_refund
    assert second.succeeded_for_order_id is None
    assert Payment.objects.filter(succeeded_for_order=order).count() == 1
    assert any("needs a refund" in m.subject for m in mail.outbox)


def test_a_late_payment_with_everything_still_available_is_paid(order, user):
    payment, _ = start(order, user)
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    order_services.orders_expire_overdue()
    data = pay_at_sandbox(payment)

    outcome = services.payment_callback(gateway_name="sandbox", data=data)

    order.refresh_from_db()
    assert outcome.status == "paid"
    assert order.status == Order.Status.FULFILLED
    assert DigitalCode.objects.filter(status="sold").count() == 2


def test_a_late_payment_whose_items_are_gone_is_refunded_honestly(
    order, user, settings, django_capture_on_commit_callbacks
):
    settings.MANAGERS = [("Finance", "finance@example.com")]
    payment, _ = start(order, user)
    variant_id = order.items.get().variant_id
    order_services.order_cancel(order=order, user=user)
    rival = order_services.order_create(
        user=UserFactory(), lines=[{"variant": variant_id, "quantity": 4}]
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.payment_callback(
            gateway_name="sandbox", data=pay_at_sandbox(payment)
        )

    order.refresh_from_db()
    payment.refresh_from_db()
    assert outcome.status == "unavailable"
    assert order.status == Order.Status.CANCELLED
    assert payment.needs_refund
    assert OrderEvent.objects.filter(order=order, kind="payment").exists()
    assert len(codes_of(rival)) == 4
    assert any("needs a refund" in m.subject for m in mail.outbox)


def _paid_order(user, lines):
    order = order_services.order_create(user=user, lines=lines)
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    order.refresh_from_db()
    return order, Payment.objects.get(pk=payment.pk)


def test_manual_items_wait_and_staff_fulfilment_completes_the_order(user, staff_user):
    product = ProductFactory(kind=Product.Kind.SUBSCRIPTION, brand="Spotify")
    manual = VariantFactory(
        product=product,
        fulfilment=Variant.Fulfilment.MANUAL,
        duration_days=365,
        customer_fields=["account_email"],
    )
    codes = VariantFactory()
    add_codes(codes, 1)
    order, _ = _paid_order(
        user,
        [
            {
                "variant": manual.pk,
                "quantity": 1,
                "inputs": {"account_email": "me@x.io"},
            },
            {"variant": codes.pk, "quantity": 1},
        ],
    )
    assert order.status == Order.Status.PARTIALLY_FULFILLED
    item = order.items.get(variant=manual)

    order_services.fulfil_manual_item(
        item=item, staff=staff_user, details={"note": "done"}
    )

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    event = order.events.get(kind="item_fulfilled")
    assert event.user == staff_user
    subscription = Subscription.objects.get(user=user)
    assert subscription.account == "me@x.io"
    assert (subscription.ends_at - subscription.starts_at).days == 365


def test_an_order_of_only_manual_items_stays_paid_until_staff_act(user, staff_user):
    manual = VariantFactory(fulfilment=Variant.Fulfilment.MANUAL)
    order, _ = _paid_order(user, [{"variant": manual.pk, "quantity": 1}])

    assert order.status == Order.Status.PAID
    with pytest.raises(order_services.ItemNotWaiting):
        order_services.item_mark_shipped(
            item=order.items.get(), staff=staff_user, tracking_number="TRK1"
        )


def test_shipping_with_a_tracking_number_fulfils_a_physical_item(user, staff_user):
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=2)
    order = order_services.order_create(
        user=user,
        lines=[{"variant": physical.pk, "quantity": 1}],
        shipping_address={
            "name": "S",
            "phone": "+989121234567",
            "line1": "x",
            "city": "Tehran",
            "postal_code": "12345",
            "country": "IR",
        },
    )
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))

    item = order_services.item_mark_shipped(
        item=order.items.get(), staff=staff_user, tracking_number="TRK-1234"
    )

    order.refresh_from_db()
    assert item.status == "shipped"
    assert order.status == Order.Status.FULFILLED
    assert order.events.get(kind="item_shipped").data["tracking_number"] == "TRK-1234"


def test_paid_email_and_sms_hold_a_link_but_no_code(
    order, user, django_capture_on_commit_callbacks
):
    payment, _ = start(order, user)

    with django_capture_on_commit_callbacks(execute=True):
        services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))

    from catalog import inventory

    plaintext = inventory.codes_plaintext(code_ids=codes_of(order))
    secrets_shown = [c["code"] for c in plaintext.values()]
    paid_mail = [m for m in mail.outbox if order.number in m.subject]
    assert len(paid_mail) == 1
    html = paid_mail[0].alternatives[0][0]
    assert order.number in paid_mail[0].body
    assert order.number in html
    texts = [m.body for m in sms.outbox]
    assert any(order.number in text for text in texts)
    everything = paid_mail[0].body + html + "".join(texts)
    assert secrets_shown
    assert not any(code in everything for code in secrets_shown)


def test_a_failing_notification_never_undoes_the_payment(
    order, user, monkeypatch, django_capture_on_commit_callbacks
):
    from orders import notifications

    def broken(**kwargs):
        raise ConnectionError("mail server down")

    monkeypatch.setattr(notifications, "send", broken)
    payment, _ = start(order, user)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = services.payment_callback(
            gateway_name="sandbox", data=pay_at_sandbox(payment)
        )

    order.refresh_from_db()
    assert callbacks
    assert outcome.status == "paid"
    assert order.status == Order.Status.FULFILLED


def test_refund_needs_the_finance_permission(order, user, staff_user):
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    payment.refresh_from_db()

    with pytest.raises(services.RefundNotAllowed) as caught:
        services.refund_payment(payment=payment, staff=staff_user, reason="asked")

    assert caught.value.code == "permission_denied"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_refund_of_unseen_codes_can_return_them_to_the_pool(order, user):
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    payment.refresh_from_db()
    held = codes_of(order)

    refunded = services.refund_payment(
        payment=payment, staff=finance_user(), reason="asked", restock_codes=True
    )

    order.refresh_from_db()
    assert refunded.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.REFUNDED
    assert set(
        DigitalCode.objects.filter(id__in=held).values_list("status", flat=True)
    ) == {"available"}
    assert order.events.get(kind="refunded").message == "asked"
    assert (
        SandboxTransaction.objects.get(authority=payment.authority).status == "refunded"
    )


def test_refund_after_the_customer_saw_a_code_needs_confirmation(order, user):
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    payment.refresh_from_db()
    ItemCode.objects.filter(item__order=order).update(revealed_at=timezone.now())
    finance = finance_user()

    with pytest.raises(services.RefundNeedsConfirmation):
        services.refund_payment(
            payment=payment, staff=finance, reason="r", restock_codes=True
        )
    services.refund_payment(
        payment=payment,
        staff=finance,
        reason="r",
        restock_codes=True,
        confirm_revealed=True,
    )

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert DigitalCode.objects.filter(status="sold").count() == 2


def test_reconcile_settles_a_payment_whose_callback_never_came(order, user):
    payment, _ = start(order, user)
    pay_at_sandbox(payment)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )

    call_command("reconcile_payments", verbosity=0)

    order.refresh_from_db()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert order.status == Order.Status.FULFILLED


def test_reconcile_leaves_a_recent_attempt_and_closes_an_abandoned_one(order, user):
    recent, _ = start(order, user)
    abandoned, _ = start(order, user)
    Payment.objects.filter(pk=abandoned.pk).update(
        created_at=timezone.now() - timedelta(hours=5)
    )

    settled = services.payments_reconcile()

    recent.refresh_from_db()
    abandoned.refresh_from_db()
    assert settled == {"failed": 1}
    assert recent.status == Payment.Status.INITIATED
    assert abandoned.status == Payment.Status.FAILED


def test_refund_without_restocking_leaves_unseen_codes_sold(order, user):
    payment, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    payment.refresh_from_db()
    held = codes_of(order)

    services.refund_payment(payment=payment, staff=finance_user(), reason="asked")

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert not ItemCode.objects.filter(item__order=order, revealed_at__isnull=False)
    assert set(
        DigitalCode.objects.filter(id__in=held).values_list("status", flat=True)
    ) == {"sold"}
    assert order.events.get(kind="refunded").data["restocked_codes"] == 0


def test_refunding_a_duplicate_attempt_leaves_an_order_event_and_the_order_paid(
    order, user
):
    first, _ = start(order, user)
    second, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(first))
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(second))
    second.refresh_from_db()
    finance = finance_user()

    refunded = services.refund_payment(
        payment=second, staff=finance, reason="charged twice"
    )

    order.refresh_from_db()
    assert refunded.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.FULFILLED
    event = order.events.filter(kind="payment", data__refunded=True).get()
    assert event.data == {"payment": second.pk, "refunded": True, "staff": finance.pk}
    assert "charged twice" in event.message
    assert not order.events.filter(kind="refunded").exists()


def test_refunding_a_late_attempt_leaves_an_order_event(order, user):
    payment, _ = start(order, user)
    variant_id = order.items.get().variant_id
    order_services.order_cancel(order=order, user=user)
    order_services.order_create(
        user=UserFactory(), lines=[{"variant": variant_id, "quantity": 4}]
    )
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))
    payment.refresh_from_db()

    services.refund_payment(payment=payment, staff=finance_user(), reason="gone")

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.events.filter(
        kind="payment", data__payment=payment.pk, data__refunded=True
    ).exists()


def _disable_sandbox(settings):
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "sandbox": {**settings.PAYMENT_GATEWAYS["sandbox"], "ENABLED": False},
    }


def test_reconcile_keeps_an_abandoned_attempt_of_a_disabled_gateway_and_warns(
    order, user, settings, caplog
):
    payment, _ = start(order, user)
    pay_at_sandbox(payment)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(hours=5)
    )
    _disable_sandbox(settings)
    caplog.set_level(logging.WARNING, logger="payments")

    settled = services.payments_reconcile()
    payment.refresh_from_db()
    still_open = payment.status
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "sandbox": {**settings.PAYMENT_GATEWAYS["sandbox"], "ENABLED": True},
    }
    settled_later = services.payments_reconcile()

    order.refresh_from_db()
    assert settled == {"pending": 1}
    assert still_open == Payment.Status.INITIATED
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [getattr(r, "payment_id", None) for r in warnings] == [payment.pk]
    assert settled_later == {"paid": 1}
    assert order.status == Order.Status.FULFILLED


def test_reconcile_asks_the_least_recently_asked_attempts_first(
    order, user, settings, monkeypatch, caplog
):
    first, _ = start(order, user)
    second, _ = start(order, user)
    Payment.objects.update(created_at=timezone.now() - timedelta(hours=5))
    _disable_sandbox(settings)
    monkeypatch.setattr(services, "RECONCILE_BATCH", 1)
    caplog.set_level(logging.WARNING, logger="payments")

    for _run in range(3):
        services.payments_reconcile()

    asked = [getattr(r, "payment_id", None) for r in caplog.records]
    assert asked == [first.pk, second.pk, first.pk]


def test_reconcile_closes_an_abandoned_attempt_that_never_got_a_page(order, user):
    recent = Payment.objects.create(
        order=order, gateway="sandbox", amount=order.total, currency=order.currency
    )
    abandoned = Payment.objects.create(
        order=order, gateway="sandbox", amount=order.total, currency=order.currency
    )
    Payment.objects.filter(pk=recent.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )
    Payment.objects.filter(pk=abandoned.pk).update(
        created_at=timezone.now() - timedelta(hours=5)
    )

    settled = services.payments_reconcile()

    recent.refresh_from_db()
    abandoned.refresh_from_db()
    assert settled == {"pending": 1, "failed": 1}
    assert recent.status == Payment.Status.INITIATED
    assert abandoned.status == Payment.Status.FAILED


def test_reconcile_records_a_cancellation_the_callback_never_brought(order, user):
    payment, _ = start(order, user)
    pay_at_sandbox(payment, pay=False)
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )

    settled = services.payments_reconcile()

    payment.refresh_from_db()
    order.refresh_from_db()
    assert settled == {"cancelled": 1}
    assert payment.status == Payment.Status.CANCELLED
    assert order.status == Order.Status.PENDING_PAYMENT
