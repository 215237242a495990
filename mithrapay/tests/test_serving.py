"""Production serving: the client address, CORS, CSP and the security
headers, and gunicorn's JSON access log."""

import gc
import importlib.util
import json
import logging
import re
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from mithrapay.logformat import AccessFormatter
from mithrapay.tests.test_settings import PRODUCTION_ENV, run_manage
from mithrapay.throttling import client_ip

BASE_DIR = Path(__file__).resolve().parents[2]
PASSWORD = "a-Long-enough-Passw0rd"
PROXY = "10.0.0.5"


def _request(remote_addr: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ("10.0.0.0/24",)
    return settings


# --- The client address ------------------------------------------------------


def test_client_ip_ignores_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = ()

    ip = client_ip(_request("198.51.100.7", "203.0.113.1"))

    assert ip == "198.51.100.7"


def test_client_ip_takes_the_rightmost_untrusted_address_behind_a_proxy(
    behind_proxy,
):
    # The client wrote 192.0.2.66 itself; the proxies appended the rest.
    request = _request(PROXY, "192.0.2.66, 203.0.113.9, 10.0.0.7")

    assert client_ip(request) == "203.0.113.9"


def test_client_ip_is_the_peer_when_a_trusted_proxy_sends_no_header(behind_proxy):
    assert client_ip(_request(PROXY)) == PROXY


def test_client_ip_stops_at_garbage_in_the_chain(behind_proxy):
    request = _request(PROXY, "203.0.113.9, not-an-address, 10.0.0.7")

    assert client_ip(request) == "10.0.0.7"


def test_client_ip_reads_ipv6_addresses(settings):
    settings.TRUSTED_PROXIES = ("2001:db8::/64",)

    ip = client_ip(_request("2001:db8::1", "2001:db8:ffff::42"))

    assert ip == "2001:db8:ffff::42"


def _register(client, n: int, **headers):
    body = {"email": f"limit{n}@example.com", "password": PASSWORD}
    return client.post("/auth/register", body, format="json", **headers)


@pytest.mark.django_db
def test_a_spoofed_forwarded_for_gets_no_fresh_throttle_budget(settings):
    settings.TRUSTED_PROXIES = ()
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "register": "2/hour"}
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    for n in range(2):
        _register(client, n, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    response = _register(client, 2, HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"


@pytest.mark.django_db
def test_clients_behind_a_trusted_proxy_are_limited_one_by_one(behind_proxy):
    behind_proxy.THROTTLE_RATES = {
        **behind_proxy.THROTTLE_RATES,
        "register": "1/hour",
    }
    client = APIClient(REMOTE_ADDR=PROXY)

    first = _register(client, 0, HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = _register(client, 1, HTTP_X_FORWARDED_FOR="203.0.113.2")
    again = _register(client, 2, HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert first.status_code == HTTPStatus.CREATED
    assert second.status_code == HTTPStatus.CREATED
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_code_requests_are_limited_per_forwarded_client(behind_proxy):
    behind_proxy.THROTTLE_RATES = {**behind_proxy.THROTTLE_RATES, "otp_ip": "1/hour"}
    client = APIClient(REMOTE_ADDR=PROXY)

    def ask(phone, forwarded):
        body = {"phone": phone}
        return client.post(
            "/auth/request-otp", body, format="json", HTTP_X_FORWARDED_FOR=forwarded
        )

    first = ask("+989120000001", "203.0.113.1")
    other_client = ask("+989120000002", "203.0.113.2")
    same_client = ask("+989120000003", "203.0.113.1")

    assert first.status_code == HTTPStatus.ACCEPTED
    assert other_client.status_code == HTTPStatus.ACCEPTED
    assert same_client.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_a_malformed_trusted_proxy_stops_the_start_with_one_line():
    overrides = {"APP_ENV": "development", "TRUSTED_PROXIES": "10.0.0.0/8,proxy"}

    result = run_manage("check", env_overrides=overrides)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "MithraPay cannot start: TRUSTED_PROXIES must list IP addresses or "
        "networks, not 'proxy'"
    ]


# --- CORS --------------------------------------------------------------------


@pytest.fixture
def front_end(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    return "https://shop.example.com"


@pytest.mark.django_db
def test_a_configured_front_end_may_call_the_api(client, front_end):
    response = client.get("/products/", HTTP_ORIGIN=front_end)

    assert response.status_code == HTTPStatus.OK
    assert response["Access-Control-Allow-Origin"] == front_end
    exposed = response["Access-Control-Expose-Headers"]
    assert "Retry-After" in exposed
    assert "X-Request-ID" in exposed
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.django_db
def test_another_origin_gets_no_cors_permission(client, front_end):
    response = client.get("/products/", HTTP_ORIGIN="https://evil.example.net")

    assert "Access-Control-Allow-Origin" not in response


def test_a_preflight_allows_the_order_headers(client, front_end):
    response = client.options(
        "/orders/",
        HTTP_ORIGIN=front_end,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, idempotency-key",
    )

    assert response.status_code == HTTPStatus.OK
    allowed = response["Access-Control-Allow-Headers"]
    assert "idempotency-key" in allowed
    assert "authorization" in allowed


@pytest.mark.django_db
def test_the_admin_never_answers_cross_origin(client, front_end):
    response = client.get("/admin/login/", HTTP_ORIGIN=front_end)

    assert "Access-Control-Allow-Origin" not in response


# --- Content-Security-Policy and headers --------------------------------------


def _policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _inline_scripts(html: str) -> list[str]:
    """Script tags a browser would run from the page itself. JSON data blocks
    (``json_script``) are not run, so a policy has nothing to say about them."""
    tags = re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE)
    return [
        tag
        for tag in tags
        if "src=" not in tag and 'type="application/json"' not in tag
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/catalog/product/",
        "/admin/catalog/product/add/",
        "/admin/orders/order/",
    ],
)
def test_admin_pages_carry_a_csp_and_no_inline_script(admin_client, path):
    response = admin_client.get(path)

    assert response.status_code == HTTPStatus.OK
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    html = response.content.decode()
    assert _inline_scripts(html) == []
    assert re.search(r"\son[a-z]+=", html) is None


@pytest.mark.django_db
def test_the_dashboard_chart_loads_as_a_static_file_under_the_policy(admin_client):
    response = admin_client.get("/admin/")

    html = response.content.decode()
    assert re.search(r'<script src="/static/[^"]*chart[^"]*\.js"', html)
    assert "'unsafe-inline'" not in _policy(response)["script-src"]


@pytest.mark.django_db
def test_the_result_page_style_carries_the_policy_nonce(client):
    response = client.get("/payments/result", {"status": "paid", "order": "MP-X"})

    nonce = re.search(r'<style nonce="([^"]+)">', response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in _policy(response)["style-src"]
    assert "'unsafe-inline'" not in _policy(response)["style-src"]


@pytest.mark.django_db
def test_the_sandbox_page_carries_the_policy(client):
    from payments.models import SandboxTransaction

    record = SandboxTransaction.objects.create(
        authority="A" * 20,
        amount="100.00",
        description="Order MP-X",
        callback_url="http://testserver/payments/callback/sandbox",
    )

    response = client.get(f"/payments/sandbox/{record.authority}")

    assert response.status_code == HTTPStatus.OK
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert any(value.startswith("'nonce-") for value in policy["style-src"])


def test_an_absolute_result_url_may_receive_the_sandbox_form(tmp_path):
    overrides = {
        **PRODUCTION_ENV,
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "PAYMENT_RESULT_URL": "https://shop.example.com/paid",
    }

    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; import json; print(json.dumps("
        "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']))",
        env_overrides=overrides,
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "'self'",
        "https://shop.example.com",
    ]


def test_every_answer_carries_the_security_headers(client):
    response = client.get("/health/ready")

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def test_production_sends_hsts_over_https(tmp_path):
    overrides = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    code = (
        "from django.test import Client; r = Client().get('/', secure=True); "
        "print(r['Strict-Transport-Security'])"
    )

    result = run_manage("shell", "-c", code, env_overrides=overrides)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        "max-age=31536000; includeSubDomains; preload"
    )


# --- gunicorn ----------------------------------------------------------------


def _gunicorn_config(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "gunicorn_conf", BASE_DIR / "deploy" / "gunicorn.conf.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gunicorn_writes_json_access_lines_in_production(monkeypatch):
    config = _gunicorn_config(monkeypatch, APP_ENV="production")

    formatters = config.logconfig_dict["formatters"]
    assert formatters["access"]["()"] == "mithrapay.logformat.AccessFormatter"
    assert config.logconfig_dict["loggers"]["gunicorn.access"]["handlers"] == ["access"]
    assert config.preload_app is False
    assert config.graceful_timeout > 0
    assert config.timeout > 0


def test_gunicorn_logs_plain_text_in_development(monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)

    config = _gunicorn_config(monkeypatch, APP_ENV="development")

    assert not hasattr(config, "logconfig_dict")


def test_an_access_line_is_json_with_the_request_fields_and_no_query():
    atoms = {
        "h": "203.0.113.9",
        "m": "GET",
        "U": "/orders/",
        "q": "token=secret",
        "s": "200",
        "B": 512,
        "M": 12,
        "a": "shop-app/1.0",
        "{x-request-id}o": "abc123",
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(m)s %(U)s", (atoms,), None
    )
    formatter = AccessFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )

    line = formatter.format(record)

    fields = json.loads(line)
    assert fields["logger"] == "gunicorn.access"
    assert fields["level"] == "INFO"
    assert fields["message"] == "GET /orders/"
    assert fields["path"] == "/orders/"
    assert fields["status"] == "200"
    assert fields["duration_ms"] == 12
    assert fields["request_id"] == "abc123"
    assert "secret" not in line


def test_a_gunicorn_worker_freezes_what_loading_the_app_allocated(monkeypatch):
    config = _gunicorn_config(monkeypatch, APP_ENV="production")
    gc.unfreeze()
    try:
        config.post_worker_init(worker=None)

        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
