"""Maintenance mode: writes behind the gate pause, reads and the admin go on."""

import re
from http import HTTPStatus
from urllib.parse import urlparse

import pytest
from constance import config
from constance.test import override_config
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts import sms
from accounts.tests.factories import PASSWORD, UserFactory
from mithrapay.maintenance import MaintenanceGate, maintenance_on
from mithrapay.tests.test_site_settings import save_in_admin
from mithrapay.urls import urlpatterns as project_urlpatterns
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import VariantFactory, add_codes
from payments import services as payment_services

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.urls("mithrapay.tests.test_maintenance"),
]


class GatedView(APIView):
    """Stands for any write the shop pauses (registration, orders, profile)."""

    authentication_classes = []
    permission_classes = [MaintenanceGate]

    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"written": True}, status=HTTPStatus.CREATED)

    put = patch = delete = post


urlpatterns = [path("test/gated", GatedView.as_view()), *project_urlpatterns]


@pytest.fixture(autouse=True)
def _fresh_content_types():
    ContentType.objects.clear_cache()


def test_writes_pass_while_maintenance_is_off(api_client):
    response = api_client.post("/test/gated", {})

    assert not maintenance_on()
    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_writes_answer_503_maintenance_while_on(api_client, method):
    with override_config(MAINTENANCE_MODE=True):
        response = getattr(api_client, method)("/test/gated", {})

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "maintenance"


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_reads_pass_while_on(api_client, method):
    with override_config(MAINTENANCE_MODE=True):
        response = getattr(api_client, method)("/test/gated")

    assert response.status_code == HTTPStatus.OK


def test_staff_switch_it_on_and_off_in_the_admin_without_a_restart(
    admin_client, api_client
):
    before = api_client.post("/test/gated", {})

    switched_on = save_in_admin(admin_client, MAINTENANCE_MODE=True)
    during = api_client.post("/test/gated", {})
    flag_during = api_client.get("/settings/public").json()["maintenance"]
    # The admin is not behind the gate: staff can always switch it off.
    switched_off = save_in_admin(admin_client, MAINTENANCE_MODE=False)
    after = api_client.post("/test/gated", {})

    assert before.status_code == HTTPStatus.CREATED
    assert switched_on.status_code == HTTPStatus.FOUND
    assert during.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert during.json()["code"] == "maintenance"
    assert flag_during is True
    assert switched_off.status_code == HTTPStatus.FOUND
    assert config.MAINTENANCE_MODE is False
    assert after.status_code == HTTPStatus.CREATED


def test_public_endpoints_keep_answering_during_maintenance(api_client):
    with override_config(MAINTENANCE_MODE=True):
        root = api_client.get("/")
        public = api_client.get("/settings/public")
        blog = api_client.get("/blog/")

    assert root.status_code == HTTPStatus.OK
    assert public.json()["maintenance"] is True
    assert blog.status_code == HTTPStatus.OK


def test_the_admin_keeps_working_during_maintenance(admin_client):
    with override_config(MAINTENANCE_MODE=True):
        response = save_in_admin(admin_client, NOTICE_BANNER="Back at 18:00")

    assert response.status_code == HTTPStatus.FOUND
    assert config.NOTICE_BANNER == "Back at 18:00"


def test_maintenance_can_be_switched_from_the_command_line(api_client):
    call_command("constance", "set", "MAINTENANCE_MODE", "on")
    during = api_client.post("/test/gated", {})
    call_command("constance", "set", "MAINTENANCE_MODE", "")
    after = api_client.post("/test/gated", {})

    assert during.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert after.status_code == HTTPStatus.CREATED


# --- What keeps working while the writes pause --------------------------------
# Registration, order create/cancel/pay and profile writes are refused in the
# tests of their own apps (accounts, orders, payments).


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_token_refresh_keeps_working_during_maintenance(api_client):
    UserFactory(email="shopper@example.com")
    pair = api_client.post(
        "/auth/login", {"email": "shopper@example.com", "password": PASSWORD}
    ).json()

    with override_config(MAINTENANCE_MODE=True):
        refreshed = api_client.post("/auth/refresh", {"refresh": pair["refresh"]})
        me = _bearer(refreshed.json()["access"]).get("/users/me")

    assert refreshed.status_code == HTTPStatus.OK
    assert set(refreshed.json()) >= {"access", "refresh"}
    assert refreshed.json()["refresh"] != pair["refresh"]
    assert me.status_code == HTTPStatus.OK
    assert me.json()["email"] == "shopper@example.com"


def test_otp_login_keeps_working_during_maintenance(
    api_client, django_capture_on_commit_callbacks
):
    phone = "+989121110000"
    customer = UserFactory(phone=phone, verified=True)
    sms.outbox.clear()

    with override_config(MAINTENANCE_MODE=True):
        with django_capture_on_commit_callbacks(execute=True):
            requested = api_client.post("/auth/request-otp", {"phone": phone})
        [text] = [message for message in sms.outbox if message.to == phone]
        code = re.search(r"\b(\d{6})\b", text.body).group(1)
        verified = api_client.post("/auth/verify-otp", {"phone": phone, "code": code})
        me = _bearer(verified.json()["access"]).get("/users/me")

    assert requested.status_code == HTTPStatus.ACCEPTED
    assert verified.status_code == HTTPStatus.OK
    assert {"access", "refresh"} <= set(verified.json())
    assert me.json()["id"] == customer.pk


def test_the_sandbox_payment_page_keeps_working_during_maintenance():
    customer = UserFactory()
    variant = VariantFactory()
    add_codes(variant, 1)
    order = order_services.order_create(
        user=customer, lines=[{"variant": variant.pk, "quantity": 1}]
    )
    _payment, redirect_url = payment_services.payment_start(
        order=order,
        user=customer,
        gateway_name="sandbox",
        base_url="http://testserver/",
    )
    browser = Client()

    with override_config(MAINTENANCE_MODE=True):
        page = browser.get(redirect_url)
        decided = browser.post(urlparse(redirect_url).path, {"action": "pay"})
        returned = browser.get(decided["Location"], HTTP_ACCEPT="application/json")

    assert page.status_code == HTTPStatus.OK
    assert str(order.total) in page.content.decode()
    assert decided.status_code == HTTPStatus.FOUND
    assert returned.json() == {"order": order.number, "status": "paid"}
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
