import re
from http import HTTPStatus
from urllib.parse import parse_qs, urlparse

import pytest
from constance.test import override_config
from django.test import Client
from rest_framework.test import APIClient

from accounts import sms
from accounts.tests.factories import UserFactory
from catalog.models import DigitalCode
from orders.models import Order
from orders.tests.factories import VariantFactory, add_codes
from payments.models import Payment
from payments.tests.helpers import pay_at_sandbox, start

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_pay_answers_the_payment_and_the_gateway_page(order, user):
    response = client_for(user).post(
        f"/orders/{order.pk}/pay", {"gateway": "sandbox"}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["payment"]["status"] == "initiated"
    assert body["payment"]["amount"] == str(order.total)
    assert body["redirect_url"].startswith("http://testserver/payments/sandbox/SBX")


def test_pay_for_another_customers_order_is_404(order):
    response = client_for(UserFactory()).post(
        f"/orders/{order.number}/pay/", {"gateway": "sandbox"}, format="json"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    assert Payment.objects.count() == 0


@pytest.mark.parametrize("body", [{"gateway": "paypal"}, {"gateway": "zarinpal"}])
def test_pay_with_an_unknown_or_disabled_gateway_is_400(order, user, body):
    response = client_for(user).post(f"/orders/{order.pk}/pay", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "unknown_gateway"


@pytest.mark.parametrize("body", [{}, {"gateway": 5}, {"gateway": "x" * 100}, []])
def test_pay_with_a_malformed_body_is_400(order, user, body):
    response = client_for(user).post(f"/orders/{order.pk}/pay", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] in {"validation_error", "unknown_gateway"}
    assert Payment.objects.count() == 0


def test_pay_for_a_paid_order_is_409(order, user):
    payment, _ = start(order, user)
    from payments import services

    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(payment))

    response = client_for(user).post(
        f"/orders/{order.pk}/pay", {"gateway": "sandbox"}, format="json"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "order_not_payable"


def test_pay_is_paused_by_maintenance(order, user):
    with override_config(MAINTENANCE_MODE=True):
        response = client_for(user).post(
            f"/orders/{order.pk}/pay", {"gateway": "sandbox"}, format="json"
        )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "maintenance"


def test_callback_redirects_the_browser_to_the_result_page(order, user):
    payment, _ = start(order, user)
    data = pay_at_sandbox(payment)

    response = Client().get("/payments/callback/sandbox", data)

    assert response.status_code == HTTPStatus.FOUND
    target = urlparse(response["Location"])
    assert target.path == "/payments/result"
    assert parse_qs(target.query) == {"order": [order.number], "status": ["paid"]}


def test_callback_answers_json_when_asked(order, user):
    payment, _ = start(order, user)

    response = Client().post(
        "/payments/callback/sandbox/",
        pay_at_sandbox(payment),
        HTTP_ACCEPT="application/json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"order": order.number, "status": "paid"}


@pytest.mark.parametrize(
    "query", ["", "?Authority=", "?Authority=%00%FF", "?Authority[]=1&Status=OK"]
)
def test_malformed_callbacks_never_error(query):
    response = Client().get(
        f"/payments/callback/sandbox{query}", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "unknown"


def test_callback_for_an_unknown_gateway_is_400():
    response = Client().get("/payments/callback/paypal", HTTP_ACCEPT="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "unknown_gateway"


def test_callbacks_work_during_maintenance(order, user):
    payment, _ = start(order, user)

    with override_config(MAINTENANCE_MODE=True):
        response = Client().get(
            "/payments/callback/sandbox",
            pay_at_sandbox(payment),
            HTTP_ACCEPT="application/json",
        )

    assert response.json()["status"] == "paid"


def test_sandbox_page_shows_the_amount_and_its_buttons_redirect_to_the_callback(
    order, user
):
    _payment, redirect_url = start(order, user)
    browser = Client()

    page = browser.get(redirect_url)
    decided = browser.post(urlparse(redirect_url).path, {"action": "cancel"})

    assert page.status_code == HTTPStatus.OK
    assert str(order.total) in page.content.decode()
    assert decided.status_code == HTTPStatus.FOUND
    assert decided["Location"].startswith(
        "http://testserver/payments/callback/sandbox?"
    )
    assert "Status=NOK" in decided["Location"]


def test_sandbox_page_is_off_when_disabled(order, user, settings):
    _payment, redirect_url = start(order, user)
    settings.PAYMENT_SANDBOX_ENABLED = False

    response = Client().get(urlparse(redirect_url).path)

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_sandbox_page_refuses_an_unknown_action(order, user):
    payment, redirect_url = start(order, user)

    response = Client().post(urlparse(redirect_url).path, {"action": "steal"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    payment.refresh_from_db()
    assert payment.status == "initiated"


def test_the_sandbox_journey_from_registration_to_visible_codes(
    settings, django_capture_on_commit_callbacks
):
    """Register → OTP login → order → pay → gateway page → callback → codes,
    through the real URLs."""
    settings.SMS_BACKEND = "locmem"
    variant = VariantFactory()
    add_codes(variant, 3)
    api = APIClient()
    phone = "+989351112233"

    registered = api.post(
        "/auth/register",
        {"phone": phone, "password": "a-long-secret-42"},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/auth/request-otp", {"phone": phone}, format="json")
    code = re.search(r"\b(\d{6})\b", sms.outbox[-1].body).group(1)
    login = api.post("/auth/verify-otp", {"phone": phone, "code": code}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    created = api.post(
        "/orders/", {"items": [{"variant": variant.pk, "quantity": 2}]}, format="json"
    )
    number = created.json()["number"]
    paying = api.post(f"/orders/{number}/pay", {"gateway": "sandbox"}, format="json")
    browser = Client()
    gateway_page = browser.get(paying.json()["redirect_url"])
    back = browser.post(urlparse(paying.json()["redirect_url"]).path, {"action": "pay"})
    result = browser.get(back["Location"])
    order = api.get(f"/orders/{number}")

    assert registered.status_code == HTTPStatus.CREATED
    assert login.status_code == HTTPStatus.OK
    assert created.status_code == HTTPStatus.CREATED
    assert paying.status_code == HTTPStatus.CREATED
    assert gateway_page.status_code == HTTPStatus.OK
    assert result.status_code == HTTPStatus.FOUND
    assert "status=paid" in result["Location"]
    assert browser.get(result["Location"]).status_code == HTTPStatus.OK
    assert order.json()["status"] == "fulfilled"
    codes = order.json()["items"][0]["codes"]
    assert len(codes) == 2
    sold = DigitalCode.objects.filter(status="sold")
    assert sold.count() == 2
    assert Order.objects.get(number=number).payments.get().status == "succeeded"
