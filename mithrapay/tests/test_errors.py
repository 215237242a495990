"""Every error, from any kind of view, answers in the one JSON shape."""

import logging
from http import HTTPStatus

import pytest
from django.test import Client

pytestmark = pytest.mark.urls("mithrapay.tests.urls")


def assert_error_shape(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) <= {"code", "message", "fields"}
    return body


def test_validation_error_names_each_bad_field(api_client):
    response = api_client.post("/test/echo", {"name": "x" * 11}, format="json")

    body = assert_error_shape(response, HTTPStatus.BAD_REQUEST, "validation_error")
    assert set(body["fields"]) == {"name", "quantity"}
    assert all(isinstance(m, str) for m in body["fields"]["name"])


def test_malformed_json_is_a_parse_error(api_client):
    response = api_client.post(
        "/test/echo", data='{"name": ', content_type="application/json"
    )

    assert_error_shape(response, HTTPStatus.BAD_REQUEST, "parse_error")


@pytest.mark.parametrize("payload", ["[]", '"text"', "null", "12"])
def test_json_that_is_not_an_object_is_a_validation_error(api_client, payload):
    response = api_client.post(
        "/test/echo", data=payload, content_type="application/json"
    )

    assert_error_shape(response, HTTPStatus.BAD_REQUEST, "validation_error")


def test_wrong_content_type_is_415(api_client):
    response = api_client.post("/test/echo", data="name=x", content_type="text/plain")

    assert_error_shape(
        response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"
    )


def test_missing_credentials_is_401(api_client):
    response = api_client.get("/test/private")

    assert_error_shape(response, HTTPStatus.UNAUTHORIZED, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_broken_bearer_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = api_client.get("/test/private")

    assert_error_shape(response, HTTPStatus.UNAUTHORIZED, "token_not_valid")


def test_permission_denied_is_403(api_client):
    response = api_client.get("/test/forbidden")

    assert_error_shape(response, HTTPStatus.FORBIDDEN, "permission_denied")


def test_unknown_path_is_404_in_the_shape(api_client):
    response = api_client.get("/no/such/path")

    assert_error_shape(response, HTTPStatus.NOT_FOUND, "not_found")


def test_wrong_method_on_a_drf_view_is_405(api_client):
    response = api_client.delete("/")

    assert_error_shape(response, HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed")


def test_wrong_method_on_a_plain_django_view_is_405_in_the_shape():
    response = Client().post("/test/plain")

    assert_error_shape(response, HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed")


def test_application_error_carries_its_code_and_fields(api_client):
    response = api_client.get("/test/conflict")

    body = assert_error_shape(response, HTTPStatus.CONFLICT, "out_of_stock")
    assert body["fields"] == {"items": ["Sold out."]}


def test_oversized_body_is_413_before_the_view_reads_it(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = api_client.post(
        "/test/echo",
        data='{"name": "' + "x" * 2000 + '"}',
        content_type="application/json",
    )

    assert_error_shape(
        response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request_too_large"
    )


def test_throttled_scope_answers_429_with_retry_after(api_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "test_scope": "2/minute"}

    statuses = [api_client.get("/test/limited").status_code for _ in range(3)]
    response = api_client.get("/test/limited")

    assert statuses == [200, 200, 429]
    assert_error_shape(response, HTTPStatus.TOO_MANY_REQUESTS, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_views_without_a_scope_are_not_throttled(api_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "test_scope": "1/minute"}

    statuses = {api_client.get("/").status_code for _ in range(30)}

    assert statuses == {200}


class _Collect(logging.Handler):
    def __init__(self, filters):
        super().__init__()
        self.records = []
        self.filters = list(filters)

    def emit(self, record):
        self.records.append(record)


@pytest.mark.parametrize("path", ["/test/broken", "/test/plain-broken"])
def test_unhandled_exception_is_500_without_internals_and_is_logged(path):
    # The project's console handler carries the request-id filter; a handler
    # with the same filters sees what the console would print.
    console = logging.getLogger("django").handlers[0]
    collect = _Collect(console.filters)
    logging.getLogger("django.request").addHandler(collect)
    client = Client(raise_request_exception=False)

    try:
        response = client.get(path, HTTP_X_REQUEST_ID="req-500-check")
    finally:
        logging.getLogger("django.request").removeHandler(collect)

    body = assert_error_shape(
        response, HTTPStatus.INTERNAL_SERVER_ERROR, "server_error"
    )
    assert "internal detail" not in response.content.decode()
    assert "Traceback" not in body["message"]
    logged = [r for r in collect.records if r.exc_info]
    assert logged
    assert logged[0].correlation_id == "req-500-check"


def test_code_stays_while_the_message_follows_the_language(api_client):
    english = api_client.get("/no/such/path", HTTP_ACCEPT_LANGUAGE="en")
    persian = api_client.get("/no/such/path", HTTP_ACCEPT_LANGUAGE="fa")

    assert english.json()["code"] == persian.json()["code"] == "not_found"
    assert english.json()["message"] != persian.json()["message"]


def test_each_response_carries_a_request_id(api_client):
    generated = api_client.get("/")
    given = api_client.get("/", HTTP_X_REQUEST_ID="abc123")

    assert len(generated["X-Request-ID"]) == 32
    assert given["X-Request-ID"] == "abc123"


UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
    }
}


@pytest.mark.django_db
def test_an_unreachable_cache_is_503_not_500(api_client, settings):
    """OTPs and throttles live in Redis: with Redis gone, asking for a code
    is a clean 503 the app can retry, and nothing is sent."""
    from accounts.sms import outbox

    settings.CACHES = UNREACHABLE_REDIS

    response = api_client.post("/auth/request-otp", {"phone": "+989121234567"})

    assert_error_shape(response, HTTPStatus.SERVICE_UNAVAILABLE, "service_unavailable")
    assert response["Retry-After"]
    assert outbox == []


def test_an_unreachable_broker_is_503_not_500(api_client):
    response = api_client.post("/test/broker-down", {})

    assert_error_shape(response, HTTPStatus.SERVICE_UNAVAILABLE, "service_unavailable")
