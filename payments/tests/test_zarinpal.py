"""The Zarinpal client against recorded answers; never the network."""

import json
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
import requests
import responses
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import Order
from payments import services
from payments.gateways import GatewayError
from payments.gateways.zarinpal import LIVE_HOST, SANDBOX_HOST, ZarinpalGateway
from payments.models import Payment

pytestmark = pytest.mark.django_db

REQUEST_URL = f"{LIVE_HOST}/pg/v4/payment/request.json"
VERIFY_URL = f"{LIVE_HOST}/pg/v4/payment/verify.json"
MERCHANT = "1344b5d4-0048-11e8-94db-005056a205be"

REQUEST_OK = {
    "data": {
        "code": 100,
        "message": "Success",
        "authority": "A0000000000000000000000000000wwOGYpd",
        "fee_type": "Merchant",
        "fee": 100,
    },
    "errors": [],
}
VERIFY_OK = {
    "data": {
        "code": 100,
        "message": "Verified",
        "card_hash": "1EBE3EBEBE35C7EC0F8D6EE4F2F859107A87822CA179BC9528767EA7B5489B69",
        "card_pan": "502229******5995",
        "ref_id": 201,
        "fee_type": "Merchant",
        "fee": 0,
    },
    "errors": [],
}
VERIFY_AGAIN = {**VERIFY_OK, "data": {**VERIFY_OK["data"], "code": 101}}


def error(code, message):
    return {"data": [], "errors": {"code": code, "message": message, "validations": []}}


@pytest.fixture
def zarinpal(settings):
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "zarinpal": {
            "BACKEND": "payments.gateways.zarinpal.ZarinpalGateway",
            "ENABLED": True,
            "OPTIONS": {"MERCHANT_ID": MERCHANT, "SANDBOX": False, "TIMEOUT": 2},
        },
    }


@pytest.fixture
def started(zarinpal, order, user):
    with responses.RequestsMock() as mocked:
        mocked.post(REQUEST_URL, json=REQUEST_OK)
        payment, redirect_url = services.payment_start(
            order=order,
            user=user,
            gateway_name="zarinpal",
            base_url="https://shop.test/",
        )
        sent = json.loads(mocked.calls[0].request.body)
    return payment, redirect_url, sent


def test_request_sends_the_order_total_in_rials_and_redirects_to_startpay(
    started, order
):
    payment, redirect_url, sent = started

    assert payment.authority == REQUEST_OK["data"]["authority"]
    assert redirect_url == f"{LIVE_HOST}/pg/StartPay/{payment.authority}"
    assert sent["amount"] == int(order.total)
    assert isinstance(sent["amount"], int)
    assert sent["merchant_id"] == MERCHANT
    assert sent["callback_url"] == "https://shop.test/payments/callback/zarinpal"
    assert sent["metadata"]["mobile"].startswith("09")
    assert MERCHANT not in json.dumps(payment.exchanges)


def verify_with(started, answer, *, callback_amount=None, status="OK"):
    payment = started[0]
    data = {"Authority": payment.authority, "Status": status}
    if callback_amount is not None:
        data["Amount"] = str(callback_amount)
    with responses.RequestsMock() as mocked:
        mocked.post(VERIFY_URL, **answer)
        outcome = services.payment_callback(gateway_name="zarinpal", data=data)
        sent = json.loads(mocked.calls[0].request.body) if mocked.calls else None
    payment.refresh_from_db()
    return outcome, payment, sent


