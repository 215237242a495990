"""Maintenance mode: writes behind the gate pause, reads and the admin go on."""

from http import HTTPStatus

import pytest
from constance import config
from constance.test import override_config
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from mithrapay.maintenance import MaintenanceGate, maintenance_on
from mithrapay.tests.test_site_settings import save_in_admin
from mithrapay.urls import urlpatterns as project_urlpatterns

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
