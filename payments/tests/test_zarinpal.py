"""The Zarinpal client against recorded answers; never the network."""

import json
from decimal import Decimal

import pytest
import requests
import responses

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


def verify_with(started, answer, *, callback_amount=None):
    payment = started[0]
    data = {"Authority": payment.authority, "Status": "OK"}
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