def test_verify_100_is_paid_with_receipt_and_card(started, order):
    outcome, payment, sent = verify_with(
        started, {"json": VERIFY_OK}, callback_amount=1
    )

    assert outcome.status == "paid"
    assert payment.reference_id == "201"
    assert payment.card_mask == "502229******5995"
    assert sent["amount"] == int(order.total)
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_verify_101_already_verified_is_paid(started):
    outcome, payment, _ = verify_with(started, {"json": VERIFY_AGAIN})

    assert outcome.status == "paid"
    assert payment.status == Payment.Status.SUCCEEDED


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-50, "Session is not valid, amounts values is not the same."),
        (-51, "Session is not valid, session is not active paid try."),
        (-54, "Invalid authority."),
    ],
)
def test_verify_failure_codes_leave_the_order_unpaid(started, order, code, message):
    outcome, payment, _ = verify_with(
        started, {"json": error(code, message), "status": 200}
    )

    assert outcome.status == "failed"
    assert payment.status == Payment.Status.FAILED
    assert payment.exchanges[-1]["response"]["errors"]["code"] == code
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_verify_timeout_keeps_the_payment_for_reconciliation(started, order):
    outcome, payment, _ = verify_with(
        started, {"body": requests.exceptions.ReadTimeout("timed out")}
    )

    assert outcome.status == "pending"
    assert payment.status == Payment.Status.INITIATED
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_request_refused_by_zarinpal_fails_the_attempt(zarinpal, order, user):
    with responses.RequestsMock() as mocked:
        mocked.post(REQUEST_URL, json=error(-9, "The input params invalid"), status=400)
        with pytest.raises(services.GatewayUnavailable) as caught:
            services.payment_start(
                order=order, user=user, gateway_name="zarinpal", base_url="https://s/"
            )

    assert caught.value.code == "gateway_unavailable"
    assert Payment.objects.get().status == Payment.Status.FAILED


def test_missing_merchant_id_fails_when_used_not_at_start(settings, order, user):
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "zarinpal": {
            "BACKEND": "payments.gateways.zarinpal.ZarinpalGateway",
            "ENABLED": True,
            "OPTIONS": {"MERCHANT_ID": ""},
        },
    }

    with pytest.raises(services.GatewayUnavailable):
        services.payment_start(
            order=order, user=user, gateway_name="zarinpal", base_url="/"
        )


def test_sandbox_host_by_setting():
    gateway = ZarinpalGateway(
        name="zarinpal", options={"SANDBOX": True, "MERCHANT_ID": "m"}
    )

    assert gateway.host == SANDBOX_HOST
    assert gateway.amount_in_rials(Decimal("1250000.00")) == 1250000


def test_a_network_failure_is_a_gateway_error_not_a_crash():
    gateway = ZarinpalGateway(
        name="zarinpal", options={"MERCHANT_ID": "m", "TIMEOUT": 1}
    )
    with responses.RequestsMock() as mocked:
        mocked.post(VERIFY_URL, body=requests.exceptions.ConnectionError("down"))
        with pytest.raises(GatewayError):
            gateway._post("/pg/v4/payment/verify.json", {"amount": 1, "authority": "A"})


def test_status_nok_confirmed_by_zarinpal_cancels_the_attempt(started, order):
    outcome, payment, sent = verify_with(
        started,
        {"json": error(-51, "Session is not valid, session is not active paid try.")},
        status="NOK",
    )

    assert sent["authority"] == payment.authority
    assert outcome.status == "cancelled"
    assert payment.status == Payment.Status.CANCELLED
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_status_nok_with_another_failure_code_is_a_failure(started):
    outcome, payment, _ = verify_with(
        started, {"json": error(-54, "Invalid authority.")}, status="NOK"
    )

    assert outcome.status == "failed"
    assert payment.status == Payment.Status.FAILED


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {}, "status": 200},
        {"json": {"data": [], "errors": []}, "status": 200},
        {"json": {"data": {"message": "Verified"}}, "status": 200},
        {"json": {"message": "Too Many Attempts."}, "status": 429},
        {"json": {"errors": {"message": "Internal Server Error"}}, "status": 500},
        {"json": error(-51, "Session is not active paid try."), "status": 503},
    ],
    ids=["empty", "no-code", "data-without-code", "429", "500", "503-with-a-code"],
)
def test_an_answer_that_says_nothing_about_the_payment_keeps_it_open(
    started, order, answer
):
    outcome, payment, _ = verify_with(started, answer)
    still_open = (payment.status, [e["step"] for e in payment.exchanges])
    later, paid, _ = verify_with(started, {"json": VERIFY_OK})

    assert outcome.status == "pending"
    assert still_open == (Payment.Status.INITIATED, ["start"])
    assert later.status == "paid"
    assert paid.status == Payment.Status.SUCCEEDED
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_gateway_verify_raises_on_an_answer_without_a_code(zarinpal, started):
    gateway = ZarinpalGateway(name="zarinpal", options={"MERCHANT_ID": MERCHANT})

    with responses.RequestsMock() as mocked:
        mocked.post(VERIFY_URL, json={}, status=200)
        with pytest.raises(GatewayError):
            gateway.verify(payment=started[0], callback_data={"Status": "OK"})


