import time
from http import HTTPStatus

import pytest

from mithrapay import health


@pytest.mark.django_db
def test_root_reports_app_status_and_env(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {
        "app": "MithraPay backend",
        "status": "ok",
        "env": "test",
    }


@pytest.mark.django_db
def test_ready_is_200_and_names_the_backends(api_client, settings):
    response = api_client.get("/health/ready")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok"}
    expected_db = (
        "mysql" if "mysql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    )
    assert body["backends"]["database"] == expected_db
    assert body["backends"]["cache"] in {"redis", "locmem"}


@pytest.mark.django_db
def test_ready_is_503_naming_a_failed_part(api_client, monkeypatch):
    def broken_cache():
        raise ConnectionError("cache down")

    monkeypatch.setitem(health.CHECKS, "cache", broken_cache)

    response = api_client.get("/health/ready/")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"] == {"database": "ok", "cache": "error"}


@pytest.mark.django_db
def test_ready_answers_503_within_a_second_when_a_part_hangs(api_client, monkeypatch):
    def hanging_database():
        time.sleep(5)

    monkeypatch.setitem(health.CHECKS, "database", hanging_database)
    started = time.monotonic()

    response = api_client.get("/health/ready")

    elapsed = time.monotonic() - started
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["checks"]["database"] == "timeout"
    # The bound is the check timeout (0.9 s); the margin absorbs a slow machine.
    assert elapsed < 2.5


def test_ready_is_503_when_the_database_is_unreachable(api_client, settings):
    # No django_db mark: the test runner refuses the connection, as a database
    # that is down would.
    response = api_client.get("/health/ready")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["failed"] == ["database"]