def age(payment, minutes):
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def reconcile_with(answer):
    with responses.RequestsMock() as mocked:
        mocked.post(VERIFY_URL, **answer)
        settled = services.payments_reconcile()
        calls = len(mocked.calls)
    return settled, calls


NOT_PAID_YET = {
    "json": error(-51, "Session is not valid, session is not active paid try.")
}


def test_reconcile_keeps_an_attempt_zarinpal_has_not_seen_paid_yet(started):
    payment = started[0]
    age(payment, 30)

    settled, calls = reconcile_with(NOT_PAID_YET)

    payment.refresh_from_db()
    assert calls == 1
    assert settled == {"pending": 1}
    assert payment.status == Payment.Status.INITIATED


def test_reconcile_closes_an_abandoned_attempt_on_zarinpals_answer(started):
    payment = started[0]
    age(payment, 5 * 60)

    settled, _ = reconcile_with(NOT_PAID_YET)

    payment.refresh_from_db()
    assert settled == {"failed": 1}
    assert payment.status == Payment.Status.FAILED
    assert payment.exchanges[-1]["abandoned"] is True


@pytest.mark.parametrize(
    "answer",
    [
        {"body": requests.exceptions.ConnectTimeout("timed out")},
        {"json": {}, "status": 502},
    ],
    ids=["timeout", "502"],
)
def test_reconcile_never_abandons_an_attempt_zarinpal_did_not_answer_for(
    started, order, answer
):
    payment = started[0]
    age(payment, 5 * 60)

    settled, _ = reconcile_with(answer)
    payment.refresh_from_db()
    still_open = payment.status
    settled_later, _ = reconcile_with({"json": VERIFY_OK})

    payment.refresh_from_db()
    order.refresh_from_db()
    assert settled == {"pending": 1}
    assert still_open == Payment.Status.INITIATED
    assert settled_later == {"paid": 1}
    assert payment.status == Payment.Status.SUCCEEDED
    assert order.status == Order.Status.FULFILLED


@pytest.fixture
def order_in_euros(order):
    Order.objects.filter(pk=order.pk).update(currency="EUR")
    order.refresh_from_db()
    return order


def test_start_refuses_a_currency_other_than_rials_before_any_call(
    zarinpal, order_in_euros, user
):
    with responses.RequestsMock() as mocked:
        with pytest.raises(services.UnsupportedCurrency) as caught:
            services.payment_start(
                order=order_in_euros,
                user=user,
                gateway_name="zarinpal",
                base_url="https://shop.test/",
            )
        calls = len(mocked.calls)

    assert caught.value.code == "unsupported_currency"
    assert calls == 0
    assert Payment.objects.count() == 0


def test_pay_in_a_currency_zarinpal_does_not_take_is_400(
    zarinpal, order_in_euros, user
):
    client = APIClient()
    client.force_authenticate(user=user)

    with responses.RequestsMock() as mocked:
        response = client.post(
            f"/orders/{order_in_euros.pk}/pay", {"gateway": "zarinpal"}, format="json"
        )
        calls = len(mocked.calls)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "unsupported_currency"
    assert "EUR" in body["message"]
    assert calls == 0
    assert Payment.objects.count() == 0
    order_in_euros.refresh_from_db()
    assert order_in_euros.status == Order.Status.PENDING_PAYMENT
